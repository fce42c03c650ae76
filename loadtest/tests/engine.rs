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

/// A ringhttp server (one shard on `backend`, falling back to epoll where io_uring is
/// unavailable) counting the requests its handler sees.
fn counting_server(backend: BackendKind) -> (Server, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let server = ServerBuilder::new()
        .shards(1)
        .backend(backend)
        .on_request(move |_, mut res| {
            c.fetch_add(1, Ordering::SeqCst);
            res.set_header("Content-Type", "text/plain").unwrap();
            res.end_with("Hello, World!");
        })
        .listen("127.0.0.1:0")
        .or_else(|_| {
            let c = count.clone();
            ServerBuilder::new()
                .shards(1)
                .backend(BackendKind::Epoll)
                .on_request(move |_, mut res| {
                    c.fetch_add(1, Ordering::SeqCst);
                    res.set_header("Content-Type", "text/plain").unwrap();
                    res.end_with("Hello, World!");
                })
                .listen("127.0.0.1:0")
        })
        .expect("server starts");
    (server, count)
}

fn url(s: &Server) -> String {
    format!("http://{}/", s.local_addr().unwrap())
}

fn fixed_count(backend: BackendKind) {
    let (server, count) = counting_server(backend);
    let j = ringload_json(&["-t2", "-c8", "--requests", "5000", &url(&server)]);
    assert_eq!(n(&j, "requests"), 5000, "{j}");
    assert_eq!(errors(&j), 0, "{j}");
    assert_eq!(count.load(Ordering::SeqCst), 5000);
}

fn pipelined(backend: BackendKind) {
    let (server, count) = counting_server(backend);
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
