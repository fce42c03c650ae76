//! TechEmpower plaintext: `GET /` answers `Hello, World!` with exactly the headers the
//! benchmark asks for (Server, Date, Content-Type, Content-Length).
//!
//! The engine advertises keep-alive as Node does (`Connection: keep-alive`,
//! `Keep-Alive: timeout=5`); this example removes those two automatic headers, as a Node
//! handler would with `res.removeHeader()`, unless `--node-headers` is given. Keep-alive
//! itself is unchanged (HTTP/1.1 persists by default).
//!
//! `cargo run --release --example hello -- --port 8080 --shards 1`
mod common;

use clap::Parser;
use ringhttp::ServerBuilder;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    common: common::Args,
    /// Keep Node's automatic `Connection` / `Keep-Alive` response headers.
    #[arg(long)]
    node_headers: bool,
}

fn main() {
    common::init_logging();
    let cli = Cli::parse();
    let node_headers = cli.node_headers;
    let builder = ServerBuilder::new().on_request(move |_req, mut res| {
        if !node_headers {
            let _ = res.remove_header("Connection");
            let _ = res.remove_header("Keep-Alive");
        }
        let _ = res.write_head(
            200,
            [("Server", "ringhttp"), ("Content-Type", "text/plain")],
        );
        res.end_with(b"Hello, World!");
    });
    let server = cli.common.serve("hello", builder);
    cli.common.run("hello", server)
}
