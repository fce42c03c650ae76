//! epoll backend: the same completion contract as io_uring, imitated with level-triggered
//! readiness and nonblocking accept4/recv/send. Used where io_uring is forbidden.
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use super::sys::{self, cvt};
use super::{Event, Recv};

const KIND_SHIFT: u32 = 56;
const LISTENER: u64 = 1;
const CONN: u64 = 2;
const WAKE: u64 = 4;

/// One shared read buffer per shard: data is lent to the shard for one callback.
const READ_BUF: usize = 64 * 1024;
/// Accepts per listener per wake-up, so a connection storm cannot starve reads.
const ACCEPT_BATCH: usize = 64;
const MAX_EVENTS: usize = 1024;
/// Reads per readiness report: level-triggered, so the rest is reported again and one
/// busy connection cannot starve the others.
const READS_PER_EVENT: usize = 4;

#[derive(Default, Clone)]
struct ConnIo {
    fd: RawFd,
    registered: bool,
    want_read: bool,
    /// A send that hit EAGAIN: retried when the socket turns writable.
    pending_send: Option<(usize, usize)>,
    interest: u32,
}

/// A completion produced synchronously, delivered at the next `dispatch`.
enum Ready {
    Sent(usize, io::Result<usize>),
    Stopped(usize),
}

pub(crate) struct Epoll {
    epfd: RawFd,
    wake_fd: RawFd,
    events: Vec<libc::epoll_event>,
    nevents: usize,
    conns: Vec<ConnIo>,
    listeners: Vec<Option<RawFd>>,
    ready: VecDeque<Ready>,
    rbuf: Box<[u8]>,
}

impl Epoll {
    pub(crate) fn new(wake_fd: RawFd) -> io::Result<Epoll> {
        // SAFETY: plain syscall; the fd is owned by the returned value and closed in Drop.
        let epfd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        let ep = Epoll {
            epfd,
            wake_fd,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS],
            nevents: 0,
            conns: Vec::new(),
            listeners: Vec::new(),
            ready: VecDeque::new(),
            rbuf: vec![0u8; READ_BUF].into_boxed_slice(),
        };
        // On error `ep` drops and closes epfd.
        ep.ctl(
            libc::EPOLL_CTL_ADD,
            wake_fd,
            libc::EPOLLIN as u32,
            WAKE << KIND_SHIFT,
        )?;
        Ok(ep)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: data };
        // SAFETY: epoll_ctl reads the event struct from a live local.
        cvt(unsafe { libc::epoll_ctl(self.epfd, op, fd, &mut ev) }).map(drop)
    }

    pub(crate) fn pollable_fd(&self) -> RawFd {
        self.epfd
    }

    pub(crate) fn add_listener(&mut self, listener: usize, fd: RawFd) -> io::Result<()> {
        sys::set_nonblocking(fd)?;
        if self.listeners.len() <= listener {
            self.listeners.resize(listener + 1, None);
        }
        self.listeners[listener] = Some(fd);
        self.ctl(
            libc::EPOLL_CTL_ADD,
            fd,
            libc::EPOLLIN as u32,
            (LISTENER << KIND_SHIFT) | listener as u64,
        )
    }

    pub(crate) fn remove_listener(&mut self, listener: usize, fd: RawFd) {
        if let Some(slot) = self.listeners.get_mut(listener) {
            *slot = None;
        }
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0);
    }

    fn conn(&mut self, conn: usize, fd: RawFd) -> &mut ConnIo {
        if self.conns.len() <= conn {
            self.conns.resize(conn + 1, ConnIo::default());
        }
        let c = &mut self.conns[conn];
        if !c.registered {
            c.fd = fd;
        }
        c
    }

    /// Brings the kernel's interest set for `conn` in line with what it waits for.
    fn update(&mut self, conn: usize) {
        let c = &self.conns[conn];
        let mut want = 0u32;
        if c.want_read {
            want |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
        }
        if c.pending_send.is_some() {
            want |= libc::EPOLLOUT as u32;
        }
        if c.registered && want == c.interest {
            return;
        }
        let (fd, registered) = (c.fd, c.registered);
        let op = if registered {
            libc::EPOLL_CTL_MOD
        } else {
            libc::EPOLL_CTL_ADD
        };
        match self.ctl(op, fd, want, (CONN << KIND_SHIFT) | conn as u64) {
            Ok(()) => {
                let c = &mut self.conns[conn];
                c.registered = true;
                c.interest = want;
            }
            Err(e) => tracing::warn!("epoll_ctl on connection fd {fd} failed: {e}"),
        }
    }

    pub(crate) fn arm_recv(&mut self, conn: usize, fd: RawFd) {
        self.conn(conn, fd).want_read = true;
        self.update(conn);
    }

    pub(crate) fn stop_recv(&mut self, conn: usize, fd: RawFd) {
        self.conn(conn, fd).want_read = false;
        self.update(conn);
        self.ready.push_back(Ready::Stopped(conn));
    }

    /// # Safety
    /// `ptr..ptr+len` stays valid and unchanged until the `Sent` completion for `conn`.
    pub(crate) unsafe fn send(&mut self, conn: usize, fd: RawFd, ptr: *const u8, len: usize) {
        self.conn(conn, fd);
        // SAFETY: the caller keeps `ptr..ptr+len` valid until the `Sent` completion, so it
        // is readable now.
        match unsafe { raw_send(fd, ptr, len) } {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.conns[conn].pending_send = Some((ptr as usize, len));
                self.update(conn);
            }
            r => self.ready.push_back(Ready::Sent(conn, r)),
        }
    }

    pub(crate) fn release(&mut self, conn: usize, fd: RawFd) {
        if self.conns.get(conn).is_some_and(|c| c.registered) {
            let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0);
        }
        if let Some(c) = self.conns.get_mut(conn) {
            *c = ConnIo::default();
        }
    }

    /// Nothing to submit: epoll calls are made as they are requested. Completions produced
    /// without the kernel wait in `ready`; an external driver learns of them through
    /// [`has_pending`](Self::has_pending) (`Shard::run_ready` then asks to be called again
    /// at once) rather than through the epoll fd.
    pub(crate) fn submit(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Synthetic completions (sends done inline, stopped receives) wait in `ready`.
    pub(crate) fn has_pending(&self) -> bool {
        !self.ready.is_empty()
    }

    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let ms = if !self.ready.is_empty() {
            0
        } else {
            match timeout {
                None => -1,
                // Round up: waking early would only spin until the deadline.
                Some(d) => d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32,
            }
        };
        // SAFETY: the kernel writes at most `events.len()` entries into our buffer.
        let n = unsafe {
            libc::epoll_wait(
                self.epfd,
                self.events.as_mut_ptr(),
                self.events.len() as i32,
                ms,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            self.nevents = 0;
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        }
        self.nevents = n as usize;
        Ok(())
    }

    pub(crate) fn dispatch(&mut self, f: &mut dyn FnMut(Event<'_>)) {
        while let Some(r) = self.ready.pop_front() {
            match r {
                Ready::Sent(conn, res) => f(Event::Sent { conn, res }),
                Ready::Stopped(conn) => f(Event::Recv {
                    conn,
                    res: Recv::Stopped,
                    armed: false,
                }),
            }
        }
        let n = std::mem::take(&mut self.nevents);
        for i in 0..n {
            let ev = self.events[i];
            let (bits, data) = (ev.events, ev.u64);
            let idx = (data & ((1 << KIND_SHIFT) - 1)) as usize;
            match data >> KIND_SHIFT {
                WAKE => {
                    sys::eventfd_drain(self.wake_fd);
                    f(Event::Woken);
                }
                LISTENER => self.accept_batch(idx, f),
                CONN => self.conn_ready(idx, bits, f),
                _ => {}
            }
        }
    }

    fn accept_batch(&mut self, listener: usize, f: &mut dyn FnMut(Event<'_>)) {
        let Some(Some(lfd)) = self.listeners.get(listener).copied() else {
            return;
        };
        for _ in 0..ACCEPT_BATCH {
            // SAFETY: accept4 without an address buffer; the new fd is handed to the shard.
            let fd = unsafe {
                libc::accept4(
                    lfd,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                )
            };
            if fd >= 0 {
                f(Event::Accepted {
                    listener,
                    res: Ok(fd),
                });
                continue;
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => return,
                io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => continue,
                _ => {
                    f(Event::Accepted {
                        listener,
                        res: Err(e),
                    });
                    return;
                }
            }
        }
    }

    fn conn_ready(&mut self, conn: usize, bits: u32, f: &mut dyn FnMut(Event<'_>)) {
        let Some(c) = self.conns.get(conn) else {
            return;
        };
        let fd = c.fd;
        if !c.registered {
            return;
        }
        let error_bits = (libc::EPOLLERR | libc::EPOLLHUP) as u32;
        if let Some((ptr, len)) = c.pending_send {
            if bits & (libc::EPOLLOUT as u32 | error_bits) != 0 {
                // SAFETY: the shard keeps this buffer pinned until it sees `Sent`.
                match unsafe { raw_send(fd, ptr as *const u8, len) } {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    r => {
                        self.conns[conn].pending_send = None;
                        self.update(conn);
                        f(Event::Sent { conn, res: r });
                    }
                }
            }
        }
        let in_bits = (libc::EPOLLIN | libc::EPOLLRDHUP) as u32 | error_bits;
        if bits & in_bits == 0 {
            return;
        }
        // Read until the socket is drained or the shard stops wanting data; level-triggered,
        // so stopping early only means the next wait reports it again.
        for _ in 0..READS_PER_EVENT {
            if !self.conns[conn].want_read {
                break;
            }
            // SAFETY: recv writes at most rbuf.len() bytes into our buffer.
            let n = unsafe { libc::recv(fd, self.rbuf.as_mut_ptr().cast(), self.rbuf.len(), 0) };
            if n > 0 {
                let n = n as usize;
                f(Event::Recv {
                    conn,
                    res: Recv::Data(&self.rbuf[..n]),
                    armed: true,
                });
                if n < self.rbuf.len() {
                    break;
                }
                continue;
            }
            let res = if n == 0 {
                Recv::Eof
            } else {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => break,
                    io::ErrorKind::Interrupted => continue,
                    _ => Recv::Error(e),
                }
            };
            self.conns[conn].want_read = false;
            self.update(conn);
            f(Event::Recv {
                conn,
                res,
                armed: false,
            });
            break;
        }
    }
}

/// `send(2)` with MSG_NOSIGNAL.
///
/// # Safety
/// `ptr..ptr+len` must be readable.
unsafe fn raw_send(fd: RawFd, ptr: *const u8, len: usize) -> io::Result<usize> {
    loop {
        // SAFETY: the caller guarantees the range is readable.
        let n = unsafe { libc::send(fd, ptr.cast(), len, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        sys::close(self.epfd);
    }
}
