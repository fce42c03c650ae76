//! `ServerResponse`: an owned handle to one response. Bytes are encoded into the response's
//! own buffer; the shard moves them to the connection strictly in request order, so a
//! pipelined response that finishes early waits for the ones before it.
use std::borrow::Cow;
use std::rc::Rc;

use super::encoded::EncodedHeaders;
use super::headers::{HeaderValue, OutHeaders};
use crate::error::{Error, ErrorKind};
use crate::proto::h1::encode;
use crate::proto::h1::framing::{special, HeadFacts, OutFraming};
use crate::shard::remote::Task;
use crate::shard::slot::ResSlot;

/// What the `setHeader` headers say about framing and persistence.
fn facts_of(h: &OutHeaders) -> HeadFacts {
    let mut f = HeadFacts {
        present: h.present,
        ..HeadFacts::default()
    };
    if h.present & (special::CONTENT_LENGTH | special::TRANSFER_ENCODING | special::CONNECTION) != 0
    {
        for (n, v) in &h.entries {
            f.note(n, &v.joined());
        }
    }
    f
}

/// The API side of one response: what `setHeader`/`writeHead` gathered before the head
/// is encoded, and the body encoder after. The bytes and the shard's facts live in the
/// response's slot.
struct ResHead {
    status: u16,
    message: Option<Cow<'static, str>>,
    headers: OutHeaders,
    send_date: bool,
    /// writeHead() was called: headers are fixed (Node's `headersSent`).
    head_frozen: bool,
    /// writeHead() already encoded the status line and its headers into the slot (Node's
    /// fast path: those headers never enter the `setHeader` map); `facts` describes them.
    head_started: bool,
    facts: HeadFacts,
    framing: OutFraming,
    trailers: Vec<(String, String)>,
}

impl ResHead {
    fn new() -> ResHead {
        ResHead {
            status: 200,
            message: None,
            headers: OutHeaders::default(),
            send_date: true,
            head_frozen: false,
            head_started: false,
            facts: HeadFacts::default(),
            framing: OutFraming::Undecided,
            trailers: Vec::new(),
        }
    }
}

/// Node's `http.ServerResponse`, in Rust.
///
/// An owned handle: keep it and finish later on the same shard, or turn it into a
/// [`RemoteResponse`] to finish it from any thread. Dropping an unfinished response ends it
/// (as `end()` would), so a response can never be forgotten.
pub struct Response {
    slot: Rc<ResSlot>,
    st: ResHead,
}

impl Response {
    pub(crate) fn new(slot: Rc<ResSlot>) -> Response {
        Response {
            slot,
            st: ResHead::new(),
        }
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.st.head_frozen || self.slot.head_written() {
            return Err(Error::new(
                ErrorKind::HeadersSent,
                "Cannot set headers after they are sent to the client",
            ));
        }
        Ok(())
    }

    /// `res.statusCode`.
    pub fn status_code(&self) -> u16 {
        self.st.status
    }

    /// Sets `res.statusCode` (used when the head is written).
    pub fn set_status_code(&mut self, status: u16) -> &mut Self {
        self.st.status = status;
        self
    }

    /// `res.statusMessage` (the default reason phrase unless set).
    pub fn status_message(&self) -> String {
        self.st
            .message
            .as_deref()
            .unwrap_or_else(|| encode::reason_phrase(self.st.status))
            .to_string()
    }

    pub fn set_status_message(&mut self, msg: impl Into<Cow<'static, str>>) -> &mut Self {
        self.st.message = Some(msg.into());
        self
    }

    /// `res.setHeader(name, value)`. A list value is sent as repeated lines.
    pub fn set_header(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<HeaderValue>,
    ) -> Result<&mut Self, Error> {
        let (name, value) = (name.into(), value.into());
        validate(&name, &value)?;
        self.check_open()?;
        self.st.headers.set(name, value);
        Ok(self)
    }

    /// `res.getHeader(name)`.
    pub fn get_header(&self, name: &str) -> Option<HeaderValue> {
        self.st.headers.get(name).cloned()
    }

    /// `res.getHeaders()`: lower-cased names.
    pub fn get_headers(&self) -> Vec<(String, HeaderValue)> {
        self.st
            .headers
            .entries
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect()
    }

    /// `res.getHeaderNames()`: lower-cased.
    pub fn get_header_names(&self) -> Vec<String> {
        self.st
            .headers
            .entries
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect()
    }

    /// `res.hasHeader(name)`.
    pub fn has_header(&self, name: &str) -> bool {
        self.st.headers.position(name).is_some()
    }

    /// `res.removeHeader(name)`. Removing Date, Connection, Content-Length,
    /// Transfer-Encoding or Keep-Alive also keeps the engine from adding its own.
    pub fn remove_header(&mut self, name: &str) -> Result<&mut Self, Error> {
        self.check_open()?;
        self.st.headers.remove(name);
        Ok(self)
    }

    /// `res.headersSent`.
    pub fn headers_sent(&self) -> bool {
        self.st.head_frozen || self.slot.head_written()
    }

    /// `res.sendDate` (default true).
    pub fn send_date(&self) -> bool {
        self.st.send_date
    }

    pub fn set_send_date(&mut self, on: bool) -> &mut Self {
        self.st.send_date = on;
        self
    }

    /// `res.writeHead(status, headers)`: sets the status, merges `headers` over the
    /// `setHeader` values and fixes the head. The bytes go out with the first write/end.
    pub fn write_head<N, V>(
        &mut self,
        status: u16,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> Result<&mut Self, Error>
    where
        N: Into<Cow<'static, str>>,
        V: Into<HeaderValue>,
    {
        self.write_head_inner(status, None, headers)
    }

    /// `res.writeHead(status, statusMessage, headers)`.
    pub fn write_head_with_message<N, V>(
        &mut self,
        status: u16,
        message: impl Into<Cow<'static, str>>,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> Result<&mut Self, Error>
    where
        N: Into<Cow<'static, str>>,
        V: Into<HeaderValue>,
    {
        self.write_head_inner(status, Some(message.into()), headers)
    }

    fn write_head_inner<N, V>(
        &mut self,
        status: u16,
        message: Option<Cow<'static, str>>,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> Result<&mut Self, Error>
    where
        N: Into<Cow<'static, str>>,
        V: Into<HeaderValue>,
    {
        if !(100..=999).contains(&status) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("Invalid status code: {status}"),
            ));
        }
        self.check_open()?;
        self.take_head_message(message)?;
        self.st.status = status;
        if self.st.headers.entries.is_empty() {
            // Node's fast path: with no setHeader() before, writeHead's headers go straight
            // into the head (getHeader() does not see them, as in Node).
            let (start, mut facts) = self.begin_eager_head(status);
            for (n, v) in headers {
                let (n, v) = (n.into(), v.into());
                for one in v.values() {
                    if let Err(e) = self.eager_header(&mut facts, &n, one) {
                        self.slot.with_buf(|b| b.truncate(start));
                        return Err(e);
                    }
                }
            }
            self.end_eager_head(facts);
        } else {
            // As Node: each header is checked in order; the first invalid one is the error.
            for (n, v) in headers {
                let (n, v) = (n.into(), v.into());
                validate(&n, &v)?;
                self.st.headers.set(n, v);
            }
        }
        self.st.head_frozen = true;
        Ok(self)
    }

    /// [`write_head`](Self::write_head) for headers borrowed from the caller, one value per
    /// pair (a name may repeat): for bindings that read names and values out of their own
    /// buffers. Nothing is allocated when no `set_header` came first (Node's fast path);
    /// otherwise the pairs are copied into the header map as `write_head` would.
    pub fn write_head_borrowed(
        &mut self,
        status: u16,
        message: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<&mut Self, Error> {
        if !self.st.headers.entries.is_empty() || !(100..=999).contains(&status) {
            let msg = message.map(|m| Cow::Owned(m.to_owned()));
            let owned = headers.iter().map(|&(n, v)| (n.to_owned(), v.to_owned()));
            return self.write_head_inner(status, msg, owned);
        }
        self.check_open()?;
        self.take_head_message(message.map(|m| Cow::Owned(m.to_owned())))?;
        self.st.status = status;
        let (start, mut facts) = self.begin_eager_head(status);
        for &(n, v) in headers {
            if let Err(e) = self.eager_header(&mut facts, n, v) {
                self.slot.with_buf(|b| b.truncate(start));
                return Err(e);
            }
        }
        self.end_eager_head(facts);
        self.st.head_frozen = true;
        Ok(self)
    }

    /// [`write_head_borrowed`](Self::write_head_borrowed) with headers validated and
    /// encoded beforehand ([`EncodedHeaders`]): the same wire bytes and errors, for one copy.
    pub fn write_head_encoded(
        &mut self,
        status: u16,
        message: Option<&str>,
        headers: &EncodedHeaders,
    ) -> Result<&mut Self, Error> {
        if !self.st.headers.entries.is_empty() || !(100..=999).contains(&status) {
            let list: Vec<(&str, &str)> = headers
                .pairs
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            return self.write_head_borrowed(status, message, &list);
        }
        self.check_open()?;
        self.take_head_message(message.map(|m| Cow::Owned(m.to_owned())))?;
        self.st.status = status;
        let (_, mut facts) = self.begin_eager_head(status);
        facts.merge(&headers.facts);
        self.slot
            .with_buf(|buf| buf.extend_from_slice(&headers.bytes));
        self.end_eager_head(facts);
        self.st.head_frozen = true;
        Ok(self)
    }

    /// writeHead's status message: rejected as Node does if it could break the status
    /// line, else kept for it.
    fn take_head_message(&mut self, message: Option<Cow<'static, str>>) -> Result<(), Error> {
        if let Some(m) = message {
            if !encode::is_valid_value(m.as_bytes()) {
                return Err(Error::new(
                    ErrorKind::InvalidHeader,
                    "Invalid character in statusMessage",
                ));
            }
            self.st.message = Some(m);
        }
        Ok(())
    }

    /// Node's writeHead fast path, step 1: the status line straight into the head.
    /// Returns where the head started (to undo on error) and the facts so far.
    fn begin_eager_head(&mut self, status: u16) -> (usize, HeadFacts) {
        let reason = self
            .st
            .message
            .as_deref()
            .unwrap_or_else(|| encode::reason_phrase(status));
        let start = self.slot.with_buf(|buf| {
            let start = buf.len();
            encode::status_line(buf, status, reason);
            start
        });
        let facts = HeadFacts {
            present: self.st.headers.present,
            ..HeadFacts::default()
        };
        (start, facts)
    }

    /// Step 2, per header line: validated, noted if the engine cares, encoded.
    fn eager_header(
        &mut self,
        facts: &mut HeadFacts,
        name: &str,
        value: &str,
    ) -> Result<(), Error> {
        validate_line(name, value)?;
        facts.note(name, value);
        self.slot
            .with_buf(|buf| encode::header(buf, name.as_bytes(), value.as_bytes()));
        Ok(())
    }

    /// Step 3: the rest of the head (Date, Connection, framing) follows at the first
    /// write or end.
    fn end_eager_head(&mut self, facts: HeadFacts) {
        self.st.facts = facts;
        self.st.head_started = true;
    }

    /// Encodes the status line and the `setHeader` headers (unless writeHead's fast path
    /// already did), then lets the slot end the head: framing and persistence are decided
    /// by the protocol layer. `end_len`: the whole body is known (end() before any
    /// write), so Content-Length can be used.
    fn write_head_now(&mut self, end_len: Option<usize>) {
        let st = &mut self.st;
        if !st.head_started {
            st.facts = facts_of(&st.headers);
            let reason = st
                .message
                .as_deref()
                .unwrap_or_else(|| encode::reason_phrase(st.status));
            let headers = &st.headers;
            let status = st.status;
            self.slot.with_buf(|buf| {
                encode::status_line(buf, status, reason);
                for (name, value) in &headers.entries {
                    for v in value.values() {
                        encode::header(buf, name.as_bytes(), v.as_bytes());
                    }
                }
            });
        }
        st.framing = self.slot.end_head(
            st.status,
            st.send_date,
            st.facts,
            st.headers.suppressed,
            end_len,
        );
        st.head_frozen = true;
    }

    /// `res.write(chunk)`: returns false when the connection's queue is over the high-water
    /// mark; [`on_drain`](Self::on_drain) fires when it has gone out.
    pub fn write(&mut self, data: impl AsRef<[u8]>) -> bool {
        let data = data.as_ref();
        if self.slot.is_ended() {
            tracing::debug!("write after end ignored (ERR_STREAM_WRITE_AFTER_END)");
            return false;
        }
        if !self.slot.is_open() {
            return false;
        }
        if !self.slot.head_written() {
            self.write_head_now(None);
        }
        let framing = &mut self.st.framing;
        self.slot.write_with(|buf| framing.write(buf, data))
    }

    /// `res.end()`.
    pub fn end(&mut self) {
        self.end_with(b"")
    }

    /// `res.end(data)`. With nothing written before, Content-Length is set for you.
    pub fn end_with(&mut self, data: impl AsRef<[u8]>) {
        let data = data.as_ref();
        if self.slot.is_ended() {
            return;
        }
        if !self.slot.head_written() {
            self.write_head_now(Some(data.len()));
        }
        let st = &mut self.st;
        let trailers = std::mem::take(&mut st.trailers);
        let framing = &mut st.framing;
        self.slot.with_buf(|buf| {
            framing.write(buf, data);
            framing.finish(
                buf,
                trailers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            );
        });
        self.slot.end();
    }

    /// `res.finished` / `res.writableEnded`.
    pub fn finished(&self) -> bool {
        self.slot.is_ended()
    }

    /// `res.addTrailers(headers)`: sent after the last chunk (chunked responses only).
    pub fn add_trailers<N: Into<String>, V: Into<String>>(
        &mut self,
        trailers: impl IntoIterator<Item = (N, V)>,
    ) -> Result<(), Error> {
        for (n, v) in trailers {
            let (n, v) = (n.into(), v.into());
            if !encode::is_token(n.as_bytes()) {
                return Err(Error::new(
                    ErrorKind::InvalidHeader,
                    format!("Trailer name must be a valid HTTP token [\"{n}\"]"),
                ));
            }
            if !encode::is_valid_value(v.as_bytes()) {
                return Err(Error::new(
                    ErrorKind::InvalidHeader,
                    format!("Invalid character in trailer content [\"{n}\"]"),
                ));
            }
            self.st.trailers.push((n, v));
        }
        Ok(())
    }

    /// `res.writeContinue()`: sends `HTTP/1.1 100 Continue` now.
    pub fn write_continue(&mut self) {
        if self.slot.head_written() || self.st.head_started || self.slot.is_ended() {
            return;
        }
        self.slot.write_continue();
    }

    /// An informational (1xx) response sent now, before the final head: Node's
    /// `res.writeEarlyHints()` (103 with `Link`) and `res.writeProcessing()` (102).
    /// Ignored once the final head has started or the response ended.
    pub fn write_informational<N: AsRef<str>, V: AsRef<str>>(
        &mut self,
        status: u16,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> Result<(), Error> {
        if !(100..200).contains(&status) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("Invalid informational status code: {status}"),
            ));
        }
        let mut head = Vec::with_capacity(128);
        encode::status_line(&mut head, status, encode::reason_phrase(status));
        for (n, v) in headers {
            let (n, v) = (n.as_ref(), v.as_ref());
            validate_line(n, v)?;
            encode::header(&mut head, n.as_bytes(), v.as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        if self.slot.head_written() || self.st.head_started || self.slot.is_ended() {
            return Ok(());
        }
        self.slot.write_raw_head(&head);
        Ok(())
    }

    /// 'drain': the queue went below the high-water mark after write() returned false.
    pub fn on_drain(&mut self, f: impl FnMut() + 'static) {
        self.slot.on_drain(f);
    }

    /// 'finish': the last bytes were handed to the connection.
    pub fn on_finish(&mut self, f: impl FnOnce() + 'static) {
        self.slot.on_finish(f);
    }

    /// 'close': the response is done (after 'finish') or the connection went away first.
    pub fn on_close(&mut self, f: impl FnOnce() + 'static) {
        self.slot.on_close(f);
    }

    /// `res.socket.write()`: the connection becomes a raw stream, as
    /// [`Request::take_over_socket`](crate::Request::take_over_socket) (this response is
    /// abandoned). None if the connection is gone or already taken.
    pub fn take_over_socket(&self) -> Option<super::Socket> {
        let conn = self.slot.conn()?;
        let (chan, slot) = crate::shard::takeover::request_takeover(&conn)?;
        Some(super::Socket::new(chan, slot, conn))
    }

    /// Closes the connection now (`res.destroy()` / `res.socket.destroy()`).
    pub fn destroy(&self) {
        if let Some(c) = self.slot.conn() {
            c.destroy();
        }
    }

    /// `res.setTimeout(msecs, callback)`: sets the connection's inactivity timeout to
    /// `msecs` (restarting it; zero disables) and adds a 'timeout' listener, called with the
    /// connection on expiry while this response is the one being written. With a listener
    /// the connection is not destroyed (call [`ConnInfo::destroy`](crate::ConnInfo::destroy)
    /// or end the response). The timeout applies to the connection until it is next idle.
    pub fn set_timeout(
        &mut self,
        msecs: std::time::Duration,
        on_timeout: impl FnMut(&crate::shard::ConnInfo) + 'static,
    ) -> &mut Self {
        self.on_timeout(on_timeout);
        self.set_socket_timeout(msecs)
    }

    /// `res.setTimeout(msecs)` without a callback: on expiry the connection is destroyed
    /// unless some other 'timeout' listener handles it.
    pub fn set_socket_timeout(&mut self, msecs: std::time::Duration) -> &mut Self {
        if let Some(conn) = self.slot.conn() {
            crate::shard::timeouts::request_socket_timeout(&conn, msecs);
        }
        self
    }

    /// `res.on('timeout', f)` (replaces an earlier one).
    pub fn on_timeout(&mut self, f: impl FnMut(&crate::shard::ConnInfo) + 'static) -> &mut Self {
        self.slot.on_timeout(f);
        self
    }

    /// Whether the connection is still there to write to.
    pub fn is_connected(&self) -> bool {
        self.slot.is_open()
    }

    /// Hands the response to another thread. The shard keeps it; the returned handle sends
    /// work to the shard and wakes it.
    pub fn into_remote(self) -> RemoteResponse {
        match self.slot.conn() {
            Some(conn) => {
                let remote = conn.ctx.remote.clone();
                let id = conn.ctx.park(Box::new(self));
                RemoteResponse {
                    remote: Some(remote),
                    id,
                }
            }
            None => RemoteResponse {
                remote: None,
                id: 0,
            },
        }
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        if !self.slot.is_ended() && !std::thread::panicking() {
            self.end();
        }
    }
}

fn validate(name: &str, value: &HeaderValue) -> Result<(), Error> {
    if value.values().next().is_none() {
        return validate_line(name, "");
    }
    value.values().try_for_each(|v| validate_line(name, v))
}

/// Node's `ERR_INVALID_HTTP_TOKEN` / `ERR_INVALID_CHAR` checks for one header line.
pub(crate) fn validate_line(name: &str, value: &str) -> Result<(), Error> {
    if !encode::is_token(name.as_bytes()) {
        return Err(Error::new(
            ErrorKind::InvalidHeader,
            format!("Header name must be a valid HTTP token [\"{name}\"]"),
        ));
    }
    if !encode::is_valid_value(value.as_bytes()) {
        return Err(Error::new(
            ErrorKind::InvalidHeader,
            format!("Invalid character in header content [\"{name}\"]"),
        ));
    }
    Ok(())
}

/// A `Send` handle to a [`Response`] that lives on its shard: work posted here runs on the
/// shard's thread, which is woken for it.
pub struct RemoteResponse {
    remote: Option<std::sync::Arc<crate::shard::remote::Remote>>,
    id: usize,
}

impl RemoteResponse {
    /// Runs `f` with the response on its shard.
    pub fn with(&self, f: impl FnOnce(&mut Response) + Send + 'static) -> bool {
        let id = self.id;
        self.post(Box::new(move |shard| {
            // No borrow is held while user code runs.
            if let Some(mut res) = shard.ctx.take_parked(id).and_then(downcast) {
                f(&mut res);
                shard.ctx.put_back(id, res);
            }
        }))
    }

    /// Ends the response on its shard with `status`, `headers` and `body`.
    pub fn end(self, status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> bool {
        self.finish(move |res| {
            let _ = res.write_head(status, headers);
            res.end_with(&body);
        })
    }

    /// Runs `f` with the response on its shard, then releases it (ending it if `f` did not).
    pub fn finish(mut self, f: impl FnOnce(&mut Response) + Send + 'static) -> bool {
        let id = self.id;
        let remote = self.remote.take();
        let task: Task = Box::new(move |shard| {
            if let Some(mut res) = shard.ctx.unpark(id).and_then(downcast) {
                f(&mut res);
            }
        });
        remote.is_some_and(|r| r.post(task))
    }

    fn post(&self, task: Task) -> bool {
        self.remote.as_ref().is_some_and(|r| r.post(task))
    }
}

impl Drop for RemoteResponse {
    fn drop(&mut self) {
        if let Some(r) = self.remote.take() {
            let id = self.id;
            r.post(Box::new(move |shard| {
                drop(shard.ctx.unpark(id));
            }));
        }
    }
}

/// A parked response back from the shard's parking slab.
fn downcast(b: Box<dyn std::any::Any>) -> Option<Box<Response>> {
    b.downcast().ok()
}
