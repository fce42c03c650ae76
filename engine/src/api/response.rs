//! `ServerResponse`: an owned handle to one response. Bytes are encoded into the response's
//! own buffer; the shard moves them to the connection strictly in request order, so a
//! pipelined response that finishes early waits for the ones before it.
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use super::headers::{HeaderValue, OutHeaders};
use crate::error::{Error, ErrorKind};
use crate::proto::h1::encode;
use crate::proto::h1::framing::{special, EngineLines, HeadEnd, HeadFacts, OutFraming};
use crate::shard::ctx::ConnShared;
use crate::shard::remote::Task;

type Callback = Box<dyn FnMut()>;

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

/// Everything about one response; shared between the [`Response`] handle and the shard.
pub(crate) struct ResState {
    pub conn: Option<Rc<ConnShared>>,
    pub req_minor: u8,
    pub is_head: bool,
    /// The request allows the connection to persist (and the server does too).
    pub keep_alive: bool,
    pub status: u16,
    pub message: Option<Cow<'static, str>>,
    pub headers: OutHeaders,
    pub send_date: bool,
    /// writeHead() was called: headers are fixed (Node's `headersSent`).
    pub head_frozen: bool,
    /// writeHead() already encoded the status line and its headers into `buf` (Node's
    /// fast path: those headers never enter the `setHeader` map); `facts` describes them.
    pub head_started: bool,
    pub facts: HeadFacts,
    /// The head is encoded into `buf`.
    pub head_written: bool,
    pub framing: OutFraming,
    /// Encoded bytes the shard has not taken yet.
    pub buf: Vec<u8>,
    pub ended: bool,
    /// The connection must close after this response.
    pub close_after: bool,
    pub trailers: Vec<(String, String)>,
    pub need_drain: bool,
    pub on_drain: Option<Callback>,
    pub on_finish: Option<Box<dyn FnOnce()>>,
    pub on_close: Option<Box<dyn FnOnce()>>,
    /// 'timeout' (`res.set_timeout`): socket inactivity while this response is the one being written.
    pub on_timeout: Option<crate::shard::timeouts::TimeoutCallback>,
}

impl ResState {
    fn new() -> ResState {
        ResState {
            conn: None,
            req_minor: 1,
            is_head: false,
            keep_alive: true,
            status: 200,
            message: None,
            headers: OutHeaders::default(),
            send_date: true,
            head_frozen: false,
            head_started: false,
            facts: HeadFacts::default(),
            head_written: false,
            framing: OutFraming::Undecided,
            buf: Vec::new(),
            ended: false,
            close_after: false,
            trailers: Vec::new(),
            need_drain: false,
            on_drain: None,
            on_finish: None,
            on_close: None,
            on_timeout: None,
        }
    }

    /// Clears for reuse, keeping the buffers' capacity (field by field: cheaper than
    /// building and dropping a whole state per request).
    pub fn reset(&mut self) {
        self.conn = None;
        self.req_minor = 1;
        self.is_head = false;
        self.keep_alive = true;
        self.status = 200;
        self.message = None;
        self.headers.clear();
        self.send_date = true;
        self.head_frozen = false;
        self.head_started = false;
        self.head_written = false;
        self.framing = OutFraming::Undecided;
        self.buf.clear();
        self.ended = false;
        self.close_after = false;
        self.trailers.clear();
        self.need_drain = false;
        self.on_drain = None;
        self.on_finish = None;
        self.on_close = None;
        self.on_timeout = None;
    }

    /// Node's writeHead fast path, step 1: the status line straight into the head.
    /// Returns where the head started (to undo on error) and the facts so far.
    fn begin_eager_head(&mut self, status: u16) -> (usize, HeadFacts) {
        let start = self.buf.len();
        let reason = self
            .message
            .as_deref()
            .unwrap_or_else(|| encode::reason_phrase(status));
        encode::status_line(&mut self.buf, status, reason);
        let facts = HeadFacts {
            present: self.headers.present,
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
        if special::of(name) != 0 {
            facts.note(name, value);
        }
        encode::header(&mut self.buf, name.as_bytes(), value.as_bytes());
        Ok(())
    }

    /// Step 3: the rest of the head (Date, Connection, framing) follows at the first
    /// write or end.
    fn end_eager_head(&mut self, facts: HeadFacts) {
        self.facts = facts;
        self.head_started = true;
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.head_frozen || self.head_written {
            return Err(Error::new(
                ErrorKind::HeadersSent,
                "Cannot set headers after they are sent to the client",
            ));
        }
        Ok(())
    }

    fn conn_open(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| !c.closed.get())
    }

    fn mark_dirty(&self) {
        if let Some(c) = &self.conn {
            c.mark_dirty();
        }
    }

    /// Encodes the status line and headers; the framing and persistence are decided by
    /// the protocol layer. `end_len`: the whole body is known (end() before any write), so
    /// Content-Length can be used.
    fn write_head(&mut self, end_len: Option<usize>) {
        if !self.head_started {
            self.facts = facts_of(&self.headers);
            let reason = self
                .message
                .as_deref()
                .unwrap_or_else(|| encode::reason_phrase(self.status));
            encode::status_line(&mut self.buf, self.status, reason);
            for (name, value) in &self.headers.entries {
                for v in value.values() {
                    encode::header(&mut self.buf, name.as_bytes(), v.as_bytes());
                }
            }
        }
        let end = HeadEnd {
            status: self.status,
            req_minor: self.req_minor,
            is_head: self.is_head,
            keep_alive: self.keep_alive,
            send_date: self.send_date,
            facts: self.facts,
            suppressed: self.headers.suppressed,
            end_len,
        };
        let framed = match self.conn.as_ref().map(|c| c.ctx.clone()) {
            Some(ctx) => {
                let date = ctx.date.borrow();
                let lines = EngineLines {
                    date: date.line(),
                    keep_alive_lines: &ctx.keep_alive_lines,
                    keep_alive_header: &ctx.keep_alive_header,
                };
                end.write(&mut self.buf, &lines)
            }
            None => end.write(&mut self.buf, &EngineLines::default()),
        };
        self.framing = framed.framing;
        self.keep_alive = framed.keep_alive;
        self.close_after = !framed.keep_alive;
        self.head_written = true;
        self.head_frozen = true;
    }

    fn write_body(&mut self, data: &[u8]) {
        self.framing.write(&mut self.buf, data);
    }

    fn queued(&self) -> usize {
        self.buf.len() + self.conn.as_ref().map_or(0, |c| c.unsent.get())
    }
}

/// The shared cell behind a response (pooled per shard).
pub(crate) struct ResSlot {
    pub st: RefCell<ResState>,
}

impl ResSlot {
    pub fn new() -> ResSlot {
        ResSlot {
            st: RefCell::new(ResState::new()),
        }
    }
}

/// Node's `http.ServerResponse`, in Rust.
///
/// An owned handle: keep it and finish later on the same shard, or turn it into a
/// [`RemoteResponse`] to finish it from any thread. Dropping an unfinished response ends it
/// (as `end()` would), so a response can never be forgotten.
pub struct Response {
    pub(crate) slot: Rc<ResSlot>,
}

impl Response {
    pub(crate) fn new(slot: Rc<ResSlot>) -> Response {
        Response { slot }
    }

    fn st(&self) -> std::cell::RefMut<'_, ResState> {
        self.slot.st.borrow_mut()
    }

    /// `res.statusCode`.
    pub fn status_code(&self) -> u16 {
        self.slot.st.borrow().status
    }

    /// Sets `res.statusCode` (used when the head is written).
    pub fn set_status_code(&mut self, status: u16) -> &mut Self {
        self.st().status = status;
        self
    }

    /// `res.statusMessage` (the default reason phrase unless set).
    pub fn status_message(&self) -> String {
        let st = self.slot.st.borrow();
        st.message
            .as_deref()
            .unwrap_or_else(|| encode::reason_phrase(st.status))
            .to_string()
    }

    pub fn set_status_message(&mut self, msg: impl Into<Cow<'static, str>>) -> &mut Self {
        self.st().message = Some(msg.into());
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
        let mut st = self.st();
        st.check_open()?;
        st.headers.set(name, value);
        drop(st);
        Ok(self)
    }

    /// `res.getHeader(name)`.
    pub fn get_header(&self, name: &str) -> Option<HeaderValue> {
        self.slot.st.borrow().headers.get(name).cloned()
    }

    /// `res.getHeaders()`: lower-cased names.
    pub fn get_headers(&self) -> Vec<(String, HeaderValue)> {
        let st = self.slot.st.borrow();
        st.headers
            .entries
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect()
    }

    /// `res.getHeaderNames()`: lower-cased.
    pub fn get_header_names(&self) -> Vec<String> {
        let st = self.slot.st.borrow();
        st.headers
            .entries
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect()
    }

    /// `res.hasHeader(name)`.
    pub fn has_header(&self, name: &str) -> bool {
        self.slot.st.borrow().headers.position(name).is_some()
    }

    /// `res.removeHeader(name)`. Removing Date, Connection, Content-Length,
    /// Transfer-Encoding or Keep-Alive also keeps the engine from adding its own.
    pub fn remove_header(&mut self, name: &str) -> Result<&mut Self, Error> {
        let mut st = self.st();
        st.check_open()?;
        st.headers.remove(name);
        drop(st);
        Ok(self)
    }

    /// `res.headersSent`.
    pub fn headers_sent(&self) -> bool {
        let st = self.slot.st.borrow();
        st.head_frozen || st.head_written
    }

    /// `res.sendDate` (default true).
    pub fn send_date(&self) -> bool {
        self.slot.st.borrow().send_date
    }

    pub fn set_send_date(&mut self, on: bool) -> &mut Self {
        self.st().send_date = on;
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
        let mut st = self.st();
        st.check_open()?;
        if let Some(m) = &message {
            if !encode::is_valid_value(m.as_bytes()) {
                return Err(Error::new(
                    ErrorKind::InvalidHeader,
                    "Invalid character in statusMessage",
                ));
            }
        }
        if message.is_some() {
            st.message = message;
        }
        st.status = status;
        if st.headers.entries.is_empty() {
            // Node's fast path: with no setHeader() before, writeHead's headers go straight
            // into the head (getHeader() does not see them, as in Node).
            let (start, mut facts) = st.begin_eager_head(status);
            for (n, v) in headers {
                let (n, v) = (n.into(), v.into());
                for one in v.values() {
                    if let Err(e) = st.eager_header(&mut facts, &n, one) {
                        st.buf.truncate(start);
                        return Err(e);
                    }
                }
            }
            st.end_eager_head(facts);
        } else {
            // As Node: each header is checked in order; the first invalid one is the error.
            for (n, v) in headers {
                let (n, v) = (n.into(), v.into());
                validate(&n, &v)?;
                st.headers.set(n, v);
            }
        }
        st.head_frozen = true;
        drop(st);
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
        if !self.st().headers.entries.is_empty() || !(100..=999).contains(&status) {
            let msg = message.map(|m| Cow::Owned(m.to_owned()));
            let owned = headers.iter().map(|&(n, v)| (n.to_owned(), v.to_owned()));
            return self.write_head_inner(status, msg, owned);
        }
        let mut guard = self.st();
        let st = &mut *guard;
        st.check_open()?;
        if let Some(m) = message {
            if !encode::is_valid_value(m.as_bytes()) {
                return Err(Error::new(
                    ErrorKind::InvalidHeader,
                    "Invalid character in statusMessage",
                ));
            }
            st.message = Some(Cow::Owned(m.to_owned()));
        }
        st.status = status;
        let (start, mut facts) = st.begin_eager_head(status);
        for &(n, v) in headers {
            if let Err(e) = st.eager_header(&mut facts, n, v) {
                st.buf.truncate(start);
                return Err(e);
            }
        }
        st.end_eager_head(facts);
        st.head_frozen = true;
        drop(guard);
        Ok(self)
    }

    /// `res.write(chunk)`: returns false when the connection's queue is over the high-water
    /// mark; [`on_drain`](Self::on_drain) fires when it has gone out.
    pub fn write(&mut self, data: impl AsRef<[u8]>) -> bool {
        let data = data.as_ref();
        let mut st = self.st();
        if st.ended {
            tracing::debug!("write after end ignored (ERR_STREAM_WRITE_AFTER_END)");
            return false;
        }
        if !st.conn_open() {
            return false;
        }
        if !st.head_written {
            st.write_head(None);
        }
        st.write_body(data);
        st.mark_dirty();
        let hwm = st
            .conn
            .as_ref()
            .map_or(usize::MAX, |c| c.ctx.config.write_high_water_mark);
        if st.queued() >= hwm {
            st.need_drain = true;
            false
        } else {
            true
        }
    }

    /// `res.end()`.
    pub fn end(&mut self) {
        self.end_with(b"")
    }

    /// `res.end(data)`. With nothing written before, Content-Length is set for you.
    pub fn end_with(&mut self, data: impl AsRef<[u8]>) {
        let data = data.as_ref();
        let mut st = self.st();
        if st.ended {
            return;
        }
        if !st.head_written {
            st.write_head(Some(data.len()));
        }
        st.write_body(data);
        if st.framing == OutFraming::Chunked {
            let trailers = std::mem::take(&mut st.trailers);
            let framing = st.framing;
            framing.finish(
                &mut st.buf,
                trailers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            );
        }
        st.ended = true;
        st.mark_dirty();
    }

    /// `res.finished` / `res.writableEnded`.
    pub fn finished(&self) -> bool {
        self.slot.st.borrow().ended
    }

    /// `res.addTrailers(headers)`: sent after the last chunk (chunked responses only).
    pub fn add_trailers<N: Into<String>, V: Into<String>>(
        &mut self,
        trailers: impl IntoIterator<Item = (N, V)>,
    ) -> Result<(), Error> {
        let mut st = self.st();
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
            st.trailers.push((n, v));
        }
        Ok(())
    }

    /// `res.writeContinue()`: sends `HTTP/1.1 100 Continue` now.
    pub fn write_continue(&mut self) {
        let mut st = self.st();
        if st.head_written || st.head_started || st.ended {
            return;
        }
        st.buf.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        st.mark_dirty();
    }

    /// 'drain': the queue went below the high-water mark after write() returned false.
    pub fn on_drain(&mut self, f: impl FnMut() + 'static) {
        self.st().on_drain = Some(Box::new(f));
    }

    /// 'finish': the last bytes were handed to the connection.
    pub fn on_finish(&mut self, f: impl FnOnce() + 'static) {
        self.st().on_finish = Some(Box::new(f));
    }

    /// 'close': the response is done (after 'finish') or the connection went away first.
    pub fn on_close(&mut self, f: impl FnOnce() + 'static) {
        self.st().on_close = Some(Box::new(f));
    }

    /// Closes the connection now (`res.destroy()` / `res.socket.destroy()`).
    pub fn destroy(&self) {
        if let Some(c) = &self.slot.st.borrow().conn {
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
        let conn = self.slot.st.borrow().conn.clone();
        if let Some(conn) = conn {
            crate::shard::timeouts::request_socket_timeout(&conn, msecs);
        }
        self
    }

    /// `res.on('timeout', f)` (replaces an earlier one).
    pub fn on_timeout(&mut self, f: impl FnMut(&crate::shard::ConnInfo) + 'static) -> &mut Self {
        self.st().on_timeout = Some(Box::new(f));
        self
    }

    /// Whether the connection is still there to write to.
    pub fn is_connected(&self) -> bool {
        self.slot.st.borrow().conn_open()
    }

    /// Hands the response to another thread. The shard keeps it; the returned handle sends
    /// work to the shard and wakes it.
    pub fn into_remote(self) -> RemoteResponse {
        let conn = self.slot.st.borrow().conn.clone();
        match conn {
            Some(conn) => {
                let ctx = conn.ctx.clone();
                let id = ctx.parked.borrow_mut().insert(Some(self));
                RemoteResponse {
                    remote: Some(ctx.remote.clone()),
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
        let ended = self.slot.st.borrow().ended;
        if !ended && !std::thread::panicking() {
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
fn validate_line(name: &str, value: &str) -> Result<(), Error> {
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
            let taken = shard
                .ctx
                .parked
                .borrow_mut()
                .get_mut(id)
                .and_then(Option::take);
            if let Some(mut res) = taken {
                // No borrow is held while user code runs.
                f(&mut res);
                if let Some(slot) = shard.ctx.parked.borrow_mut().get_mut(id) {
                    *slot = Some(res);
                }
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
            let res = shard.ctx.parked.borrow_mut().try_remove(id).flatten();
            if let Some(mut res) = res {
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
                let res = shard.ctx.parked.borrow_mut().try_remove(id);
                drop(res);
            }));
        }
    }
}
