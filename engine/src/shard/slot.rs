//! A response slot: the bytes one response has encoded and not yet handed to its
//! connection, and the facts the shard needs to order, finish and close (ended, persists,
//! listeners). Slots are pooled per shard. The API layer's `Response` and `Socket` encode
//! into a slot through its methods; the shard moves its bytes out in request order.
use std::cell::RefCell;
use std::rc::Rc;

use super::ctx::ConnShared;
use super::timeouts::TimeoutCallback;
use super::ConnInfo;
use crate::proto::h1::encode;
use crate::proto::h1::framing::{EngineLines, HeadEnd, HeadFacts, Suppressed};

type Callback = Box<dyn FnMut()>;

pub(super) struct SlotState {
    pub conn: Option<Rc<ConnShared>>,
    pub req_minor: u8,
    pub is_head: bool,
    /// The request allows the connection to persist (and the server does too; the head,
    /// once written, may have said otherwise).
    pub keep_alive: bool,
    /// The connection's maxRequestsPerSocket is reached: the head says `Connection: close`
    /// though the connection persists (Node's `maxRequestsOnConnectionReached`).
    pub limit_reached: bool,
    /// The status sent (for the counters).
    pub status: u16,
    /// The head is complete in `buf`: framing and persistence are decided.
    pub head_written: bool,
    /// Encoded bytes the shard has not taken yet.
    pub buf: Vec<u8>,
    pub ended: bool,
    /// The connection must close after this response.
    pub close_after: bool,
    pub need_drain: bool,
    pub on_drain: Option<Callback>,
    pub on_finish: Option<Box<dyn FnOnce()>>,
    pub on_close: Option<Box<dyn FnOnce()>>,
    /// 'timeout' (`res.set_timeout`): socket inactivity while this response is the one
    /// being written.
    pub on_timeout: Option<TimeoutCallback>,
    /// A raw socket's output ('upgrade'/'connect', or a takeover): no HTTP framing.
    pub raw: bool,
    /// Informational (1xx) responses in `buf`, counted when the shard takes it.
    pub informational: u8,
}

impl SlotState {
    /// A response whose connection a raw socket took over: it writes nothing more.
    fn frozen(&self) -> bool {
        !self.raw && self.conn.as_ref().is_some_and(|c| c.taken.get())
    }
}

/// The shared cell behind a response (pooled per shard).
pub(crate) struct ResSlot {
    pub(super) st: RefCell<SlotState>,
}

impl ResSlot {
    pub(super) fn new() -> ResSlot {
        ResSlot {
            st: RefCell::new(SlotState {
                conn: None,
                req_minor: 1,
                is_head: false,
                keep_alive: true,
                limit_reached: false,
                status: 200,
                head_written: false,
                buf: Vec::new(),
                ended: false,
                close_after: false,
                need_drain: false,
                on_drain: None,
                on_finish: None,
                on_close: None,
                on_timeout: None,
                raw: false,
                informational: 0,
            }),
        }
    }

    /// Clears for reuse, keeping the buffer's capacity.
    pub(super) fn reset(&self) {
        let mut st = self.st.borrow_mut();
        st.conn = None;
        st.req_minor = 1;
        st.is_head = false;
        st.keep_alive = true;
        st.limit_reached = false;
        st.status = 200;
        st.head_written = false;
        st.buf.clear();
        st.ended = false;
        st.close_after = false;
        st.need_drain = false;
        st.on_drain = None;
        st.on_finish = None;
        st.on_close = None;
        st.on_timeout = None;
        st.raw = false;
        st.informational = 0;
    }

    /// The connection, while the response belongs to one.
    pub fn conn(&self) -> Option<Rc<ConnShared>> {
        self.st.borrow().conn.clone()
    }

    /// The connection is still there to write to.
    pub fn is_open(&self) -> bool {
        self.st
            .borrow()
            .conn
            .as_ref()
            .is_some_and(|c| !c.closed.get())
    }

    pub fn is_ended(&self) -> bool {
        self.st.borrow().ended
    }

    /// The head is complete (Node's `headersSent` once bytes exist).
    pub fn head_written(&self) -> bool {
        self.st.borrow().head_written
    }

    /// Runs `f` on the unsent bytes (to drop a head that failed half-way).
    pub fn with_buf<R>(&self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut st = self.st.borrow_mut();
        if st.frozen() {
            return f(&mut Vec::new());
        }
        f(&mut st.buf)
    }

    /// Ends the head after the status line and the handler's header lines, which are in
    /// the buffer: the protocol layer decides framing and persistence from the request
    /// (version, HEAD, whether the connection may persist) and the handler's headers, and
    /// writes the engine's own lines (Date, Connection, Keep-Alive, length or chunked).
    /// Returns the body encoder's state.
    pub fn end_head(
        &self,
        status: u16,
        send_date: bool,
        facts: HeadFacts,
        suppressed: Suppressed,
        end_len: Option<usize>,
    ) -> crate::proto::h1::framing::OutFraming {
        let mut guard = self.st.borrow_mut();
        let st = &mut *guard;
        let mut dropped = Vec::new();
        let buf = if st.frozen() {
            &mut dropped
        } else {
            &mut st.buf
        };
        let end = HeadEnd {
            status,
            req_minor: st.req_minor,
            is_head: st.is_head,
            keep_alive: st.keep_alive,
            limit_reached: st.limit_reached,
            send_date,
            facts,
            suppressed,
            end_len,
        };
        let framed = match &st.conn {
            Some(conn) => {
                let ctx = &conn.ctx;
                let date = ctx.date.borrow();
                let (lines, header) = (
                    ctx.keep_alive_lines.borrow(),
                    ctx.keep_alive_header.borrow(),
                );
                let lines = EngineLines {
                    date: date.line(),
                    keep_alive_lines: &lines,
                    keep_alive_header: &header,
                };
                end.write(buf, &lines)
            }
            None => end.write(buf, &EngineLines::default()),
        };
        st.status = status;
        st.keep_alive = framed.keep_alive;
        st.close_after = !framed.keep_alive;
        st.head_written = true;
        framed.framing
    }

    /// Encodes body bytes with `f` (given the buffer), asks for a flush and says whether
    /// the connection's queue is still under the high-water mark (false: 'drain' follows).
    pub fn write_with(&self, f: impl FnOnce(&mut Vec<u8>)) -> bool {
        let mut st = self.st.borrow_mut();
        if st.frozen() {
            // Accepted and dropped: nobody waits for a 'drain' that cannot come.
            return true;
        }
        f(&mut st.buf);
        let Some(conn) = st.conn.clone() else {
            return true;
        };
        conn.mark_dirty();
        if st.buf.len() + conn.unsent.get() >= conn.ctx.config.write_high_water_mark {
            st.need_drain = true;
            false
        } else {
            true
        }
    }

    /// The response is complete: the shard hands its last bytes to the connection.
    pub fn end(&self) {
        let mut st = self.st.borrow_mut();
        if st.frozen() {
            // The shard marks it ended (abandoned, no 'finish') when it applies the takeover.
            return;
        }
        st.ended = true;
        if let Some(c) = &st.conn {
            c.mark_dirty();
        }
    }

    /// `HTTP/1.1 100 Continue` now (before any head).
    pub fn write_continue(&self) {
        let st = &mut *self.st.borrow_mut();
        if st.frozen() {
            return;
        }
        st.buf.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        st.informational = st.informational.saturating_add(1);
        if let Some(c) = &st.conn {
            c.mark_dirty();
        }
    }

    /// Bytes of an informational response (already encoded), now, before any head.
    pub fn write_raw_head(&self, head: &[u8]) {
        let st = &mut *self.st.borrow_mut();
        if st.frozen() {
            return;
        }
        st.buf.extend_from_slice(head);
        st.informational = st.informational.saturating_add(1);
        if let Some(c) = &st.conn {
            c.mark_dirty();
        }
    }

    /// A whole response the shard gives itself (417, 500, or the empty 200 when nobody
    /// listens for requests): `headers` then the engine's own, and `body`.
    pub(super) fn respond(&self, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        self.respond_framed(status, headers, body, true);
    }

    /// As [`respond`](Self::respond); `sized` false frames the body as if the head had
    /// been written before it (chunked on HTTP/1.1, as Node's `writeHead(s); end()`).
    pub(super) fn respond_framed(
        &self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
        sized: bool,
    ) {
        let mut facts = HeadFacts::default();
        self.with_buf(|buf| {
            encode::status_line(buf, status, encode::reason_phrase(status));
            for (n, v) in headers {
                facts.note(n, v);
                encode::header(buf, n.as_bytes(), v.as_bytes());
            }
        });
        let end_len = sized.then_some(body.len());
        let mut framing = self.end_head(status, true, facts, Suppressed::default(), end_len);
        self.write_with(|buf| {
            framing.write(buf, body);
            framing.finish(buf, std::iter::empty());
        });
        self.end();
    }

    /// The connection is handed over raw ('upgrade'/'connect'): no head of ours, and it
    /// closes after.
    pub(super) fn start_raw(&self) {
        let mut st = self.st.borrow_mut();
        st.head_written = true;
        st.keep_alive = false;
        st.raw = true;
    }

    /// Ends a raw connection's output: FIN after what is queued.
    pub fn end_raw(&self) {
        let mut st = self.st.borrow_mut();
        if !st.ended {
            st.ended = true;
            st.close_after = true;
            if let Some(c) = &st.conn {
                c.mark_dirty();
            }
        }
    }

    /// 'drain' (kept across calls).
    pub fn on_drain(&self, f: impl FnMut() + 'static) {
        self.st.borrow_mut().on_drain = Some(Box::new(f));
    }

    /// 'finish': the last bytes were handed to the connection.
    pub fn on_finish(&self, f: impl FnOnce() + 'static) {
        self.st.borrow_mut().on_finish = Some(Box::new(f));
    }

    /// 'close': done, or the connection went away first.
    pub fn on_close(&self, f: impl FnOnce() + 'static) {
        let mut st = self.st.borrow_mut();
        st.on_close = Some(match st.on_close.take() {
            // A takeover's raw slot carries the 'close' of the responses it abandoned.
            Some(prev) if st.raw => Box::new(move || {
                prev();
                f();
            }),
            _ => Box::new(f),
        });
    }

    /// 'timeout' while this response is being written.
    pub fn on_timeout(&self, f: impl FnMut(&ConnInfo) + 'static) {
        self.st.borrow_mut().on_timeout = Some(Box::new(f));
    }
}
