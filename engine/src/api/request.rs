//! `IncomingMessage`: the request head (parsed once, exposed lazily) and its body stream.
use std::borrow::Cow;
use std::cell::OnceCell;
use std::net::SocketAddr;
use std::rc::Rc;

use super::headers::{latin1, Headers};
use super::socket::Socket;
use crate::proto::h1::{RequestHead, Trailer};
use crate::shard::body::BodyChan;
use crate::shard::handlers::Incoming;

/// Node's `http.IncomingMessage` for a server request.
pub struct Request {
    inner: Incoming,
    /// `req.headers`, built on first use.
    headers: OnceCell<Headers>,
}

impl Request {
    pub(crate) fn new(inner: Incoming) -> Request {
        Request {
            inner,
            headers: OnceCell::new(),
        }
    }

    fn head_bytes(&self) -> &[u8] {
        &self.inner.buf
    }

    /// `req.method`.
    pub fn method(&self) -> &str {
        std::str::from_utf8(self.inner.head.method(self.head_bytes())).unwrap_or("")
    }

    /// `req.url`: the request target exactly as sent.
    pub fn url(&self) -> Cow<'_, str> {
        latin1(self.inner.head.target(self.head_bytes()))
    }

    /// The request target's bytes.
    pub fn url_bytes(&self) -> &[u8] {
        self.inner.head.target(self.head_bytes())
    }

    /// `req.httpVersion`: "1.1" or "1.0".
    pub fn http_version(&self) -> &'static str {
        if self.inner.head.minor_version == 1 {
            "1.1"
        } else {
            "1.0"
        }
    }

    pub fn http_version_major(&self) -> u8 {
        1
    }

    pub fn http_version_minor(&self) -> u8 {
        self.inner.head.minor_version
    }

    fn raw_pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let buf = self.head_bytes();
        self.inner
            .head
            .headers
            .iter()
            .take(self.inner.max_headers)
            .map(move |h| (h.name.of(buf), h.value.of(buf)))
    }

    /// `req.headers`: lower-cased names, duplicates joined per Node (built on first use).
    pub fn headers(&self) -> &Headers {
        self.headers
            .get_or_init(|| Headers::from_raw(self.raw_pairs()))
    }

    /// The first value of header `name` (any case), without building `headers()`.
    pub fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.raw_pairs()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| latin1(v))
    }

    /// `req.rawHeaders` as pairs: wire order and case. As in Node, every header received,
    /// even past `maxHeadersCount` (which only limits [`headers`](Self::headers)).
    pub fn raw_headers(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        let buf = self.head_bytes();
        self.inner
            .head
            .headers
            .iter()
            .map(|h| (latin1(h.name.of(buf)), latin1(h.value.of(buf))))
            .collect()
    }

    /// `req.trailers` (after the end): lower-cased names.
    pub fn trailers(&self) -> Headers {
        let Some(b) = &self.inner.body else {
            return Headers::default();
        };
        let trailers = b.trailers();
        Headers::from_raw(trailers.iter().map(|t| (&t.name[..], &t.value[..])))
    }

    /// `req.rawTrailers` as pairs.
    pub fn raw_trailers(&self) -> Vec<Trailer> {
        self.inner
            .body
            .as_ref()
            .map(|b| b.trailers())
            .unwrap_or_default()
    }

    /// Whether the request has a body (Content-Length > 0 or chunked).
    pub fn has_body(&self) -> bool {
        self.inner.body.is_some()
    }

    /// 'data': called with each chunk of the body as it arrives.
    pub fn on_data(&self, f: impl FnMut(&[u8]) + 'static) {
        if let Some(b) = &self.inner.body {
            b.on_data(f);
        }
    }

    /// 'end': the whole body has arrived (at once for requests without a body).
    pub fn on_end(&self, f: impl FnOnce() + 'static) {
        match &self.inner.body {
            Some(b) => b.on_end(f),
            // No body: 'end' follows right after the handler, as in Node.
            None => BodyChan::ended(self.inner.conn.clone(), f),
        }
    }

    /// The whole body at once, if it has all arrived (without trailers), is at most `max`
    /// bytes and nothing has listened to it yet; it then counts as read and ended (no
    /// 'data'/'end' will follow). `None` otherwise: read it with [`on_data`](Self::on_data).
    pub fn take_whole_body(&self, max: usize) -> Option<Vec<u8>> {
        self.inner.body.as_ref()?.take_whole(max)
    }

    /// As [`take_whole_body`](Self::take_whole_body), but lends the body to `f` and keeps
    /// its buffer for the bodies that follow (no allocation per body when it is copied
    /// elsewhere anyway).
    pub fn with_whole_body<R>(&self, max: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        self.inner.body.as_ref()?.with_whole(max, f)
    }

    /// Collects the whole body, then calls `f` with it.
    pub fn read_to_end(&self, f: impl FnOnce(Vec<u8>) + 'static) {
        let acc = Rc::new(std::cell::RefCell::new(Vec::new()));
        let a = acc.clone();
        self.on_data(move |chunk| a.borrow_mut().extend_from_slice(chunk));
        self.on_end(move || f(std::mem::take(&mut *acc.borrow_mut())));
    }

    /// 'close': the request is done — after the body was consumed ('end') or after
    /// 'aborted'.
    pub fn on_close(&self, f: impl FnOnce() + 'static) {
        match &self.inner.body {
            Some(b) => b.on_close(f),
            None => self.on_end(f),
        }
    }

    /// 'aborted': the connection closed before the body was complete.
    pub fn on_aborted(&self, f: impl FnOnce() + 'static) {
        if let Some(b) = &self.inner.body {
            b.on_aborted(f);
        }
    }

    /// `req.setTimeout(msecs, callback)`: sets the connection's inactivity timeout to
    /// `msecs` (restarting it; zero disables) and adds a 'timeout' listener. As in Node, the
    /// listener is called (with the connection) only while the request is incomplete, i.e.
    /// its body is still arriving; then the connection is not destroyed. The timeout applies
    /// to the connection until it is next idle.
    pub fn set_timeout(
        &self,
        msecs: std::time::Duration,
        on_timeout: impl FnMut(&crate::shard::ConnInfo) + 'static,
    ) -> &Self {
        self.on_timeout(on_timeout);
        self.set_socket_timeout(msecs)
    }

    /// `req.setTimeout(msecs)` without a callback: on expiry the connection is destroyed
    /// unless some other 'timeout' listener handles it.
    pub fn set_socket_timeout(&self, msecs: std::time::Duration) -> &Self {
        crate::shard::timeouts::request_socket_timeout(&self.inner.conn, msecs);
        self
    }

    /// `req.on('timeout', f)` (replaces an earlier one; see [`set_timeout`](Self::set_timeout)).
    pub fn on_timeout(&self, f: impl FnMut(&crate::shard::ConnInfo) + 'static) -> &Self {
        if let Some(b) = &self.inner.body {
            b.on_timeout(f);
        }
        self
    }

    /// `req.pause()`: stops delivering data, and stops reading the socket once the queue
    /// reaches the high-water mark.
    pub fn pause(&self) {
        if let Some(b) = &self.inner.body {
            b.pause();
        }
    }

    /// `req.resume()`.
    pub fn resume(&self) {
        if let Some(b) = &self.inner.body {
            b.resume();
        }
    }

    pub fn is_paused(&self) -> bool {
        self.inner.body.as_ref().is_some_and(|b| b.is_paused())
    }

    /// `req.complete`: the whole message has been received.
    pub fn complete(&self) -> bool {
        self.inner.body.as_ref().is_none_or(|b| b.is_complete())
    }

    /// `req.socket.remoteAddress` / `remotePort`.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        crate::backend::sys::peer_addr(self.inner.conn.fd)
    }

    /// `req.socket.localAddress` / `localPort`.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        crate::backend::sys::local_addr(self.inner.conn.fd)
    }

    /// The connection's socket descriptor (the same as [`ConnInfo::fd`](crate::ConnInfo::fd);
    /// owned by the shard, valid until the connection closes).
    pub fn conn_fd(&self) -> std::os::fd::RawFd {
        self.inner.conn.fd
    }

    /// Whether the client asked to keep the connection open.
    pub fn keep_alive(&self) -> bool {
        self.inner.head.keep_alive
    }

    /// `req.destroy()`: closes the connection now.
    pub fn destroy(&self) {
        self.inner.conn.destroy();
    }

    /// Node's `req.socket.write()` / `end()` from a request handler: the connection leaves
    /// HTTP and becomes a raw byte stream, as after 'upgrade'. What the connection's
    /// responses wrote before still goes out (one under way is cut short); responses not
    /// ended are abandoned (no more bytes, no 'finish', 'close' with the connection); then
    /// the socket's bytes verbatim. A body still arriving goes to its request; later
    /// bytes are the socket's 'data'. None if the connection is gone or already taken.
    pub fn take_over_socket(&self) -> Option<Socket> {
        let (chan, slot) = crate::shard::takeover::request_takeover(&self.inner.conn)?;
        Some(Socket::new(chan, slot, self.inner.conn.clone()))
    }

    /// The parsed head (spans into [`raw_head`](Self::raw_head)).
    pub fn head(&self) -> &RequestHead {
        &self.inner.head
    }

    /// The head's bytes as received.
    pub fn raw_head(&self) -> &[u8] {
        &self.inner.buf
    }
}
