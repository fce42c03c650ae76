//! TechEmpower plaintext: `GET /` answers `Hello, World!` with Server and Date headers.
//!
//! `cargo run --release --example hello -- --port 8080 --shards 1`
mod common;

use clap::Parser;
use ringhttp::ServerBuilder;

fn main() {
    common::init_logging();
    let args = common::Args::parse();
    let builder = ServerBuilder::new().on_request(|_req, mut res| {
        let _ = res.write_head(
            200,
            [("Content-Type", "text/plain"), ("Server", "ringhttp")],
        );
        res.end_with(b"Hello, World!");
    });
    let server = args.serve("hello", builder);
    if let Err(e) = server.wait() {
        eprintln!("hello: {e}");
        std::process::exit(1);
    }
}
