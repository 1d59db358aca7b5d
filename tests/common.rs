//! Helpers shared by the integration tests.

use std::path::Path;

use infersim::report::Metric;
use infersim::report::stats::{Summary, summarize};
use infersim::scenario::Scenario;

/// Builds a scenario from TOML text (relative paths resolve against the crate root).
pub fn scenario(text: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("test.toml");
    match Scenario::from_str_at(text, &path) {
        Ok(s) => s,
        Err(e) => panic!("test scenario is invalid: {e}"),
    }
}

/// Runs every policy and returns the values of `metric` per policy, one per replication.
pub fn metric(sc: &Scenario, metric: Metric) -> Vec<Vec<f64>> {
    let r = infersim::run_scenario(sc, None, None);
    r.results
        .iter()
        .map(|runs| {
            runs.iter()
                .map(|run| run.get(metric).unwrap_or(f64::NAN))
                .collect()
        })
        .collect()
}

/// Asserts that `theory` lies within the 99% Student-t interval of the replications.
pub fn assert_in_ci(what: &str, xs: &[f64], theory: f64) -> Summary {
    let s = summarize(xs, 0.99);
    assert!(
        (s.mean - theory).abs() <= s.half_width,
        "{what}: theory {theory:.6} outside the 99% CI {:.6} ± {:.6} (n = {})",
        s.mean,
        s.half_width,
        s.n
    );
    // The interval must be informative: tighter than 10% of the value.
    assert!(
        s.half_width < 0.1 * theory.abs().max(1e-9),
        "{what}: CI half-width {:.6} too wide to test {theory:.6}",
        s.half_width
    );
    s
}
