//! An HTTP Garden "origin": every accepted request is answered `200` with a JSON object of
//! what was parsed — method, uri, version, headers (wire order and case) and body (after
//! chunked decoding) — every string base64 of the exact bytes.
//!
//! `cargo run --release --example echo -- --port 8080`
mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::Parser;
use ringhttp::ServerBuilder;
use serde_json::json;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    common: common::Args,
}

fn main() {
    common::init_logging();
    let args = Cli::parse().common;
    let builder = ServerBuilder::new().on_request(|req, mut res| {
        let head = req.head().clone();
        let raw = req.raw_head().to_vec();
        let version = format!("HTTP/1.{}", head.minor_version);
        req.read_to_end(move |body| {
            let headers: Vec<_> = head
                .headers
                .iter()
                .map(|h| json!([B64.encode(h.name.of(&raw)), B64.encode(h.value.of(&raw))]))
                .collect();
            let doc = json!({
                "method": B64.encode(head.method(&raw)),
                "uri": B64.encode(head.target(&raw)),
                "version": B64.encode(version),
                "headers": headers,
                "body": B64.encode(body),
            });
            let _ = res.set_header("Content-Type", "application/json");
            res.end_with(doc.to_string());
        });
    });
    let server = args.serve("echo", builder);
    args.run("echo", server)
}
