//! Grouping consecutive arrivals into groups of K: the batcher.
//!
//! It sees only arrival times, never the policy, so every policy of a scenario sees the same
//! groups (common random numbers hold for grouped requests too). A group closes when it has
//! K members, or `timeout` after its first member arrived (a partial group); without a
//! timeout, a partial group closes when arrivals end.

use crate::kernel::SimTime;

/// One member of a group: a request that arrived on its own and is answered on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its arrival time (its latency is measured from here).
    pub arrival: SimTime,
    /// Its arrival index.
    pub index: u64,
    /// It counts in metrics (arrived after the warm-up).
    pub measured: bool,
    /// Its request class (trace function).
    pub class: u32,
    /// The service time its trace record gives, if any.
    pub service: Option<crate::kernel::SimDuration>,
}

/// What an arrival did to the open group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// It opened a new group: its timeout, if any, runs from now (`generation` identifies it).
    Opened {
        /// The group's generation.
        generation: u32,
    },
    /// It joined the open group.
    Joined,
    /// It filled the group: take it with [`Batcher::take`].
    Full,
}

/// The batcher.
#[derive(Clone, Debug)]
pub struct Batcher {
    size: usize,
    open: Vec<Member>,
    generation: u32,
}

impl Batcher {
    /// Groups of `size` (≥ 1) members.
    pub fn new(size: u16) -> Self {
        Batcher {
            size: size.max(1) as usize,
            open: Vec::with_capacity(size as usize),
            generation: 0,
        }
    }

    /// A new arrival.
    pub fn add(&mut self, m: Member) -> Added {
        self.open.push(m);
        if self.open.len() >= self.size {
            Added::Full
        } else if self.open.len() == 1 {
            self.generation = self.generation.wrapping_add(1);
            Added::Opened {
                generation: self.generation,
            }
        } else {
            Added::Joined
        }
    }

    /// The timeout of group `generation` ran out: true if that group is still open (take it).
    pub fn timed_out(&self, generation: u32) -> bool {
        generation == self.generation && !self.open.is_empty()
    }

    /// True when a group is open.
    pub fn is_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// Closes the open group, moving its members into `into` (cleared first).
    pub fn take(&mut self, into: &mut Vec<Member>) {
        into.clear();
        into.append(&mut self.open);
        // A full group never timed out: a later timeout of its generation must not fire.
        self.generation = self.generation.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(t: u64) -> Member {
        Member {
            arrival: SimTime(t),
            index: t,
            measured: true,
            class: 0,
            service: None,
        }
    }

    #[test]
    fn groups_close_when_full_and_stale_timeouts_do_not_fire() {
        let mut b = Batcher::new(3);
        let Added::Opened { generation } = b.add(m(1)) else {
            panic!("the first member opens a group")
        };
        assert_eq!(b.add(m(2)), Added::Joined);
        assert_eq!(b.add(m(3)), Added::Full);
        let mut g = Vec::new();
        b.take(&mut g);
        assert_eq!(g.iter().map(|x| x.index).collect::<Vec<_>>(), [1, 2, 3]);
        // The full group's timeout comes later: it must not close the next group.
        assert!(matches!(b.add(m(4)), Added::Opened { .. }));
        assert!(!b.timed_out(generation));
    }

    #[test]
    fn a_timeout_closes_a_partial_group() {
        let mut b = Batcher::new(4);
        let Added::Opened { generation } = b.add(m(10)) else {
            panic!("the first member opens a group")
        };
        b.add(m(11));
        assert!(b.timed_out(generation));
        let mut g = Vec::new();
        b.take(&mut g);
        assert_eq!(g.len(), 2);
        assert!(!b.is_open());
        assert!(!b.timed_out(generation));
    }
}
