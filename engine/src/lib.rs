//! ringhttp: a shard-per-core io_uring HTTP/1.1 server engine with Node.js `http` semantics.
//!
//! ```no_run
//! use ringhttp::ServerBuilder;
//!
//! let server = ServerBuilder::new()
//!     .on_request(|_req, mut res| {
//!         res.set_header("Content-Type", "text/plain").unwrap();
//!         res.end_with("Hello, World!");
//!     })
//!     .listen("127.0.0.1:8080")
//!     .unwrap();
//! println!("listening on {:?} ({})", server.local_addr(), server.backend());
//! server.wait().unwrap();
//! ```
//!
//! Layers, bottom up: [`backend`] (io_uring or epoll, the only code that talks to the
//! kernel about sockets), [`shard`] (one thread's event loop, connections, timers),
//! [`proto`] (HTTP/1.1 bytes, no I/O), [`api`] (Node's server surface).
// Unsafe code is confined: the backends (ring memory, raw syscalls) and the shard's two
// sends (whose buffer it keeps pinned until the completion). Everything else denies it;
// api/ and proto/ forbid it outright.
#![deny(unsafe_code)]

pub mod api;
#[allow(unsafe_code)]
pub mod backend;
pub mod error;
pub mod proto;
pub mod shard;

pub use api::LiveConfig;
pub use api::{
    socket_local_addr, socket_peer_addr, Config, EncodedHeaders, Handlers, HeaderValue, Headers,
    ListenAddr, RemoteResponse, Request, Response, Server, ServerBuilder, StatsReader,
};
pub use backend::BackendKind;
pub use error::{Error, ErrorKind};
pub use proto::h1::encode::{METHODS, STATUS_CODES};
pub use shard::stats::{ClientErrorKind, ShardStats, Stats, TimeoutKind};
pub use shard::{ConnInfo, Shard, ShardHandle, ShardState};
