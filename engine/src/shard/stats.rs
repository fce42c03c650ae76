//! Per-shard counters: written only by the shard's own thread (a relaxed load and store,
//! no read-modify-write, so no locked instruction on the hot path), read from any thread
//! by [`Counters::snapshot`] and summed per server in [`Stats`].
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::backend::BackendKind;
use crate::proto::h1::ParseError;

/// Why a request was refused by the parser (the default answer's status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientErrorKind {
    /// 400: malformed request line, header, framing or chunk.
    BadRequest,
    /// 413: body or chunk extensions over the limit.
    TooLarge,
    /// 414: request target too long.
    UriTooLong,
    /// 431: header section (or trailers) too large.
    HeadersTooLarge,
    /// 501: a transfer coding we do not implement.
    NotImplemented,
    /// 505: an HTTP version other than 1.x.
    Version,
}

impl ClientErrorKind {
    pub const ALL: [ClientErrorKind; 6] = [
        ClientErrorKind::BadRequest,
        ClientErrorKind::TooLarge,
        ClientErrorKind::UriTooLong,
        ClientErrorKind::HeadersTooLarge,
        ClientErrorKind::NotImplemented,
        ClientErrorKind::Version,
    ];

    pub fn of(e: ParseError) -> ClientErrorKind {
        match e.status() {
            413 => ClientErrorKind::TooLarge,
            414 => ClientErrorKind::UriTooLong,
            431 => ClientErrorKind::HeadersTooLarge,
            501 => ClientErrorKind::NotImplemented,
            505 => ClientErrorKind::Version,
            _ => ClientErrorKind::BadRequest,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ClientErrorKind::BadRequest => "bad_request",
            ClientErrorKind::TooLarge => "too_large",
            ClientErrorKind::UriTooLong => "uri_too_long",
            ClientErrorKind::HeadersTooLarge => "headers_too_large",
            ClientErrorKind::NotImplemented => "not_implemented",
            ClientErrorKind::Version => "version",
        }
    }
}

/// Which deadline closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// headersTimeout.
    Headers,
    /// requestTimeout.
    Request,
    /// keepAliveTimeout (an idle keep-alive connection closed).
    KeepAlive,
    /// server.timeout / setTimeout inactivity.
    Inactivity,
    /// A closing connection's peer did not end its side within `linger` after our last
    /// byte (the close became a reset).
    Linger,
}

impl TimeoutKind {
    pub const ALL: [TimeoutKind; 5] = [
        TimeoutKind::Headers,
        TimeoutKind::Request,
        TimeoutKind::KeepAlive,
        TimeoutKind::Inactivity,
        TimeoutKind::Linger,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TimeoutKind::Headers => "headers",
            TimeoutKind::Request => "request",
            TimeoutKind::KeepAlive => "keep_alive",
            TimeoutKind::Inactivity => "inactivity",
            TimeoutKind::Linger => "linger",
        }
    }
}

/// The live counters of one shard.
#[derive(Default, Debug)]
pub struct Counters {
    accepted: AtomicU64,
    closed: AtomicU64,
    requests: AtomicU64,
    responses: [AtomicU64; 5],
    client_errors: [AtomicU64; 6],
    timeouts: [AtomicU64; TimeoutKind::ALL.len()],
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

/// Adds `n`: only the owning shard writes, so a plain load + store is exact.
#[inline]
fn add(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

impl Counters {
    #[inline]
    pub(crate) fn accepted(&self) {
        add(&self.accepted, 1);
    }
    #[inline]
    pub(crate) fn closed(&self) {
        add(&self.closed, 1);
    }
    #[inline]
    pub(crate) fn request(&self) {
        add(&self.requests, 1);
    }
    /// A response whose last byte was handed to the connection (status 100-599).
    #[inline]
    pub(crate) fn response(&self, status: u16) {
        self.responses_of(status, 1);
    }
    /// `n` responses of `status`'s class (informational ones: see `ResSlot::write_continue`).
    #[inline]
    pub(crate) fn responses_of(&self, status: u16, n: u64) {
        if let Some(c) = self.responses.get((status / 100).wrapping_sub(1) as usize) {
            add(c, n);
        }
    }
    #[inline]
    pub(crate) fn client_error(&self, kind: ClientErrorKind) {
        add(&self.client_errors[kind as usize], 1);
    }
    #[inline]
    pub(crate) fn timeout(&self, kind: TimeoutKind) {
        add(&self.timeouts[kind as usize], 1);
    }
    #[inline]
    pub(crate) fn bytes_in(&self, n: usize) {
        add(&self.bytes_in, n as u64);
    }
    #[inline]
    pub(crate) fn bytes_out(&self, n: usize) {
        add(&self.bytes_out, n as u64);
    }

    /// The counters now (each exact; together a moment's view, not an atomic one).
    pub fn snapshot(&self) -> ShardStats {
        let get = |c: &AtomicU64| c.load(Relaxed);
        let accepted = get(&self.accepted);
        ShardStats {
            open_connections: accepted.saturating_sub(get(&self.closed)),
            accepted,
            requests: get(&self.requests),
            responses: self.responses.each_ref().map(get),
            client_errors: self.client_errors.each_ref().map(get),
            timeouts: self.timeouts.each_ref().map(get),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
        }
    }
}

/// One shard's counters (or their sum) at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardStats {
    pub open_connections: u64,
    /// Connections accepted since start.
    pub accepted: u64,
    /// Requests whose head was parsed and handed to the server.
    pub requests: u64,
    /// Responses finished, by class: `[1xx, 2xx, 3xx, 4xx, 5xx]` (including the
    /// default answers to client errors and timeouts; 1xx: each `100 Continue`, 102 or
    /// 103 sent ahead of a final response).
    pub responses: [u64; 5],
    /// Requests refused by the parser, indexed by [`ClientErrorKind`] (`as usize`).
    pub client_errors: [u64; 6],
    /// Connections closed by a deadline, indexed by [`TimeoutKind`] (`as usize`).
    pub timeouts: [u64; TimeoutKind::ALL.len()],
    /// Bytes received and sent on HTTP connections.
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl ShardStats {
    fn add(&mut self, o: &ShardStats) {
        self.open_connections += o.open_connections;
        self.accepted += o.accepted;
        self.requests += o.requests;
        for (a, b) in self.responses.iter_mut().zip(o.responses) {
            *a += b;
        }
        for (a, b) in self.client_errors.iter_mut().zip(o.client_errors) {
            *a += b;
        }
        for (a, b) in self.timeouts.iter_mut().zip(o.timeouts) {
            *a += b;
        }
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
    }

    pub fn client_errors_of(&self, kind: ClientErrorKind) -> u64 {
        self.client_errors[kind as usize]
    }

    pub fn timeouts_of(&self, kind: TimeoutKind) -> u64 {
        self.timeouts[kind as usize]
    }
}

/// Writes the samples of one metric family for one shard: `(extra labels, value)`.
type Samples<'a> = &'a dyn Fn(&ShardStats, &mut dyn FnMut(&str, u64));

/// A server's counters: each shard's and their sum (`Server::stats()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub backend: BackendKind,
    pub shards: Vec<ShardStats>,
    pub total: ShardStats,
}

impl Stats {
    pub fn new(backend: BackendKind, shards: Vec<ShardStats>) -> Stats {
        let mut total = ShardStats::default();
        for s in &shards {
            total.add(s);
        }
        Stats {
            backend,
            shards,
            total,
        }
    }

    /// The Prometheus text exposition format (version 0.0.4): one series per shard
    /// (`shard="N"`); sum them for the server's total.
    pub fn prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        let mut family = |name: &str, kind: &str, help: &str, f: Samples<'_>| {
            let _ = writeln!(
                out,
                "# HELP ringhttp_{name} {help}\n# TYPE ringhttp_{name} {kind}"
            );
            for (i, s) in self.shards.iter().enumerate() {
                f(s, &mut |labels, v| {
                    let _ = writeln!(out, "ringhttp_{name}{{shard=\"{i}\"{labels}}} {v}");
                });
            }
        };
        family(
            "open_connections",
            "gauge",
            "Open HTTP connections.",
            &|s, w| w("", s.open_connections),
        );
        family(
            "connections_accepted_total",
            "counter",
            "Connections accepted.",
            &|s, w| w("", s.accepted),
        );
        family(
            "requests_total",
            "counter",
            "Requests received.",
            &|s, w| w("", s.requests),
        );
        family(
            "responses_total",
            "counter",
            "Responses sent, by status class.",
            &|s, w| {
                for (i, v) in s.responses.iter().enumerate() {
                    w(&format!(",class=\"{}xx\"", i + 1), *v);
                }
            },
        );
        family(
            "client_errors_total",
            "counter",
            "Requests refused by the parser.",
            &|s, w| {
                for k in ClientErrorKind::ALL {
                    w(&format!(",kind=\"{}\"", k.name()), s.client_errors_of(k));
                }
            },
        );
        family(
            "timeouts_total",
            "counter",
            "Connections closed by a deadline.",
            &|s, w| {
                for k in TimeoutKind::ALL {
                    w(&format!(",kind=\"{}\"", k.name()), s.timeouts_of(k));
                }
            },
        );
        family(
            "received_bytes_total",
            "counter",
            "Bytes received.",
            &|s, w| w("", s.bytes_in),
        );
        family("sent_bytes_total", "counter", "Bytes sent.", &|s, w| {
            w("", s.bytes_out)
        });
        let _ = writeln!(
            out,
            "# HELP ringhttp_backend_info The backend the shards run on.\n\
             # TYPE ringhttp_backend_info gauge\nringhttp_backend_info{{backend=\"{}\"}} 1",
            self.backend
        );
        out
    }
}
