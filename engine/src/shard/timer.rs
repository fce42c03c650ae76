//! Placeholder until the timer branch lands (same interface).
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerId {
    slot: usize,
    gen: u64,
}

pub struct TimerWheel {
    slots: Vec<Option<(u64, Instant, u64)>>,
    free: Vec<usize>,
    order: BTreeMap<(Instant, usize), ()>,
    gen: u64,
}

impl TimerWheel {
    pub fn new(_now: Instant) -> Self {
        TimerWheel {
            slots: Vec::new(),
            free: Vec::new(),
            order: BTreeMap::new(),
            gen: 0,
        }
    }
    pub fn insert(&mut self, deadline: Instant, payload: u64) -> TimerId {
        self.gen += 1;
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        self.slots[slot] = Some((self.gen, deadline, payload));
        self.order.insert((deadline, slot), ());
        TimerId {
            slot,
            gen: self.gen,
        }
    }
    fn live(&self, id: TimerId) -> Option<(Instant, u64)> {
        match self.slots.get(id.slot) {
            Some(Some((g, d, p))) if *g == id.gen => Some((*d, *p)),
            _ => None,
        }
    }
    pub fn reset(&mut self, id: TimerId, deadline: Instant) -> bool {
        let Some((d, p)) = self.live(id) else {
            return false;
        };
        self.order.remove(&(d, id.slot));
        self.slots[id.slot] = Some((id.gen, deadline, p));
        self.order.insert((deadline, id.slot), ());
        true
    }
    pub fn cancel(&mut self, id: TimerId) -> bool {
        let Some((d, _)) = self.live(id) else {
            return false;
        };
        self.order.remove(&(d, id.slot));
        self.slots[id.slot] = None;
        self.free.push(id.slot);
        true
    }
    pub fn deadline(&self, id: TimerId) -> Option<Instant> {
        self.live(id).map(|(d, _)| d)
    }
    pub fn len(&self) -> usize {
        self.order.len()
    }
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
    pub fn next_deadline(&self) -> Option<Instant> {
        self.order.keys().next().map(|k| k.0)
    }
    pub fn poll_expired(&mut self, now: Instant, out: &mut Vec<u64>) {
        while let Some((&(d, slot), _)) = self.order.iter().next() {
            if d > now {
                break;
            }
            self.order.remove(&(d, slot));
            if let Some((_, _, p)) = self.slots[slot].take() {
                out.push(p);
            }
            self.free.push(slot);
        }
    }
}
