//! Bytes in: parse request heads and bodies, start requests, call the handlers.
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use super::body::BodyChan;
use super::conn::{Deadline, Life, Phase};
use super::handlers::{Incoming, RawFn};
use super::slot::ResSlot;
use super::{panic_message, ShardState};
use crate::error::Error;
use crate::proto::h1::{
    encode, parse_request_head_reusing, BodyDecoder, Expect, Framing, ParseError, RequestHead,
};

impl ShardState {
    pub(super) fn on_data(&mut self, idx: usize, data: &[u8]) {
        self.touch(idx);
        if self.conns[idx].shared.taken.get() {
            self.apply_takeover(idx);
        }
        let c = &mut self.conns[idx];
        match c.life {
            Life::Open => {}
            // Lingering or closing: the peer's bytes are read only to be discarded.
            _ => return,
        }
        if c.rbuf.is_empty() {
            let used = self.process(idx, data);
            if used < data.len() {
                self.conns[idx].rbuf.extend_from_slice(&data[used..]);
            }
        } else {
            c.rbuf.extend_from_slice(data);
            self.reprocess(idx);
        }
    }

    /// Parses what is held in the connection's buffer (after new data, or when a
    /// pipelining bound that held requests back has eased).
    pub(super) fn reprocess(&mut self, idx: usize) {
        let buf = std::mem::take(&mut self.conns[idx].rbuf);
        let used = self.process(idx, &buf);
        let mut buf = buf;
        buf.drain(..used);
        if buf.is_empty() && buf.capacity() > 64 * 1024 {
            buf = Vec::new();
        }
        let c = &mut self.conns[idx];
        if c.rbuf.is_empty() {
            c.rbuf = buf;
        } else {
            // Bytes appended while we were parsing (cannot happen today; kept safe).
            buf.extend_from_slice(&c.rbuf);
            c.rbuf = buf;
        }
    }

    pub(super) fn on_eof(&mut self, idx: usize) {
        if self.conns[idx].shared.taken.get() {
            self.apply_takeover(idx);
        }
        let c = &mut self.conns[idx];
        c.peer_eof = true;
        match &c.phase {
            Phase::Body { .. } => {
                // The request can never complete: 'aborted', and the connection goes now
                // (as Node does when the client ends mid-request).
                self.abort(idx);
                return;
            }
            Phase::Raw { chan } => {
                // 'end' on the raw socket; like net.Socket without allowHalfOpen, our side
                // ends once what the listener queued has gone out.
                let chan = chan.clone();
                chan.complete(Vec::new());
                if let Some(slot) = c.queue.back() {
                    let mut st = slot.st.borrow_mut();
                    st.ended = true;
                    st.close_after = true;
                }
                c.life = Life::Draining;
                c.shared.mark_dirty();
                return;
            }
            _ => {}
        }
        match c.life {
            Life::Open if c.queue.is_empty() && c.unsent() == 0 => self.abort(idx),
            // As Node's server (no allowHalfOpen): a response still being produced is
            // aborted ('close' without 'finish': the app learns the client left)...
            Life::Open if c.queue.iter().any(|s| !s.is_ended()) => self.abort(idx),
            // ...while responses already complete go out, then the connection closes.
            Life::Open => c.life = Life::Draining,
            Life::Lingering => self.abort(idx),
            _ => {}
        }
    }

    /// Parses requests from `buf`; returns how many bytes were consumed. The rest stays
    /// buffered (incomplete head, or held back while too many responses are pending).
    fn process(&mut self, idx: usize, buf: &[u8]) -> usize {
        let mut pos = 0;
        loop {
            if self.conns[idx].shared.taken.get() {
                // A handler took the connection over (`req.socket.write()`).
                self.apply_takeover(idx);
            }
            let c = &mut self.conns[idx];
            if c.life != Life::Open {
                return buf.len();
            }
            match &mut c.phase {
                Phase::Done => return buf.len(),
                Phase::Raw { chan } => {
                    let chan = chan.clone();
                    chan.push(&buf[pos..]);
                    return buf.len();
                }
                Phase::Head => {
                    if pos == buf.len() {
                        return pos;
                    }
                    if c.queue.len() >= self.ctx.config.max_pipelined {
                        return pos;
                    }
                    let spare = self.ctx.span_bufs.borrow_mut().pop().unwrap_or_default();
                    match parse_request_head_reusing(&buf[pos..], &self.ctx.config.limits, spare) {
                        Ok(None) => {
                            // Only a head that is still arriving needs headersTimeout
                            // (a whole head costs no timer operation at all).
                            if c.request_started.is_none() {
                                c.request_started = Some(self.now);
                                self.set_deadline(idx, Deadline::Headers);
                            }
                            return pos;
                        }
                        Err(e) => {
                            self.client_error(idx, e);
                            return buf.len();
                        }
                        Ok(Some(head)) => {
                            let len = head.len;
                            if head.is_connect || head.upgrade {
                                if let Some(f) = self.raw_handler(&head) {
                                    self.start_raw(
                                        idx,
                                        &buf[pos..pos + len],
                                        head,
                                        &buf[pos + len..],
                                        f,
                                    );
                                    return buf.len();
                                }
                                if head.is_connect {
                                    // Node closes a CONNECT nobody listens for.
                                    self.abort(idx);
                                    return buf.len();
                                }
                            }
                            self.start_request(idx, &buf[pos..pos + len], head);
                            pos += len;
                        }
                    }
                }
                Phase::Body { dec, chan } => {
                    let chan = chan.clone();
                    let res = dec.decode(&buf[pos..], &mut |d| chan.push(d));
                    let done = dec.is_done();
                    let trailers = if done {
                        dec.take_trailers()
                    } else {
                        Vec::new()
                    };
                    match res {
                        Ok(n) => pos += n,
                        Err(e) => {
                            self.client_error(idx, e);
                            return buf.len();
                        }
                    }
                    if let Some(max) = self.ctx.config.max_body_size {
                        if chan.st.borrow().received > max {
                            self.client_error(idx, ParseError::BodyTooLarge);
                            return buf.len();
                        }
                    }
                    if !done {
                        let (dump, received) = {
                            let st = chan.st.borrow();
                            (st.dump, st.received)
                        };
                        if dump && received > self.ctx.config.max_drain_bytes {
                            self.stop_draining(idx);
                            return buf.len();
                        }
                        return pos;
                    }
                    let c = &mut self.conns[idx];
                    c.phase = match c.raw_next.take() {
                        Some(chan) => Phase::Raw { chan },
                        None => Phase::Head,
                    };
                    c.request_started = None;
                    self.clear_deadline(idx);
                    chan.complete(trailers);
                }
            }
        }
    }

    /// Nobody reads this request's body and it is larger than `max_drain_bytes`: rather
    /// than read it all to keep the connection, close after the response.
    fn stop_draining(&mut self, idx: usize) {
        tracing::debug!("connection {idx}: unread request body over the drain limit; closing");
        let c = &mut self.conns[idx];
        c.phase = Phase::Done;
        c.rbuf = Vec::new();
        match c.queue.back() {
            Some(slot) => {
                let mut st = slot.st.borrow_mut();
                if !st.head_written {
                    st.keep_alive = false;
                }
                st.close_after = true;
            }
            None => c.life = Life::Draining,
        }
        c.shared.mark_dirty();
    }

    fn raw_handler(&self, head: &RequestHead) -> Option<RawFn> {
        if head.is_connect {
            self.handlers.connect.clone()
        } else {
            self.handlers.upgrade.clone()
        }
    }

    /// 'upgrade' / 'connect': the listener gets the request, the raw socket and the bytes
    /// already read past the head; the connection is theirs from now on.
    fn start_raw(&mut self, idx: usize, bytes: &[u8], head: RequestHead, rest: &[u8], f: RawFn) {
        self.clear_deadline(idx);
        self.request_inactivity(idx);
        let slot = Rc::new(ResSlot::new());
        let c = &mut self.conns[idx];
        c.requests += 1;
        c.request_started = None;
        let chan = BodyChan::new(c.shared.clone());
        c.phase = Phase::Raw { chan: chan.clone() };
        slot.st.borrow_mut().conn = Some(c.shared.clone());
        slot.start_raw();
        c.queue.push_back(slot.clone());
        let req = Incoming {
            buf: bytes.to_vec(),
            head,
            conn: c.shared.clone(),
            body: None,
            max_headers: match self.ctx.live.get().max_headers_count {
                0 => usize::MAX,
                n => n,
            },
        };
        let head_bytes = rest.to_vec();
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(req, chan, slot, head_bytes))) {
            tracing::error!(
                "'upgrade'/'connect' listener panicked: {}",
                panic_message(&p)
            );
            self.abort(idx);
        }
    }

    fn take_slot(&self) -> Rc<ResSlot> {
        let slot = self
            .ctx
            .slot_pool
            .borrow_mut()
            .pop()
            .unwrap_or_else(|| Rc::new(ResSlot::new()));
        {
            // A slot whose buffer went out with a response gets a spare one back.
            let mut st = slot.st.borrow_mut();
            if st.buf.capacity() == 0 {
                if let Some(b) = self.ctx.out_bufs.borrow_mut().pop() {
                    st.buf = b;
                }
            }
        }
        slot
    }

    fn start_request(&mut self, idx: usize, bytes: &[u8], head: RequestHead) {
        let ctx = self.ctx.clone();
        let cfg = &ctx.config;
        let live = ctx.live.get();
        if let Framing::Length(n) = head.framing {
            if cfg.max_body_size.is_some_and(|max| n > max) {
                self.client_error(idx, ParseError::BodyTooLarge);
                return;
            }
        }
        self.request_inactivity(idx);
        let slot = self.take_slot();
        self.stats.request();
        let c = &mut self.conns[idx];
        // maxRequestsPerSocket as Node's: HTTP/1.1 requests count; the last allowed one's
        // response says `Connection: close` and the connection stays; requests after it
        // are answered 503 without reaching the listener.
        let max = live.max_requests_per_socket;
        if max != 0 && head.minor_version == 1 {
            c.requests += 1;
        }
        let limit_reached = max != 0 && c.requests >= max;
        let over_limit = max != 0 && c.requests > max;
        {
            let mut st = slot.st.borrow_mut();
            st.conn = Some(c.shared.clone());
            st.req_minor = head.minor_version;
            st.is_head = head.is_head;
            st.keep_alive = head.keep_alive && !self.draining;
            st.limit_reached = limit_reached;
        }
        c.queue.push_back(slot.clone());
        let body = match head.framing {
            Framing::None => {
                c.request_started = None;
                None
            }
            framing => {
                let chan = BodyChan::new(c.shared.clone());
                c.phase = Phase::Body {
                    dec: Box::new(BodyDecoder::new(framing, &cfg.limits)),
                    chan: chan.clone(),
                };
                Some(chan)
            }
        };
        if body.is_some() {
            self.set_deadline(idx, Deadline::Request);
        } else {
            self.clear_deadline(idx);
        }
        let c = &mut self.conns[idx];
        let expect = head.expect;
        let mut buf = self.ctx.head_bufs.borrow_mut().pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(bytes);
        let req = Incoming {
            buf,
            head,
            conn: c.shared.clone(),
            body,
            max_headers: if live.max_headers_count == 0 {
                usize::MAX
            } else {
                live.max_headers_count
            },
        };
        if over_limit {
            // As Node: 'dropRequest' (request, socket), then `writeHead(503); end()` (a
            // body nobody reads is discarded with `req`).
            let info = self.handlers.drop_request.clone().map(|f| {
                let info = self.info(idx);
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(req, &info))) {
                    tracing::error!("'dropRequest' listener panicked: {}", panic_message(&p));
                }
                info
            });
            slot.respond_framed(503, &[], b"", false);
            if let Some(info) = info {
                self.apply_conn_action(idx, &info);
            }
            return;
        }
        let handler = match expect {
            Expect::Continue if self.handlers.check_continue.is_some() => {
                self.handlers.check_continue.clone()
            }
            Expect::Continue => {
                // As Node: 100 Continue is sent before the 'request' listener runs.
                slot.write_continue();
                self.handlers.request.clone()
            }
            Expect::Other if self.handlers.check_expectation.is_some() => {
                self.handlers.check_expectation.clone()
            }
            Expect::Other => {
                slot.respond(417, &[], b"");
                return;
            }
            Expect::None => self.handlers.request.clone(),
        };
        let Some(handler) = handler else {
            // No 'request' listener: an empty 200, as Node ends an unanswered response.
            slot.respond(200, &[], b"");
            return;
        };
        let res = slot.clone();
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| handler(req, res))) {
            tracing::error!("request handler panicked: {}", panic_message(&p));
            self.handler_panicked(idx, &slot);
        }
    }

    /// A handler panicked: 500 if nothing was sent yet, then close either way.
    fn handler_panicked(&mut self, idx: usize, slot: &Rc<ResSlot>) {
        let mut st = slot.st.borrow_mut();
        if !st.head_written {
            // A head begun by writeHead is dropped; the 500 replaces it.
            st.buf.clear();
            st.keep_alive = false;
            drop(st);
            slot.respond(
                500,
                &[("Content-Type", "text/plain")],
                b"Internal Server Error",
            );
        } else {
            st.ended = true;
            st.close_after = true;
            drop(st);
        }
        let c = &mut self.conns[idx];
        c.shared.mark_dirty();
        if let Phase::Body { chan, .. } = &c.phase {
            chan.st.borrow_mut().dump = true;
        }
    }

    /// A malformed request: 'clientError' (or the default answer), after the responses
    /// already owed on this connection, then close.
    pub(super) fn client_error(&mut self, idx: usize, e: ParseError) {
        tracing::debug!("client error on connection {idx}: {e}");
        self.stats
            .client_error(super::stats::ClientErrorKind::of(e));
        let err = Error::from(e);
        let custom = self.handlers.client_error.clone().and_then(|f| {
            let info = self.info(idx);
            match catch_unwind(AssertUnwindSafe(|| f(&err, &info))) {
                Ok(bytes) => bytes,
                Err(p) => {
                    tracing::error!("'clientError' listener panicked: {}", panic_message(&p));
                    None
                }
            }
        });
        let c = &mut self.conns[idx];
        let mut answer = true;
        let mut orphan = None;
        if let Phase::Body { chan, .. } = &c.phase {
            let chan = chan.clone();
            chan.abort();
            // The request whose body failed is the last queued: an unfinished response to
            // it is never sent (it would be a 200 to an invalid request). As Node, the
            // error is answered only if that response's head has not gone out.
            if c.queue.back().is_some_and(|s| !s.st.borrow().ended) {
                let slot = c.queue.pop_back().expect("checked");
                answer = !slot.st.borrow().head_written;
                orphan = slot.st.borrow_mut().on_close.take();
            }
        }
        c.phase = Phase::Done;
        let bytes = match custom {
            _ if !answer => Vec::new(),
            Some(bytes) => bytes,
            None => default_error_response(e.status()),
        };
        let slot = Rc::new(ResSlot::new());
        {
            let mut st = slot.st.borrow_mut();
            st.conn = Some(c.shared.clone());
            // For the counters: the answer's status (0, none, when nothing is sent).
            st.status = status_of(&bytes);
            st.buf = bytes;
            st.head_written = true;
            st.ended = true;
            st.close_after = true;
            st.keep_alive = false;
        }
        c.queue.push_back(slot);
        c.shared.mark_dirty();
        if let Some(f) = orphan {
            if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
                tracing::error!("response 'close' listener panicked: {}", panic_message(&p));
            }
        }
    }
}

/// The status code of an encoded response (`HTTP/1.x NNN ...`), 0 if it is not one.
pub(crate) fn status_of(bytes: &[u8]) -> u16 {
    match bytes.get(9..12) {
        Some(d) if bytes.starts_with(b"HTTP/1.") && d.iter().all(u8::is_ascii_digit) => {
            d.iter().fold(0, |n, b| n * 10 + u16::from(b - b'0'))
        }
        _ => 0,
    }
}

/// Node's default 'clientError' answer: `HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n`
/// (431, 413, ... with their own reason phrase).
pub(crate) fn default_error_response(status: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    encode::status_line(&mut v, status, encode::reason_phrase(status));
    v.extend_from_slice(b"Connection: close\r\n\r\n");
    v
}
