//! Response encoding: status line, header lines, chunked framing. Appends to a `Vec<u8>`.

/// Node's `http.STATUS_CODES`, as (code, reason phrase).
pub const STATUS_CODES: &[(u16, &str)] = &[
    (100, "Continue"),
    (101, "Switching Protocols"),
    (102, "Processing"),
    (103, "Early Hints"),
    (200, "OK"),
    (201, "Created"),
    (202, "Accepted"),
    (203, "Non-Authoritative Information"),
    (204, "No Content"),
    (205, "Reset Content"),
    (206, "Partial Content"),
    (207, "Multi-Status"),
    (208, "Already Reported"),
    (226, "IM Used"),
    (300, "Multiple Choices"),
    (301, "Moved Permanently"),
    (302, "Found"),
    (303, "See Other"),
    (304, "Not Modified"),
    (305, "Use Proxy"),
    (307, "Temporary Redirect"),
    (308, "Permanent Redirect"),
    (400, "Bad Request"),
    (401, "Unauthorized"),
    (402, "Payment Required"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (406, "Not Acceptable"),
    (407, "Proxy Authentication Required"),
    (408, "Request Timeout"),
    (409, "Conflict"),
    (410, "Gone"),
    (411, "Length Required"),
    (412, "Precondition Failed"),
    (413, "Payload Too Large"),
    (414, "URI Too Long"),
    (415, "Unsupported Media Type"),
    (416, "Range Not Satisfiable"),
    (417, "Expectation Failed"),
    (418, "I'm a Teapot"),
    (421, "Misdirected Request"),
    (422, "Unprocessable Entity"),
    (423, "Locked"),
    (424, "Failed Dependency"),
    (425, "Too Early"),
    (426, "Upgrade Required"),
    (428, "Precondition Required"),
    (429, "Too Many Requests"),
    (431, "Request Header Fields Too Large"),
    (451, "Unavailable For Legal Reasons"),
    (500, "Internal Server Error"),
    (501, "Not Implemented"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
    (504, "Gateway Timeout"),
    (505, "HTTP Version Not Supported"),
    (506, "Variant Also Negotiates"),
    (507, "Insufficient Storage"),
    (508, "Loop Detected"),
    (509, "Bandwidth Limit Exceeded"),
    (510, "Not Extended"),
    (511, "Network Authentication Required"),
];

/// Node's `http.METHODS`.
pub const METHODS: &[&str] = &[
    "ACL",
    "BIND",
    "CHECKOUT",
    "CONNECT",
    "COPY",
    "DELETE",
    "GET",
    "HEAD",
    "LINK",
    "LOCK",
    "M-SEARCH",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MOVE",
    "NOTIFY",
    "OPTIONS",
    "PATCH",
    "POST",
    "PROPFIND",
    "PROPPATCH",
    "PURGE",
    "PUT",
    "QUERY",
    "REBIND",
    "REPORT",
    "SEARCH",
    "SOURCE",
    "SUBSCRIBE",
    "TRACE",
    "UNBIND",
    "UNLINK",
    "UNLOCK",
    "UNSUBSCRIBE",
];

/// The reason phrase Node uses for `status` ("unknown" for codes it does not know).
pub fn reason_phrase(status: u16) -> &'static str {
    match STATUS_CODES.binary_search_by_key(&status, |&(c, _)| c) {
        Ok(i) => STATUS_CODES[i].1,
        Err(_) => "unknown",
    }
}

/// `HTTP/1.1 <status> <reason>\r\n`. Node always answers as HTTP/1.1.
#[inline]
pub fn status_line(out: &mut Vec<u8>, status: u16, reason: &str) {
    if status == 200 && reason == "OK" {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    out.extend_from_slice(b"HTTP/1.1 ");
    push_u64(out, status as u64);
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `name: value\r\n`. The caller validated both with [`is_token`] / [`is_valid_value`].
#[inline]
pub fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.reserve(name.len() + value.len() + 4);
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Decimal digits of `n`.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// One chunk of a chunked body: `<hex len>\r\n<data>\r\n`. Empty data writes nothing
/// (an empty chunk would end the body).
pub fn chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut n = data.len();
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.reserve(data.len() + 20);
    out.extend_from_slice(&buf[i..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk, trailer fields, and the final CRLF.
pub fn last_chunk<'a>(out: &mut Vec<u8>, trailers: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) {
    out.extend_from_slice(b"0\r\n");
    for (n, v) in trailers {
        header(out, n, v);
    }
    out.extend_from_slice(b"\r\n");
}

/// RFC 9110 token characters (header names, methods).
#[inline]
pub fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

const TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = matches!(b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
            | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z');
        i += 1;
    }
    t
};

/// A non-empty token (Node's `checkIsHttpToken`).
#[inline]
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| TCHAR[b as usize])
}

/// A header value Node would send (`checkInvalidHeaderChar`): HTAB, SP..~, obs-text.
#[inline]
pub fn is_valid_value(s: &[u8]) -> bool {
    s.iter().all(|&b| VALUE[b as usize])
}

const VALUE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i == b'\t' as usize || (i >= 0x20 && i != 0x7f);
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let mut v = Vec::new();
        status_line(&mut v, 200, "OK");
        status_line(&mut v, 404, reason_phrase(404));
        status_line(&mut v, 799, reason_phrase(799));
        assert_eq!(
            v,
            b"HTTP/1.1 200 OK\r\nHTTP/1.1 404 Not Found\r\nHTTP/1.1 799 unknown\r\n"
        );
    }

    #[test]
    fn chunks() {
        let mut v = Vec::new();
        chunk(&mut v, b"Hello, World!");
        chunk(&mut v, b"");
        chunk(&mut v, &[b'x'; 256]);
        last_chunk(&mut v, [(&b"x-foo"[..], &b"bar"[..])]);
        let mut want = b"d\r\nHello, World!\r\n100\r\n".to_vec();
        want.extend_from_slice(&[b'x'; 256]);
        want.extend_from_slice(b"\r\n0\r\nx-foo: bar\r\n\r\n");
        assert_eq!(v, want);
    }

    #[test]
    fn numbers() {
        for n in [0u64, 7, 10, 13, 999, 1 << 40, u64::MAX] {
            let mut v = Vec::new();
            push_u64(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
    }

    #[test]
    fn tokens_and_values() {
        assert!(is_token(b"Content-Type"));
        assert!(!is_token(b"Bad Name"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a:b"));
        assert!(is_valid_value(b"text/plain; charset=utf-8\t\xff"));
        assert!(!is_valid_value(b"a\r\nInjected: 1"));
        assert!(!is_valid_value(b"nul\0"));
    }

    #[test]
    fn status_table_sorted() {
        assert!(STATUS_CODES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
    }
}
