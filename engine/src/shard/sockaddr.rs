//! Socket addresses of a connection, read on demand.
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, RawFd};

fn with_sock<T>(fd: RawFd, f: impl FnOnce(socket2::SockRef<'_>) -> Option<T>) -> Option<T> {
    // SAFETY: `fd` belongs to a live connection of this shard for the duration of the call
    // (handles check `closed` before asking; a stale fd only yields a wrong or no address).
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    f(socket2::SockRef::from(&fd))
}

pub(crate) fn peer(fd: RawFd) -> Option<SocketAddr> {
    with_sock(fd, |s| s.peer_addr().ok()?.as_socket())
}

pub(crate) fn local(fd: RawFd) -> Option<SocketAddr> {
    with_sock(fd, |s| s.local_addr().ok()?.as_socket())
}
