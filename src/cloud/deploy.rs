//! Functions as deployed entities: what a plan declares, and the one rule that resolves a
//! function's memory, keep-alive and provisioned concurrency.

use crate::kernel::SimDuration;

/// A function a plan needs deployed. Fields left `None` take the policy's deployment
/// override, if any, else the platform's setting.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionSpec {
    /// Name in `functions.csv`.
    pub name: String,
    /// Its own memory (MB): a declared function's, or its stage's, or its trace class's.
    pub memory_mb: Option<u32>,
    /// Its own keep-alive.
    pub keep_alive: Option<SimDuration>,
    /// Its own provisioned concurrency.
    pub provisioned_concurrency: Option<u32>,
}

/// What a policy's deployment overrides for every function.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FunctionOverrides {
    /// Memory (MB).
    pub memory_mb: Option<u32>,
    /// Keep-alive.
    pub keep_alive: Option<SimDuration>,
    /// Provisioned concurrency.
    pub provisioned_concurrency: Option<u32>,
}

/// The platform's settings, for what neither the policy nor the function sets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlatformDefaults {
    /// Memory (MB).
    pub memory_mb: u32,
    /// Keep-alive (`None`: instances are never evicted for idleness).
    pub keep_alive: Option<SimDuration>,
    /// Provisioned concurrency.
    pub provisioned_concurrency: u32,
}

/// A function's resolved settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Memory (MB).
    pub memory_mb: u32,
    /// Keep-alive.
    pub keep_alive: Option<SimDuration>,
    /// Provisioned concurrency.
    pub provisioned_concurrency: u32,
}

impl FunctionSpec {
    /// Its memory (MB): the policy's override, else its own, else the platform's.
    pub fn memory(&self, policy: Option<u32>, platform: u32) -> u32 {
        policy.or(self.memory_mb).unwrap_or(platform)
    }

    /// The rule, in one place: the policy's deployment override, else the function's own
    /// setting, else the platform's.
    pub fn resolve(&self, policy: &FunctionOverrides, platform: &PlatformDefaults) -> Resolved {
        Resolved {
            memory_mb: self.memory(policy.memory_mb, platform.memory_mb),
            keep_alive: policy
                .keep_alive
                .or(self.keep_alive)
                .or(platform.keep_alive),
            provisioned_concurrency: policy
                .provisioned_concurrency
                .or(self.provisioned_concurrency)
                .unwrap_or(platform.provisioned_concurrency),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_beats_function_beats_platform() {
        let platform = PlatformDefaults {
            memory_mb: 1024,
            keep_alive: Some(SimDuration::from_secs(600)),
            provisioned_concurrency: 0,
        };
        let f = FunctionSpec {
            name: "f".into(),
            memory_mb: Some(2048),
            keep_alive: None,
            provisioned_concurrency: Some(2),
        };
        let none = FunctionOverrides::default();
        assert_eq!(
            f.resolve(&none, &platform),
            Resolved {
                memory_mb: 2048,
                keep_alive: Some(SimDuration::from_secs(600)),
                provisioned_concurrency: 2
            }
        );
        let policy = FunctionOverrides {
            memory_mb: Some(512),
            keep_alive: Some(SimDuration::from_secs(60)),
            provisioned_concurrency: Some(0),
        };
        assert_eq!(
            f.resolve(&policy, &platform),
            Resolved {
                memory_mb: 512,
                keep_alive: Some(SimDuration::from_secs(60)),
                provisioned_concurrency: 0
            }
        );
    }
}
