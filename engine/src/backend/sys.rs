//! Thin, checked wrappers over the raw syscalls the layers above make (descriptors,
//! socket options, shutdown, addresses) and that both backends share.
use std::io;
use std::os::fd::RawFd;

/// Turns a `-1`-on-error libc return into an `io::Result`.
pub(crate) fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A non-blocking, close-on-exec eventfd.
pub(crate) fn eventfd() -> io::Result<RawFd> {
    // SAFETY: plain syscall with constant flags; the returned fd is owned by the caller.
    cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })
}

/// Adds one to an eventfd's counter (wakes whoever polls it).
pub(crate) fn eventfd_signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live local; a full counter (EAGAIN) still leaves the fd
    // readable, which is all a wake-up needs.
    unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// Resets an eventfd's counter.
pub(crate) fn eventfd_drain(fd: RawFd) {
    let mut v: u64 = 0;
    // SAFETY: reads 8 bytes into a live local; EAGAIN (already zero) is fine.
    unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) };
}

/// Closes a descriptor we own.
pub(crate) fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd` and no in-flight operation refers to it any more.
    unsafe { libc::close(fd) };
}

/// Sets TCP_NODELAY (responses are batched by the shard, Nagle only adds latency).
/// Fails harmlessly on unix sockets.
pub(crate) fn set_nodelay(fd: RawFd) {
    let one: libc::c_int = 1;
    // SAFETY: setsockopt reads 4 bytes from a live local.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            4,
        )
    };
}

/// Makes `fd` non-blocking.
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller owns.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    Ok(())
}

/// `shutdown(fd, SHUT_WR)`: sends FIN after queued data.
pub(crate) fn shutdown_write(fd: RawFd) {
    // SAFETY: shutdown on a descriptor the caller owns.
    unsafe { libc::shutdown(fd, libc::SHUT_WR) };
}

/// `shutdown(fd, SHUT_RDWR)`: ends in-flight receives and sends on the socket promptly
/// (with EOF / EPIPE), so a connection being torn down has no operation left waiting.
pub(crate) fn shutdown_both(fd: RawFd) {
    // SAFETY: shutdown on a descriptor the caller owns; it changes no memory.
    unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
}

/// Duplicates `fd` (close-on-exec); the copy is owned by the caller.
pub(crate) fn dup_cloexec(fd: RawFd) -> io::Result<RawFd> {
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor the caller holds open; no memory is passed.
    cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })
}

fn with_sock<T>(fd: RawFd, f: impl FnOnce(socket2::SockRef<'_>) -> Option<T>) -> Option<T> {
    // SAFETY: callers pass the fd of a live connection or listener for the duration of the
    // call (handles check `closed` before asking); a stale fd only yields a wrong or no
    // address, never memory unsafety, since the borrow does not outlive this call.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    f(socket2::SockRef::from(&fd))
}

/// `getpeername(2)` of a connection, read on demand.
pub(crate) fn peer_addr(fd: RawFd) -> Option<std::net::SocketAddr> {
    with_sock(fd, |s| s.peer_addr().ok()?.as_socket())
}

/// `getsockname(2)` of a connection or listener.
pub(crate) fn local_addr(fd: RawFd) -> Option<std::net::SocketAddr> {
    with_sock(fd, |s| s.local_addr().ok()?.as_socket())
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (as Go's runtime and nginx's
/// `worker_rlimit_nofile` do): a server's connection count should be bounded by the
/// administrator's hard limit, not the 1024 soft default. Returns the (old, new) soft limit.
pub(crate) fn raise_nofile_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into a live local.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) })?;
    let old = lim.rlim_cur;
    if old < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads one rlimit from a live local.
        cvt(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) })?;
    }
    Ok((old, lim.rlim_cur))
}
