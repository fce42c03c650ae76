//! Request line and header section parsing (httparse underneath, strict checks on top).
use super::{Limits, ParseError, RequestHead};

/// Parses one request head from the start of `buf`.
///
/// - `Ok(Some(head))`: a complete head of `head.len` bytes (leading empty lines skipped).
/// - `Ok(None)`: not complete yet, and `buf` is still under `limits.max_header_size`.
/// - `Err(e)`: the bytes can never become a valid request (including
///   `HeaderOverflow` once `buf` holds `max_header_size` bytes without a complete head).
pub fn parse_request_head(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, ParseError> {
    let _ = (buf, limits);
    todo!("implemented by the protocol work")
}
