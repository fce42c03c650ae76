//! Connection deadlines and socket inactivity, with Node v20's semantics.
//!
//! * **Phase timer** (one per connection, [`Deadline`]): `headersTimeout` from accept (first
//!   request) or from a request's first byte until its head is complete (bounded by
//!   `requestTimeout` too); `requestTimeout` from the first byte until the body is complete;
//!   `keepAliveTimeout` + `keepAliveTimeoutBuffer` (Node's 1 s margin over the advertised
//!   `Keep-Alive: timeout=N`) from the moment the last response is fully written until a
//!   new request byte arrives; the lingering-close bound. Headers/Request expiry answers
//!   `408 Request Timeout` (after 'clientError') when no response has started, then closes;
//!   otherwise the connection is destroyed.
//! * **Inactivity timer** (`server.timeout`, Node's `socket.setTimeout`): restarted by
//!   every read and write. On expiry the request's 'timeout' callback (while its body is
//!   incomplete), the response's (the one being written) and the server's 'timeout'
//!   listener run; if there is none the connection is destroyed. A connection keeps the
//!   `server.timeout` that was in force when it was accepted. `req/res.set_timeout`
//!   override it for the connection until it is next idle (its responses all written),
//!   when it returns to that value; zero disables it. While idle with a keepAliveTimeout
//!   there is no inactivity timeout at all (Node's socket timeout is then the keep-alive
//!   close itself); the next request head brings back `server.timeout` as it is then.
//!
//! Both live in the shard's timing wheel: arming, re-arming and cancelling are O(1), with
//! no syscall and (once the wheel's slab has grown) no allocation.
use std::rc::Rc;
use std::time::Duration;

use super::conn::{Deadline, Life, Phase};
use super::ctx::ConnShared;
use super::input::default_error_response;
use super::stats::TimeoutKind;
use super::{panic_message, ConnInfo, LiveConfig, ShardState};
use crate::error::{Error, ErrorKind};

const IDLE_BIT: u64 = 1 << 31;

fn payload(gen: u32, idx: usize, idle: bool) -> u64 {
    ((gen as u64) << 32) | if idle { IDLE_BIT } else { 0 } | idx as u64
}

/// A request's or response's 'timeout' listener.
pub(crate) type TimeoutCallback = Box<dyn FnMut(&ConnInfo)>;

/// What a listener asked to be done with the connection it was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ConnAction {
    #[default]
    None,
    End,
    Destroy,
}

/// A connection's socket inactivity timeout.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Inactivity {
    /// `server.timeout` when the connection was accepted (or its last idle period ended).
    base: Duration,
    /// Set by `req/res.set_timeout` until the connection is next idle.
    msg: Option<Duration>,
    /// Idle under keepAliveTimeout (Node's `keepAliveTimeoutSet`): the next request
    /// brings `server.timeout` back.
    keep_alive: bool,
}

impl Inactivity {
    fn get(&self) -> Duration {
        self.msg.unwrap_or(self.base)
    }
}

/// `req/res.set_timeout`: asks the shard to set the connection's inactivity timeout
/// (applied before the shard next runs its timers or waits).
pub(crate) fn request_socket_timeout(conn: &Rc<ConnShared>, d: Duration) {
    if !conn.closed.get() {
        conn.ctx
            .timeout_changes
            .borrow_mut()
            .push((conn.clone(), d));
    }
}

fn call_listener(what: &str, f: impl FnOnce()) {
    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        tracing::error!("{what} panicked: {}", panic_message(&p));
    }
}

impl ShardState {
    pub(super) fn on_connect_timers(&mut self, idx: usize) {
        let c = &mut self.conns[idx];
        c.inactivity = Inactivity {
            base: self.server_timeout,
            msg: None,
            keep_alive: false,
        };
        // The first request's headersTimeout runs from accept: a silent client is cut off.
        c.request_started = Some(self.now);
        self.set_deadline(idx, Deadline::Headers);
        self.touch(idx);
    }

    fn duration(&self, kind: Deadline) -> Duration {
        let cfg = self.ctx.live.get();
        match kind {
            // The head is also part of the request: requestTimeout bounds it as well.
            Deadline::Headers => match (cfg.headers_timeout, cfg.request_timeout) {
                (h, r) if h.is_zero() => r,
                (h, r) if r.is_zero() => h,
                (h, r) => h.min(r),
            },
            Deadline::Request => cfg.request_timeout,
            Deadline::KeepAlive => cfg.keep_alive_close(),
            Deadline::Linger => self.ctx.config.linger,
        }
    }

    /// Arms the connection's phase timer for `kind` (replacing what it stood for).
    pub(crate) fn set_deadline(&mut self, idx: usize, kind: Deadline) {
        if kind == Deadline::KeepAlive {
            let c = &mut self.conns[idx];
            // The connection is idle: a per-message inactivity timeout ends here.
            if c.inactivity.msg.take().is_some() {
                self.touch(idx);
            }
            let c = &self.conns[idx];
            // keepAliveTimeout counts from when the last response was written, not from
            // later looks at the idle connection; and a connection that has not sent its
            // first request is under headersTimeout (counted from accept), not keep-alive.
            if matches!(c.timer, Some((_, Deadline::KeepAlive))) || c.request_started.is_some() {
                return;
            }
            if !self.duration(kind).is_zero() {
                self.idle_inactivity(idx);
            }
        }
        let d = self.duration(kind);
        if d.is_zero() {
            self.clear_deadline(idx);
            return;
        }
        let c = &mut self.conns[idx];
        let start = match kind {
            Deadline::Headers | Deadline::Request => c.request_started.unwrap_or(self.now),
            _ => self.now,
        };
        let at = start + d;
        match c.timer {
            Some((id, _)) if self.timers.reset(id, at) => c.timer = Some((id, kind)),
            _ => c.timer = Some((self.timers.insert(at, payload(c.gen, idx, false)), kind)),
        }
    }

    pub(crate) fn clear_deadline(&mut self, idx: usize) {
        if let Some(c) = self.conns.get_mut(idx) {
            if let Some((id, _)) = c.timer.take() {
                self.timers.cancel(id);
            }
        }
    }

    /// The connection went idle with a keepAliveTimeout. Node (`resOnFinish`) then sets the
    /// socket's timeout to keepAliveTimeout + its buffer in place of `server.timeout` (or
    /// the app's `socket.setTimeout`), until the next request head (`resetSocketTimeout`).
    /// Here the keep-alive deadline is that close, so the idle connection has no inactivity
    /// timeout: no 'timeout' while idle (Node emits 'timeout' then, and a server 'timeout'
    /// listener keeps the idle socket open for good).
    fn idle_inactivity(&mut self, idx: usize) {
        let c = &mut self.conns[idx];
        if c.inactivity.keep_alive {
            return;
        }
        c.inactivity = Inactivity {
            base: Duration::ZERO,
            msg: None,
            keep_alive: true,
        };
        if let Some(id) = c.idle_timer.take() {
            self.timers.cancel(id);
        }
    }

    /// A request head arrived: after an idle period under keepAliveTimeout the socket's
    /// timeout is `server.timeout` again (its current value, as Node's
    /// `resetSocketTimeout`).
    pub(super) fn request_inactivity(&mut self, idx: usize) {
        let c = &mut self.conns[idx];
        if c.inactivity.keep_alive {
            c.inactivity = Inactivity {
                base: self.server_timeout,
                msg: None,
                keep_alive: false,
            };
            self.touch(idx);
        }
    }

    /// Activity on the socket: pushes the inactivity timeout back (or disarms it when the
    /// connection's timeout is zero).
    pub(crate) fn touch(&mut self, idx: usize) {
        let c = &mut self.conns[idx];
        let t = c.inactivity.get();
        if t.is_zero() {
            if let Some(id) = c.idle_timer.take() {
                self.timers.cancel(id);
            }
            return;
        }
        let at = self.now + t;
        match c.idle_timer {
            Some(id) if self.timers.reset(id, at) => {}
            _ => c.idle_timer = Some(self.timers.insert(at, payload(c.gen, idx, true))),
        }
    }

    /// Applies the socket timeouts set by `req/res.set_timeout` since the last call.
    pub(super) fn apply_timeout_changes(&mut self) {
        if self.ctx.timeout_changes.borrow().is_empty() {
            return;
        }
        let mut changes = std::mem::take(&mut *self.ctx.timeout_changes.borrow_mut());
        for (shared, d) in changes.drain(..) {
            let idx = shared.idx;
            match self.conns.get_mut(idx) {
                Some(c) if Rc::ptr_eq(&c.shared, &shared) && c.life != Life::Closing => {
                    c.inactivity.msg = Some(d);
                    // Node's socket.setTimeout: the timer restarts from now.
                    self.touch(idx);
                }
                _ => {}
            }
        }
        let mut slot = self.ctx.timeout_changes.borrow_mut();
        if slot.is_empty() {
            *slot = changes;
        }
    }

    /// `server.setTimeout(msecs)` on this shard: the inactivity timeout of connections
    /// accepted from now on (open connections keep theirs). Zero disables.
    pub fn set_timeout(&mut self, d: Duration) {
        self.server_timeout = d;
    }

    /// Node's per-connection options changed while the shard runs: `timeout` applies to
    /// connections accepted from now on, keepAliveTimeout to the next idle period,
    /// headersTimeout/requestTimeout to the next request, maxHeadersCount and
    /// maxRequestsPerSocket to the next request parsed.
    pub fn set_live_config(&mut self, live: LiveConfig) {
        if self.ctx.live.get() == live {
            return;
        }
        self.server_timeout = live.timeout;
        let (header, lines) = live.keep_alive_lines();
        *self.ctx.keep_alive_header.borrow_mut() = header;
        *self.ctx.keep_alive_lines.borrow_mut() = lines;
        self.ctx.live.set(live);
    }

    /// The inactivity timeout new connections get (`server.timeout`).
    pub fn timeout(&self) -> Duration {
        self.server_timeout
    }

    /// `socket.destroy()` for the connection with [`ConnInfo::id`] `id`. False if it is
    /// already gone.
    pub fn destroy_connection(&mut self, id: u64) -> bool {
        match self.conn_by_id(id) {
            Some(idx) => {
                self.abort(idx);
                true
            }
            None => false,
        }
    }

    /// `socket.setTimeout(d)` for the connection with [`ConnInfo::id`] `id`: its inactivity
    /// timeout from now on, for the rest of the connection (zero disables; a per-message
    /// timeout is replaced). The timer restarts now. False if the connection is gone.
    pub fn set_connection_timeout(&mut self, id: u64, d: Duration) -> bool {
        let Some(idx) = self.conn_by_id(id) else {
            return false;
        };
        let c = &mut self.conns[idx];
        c.inactivity = Inactivity {
            base: d,
            msg: None,
            // Set while idle, it lasts until the next request, as Node's.
            keep_alive: c.inactivity.keep_alive,
        };
        self.touch(idx);
        true
    }

    /// `socket.end()` for the connection with [`ConnInfo::id`] `id`: no further requests
    /// are read; the responses already under way are finished, then it closes. False if
    /// it is already gone.
    pub fn end_connection(&mut self, id: u64) -> bool {
        let Some(idx) = self.conn_by_id(id) else {
            return false;
        };
        let c = &mut self.conns[idx];
        if c.life == Life::Open {
            if let Phase::Body { chan, .. } = std::mem::replace(&mut c.phase, Phase::Done) {
                chan.abort();
            }
            c.phase = Phase::Done;
            c.life = Life::Draining;
            c.rbuf = Vec::new();
            for s in &c.queue {
                let mut st = s.st.borrow_mut();
                st.keep_alive = false;
                st.close_after = true;
            }
            c.shared.mark_dirty();
        }
        true
    }

    fn conn_by_id(&self, id: u64) -> Option<usize> {
        let idx = (id & 0xffff_ffff) as usize;
        match self.conns.get(idx) {
            Some(c) if c.gen == (id >> 32) as u32 && c.life != Life::Closing => Some(idx),
            _ => None,
        }
    }

    /// Carries out what a listener asked of the [`ConnInfo`] it was given.
    pub(super) fn apply_conn_action(&mut self, _idx: usize, info: &ConnInfo) {
        match info.action.get() {
            ConnAction::None => {}
            ConnAction::End => {
                self.end_connection(info.id());
            }
            ConnAction::Destroy => {
                self.destroy_connection(info.id());
            }
        }
    }

    pub(super) fn run_timers(&mut self) {
        let mut expired = std::mem::take(&mut self.expired);
        self.timers.poll_expired(self.now, &mut expired);
        for &p in &expired {
            let idx = (p & (IDLE_BIT - 1)) as usize;
            let gen = (p >> 32) as u32;
            let Some(c) = self.conns.get_mut(idx) else {
                continue;
            };
            if c.gen != gen {
                continue;
            }
            if p & IDLE_BIT != 0 {
                c.idle_timer = None;
                if c.life != Life::Closing {
                    self.on_idle_timeout(idx);
                }
            } else if let Some((_, kind)) = c.timer.take() {
                self.on_deadline(idx, kind);
            }
        }
        expired.clear();
        self.expired = expired;
    }

    /// Node's `socketOnTimeout`: the incomplete request's 'timeout', the current
    /// response's, the server's; destroy the socket if nobody listened.
    fn on_idle_timeout(&mut self, idx: usize) {
        tracing::debug!("connection {idx}: inactivity timeout");
        self.stats.timeout(TimeoutKind::Inactivity);
        let info = self.info(idx);
        let mut handled = false;
        let c = &self.conns[idx];
        let chan = match &c.phase {
            Phase::Body { chan, .. } => Some(chan.clone()),
            _ => None,
        };
        let slot = c.queue.front().cloned();
        if let Some(chan) = chan {
            let cb = {
                let mut st = chan.st.borrow_mut();
                if st.complete {
                    None
                } else {
                    st.on_timeout.take()
                }
            };
            if let Some(mut f) = cb {
                handled = true;
                call_listener("request 'timeout' callback", || f(&info));
                let mut st = chan.st.borrow_mut();
                if st.on_timeout.is_none() {
                    st.on_timeout = Some(f);
                }
            }
        }
        if let Some(slot) = slot {
            let cb = slot.st.borrow_mut().on_timeout.take();
            if let Some(mut f) = cb {
                handled = true;
                call_listener("response 'timeout' callback", || f(&info));
                let mut st = slot.st.borrow_mut();
                if st.on_timeout.is_none() {
                    st.on_timeout = Some(f);
                }
            }
        }
        if let Some(f) = self.handlers.timeout.clone() {
            handled = true;
            call_listener("'timeout' listener", || f(&info));
        }
        if handled {
            self.apply_conn_action(idx, &info);
        } else {
            self.abort(idx);
        }
    }

    fn on_deadline(&mut self, idx: usize, kind: Deadline) {
        tracing::debug!("connection {idx}: {kind:?} deadline passed");
        let c = &mut self.conns[idx];
        match kind {
            Deadline::KeepAlive if c.is_idle() && c.life == Life::Open => {
                self.stats.timeout(TimeoutKind::KeepAlive);
                self.abort(idx)
            }
            Deadline::KeepAlive => {}
            Deadline::Linger => {
                self.stats.timeout(TimeoutKind::Linger);
                self.abort(idx)
            }
            Deadline::Headers | Deadline::Request => {
                self.stats.timeout(match kind {
                    Deadline::Headers => TimeoutKind::Headers,
                    _ => TimeoutKind::Request,
                });
                if c.life != Life::Open {
                    self.abort(idx);
                    return;
                }
                // Node: 'clientError' with ERR_HTTP_REQUEST_TIMEOUT; by default `408` when no
                // response has started on the connection, then destroy.
                let custom = self.handlers.client_error.clone().and_then(|f| {
                    let err = Error::new(ErrorKind::Timeout, "Request timeout");
                    let info = self.info(idx);
                    let mut out = None;
                    call_listener("'clientError' listener", || out = f(&err, &info));
                    out
                });
                let c = &mut self.conns[idx];
                let started = c.queue.iter().any(|s| {
                    let st = s.st.borrow();
                    st.head_written || !st.buf.is_empty()
                }) || c.unsent() > 0;
                if started || c.life != Life::Open {
                    self.abort(idx);
                    return;
                }
                if let Phase::Body { chan, .. } = std::mem::replace(&mut c.phase, Phase::Done) {
                    chan.abort();
                }
                for s in c.queue.drain(..) {
                    s.st.borrow_mut().conn = None;
                }
                c.shared.closed.set(true);
                let answer = custom.unwrap_or_else(|| default_error_response(408));
                self.stats.response(super::input::status_of(&answer));
                c.out.extend_from_slice(&answer);
                c.life = Life::Draining;
                c.rbuf = Vec::new();
                c.shared.mark_dirty();
            }
        }
    }
}
