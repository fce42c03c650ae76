//! Command-line options shared by the examples.
use std::time::Duration;

use clap::Args as ClapArgs;
use ringhttp::{BackendKind, ServerBuilder};

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Port to listen on (default: env PORT, else 8080).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Shards (threads); default one per CPU.
    #[arg(long)]
    pub shards: Option<usize>,
    /// auto, uring or epoll (env RINGHTTP_BACKEND overrides auto).
    #[arg(long, default_value = "auto")]
    pub backend: BackendKind,
    /// server.timeout in ms (0 = off).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// keepAliveTimeout in ms.
    #[arg(long)]
    pub keep_alive_timeout_ms: Option<u64>,
    /// headersTimeout in ms.
    #[arg(long)]
    pub headers_timeout_ms: Option<u64>,
    /// requestTimeout in ms.
    #[arg(long)]
    pub request_timeout_ms: Option<u64>,
}

impl Args {
    pub fn port(&self) -> u16 {
        self.port
            .or_else(|| std::env::var("PORT").ok()?.parse().ok())
            .unwrap_or(8080)
    }

    /// Applies the options to a builder.
    pub fn apply(&self, mut b: ServerBuilder) -> ServerBuilder {
        if let Some(n) = self.shards {
            b = b.shards(n);
        }
        b = b.backend(self.backend);
        let ms = Duration::from_millis;
        if let Some(v) = self.timeout_ms {
            b = b.timeout(ms(v));
        }
        if let Some(v) = self.keep_alive_timeout_ms {
            b = b.keep_alive_timeout(ms(v));
        }
        if let Some(v) = self.headers_timeout_ms {
            b = b.headers_timeout(ms(v));
        }
        if let Some(v) = self.request_timeout_ms {
            b = b.request_timeout(ms(v));
        }
        b
    }

    /// Listens and prints the one start-up line.
    pub fn serve(&self, name: &str, b: ServerBuilder) -> ringhttp::Server {
        let addr = (self.host.as_str(), self.port());
        let server = match self.apply(b).listen(addr) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        };
        println!(
            "{name} listening on {} (backend {}, {} shards)",
            server.local_addr().map_or_else(
                || server.listen_addr().to_string(),
                |a| format!("http://{a}")
            ),
            server.backend(),
            server.shard_count()
        );
        server
    }
}

pub fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}
