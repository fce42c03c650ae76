//! A request body (or an upgraded connection's bytes) as a stream of chunks then an end,
//! with pause/resume that really stops the socket being read. The shard feeds it; the API
//! layer's `Request` and `Socket` attach listeners through its methods.
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use super::ctx::ConnShared;
use super::timeouts::TimeoutCallback;
use super::ConnInfo;
use crate::proto::h1::Trailer;

/// Shared between the user's handle and the connection parsing into it.
pub(crate) struct BodyChan {
    pub(super) st: RefCell<BodyState>,
    pub(super) conn: Rc<ConnShared>,
}

type DataFn = Box<dyn FnMut(&[u8])>;

#[derive(Default)]
pub(super) struct BodyState {
    pub queue: VecDeque<Vec<u8>>,
    pub queued: usize,
    /// All body bytes (and trailers) have arrived.
    pub complete: bool,
    pub end_delivered: bool,
    /// The connection closed before the body was complete.
    pub aborted: bool,
    pub paused: bool,
    /// Nobody will read: discard (Node's `req._dump()`).
    pub dump: bool,
    pub received: u64,
    pub trailers: Vec<Trailer>,
    pub on_data: Option<DataFn>,
    pub on_end: Option<Box<dyn FnOnce()>>,
    pub on_aborted: Option<Box<dyn FnOnce()>>,
    /// 'close': after 'end' (or the body was consumed), or after 'aborted'.
    pub on_close: Option<Box<dyn FnOnce()>>,
    /// 'timeout' (`req.set_timeout`): fires on socket inactivity while the body is incomplete.
    pub on_timeout: Option<TimeoutCallback>,
    pub scheduled: bool,
}

impl BodyState {
    /// Whether the body can be taken whole (see `BodyChan::take_whole`).
    fn whole_ready(&self, max: usize) -> bool {
        self.complete
            && !self.aborted
            && !self.dump
            && !self.end_delivered
            && !self.paused
            && self.on_data.is_none()
            && self.on_end.is_none()
            && self.trailers.is_empty()
            && self.queued <= max
            && self.queued as u64 == self.received
    }
}

impl BodyChan {
    pub(super) fn new(conn: Rc<ConnShared>) -> Rc<BodyChan> {
        Rc::new(BodyChan {
            st: RefCell::new(BodyState::default()),
            conn,
        })
    }

    /// A channel with nothing to read whose 'end' follows at the next flush (a request
    /// without a body, as in Node).
    pub fn ended(conn: Rc<ConnShared>, on_end: impl FnOnce() + 'static) {
        let chan = BodyChan::new(conn);
        {
            let mut st = chan.st.borrow_mut();
            st.on_end = Some(Box::new(on_end));
            st.complete = true;
        }
        chan.schedule();
    }

    /// 'data' (replaces an earlier listener); queued chunks follow at the next flush.
    pub fn on_data(self: &Rc<Self>, f: impl FnMut(&[u8]) + 'static) {
        self.st.borrow_mut().on_data = Some(Box::new(f));
        self.schedule();
    }

    /// 'end': everything arrived and was delivered.
    pub fn on_end(self: &Rc<Self>, f: impl FnOnce() + 'static) {
        self.st.borrow_mut().on_end = Some(Box::new(f));
        self.schedule();
    }

    /// 'close': after 'end', or after 'aborted'.
    pub fn on_close(self: &Rc<Self>, f: impl FnOnce() + 'static) {
        self.st.borrow_mut().on_close = Some(Box::new(f));
        self.schedule();
    }

    /// 'aborted': the connection went away before the end.
    pub fn on_aborted(&self, f: impl FnOnce() + 'static) {
        self.st.borrow_mut().on_aborted = Some(Box::new(f));
    }

    /// 'timeout' while the body is incomplete.
    pub fn on_timeout(&self, f: impl FnMut(&ConnInfo) + 'static) {
        self.st.borrow_mut().on_timeout = Some(Box::new(f));
    }

    /// Stops delivering; the socket stops being read once the queue is full.
    pub fn pause(&self) {
        self.st.borrow_mut().paused = true;
    }

    pub fn resume(self: &Rc<Self>) {
        self.st.borrow_mut().paused = false;
        self.schedule();
    }

    pub fn is_paused(&self) -> bool {
        self.st.borrow().paused
    }

    /// Everything (and the trailers) has arrived.
    pub fn is_complete(&self) -> bool {
        self.st.borrow().complete
    }

    /// The trailers (after the end).
    pub fn trailers(&self) -> Vec<Trailer> {
        self.st.borrow().trailers.clone()
    }

    /// The whole body, when all of it (without trailers) has arrived, nobody has read or
    /// listened to any of it and it is at most `max` bytes: handed over at once and then
    /// counted as read and ended, so no 'data'/'end' listener is needed.
    pub fn take_whole(&self, max: usize) -> Option<Vec<u8>> {
        let mut st = self.st.borrow_mut();
        if !st.whole_ready(max) {
            return None;
        }
        // Its chunks joined into the first one's buffer (the others kept for reuse).
        let mut body = st.queue.pop_front().unwrap_or_default();
        for c in st.queue.drain(..) {
            body.extend_from_slice(&c);
            self.conn.ctx.recycle_body_buf(c);
        }
        st.end_delivered = true;
        st.queued = 0;
        drop(st);
        self.conn.mark_dirty();
        Some(body)
    }

    /// As [`take_whole`](Self::take_whole), but lends the body to `f` and keeps its buffer
    /// for the next body.
    pub fn with_whole<R>(&self, max: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let body = self.take_whole(max)?;
        let r = f(&body);
        self.conn.ctx.recycle_body_buf(body);
        Some(r)
    }

    /// The user's handle is gone: without a listener nobody can read any more, so the rest
    /// is discarded (Node dumps unread bodies).
    pub fn release(&self) {
        let mut st = self.st.borrow_mut();
        if st.on_data.is_none() && st.on_end.is_none() {
            st.dump = true;
            for c in st.queue.drain(..) {
                self.conn.ctx.recycle_body_buf(c);
            }
            st.queued = 0;
            drop(st);
            self.conn.mark_dirty();
        }
    }

    /// Body bytes from the parser: delivered at once when someone listens and nothing is
    /// queued, queued otherwise.
    pub(super) fn push(self: &Rc<Self>, data: &[u8]) {
        let mut st = self.st.borrow_mut();
        st.received += data.len() as u64;
        if st.dump {
            return;
        }
        if !st.paused && st.queue.is_empty() {
            if let Some(mut cb) = st.on_data.take() {
                drop(st);
                cb(data);
                let mut st = self.st.borrow_mut();
                if st.on_data.is_none() {
                    st.on_data = Some(cb);
                }
                return;
            }
        }
        st.queued += data.len();
        // Into a buffer a chunk read earlier left (no allocation; its memory is warm).
        let mut buf = self
            .conn
            .ctx
            .body_bufs
            .borrow_mut()
            .pop()
            .unwrap_or_default();
        buf.extend_from_slice(data);
        st.queue.push_back(buf);
    }

    /// The parser reached the end of the body.
    pub(super) fn complete(self: &Rc<Self>, trailers: Vec<Trailer>) {
        let mut st = self.st.borrow_mut();
        st.complete = true;
        st.trailers = trailers;
        drop(st);
        self.schedule();
    }

    /// The connection went away mid-body.
    pub(super) fn abort(self: &Rc<Self>) {
        let (aborted, close) = {
            let mut st = self.st.borrow_mut();
            if st.complete || st.aborted {
                return;
            }
            st.aborted = true;
            (st.on_aborted.take(), st.on_close.take())
        };
        if let Some(cb) = aborted {
            cb();
        }
        if let Some(cb) = close {
            cb();
        }
    }

    /// Asks the shard to deliver queued data and the end outside the parser.
    pub(super) fn schedule(self: &Rc<Self>) {
        let mut st = self.st.borrow_mut();
        if !st.scheduled {
            st.scheduled = true;
            self.conn.ctx.body_ready.borrow_mut().push(self.clone());
        }
    }

    /// Delivers what is queued while not paused, then the end. Called by the shard.
    pub(super) fn deliver(self: &Rc<Self>) {
        self.st.borrow_mut().scheduled = false;
        loop {
            let mut st = self.st.borrow_mut();
            if st.paused || st.on_data.is_none() && !st.dump {
                break;
            }
            let Some(chunk) = st.queue.pop_front() else {
                break;
            };
            st.queued -= chunk.len();
            if st.dump {
                self.conn.ctx.recycle_body_buf(chunk);
                continue;
            }
            let mut cb = st.on_data.take().expect("checked above");
            drop(st);
            cb(&chunk);
            self.conn.ctx.recycle_body_buf(chunk);
            let mut st = self.st.borrow_mut();
            if st.on_data.is_none() {
                st.on_data = Some(cb);
            }
        }
        let end = {
            let mut st = self.st.borrow_mut();
            if st.complete
                && st.queue.is_empty()
                && !st.paused
                && !st.end_delivered
                && (st.on_end.is_some() || st.on_close.is_some() || st.dump)
            {
                st.end_delivered = true;
                Some(st.on_end.take())
            } else {
                None
            }
        };
        if let Some(cb) = end {
            if let Some(cb) = cb {
                cb();
            }
            let close = self.st.borrow_mut().on_close.take();
            if let Some(cb) = close {
                cb();
            }
        }
        self.conn.mark_dirty();
    }

    /// Whether the connection may read more body bytes now.
    pub(super) fn wants_more(&self, high_water_mark: usize) -> bool {
        let st = self.st.borrow();
        st.dump || (!st.paused && st.queued < high_water_mark)
    }
}
