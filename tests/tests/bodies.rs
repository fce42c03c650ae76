//! Request bodies: Content-Length and chunked (up to 1 MiB), chunk extensions and
//! trailers, a request arriving one byte at a time, `Expect: 100-continue`.
use std::rc::Rc;
use std::time::Duration;

use ringhttp_tests::*;

/// Answers every request with `len=<body length> fnv=<digest> url=<url>`.
fn echo_digest(backend: BackendKind) -> Server {
    start(
        backend,
        ServerBuilder::new().on_request(|req, mut res| {
            let url = req.url().into_owned();
            req.read_to_end(move |body| {
                res.end_with(format!("len={} fnv={:x} url={url}", body.len(), fnv(&body)));
            });
        }),
    )
}

fn expected(body: &[u8], url: &str) -> String {
    format!("len={} fnv={:x} url={url}", body.len(), fnv(body))
}

/// `body` in chunked framing, with chunk sizes cycling through `sizes`.
fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut pos, mut i) = (0, 0);
    while pos < body.len() {
        let n = sizes[i % sizes.len()].min(body.len() - pos);
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&body[pos..pos + n]);
        out.extend_from_slice(b"\r\n");
        pos += n;
        i += 1;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

both_backends!(
    fn content_length_bodies(backend: BackendKind) {
        let server = echo_digest(backend);
        let mut c = Client::connect(&server);
        for size in [1usize, 5, 4096, 70_000, 1 << 20] {
            let body = pattern(size);
            let mut req =
                format!("POST /cl{size} HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n")
                    .into_bytes();
            req.extend_from_slice(&body);
            c.send(req);
            let r = c.response();
            assert_eq!(r.status, 200);
            assert_eq!(r.text(), expected(&body, &format!("/cl{size}")));
        }
        // Content-Length: 0 is a request without a body.
        c.send("POST /zero HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(c.response().text(), expected(b"", "/zero"));
    }
);

both_backends!(
    fn chunked_bodies(backend: BackendKind) {
        let server = echo_digest(backend);
        let mut c = Client::connect(&server);
        for (size, sizes) in [
            (1usize, &[1usize][..]),
            (100, &[7, 1, 30]),
            (70_000, &[16_384, 1000, 3]),
            (1 << 20, &[65_536, 12_345, 1, 100_000]),
        ] {
            let body = pattern(size);
            let mut req =
                format!("POST /ch{size} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .into_bytes();
            req.extend_from_slice(&chunked(&body, sizes));
            c.send(req);
            let r = c.response();
            assert_eq!(r.text(), expected(&body, &format!("/ch{size}")));
        }
    }
);

both_backends!(
    fn unread_body_is_discarded_and_connection_reused(backend: BackendKind) {
        let server = start_text(backend, |req| req.url().into_owned());
        let mut c = Client::connect(&server);
        let mut req =
            b"POST /ignored HTTP/1.1\r\nHost: t\r\nContent-Length: 20000\r\n\r\n".to_vec();
        req.extend_from_slice(&pattern(20_000));
        req.extend_from_slice(get("/next").as_bytes());
        c.send(req);
        assert_eq!(c.response().text(), "/ignored");
        assert_eq!(c.response().text(), "/next");
    }
);

both_backends!(
    fn large_unread_body_closes_instead_of_draining(backend: BackendKind) {
        // Over `max_drain_bytes` (256 KiB by default) of unread body: answer, then close
        // rather than read megabytes nobody wants; the next pipelined request is not served.
        let server = start_text(backend, |req| req.url().into_owned());
        let mut c = Client::connect(&server);
        c.send(b"POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n");
        let chunk = pattern(64 * 1024);
        let mut sent = 0;
        // Send until the server stops reading (close) or 1 MiB went out.
        while sent < 1024 * 1024 {
            if std::io::Write::write_all(&mut c.stream, &chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        let r = c.response();
        assert_eq!(r.text(), "/big");
        c.expect_closed();
    }
);

both_backends!(
    fn chunk_extensions_and_trailers(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, mut res| {
                let req = Rc::new(req);
                let body = Rc::new(std::cell::RefCell::new(Vec::new()));
                let b = body.clone();
                req.on_data(move |d| b.borrow_mut().extend_from_slice(d));
                let r = req.clone();
                req.on_end(move || {
                    let t = r.trailers();
                    let raw: Vec<String> = r
                        .raw_trailers()
                        .iter()
                        .map(|t| String::from_utf8_lossy(&t.name).into_owned())
                        .collect();
                    res.end_with(format!(
                        "body={} checksum={} other={} raw={}",
                        String::from_utf8_lossy(&body.borrow()),
                        t.get("x-checksum").unwrap_or_default(),
                        t.get("x-other").unwrap_or_default(),
                        raw.join(",")
                    ));
                });
            }),
        );
        let mut c = Client::connect(&server);
        c.send(
            "POST /t HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
             5;name=value;flag\r\nhello\r\n\
             6 ; ext=\"quoted; value\"\r\n world\r\n\
             0;last=1\r\nX-Checksum: abc123\r\nX-Other:  spaced value \r\n\r\n",
        );
        let r = c.response();
        assert_eq!(
            r.text(),
            "body=hello world checksum=abc123 other=spaced value raw=X-Checksum,X-Other"
        );
        // The connection is still usable after the trailer section.
        c.send(get("/after"));
        assert_eq!(c.response().status, 200);
    }
);

both_backends!(
    fn request_one_byte_at_a_time(backend: BackendKind) {
        let server = echo_digest(backend);
        let mut c = Client::connect(&server);
        let mut req =
            b"POST /frag HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        req.extend_from_slice(b"3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT: x\r\n\r\n");
        req.extend_from_slice(get("/g").as_bytes());
        for b in &req {
            c.send([*b]);
            std::thread::sleep(Duration::from_micros(300));
        }
        assert_eq!(c.response().text(), expected(b"abcde", "/frag"));
        assert_eq!(c.response().text(), expected(b"", "/g"));
    }
);

both_backends!(
    fn expect_100_continue(backend: BackendKind) {
        let server = echo_digest(backend);
        let mut c = Client::connect(&server);
        c.send("POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n");
        // The interim answer arrives before any body byte is sent.
        let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
        while c.buf.len() < interim.len() {
            assert!(c.fill(), "closed before 100 Continue");
        }
        assert_eq!(&c.buf[..], &interim[..]);
        c.buf.clear();
        c.send("hello world");
        let r = c.response();
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), expected(b"hello world", "/e"));
        // Chunked with Expect, same connection.
        c.send(
            "POST /e2 HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\n\
             Transfer-Encoding: chunked\r\n\r\n",
        );
        let r = c.response();
        assert_eq!(r.status, 100);
        assert_eq!(r.raw, interim);
        c.send("3\r\nabc\r\n0\r\n\r\n");
        assert_eq!(c.response().text(), expected(b"abc", "/e2"));
    }
);

both_backends!(
    fn unknown_expectation_gets_417(backend: BackendKind) {
        let server = echo_digest(backend);
        let mut c = Client::connect(&server);
        c.send("GET /x HTTP/1.1\r\nHost: t\r\nExpect: something-else\r\n\r\n");
        assert_eq!(c.response().status, 417);
    }
);

both_backends!(
    fn request_close_follows_end_and_abort(backend: BackendKind) {
        use std::sync::{Arc, Mutex};
        let events = Arc::new(Mutex::new(Vec::<String>::new()));
        let ev = events.clone();
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let r = requests.clone();
        let server = start(
            backend,
            ServerBuilder::new().on_request(move |req, mut res| {
                r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let url = req.url().into_owned();
                let (a, b, c) = (ev.clone(), ev.clone(), ev.clone());
                let u = url.clone();
                req.on_data(|_| {});
                req.on_end(move || a.lock().unwrap().push(format!("end {u}")));
                let u = url.clone();
                req.on_close(move || b.lock().unwrap().push(format!("close {u}")));
                let u = url.clone();
                req.on_aborted(move || c.lock().unwrap().push(format!("aborted {u}")));
                if url == "/done" {
                    res.end_with("ok");
                } else {
                    // Keep the response open while the body never completes.
                    std::mem::forget(res);
                }
            }),
        );
        let mut c = Client::connect(&server);
        c.send(b"POST /done HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
        assert_eq!(c.response().text(), "ok");
        let mut c = Client::connect(&server);
        c.send(b"POST /cut HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc");
        // The request is under way (its handler ran) before the client goes.
        wait_until("the /cut request", || {
            requests.load(std::sync::atomic::Ordering::SeqCst) == 2
        });
        drop(c);
        wait_until("four events", || events.lock().unwrap().len() >= 4);
        assert_eq!(
            *events.lock().unwrap(),
            ["end /done", "close /done", "aborted /cut", "close /cut"]
        );
    }
);

both_backends!(
    fn pipelined_bodies_from_many_connections_at_once(backend: BackendKind) {
        // Receives from several connections share the io_uring backend's buffers (filled
        // at rising offsets where the kernel consumes them incrementally) and bursts cross
        // buffer ends: every body must come out whole and in its own request.
        let server = echo_digest(backend);
        let mut clients: Vec<Client> = (0..8).map(|_| Client::connect(&server)).collect();
        let mut wanted = Vec::new();
        for (ci, c) in clients.iter_mut().enumerate() {
            let mut burst = Vec::new();
            let mut exp = Vec::new();
            for i in 0..24 {
                let size = (ci * 24 + i) * 389 % 9000 + 1;
                let body = pattern(size + ci);
                let url = format!("/c{ci}r{i}");
                burst.extend_from_slice(
                    format!(
                        "POST {url} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                burst.extend_from_slice(&body);
                exp.push(expected(&body, &url));
            }
            c.send(burst);
            wanted.push(exp);
        }
        for (c, exp) in clients.iter_mut().zip(wanted) {
            for e in exp {
                let r = c.response();
                assert_eq!(r.status, 200);
                assert_eq!(r.text(), e);
            }
        }
    }
);
