//! A provided-buffer ring (IORING_REGISTER_PBUF_RING): the kernel picks a
//! buffer for each multishot recv completion; we hand it back after parsing.

use io_uring::types::BufRingEntry;
use io_uring::IoUring;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

/// The ring of buffer descriptors plus the buffer memory itself.
pub struct BufRing {
    entries: *mut BufRingEntry,
    layout: Layout,
    data: Box<[u8]>,
    count: u16,
    size: u32,
    tail: u16,
    bgid: u16,
}

impl BufRing {
    /// Allocates `count` (power of two) buffers of `size` bytes and registers them as group `bgid`.
    pub fn new(ring: &IoUring, count: u16, size: u32, bgid: u16) -> io::Result<BufRing> {
        assert!(
            count.is_power_of_two(),
            "buffer count must be a power of two"
        );
        let layout = Layout::from_size_align(usize::from(count) * 16, 4096)
            .map_err(|e| io::Error::other(format!("buffer ring layout: {e}")))?;
        // SAFETY: the layout has a non-zero size (count >= 1, 16 bytes per entry).
        let entries = unsafe { alloc_zeroed(layout) }.cast::<BufRingEntry>();
        if entries.is_null() {
            return Err(io::Error::other("buffer ring allocation failed"));
        }
        let data = vec![0u8; usize::from(count) * size as usize].into_boxed_slice();
        let mut br = BufRing {
            entries,
            layout,
            data,
            count,
            size,
            tail: 0,
            bgid,
        };
        // SAFETY: `entries` is page-aligned, zeroed and holds `count` entries; it stays
        // allocated until `Drop`, which the driver runs only after unregistering the
        // group (or leaks it when the kernel might still use it).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(entries as u64, count, bgid, 0)
                .map_err(|e| io::Error::new(e.kind(), format!("register buffer ring: {e}")))?;
        }
        for bid in 0..count {
            br.push(bid);
        }
        br.publish();
        Ok(br)
    }

    /// The buffer group id to put in recv SQEs.
    pub fn group(&self) -> u16 {
        self.bgid
    }

    /// The first `len` bytes of buffer `bid`, as filled by a completed recv.
    pub fn get(&self, bid: u16, len: usize) -> &[u8] {
        let start = usize::from(bid) * self.size as usize;
        &self.data[start..start + len.min(self.size as usize)]
    }

    /// Queues buffer `bid` for the kernel again (visible after [`BufRing::publish`]).
    pub fn push(&mut self, bid: u16) {
        assert!(bid < self.count, "buffer id out of range");
        let idx = usize::from(self.tail & (self.count - 1));
        let addr = self.data.as_ptr() as u64 + u64::from(bid) * u64::from(self.size);
        // SAFETY: idx < count, so the entry lies inside the allocation. The kernel only
        // reads entries between its head and the published tail; this slot is past the
        // published tail, so we are its only user until `publish`.
        let e = unsafe { &mut *self.entries.add(idx) };
        e.set_addr(addr);
        e.set_len(self.size);
        e.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes pushed buffers visible to the kernel.
    pub fn publish(&self) {
        // SAFETY: `entries` points at the first, initialized entry; the tail field
        // overlays its `resv` field as the kernel ABI defines, is 2-byte aligned, and
        // is accessed atomically by both sides.
        let tail = unsafe { &*(BufRingEntry::tail(self.entries).cast::<AtomicU16>()) };
        tail.store(self.tail, Ordering::Release);
    }

    /// Gives up the memory without freeing it, for when the kernel may still write to it.
    pub fn leak(self) {
        let me = std::mem::ManuallyDrop::new(self);
        // SAFETY: `me` is never used or dropped again; moving the box out leaks it.
        let data = unsafe { std::ptr::read(&me.data) };
        Box::leak(data);
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout and not freed elsewhere.
        unsafe { dealloc(self.entries.cast(), self.layout) };
    }
}
