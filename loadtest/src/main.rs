//! `ringload`: wrk-compatible load generator and `ringload compare`.
#![forbid(unsafe_code)]

use anyhow::{bail, Context, Result};
use clap::Parser;
use ringload::cli::{parse_header, Cli, Command, LoadArgs};
use ringload::client::{Request, Url};
use ringload::load::{self, Backend, LoadConfig};
use ringload::report::{self, RunInfo};
use std::io::IsTerminal;
use std::time::Duration;

fn main() {
    let cli = Cli::parse();
    let r = match cli.command {
        Some(Command::Compare(args)) => ringload::compare::run(&args),
        None => run_load(&cli.load),
    };
    if let Err(e) = r {
        eprintln!("ringload: {e:#}");
        std::process::exit(1);
    }
}

/// Builds the run configuration from wrk-style flags.
fn config(a: &LoadArgs) -> Result<(LoadConfig, RunInfo)> {
    let Some(url_s) = a.url.as_deref() else {
        bail!("missing URL (usage: ringload [flags] http://host:port/path)")
    };
    let url = Url::parse(url_s)?;
    let addr = url
        .socket_addr()
        .with_context(|| format!("resolving {}", url.host))?;
    let mut req = Request::get(&url.path);
    req.method = a.method.to_ascii_uppercase();
    for h in &a.headers {
        req.headers
            .push(parse_header(h).map_err(anyhow::Error::msg)?);
    }
    if let Some(b) = &a.body {
        req.body = b.clone().into_bytes();
    }
    if let Some(f) = &a.body_file {
        req.body =
            std::fs::read(f).with_context(|| format!("reading --body-file {}", f.display()))?;
    }
    if a.connections < a.threads {
        bail!("number of connections must be >= threads");
    }
    if a.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        bail!("--rate must be positive");
    }
    let duration = match (a.duration, a.requests) {
        (Some(d), _) => d,
        (None, Some(_)) => Duration::from_secs(24 * 3600),
        (None, None) => Duration::from_secs(10),
    };
    let cfg = LoadConfig {
        addr,
        head_method: req.expects_bodiless_response(),
        request: req.to_bytes(&url.host_header()),
        threads: a.threads,
        connections: a.connections,
        duration,
        timeout: a.timeout,
        pipeline: a.pipeline.max(1),
        requests: a.requests,
        rate: a.rate,
        pin_cpu: a.cpu,
        backend: match a.backend.as_str() {
            "uring" => Backend::Uring,
            "poll" => Backend::Poll,
            _ => Backend::Auto,
        },
        progress: std::io::stdout().is_terminal() && !a.json,
    };
    let info = RunInfo {
        url: url_s.to_string(),
        threads: a.threads.min(a.connections),
        connections: a.connections,
        pipeline: cfg.pipeline,
        rate: a.rate,
    };
    Ok((cfg, info))
}

fn run_load(a: &LoadArgs) -> Result<()> {
    let (cfg, info) = config(a)?;
    if !a.json {
        print!("{}", report::header(&info, cfg.duration));
    }
    let r = load::run(&cfg)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report::json(&info, &r))?
        );
    } else {
        print!("{}", report::text(&info, &r, a.latency));
    }
    Ok(())
}
