//! Choosing the backend: io_uring when the kernel lets us, epoll otherwise.
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::str::FromStr;

use super::{epoll::Epoll, uring::Uring, Backend};
use crate::error::{Error, ErrorKind};

/// Which I/O backend a server runs (or should run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BackendKind {
    /// io_uring if it can be set up with everything the engine uses, else epoll.
    #[default]
    Auto,
    /// io_uring or an error naming the cause.
    Uring,
    /// epoll.
    Epoll,
}

impl BackendKind {
    /// Reads `RINGHTTP_BACKEND` (`auto`, `uring`/`io_uring`, `epoll`); `None` when unset.
    pub fn from_env() -> Result<Option<BackendKind>, Error> {
        match std::env::var("RINGHTTP_BACKEND") {
            Ok(v) if !v.is_empty() => v.parse().map(Some),
            _ => Ok(None),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Auto => "auto",
            BackendKind::Uring => "io_uring",
            BackendKind::Epoll => "epoll",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackendKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(BackendKind::Auto),
            "uring" | "io_uring" | "io-uring" => Ok(BackendKind::Uring),
            "epoll" => Ok(BackendKind::Epoll),
            other => Err(Error::new(
                ErrorKind::Config,
                format!("unknown backend {other:?}: expected auto, uring or epoll"),
            )),
        }
    }
}

/// Explains an io_uring setup failure in terms of what a user can change.
pub(crate) fn uring_hint(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            "io_uring is forbidden here: a seccomp profile (Docker/containerd/Kubernetes \
             RuntimeDefault block it; run with a profile that allows io_uring_setup/enter/register) \
             or the sysctl kernel.io_uring_disabled (set it to 0)"
        }
        Some(libc::ENOSYS) => "this kernel has no io_uring (or a seccomp filter hides it): Linux >= 6.1 is needed",
        Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => {
            "this kernel lacks an io_uring feature the engine needs (multishot accept/recv, provided \
             buffer rings, SINGLE_ISSUER): Linux >= 6.1 is needed"
        }
        Some(libc::ENOMEM) => "not enough locked memory for the ring and its buffers: raise `ulimit -l`",
        _ => "io_uring setup failed",
    }
}

/// Builds the backend for one shard. `requested` comes from the builder or the
/// environment. Returns the backend and why it was chosen (for the one log line).
pub(crate) fn select(
    requested: BackendKind,
    external: bool,
    wake_fd: RawFd,
) -> Result<(Backend, String), Error> {
    match requested {
        BackendKind::Epoll => {
            let b =
                Epoll::new(wake_fd).map_err(|e| Error::io(ErrorKind::Backend, "epoll setup", e))?;
            Ok((Backend::Epoll(b), "epoll (requested)".to_string()))
        }
        BackendKind::Uring => match Uring::new(external, wake_fd) {
            Ok(b) => Ok((Backend::Uring(b), "io_uring (requested)".to_string())),
            Err(e) => Err(Error::new(
                ErrorKind::Backend,
                format!(
                    "io_uring was requested but cannot be used: {e}: {}",
                    uring_hint(&e)
                ),
            )),
        },
        BackendKind::Auto => match Uring::new(external, wake_fd) {
            Ok(b) => Ok((Backend::Uring(b), "io_uring (probed)".to_string())),
            Err(e) => {
                let why = format!("epoll (io_uring unavailable: {e}: {})", uring_hint(&e));
                let b = Epoll::new(wake_fd)
                    .map_err(|e| Error::io(ErrorKind::Backend, "epoll setup", e))?;
                Ok((Backend::Epoll(b), why))
            }
        },
    }
}
