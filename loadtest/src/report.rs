//! Output: wrk's text summary (so wrk parsers work on it) and a JSON document.

use crate::load::LoadResult;
use serde_json::{json, Value};
use std::fmt::Write;

/// What the run was, for the report header.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The URL as given.
    pub url: String,
    /// Threads used.
    pub threads: usize,
    /// Connections used.
    pub connections: usize,
    /// Pipelining depth.
    pub pipeline: usize,
    /// Target rate, if paced.
    pub rate: Option<f64>,
}

/// wrk's time formatting: 123.45us, 1.23ms, 2.00s.
pub fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.2}us")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

fn fmt_bytes(b: f64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.2}{}", units[i])
}

fn fmt_count(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.2}k", v / 1e3)
    } else {
        format!("{v:.2}")
    }
}

/// The wrk-style text summary.
pub fn text(info: &RunInfo, r: &LoadResult, latency: bool) -> String {
    let h = &r.stats.latency;
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let mut o = String::new();
    let _ = writeln!(o, "  Thread Stats   Avg      Stdev     Max   +/- Stdev");
    let (mean, sd, max) = (h.mean(), h.stdev(), h.max() as f64);
    let within = within_stdev(r, mean, sd);
    let _ = writeln!(
        o,
        "    Latency {:>9} {:>9} {:>9} {:>8.2}%",
        fmt_us(mean),
        fmt_us(sd),
        fmt_us(max),
        within
    );
    let per_thread = r.stats.requests as f64 / secs / info.threads as f64;
    let _ = writeln!(
        o,
        "    Req/Sec {:>9} {:>9} {:>9} {:>8.2}%",
        fmt_count(per_thread),
        "-",
        "-",
        100.0
    );
    if latency {
        let _ = writeln!(o, "  Latency Distribution");
        for (label, q) in [
            ("50", 0.5),
            ("75", 0.75),
            ("90", 0.9),
            ("99", 0.99),
            ("99.9", 0.999),
        ] {
            let _ = writeln!(
                o,
                "  {:>5}% {:>9}",
                label,
                fmt_us(h.value_at_quantile(q) as f64)
            );
        }
    }
    let _ = writeln!(
        o,
        "  {} requests in {}, {} read",
        r.stats.requests,
        fmt_secs(secs),
        fmt_bytes(r.stats.bytes as f64)
    );
    let e = &r.stats.errors;
    if e.socket_total() > 0 {
        let _ = writeln!(
            o,
            "  Socket errors: connect {}, read {}, write {}, timeout {}",
            e.connect, e.read, e.write, e.timeout
        );
    }
    if e.status > 0 {
        let _ = writeln!(o, "  Non-2xx or 3xx responses: {}", e.status);
    }
    let _ = writeln!(o, "Requests/sec: {:>10.2}", r.stats.requests as f64 / secs);
    let _ = writeln!(
        o,
        "Transfer/sec: {:>10}",
        fmt_bytes(r.stats.bytes as f64 / secs)
    );
    o
}

/// The "Running ..." header wrk prints before the run.
pub fn header(info: &RunInfo, duration: std::time::Duration) -> String {
    format!(
        "Running {} test @ {}\n  {} threads and {} connections\n",
        fmt_secs(duration.as_secs_f64()),
        info.url,
        info.threads,
        info.connections
    )
}

fn fmt_secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2}s")
    } else {
        format!("{:.2}ms", s * 1e3)
    }
}

/// Share of recorded latencies within one standard deviation of the mean.
fn within_stdev(r: &LoadResult, mean: f64, sd: f64) -> f64 {
    let h = &r.stats.latency;
    if h.is_empty() {
        return 0.0;
    }
    let lo = (mean - sd).max(0.0) as u64;
    let hi = (mean + sd) as u64;
    let n: u64 = h
        .iter_recorded()
        .filter(|v| (lo..=hi).contains(&v.value_iterated_to()))
        .map(|v| v.count_at_value())
        .sum();
    n as f64 * 100.0 / h.len() as f64
}

/// The JSON document (`--json`).
pub fn json(info: &RunInfo, r: &LoadResult) -> Value {
    let h = &r.stats.latency;
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let q = |x: f64| {
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(x)
        }
    };
    let e = &r.stats.errors;
    json!({
        "url": info.url,
        "backend": r.backend,
        "threads": info.threads,
        "connections": info.connections,
        "pipeline": info.pipeline,
        "target_rate": info.rate,
        "duration_s": secs,
        "requests": r.stats.requests,
        "requests_per_sec": r.stats.requests as f64 / secs,
        "bytes": r.stats.bytes,
        "bytes_per_sec": r.stats.bytes as f64 / secs,
        "latency_us": {
            "min": if h.is_empty() { 0 } else { h.min() },
            "mean": h.mean(),
            "stdev": h.stdev(),
            "p50": q(0.5),
            "p90": q(0.9),
            "p99": q(0.99),
            "p99_9": q(0.999),
            "max": h.max(),
        },
        "errors": {
            "connect": e.connect,
            "read": e.read,
            "write": e.write,
            "timeout": e.timeout,
            "status": e.status,
        },
        "cpu_s": r.cpu.as_secs_f64(),
        "cpu_us_per_request": r.cpu.as_secs_f64() * 1e6 / (r.stats.requests.max(1) as f64),
    })
}
