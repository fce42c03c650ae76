//! Running a load: splitting connections and budgets over threads, choosing
//! the io_uring or the poll backend, progress, and merging the results.

mod plan;
mod poll;
mod session;
mod uring;

use crate::ring::sys;
use crate::stats::Stats;
use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Which I/O loop to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// io_uring, falling back to poll if the ring cannot be set up.
    Auto,
    /// io_uring only; an error if unavailable.
    Uring,
    /// poll(2) with non-blocking sockets.
    Poll,
}

/// A complete description of one load run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Target address.
    pub addr: SocketAddr,
    /// One serialized request.
    pub request: Vec<u8>,
    /// The method is HEAD (responses have no body).
    pub head_method: bool,
    /// Threads, each with its own ring and connections.
    pub threads: usize,
    /// Total connections.
    pub connections: usize,
    /// Stop after this long.
    pub duration: Duration,
    /// A request unanswered this long counts as a timeout and its connection is replaced.
    pub timeout: Duration,
    /// Requests per send (pipelining depth), 1 for none.
    pub pipeline: usize,
    /// Stop after exactly this many responses.
    pub requests: Option<u64>,
    /// Constant total rate in requests per second (latency from intended send times).
    pub rate: Option<f64>,
    /// Pin load threads to this CPU.
    pub pin_cpu: Option<usize>,
    /// I/O loop choice.
    pub backend: Backend,
    /// Print a live progress line (to stderr) every second.
    pub progress: bool,
}

/// The merged outcome of a run.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Merged stats of all threads.
    pub stats: Stats,
    /// Wall time of the run (longest thread).
    pub elapsed: Duration,
    /// The backend actually used ("io_uring" or "poll").
    pub backend: &'static str,
    /// CPU time (user + system) this process spent during the run.
    pub cpu: Duration,
}

/// What one thread needs to know.
#[derive(Debug, Clone)]
pub(crate) struct ThreadSetup {
    index: usize,
    addr: SocketAddr,
    request: Vec<u8>,
    head_method: bool,
    connections: usize,
    depth: usize,
    quota: Option<u64>,
    rate: Option<f64>,
    duration: Duration,
    timeout: Duration,
}

/// State shared by the load threads and the progress reporter.
pub(crate) struct Shared {
    done: Vec<AtomicU64>,
    stop: AtomicBool,
}

impl Shared {
    fn publish(&self, index: usize, requests: u64) {
        self.done[index].store(requests, Ordering::Relaxed);
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
    fn total(&self) -> u64 {
        self.done.iter().map(|d| d.load(Ordering::Relaxed)).sum()
    }
}

fn share(total: u64, parts: usize, i: usize) -> u64 {
    total / parts as u64 + u64::from((i as u64) < total % parts as u64)
}

/// Runs the load described by `cfg` and returns the merged result.
pub fn run(cfg: &LoadConfig) -> Result<LoadResult> {
    if cfg.connections == 0 || cfg.threads == 0 {
        bail!("need at least one thread and one connection");
    }
    let threads = cfg.threads.min(cfg.connections);
    let setups: Vec<ThreadSetup> = (0..threads)
        .map(|i| ThreadSetup {
            index: i,
            addr: cfg.addr,
            request: cfg.request.clone(),
            head_method: cfg.head_method,
            connections: share(cfg.connections as u64, threads, i) as usize,
            depth: cfg.pipeline.max(1),
            quota: cfg.requests.map(|q| share(q, threads, i)),
            rate: cfg.rate.map(|r| r / threads as f64),
            duration: cfg.duration,
            timeout: cfg.timeout,
        })
        .collect();
    let shared = Shared {
        done: (0..threads).map(|_| AtomicU64::new(0)).collect(),
        stop: AtomicBool::new(false),
    };
    let cpu0 = sys::own_cpu_time();
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = setups
            .iter()
            .map(|setup| {
                let shared = &shared;
                s.spawn(move || {
                    if let Some(cpu) = cfg.pin_cpu {
                        sys::set_affinity(0, cpu).with_context(|| format!("pin to cpu {cpu}"))?;
                    }
                    thread_main(setup, shared, cfg.backend)
                })
            })
            .collect();
        if cfg.progress {
            progress(&shared, &handles);
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("load thread panicked"))
            .collect::<Vec<_>>()
    });
    let cpu = sys::own_cpu_time().saturating_sub(cpu0);
    let mut merged = LoadResult {
        stats: Stats::new(),
        elapsed: Duration::ZERO,
        backend: "io_uring",
        cpu,
    };
    for r in results {
        let (stats, elapsed, backend) = r?;
        merged.stats.merge(&stats);
        merged.elapsed = merged.elapsed.max(elapsed);
        if backend != "io_uring" {
            merged.backend = backend;
        }
    }
    Ok(merged)
}

fn thread_main(
    setup: &ThreadSetup,
    shared: &Shared,
    backend: Backend,
) -> Result<(Stats, Duration, &'static str)> {
    if backend != Backend::Poll {
        match uring::prepare(setup) {
            Ok(drv) => {
                let (s, d) = uring::run(drv, setup, shared).context("io_uring load loop")?;
                return Ok((s, d, "io_uring"));
            }
            Err(e) if backend == Backend::Uring => return Err(e).context("io_uring unavailable"),
            Err(e) => {
                if setup.index == 0 {
                    eprintln!("ringload: io_uring unavailable ({e}); falling back to poll(2)");
                }
            }
        }
    }
    let (s, d) = poll::run(setup, shared).context("poll load loop")?;
    Ok((s, d, "poll"))
}

fn progress<T>(shared: &Shared, handles: &[std::thread::ScopedJoinHandle<'_, T>]) {
    let start = Instant::now();
    let mut last = 0;
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(100));
        let secs = start.elapsed().as_secs();
        if secs > last {
            last = secs;
            let n = shared.total();
            eprint!(
                "\r  {secs:>4}s  {n:>12} requests  {:>12.0} req/s   ",
                n as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    if last > 0 {
        eprint!("\r{:60}\r", "");
    }
}
