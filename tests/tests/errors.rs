//! Malformed requests over a real socket: the default 400 (exact bytes), 431 for a large
//! header section, a table of request-smuggling inputs, and valid pipelined requests
//! before a bad one answered first.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ringhttp_tests::*;

/// Node's default 'clientError' answer for `status`.
fn default_error(status: u16) -> Vec<u8> {
    let reason = match status {
        400 => "Bad Request",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => unreachable!("no such case"),
    };
    format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// A server whose handler echoes the body once complete; counts handler calls.
fn server(backend: BackendKind) -> (Server, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = start(
        backend,
        ServerBuilder::new().on_request(move |req, mut res| {
            c.fetch_add(1, Ordering::SeqCst);
            let url = req.url().into_owned();
            req.read_to_end(move |body| {
                res.end_with(format!("{url} {}", String::from_utf8_lossy(&body)));
            });
        }),
    );
    (server, calls)
}

/// Sends `bytes` on a new connection; returns everything received until the server
/// closed.
fn exchange(server: &Server, bytes: &[u8]) -> Vec<u8> {
    let mut c = Client::connect(server);
    c.send(bytes);
    c.read_to_close()
}

both_backends!(
    fn garbage_gets_exact_default_400(backend: BackendKind) {
        let (server, calls) = server(backend);
        let got = exchange(
            &server,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
        );
        assert_eq!(
            got,
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
        );
        let got = exchange(&server, b"hello there\r\n\r\n");
        assert_eq!(
            got,
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
        );
        // Methods outside Node's http.METHODS, as Node's parser: a whole request line, and
        // bytes that can start no method, answered at once (the client sends no more).
        for bytes in [&b"FOO / HTTP/1.1\r\nHost: t\r\n\r\n"[..], b"oooops!"] {
            let got = exchange(&server, bytes);
            assert_eq!(
                got,
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
);

both_backends!(
    fn oversized_header_section_gets_431(backend: BackendKind) {
        let (server, calls) = server(backend);
        let big = format!(
            "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
            "a".repeat(17_000)
        );
        assert_eq!(exchange(&server, big.as_bytes()), default_error(431));
        // Many small headers adding up to more than 16 KiB, never completed.
        let mut many = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
        for i in 0..1500 {
            many.push_str(&format!("X-H{i}: value\r\n"));
        }
        assert_eq!(exchange(&server, many.as_bytes()), default_error(431));
        // Just under the limit is fine.
        let ok = format!(
            "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
            "a".repeat(16_000)
        );
        let mut c = Client::connect(&server);
        c.send(ok);
        assert_eq!(c.response().status, 200);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
);

/// (name, request bytes, status, whether the handler runs before the error is seen).
const SMUGGLING: &[(&str, &str, u16, bool)] = &[
    (
        "CL + TE",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        false,
    ),
    (
        "TE + CL",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        400,
        false,
    ),
    (
        "double CL, different",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        400,
        false,
    ),
    (
        "CL list, different",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 6\r\n\r\nhello!",
        400,
        false,
    ),
    ("CL +5", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello", 400, false),
    ("CL -1", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400, false),
    ("CL hex", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x5\r\n\r\nhello", 400, false),
    ("CL 5 5", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5 5\r\n\r\nhello", 400, false),
    (
        "CL overflow",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        400,
        false,
    ),
    ("bare LF everywhere", "GET / HTTP/1.1\nHost: t\n\n", 400, false),
    ("bare LF in a header", "GET / HTTP/1.1\r\nHost: t\nX: y\r\n\r\n", 400, false),
    ("bare CR", "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400, false),
    ("obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n  folded\r\n\r\n", 400, false),
    ("space before colon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400, false),
    ("NUL in a value", "GET / HTTP/1.1\r\nHost: t\r\nX: a\0b\r\n\r\n", 400, false),
    ("TE gzip", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400, false),
    (
        "TE gzip, chunked",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
        false,
    ),
    (
        "TE chunked twice",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        false,
    ),
    (
        "TE xchunked",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        400,
        false,
    ),
    (
        "TE in HTTP/1.0",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        false,
    ),
    ("missing Host", "GET / HTTP/1.1\r\n\r\n", 400, false),
    ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, false),
    ("HTTP/1.2", "GET / HTTP/1.2\r\nHost: t\r\n\r\n", 505, false),
    ("space in target", "GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", 400, false),
    (
        "chunk size overflow",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
        400,
        true,
    ),
    (
        "chunk size 0x",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
        400,
        true,
    ),
    (
        "chunk data without CRLF",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
        400,
        true,
    ),
    (
        "chunk size with trailing space",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
        400,
        true,
    ),
];

both_backends!(
    fn smuggling_table(backend: BackendKind) {
        let (server, calls) = server(backend);
        let mut failures = Vec::new();
        for &(name, req, status, handler_runs) in SMUGGLING {
            let before = calls.load(Ordering::SeqCst);
            let got = exchange(&server, req.as_bytes());
            let ran = calls.load(Ordering::SeqCst) - before;
            if got != default_error(status) || ran != handler_runs as usize {
                failures.push(format!(
                    "{name}: want {status} (handler runs: {handler_runs}), got {:?} (handler ran {ran})",
                    String::from_utf8_lossy(&got)
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
        assert!(SMUGGLING.len() >= 25);
    }
);

both_backends!(
    fn long_target_and_extensions_and_trailers(backend: BackendKind) {
        let (server, _) = server(backend);
        let long = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "u".repeat(9000));
        assert_eq!(exchange(&server, long.as_bytes()), default_error(414));
        let ext = format!(
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1;e={}\r\na\r\n0\r\n\r\n",
            "x".repeat(17_000)
        );
        assert_eq!(exchange(&server, ext.as_bytes()), default_error(413));
        let trailer = format!(
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: {}\r\n\r\n",
            "t".repeat(17_000)
        );
        assert_eq!(exchange(&server, trailer.as_bytes()), default_error(431));
    }
);

both_backends!(
    fn valid_pipelined_requests_before_a_bad_one_are_answered_first(backend: BackendKind) {
        let (server, calls) = server(backend);
        let mut c = Client::connect(&server);
        c.send(format!(
            "{}POST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc{}\
             POST /bad HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n\
             {}",
            get("/1"),
            get("/3"),
            get("/never")
        ));
        let got = c.read_to_close();
        let mut rest = &got[..];
        for want in ["/1 ", "/2 abc", "/3 "] {
            let (r, used) = parse_response(rest, false, false).expect("a response");
            assert_eq!(r.text(), want);
            assert!(!r.closes());
            rest = &rest[used..];
        }
        assert_eq!(rest, default_error(400));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
);

both_backends!(
    fn body_error_after_head_sent_just_closes(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, mut res| {
                // Streams a response before the body arrives, and keeps reading it.
                res.write("early");
                req.read_to_end(move |_| res.end());
            }),
        );
        let mut c = Client::connect(&server);
        c.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
        while !c.buf.ends_with(b"5\r\nearly\r\n") {
            assert!(c.fill(), "closed early");
        }
        c.send("zz\r\n");
        let got = String::from_utf8_lossy(&c.read_to_close()).into_owned();
        // As Node: no 400 once the response's head went out; the connection just closes.
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
        assert!(got.ends_with("\r\n\r\n5\r\nearly\r\n"), "{got}");
    }
);
