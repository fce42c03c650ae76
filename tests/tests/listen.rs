//! Where a server listens: port 0, IPv6, dual-stack, unix sockets, inherited fds (and
//! systemd socket activation), several shards on one port, a busy port.
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ringhttp::{ErrorKind, ListenAddr};
use ringhttp_tests::*;

/// A server (one shard) answering `url@thread` listening on `addr`.
fn serve(backend: BackendKind, addr: ListenAddr) -> Server {
    let server = ServerBuilder::new()
        .shards(1)
        .backend(backend)
        .on_request(|req, mut res| res.end_with(format!("hi {}", req.url())))
        .listen(addr)
        .expect("server starts");
    assert_eq!(server.backend(), expected_backend(backend));
    server
}

/// One request on a fresh connection to `addr`; the response's body.
fn fetch(addr: SocketAddr, path: &str) -> String {
    let mut c = Client::connect_addr(addr);
    c.send(get(path));
    let r = c.response();
    assert_eq!(r.status, 200);
    r.text()
}

fn have_ipv6() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

both_backends!(
    fn port_zero_reports_the_real_port(backend: BackendKind) {
        let server = serve(backend, "127.0.0.1:0".try_into().unwrap());
        let addr = server.local_addr().expect("tcp address");
        assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
        assert_ne!(addr.port(), 0);
        assert_eq!(
            server.listen_addr(),
            &ListenAddr::Tcp("127.0.0.1:0".parse().unwrap())
        );
        assert_eq!(fetch(addr, "/zero"), "hi /zero");
    }
);

both_backends!(
    fn ipv6_loopback(backend: BackendKind) {
        if !have_ipv6() {
            eprintln!("skipped: no IPv6 on this machine");
            return;
        }
        let server = serve(backend, "[::1]:0".try_into().unwrap());
        let addr = server.local_addr().unwrap();
        assert!(addr.is_ipv6() && addr.ip().is_loopback(), "{addr}");
        assert_ne!(addr.port(), 0);
        assert_eq!(fetch(addr, "/six"), "hi /six");
    }
);

both_backends!(
    fn dual_stack_any_accepts_ipv4(backend: BackendKind) {
        if !have_ipv6() {
            eprintln!("skipped: no IPv6 on this machine");
            return;
        }
        let server = serve(backend, ("::", 0).try_into().unwrap());
        let addr = server.local_addr().unwrap();
        assert!(addr.is_ipv6() && addr.ip().is_unspecified(), "{addr}");
        let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()));
        assert_eq!(fetch(v4, "/four"), "hi /four");
        let v6: SocketAddr = format!("[::1]:{}", addr.port()).parse().unwrap();
        assert_eq!(fetch(v6, "/six"), "hi /six");
    }
);

/// Reads one `Connection: close` exchange over a unix stream.
fn unix_exchange(path: &std::path::Path, request: &str) -> Vec<Response> {
    let mut s = UnixStream::connect(path).expect("connect unix socket");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .expect("read until the server closes");
    let mut out = Vec::new();
    let mut rest = &buf[..];
    while !rest.is_empty() {
        let (r, used) = parse_response(rest, false, true).expect("complete response");
        out.push(r);
        rest = &rest[used..];
    }
    out
}

both_backends!(
    fn unix_socket_path(backend: BackendKind) {
        let path = std::env::temp_dir().join(format!(
            "ringhttp-listen-{}-{backend}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let server = serve(backend, ListenAddr::Unix(path.clone()));
        assert_eq!(server.local_addr(), None);
        assert_eq!(server.listen_addr(), &ListenAddr::Unix(path.clone()));
        // Keep-alive works over the unix socket too: two requests, then close.
        let rs = unix_exchange(
            &path,
            "GET /u1 HTTP/1.1\r\nHost: t\r\n\r\nGET /u2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].text(), "hi /u1");
        assert_eq!(rs[0].header("connection"), Some("keep-alive"));
        assert_eq!(rs[1].text(), "hi /u2");
        assert!(rs[1].closes());
        // "unix:" prefix form parses to the same thing.
        assert_eq!(
            ListenAddr::parse(&format!("unix:{}", path.display())).unwrap(),
            ListenAddr::Unix(path.clone())
        );
        drop(server);
        let _ = std::fs::remove_file(&path);
    }
);

both_backends!(
    fn inherited_listening_fd(backend: BackendKind) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = serve(backend, ListenAddr::Fd(l.as_raw_fd()));
        assert_eq!(server.local_addr(), Some(l.local_addr().unwrap()));
        assert_eq!(
            fetch(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), "/fd"),
            "hi /fd"
        );
        // The server works on its own copies: closing it leaves ours open.
        drop(server);
        assert!(l.local_addr().is_ok());
        assert_eq!(ListenAddr::parse("fd:7").unwrap(), ListenAddr::Fd(7));
        assert_eq!(
            ListenAddr::parse("fd:x").unwrap_err().kind(),
            ErrorKind::Config
        );
    }
);

/// Socket activation: `from_systemd()` honours `LISTEN_PID`/`LISTEN_FDS` and the server
/// serves on fd 3. Runs in a child process (it sets variables and takes over fd 3).
#[test]
fn systemd_socket_activation() {
    if std::env::var_os("ITEST_SYSTEMD_CHILD").is_some() {
        // Nothing set (the parent removed them): not activated.
        assert_eq!(ListenAddr::from_systemd(), None);
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        // SAFETY: dup2 onto fd 3 of this child process, which runs only this test; whatever
        // fd 3 was is replaced by a copy of the listener, as systemd would pass it.
        let r = unsafe { libc::dup2(l.as_raw_fd(), 3) };
        assert_eq!(r, 3);
        let me = std::process::id().to_string();
        // Another process's activation is not ours.
        std::env::set_var("LISTEN_FDS", "1");
        std::env::set_var("LISTEN_PID", "1");
        assert_eq!(ListenAddr::from_systemd(), None);
        std::env::set_var("LISTEN_PID", &me);
        std::env::set_var("LISTEN_FDS", "0");
        assert_eq!(ListenAddr::from_systemd(), None);
        std::env::set_var("LISTEN_FDS", "junk");
        assert_eq!(ListenAddr::from_systemd(), None);
        std::env::set_var("LISTEN_FDS", "1");
        let la = ListenAddr::from_systemd().expect("activated");
        assert_eq!(la, ListenAddr::Fd(3));
        for backend in backends() {
            let server = serve(backend, la.clone());
            assert_eq!(server.local_addr(), Some(addr));
            assert_eq!(fetch(addr, "/sd"), "hi /sd");
        }
        println!("CHILD-OK");
        return;
    }
    let (ok, out) = rerun_self(
        "systemd_socket_activation",
        &[("ITEST_SYSTEMD_CHILD", "1")],
        Duration::from_secs(20),
    );
    assert!(ok && out.contains("CHILD-OK"), "{out}");
}

both_backends!(
    fn two_shards_share_one_port(backend: BackendKind) {
        let threads = Arc::new(Mutex::new(HashSet::new()));
        let t = threads.clone();
        let server = ServerBuilder::new()
            .shards(2)
            .backend(backend)
            .on_request(move |req, mut res| {
                let name = std::thread::current().name().unwrap_or("?").to_string();
                t.lock().unwrap().insert(name);
                res.end_with(req.url().into_owned());
            })
            .listen("127.0.0.1:0")
            .expect("server starts");
        assert_eq!(server.shard_count(), 2);
        let addr = server.local_addr().unwrap();
        // 64 connections at once (SO_REUSEPORT spreads them over both listeners), two
        // requests each.
        let mut clients: Vec<Client> = (0..64).map(|_| Client::connect_addr(addr)).collect();
        for (i, c) in clients.iter_mut().enumerate() {
            c.send(format!(
                "{}{}",
                get(&format!("/{i}/a")),
                get(&format!("/{i}/b"))
            ));
        }
        for (i, c) in clients.iter_mut().enumerate() {
            assert_eq!(c.response().text(), format!("/{i}/a"));
            assert_eq!(c.response().text(), format!("/{i}/b"));
        }
        let seen = threads.lock().unwrap().clone();
        assert_eq!(
            seen,
            HashSet::from(["ringhttp-shard-0".into(), "ringhttp-shard-1".into()]),
            "both shards should have served connections"
        );
    }
);

both_backends!(
    fn busy_port_is_a_clear_error(backend: BackendKind) {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = match ServerBuilder::new()
            .shards(2)
            .backend(backend)
            .on_request(|_, mut res| res.end())
            .listen(addr)
        {
            Ok(_) => panic!("listening on a busy port succeeded"),
            Err(e) => e,
        };
        assert_eq!(err.kind(), ErrorKind::Listen);
        let msg = err.to_string();
        assert!(msg.contains(&addr.to_string()), "{msg}");
        assert!(msg.to_lowercase().contains("in use"), "{msg}");
        // The port is still the other listener's.
        assert_eq!(taken.local_addr().unwrap(), addr);
    }
);

/// A one-shard server on `addr`, sharing the port if `reuse`.
fn try_serve(
    backend: BackendKind,
    addr: SocketAddr,
    shards: usize,
    reuse: bool,
) -> Result<Server, ringhttp::Error> {
    ServerBuilder::new()
        .shards(shards)
        .reuse_port(reuse)
        .backend(backend)
        .on_request(|_, mut res| res.end_with("x"))
        .listen(addr)
}

both_backends!(
    fn second_server_on_a_used_port_is_addr_in_use(backend: BackendKind) {
        let first = try_serve(backend, "127.0.0.1:0".parse().unwrap(), 2, false).unwrap();
        let port = first.local_addr().unwrap().port();
        for host in ["127.0.0.1", "0.0.0.0"] {
            let addr: SocketAddr = format!("{host}:{port}").parse().unwrap();
            // Neither an exclusive nor a sharing listen joins an exclusive server's group
            // from a socket that binds without SO_REUSEPORT first.
            let err = match try_serve(backend, addr, 1, false) {
                Ok(_) => panic!("second exclusive listen on {addr} succeeded"),
                Err(e) => e,
            };
            assert_eq!(err.kind(), ErrorKind::Listen);
            assert!(err.to_string().contains("Address already in use"), "{err}");
        }
        // The first server still serves everything.
        let addr = first.local_addr().unwrap();
        for _ in 0..8 {
            assert_eq!(fetch(addr, "/"), "x");
        }
    }
);

both_backends!(
    fn reuse_port_shares_only_between_servers_that_ask(backend: BackendKind) {
        let a = try_serve(backend, "127.0.0.1:0".parse().unwrap(), 1, true).unwrap();
        let addr = a.local_addr().unwrap();
        let b = try_serve(backend, addr, 2, true).expect("second sharing server joins");
        assert_eq!(b.local_addr(), Some(addr));
        // An exclusive listen is refused by the shared group.
        let err = try_serve(backend, addr, 1, false)
            .err()
            .expect("exclusive listen fails");
        assert!(err.to_string().contains("Address already in use"), "{err}");
        // Closing one leaves the other serving.
        drop(a);
        for _ in 0..8 {
            assert_eq!(fetch(addr, "/"), "x");
        }
        drop(b);
    }
);

#[test]
fn zero_shards_is_a_config_error() {
    let err = ServerBuilder::new()
        .shards(0)
        .on_request(|_, mut res| res.end())
        .listen("127.0.0.1:0")
        .err()
        .expect("zero shards rejected");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("shards"), "{err}");
}
