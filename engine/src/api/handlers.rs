//! The server's event listeners ('request', 'connection', ...), as called on a shard.
use std::rc::Rc;
use std::sync::Arc;

use super::{Request, Response, Socket};
use crate::error::Error;
use crate::shard::ConnInfo;

pub(crate) type RequestFn = Rc<dyn Fn(Request, Response)>;
pub(crate) type RawFn = Rc<dyn Fn(Request, Socket, Vec<u8>)>;
type SharedRawFn = Arc<dyn Fn(Request, Socket, Vec<u8>) + Send + Sync>;
pub(crate) type ConnFn = Rc<dyn Fn(&ConnInfo)>;
type SharedConnFn = Arc<dyn Fn(&ConnInfo) + Send + Sync>;
pub(crate) type ClientErrorFn = Rc<dyn Fn(&Error, &ConnInfo) -> Option<Vec<u8>>>;
type SharedClientErrorFn = Arc<dyn Fn(&Error, &ConnInfo) -> Option<Vec<u8>> + Send + Sync>;

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
    pub(crate) upgrade: Option<RawFn>,
    pub(crate) connect: Option<RawFn>,
}

impl Handlers {
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// 'request'.
    pub fn on_request(mut self, f: impl Fn(Request, Response) + 'static) -> Self {
        self.request = Some(Rc::new(f));
        self
    }

    /// 'checkContinue': replaces the automatic `100 Continue`; call
    /// [`Response::write_continue`] to let the client send its body.
    pub fn on_check_continue(mut self, f: impl Fn(Request, Response) + 'static) -> Self {
        self.check_continue = Some(Rc::new(f));
        self
    }

    /// 'checkExpectation': any `Expect` other than 100-continue (417 when absent).
    pub fn on_check_expectation(mut self, f: impl Fn(Request, Response) + 'static) -> Self {
        self.check_expectation = Some(Rc::new(f));
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
        self.upgrade = Some(Rc::new(f));
        self
    }

    /// 'connect': a CONNECT request (without a listener the connection is closed).
    pub fn on_connect(mut self, f: impl Fn(Request, Socket, Vec<u8>) + 'static) -> Self {
        self.connect = Some(Rc::new(f));
        self
    }

    /// Removes the 'upgrade' listener (`server.removeAllListeners('upgrade')`): upgrade
    /// requests are ordinary requests again.
    pub fn remove_upgrade(&mut self) {
        self.upgrade = None;
    }

    /// Removes the 'connect' listener: CONNECT requests close the connection again.
    pub fn remove_connect(&mut self) {
        self.connect = None;
    }

    /// 'timeout': the connection was inactive for `server.timeout`. Without a listener
    /// the connection is destroyed.
    pub fn on_timeout(mut self, f: impl Fn(&ConnInfo) + 'static) -> Self {
        self.timeout = Some(Rc::new(f));
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
    pub request: Option<Arc<dyn Fn(Request, Response) + Send + Sync>>,
    pub check_continue: Option<Arc<dyn Fn(Request, Response) + Send + Sync>>,
    pub check_expectation: Option<Arc<dyn Fn(Request, Response) + Send + Sync>>,
    pub connection: Option<SharedConnFn>,
    pub conn_close: Option<SharedConnFn>,
    pub client_error: Option<SharedClientErrorFn>,
    pub timeout: Option<SharedConnFn>,
    pub upgrade: Option<SharedRawFn>,
    pub connect: Option<SharedRawFn>,
}

impl SharedHandlers {
    pub fn for_shard(&self) -> Handlers {
        fn req(f: &Option<Arc<dyn Fn(Request, Response) + Send + Sync>>) -> Option<RequestFn> {
            f.clone().map(|f| Rc::new(move |a, b| f(a, b)) as RequestFn)
        }
        fn raw(f: &Option<SharedRawFn>) -> Option<RawFn> {
            f.clone()
                .map(|f| Rc::new(move |r, s, h| f(r, s, h)) as RawFn)
        }
        Handlers {
            request: req(&self.request),
            check_continue: req(&self.check_continue),
            check_expectation: req(&self.check_expectation),
            connection: self
                .connection
                .clone()
                .map(|f| Rc::new(move |c: &ConnInfo| f(c)) as _),
            conn_close: self
                .conn_close
                .clone()
                .map(|f| Rc::new(move |c: &ConnInfo| f(c)) as _),
            client_error: self
                .client_error
                .clone()
                .map(|f| Rc::new(move |e: &Error, c: &ConnInfo| f(e, c)) as _),
            timeout: self
                .timeout
                .clone()
                .map(|f| Rc::new(move |c: &ConnInfo| f(c)) as _),
            upgrade: raw(&self.upgrade),
            connect: raw(&self.connect),
        }
    }
}
