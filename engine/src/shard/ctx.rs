//! State a shard shares with the request/response handles it gives out. Everything here
//! is `!Send` and lives on the shard's thread; borrows are short and never held across a
//! call into user code.
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::Arc;

use slab::Slab;

use super::body::BodyChan;
use super::date::DateCache;
use super::remote::Remote;
use super::slot::ResSlot;
use super::{Config, LiveConfig};

/// Per-shard context behind an `Rc`.
pub(crate) struct ShardCtx {
    /// Connections whose output or read interest changed since the last flush.
    pub dirty: RefCell<Vec<usize>>,
    /// Request bodies with data or an end to deliver outside the parser.
    pub body_ready: RefCell<Vec<Rc<BodyChan>>>,
    pub date: RefCell<DateCache>,
    /// `Keep-Alive: timeout=N\r\n` for keepAliveTimeout (empty when it is zero),
    /// formatted once.
    pub keep_alive_header: RefCell<Vec<u8>>,
    /// `Connection: keep-alive\r\n` followed by `keep_alive_header`.
    pub keep_alive_lines: RefCell<Vec<u8>>,
    /// The options that may change while the shard runs (Node reads them per connection);
    /// the timeouts and per-socket limits are read here, not from `config`.
    pub live: Cell<LiveConfig>,
    pub config: Arc<Config>,
    /// Finished response slots kept for reuse (their buffers keep their capacity).
    pub slot_pool: RefCell<Vec<Rc<ResSlot>>>,
    /// Output buffers of connections that went idle, for response slots to write into
    /// again (an idle keep-alive connection keeps no output capacity).
    pub out_bufs: RefCell<Vec<Vec<u8>>>,
    /// Request head buffers kept for reuse.
    pub head_bufs: RefCell<Vec<Vec<u8>>>,
    /// Buffers of body chunks that were queued then read, for the next ones (see
    /// `BodyChan::push`).
    pub body_bufs: RefCell<Vec<Vec<u8>>>,
    /// Header-span vectors of finished requests, for the parser to fill again.
    pub span_bufs: RefCell<Vec<Vec<crate::proto::h1::HeaderSpan>>>,
    /// Handles kept on the shard for other threads (`Response::into_remote`): the shard
    /// only stores them; the API layer knows their type.
    parked: RefCell<Slab<Option<Box<dyn Any>>>>,
    pub remote: Arc<Remote>,
    /// Socket inactivity timeouts set through `req/res.set_timeout`, applied by the shard.
    pub timeout_changes: RefCell<Vec<(Rc<ConnShared>, std::time::Duration)>>,
}

impl ShardCtx {
    pub(super) fn new(date: DateCache, config: Arc<Config>, remote: Arc<Remote>) -> ShardCtx {
        let live = config.live;
        let (keep_alive_header, keep_alive_lines) = live.keep_alive_lines();
        ShardCtx {
            dirty: RefCell::new(Vec::new()),
            body_ready: RefCell::new(Vec::new()),
            date: RefCell::new(date),
            keep_alive_header: RefCell::new(keep_alive_header),
            keep_alive_lines: RefCell::new(keep_alive_lines),
            live: Cell::new(live),
            config,
            slot_pool: RefCell::new(Vec::new()),
            out_bufs: RefCell::new(Vec::new()),
            head_bufs: RefCell::new(Vec::new()),
            body_bufs: RefCell::new(Vec::new()),
            span_bufs: RefCell::new(Vec::new()),
            parked: RefCell::new(Slab::new()),
            remote,
            timeout_changes: RefCell::new(Vec::new()),
        }
    }

    /// Keeps a body chunk's buffer for the next chunk that has to be queued: as many as a
    /// turn's pipelined small bodies wait in (a batch of the Node binding's is 256 requests),
    /// none over 16 KiB.
    pub fn recycle_body_buf(&self, buf: Vec<u8>) {
        keep_spare(&self.body_bufs, buf, 16 * 1024);
    }

    /// Keeps `handle` on the shard; returns its id.
    pub fn park(&self, handle: Box<dyn Any>) -> usize {
        self.parked.borrow_mut().insert(Some(handle))
    }

    /// Takes a parked handle out for a while (its id stays reserved).
    pub fn take_parked(&self, id: usize) -> Option<Box<dyn Any>> {
        self.parked.borrow_mut().get_mut(id).and_then(Option::take)
    }

    /// Returns a handle taken with [`take_parked`](Self::take_parked).
    pub fn put_back(&self, id: usize, handle: Box<dyn Any>) {
        if let Some(slot) = self.parked.borrow_mut().get_mut(id) {
            *slot = Some(handle);
        }
    }

    /// Removes a parked handle for good.
    pub fn unpark(&self, id: usize) -> Option<Box<dyn Any>> {
        self.parked.borrow_mut().try_remove(id).flatten()
    }
}

/// Facts about one connection shared with its handles.
pub(crate) struct ConnShared {
    pub idx: usize,
    pub fd: RawFd,
    pub ctx: Rc<ShardCtx>,
    dirty: Cell<bool>,
    /// Response bytes accepted but not yet written to the socket.
    pub unsent: Cell<usize>,
    /// The connection is gone (or going): writes are dropped.
    pub closed: Cell<bool>,
    /// A handle asked for the connection to be destroyed (`socket.destroy()`).
    pub destroy_requested: Cell<bool>,
    /// A raw socket took the connection over (`req.socket.write()`): responses that are
    /// not raw write nothing more (see `takeover.rs`).
    pub taken: Cell<bool>,
    /// The takeover's socket (its input channel and output slot) until the shard applies it.
    pub(super) takeover: RefCell<Option<(Rc<BodyChan>, Rc<ResSlot>)>>,
}

impl ConnShared {
    pub fn new(idx: usize, fd: RawFd, ctx: Rc<ShardCtx>) -> ConnShared {
        ConnShared {
            idx,
            fd,
            ctx,
            dirty: Cell::new(false),
            unsent: Cell::new(0),
            closed: Cell::new(false),
            destroy_requested: Cell::new(false),
            taken: Cell::new(false),
            takeover: RefCell::new(None),
        }
    }

    /// Asks the shard to look at this connection at its next flush.
    pub fn mark_dirty(&self) {
        if !self.dirty.replace(true) {
            self.ctx.dirty.borrow_mut().push(self.idx);
        }
    }

    /// Asks the shard to tear the connection down at its next flush.
    pub fn destroy(&self) {
        if !self.closed.get() {
            self.destroy_requested.set(true);
            self.mark_dirty();
        }
    }

    pub fn clear_dirty(&self) {
        self.dirty.set(false);
    }
}

/// How many spare buffers of one kind (head, header spans, body chunks) a shard keeps.
const SPARE_MAX: usize = 1024;

/// Keeps `buf`, emptied with its capacity, in `pool` for reuse, unless the pool is full or
/// `buf` has no capacity or more than `max_cap` elements of it.
pub(crate) fn keep_spare<T>(pool: &RefCell<Vec<Vec<T>>>, mut buf: Vec<T>, max_cap: usize) {
    let mut pool = pool.borrow_mut();
    if pool.len() < SPARE_MAX && buf.capacity() != 0 && buf.capacity() <= max_cap {
        buf.clear();
        pool.push(buf);
    }
}
