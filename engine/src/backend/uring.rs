//! io_uring backend: multishot accept, multishot recv into a provided buffer ring, one send
//! per connection per batch, SINGLE_ISSUER + DEFER_TASKRUN when the shard owns its thread.
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring, Probe};

use super::bufring::{BufRing, BGID};
use super::sys;
use super::{Event, Recv};

const KIND_SHIFT: u32 = 56;
const ACCEPT: u64 = 1;
const RECV: u64 = 2;
const SEND: u64 = 3;
const WAKE: u64 = 4;
const CANCEL: u64 = 5;
/// `IORING_ENTER_GETEVENTS` (the crate keeps its sys module private).
const IORING_ENTER_GETEVENTS: u32 = 1;

fn ud(kind: u64, idx: usize) -> u64 {
    (kind << KIND_SHIFT) | idx as u64
}

/// One shard's ring.
pub(crate) struct Uring {
    // Field order matters: the ring (and its registration) drops before the buffers.
    ring: IoUring,
    bufs: BufRing,
    wake_fd: RawFd,
    cqes: Vec<(u64, i32, u32)>,
    listeners: Vec<Option<RawFd>>,
}

impl Uring {
    /// `wake_fd` is an eventfd owned by the shard's remote handle, watched here.
    /// Sets up the ring and checks every feature the engine uses. `external`: the shard
    /// is driven from another event loop, so completions must make the ring fd pollable
    /// without our own `io_uring_enter` (no DEFER_TASKRUN).
    pub(crate) fn new(external: bool, wake_fd: RawFd) -> io::Result<Uring> {
        let ring = build_ring(external)?;
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        for (code, name) in [
            (opcode::Accept::CODE, "accept"),
            (opcode::Recv::CODE, "recv"),
            (opcode::Send::CODE, "send"),
            (opcode::PollAdd::CODE, "poll_add"),
            (opcode::AsyncCancel::CODE, "async_cancel"),
        ] {
            if !probe.is_supported(code) {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("io_uring opcode {name} not supported"),
                ));
            }
        }
        let bufs = BufRing::new(&ring)?;
        let mut u = Uring {
            ring,
            bufs,
            wake_fd,
            cqes: Vec::with_capacity(1024),
            listeners: Vec::new(),
        };
        u.arm_wake();
        u.submit()?;
        Ok(u)
    }

    pub(crate) fn pollable_fd(&self) -> RawFd {
        self.ring.as_raw_fd()
    }

    fn push(&mut self, e: squeue::Entry) {
        loop {
            // SAFETY: every entry we build points only at memory that outlives the operation
            // (fds we own, send buffers pinned by the shard until `Sent`, nothing else).
            if unsafe { self.ring.submission().push(&e) }.is_ok() {
                return;
            }
            if let Err(err) = self.ring.submit() {
                tracing::warn!("io_uring submit while the SQ is full failed: {err}");
            }
        }
    }

    fn arm_wake(&mut self) {
        let e = opcode::PollAdd::new(types::Fd(self.wake_fd), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(ud(WAKE, 0));
        self.push(e);
    }

    pub(crate) fn add_listener(&mut self, listener: usize, fd: RawFd) -> io::Result<()> {
        if self.listeners.len() <= listener {
            self.listeners.resize(listener + 1, None);
        }
        self.listeners[listener] = Some(fd);
        let e = opcode::AcceptMulti::new(types::Fd(fd))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(ud(ACCEPT, listener));
        self.push(e);
        Ok(())
    }

    pub(crate) fn remove_listener(&mut self, listener: usize, _fd: RawFd) {
        if let Some(slot) = self.listeners.get_mut(listener) {
            *slot = None;
        }
        let e = opcode::AsyncCancel::new(ud(ACCEPT, listener))
            .build()
            .user_data(ud(CANCEL, 0));
        self.push(e);
        let _ = self.ring.submit();
    }

    pub(crate) fn arm_recv(&mut self, conn: usize, fd: RawFd) {
        let e = opcode::RecvMulti::new(types::Fd(fd), BGID)
            .build()
            .user_data(ud(RECV, conn));
        self.push(e);
    }

    pub(crate) fn stop_recv(&mut self, conn: usize, _fd: RawFd) {
        let e = opcode::AsyncCancel::new(ud(RECV, conn))
            .build()
            .user_data(ud(CANCEL, 0));
        self.push(e);
    }

    /// # Safety
    /// `ptr..ptr+len` stays valid and unchanged until the `Sent` completion for `conn`.
    pub(crate) unsafe fn send(&mut self, conn: usize, fd: RawFd, ptr: *const u8, len: usize) {
        let len = len.min(u32::MAX as usize) as u32;
        let e = opcode::Send::new(types::Fd(fd), ptr, len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(ud(SEND, conn));
        self.push(e);
    }

    pub(crate) fn release(&mut self, _conn: usize, _fd: RawFd) {}

    /// Submits what is queued; no syscall when nothing is (completions are reaped by
    /// `wait`, which enters with GETEVENTS).
    pub(crate) fn submit(&mut self) -> io::Result<()> {
        if self.ring.submission().is_empty() {
            return Ok(());
        }
        match self.ring.submit() {
            Ok(_) => Ok(()),
            Err(e) if is_transient(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let submitter = self.ring.submitter();
        let res = match timeout {
            None => submitter.submit_and_wait(1),
            Some(d) if d.is_zero() => {
                let pending = self.ring.submission().len() as u32;
                // SAFETY: a plain io_uring_enter without an argument structure; GETEVENTS with
                // min_complete 0 runs deferred task work and returns at once.
                unsafe {
                    self.ring.submitter().enter::<libc::sigset_t>(
                        pending,
                        0,
                        IORING_ENTER_GETEVENTS,
                        None,
                    )
                }
            }
            Some(d) => {
                let ts = types::Timespec::new()
                    .sec(d.as_secs())
                    .nsec(d.subsec_nanos());
                let args = types::SubmitArgs::new().timespec(&ts);
                submitter.submit_with_args(1, &args)
            }
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_transient(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn dispatch(&mut self, f: &mut dyn FnMut(Event<'_>)) {
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.clear();
        cqes.extend(
            self.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        let mut gave_buffers = false;
        for &(user_data, res, flags) in &cqes {
            let kind = user_data >> KIND_SHIFT;
            let idx = (user_data & ((1 << KIND_SHIFT) - 1)) as usize;
            let more = cqueue::more(flags);
            match kind {
                RECV => {
                    let armed = more;
                    if let Some(bid) = cqueue::buffer_select(flags) {
                        let len = res.max(0) as usize;
                        let filling = cqueue::buffer_more(flags);
                        let data = self.bufs.read(bid, len, filling);
                        f(Event::Recv {
                            conn: idx,
                            res: Recv::Data(data),
                            armed,
                        });
                        gave_buffers |= self.bufs.done(bid, filling);
                        continue;
                    }
                    self.bufs.ran_dry |= res == -libc::ENOBUFS;
                    let r = match res {
                        0 => Recv::Eof,
                        r if r == -libc::ENOBUFS || r == -libc::ECANCELED => Recv::Stopped,
                        r if r < 0 => Recv::Error(io::Error::from_raw_os_error(-r)),
                        _ => Recv::Stopped,
                    };
                    f(Event::Recv {
                        conn: idx,
                        res: r,
                        armed,
                    });
                }
                SEND => {
                    let r = if res < 0 {
                        Err(io::Error::from_raw_os_error(-res))
                    } else {
                        Ok(res as usize)
                    };
                    f(Event::Sent { conn: idx, res: r });
                }
                ACCEPT => {
                    let live = self.listeners.get(idx).copied().flatten();
                    if res >= 0 {
                        if live.is_some() {
                            f(Event::Accepted {
                                listener: idx,
                                res: Ok(res),
                            });
                        } else {
                            sys::close(res);
                        }
                    } else if res != -libc::ECANCELED && live.is_some() {
                        f(Event::Accepted {
                            listener: idx,
                            res: Err(io::Error::from_raw_os_error(-res)),
                        });
                    }
                    // A cancelled accept (paused or closed listener) is not re-armed here;
                    // `add_listener` arms a fresh one when accepting resumes.
                    if !more && res != -libc::ECANCELED {
                        if let Some(fd) = live {
                            let e = opcode::AcceptMulti::new(types::Fd(fd))
                                .flags(libc::SOCK_CLOEXEC)
                                .build()
                                .user_data(ud(ACCEPT, idx));
                            self.push(e);
                        }
                    }
                }
                WAKE => {
                    sys::eventfd_drain(self.wake_fd);
                    if !more {
                        self.arm_wake();
                    }
                    f(Event::Woken);
                }
                _ => {}
            }
        }
        if self.bufs.grow_if_busy() || gave_buffers {
            self.bufs.publish();
        }
        self.cqes = cqes;
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY) | Some(libc::EAGAIN)
    )
}

fn build_ring(external: bool) -> io::Result<IoUring> {
    let mut b = IoUring::builder();
    b.setup_cqsize(16384);
    if external {
        b.setup_single_issuer().setup_coop_taskrun();
    } else {
        b.setup_single_issuer().setup_defer_taskrun();
    }
    b.build(4096)
}
