//! The examples as a production deployment runs them (child processes over real sockets):
//! exclusive ports, start-up errors.
use std::process::Command;
use std::time::Duration;

use ringhttp_tests::example::{backend_arg, path, wait_bytes_in, wait_listeners, Example};
use ringhttp_tests::*;

/// The example `name` on `backend` with two shards, then `args`.
fn example(name: &str, backend: BackendKind, args: &[&str]) -> Command {
    let mut cmd = Command::new(path(name));
    cmd.args(["--backend", backend_arg(backend), "--shards", "2"])
        .args(args);
    cmd
}

fn hello(backend: BackendKind, args: &[&str]) -> Command {
    example("hello", backend, args)
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
        let cmd = example(
            "echo",
            backend,
            &[
                "--port",
                "0",
                "--shutdown-grace-ms",
                "2000",
                "--metrics-port",
                "0",
            ],
        );
        let mut ex = Example::spawn(cmd);
        let addr = ex.listening();
        let maddr = ex.metrics_addr();
        // An idle keep-alive connection (one request answered), a request whose head and
        // half its body are in, and one that will never finish.
        let mut idle = Client::connect_addr(addr);
        idle.send(get("/idle"));
        assert_eq!(idle.response().status, 200);
        let mut half = Client::connect_addr(addr);
        let half_req = "POST /half HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello";
        half.send(half_req);
        // Only part of a head: a request in progress too (Node's close() waits for it).
        let mut head_half = Client::connect_addr(addr);
        let head_half_req = "GET /head-half HTTP/1.1\r\n";
        head_half.send(head_half_req);
        let mut stuck = Client::connect_addr(addr);
        let stuck_req = "GET /stuck HTTP/1.1\r\nHost: t\r\n";
        stuck.send(stuck_req);
        // The shards have read the partial requests (not just the kernel).
        let sent = get("/idle").len() + half_req.len() + head_half_req.len() + stuck_req.len();
        wait_bytes_in(maddr, sent as u64);
        let t0 = std::time::Instant::now();
        ex.signal(libc::SIGTERM);
        ex.wait_line("SIGTERM: shutting down", Duration::from_secs(5))
            .expect("shutdown begins");
        // The idle connection is closed; new connections are refused.
        idle.expect_closed();
        wait_listeners(addr.port(), 0);
        assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
        // The half-received request completes and is answered, with Connection: close.
        half.send("world");
        let r = half.response();
        assert_eq!(r.status, 200);
        assert!(r.text().contains("aGVsbG93b3JsZA=="), "{}", r.text()); // "helloworld"
        assert!(r.closes());
        half.expect_closed();
        head_half.send("Host: t\r\n\r\n");
        let r = head_half.response();
        assert_eq!(r.status, 200);
        assert!(r.closes());
        head_half.expect_closed();
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

/// Starts `echo --systemd` as systemd would: the listening socket as fd 3, LISTEN_FDS=1 and
/// LISTEN_PID the server's own pid (set by a shell that then execs the server).
fn socket_activated(
    backend: BackendKind,
    listener: &std::net::TcpListener,
    extra: &[&str],
) -> Example {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let fd = listener.as_raw_fd();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ exec \"$0\" \"$@\"")
        .arg(path("echo"))
        .args([
            "--systemd",
            "--backend",
            backend_arg(backend),
            "--shards",
            "2",
        ])
        .args(extra)
        .env("LISTEN_FDS", "1");
    // SAFETY: between fork and exec only dup2 (async-signal-safe) runs: the listener
    // becomes fd 3 of the child, without close-on-exec, as systemd passes it.
    unsafe {
        cmd.pre_exec(move || {
            if fd == 3 {
                let flags = libc::fcntl(3, libc::F_GETFD);
                libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Example::spawn(cmd)
}

both_backends!(
    fn systemd_socket_activation_of_the_example(backend: BackendKind) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // A connection made before the server starts waits in the socket's backlog.
        let mut early = Client::connect_addr(addr);
        early.send(get("/early"));
        let mut ex = socket_activated(backend, &listener, &[]);
        assert_eq!(ex.listening(), addr);
        assert!(
            ex.log_text().contains("socket activation"),
            "{}",
            ex.log_text()
        );
        assert_eq!(early.response().status, 200);
        let mut c = Client::connect_addr(addr);
        c.send(get("/late"));
        assert_eq!(c.response().status, 200);
        drop(c);
        ex.signal(libc::SIGTERM);
        let st = ex.exit(Duration::from_secs(10)).expect("exits");
        assert!(st.success(), "{}", ex.log_text());
        // The socket is systemd's (ours here): still listening after the server is gone,
        // so the next activation finds the connections that arrived meanwhile.
        let mut waiting = Client::connect_addr(addr);
        waiting.send(get("/next"));
        let mut next = socket_activated(backend, &listener, &[]);
        next.listening();
        assert_eq!(waiting.response().status, 200);
    }
);

#[test]
fn systemd_flag_without_a_socket_is_an_error() {
    let mut cmd = Command::new(path("echo"));
    cmd.arg("--systemd")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID");
    let mut ex = Example::spawn(cmd);
    let st = ex.exit(Duration::from_secs(20)).expect("exits");
    assert_eq!(st.code(), Some(1));
    assert!(
        ex.log_text().contains("no socket passed"),
        "{}",
        ex.log_text()
    );
}

both_backends!(
    fn metrics_port_serves_prometheus_text(backend: BackendKind) {
        let cmd = example("echo", backend, &["--port", "0", "--metrics-port", "0"]);
        let mut ex = Example::spawn(cmd);
        let addr = ex.listening();
        let line = ex
            .wait_line("metrics on http://", Duration::from_secs(5))
            .expect("metrics line");
        let maddr: std::net::SocketAddr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap()
            .parse()
            .unwrap();
        let mut c = Client::connect_addr(addr);
        for i in 0..7 {
            c.send(get(&format!("/{i}")));
            assert_eq!(c.response().status, 200);
        }
        let mut m = Client::connect_addr(maddr);
        m.send(get("/metrics"));
        let r = m.response();
        assert_eq!(r.status, 200);
        let text = r.text();
        let sum = |metric: &str| -> u64 {
            text.lines()
                .filter(|l| l.starts_with(metric))
                .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
                .sum()
        };
        assert_eq!(sum("ringhttp_requests_total{"), 7, "{text}");
        assert_eq!(
            sum("ringhttp_responses_total{shard=\"0\",class=\"2xx\"}")
                + sum("ringhttp_responses_total{shard=\"1\",class=\"2xx\"}"),
            7,
            "{text}"
        );
        assert_eq!(sum("ringhttp_open_connections{"), 1, "{text}");
        let expected = format!(
            "ringhttp_backend_info{{backend=\"{}\"}} 1",
            expected_backend(backend)
        );
        assert!(text.contains(&expected), "{text}");
        ex.signal(libc::SIGINT);
        assert!(
            ex.exit(Duration::from_secs(10)).expect("exits").success(),
            "{}",
            ex.log_text()
        );
    }
);

/// Logs: stderr, no colour when it is not a terminal, the start line names backend and
/// shards; RLIMIT_NOFILE is raised from a low soft limit to the hard one, logged.
#[test]
fn logs_are_plain_stderr_lines_and_nofile_is_raised() {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(path("hello"));
    cmd.args(["--port", "0", "--shards", "2", "--backend", "epoll"]);
    // SAFETY: only getrlimit/setrlimit (async-signal-safe) run between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
            l.rlim_cur = 256.min(l.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
            Ok(())
        });
    }
    let mut ex = Example::spawn(cmd);
    let line = ex
        .wait_line("listening on http://", Duration::from_secs(20))
        .expect("start line");
    assert!(line.contains("(backend epoll, 2 shards)"), "{line}");
    ex.signal(libc::SIGTERM);
    assert!(ex.exit(Duration::from_secs(10)).expect("exits").success());
    let log = ex.log_text();
    assert!(
        !log.contains('\x1b'),
        "colour codes in a non-terminal log: {log:?}"
    );
    let hard = {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into a live local.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) };
        l.rlim_max
    };
    if hard > 256 {
        let want = format!("RLIMIT_NOFILE raised from 256 to the hard limit {hard}");
        assert!(log.contains(&want), "{log}");
    }
    for l in ["shutting down", "shutdown complete"] {
        assert!(log.contains(l), "{log}");
    }
}

both_backends!(
    fn zero_downtime_restart_with_reuse_port(backend: BackendKind) {
        let echo = |port: &str| {
            let cmd = example(
                "echo",
                backend,
                &[
                    "--port",
                    port,
                    "--reuse-port",
                    "--shutdown-grace-ms",
                    "5000",
                    "--metrics-port",
                    "0",
                ],
            );
            Example::spawn(cmd)
        };
        let mut old = echo("0");
        let addr = old.listening();
        let old_metrics = old.metrics_addr();
        // A request the old version is still receiving when it is told to stop.
        let mut slow = Client::connect_addr(addr);
        let req = "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab";
        slow.send(req);
        wait_bytes_in(old_metrics, req.len() as u64);
        let mut new = echo(&addr.port().to_string());
        new.listening();
        wait_listeners(addr.port(), 4);
        old.signal(libc::SIGTERM);
        old.wait_line("shutting down", Duration::from_secs(5))
            .expect("old version drains");
        // The old listeners leave the port at once, while the old version still drains:
        // every new connection is served (by the new one).
        wait_listeners(addr.port(), 2);
        for i in 0..64 {
            let mut c = Client::connect_addr(addr);
            c.send(format!(
                "GET /{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            ));
            assert_eq!(c.response().status, 200, "connection {i}");
        }
        assert!(
            matches!(old.child.try_wait(), Ok(None)),
            "the old version should still be draining"
        );
        // The old version finishes its request and exits 0.
        slow.send("cd");
        let r = slow.response();
        assert_eq!(r.status, 200);
        assert!(r.closes());
        let st = old.exit(Duration::from_secs(10)).expect("old exits");
        assert!(st.success(), "{}", old.log_text());
        let mut c = Client::connect_addr(addr);
        c.send(get("/after"));
        assert_eq!(c.response().status, 200);
    }
);

#[test]
fn a_second_signal_does_not_wait_for_the_drain() {
    let mut cmd = Command::new(path("echo"));
    cmd.args([
        "--port",
        "0",
        "--shards",
        "1",
        "--shutdown-grace-ms",
        "30000",
    ])
    .args(["--metrics-port", "0"]);
    let mut ex = Example::spawn(cmd);
    let addr = ex.listening();
    let maddr = ex.metrics_addr();
    let mut stuck = Client::connect_addr(addr);
    let req = "GET /stuck HTTP/1.1\r\n";
    stuck.send(req);
    wait_bytes_in(maddr, req.len() as u64);
    ex.signal(libc::SIGTERM);
    ex.wait_line("shutting down", Duration::from_secs(5))
        .expect("drain begins");
    ex.signal(libc::SIGINT);
    let st = ex.exit(Duration::from_secs(5)).expect("exits at once");
    assert_eq!(st.code(), Some(1), "{}", ex.log_text());
    assert!(ex.log_text().contains("SIGINT again"), "{}", ex.log_text());
}
