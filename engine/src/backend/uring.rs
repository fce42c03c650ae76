//! io_uring backend: multishot accept, multishot recv into a provided buffer ring, one send
//! per connection per batch, SINGLE_ISSUER + DEFER_TASKRUN when the shard owns its thread.
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring, Probe};

use super::sys;
use super::{Event, Recv};

/// Provided buffers per shard at most. Each completion holds one only until `dispatch`
/// returns, so this bounds bytes in flight from the kernel, not connections: 10k idle
/// connections hold none.
const NBUF: u16 = 2048;
/// Buffers in circulation at start. The kernel takes buffers in ring order and we return
/// them at the tail, so every buffer in circulation gets written (and its page becomes
/// resident) in turn: circulating all 2048 would cost 8 MiB of RSS per shard after a few
/// thousand requests. Circulation doubles when a turn used half of it (or ran dry).
const NBUF_START: u16 = 64;
/// Bytes per provided buffer: a pipelined burst of 16 small requests fits in one.
const BUFSZ: usize = 4096;
const BGID: u16 = 0;

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

/// The provided buffer ring: kernel picks a buffer per receive, we give it back after use.
struct BufRing {
    entries: *mut types::BufRingEntry,
    entries_len: usize,
    /// NBUF buffers; only the first `circulating` are ever handed to the kernel, so the
    /// pages of the others are never touched (the allocation is lazily zero-mapped).
    bufs: Box<[u8]>,
    tail: u16,
    circulating: u16,
    /// Buffers that came back in completions since the last `grow_if_busy`.
    used: u16,
    /// A receive found the ring empty since the last `grow_if_busy`.
    ran_dry: bool,
}

impl BufRing {
    fn new(ring: &IoUring) -> io::Result<BufRing> {
        let entries_len = NBUF as usize * std::mem::size_of::<types::BufRingEntry>();
        // SAFETY: anonymous private mapping, page aligned as the kernel requires; unmapped in Drop.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                entries_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mut br = BufRing {
            entries: ptr.cast(),
            entries_len,
            bufs: vec![0u8; NBUF as usize * BUFSZ].into_boxed_slice(),
            tail: 0,
            circulating: NBUF_START,
            used: 0,
            ran_dry: false,
        };
        // SAFETY: the entries mapping lives as long as `br`, which the ring outlives never:
        // Uring drops the ring (unregistering) before its BufRing (field order).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(ptr as u64, NBUF, BGID, 0)?
        };
        for bid in 0..NBUF_START {
            br.give(bid);
        }
        br.publish();
        Ok(br)
    }

    /// After a batch of completions: puts more buffers into circulation (doubling, up to
    /// NBUF) when the batch used half of them or a receive found none. Never shrinks.
    fn grow_if_busy(&mut self) -> bool {
        let busy = self.ran_dry || self.used >= self.circulating / 4 * 3;
        self.used = 0;
        self.ran_dry = false;
        if !busy || self.circulating >= NBUF {
            return false;
        }
        let more = self.circulating.min(NBUF - self.circulating);
        for bid in self.circulating..self.circulating + more {
            self.give(bid);
        }
        self.circulating += more;
        tracing::debug!(
            "io_uring: {} receive buffers in circulation",
            self.circulating
        );
        true
    }

    fn give(&mut self, bid: u16) {
        // SAFETY: index masked into the NBUF entries of our mapping; the kernel only reads
        // entries between head and the published tail, and this one is past the tail.
        let e = unsafe { &mut *self.entries.add((self.tail & (NBUF - 1)) as usize) };
        e.set_addr(self.bufs.as_ptr() as u64 + bid as u64 * BUFSZ as u64);
        e.set_len(BUFSZ as u32);
        e.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    fn publish(&self) {
        // SAFETY: the tail is a u16 inside the first entry of our mapping, shared with the
        // kernel, hence accessed atomically; Release orders the entry writes before it.
        let tail = unsafe { &*(types::BufRingEntry::tail(self.entries) as *const AtomicU16) };
        tail.store(self.tail, Ordering::Release);
    }

    fn get(&self, bid: u16, len: usize) -> &[u8] {
        &self.bufs[bid as usize * BUFSZ..][..len.min(BUFSZ)]
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped; the ring that used it is gone.
        unsafe { libc::munmap(self.entries.cast(), self.entries_len) };
    }
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
                        let data = self.bufs.get(bid, len);
                        f(Event::Recv {
                            conn: idx,
                            res: Recv::Data(data),
                            armed,
                        });
                        self.bufs.give(bid);
                        self.bufs.used += 1;
                        gave_buffers = true;
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
