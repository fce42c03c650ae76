//! A shard: one thread (or one external event loop), one backend, its own connections,
//! timers, response-slot pool and Date cache. Nothing here is shared with other shards.
//!
//! One turn of the loop: wait for completions (bounded by the next timer), dispatch them
//! (parse, call handlers), run cross-thread tasks and expired timers, then flush: move
//! finished response bytes to their connections in request order, start one send per
//! connection, adjust read interest and close what is done.
pub(crate) mod body;
mod config;
pub(crate) mod conn;
pub(crate) mod ctx;
pub mod date;
pub(crate) mod handlers;
mod input;
#[allow(unsafe_code)] // Backend::send: the buffer stays pinned until its completion
mod output;
pub(crate) mod remote;
pub(crate) mod slot;
pub mod stats;
pub(crate) mod takeover;
pub(crate) mod timeouts;
pub mod timer;

use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use slab::Slab;

use crate::backend::{self, Backend, BackendKind, Event, Recv};
use crate::error::{Error, ErrorKind};
pub use config::{Config, LiveConfig};
use conn::{Conn, Life};
use ctx::{ConnShared, ShardCtx};
pub use handlers::Handlers;
use remote::{Remote, Task};
use timer::TimerWheel;

/// How long accepting pauses after EMFILE/ENFILE.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// What the 'connection', 'timeout' and connection-close listeners see of a connection
/// (Node's socket, as far as a listener needs it).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    fd: RawFd,
    id: u64,
    /// What the listener asked for ([`destroy`](Self::destroy), [`end`](Self::end)).
    action: std::cell::Cell<timeouts::ConnAction>,
}

impl ConnInfo {
    /// `socket.destroy()`: tear the connection down (unsent responses are dropped). Takes
    /// effect when the listener that was given this `ConnInfo` returns; honoured from the
    /// 'connection' and 'timeout' listeners and the `req`/`res` timeout callbacks. Elsewhere
    /// (or from another thread) use [`ShardState::destroy_connection`] with [`id`](Self::id).
    pub fn destroy(&self) {
        self.action.set(timeouts::ConnAction::Destroy);
    }

    /// `socket.end()`: read no further requests, finish the responses already under way,
    /// then close. Same scope as [`destroy`](Self::destroy).
    pub fn end(&self) {
        if self.action.get() == timeouts::ConnAction::None {
            self.action.set(timeouts::ConnAction::End);
        }
    }

    /// A number unique on this shard for the connection's lifetime.
    pub fn id(&self) -> u64 {
        self.id
    }
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        backend::sys::peer_addr(self.fd)
    }
    pub fn local_addr(&self) -> Option<SocketAddr> {
        backend::sys::local_addr(self.fd)
    }
    /// The connection's socket descriptor (owned by the shard; valid until the connection
    /// closes). Bindings key per-connection state by it.
    pub fn fd(&self) -> RawFd {
        self.fd
    }
}

/// The state a shard's handlers and tasks act on (everything but the backend).
pub struct ShardState {
    pub(crate) ctx: Rc<ShardCtx>,
    pub(crate) conns: Slab<Conn>,
    listeners: Vec<Option<RawFd>>,
    pub(crate) handlers: Handlers,
    pub(crate) timers: TimerWheel,
    /// server.timeout for connections accepted from now on (`Server::set_timeout`).
    server_timeout: Duration,
    expired: Vec<u64>,
    tasks: Receiver<Task>,
    pub(crate) now: Instant,
    next_gen: u32,
    /// Not accepting any more (close() or stop_accepting()): finished once the last
    /// connection is gone.
    pub(crate) closing: bool,
    /// close()/shutdown(): no more keep-alive; a connection is closed once idle.
    pub(crate) draining: bool,
    /// Connections whose fd must be closed once their operations are done.
    reap: Vec<usize>,
    /// Listeners to stop accepting on at the next flush.
    stop_listeners: bool,
    /// Accepting is paused (EMFILE and friends) until then, so accept does not spin.
    accept_paused_until: Option<Instant>,
    /// Listeners to re-arm at the next flush (after an accept pause).
    resume_listeners: bool,
    /// The listeners are this shard's alone (not dup'ed or inherited): closing shuts them
    /// down at once, so they leave the port's SO_REUSEPORT group.
    pub(crate) own_listeners: bool,
    /// Graceful shutdown: when the grace period ends and every connection left is cut.
    grace_deadline: Option<Instant>,
    /// This shard's counters (written here only; read by `Server::stats`).
    pub(crate) stats: Arc<stats::Counters>,
}

/// A shard. Run it on its own thread with [`Shard::run`], or drive it from another event
/// loop: poll [`Shard::pollable_fd`] for readability and call [`Shard::run_ready`].
pub struct Shard {
    backend: Backend,
    st: ShardState,
    why: String,
}

impl Shard {
    /// Builds a shard serving on `listeners` (already bound and listening; the shard takes
    /// ownership). `external`: driven from another event loop rather than [`run`](Self::run).
    pub fn new(
        config: Arc<Config>,
        handlers: Handlers,
        listeners: Vec<RawFd>,
        external: bool,
    ) -> Result<Shard, Error> {
        let requested = match BackendKind::from_env()? {
            Some(k) => k,
            None => config.backend,
        };
        let (remote, tasks) = Remote::new()
            .map_err(|e| Error::io(ErrorKind::Backend, "eventfd for shard wake-ups", e))?;
        let remote = Arc::new(remote);
        let (mut backend, why) = backend::select(requested, external, remote.wake_fd())?;
        tracing::debug!("shard backend: {why}");
        for (i, &fd) in listeners.iter().enumerate() {
            backend.add_listener(i, fd).map_err(|e| {
                Error::io(ErrorKind::Listen, format!("watching listener fd {fd}"), e)
            })?;
        }
        backend
            .submit()
            .map_err(|e| Error::io(ErrorKind::Backend, "first submit", e))?;
        let now = Instant::now();
        let ctx = Rc::new(ShardCtx::new(date::DateCache::new(), config, remote));
        let server_timeout = ctx.config.live.timeout;
        let st = ShardState {
            ctx,
            conns: Slab::with_capacity(1024),
            listeners: listeners.into_iter().map(Some).collect(),
            handlers,
            server_timeout,
            timers: TimerWheel::new(now),
            expired: Vec::new(),
            tasks,
            now,
            next_gen: 0,
            closing: false,
            draining: false,
            reap: Vec::new(),
            stop_listeners: false,
            accept_paused_until: None,
            resume_listeners: false,
            own_listeners: false,
            grace_deadline: None,
            stats: Arc::default(),
        };
        Ok(Shard { backend, st, why })
    }

    /// Which backend this shard runs on.
    pub fn backend(&self) -> BackendKind {
        self.backend.kind()
    }

    /// Why this backend was chosen (e.g. "epoll (io_uring unavailable: ...)").
    pub fn backend_reason(&self) -> &str {
        &self.why
    }

    /// Readable when [`run_ready`](Self::run_ready) has work.
    pub fn pollable_fd(&self) -> RawFd {
        self.backend.pollable_fd()
    }

    /// A `Send` handle to post work to this shard and close it from any thread.
    pub fn handle(&self) -> ShardHandle {
        ShardHandle {
            remote: self.st.ctx.remote.clone(),
        }
    }

    /// Runs until the shard is closed and its last connection is gone.
    pub fn run(&mut self) -> Result<(), Error> {
        while !self.is_finished() {
            let timeout = self.st.next_timeout();
            self.turn(timeout)?;
        }
        self.shutdown();
        Ok(())
    }

    /// Handles everything that is ready without blocking. Returns how long until the next
    /// timer (the caller should call again by then even without readiness); zero when
    /// work is already queued that the pollable fd will not signal.
    pub fn run_ready(&mut self) -> Result<Option<Duration>, Error> {
        // What the caller queued since the last turn (a JS handler's responses) goes out
        // with the turn's own enter, which submits and reaps in one syscall.
        self.st.flush(&mut self.backend);
        self.turn(Some(Duration::ZERO))?;
        self.backend
            .submit()
            .map_err(|e| Error::io(ErrorKind::Io, "submitting to the ring", e))?;
        if self.backend.has_pending() {
            return Ok(Some(Duration::ZERO));
        }
        Ok(self.st.next_timeout())
    }

    /// Closed and no connection left.
    pub fn is_finished(&self) -> bool {
        self.st.closing && self.st.conns.is_empty()
    }

    /// Stops accepting, closes idle connections now and the others after their current
    /// response (a drain: responses not started yet say `Connection: close`).
    pub fn close(&mut self) {
        self.st.begin_close();
        self.st.flush(&mut self.backend);
        let _ = self.backend.submit();
    }

    /// Stops accepting only (see [`ShardState::stop_accepting`]).
    pub fn stop_accepting(&mut self) {
        self.st.stop_accepting();
        self.st.flush(&mut self.backend);
        let _ = self.backend.submit();
    }

    /// This shard's counters now.
    pub fn stats(&self) -> stats::ShardStats {
        self.st.stats.snapshot()
    }

    /// The live counters, readable from any thread.
    pub fn counters(&self) -> Arc<stats::Counters> {
        self.st.stats.clone()
    }

    /// Number of open connections.
    pub fn connections(&self) -> usize {
        self.st.conns.len()
    }

    /// The listeners were opened for this shard alone (a TCP socket per shard): on close
    /// they are shut down at once so the kernel stops routing connections to them.
    pub(crate) fn set_own_listeners(&mut self, own: bool) {
        self.st.own_listeners = own;
    }

    /// Mutable access to the handlers (to add listeners after construction).
    pub fn handlers_mut(&mut self) -> &mut Handlers {
        &mut self.st.handlers
    }

    fn turn(&mut self, timeout: Option<Duration>) -> Result<(), Error> {
        self.backend.wait(timeout).map_err(|e| {
            Error::io(
                ErrorKind::Io,
                format!("waiting on {}", self.backend.kind()),
                e,
            )
        })?;
        self.st.now = Instant::now();
        self.st.ctx.date.borrow_mut().update(SystemTime::now());
        let st = &mut self.st;
        self.backend.dispatch(&mut |ev| st.on_event(ev));
        self.st.run_tasks();
        self.st.apply_timeout_changes();
        self.st.run_timers();
        self.st.end_grace();
        self.st.resume_accepting();
        self.st.flush(&mut self.backend);
        // Completions the backend produced on the spot (epoll's sends) are handled now,
        // not after another wait syscall; bounded so polling is never starved.
        for _ in 0..4 {
            if !self.backend.has_pending() {
                break;
            }
            let st = &mut self.st;
            self.backend.dispatch(&mut |ev| st.on_event(ev));
            self.st.flush(&mut self.backend);
        }
        self.st.apply_timeout_changes();
        Ok(())
    }

    fn shutdown(&mut self) {
        for l in self.st.listeners.iter_mut() {
            if let Some(fd) = l.take() {
                backend::sys::close(fd);
            }
        }
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        // Every connection's operations must finish before the ring and its buffers go.
        self.st.closing = true;
        let ids: Vec<usize> = self.st.conns.iter().map(|(i, _)| i).collect();
        for i in ids {
            self.st.abort(i);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        self.st.flush(&mut self.backend);
        while !self.st.conns.is_empty() && Instant::now() < deadline {
            if self.turn(Some(Duration::from_millis(50))).is_err() {
                break;
            }
        }
        self.shutdown();
    }
}

/// A `Send + Sync` handle to a shard: post closures to run on it, or close it.
#[derive(Clone)]
pub struct ShardHandle {
    remote: Arc<Remote>,
}

impl ShardHandle {
    /// Runs `f` on the shard's thread. False if the shard is gone.
    pub fn post(&self, f: impl FnOnce(&mut ShardState) + Send + 'static) -> bool {
        self.remote.post(Box::new(f))
    }

    /// Asks the shard to close (see [`Shard::close`]).
    pub fn close(&self) -> bool {
        self.post(|st| st.begin_close())
    }

    /// Asks the shard to stop accepting (see [`ShardState::stop_accepting`]).
    pub fn stop_accepting(&self) -> bool {
        self.post(|st| st.stop_accepting())
    }

    /// Graceful shutdown (see [`ShardState::shutdown`]).
    pub fn shutdown(&self, deadline: Instant) -> bool {
        self.post(move |st| st.shutdown(deadline))
    }
}

impl ShardState {
    fn next_timeout(&self) -> Option<Duration> {
        let next = [
            self.timers.next_deadline(),
            self.accept_paused_until,
            self.grace_deadline,
        ]
        .into_iter()
        .flatten()
        .min();
        next.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Out of descriptors (or memory): stop accepting for a while instead of spinning on
    /// a listener that stays readable; pending clients wait in the backlog.
    fn accept_failed(&mut self, listener: usize, e: std::io::Error) {
        let exhausted = matches!(
            e.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        );
        if !exhausted {
            tracing::warn!("accept on listener {listener} failed: {e}");
            return;
        }
        if self.accept_paused_until.is_none() && !self.closing {
            tracing::warn!("accept failed ({e}): pausing accepts for {ACCEPT_PAUSE:?}");
            self.accept_paused_until = Some(self.now + ACCEPT_PAUSE);
            self.stop_listeners = true;
        }
    }

    /// Ends an accept pause once it is over.
    fn resume_accepting(&mut self) {
        if let Some(t) = self.accept_paused_until {
            if t <= self.now {
                self.accept_paused_until = None;
                self.resume_listeners = !self.closing;
            }
        }
    }

    fn on_event(&mut self, ev: Event<'_>) {
        match ev {
            Event::Accepted { res: Ok(fd), .. } => self.accept(fd),
            Event::Accepted {
                res: Err(e),
                listener,
            } => self.accept_failed(listener, e),
            Event::Recv { conn, res, armed } => {
                let Some(c) = self.conns.get_mut(conn) else {
                    return;
                };
                c.recv_armed = armed;
                if !armed {
                    c.stop_requested = false;
                }
                c.shared.mark_dirty();
                match res {
                    Recv::Data(d) => {
                        self.stats.bytes_in(d.len());
                        self.on_data(conn, d)
                    }
                    Recv::Eof => self.on_eof(conn),
                    Recv::Error(e) => {
                        tracing::debug!("recv on connection {conn}: {e}");
                        self.abort(conn);
                    }
                    Recv::Stopped => {}
                }
            }
            Event::Sent { conn, res } => {
                let Some(c) = self.conns.get_mut(conn) else {
                    return;
                };
                c.sending = false;
                c.shared.mark_dirty();
                match res {
                    Ok(n) => {
                        self.stats.bytes_out(n);
                        c.inflight_off += n;
                        if c.inflight_off >= c.inflight.len() {
                            c.inflight.clear();
                            c.inflight_off = 0;
                            if c.out.is_empty() {
                                // Nothing more to send: the buffers go back to the shard.
                                output::spare(&self.ctx.out_bufs, &mut c.inflight);
                                output::spare(&self.ctx.out_bufs, &mut c.out);
                            }
                        }
                        self.touch(conn);
                    }
                    Err(e) => {
                        tracing::debug!("send on connection {conn}: {e}");
                        self.abort(conn);
                    }
                }
            }
            Event::Woken => {}
        }
    }

    fn accept(&mut self, fd: RawFd) {
        if self.closing {
            backend::sys::close(fd);
            return;
        }
        backend::sys::set_nodelay(fd);
        self.stats.accepted();
        let entry = self.conns.vacant_entry();
        let idx = entry.key();
        self.next_gen = self.next_gen.wrapping_add(1);
        let shared = Rc::new(ConnShared::new(idx, fd, self.ctx.clone()));
        entry.insert(Conn::new(fd, self.next_gen, shared.clone()));
        shared.mark_dirty();
        self.on_connect_timers(idx);
        if let Some(f) = self.handlers.connection.clone() {
            let info = self.info(idx);
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&info))) {
                tracing::error!("'connection' listener panicked: {}", panic_message(&p));
            }
            self.apply_conn_action(idx, &info);
        }
    }

    pub(crate) fn info(&self, idx: usize) -> ConnInfo {
        let c = &self.conns[idx];
        ConnInfo {
            fd: c.fd,
            id: ((c.gen as u64) << 32) | idx as u64,
            action: std::cell::Cell::new(timeouts::ConnAction::None),
        }
    }

    fn run_tasks(&mut self) {
        while let Ok(task) = self.tasks.try_recv() {
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task(self))) {
                tracing::error!("a task posted to the shard panicked: {}", panic_message(&p));
            }
        }
    }

    /// Node's `net.Server.close()`, the listening half of `http.Server.close()`: no new
    /// connections (the listeners go at the next flush); the open ones, busy or idle, are
    /// served as before, keep-alive included, until they close or time out. The shard is
    /// finished when the last one is gone. Node's `close()` adds
    /// [`close_idle_connections`](Self::close_idle_connections).
    pub fn stop_accepting(&mut self) {
        if !self.closing {
            self.closing = true;
            self.stop_listeners = true;
        }
    }

    pub(crate) fn begin_close(&mut self) {
        if self.draining {
            return;
        }
        self.stop_accepting();
        self.draining = true;
        let ids: Vec<usize> = self.conns.iter().map(|(i, _)| i).collect();
        for idx in ids {
            let c = &mut self.conns[idx];
            if c.is_idle() && c.life == Life::Open {
                self.abort(idx);
            } else {
                // Responses not started yet tell the client the connection will close.
                for slot in &c.queue {
                    let mut st = slot.st.borrow_mut();
                    if !st.head_written {
                        st.keep_alive = false;
                    }
                }
                c.shared.mark_dirty();
            }
        }
    }

    /// Graceful shutdown: [`close`](Shard::close) now (stop accepting, close idle
    /// connections, answer every request already received or still arriving on an open
    /// connection, with `Connection: close`), then at `deadline` close whatever is left.
    pub fn shutdown(&mut self, deadline: Instant) {
        self.begin_close();
        self.grace_deadline = Some(self.grace_deadline.map_or(deadline, |d| d.min(deadline)));
    }

    /// The grace period of a shutdown is over: cut the connections still open.
    fn end_grace(&mut self) {
        if self.grace_deadline.is_some_and(|d| d <= self.now) {
            self.grace_deadline = None;
            if !self.conns.is_empty() {
                tracing::info!(
                    "shutdown grace period over: closing {} connections",
                    self.conns.len()
                );
            }
            self.close_all_connections();
        }
    }

    /// Node's `closeIdleConnections()`.
    pub fn close_idle_connections(&mut self) {
        let ids: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.is_idle())
            .map(|(i, _)| i)
            .collect();
        for idx in ids {
            self.abort(idx);
        }
    }

    /// Node's `closeAllConnections()`.
    pub fn close_all_connections(&mut self) {
        let ids: Vec<usize> = self.conns.iter().map(|(i, _)| i).collect();
        for idx in ids {
            self.abort(idx);
        }
    }
}

pub(crate) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
