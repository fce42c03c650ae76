//! ringload against an in-process ringhttp server on each backend: a fixed request count
//! is exact and equals what the server's handler counted, with and without pipelining.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::ringload_json;
use ringhttp::{BackendKind, Server, ServerBuilder};

fn n(v: &serde_json::Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not an integer in {v}"))
}

fn errors(v: &serde_json::Value) -> u64 {
    ["connect", "read", "write", "status", "timeout"]
        .iter()
        .map(|k| v["errors"][*k].as_u64().unwrap_or(0))
        .sum()
}

/// A ringhttp server (one shard on `backend`) counting the requests its handler sees.
/// None when that backend cannot run here: the test then says "skipped", or fails under
/// `RINGHTTP_REQUIRE_URING=1` (CI), so io_uring coverage cannot silently drop.
fn counting_server(backend: BackendKind) -> Option<(Server, Arc<AtomicUsize>)> {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let started = ServerBuilder::new()
        .shards(1)
        .backend(backend)
        .on_request(move |_, mut res| {
            c.fetch_add(1, Ordering::SeqCst);
            res.set_header("Content-Type", "text/plain").unwrap();
            res.end_with("Hello, World!");
        })
        .listen("127.0.0.1:0");
    let why = match started {
        Ok(server) if server.backend() == backend => return Some((server, count)),
        Ok(server) => format!("RINGHTTP_BACKEND chose {}", server.backend()),
        Err(e) => e.to_string(),
    };
    let required = std::env::var_os("RINGHTTP_REQUIRE_URING").is_some_and(|v| v == "1");
    if backend == BackendKind::Uring && required {
        panic!("io_uring is required (RINGHTTP_REQUIRE_URING=1) but unavailable: {why}");
    }
    println!("skipped: {backend} unavailable: {why}");
    None
}

fn url(s: &Server) -> String {
    format!("http://{}/", s.local_addr().unwrap())
}

/// `Server::stats()` agrees with ringload exactly: requests, 2xx responses, connections.
fn assert_stats(server: &Server, j: &serde_json::Value, requests: u64, conns: u64) {
    // The last responses are counted when handed to the connection, before ringload has
    // them; connections are counted closed once the shard has seen the client's FIN.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let st = loop {
        let st = server.stats();
        if st.total.open_connections == 0 || std::time::Instant::now() > deadline {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let t = st.total;
    assert_eq!(t.requests, requests, "{st:?} vs {j}");
    assert_eq!(t.responses, [0, requests, 0, 0, 0], "{st:?}");
    assert_eq!(t.accepted, conns, "{st:?}");
    assert_eq!(t.open_connections, 0, "{st:?}");
    assert_eq!(t.client_errors, [0; 6], "{st:?}");
    assert!(
        t.bytes_in >= requests * 16 && t.bytes_out >= requests * 40,
        "{st:?}"
    );
}

fn fixed_count(backend: BackendKind) {
    let Some((server, count)) = counting_server(backend) else {
        return;
    };
    let j = ringload_json(&["-t2", "-c8", "--requests", "5000", &url(&server)]);
    assert_eq!(n(&j, "requests"), 5000, "{j}");
    assert_eq!(errors(&j), 0, "{j}");
    assert_eq!(count.load(Ordering::SeqCst), 5000);
    assert_stats(&server, &j, 5000, 8);
}

fn pipelined(backend: BackendKind) {
    let Some((server, count)) = counting_server(backend) else {
        return;
    };
    let j = ringload_json(&[
        "-t1",
        "-c4",
        "--pipeline",
        "16",
        "--requests",
        "10000",
        &url(&server),
    ]);
    assert_eq!(n(&j, "requests"), 10000, "{j}");
    assert_eq!(errors(&j), 0, "{j}");
    assert_eq!(count.load(Ordering::SeqCst), 10000);
    assert_stats(&server, &j, 10000, 4);
}

#[test]
fn fixed_count_uring() {
    fixed_count(BackendKind::Uring)
}

#[test]
fn fixed_count_epoll() {
    fixed_count(BackendKind::Epoll)
}

#[test]
fn pipelined_uring() {
    pipelined(BackendKind::Uring)
}

#[test]
fn pipelined_epoll() {
    pipelined(BackendKind::Epoll)
}
