//! The provided buffer ring of the io_uring backend: the kernel picks a buffer per receive,
//! the shard reads it during `dispatch` and gives it back.
//!
//! Two layouts, chosen when the ring is registered:
//! - **incremental** (`IOU_PBUF_RING_INC`, Linux 6.12+): few large buffers, each filled by
//!   consecutive receives at rising offsets; a completion flagged `BUF_MORE` leaves its
//!   buffer with the kernel, the last one gives it back. A pipelined burst or a request
//!   with a body arrives in one piece, and memory in circulation follows the bytes read.
//! - **whole** (older kernels): many small buffers, one per receive.
use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::{types, IoUring};

/// The buffer group id of the ring.
pub(crate) const BGID: u16 = 0;
/// `IOU_PBUF_RING_INC` (the crate keeps its sys module private).
const IOU_PBUF_RING_INC: u16 = 2;

/// One layout: how many buffers, how large, how many circulate at first.
struct Layout {
    /// Buffers at most (a power of two: the ring's size). Each completion holds its buffer
    /// (or its part of one) only until `dispatch` returns, so this bounds bytes in flight
    /// from the kernel, not connections: 10k idle connections hold none.
    nbuf: u16,
    size: usize,
    /// Buffers in circulation at start. The kernel takes buffers in ring order and we
    /// return them at the tail, so every buffer in circulation gets written (and its pages
    /// become resident) in turn. Circulation doubles when a turn used 3/4 of it (or ran
    /// dry), so resident memory follows the load: 256 KiB at start in both layouts.
    start: u16,
}

/// 64 KiB buffers: 16 pipelined 1 KiB POSTs fit in one, 16 MiB of address space at most.
const INCREMENTAL: Layout = Layout {
    nbuf: 256,
    size: 65536,
    start: 4,
};
/// 4 KiB buffers: a pipelined burst of 16 small requests fits in one; 8 MiB at most.
const WHOLE: Layout = Layout {
    nbuf: 2048,
    size: 4096,
    start: 64,
};

pub(crate) struct BufRing {
    entries: *mut types::BufRingEntry,
    entries_len: usize,
    /// `nbuf` buffers; only the first `circulating` are ever handed to the kernel, so the
    /// pages of the others are never touched (the allocation is lazily zero-mapped).
    bufs: Box<[u8]>,
    nbuf: u16,
    size: usize,
    /// Incremental layout: where the next completion's bytes start in each buffer.
    offsets: Vec<u32>,
    tail: u16,
    circulating: u16,
    /// Buffers that came back in completions since the last `grow_if_busy` (counted by
    /// `done`).
    used: u16,
    /// A receive found the ring empty since the last `grow_if_busy`.
    pub(crate) ran_dry: bool,
}

impl BufRing {
    /// Registers the ring, incremental where the kernel has it.
    pub(crate) fn new(ring: &IoUring) -> io::Result<BufRing> {
        match BufRing::with_layout(ring, &INCREMENTAL, IOU_PBUF_RING_INC) {
            Ok(br) => Ok(br),
            // EINVAL: a kernel before 6.12 does not know the flag.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                tracing::debug!("io_uring: no incremental buffer consumption ({e}); 4 KiB buffers");
                BufRing::with_layout(ring, &WHOLE, 0)
            }
            Err(e) => Err(e),
        }
    }

    fn with_layout(ring: &IoUring, layout: &Layout, flags: u16) -> io::Result<BufRing> {
        let entries_len = layout.nbuf as usize * std::mem::size_of::<types::BufRingEntry>();
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
        let incremental = flags & IOU_PBUF_RING_INC != 0;
        // Built before registering: on failure its Drop unmaps the entries.
        let mut br = BufRing {
            entries: ptr.cast(),
            entries_len,
            bufs: vec![0u8; layout.nbuf as usize * layout.size].into_boxed_slice(),
            nbuf: layout.nbuf,
            size: layout.size,
            offsets: if incremental {
                vec![0; layout.nbuf as usize]
            } else {
                Vec::new()
            },
            tail: 0,
            circulating: layout.start,
            used: 0,
            ran_dry: false,
        };
        // SAFETY: the entries mapping lives as long as `br`, which the ring outlives never:
        // Uring drops the ring (unregistering) before its BufRing (field order).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(ptr as u64, layout.nbuf, BGID, flags)?
        };
        for bid in 0..layout.start {
            br.give(bid);
        }
        br.publish();
        Ok(br)
    }

    /// After a batch of completions: puts more buffers into circulation (doubling, up to
    /// `nbuf`) when the batch used 3/4 of them or a receive found none. Never shrinks.
    pub(crate) fn grow_if_busy(&mut self) -> bool {
        let busy = self.ran_dry || self.used >= self.circulating / 4 * 3;
        self.used = 0;
        self.ran_dry = false;
        if !busy || self.circulating >= self.nbuf {
            return false;
        }
        let more = self.circulating.min(self.nbuf - self.circulating);
        for bid in self.circulating..self.circulating + more {
            self.give(bid);
        }
        self.circulating += more;
        tracing::debug!(
            "io_uring: {} receive buffers of {} KiB in circulation",
            self.circulating,
            self.size / 1024
        );
        true
    }

    /// The bytes of a receive completion in buffer `bid`; `more` is its `BUF_MORE` flag
    /// (the kernel keeps filling this buffer). Call [`done`](Self::done) after reading.
    pub(crate) fn read(&mut self, bid: u16, len: usize, more: bool) -> &[u8] {
        let base = bid as usize * self.size;
        let at = match self.offsets.get_mut(bid as usize) {
            Some(off) => {
                let at = *off as usize;
                *off = if more { (at + len) as u32 } else { 0 };
                at
            }
            None => 0,
        };
        let len = len.min(self.size.saturating_sub(at));
        &self.bufs[base + at..][..len]
    }

    /// Buffer `bid` was read: back to the kernel unless it is still filling it. Returns
    /// whether it went back (publish before the next wait).
    pub(crate) fn done(&mut self, bid: u16, more: bool) -> bool {
        if more && !self.offsets.is_empty() {
            return false;
        }
        self.give(bid);
        self.used += 1;
        true
    }

    fn give(&mut self, bid: u16) {
        // SAFETY: index masked into the `nbuf` entries of our mapping; the kernel only reads
        // entries between head and the published tail, and this one is past the tail.
        let e = unsafe { &mut *self.entries.add((self.tail & (self.nbuf - 1)) as usize) };
        e.set_addr(self.bufs.as_ptr() as u64 + bid as u64 * self.size as u64);
        e.set_len(self.size as u32);
        e.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    pub(crate) fn publish(&self) {
        // SAFETY: the tail is a u16 inside the first entry of our mapping, shared with the
        // kernel, hence accessed atomically; Release orders the entry writes before it.
        let tail = unsafe { &*(types::BufRingEntry::tail(self.entries) as *const AtomicU16) };
        tail.store(self.tail, Ordering::Release);
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `with_layout` mapped; the ring that used it is gone
        // (or never registered it).
        unsafe { libc::munmap(self.entries.cast(), self.entries_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Option<IoUring> {
        // io_uring may be unavailable (seccomp, kernel.io_uring_disabled): nothing to test.
        IoUring::new(8).ok()
    }

    #[test]
    fn incremental_buffers_are_read_at_rising_offsets_and_given_back_once() {
        let Some(ring) = ring() else { return };
        let Ok(mut br) = BufRing::with_layout(&ring, &INCREMENTAL, IOU_PBUF_RING_INC) else {
            return; // a kernel before 6.12
        };
        br.bufs[..10].copy_from_slice(b"aaaabbbccc");
        assert_eq!(br.read(0, 4, true), b"aaaa");
        assert!(!br.done(0, true));
        assert_eq!(br.read(0, 3, true), b"bbb");
        assert!(!br.done(0, true));
        assert_eq!(br.read(0, 3, false), b"ccc");
        assert!(br.done(0, false));
        assert_eq!(br.used, 1);
        // The buffer starts over once given back.
        assert_eq!(br.read(0, 4, true), b"aaaa");
    }

    #[test]
    fn whole_buffers_are_read_from_their_start_and_always_given_back() {
        let Some(ring) = ring() else { return };
        let mut br = BufRing::with_layout(&ring, &WHOLE, 0).expect("registering 4 KiB buffers");
        br.bufs[4096..4100].copy_from_slice(b"xyzw");
        assert_eq!(br.read(1, 4, false), b"xyzw");
        assert!(br.done(1, false));
        assert_eq!(br.read(1, 2, false), b"xy");
        // A length past the buffer's end is clipped to it.
        assert_eq!(br.read(1, 5000, false).len(), 4096);
    }
}
