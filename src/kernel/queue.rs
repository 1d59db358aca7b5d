//! The future event list: a binary heap ordered by `(time, sequence)`.
//!
//! Ties in time pop in insertion order (FIFO), so runs are reproducible whatever the heap's
//! internals. Cancellation is lazy: [`EventQueue::cancel`] records the key and the event is
//! dropped when it reaches the top. Domain code with its own generation counters (keep-alive
//! timers, aborted tasks) can skip stale events itself and never pay for the cancelled set.

use std::collections::HashSet;

use super::time::SimTime;

/// Identifies one scheduled event, for cancellation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[must_use = "an event key is only useful to cancel the event later"]
pub struct EventKey(u64);

/// Scheduling an event before the current time is a bug in the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot schedule an event at {at} before the current time {now}")]
pub struct InPast {
    /// The current simulated time.
    pub now: SimTime,
    /// The requested time.
    pub at: SimTime,
}

/// One pending event. `key` packs `(time, sequence)` into one integer (time in the high 64
/// bits), so ordering is a single branch-free `u128` comparison.
struct Entry<E> {
    key: u128,
    event: E,
}

#[inline(always)]
fn key(time: SimTime, seq: u64) -> u128 {
    ((time.0 as u128) << 64) | seq as u128
}

#[inline(always)]
fn key_time(key: u128) -> SimTime {
    SimTime((key >> 64) as u64)
}

/// Moves the hole at `pos` up, parents down into it, until key `k` fits; returns its place.
///
/// # Safety
/// `base` points to a heap with `pos` a valid index whose slot is a hole (already read out);
/// the caller fills the returned slot exactly once.
#[inline(always)]
unsafe fn hole_up<E>(base: *mut Entry<E>, mut pos: usize, k: u128) -> usize {
    while pos > 0 {
        let parent = (pos - 1) / 2;
        // SAFETY: parents of a valid index are valid; the hole receives the parent's entry.
        unsafe {
            if (*base.add(parent)).key <= k {
                break;
            }
            std::ptr::copy_nonoverlapping(base.add(parent), base.add(pos), 1);
        }
        pos = parent;
    }
    pos
}

/// The position of an event in the queue's order: its time, then its insertion number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventKeyTime(u128);

impl EventKeyTime {
    /// After every event.
    pub const NEVER: EventKeyTime = EventKeyTime(u128::MAX);

    /// The event's time.
    #[inline]
    pub fn time(self) -> SimTime {
        key_time(self.0)
    }
}

/// A priority queue of timed events with FIFO tie-breaking and lazy cancellation.
///
/// A binary min-heap written for the engine's hot path: entries are `(u128 key, event)`, the
/// child to follow is chosen without a branch, and `pop` moves the hole to the bottom before
/// sifting the last entry up (Floyd), as `std::collections::BinaryHeap` does, but with one
/// comparison per level instead of two lexicographic ones.
pub struct EventQueue<E> {
    heap: Vec<Entry<E>>,
    next_seq: u64,
    now: SimTime,
    cancelled: HashSet<u64>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `n` pending events.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: Vec::with_capacity(n),
            next_seq: 0,
            now: SimTime::ZERO,
            cancelled: HashSet::new(),
        }
    }

    /// The time of the last popped event.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Number of pending entries (cancelled ones included until they are popped).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Schedules `event` at `at`, which must not be before [`now`](Self::now).
    pub fn schedule(&mut self, at: SimTime, event: E) -> Result<EventKey, InPast> {
        if at < self.now {
            return Err(InPast { now: self.now, at });
        }
        Ok(self.push_unchecked(at, event))
    }

    /// Schedules `event` at `at`, clamping to now. For the engine's own events, whose times
    /// are computed as `now + duration` and cannot be in the past.
    #[inline]
    pub fn push(&mut self, at: SimTime, event: E) -> EventKey {
        let at = at.max(self.now);
        self.push_unchecked(at, event)
    }

    #[inline]
    fn push_unchecked(&mut self, time: SimTime, event: E) -> EventKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let k = key(time, seq);
        let len = self.heap.len();
        self.heap.reserve(1);
        // Sift up from a hole one past the end: move parents down into it until the new key
        // fits, then write the entry once (writing it at the end and reading it back would
        // stall on store forwarding).
        // SAFETY: the capacity covers index `len`; every other index used is a parent of it,
        // so < len; the hole is filled exactly once before the length grows to cover it.
        unsafe {
            let base = self.heap.as_mut_ptr();
            let pos = hole_up(base, len, k);
            std::ptr::write(base.add(pos), Entry { key: k, event });
            self.heap.set_len(len + 1);
        }
        EventKey(seq)
    }

    /// Cancels a pending event; it will never be returned by [`pop`](Self::pop).
    pub fn cancel(&mut self, key: EventKey) {
        self.cancelled.insert(key.0);
    }

    /// The time of the earliest pending event that is not cancelled.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.skip_cancelled();
        self.heap.first().map(|e| key_time(e.key))
    }

    /// The (time, insertion) key of the earliest pending event that is not cancelled; keys
    /// order events as [`pop`](Self::pop) does. See [`reserve_key`](Self::reserve_key).
    #[inline]
    pub fn peek_key(&mut self) -> Option<EventKeyTime> {
        self.skip_cancelled();
        self.heap.first().map(|e| EventKeyTime(e.key))
    }

    /// The key an event pushed now at `at` (clamped to now) would have, without pushing it:
    /// for an event the caller keeps beside the heap, which then runs exactly where
    /// [`push`](Self::push) would have put it (compare with [`peek_key`](Self::peek_key), then
    /// [`advance_to`](Self::advance_to) its time).
    #[inline]
    pub fn reserve_key(&mut self, at: SimTime) -> EventKeyTime {
        let seq = self.next_seq;
        self.next_seq += 1;
        EventKeyTime(key(at.max(self.now), seq))
    }

    /// Removes and returns the earliest event, advancing [`now`](Self::now) to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.skip_cancelled();
        let entry = self.pop_min()?;
        let time = key_time(entry.key);
        self.now = time;
        Some((time, entry.event))
    }

    /// Advances the clock without an event (for arrivals merged beside the heap).
    /// Times earlier than now are ignored.
    #[inline]
    pub fn advance_to(&mut self, t: SimTime) {
        if t > self.now {
            self.now = t;
        }
    }

    #[inline]
    fn pop_min(&mut self) -> Option<Entry<E>> {
        let last = self.heap.pop()?;
        let len = self.heap.len();
        if len == 0 {
            return Some(last);
        }
        // SAFETY: all indices are < len; the root is read out once, the hole moves down to a
        // leaf and then up, and is filled once with `last` (already removed from the vector).
        unsafe {
            let base = self.heap.as_mut_ptr();
            let top = std::ptr::read(base);
            // Move the hole from the root to the bottom, following the smaller child.
            let mut pos = 0;
            let mut child = 1;
            while child + 1 < len {
                child += ((*base.add(child + 1)).key < (*base.add(child)).key) as usize;
                std::ptr::copy_nonoverlapping(base.add(child), base.add(pos), 1);
                pos = child;
                child = 2 * pos + 1;
            }
            if child + 1 == len {
                std::ptr::copy_nonoverlapping(base.add(child), base.add(pos), 1);
                pos = child;
            }
            // Sift `last` up from the hole.
            pos = hole_up(base, pos, last.key);
            std::ptr::write(base.add(pos), last);
            Some(top)
        }
    }

    #[inline(always)]
    fn skip_cancelled(&mut self) {
        if !self.cancelled.is_empty() {
            self.drop_cancelled_tops();
        }
    }

    /// Pops cancelled events off the top (out of line: most runs never cancel).
    #[cold]
    #[inline(never)]
    fn drop_cancelled_tops(&mut self) {
        while let Some(top) = self.heap.first() {
            if self.cancelled.remove(&(top.key as u64)) {
                self.pop_min();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        for (t, name) in [(5, "a"), (1, "b"), (5, "c"), (1, "d"), (5, "e")] {
            let _ = q.push(SimTime(t), name);
        }
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["b", "d", "a", "c", "e"]);
    }

    #[test]
    fn a_reserved_key_orders_like_a_pushed_event() {
        let mut q = EventQueue::new();
        let _ = q.push(SimTime(5), "a");
        let side = q.reserve_key(SimTime(5));
        let _ = q.push(SimTime(5), "b");
        assert!(q.peek_key().unwrap() < side);
        assert_eq!(q.pop(), Some((SimTime(5), "a")));
        assert!(side < q.peek_key().unwrap());
        assert_eq!(side.time(), SimTime(5));
        assert!(side < EventKeyTime::NEVER);
    }

    #[test]
    fn cancelled_events_never_fire() {
        let mut q = EventQueue::new();
        let a = q.push(SimTime(1), 1);
        let _ = q.push(SimTime(2), 2);
        let c = q.push(SimTime(3), 3);
        q.cancel(a);
        q.cancel(c);
        assert_eq!(q.pop(), Some((SimTime(2), 2)));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn scheduling_in_the_past_is_an_error() {
        let mut q = EventQueue::new();
        let _ = q.push(SimTime(10), ());
        q.pop();
        assert_eq!(
            q.schedule(SimTime(5), ()).unwrap_err(),
            InPast {
                now: SimTime(10),
                at: SimTime(5)
            }
        );
    }

    #[test]
    fn pops_are_non_decreasing_under_random_load() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        let mut q = EventQueue::new();
        let mut last = (SimTime::ZERO, 0u64);
        for i in 0..10_000u64 {
            let _ = q.push(
                q.now() + crate::kernel::SimDuration(rng.random_range(0..50)),
                i,
            );
            if rng.random_bool(0.5)
                && let Some((t, seq)) = q.pop()
            {
                assert!(t >= last.0);
                if t == last.0 {
                    assert!(seq > last.1, "ties must be FIFO");
                }
                last = (t, seq);
            }
        }
    }

    #[test]
    fn pops_match_a_reference_heap_exactly() {
        // Differential test of the hand-written heap against std's BinaryHeap on (time, seq).
        use rand::{RngExt, SeedableRng};
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(11);
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        for i in 0..50_000u64 {
            if rng.random_bool(0.55) {
                let t = q.now() + crate::kernel::SimDuration(rng.random_range(0..20));
                let _ = q.push(t, i);
                reference.push(Reverse((t, i)));
            } else {
                let got = q.pop();
                let want = reference.pop().map(|Reverse(x)| x);
                assert_eq!(got, want, "step {i}");
            }
        }
        while let Some(Reverse(want)) = reference.pop() {
            assert_eq!(q.pop(), Some(want));
        }
        assert_eq!(q.pop(), None);
    }
}
