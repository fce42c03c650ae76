//! Instruction-count companion to `benches/parse.rs` (timings on a shared machine are too
//! noisy to resolve a few ns). Run under callgrind with each mode and compare totals:
//!
//!     valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!         target/release/examples/parse_cost strict 200000
//!
//! Modes: `none` (loop only), `httparse` (tokenizing alone), `strict` (the engine's parser
//! with a recycled span vector, as the shard calls it).
#![forbid(unsafe_code)]
use std::hint::black_box;

use ringhttp::proto::h1::{parse_request_head_reusing, Limits};

const WRK: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "strict".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let limits = Limits::default();
    let mut spare = Vec::new();
    let mut total = 0usize;
    for _ in 0..n {
        total += match mode.as_str() {
            "none" => black_box(WRK).len(),
            "httparse" => {
                // As the engine calls it: uninitialised stack headers.
                let mut headers =
                    [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; 32];
                let mut req = httparse::Request::new(&mut []);
                match req.parse_with_uninit_headers(black_box(WRK), &mut headers) {
                    Ok(httparse::Status::Complete(n)) => n,
                    _ => 0,
                }
            }
            _ => {
                let head =
                    parse_request_head_reusing(black_box(WRK), &limits, std::mem::take(&mut spare))
                        .expect("valid")
                        .expect("complete");
                let len = head.len;
                spare = head.headers;
                len
            }
        };
    }
    println!("{mode}: {total}");
}
