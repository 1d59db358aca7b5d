//! infersim: a discrete-event simulator of the cost and latency of serving ML inference on
//! serverless functions (AWS Lambda-style FaaS) and VMs (IaaS).
//!
//! A scenario (TOML) describes the workload, the platform, the request plan and the policies to
//! compare; [`run_scenario`] runs every policy for every replication, in parallel, and returns the
//! results in a deterministic order.
//!
//! ```
//! use infersim::scenario::Scenario;
//! let text = r#"
//! name = "doc-example"
//! [run]
//! horizon = "60s"
//! replications = 2
//! [workload]
//! arrivals = { kind = "poisson", rate = "5/s" }
//! [[stage]]
//! service = { kind = "exponential", mean = "100ms" }
//! [[policy]]
//! kind = "all-faas"
//! "#;
//! let sc = Scenario::from_str_at(text, std::path::Path::new("doc.toml")).unwrap();
//! let results = infersim::run_scenario(&sc, None, None).unwrap();
//! let reqs = results.results[0][0].get(infersim::report::Metric::Requests).unwrap();
//! assert!(reqs > 200.0 && reqs < 400.0);
//! ```

#![warn(missing_docs)]

pub mod cloud;
pub mod coded;
pub mod engine;
pub mod kernel;
pub mod moe;
pub mod plan;
pub mod policy;
pub mod report;
pub mod scenario;
pub mod sweep;
pub mod units;
pub mod workload;

use rayon::prelude::*;

use report::ScenarioResults;
use scenario::Scenario;

/// Runs every policy (or only `policy`, an index) of `scenario` for its replications (or
/// `replications`), in parallel. Results are ordered by policy, then replication, whatever the
/// number of threads. A run that fails (its arrival trace cannot be read to its end) fails the
/// whole call with the error of the first failed run in that order.
pub fn run_scenario(
    scenario: &Scenario,
    policy: Option<usize>,
    replications: Option<u32>,
) -> Result<ScenarioResults, engine::RunError> {
    let reps = replications.unwrap_or(scenario.run.replications);
    let policies: Vec<usize> = match policy {
        Some(p) => vec![p],
        None => (0..scenario.policies.len()).collect(),
    };
    let jobs: Vec<(usize, u32)> = policies
        .iter()
        .flat_map(|&p| (0..reps).map(move |r| (p, r)))
        .collect();
    let runs: Vec<Result<report::RunResult, engine::RunError>> = jobs
        .par_iter()
        .map(|&(p, r)| engine::run(scenario, p, r))
        .collect();
    let runs = runs.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut it = runs.into_iter();
    let results = policies
        .iter()
        .map(|_| it.by_ref().take(reps as usize).collect())
        .collect();
    Ok(ScenarioResults {
        scenario: scenario.name.clone(),
        policies: policies
            .iter()
            .map(|&p| scenario.policies[p].display_name().to_string())
            .collect(),
        results,
        replications: (0..reps).collect(),
    })
}
