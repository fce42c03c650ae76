//! Command line: wrk's common flags plus ringload's own, and the `compare` subcommand.

use clap::{Args, Parser, Subcommand};
use std::time::Duration;

/// wrk-compatible HTTP/1.1 load generator on io_uring.
#[derive(Debug, Parser)]
#[command(name = "ringload", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start servers and compare them side by side under the same load shapes.
    Compare(CompareArgs),
}

/// Flags of a load run (`ringload [flags] URL`).
#[derive(Debug, Args, Clone)]
pub struct LoadArgs {
    /// Target URL, http://host[:port]/path
    pub url: Option<String>,
    /// Number of threads to use
    #[arg(short = 't', long = "threads", default_value_t = 2)]
    pub threads: usize,
    /// Connections to keep open
    #[arg(short = 'c', long = "connections", default_value_t = 10)]
    pub connections: usize,
    /// Duration of test (e.g. 10s, 1m, 500ms); with --requests, a cap (default none)
    #[arg(short = 'd', long = "duration", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Print latency statistics
    #[arg(short = 'L', long = "latency")]
    pub latency: bool,
    /// Add header to request ('Name: value'), repeatable
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Socket/request timeout
    #[arg(short = 'T', long = "timeout", value_parser = parse_duration, default_value = "2s")]
    pub timeout: Duration,
    /// Requests per send (HTTP pipelining depth)
    #[arg(long = "pipeline", default_value_t = 1)]
    pub pipeline: usize,
    /// Request method
    #[arg(short = 'm', long = "method", default_value = "GET")]
    pub method: String,
    /// Request body
    #[arg(long = "body", conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Request body read from a file
    #[arg(long = "body-file")]
    pub body_file: Option<std::path::PathBuf>,
    /// Stop after exactly this many responses
    #[arg(short = 'n', long = "requests")]
    pub requests: Option<u64>,
    /// Constant throughput in requests/s (latency corrected for coordinated omission)
    #[arg(short = 'R', long = "rate")]
    pub rate: Option<f64>,
    /// Print results as JSON
    #[arg(long = "json")]
    pub json: bool,
    /// Pin the load threads to this CPU
    #[arg(long = "cpu")]
    pub cpu: Option<usize>,
    /// I/O loop: auto (io_uring, else poll), uring, poll
    #[arg(long = "backend", default_value = "auto", value_parser = ["auto", "uring", "poll"])]
    pub backend: String,
}

/// Flags of `ringload compare`.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// Rounds; servers alternate within each round
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Duration of each measurement
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    pub duration: Duration,
    /// Connections
    #[arg(long, default_value_t = 64)]
    pub conns: usize,
    /// Load shapes: plain, or pipeN for N pipelined requests
    #[arg(
        long = "pipeline-shapes",
        value_delimiter = ',',
        default_value = "plain,pipe16"
    )]
    pub shapes: Vec<String>,
    /// Pin servers to CPU 0 and the load generator to CPU 1
    #[arg(long)]
    pub pin: bool,
    /// Write a bar chart to this SVG file
    #[arg(long)]
    pub svg: Option<std::path::PathBuf>,
    /// Print results as JSON
    #[arg(long)]
    pub json: bool,
    /// Load threads
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// NAME=CMD: each CMD runs via `sh -c` with PORT set and must serve GET / on 127.0.0.1:$PORT
    #[arg(required = true)]
    pub servers: Vec<String>,
}

/// Parses wrk-style durations: `10` (seconds), `10s`, `500ms`, `2m`, `1h`, `1.5s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration: {s:?}"))?;
    let secs = match unit.to_ascii_lowercase().as_str() {
        "" | "s" => v,
        "ms" => v / 1e3,
        "us" => v / 1e6,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        _ => return Err(format!("invalid duration unit in {s:?} (use ms, s, m, h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration: {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Splits `Name: value` header flags.
pub fn parse_header(h: &str) -> Result<(String, String), String> {
    let (n, v) = h
        .split_once(':')
        .ok_or_else(|| format!("header without ':': {h:?}"))?;
    let n = n.trim();
    if n.is_empty() {
        return Err(format!("empty header name: {h:?}"));
    }
    Ok((n.to_string(), v.trim().to_string()))
}
