//! Protocol errors: each knows the status to answer with and Node's `HPE_*` name.
use std::fmt;

/// Why a request was rejected. The handler never runs for any of these; the connection is
/// answered with [`ParseError::status`] and `Connection: close`, then closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// Method is not a token.
    InvalidMethod,
    /// Request target empty, contains whitespace/control bytes, or is malformed.
    InvalidTarget,
    /// Request target longer than `Limits::max_uri_len`.
    UriTooLong,
    /// Version is not `HTTP/x.y` syntax.
    InvalidVersion,
    /// `HTTP/x.y` other than 1.0 and 1.1.
    UnsupportedVersion,
    /// Header name is not a token, or whitespace before the colon.
    InvalidHeaderToken,
    /// Header value contains NUL, CR, LF or another forbidden control byte.
    InvalidHeaderValue,
    /// A bare LF or bare CR where CRLF is required.
    InvalidLineEnding,
    /// A header line starting with SP or HTAB (obs-fold).
    ObsFold,
    /// Request line + headers larger than `Limits::max_header_size`.
    HeaderOverflow,
    /// Content-Length is not 1*DIGIT, or overflows u64.
    InvalidContentLength,
    /// Content-Length more than once with different values.
    ConflictingContentLength,
    /// Both Content-Length and Transfer-Encoding.
    ContentLengthWithTransferEncoding,
    /// Transfer-Encoding whose final coding is not `chunked`, `chunked` twice, or TE in 1.0.
    InvalidTransferEncoding,
    /// A transfer coding we do not implement (gzip, ...) before the final chunked.
    UnsupportedTransferEncoding,
    /// HTTP/1.1 request without exactly one Host header.
    InvalidHost,
    /// Chunk size is not 1*16HEXDIG, or overflows.
    InvalidChunkSize,
    /// Chunk extensions longer than `Limits::max_chunk_ext_size`.
    ChunkExtensionsOverflow,
    /// Missing CRLF after chunk data, or malformed chunk extension.
    InvalidChunk,
    /// Trailer section larger than `Limits::max_trailer_size`.
    TrailerOverflow,
    /// Body larger than the configured maximum.
    BodyTooLarge,
}

impl ParseError {
    /// The status code the default 'clientError' behaviour answers with.
    pub fn status(self) -> u16 {
        use ParseError::*;
        match self {
            HeaderOverflow | TrailerOverflow => 431,
            UriTooLong => 414,
            ChunkExtensionsOverflow | BodyTooLarge => 413,
            UnsupportedTransferEncoding => 501,
            UnsupportedVersion => 505,
            _ => 400,
        }
    }

    /// Node/llhttp style error code, as `err.code` in 'clientError'.
    pub fn code(self) -> &'static str {
        use ParseError::*;
        match self {
            InvalidMethod => "HPE_INVALID_METHOD",
            InvalidTarget => "HPE_INVALID_URL",
            UriTooLong => "HPE_URI_TOO_LONG",
            InvalidVersion | UnsupportedVersion => "HPE_INVALID_VERSION",
            InvalidHeaderToken => "HPE_INVALID_HEADER_TOKEN",
            InvalidHeaderValue => "HPE_INVALID_HEADER_VALUE",
            InvalidLineEnding => "HPE_LF_EXPECTED",
            ObsFold => "HPE_OBS_FOLD",
            HeaderOverflow => "HPE_HEADER_OVERFLOW",
            InvalidContentLength => "HPE_INVALID_CONTENT_LENGTH",
            ConflictingContentLength => "HPE_UNEXPECTED_CONTENT_LENGTH",
            ContentLengthWithTransferEncoding => "HPE_UNEXPECTED_CONTENT_LENGTH",
            InvalidTransferEncoding => "HPE_INVALID_TRANSFER_ENCODING",
            UnsupportedTransferEncoding => "HPE_UNSUPPORTED_TRANSFER_ENCODING",
            InvalidHost => "HPE_INVALID_HOST",
            InvalidChunkSize => "HPE_INVALID_CHUNK_SIZE",
            ChunkExtensionsOverflow => "HPE_CHUNK_EXTENSIONS_OVERFLOW",
            InvalidChunk => "HPE_STRICT",
            TrailerOverflow => "HPE_HEADER_OVERFLOW",
            BodyTooLarge => "HPE_BODY_TOO_LARGE",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {:?}", self.code(), self.status(), self)
    }
}

impl std::error::Error for ParseError {}
