//! Resource guards: limits on what a scenario may ask a run to hold in memory or to simulate,
//! checked at validation before anything is allocated (`[run.limits]` raises them), and the
//! drain limit that bounds how long a run goes on after its horizon.
//!
//! Each limit is far above what the bundled scenarios and the papers' experiments need, and
//! far below what exhausts a 24 GB, 2-core machine; the error names the key, the estimate, the
//! limit, and the `[run.limits]` key that raises it.

use serde::{Deserialize, Serialize};

use crate::kernel::SimDuration;
use crate::policy::PolicyConfig;
use crate::units::Duration;
use crate::workload::ArrivalModel;

use super::Scenario;

/// `[run.limits]` as written: every key optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Expected arrivals per replication.
    pub requests: Option<u64>,
    /// Time-series samples per run.
    pub samples: Option<u64>,
    /// Firings of one policy timer (an autoscaler's interval, an epoch) over the horizon.
    pub timer_events: Option<u64>,
    /// VMs, provisioned instances, slots per VM and tasks per stage.
    pub instances: Option<u64>,
    /// Attempts of a throttled invocation (`on_throttle.max_attempts`).
    pub retries: Option<u32>,
    /// How long a run may go on after its horizon to let requests in flight finish.
    pub drain: Option<Duration>,
    /// Runs of one command: policies × replications (× points of a sweep).
    pub runs: Option<u64>,
}

/// The limits of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Expected arrivals per replication (default 10⁸: about 10 GB of in-flight state at worst
    /// and minutes of simulation).
    pub requests: u64,
    /// Time-series samples per run (default 10⁶; about 80 MB); sampling stops at the limit.
    pub samples: u64,
    /// Firings of one policy timer over the horizon (default 10⁸).
    pub timer_events: u64,
    /// VMs, provisioned instances, slots per VM and tasks per stage (default 10⁶).
    pub instances: u64,
    /// Attempts of a throttled invocation (default 1,000).
    pub retries: u32,
    /// Simulated time a run may go on after its horizon (default: 10 × the horizon, at least one
    /// day); requests still in flight then are counted as `unfinished`.
    pub drain: SimDuration,
    /// Runs of one command, policies × replications × sweep points (default 100,000: each
    /// run's results are kept until the reports are written).
    pub runs: u64,
}

impl Limits {
    /// The defaults for a run with this horizon.
    pub fn defaults(horizon: SimDuration) -> Limits {
        Limits {
            requests: 100_000_000,
            samples: 1_000_000,
            timer_events: 100_000_000,
            instances: 1_000_000,
            retries: 1000,
            drain: SimDuration(
                horizon
                    .as_nanos()
                    .saturating_mul(10)
                    .max(86_400_000_000_000),
            ),
            runs: 100_000,
        }
    }

    /// The limits of `[run.limits]` over the defaults; `Err((key, message))` for a zero.
    pub fn from_spec(
        spec: Option<&LimitsSpec>,
        horizon: SimDuration,
    ) -> Result<Limits, (String, String)> {
        let mut l = Limits::defaults(horizon);
        let Some(s) = spec else {
            return Ok(l);
        };
        let positive = |key: &str, v: Option<u64>, d: u64| match v {
            Some(0) => Err((
                format!("run.limits.{key}"),
                format!("{key} must be ≥ 1 (it is a limit; raise it rather than remove it)"),
            )),
            Some(v) => Ok(v),
            None => Ok(d),
        };
        l.requests = positive("requests", s.requests, l.requests)?;
        l.samples = positive("samples", s.samples, l.samples)?;
        l.timer_events = positive("timer_events", s.timer_events, l.timer_events)?;
        l.instances = positive("instances", s.instances, l.instances)?;
        l.retries = positive("retries", s.retries.map(u64::from), l.retries as u64)? as u32;
        l.runs = positive("runs", s.runs, l.runs)?;
        if let Some(d) = s.drain {
            l.drain = d.0;
        }
        Ok(l)
    }
}

/// A guard that a scenario trips: the TOML key and the message.
pub type Tripped = (String, String);

fn over(key: &str, what: String, limit: u64, raise: &str) -> Tripped {
    (
        key.to_string(),
        format!(
            "{what}, over the limit of {}; if you mean it, raise it with `[run.limits] {raise} = ...` (the limit keeps a mistyped value from exhausting memory or running for days)",
            count(limit as f64)
        ),
    )
}

/// Expected arrivals of one replication (an upper estimate for modulated processes).
fn expected_arrivals(a: &ArrivalModel, horizon_s: f64) -> f64 {
    match a {
        ArrivalModel::Poisson(r) | ArrivalModel::Constant(r) => r * horizon_s,
        ArrivalModel::Mmpp(states) => states.iter().map(|s| s.0).fold(0.0, f64::max) * horizon_s,
        ArrivalModel::Diurnal {
            mean, amplitude, ..
        } => mean * (1.0 + amplitude) * horizon_s,
        ArrivalModel::Timestamps(t) => t.len() as f64,
        ArrivalModel::Trace(t) => t.expected_arrivals() as f64,
    }
}

/// Checks that `replications` of each of `policies` policies at `points` points are within
/// the runs limit.
pub fn check_runs(
    points: u64,
    policies: usize,
    replications: u32,
    limits: &Limits,
) -> Result<(), Tripped> {
    let runs = points
        .saturating_mul(policies as u64)
        .saturating_mul(u64::from(replications));
    if runs > limits.runs {
        let at = if points > 1 {
            format!(" at each of {points} sweep points")
        } else {
            String::new()
        };
        return Err(over(
            "run.replications",
            format!(
                "{replications} replications of {policies} polic{}{at} are {} runs",
                if policies == 1 { "y" } else { "ies" },
                count(runs as f64)
            ),
            limits.runs,
            "runs",
        ));
    }
    Ok(())
}

/// Checks every guard of `sc` against `limits`.
pub fn check(sc: &Scenario, limits: &Limits) -> Result<(), Tripped> {
    check_runs(1, sc.policies.len(), sc.run.replications, limits)?;
    let horizon = sc.run.horizon;
    let h = horizon.as_secs_f64();
    let n = expected_arrivals(&sc.arrivals, h);
    if !(n <= limits.requests as f64) {
        return Err(over(
            "workload.arrivals",
            format!(
                "the arrivals give about {} requests per replication over the {horizon} horizon",
                count(n)
            ),
            limits.requests,
            "requests",
        ));
    }
    if let ArrivalModel::Mmpp(states) = &sc.arrivals {
        // The states change in a cycle: n changes per Σ mean durations.
        let cycle: f64 = states.iter().map(|s| s.1).sum();
        let changes = h * states.len() as f64 / cycle;
        if !(changes <= limits.timer_events as f64) {
            return Err(over(
                "workload.arrivals",
                format!(
                    "the arrival process changes state about {} times over the {horizon} horizon (mean durations summing to {})",
                    count(changes),
                    SimDuration::from_secs_f64(cycle)
                ),
                limits.timer_events,
                "timer_events",
            ));
        }
    }
    let samples = horizon.as_nanos() / sc.run.sample_interval.as_nanos().max(1);
    if samples > limits.samples {
        return Err(over(
            "run.sample_interval",
            format!(
                "a sample every {} over the {horizon} horizon is {} time-series samples",
                sc.run.sample_interval,
                count(samples as f64)
            ),
            limits.samples,
            "samples",
        ));
    }
    let instances = |key: &str, what: &str, v: u64| {
        if v > limits.instances {
            Err(over(
                key,
                format!("{what} is {v}"),
                limits.instances,
                "instances",
            ))
        } else {
            Ok(())
        }
    };
    instances(
        "platform.faas.provisioned_concurrency",
        "provisioned_concurrency",
        sc.faas.provisioned_concurrency as u64,
    )?;
    for (i, f) in sc.functions.iter().enumerate() {
        instances(
            &format!("function.{i}.provisioned_concurrency"),
            "provisioned_concurrency",
            f.provisioned_concurrency.unwrap_or(0) as u64,
        )?;
    }
    instances("platform.vm.slots", "slots per VM", sc.vm.slots as u64)?;
    for (i, st) in sc.stages.iter().enumerate() {
        instances(
            &format!("stage.{i}.tasks"),
            "tasks per request",
            st.tasks as u64,
        )?;
    }
    if let crate::cloud::faas::Throttle::Retry {
        delay,
        max_attempts,
    } = sc.faas.on_throttle
    {
        let key = "platform.faas.on_throttle.max_attempts";
        if max_attempts > limits.retries {
            return Err(over(
                key,
                format!("max_attempts is {max_attempts}"),
                limits.retries as u64,
                "retries",
            ));
        }
        if delay.as_nanos() == 0 && max_attempts > 1 {
            return Err((
                "platform.faas.on_throttle.delay".into(),
                "a retry with delay = \"0s\" happens at the same instant, against the same full account, and fails again; give a delay > 0 (AWS SDKs back off from about 100ms)".into(),
            ));
        }
    }
    for (i, p) in sc.policies.iter().enumerate() {
        policy(p, i, horizon, limits, &instances)?;
    }
    Ok(())
}

/// The timers and VM counts of one policy.
fn policy(
    p: &PolicyConfig,
    i: usize,
    horizon: SimDuration,
    limits: &Limits,
    instances: &dyn Fn(&str, &str, u64) -> Result<(), Tripped>,
) -> Result<(), Tripped> {
    let timer = |field: &str, every: SimDuration| {
        let n = horizon.as_nanos() / every.as_nanos().max(1);
        if n > limits.timer_events {
            Err(over(
                &format!("policy.{i}.{field}"),
                format!(
                    "{field} = {every} fires {} times over the {horizon} horizon",
                    count(n as f64)
                ),
                limits.timer_events,
                "timer_events",
            ))
        } else {
            Ok(())
        }
    };
    let vms = |field: &str, v: u32| instances(&format!("policy.{i}.{field}"), field, v as u64);
    match p {
        PolicyConfig::VmFixed(c) => vms("vms", c.vms),
        PolicyConfig::Hybrid(c) => vms("vms", c.vms),
        PolicyConfig::VmAutoscale(c) | PolicyConfig::AllVm(c) => {
            timer("interval", c.rule.interval)?;
            vms("max", c.rule.max)?;
            vms("initial", c.rule.initial)
        }
        PolicyConfig::Libra(c) => {
            timer("epoch", c.epoch)?;
            timer("update_interval", c.update_interval)?;
            vms("max", c.max)
        }
        PolicyConfig::Serflow(c) => {
            timer("epoch", c.epoch)?;
            timer("replan", c.replan)?;
            vms("max_vms", c.max_vms)
        }
        _ => Ok(()),
    }
}

/// A count in words a reader takes in at once: `120000` → "120,000", `3e12` → "3.0e12".
fn count(n: f64) -> String {
    if !n.is_finite() {
        return "more than 10^308".into();
    }
    if n < 1e9 {
        let s = format!("{}", n.round() as u64);
        let mut out = String::new();
        for (k, c) in s.chars().enumerate() {
            if k > 0 && (s.len() - k) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        format!("{n:.1e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_words() {
        assert_eq!(count(120000.0), "120,000");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(3e12), "3.0e12");
        assert_eq!(count(f64::INFINITY), "more than 10^308");
    }

    #[test]
    fn the_drain_defaults_to_ten_horizons_and_at_least_a_day() {
        let day = 86_400_000_000_000;
        assert_eq!(Limits::defaults(SimDuration(1)).drain.as_nanos(), day);
        assert_eq!(
            Limits::defaults(SimDuration(day)).drain.as_nanos(),
            10 * day
        );
        assert_eq!(
            Limits::defaults(SimDuration(u64::MAX / 2)).drain.as_nanos(),
            u64::MAX
        );
    }
}
