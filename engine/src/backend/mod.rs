//! The I/O backends: the only code that talks to the kernel about connections.
//!
//! The contract between a shard and its backend is completion-shaped, because that is what
//! io_uring gives and what epoll can imitate cheaply:
//!
//! - The shard *requests* operations: [`Backend::add_listener`] (accept forever),
//!   [`Backend::arm_recv`] (read until told to stop), [`Backend::stop_recv`],
//!   [`Backend::send`] (write this buffer once; may be partial).
//! - The backend *reports* what finished through [`Backend::dispatch`], as [`Event`]s.
//!   Received bytes are lent for the duration of the callback only: on io_uring they sit in
//!   a provided buffer that goes back to the kernel right after; on epoll in one shared
//!   read buffer. The shard copies what it cannot finish parsing.
//! - A buffer given to [`Backend::send`] belongs to the operation until its
//!   [`Event::Sent`] arrives; the shard never moves, grows or frees it before then. A
//!   connection is only closed once no operation on it is in flight.
//!
//! [`select`] chooses io_uring or epoll at start-up (probe, env `RINGHTTP_BACKEND`).
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

mod bufring;
pub(crate) mod epoll;
pub(crate) mod listener;
mod select;
pub(crate) mod sys;
pub(crate) mod uring;

pub(crate) use select::select;
pub use select::BackendKind;

/// How a receive operation ended or what it brought.
#[derive(Debug)]
pub(crate) enum Recv<'a> {
    /// Bytes from the peer, valid for the callback only.
    Data(&'a [u8]),
    /// The peer closed its side (read returned 0).
    Eof,
    /// The receive failed; the connection is unusable.
    Error(io::Error),
    /// The receive ended without data or error (cancelled, or the kernel ran out of
    /// provided buffers). The shard re-arms it if it still wants to read.
    Stopped,
}

/// A completion reported by [`Backend::dispatch`].
#[derive(Debug)]
pub(crate) enum Event<'a> {
    /// A new connection on listener `listener`.
    Accepted {
        listener: usize,
        res: io::Result<RawFd>,
    },
    /// Receive progress on `conn`. `armed` says whether the receive is still active after
    /// this event; when it is false the shard must call `arm_recv` again to read more.
    Recv {
        conn: usize,
        res: Recv<'a>,
        armed: bool,
    },
    /// A send on `conn` finished: bytes written, or the error.
    Sent { conn: usize, res: io::Result<usize> },
    /// Another thread woke the shard (cross-thread work is queued).
    Woken,
}

/// The backend of one shard.
// One per shard, built once and never moved around: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Backend {
    Uring(uring::Uring),
    Epoll(epoll::Epoll),
}

macro_rules! each {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            Backend::Uring($b) => $e,
            Backend::Epoll($b) => $e,
        }
    };
}

impl Backend {
    pub(crate) fn kind(&self) -> BackendKind {
        match self {
            Backend::Uring(_) => BackendKind::Uring,
            Backend::Epoll(_) => BackendKind::Epoll,
        }
    }

    /// A file descriptor that polls readable when [`dispatch`](Self::dispatch) has work.
    pub(crate) fn pollable_fd(&self) -> RawFd {
        each!(self, b => b.pollable_fd())
    }

    pub(crate) fn add_listener(&mut self, listener: usize, fd: RawFd) -> io::Result<()> {
        each!(self, b => b.add_listener(listener, fd))
    }

    /// Stops accepting on `fd` (the listener is closed by its owner afterwards).
    pub(crate) fn remove_listener(&mut self, listener: usize, fd: RawFd) {
        each!(self, b => b.remove_listener(listener, fd))
    }

    pub(crate) fn arm_recv(&mut self, conn: usize, fd: RawFd) {
        each!(self, b => b.arm_recv(conn, fd))
    }

    /// Asks the receive on `conn` to stop. A final `Event::Recv { armed: false, .. }`
    /// follows (possibly after more data that was already in flight).
    pub(crate) fn stop_recv(&mut self, conn: usize, fd: RawFd) {
        each!(self, b => b.stop_recv(conn, fd))
    }

    /// Starts writing `len` bytes at `ptr` to `fd`.
    ///
    /// # Safety
    /// The memory must stay valid and unchanged until the matching [`Event::Sent`].
    pub(crate) unsafe fn send(&mut self, conn: usize, fd: RawFd, ptr: *const u8, len: usize) {
        // SAFETY: forwarded contract, see above.
        each!(self, b => unsafe { b.send(conn, fd, ptr, len) })
    }

    /// Forgets per-connection state before the shard closes `fd`. Only called when no
    /// operation on the connection is in flight.
    pub(crate) fn release(&mut self, conn: usize, fd: RawFd) {
        each!(self, b => b.release(conn, fd))
    }

    /// Submits what was requested and waits until something completes or `timeout`
    /// passes (`Some(ZERO)`: do not block; `None`: no bound).
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        each!(self, b => b.wait(timeout))
    }

    /// Hands every completed operation to `f`.
    pub(crate) fn dispatch(&mut self, f: &mut dyn FnMut(Event<'_>)) {
        each!(self, b => b.dispatch(f))
    }

    /// Submits requested operations without waiting.
    pub(crate) fn submit(&mut self) -> io::Result<()> {
        each!(self, b => b.submit())
    }

    /// Completions are queued that [`pollable_fd`](Self::pollable_fd) does not signal
    /// (epoll's synchronous sends): dispatch again without waiting.
    pub(crate) fn has_pending(&self) -> bool {
        match self {
            Backend::Uring(_) => false,
            Backend::Epoll(b) => b.has_pending(),
        }
    }
}
