//! Bounded random fuzzing on stable: `stable_fuzz SECONDS [TARGET...]`.
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args
        .next()
        .map(|s| s.parse().expect("SECONDS"))
        .unwrap_or(60);
    let mut targets: Vec<String> = args.collect();
    if targets.is_empty() {
        targets = vec!["request_head".into(), "chunked".into()];
    }
    for t in targets {
        let f: fn(&[u8]) = match t.as_str() {
            "request_head" => ringhttp_fuzz::request_head,
            "chunked" => ringhttp_fuzz::chunked,
            other => panic!("unknown target {other}"),
        };
        let seeds = ringhttp_fuzz::load_corpus(&t);
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let start = Instant::now();
        let n = ringhttp_fuzz::stable_loop(
            f,
            &seeds,
            seed,
            start + Duration::from_secs(secs),
            u64::MAX,
        );
        println!(
            "{t}: {n} inputs in {:.1}s (seed {seed:#x}), no failures",
            start.elapsed().as_secs_f64()
        );
    }
}
