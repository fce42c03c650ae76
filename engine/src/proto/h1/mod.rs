//! HTTP/1.1 (RFC 9112), strict where request smuggling lives.
//!
//! - [`parse_request_head`]: request line + header section -> [`RequestHead`] (spans into
//!   the caller's bytes, so nothing is copied while parsing).
//! - [`BodyDecoder`]: Content-Length and chunked request bodies (extensions, trailers).
//! - [`encode`]: response heads and chunked framing.
//! - [`framing`]: how a response is delimited and whether its connection persists.
//!
//! Every violation is a [`ParseError`] that knows its status code and Node-style
//! `HPE_*` code.
mod body;
pub mod encode;
mod error;
pub mod framing;
mod head;
#[cfg(test)]
mod tests;

pub use body::{BodyDecoder, Trailer};
pub use error::ParseError;
#[doc(hidden)]
pub use head::parse_request_head_reference;
pub use head::{parse_request_head, parse_request_head_reusing};

/// Bounds on what a peer may make us buffer. Defaults follow Node v20 where it has one.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Request line plus header section, in bytes (Node's `maxHeaderSize`). 431 beyond.
    pub max_header_size: usize,
    /// Request target length in bytes. 414 beyond.
    pub max_uri_len: usize,
    /// Bytes of chunk extensions per chunk. 413 beyond (as Node).
    pub max_chunk_ext_size: usize,
    /// Trailer section size in bytes. 431 beyond.
    pub max_trailer_size: usize,
}

/// Node's default `maxHeaderSize`.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Node bounds chunk extensions to 16 KiB per chunk (CVE-2024-22019 fix).
pub const MAX_CHUNK_EXT_BYTES: usize = 16 * 1024;
/// Default request-target bound.
pub const MAX_URI_BYTES: usize = 8 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_size: MAX_HEADER_BYTES,
            max_uri_len: MAX_URI_BYTES,
            max_chunk_ext_size: MAX_CHUNK_EXT_BYTES,
            max_trailer_size: MAX_HEADER_BYTES,
        }
    }
}

/// A byte range into the buffer that was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    #[inline]
    pub fn of<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start as usize..self.end as usize]
    }
    #[inline]
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// One header line: name as sent (case kept), value with surrounding OWS trimmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderSpan {
    pub name: Span,
    pub value: Span,
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (no Content-Length, no Transfer-Encoding; or Content-Length: 0).
    None,
    /// `Content-Length: n`, n > 0.
    Length(u64),
    /// `Transfer-Encoding: chunked` as the final (and only) coding.
    Chunked,
}

/// What the `Expect` header asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    None,
    /// `Expect: 100-continue` (case-insensitive).
    Continue,
    /// Any other expectation (the server answers 417 unless 'checkExpectation' is handled).
    Other,
}

/// A parsed request head. Spans index the slice given to [`parse_request_head`].
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// Bytes of the head, including any CRLFs skipped before the request line and the
    /// final empty line. The body (if any) starts at this offset.
    pub len: usize,
    /// Where the request line starts (after skipped leading CRLFs).
    pub start: usize,
    pub method: Span,
    pub target: Span,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Header lines in wire order.
    pub headers: Vec<HeaderSpan>,
    pub framing: Framing,
    /// Persistence after this request per RFC 9112 section 9.3: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    pub keep_alive: bool,
    pub expect: Expect,
    /// `Connection: upgrade` together with an `Upgrade` header.
    pub upgrade: bool,
    /// Method is CONNECT.
    pub is_connect: bool,
    /// Method is HEAD.
    pub is_head: bool,
}

impl RequestHead {
    pub fn method<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        self.method.of(buf)
    }
    pub fn target<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        self.target.of(buf)
    }
}
