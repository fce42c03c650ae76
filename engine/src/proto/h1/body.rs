//! Request body framing: Content-Length and chunked (RFC 9112 section 7.1).
//!
//! The chunked decoder is a byte-at-a-time state machine (chunk data is handed out in
//! runs), so input may be split at any byte boundary with the same result.
//!
//! Strictness choices:
//! - chunk size: 1 to 16 hex digits, nothing before them (no `0x`, sign, space);
//! - whitespace (SP/HTAB) only as RFC 9112 BWS: before `;` and around `=` in chunk
//!   extensions; none before the CRLF (`5 \r\n` is `InvalidChunkSize`,
//!   `5;a=b \r\n` is `InvalidChunk`);
//! - extensions `;name[=token|quoted-string]`, at most `max_chunk_ext_size` bytes per
//!   chunk (counted from the first byte after the size digits up to the CR);
//! - exactly CRLF after each chunk's data (`InvalidChunk` otherwise);
//! - trailer lines follow the header-line rules; the trailer section (everything after the
//!   last-chunk line, final CRLF included) is at most `max_trailer_size` bytes.
use super::head::{check_field_line, is_tchar};
use super::{Framing, Limits, ParseError};

/// At most this many hex digits in a chunk size (so it always fits a u64).
const MAX_CHUNK_SIZE_DIGITS: u8 = 16;

/// One trailer field from a chunked body: name as sent, value trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

/// Position inside the chunk-size line after the size digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ext {
    /// Right after the last size digit.
    AfterDigits,
    /// BWS after the size digits: only `;` may follow.
    SizeBws,
    /// After `;`, before the extension name (BWS allowed).
    NameStart,
    Name,
    /// BWS after a name: `=` or `;` must follow.
    AfterName,
    /// After `=`, before the value (BWS allowed).
    ValueStart,
    Token,
    Quoted,
    QuotedEscape,
    /// Right after a closing quote.
    AfterQuoted,
    /// BWS after a value: only `;` may follow.
    ValueBws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Content-Length body: bytes left.
    Length(u64),
    /// Reading chunk-size hex digits.
    Size {
        value: u64,
        digits: u8,
    },
    /// In the chunk extensions of a size line.
    Ext(Ext),
    /// Saw the CR ending a size line.
    SizeLf,
    /// Chunk data: bytes left.
    Data(u64),
    DataCr,
    DataLf,
    /// Reading a trailer line (or the final empty line).
    Trailer,
    /// Saw the CR ending a trailer line.
    TrailerLf,
    Done,
    Failed(ParseError),
}

/// Incremental body decoder. Feed it whatever bytes arrive; it hands out body data and
/// says how much input belonged to this message.
#[derive(Debug)]
pub struct BodyDecoder {
    state: State,
    /// Size of the chunk whose size line is being read.
    chunk_size: u64,
    ext_len: usize,
    trailer_len: usize,
    max_ext: usize,
    max_trailer: usize,
    /// The trailer line being read (bounded by `max_trailer`).
    line: Vec<u8>,
    trailers: Vec<Trailer>,
}

impl BodyDecoder {
    pub fn new(framing: Framing, limits: &Limits) -> Self {
        let state = match framing {
            Framing::None | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Size {
                value: 0,
                digits: 0,
            },
        };
        BodyDecoder {
            state,
            chunk_size: 0,
            ext_len: 0,
            trailer_len: 0,
            max_ext: limits.max_chunk_ext_size,
            max_trailer: limits.max_trailer_size,
            line: Vec::new(),
            trailers: Vec::new(),
        }
    }

    /// True once the whole body (and for chunked, the trailer section) has been consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, calling `on_data` with each run of body bytes (slices of
    /// `input`). Returns how many bytes of `input` were consumed; fewer than `input.len()`
    /// only when the message ended (the rest belongs to the next request). After an error,
    /// every later call returns the same error.
    pub fn decode(
        &mut self,
        input: &[u8],
        on_data: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, ParseError> {
        let mut i = 0;
        loop {
            match self.state {
                State::Failed(e) => return Err(e),
                State::Done => return Ok(i),
                _ if i == input.len() => return Ok(i),
                State::Length(left) | State::Data(left) => {
                    let n = left.min((input.len() - i) as u64) as usize;
                    on_data(&input[i..i + n]);
                    i += n;
                    let left = left - n as u64;
                    self.state = match self.state {
                        State::Length(_) if left == 0 => State::Done,
                        State::Length(_) => State::Length(left),
                        _ if left == 0 => State::DataCr,
                        _ => State::Data(left),
                    };
                }
                _ => {
                    let n = match self.run(&input[i..]) {
                        Ok(0) => self.step(input[i]).map(|()| 1),
                        other => other,
                    };
                    match n {
                        Ok(n) => i += n,
                        Err(e) => {
                            self.state = State::Failed(e);
                            return Err(e);
                        }
                    }
                }
            }
        }
    }

    /// The trailers of a chunked body, once [`is_done`](Self::is_done). Empty otherwise.
    pub fn take_trailers(&mut self) -> Vec<Trailer> {
        if self.is_done() {
            std::mem::take(&mut self.trailers)
        } else {
            Vec::new()
        }
    }

    /// One byte of framing (everything but data runs).
    fn step(&mut self, b: u8) -> Result<(), ParseError> {
        match self.state {
            State::Size { value, digits } => match hex_value(b) {
                Some(d) => {
                    if digits == MAX_CHUNK_SIZE_DIGITS {
                        return Err(ParseError::InvalidChunkSize);
                    }
                    let value = value
                        .checked_mul(16)
                        .and_then(|v| v.checked_add(u64::from(d)))
                        .ok_or(ParseError::InvalidChunkSize)?;
                    self.state = State::Size {
                        value,
                        digits: digits + 1,
                    };
                }
                None if digits == 0 && b == b'\n' => return Err(ParseError::InvalidLineEnding),
                None if digits == 0 => return Err(ParseError::InvalidChunkSize),
                None => {
                    self.chunk_size = value;
                    self.ext_len = 0;
                    self.ext_step(Ext::AfterDigits, b)?;
                }
            },
            State::Ext(ext) => self.ext_step(ext, b)?,
            State::SizeLf => {
                if b != b'\n' {
                    return Err(ParseError::InvalidLineEnding);
                }
                self.state = if self.chunk_size == 0 {
                    State::Trailer
                } else {
                    State::Data(self.chunk_size)
                };
            }
            State::DataCr if b == b'\r' => self.state = State::DataLf,
            State::DataLf if b == b'\n' => {
                self.state = State::Size {
                    value: 0,
                    digits: 0,
                }
            }
            State::DataCr | State::DataLf => return Err(ParseError::InvalidChunk),
            State::Trailer => {
                self.count_trailer_byte()?;
                match b {
                    b'\r' => {
                        check_field_line(&self.line, false)?;
                        self.state = State::TrailerLf;
                    }
                    b'\n' => {
                        check_field_line(&self.line, false)?;
                        return Err(ParseError::InvalidLineEnding);
                    }
                    _ => self.line.push(b),
                }
            }
            State::TrailerLf => {
                self.count_trailer_byte()?;
                if b != b'\n' {
                    return Err(ParseError::InvalidLineEnding);
                }
                if self.line.is_empty() {
                    self.state = State::Done;
                    return Ok(());
                }
                let (name_end, va, vb) =
                    check_field_line(&self.line, true)?.ok_or(ParseError::InvalidHeaderToken)?;
                self.trailers.push(Trailer {
                    name: self.line[..name_end].to_vec(),
                    value: self.line[va..vb].to_vec(),
                });
                self.line.clear();
                self.state = State::Trailer;
            }
            State::Length(_) | State::Data(_) | State::Done | State::Failed(_) => {
                unreachable!("handled in decode")
            }
        }
        Ok(())
    }

    /// Consumes a run of bytes that leave the state unchanged (extension names, tokens,
    /// quoted text, trailer line content) at once; same result as [`step`](Self::step)
    /// byte by byte. Returns 0 when `input` does not start with such a run.
    fn run(&mut self, input: &[u8]) -> Result<usize, ParseError> {
        let n = match self.state {
            State::Ext(Ext::Name | Ext::Token) => input.iter().position(|&b| !is_tchar(b)),
            State::Ext(Ext::Quoted) => input.iter().position(|&b| !is_qdtext(b)),
            State::Trailer => memchr::memchr2(b'\r', b'\n', input),
            _ => return Ok(0),
        }
        .unwrap_or(input.len());
        if let State::Trailer = self.state {
            self.trailer_len += n;
            if self.trailer_len > self.max_trailer {
                return Err(ParseError::TrailerOverflow);
            }
            self.line.extend_from_slice(&input[..n]);
        } else {
            self.ext_len += n;
            if self.ext_len > self.max_ext {
                return Err(ParseError::ChunkExtensionsOverflow);
            }
        }
        Ok(n)
    }

    fn count_trailer_byte(&mut self) -> Result<(), ParseError> {
        self.trailer_len += 1;
        if self.trailer_len > self.max_trailer {
            return Err(ParseError::TrailerOverflow);
        }
        Ok(())
    }

    /// One byte of a size line after the digits.
    fn ext_step(&mut self, ext: Ext, b: u8) -> Result<(), ParseError> {
        use Ext::*;
        let ows = b == b' ' || b == b'\t';
        if b == b'\n' {
            return Err(ParseError::InvalidLineEnding);
        }
        let next = match ext {
            AfterDigits | SizeBws | ValueBws | AfterQuoted | AfterName | Name | Token
                if b == b';' =>
            {
                NameStart
            }
            AfterDigits | Name | Token | AfterQuoted if b == b'\r' => {
                self.state = State::SizeLf;
                return Ok(());
            }
            AfterDigits | SizeBws if ows => SizeBws,
            AfterDigits | SizeBws => return Err(ParseError::InvalidChunkSize),
            NameStart | ValueStart | AfterName | ValueBws if ows => ext,
            NameStart | Name if is_tchar(b) => Name,
            Name if ows => AfterName,
            Name | AfterName if b == b'=' => ValueStart,
            ValueStart if b == b'"' => Quoted,
            ValueStart | Token if is_tchar(b) => Token,
            Token | AfterQuoted if ows => ValueBws,
            Quoted if b == b'"' => AfterQuoted,
            Quoted if b == b'\\' => QuotedEscape,
            Quoted if is_qdtext(b) => Quoted,
            QuotedEscape if b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80 => Quoted,
            _ => return Err(ParseError::InvalidChunk),
        };
        self.ext_len += 1;
        if self.ext_len > self.max_ext {
            return Err(ParseError::ChunkExtensionsOverflow);
        }
        self.state = State::Ext(next);
        Ok(())
    }
}

#[inline]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 9110 `qdtext`.
#[inline]
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

#[cfg(test)]
mod unit {
    use super::*;

    fn run(framing: Framing, input: &[u8]) -> (Result<usize, ParseError>, Vec<u8>, BodyDecoder) {
        let mut dec = BodyDecoder::new(framing, &Limits::default());
        let mut body = Vec::new();
        let r = dec.decode(input, &mut |d| body.extend_from_slice(d));
        (r, body, dec)
    }

    #[test]
    fn none_is_done_immediately() {
        let (r, body, dec) = run(Framing::None, b"GET / HTTP/1.1\r\n");
        assert_eq!(r, Ok(0));
        assert!(body.is_empty() && dec.is_done());
    }

    #[test]
    fn length_stops_at_end() {
        let (r, body, dec) = run(Framing::Length(5), b"helloGET");
        assert_eq!(r, Ok(5));
        assert_eq!(body, b"hello");
        assert!(dec.is_done());
        let (r, _, dec) = run(Framing::Length(5), b"hel");
        assert_eq!(r, Ok(3));
        assert!(!dec.is_done());
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let input = b"5;a=b;c=\"q \\\" x\"\r\nhello\r\nA ; z\r\n0123456789\r\n0\r\nX-T:  v \r\nY:\r\n\r\nNEXT";
        let (r, body, mut dec) = run(Framing::Chunked, input);
        assert_eq!(r, Ok(input.len() - 4));
        assert_eq!(body, b"hello0123456789");
        assert!(dec.is_done());
        let t = dec.take_trailers();
        assert_eq!(t.len(), 2);
        assert_eq!((&t[0].name[..], &t[0].value[..]), (&b"X-T"[..], &b"v"[..]));
        assert_eq!((&t[1].name[..], &t[1].value[..]), (&b"Y"[..], &b""[..]));
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let input = b"3;x\r\nabc\r\n1\r\nd\r\n0\r\nT: 1\r\n\r\n";
        let mut dec = BodyDecoder::new(Framing::Chunked, &Limits::default());
        let mut body = Vec::new();
        for b in input.chunks(1) {
            assert_eq!(dec.decode(b, &mut |d| body.extend_from_slice(d)), Ok(1));
        }
        assert!(dec.is_done());
        assert_eq!(body, b"abcd");
        assert_eq!(dec.take_trailers().len(), 1);
    }

    #[test]
    fn errors_stick() {
        let (r, _, mut dec) = run(Framing::Chunked, b"zz");
        assert_eq!(r, Err(ParseError::InvalidChunkSize));
        assert_eq!(
            dec.decode(b"0\r\n\r\n", &mut |_| {}),
            Err(ParseError::InvalidChunkSize)
        );
        assert_eq!(
            dec.decode(b"", &mut |_| {}),
            Err(ParseError::InvalidChunkSize)
        );
        assert!(dec.take_trailers().is_empty());
    }

    #[test]
    fn max_size_digits() {
        let (r, _, dec) = run(Framing::Chunked, b"ffffffffffffffff\r\nab");
        assert_eq!(r, Ok(20));
        assert!(!dec.is_done());
        let (r, _, _) = run(Framing::Chunked, b"0ffffffffffffffff\r\n");
        assert_eq!(r, Err(ParseError::InvalidChunkSize));
    }

    #[test]
    fn extension_bound_is_per_chunk() {
        let limits = Limits {
            max_chunk_ext_size: 4,
            ..Limits::default()
        };
        let mut dec = BodyDecoder::new(Framing::Chunked, &limits);
        // 4 extension bytes in each chunk: fine.
        assert_eq!(
            dec.decode(b"1;abc\r\nx\r\n1;abc\r\ny\r\n", &mut |_| {}),
            Ok(20)
        );
        assert_eq!(
            dec.decode(b"1;abcd\r\n", &mut |_| {}),
            Err(ParseError::ChunkExtensionsOverflow)
        );
    }
}
