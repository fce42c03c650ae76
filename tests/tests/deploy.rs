//! The examples as a production deployment runs them (child processes over real sockets):
//! exclusive ports, start-up errors.
use std::process::Command;
use std::time::Duration;

use ringhttp_tests::example::{backend_arg, path, Example};
use ringhttp_tests::*;

fn hello(backend: BackendKind, args: &[&str]) -> Command {
    let mut cmd = Command::new(path("hello"));
    cmd.args(["--backend", backend_arg(backend), "--shards", "2"])
        .args(args);
    cmd
}

both_backends!(
    fn second_example_on_a_used_port_exits_with_addr_in_use(backend: BackendKind) {
        let mut first = Example::spawn(hello(backend, &["--port", "0"]));
        let addr = first.listening();
        let port = addr.port().to_string();
        for host in ["127.0.0.1", "0.0.0.0"] {
            let mut second = Example::spawn(hello(backend, &["--port", &port, "--host", host]));
            let st = second.exit(Duration::from_secs(20)).expect("second exits");
            assert!(!st.success(), "second server on {host}:{port} started");
            let log = second.log_text();
            assert!(log.contains("Address already in use"), "{log}");
        }
        // Both asking to share: the second starts.
        let mut a = Example::spawn(hello(backend, &["--port", "0", "--reuse-port"]));
        let shared = a.listening().port().to_string();
        let mut b = Example::spawn(hello(backend, &["--port", &shared, "--reuse-port"]));
        b.listening();
        // One that does not ask is still refused.
        let mut c = Example::spawn(hello(backend, &["--port", &shared]));
        let st = c
            .exit(Duration::from_secs(20))
            .expect("exclusive one exits");
        assert!(!st.success());
        assert!(
            c.log_text().contains("Address already in use"),
            "{}",
            c.log_text()
        );
        drop(first);
    }
);

#[test]
fn bad_port_and_zero_shards_are_rejected() {
    let mut cmd = Command::new(path("hello"));
    cmd.env("PORT", "abc");
    let mut ex = Example::spawn(cmd);
    let st = ex.exit(Duration::from_secs(20)).expect("exits");
    assert!(!st.success());
    assert!(
        ex.log_text().contains("PORT=\"abc\" is not a port number"),
        "{}",
        ex.log_text()
    );

    for bad in [["--shards", "0"], ["--port", "70000"]] {
        let mut cmd = Command::new(path("hello"));
        cmd.args(bad);
        let mut ex = Example::spawn(cmd);
        let st = ex.exit(Duration::from_secs(20)).expect("exits");
        assert_eq!(st.code(), Some(2), "{bad:?}: {}", ex.log_text());
        assert!(ex.log_text().contains("invalid value"), "{}", ex.log_text());
    }
}

both_backends!(
    fn sigterm_drains_a_half_received_request_and_exits_zero(backend: BackendKind) {
        let mut cmd = Command::new(path("echo"));
        cmd.args([
            "--backend",
            backend_arg(backend),
            "--shards",
            "2",
            "--port",
            "0",
        ])
        .args(["--shutdown-grace-ms", "2000"]);
        let mut ex = Example::spawn(cmd);
        let addr = ex.listening();
        // An idle keep-alive connection (one request answered), a request whose head and
        // half its body are in, and one that will never finish.
        let mut idle = Client::connect_addr(addr);
        idle.send(get("/idle"));
        assert_eq!(idle.response().status, 200);
        let mut half = Client::connect_addr(addr);
        half.send("POST /half HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
        let mut stuck = Client::connect_addr(addr);
        stuck.send("GET /stuck HTTP/1.1\r\nHost: t\r\n");
        std::thread::sleep(Duration::from_millis(200));
        let t0 = std::time::Instant::now();
        ex.signal(libc::SIGTERM);
        ex.wait_line("SIGTERM: shutting down", Duration::from_secs(5))
            .expect("shutdown begins");
        // The idle connection is closed; new connections are refused.
        idle.expect_closed();
        let refused = (0..100).any(|_| {
            let r = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1));
            if r.is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
            false
        });
        assert!(refused, "new connections still accepted during the drain");
        // The half-received request completes and is answered, with Connection: close.
        half.send("world");
        let r = half.response();
        assert_eq!(r.status, 200);
        assert!(r.text().contains("aGVsbG93b3JsZA=="), "{}", r.text()); // "helloworld"
        assert!(r.closes());
        half.expect_closed();
        // The one that never finishes is cut when the grace period ends; exit 0.
        stuck.expect_closed();
        let st = ex.exit(Duration::from_secs(10)).expect("exits");
        let waited = t0.elapsed();
        assert!(st.success(), "{st:?}: {}", ex.log_text());
        assert!(waited >= Duration::from_millis(1800), "{waited:?}");
        assert!(
            ex.log_text().contains("shutdown complete"),
            "{}",
            ex.log_text()
        );
    }
);
