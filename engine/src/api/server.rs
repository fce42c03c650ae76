//! `http.createServer(...)` and `server.listen(...)`: a builder for the options and
//! listeners, and a running [`Server`] of N shard threads.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{listen, Config, ListenAddr, LiveConfig, Request, Response, SharedHandlers, Socket};
use crate::backend::BackendKind;
use crate::error::{Error, ErrorKind};
use crate::shard::stats::{Counters, Stats};
use crate::shard::{ConnInfo, Shard, ShardHandle};

/// Options and listeners of a server (Node's `http.createServer([options][, listener])`).
#[derive(Clone, Default)]
pub struct ServerBuilder {
    config: Config,
    handlers: SharedHandlers,
    on_close: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl ServerBuilder {
    pub fn new() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Number of shards (threads), default one per CPU. Zero is rejected by `listen`.
    pub fn shards(mut self, n: usize) -> Self {
        self.config.shards = n;
        self
    }

    /// Share the TCP port with other processes' listeners that also ask to (Node 22's
    /// `reusePort`). Off by default: listening on a port another socket holds fails with
    /// EADDRINUSE. On, two versions of a server can overlap during a zero-downtime restart.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.config.reuse_port = on;
        self
    }

    /// `auto` (default), `uring` or `epoll`; the env `RINGHTTP_BACKEND` overrides.
    pub fn backend(mut self, kind: BackendKind) -> Self {
        self.config.backend = kind;
        self
    }

    /// `server.timeout`: socket inactivity (zero disables).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.config.live.timeout = d;
        self
    }

    /// `server.keepAliveTimeout` (5 s; zero disables): how long an idle connection waits
    /// for its next request, as advertised in `Keep-Alive: timeout=N`. The connection is
    /// closed [`keep_alive_timeout_buffer`](Self::keep_alive_timeout_buffer) later.
    pub fn keep_alive_timeout(mut self, d: Duration) -> Self {
        self.config.live.keep_alive_timeout = d;
        self
    }

    /// Node's `server.keepAliveTimeoutBuffer` (1 s, as Node 20's fixed buffer): the idle
    /// close comes this long after the advertised keepAliveTimeout, so that a client
    /// reusing the connection right at the advertised deadline does not race the close.
    pub fn keep_alive_timeout_buffer(mut self, d: Duration) -> Self {
        self.config.live.keep_alive_timeout_buffer = d;
        self
    }

    /// `server.headersTimeout`.
    pub fn headers_timeout(mut self, d: Duration) -> Self {
        self.config.live.headers_timeout = d;
        self
    }

    /// `server.requestTimeout`.
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.config.live.request_timeout = d;
        self
    }

    /// `server.maxHeadersCount`.
    pub fn max_headers_count(mut self, n: usize) -> Self {
        self.config.live.max_headers_count = n;
        self
    }

    /// `server.maxRequestsPerSocket`.
    pub fn max_requests_per_socket(mut self, n: usize) -> Self {
        self.config.live.max_requests_per_socket = n;
        self
    }

    /// All the options Node reads per connection or request at once (the timeouts,
    /// maxHeadersCount, maxRequestsPerSocket), as `ShardState::set_live_config` takes them
    /// while a shard runs.
    pub fn live_config(mut self, live: LiveConfig) -> Self {
        self.config.live = live;
        self
    }

    /// Node's `maxHeaderSize` option.
    pub fn max_header_size(mut self, n: usize) -> Self {
        self.config.limits.max_header_size = n;
        self
    }

    /// Largest request body accepted (413 beyond).
    pub fn max_body_size(mut self, n: u64) -> Self {
        self.config.max_body_size = Some(n);
        self
    }

    /// Every option at once.
    pub fn config(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    /// 'request'.
    pub fn on_request(mut self, f: impl Fn(Request, Response) + Send + Sync + 'static) -> Self {
        self.handlers.request = Some(Arc::new(f));
        self
    }

    /// 'checkContinue'.
    pub fn on_check_continue(
        mut self,
        f: impl Fn(Request, Response) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.check_continue = Some(Arc::new(f));
        self
    }

    /// 'checkExpectation'.
    pub fn on_check_expectation(
        mut self,
        f: impl Fn(Request, Response) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.check_expectation = Some(Arc::new(f));
        self
    }

    /// 'connection'.
    pub fn on_connection(mut self, f: impl Fn(&ConnInfo) + Send + Sync + 'static) -> Self {
        self.handlers.connection = Some(Arc::new(f));
        self
    }

    /// A connection closed.
    pub fn on_connection_close(mut self, f: impl Fn(&ConnInfo) + Send + Sync + 'static) -> Self {
        self.handlers.conn_close = Some(Arc::new(f));
        self
    }

    /// 'clientError': return the bytes to answer with, or None for the default.
    pub fn on_client_error(
        mut self,
        f: impl Fn(&Error, &ConnInfo) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> Self {
        self.handlers.client_error = Some(Arc::new(f));
        self
    }

    /// 'upgrade': request, raw socket, bytes read past the head.
    pub fn on_upgrade(
        mut self,
        f: impl Fn(Request, Socket, Vec<u8>) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.upgrade = Some(Arc::new(f));
        self
    }

    /// 'connect': request, raw socket, bytes read past the head.
    pub fn on_connect(
        mut self,
        f: impl Fn(Request, Socket, Vec<u8>) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.connect = Some(Arc::new(f));
        self
    }

    /// 'timeout' (server.timeout expired on a connection).
    pub fn on_timeout(mut self, f: impl Fn(&ConnInfo) + Send + Sync + 'static) -> Self {
        self.handlers.timeout = Some(Arc::new(f));
        self
    }

    /// 'dropRequest': a request over `max_requests_per_socket`, answered `503` by the
    /// shard once the listener returns.
    pub fn on_drop_request(
        mut self,
        f: impl Fn(Request, &ConnInfo) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.drop_request = Some(Arc::new(f));
        self
    }

    /// 'close': after close() once every connection is gone.
    pub fn on_close(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_close = Some(Arc::new(f));
        self
    }

    /// The options as they stand.
    pub fn get_config(&self) -> &Config {
        &self.config
    }

    /// Opens the listeners and starts the shard threads ('listening' when this returns).
    pub fn listen<A>(self, addr: A) -> Result<Server, Error>
    where
        A: TryInto<ListenAddr>,
        Error: From<A::Error>,
    {
        let addr = addr.try_into()?;
        let shards = self.config.shards;
        if shards == 0 {
            return Err(Error::new(
                ErrorKind::Config,
                "shards must be at least 1 (got 0)",
            ));
        }
        raise_nofile_limit_once();
        let (fds, bound) = listen::open(&addr, shards, &self.config)?;
        let config = Arc::new(self.config);
        let own = matches!(addr, ListenAddr::Tcp(_));
        let remaining = Arc::new(AtomicUsize::new(shards));
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut threads = Vec::with_capacity(shards);
        for (i, fd) in fds.into_iter().enumerate() {
            let (config, handlers, ready) =
                (config.clone(), self.handlers.clone(), ready_tx.clone());
            let (remaining, on_close) = (remaining.clone(), self.on_close.clone());
            let t = std::thread::Builder::new()
                .name(format!("ringhttp-shard-{i}"))
                .spawn(move || {
                    let res = run_shard(config, handlers, fd, own, &ready);
                    if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                        if let Some(f) = on_close {
                            f();
                        }
                    }
                    res
                })
                .map_err(|e| Error::io(ErrorKind::Backend, "spawning a shard thread", e))?;
            threads.push(t);
        }
        drop(ready_tx);
        let mut handles = Vec::with_capacity(shards);
        let mut counters = Vec::with_capacity(shards);
        let mut backend = None;
        let mut failure = None;
        for _ in 0..shards {
            match ready_rx.recv() {
                Ok(Ok((kind, why, h, c))) => {
                    if backend.is_none() {
                        // One line per server, not per shard.
                        tracing::info!("backend: {why}");
                    }
                    backend = Some(kind);
                    handles.push(h);
                    counters.push(c);
                }
                Ok(Err(e)) => failure = Some(e),
                Err(_) => {
                    failure = failure.or(Some(Error::new(
                        ErrorKind::Backend,
                        "a shard thread died during start-up",
                    )))
                }
            }
        }
        let server = Server {
            addr,
            bound,
            backend: backend.unwrap_or_default(),
            shards: handles,
            counters,
            threads: Mutex::new(threads),
        };
        if let Some(e) = failure {
            server.close();
            let _ = server.wait();
            return Err(e);
        }
        Ok(server)
    }

    /// Serves an inherited, already listening socket (systemd socket activation: see
    /// [`ListenAddr::from_systemd`]); each shard gets its own `dup`. The socket is left
    /// open when the server closes, so connections wait in its backlog for the next start.
    pub fn listen_fd(self, fd: std::os::fd::RawFd) -> Result<Server, Error> {
        self.listen(ListenAddr::Fd(fd))
    }

    /// One shard to be driven from another event loop (see [`Shard::run_ready`]), serving
    /// `addr`. With [`reuse_port`](Self::reuse_port) several such shards (e.g. one per
    /// worker thread) can share a port.
    pub fn build_shard<A>(self, addr: A) -> Result<(Shard, Option<SocketAddr>), Error>
    where
        A: TryInto<ListenAddr>,
        Error: From<A::Error>,
    {
        let addr = addr.try_into()?;
        raise_nofile_limit_once();
        let (fds, bound) = listen::open(&addr, 1, &self.config)?;
        let mut shard = Shard::new(Arc::new(self.config), self.handlers.for_shard(), fds, true)?;
        shard.set_own_listeners(matches!(addr, ListenAddr::Tcp(_)));
        tracing::info!("backend: {}", shard.backend_reason());
        Ok((shard, bound))
    }
}

/// Raises RLIMIT_NOFILE to the hard limit the first time a server listens; one log line.
fn raise_nofile_limit_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| match crate::backend::sys::raise_nofile_limit() {
        Ok((old, new)) if old < new => {
            tracing::info!("RLIMIT_NOFILE raised from {old} to the hard limit {new}")
        }
        Ok((_, n)) => tracing::info!("RLIMIT_NOFILE {n} (already the hard limit)"),
        Err(e) => tracing::warn!("raising RLIMIT_NOFILE failed: {e}"),
    });
}

type Ready = mpsc::Sender<Result<(BackendKind, String, ShardHandle, Arc<Counters>), Error>>;

fn run_shard(
    config: Arc<Config>,
    handlers: SharedHandlers,
    fd: std::os::fd::RawFd,
    own: bool,
    ready: &Ready,
) -> Result<(), Error> {
    let mut shard = match Shard::new(config, handlers.for_shard(), vec![fd], false) {
        Ok(s) => s,
        Err(e) => {
            listen::close(fd);
            let msg = e.to_string();
            let _ = ready.send(Err(e));
            return Err(Error::new(ErrorKind::Backend, msg));
        }
    };
    shard.set_own_listeners(own);
    let _ = ready.send(Ok((
        shard.backend(),
        shard.backend_reason().to_string(),
        shard.handle(),
        shard.counters(),
    )));
    let res = shard.run();
    if let Err(e) = &res {
        tracing::error!("shard stopped: {e}");
    }
    res
}

impl TryFrom<&str> for ListenAddr {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        ListenAddr::parse(s)
    }
}

impl TryFrom<String> for ListenAddr {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        ListenAddr::parse(&s)
    }
}

impl TryFrom<(&str, u16)> for ListenAddr {
    type Error = Error;
    fn try_from((host, port): (&str, u16)) -> Result<Self, Error> {
        let h = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        ListenAddr::parse(&format!("{h}:{port}"))
    }
}

/// Reads a server's counters from anywhere ([`Server::stats_reader`]).
#[derive(Clone)]
pub struct StatsReader {
    backend: BackendKind,
    counters: Vec<Arc<Counters>>,
}

impl StatsReader {
    pub fn stats(&self) -> Stats {
        Stats::new(
            self.backend,
            self.counters.iter().map(|c| c.snapshot()).collect(),
        )
    }
}

/// A listening server: N shards, each on its own thread.
pub struct Server {
    addr: ListenAddr,
    bound: Option<SocketAddr>,
    backend: BackendKind,
    shards: Vec<ShardHandle>,
    counters: Vec<Arc<Counters>>,
    threads: Mutex<Vec<JoinHandle<Result<(), Error>>>>,
}

impl Server {
    /// `server.address()`: the bound TCP address (the real port after port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.bound
    }

    /// What was listened on.
    pub fn listen_addr(&self) -> &ListenAddr {
        &self.addr
    }

    /// The backend the shards run on.
    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The counters of each shard and their sum, read now without stopping the shards
    /// (each shard writes only its own; see [`Stats::prometheus`] for the text format).
    pub fn stats(&self) -> Stats {
        Stats::new(
            self.backend,
            self.counters.iter().map(|c| c.snapshot()).collect(),
        )
    }

    /// A `Send + Sync` reader of the counters, e.g. for a metrics endpoint that outlives
    /// a borrow of the server.
    pub fn stats_reader(&self) -> StatsReader {
        StatsReader {
            backend: self.backend,
            counters: self.counters.clone(),
        }
    }

    /// Handles to post work to each shard.
    pub fn shards(&self) -> &[ShardHandle] {
        &self.shards
    }

    /// Closes gracefully: stop accepting, close idle connections, let in-flight requests
    /// finish (their responses say `Connection: close`); 'close' fires when all are gone.
    /// Node's own `server.close()` does not end busy keep-alive connections: that is
    /// [`stop_accepting`](Self::stop_accepting) then
    /// [`close_idle_connections`](Self::close_idle_connections).
    pub fn close(&self) {
        for s in &self.shards {
            s.close();
        }
    }

    /// Node's `net.Server.close()`: stop accepting; open connections, busy or idle, are
    /// served as before (keep-alive included) until the client closes them or they time
    /// out, and the server stops when the last one is gone.
    pub fn stop_accepting(&self) {
        for s in &self.shards {
            s.stop_accepting();
        }
    }

    /// Graceful shutdown, e.g. on SIGTERM: stop accepting at once (the listeners leave the
    /// port, so a `reuse_port` successor gets every new connection), close idle keep-alive
    /// connections, answer every request already received (including one that was only
    /// half-received and completes in time) with `Connection: close`, then after `grace`
    /// close whatever is left ([`close`](Self::close), then
    /// [`close_all_connections`](Self::close_all_connections) at the deadline).
    /// Returns when every shard has stopped.
    pub fn shutdown(&self, grace: Duration) -> Result<(), Error> {
        let deadline = std::time::Instant::now() + grace;
        for s in &self.shards {
            s.shutdown(deadline);
        }
        self.wait()
    }

    /// `server.setTimeout(msecs)`: the inactivity timeout of connections accepted after each
    /// shard has taken the change (at once unless it is busy); open connections keep theirs.
    /// The builder's [`timeout`](ServerBuilder::timeout) is the initial value.
    pub fn set_timeout(&self, msecs: Duration) {
        for s in &self.shards {
            s.post(move |st| st.set_timeout(msecs));
        }
    }

    /// `server.closeIdleConnections()`.
    pub fn close_idle_connections(&self) {
        for s in &self.shards {
            s.post(|st| st.close_idle_connections());
        }
    }

    /// `server.closeAllConnections()`.
    pub fn close_all_connections(&self) {
        for s in &self.shards {
            s.post(|st| st.close_all_connections());
        }
    }

    /// Waits until every shard has stopped (after [`close`](Self::close)).
    pub fn wait(&self) -> Result<(), Error> {
        let threads = std::mem::take(
            &mut *self
                .threads
                .lock()
                .map_err(|_| Error::new(ErrorKind::Io, "server lock poisoned"))?,
        );
        let mut first_err = None;
        for t in threads {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => first_err = first_err.or(Some(e)),
                Err(_) => {
                    first_err =
                        first_err.or(Some(Error::new(ErrorKind::Io, "a shard thread panicked")))
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close();
        let _ = self.wait();
    }
}
