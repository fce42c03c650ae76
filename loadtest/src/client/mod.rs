//! HTTP/1.1 client side: response parsing, request serialization and a
//! keep-alive connection pool.
//!
//! Self-contained (std + memchr only). The load generator uses the parser and request
//! serialization; `ringload compare` uses the [`Agent`] to check that a server under
//! comparison answers `GET /` before measuring it.

mod head;
mod parser;
mod pool;
mod request;
mod url;

pub use head::{find_head_end, parse_head, parse_head_prefix, Head, ParseError};
pub use parser::{Done, Progress, ResponseParser, Sink};
pub use pool::{Agent, AgentOptions, Response};
pub use request::Request;
pub use url::{Url, UrlError};
