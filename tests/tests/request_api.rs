//! `IncomingMessage` surface: trailers, addresses, 'aborted', pause()/resume() really
//! stopping the socket, destroy(), HTTP version, and the URL exactly as sent.
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use ringhttp_tests::*;

both_backends!(
    fn trailers_after_end(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, mut res| {
                // Before the end there are none.
                assert!(req.trailers().is_empty());
                let req = Rc::new(req);
                let r = req.clone();
                let body = Rc::new(RefCell::new(Vec::new()));
                let b = body.clone();
                req.on_data(move |d| b.borrow_mut().extend_from_slice(d));
                req.on_end(move || {
                    let t: Vec<String> = r
                        .trailers()
                        .iter()
                        .map(|(n, v)| format!("{n}={}", v.joined()))
                        .collect();
                    let raw: Vec<String> = r
                        .raw_trailers()
                        .iter()
                        .map(|t| {
                            format!(
                                "{}={}",
                                String::from_utf8_lossy(&t.name),
                                String::from_utf8_lossy(&t.value)
                            )
                        })
                        .collect();
                    let body = String::from_utf8_lossy(&body.borrow()).into_owned();
                    res.end_with(format!(
                        "{body}|{}|{}|{}",
                        t.join(","),
                        raw.join(","),
                        r.complete()
                    ));
                });
            }),
        );
        let mut c = Client::connect(&server);
        c.send(
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n\
             3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 42\r\nX-Other: a\r\nx-other: b\r\n\r\n",
        );
        assert_eq!(
            c.response().text(),
            "abcde|x-sum=42,x-other=a, b|X-Sum=42,X-Other=a,x-other=b|true"
        );
        // Without trailers: empty.
        c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
        assert_eq!(c.response().text(), "hi|||true");
    }
);

both_backends!(
    fn remote_and_local_addresses(backend: BackendKind) {
        let server = start_text(backend, |req| {
            format!("{:?} {:?}", req.remote_addr(), req.local_addr())
        });
        let mut c = Client::connect(&server);
        c.send(get("/"));
        let me = c.stream.local_addr().unwrap();
        let them = c.stream.peer_addr().unwrap();
        assert_eq!(them, server.local_addr().unwrap());
        assert_eq!(
            c.response().text(),
            format!("{:?} {:?}", Some(me), Some(them))
        );
    }
);

both_backends!(
    fn aborted_when_the_client_disconnects_mid_body(backend: BackendKind) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let arrived = Arc::new(AtomicUsize::new(0));
        let seen = arrived.clone();
        let server = start(
            backend,
            ServerBuilder::new().on_request(move |req, res| {
                let got = Rc::new(AtomicUsize::new(0));
                let g = got.clone();
                let arrived = arrived.clone();
                req.on_data(move |d| {
                    arrived.fetch_add(d.len(), Ordering::SeqCst);
                    g.fetch_add(d.len(), Ordering::SeqCst);
                });
                let tx = tx.lock().unwrap().clone();
                let req = Rc::new(RefCell::new(Some(req)));
                let res = Rc::new(RefCell::new(Some(res)));
                let (r, r2, res2) = (req.clone(), req.clone(), res.clone());
                let g = got.clone();
                let held = req.borrow();
                let held = held.as_ref().unwrap();
                held.on_aborted(move || {
                    let complete = r.borrow().as_ref().unwrap().complete();
                    // Drops the request (and the cycle through it) and the response.
                    r.borrow_mut().take();
                    res.borrow_mut().take();
                    tx.send((g.load(Ordering::SeqCst), complete)).unwrap();
                });
                held.on_end(move || {
                    if let Some(mut res) = res2.borrow_mut().take() {
                        res.end_with("complete");
                    }
                    r2.borrow_mut().take();
                });
            }),
        );
        let mut c = Client::connect(&server);
        c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789");
        // The ten bytes reached the handler before the close.
        wait_until("ten body bytes", || seen.load(Ordering::SeqCst) == 10);
        drop(c);
        let (got, complete) = rx.recv_timeout(TIMEOUT).expect("'aborted' fired");
        assert_eq!(got, 10);
        assert!(!complete);
        // A complete request never sees 'aborted'.
        let mut c = Client::connect(&server);
        c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
        assert_eq!(c.response().text(), "complete");
        drop(c);
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
    }
);

thread_local! {
    static PAUSED: RefCell<Option<ringhttp::Request>> = const { RefCell::new(None) };
}

both_backends!(
    fn pause_stops_reading_the_socket(backend: BackendKind) {
        const BODY: usize = 32 << 20;
        let delivered = Arc::new(AtomicUsize::new(0));
        let d = delivered.clone();
        let server = start(
            backend,
            ServerBuilder::new().on_request(move |req, mut res| {
                let d1 = d.clone();
                req.on_data(move |chunk| {
                    d1.fetch_add(chunk.len(), Ordering::SeqCst);
                });
                req.pause();
                assert!(req.is_paused());
                let d = d.clone();
                req.on_end(move || {
                    res.end_with(format!("got {}", d.load(Ordering::SeqCst)));
                });
                // Kept on the shard's thread so the test can resume it later.
                PAUSED.with(|p| *p.borrow_mut() = Some(req));
            }),
        );
        let mut c = Client::connect(&server);
        let mut w = c.stream.try_clone().unwrap();
        let written = Arc::new(AtomicUsize::new(0));
        let wr = written.clone();
        let writer = std::thread::spawn(move || {
            w.write_all(
                format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {BODY}\r\n\r\n").as_bytes(),
            )
            .unwrap();
            let chunk = vec![b'z'; 64 << 10];
            for _ in 0..BODY / chunk.len() {
                w.write_all(&chunk).unwrap();
                wr.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        });
        // While paused nothing is delivered and the client's writes block once the
        // socket buffers are full: its progress stops well short of the body.
        std::thread::sleep(Duration::from_millis(400));
        let a = written.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        let b = written.load(Ordering::SeqCst);
        assert_eq!(
            delivered.load(Ordering::SeqCst),
            0,
            "data delivered while paused"
        );
        assert_eq!(a, b, "the server kept reading while paused");
        assert!(b < BODY / 2, "{b} of {BODY} bytes accepted while paused");
        // Resume on the shard: everything arrives.
        server.shards()[0].post(|_| {
            PAUSED.with(|p| {
                let req = p.borrow_mut().take().expect("paused request");
                req.resume();
                assert!(!req.is_paused());
            })
        });
        writer.join().unwrap();
        let deadline = std::time::Instant::now() + TIMEOUT;
        while delivered.load(Ordering::SeqCst) < BODY && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            delivered.load(Ordering::SeqCst),
            BODY,
            "body stalled after resume() (written by the client: {})",
            written.load(Ordering::SeqCst)
        );
        assert_eq!(c.response().text(), format!("got {BODY}"));
    }
);

both_backends!(
    fn destroy_closes_the_connection(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, mut res| {
                if req.url() == "/destroy" {
                    req.destroy();
                }
                // After destroy() nothing goes out.
                res.end_with("ok");
            }),
        );
        let mut c = Client::connect(&server);
        c.send(get("/"));
        assert_eq!(c.response().text(), "ok");
        c.send(get("/destroy"));
        c.expect_closed();
    }
);

both_backends!(
    fn http_version(backend: BackendKind) {
        let server = start_text(backend, |req| {
            format!(
                "{} {}.{} {}",
                req.http_version(),
                req.http_version_major(),
                req.http_version_minor(),
                req.keep_alive()
            )
        });
        let mut c = Client::connect(&server);
        c.send(get("/"));
        assert_eq!(c.response().text(), "1.1 1.1 true");
        let mut c = Client::connect(&server);
        c.send("GET / HTTP/1.0\r\n\r\n");
        let raw = c.read_to_close();
        let (r, _) = parse_response(&raw, false, true).unwrap();
        assert_eq!(r.text(), "1.0 1.0 false");
        assert!(raw.starts_with(b"HTTP/1.1 200 OK\r\n"));
        let mut c = Client::connect(&server);
        c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.response();
        assert_eq!(r.text(), "1.0 1.0 true");
        assert_eq!(r.header("connection"), Some("keep-alive"));
    }
);

both_backends!(
    fn url_exactly_as_sent(backend: BackendKind) {
        let server = start_text(backend, |req| format!("{} {}", req.method(), req.url()));
        let mut c = Client::connect(&server);
        for (method, target) in [
            ("GET", "http://example.com:8080/a/b?c=d&e=%2F"),
            ("OPTIONS", "*"),
            ("GET", "//double//slashes/./../x?"),
            ("GET", "/with%20space?q=a+b&r=%E2%9C%93"),
            ("M-SEARCH", "*"),
        ] {
            c.send(format!("{method} {target} HTTP/1.1\r\nHost: t\r\n\r\n"));
            assert_eq!(c.response().text(), format!("{method} {target}"));
        }
        // A method outside Node's http.METHODS is a 400, as Node's parser answers it.
        c.send("CONNECTLIKE /not-connect HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = c.response();
        assert_eq!(r.status, 400);
        assert!(r.closes());
    }
);
