//! The listeners a shard calls ('request', 'connection', ...), in the shard's own terms:
//! a request is handed over as the parsed [`Incoming`] plus its response slot, a raw
//! ('upgrade'/'connect') connection as its byte channel and slot. The API layer's builder
//! methods (`Handlers::on_request` and friends) wrap the user's closures into these.
use std::rc::Rc;

use super::body::BodyChan;
use super::ctx::{keep_spare, ConnShared};
use super::slot::ResSlot;
use super::ConnInfo;
use crate::error::Error;
use crate::proto::h1::RequestHead;

pub(crate) type RequestFn = Rc<dyn Fn(Incoming, Rc<ResSlot>)>;
pub(crate) type RawFn = Rc<dyn Fn(Incoming, Rc<BodyChan>, Rc<ResSlot>, Vec<u8>)>;
pub(crate) type ConnFn = Rc<dyn Fn(&ConnInfo)>;
pub(crate) type ClientErrorFn = Rc<dyn Fn(&Error, &ConnInfo) -> Option<Vec<u8>>>;
pub(crate) type DropFn = Rc<dyn Fn(Incoming, &ConnInfo)>;

/// Listeners for one shard. They run on the shard's thread and need not be `Send`; a
/// threaded server builds one set per shard from its `Send + Sync` closures.
#[derive(Clone, Default)]
pub struct Handlers {
    pub(crate) request: Option<RequestFn>,
    pub(crate) check_continue: Option<RequestFn>,
    pub(crate) check_expectation: Option<RequestFn>,
    pub(crate) connection: Option<ConnFn>,
    pub(crate) conn_close: Option<ConnFn>,
    pub(crate) client_error: Option<ClientErrorFn>,
    pub(crate) timeout: Option<ConnFn>,
    pub(crate) drop_request: Option<DropFn>,
    pub(crate) upgrade: Option<RawFn>,
    pub(crate) connect: Option<RawFn>,
}

impl Handlers {
    /// Removes the 'upgrade' listener (`server.removeAllListeners('upgrade')`): upgrade
    /// requests are ordinary requests again.
    pub fn remove_upgrade(&mut self) {
        self.upgrade = None;
    }

    /// Removes the 'connect' listener: CONNECT requests close the connection again.
    pub fn remove_connect(&mut self) {
        self.connect = None;
    }
}

/// A parsed request as the shard hands it over: the head's bytes and spans, its
/// connection and its body channel. The buffers go back to the shard's pools on drop.
pub(crate) struct Incoming {
    /// The head's bytes; `head`'s spans index them.
    pub buf: Vec<u8>,
    pub head: RequestHead,
    pub conn: Rc<ConnShared>,
    pub body: Option<Rc<BodyChan>>,
    /// `maxHeadersCount` (usize::MAX: no limit).
    pub max_headers: usize,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        // The head buffer and header spans go back to the shard's pools (capacity kept).
        let ctx = &self.conn.ctx;
        keep_spare(&ctx.head_bufs, std::mem::take(&mut self.buf), 64 * 1024);
        keep_spare(&ctx.span_bufs, std::mem::take(&mut self.head.headers), 4096);
        if let Some(b) = &self.body {
            b.release();
        }
    }
}
