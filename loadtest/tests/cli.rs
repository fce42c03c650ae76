//! wrk-compatible flag parsing and the wrk-style text output.

mod common;

use clap::Parser;
use common::{Opts, TestServer};
use ringload::cli::{parse_duration, parse_header, Cli};
use std::time::Duration;

#[test]
fn wrk_flags_parse() {
    let cli = Cli::try_parse_from([
        "ringload",
        "-t4",
        "-c",
        "100",
        "-d30s",
        "--latency",
        "-H",
        "Accept: */*",
        "--header",
        "X-A: b",
        "--timeout",
        "5s",
        "http://127.0.0.1:8080/x",
    ])
    .unwrap();
    let a = cli.load;
    assert_eq!((a.threads, a.connections), (4, 100));
    assert_eq!(a.duration, Some(Duration::from_secs(30)));
    assert!(a.latency);
    assert_eq!(a.headers, vec!["Accept: */*", "X-A: b"]);
    assert_eq!(a.timeout, Duration::from_secs(5));
    assert_eq!(a.url.as_deref(), Some("http://127.0.0.1:8080/x"));
    let b = Cli::try_parse_from([
        "ringload",
        "--pipeline",
        "16",
        "-R",
        "1000",
        "-n",
        "5",
        "http://h/",
    ])
    .unwrap()
    .load;
    assert_eq!(
        (b.pipeline, b.rate, b.requests),
        (16, Some(1000.0), Some(5))
    );
    assert!(Cli::try_parse_from(["ringload", "-t", "x", "http://h/"]).is_err());
    let c = Cli::try_parse_from([
        "ringload",
        "compare",
        "--rounds",
        "2",
        "--pin",
        "a=cmd one",
        "b=cmd two",
    ])
    .unwrap();
    assert!(c.command.is_some());
}

#[test]
fn durations_and_headers() {
    assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
    assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    assert!(parse_duration("10x").is_err() && parse_duration("s").is_err());
    assert_eq!(parse_header("Name:  v "), Ok(("Name".into(), "v".into())));
    assert!(parse_header("novalue").is_err());
}

/// The regexes compare.py applies to wrk's output must work on ours.
#[test]
fn text_output_is_wrk_compatible() {
    let srv = TestServer::start(Opts::default());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ringload"))
        .args(["-t1", "-c2", "-d", "300ms", "--latency", &srv.url()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .expect("Requests/sec line");
    assert!(rps.trim().parse::<f64>().unwrap() > 0.0);
    assert!(text.contains("  Latency Distribution\n"));
    for label in ["50%", "99%"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .expect(label);
        let v = line.trim_start()[label.len()..].trim();
        let num = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        assert!(
            num.parse::<f64>().is_ok() && ["us", "ms", "s"].contains(&&v[num.len()..]),
            "{line:?}"
        );
    }
    assert!(text.contains(" requests in "));
    assert!(
        !text.contains('\r'),
        "no progress line when stdout is not a terminal"
    );
}
