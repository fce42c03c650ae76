//! The per-shard cached Date header.
#![forbid(unsafe_code)]
use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion};
use ringhttp::shard::date::DateCache;

fn bench_date(c: &mut Criterion) {
    let mut g = c.benchmark_group("date");
    let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);

    g.bench_function("update_same_second", |b| {
        let mut d = DateCache::new();
        d.update(t);
        b.iter(|| black_box(&mut d).update(black_box(t)))
    });

    g.bench_function("update_new_second", |b| {
        let mut d = DateCache::new();
        let mut s = 1_700_000_000u64;
        b.iter(|| {
            s += 1;
            black_box(&mut d).update(UNIX_EPOCH + Duration::from_secs(s))
        })
    });

    g.bench_function("value_copy", |b| {
        let d = DateCache::new();
        let mut buf = [0u8; 64];
        b.iter(|| {
            buf[..29].copy_from_slice(black_box(&d).value());
            black_box(&buf);
        })
    });

    g.bench_function("system_time_now_and_update", |b| {
        let mut d = DateCache::new();
        b.iter(|| black_box(&mut d).update(SystemTime::now()))
    });
    g.finish();
}

criterion_group!(benches, bench_date);
criterion_main!(benches);
