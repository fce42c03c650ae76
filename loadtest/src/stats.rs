//! Per-thread measurements (HDR latency histogram, counts, errors by kind),
//! merged into one result at the end of a run.

use hdrhistogram::Histogram;

/// Errors by kind, as wrk reports them (plus `status` for non-2xx/3xx).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Errors {
    /// Connection attempts that failed.
    pub connect: u64,
    /// Reads that failed, hit EOF with requests outstanding, or held an unparsable response.
    pub read: u64,
    /// Sends that failed.
    pub write: u64,
    /// Requests that got no response within `--timeout`.
    pub timeout: u64,
    /// Responses with a status outside 200-399.
    pub status: u64,
}

impl Errors {
    /// Socket-level errors (everything but `status`).
    pub fn socket_total(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout
    }

    fn add(&mut self, o: &Errors) {
        self.connect += o.connect;
        self.read += o.read;
        self.write += o.write;
        self.timeout += o.timeout;
        self.status += o.status;
    }
}

/// Counters and the latency histogram (microseconds).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency of every completed request in µs.
    pub latency: Histogram<u64>,
    /// Completed responses (final responses, any status).
    pub requests: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Errors by kind.
    pub errors: Errors,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new()
    }
}

impl Stats {
    /// Empty stats with a 1 µs .. 1 h histogram at 3 significant digits.
    pub fn new() -> Stats {
        Stats {
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            requests: 0,
            bytes: 0,
            errors: Errors::default(),
        }
    }

    /// Records one completed response.
    #[inline]
    pub fn response(&mut self, latency_ns: u64, status: u16) {
        self.requests += 1;
        self.latency.saturating_record((latency_ns / 1000).max(1));
        if !(200..400).contains(&status) {
            self.errors.status += 1;
        }
    }

    /// Adds another thread's stats to these.
    pub fn merge(&mut self, o: &Stats) {
        self.latency.add(&o.latency).expect("same histogram bounds");
        self.requests += o.requests;
        self.bytes += o.bytes;
        self.errors.add(&o.errors);
    }
}
