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
