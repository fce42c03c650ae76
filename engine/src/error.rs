//! The one public error type.
use std::fmt;
use std::io;

pub use crate::proto::h1::ParseError;

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A builder option or environment variable is invalid.
    Config,
    /// The I/O backend could not be set up.
    Backend,
    /// Binding or listening failed.
    Listen,
    /// A socket operation failed.
    Io,
    /// A request could not be parsed.
    Parse(ParseError),
    /// A response method was used after the headers were sent (Node's
    /// `ERR_HTTP_HEADERS_SENT`).
    HeadersSent,
    /// A header name or value is not allowed on the wire (`ERR_INVALID_HTTP_TOKEN`,
    /// `ERR_INVALID_CHAR`).
    InvalidHeader,
    /// write() or end() after end() (`ERR_STREAM_WRITE_AFTER_END`).
    WriteAfterEnd,
    /// The connection is gone.
    Closed,
    /// A request handler panicked.
    HandlerPanicked,
    /// A timer expired: headersTimeout or requestTimeout (Node's `ERR_HTTP_REQUEST_TIMEOUT`,
    /// given to 'clientError').
    Timeout,
}

/// An error with its kind, a message that says what was being done, and the cause.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    msg: String,
    source: Option<io::Error>,
}

impl Error {
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> Error {
        Error {
            kind,
            msg: msg.into(),
            source: None,
        }
    }

    pub fn io(kind: ErrorKind, context: impl Into<String>, source: io::Error) -> Error {
        Error {
            kind,
            msg: context.into(),
            source: Some(source),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Node-style code (`HPE_*`, `ERR_HTTP_HEADERS_SENT`, ...) where one exists.
    pub fn code(&self) -> &'static str {
        match self.kind {
            ErrorKind::Parse(p) => p.code(),
            ErrorKind::HeadersSent => "ERR_HTTP_HEADERS_SENT",
            ErrorKind::InvalidHeader => "ERR_INVALID_HTTP_TOKEN",
            ErrorKind::WriteAfterEnd => "ERR_STREAM_WRITE_AFTER_END",
            ErrorKind::Closed => "ECONNRESET",
            ErrorKind::Timeout => "ERR_HTTP_REQUEST_TIMEOUT",
            ErrorKind::HandlerPanicked => "ERR_HANDLER_PANICKED",
            ErrorKind::Config => "ERR_INVALID_ARG_VALUE",
            ErrorKind::Backend | ErrorKind::Listen | ErrorKind::Io => "ERR_SYSTEM_ERROR",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)?;
        if let Some(s) = &self.source {
            write!(f, ": {s}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

impl From<ParseError> for Error {
    fn from(p: ParseError) -> Error {
        Error::new(ErrorKind::Parse(p), p.to_string())
    }
}

/// Lets infallible conversions (a `ListenAddr` or `SocketAddr` given to `listen`) be used
/// where a fallible one is expected.
impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Error {
        match never {}
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
