//! Server options (Node's names where Node has them).
use std::time::Duration;

use crate::backend::BackendKind;
use crate::proto::h1::Limits;

/// Everything a shard needs to know about how to serve. Set through
/// the server builder of the API layer (`ServerBuilder`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Shards (threads); default one per CPU.
    pub shards: usize,
    pub backend: BackendKind,
    /// The options Node reads per connection or per request (timeouts, maxHeadersCount,
    /// maxRequestsPerSocket): what a shard starts with; they may change while it runs.
    pub live: LiveConfig,
    /// Parser bounds (maxHeaderSize and friends).
    pub limits: Limits,
    /// Largest request body accepted (413 beyond); None = no limit.
    pub max_body_size: Option<u64>,
    /// Requests parsed ahead of their responses on one connection before reading pauses.
    pub max_pipelined: usize,
    /// Unread body bytes drained after a response ends; more closes the connection.
    pub max_drain_bytes: u64,
    /// Bytes queued per connection above which `write()` returns false (Node's 16 KiB).
    pub write_high_water_mark: usize,
    /// Unsent response bytes per connection above which no more requests are read.
    pub max_queued_output: usize,
    /// listen() backlog.
    pub backlog: i32,
    /// Join other listeners on the same TCP port (SO_REUSEPORT across processes, e.g. the
    /// old and new version during a zero-downtime restart). Off: the port must be free.
    pub reuse_port: bool,
    /// How long a closing connection waits for the peer's FIN after our last byte.
    pub linger: Duration,
}

/// The options Node reads per connection or per request, so they may change while a shard
/// runs ([`ShardState::set_live_config`](crate::ShardState::set_live_config)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveConfig {
    /// `server.timeout`: socket inactivity; zero disables (Node v20 default).
    pub timeout: Duration,
    /// `server.keepAliveTimeout` (5 s): advertised as `Keep-Alive: timeout=N` (whole
    /// seconds) once a response is written; zero disables the idle close.
    pub keep_alive_timeout: Duration,
    /// Node's `server.keepAliveTimeoutBuffer` (1 s): an idle keep-alive connection is
    /// closed this much after keepAliveTimeout, so a client (or proxy) that reuses it just
    /// before the advertised timeout never meets a close on the way.
    pub keep_alive_timeout_buffer: Duration,
    /// `server.headersTimeout` (60 s).
    pub headers_timeout: Duration,
    /// `server.requestTimeout` (300 s).
    pub request_timeout: Duration,
    /// `server.maxHeadersCount` (2000; 0 = no limit). Extra headers are dropped.
    pub max_headers_count: usize,
    /// `server.maxRequestsPerSocket` (0 = no limit).
    pub max_requests_per_socket: usize,
}

impl Default for LiveConfig {
    /// Node v20's defaults.
    fn default() -> Self {
        LiveConfig {
            timeout: Duration::ZERO,
            keep_alive_timeout: Duration::from_secs(5),
            keep_alive_timeout_buffer: Duration::from_secs(1),
            headers_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(300),
            max_headers_count: 2000,
            max_requests_per_socket: 0,
        }
    }
}

impl LiveConfig {
    /// How long an idle keep-alive connection stays open: keepAliveTimeout plus its buffer
    /// (zero, i.e. no idle close, without a keepAliveTimeout).
    pub(crate) fn keep_alive_close(&self) -> Duration {
        match self.keep_alive_timeout {
            d if d.is_zero() => d,
            d => d + self.keep_alive_timeout_buffer,
        }
    }

    /// `Keep-Alive: timeout=N[, max=M]\r\n` (empty without a keepAliveTimeout), and the
    /// same after `Connection: keep-alive\r\n`.
    pub(crate) fn keep_alive_lines(&self) -> (Vec<u8>, Vec<u8>) {
        let header = match self.keep_alive_timeout.as_secs() {
            _ if self.keep_alive_timeout.is_zero() => Vec::new(),
            // Node adds `, max=N` when maxRequestsPerSocket is set.
            secs => match self.max_requests_per_socket {
                0 => format!("Keep-Alive: timeout={secs}\r\n"),
                max => format!("Keep-Alive: timeout={secs}, max={max}\r\n"),
            }
            .into_bytes(),
        };
        let lines = [&b"Connection: keep-alive\r\n"[..], &header].concat();
        (header, lines)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            shards: std::thread::available_parallelism().map_or(1, |n| n.get()),
            backend: BackendKind::Auto,
            live: LiveConfig::default(),
            limits: Limits::default(),
            max_body_size: None,
            max_pipelined: 64,
            max_drain_bytes: 256 * 1024,
            write_high_water_mark: 16 * 1024,
            max_queued_output: 1024 * 1024,
            backlog: 511,
            reuse_port: false,
            linger: Duration::from_secs(2),
        }
    }
}
