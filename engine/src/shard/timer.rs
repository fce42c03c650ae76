//! Per-shard timers: a hashed hierarchical timing wheel with 1 ms ticks.
//!
//! # Technique
//!
//! * **Store.** Timers live in a slab (`Vec<Entry>` plus a free list); a freed slot is
//!   reused by the next insert, so once the slab has grown to the peak number of live
//!   timers nothing allocates. A [`TimerId`] is `(slot, generation)`; the generation is
//!   bumped when a slot is freed, so using an id of a timer that already fired or was
//!   cancelled is a harmless no-op (ids alias only after 2^32 reuses of one slot).
//! * **Wheel.** [`LEVELS`] levels of 64 slots; a level-`L` slot spans `64^L` ticks, so the
//!   wheel covers `64^6` ms (about 2.2 years). A timer is filed at the level of the
//!   highest 6-bit digit in which its deadline tick differs from the wheel's current tick
//!   (like tokio's and the Linux kernel's wheels); deadlines farther than the wheel's
//!   span are filed in the top level and re-filed when their slot comes round. Each slot
//!   is an intrusive doubly linked list threaded through the slab (`u32` links), and
//!   each level keeps a `u64` bitmap of its non-empty slots.
//! * **Lazy re-arm.** `reset` to a later deadline only overwrites the stored deadline:
//!   the timer stays in the slot it was filed in, which comes round no later than the
//!   new deadline, and is re-filed then. `reset` to an earlier deadline unlinks and
//!   re-files it. So the common inactivity-timeout pattern (push the deadline later on
//!   every read) is a single store.
//! * **Expiry.** `poll_expired` visits non-empty slots in time order (found with the
//!   bitmaps, so empty stretches cost nothing) and, per entry, fires it if its tick is
//!   the slot's tick and its exact deadline is `<= now`, or else re-files it at a lower
//!   level (cascading) or at its re-armed deadline. Timers due in the current, partly
//!   elapsed tick (and deadlines already in the past at insert) wait in a small
//!   `current` list that every poll re-examines, so expiry is exact: a timer fires on the
//!   first poll with `now >= deadline`, never earlier.
//!
//! # Complexity (`n` live timers)
//!
//! * `insert`, `cancel`, `reset`, `deadline`, `len`: O(1); no allocation once the slab
//!   has grown to its peak size, and never a syscall.
//! * `next_deadline`: O(`LEVELS`) — a bitmap scan, independent of `n`.
//! * `poll_expired`: O(non-empty slots passed + entries touched). Each timer is touched
//!   at most once per level while cascading down (≤ [`LEVELS`] times in all), once more
//!   per lazy re-arm that survived until its old slot came round, and on every poll while
//!   it waits in the current tick.

use std::time::{Duration, Instant};

/// Nanoseconds per wheel tick (1 ms).
pub const TICK_NS: u64 = 1_000_000;
/// Number of wheel levels; level `L` slots span `64^L` ticks.
pub const LEVELS: usize = 6;

const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Ticks covered by one rotation of the top level.
const WHEEL_SPAN: u64 = 1 << (SLOT_BITS as u64 * LEVELS as u64);
/// Farthest (in ticks from the current tick) a timer is filed; farther deadlines are
/// filed at this distance and re-filed when their slot comes round. One top-level slot
/// less than a rotation, so the slot cannot alias the current one.
const MAX_FILE_AHEAD: u64 = WHEEL_SPAN - (WHEEL_SPAN >> SLOT_BITS) - 1;
/// Deadlines are clamped to this many nanoseconds after the wheel's origin (~146 years),
/// which keeps all tick arithmetic far from overflow.
const MAX_DEADLINE_NS: u64 = u64::MAX >> 2;

const NIL: u32 = u32::MAX;
/// `Entry::loc` of a timer waiting in the current-tick list.
const LOC_CURRENT: u16 = (LEVELS * SLOTS) as u16;
/// `Entry::loc` of a free slab slot.
const LOC_FREE: u16 = u16::MAX;
/// Index of the current-tick list head in `TimerWheel::heads`.
const CURRENT: usize = LEVELS * SLOTS;

/// Handle to a timer: slab slot plus generation. Stale handles are detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId {
    slot: u32,
    generation: u32,
}

#[derive(Clone, Debug)]
struct Entry {
    /// Exact deadline, nanoseconds after the wheel's origin.
    deadline: u64,
    payload: u64,
    /// Tick the timer was filed for; its slot comes round no later than this tick.
    filed: u64,
    prev: u32,
    /// Next entry in the slot list, or next free slot when free.
    next: u32,
    generation: u32,
    /// `level * 64 + slot`, [`LOC_CURRENT`] or [`LOC_FREE`].
    loc: u16,
}

/// Hashed hierarchical timing wheel with 1 ms ticks. See the module documentation.
#[derive(Debug)]
pub struct TimerWheel {
    origin: Instant,
    entries: Vec<Entry>,
    free_head: u32,
    len: usize,
    /// Current tick: every slot for ticks before it has been processed, and the slot of
    /// this tick too (its not-yet-due timers are in the current list).
    elapsed: u64,
    /// Slot list heads, `level * 64 + slot`, plus the current list at [`CURRENT`].
    heads: Box<[u32]>,
    /// Per level, bit `s` set iff slot `s` is non-empty.
    occupied: [u64; LEVELS],
    /// Lower bound on the deadlines in the current list (exact after each poll).
    current_min: u64,
}

impl TimerWheel {
    /// Creates an empty wheel whose tick 0 starts at `now`.
    pub fn new(now: Instant) -> Self {
        Self::with_capacity(now, 0)
    }

    /// Creates an empty wheel with room for `capacity` timers before the slab grows.
    pub fn with_capacity(now: Instant, capacity: usize) -> Self {
        Self {
            origin: now,
            entries: Vec::with_capacity(capacity),
            free_head: NIL,
            len: 0,
            elapsed: 0,
            heads: vec![NIL; CURRENT + 1].into_boxed_slice(),
            occupied: [0; LEVELS],
            current_min: u64::MAX,
        }
    }

    /// Arms a timer that fires with `payload` once `deadline` has passed.
    /// A deadline in the past fires on the next poll. Panics beyond `u32::MAX - 1` live timers.
    pub fn insert(&mut self, deadline: Instant, payload: u64) -> TimerId {
        let deadline = self.to_ns(deadline);
        let idx = if self.free_head != NIL {
            let idx = self.free_head;
            let e = &mut self.entries[idx as usize];
            self.free_head = e.next;
            e.deadline = deadline;
            e.payload = payload;
            idx
        } else {
            let idx = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("TimerWheel: too many timers");
            self.entries.push(Entry {
                deadline,
                payload,
                filed: 0,
                prev: NIL,
                next: NIL,
                generation: 0,
                loc: LOC_FREE,
            });
            idx
        };
        self.len += 1;
        self.file(idx, deadline);
        TimerId {
            slot: idx,
            generation: self.entries[idx as usize].generation,
        }
    }

    /// Moves the deadline of a live timer (later or earlier). Returns `false`, doing
    /// nothing, if `id` is stale (the timer fired or was cancelled).
    pub fn reset(&mut self, id: TimerId, deadline: Instant) -> bool {
        let Some(idx) = self.live(id) else {
            return false;
        };
        let deadline = self.to_ns(deadline);
        let tick = deadline / TICK_NS;
        let e = &mut self.entries[idx as usize];
        e.deadline = deadline;
        if e.loc == LOC_CURRENT {
            if tick <= self.elapsed {
                self.current_min = self.current_min.min(deadline);
                return true;
            }
        } else if tick >= e.filed {
            // Lazy: its slot comes round no later than `filed`; it is re-filed then.
            return true;
        }
        self.unlink(idx);
        self.file(idx, deadline);
        true
    }

    /// Disarms a timer. Returns `false`, doing nothing, if `id` is stale.
    pub fn cancel(&mut self, id: TimerId) -> bool {
        match self.live(id) {
            Some(idx) => {
                self.unlink(idx);
                self.release(idx);
                true
            }
            None => false,
        }
    }

    /// The deadline of a live timer, or `None` if `id` is stale.
    /// (Deadlines before the wheel's creation read back as its creation instant.)
    pub fn deadline(&self, id: TimerId) -> Option<Instant> {
        self.live(id)
            .map(|idx| self.to_instant(self.entries[idx as usize].deadline))
    }

    /// The payload of a live timer, or `None` if `id` is stale.
    pub fn payload(&self, id: TimerId) -> Option<u64> {
        self.live(id).map(|idx| self.entries[idx as usize].payload)
    }

    /// Number of live timers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Earliest instant at which `poll_expired` may return something; `None` if no timers.
    ///
    /// Never later than the earliest deadline. It is within one tick of it when that timer
    /// is within the finest level (< 64 ms away, or in the current tick, then exact); for
    /// timers at coarser levels it is the start of their slot, where a poll cascades them
    /// down and returns nothing (likewise the old slot of a timer re-armed later, and the
    /// deadline of a cancelled timer of the current tick). O(`LEVELS`).
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.heads[CURRENT] != NIL {
            return Some(self.to_instant(self.current_min));
        }
        self.next_expiration()
            .map(|(_, tick)| self.to_instant(tick.saturating_mul(TICK_NS)))
    }

    /// Appends the payloads of all timers with deadline `<= now` and removes them.
    /// Payloads come out in deadline order to the tick (ties in any order), except that
    /// timers armed with a deadline in an already polled tick come first, in any order.
    pub fn poll_expired(&mut self, now: Instant, out: &mut Vec<u64>) {
        let now_ns = self.to_ns(now);
        let now_tick = (now_ns / TICK_NS).max(self.elapsed);

        // The current list holds timers of ticks <= elapsed: earlier than anything filed.
        let head = std::mem::replace(&mut self.heads[CURRENT], NIL);
        self.current_min = u64::MAX;
        let slot_tick = self.elapsed;
        self.drain(head, slot_tick, now_ns, now_tick, out);

        while let Some((slot, tick)) = self.next_expiration() {
            if tick > now_tick {
                break;
            }
            debug_assert!(tick >= self.elapsed, "wheel invariant: slot in the past");
            self.elapsed = tick.max(self.elapsed);
            let head = std::mem::replace(&mut self.heads[slot], NIL);
            self.occupied[slot / SLOTS] &= !(1u64 << (slot % SLOTS));
            self.drain(head, tick, now_ns, now_tick, out);
        }
        self.elapsed = now_tick;
    }

    /// Fires, keeps (current tick) or re-files every entry of a detached list whose slot
    /// starts at `slot_tick`; `self.elapsed == slot_tick`.
    fn drain(
        &mut self,
        mut idx: u32,
        slot_tick: u64,
        now_ns: u64,
        now_tick: u64,
        out: &mut Vec<u64>,
    ) {
        while idx != NIL {
            let e = &self.entries[idx as usize];
            let next = e.next;
            let deadline = e.deadline;
            let tick = deadline / TICK_NS;
            if tick <= slot_tick {
                if deadline <= now_ns {
                    out.push(e.payload);
                    self.release(idx);
                } else {
                    debug_assert!(tick <= now_tick);
                    self.link(idx, CURRENT, tick);
                    self.current_min = self.current_min.min(deadline);
                }
            } else {
                self.file(idx, deadline);
            }
            idx = next;
        }
    }

    /// Files an unlinked entry by its deadline relative to the current tick.
    fn file(&mut self, idx: u32, deadline: u64) {
        let tick = deadline / TICK_NS;
        let elapsed = self.elapsed;
        if tick <= elapsed {
            self.link(idx, CURRENT, tick);
            self.current_min = self.current_min.min(deadline);
            return;
        }
        let tick = tick.min(elapsed + MAX_FILE_AHEAD);
        let masked = (elapsed ^ tick) | SLOT_MASK;
        let level = (((63 - masked.leading_zeros()) / SLOT_BITS) as usize).min(LEVELS - 1);
        let slot = ((tick >> (SLOT_BITS as usize * level)) & SLOT_MASK) as usize;
        self.occupied[level] |= 1u64 << slot;
        self.link(idx, level * SLOTS + slot, tick);
    }

    /// Pushes an unlinked entry onto list `list` (does not touch bitmaps).
    fn link(&mut self, idx: u32, list: usize, filed: u64) {
        let head = self.heads[list];
        if head != NIL {
            self.entries[head as usize].prev = idx;
        }
        let e = &mut self.entries[idx as usize];
        e.prev = NIL;
        e.next = head;
        e.filed = filed;
        e.loc = list as u16;
        self.heads[list] = idx;
    }

    /// Removes a linked entry from its list, clearing the slot's bitmap bit if it empties.
    fn unlink(&mut self, idx: u32) {
        let e = &self.entries[idx as usize];
        let (prev, next, list) = (e.prev, e.next, e.loc as usize);
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.heads[list] = next;
            if next == NIL && list != CURRENT {
                self.occupied[list / SLOTS] &= !(1u64 << (list % SLOTS));
            }
        }
    }

    /// Returns an unlinked entry's slot to the free list.
    fn release(&mut self, idx: u32) {
        let e = &mut self.entries[idx as usize];
        e.generation = e.generation.wrapping_add(1);
        e.loc = LOC_FREE;
        e.next = self.free_head;
        self.free_head = idx;
        self.len -= 1;
    }

    fn live(&self, id: TimerId) -> Option<u32> {
        let e = self.entries.get(id.slot as usize)?;
        (e.generation == id.generation && e.loc != LOC_FREE).then_some(id.slot)
    }

    /// The earliest non-empty slot (`level * 64 + slot`) and the tick it starts at.
    /// Any timer at a lower level is earlier than every timer at a higher one, so the
    /// first non-empty level holds it.
    fn next_expiration(&self) -> Option<(usize, u64)> {
        let level = self.occupied.iter().position(|&bits| bits != 0)?;
        let shift = SLOT_BITS as usize * level;
        let now_slot = ((self.elapsed >> shift) & SLOT_MASK) as u32;
        let ahead = self.occupied[level].rotate_right(now_slot).trailing_zeros();
        let slot = ((now_slot + ahead) as u64) & SLOT_MASK;
        let slot_range = 1u64 << shift;
        let level_range = slot_range << SLOT_BITS;
        let mut tick = (self.elapsed & !(level_range - 1)) + (slot << shift);
        if tick + slot_range <= self.elapsed {
            // The slot has wrapped round: it is in the next rotation of this level.
            tick += level_range;
        }
        Some((level * SLOTS + slot as usize, tick))
    }

    fn to_ns(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.origin);
        u64::try_from(d.as_nanos()).map_or(MAX_DEADLINE_NS, |ns| ns.min(MAX_DEADLINE_NS))
    }

    /// Only called with values bounded by a deadline that came from an `Instant`
    /// (slot starts are never later than the deadlines filed in them), so it cannot overflow.
    fn to_instant(&self, ns: u64) -> Instant {
        self.origin + Duration::from_nanos(ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const MS: Duration = Duration::from_millis(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Deterministic xorshift64* PRNG.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn poll(w: &mut TimerWheel, now: Instant) -> Vec<u64> {
        let mut out = Vec::new();
        w.poll_expired(now, &mut out);
        out
    }

    #[test]
    fn empty_wheel() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        assert!(w.is_empty());
        assert_eq!(w.len(), 0);
        assert_eq!(w.next_deadline(), None);
        assert!(poll(&mut w, t0 + ms(1000)).is_empty());
    }

    #[test]
    fn fires_in_deadline_order() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let delays = [70u64, 3, 4000, 64, 1, 65, 500, 4096, 63, 2, 100_000, 4095];
        for (i, &d) in delays.iter().enumerate() {
            w.insert(t0 + ms(d), i as u64);
        }
        assert_eq!(w.len(), delays.len());
        let mut fired = Vec::new();
        for t in 0..=100_000 {
            fired.extend(poll(&mut w, t0 + ms(t)));
        }
        let mut expected: Vec<(u64, u64)> = delays
            .iter()
            .enumerate()
            .map(|(i, &d)| (d, i as u64))
            .collect();
        expected.sort();
        assert_eq!(fired, expected.iter().map(|&(_, i)| i).collect::<Vec<_>>());
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn one_poll_returns_batch_in_tick_order() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        for (i, d) in [9000u64, 5, 70, 300, 1].into_iter().enumerate() {
            w.insert(t0 + ms(d), i as u64);
        }
        assert_eq!(poll(&mut w, t0 + ms(10_000)), vec![4, 1, 2, 3, 0]);
    }

    #[test]
    fn exact_expiry_within_a_tick() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let d = t0 + ms(10) + Duration::from_micros(500);
        w.insert(d, 1);
        assert!(poll(&mut w, t0 + ms(10)).is_empty());
        // The loop would now sleep until the exact deadline, not spin on the tick start.
        assert_eq!(w.next_deadline(), Some(d));
        assert!(poll(&mut w, d - Duration::from_nanos(1)).is_empty());
        assert_eq!(poll(&mut w, d), vec![1]);
    }

    #[test]
    fn past_deadline_fires_on_next_poll() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        assert!(poll(&mut w, t0 + ms(50)).is_empty());
        w.insert(t0 + ms(10), 7);
        w.insert(t0, 8);
        assert!(w.next_deadline().unwrap() <= t0 + ms(10));
        let mut fired = poll(&mut w, t0 + ms(50));
        fired.sort();
        assert_eq!(fired, vec![7, 8]);
    }

    #[test]
    fn reset_later_and_earlier() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let a = w.insert(t0 + ms(10), 1);
        let b = w.insert(t0 + ms(1000), 2);
        assert!(w.reset(a, t0 + ms(50))); // later: lazy
        assert!(w.reset(b, t0 + ms(5))); // earlier: re-filed
        assert!(w.reset(a, t0 + ms(30))); // earlier than 50 but later than filed 10
        assert_eq!(w.deadline(a), Some(t0 + ms(30)));
        assert_eq!(w.deadline(b), Some(t0 + ms(5)));
        assert!(poll(&mut w, t0 + ms(4)).is_empty());
        assert_eq!(poll(&mut w, t0 + ms(5)), vec![2]);
        for t in 6..30 {
            assert!(poll(&mut w, t0 + ms(t)).is_empty(), "fired early at {t}");
        }
        assert_eq!(poll(&mut w, t0 + ms(30)), vec![1]);
        assert!(w.is_empty());
    }

    #[test]
    fn reset_repeatedly_like_an_inactivity_timeout() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let id = w.insert(t0 + ms(100), 9);
        // Activity every 7 ms for 2 s pushes the deadline along; it must not fire.
        let mut t = 0;
        while t < 2000 {
            t += 7;
            assert!(w.reset(id, t0 + ms(t + 100)));
            assert!(poll(&mut w, t0 + ms(t)).is_empty(), "fired at {t}");
        }
        let deadline = t + 100;
        for u in t..deadline {
            assert!(poll(&mut w, t0 + ms(u)).is_empty());
        }
        assert_eq!(poll(&mut w, t0 + ms(deadline)), vec![9]);
    }

    #[test]
    fn reset_within_current_tick() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let id = w.insert(t0 + ms(3) + Duration::from_micros(900), 1);
        assert!(poll(&mut w, t0 + ms(3)).is_empty());
        // Still in the current tick, earlier: next_deadline follows it.
        assert!(w.reset(id, t0 + ms(3) + Duration::from_micros(200)));
        assert_eq!(
            w.next_deadline(),
            Some(t0 + ms(3) + Duration::from_micros(200))
        );
        // Out of the current tick, later.
        assert!(w.reset(id, t0 + ms(200)));
        assert!(w.next_deadline().unwrap() <= t0 + ms(200));
        assert!(poll(&mut w, t0 + ms(199)).is_empty());
        assert_eq!(poll(&mut w, t0 + ms(200)), vec![1]);
    }

    #[test]
    fn cancel() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let a = w.insert(t0 + ms(10), 1);
        let b = w.insert(t0 + ms(10), 2);
        let c = w.insert(t0 + ms(100_000), 3);
        assert_eq!(w.len(), 3);
        assert!(w.cancel(a));
        assert!(!w.cancel(a));
        assert!(w.cancel(c));
        assert_eq!(w.len(), 1);
        assert_eq!(w.deadline(a), None);
        assert_eq!(poll(&mut w, t0 + ms(200_000)), vec![2]);
        assert!(!w.cancel(b));
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn stale_ids_are_harmless() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let a = w.insert(t0 + ms(1), 1);
        assert_eq!(poll(&mut w, t0 + ms(1)), vec![1]);
        // The slot is reused by the next insert; the old id must not reach the new timer.
        let b = w.insert(t0 + ms(20), 2);
        assert_ne!(a, b);
        assert!(!w.reset(a, t0 + ms(2)));
        assert!(!w.cancel(a));
        assert_eq!(w.deadline(a), None);
        assert_eq!(w.payload(a), None);
        assert_eq!(w.deadline(b), Some(t0 + ms(20)));
        assert_eq!(w.payload(b), Some(2));
        assert!(w.cancel(b));
        assert!(!w.reset(b, t0 + ms(30)));
        let bogus = TimerId {
            slot: 12345,
            generation: 0,
        };
        assert!(!w.cancel(bogus));
        assert!(poll(&mut w, t0 + ms(100)).is_empty());
    }

    #[test]
    fn far_deadlines_across_levels() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let delays: Vec<u64> = vec![
            63,
            64,
            4_095,
            4_096,
            262_143,
            300_000,                    // requestTimeout
            3_600_000,                  // an hour
            16_777_216,                 // level 4
            10 * 86_400_000,            // ten days
            WHEEL_SPAN - 1,             // last tick of the wheel
            WHEEL_SPAN + 12_345,        // beyond one rotation (~2.2 years)
            3 * WHEEL_SPAN + 1_000_000, // several rotations
        ];
        for (i, &d) in delays.iter().enumerate() {
            w.insert(t0 + ms(d) + Duration::from_micros(300), i as u64);
        }
        for (i, &d) in delays.iter().enumerate() {
            let deadline = t0 + ms(d) + Duration::from_micros(300);
            // Follow next_deadline like the event loop does, up to just before the deadline.
            let mut wakeups = 0;
            while let Some(nd) = w.next_deadline() {
                if nd >= deadline {
                    break;
                }
                assert!(poll(&mut w, nd).is_empty(), "early fire before {d} ms");
                wakeups += 1;
                assert!(wakeups < 4 * LEVELS, "too many wakeups for {d} ms");
            }
            assert!(poll(&mut w, deadline - Duration::from_nanos(1)).is_empty());
            assert_eq!(w.next_deadline(), Some(deadline));
            assert_eq!(poll(&mut w, deadline), vec![i as u64], "delay {d} ms");
        }
        assert!(w.is_empty());
    }

    #[test]
    fn far_deadline_with_one_big_jump() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        w.insert(t0 + ms(5 * WHEEL_SPAN), 1);
        w.insert(t0 + ms(7_200_000), 2);
        assert_eq!(poll(&mut w, t0 + ms(7_200_000)), vec![2]);
        assert!(poll(&mut w, t0 + ms(5 * WHEEL_SPAN - 1)).is_empty());
        assert_eq!(poll(&mut w, t0 + ms(5 * WHEEL_SPAN)), vec![1]);
    }

    #[test]
    fn never_early_and_at_most_one_tick_late() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut deadlines = Vec::new();
        for i in 0..5_000u64 {
            let d = t0 + Duration::from_nanos(rng.below(20_000_000_000));
            w.insert(d, i);
            deadlines.push(d);
        }
        let mut fired_at = vec![None; deadlines.len()];
        let mut out = Vec::new();
        for t in 0..=20_001u64 {
            let now = t0 + ms(t);
            out.clear();
            w.poll_expired(now, &mut out);
            for &p in &out {
                assert!(fired_at[p as usize].is_none(), "fired twice");
                fired_at[p as usize] = Some(now);
            }
        }
        for (d, f) in deadlines.iter().zip(&fired_at) {
            let f = f.expect("timer never fired");
            assert!(f >= *d, "fired early");
            assert!(f - *d <= MS, "fired {:?} late", f - *d);
        }
        assert!(w.is_empty());
    }

    #[test]
    fn event_loop_sleeping_until_next_deadline_fires_on_time() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let mut rng = Rng(99);
        let n = 2_000u64;
        let mut deadlines = Vec::new();
        for i in 0..n {
            let d = t0 + Duration::from_nanos(rng.below(600_000_000_000));
            w.insert(d, i);
            deadlines.push(d);
        }
        let mut wakeups = 0u64;
        let mut fired = 0;
        while let Some(nd) = w.next_deadline() {
            wakeups += 1;
            for p in poll(&mut w, nd) {
                // Waking exactly at next_deadline is enough: timers fire on time.
                assert_eq!(deadlines[p as usize], nd);
                fired += 1;
            }
        }
        assert_eq!(fired, n);
        // No spinning: a couple of wakeups per timer plus cascades.
        assert!(wakeups < 3 * n, "{wakeups} wakeups");
    }

    #[test]
    fn many_timers() {
        let t0 = Instant::now();
        let n = 200_000u64;
        let mut w = TimerWheel::with_capacity(t0, n as usize);
        let mut rng = Rng(7);
        let mut deadlines: Vec<Instant> = (0..n).map(|_| t0 + ms(1 + rng.below(120_000))).collect();
        let ids: Vec<TimerId> = (0..n).map(|i| w.insert(deadlines[i as usize], i)).collect();
        assert_eq!(w.len(), n as usize);
        // Cancel every third timer, push every third later.
        for (i, &id) in ids.iter().enumerate() {
            match i % 3 {
                0 => assert!(w.cancel(id)),
                1 => {
                    deadlines[i] += ms(60_000);
                    assert!(w.reset(id, deadlines[i]));
                }
                _ => {}
            }
        }
        let mut total = 0;
        for t in (0..=180_000).step_by(250) {
            let now = t0 + ms(t);
            for p in poll(&mut w, now) {
                assert_ne!(p % 3, 0, "cancelled timer fired");
                let d = deadlines[p as usize];
                assert!(d <= now && now - d < ms(250), "fired at the wrong poll");
                total += 1;
            }
        }
        assert_eq!(total, n - n.div_ceil(3));
        assert!(w.is_empty());
        // Freed slots are reused: a second round does not grow the slab.
        let cap = w.entries.capacity();
        for i in 0..n {
            w.insert(t0 + ms(200_000 + i), i);
        }
        assert_eq!(w.entries.capacity(), cap);
        assert_eq!(w.len(), n as usize);
    }

    /// Random operations checked against a BTreeMap model.
    #[test]
    fn randomized_against_reference_model() {
        for seed in 1..=12u64 {
            run_model(seed, 20_000);
        }
    }

    fn run_model(seed: u64, steps: usize) {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0);
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        // payload -> (id, deadline)
        let mut model: BTreeMap<u64, (TimerId, Instant)> = BTreeMap::new();
        let mut dead: Vec<TimerId> = Vec::new();
        let mut now = t0;
        let mut next_payload = 0u64;
        let mut polled_tick = 0u64;
        let mut out = Vec::new();
        let random_delay = |rng: &mut Rng| -> Duration {
            match rng.below(10) {
                0 => Duration::from_nanos(rng.below(2_000_000)), // within a tick or two
                1..=4 => Duration::from_nanos(rng.below(200_000_000)), // < 200 ms
                5..=7 => Duration::from_millis(rng.below(300_000)), // < 300 s
                8 => Duration::from_millis(rng.below(40 * 86_400_000)), // < 40 days
                _ => Duration::from_millis(rng.below(3 * WHEEL_SPAN)), // beyond the wheel
            }
        };
        for _ in 0..steps {
            match rng.below(100) {
                0..=29 => {
                    let d = if rng.below(20) == 0 {
                        now.checked_sub(random_delay(&mut rng))
                            .unwrap_or(t0)
                            .max(t0)
                    } else {
                        now + random_delay(&mut rng)
                    };
                    let id = w.insert(d, next_payload);
                    model.insert(next_payload, (id, d));
                    next_payload += 1;
                }
                30..=54 if !model.is_empty() => {
                    let k = *model
                        .keys()
                        .nth(rng.below(model.len() as u64) as usize)
                        .unwrap();
                    let d = match rng.below(3) {
                        0 => now + random_delay(&mut rng),
                        1 => model[&k].1 + Duration::from_nanos(rng.below(5_000_000_000)),
                        _ => now + Duration::from_nanos(rng.below(3_000_000)),
                    };
                    assert!(w.reset(model[&k].0, d));
                    model.get_mut(&k).unwrap().1 = d;
                }
                55..=64 if !model.is_empty() => {
                    let k = *model
                        .keys()
                        .nth(rng.below(model.len() as u64) as usize)
                        .unwrap();
                    let (id, _) = model.remove(&k).unwrap();
                    assert!(w.cancel(id));
                    dead.push(id);
                }
                65..=69 if !dead.is_empty() => {
                    let id = dead[rng.below(dead.len() as u64) as usize];
                    assert!(!w.cancel(id));
                    assert!(!w.reset(id, now + ms(5)));
                    assert_eq!(w.deadline(id), None);
                }
                _ => {
                    match (rng.below(10), w.next_deadline()) {
                        // Wake exactly at next_deadline, as the event loop does.
                        (0..=2, Some(nd)) => now = now.max(nd),
                        (0..=5, _) => now += Duration::from_nanos(rng.below(3_000_000)),
                        (6..=8, _) => now += Duration::from_millis(rng.below(5_000)),
                        // Up to ~12 days: a run spans several rotations of the wheel
                        // but stays well within the ~146 years deadlines can reach.
                        _ => now += Duration::from_millis(rng.below(WHEEL_SPAN / 64)),
                    }
                    out.clear();
                    w.poll_expired(now, &mut out);
                    let mut expected: Vec<u64> = model
                        .iter()
                        .filter(|(_, &(_, d))| d <= now)
                        .map(|(&k, _)| k)
                        .collect();
                    // Output is in deadline order to the tick, except that timers armed
                    // with a deadline in an already polled tick come first, in any order.
                    let ticks: Vec<u64> = out
                        .iter()
                        .map(|p| (model[p].1 - t0).as_nanos() as u64 / TICK_NS)
                        .collect();
                    let late = ticks.iter().take_while(|&&t| t <= polled_tick).count();
                    assert!(
                        ticks[late..].iter().all(|&t| t > polled_tick),
                        "seed {seed}"
                    );
                    assert!(
                        ticks[late..].windows(2).all(|w| w[0] <= w[1]),
                        "seed {seed}: {ticks:?} polled {polled_tick} now {:?}",
                        (now - t0).as_nanos() as u64 / TICK_NS
                    );
                    polled_tick = polled_tick.max((now - t0).as_nanos() as u64 / TICK_NS);
                    let mut got = out.clone();
                    got.sort();
                    expected.sort();
                    assert_eq!(got, expected, "seed {seed}: fired set at {:?}", now - t0);
                    for k in &expected {
                        dead.push(model.remove(k).unwrap().0);
                    }
                }
            }
            assert_eq!(w.len(), model.len());
            let min = model.values().map(|&(_, d)| d).min();
            match (w.next_deadline(), min) {
                (None, None) => {}
                (Some(nd), Some(m)) => assert!(nd <= m, "seed {seed}: next_deadline too late"),
                (nd, m) => panic!("seed {seed}: next_deadline {nd:?} vs model {m:?}"),
            }
            if rng.below(50) == 0 {
                for (&k, &(id, d)) in &model {
                    assert_eq!(w.deadline(id), Some(d));
                    assert_eq!(w.payload(id), Some(k));
                }
            }
        }
        assert!(
            now - t0 > ms(WHEEL_SPAN),
            "seed {seed}: run should span a rotation"
        );
        // Drain everything.
        now += ms(4 * WHEEL_SPAN);
        out.clear();
        w.poll_expired(now, &mut out);
        assert_eq!(out.len(), model.len(), "seed {seed}: final drain");
        assert!(w.is_empty());
    }
}
