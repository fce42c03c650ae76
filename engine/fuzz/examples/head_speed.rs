//! Rough timing of the hot path: `cargo run --release --example head_speed`.
use std::hint::black_box;
use std::time::Instant;

use ringhttp::proto::h1::{parse_request_head, Limits};

fn main() {
    let limits = Limits::default();
    let cases: [(&str, &[u8]); 3] = [
        ("small GET", b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"),
        ("incomplete", b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"),
        (
            "browser-like",
            b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: a=b; c=d\r\n\r\n",
        ),
    ];
    // Minimum over batches: the machine may be shared, the minimum is the cost itself.
    let min_ns = |f: &mut dyn FnMut()| {
        let mut best = f64::MAX;
        for _ in 0..40 {
            let n = 50_000u32;
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            best = best.min(t.elapsed().as_nanos() as f64 / f64::from(n));
        }
        best
    };
    for (name, req) in cases {
        let base = min_ns(&mut || {
            let mut h = [httparse::EMPTY_HEADER; 32];
            let mut r = httparse::Request::new(&mut h);
            let _ = black_box(r.parse(black_box(req)));
        });
        let ours = min_ns(&mut || {
            let _ = black_box(parse_request_head(black_box(req), &limits));
        });
        println!("{name}: parse_request_head {ours:.1} ns (httparse alone {base:.1} ns)");
    }
}
