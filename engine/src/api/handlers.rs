//! The server's event listeners ('request', 'connection', ...) in the user's terms: the
//! builder methods of the shard's [`Handlers`] wrap closures over [`Request`],
//! [`Response`] and [`Socket`] into the shard's own listener types.
use std::rc::Rc;
use std::sync::Arc;

use super::{Request, Response, Socket};
use crate::error::Error;
pub use crate::shard::handlers::Handlers;
use crate::shard::handlers::{DropFn, Incoming, RawFn, RequestFn};
use crate::shard::slot::ResSlot;
use crate::shard::ConnInfo;

type SharedRequestFn = Arc<dyn Fn(Request, Response) + Send + Sync>;
type SharedRawFn = Arc<dyn Fn(Request, Socket, Vec<u8>) + Send + Sync>;
type SharedConnFn = Arc<dyn Fn(&ConnInfo) + Send + Sync>;
type SharedClientErrorFn = Arc<dyn Fn(&Error, &ConnInfo) -> Option<Vec<u8>> + Send + Sync>;
type SharedDropFn = Arc<dyn Fn(Request, &ConnInfo) + Send + Sync>;

fn request_fn(f: impl Fn(Request, Response) + 'static) -> RequestFn {
    Rc::new(move |inc: Incoming, slot: Rc<ResSlot>| f(Request::new(inc), Response::new(slot)))
}

fn raw_fn(f: impl Fn(Request, Socket, Vec<u8>) + 'static) -> RawFn {
    Rc::new(move |inc: Incoming, chan, slot, head| {
        let socket = Socket::new(chan, slot, inc.conn.clone());
        f(Request::new(inc), socket, head)
    })
}

impl Handlers {
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// 'request'.
    pub fn on_request(mut self, f: impl Fn(Request, Response) + 'static) -> Self {
        self.request = Some(request_fn(f));
        self
    }

    /// 'checkContinue': replaces the automatic `100 Continue`; call
    /// [`Response::write_continue`] to let the client send its body.
    pub fn on_check_continue(mut self, f: impl Fn(Request, Response) + 'static) -> Self {
        self.check_continue = Some(request_fn(f));
        self
    }

    /// 'checkExpectation': any `Expect` other than 100-continue (417 when absent).
    pub fn on_check_expectation(mut self, f: impl Fn(Request, Response) + 'static) -> Self {
        self.check_expectation = Some(request_fn(f));
        self
    }

    /// 'connection': once per accepted TCP connection.
    pub fn on_connection(mut self, f: impl Fn(&ConnInfo) + 'static) -> Self {
        self.connection = Some(Rc::new(f));
        self
    }

    /// A connection closed (the socket's 'close').
    pub fn on_connection_close(mut self, f: impl Fn(&ConnInfo) + 'static) -> Self {
        self.conn_close = Some(Rc::new(f));
        self
    }

    /// 'upgrade': a request with `Connection: upgrade`. The listener gets the request, the
    /// raw socket and the bytes already read past the head. Without a listener the request
    /// is an ordinary 'request', as in Node.
    pub fn on_upgrade(mut self, f: impl Fn(Request, Socket, Vec<u8>) + 'static) -> Self {
        self.upgrade = Some(raw_fn(f));
        self
    }

    /// 'connect': a CONNECT request (without a listener the connection is closed).
    pub fn on_connect(mut self, f: impl Fn(Request, Socket, Vec<u8>) + 'static) -> Self {
        self.connect = Some(raw_fn(f));
        self
    }

    /// 'timeout': the connection was inactive for `server.timeout`. Without a listener
    /// the connection is destroyed.
    pub fn on_timeout(mut self, f: impl Fn(&ConnInfo) + 'static) -> Self {
        self.timeout = Some(Rc::new(f));
        self
    }

    /// 'dropRequest': a request over `maxRequestsPerSocket` on its connection, which the
    /// shard answers `503` itself once the listener returns (the listener may read the
    /// request and [`ConnInfo::destroy`]/[`ConnInfo::end`] the connection).
    pub fn on_drop_request(mut self, f: impl Fn(Request, &ConnInfo) + 'static) -> Self {
        self.drop_request = Some(Rc::new(move |inc, c: &ConnInfo| f(Request::new(inc), c)));
        self
    }

    /// 'clientError': a malformed request. Return the bytes to answer with (None: the
    /// default `400`/`431`... response). The connection closes afterwards.
    pub fn on_client_error(
        mut self,
        f: impl Fn(&Error, &ConnInfo) -> Option<Vec<u8>> + 'static,
    ) -> Self {
        self.client_error = Some(Rc::new(f));
        self
    }
}

/// `Send + Sync` listeners from which each shard thread builds its [`Handlers`].
#[derive(Clone, Default)]
pub(crate) struct SharedHandlers {
    pub request: Option<SharedRequestFn>,
    pub check_continue: Option<SharedRequestFn>,
    pub check_expectation: Option<SharedRequestFn>,
    pub connection: Option<SharedConnFn>,
    pub conn_close: Option<SharedConnFn>,
    pub client_error: Option<SharedClientErrorFn>,
    pub timeout: Option<SharedConnFn>,
    pub drop_request: Option<SharedDropFn>,
    pub upgrade: Option<SharedRawFn>,
    pub connect: Option<SharedRawFn>,
}

impl SharedHandlers {
    pub fn for_shard(&self) -> Handlers {
        let req = |f: &Option<SharedRequestFn>| {
            f.clone()
                .map(|f| request_fn(move |req: Request, res: Response| f(req, res)))
        };
        let raw = |f: &Option<SharedRawFn>| {
            f.clone()
                .map(|f| raw_fn(move |req: Request, s: Socket, h: Vec<u8>| f(req, s, h)))
        };
        let conn = |f: &Option<SharedConnFn>| {
            f.clone()
                .map(|f| Rc::new(move |c: &ConnInfo| f(c)) as Rc<dyn Fn(&ConnInfo)>)
        };
        Handlers {
            request: req(&self.request),
            check_continue: req(&self.check_continue),
            check_expectation: req(&self.check_expectation),
            connection: conn(&self.connection),
            conn_close: conn(&self.conn_close),
            client_error: self
                .client_error
                .clone()
                .map(|f| Rc::new(move |e: &Error, c: &ConnInfo| f(e, c)) as _),
            timeout: conn(&self.timeout),
            drop_request: self
                .drop_request
                .clone()
                .map(|f| Rc::new(move |inc, c: &ConnInfo| f(Request::new(inc), c)) as DropFn),
            upgrade: raw(&self.upgrade),
            connect: raw(&self.connect),
        }
    }
}
