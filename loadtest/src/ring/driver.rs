//! The io_uring driver of one load thread: owns the ring, the provided-buffer
//! ring, the request payload and the target address. Every buffer an
//! operation references lives in this struct, and `Drop` waits for all
//! operations to complete (or leaks the memory) before freeing anything.

use super::bufring::BufRing;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// One completion, copied out of the completion queue.
#[derive(Debug, Clone, Copy)]
pub struct Cqe {
    /// The user data of the operation.
    pub user_data: u64,
    /// The operation's result (negative errno on failure).
    pub result: i32,
    flags: u32,
}

impl Cqe {
    /// The provided buffer holding received data, if any.
    pub fn buffer(&self) -> Option<u16> {
        cqueue::buffer_select(self.flags)
    }
    /// A multishot operation remains armed.
    pub fn more(&self) -> bool {
        cqueue::more(self.flags)
    }
}

/// Ring sizing.
#[derive(Debug, Clone, Copy)]
pub struct DriverConfig {
    /// Submission queue entries.
    pub entries: u32,
    /// Provided buffers (power of two).
    pub buf_count: u16,
    /// Bytes per provided buffer.
    pub buf_size: u32,
}

/// A single-threaded io_uring with everything its operations point into.
pub struct Driver {
    ring: IoUring,
    bufs: Option<BufRing>,
    payload: Option<Box<[u8]>>,
    addr: Option<Box<SockAddr>>,
    outstanding: usize,
}

const CANCEL_TAG: u64 = u64::MAX;

impl Driver {
    /// Sets up a ring (SINGLE_ISSUER + DEFER_TASKRUN when available) for `addr`,
    /// with `payload` as the bytes that sends take slices of.
    pub fn new(cfg: DriverConfig, addr: SocketAddr, payload: Vec<u8>) -> io::Result<Driver> {
        let cq = cfg.entries * 4;
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_cqsize(cq)
            .build(cfg.entries)
            .or_else(|_| IoUring::builder().setup_cqsize(cq).build(cfg.entries))
            .map_err(|e| io::Error::new(e.kind(), format!("io_uring_setup: {e}")))?;
        let bufs = BufRing::new(&ring, cfg.buf_count, cfg.buf_size, 0)?;
        Ok(Driver {
            ring,
            bufs: Some(bufs),
            payload: Some(payload.into_boxed_slice()),
            addr: Some(Box::new(SockAddr::from(addr))),
            outstanding: 0,
        })
    }

    /// A new TCP socket (TCP_NODELAY) for the target's address family.
    pub fn socket(&self) -> io::Result<Socket> {
        let domain = Domain::from(i32::from(self.addr().family()));
        let s = Socket::new(domain, Type::STREAM.cloexec(), None)?;
        s.set_nodelay(true)?;
        Ok(s)
    }

    fn addr(&self) -> &SockAddr {
        self.addr.as_deref().expect("address present until drop")
    }

    fn payload(&self) -> &[u8] {
        self.payload.as_deref().expect("payload present until drop")
    }

    fn bufs(&self) -> &BufRing {
        self.bufs.as_ref().expect("buffers present until drop")
    }

    /// Length of the payload that sends slice.
    pub fn payload_len(&self) -> usize {
        self.payload().len()
    }

    /// Queues an asynchronous connect of `sock` to the target.
    pub fn connect(&mut self, sock: &Socket, user_data: u64) -> io::Result<()> {
        let addr = self.addr();
        let fd = types::Fd(sock.as_raw_fd());
        let e = opcode::Connect::new(fd, addr.as_ptr().cast(), addr.len()).build();
        self.push(e.user_data(user_data))
    }

    /// Queues a multishot recv on `sock` into the provided buffers.
    pub fn recv(&mut self, sock: &Socket, user_data: u64) -> io::Result<()> {
        let fd = types::Fd(sock.as_raw_fd());
        let e = opcode::RecvMulti::new(fd, self.bufs().group()).build();
        self.push(e.user_data(user_data))
    }

    /// Queues a send of `payload[range]` on `sock`.
    pub fn send(&mut self, sock: &Socket, range: Range<usize>, user_data: u64) -> io::Result<()> {
        let bytes = &self.payload()[range];
        let fd = types::Fd(sock.as_raw_fd());
        let e = opcode::Send::new(fd, bytes.as_ptr(), bytes.len() as u32).build();
        self.push(e.user_data(user_data))
    }

    fn push(&mut self, e: squeue::Entry) -> io::Result<()> {
        // SAFETY: every pointer in the entries built above (address, payload slice,
        // buffer group) refers to memory owned by `self` that is not freed or moved
        // until every operation completed (see `Drop`); the socket fd is kept open by
        // the caller until it calls `close`, which submits queued entries first.
        while unsafe { self.ring.submission().push(&e) }.is_err() {
            self.ring.submit()?;
        }
        self.outstanding += 1;
        Ok(())
    }

    /// Closes a socket: queued entries are submitted first (so none can hit a reused
    /// fd number), then shutdown ends its pending recv and sends.
    pub fn close(&mut self, sock: Socket) {
        let _ = self.ring.submit();
        let _ = sock.shutdown(Shutdown::Both);
        drop(sock);
    }

    /// Submits queued entries and waits for at least one completion or the timeout.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<()> {
        let ts = types::Timespec::from(timeout);
        let args = types::SubmitArgs::new().timespec(&ts);
        match self.ring.submitter().submit_with_args(1, &args) {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(io::Error::new(e.kind(), format!("io_uring_enter: {e}"))),
        }
    }

    /// Moves all available completions into `out`.
    pub fn reap(&mut self, out: &mut Vec<Cqe>) {
        for c in self.ring.completion() {
            if !cqueue::more(c.flags()) {
                self.outstanding -= 1;
            }
            if c.user_data() != CANCEL_TAG {
                out.push(Cqe {
                    user_data: c.user_data(),
                    result: c.result(),
                    flags: c.flags(),
                });
            }
        }
    }

    /// The bytes a recv completion placed in buffer `bid`.
    pub fn data(&self, bid: u16, len: usize) -> &[u8] {
        self.bufs().get(bid, len)
    }

    /// Hands buffer `bid` back to the kernel (visible after [`Driver::publish`]).
    pub fn recycle(&mut self, bid: u16) {
        self.bufs
            .as_mut()
            .expect("buffers present until drop")
            .push(bid);
    }

    /// Publishes recycled buffers.
    pub fn publish(&self) {
        self.bufs().publish();
    }

    /// Cancels every operation and waits (bounded) until all have completed.
    /// Returns whether the ring is quiet.
    pub fn drain(&mut self, limit: Duration) -> bool {
        let cancel = opcode::AsyncCancel2::new(types::CancelBuilder::any().all()).build();
        if self.outstanding > 0 && self.push(cancel.user_data(CANCEL_TAG)).is_err() {
            return false;
        }
        let deadline = Instant::now() + limit;
        let mut sink = Vec::new();
        while self.outstanding > 0 && Instant::now() < deadline {
            if self.wait(Duration::from_millis(10)).is_err() {
                return false;
            }
            sink.clear();
            self.reap(&mut sink);
            for c in &sink {
                if let Some(bid) = c.buffer() {
                    self.recycle(bid);
                }
            }
        }
        self.outstanding == 0
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.drain(Duration::from_secs(2)) {
            let bgid = self.bufs().group();
            if self.ring.submitter().unregister_buf_ring(bgid).is_ok() {
                return; // Everything is quiet: fields drop normally.
            }
        }
        // The kernel may still reference our memory: never free it.
        if let Some(b) = self.bufs.take() {
            b.leak();
        }
        if let Some(p) = self.payload.take() {
            Box::leak(p);
        }
        if let Some(a) = self.addr.take() {
            Box::leak(a);
        }
    }
}
