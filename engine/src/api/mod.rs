//! The Node.js `http` server API in Rust form: [`ServerBuilder`] / [`Server`] for
//! `http.createServer` and `server.listen`, [`Request`] for `IncomingMessage`, [`Response`]
//! for `ServerResponse`, [`Handlers`] for the listeners of an externally driven shard.
//! [`Config`] is the shard's (re-exported here, where it is set).
#![forbid(unsafe_code)]
mod encoded;
pub(crate) mod handlers;
pub mod headers;
mod listen;
pub(crate) mod request;
pub(crate) mod response;
mod server;
mod socket;

pub use crate::shard::{Config, LiveConfig};
pub use encoded::EncodedHeaders;
pub use handlers::Handlers;
pub(crate) use handlers::SharedHandlers;
pub use headers::{HeaderValue, Headers};
pub use listen::ListenAddr;
pub use request::Request;
pub use response::{RemoteResponse, Response};
pub use server::{Server, ServerBuilder, StatsReader};
pub use socket::{socket_local_addr, socket_peer_addr, Socket};
