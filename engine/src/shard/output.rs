//! Bytes out: move finished response bytes to their connection in request order, one send
//! per connection at a time, read interest, and closing.
use std::rc::Rc;

use super::conn::{Deadline, Life, Phase};
use super::slot::ResSlot;
use super::ShardState;
use crate::backend::{sys, Backend};

impl ShardState {
    /// Runs until no connection is dirty and no body has data to deliver.
    pub(crate) fn flush(&mut self, backend: &mut Backend) {
        if self.stop_listeners {
            self.stop_listeners = false;
            for (i, l) in self.listeners.iter().enumerate() {
                if let Some(fd) = *l {
                    backend.remove_listener(i, fd);
                    if self.closing && self.own_listeners {
                        // Leave the port's SO_REUSEPORT group now, not when the last
                        // reference (an io_uring accept, say) goes: the kernel would keep
                        // queueing connections here that nobody accepts.
                        sys::shutdown_both(fd);
                    }
                }
            }
        }
        if self.resume_listeners {
            self.resume_listeners = false;
            for (i, l) in self.listeners.iter().enumerate() {
                if let Some(fd) = *l {
                    if let Err(e) = backend.add_listener(i, fd) {
                        tracing::warn!("resuming accepts on listener {i}: {e}");
                    }
                }
            }
        }
        loop {
            let ready = std::mem::take(&mut *self.ctx.body_ready.borrow_mut());
            for chan in &ready {
                chan.deliver();
            }
            let dirty = std::mem::take(&mut *self.ctx.dirty.borrow_mut());
            if dirty.is_empty() && ready.is_empty() {
                break;
            }
            for idx in dirty {
                self.flush_conn(idx, backend);
            }
        }
        let reap = std::mem::take(&mut self.reap);
        for idx in reap {
            self.try_reap(idx, backend);
        }
    }

    fn flush_conn(&mut self, idx: usize, backend: &mut Backend) {
        let Some(c) = self.conns.get_mut(idx) else {
            return;
        };
        c.shared.clear_dirty();
        if c.shared.taken.get() {
            self.apply_takeover(idx);
        }
        let c = &mut self.conns[idx];
        if c.shared.destroy_requested.get() && c.life != Life::Closing {
            // req/res/socket.destroy(): tear down now, unsent bytes are dropped.
            self.abort(idx);
            return;
        }
        let mut callbacks: Vec<Box<dyn FnOnce()>> = Vec::new();
        let mut close_after = false;
        // Responses leave in request order: only the front one writes to the connection.
        while let Some(slot) = c.queue.front() {
            let mut st = slot.st.borrow_mut();
            if st.informational != 0 {
                self.stats
                    .responses_of(100, u64::from(std::mem::take(&mut st.informational)));
            }
            if !st.buf.is_empty() {
                if c.out.is_empty() {
                    std::mem::swap(&mut c.out, &mut st.buf);
                } else {
                    c.out.extend_from_slice(&st.buf);
                    st.buf.clear();
                }
            }
            if !st.ended {
                break;
            }
            close_after |= st.close_after;
            self.stats.response(st.status);
            if let Some(f) = st.on_finish.take() {
                callbacks.push(f);
            }
            if let Some(f) = st.on_close.take() {
                callbacks.push(f);
            }
            drop(st);
            let slot = c.queue.pop_front().expect("front exists");
            recycle(&self.ctx.slot_pool, slot);
            if close_after {
                break;
            }
        }
        if close_after && c.life == Life::Open {
            c.life = Life::Draining;
            c.phase = Phase::Done;
            c.rbuf = Vec::new();
        }
        if close_after {
            // Nothing goes out after a closing response (RFC 9112 9.6): responses to
            // requests pipelined behind it are dropped, as Node does.
            for slot in c.queue.drain(..) {
                if let Some(f) = slot.st.borrow_mut().on_close.take() {
                    callbacks.push(f);
                }
            }
        }
        // One send in flight per connection; the remainder of a partial send goes first.
        // Nothing more is sent once the connection is being torn down (its sends fail).
        if !c.sending && c.life != Life::Closing {
            if c.inflight_off < c.inflight.len() {
                let rest = &c.inflight[c.inflight_off..];
                // SAFETY: `inflight` is not touched until this send's completion.
                unsafe { backend.send(idx, c.fd, rest.as_ptr(), rest.len()) };
                c.sending = true;
            } else if !c.out.is_empty() {
                std::mem::swap(&mut c.out, &mut c.inflight);
                c.out.clear();
                c.inflight_off = 0;
                // SAFETY: as above: `inflight` is pinned until the completion arrives.
                unsafe { backend.send(idx, c.fd, c.inflight.as_ptr(), c.inflight.len()) };
                c.sending = true;
            }
        }
        let unsent = c.unsent();
        c.shared.unsent.set(unsent);
        let cfg = &self.ctx.config;
        // 'drain' for the response being written once the queue is under the mark.
        if unsent < cfg.write_high_water_mark {
            if let Some(slot) = c.queue.front() {
                let mut st = slot.st.borrow_mut();
                if st.need_drain {
                    st.need_drain = false;
                    if let Some(mut f) = st.on_drain.take() {
                        drop(st);
                        let slot = slot.clone();
                        callbacks.push(Box::new(move || {
                            f();
                            let mut st = slot.st.borrow_mut();
                            if st.on_drain.is_none() {
                                st.on_drain = Some(f);
                            }
                        }));
                    }
                }
            }
        }
        let body_ok = match &c.phase {
            Phase::Body { chan, .. } | Phase::Raw { chan } => {
                chan.wants_more(cfg.write_high_water_mark.max(64 * 1024))
            }
            _ => true,
        };
        let parse_ok = c.queue.len() < cfg.max_pipelined && unsent < cfg.max_queued_output;
        let want_read = match c.life {
            Life::Open => !c.peer_eof && parse_ok && body_ok,
            Life::Lingering => !c.peer_eof,
            Life::Draining | Life::Closing => false,
        };
        if want_read && !c.recv_armed {
            backend.arm_recv(idx, c.fd);
            c.recv_armed = true;
            c.stop_requested = false;
        } else if !want_read && c.recv_armed && !c.stop_requested && c.life != Life::Closing {
            backend.stop_recv(idx, c.fd);
            c.stop_requested = true;
        }
        let reparse = c.life == Life::Open
            && parse_ok
            && !c.rbuf.is_empty()
            && matches!(c.phase, Phase::Head);
        let drained = c.queue.is_empty() && unsent == 0 && !c.sending;
        let life = c.life;
        for f in callbacks {
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                tracing::error!("response listener panicked: {}", super::panic_message(&p));
            }
        }
        match life {
            Life::Draining if drained => self.linger(idx, backend),
            Life::Closing => self.reap.push(idx),
            // Idle means no request started either: a partly received head is a request
            // in progress, which a draining shard still answers.
            Life::Open if drained && self.conns[idx].is_idle() => {
                if self.draining {
                    self.abort(idx);
                    self.reap.push(idx);
                } else {
                    self.set_deadline(idx, Deadline::KeepAlive);
                }
            }
            _ => {}
        }
        if reparse {
            self.reprocess(idx);
        }
    }

    /// Our last byte is out: send FIN and read until the peer's, for at most `linger`.
    fn linger(&mut self, idx: usize, backend: &mut Backend) {
        let c = &mut self.conns[idx];
        c.life = Life::Lingering;
        sys::shutdown_write(c.fd);
        if c.peer_eof {
            self.abort(idx);
            self.reap.push(idx);
            return;
        }
        if !c.recv_armed {
            backend.arm_recv(idx, c.fd);
            c.recv_armed = true;
            c.stop_requested = false;
        }
        self.set_deadline(idx, Deadline::Linger);
    }

    /// Tears the connection down now: pending responses are dropped, operations in
    /// flight are cut short (shutdown), and the fd is closed once they complete.
    pub(crate) fn abort(&mut self, idx: usize) {
        let Some(c) = self.conns.get_mut(idx) else {
            return;
        };
        if c.life == Life::Closing {
            return;
        }
        c.life = Life::Closing;
        c.shared.closed.set(true);
        // In-flight recv/send complete promptly with EOF/EPIPE.
        sys::shutdown_both(c.fd);
        match std::mem::replace(&mut c.phase, Phase::Done) {
            Phase::Body { chan, .. } | Phase::Raw { chan } => chan.abort(),
            _ => {}
        }
        if let Some(chan) = c.raw_next.take() {
            chan.abort();
        }
        let slots: Vec<_> = c.queue.drain(..).collect();
        c.rbuf = Vec::new();
        c.shared.mark_dirty();
        self.clear_deadline(idx);
        for slot in slots {
            let cb = slot.st.borrow_mut().on_close.take();
            if let Some(f) = cb {
                if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                    tracing::error!(
                        "response 'close' listener panicked: {}",
                        super::panic_message(&p)
                    );
                }
            }
        }
        self.reap.push(idx);
    }

    /// Closes the fd and frees the slot once no operation refers to them.
    fn try_reap(&mut self, idx: usize, backend: &mut Backend) {
        let Some(c) = self.conns.get_mut(idx) else {
            return;
        };
        if c.life != Life::Closing {
            return;
        }
        if c.recv_armed {
            if !c.stop_requested {
                backend.stop_recv(idx, c.fd);
                c.stop_requested = true;
            }
            return;
        }
        if c.sending {
            return;
        }
        backend.release(idx, c.fd);
        sys::close(c.fd);
        let info = self.info(idx);
        let c = self.conns.remove(idx);
        self.stats.closed();
        if let Some((id, _)) = c.timer {
            self.timers.cancel(id);
        }
        if let Some(id) = c.idle_timer {
            self.timers.cancel(id);
        }
        if let Some(f) = self.handlers.conn_close.clone() {
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&info))) {
                tracing::error!(
                    "connection close listener panicked: {}",
                    super::panic_message(&p)
                );
            }
        }
    }
}

/// Spare output buffers kept per shard, and the largest capacity worth keeping.
const SPARE_BUFS: usize = 256;
const SPARE_CAP: usize = 64 * 1024;
/// A few bigger ones too (up to `SPARE_BIG_CAP`): a server sending 64 KiB bodies would
/// otherwise allocate (and page-fault in) a fresh buffer for every response.
const SPARE_BIG: usize = 32;
const SPARE_BIG_CAP: usize = 256 * 1024;

/// Takes `buf`'s allocation (empty) into the shard's spare output buffers.
pub(super) fn spare(pool: &std::cell::RefCell<Vec<Vec<u8>>>, buf: &mut Vec<u8>) {
    let cap = buf.capacity();
    if cap == 0 {
        return;
    }
    let mut b = std::mem::take(buf);
    let mut pool = pool.borrow_mut();
    let keep = pool.len() < SPARE_BUFS
        && (cap <= SPARE_CAP
            || cap <= SPARE_BIG_CAP
                && pool.iter().filter(|b| b.capacity() > SPARE_CAP).count() < SPARE_BIG);
    if keep {
        b.clear();
        pool.push(b);
    }
}

/// Returns a finished slot to the pool when nobody else holds it.
fn recycle(pool: &std::cell::RefCell<Vec<Rc<ResSlot>>>, slot: Rc<ResSlot>) {
    if Rc::strong_count(&slot) == 1 {
        slot.reset();
        let mut pool = pool.borrow_mut();
        if pool.len() < 1024 {
            pool.push(slot);
        }
    }
}
