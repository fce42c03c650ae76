//! HTTP/1.1 client side: response parsing, request serialization and a
//! keep-alive connection pool.
//!
//! Self-contained (std + memchr only) so it can move into the engine as
//! `ringhttp::client` unchanged.

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
