//! Incremental HTTP/1.1 response parser: Content-Length, chunked (with
//! extensions and trailers), close-delimited bodies and 1xx interim responses.
//!
//! The parser never copies body bytes; a head split across reads is
//! accumulated in a small side buffer, the common whole-head case is parsed in
//! place.

use super::head::{find_head_end, parse_head, parse_head_prefix, Head, ParseError};

/// Receives the parts of responses as they are parsed. All methods default to no-ops.
pub trait Sink {
    /// A head was parsed (informational 1xx heads included, see [`Head::is_informational`]).
    fn head(&mut self, _head: &Head<'_>) {}
    /// A piece of the current response's body (de-chunked).
    fn body(&mut self, _data: &[u8]) {}
}

impl Sink for () {}

/// A final response was fully received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// Status code of the final response.
    pub status: u16,
    /// The server will not accept further requests on this connection.
    pub close: bool,
}

/// Result of one [`ResponseParser::feed`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the input that were used; the rest belongs to the next response.
    pub consumed: usize,
    /// Set when a final response ended within the consumed bytes.
    pub done: Option<Done>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Fixed(u64),
    ChunkSize { size: u64, digits: bool, ext: bool },
    ChunkData(u64),
    ChunkEnd,
    Trailers { line_start: bool },
    UntilClose,
}

/// Incremental parser for a stream of responses on one connection.
#[derive(Debug)]
pub struct ResponseParser {
    state: State,
    partial: Vec<u8>,
    max_head: usize,
    no_body: bool,
    status: u16,
    close: bool,
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseParser {
    /// A parser accepting heads of up to 64 KiB.
    pub fn new() -> Self {
        ResponseParser {
            state: State::Head,
            partial: Vec::new(),
            max_head: 64 * 1024,
            no_body: false,
            status: 0,
            close: false,
        }
    }

    /// Declares whether the responses being parsed answer `HEAD` requests (no body).
    pub fn set_head_request(&mut self, head: bool) {
        self.no_body = head;
    }

    /// Between responses with no buffered partial head.
    pub fn is_idle(&self) -> bool {
        self.state == State::Head && self.partial.is_empty()
    }

    /// Forgets any partial response (used when the connection is replaced).
    pub fn reset(&mut self) {
        self.state = State::Head;
        self.partial.clear();
    }

    /// Parses from `data` until one final response ends or `data` is used up.
    /// Call again with `&data[progress.consumed..]` while bytes remain.
    pub fn feed<S: Sink>(&mut self, data: &[u8], sink: &mut S) -> Result<Progress, ParseError> {
        let mut pos = 0;
        while self.state == State::Head {
            let (n, res) = self.head(&data[pos..], sink)?;
            pos += n;
            match res {
                None => return Ok(progress(pos, None)),
                Some(Some(done)) => return Ok(progress(pos, Some(done))),
                // Informational response (loop again) or a body follows (leave the loop).
                Some(None) => {}
            }
        }
        let (n, finished) = self.body(&data[pos..], sink)?;
        Ok(progress(pos + n, finished.then(|| self.finish())))
    }

    /// The peer closed the connection: completes a close-delimited response.
    /// `Ok(None)` if no response was in progress.
    pub fn eof(&mut self) -> Result<Option<Done>, ParseError> {
        match self.state {
            State::UntilClose => Ok(Some(self.finish())),
            State::Head if self.partial.is_empty() => Ok(None),
            _ => {
                self.reset();
                Err(ParseError::UnexpectedEof)
            }
        }
    }

    fn finish(&mut self) -> Done {
        self.state = State::Head;
        Done {
            status: self.status,
            close: self.close,
        }
    }

    /// Returns `(consumed, None)` if the head is incomplete, else
    /// `(consumed, Some(done))` where `done` is set for bodiless final responses.
    #[allow(clippy::type_complexity)]
    fn head<S: Sink>(
        &mut self,
        data: &[u8],
        sink: &mut S,
    ) -> Result<(usize, Option<Option<Done>>), ParseError> {
        if self.partial.is_empty() {
            if let Some((h, end)) = parse_head_prefix(data)? {
                return Ok((end, Some(self.on_head(&h, sink))));
            }
            self.stash(data)?;
            return Ok((data.len(), None));
        }
        let old = self.partial.len();
        self.partial.extend_from_slice(data);
        let Some(end) = find_head_end(&self.partial) else {
            if self.partial.len() > self.max_head {
                return Err(ParseError::TooLarge);
            }
            return Ok((data.len(), None));
        };
        let partial = std::mem::take(&mut self.partial);
        let r = parse_head(&partial[..end]).map(|h| self.on_head(&h, sink));
        self.partial = partial;
        self.partial.clear();
        Ok((end - old, Some(r?)))
    }

    fn stash(&mut self, data: &[u8]) -> Result<(), ParseError> {
        if data.len() > self.max_head {
            return Err(ParseError::TooLarge);
        }
        self.partial.extend_from_slice(data);
        Ok(())
    }

    fn on_head<S: Sink>(&mut self, h: &Head<'_>, sink: &mut S) -> Option<Done> {
        sink.head(h);
        if h.is_informational() {
            return None;
        }
        self.status = h.status;
        self.close = h.close;
        let bodiless = self.no_body || h.status == 204 || h.status == 304 || h.status < 200;
        if bodiless {
            return Some(self.finish());
        }
        self.state = if h.chunked {
            State::ChunkSize {
                size: 0,
                digits: false,
                ext: false,
            }
        } else if let Some(n) = h.content_length {
            if n == 0 {
                return Some(self.finish());
            }
            State::Fixed(n)
        } else {
            self.close = true;
            State::UntilClose
        };
        None
    }

    /// Consumes body bytes; returns `(consumed, response_finished)`.
    fn body<S: Sink>(&mut self, data: &[u8], sink: &mut S) -> Result<(usize, bool), ParseError> {
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            match &mut self.state {
                State::Head => break,
                State::UntilClose => {
                    sink.body(rest);
                    return Ok((data.len(), false));
                }
                State::Fixed(n) | State::ChunkData(n) => {
                    let take = (*n).min(rest.len() as u64) as usize;
                    sink.body(&rest[..take]);
                    *n -= take as u64;
                    pos += take;
                    if *n == 0 {
                        if matches!(self.state, State::Fixed(_)) {
                            return Ok((pos, true));
                        }
                        self.state = State::ChunkEnd;
                    }
                }
                State::ChunkSize { size, digits, ext } => {
                    let b = rest[0];
                    pos += 1;
                    match b {
                        b'\n' if !*digits => return Err(ParseError::ChunkSize),
                        b'\n' if *size == 0 => self.state = State::Trailers { line_start: true },
                        b'\n' => self.state = State::ChunkData(*size),
                        b'\r' => {}
                        b';' | b' ' | b'\t' => *ext = true,
                        _ if *ext => {}
                        _ => {
                            let d = (b as char).to_digit(16).ok_or(ParseError::ChunkSize)?;
                            if *size >> 60 != 0 {
                                return Err(ParseError::ChunkSize);
                            }
                            *size = *size << 4 | u64::from(d);
                            *digits = true;
                        }
                    }
                }
                State::ChunkEnd => {
                    pos += 1;
                    match rest[0] {
                        b'\r' => {}
                        b'\n' => {
                            self.state = State::ChunkSize {
                                size: 0,
                                digits: false,
                                ext: false,
                            }
                        }
                        _ => return Err(ParseError::ChunkTerminator),
                    }
                }
                State::Trailers { line_start } => {
                    pos += 1;
                    match rest[0] {
                        b'\n' if *line_start => return Ok((pos, true)),
                        b'\n' => *line_start = true,
                        b'\r' => {}
                        _ => *line_start = false,
                    }
                }
            }
        }
        Ok((pos, false))
    }
}

fn progress(consumed: usize, done: Option<Done>) -> Progress {
    Progress { consumed, done }
}
