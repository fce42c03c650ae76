//! Parsing of one complete HTTP/1.1 response head (status line + header block).
//!
//! Only the framing-relevant headers are interpreted (`Content-Length`,
//! `Transfer-Encoding`, `Connection`); the raw block stays available so callers
//! that want every header can iterate them with [`Head::headers`].

use std::fmt;

/// Why a response could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The status line is not `HTTP/1.x NNN reason`.
    StatusLine,
    /// A header line has no colon or an empty name.
    Header,
    /// `Content-Length` is not a decimal number, or two differ.
    ContentLength,
    /// A chunk-size line is not hexadecimal or overflows.
    ChunkSize,
    /// A chunk's data is not followed by CRLF.
    ChunkTerminator,
    /// The head is larger than the parser's limit.
    TooLarge,
    /// The peer closed the connection in the middle of a response.
    UnexpectedEof,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            ParseError::StatusLine => "malformed status line",
            ParseError::Header => "malformed header line",
            ParseError::ContentLength => "invalid Content-Length",
            ParseError::ChunkSize => "invalid chunk size",
            ParseError::ChunkTerminator => "chunk data not followed by CRLF",
            ParseError::TooLarge => "response head too large",
            ParseError::UnexpectedEof => "connection closed mid-response",
        };
        f.write_str(what)
    }
}

impl std::error::Error for ParseError {}

/// The interpreted head of one response. Borrowed from the receive buffer.
#[derive(Debug, Clone)]
pub struct Head<'a> {
    /// The status code, e.g. 200.
    pub status: u16,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// `Content-Length`, if present.
    pub content_length: Option<u64>,
    /// `Transfer-Encoding` ends in `chunked`.
    pub chunked: bool,
    /// The connection cannot be reused after this response
    /// (`Connection: close`, or HTTP/1.0 without `keep-alive`).
    pub close: bool,
    /// The raw header lines, from after the status line up to (excluding) the empty line.
    pub raw_headers: &'a [u8],
}

impl<'a> Head<'a> {
    /// Iterates `(name, value)` pairs with surrounding whitespace trimmed from values.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        self.raw_headers
            .split(|&b| b == b'\n')
            .map(trim_cr)
            .filter(|l| !l.is_empty())
            .filter_map(|line| {
                let colon = memchr::memchr(b':', line)?;
                Some((&line[..colon], trim(&line[colon + 1..])))
            })
    }

    /// A 1xx response other than `101 Switching Protocols`: a final response follows.
    pub fn is_informational(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    }
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Finds the end of a head: returns the length including the terminating empty line,
/// or `None` if `buf` does not hold a complete head yet.
pub fn find_head_end(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    while let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) {
        let line = &buf[pos..pos + nl];
        if pos > 0 && (line.is_empty() || line == b"\r") {
            return Some(pos + nl + 1);
        }
        pos += nl + 1;
    }
    None
}

/// Parses a complete head (e.g. as delimited by [`find_head_end`]).
pub fn parse_head(head: &[u8]) -> Result<Head<'_>, ParseError> {
    match parse_head_prefix(head)? {
        Some((h, _)) => Ok(h),
        None => Err(ParseError::StatusLine),
    }
}

/// Parses a head at the start of `buf` in one pass. `Ok(None)` if the head is
/// not complete yet; otherwise the head and its length (including the empty line).
pub fn parse_head_prefix(buf: &[u8]) -> Result<Option<(Head<'_>, usize)>, ParseError> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        return Ok(None);
    };
    let (minor_version, status) = parse_status_line(trim_cr(&buf[..nl]))?;
    let mut h = Head {
        status,
        minor_version,
        content_length: None,
        chunked: false,
        close: minor_version == 0,
        raw_headers: &[],
    };
    let first = nl + 1;
    let mut pos = first;
    while let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) {
        let line = trim_cr(&buf[pos..pos + nl]);
        if line.is_empty() {
            h.raw_headers = &buf[first..pos];
            return Ok(Some((h, pos + nl + 1)));
        }
        let colon = memchr::memchr(b':', line).ok_or(ParseError::Header)?;
        if colon == 0 {
            return Err(ParseError::Header);
        }
        interpret(&mut h, &line[..colon], trim(&line[colon + 1..]))?;
        pos += nl + 1;
    }
    Ok(None)
}

fn parse_status_line(line: &[u8]) -> Result<(u8, u16), ParseError> {
    if line.len() < 12 || &line[..7] != b"HTTP/1." || line[8] != b' ' {
        return Err(ParseError::StatusLine);
    }
    let minor = match line[7] {
        b'0' => 0,
        b'1' => 1,
        _ => return Err(ParseError::StatusLine),
    };
    let d = &line[9..12];
    if !d.iter().all(u8::is_ascii_digit) || line.get(12).is_some_and(|&b| b != b' ') {
        return Err(ParseError::StatusLine);
    }
    let status = d.iter().fold(0u16, |a, &b| a * 10 + u16::from(b - b'0'));
    Ok((minor, status))
}

fn interpret(h: &mut Head<'_>, name: &[u8], value: &[u8]) -> Result<(), ParseError> {
    // Dispatch on length first: the common case is a few cheap comparisons.
    match name.len() {
        14 if name.eq_ignore_ascii_case(b"content-length") => {
            let n = parse_decimal(value).ok_or(ParseError::ContentLength)?;
            if h.content_length.is_some_and(|old| old != n) {
                return Err(ParseError::ContentLength);
            }
            h.content_length = Some(n);
        }
        17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
            let last = value.rsplit(|&b| b == b',').next().map(trim).unwrap_or(b"");
            h.chunked = last.eq_ignore_ascii_case(b"chunked");
        }
        10 if name.eq_ignore_ascii_case(b"connection") => {
            for token in value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"close") {
                    h.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && h.minor_version == 0 {
                    h.close = false;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    Some(n)
}
