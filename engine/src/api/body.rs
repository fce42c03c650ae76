//! A request body as a stream of chunks then an end, with pause/resume that really stops
//! the socket being read.
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::proto::h1::Trailer;
use crate::shard::ctx::ConnShared;

/// Shared between the [`Request`](super::Request) handle and the connection parsing it.
pub(crate) struct BodyChan {
    pub st: RefCell<BodyState>,
    pub conn: Rc<ConnShared>,
}

type DataFn = Box<dyn FnMut(&[u8])>;

#[derive(Default)]
pub(crate) struct BodyState {
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
    pub on_timeout: Option<crate::shard::timeouts::TimeoutCallback>,
    pub scheduled: bool,
}

impl BodyChan {
    pub fn new(conn: Rc<ConnShared>) -> Rc<BodyChan> {
        Rc::new(BodyChan {
            st: RefCell::new(BodyState::default()),
            conn,
        })
    }

    /// Body bytes from the parser: delivered at once when someone listens and nothing is
    /// queued, queued otherwise.
    pub fn push(self: &Rc<Self>, data: &[u8]) {
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
        st.queue.push_back(data.to_vec());
    }

    /// The parser reached the end of the body.
    pub fn complete(self: &Rc<Self>, trailers: Vec<Trailer>) {
        let mut st = self.st.borrow_mut();
        st.complete = true;
        st.trailers = trailers;
        drop(st);
        self.schedule();
    }

    /// The connection went away mid-body.
    pub fn abort(self: &Rc<Self>) {
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
    pub fn schedule(self: &Rc<Self>) {
        let mut st = self.st.borrow_mut();
        if !st.scheduled {
            st.scheduled = true;
            self.conn.ctx.body_ready.borrow_mut().push(self.clone());
        }
    }

    /// Delivers what is queued while not paused, then the end. Called by the shard.
    pub fn deliver(self: &Rc<Self>) {
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
                continue;
            }
            let mut cb = st.on_data.take().expect("checked above");
            drop(st);
            cb(&chunk);
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
    pub fn wants_more(&self, high_water_mark: usize) -> bool {
        let st = self.st.borrow();
        st.dump || (!st.paused && st.queued < high_water_mark)
    }
}
