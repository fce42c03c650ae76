//! Responses: panicking handlers, finishing from another thread, streamed (chunked)
//! bodies byte for byte, back-pressure (`write() == false` / 'drain'), server close().
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use ringhttp::Response as Res;
use ringhttp_tests::*;

both_backends!(
    fn panicking_handler_gets_500_and_close(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, mut res| match &*req.url() {
                "/panic" => panic!("handler panics on purpose (test)"),
                "/panic-late" => {
                    res.write("partial");
                    panic!("handler panics after writing (test)");
                }
                url => res.end_with(url.as_bytes()),
            }),
        );
        let mut other = Client::connect(&server);
        other.send(get("/before"));
        assert_eq!(other.response().text(), "/before");

        let mut c = Client::connect(&server);
        // A request pipelined behind the panicking one is never answered.
        c.send(format!("{}{}", get("/panic"), get("/unreached")));
        let r = c.response();
        assert_eq!(r.status, 500);
        assert!(r.closes());
        assert_eq!(r.text(), "Internal Server Error");
        c.expect_closed();

        // Panic after the head went out: the body is cut short and the connection closed.
        let mut c = Client::connect(&server);
        c.send(get("/panic-late"));
        let raw = c.read_to_close();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n7\r\npartial\r\n"), "{text}");

        // The existing connection and new ones are still served.
        other.send(get("/after"));
        assert_eq!(other.response().text(), "/after");
        let mut c = Client::connect(&server);
        c.send(get("/new"));
        assert_eq!(c.response().text(), "/new");
    }
);

both_backends!(
    fn response_finished_from_another_thread(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, res| {
                let url = req.url().into_owned();
                let remote = res.into_remote();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(10));
                    remote.with(|res| {
                        res.set_header("X-Thread", "worker").unwrap();
                        res.write("from ");
                    });
                    std::thread::sleep(Duration::from_millis(10));
                    remote.finish(move |res| res.end_with(format!("worker {url}")));
                });
            }),
        );
        let mut c = Client::connect(&server);
        for i in 0..3 {
            c.send(get(&format!("/w{i}")));
            let r = c.response();
            assert_eq!(r.header("x-thread"), Some("worker"));
            assert!(r.chunked);
            assert_eq!(r.text(), format!("from worker /w{i}"));
        }
    }
);

both_backends!(
    fn streaming_response_exact_bytes(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, mut res| {
                res.set_send_date(false);
                res.set_header("Content-Type", "text/plain").unwrap();
                // Half the writes now, half later from another thread.
                for i in 1..=20usize {
                    assert!(res.write(vec![b'a' + (i % 26) as u8; i * 7]));
                }
                let trailers = req.url() == "/trailers";
                if trailers {
                    res.add_trailers([("X-Sum", "42")]).unwrap();
                }
                let remote = res.into_remote();
                std::thread::spawn(move || {
                    for i in 21..=40usize {
                        remote.with(move |res| {
                            res.write(vec![b'a' + (i % 26) as u8; i * 7]);
                        });
                        std::thread::sleep(Duration::from_micros(500));
                    }
                    remote.finish(|res| res.end());
                });
            }),
        );
        let mut expected = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
            Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
            Transfer-Encoding: chunked\r\n\r\n"
            .to_vec();
        for i in 1..=40usize {
            expected.extend_from_slice(format!("{:x}\r\n", i * 7).as_bytes());
            expected.extend_from_slice(&vec![b'a' + (i % 26) as u8; i * 7]);
            expected.extend_from_slice(b"\r\n");
        }
        let mut c = Client::connect(&server);
        c.send(get("/plain"));
        let r = c.response();
        let mut plain = expected.clone();
        plain.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(
            String::from_utf8_lossy(&r.raw),
            String::from_utf8_lossy(&plain)
        );
        c.send(get("/trailers"));
        let r = c.response();
        expected.extend_from_slice(b"0\r\nX-Sum: 42\r\n\r\n");
        assert_eq!(
            String::from_utf8_lossy(&r.raw),
            String::from_utf8_lossy(&expected)
        );
        c.expect_silence(Duration::from_millis(30));
    }
);

const CHUNK: usize = 64 * 1024;
const TOTAL: usize = 8 << 20;

#[derive(Default)]
struct Pump {
    falses: AtomicUsize,
    drains: AtomicUsize,
    finished: AtomicBool,
}

/// Writes until `write` says stop or everything is written.
fn pump(cell: &Rc<RefCell<Option<Res>>>, sent: &Rc<RefCell<usize>>, stats: &Pump) {
    let mut guard = cell.borrow_mut();
    let Some(res) = guard.as_mut() else { return };
    let chunk = pattern(CHUNK);
    loop {
        if *sent.borrow() >= TOTAL {
            res.end();
            stats.finished.store(true, Ordering::SeqCst);
            guard.take();
            return;
        }
        *sent.borrow_mut() += CHUNK;
        if !res.write(&chunk) {
            stats.falses.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
}

both_backends!(
    fn write_backpressure_and_drain(backend: BackendKind) {
        let stats = Arc::new(Pump::default());
        let s = stats.clone();
        let server = start(
            backend,
            ServerBuilder::new().on_request(move |_, res| {
                let cell = Rc::new(RefCell::new(Some(res)));
                let sent = Rc::new(RefCell::new(0usize));
                let (c2, sent2, s2) = (cell.clone(), sent.clone(), s.clone());
                cell.borrow_mut().as_mut().unwrap().on_drain(move || {
                    s2.drains.fetch_add(1, Ordering::SeqCst);
                    pump(&c2, &sent2, &s2);
                });
                pump(&cell, &sent, &s);
            }),
        );
        let mut c = Client::connect(&server);
        c.send(get("/big"));
        // A slow reader: nothing read until the socket buffers are full and write() says so.
        wait_until("write() returning false", || {
            stats.falses.load(Ordering::SeqCst) >= 1
        });
        assert!(
            !stats.finished.load(Ordering::SeqCst),
            "8 MiB cannot fit in the buffers"
        );
        let r = c.response();
        assert_eq!(r.body.len(), TOTAL);
        let chunk = pattern(CHUNK);
        assert!(r.body.chunks(CHUNK).all(|c| c == chunk));
        assert!(stats.finished.load(Ordering::SeqCst));
        let (falses, drains) = (
            stats.falses.load(Ordering::SeqCst),
            stats.drains.load(Ordering::SeqCst),
        );
        // Every `false` was followed by exactly one 'drain' (the last write ended it).
        assert!(
            drains >= 1 && drains == falses,
            "falses={falses} drains={drains}"
        );
    }
);

both_backends!(
    fn close_with_idle_and_in_flight_connections(backend: BackendKind) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let closed = Arc::new(AtomicBool::new(false));
        let cl = closed.clone();
        let server = start(
            backend,
            ServerBuilder::new()
                .on_request(move |req, mut res| {
                    if req.url() == "/slow" {
                        tx.lock().unwrap().send(res.into_remote()).unwrap();
                    } else {
                        res.end_with("quick");
                    }
                })
                .on_close(move || cl.store(true, Ordering::SeqCst)),
        );
        let addr = server.local_addr().unwrap();
        let mut idle = Client::connect(&server);
        idle.send(get("/"));
        assert_eq!(idle.response().text(), "quick");
        let mut busy = Client::connect(&server);
        busy.send(get("/slow"));
        let remote = rx.recv_timeout(TIMEOUT).expect("in-flight request");

        let t0 = Instant::now();
        server.close();
        idle.expect_closed();
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "idle connection closed at once"
        );
        busy.expect_silence(Duration::from_millis(50));
        assert!(remote.end(200, vec![], b"late".to_vec()));
        let r = busy.response();
        assert_eq!(r.text(), "late");
        assert!(
            r.closes(),
            "in-flight response after close() says Connection: close"
        );
        busy.expect_closed();
        // Our FIN ends the server's lingering close at once (else it waits `linger`).
        drop((idle, busy));

        let server = Arc::new(server);
        let (done_tx, done_rx) = mpsc::channel();
        let s = server.clone();
        std::thread::spawn(move || done_tx.send(s.wait().is_ok()).unwrap());
        assert_eq!(done_rx.recv_timeout(TIMEOUT), Ok(true), "wait() returns");
        assert!(closed.load(Ordering::SeqCst), "'close' fired");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "listener closed"
        );
    }
);
