//! The keep-alive pool (`client::Agent`): reuse, maxSockets, maxFreeSockets,
//! keepAlive off, and servers that close.

mod common;

use common::{Opts, TestServer};
use ringload::client::{Agent, AgentOptions, Request, Url};
use std::sync::atomic::Ordering;

#[test]
fn sequential_requests_reuse_one_socket() {
    let srv = TestServer::start(Opts::default());
    let agent = Agent::new(AgentOptions::default());
    for _ in 0..50 {
        let r = agent.get(&srv.url()).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"Hello, World!"[..]));
    }
    assert_eq!(agent.sockets_created(), 1);
    assert_eq!(srv.counters.connections.load(Ordering::SeqCst), 1);
    assert_eq!(agent.free_sockets(&format!("127.0.0.1:{}", srv.port)), 1);
}

#[test]
fn max_sockets_is_respected_under_concurrency() {
    let srv = TestServer::start(Opts {
        chunked: true,
        ..Opts::default()
    });
    let agent = Agent::new(AgentOptions {
        max_sockets: 2,
        ..AgentOptions::default()
    });
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..25 {
                    let r = agent.get(&srv.url()).unwrap();
                    assert_eq!(r.body, b"Hello, World!");
                }
            });
        }
    });
    assert!(
        agent.sockets_created() <= 2,
        "created {}",
        agent.sockets_created()
    );
    assert!(srv.counters.max_open.load(Ordering::SeqCst) <= 2);
    assert_eq!(srv.responses(), 200);
    assert_eq!(agent.busy_sockets(&format!("127.0.0.1:{}", srv.port)), 0);
}

#[test]
fn keep_alive_off_and_max_free_zero_open_a_socket_per_request() {
    let srv = TestServer::start(Opts::default());
    for opts in [
        AgentOptions {
            keep_alive: false,
            ..AgentOptions::default()
        },
        AgentOptions {
            max_free_sockets: 0,
            ..AgentOptions::default()
        },
    ] {
        let agent = Agent::new(opts);
        for _ in 0..5 {
            agent.get(&srv.url()).unwrap();
        }
        assert_eq!(agent.sockets_created(), 5);
    }
}

#[test]
fn connection_close_and_dead_idle_sockets_are_not_reused() {
    let srv = TestServer::start(Opts {
        connection_close: true,
        ..Opts::default()
    });
    let agent = Agent::new(AgentOptions::default());
    for _ in 0..5 {
        assert_eq!(agent.get(&srv.url()).unwrap().status, 200);
    }
    assert_eq!(agent.sockets_created(), 5);
    // A server that drops idle connections: the pool notices and reconnects.
    let srv = TestServer::start(Opts {
        close_after: Some(1),
        ..Opts::default()
    });
    let agent = Agent::new(AgentOptions::default());
    for _ in 0..5 {
        assert_eq!(agent.get(&srv.url()).unwrap().status, 200);
        // The server has closed that connection: the pool must notice the dead idle socket.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while srv.counters.open.load(std::sync::atomic::Ordering::SeqCst) != 0 {
            assert!(std::time::Instant::now() < deadline, "server never closed");
            std::thread::yield_now();
        }
    }
    assert_eq!(srv.responses(), 5);
}

#[test]
fn post_with_body_and_headers() {
    let srv = TestServer::start(Opts::default());
    let agent = Agent::new(AgentOptions::default());
    let url = Url::parse(&srv.url()).unwrap();
    let mut req = Request::get("/");
    req.method = "POST".into();
    req.body = b"payload".to_vec();
    req.headers.push(("X-Test".into(), "1".into()));
    let wire = String::from_utf8(req.to_bytes(&url.host_header())).unwrap();
    assert!(wire.contains("Content-Length: 7\r\n") && wire.contains("X-Test: 1\r\n"));
    assert_eq!(agent.request(&url, &req).unwrap().status, 200);
    assert_eq!(agent.request(&url, &req).unwrap().status, 200);
    assert_eq!(agent.sockets_created(), 1);
}
