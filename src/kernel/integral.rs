//! Time-weighted integrals of step functions (busy slots, instances alive, requests in flight).

use super::SimTime;

/// A time-weighted integral of a step function (e.g. busy slots over time).
#[derive(Clone, Copy, Debug, Default)]
pub struct Integral {
    value: u64,
    since: SimTime,
    area: u128,
}

impl Integral {
    /// Sets the value from `now` on.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: u64) {
        self.area += self.value as u128 * now.since(self.since).as_nanos() as u128;
        self.since = now;
        self.value = value;
    }
    /// The current value.
    pub fn value(&self) -> u64 {
        self.value
    }
    /// The area (value × ns) up to `now`.
    pub fn area(&self, now: SimTime) -> u128 {
        self.area + self.value as u128 * now.since(self.since).as_nanos() as u128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_of_a_step_function() {
        let mut i = Integral::default();
        i.set(SimTime(10), 2);
        i.set(SimTime(20), 5);
        assert_eq!(i.area(SimTime(30)), 2 * 10 + 5 * 10);
        assert_eq!(i.value(), 5);
    }
}
