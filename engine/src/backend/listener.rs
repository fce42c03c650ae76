//! Listening sockets: the socket, bind and listen syscalls for TCP (one SO_REUSEPORT group
//! per server, see `api/listen.rs` for the sharing rules) and unix listeners. The callers
//! add the context to errors.
use std::io;
use std::net::SocketAddr;
use std::os::fd::{IntoRawFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// How a TCP listener joins the port's SO_REUSEPORT group.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Share {
    /// Bind without SO_REUSEPORT (fails if the port is held), then turn it on for our
    /// other shards.
    Exclusive,
    /// SO_REUSEPORT before binding: join the group.
    Join,
}

/// Binds a TCP listener that other shards can join (the rules: `api/listen.rs`).
pub(crate) fn bind_tcp(addr: SocketAddr, backlog: i32, share: Share) -> io::Result<RawFd> {
    let sock = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.cloexec(),
        Some(Protocol::TCP),
    )?;
    sock.set_reuse_address(true)?;
    if share == Share::Join {
        sock.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        // `::` accepts IPv4 too (dual-stack), as Node does.
        let _ = sock.set_only_v6(false);
    }
    sock.bind(&addr.into())?;
    if share == Share::Exclusive {
        // The port is ours; let our own shards' sockets join before listen() hashes it.
        sock.set_reuse_port(true)?;
    }
    sock.listen(backlog)?;
    Ok(sock.into_raw_fd())
}

/// Binds and listens on a unix socket path.
pub(crate) fn bind_unix(path: &std::path::Path, backlog: i32) -> io::Result<RawFd> {
    let sock = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None)?;
    sock.bind(&SockAddr::unix(path)?)?;
    sock.listen(backlog)?;
    Ok(sock.into_raw_fd())
}
