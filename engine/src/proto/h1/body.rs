//! Request body framing: Content-Length and chunked (RFC 9112 section 7.1).
use super::{Framing, Limits, ParseError};

/// One trailer field from a chunked body: name as sent, value trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

/// Incremental body decoder. Feed it whatever bytes arrive; it hands out body data and
/// says how much input belonged to this message.
#[derive(Debug)]
pub struct BodyDecoder {
    _framing: Framing,
}

impl BodyDecoder {
    pub fn new(framing: Framing, limits: &Limits) -> Self {
        let _ = limits;
        BodyDecoder { _framing: framing }
    }

    /// True once the whole body (and for chunked, the trailer section) has been consumed.
    pub fn is_done(&self) -> bool {
        todo!()
    }

    /// Decodes from `input`, calling `on_data` with each run of body bytes (slices of
    /// `input`). Returns how many bytes of `input` were consumed; fewer than `input.len()`
    /// only when the message ended (the rest belongs to the next request).
    pub fn decode(
        &mut self,
        input: &[u8],
        on_data: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, ParseError> {
        let _ = (input, on_data);
        todo!()
    }

    /// The trailers of a chunked body, once [`is_done`](Self::is_done). Empty otherwise.
    pub fn take_trailers(&mut self) -> Vec<Trailer> {
        todo!()
    }
}
