//! Shared helpers for the socket-level integration tests: start a server on port 0 for a
//! backend, a blocking std `TcpStream` client with timeouts, and a minimal HTTP/1.1
//! response parser (Content-Length, chunked, close-delimited bodies).
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use ringhttp::{BackendKind, Server, ServerBuilder};

pub mod example;

/// Upper bound for any single wait on a socket. Tests never hang longer than this.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a socket-level test once per backend: expands `fn name(backend: BackendKind)`
/// into a module `name` with the tests `uring` and `epoll`. Attributes (e.g. `#[ignore]`)
/// apply to both. A variant that cannot run as itself says "skipped" and why (see
/// [`variant_runs`]) instead of quietly running on the other backend.
#[macro_export]
macro_rules! both_backends {
    ($(#[$m:meta])* fn $name:ident($b:ident : BackendKind) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn run($b: $crate::BackendKind) $body
            $(#[$m])*
            #[test]
            fn uring() {
                if $crate::variant_runs($crate::BackendKind::Uring) {
                    run($crate::BackendKind::Uring)
                }
            }
            $(#[$m])*
            #[test]
            fn epoll() {
                if $crate::variant_runs($crate::BackendKind::Epoll) {
                    run($crate::BackendKind::Epoll)
                }
            }
        }
    };
}

/// `RINGHTTP_REQUIRE_URING=1`: a test variant that cannot run on io_uring fails instead of
/// being skipped (CI sets it: its machine has io_uring, so coverage cannot silently drop).
pub fn uring_required() -> bool {
    std::env::var_os("RINGHTTP_REQUIRE_URING").is_some_and(|v| v == "1")
}

/// Why io_uring cannot run here (probed once, with a real server), or None when it can.
pub fn uring_unavailable() -> Option<String> {
    static PROBE: OnceLock<Option<String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            match ServerBuilder::new()
                .shards(1)
                .backend(BackendKind::Uring)
                .on_request(|_, mut res| res.end())
                .listen("127.0.0.1:0")
            {
                Ok(s) if s.backend() == BackendKind::Uring => None,
                // RINGHTTP_BACKEND overrides the builder.
                Ok(s) => Some(format!("RINGHTTP_BACKEND chose {}", s.backend())),
                Err(e) => Some(e.to_string()),
            }
        })
        .clone()
}

/// Whether this machine can run the engine on io_uring.
pub fn uring_available() -> bool {
    uring_unavailable().is_none()
}

/// Whether the test variant for `kind` runs in this process. It does not when
/// `RINGHTTP_BACKEND` forces the other backend (that pass covers the forced backend once),
/// nor for io_uring where io_uring is unavailable; either way it prints "skipped" and why.
/// With [`uring_required`] an unavailable io_uring panics instead.
pub fn variant_runs(kind: BackendKind) -> bool {
    let name = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    match BackendKind::from_env() {
        Ok(Some(forced)) if forced != kind && forced != BackendKind::Auto => {
            println!("skipped {name}: RINGHTTP_BACKEND={forced} runs only that backend's variants");
            return false;
        }
        _ => {}
    }
    if kind != BackendKind::Uring {
        return true;
    }
    match uring_unavailable() {
        None => true,
        Some(why) if uring_required() => {
            panic!("{name}: io_uring is required (RINGHTTP_REQUIRE_URING=1) but unavailable: {why}")
        }
        Some(why) => {
            println!("skipped {name}: io_uring unavailable: {why}");
            false
        }
    }
}

/// The backends whose variants run here (see [`variant_runs`]), for tests that loop over
/// both inside one test.
pub fn backends() -> Vec<BackendKind> {
    [BackendKind::Uring, BackendKind::Epoll]
        .into_iter()
        .filter(|&k| variant_runs(k))
        .collect()
}

/// The backend a server asked for `kind` must report (honouring `RINGHTTP_BACKEND`).
pub fn expected_backend(kind: BackendKind) -> BackendKind {
    let wanted = match BackendKind::from_env() {
        Ok(Some(k)) => k,
        _ => kind,
    };
    match wanted {
        BackendKind::Epoll => BackendKind::Epoll,
        BackendKind::Uring => BackendKind::Uring,
        BackendKind::Auto if uring_available() => BackendKind::Uring,
        BackendKind::Auto => BackendKind::Epoll,
    }
}

/// Waits (bounded by [`TIMEOUT`]) until `cond` holds: tests wait for the event they need,
/// never for a guessed amount of time.
pub fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Returns once every shard of `server` has run what was posted to it before (tasks run in
/// order): e.g. after `server.set_timeout`, the change is in force.
pub fn shard_barrier(server: &Server) {
    for shard in server.shards() {
        let (tx, rx) = std::sync::mpsc::channel();
        assert!(shard.post(move |_| tx.send(()).unwrap()), "shard is gone");
        rx.recv_timeout(TIMEOUT).expect("shard ran the posted task");
    }
}

/// For a shard driven from the test thread (`build_shard`): waits for its pollable fd or
/// `done` (readable once the client thread ends) to be readable, at most `timeout` (None:
/// the safety cap [`TIMEOUT`]).
pub fn poll_shard(
    shard: &ringhttp::Shard,
    done: &std::os::unix::net::UnixStream,
    timeout: Option<Duration>,
) {
    use std::os::fd::AsRawFd;
    // Round up so a sub-millisecond timer is not turned into a busy loop of zero waits.
    let ms = (timeout.unwrap_or(TIMEOUT).min(TIMEOUT).as_millis() + 1) as libc::c_int;
    let pfd = |fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let mut fds = [pfd(shard.pollable_fd()), pfd(done.as_raw_fd())];
    // SAFETY: `fds` is a valid array of two pollfds for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
}

/// A one-shard server for `backend` on 127.0.0.1:0 with the listeners of `b`.
pub fn start(backend: BackendKind, b: ServerBuilder) -> Server {
    let server = b
        .shards(1)
        .backend(backend)
        .listen("127.0.0.1:0")
        .expect("server starts");
    assert_eq!(server.backend(), expected_backend(backend));
    server
}

/// A server whose handler answers `200` with the text `f(request)`.
pub fn start_text(
    backend: BackendKind,
    f: impl Fn(&ringhttp::Request) -> String + Send + Sync + 'static,
) -> Server {
    start(
        backend,
        ServerBuilder::new().on_request(move |req, mut res| {
            let body = f(&req);
            res.set_header("Content-Type", "text/plain").unwrap();
            res.end_with(body);
        }),
    )
}

/// A blocking client with timeouts and a receive buffer that keeps what was read past
/// the responses already parsed.
pub struct Client {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
    pub eof: bool,
}

impl Client {
    pub fn connect(server: &Server) -> Client {
        Client::connect_addr(server.local_addr().expect("tcp address"))
    }

    pub fn connect_addr(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).expect("send");
    }

    /// Reads once (up to the read timeout). False at EOF / reset.
    pub fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 65536];
        match self.stream.read(&mut tmp) {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                self.eof = true;
                false
            }
            Err(e) => panic!(
                "read failed ({e}); received so far: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Reads until `n` bytes have arrived (or EOF) and takes them.
    pub fn read_exact_len(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n && self.fill() {}
        let n = n.min(self.buf.len());
        self.buf.drain(..n).collect()
    }

    /// The next response (to a request that was not HEAD).
    pub fn response(&mut self) -> Response {
        self.response_to(false)
    }

    /// The next response; `head`: it answers a HEAD request (no body whatever it says).
    pub fn response_to(&mut self, head: bool) -> Response {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some((r, used)) = parse_response(&self.buf, head, self.eof) {
                self.buf.drain(..used);
                return r;
            }
            assert!(
                !self.eof && Instant::now() < deadline,
                "no complete response (eof={}); received: {:?}",
                self.eof,
                String::from_utf8_lossy(&self.buf)
            );
            self.fill();
        }
    }

    pub fn responses(&mut self, n: usize) -> Vec<Response> {
        (0..n).map(|_| self.response()).collect()
    }

    /// Asserts the server closes the connection (EOF or reset) with no further bytes.
    pub fn expect_closed(&mut self) {
        while !self.eof {
            self.fill();
        }
        assert!(
            self.buf.is_empty(),
            "unexpected bytes before close: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
    }

    /// Reads everything until the server closes.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        while !self.eof {
            self.fill();
        }
        std::mem::take(&mut self.buf)
    }

    /// Asserts nothing arrives within `d` (and the connection stays open).
    pub fn expect_silence(&mut self, d: Duration) {
        self.stream.set_read_timeout(Some(d)).unwrap();
        let mut tmp = [0u8; 4096];
        let res = self.stream.read(&mut tmp);
        self.stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        match res {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Ok(0) => panic!("connection closed, expected it open and silent"),
            Ok(n) => panic!(
                "expected silence, got {:?}",
                String::from_utf8_lossy(&tmp[..n])
            ),
            Err(e) => panic!("expected silence, got error {e}"),
        }
    }
}

/// One parsed response.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
    /// The exact bytes of the response as received.
    pub raw: Vec<u8>,
    pub chunked: bool,
}

impl Response {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `Connection: close` was announced.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_fields(lines: &str) -> Vec<(String, String)> {
    lines
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            (n.to_string(), v.trim().to_string())
        })
        .collect()
}

/// Parses one response from the start of `buf`: `None` when incomplete. `head`: it
/// answers HEAD; `eof`: the peer has closed (ends a close-delimited body). Returns the
/// response and the bytes it used.
pub fn parse_response(buf: &[u8], head: bool, eof: bool) -> Option<(Response, usize)> {
    let end = find(buf, b"\r\n\r\n")? + 4;
    let text = std::str::from_utf8(&buf[..end]).expect("ASCII head");
    let (line, fields) = text.split_once("\r\n").unwrap();
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap();
    assert!(version.starts_with("HTTP/1."), "bad status line {line:?}");
    let status: u16 = parts.next().unwrap().parse().expect("status code");
    let reason = parts.next().unwrap_or("").to_string();
    let mut r = Response {
        status,
        reason,
        headers: parse_fields(fields),
        ..Default::default()
    };
    let no_body = head || status == 204 || status == 304 || (100..200).contains(&status);
    let mut pos = end;
    if no_body {
    } else if r
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().ends_with("chunked"))
    {
        r.chunked = true;
        loop {
            let eol = pos + find(&buf[pos..], b"\r\n")?;
            let size_text = std::str::from_utf8(&buf[pos..eol]).unwrap();
            let size_text = size_text.split(';').next().unwrap().trim();
            let size = usize::from_str_radix(size_text, 16).expect("chunk size");
            pos = eol + 2;
            if size == 0 {
                let tend = if buf[pos..].starts_with(b"\r\n") {
                    pos
                } else {
                    pos + find(&buf[pos..], b"\r\n\r\n")? + 2
                };
                r.trailers = parse_fields(std::str::from_utf8(&buf[pos..tend]).unwrap());
                pos = tend + 2;
                break;
            }
            if buf.len() < pos + size + 2 {
                return None;
            }
            r.body.extend_from_slice(&buf[pos..pos + size]);
            assert_eq!(&buf[pos + size..pos + size + 2], b"\r\n", "chunk CRLF");
            pos += size + 2;
        }
    } else if let Some(cl) = r.header("content-length") {
        let n: usize = cl.parse().expect("content-length");
        if buf.len() < pos + n {
            return None;
        }
        r.body = buf[pos..pos + n].to_vec();
        pos += n;
    } else {
        // Close-delimited.
        if !eof {
            return None;
        }
        r.body = buf[pos..].to_vec();
        pos = buf.len();
    }
    r.raw = buf[..pos].to_vec();
    Some((r, pos))
}

/// `GET path` with Host, HTTP/1.1.
pub fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
}

/// FNV-1a, to compare large bodies by a short digest.
pub fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Deterministic test bytes.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

/// Runs the current test binary again as a child, running only the test `name`, with
/// `env` set and `RINGHTTP_BACKEND` removed unless given. Waits at most `limit`, then
/// kills it. Returns (exited successfully, stdout + stderr).
pub fn rerun_self(name: &str, env: &[(&str, &str)], limit: Duration) -> (bool, String) {
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env_remove("RINGHTTP_BACKEND")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn child");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait child") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).ok();
    child.stderr.take().unwrap().read_to_string(&mut out).ok();
    match status {
        Some(s) => (s.success(), out),
        None => (false, format!("child timed out after {limit:?}\n{out}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_handles_all_framings() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\n\
                    Transfer-Encoding: chunked\r\n\r\n2;x=y\r\nab\r\n0\r\nT: v\r\n\r\n\
                    HTTP/1.0 200 OK\r\n\r\nrest";
        let (a, n) = parse_response(raw, false, false).unwrap();
        assert_eq!((a.status, &a.body[..]), (200, &b"hi"[..]));
        let (b, m) = parse_response(&raw[n..], false, false).unwrap();
        assert_eq!(b.body, b"ab");
        assert_eq!(b.trailers, vec![("T".into(), "v".into())]);
        assert!(parse_response(&raw[n + m..], false, false).is_none());
        let (c, _) = parse_response(&raw[n + m..], false, true).unwrap();
        assert_eq!(c.body, b"rest");
        assert!(parse_response(&raw[..n - 1], false, false).is_none());
    }

    /// `RINGHTTP_BACKEND=epoll` overrides a builder asking for io_uring. Checked in a child
    /// process so the variable does not leak into other tests.
    #[test]
    fn env_backend_epoll_is_honoured() {
        if std::env::var_os("ITEST_CHILD_ENV").is_some() {
            let server = ServerBuilder::new()
                .shards(1)
                .backend(BackendKind::Uring)
                .on_request(|_, mut res| res.end_with("env"))
                .listen("127.0.0.1:0")
                .expect("listen");
            assert_eq!(server.backend(), BackendKind::Epoll);
            let mut c = Client::connect(&server);
            c.send(get("/"));
            assert_eq!(c.response().body, b"env");
            println!("CHILD-OK backend={}", server.backend());
            return;
        }
        let (ok, out) = rerun_self(
            "tests::env_backend_epoll_is_honoured",
            &[("ITEST_CHILD_ENV", "1"), ("RINGHTTP_BACKEND", "epoll")],
            Duration::from_secs(20),
        );
        assert!(ok && out.contains("CHILD-OK backend=epoll"), "{out}");
        // And an unknown value is a clear configuration error, not a silent default.
        let (ok, out) = rerun_self(
            "tests::env_backend_epoll_is_honoured",
            &[("ITEST_CHILD_ENV", "1"), ("RINGHTTP_BACKEND", "bogus")],
            Duration::from_secs(20),
        );
        assert!(!ok && out.contains("unknown backend"), "{out}");
    }
}
