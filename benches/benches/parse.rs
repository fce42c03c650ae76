//! Request parsing: the head parser on wrk's request, a browser-like request and a
//! pipelined burst; the body decoder on chunked and Content-Length bodies.
#![forbid(unsafe_code)]
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ringhttp::proto::h1::{
    parse_request_head, parse_request_head_reusing, BodyDecoder, Framing, Limits,
};

const WRK: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
const BROWSER: &[u8] = b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n\
Connection: keep-alive\r\nCookie: a=1; b=2; session=abcdef0123456789\r\n\
Upgrade-Insecure-Requests: 1\r\n\r\n";

fn bench_heads(c: &mut Criterion) {
    let limits = Limits::default();
    let mut g = c.benchmark_group("parse_head");
    g.bench_function("wrk_get", |b| {
        b.iter(|| {
            parse_request_head(black_box(WRK), &limits)
                .unwrap()
                .unwrap()
        })
    });
    // The strict parser as the shard calls it (recycled span vector) against httparse
    // alone: the price of the request-smuggling checks.
    g.bench_function("wrk_get_reusing", |b| {
        let mut spare = Vec::new();
        b.iter(|| {
            let head =
                parse_request_head_reusing(black_box(WRK), &limits, std::mem::take(&mut spare))
                    .unwrap()
                    .unwrap();
            spare = head.headers;
        })
    });
    g.bench_function("wrk_get_httparse_only", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            req.parse(black_box(WRK)).unwrap().unwrap()
        })
    });
    g.bench_function("browser_get", |b| {
        b.iter(|| {
            parse_request_head(black_box(BROWSER), &limits)
                .unwrap()
                .unwrap()
        })
    });
    g.bench_function("incomplete", |b| {
        let part = &BROWSER[..BROWSER.len() - 10];
        b.iter(|| {
            parse_request_head(black_box(part), &limits)
                .unwrap()
                .is_none()
        })
    });
    let burst: Vec<u8> = WRK.repeat(16);
    g.throughput(Throughput::Elements(16));
    g.bench_function("pipelined_16", |b| {
        b.iter(|| {
            let mut pos = 0;
            while pos < burst.len() {
                pos += parse_request_head(black_box(&burst[pos..]), &limits)
                    .unwrap()
                    .unwrap()
                    .len;
            }
            pos
        })
    });
    g.finish();
}

fn bench_bodies(c: &mut Criterion) {
    let limits = Limits::default();
    let payload = vec![b'x'; 64 * 1024];
    let mut chunked = Vec::new();
    for piece in payload.chunks(4096) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let mut g = c.benchmark_group("decode_body");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.bench_function("chunked_64k", |b| {
        b.iter(|| {
            let mut dec = BodyDecoder::new(Framing::Chunked, &limits);
            let mut n = 0;
            dec.decode(black_box(&chunked), &mut |d| n += d.len())
                .unwrap();
            assert!(dec.is_done());
            n
        })
    });
    g.bench_function("length_64k", |b| {
        b.iter(|| {
            let mut dec = BodyDecoder::new(Framing::Length(payload.len() as u64), &limits);
            let mut n = 0;
            dec.decode(black_box(&payload), &mut |d| n += d.len())
                .unwrap();
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench_heads, bench_bodies);
criterion_main!(benches);
