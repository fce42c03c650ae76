//! Helpers for the timeout tests: a one-shard server on a loopback port, a raw client that
//! records when things happened, and a macro running each case on both backends at once.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ringhttp::{BackendKind, Server, ServerBuilder};

/// How much later than its deadline a close may be observed before a test fails. The
/// engine aims at < 50 ms; the margin keeps a busy 2-core machine from flaking.
pub const LATE: Duration = Duration::from_millis(250);
/// How much earlier than the server's deadline the client may see the close: the deadline
/// starts when the server acts (e.g. writes), a little before the client observes it.
pub const EARLY: Duration = Duration::from_millis(30);
/// Bound on any single wait for the server.
pub const BOUND: Duration = Duration::from_secs(5);

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Starts `b` on one shard of `backend` on an ephemeral loopback port.
pub fn serve(backend: BackendKind, b: ServerBuilder) -> (Server, SocketAddr) {
    let server = b
        .shards(1)
        .backend(backend)
        .listen("127.0.0.1:0")
        .expect("listen");
    assert_eq!(
        server.backend(),
        ringhttp_tests::expected_backend(backend),
        "server runs on the requested backend (RINGHTTP_BACKEND honoured)"
    );
    let addr = server.local_addr().expect("bound address");
    (server, addr)
}

pub struct Client {
    pub s: TcpStream,
    pub buf: Vec<u8>,
    pub connected: Instant,
}

/// What ended a read.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// EOF or reset: the server closed.
    Closed,
    /// The wait bound passed with the connection still open.
    Open,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).unwrap();
        Client {
            s,
            buf: Vec::new(),
            connected: Instant::now(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    /// Reads until the connection closes or `max` passes; returns what ended it and when.
    pub fn read_until_close(&mut self, max: Duration) -> (End, Instant) {
        let until = Instant::now() + max;
        let mut chunk = [0u8; 4096];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (End::Open, Instant::now());
            }
            self.s.set_read_timeout(Some(left)).unwrap();
            match self.s.read(&mut chunk) {
                Ok(0) => return (End::Closed, Instant::now()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return (End::Open, Instant::now())
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return (End::Closed, Instant::now()),
            }
        }
    }

    /// Reads one complete response (Content-Length framed) and returns it as text.
    pub fn read_response(&mut self) -> String {
        let until = Instant::now() + BOUND;
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(n) = complete_response(&self.buf) {
                let r: Vec<u8> = self.buf.drain(..n).collect();
                return String::from_utf8_lossy(&r).into_owned();
            }
            let left = until.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no complete response in time: {:?}",
                self.text()
            );
            self.s.set_read_timeout(Some(left)).unwrap();
            match self.s.read(&mut chunk) {
                Ok(0) => panic!("closed before a complete response: {:?}", self.text()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("reading a response: {e} (got {:?})", self.text()),
            }
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

/// Length of the first complete response in `buf` (head plus Content-Length body).
fn complete_response(buf: &[u8]) -> Option<usize> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let len = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    (buf.len() >= end + len).then_some(end + len)
}

/// Asserts that `at - from` is `deadline` within the allowed window; returns the lateness
/// in ms (printed with `--nocapture`).
#[track_caller]
pub fn assert_near(what: &str, from: Instant, at: Instant, deadline: Duration) -> i64 {
    let took = at.duration_since(from);
    assert!(
        took + EARLY >= deadline && took <= deadline + LATE,
        "{what}: took {took:?}, deadline {deadline:?}"
    );
    let late = took.as_millis() as i64 - deadline.as_millis() as i64;
    println!("{what}: {late:+} ms vs deadline {deadline:?}");
    late
}

pub const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

/// Runs each case on io_uring and epoll at the same time (two threads), so the file's
/// wall time stays low; a failure names its backend. A backend whose variant cannot run
/// here is skipped and says so (`ringhttp_tests::variant_runs`).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let run = |kind: ringhttp::BackendKind| {
                ringhttp_tests::variant_runs(kind).then(|| {
                    std::thread::Builder::new()
                        .name(format!("{}-{kind}", stringify!($name)))
                        .spawn(move || cases::$name(kind))
                        .unwrap()
                })
            };
            let u = run(ringhttp::BackendKind::Uring);
            let e = run(ringhttp::BackendKind::Epoll);
            let (u, e) = (u.map(|t| t.join()), e.map(|t| t.join()));
            let msg = |r: &Option<std::thread::Result<()>>| match r {
                None => "skipped".to_string(),
                Some(Ok(())) => "ok".to_string(),
                Some(Err(p)) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into()),
            };
            let ok = |r: &Option<std::thread::Result<()>>| !matches!(r, Some(Err(_)));
            assert!(ok(&u) && ok(&e), "io_uring: {}\nepoll: {}", msg(&u), msg(&e));
            println!("io_uring: {}, epoll: {}", msg(&u), msg(&e));
        }
    )*};
}
