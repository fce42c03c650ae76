//! A request handler taking its connection over as a raw socket (Node's
//! `req.socket.write()` from a handler, e.g. a hijacked Fastify reply): bytes verbatim,
//! earlier output first, abandoned responses silent, later input as the socket's data.
use std::net::Shutdown;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use ringhttp_tests::*;

both_backends!(
    fn raw_bytes_go_out_verbatim_and_pipelined_requests_become_data(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, mut res| {
                if req.url() != "/raw" {
                    res.end_with("ok");
                    return;
                }
                let sock = Rc::new(req.take_over_socket().expect("open connection"));
                assert!(req.take_over_socket().is_none(), "taken once");
                sock.write(b"HTTP/1.1 200 OK\r\n\r\nraw|");
                let echo = sock.clone();
                sock.on_data(move |d| {
                    echo.write(d);
                });
                let end = sock.clone();
                sock.on_end(move || end.end());
                // The response is abandoned: ending (or dropping) it sends nothing.
                res.end_with("never");
            }),
        );
        let mut c = Client::connect(&server);
        c.send(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(c.response().text(), "ok");
        c.send(b"GET /raw HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
        let want = "HTTP/1.1 200 OK\r\n\r\nraw|GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        let got = c.read_exact_len(want.len());
        assert_eq!(String::from_utf8_lossy(&got), want);
        c.send(b"more");
        assert_eq!(c.read_exact_len(4), b"more");
        c.stream.shutdown(Shutdown::Write).unwrap();
        assert!(
            c.read_to_close().is_empty(),
            "FIN after the echo, nothing else"
        );
    }
);

both_backends!(
    fn a_response_under_way_is_cut_short_then_the_raw_bytes(backend: BackendKind) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let server = start(
            backend,
            ServerBuilder::new().on_request(move |req, mut res| {
                let (a, b) = (log.clone(), log.clone());
                res.on_finish(move || a.lock().unwrap().push("finish"));
                res.on_close(move || b.lock().unwrap().push("close"));
                res.write_head(200, [("X-A", "1")]).unwrap();
                res.write("part");
                let sock = req.take_over_socket().expect("open connection");
                res.write("dropped");
                sock.write("RAW");
                sock.end();
                res.end_with("dropped too");
            }),
        );
        // A head that said `Connection: close` does not cut the raw bytes off either.
        for (i, close) in ["", "Connection: close\r\n"].into_iter().enumerate() {
            let mut c = Client::connect(&server);
            c.send(format!("GET / HTTP/1.1\r\nHost: x\r\n{close}\r\n"));
            let got = String::from_utf8(c.read_to_close()).unwrap();
            assert!(got.starts_with("HTTP/1.1 200 OK\r\nX-A: 1\r\n"), "{got:?}");
            assert!(got.ends_with("\r\n\r\n4\r\npart\r\nRAW"), "{got:?}");
            // 'close' without 'finish' (the response never ended), with the connection's.
            wait_until("the response's close", || {
                seen.lock().unwrap().len() == i + 1
            });
            assert!(seen.lock().unwrap().iter().all(|e| *e == "close"));
        }
    }
);

both_backends!(
    fn a_body_under_way_goes_to_its_request_then_bytes_are_data(backend: BackendKind) {
        let body = Arc::new(Mutex::new(None));
        let got_body = body.clone();
        let server = start(
            backend,
            ServerBuilder::new().on_request(move |req, _res| {
                let sock = Rc::new(req.take_over_socket().expect("open connection"));
                sock.write("X|");
                let echo = sock.clone();
                sock.on_data(move |d| {
                    echo.write(d);
                    echo.end();
                });
                let b = got_body.clone();
                req.read_to_end(move |data| *b.lock().unwrap() = Some(data));
            }),
        );
        let mut c = Client::connect(&server);
        c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n012");
        assert_eq!(c.read_exact_len(2), b"X|");
        c.send(b"3456789extra");
        assert_eq!(String::from_utf8(c.read_to_close()).unwrap(), "extra");
        wait_until("the body", || body.lock().unwrap().is_some());
        assert_eq!(body.lock().unwrap().as_deref(), Some(&b"0123456789"[..]));
    }
);
