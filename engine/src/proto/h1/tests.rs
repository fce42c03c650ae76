//! Table-driven tests of malformed and borderline requests (each whole and split at every
//! byte boundary), and a property test over random pipelined request streams.
use super::*;

/// One request as the connection would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Msg {
    method: Vec<u8>,
    target: Vec<u8>,
    minor_version: u8,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    framing: Framing,
    keep_alive: bool,
    expect: Expect,
    upgrade: bool,
    is_connect: bool,
    body: Vec<u8>,
    trailers: Vec<Trailer>,
    /// Body (and trailers) complete.
    done: bool,
}

/// What feeding a byte stream produced: the messages, then how it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    msgs: Vec<Msg>,
    error: Option<ParseError>,
    /// Bytes that belong to no finished message (incomplete head, or left unread).
    leftover: usize,
}

/// Parses a head both ways and insists they agree. For long buffers the (slow, in debug
/// builds) reference scanner is consulted at a stride only.
fn parse_checked(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, ParseError> {
    let fast = parse_request_head(buf, limits);
    if buf.len() <= 2048 || buf.len() % 61 == 0 {
        let reference = parse_request_head_reference(buf, limits);
        assert_eq!(
            format!("{fast:?}"),
            format!("{reference:?}"),
            "fast/scanner mismatch on {:?}",
            show(buf)
        );
    }
    fast
}

/// Memo of head parses of input prefixes, by length (valid for one input).
type HeadCache = std::collections::HashMap<usize, Result<Option<RequestHead>, ParseError>>;

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned();
    if b.len() > 200 {
        format!("{s}... ({} bytes)", b.len())
    } else {
        s
    }
}

/// Feeds `input` in pieces ending at `cuts` (then the rest), like a connection would:
/// heads are parsed from the accumulated buffer, bodies decoded from whatever is there.
/// Stops after `max_msgs` messages.
fn drive(input: &[u8], cuts: &[usize], limits: &Limits, max_msgs: usize) -> Outcome {
    drive_cached(input, cuts, limits, max_msgs, &mut HeadCache::new())
}

/// [`drive`] with head parses of the first message memoized (the buffer is then always a
/// prefix of `input`, so its length identifies it).
fn drive_cached(
    input: &[u8],
    cuts: &[usize],
    limits: &Limits,
    max_msgs: usize,
    cache: &mut HeadCache,
) -> Outcome {
    let mut buf: Vec<u8> = Vec::new();
    let mut msgs: Vec<Msg> = Vec::new();
    let mut dec: Option<BodyDecoder> = None;
    let mut prev = 0;
    for end in cuts.iter().copied().chain([input.len()]) {
        buf.extend_from_slice(&input[prev..end]);
        prev = end;
        loop {
            if msgs.len() == max_msgs && dec.is_none() {
                break;
            }
            if let Some(d) = dec.as_mut() {
                let msg = msgs.last_mut().unwrap();
                match d.decode(&buf, &mut |data| msg.body.extend_from_slice(data)) {
                    Ok(n) => {
                        buf.drain(..n);
                    }
                    Err(e) => {
                        return Outcome {
                            msgs,
                            error: Some(e),
                            leftover: 0,
                        }
                    }
                }
                if !d.is_done() {
                    break;
                }
                msg.trailers = d.take_trailers();
                msg.done = true;
                dec = None;
                continue;
            }
            let parsed = if msgs.is_empty() {
                cache
                    .entry(buf.len())
                    .or_insert_with(|| parse_checked(&buf, limits))
                    .clone()
            } else {
                parse_checked(&buf, limits)
            };
            let head = match parsed {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => {
                    return Outcome {
                        msgs,
                        error: Some(e),
                        leftover: 0,
                    }
                }
            };
            msgs.push(Msg {
                method: head.method(&buf).to_vec(),
                target: head.target(&buf).to_vec(),
                minor_version: head.minor_version,
                headers: head
                    .headers
                    .iter()
                    .map(|h| (h.name.of(&buf).to_vec(), h.value.of(&buf).to_vec()))
                    .collect(),
                framing: head.framing,
                keep_alive: head.keep_alive,
                expect: head.expect,
                upgrade: head.upgrade,
                is_connect: head.is_connect,
                body: Vec::new(),
                trailers: Vec::new(),
                done: false,
            });
            buf.drain(..head.len);
            dec = Some(BodyDecoder::new(head.framing, limits));
        }
    }
    let leftover = buf.len() + (input.len() - prev);
    Outcome {
        msgs,
        error: None,
        leftover,
    }
}

/// Expected outcome of one table row.
enum Want {
    /// Rejected with exactly this error.
    Err(ParseError),
    /// One message accepted with this framing and body; `done` says whether the body ended.
    Ok {
        framing: Framing,
        body: &'static [u8],
        done: bool,
        trailers: &'static [(&'static str, &'static str)],
    },
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    want: Want,
    /// Extra check on the accepted message (fields beyond framing/body).
    check: Option<fn(&Msg) -> bool>,
    /// Bytes expected to be left unread after the message.
    leftover: usize,
}

const H: &str = "Host: h\r\n";

fn err(name: &'static str, input: impl Into<Vec<u8>>, e: ParseError) -> Case {
    Case {
        name,
        input: input.into(),
        want: Want::Err(e),
        check: None,
        leftover: 0,
    }
}

fn ok(
    name: &'static str,
    input: impl Into<Vec<u8>>,
    framing: Framing,
    body: &'static [u8],
) -> Case {
    Case {
        name,
        input: input.into(),
        want: Want::Ok {
            framing,
            body,
            done: true,
            trailers: &[],
        },
        check: None,
        leftover: 0,
    }
}

impl Case {
    fn check(mut self, f: fn(&Msg) -> bool) -> Self {
        self.check = Some(f);
        self
    }
    fn trailers(mut self, t: &'static [(&'static str, &'static str)]) -> Self {
        if let Want::Ok { trailers, .. } = &mut self.want {
            *trailers = t;
        }
        self
    }
    fn pending(mut self) -> Self {
        if let Want::Ok { done, .. } = &mut self.want {
            *done = false;
        }
        self
    }
    fn leftover(mut self, n: usize) -> Self {
        self.leftover = n;
        self
    }
}

/// POST with the given extra header lines (each ending CRLF) and raw body bytes.
fn post(headers: &str, body: &str) -> Vec<u8> {
    format!("POST / HTTP/1.1\r\n{H}{headers}\r\n{body}").into_bytes()
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut v = post("Transfer-Encoding: chunked\r\n", "");
    v.extend_from_slice(body);
    v
}

fn get_with(headers: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\n{headers}\r\n").into_bytes()
}

fn cases() -> Vec<Case> {
    use ParseError::*;
    let l = Framing::Length;
    let c = Framing::Chunked;
    let n = Framing::None;
    let mut long_uri = b"GET /".to_vec();
    long_uri.resize(5 + MAX_URI_BYTES, b'a');
    long_uri.extend_from_slice(b" HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut max_uri = b"GET /".to_vec();
    max_uri.resize(4 + MAX_URI_BYTES, b'a');
    max_uri.extend_from_slice(b" HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut huge_head = get_with(H);
    huge_head.truncate(huge_head.len() - 2);
    huge_head.extend_from_slice(b"X: ");
    huge_head.resize(MAX_HEADER_BYTES + 10, b'a');
    huge_head.extend_from_slice(b"\r\n\r\n");
    let mut huge_ext = b"1;a=".to_vec();
    huge_ext.resize(MAX_CHUNK_EXT_BYTES + 2, b'b');
    huge_ext.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
    let mut max_ext = b"1;".to_vec();
    max_ext.resize(MAX_CHUNK_EXT_BYTES + 1, b'b');
    max_ext.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
    let mut huge_trailer = b"0\r\nX: ".to_vec();
    huge_trailer.resize(MAX_HEADER_BYTES + 10, b't');
    huge_trailer.extend_from_slice(b"\r\n\r\n");

    vec![
        // Framing conflicts and transfer codings.
        err("cl_and_te", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "hello"), ContentLengthWithTransferEncoding),
        err("te_and_cl", post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", ""), ContentLengthWithTransferEncoding),
        err("te_gzip_only", post("Transfer-Encoding: gzip\r\n", ""), InvalidTransferEncoding),
        err("te_chunked_then_gzip", post("Transfer-Encoding: chunked, gzip\r\n", ""), InvalidTransferEncoding),
        err("te_chunked_twice", post("Transfer-Encoding: chunked, chunked\r\n", ""), InvalidTransferEncoding),
        err("te_chunked_twice_two_lines", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", ""), InvalidTransferEncoding),
        err("te_gzip_then_chunked", post("Transfer-Encoding: gzip, chunked\r\n", ""), UnsupportedTransferEncoding),
        err("te_unknown_then_chunked_lines", post("Transfer-Encoding: x-custom\r\nTransfer-Encoding: chunked\r\n", ""), UnsupportedTransferEncoding),
        err("te_empty", post("Transfer-Encoding: \r\n", ""), InvalidTransferEncoding),
        err("te_chunked_with_param", post("Transfer-Encoding: chunked;q=1\r\n", ""), InvalidTransferEncoding),
        err("te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", InvalidTransferEncoding),
        // Content-Length syntax.
        err("cl_plus", post("Content-Length: +5\r\n", "hello"), InvalidContentLength),
        err("cl_minus", post("Content-Length: -1\r\n", ""), InvalidContentLength),
        err("cl_underscore", post("Content-Length: 1_0\r\n", ""), InvalidContentLength),
        err("cl_inner_space", post("Content-Length: 1 0\r\n", ""), InvalidContentLength),
        err("cl_hex", post("Content-Length: 0x5\r\n", ""), InvalidContentLength),
        err("cl_empty", post("Content-Length: \r\n", ""), InvalidContentLength),
        err("cl_overflow", post("Content-Length: 18446744073709551616\r\n", ""), InvalidContentLength),
        ok("cl_u64_max", post("Content-Length: 18446744073709551615\r\n", "ab"), l(u64::MAX), b"ab").pending(),
        ok("cl_dup_same", post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), l(5), b"hello"),
        err("cl_dup_different", post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello"), ConflictingContentLength),
        ok("cl_list_same", post("Content-Length: 5, 5\r\n", "hello"), l(5), b"hello"),
        err("cl_list_different", post("Content-Length: 5, 6\r\n", "hello"), ConflictingContentLength),
        err("cl_list_trailing_comma", post("Content-Length: 5,\r\n", "hello"), InvalidContentLength),
        ok("cl_zero_is_none", post("Content-Length: 0\r\n", ""), n, b""),
        ok("cl_stops_at_end", post("Content-Length: 3\r\n", "abcGET"), l(3), b"abc").leftover(3),
        // Line endings.
        err("bare_lf_request_line", "GET / HTTP/1.1\nHost: h\r\n\r\n", InvalidLineEnding),
        err("bare_cr_request_line", "GET / HTTP/1.1\rHost: h\r\n\r\n", InvalidLineEnding),
        err("bare_lf_in_target", "GET /a\nb HTTP/1.1\r\nHost: h\r\n\r\n", InvalidLineEnding),
        err("bare_lf_header", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", InvalidLineEnding),
        err("bare_cr_header_value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", InvalidLineEnding),
        err("bare_lf_after_empty_value", "GET / HTTP/1.1\r\nHost: h\r\nX:\n\r\n", InvalidLineEnding),
        err("bare_lf_after_ows_value", "GET / HTTP/1.1\r\nHost: h\r\nX: a \t\n\r\n", InvalidLineEnding),
        err("bare_lf_empty_line_before", "\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidLineEnding),
        err("bare_lf_final", "GET / HTTP/1.1\r\nHost: h\r\n\n", InvalidLineEnding),
        err("crlf_cr_junk", "GET / HTTP/1.1\r\nHost: h\r\n\rX", InvalidLineEnding),
        err("leading_bare_lf", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidLineEnding),
        err("leading_bare_cr", "\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidLineEnding),
        // Header lines.
        err("obs_fold_space", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", ObsFold),
        err("obs_fold_tab", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", ObsFold),
        err("space_before_colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", InvalidHeaderToken),
        err("name_not_token", "GET / HTTP/1.1\r\nHost: h\r\nX@Y: 1\r\n\r\n", InvalidHeaderToken),
        err("name_empty", "GET / HTTP/1.1\r\nHost: h\r\n: 1\r\n\r\n", InvalidHeaderToken),
        err("line_without_colon", "GET / HTTP/1.1\r\nHost: h\r\nJunk\r\n\r\n", InvalidHeaderToken),
        err("nul_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", InvalidHeaderValue),
        err("ctl_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n", InvalidHeaderValue),
        err("del_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fb\r\n\r\n", InvalidHeaderValue),
        ok("obs_text_in_value", b"GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n".to_vec(), n, b"")
            .check(|m| m.headers[1].1 == b"caf\xc3\xa9"),
        ok("tab_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\tb\r\n\r\n", n, b"").check(|m| m.headers[1].1 == b"a\tb"),
        ok("empty_value", "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\n\r\n", n, b"").check(|m| m.headers[1].1.is_empty()),
        ok("ows_around_value", "GET / HTTP/1.1\r\nHost:\t  h \t\r\nX:  a b  \r\n\r\n", n, b"")
            .check(|m| m.headers[0].1 == b"h" && m.headers[1].1 == b"a b"),
        // Request line.
        err("method_not_token", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidMethod),
        err("method_leading_space", " GET / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidMethod),
        // Only Node's http.METHODS, case-sensitive, as llhttp.
        err("method_unknown", "FOO / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidMethod),
        err("method_lower_case", "get / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidMethod),
        err("method_known_prefix_only", "GE / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidMethod),
        err("method_known_then_more", "GETX / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidMethod),
        err("method_no_known_prefix", "oooops!", InvalidMethod),
        ok("method_m_search", "M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n", n, b""),
        ok("method_propfind", "PROPFIND / HTTP/1.1\r\nHost: h\r\n\r\n", n, b""),
        err("target_with_space", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", InvalidVersion),
        err("target_empty", "GET  HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
        err("target_double_space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
        err("target_with_tab", "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
        err("target_with_del", "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget),
        err("http_2_0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", UnsupportedVersion),
        err("http_1_2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", UnsupportedVersion),
        err("http_0_9_version", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", UnsupportedVersion),
        err("version_garbage", "GET / HTXP/1.1\r\nHost: h\r\n\r\n", InvalidVersion),
        err("version_lowercase", "GET / http/1.1\r\nHost: h\r\n\r\n", InvalidVersion),
        err("version_trailing_space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", InvalidVersion),
        err("version_missing", "GET /\r\nHost: h\r\n\r\n", InvalidVersion),
        err("uri_too_long", long_uri, UriTooLong),
        ok("uri_at_limit", max_uri, n, b""),
        err("header_section_too_large", huge_head, HeaderOverflow),
        // Host.
        err("missing_host", "GET / HTTP/1.1\r\n\r\n", InvalidHost),
        err("two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", InvalidHost),
        ok("http10_without_host", "GET / HTTP/1.0\r\n\r\n", n, b"").check(|m| m.minor_version == 0 && !m.keep_alive),
        // Accepted request forms.
        ok("absolute_form", "GET http://h/p?q HTTP/1.1\r\nHost: h\r\n\r\n", n, b"").check(|m| m.target == b"http://h/p?q"),
        ok("asterisk_form", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", n, b"").check(|m| m.target == b"*"),
        ok("connect_authority", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", n, b"")
            .check(|m| m.is_connect && m.target == b"h:443"),
        ok("stray_crlf_before", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", n, b"").check(|m| m.method == b"GET"),
        ok("pipelined_leaves_rest", "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n", n, b"").leftover(17),
        ok("expect_continue", post("Expect: 100-Continue\r\nContent-Length: 1\r\n", "x"), l(1), b"x")
            .check(|m| m.expect == Expect::Continue),
        // Chunked bodies.
        ok("te_leading_comma", post("Transfer-Encoding: ,chunked\r\n", "0\r\n\r\n"), c, b""),
        ok("te_case_insensitive", post("Transfer-Encoding: ChUnKeD\r\n", "1\r\na\r\n0\r\n\r\n"), c, b"a"),
        ok("chunked_ext_trailers", chunked(b"5;a=1;b=\"x\\\"y\"\r\nhello\r\n3 ;z\r\nabc\r\n0;last\r\nX-T: 1\r\nY-T:  two \r\n\r\n"), c, b"helloabc")
            .trailers(&[("X-T", "1"), ("Y-T", "two")]),
        ok("chunk_size_upper_hex", chunked(b"A\r\n0123456789\r\n0\r\n\r\n"), c, b"0123456789"),
        ok("chunk_size_leading_zeros_16", chunked(b"0000000000000001\r\nz\r\n0\r\n\r\n"), c, b"z"),
        ok("chunked_stops_at_end", chunked(b"0\r\n\r\nGET"), c, b"").leftover(3),
        err("chunk_size_0x", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), InvalidChunkSize),
        err("chunk_size_underscore", chunked(b"5_0\r\n"), InvalidChunkSize),
        err("chunk_size_17_digits", chunked(b"00000000000000005\r\nhello\r\n0\r\n\r\n"), InvalidChunkSize),
        err("chunk_size_overflow", chunked(b"10000000000000000\r\n"), InvalidChunkSize),
        err("chunk_size_negative", chunked(b"-5\r\n"), InvalidChunkSize),
        err("chunk_size_leading_space", chunked(b" 5\r\n"), InvalidChunkSize),
        err("chunk_size_trailing_space", chunked(b"5 \r\nhello\r\n0\r\n\r\n"), InvalidChunkSize),
        err("chunk_size_empty", chunked(b"\r\n"), InvalidChunkSize),
        err("chunk_size_bare_lf", chunked(b"5\nhello\r\n0\r\n\r\n"), InvalidLineEnding),
        err("chunk_size_bare_cr", chunked(b"5\rhello\r\n0\r\n\r\n"), InvalidLineEnding),
        err("chunk_ext_bare_lf", chunked(b"5;a\nhello\r\n0\r\n\r\n"), InvalidLineEnding),
        err("chunk_data_no_crlf", chunked(b"5\r\nhelloX\r\n0\r\n\r\n"), InvalidChunk),
        err("chunk_data_bare_lf", chunked(b"5\r\nhello\n0\r\n\r\n"), InvalidChunk),
        err("chunk_data_too_long", chunked(b"3\r\nhello\r\n0\r\n\r\n"), InvalidChunk),
        err("chunk_ext_bad_char", chunked(b"5;a@b\r\nhello\r\n0\r\n\r\n"), InvalidChunk),
        err("chunk_ext_empty_name", chunked(b"5;\r\nhello\r\n0\r\n\r\n"), InvalidChunk),
        err("chunk_ext_unterminated_quote", chunked(b"5;a=\"b\r\nhello\r\n0\r\n\r\n"), InvalidChunk),
        err("chunk_ext_over_16k", chunked(&huge_ext), ChunkExtensionsOverflow),
        ok("chunk_ext_at_16k", chunked(&max_ext), c, b"x"),
        err("trailer_bare_lf", chunked(b"0\r\nX: y\n\r\n"), InvalidLineEnding),
        err("trailer_bare_cr", chunked(b"0\r\nX: y\rz\r\n\r\n"), InvalidLineEnding),
        err("trailer_final_bare_lf", chunked(b"0\r\nX: y\r\n\n"), InvalidLineEnding),
        err("trailer_obs_fold", chunked(b"0\r\nX: y\r\n z\r\n\r\n"), ObsFold),
        err("trailer_space_before_colon", chunked(b"0\r\nX : y\r\n\r\n"), InvalidHeaderToken),
        err("trailer_nul_value", chunked(b"0\r\nX: a\0\r\n\r\n"), InvalidHeaderValue),
        err("trailer_too_large", chunked(&huge_trailer), TrailerOverflow),
    ]
}

fn check_case(case: &Case, limits: &Limits) {
    let mut cache = HeadCache::new();
    let whole = drive_cached(&case.input, &[], limits, 1, &mut cache);
    match &case.want {
        Want::Err(e) => {
            assert_eq!(whole.error, Some(*e), "{}: {:?}", case.name, whole);
        }
        Want::Ok {
            framing,
            body,
            done,
            trailers,
        } => {
            assert_eq!(whole.error, None, "{}", case.name);
            assert_eq!(whole.msgs.len(), 1, "{}: {:?}", case.name, whole);
            let m = &whole.msgs[0];
            assert_eq!(m.framing, *framing, "{}", case.name);
            assert_eq!(m.body, *body, "{}", case.name);
            assert_eq!(m.done, *done, "{}", case.name);
            let got: Vec<(&[u8], &[u8])> = m
                .trailers
                .iter()
                .map(|t| (&t.name[..], &t.value[..]))
                .collect();
            let want: Vec<(&[u8], &[u8])> = trailers
                .iter()
                .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
                .collect();
            assert_eq!(got, want, "{}", case.name);
            assert_eq!(whole.leftover, case.leftover, "{}", case.name);
            if let Some(f) = case.check {
                assert!(f(m), "{}: extra check failed on {m:?}", case.name);
            }
        }
    }
    for k in 0..=case.input.len() {
        let split = drive_cached(&case.input, &[k], limits, 1, &mut cache);
        assert_eq!(split, whole, "{}: split at {k}", case.name);
    }
}

#[test]
fn table_has_enough_cases() {
    assert!(cases().len() >= 60, "{}", cases().len());
}

#[test]
fn table_whole_and_split_everywhere() {
    let limits = Limits::default();
    for case in cases() {
        let t = std::time::Instant::now();
        check_case(&case, &limits);
        if t.elapsed().as_millis() > 100 {
            eprintln!("TIME {} {:?}", case.name, t.elapsed());
        }
    }
}

/// The same rows under tiny limits: the bounds themselves must not depend on splitting.
#[test]
fn table_under_small_limits_is_split_independent() {
    let limits = Limits {
        max_header_size: 40,
        max_uri_len: 8,
        max_chunk_ext_size: 4,
        max_trailer_size: 10,
    };
    for case in cases() {
        let mut cache = HeadCache::new();
        let whole = drive_cached(&case.input, &[], &limits, 1, &mut cache);
        for k in 0..=case.input.len() {
            assert_eq!(
                drive_cached(&case.input, &[k], &limits, 1, &mut cache),
                whole,
                "{}: split at {k}",
                case.name
            );
        }
    }
}

/// Small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64)]
    }
    fn token(&mut self, len: usize) -> String {
        const T: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
        (0..len)
            .map(|_| T[self.below(T.len() as u64)] as char)
            .collect()
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// One random valid request: its bytes and the message it must parse to.
fn random_request(rng: &mut Rng) -> (Vec<u8>, Msg) {
    let mut out = Vec::new();
    for _ in 0..rng.below(3) {
        out.extend_from_slice(b"\r\n");
    }
    let method = rng
        .pick(&["GET", "POST", "PUT", "DELETE", "PATCH", "M-SEARCH"])
        .to_string();
    let target = format!(
        "/{}?{}",
        {
            let n = rng.below(12);
            rng.token(n)
        },
        {
            let n = rng.below(5);
            rng.token(n)
        }
    );
    out.extend_from_slice(format!("{method} {target} HTTP/1.1\r\n").as_bytes());
    let mut headers = vec![(b"Host".to_vec(), b"example".to_vec())];
    for _ in 0..rng.below(40) {
        let name = format!("X-{}", {
            let n = 1 + rng.below(10);
            rng.token(n)
        });
        let value = format!("v-{}", {
            let n = rng.below(20);
            rng.token(n)
        });
        headers.push((name.into_bytes(), value.into_bytes()));
    }
    let body = {
        let n = rng.below(300);
        rng.bytes(n)
    };
    let framing = match rng.below(3) {
        0 if body.is_empty() => Framing::None,
        0 | 1 => {
            headers.push((
                b"Content-Length".to_vec(),
                body.len().to_string().into_bytes(),
            ));
            if body.is_empty() {
                Framing::None
            } else {
                Framing::Length(body.len() as u64)
            }
        }
        _ => {
            headers.push((b"Transfer-Encoding".to_vec(), b"chunked".to_vec()));
            Framing::Chunked
        }
    };
    let ows = ["", " ", "\t", "  "];
    for (name, value) in &headers {
        out.extend_from_slice(name);
        out.push(b':');
        out.extend_from_slice(rng.pick(&ows).as_bytes());
        out.extend_from_slice(value);
        out.extend_from_slice(rng.pick(&ows).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if let Framing::Length(_) = framing {
        out.extend_from_slice(&body);
    }
    let mut trailers = Vec::new();
    if framing == Framing::Chunked {
        let mut rest = &body[..];
        while !rest.is_empty() {
            let n = (1 + rng.below(64)).min(rest.len());
            out.extend_from_slice(format!("{n:x}").as_bytes());
            if rng.below(3) == 0 {
                out.extend_from_slice(format!(";{}=\"{}\"", rng.token(3), rng.token(4)).as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&rest[..n]);
            out.extend_from_slice(b"\r\n");
            rest = &rest[n..];
        }
        out.extend_from_slice(b"0\r\n");
        for _ in 0..rng.below(3) {
            let t = Trailer {
                name: format!("T-{}", rng.token(4)).into_bytes(),
                value: rng.token(6).into_bytes(),
            };
            out.extend_from_slice(&t.name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(&t.value);
            out.extend_from_slice(b"\r\n");
            trailers.push(t);
        }
        out.extend_from_slice(b"\r\n");
    }
    let msg = Msg {
        method: method.clone().into_bytes(),
        target: target.into_bytes(),
        minor_version: 1,
        headers,
        framing,
        keep_alive: true,
        expect: Expect::None,
        upgrade: false,
        is_connect: false,
        body,
        trailers,
        done: true,
    };
    (out, msg)
}

#[test]
fn property_any_split_yields_same_requests() {
    let limits = Limits::default();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for round in 0..300 {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        for _ in 0..1 + rng.below(5) {
            let (bytes, msg) = random_request(&mut rng);
            stream.extend_from_slice(&bytes);
            want.push(msg);
        }
        let expected = Outcome {
            msgs: want,
            error: None,
            leftover: 0,
        };
        assert_eq!(
            drive(&stream, &[], &limits, usize::MAX),
            expected,
            "round {round}"
        );
        // Random pieces, including empty ones and single bytes.
        for _ in 0..8 {
            let mut cuts: Vec<usize> = (0..rng.below(12))
                .map(|_| rng.below(stream.len() as u64 + 1))
                .collect();
            cuts.sort_unstable();
            assert_eq!(
                drive(&stream, &cuts, &limits, usize::MAX),
                expected,
                "round {round} cuts {cuts:?}"
            );
        }
        // Byte at a time, once in a while.
        if round % 30 == 0 {
            let cuts: Vec<usize> = (1..stream.len()).collect();
            assert_eq!(
                drive(&stream, &cuts, &limits, usize::MAX),
                expected,
                "round {round} bytewise"
            );
        }
    }
}
