//! Response encoding: the TechEmpower plaintext head and chunked framing.
#![forbid(unsafe_code)]
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ringhttp::proto::h1::encode;
use ringhttp::shard::date::DateCache;

fn bench_encode(c: &mut Criterion) {
    let date = DateCache::new();
    let mut g = c.benchmark_group("encode");
    g.bench_function("plaintext_response", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            encode::status_line(&mut out, black_box(200), "OK");
            encode::header(&mut out, b"Content-Type", b"text/plain");
            encode::header(&mut out, b"Server", b"ringhttp");
            encode::header(&mut out, b"Date", date.value());
            out.extend_from_slice(b"Content-Length: ");
            encode::push_u64(&mut out, black_box(13));
            out.extend_from_slice(b"\r\n\r\nHello, World!");
            out.len()
        })
    });
    let data = vec![b'y'; 16 * 1024];
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("chunk_16k", |b| {
        let mut out = Vec::with_capacity(32 * 1024);
        b.iter(|| {
            out.clear();
            encode::chunk(&mut out, black_box(&data));
            out.len()
        })
    });
    g.bench_function("header_validation", |b| {
        b.iter(|| {
            encode::is_token(black_box(b"Content-Type"))
                && encode::is_valid_value(black_box(b"text/plain; charset=utf-8"))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_encode);
criterion_main!(benches);
