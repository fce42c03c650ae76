//! The `http.Server` surface: closeIdleConnections/closeAllConnections, 'close',
//! 'connection' and connection-close counts, maxHeadersCount, maxRequestsPerSocket, and
//! STATUS_CODES/METHODS against Node's. Expected behaviour checked with Node v20.
use std::collections::HashSet;
use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use ringhttp::{RemoteResponse, METHODS, STATUS_CODES};
use ringhttp_tests::*;

/// A server answering at once, except `/slow`, whose response is handed to the test.
fn parking_server(
    backend: BackendKind,
    b: ServerBuilder,
) -> (Server, mpsc::Receiver<RemoteResponse>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = start(
        backend,
        b.on_request(move |req, mut res| {
            if req.url() == "/slow" {
                tx.lock().unwrap().send(res.into_remote()).unwrap();
            } else {
                res.end_with("quick");
            }
        }),
    );
    (server, rx)
}

/// Whether the server has closed `c` within `d` (EOF or reset, no bytes).
fn closed_within(c: &mut Client, d: Duration) -> bool {
    c.stream.set_read_timeout(Some(d)).unwrap();
    let mut b = [0u8; 64];
    let r = c.stream.read(&mut b);
    c.stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    match r {
        Ok(0) => true,
        Ok(n) => panic!("unexpected bytes {:?}", String::from_utf8_lossy(&b[..n])),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => true,
        Err(_) => false,
    }
}

both_backends!(
    fn close_idle_connections_spares_busy_ones(backend: BackendKind) {
        let (server, rx) = parking_server(backend, ServerBuilder::new());
        let mut idle = Client::connect(&server);
        idle.send(get("/"));
        assert_eq!(idle.response().text(), "quick");
        let mut busy = Client::connect(&server);
        busy.send(get("/slow"));
        let parked = rx
            .recv_timeout(TIMEOUT)
            .expect("request reached the handler");
        // The idle connection's last send completion may still be on its way to the
        // shard: ask again until it is closed.
        let deadline = Instant::now() + TIMEOUT;
        loop {
            server.close_idle_connections();
            if closed_within(&mut idle, Duration::from_millis(20)) {
                break;
            }
            assert!(Instant::now() < deadline, "idle connection not closed");
        }
        // The busy one finishes its response and stays usable.
        assert!(parked.end(200, vec![], b"slow done".to_vec()));
        let r = busy.response();
        assert_eq!(r.text(), "slow done");
        assert!(!r.closes());
        busy.send(get("/again"));
        assert_eq!(busy.response().text(), "quick");
    }
);

both_backends!(
    fn close_all_connections_closes_busy_ones_too(backend: BackendKind) {
        let (server, rx) = parking_server(backend, ServerBuilder::new());
        let mut idle = Client::connect(&server);
        idle.send(get("/"));
        assert_eq!(idle.response().text(), "quick");
        let mut busy = Client::connect(&server);
        busy.send(get("/slow"));
        let parked = rx.recv_timeout(TIMEOUT).unwrap();
        server.close_all_connections();
        idle.expect_closed();
        busy.expect_closed();
        // The parked response has nowhere to go; finishing it is harmless.
        parked.end(200, vec![], b"late".to_vec());
        // The server itself keeps listening.
        let mut c = Client::connect(&server);
        c.send(get("/"));
        assert_eq!(c.response().text(), "quick");
    }
);

both_backends!(
    fn close_event_after_the_last_connection(backend: BackendKind) {
        let (closed_tx, closed_rx) = mpsc::channel();
        let closed_tx = Mutex::new(closed_tx);
        let (server, rx) = parking_server(
            backend,
            ServerBuilder::new().on_close(move || closed_tx.lock().unwrap().send(()).unwrap()),
        );
        let addr = server.local_addr().unwrap();
        let mut busy = Client::connect(&server);
        busy.send(get("/slow"));
        let parked = rx.recv_timeout(TIMEOUT).unwrap();
        server.close();
        // A request is in flight: no 'close' yet.
        assert!(closed_rx.recv_timeout(Duration::from_millis(150)).is_err());
        assert!(parked.end(200, vec![], b"bye".to_vec()));
        let r = busy.response();
        assert_eq!(r.text(), "bye");
        assert!(
            r.closes(),
            "a response after close() says Connection: close"
        );
        busy.expect_closed();
        closed_rx.recv_timeout(TIMEOUT).expect("'close' fired");
        assert!(
            closed_rx.recv_timeout(Duration::from_millis(50)).is_err(),
            "once"
        );
        server.wait().unwrap();
        assert!(
            TcpStream::connect_timeout(&addr, TIMEOUT).is_err(),
            "still accepting after close"
        );
    }
);

both_backends!(
    fn stop_accepting_keeps_busy_connections_alive(backend: BackendKind) {
        // Node v20's `server.close()` is this plus closeIdleConnections(): a connection
        // with a request in flight stays keep-alive, further requests on it reach the
        // handler, and 'close' comes when the client or keepAliveTimeout ends it.
        let (closed_tx, closed_rx) = mpsc::channel();
        let closed_tx = Mutex::new(closed_tx);
        let (server, rx) = parking_server(
            backend,
            ServerBuilder::new()
                .keep_alive_timeout(Duration::from_millis(300))
                .keep_alive_timeout_buffer(Duration::ZERO)
                .on_close(move || closed_tx.lock().unwrap().send(()).unwrap()),
        );
        let addr = server.local_addr().unwrap();
        let mut idle = Client::connect(&server);
        idle.send(get("/"));
        assert_eq!(idle.response().text(), "quick");
        let mut busy = Client::connect(&server);
        busy.send(get("/slow"));
        let parked = rx.recv_timeout(TIMEOUT).unwrap();
        server.stop_accepting();
        server.close_idle_connections();
        idle.expect_closed();
        wait_until("the listener gone", || {
            TcpStream::connect_timeout(&addr, TIMEOUT).is_err()
        });
        assert!(parked.end(200, vec![], b"slow done".to_vec()));
        let r = busy.response();
        assert_eq!(r.text(), "slow done");
        assert_eq!(r.header("connection"), Some("keep-alive"));
        // Pipelined and later requests on it are served, keep-alive as before.
        busy.send(format!("{}{}", get("/a"), get("/b")));
        for r in busy.responses(2) {
            assert_eq!(r.text(), "quick");
            assert!(!r.closes());
        }
        assert!(closed_rx.recv_timeout(Duration::from_millis(100)).is_err());
        busy.send(get("/c"));
        assert_eq!(busy.response().text(), "quick");
        // Idle again: keepAliveTimeout ends it, then the server closes.
        busy.expect_closed();
        closed_rx.recv_timeout(TIMEOUT).expect("'close' fired");
        server.wait().unwrap();
    }
);

both_backends!(
    fn connection_events_once_per_connection(backend: BackendKind) {
        let opened = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(Mutex::new(Vec::new()));
        let (o, c) = (opened.clone(), closed.clone());
        let requests = Arc::new(AtomicUsize::new(0));
        let r = requests.clone();
        let server = start(
            backend,
            ServerBuilder::new()
                .on_connection(move |info| o.lock().unwrap().push(info.id()))
                .on_connection_close(move |info| c.lock().unwrap().push(info.id()))
                .on_request(move |_, mut res| {
                    r.fetch_add(1, Ordering::SeqCst);
                    res.end_with("x")
                }),
        );
        for _ in 0..3 {
            let mut c = Client::connect(&server);
            c.send(format!("{}{}", get("/a"), get("/b")));
            c.responses(2);
            c.send("GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            c.response();
            c.expect_closed();
        }
        // One closed by the client, one by the server.
        let mut c = Client::connect(&server);
        c.send(get("/d"));
        c.response();
        drop(c);
        let mut c = Client::connect(&server);
        c.send(get("/e"));
        c.response();
        server.close_all_connections();
        c.expect_closed();
        wait_until("five connection closes", || {
            closed.lock().unwrap().len() >= 5
        });
        // Anything else the shard had to report has been reported by now.
        shard_barrier(&server);
        let opened = opened.lock().unwrap().clone();
        let closed = closed.lock().unwrap().clone();
        assert_eq!(opened.len(), 5, "{opened:?}");
        assert_eq!(closed.len(), 5, "{closed:?}");
        assert_eq!(opened.iter().collect::<HashSet<_>>().len(), 5, "ids unique");
        assert_eq!(
            opened.iter().collect::<HashSet<_>>(),
            closed.iter().collect::<HashSet<_>>()
        );
        assert_eq!(requests.load(Ordering::SeqCst), 11);
    }
);

both_backends!(
    fn max_headers_count_limits_headers(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new()
                .max_headers_count(3)
                .on_request(|req, mut res| {
                    let h: Vec<String> = req
                        .headers()
                        .iter()
                        .map(|(n, v)| format!("{n}={}", v.joined()))
                        .collect();
                    let raw: Vec<String> = req
                        .raw_headers()
                        .iter()
                        .map(|(n, v)| format!("{n}={v}"))
                        .collect();
                    let d = req.header("d").map(|v| v.into_owned());
                    res.end_with(format!("{}|{}|{d:?}", h.join(","), raw.join(",")));
                }),
        );
        let mut c = Client::connect(&server);
        c.send("GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
        // Node v20 with maxHeadersCount = 3: req.headers {host, a, b}; req.rawHeaders
        // still lists every header as received.
        assert_eq!(
            c.response().text(),
            "host=t,a=1,b=2|Host=t,A=1,B=2,C=3,D=4|None"
        );
    }
);

both_backends!(
    fn max_requests_per_socket(backend: BackendKind) {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let server = start(
            backend,
            ServerBuilder::new()
                .max_requests_per_socket(2)
                .on_request(move |req, mut res| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    res.end_with(format!("x{}", req.url()))
                }),
        );
        // One at a time. Node v20: the first response says `Keep-Alive: timeout=5, max=2`,
        // the second (the last allowed) `Connection: close`.
        let mut c = Client::connect(&server);
        c.send(get("/1"));
        let r = c.response();
        assert_eq!(r.text(), "x/1");
        assert_eq!(r.header("connection"), Some("keep-alive"));
        assert_eq!(r.header("keep-alive"), Some("timeout=5, max=2"));
        c.send(get("/2"));
        let r = c.response();
        assert_eq!(r.text(), "x/2");
        assert!(r.closes());
        assert_eq!(r.header("keep-alive"), None);
        // As Node v20: the socket stays open after that `Connection: close` (until
        // keepAliveTimeout or the client), and further requests get Node's
        // `writeHead(503); end()` without reaching the handler.
        c.send(get("/3"));
        let r = c.response();
        assert_eq!(r.status, 503);
        assert!(r.closes());
        assert!(r.chunked);
        assert_eq!(r.text(), "");
        // A body is read and discarded; the request behind it gets its 503 too.
        c.send(format!(
            "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello{}",
            get("/4")
        ));
        for r in c.responses(2) {
            assert_eq!(r.status, 503);
        }
        c.expect_silence(Duration::from_millis(100));

        // Pipelined: the same, in order.
        let mut c = Client::connect(&server);
        c.send(format!("{}{}{}", get("/1"), get("/2"), get("/3")));
        let rs = c.responses(3);
        assert_eq!(rs[0].text(), "x/1");
        assert!(!rs[0].closes());
        assert_eq!(rs[1].text(), "x/2");
        assert!(rs[1].closes());
        assert_eq!(rs[2].status, 503);
        assert!(rs[2].closes());
        // The handler saw the allowed ones only.
        assert_eq!(seen.load(Ordering::SeqCst), 4);
        // HTTP/1.0 requests do not count (Node's rule).
        let mut c = Client::connect(&server);
        let old = "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        c.send(format!("{old}{old}{old}"));
        for r in c.responses(3) {
            assert_eq!(r.text(), "x/old");
        }
    }
);

both_backends!(
    fn drop_request_listener_sees_each_dropped_request(backend: BackendKind) {
        // Node v20: `server.emit('dropRequest', req, socket)`, then `writeHead(503); end()`.
        let dropped = Arc::new(Mutex::new(Vec::new()));
        let seen = dropped.clone();
        let server = start(
            backend,
            ServerBuilder::new()
                .max_requests_per_socket(1)
                .on_request(|req, mut res| res.end_with(format!("x{}", req.url())))
                .on_drop_request(move |req, info| {
                    let host = req.header("host").unwrap_or_default().into_owned();
                    seen.lock().unwrap().push(format!("{} {host}", req.url()));
                    if req.url() == "/destroy" {
                        info.destroy();
                    }
                }),
        );
        let mut c = Client::connect(&server);
        c.send(format!("{}{}{}", get("/1"), get("/2"), get("/3")));
        let rs = c.responses(3);
        assert_eq!(rs[0].text(), "x/1");
        assert_eq!((rs[1].status, rs[2].status), (503, 503));
        assert_eq!(*dropped.lock().unwrap(), ["/2 t", "/3 t"]);
        // The listener's socket.destroy(): the connection goes, without its 503.
        let mut c = Client::connect(&server);
        c.send(get("/1"));
        assert_eq!(c.response().text(), "x/1");
        c.send(get("/destroy"));
        c.expect_closed();
        assert_eq!(dropped.lock().unwrap().len(), 3);
    }
);

/// Runs `node -e script` and returns its stdout lines; None when node is not installed.
fn node_lines(script: &str) -> Option<Vec<String>> {
    let out = std::process::Command::new("node")
        .args(["-e", script])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn status_codes_match_node() {
    let Some(lines) = node_lines(
        "for (const [k, v] of Object.entries(require('http').STATUS_CODES)) console.log(k + '\\t' + v)",
    ) else {
        eprintln!("skipped: node not installed");
        return;
    };
    let ours: Vec<String> = STATUS_CODES
        .iter()
        .map(|(c, r)| format!("{c}\t{r}"))
        .collect();
    assert_eq!(ours, lines);
}

#[test]
fn methods_match_node() {
    let Some(lines) = node_lines("for (const m of require('http').METHODS) console.log(m)") else {
        eprintln!("skipped: node not installed");
        return;
    };
    let ours: Vec<String> = METHODS.iter().map(|m| m.to_string()).collect();
    assert_eq!(ours, lines);
}
