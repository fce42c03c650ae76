//! `Server::stats()`: per-shard counters summed on read, exact against what the clients
//! sent and received, on both backends.
use std::io::Read;
use std::time::{Duration, Instant};

use ringhttp::{ClientErrorKind, Stats, TimeoutKind};
use ringhttp_tests::*;

fn settle(server: &Server, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let st = server.stats();
        if done(&st) || Instant::now() > deadline {
            return st;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

both_backends!(
    fn counters_match_the_traffic_exactly(backend: BackendKind) {
        let server = ServerBuilder::new()
            .shards(2)
            .backend(backend)
            .headers_timeout(Duration::from_millis(300))
            .request_timeout(Duration::from_millis(300))
            .on_request(|req, mut res| {
                let status = req.url().trim_start_matches('/').parse().unwrap_or(200);
                res.set_status_code(status);
                res.end_with("body");
            })
            .listen("127.0.0.1:0")
            .expect("server starts");
        let addr = server.local_addr().unwrap();
        let mut sent = 0u64;
        let mut received = 0u64;
        // 20 connections, on both shards: 2xx, 3xx, 4xx, 5xx answers.
        for i in 0..20 {
            let mut c = Client::connect_addr(addr);
            let reqs = [get("/200"), get("/302"), get("/404"), get("/503")].concat();
            let last = format!(
                "GET /20{} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                i % 2
            );
            c.send(&reqs);
            c.send(&last);
            sent += (reqs.len() + last.len()) as u64;
            let mut all = Vec::new();
            c.stream.read_to_end(&mut all).unwrap();
            assert!(all.ends_with(b"body"));
            received += all.len() as u64;
        }
        // A malformed request (400) and one whose head never completes (408).
        let mut bad = Client::connect_addr(addr);
        let req = "GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n";
        bad.send(req);
        sent += req.len() as u64;
        let mut all = Vec::new();
        bad.stream.read_to_end(&mut all).unwrap();
        assert!(all.starts_with(b"HTTP/1.1 400"));
        received += all.len() as u64;
        // Closed on our side too: the server's lingering close ends at our FIN.
        drop(bad);
        let mut slow = Client::connect_addr(addr);
        let req = "GET / HTTP/1.1\r\n";
        slow.send(req);
        sent += req.len() as u64;
        let mut all = Vec::new();
        slow.stream.read_to_end(&mut all).unwrap();
        assert!(
            all.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&all)
        );
        received += all.len() as u64;
        drop(slow);

        let st = settle(&server, |s| s.total.open_connections == 0);
        let t = st.total;
        assert_eq!(st.backend, expected_backend(backend));
        assert_eq!(st.shards.len(), 2);
        assert_eq!(t.accepted, 22, "{st:?}");
        assert_eq!(t.open_connections, 0, "{st:?}");
        assert_eq!(t.requests, 100, "{st:?}");
        assert_eq!(t.responses, [0, 40, 20, 22, 20], "{st:?}");
        assert_eq!(t.client_errors_of(ClientErrorKind::BadRequest), 1, "{st:?}");
        assert_eq!(t.client_errors.iter().sum::<u64>(), 1, "{st:?}");
        assert_eq!(t.timeouts_of(TimeoutKind::Headers), 1, "{st:?}");
        assert_eq!(t.timeouts.iter().sum::<u64>(), 1, "{st:?}");
        assert_eq!(t.bytes_in, sent, "{st:?}");
        assert_eq!(t.bytes_out, received, "{st:?}");
        // The total is the sum of the shards, and both shards served.
        assert_eq!(st.shards.iter().map(|s| s.requests).sum::<u64>(), 100);
        assert_eq!(st.shards.iter().map(|s| s.bytes_in).sum::<u64>(), sent);
        // Prometheus text: one series per shard.
        let text = st.prometheus();
        assert!(
            text.contains("# TYPE ringhttp_requests_total counter"),
            "{text}"
        );
        assert!(
            text.contains("ringhttp_requests_total{shard=\"1\"}"),
            "{text}"
        );
        assert!(text.contains(&format!(
            "ringhttp_backend_info{{backend=\"{}\"}} 1",
            st.backend
        )));
    }
);

both_backends!(
    fn informational_responses_are_counted_as_1xx(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_request(|req, mut res| {
                if req.url() == "/hints" {
                    res.write_informational(103, [("Link", "</a.css>; rel=preload")])
                        .unwrap();
                }
                req.read_to_end(move |_| res.end_with("ok"));
            }),
        );
        let mut c = Client::connect(&server);
        // `100 Continue` sent by the shard before the listener runs, then the final 200.
        c.send("POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        let mut head = [0u8; 25];
        c.stream.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 100 Continue\r\n\r\n");
        c.send("hi");
        assert_eq!(c.response().status, 200);
        c.send(get("/hints"));
        let r = c.response();
        assert_eq!(r.status, 103);
        assert_eq!(c.response().status, 200);
        let st = settle(&server, |s| s.total.responses[1] == 2);
        assert_eq!(st.total.responses, [2, 2, 0, 0, 0], "{st:?}");
    }
);

both_backends!(
    fn linger_timeouts_are_counted(backend: BackendKind) {
        // The server's close after `Connection: close` waits `linger` for the client's
        // FIN; a client that never sends it is cut off then, and that is counted.
        let server = start(
            backend,
            ServerBuilder::new()
                .config(|c| c.linger = Duration::from_millis(100))
                .on_request(|_, mut res| res.end()),
        );
        let mut c = Client::connect(&server);
        c.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        assert_eq!(c.response().status, 200);
        let st = settle(&server, |s| s.total.open_connections == 0);
        assert_eq!(st.total.open_connections, 0, "{st:?}");
        assert_eq!(st.total.timeouts_of(TimeoutKind::Linger), 1, "{st:?}");
        assert_eq!(st.total.timeouts.iter().sum::<u64>(), 1, "{st:?}");
        drop(c);
    }
);

both_backends!(
    fn keep_alive_timeouts_are_counted(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new()
                .keep_alive_timeout(Duration::from_millis(100))
                .keep_alive_timeout_buffer(Duration::ZERO)
                .on_request(|_, mut res| res.end()),
        );
        let mut c = Client::connect(&server);
        c.send(get("/"));
        assert_eq!(c.response().status, 200);
        c.expect_closed();
        let st = settle(&server, |s| s.total.open_connections == 0);
        assert_eq!(st.total.timeouts_of(TimeoutKind::KeepAlive), 1, "{st:?}");
        assert_eq!(st.total.open_connections, 0);
    }
);
