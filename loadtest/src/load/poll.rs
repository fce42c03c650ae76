//! Fallback load loop for when io_uring is unavailable (e.g. blocked by a
//! seccomp profile): non-blocking std sockets and poll(2). Same protocol state
//! and plan as the io_uring loop, less efficient.

use super::plan::Plan;
use super::session::{After, Session};
use super::{Shared, ThreadSetup};
use crate::ring::sys::{poll, poll_fd, PollFd, POLLIN, POLLOUT};
use crate::stats::Stats;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const RETRY_NS: u64 = 10_000_000;

struct Conn {
    stream: Option<TcpStream>,
    session: Session,
    out: (usize, usize),
    retry_at: u64,
}

/// Runs one thread's share of the load with poll(2); returns stats and duration.
pub fn run(setup: &ThreadSetup, shared: &Shared) -> io::Result<(Stats, Duration)> {
    let t0 = Instant::now();
    let clock = || t0.elapsed().as_nanos() as u64;
    let payload = setup.request.repeat(setup.depth.max(1));
    let req_len = setup.request.len();
    let timeout = setup.timeout.as_nanos() as u64;
    let end = setup.duration.as_nanos().min(u128::from(u64::MAX / 2)) as u64;
    let mut plan = Plan::new(setup.depth, setup.quota, setup.rate, 0);
    let mut stats = Stats::new();
    let mut conns: Vec<Conn> = (0..setup.connections)
        .map(|_| Conn {
            stream: None,
            session: Session::new(setup.depth, setup.head_method),
            out: (0, 0),
            retry_at: 0,
        })
        .collect();
    let mut buf = vec![0u8; 64 * 1024];
    let mut fds: Vec<PollFd> = Vec::with_capacity(conns.len());
    let mut ids: Vec<usize> = Vec::with_capacity(conns.len());
    loop {
        let now = clock();
        if now >= end || plan.finished(stats.requests) || shared.stopped() {
            break;
        }
        fds.clear();
        ids.clear();
        for (i, c) in conns.iter_mut().enumerate() {
            if c.stream.is_none() && c.retry_at <= now {
                match connect(setup) {
                    Ok(s) => c.stream = Some(s),
                    Err(_) => {
                        stats.errors.connect += 1;
                        c.retry_at = now + RETRY_NS;
                    }
                }
            }
            let Some(stream) = c.stream.as_mut() else {
                continue;
            };
            if c.out.0 == c.out.1 {
                let n = plan.fill(&mut c.session, now);
                c.out = (0, n * req_len);
                if n > 0 {
                    c.session.last_activity = now;
                }
            }
            if flush(stream, &payload, &mut c.out).is_err() {
                drop_conn(c, &mut plan, now);
                stats.errors.write += 1;
                continue;
            }
            if c.session.inflight() > 0 && now - c.session.last_activity > timeout {
                stats.errors.timeout += c.session.inflight() as u64;
                drop_conn(c, &mut plan, 0);
                continue;
            }
            let ev = if c.out.0 < c.out.1 {
                POLLIN | POLLOUT
            } else {
                POLLIN
            };
            fds.push(poll_fd(stream.as_raw_fd(), ev));
            ids.push(i);
        }
        let due = plan.next_due().map_or(RETRY_NS, |d| d.saturating_sub(now));
        let wait_ms = (due.min(RETRY_NS).min(end - now) / 1_000_000) as i32;
        poll(&mut fds, wait_ms)?;
        let now = clock();
        for (pfd, &i) in fds.iter().zip(&ids) {
            if pfd.revents & !POLLOUT == 0 {
                continue;
            }
            let c = &mut conns[i];
            if let Err(kind) = read_all(c, &mut buf, now, &mut stats) {
                if kind == Failure::Error {
                    stats.errors.read += 1;
                }
                drop_conn(c, &mut plan, 0);
            }
        }
        shared.publish(setup.index, stats.requests);
    }
    Ok((stats, Duration::from_nanos(clock())))
}

fn connect(setup: &ThreadSetup) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&setup.addr, setup.timeout)?;
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

fn drop_conn(c: &mut Conn, plan: &mut Plan, retry_at: u64) {
    c.stream = None;
    c.out = (0, 0);
    plan.lost(c.session.reset());
    c.retry_at = retry_at;
}

fn flush(stream: &mut TcpStream, payload: &[u8], out: &mut (usize, usize)) -> io::Result<()> {
    while out.0 < out.1 {
        match stream.write(&payload[out.0..out.1]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => out.0 += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[derive(PartialEq, Eq)]
enum Failure {
    /// Clean close or a `Connection: close` response: reconnect, no error unless requests were lost.
    Closed,
    Error,
}

fn read_all(c: &mut Conn, buf: &mut [u8], now: u64, stats: &mut Stats) -> Result<(), Failure> {
    let stream = c.stream.as_mut().ok_or(Failure::Closed)?;
    loop {
        match stream.read(buf) {
            Ok(0) => {
                c.session.on_eof(now, stats).map_err(|_| Failure::Error)?;
                let lost = c.session.inflight() > 0;
                return Err(if lost {
                    Failure::Error
                } else {
                    Failure::Closed
                });
            }
            Ok(n) => match c.session.on_data(&buf[..n], now, stats) {
                Ok(After::Continue) => {}
                Ok(After::Reconnect) if c.session.inflight() > 0 => return Err(Failure::Error),
                Ok(After::Reconnect) => return Err(Failure::Closed),
                Err(_) => return Err(Failure::Error),
            },
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(Failure::Error),
        }
    }
}
