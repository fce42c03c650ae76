//! A small std HTTP/1.1 server for the tests: keep-alive, pipelining,
//! Content-Length or chunked responses, optional abrupt closes, and counters
//! of responses sent (`GET /count` answers the count without being counted).

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How the server answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    /// Chunked bodies instead of Content-Length.
    pub chunked: bool,
    /// Close the connection abruptly after this many responses on it.
    pub close_after: Option<u64>,
    /// Send `Connection: close` and close after each response.
    pub connection_close: bool,
}

/// Counters shared with the connection threads.
#[derive(Default)]
pub struct Counters {
    pub responses: AtomicU64,
    pub connections: AtomicU64,
    pub open: AtomicU64,
    pub max_open: AtomicU64,
}

pub struct TestServer {
    pub port: u16,
    pub counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    pub fn start(opts: Opts) -> TestServer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (counters.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in l.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (c, s) = (c.clone(), s.clone());
                std::thread::spawn(move || serve(stream, opts, &c, &s));
            }
        });
        TestServer {
            port,
            counters,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn responses(&self) -> u64 {
        self.counters.responses.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut s: TcpStream, opts: Opts, c: &Counters, stop: &AtomicBool) {
    c.connections.fetch_add(1, Ordering::SeqCst);
    let open = c.open.fetch_add(1, Ordering::SeqCst) + 1;
    c.max_open.fetch_max(open, Ordering::SeqCst);
    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = s.set_nodelay(true);
    let mut buf = Vec::new();
    let mut tmp = [0u8; 16384];
    let mut served = 0u64;
    'conn: while !stop.load(Ordering::Relaxed) {
        match s.read(&mut tmp) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => break,
        }
        let mut out = Vec::new();
        let mut batch = 0;
        while let Some((len, path)) = next_request(&buf) {
            buf.drain(..len);
            if path == "/count" {
                let body = c.responses.load(Ordering::SeqCst).to_string();
                out.extend(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .bytes(),
                );
                continue;
            }
            respond(&mut out, opts);
            batch += 1;
            served += 1;
            if opts.connection_close || opts.close_after.is_some_and(|k| served % k == 0) {
                send_counted(&mut s, &out, batch, c);
                break 'conn;
            }
        }
        if !out.is_empty() && !send_counted(&mut s, &out, batch, c) {
            break;
        }
    }
    // Closed before it is counted as closed: a test waiting for `open` sees the FIN sent.
    drop(s);
    c.open.fetch_sub(1, Ordering::SeqCst);
}

fn respond(out: &mut Vec<u8>, opts: Opts) {
    let close = if opts.connection_close {
        "Connection: close\r\n"
    } else {
        ""
    };
    if opts.chunked {
        out.extend(format!("HTTP/1.1 200 OK\r\n{close}Transfer-Encoding: chunked\r\n\r\n").bytes());
        out.extend(b"7\r\nHello, \r\n6;ext=1\r\nWorld!\r\n0\r\nX-T: 1\r\n\r\n");
    } else {
        out.extend(
            format!("HTTP/1.1 200 OK\r\n{close}Content-Length: 13\r\n\r\nHello, World!").bytes(),
        );
    }
}

/// A complete request at the start of `buf`: its length and path.
fn next_request(buf: &[u8]) -> Option<(usize, String)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    let body: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    (buf.len() >= end + body).then_some((end + body, path))
}

/// Runs the ringload binary and returns its parsed `--json` output.
pub fn ringload_json(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ringload"))
        .args(args)
        .arg("--json")
        .output()
        .expect("run ringload");
    assert!(
        out.status.success(),
        "ringload failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// Writes `batch` responses and counts them. Counted before the write, so a client that
/// has read them never sees a count without them (it used to read 199 of 200); taken
/// back if the write fails.
fn send_counted(s: &mut TcpStream, out: &[u8], batch: u64, c: &Counters) -> bool {
    c.responses.fetch_add(batch, Ordering::SeqCst);
    let ok = s.write_all(out).is_ok();
    if !ok {
        c.responses.fetch_sub(batch, Ordering::SeqCst);
    }
    ok
}
