//! The load generator against an in-test std server: exact counts, pipelining,
//! chunked bodies, abrupt closes, fixed request counts, rate, JSON schema.

mod common;

use common::{ringload_json, Opts, TestServer};

fn n(v: &serde_json::Value, path: &[&str]) -> u64 {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("{path:?} is not an integer in {v}"))
}

#[test]
fn fixed_request_count_is_exact_and_matches_server() {
    let srv = TestServer::start(Opts::default());
    let j = ringload_json(&["-t2", "-c10", "--requests", "12345", &srv.url()]);
    assert_eq!(n(&j, &["requests"]), 12345);
    assert_eq!(srv.responses(), 12345);
    assert_eq!(n(&j, &["errors", "read"]) + n(&j, &["errors", "status"]), 0);
}

#[test]
fn pipelined_counts_match_server() {
    let srv = TestServer::start(Opts::default());
    let j = ringload_json(&[
        "-t1",
        "-c4",
        "--pipeline",
        "16",
        "--requests",
        "20000",
        &srv.url(),
    ]);
    assert_eq!(n(&j, &["requests"]), 20000);
    assert_eq!(srv.responses(), 20000);
    assert_eq!(n(&j, &["bytes"]), 20000 * 52);
}

#[test]
fn chunked_responses_are_counted_once() {
    let srv = TestServer::start(Opts {
        chunked: true,
        ..Opts::default()
    });
    let j = ringload_json(&[
        "-t1",
        "-c3",
        "--pipeline",
        "4",
        "--requests",
        "3001",
        &srv.url(),
    ]);
    assert_eq!(n(&j, &["requests"]), 3001);
    assert_eq!(srv.responses(), 3001);
}

#[test]
fn duration_run_never_counts_more_than_the_server_sent() {
    let srv = TestServer::start(Opts::default());
    let j = ringload_json(&["-t2", "-c8", "-d", "700ms", &srv.url()]);
    let got = n(&j, &["requests"]);
    let sent = srv.responses();
    assert!(got > 100, "too few responses: {got}");
    // Responses in flight when the run stops are sent but never read: at most one per connection.
    assert!(
        got <= sent && sent <= got + 8,
        "client {got}, server {sent}"
    );
}

#[test]
fn server_closing_mid_run_counts_errors_and_continues() {
    let srv = TestServer::start(Opts {
        close_after: Some(10),
        ..Opts::default()
    });
    let j = ringload_json(&["-t1", "-c4", "--pipeline", "4", "-d", "1s", &srv.url()]);
    let got = n(&j, &["requests"]);
    assert!(
        n(&j, &["errors", "read"]) > 0,
        "lost pipelined requests must count: {j}"
    );
    let conns = srv
        .counters
        .connections
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        conns > 20,
        "connections should be replaced repeatedly, got {conns}"
    );
    assert!(
        got >= (conns - 4) * 10 / 2,
        "the run must go on: {got} responses on {conns} connections"
    );
    assert!(got <= srv.responses());
}

#[test]
fn connection_close_responses_reconnect_without_errors() {
    let srv = TestServer::start(Opts {
        connection_close: true,
        ..Opts::default()
    });
    let j = ringload_json(&["-t1", "-c2", "--requests", "300", &srv.url()]);
    assert_eq!(n(&j, &["requests"]), 300);
    assert_eq!(srv.responses(), 300);
    assert_eq!(n(&j, &["errors", "read"]), 0);
}

#[test]
fn rate_is_held_within_five_percent() {
    let srv = TestServer::start(Opts::default());
    let j = ringload_json(&["-t1", "-c10", "--rate", "2000", "-d", "2s", &srv.url()]);
    let rps = j["requests_per_sec"].as_f64().unwrap();
    assert!((rps - 2000.0).abs() < 100.0, "rate {rps}");
}

#[test]
fn poll_backend_counts_match_too() {
    let srv = TestServer::start(Opts::default());
    let j = ringload_json(&[
        "-t2",
        "-c6",
        "--pipeline",
        "3",
        "--backend",
        "poll",
        "--requests",
        "5000",
        &srv.url(),
    ]);
    assert_eq!(j["backend"], "poll");
    assert_eq!(n(&j, &["requests"]), 5000);
    assert_eq!(srv.responses(), 5000);
}

#[test]
fn json_schema() {
    let srv = TestServer::start(Opts::default());
    let j = ringload_json(&[
        "-t1",
        "-c2",
        "--requests",
        "500",
        "-m",
        "POST",
        "--body",
        "abc",
        &srv.url(),
    ]);
    for key in ["requests", "bytes"] {
        assert!(j[key].is_u64(), "{key}");
    }
    for key in [
        "duration_s",
        "requests_per_sec",
        "bytes_per_sec",
        "cpu_s",
        "cpu_us_per_request",
    ] {
        assert!(j[key].is_f64(), "{key}");
    }
    for key in ["p50", "p90", "p99", "p99_9", "max", "min"] {
        assert!(j["latency_us"][key].is_u64(), "latency_us.{key}");
    }
    let p = |k: &str| n(&j, &["latency_us", k]);
    assert!(
        p("p50") <= p("p90")
            && p("p90") <= p("p99")
            && p("p99") <= p("p99_9")
            && p("p99_9") <= p("max")
    );
    for key in ["connect", "read", "write", "timeout", "status"] {
        assert!(j["errors"][key].is_u64(), "errors.{key}");
    }
    assert_eq!(j["backend"], "io_uring");
}

#[test]
fn connect_errors_are_counted() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let j = ringload_json(&["-t1", "-c2", "-d", "300ms", &url]);
    assert_eq!(n(&j, &["requests"]), 0);
    assert!(n(&j, &["errors", "connect"]) >= 2);
}
