//! Every seed, plus a fixed number of mutated inputs, through each fuzz entry point.
use std::time::{Duration, Instant};

fn run(target: &str, f: fn(&[u8])) {
    let seeds = ringhttp_fuzz::load_corpus(target);
    assert!(seeds.len() >= 5, "{target}: seed corpus missing");
    let deadline = Instant::now() + Duration::from_secs(600);
    let n = ringhttp_fuzz::stable_loop(f, &seeds, 0x9e37_79b9_7f4a_7c15, deadline, 20_000);
    assert_eq!(n, 20_000);
}

#[test]
fn request_head_corpus_and_mutations() {
    run("request_head", ringhttp_fuzz::request_head);
}

#[test]
fn chunked_corpus_and_mutations() {
    run("chunked", ringhttp_fuzz::chunked);
}
