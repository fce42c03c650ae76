//! State a shard shares with the request/response handles it gives out. Everything here
//! is `!Send` and lives on the shard's thread; borrows are short and never held across a
//! call into user code.
use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::Arc;

use slab::Slab;

use super::date::DateCache;
use super::remote::Remote;
use super::Config;
use crate::api::body::BodyChan;
use crate::api::response::{ResSlot, Response};

/// Per-shard context behind an `Rc`.
pub(crate) struct ShardCtx {
    /// Connections whose output or read interest changed since the last flush.
    pub dirty: RefCell<Vec<usize>>,
    /// Request bodies with data or an end to deliver outside the parser.
    pub body_ready: RefCell<Vec<Rc<BodyChan>>>,
    pub date: RefCell<DateCache>,
    /// `Keep-Alive: timeout=N\r\n` for keepAliveTimeout (empty when it is zero),
    /// formatted once.
    pub keep_alive_header: Vec<u8>,
    /// `Connection: keep-alive\r\n` followed by `keep_alive_header`.
    pub keep_alive_lines: Vec<u8>,
    pub config: Arc<Config>,
    /// Finished response slots kept for reuse (their buffers keep their capacity).
    pub slot_pool: RefCell<Vec<Rc<ResSlot>>>,
    /// Request head buffers kept for reuse.
    pub head_bufs: RefCell<Vec<Vec<u8>>>,
    /// Header-span vectors of finished requests, for the parser to fill again.
    pub span_bufs: RefCell<Vec<Vec<crate::proto::h1::HeaderSpan>>>,
    /// Responses handed to other threads (`Response::into_remote`).
    pub parked: RefCell<Slab<Option<Response>>>,
    pub remote: Arc<Remote>,
    /// Socket inactivity timeouts set through `req/res.set_timeout`, applied by the shard.
    pub timeout_changes: RefCell<Vec<(Rc<ConnShared>, std::time::Duration)>>,
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
