//! Request line and header section parsing (httparse underneath, strict checks on top).
//!
//! Two paths give the same answers:
//! - the fast path: httparse tokenizes, then a memchr pass proves every line ends in CRLF
//!   and the target length is checked;
//! - the reference scanner ([`scan_head`]): a plain byte-order parser that names the first
//!   violation exactly. It runs only when the fast path sees something wrong (or cannot
//!   decide), so errors are classified precisely and the same way however the bytes were
//!   split when they arrived.
//!
//! Syntax errors are reported in byte order; the semantic checks (Host, Content-Length,
//! Transfer-Encoding) run only on a complete, syntactically valid head.
use std::mem::MaybeUninit;

use super::encode::METHODS;
use super::{Expect, Framing, HeaderSpan, Limits, ParseError, RequestHead, Span};

/// Header slots tried on the stack before retrying with a heap array.
const STACK_HEADERS: usize = 32;

/// Parses one request head from the start of `buf`.
///
/// - `Ok(Some(head))`: a complete head of `head.len` bytes (leading empty lines skipped).
/// - `Ok(None)`: not complete yet, and `buf` is still under `limits.max_header_size`.
/// - `Err(e)`: the bytes can never become a valid request (including
///   `HeaderOverflow` once `buf` holds `max_header_size` bytes without a complete head).
pub fn parse_request_head(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, ParseError> {
    parse_request_head_reusing(buf, limits, Vec::new())
}

/// [`parse_request_head`] that fills `spare` (cleared first) with the header spans, so a
/// caller that recycles `RequestHead::headers` parses without allocating.
pub fn parse_request_head_reusing(
    buf: &[u8],
    limits: &Limits,
    spare: Vec<HeaderSpan>,
) -> Result<Option<RequestHead>, ParseError> {
    let max = effective_max(limits);
    let limited = &buf[..buf.len().min(max)];
    let start = skip_empty_lines(limited);
    let rest = &limited[start..];

    let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(rest, &mut stack) {
        Ok(httparse::Status::Complete(n)) => {
            if let Some(head) = fast_head(buf, start, n, &req, limits, spare) {
                return head.map(Some);
            }
        }
        Ok(httparse::Status::Partial) => {
            if partial_looks_fine(rest, limits) {
                return incomplete(buf, max);
            }
        }
        Err(httparse::Error::TooManyHeaders) => {
            return parse_many_headers(buf, start, limited, limits)
        }
        Err(_) => {}
    }
    slow_path(buf, start, limited, limits)
}

/// Reference parser: same contract as [`parse_request_head`], using only the byte-order
/// scanner (no httparse). Exposed so tests and fuzzers can cross-check the fast path.
#[doc(hidden)]
pub fn parse_request_head_reference(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<RequestHead>, ParseError> {
    let max = effective_max(limits);
    let limited = &buf[..buf.len().min(max)];
    let start = skip_empty_lines(limited);
    slow_path(buf, start, limited, limits)
}

/// Spans are `u32`, so never look at more than `u32::MAX` bytes.
fn effective_max(limits: &Limits) -> usize {
    limits.max_header_size.min(u32::MAX as usize)
}

/// Skips whole CRLF pairs before the request line (RFC 9112 section 2.2).
#[inline]
fn skip_empty_lines(buf: &[u8]) -> usize {
    let mut i = 0;
    while buf.len() >= i + 2 && buf[i] == b'\r' && buf[i + 1] == b'\n' {
        i += 2;
    }
    i
}

#[inline]
fn incomplete(buf: &[u8], max: usize) -> Result<Option<RequestHead>, ParseError> {
    if buf.len() >= max {
        Err(ParseError::HeaderOverflow)
    } else {
        Ok(None)
    }
}

fn slow_path(
    buf: &[u8],
    start: usize,
    limited: &[u8],
    limits: &Limits,
) -> Result<Option<RequestHead>, ParseError> {
    match scan_head(limited, start, limits)? {
        Scan::Incomplete => incomplete(buf, effective_max(limits)),
        Scan::Complete(raw) => finish(buf, raw).map(Some),
    }
}

/// More headers than the stack array holds: retry with a heap array sized by line count.
#[cold]
fn parse_many_headers(
    buf: &[u8],
    start: usize,
    limited: &[u8],
    limits: &Limits,
) -> Result<Option<RequestHead>, ParseError> {
    let rest = &limited[start..];
    let lines = memchr::memchr_iter(b'\n', rest).count() + 1;
    let mut heap = vec![httparse::EMPTY_HEADER; lines];
    let mut req = httparse::Request::new(&mut heap);
    match req.parse(rest) {
        Ok(httparse::Status::Complete(n)) => {
            if let Some(head) = fast_head(buf, start, n, &req, limits, Vec::new()) {
                return head.map(Some);
            }
        }
        Ok(httparse::Status::Partial) => {
            if partial_looks_fine(rest, limits) {
                return incomplete(buf, effective_max(limits));
            }
        }
        Err(_) => {}
    }
    slow_path(buf, start, limited, limits)
}

/// For bytes httparse accepted (complete or partial): true if every line ends in CRLF.
///
/// httparse rejects a CR that is not followed by LF everywhere in a head, so the only
/// possible violation left is a bare LF, and that shows as more LFs than CRs. A CR as the
/// very last byte (its LF still to come) is allowed when `trailing_cr_ok`.
#[inline]
fn crlf_only(bytes: &[u8], trailing_cr_ok: bool) -> bool {
    let cr = memchr::memchr_iter(b'\r', bytes).count();
    let lf = memchr::memchr_iter(b'\n', bytes).count();
    let pending_cr = trailing_cr_ok && bytes.last() == Some(&b'\r');
    cr == lf + usize::from(pending_cr)
}

/// For a complete head httparse accepted: true if every line ends in CRLF. httparse takes
/// CRLF or a bare LF as a line end and nothing else, so it suffices to look at the first
/// byte of each line end: after the version, after each value (and its trailing OWS),
/// and the final empty line. An LF-only empty line skipped before the request line shows
/// as an LF at `rest[0]` (our own skip removed the CRLF pairs).
#[inline]
fn line_ends_crlf(
    rest: &[u8],
    base: usize,
    target_end: usize,
    req: &httparse::Request<'_, '_>,
) -> bool {
    const VERSION_LEN: usize = b"HTTP/1.1".len();
    let n = rest.len();
    let crlf_at = |i: usize| rest.get(i) == Some(&b'\r');
    if rest.first() == Some(&b'\n')
        || !crlf_at(target_end + 1 + VERSION_LEN)
        || n < 2
        || rest[n - 2] != b'\r'
    {
        return false;
    }
    req.headers.iter().all(|h| {
        let mut i = h.value.as_ptr() as usize - base + h.value.len();
        while matches!(rest.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        crlf_at(i)
    })
}

/// Partial head accepted by httparse: can the scanner also find nothing wrong yet? Checks
/// what httparse does not: line endings, a known method once its space is in, and the
/// length of a still-incomplete target.
fn partial_looks_fine(rest: &[u8], limits: &Limits) -> bool {
    if !crlf_only(rest, true) {
        return false;
    }
    let line_end = memchr::memchr(b'\r', rest).unwrap_or(rest.len());
    let line = &rest[..line_end];
    match memchr::memchr(b' ', line) {
        Some(sp) => {
            if !is_known_method(&line[..sp]) {
                return false;
            }
            let target = &line[sp + 1..];
            memchr::memchr(b' ', target).unwrap_or(target.len()) <= limits.max_uri_len
        }
        None => is_method_prefix(line),
    }
}

/// Builds the head from a complete httparse result, or `None` when something must be
/// classified by the scanner (bare CR/LF, over-long target).
#[inline]
fn fast_head(
    buf: &[u8],
    start: usize,
    n: usize,
    req: &httparse::Request<'_, '_>,
    limits: &Limits,
    mut headers: Vec<HeaderSpan>,
) -> Option<Result<RequestHead, ParseError>> {
    let rest = &buf[start..start + n];
    let (method, target, version) = (req.method?, req.path?, req.version?);
    // An unknown method is judged (and named) by the byte-order scanner.
    if !is_known_method(method.as_bytes()) || target.len() > limits.max_uri_len {
        return None;
    }
    let rest_base = rest.as_ptr() as usize;
    let target_end = target.as_ptr() as usize - rest_base + target.len();
    if !line_ends_crlf(rest, rest_base, target_end, req) {
        return None;
    }
    let base = buf.as_ptr() as usize;
    let span = |s: &[u8]| {
        let from = s.as_ptr() as usize - base;
        Span {
            start: from as u32,
            end: (from + s.len()) as u32,
        }
    };
    headers.clear();
    headers.extend(req.headers.iter().map(|h| HeaderSpan {
        name: span(h.name.as_bytes()),
        value: span(h.value),
    }));
    Some(finish(
        buf,
        RawHead {
            start,
            len: start + n,
            method: span(method.as_bytes()),
            target: span(target.as_bytes()),
            minor_version: version,
            headers,
        },
    ))
}

/// A syntactically valid head before the semantic checks.
#[derive(Debug)]
struct RawHead {
    start: usize,
    len: usize,
    method: Span,
    target: Span,
    minor_version: u8,
    headers: Vec<HeaderSpan>,
}

#[derive(Debug)]
enum Scan {
    Incomplete,
    Complete(RawHead),
}

/// Node's parser (llhttp) takes only the methods of `http.METHODS` and answers any other
/// with 400 `HPE_INVALID_METHOD`, as soon as the bytes seen can start no known method; so
/// do we (case-sensitive, as llhttp). The common ones are matched first.
#[inline]
pub(super) fn is_known_method(m: &[u8]) -> bool {
    matches!(
        m,
        b"GET" | b"POST" | b"HEAD" | b"PUT" | b"DELETE" | b"OPTIONS" | b"PATCH"
    ) || METHODS.binary_search_by(|k| k.as_bytes().cmp(m)).is_ok()
}

/// Whether `p`, a method whose space has not arrived yet, can still become a known one:
/// llhttp rejects `oooops` at its first byte, not when the line ends.
fn is_method_prefix(p: &[u8]) -> bool {
    METHODS.iter().any(|k| k.as_bytes().starts_with(p))
}

/// RFC 9110 `tchar`.
#[inline]
pub(super) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
        | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// Request-target bytes: visible ASCII plus obs-text (as Node and httparse); no SP, no
/// CTL, no DEL.
#[inline]
fn is_target_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x7e | 0x80..=0xff)
}

/// Field value bytes: HTAB, SP, visible ASCII, obs-text.
#[inline]
pub(super) fn is_value_byte(b: u8) -> bool {
    matches!(b, b'\t' | 0x20..=0x7e | 0x80..=0xff)
}

#[inline]
fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims SP/HTAB at both ends; returns the kept range. All-whitespace gives an empty
/// range at the end.
pub(super) fn trim_ows(s: &[u8], from: usize, to: usize) -> (usize, usize) {
    let mut a = from;
    while a < to && is_ows(s[a]) {
        a += 1;
    }
    let mut b = to;
    while b > a && is_ows(s[b - 1]) {
        b -= 1;
    }
    (a, b)
}

/// Parsed request line (offsets relative to the line).
struct RequestLine {
    method: (usize, usize),
    target: (usize, usize),
    minor_version: u8,
}

/// Checks a request line in byte order. `complete == false`: only the bytes seen so far
/// are judged (`Ok(None)`); `complete == true`: the line is whole (no CRLF in `line`).
fn check_request_line(
    line: &[u8],
    complete: bool,
    limits: &Limits,
) -> Result<Option<RequestLine>, ParseError> {
    let n = line.len();
    let mut i = 0;
    while i < n && line[i] != b' ' {
        if !is_tchar(line[i]) {
            return Err(ParseError::InvalidMethod);
        }
        i += 1;
    }
    if i == 0 && n > 0 {
        return Err(ParseError::InvalidMethod);
    }
    if i == n {
        return if complete || !is_method_prefix(line) {
            Err(ParseError::InvalidMethod)
        } else {
            Ok(None)
        };
    }
    if !is_known_method(&line[..i]) {
        return Err(ParseError::InvalidMethod);
    }
    let method = (0, i);
    i += 1;
    let ts = i;
    while i < n && line[i] != b' ' {
        if !is_target_byte(line[i]) {
            return Err(ParseError::InvalidTarget);
        }
        if i - ts >= limits.max_uri_len {
            return Err(ParseError::UriTooLong);
        }
        i += 1;
    }
    if i == ts && (i < n || complete) {
        return Err(ParseError::InvalidTarget);
    }
    if i == n {
        return if complete {
            Err(ParseError::InvalidVersion)
        } else {
            Ok(None)
        };
    }
    let target = (ts, i);
    if !complete {
        return Ok(None);
    }
    let minor_version = parse_version(&line[i + 1..])?;
    Ok(Some(RequestLine {
        method,
        target,
        minor_version,
    }))
}

/// `HTTP/1.0` or `HTTP/1.1`; other `HTTP/d.d` is unsupported; anything else invalid.
fn parse_version(v: &[u8]) -> Result<u8, ParseError> {
    match v {
        b"HTTP/1.1" => Ok(1),
        b"HTTP/1.0" => Ok(0),
        [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Err(ParseError::UnsupportedVersion)
        }
        _ => Err(ParseError::InvalidVersion),
    }
}

/// Checks one field line (head header or trailer) in byte order, like
/// [`check_request_line`]. Returns (name end, value start, value end) when complete.
pub(super) fn check_field_line(
    line: &[u8],
    complete: bool,
) -> Result<Option<(usize, usize, usize)>, ParseError> {
    let n = line.len();
    if n > 0 && is_ows(line[0]) {
        return Err(ParseError::ObsFold);
    }
    let mut i = 0;
    while i < n && line[i] != b':' {
        if !is_tchar(line[i]) {
            return Err(ParseError::InvalidHeaderToken);
        }
        i += 1;
    }
    if i == 0 && n > 0 {
        return Err(ParseError::InvalidHeaderToken);
    }
    if i == n {
        return if complete {
            Err(ParseError::InvalidHeaderToken)
        } else {
            Ok(None)
        };
    }
    let name_end = i;
    if !line[i + 1..].iter().all(|&b| is_value_byte(b)) {
        return Err(ParseError::InvalidHeaderValue);
    }
    if !complete {
        return Ok(None);
    }
    let (a, b) = trim_ows(line, name_end + 1, n);
    Ok(Some((name_end, a, b)))
}

/// Where a line's terminator stands.
pub(super) enum LineEnd {
    /// No CR/LF yet: the line is still arriving.
    Open,
    /// CRLF at this offset.
    Crlf(usize),
    /// CR as the last byte: cannot tell yet.
    PendingCr,
}

/// Finds the end of the line starting at `buf[0]`; bare LF / CR not followed by LF is an error.
pub(super) fn line_end(buf: &[u8]) -> Result<LineEnd, ParseError> {
    match memchr::memchr2(b'\r', b'\n', buf) {
        None => Ok(LineEnd::Open),
        Some(i) if buf[i] == b'\n' => Err(ParseError::InvalidLineEnding),
        Some(i) => match buf.get(i + 1) {
            None => Ok(LineEnd::PendingCr),
            Some(b'\n') => Ok(LineEnd::Crlf(i)),
            Some(_) => Err(ParseError::InvalidLineEnding),
        },
    }
}

/// Byte-order reference scanner over `buf[start..]` (leading CRLFs already skipped).
fn scan_head(buf: &[u8], start: usize, limits: &Limits) -> Result<Scan, ParseError> {
    let mut pos = start;
    // A bare LF or a lone CR among the leading empty lines.
    match buf.get(pos) {
        Some(b'\n') => return Err(ParseError::InvalidLineEnding),
        Some(b'\r') => {
            return match buf.get(pos + 1) {
                None => Ok(Scan::Incomplete),
                Some(_) => Err(ParseError::InvalidLineEnding),
            }
        }
        _ => {}
    }

    // Request line.
    let rest = &buf[pos..];
    let content_end = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
    check_request_line(&rest[..content_end], false, limits)?;
    let eol = match line_end(rest)? {
        LineEnd::Crlf(i) => i,
        LineEnd::Open | LineEnd::PendingCr => return Ok(Scan::Incomplete),
    };
    let rl = check_request_line(&rest[..eol], true, limits)?.ok_or(ParseError::InvalidMethod)?;
    let at = |(a, b): (usize, usize)| Span {
        start: (pos + a) as u32,
        end: (pos + b) as u32,
    };
    let method = at(rl.method);
    let target = at(rl.target);
    pos += eol + 2;

    // Field lines until the empty line.
    let mut headers = Vec::new();
    loop {
        let rest = &buf[pos..];
        let content_end = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
        check_field_line(&rest[..content_end], false)?;
        let eol = match line_end(rest)? {
            LineEnd::Crlf(i) => i,
            LineEnd::Open | LineEnd::PendingCr => return Ok(Scan::Incomplete),
        };
        if eol == 0 {
            return Ok(Scan::Complete(RawHead {
                start,
                len: pos + 2,
                method,
                target,
                minor_version: rl.minor_version,
                headers,
            }));
        }
        let (name_end, va, vb) =
            check_field_line(&rest[..eol], true)?.ok_or(ParseError::InvalidHeaderToken)?;
        let at = |a: usize, b: usize| Span {
            start: (pos + a) as u32,
            end: (pos + b) as u32,
        };
        headers.push(HeaderSpan {
            name: at(0, name_end),
            value: at(va, vb),
        });
        pos += eol + 2;
    }
}

/// Splits a comma-separated list, trimming OWS around each element (empty elements kept).
fn list_elements(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',').map(|e| {
        let (a, b) = trim_ows(e, 0, e.len());
        &e[a..b]
    })
}

/// `1*DIGIT` into a u64, with checked arithmetic.
fn parse_content_length(s: &[u8]) -> Result<u64, ParseError> {
    if s.is_empty() {
        return Err(ParseError::InvalidContentLength);
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return Err(ParseError::InvalidContentLength);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(ParseError::InvalidContentLength)?;
    }
    Ok(n)
}

/// Semantic checks and derived fields. Order: TE in HTTP/1.0, Content-Length syntax and
/// conflicts (header order), CL with TE, TE codings, Host.
// Inlined into the fast path: the head is built in place rather than moved through
// two layers of Option/Result.
#[inline(always)]
fn finish(buf: &[u8], raw: RawHead) -> Result<RequestHead, ParseError> {
    let mut hosts = 0u32;
    let mut content_length: Option<u64> = None;
    let mut cl_error: Option<ParseError> = None;
    let mut te_seen = false;
    let mut chunked_count = 0u32;
    let mut last_is_chunked = false;
    let mut te_other = false;
    let mut te_malformed = false;
    let mut conn_close = false;
    let mut conn_keep_alive = false;
    let mut conn_upgrade = false;
    let mut upgrade_header = false;
    let mut expect = Expect::None;

    for h in &raw.headers {
        let name = h.name.of(buf);
        let value = h.value.of(buf);
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => hosts += 1,
            6 if name.eq_ignore_ascii_case(b"expect") => {
                expect = if value.eq_ignore_ascii_case(b"100-continue") && expect != Expect::Other {
                    Expect::Continue
                } else {
                    Expect::Other
                };
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => upgrade_header = true,
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in list_elements(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        conn_close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        conn_keep_alive = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        conn_upgrade = true;
                    }
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                if cl_error.is_some() {
                    continue;
                }
                for element in list_elements(value) {
                    match parse_content_length(element) {
                        Err(e) => {
                            cl_error = Some(e);
                            break;
                        }
                        Ok(n) => match content_length {
                            Some(prev) if prev != n => {
                                cl_error = Some(ParseError::ConflictingContentLength);
                                break;
                            }
                            _ => content_length = Some(n),
                        },
                    }
                }
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                te_seen = true;
                for element in list_elements(value) {
                    if element.is_empty() {
                        continue;
                    }
                    // transfer-coding = token *( OWS ";" OWS transfer-parameter )
                    let coding = match memchr::memchr(b';', element) {
                        Some(i) => {
                            let (a, b) = trim_ows(element, 0, i);
                            &element[a..b]
                        }
                        None => element,
                    };
                    if coding.is_empty() || !coding.iter().all(|&b| is_tchar(b)) {
                        te_malformed = true;
                    }
                    if coding.eq_ignore_ascii_case(b"chunked") {
                        chunked_count += 1;
                        // `chunked` takes no parameters.
                        if coding.len() != element.len() {
                            te_malformed = true;
                        }
                        last_is_chunked = true;
                    } else {
                        if chunked_count > 0 {
                            // A coding after chunked: final coding is not chunked.
                            te_malformed = true;
                        }
                        te_other = true;
                        last_is_chunked = false;
                    }
                }
            }
            _ => {}
        }
    }

    let http11 = raw.minor_version == 1;
    if te_seen && !http11 {
        return Err(ParseError::InvalidTransferEncoding);
    }
    if let Some(e) = cl_error {
        return Err(e);
    }
    if te_seen && content_length.is_some() {
        return Err(ParseError::ContentLengthWithTransferEncoding);
    }
    if te_seen {
        if te_malformed || chunked_count != 1 || !last_is_chunked {
            return Err(ParseError::InvalidTransferEncoding);
        }
        if te_other {
            return Err(ParseError::UnsupportedTransferEncoding);
        }
    }
    if http11 && hosts != 1 {
        return Err(ParseError::InvalidHost);
    }

    let framing = if te_seen {
        Framing::Chunked
    } else {
        match content_length {
            Some(n) if n > 0 => Framing::Length(n),
            _ => Framing::None,
        }
    };
    let keep_alive = if http11 {
        !conn_close
    } else {
        conn_keep_alive && !conn_close
    };
    let method = raw.method.of(buf);
    Ok(RequestHead {
        len: raw.len,
        start: raw.start,
        method: raw.method,
        target: raw.target,
        minor_version: raw.minor_version,
        headers: raw.headers,
        framing,
        keep_alive,
        expect,
        upgrade: conn_upgrade && upgrade_header,
        is_connect: method == b"CONNECT",
        is_head: method == b"HEAD",
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    fn parse(buf: &[u8]) -> RequestHead {
        let fast = parse_request_head(buf, &Limits::default())
            .unwrap()
            .expect("complete");
        let reference = parse_request_head_reference(buf, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            format!("{fast:?}"),
            format!("{reference:?}"),
            "fast path and scanner disagree"
        );
        fast
    }

    fn header<'a>(h: &RequestHead, buf: &'a [u8], i: usize) -> (&'a [u8], &'a [u8]) {
        (h.headers[i].name.of(buf), h.headers[i].value.of(buf))
    }

    #[test]
    fn simple_get() {
        let buf = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
        let h = parse(buf);
        assert_eq!(h.len, buf.len());
        assert_eq!(h.start, 0);
        assert_eq!(h.method(buf), b"GET");
        assert_eq!(h.target(buf), b"/");
        assert_eq!(h.minor_version, 1);
        assert_eq!(header(&h, buf, 0), (&b"Host"[..], &b"127.0.0.1:8080"[..]));
        assert_eq!(h.framing, Framing::None);
        assert!(h.keep_alive && !h.upgrade && !h.is_connect && !h.is_head);
        assert_eq!(h.expect, Expect::None);
    }

    #[test]
    fn incomplete_then_overflow() {
        let limits = Limits {
            max_header_size: 64,
            ..Limits::default()
        };
        let full = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        for k in 0..full.len() {
            assert!(
                parse_request_head(&full[..k], &limits).unwrap().is_none(),
                "prefix {k}"
            );
        }
        let mut big = b"GET / HTTP/1.1\r\nHost: h\r\nX: ".to_vec();
        big.resize(63, b'a');
        assert!(parse_request_head(&big, &limits).unwrap().is_none());
        big.push(b'a');
        assert_eq!(
            parse_request_head(&big, &limits).unwrap_err(),
            ParseError::HeaderOverflow
        );
    }

    #[test]
    fn head_exactly_at_limit_is_accepted() {
        let buf = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        let limits = Limits {
            max_header_size: buf.len(),
            ..Limits::default()
        };
        assert!(parse_request_head(buf, &limits).unwrap().is_some());
        let limits = Limits {
            max_header_size: buf.len() - 1,
            ..Limits::default()
        };
        assert_eq!(
            parse_request_head(buf, &limits).unwrap_err(),
            ParseError::HeaderOverflow
        );
    }

    #[test]
    fn ows_trimmed_and_case_kept() {
        let buf =
            b"GET /x?y=1 HTTP/1.1\r\nhOsT: \t h \t\r\nX-Empty:\r\nX-Sp:   \r\nX-In: a  b\r\n\r\n";
        let h = parse(buf);
        assert_eq!(header(&h, buf, 0), (&b"hOsT"[..], &b"h"[..]));
        assert_eq!(header(&h, buf, 1), (&b"X-Empty"[..], &b""[..]));
        assert_eq!(header(&h, buf, 2), (&b"X-Sp"[..], &b""[..]));
        assert_eq!(header(&h, buf, 3), (&b"X-In"[..], &b"a  b"[..]));
    }

    #[test]
    fn pipelined_heads() {
        let buf = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\n";
        let a = parse(buf);
        assert_eq!(a.target(buf), b"/a");
        let rest = &buf[a.len..];
        let b = parse(rest);
        assert_eq!(b.target(rest), b"/b");
        assert!(b.is_head);
        assert_eq!(a.len + b.len, buf.len());
    }

    #[test]
    fn leading_crlfs_skipped() {
        let buf = b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = parse(buf);
        assert_eq!(h.start, 4);
        assert_eq!(h.len, buf.len());
        assert_eq!(h.method(buf), b"GET");
        // A lone CR may still become CRLF.
        assert!(parse_request_head(b"\r\n\r", &Limits::default())
            .unwrap()
            .is_none());
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |s: &[u8]| parse(s).keep_alive;
        assert!(ka(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        ));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n"
        ));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: foo\r\nConnection: close\r\n\r\n"
        ));
        assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(ka(
            b"GET / HTTP/1.0\r\nConnection: foo,  keep-alive \r\n\r\n"
        ));
        assert!(!ka(
            b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"
        ));
        assert!(!ka(b"GET / HTTP/1.0\r\nConnection: keep-alivex\r\n\r\n"));
    }

    #[test]
    fn expect_values() {
        let ex = |v: &str| {
            parse(format!("PUT / HTTP/1.1\r\nHost: h\r\nExpect: {v}\r\n\r\n").as_bytes()).expect
        };
        assert_eq!(ex("100-continue"), Expect::Continue);
        assert_eq!(ex("100-Continue"), Expect::Continue);
        assert_eq!(ex("200-ok"), Expect::Other);
        assert_eq!(ex(""), Expect::Other);
    }

    #[test]
    fn upgrade_needs_both_headers() {
        let up = |s: &[u8]| parse(s).upgrade;
        assert!(up(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n"));
        assert!(!up(
            b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"
        ));
        assert!(!up(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n"
        ));
    }

    #[test]
    fn connect_authority_form() {
        let buf = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
        let h = parse(buf);
        assert!(h.is_connect);
        assert_eq!(h.target(buf), b"example.com:443");
    }

    #[test]
    fn many_headers_beyond_stack_array() {
        let mut s = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
        for i in 0..300 {
            s.push_str(&format!("X-{i}: v{i}\r\n"));
        }
        s.push_str("Content-Length: 3\r\n\r\n");
        let buf = s.as_bytes();
        let h = parse(buf);
        assert_eq!(h.headers.len(), 302);
        assert_eq!(header(&h, buf, 300), (&b"X-299"[..], &b"v299"[..]));
        assert_eq!(h.framing, Framing::Length(3));
        // Still incomplete (and still correct) with many headers before the end arrives.
        assert!(
            parse_request_head(&buf[..buf.len() - 2], &Limits::default())
                .unwrap()
                .is_none()
        );
        let mut bad = buf[..buf.len() - 2].to_vec();
        bad.extend_from_slice(b"X: \x01\r\n\r\n");
        assert_eq!(
            parse_request_head(&bad, &Limits::default()).unwrap_err(),
            ParseError::InvalidHeaderValue
        );
    }

    #[test]
    fn content_length_and_chunked_framing() {
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").framing,
            Framing::None
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n").framing,
            Framing::Length(7)
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,chunked\r\n\r\n").framing,
            Framing::Chunked
        );
    }
}
