//! `ServerResponse` surface: header rules (headers sent, invalid characters, lists, Date,
//! writeHead merging), status messages, 'finish'/'close' order, trailers, and a large
//! response to a slow reader with write()/'drain' backpressure. Expected bytes are Node
//! v20's (checked with `node`).
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use ringhttp::HeaderValue;
use ringhttp_tests::*;

fn server(
    backend: BackendKind,
    f: impl Fn(ringhttp::Request, ringhttp::Response) + Send + Sync + 'static,
) -> Server {
    start(backend, ServerBuilder::new().on_request(f))
}

fn one(server: &Server, path: &str) -> Response {
    let mut c = Client::connect(server);
    c.send(get(path));
    c.response()
}

fn head_text(r: &Response) -> String {
    let raw = String::from_utf8_lossy(&r.raw).into_owned();
    raw.split("\r\n\r\n").next().unwrap().to_string()
}

both_backends!(
    fn set_header_after_headers_sent_is_an_error(backend: BackendKind) {
        let s = server(backend, |req, mut res| {
            let mut out = Vec::new();
            if req.url() == "/write" {
                assert!(!res.headers_sent());
                res.write("a;");
                assert!(res.headers_sent());
            } else {
                res.write_head(200, [("X-Head", "1")]).unwrap();
                assert!(res.headers_sent());
            }
            let e = res.set_header("X-Late", "1").map(drop).unwrap_err();
            out.push(format!("{:?}/{}", e.kind(), e.code()));
            let e = res.remove_header("X-Head").map(drop).unwrap_err();
            out.push(format!("{:?}", e.kind()));
            let e = res
                .write_head(201, [("X-Again", "1")])
                .map(drop)
                .unwrap_err();
            out.push(format!("{:?}", e.kind()));
            res.end_with(out.join(","));
        });
        let r = one(&s, "/write");
        assert_eq!(
            r.text(),
            "a;HeadersSent/ERR_HTTP_HEADERS_SENT,HeadersSent,HeadersSent"
        );
        assert_eq!(r.header("x-late"), None);
        let r = one(&s, "/head");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-head"), Some("1"));
        assert_eq!(r.header("x-late"), None);
        assert_eq!(r.header("x-again"), None);
    }
);

both_backends!(
    fn cr_lf_nul_in_headers_are_rejected(backend: BackendKind) {
        let s = server(backend, |_, mut res| {
            let mut kinds = Vec::new();
            let mut note = |r: Result<(), ringhttp::Error>| {
                kinds.push(match r {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("{:?}", e.kind()),
                })
            };
            note(res.set_header("X-A", "a\r\nInjected: 1").map(drop));
            note(res.set_header("X-B", "b\nInjected: 2").map(drop));
            note(res.set_header("X-C", "c\0d").map(drop));
            note(res.set_header("X-D\r\nInjected", "3").map(drop));
            note(res.set_header("X E", "4").map(drop));
            note(res.set_header("", "5").map(drop));
            note(
                res.set_header("X-L", vec!["fine", "bad\r\nInjected: 6"])
                    .map(drop),
            );
            note(res.add_trailers([("X-T", "t\r\nInjected: 7")]).map(drop));
            note(res.add_trailers([("X-T\n", "8")]).map(drop));
            // The first bad writeHead header fails it: nothing fixed, nothing sent.
            note(
                res.write_head(200, [("X-W", "ok"), ("X-V", "v\r\nInjected: 9")])
                    .map(drop),
            );
            note(
                res.write_head_with_message(200, "Bad\r\nInjected: 10", Vec::<(&str, &str)>::new())
                    .map(drop),
            );
            assert!(!res.headers_sent());
            res.set_header("X-Ok", "fine").unwrap();
            res.end_with(kinds.join(","));
        });
        let r = one(&s, "/");
        let bad = "InvalidHeader";
        assert_eq!(r.text(), [bad; 11].join(","));
        let raw = String::from_utf8_lossy(&r.raw).into_owned();
        assert!(!raw.contains("Injected"), "{raw}");
        assert!(!raw.to_ascii_lowercase().contains("x-w"), "{raw}");
        assert_eq!(r.header("x-ok"), Some("fine"));
        assert_eq!(r.reason, "OK");
    }
);

both_backends!(
    fn list_values_are_repeated_lines(backend: BackendKind) {
        let s = server(backend, |_, mut res| {
            res.set_header("Set-Cookie", vec!["a=1", "b=2"]).unwrap();
            res.set_header("X-L", vec!["p".to_string(), "q".to_string()])
                .unwrap();
            assert_eq!(
                res.get_header("x-l"),
                Some(HeaderValue::List(vec!["p".into(), "q".into()]))
            );
            res.end();
        });
        let r = one(&s, "/");
        let head = head_text(&r);
        // As Node: `Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-L: p\r\nX-L: q\r\n`.
        assert!(
            head.contains("\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-L: p\r\nX-L: q\r\n"),
            "{head}"
        );
    }
);

both_backends!(
    fn date_can_be_left_out(backend: BackendKind) {
        let s = server(backend, |req, mut res| {
            match &*req.url() {
                "/remove" => {
                    res.remove_header("Date").unwrap();
                }
                "/senddate" => {
                    assert!(res.send_date());
                    res.set_send_date(false);
                    assert!(!res.send_date());
                }
                _ => {}
            }
            res.end_with("d");
        });
        assert!(one(&s, "/").header("date").is_some());
        for path in ["/remove", "/senddate"] {
            let r = one(&s, path);
            assert_eq!(r.header("date"), None, "{path}: {}", head_text(&r));
            assert_eq!(r.text(), "d");
            assert_eq!(r.header("content-length"), Some("1"));
        }
    }
);

both_backends!(
    fn write_head_with_a_custom_reason(backend: BackendKind) {
        let s = server(backend, |req, mut res| {
            if req.url() == "/set" {
                res.set_status_code(404).set_status_message("Gone Fishing");
                assert_eq!(res.status_message(), "Gone Fishing");
                res.end();
            } else {
                res.write_head_with_message(200, "Everything Fine", [("X-A", "1")])
                    .unwrap();
                assert_eq!(res.status_message(), "Everything Fine");
                res.end();
            }
        });
        let r = one(&s, "/");
        assert!(
            r.raw
                .starts_with(b"HTTP/1.1 200 Everything Fine\r\nX-A: 1\r\n"),
            "{}",
            head_text(&r)
        );
        let r = one(&s, "/set");
        assert!(r.raw.starts_with(b"HTTP/1.1 404 Gone Fishing\r\n"));
    }
);

both_backends!(
    fn header_names_are_lower_cased(backend: BackendKind) {
        let s = server(backend, |_, mut res| {
            res.set_header("X-Foo", "1").unwrap();
            res.set_header("Content-Type", "t").unwrap();
            assert!(res.has_header("x-FOO"));
            let names = res.get_header_names().join(",");
            let all: Vec<String> = res
                .get_headers()
                .into_iter()
                .map(|(n, v)| format!("{n}={}", v.joined()))
                .collect();
            res.end_with(format!("{names};{}", all.join(",")));
        });
        let r = one(&s, "/");
        assert_eq!(r.text(), "x-foo,content-type;x-foo=1,content-type=t");
        // The wire keeps the case given.
        assert!(head_text(&r).contains("\r\nX-Foo: 1\r\nContent-Type: t\r\n"));
    }
);

both_backends!(
    fn write_head_headers_win_over_set_header(backend: BackendKind) {
        let s = server(backend, |_, mut res| {
            res.set_header("X-A", "set").unwrap();
            res.set_header("X-B", "keep").unwrap();
            res.write_head(200, [("x-a", "head")]).unwrap();
            res.end_with("m");
        });
        let r = one(&s, "/");
        let head = head_text(&r);
        // Node v20: `HTTP/1.1 200 OK\r\nx-a: head\r\nX-B: keep\r\nDate: ...`.
        assert!(
            head.starts_with("HTTP/1.1 200 OK\r\nx-a: head\r\nX-B: keep\r\n"),
            "{head}"
        );
        assert!(!head.contains("set"), "{head}");
        assert_eq!(r.text(), "m");
    }
);

both_backends!(
    fn finish_then_close(backend: BackendKind) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let s = server(backend, move |_, mut res| {
            let order = Rc::new(RefCell::new(Vec::new()));
            let (o1, o2) = (order.clone(), order.clone());
            let tx = tx.lock().unwrap().clone();
            res.on_finish(move || o1.borrow_mut().push("finish"));
            res.on_close(move || {
                o2.borrow_mut().push("close");
                tx.send(o2.borrow().join(",")).unwrap();
            });
            res.end_with("o");
        });
        let r = one(&s, "/");
        assert_eq!(r.text(), "o");
        assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), "finish,close");
    }
);

both_backends!(
    fn trailers_only_on_chunked_responses(backend: BackendKind) {
        let s = server(backend, |req, mut res| {
            if req.url() == "/cl" {
                res.set_header("Content-Length", "5").unwrap();
            }
            res.write("hello");
            res.add_trailers([("x-foo", "bar")]).unwrap();
            res.end();
        });
        let mut c = Client::connect(&s);
        c.send(get("/chunked"));
        let r = c.response();
        assert!(r.chunked);
        assert_eq!(r.text(), "hello");
        assert!(
            r.raw
                .ends_with(b"\r\n5\r\nhello\r\n0\r\nx-foo: bar\r\n\r\n"),
            "{:?}",
            String::from_utf8_lossy(&r.raw)
        );
        c.send(get("/cl"));
        let r = c.response();
        assert!(!r.chunked);
        assert!(r.raw.ends_with(b"\r\n\r\nhello"));
        assert!(!String::from_utf8_lossy(&r.raw).contains("x-foo"));
        // Nothing trails the Content-Length body.
        c.expect_silence(Duration::from_millis(50));
    }
);

const BIG: usize = 32 << 20;
const CHUNK: usize = 64 << 10;

/// Chunk `i` of the big body: a window into a fixed pattern that moves with `i`.
fn big_chunk(base: &[u8], i: usize) -> &[u8] {
    let off = i % 251;
    &base[off..off + CHUNK]
}

#[derive(Default)]
struct BigStats {
    written: AtomicUsize,
    falses: AtomicUsize,
    drains: AtomicUsize,
    done: AtomicBool,
}

type Cell = Rc<RefCell<Option<ringhttp::Response>>>;

/// Writes chunks until write() says false; 'drain' calls it again.
fn pump(res: &Cell, next: &Rc<RefCell<usize>>, base: &[u8], st: &BigStats) {
    loop {
        let i = *next.borrow();
        let mut slot = res.borrow_mut();
        let Some(r) = slot.as_mut() else { return };
        if i * CHUNK >= BIG {
            r.end();
            st.done.store(true, Ordering::SeqCst);
            // Breaks the response -> 'drain' listener -> response cycle.
            *slot = None;
            return;
        }
        *next.borrow_mut() += 1;
        let ok = r.write(big_chunk(base, i));
        st.written.fetch_add(CHUNK, Ordering::SeqCst);
        if !ok {
            st.falses.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
}

both_backends!(
    fn large_response_to_a_slow_reader_is_paced_by_drain(backend: BackendKind) {
        let stats = Arc::new(BigStats::default());
        let base: Arc<Vec<u8>> = Arc::new(pattern(CHUNK + 256));
        let (st, b) = (stats.clone(), base.clone());
        let s = server(backend, move |_, mut res| {
            res.set_header("Content-Length", BIG).unwrap();
            let cell: Cell = Rc::new(RefCell::new(None));
            let next = Rc::new(RefCell::new(0usize));
            let (c2, n2, st2, b2) = (cell.clone(), next.clone(), st.clone(), b.clone());
            res.on_drain(move || {
                st2.drains.fetch_add(1, Ordering::SeqCst);
                pump(&c2, &n2, &b2, &st2);
            });
            let c3 = cell.clone();
            res.on_close(move || {
                // Connection gone: drop the response (breaks the 'drain' cycle).
                c3.borrow_mut().take();
            });
            *cell.borrow_mut() = Some(res);
            pump(&cell, &next, &b, &st);
        });
        let mut c = Client::connect(&s);
        c.send(get("/big"));
        // The client does not read: the server must stop at the high-water mark (plus what
        // the socket buffers hold), not queue all 32 MiB.
        wait_until("write() returning false", || {
            stats.falses.load(Ordering::SeqCst) >= 1
        });
        // Not synchronisation: the window in which a server ignoring the mark would overrun.
        std::thread::sleep(Duration::from_millis(300));
        let written = stats.written.load(Ordering::SeqCst);
        assert!(!stats.done.load(Ordering::SeqCst));
        assert!(
            written < 16 << 20,
            "{written} bytes written to a reader that reads nothing"
        );
        // Now read it all, hashing as it arrives.
        let head_end = loop {
            if let Some(p) = c.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            assert!(c.fill(), "closed before the head");
        };
        let head = String::from_utf8_lossy(&c.buf[..head_end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {BIG}\r\n")),
            "{head}"
        );
        let mut got = fnv(b"");
        let mut n = 0usize;
        let absorb = |data: &[u8], got: &mut u64| {
            *got = data
                .iter()
                .fold(*got, |h, &x| (h ^ x as u64).wrapping_mul(0x0100_0000_01b3));
            data.len()
        };
        n += absorb(&c.buf[head_end..], &mut got);
        c.buf.clear();
        while n < BIG {
            assert!(c.fill(), "closed after {n} body bytes");
            n += absorb(&c.buf, &mut got);
            c.buf.clear();
        }
        assert_eq!(n, BIG, "more bytes than Content-Length");
        let mut want = fnv(b"");
        for i in 0..BIG / CHUNK {
            absorb(big_chunk(&base, i), &mut want);
        }
        assert_eq!(got, want, "body corrupted");
        assert!(stats.done.load(Ordering::SeqCst));
        assert!(
            stats.drains.load(Ordering::SeqCst) >= 10,
            "only {} 'drain' events",
            stats.drains.load(Ordering::SeqCst)
        );
        // The connection stays usable; then the client goes away in the middle of the
        // next 32 MiB (a partial send is in flight) and the server still shuts down.
        c.send(get("/big2"));
        assert!(c.read_exact_len(head_end + 100_000).len() == head_end + 100_000);
        drop(c);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            drop(s);
            let _ = tx.send(());
        });
        rx.recv_timeout(TIMEOUT)
            .expect("server did not shut down after the client vanished mid-response");
    }
);

both_backends!(
    fn encoded_headers_send_the_bytes_of_write_head_borrowed(backend: BackendKind) {
        let lines = [
            ("Content-Type", "text/plain"),
            ("Content-Length", "2"),
            ("Server", "p"),
        ];
        let enc = ringhttp::EncodedHeaders::new(lines).unwrap();
        assert_eq!(enc.len(), 3);
        let bad = ringhttp::EncodedHeaders::new([("X-Ok", "1"), ("X-Bad", "a\r\nb")]);
        assert_eq!(bad.unwrap_err().kind(), ringhttp::ErrorKind::InvalidHeader);
        let close = ringhttp::EncodedHeaders::new([("Connection", "close")]).unwrap();
        let s = server(backend, move |req, mut res| {
            match &*req.url() {
                "/borrowed" => drop(res.write_head_borrowed(200, None, &lines).unwrap()),
                "/encoded" => drop(res.write_head_encoded(200, None, &enc).unwrap()),
                // A set_header first: merged into the map, as write_head would.
                "/merged" => {
                    res.set_header("X-First", "1").unwrap();
                    res.write_head_encoded(200, None, &enc).unwrap();
                }
                _ => drop(res.write_head_encoded(404, Some("Gone"), &close).unwrap()),
            }
            // Content-Length 2 from the set: chunked framing is not used, 2 bytes go out.
            res.end_with("ok");
        });
        let (a, b) = (one(&s, "/borrowed"), one(&s, "/encoded"));
        assert_eq!(head_text(&a), head_text(&b));
        assert!(head_text(&b).starts_with(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nServer: p\r\n"
        ));
        assert_eq!(b.text(), "ok");
        let m = one(&s, "/merged");
        assert!(
            head_text(&m).contains("X-First: 1\r\n"),
            "{}",
            head_text(&m)
        );
        assert_eq!(m.text(), "ok");
        let c = one(&s, "/close");
        let head = head_text(&c);
        assert!(
            head.starts_with("HTTP/1.1 404 Gone\r\nConnection: close\r\n"),
            "{head}"
        );
        assert!(!head.contains("keep-alive"), "{head}");
    }
);

both_backends!(
    fn informational_responses_go_before_the_head(backend: BackendKind) {
        let s = server(backend, |_req, mut res| {
            res.write_informational(103, [("Link", "</a.css>; rel=preload")])
                .unwrap();
            res.write_informational(102, [("", ""); 0]).unwrap();
            let bad = res.write_informational(103, [("Li nk", "x")]).unwrap_err();
            let not_1xx = res.write_informational(200, [("A", "b"); 0]).unwrap_err();
            res.end_with(format!("{}|{:?}", bad.code(), not_1xx.kind()));
        });
        let mut c = Client::connect(&s);
        c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let raw = String::from_utf8(c.read_to_close()).unwrap();
        assert!(
            raw.starts_with(
                "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n\
                 HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\n"
            ),
            "{raw}"
        );
        assert!(
            raw.ends_with("\r\n\r\nERR_INVALID_HTTP_TOKEN|Config"),
            "{raw}"
        );
    }
);
