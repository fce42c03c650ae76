//! What to send and when: pipeline depth, the `--requests` budget and the
//! `--rate` pacer (wrk2-style: every request has an intended send time and its
//! latency is measured from it, so a stalled server cannot hide queueing).

use super::session::Session;

/// Constant-throughput schedule: request k is due at `start + k * interval`.
#[derive(Debug, Clone)]
struct Pacer {
    start: u64,
    interval: f64,
    issued: u64,
}

impl Pacer {
    fn next_time(&self) -> u64 {
        self.start + (self.issued as f64 * self.interval) as u64
    }
}

/// Per-thread sending policy.
#[derive(Debug, Clone)]
pub struct Plan {
    depth: usize,
    quota: Option<u64>,
    live: u64,
    pacer: Option<Pacer>,
}

impl Plan {
    /// `depth` requests per send; at most `quota` answered requests in total;
    /// `rate` requests per second from time `start` (ns), if paced.
    pub fn new(depth: usize, quota: Option<u64>, rate: Option<f64>, start: u64) -> Plan {
        let pacer = rate.map(|r| Pacer {
            start,
            interval: 1e9 / r.max(1e-3),
            issued: 0,
        });
        Plan {
            depth: depth.max(1),
            quota,
            live: 0,
            pacer,
        }
    }

    /// Paced by `--rate`.
    pub fn paced(&self) -> bool {
        self.pacer.is_some()
    }

    /// All `--requests` have been answered.
    pub fn finished(&self, completed: u64) -> bool {
        self.quota.is_some_and(|q| completed >= q)
    }

    /// When the next paced request is due (ns), if paced.
    pub fn next_due(&self) -> Option<u64> {
        self.pacer.as_ref().map(Pacer::next_time)
    }

    /// Requests lost with a closed connection may be sent again.
    pub fn lost(&mut self, n: usize) {
        // `live` is only tracked against a quota.
        if self.quota.is_some() {
            self.live -= n as u64;
        }
    }

    fn grant(&mut self, want: usize) -> usize {
        match self.quota {
            Some(q) => {
                let n = (q.saturating_sub(self.live) as usize).min(want);
                self.live += n as u64;
                n
            }
            None => want,
        }
    }

    /// Fills an idle connection: unpaced, a full batch once the previous one is
    /// answered; paced, every due request up to the depth. Returns the count to send.
    pub fn fill(&mut self, s: &mut Session, now: u64) -> usize {
        let Some(p) = self.pacer.as_mut() else {
            if s.inflight() != 0 {
                return 0;
            }
            let n = self.grant(self.depth);
            for _ in 0..n {
                s.push(now);
            }
            return n;
        };
        let mut n = 0;
        while s.inflight() < self.depth && p.next_time() <= now {
            let due = p.next_time();
            match self.quota {
                Some(q) if self.live >= q => break,
                Some(_) => self.live += 1,
                None => {}
            }
            p.issued += 1;
            s.push(due);
            n += 1;
        }
        n
    }
}
