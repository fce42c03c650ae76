//! The io_uring load loop of one thread: multishot recv into provided
//! buffers, one send per connection per batch, all submitted together.

use super::plan::Plan;
use super::session::{After, Session};
use super::{Shared, ThreadSetup};
use crate::ring::{Cqe, Driver, DriverConfig};
use crate::stats::Stats;
use socket2::Socket;
use std::time::{Duration, Instant};

const CONNECT: u64 = 1;
const RECV: u64 = 2;
const SEND: u64 = 3;
const TICK_NS: u64 = 10_000_000;

fn tag(slot: usize, gen: u32, kind: u64) -> u64 {
    kind << 56 | u64::from(gen & 0xff_ffff) << 32 | slot as u64
}

fn untag(ud: u64) -> (usize, u32, u64) {
    (
        (ud & 0xffff_ffff) as usize,
        (ud >> 32) as u32 & 0xff_ffff,
        ud >> 56,
    )
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum State {
    Connecting,
    Open,
    Down { retry_at: u64 },
}

struct Conn {
    sock: Option<Socket>,
    gen: u32,
    state: State,
    session: Session,
    sending: bool,
    send: (usize, usize),
    since: u64,
}

struct Worker<'a> {
    drv: Driver,
    conns: Vec<Conn>,
    plan: Plan,
    stats: Stats,
    req_len: usize,
    timeout: u64,
    index: usize,
    shared: &'a Shared,
}

/// Sets up the ring; fails (so the caller can fall back) if io_uring is unavailable.
pub fn prepare(setup: &ThreadSetup) -> std::io::Result<Driver> {
    let conns = setup.connections.max(1);
    let buf_count = (conns * 2).next_power_of_two().clamp(64, 4096) as u16;
    let cfg = DriverConfig {
        entries: (conns * 2 + 16).next_power_of_two().min(4096) as u32,
        buf_count,
        buf_size: 16 * 1024,
    };
    let payload = setup.request.repeat(setup.depth.max(1));
    Driver::new(cfg, setup.addr, payload)
}

/// Runs one thread's share of the load until the deadline or the request quota.
/// Returns the stats and the measured duration.
pub fn run(
    drv: Driver,
    setup: &ThreadSetup,
    shared: &Shared,
) -> std::io::Result<(Stats, Duration)> {
    let t0 = Instant::now();
    let clock = || t0.elapsed().as_nanos() as u64;
    let conns = (0..setup.connections)
        .map(|_| Conn {
            sock: None,
            gen: 0,
            state: State::Down { retry_at: 0 },
            session: Session::new(setup.depth, setup.head_method),
            sending: false,
            send: (0, 0),
            since: 0,
        })
        .collect();
    let mut w = Worker {
        drv,
        conns,
        plan: Plan::new(setup.depth, setup.quota, setup.rate, 0),
        stats: Stats::new(),
        req_len: setup.request.len(),
        timeout: setup.timeout.as_nanos() as u64,
        index: setup.index,
        shared,
    };
    let end = setup.duration.as_nanos().min(u128::from(u64::MAX / 2)) as u64;
    for i in 0..w.conns.len() {
        w.open(i, 0);
    }
    let mut cqes: Vec<Cqe> = Vec::with_capacity(1024);
    let mut tick_at = TICK_NS;
    loop {
        let now = clock();
        if now >= end || w.plan.finished(w.stats.requests) || shared.stopped() {
            break;
        }
        let wake = [Some(tick_at), Some(end), w.plan.next_due()]
            .into_iter()
            .flatten()
            .min();
        let wait = wake.unwrap_or(end).saturating_sub(now).max(1_000);
        w.drv.wait(Duration::from_nanos(wait))?;
        cqes.clear();
        w.drv.reap(&mut cqes);
        let now = clock();
        for c in &cqes {
            w.complete(c, now);
        }
        w.drv.publish();
        if w.plan.paced() {
            for i in 0..w.conns.len() {
                w.kick(i, now);
            }
        }
        if now >= tick_at {
            w.tick(now);
            tick_at = now + TICK_NS;
        }
    }
    let elapsed = clock();
    w.drv.drain(Duration::from_secs(2));
    shared.publish(setup.index, w.stats.requests);
    let Worker {
        stats, conns, drv, ..
    } = w;
    drop(drv);
    drop(conns);
    Ok((stats, Duration::from_nanos(elapsed)))
}

impl Worker<'_> {
    fn open(&mut self, i: usize, now: u64) {
        let sock = match self.drv.socket() {
            Ok(s) => s,
            Err(_) => return self.down(i, now, |e| e.connect += 1),
        };
        let c = &mut self.conns[i];
        c.gen = c.gen.wrapping_add(1);
        c.state = State::Connecting;
        c.since = now;
        if self.drv.connect(&sock, tag(i, c.gen, CONNECT)).is_err() {
            return self.down(i, now, |e| e.connect += 1);
        }
        self.conns[i].sock = Some(sock);
    }

    /// Drops the connection, counts the error, and schedules a reconnect.
    fn down(&mut self, i: usize, now: u64, count: impl FnOnce(&mut crate::stats::Errors)) {
        count(&mut self.stats.errors);
        self.close(i);
        self.conns[i].state = State::Down {
            retry_at: now + TICK_NS,
        };
    }

    fn close(&mut self, i: usize) {
        let c = &mut self.conns[i];
        let lost = c.session.reset();
        self.plan.lost(lost);
        c.sending = false;
        c.gen = c.gen.wrapping_add(1);
        if let Some(s) = c.sock.take() {
            self.drv.close(s);
        }
    }

    /// Replaces a connection the server closed (or asked to close).
    fn reconnect(&mut self, i: usize, now: u64) {
        let lost = self.conns[i].session.inflight();
        if lost > 0 {
            self.stats.errors.read += 1;
        }
        self.close(i);
        self.open(i, now);
    }

    fn complete(&mut self, c: &Cqe, now: u64) {
        let (i, gen, kind) = untag(c.user_data);
        let live = self
            .conns
            .get(i)
            .is_some_and(|k| k.gen & 0xff_ffff == gen && k.sock.is_some());
        if !live {
            if let Some(bid) = c.buffer() {
                self.drv.recycle(bid);
            }
            return;
        }
        match kind {
            CONNECT if c.result < 0 => self.down(i, now, |e| e.connect += 1),
            CONNECT => {
                let conn = &mut self.conns[i];
                conn.state = State::Open;
                let sock = conn.sock.as_ref().expect("live connection has a socket");
                if self.drv.recv(sock, tag(i, conn.gen, RECV)).is_err() {
                    return self.down(i, now, |e| e.read += 1);
                }
                self.kick(i, now);
            }
            RECV => self.received(i, c, now),
            SEND => self.sent(i, c.result, now),
            _ => {}
        }
    }

    fn received(&mut self, i: usize, c: &Cqe, now: u64) {
        if let Some(bid) = c.buffer() {
            let len = c.result.max(0) as usize;
            let conn = &mut self.conns[i];
            let r = conn
                .session
                .on_data(self.drv.data(bid, len), now, &mut self.stats);
            self.drv.recycle(bid);
            match r {
                Err(_) => return self.down(i, now, |e| e.read += 1),
                Ok(After::Reconnect) => return self.reconnect(i, now),
                Ok(After::Continue) => {}
            }
        } else if c.result == 0 {
            if self.conns[i].session.on_eof(now, &mut self.stats).is_err() {
                return self.down(i, now, |e| e.read += 1);
            }
            return self.reconnect(i, now);
        } else if c.result != -libc::ENOBUFS {
            return self.down(i, now, |e| e.read += 1);
        }
        if !c.more() {
            let conn = &self.conns[i];
            let sock = conn.sock.as_ref().expect("live connection has a socket");
            if self.drv.recv(sock, tag(i, conn.gen, RECV)).is_err() {
                return self.down(i, now, |e| e.read += 1);
            }
        }
        self.kick(i, now);
    }

    fn sent(&mut self, i: usize, res: i32, now: u64) {
        if res < 0 {
            return self.down(i, now, |e| e.write += 1);
        }
        let c = &mut self.conns[i];
        c.send.0 += res as usize;
        if c.send.0 < c.send.1 {
            let sock = c.sock.as_ref().expect("live connection has a socket");
            if self
                .drv
                .send(sock, c.send.0..c.send.1, tag(i, c.gen, SEND))
                .is_err()
            {
                self.down(i, now, |e| e.write += 1);
            }
            return;
        }
        c.sending = false;
        self.kick(i, now);
    }

    /// Sends the next batch on connection `i` if the plan allows.
    fn kick(&mut self, i: usize, now: u64) {
        let c = &mut self.conns[i];
        if c.sending || c.state != State::Open {
            return;
        }
        let n = self.plan.fill(&mut c.session, now);
        if n == 0 {
            return;
        }
        let sock = c.sock.as_ref().expect("open connection has a socket");
        c.send = (0, n * self.req_len);
        c.sending = true;
        c.session.last_activity = now;
        if self
            .drv
            .send(sock, 0..n * self.req_len, tag(i, c.gen, SEND))
            .is_err()
        {
            self.down(i, now, |e| e.write += 1);
        }
    }

    /// Periodic work: reconnects, timeouts, progress.
    fn tick(&mut self, now: u64) {
        for i in 0..self.conns.len() {
            let c = &self.conns[i];
            match c.state {
                State::Down { retry_at } if retry_at <= now => self.open(i, now),
                State::Connecting if now - c.since > self.timeout => {
                    self.down(i, now, |e| e.connect += 1)
                }
                State::Open
                    if c.session.inflight() > 0 && now - c.session.last_activity > self.timeout =>
                {
                    let n = c.session.inflight() as u64;
                    self.stats.errors.timeout += n;
                    self.close(i);
                    self.open(i, now);
                }
                _ => {}
            }
        }
        self.shared.publish(self.index, self.stats.requests);
    }
}
