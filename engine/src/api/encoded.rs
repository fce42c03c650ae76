//! Header lines validated and encoded once, for a binding that sends the same headers on
//! many responses (a Node handler's `writeHead(200, {...})` object, its `setHeader` calls):
//! per response, the head costs one copy of the bytes instead of a validation and an
//! encoding per line.
use super::response::validate_line;
use crate::error::Error;
use crate::proto::h1::encode;
use crate::proto::h1::framing::HeadFacts;

/// A response's own header lines, checked and encoded (`Name: value\r\n` each), with what
/// the engine needs to know of them (framing, persistence).
#[derive(Debug, Clone)]
pub struct EncodedHeaders {
    pub(crate) bytes: Vec<u8>,
    pub(crate) facts: HeadFacts,
    /// The pairs themselves, for a response that already has `set_header` headers (then
    /// they are merged into its map as `write_head` would).
    pub(crate) pairs: Vec<(String, String)>,
}

impl EncodedHeaders {
    /// Validates and encodes `headers` in order, one line per pair (a name may repeat);
    /// the first invalid name or value is the error, as `write_head`'s.
    pub fn new<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<EncodedHeaders, Error> {
        let mut out = EncodedHeaders {
            bytes: Vec::new(),
            facts: HeadFacts::default(),
            pairs: Vec::new(),
        };
        for (name, value) in headers {
            validate_line(name, value)?;
            out.facts.note(name, value);
            encode::header(&mut out.bytes, name.as_bytes(), value.as_bytes());
            out.pairs.push((name.to_owned(), value.to_owned()));
        }
        Ok(out)
    }

    /// How many header lines.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}
