//! Connection deadlines: headersTimeout, requestTimeout, keepAliveTimeout, lingering close,
//! and server.timeout (inactivity). One phase timer and one inactivity timer per connection,
//! both in the shard's timer wheel (O(1) re-arm, no syscall).
use std::time::Duration;

use super::conn::{Deadline, Life, Phase};
use super::input::default_error_response;
use super::ShardState;

const IDLE_BIT: u64 = 1 << 31;

fn payload(gen: u32, idx: usize, idle: bool) -> u64 {
    ((gen as u64) << 32) | if idle { IDLE_BIT } else { 0 } | idx as u64
}

impl ShardState {
    pub(super) fn on_connect_timers(&mut self, idx: usize) {
        // The first request's headersTimeout runs from accept: a silent client is cut off.
        self.conns[idx].request_started = Some(self.now);
        self.set_deadline(idx, Deadline::Headers);
        self.touch(idx);
    }

    fn duration(&self, kind: Deadline) -> Duration {
        let cfg = &self.ctx.config;
        match kind {
            Deadline::Headers => cfg.headers_timeout,
            Deadline::Request => cfg.request_timeout,
            Deadline::KeepAlive => cfg.keep_alive_timeout,
            Deadline::Linger => cfg.linger,
        }
    }

    /// Arms the connection's phase timer for `kind` (replacing what it stood for).
    pub(crate) fn set_deadline(&mut self, idx: usize, kind: Deadline) {
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

    /// Activity on the socket: pushes server.timeout back.
    pub(crate) fn touch(&mut self, idx: usize) {
        let t = self.ctx.config.timeout;
        if t.is_zero() {
            return;
        }
        let at = self.now + t;
        let c = &mut self.conns[idx];
        match c.idle_timer {
            Some(id) if self.timers.reset(id, at) => {}
            _ => c.idle_timer = Some(self.timers.insert(at, payload(c.gen, idx, true))),
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
                self.on_idle_timeout(idx);
            } else if let Some((_, kind)) = c.timer.take() {
                self.on_deadline(idx, kind);
            }
        }
        expired.clear();
        self.expired = expired;
    }

    fn on_idle_timeout(&mut self, idx: usize) {
        tracing::debug!("connection {idx}: inactivity timeout");
        match self.handlers.timeout.clone() {
            Some(f) => {
                let info = self.info(idx);
                if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&info)))
                {
                    tracing::error!("'timeout' listener panicked: {}", super::panic_message(&p));
                }
            }
            None => self.abort(idx),
        }
    }

    fn on_deadline(&mut self, idx: usize, kind: Deadline) {
        tracing::debug!("connection {idx}: {kind:?} deadline passed");
        let c = &mut self.conns[idx];
        match kind {
            Deadline::KeepAlive if c.is_idle() && c.life == Life::Open => self.abort(idx),
            Deadline::KeepAlive => {}
            Deadline::Linger => self.abort(idx),
            Deadline::Headers | Deadline::Request => {
                let started = c.queue.iter().any(|s| {
                    let st = s.st.borrow();
                    st.head_written || !st.buf.is_empty()
                }) || c.unsent() > 0;
                if started || c.life != Life::Open {
                    self.abort(idx);
                    return;
                }
                // 408 Request Timeout, as Node's default 'clientError' for ERR_HTTP_REQUEST_TIMEOUT.
                if let Phase::Body { chan, .. } = std::mem::replace(&mut c.phase, Phase::Done) {
                    chan.abort();
                }
                for s in c.queue.drain(..) {
                    s.st.borrow_mut().conn = None;
                }
                c.shared.closed.set(true);
                c.out.extend_from_slice(&default_error_response(408));
                c.life = Life::Draining;
                c.rbuf = Vec::new();
                c.shared.mark_dirty();
            }
        }
    }
}
