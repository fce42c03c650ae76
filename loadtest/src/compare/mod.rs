//! `ringload compare`: side-by-side server comparison in one run. Servers
//! alternate within each round (A B C A B C ...) so drift hits all alike;
//! medians are reported with ratios to the first server.

mod server;
mod svg;

use crate::cli::CompareArgs;
use crate::client::Request;
use crate::load::{self, Backend, LoadConfig};
use anyhow::{bail, Context, Result};
use serde_json::json;
use server::Server;
use std::time::Duration;

/// One server under one load shape (medians over rounds).
#[derive(Debug, Clone)]
pub struct Row {
    /// Server name.
    pub server: String,
    /// Shape name (`plain`, `pipe16`).
    pub shape: String,
    /// Requests per second.
    pub rps: f64,
    /// Median latency, µs.
    pub p50: f64,
    /// 99th percentile latency, µs.
    pub p99: f64,
    /// Server CPU time per request, µs.
    pub cpu_us: f64,
    /// Errors of all kinds summed over rounds.
    pub errors: u64,
}

/// Parses `plain` (depth 1) or `pipeN`.
fn shape_depth(s: &str) -> Result<usize> {
    match s {
        "plain" => Ok(1),
        _ => s
            .strip_prefix("pipe")
            .and_then(|n| n.parse().ok())
            .filter(|&n: &usize| n >= 1)
            .with_context(|| format!("unknown load shape {s:?} (use plain or pipeN)")),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

struct Sample {
    rps: f64,
    p50: f64,
    p99: f64,
    cpu_us: f64,
    errors: u64,
}

fn load_config(port: u16, args: &CompareArgs, depth: usize, duration: Duration) -> LoadConfig {
    LoadConfig {
        addr: ([127, 0, 0, 1], port).into(),
        request: Request::get("/").to_bytes(&format!("127.0.0.1:{port}")),
        head_method: false,
        threads: args.threads,
        connections: args.conns,
        duration,
        timeout: Duration::from_secs(2),
        pipeline: depth,
        requests: None,
        rate: None,
        pin_cpu: args.pin.then_some(1),
        backend: Backend::Auto,
        progress: false,
    }
}

fn measure(srv: &Server, args: &CompareArgs, depth: usize) -> Result<Sample> {
    let cpu0 = srv.cpu_seconds();
    let r = load::run(&load_config(srv.port, args, depth, args.duration))?;
    let cpu = srv.cpu_seconds() - cpu0;
    let h = &r.stats.latency;
    let q = |x| {
        if h.is_empty() {
            f64::NAN
        } else {
            h.value_at_quantile(x) as f64
        }
    };
    let e = &r.stats.errors;
    Ok(Sample {
        rps: r.stats.requests as f64 / r.elapsed.as_secs_f64(),
        p50: q(0.5),
        p99: q(0.99),
        cpu_us: cpu * 1e6 / r.stats.requests.max(1) as f64,
        errors: e.socket_total() + e.status,
    })
}

/// Runs the comparison and prints the table (and SVG/JSON if asked).
pub fn run(args: &CompareArgs) -> Result<()> {
    let servers: Vec<(String, String)> = args
        .servers
        .iter()
        .map(|s| {
            s.split_once('=')
                .map(|(n, c)| (n.to_string(), c.to_string()))
        })
        .collect::<Option<_>>()
        .context("servers are given as NAME=CMD")?;
    let shapes: Vec<(String, usize)> = args
        .shapes
        .iter()
        .map(|s| Ok((s.clone(), shape_depth(s)?)))
        .collect::<Result<_>>()?;
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let mut samples: Vec<Vec<Vec<Sample>>> = servers
        .iter()
        .map(|_| shapes.iter().map(|_| Vec::new()).collect())
        .collect();
    for round in 0..args.rounds {
        for (si, (name, cmd)) in servers.iter().enumerate() {
            eprintln!("# round {}/{}: {name}", round + 1, args.rounds);
            let srv = Server::start(cmd, args.pin.then_some(0))
                .with_context(|| format!("server {name}"))?;
            load::run(&load_config(srv.port, args, 1, Duration::from_millis(500)))
                .context("warm-up")?;
            for (hi, (shape, depth)) in shapes.iter().enumerate() {
                let s = measure(&srv, args, *depth).with_context(|| format!("{name} {shape}"))?;
                samples[si][hi].push(s);
            }
            drop(srv);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let mut rows = Vec::new();
    for (hi, (shape, _)) in shapes.iter().enumerate() {
        for (si, (name, _)) in servers.iter().enumerate() {
            let ss = &samples[si][hi];
            let col = |f: fn(&Sample) -> f64| median(ss.iter().map(f).collect());
            rows.push(Row {
                server: name.clone(),
                shape: shape.clone(),
                rps: col(|s| s.rps),
                p50: col(|s| s.p50),
                p99: col(|s| s.p99),
                cpu_us: col(|s| s.cpu_us),
                errors: ss.iter().map(|s| s.errors).sum(),
            });
        }
    }
    let names: Vec<String> = servers.iter().map(|s| s.0.clone()).collect();
    let shape_names: Vec<String> = shapes.iter().map(|s| s.0.clone()).collect();
    if let Some(path) = &args.svg {
        std::fs::write(path, svg::render(&rows, &names, &shape_names))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                let base = first(&rows, &r.shape);
                json!({"server": r.server, "shape": r.shape, "req_per_sec": r.rps, "p50_us": r.p50,
                       "p99_us": r.p99, "cpu_us_per_req": r.cpu_us, "errors": r.errors,
                       "rps_ratio": r.rps / base.rps, "cpu_ratio": r.cpu_us / base.cpu_us})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", table(args, &rows));
    }
    Ok(())
}

fn first<'a>(rows: &'a [Row], shape: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.shape == shape)
        .expect("every shape has rows")
}

fn table(args: &CompareArgs, rows: &[Row]) -> String {
    let mut o = format!(
        "# ringload -t{} -c{} -d{:?}, {}, {} rounds, medians; ratios are to the first server\n",
        args.threads,
        args.conns,
        args.duration,
        if args.pin {
            "server on cpu0, load on cpu1"
        } else {
            "unpinned"
        },
        args.rounds
    );
    o += &format!(
        "{:<14}{:<8}{:>11}{:>9}{:>9}{:>11}{:>9}{:>9}  notes\n",
        "server", "shape", "req/s", "p50 us", "p99 us", "cpu us/req", "x req/s", "x cpu"
    );
    for r in rows {
        let b = first(rows, &r.shape);
        let notes = if r.errors > 0 {
            format!("errors={}", r.errors)
        } else {
            String::new()
        };
        o += &format!(
            "{:<14}{:<8}{:>11.0}{:>9.0}{:>9.0}{:>11.2}{:>9.2}{:>9.2}  {notes}\n",
            r.server,
            r.shape,
            r.rps,
            r.p50,
            r.p99,
            r.cpu_us,
            r.rps / b.rps,
            r.cpu_us / b.cpu_us
        );
    }
    o
}
