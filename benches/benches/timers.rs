//! Per-shard timing wheel with 100k live timers (deadlines spread over 120 s, like
//! inactivity timeouts of 100k idle connections).
#![forbid(unsafe_code)]
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ringhttp::shard::timer::{TimerId, TimerWheel};

const LIVE: u64 = 100_000;
/// Operations per timed chunk in `iter_custom` benches.
const CHUNK: u64 = 10_000;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A wheel with `LIVE` timers, deadlines spread over 120 s.
fn populated(t0: Instant) -> (TimerWheel, Vec<TimerId>) {
    let mut w = TimerWheel::with_capacity(t0, (LIVE + CHUNK) as usize);
    let ids = (0..LIVE)
        .map(|i| w.insert(t0 + ms(1 + i * 120_000 / LIVE), i))
        .collect();
    (w, ids)
}

fn bench_timers(c: &mut Criterion) {
    let t0 = Instant::now();
    let mut g = c.benchmark_group("timers_100k");
    g.throughput(Throughput::Elements(1));

    // insert: timed in chunks; each chunk is cancelled untimed, so the wheel stays ~100k.
    g.bench_function("insert", |b| {
        let (mut w, _) = populated(t0);
        let mut ids = Vec::with_capacity(CHUNK as usize);
        let mut n = 0u64;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let k = left.min(CHUNK);
                let start = Instant::now();
                for _ in 0..k {
                    n += 1;
                    ids.push(w.insert(t0 + ms(1 + n % 120_000), n));
                }
                total += start.elapsed();
                for id in ids.drain(..) {
                    w.cancel(id);
                }
                left -= k;
            }
            total
        })
    });

    // cancel: timers inserted untimed, cancelled timed.
    g.bench_function("cancel", |b| {
        let (mut w, _) = populated(t0);
        let mut ids = Vec::with_capacity(CHUNK as usize);
        let mut n = 0u64;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let k = left.min(CHUNK);
                for _ in 0..k {
                    n += 1;
                    ids.push(w.insert(t0 + ms(1 + n % 120_000), n));
                }
                let start = Instant::now();
                for id in ids.drain(..) {
                    black_box(w.cancel(id));
                }
                total += start.elapsed();
                left -= k;
            }
            total
        })
    });

    // reset later: the inactivity-timeout pattern (lazy re-arm, one store).
    g.bench_function("reset_later", |b| {
        let (mut w, ids) = populated(t0);
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            let id = ids[(n % LIVE) as usize];
            black_box(w.reset(id, t0 + ms(120_000) + Duration::from_micros(n)))
        })
    });

    // reset earlier: every reset moves the timer to an earlier tick (unlink + re-file).
    g.bench_function("reset_earlier", |b| {
        let top = t0 + ms(10_000_000);
        let mut w = TimerWheel::with_capacity(t0, LIVE as usize);
        let ids: Vec<TimerId> = (0..LIVE).map(|i| w.insert(top, i)).collect();
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            let round = (n / LIVE) % 5_000_000;
            let id = ids[(n % LIVE) as usize];
            black_box(w.reset(id, top - ms(1 + round)))
        })
    });

    g.bench_function("next_deadline", |b| {
        let (w, _) = populated(t0);
        b.iter(|| black_box(&w).next_deadline())
    });

    // poll_expired: advance 10 ms, expiring ~8 timers of 100k (steady state: they are
    // re-armed 120 s later, untimed), including cascades as time moves on.
    g.throughput(Throughput::Elements(1));
    g.bench_function("poll_10ms_step", |b| {
        let (mut w, _) = populated(t0);
        let mut now = t0;
        let mut out = Vec::with_capacity(1024);
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                now += ms(10);
                out.clear();
                let start = Instant::now();
                w.poll_expired(now, &mut out);
                total += start.elapsed();
                for &p in &out {
                    w.insert(now + ms(120_000), p);
                }
            }
            total
        })
    });

    // poll_expired of a batch: 1 s worth of deadlines (~833 timers) fire in one poll.
    g.throughput(Throughput::Elements(LIVE / 120));
    g.bench_function("poll_batch_1s", |b| {
        b.iter_batched_ref(
            || populated(t0).0,
            |w| {
                let mut out = Vec::with_capacity(1024);
                w.poll_expired(t0 + ms(1_000), &mut out);
                black_box(out.len())
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_timers);
criterion_main!(benches);
