//! A raw socket taking a connection over: Node's `req.socket.write()` / `end()` from a
//! request handler (e.g. a hijacked Fastify reply writing its own HTTP). On Node those
//! bytes go straight to the wire; here the connection leaves HTTP for good and becomes a
//! raw byte stream, as after 'upgrade':
//!
//! * Output: what the connection's responses had written before the takeover still goes
//!   out, in request order (a response under way is cut short where it stood, so its
//!   framing ends early: the client sees what Node's interleaving would have shown up to
//!   that point, and never a later response on top). Responses that had not ended are
//!   abandoned: they write nothing more, get no 'finish', and their 'close' comes when the
//!   connection closes. Then the raw socket's bytes, verbatim; its `end()` sends FIN.
//! * Input: the body of a request still arriving is parsed to its end (its request gets
//!   it), then nothing more is parsed: later bytes, including pipelined requests already
//!   received, are the raw socket's 'data'.
//!
//! The handle side ([`request_takeover`]) works without the shard: it marks the connection
//! taken (so responses stop writing at once) and leaves the socket for the shard, which
//! applies it before it next parses, sends or times anything on that connection.
use std::rc::Rc;

use super::body::BodyChan;
use super::conn::{Life, Phase};
use super::ctx::ConnShared;
use super::slot::ResSlot;
use super::ShardState;

/// Takes the connection over for a raw socket: its input channel and output slot. None if
/// the connection is gone or already taken.
pub(crate) fn request_takeover(conn: &Rc<ConnShared>) -> Option<(Rc<BodyChan>, Rc<ResSlot>)> {
    if conn.closed.get() || conn.taken.get() {
        return None;
    }
    conn.taken.set(true);
    let chan = BodyChan::new(conn.clone());
    let slot = Rc::new(ResSlot::new());
    slot.st.borrow_mut().conn = Some(conn.clone());
    slot.start_raw();
    *conn.takeover.borrow_mut() = Some((chan.clone(), slot.clone()));
    conn.mark_dirty();
    Some((chan, slot))
}

impl ShardState {
    /// Applies a pending takeover of connection `idx` (no-op without one).
    pub(super) fn apply_takeover(&mut self, idx: usize) {
        let Some(c) = self.conns.get_mut(idx) else {
            return;
        };
        let Some((chan, raw)) = c.shared.takeover.borrow_mut().take() else {
            return;
        };
        // Whether the connection reads on, as the raw socket's input.
        let switch = c.life == Life::Open && matches!(c.phase, Phase::Head | Phase::Body { .. });
        // The responses that had not ended are abandoned: ended with what they wrote, no
        // 'finish', not counted; their 'close' waits for the connection's. None of them
        // closes the connection any more (a `Connection: close` head already sent): the
        // raw socket's end does.
        for s in &c.queue {
            let mut st = s.st.borrow_mut();
            if switch {
                st.close_after = false;
            }
            if st.ended {
                continue;
            }
            st.ended = true;
            st.status = 0;
            st.on_finish = None;
            st.on_drain = None;
            st.need_drain = false;
            st.on_timeout = None;
            if let Some(f) = st.on_close.take() {
                drop(st);
                raw.on_close(f);
            }
        }
        c.queue.push_back(raw);
        c.request_started = None;
        match &c.phase {
            // The body goes on to its request; the switch comes at its end.
            Phase::Body { .. } if switch => c.raw_next = Some(chan),
            Phase::Head if switch => {
                let rest = std::mem::take(&mut c.rbuf);
                c.phase = Phase::Raw { chan: chan.clone() };
                if !rest.is_empty() {
                    chan.push(&rest);
                }
                self.clear_deadline(idx);
            }
            // Nothing more will be read (an upgraded connection, or one already closing):
            // the raw socket's output waits its turn, its input never comes.
            _ => {}
        }
        self.conns[idx].shared.mark_dirty();
    }
}
