//! The Node.js `http` server API in Rust form: [`ServerBuilder`] / [`Server`] for
//! `http.createServer` and `server.listen`, [`Request`] for `IncomingMessage`, [`Response`]
//! for `ServerResponse`, [`Handlers`] for the listeners of an externally driven shard.
#![forbid(unsafe_code)]
pub(crate) mod body;
mod config;
pub(crate) mod handlers;
pub mod headers;
mod listen;
pub(crate) mod request;
pub(crate) mod response;
mod server;
mod socket;

pub use config::Config;
pub use handlers::Handlers;
pub(crate) use handlers::SharedHandlers;
pub use headers::{HeaderValue, Headers};
pub use listen::ListenAddr;
pub use request::Request;
pub use response::{RemoteResponse, Response};
pub use server::{Server, ServerBuilder, StatsReader};
pub use socket::Socket;
