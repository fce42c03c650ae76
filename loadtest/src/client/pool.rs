//! A blocking keep-alive connection pool in the spirit of Node's `http.Agent`:
//! per-host `maxSockets`, `maxFreeSockets`, `keepAlive`, and reuse of idle
//! keep-alive connections (most recently used first).

use super::head::Head;
use super::parser::{ResponseParser, Sink};
use super::request::Request;
use super::url::Url;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Pool settings, named after Node's `http.Agent` options.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Keep connections open after a response for reuse.
    pub keep_alive: bool,
    /// Maximum connections per host (in use + idle); further requests wait.
    pub max_sockets: usize,
    /// Maximum idle connections kept per host.
    pub max_free_sockets: usize,
    /// Read/write timeout per request.
    pub timeout: Option<Duration>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            keep_alive: true,
            max_sockets: usize::MAX,
            max_free_sockets: 256,
            timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code of the final response (1xx interim responses are skipped).
    pub status: u16,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The de-chunked body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Conn {
    stream: TcpStream,
    parser: ResponseParser,
    reused: bool,
}

#[derive(Default)]
struct HostPool {
    free: Vec<Conn>,
    /// Connections handed out and not yet returned.
    busy: usize,
}

#[derive(Default)]
struct Shared {
    hosts: Mutex<HashMap<String, HostPool>>,
    released: Condvar,
    created: AtomicUsize,
}

/// A cloneable handle to a connection pool shared by threads.
#[derive(Clone, Default)]
pub struct Agent {
    opts: AgentOptions,
    shared: Arc<Shared>,
}

impl Agent {
    /// A pool with the given options.
    pub fn new(opts: AgentOptions) -> Agent {
        Agent {
            opts,
            shared: Arc::default(),
        }
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> io::Result<Response> {
        let url = Url::parse(url).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.request(&url, &Request::get(&url.path))
    }

    /// Sends `req` to `url`'s host on a pooled connection and reads the response.
    /// A reused idle connection that turns out dead is replaced once for idempotent methods.
    pub fn request(&self, url: &Url, req: &Request) -> io::Result<Response> {
        let key = format!("{}:{}", url.host, url.port);
        let wire = req.to_bytes(&url.host_header());
        let mut conn = self.acquire(&key, url)?;
        let mut result = exchange(&mut conn, &wire, req);
        let idempotent = matches!(
            req.method.as_str(),
            "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"
        );
        if result.is_err() && conn.reused && idempotent {
            match self.connect(url) {
                Ok(fresh) => {
                    conn = fresh;
                    result = exchange(&mut conn, &wire, req);
                }
                Err(e) => result = Err(e),
            }
        }
        let keep = matches!(&result, Ok((_, close)) if !close) && self.opts.keep_alive;
        self.release(&key, keep.then_some(conn));
        result.map(|(r, _)| r)
    }

    /// Idle connections currently pooled for `host:port`.
    pub fn free_sockets(&self, host_port: &str) -> usize {
        self.lock().get(host_port).map_or(0, |h| h.free.len())
    }

    /// Connections for `host:port` currently carrying a request.
    pub fn busy_sockets(&self, host_port: &str) -> usize {
        self.lock().get(host_port).map_or(0, |h| h.busy)
    }

    /// Total TCP connections opened by this agent.
    pub fn sockets_created(&self) -> usize {
        self.shared.created.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, HostPool>> {
        self.shared.hosts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn acquire(&self, key: &str, url: &Url) -> io::Result<Conn> {
        let mut hosts = self.lock();
        loop {
            let host = hosts.entry(key.to_string()).or_default();
            while let Some(mut conn) = host.free.pop() {
                if still_open(&conn.stream) {
                    host.busy += 1;
                    conn.reused = true;
                    return Ok(conn);
                }
            }
            if host.busy < self.opts.max_sockets {
                host.busy += 1;
                drop(hosts);
                return self.connect(url).inspect_err(|_| self.release(key, None));
            }
            hosts = self
                .shared
                .released
                .wait(hosts)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    fn connect(&self, url: &Url) -> io::Result<Conn> {
        let addr = url.socket_addr()?;
        let stream = match self.opts.timeout {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        }
        .map_err(|e| io::Error::new(e.kind(), format!("connect {addr}: {e}")))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(self.opts.timeout)?;
        stream.set_write_timeout(self.opts.timeout)?;
        self.shared.created.fetch_add(1, Ordering::Relaxed);
        Ok(Conn {
            stream,
            parser: ResponseParser::new(),
            reused: false,
        })
    }

    fn release(&self, key: &str, conn: Option<Conn>) {
        let mut hosts = self.lock();
        let host = hosts.entry(key.to_string()).or_default();
        host.busy -= 1;
        if let Some(conn) = conn {
            if host.free.len() < self.opts.max_free_sockets {
                host.free.push(conn);
            }
        }
        drop(hosts);
        self.shared.released.notify_one();
    }
}

/// An idle keep-alive connection is usable if the peer has neither closed it
/// nor sent unsolicited bytes.
fn still_open(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut b = [0u8; 1];
    let open = matches!(stream.peek(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    open && stream.set_nonblocking(false).is_ok()
}

#[derive(Default)]
struct Collect {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Sink for Collect {
    fn head(&mut self, head: &Head<'_>) {
        if head.is_informational() {
            return;
        }
        self.headers = head
            .headers()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
    }
    fn body(&mut self, data: &[u8]) {
        self.body.extend_from_slice(data);
    }
}

/// Writes one request and reads its response; returns it with the "must close" flag.
fn exchange(conn: &mut Conn, wire: &[u8], req: &Request) -> io::Result<(Response, bool)> {
    conn.stream.write_all(wire)?;
    conn.parser.reset();
    conn.parser
        .set_head_request(req.expects_bodiless_response());
    let mut sink = Collect::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = conn.stream.read(&mut buf)?;
        let done = if n == 0 {
            conn.parser
                .eof()
                .map_err(|e| io::Error::new(io::ErrorKind::UnexpectedEof, e))?
        } else {
            let p = conn
                .parser
                .feed(&buf[..n], &mut sink)
                .map_err(io::Error::other)?;
            // Bytes beyond the response mean the connection is out of step: do not reuse it.
            p.done.map(|d| super::parser::Done {
                close: d.close || p.consumed < n,
                ..d
            })
        };
        match done {
            Some(d) => {
                let resp = Response {
                    status: d.status,
                    headers: sink.headers,
                    body: sink.body,
                };
                return Ok((resp, d.close));
            }
            None if n == 0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed before a response",
                ))
            }
            None => {}
        }
    }
}
