//! The raw socket handed to 'upgrade' and 'connect' listeners, or taken over by a request
//! handler (`Request::take_over_socket`): the connection's bytes after the request head,
//! both ways, still through the shard's backend (with backpressure).
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::rc::Rc;

use crate::backend::sys;
use crate::shard::body::BodyChan;
use crate::shard::ctx::ConnShared;
use crate::shard::slot::ResSlot;

/// The peer address of a connection's socket by its fd ([`ConnInfo::fd`](crate::ConnInfo::fd),
/// [`Request::conn_fd`](crate::Request::conn_fd)): `getpeername(2)`, read on demand; None
/// when `fd` is not (or no longer) a connected TCP socket.
pub fn socket_peer_addr(fd: RawFd) -> Option<SocketAddr> {
    sys::peer_addr(fd)
}

/// The local address of a connection's (or listener's) socket by its fd: `getsockname(2)`.
pub fn socket_local_addr(fd: RawFd) -> Option<SocketAddr> {
    sys::local_addr(fd)
}

/// Node's `net.Socket` as seen by 'upgrade'/'connect' listeners: write/end/destroy, and
/// 'data'/'end'/'close'. The listener owns it; dropping it without `end()` ends it.
pub struct Socket {
    chan: Rc<BodyChan>,
    slot: Rc<ResSlot>,
    conn: Rc<ConnShared>,
}

impl Socket {
    pub(crate) fn new(chan: Rc<BodyChan>, slot: Rc<ResSlot>, conn: Rc<ConnShared>) -> Socket {
        Socket { chan, slot, conn }
    }

    /// Writes raw bytes. False when the queue is over the high-water mark
    /// ([`on_drain`](Self::on_drain) follows).
    pub fn write(&self, data: impl AsRef<[u8]>) -> bool {
        if self.slot.is_ended() || self.conn.closed.get() {
            return false;
        }
        self.slot
            .write_with(|buf| buf.extend_from_slice(data.as_ref()))
    }

    /// Sends what is queued, then FIN; the connection closes when the peer closes too.
    pub fn end(&self) {
        self.slot.end_raw();
    }

    /// Closes the connection now, dropping anything unsent.
    pub fn destroy(&self) {
        self.conn.destroy();
    }

    /// 'data'.
    pub fn on_data(&self, f: impl FnMut(&[u8]) + 'static) {
        self.chan.on_data(f);
    }

    /// 'end': the peer closed its side.
    pub fn on_end(&self, f: impl FnOnce() + 'static) {
        self.chan.on_end(f);
    }

    /// 'drain'.
    pub fn on_drain(&self, f: impl FnMut() + 'static) {
        self.slot.on_drain(f);
    }

    /// 'close': the connection is gone.
    pub fn on_close(&self, f: impl FnOnce() + 'static) {
        self.slot.on_close(f);
    }

    /// Stops reading from the peer (backpressure).
    pub fn pause(&self) {
        self.chan.pause();
    }

    pub fn resume(&self) {
        self.chan.resume();
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
