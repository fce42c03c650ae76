//! Where to listen: TCP (IPv4, IPv6, dual-stack), a unix socket path, or an inherited fd
//! (systemd socket activation).
//!
//! TCP listeners are opened once per shard, all in one SO_REUSEPORT group so the kernel
//! spreads connections over the shards. The port is still exclusive by default: the first
//! shard's socket is bound *without* SO_REUSEPORT, which fails with EADDRINUSE if any other
//! socket holds the port (shared or not); only after that bind is SO_REUSEPORT switched on
//! so the other shards can join. With `reuse_port` every socket sets it before binding and
//! joins whatever group is there (same user only; the kernel's rule).
//!
//! The one gap: once an exclusive server has bound, its sockets carry SO_REUSEPORT, so a
//! later process of the same user that explicitly asks to share can still join it.
//! Nothing that did not opt in can.
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::RawFd;
use std::path::PathBuf;

use crate::backend::listener::{self, Share};
use crate::backend::sys;
use crate::error::{Error, ErrorKind};

/// An address to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
    /// An already bound (and listening) socket, e.g. from systemd (`LISTEN_FDS`).
    Fd(RawFd),
}

impl ListenAddr {
    /// `host:port` or `[v6]:port` (names resolved), `unix:/path` or `/path` for unix
    /// sockets, `fd:N` for an inherited descriptor.
    pub fn parse(s: &str) -> Result<ListenAddr, Error> {
        if let Some(p) = s.strip_prefix("unix:") {
            return Ok(ListenAddr::Unix(p.into()));
        }
        if s.starts_with('/') || s.starts_with("./") {
            return Ok(ListenAddr::Unix(s.into()));
        }
        if let Some(n) = s.strip_prefix("fd:") {
            return n.parse().map(ListenAddr::Fd).map_err(|_| {
                Error::new(ErrorKind::Config, format!("bad fd in listen address {s:?}"))
            });
        }
        let addr = s
            .to_socket_addrs()
            .map_err(|e| {
                Error::io(
                    ErrorKind::Config,
                    format!("resolving listen address {s:?}"),
                    e,
                )
            })?
            .next()
            .ok_or_else(|| {
                Error::new(ErrorKind::Config, format!("{s:?} resolves to no address"))
            })?;
        Ok(ListenAddr::Tcp(addr))
    }

    /// The first socket passed by systemd socket activation, if this process got one.
    pub fn from_systemd() -> Option<ListenAddr> {
        let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
        let n: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
        (pid == std::process::id() && n >= 1).then_some(ListenAddr::Fd(3))
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Tcp(a) => write!(f, "http://{a}"),
            ListenAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ListenAddr::Fd(fd) => write!(f, "fd:{fd}"),
        }
    }
}

impl From<SocketAddr> for ListenAddr {
    fn from(a: SocketAddr) -> Self {
        ListenAddr::Tcp(a)
    }
}

/// Binds a TCP listener that other shards can join (see the module doc).
fn bind_tcp(addr: SocketAddr, backlog: i32, share: Share) -> Result<RawFd, Error> {
    listener::bind_tcp(addr, backlog, share)
        .map_err(|e| Error::io(ErrorKind::Listen, format!("listening on {addr}"), e))
}

pub(crate) fn bind_unix(path: &std::path::Path, backlog: i32) -> Result<RawFd, Error> {
    listener::bind_unix(path, backlog).map_err(|e| {
        Error::io(
            ErrorKind::Listen,
            format!("listening on unix:{}", path.display()),
            e,
        )
    })
}

/// The local address of a listening fd (the real port after binding port 0).
pub(crate) fn local_addr(fd: RawFd) -> Option<SocketAddr> {
    sys::local_addr(fd)
}

/// Duplicates an fd (close-on-exec) so each shard owns its own copy.
pub(crate) fn dup(fd: RawFd) -> Result<RawFd, Error> {
    sys::dup_cloexec(fd).map_err(|e| {
        Error::io(
            ErrorKind::Listen,
            format!("duplicating listener fd {fd}"),
            e,
        )
    })
}

/// Closes a listener fd we opened when a later step failed.
pub(crate) fn close(fd: RawFd) {
    sys::close(fd);
}

/// Opens one listener per shard for `addr`. Returns the fds and the bound address.
pub(crate) fn open(
    addr: &ListenAddr,
    shards: usize,
    config: &super::Config,
) -> Result<(Vec<RawFd>, Option<SocketAddr>), Error> {
    let backlog = config.backlog;
    let mut fds = Vec::with_capacity(shards);
    let result = (|| match addr {
        ListenAddr::Tcp(a) => {
            let share = if config.reuse_port {
                Share::Join
            } else {
                Share::Exclusive
            };
            let first = bind_tcp(*a, backlog, share)?;
            fds.push(first);
            let bound = local_addr(first).unwrap_or(*a);
            for _ in 1..shards {
                fds.push(bind_tcp(bound, backlog, Share::Join)?);
            }
            Ok(Some(bound))
        }
        ListenAddr::Unix(p) => {
            let first = bind_unix(p, backlog)?;
            fds.push(first);
            for _ in 1..shards {
                fds.push(dup(first)?);
            }
            Ok(None)
        }
        ListenAddr::Fd(fd) => {
            for _ in 0..shards {
                fds.push(dup(*fd)?);
            }
            Ok(local_addr(*fd))
        }
    })();
    match result {
        Ok(bound) => Ok((fds, bound)),
        Err(e) => {
            fds.into_iter().for_each(close);
            Err(e)
        }
    }
}
