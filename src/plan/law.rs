//! Laws of task work: a service-time distribution on one vCPU with its per-resource profiles.

use crate::kernel::{SimDuration, SimRng};
use crate::scenario::{Resource, StageService};
use crate::workload::Dist;

/// A law that task durations are drawn from.
#[derive(Clone, Debug)]
pub struct Law {
    /// Service time on one full vCPU (or the request's recorded one).
    pub service: StageService,
    /// vCPUs a task can use.
    pub parallelism: f64,
    /// Profiled service times per resource, drawn as they are (no vCPU scaling).
    pub profiles: Vec<(Resource, Dist)>,
}

impl Law {
    /// The index of the profile for one slot of a VM of `instance`, if any.
    pub fn profile_on_vm(&self, instance: &str) -> Option<u16> {
        self.profiles
            .iter()
            .position(|(r, _)| matches!(r, Resource::Instance(n) if n == instance))
            .map(|i| i as u16)
    }

    /// The index of the profile for a function of `memory_mb`, if any: that exact memory
    /// first, then any function.
    pub fn profile_on_function(&self, memory_mb: u32) -> Option<u16> {
        let at = |want: &Resource| self.profiles.iter().position(|(r, _)| r == want);
        at(&Resource::FunctionMemory(memory_mb))
            .or_else(|| at(&Resource::Function))
            .map(|i| i as u16)
    }

    /// One draw: from profile `profile` if given, else from the service law (the recorded
    /// service when the law is `from-trace`).
    #[inline(always)]
    pub fn sample(
        &self,
        profile: Option<u16>,
        rng: &mut SimRng,
        recorded: Option<SimDuration>,
    ) -> SimDuration {
        match (profile, &self.service) {
            (Some(i), _) => self.profiles[i as usize].1.sample(rng),
            (None, StageService::Dist(d)) => d.sample(rng),
            (None, StageService::FromTrace) => recorded.unwrap_or_default(),
        }
    }
}
