//! Command-line options shared by the examples, logging, and the production run loop.
pub mod signals;

use std::time::{Duration, Instant};

use clap::Args as ClapArgs;
use ringhttp::{BackendKind, ListenAddr, Server, ServerBuilder};

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Port to listen on (default: env PORT, else 8080).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Shards (threads), at least 1; default one per CPU.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub shards: Option<u16>,
    /// auto, uring or epoll (env RINGHTTP_BACKEND overrides auto).
    #[arg(long, default_value = "auto")]
    pub backend: BackendKind,
    /// Share the port with other processes that also pass --reuse-port (zero-downtime
    /// restarts: start the new version, then SIGTERM the old one). Without it a port in
    /// use is an error.
    #[arg(long)]
    pub reuse_port: bool,
    /// server.timeout in ms (0 = off).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// keepAliveTimeout in ms.
    #[arg(long)]
    pub keep_alive_timeout_ms: Option<u64>,
    /// keepAliveTimeoutBuffer in ms: an idle connection closes this long after the
    /// keepAliveTimeout it advertises (default 1000).
    #[arg(long)]
    pub keep_alive_timeout_buffer_ms: Option<u64>,
    /// headersTimeout in ms.
    #[arg(long)]
    pub headers_timeout_ms: Option<u64>,
    /// requestTimeout in ms.
    #[arg(long)]
    pub request_timeout_ms: Option<u64>,
    /// On SIGTERM/SIGINT: how long requests under way may take before their connections
    /// are cut.
    #[arg(long, default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
    /// Serve the socket systemd passes (LISTEN_FDS/LISTEN_PID); without the flag it is
    /// still used when present. With the flag its absence is an error.
    #[arg(long)]
    pub systemd: bool,
    /// Serve the counters (`Server::stats`) in Prometheus text format at
    /// `http://HOST:PORT/metrics` on this port.
    #[arg(long)]
    pub metrics_port: Option<u16>,
}

/// The server and its metrics endpoint, if any.
pub struct Served {
    pub server: Server,
    pub metrics: Option<Server>,
}

impl Args {
    /// `--port`, else `PORT`, else 8080; a `PORT` that is not a port number is an error.
    pub fn port(&self) -> Result<u16, String> {
        if let Some(p) = self.port {
            return Ok(p);
        }
        match std::env::var("PORT") {
            Ok(v) => v
                .trim()
                .parse()
                .map_err(|_| format!("PORT={v:?} is not a port number (0-65535)")),
            Err(std::env::VarError::NotPresent) => Ok(8080),
            Err(e) => Err(format!("PORT: {e}")),
        }
    }

    /// Applies the options to a builder.
    pub fn apply(&self, mut b: ServerBuilder) -> ServerBuilder {
        if let Some(n) = self.shards {
            b = b.shards(n.into());
        }
        b = b.backend(self.backend).reuse_port(self.reuse_port);
        let ms = Duration::from_millis;
        if let Some(v) = self.timeout_ms {
            b = b.timeout(ms(v));
        }
        if let Some(v) = self.keep_alive_timeout_ms {
            b = b.keep_alive_timeout(ms(v));
        }
        if let Some(v) = self.keep_alive_timeout_buffer_ms {
            b = b.keep_alive_timeout_buffer(ms(v));
        }
        if let Some(v) = self.headers_timeout_ms {
            b = b.headers_timeout(ms(v));
        }
        if let Some(v) = self.request_timeout_ms {
            b = b.request_timeout(ms(v));
        }
        b
    }

    /// Listens (on the systemd socket when there is one, else `--host`/`--port`) and logs
    /// the start-up line; exits 1 (after one log line) on failure. SIGTERM/SIGINT are
    /// blocked from here on: [`run`](Self::run) takes them.
    pub fn serve(&self, name: &str, b: ServerBuilder) -> Served {
        signals::block();
        let b = self.apply(b);
        let listened = match ListenAddr::from_systemd() {
            Some(addr) => {
                // Not for our children (sd_listen_fds(unset_environment = 1)).
                std::env::remove_var("LISTEN_FDS");
                std::env::remove_var("LISTEN_PID");
                std::env::remove_var("LISTEN_FDNAMES");
                tracing::info!("{name}: socket activation: serving the inherited {addr}");
                b.listen(addr)
            }
            None if self.systemd => fail(
                name,
                "--systemd: no socket passed (LISTEN_FDS/LISTEN_PID unset or not for this process)",
            ),
            None => {
                let port = self.port().unwrap_or_else(|e| fail(name, &e));
                b.listen((self.host.as_str(), port))
            }
        };
        let server = listened.unwrap_or_else(|e| fail(name, &e.to_string()));
        tracing::info!(
            "{name} listening on {} (backend {}, {} shards)",
            server.local_addr().map_or_else(
                || server.listen_addr().to_string(),
                |a| format!("http://{a}")
            ),
            server.backend(),
            server.shard_count()
        );
        let metrics = self.metrics_port.map(|port| {
            let m = metrics_server(&server, self.backend, (self.host.as_str(), port))
                .unwrap_or_else(|e| fail(name, &format!("metrics: {e}")));
            tracing::info!(
                "{name}: metrics on http://{}/metrics",
                m.local_addr().expect("tcp")
            );
            m
        });
        Served { server, metrics }
    }

    /// Serves until SIGTERM/SIGINT, then shuts down gracefully and exits 0 (1 if a shard
    /// failed, or at once with 1 on a second signal).
    pub fn run(&self, name: &str, served: Served) -> ! {
        let sig = signals::wait();
        let grace = Duration::from_millis(self.shutdown_grace_ms);
        tracing::info!("{name}: {sig}: shutting down (grace {grace:?})");
        let who = name.to_string();
        std::thread::spawn(move || {
            // A second signal does not wait for the drain.
            let sig = signals::wait();
            tracing::warn!("{who}: {sig} again: exiting without waiting");
            std::process::exit(1)
        });
        let t0 = Instant::now();
        let res = served.server.shutdown(grace);
        if let Some(m) = served.metrics {
            let _ = m.shutdown(Duration::ZERO);
        }
        match res {
            Ok(()) => {
                tracing::info!("{name}: shutdown complete in {:?}", t0.elapsed());
                std::process::exit(0)
            }
            Err(e) => fail(name, &format!("shutdown: {e}")),
        }
    }
}

/// A one-shard server answering `GET /metrics` with `server`'s counters.
fn metrics_server(
    server: &Server,
    backend: BackendKind,
    addr: (&str, u16),
) -> Result<Server, ringhttp::Error> {
    let stats = server.stats_reader();
    ServerBuilder::new()
        .shards(1)
        .backend(backend)
        .on_request(move |req, mut res| {
            if req.url() != "/metrics" {
                res.set_status_code(404);
                res.end_with("not found: try /metrics\n");
                return;
            }
            let _ = res.set_header("Content-Type", "text/plain; version=0.0.4");
            res.end_with(stats.stats().prometheus());
        })
        .listen(addr)
}

/// Logs a start-up failure and exits 1.
pub fn fail(name: &str, msg: &str) -> ! {
    tracing::error!("{name}: {msg}");
    std::process::exit(1)
}

/// Logs to stderr through `tracing`: level from `RUST_LOG` (default info), colour only
/// when stderr is a terminal.
pub fn init_logging() {
    use std::io::IsTerminal;
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
