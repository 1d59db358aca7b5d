//! The future event list: a binary heap ordered by `(time, sequence)`.
//!
//! Ties in time pop in insertion order (FIFO), so runs are reproducible whatever the heap's
//! internals. Cancellation is lazy: [`EventQueue::cancel`] records the key and the event is
//! dropped when it reaches the top. Domain code with its own generation counters (keep-alive
//! timers, aborted tasks) can skip stale events itself and never pay for the cancelled set.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

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

struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) first.
        other
            .time
            .cmp(&self.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A priority queue of timed events with FIFO tie-breaking and lazy cancellation.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
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
            heap: BinaryHeap::with_capacity(n),
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
        self.heap.push(Entry { time, seq, event });
        EventKey(seq)
    }

    /// Cancels a pending event; it will never be returned by [`pop`](Self::pop).
    pub fn cancel(&mut self, key: EventKey) {
        self.cancelled.insert(key.0);
    }

    /// The time of the earliest pending event that is not cancelled.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.skip_cancelled();
        self.heap.peek().map(|e| e.time)
    }

    /// Removes and returns the earliest event, advancing [`now`](Self::now) to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.skip_cancelled();
        let entry = self.heap.pop()?;
        self.now = entry.time;
        Some((entry.time, entry.event))
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
    fn skip_cancelled(&mut self) {
        if self.cancelled.is_empty() {
            return;
        }
        while let Some(top) = self.heap.peek() {
            if self.cancelled.remove(&top.seq) {
                self.heap.pop();
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
}
