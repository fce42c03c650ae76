//! Connection persistence: keep-alive, pipelining, out-of-order completion, HTTP/1.0,
//! many concurrent connections, bodiless responses.
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use ringhttp_tests::*;

both_backends!(
    fn keep_alive_several_requests(backend: BackendKind) {
        let server = start_text(backend, |req| format!("you asked {}", req.url()));
        let mut c = Client::connect(&server);
        for i in 0..5 {
            c.send(get(&format!("/r{i}")));
            let r = c.response();
            assert_eq!(r.status, 200);
            assert_eq!(r.text(), format!("you asked /r{i}"));
            assert_eq!(r.header("connection"), Some("keep-alive"));
            assert_eq!(r.header("content-type"), Some("text/plain"));
            assert!(r.header("date").is_some());
        }
        // The last one asks to close: answered with Connection: close, then EOF.
        c.send("GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let r = c.response();
        assert_eq!(r.text(), "you asked /bye");
        assert!(r.closes());
        c.expect_closed();
    }
);

both_backends!(
    fn twenty_pipelined_requests_in_order(backend: BackendKind) {
        let server = start_text(backend, |req| req.url().into_owned());
        let mut c = Client::connect(&server);
        let all: String = (0..20).map(|i| get(&format!("/p{i}"))).collect();
        c.send(all);
        for (i, r) in c.responses(20).into_iter().enumerate() {
            assert_eq!(r.status, 200);
            assert_eq!(r.text(), format!("/p{i}"));
        }
        c.expect_silence(Duration::from_millis(50));
    }
);

both_backends!(
    fn out_of_order_completion_keeps_request_order(backend: BackendKind) {
        const N: usize = 5;
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let server = start(
            backend,
            ServerBuilder::new().on_request(move |req, res| {
                let url = req.url().into_owned();
                tx.lock().unwrap().send((url, res.into_remote())).unwrap();
            }),
        );
        let mut c = Client::connect(&server);
        let all: String = (0..N).map(|i| get(&format!("/{i}"))).collect();
        c.send(all);
        let mut parked: Vec<_> = (0..N)
            .map(|_| {
                rx.recv_timeout(TIMEOUT)
                    .expect("request reached the handler")
            })
            .collect();
        for (i, (url, _)) in parked.iter().enumerate() {
            assert_eq!(url, &format!("/{i}"));
        }
        // A timer thread finishes them last-first, except the first request.
        let first = parked.remove(0).1;
        let timer = std::thread::spawn(move || {
            for (url, remote) in parked.into_iter().rev() {
                std::thread::sleep(Duration::from_millis(5));
                let body = format!("done {url}").into_bytes();
                assert!(remote.end(200, vec![("X-Url".into(), url)], body));
            }
        });
        timer.join().unwrap();
        // Responses 1..N are finished but must wait behind response 0.
        c.expect_silence(Duration::from_millis(100));
        assert!(first.end(200, vec![], b"done /0".to_vec()));
        for (i, r) in c.responses(N).into_iter().enumerate() {
            assert_eq!(r.text(), format!("done /{i}"));
            if i > 0 {
                assert_eq!(r.header("x-url"), Some(format!("/{i}").as_str()));
            }
        }
    }
);

both_backends!(
    fn http10_without_keep_alive_is_closed(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, mut res| {
                if req.url() == "/stream" {
                    // No length known: HTTP/1.0 gets a close-delimited body.
                    res.write("part1,");
                    res.write("part2");
                    res.end();
                } else {
                    res.end_with("sized");
                }
            }),
        );
        let mut c = Client::connect(&server);
        c.send("GET /sized HTTP/1.0\r\n\r\n");
        let r = c.response();
        assert_eq!((r.status, r.text().as_str()), (200, "sized"));
        assert_eq!(r.header("content-length"), Some("5"));
        assert!(r.closes());
        c.expect_closed();

        let mut c = Client::connect(&server);
        c.send("GET /stream HTTP/1.0\r\n\r\n");
        let raw = c.read_to_close();
        let (r, used) = parse_response(&raw, false, true).unwrap();
        assert_eq!(used, raw.len());
        assert_eq!(r.text(), "part1,part2");
        assert!(r.header("content-length").is_none());
        assert!(r.header("transfer-encoding").is_none());
        assert!(r.closes());
    }
);

both_backends!(
    fn http10_keep_alive_stays_open(backend: BackendKind) {
        let server = start_text(backend, |req| req.url().into_owned());
        let mut c = Client::connect(&server);
        for i in 0..3 {
            c.send(format!(
                "GET /k{i} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            ));
            let r = c.response();
            assert_eq!(r.text(), format!("/k{i}"));
            assert_eq!(r.header("connection"), Some("keep-alive"));
        }
        c.expect_silence(Duration::from_millis(50));
        // Without the header the next one closes.
        c.send("GET /last HTTP/1.0\r\n\r\n");
        assert!(c.response().closes());
        c.expect_closed();
    }
);

both_backends!(
    fn head_204_304_have_no_body(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, mut res| {
                let status = match &*req.url() {
                    "/204" => 204,
                    "/304" => 304,
                    _ => 200,
                };
                res.set_status_code(status);
                res.end_with("this body must not be sent");
            }),
        );
        let mut c = Client::connect(&server);
        // HEAD, 204 and 304, then a GET on the same connection: any stray body bytes would
        // corrupt the framing of the next response.
        c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n");
        let h = c.response_to(true);
        assert_eq!(h.status, 200);
        // As Node: no Content-Length is computed for a HEAD answer's discarded body.
        assert!(h.header("transfer-encoding").is_none());
        c.send(get("/204"));
        let r = c.response();
        assert_eq!((r.status, r.body.len()), (204, 0));
        assert!(r.header("content-length").is_none());
        assert!(r.header("transfer-encoding").is_none());
        c.send(get("/304"));
        let r = c.response();
        assert_eq!((r.status, r.body.len()), (304, 0));
        assert!(r.header("transfer-encoding").is_none());
        c.send(get("/get"));
        let r = c.response();
        assert_eq!(r.text(), "this body must not be sent");
        c.expect_silence(Duration::from_millis(50));
        assert!(c.buf.is_empty());
    }
);

both_backends!(
    fn head_of_streamed_response_has_no_chunks(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|_, mut res| {
                res.write("abc");
                res.end_with("def");
            }),
        );
        let mut c = Client::connect(&server);
        c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
        c.response_to(true);
        c.send(get("/"));
        let r = c.response();
        assert!(r.chunked);
        assert_eq!(r.text(), "abcdef");
    }
);

both_backends!(
    fn two_hundred_concurrent_connections(backend: BackendKind) {
        let server = ServerBuilder::new()
            .shards(2)
            .backend(backend)
            .on_request(|req, mut res| res.end_with(req.url().as_bytes()))
            .listen("127.0.0.1:0")
            .unwrap();
        assert_eq!(server.backend(), expected_backend(backend));
        let addr = server.local_addr().unwrap();
        let served = Arc::new(Mutex::new(0usize));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let served = served.clone();
                std::thread::spawn(move || {
                    // 25 connections per thread, all open at once, 3 requests each.
                    let mut conns: Vec<Client> =
                        (0..25).map(|_| Client::connect_addr(addr)).collect();
                    for round in 0..3 {
                        for (i, c) in conns.iter_mut().enumerate() {
                            c.send(get(&format!("/{t}/{i}/{round}")));
                        }
                        for (i, c) in conns.iter_mut().enumerate() {
                            let r = c.response();
                            assert_eq!(r.text(), format!("/{t}/{i}/{round}"));
                            *served.lock().unwrap() += 1;
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("client thread");
        }
        assert_eq!(*served.lock().unwrap(), 600);
    }
);

both_backends!(
    fn nothing_answered_after_connection_close(backend: BackendKind) {
        let server = start_text(backend, |req| req.url().into_owned());
        let mut c = Client::connect(&server);
        // RFC 9112 9.6: after a request with `Connection: close` no further request on the
        // connection is answered.
        c.send(format!(
            "{}GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n{}",
            get("/first"),
            get("/too-late")
        ));
        assert_eq!(c.response().text(), "/first");
        let r = c.response();
        assert_eq!(r.text(), "/last");
        assert!(r.closes());
        c.expect_closed();
    }
);
