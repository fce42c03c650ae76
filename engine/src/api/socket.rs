//! The raw socket handed to 'upgrade' and 'connect' listeners: the connection's bytes after
//! the request head, both ways, still through the shard's backend (with backpressure).
use std::net::SocketAddr;
use std::rc::Rc;

use super::body::BodyChan;
use super::response::ResSlot;
use crate::proto::h1::framing::OutFraming;
use crate::shard::ctx::ConnShared;

/// Node's `net.Socket` as seen by 'upgrade'/'connect' listeners: write/end/destroy, and
/// 'data'/'end'/'close'. The listener owns it; dropping it without `end()` ends it.
pub struct Socket {
    pub(crate) chan: Rc<BodyChan>,
    pub(crate) slot: Rc<ResSlot>,
    pub(crate) conn: Rc<ConnShared>,
}

impl Socket {
    pub(crate) fn new(chan: Rc<BodyChan>, slot: Rc<ResSlot>, conn: Rc<ConnShared>) -> Socket {
        {
            let mut st = slot.st.borrow_mut();
            st.head_written = true;
            st.head_frozen = true;
            st.framing = OutFraming::Close;
            st.keep_alive = false;
        }
        Socket { chan, slot, conn }
    }

    /// Writes raw bytes. False when the queue is over the high-water mark
    /// ([`on_drain`](Self::on_drain) follows).
    pub fn write(&self, data: impl AsRef<[u8]>) -> bool {
        let mut st = self.slot.st.borrow_mut();
        if st.ended || self.conn.closed.get() {
            return false;
        }
        st.buf.extend_from_slice(data.as_ref());
        self.conn.mark_dirty();
        let queued = st.buf.len() + self.conn.unsent.get();
        if queued >= self.conn.ctx.config.write_high_water_mark {
            st.need_drain = true;
            false
        } else {
            true
        }
    }

    /// Sends what is queued, then FIN; the connection closes when the peer closes too.
    pub fn end(&self) {
        let mut st = self.slot.st.borrow_mut();
        if !st.ended {
            st.ended = true;
            st.close_after = true;
            self.conn.mark_dirty();
        }
    }

    /// Closes the connection now, dropping anything unsent.
    pub fn destroy(&self) {
        self.conn.destroy();
    }

    /// 'data'.
    pub fn on_data(&self, f: impl FnMut(&[u8]) + 'static) {
        self.chan.st.borrow_mut().on_data = Some(Box::new(f));
        self.chan.schedule();
    }

    /// 'end': the peer closed its side.
    pub fn on_end(&self, f: impl FnOnce() + 'static) {
        self.chan.st.borrow_mut().on_end = Some(Box::new(f));
        self.chan.schedule();
    }

    /// 'drain'.
    pub fn on_drain(&self, f: impl FnMut() + 'static) {
        self.slot.st.borrow_mut().on_drain = Some(Box::new(f));
    }

    /// 'close': the connection is gone.
    pub fn on_close(&self, f: impl FnOnce() + 'static) {
        self.slot.st.borrow_mut().on_close = Some(Box::new(f));
    }

    /// Stops reading from the peer (backpressure).
    pub fn pause(&self) {
        self.chan.st.borrow_mut().paused = true;
    }

    pub fn resume(&self) {
        self.chan.st.borrow_mut().paused = false;
        self.chan.schedule();
    }

    pub fn remote_addr(&self) -> Option<SocketAddr> {
        crate::backend::sys::peer_addr(self.conn.fd)
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        crate::backend::sys::local_addr(self.conn.fd)
    }

    /// Whether the connection is still open.
    pub fn is_open(&self) -> bool {
        !self.conn.closed.get()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.end();
        }
    }
}
