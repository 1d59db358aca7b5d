//! The runs of a sweep, in canonical order (point, policy, replication), with the scenario of
//! every point validated up front, and a fingerprint that identifies the sweep.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use toml_edit::DocumentMut;

use super::spec::{self, SweepSpec};
use super::{csv_field, fnv1a};
use crate::report::RunResult;
use crate::report::write::fmt_num;
use crate::scenario::{Scenario, ScenarioError};

/// One run: a policy of a point, for one replication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunKey {
    /// Sweep point.
    pub point: usize,
    /// Policy index in the point's scenario.
    pub policy: usize,
    /// Replication number.
    pub replication: u32,
}

/// `--shard i/n`: this machine runs the runs whose canonical index is ≡ i (mod n).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, 0 ≤ index < count.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Shard {
    /// True when run `id` belongs to this shard.
    pub fn owns(&self, id: usize) -> bool {
        id % self.count as usize == self.index as usize
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("shard `{s}` must be `i/n` with 0 ≤ i < n (e.g. `0/8` … `7/8`)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One point of a plan.
#[derive(Clone, Debug)]
pub struct PlanPoint {
    /// Values of the swept keys, as written in the CSV files.
    pub labels: Vec<String>,
    /// The validated scenario at this point (with the command-line overrides applied).
    pub scenario: Scenario,
}

/// A sweep, expanded.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The scenario file.
    pub path: PathBuf,
    /// Its text, `[sweep]` included.
    pub text: String,
    /// The scenario's name.
    pub name: String,
    /// The scenario's description.
    pub description: String,
    /// The swept keys (CSV columns).
    pub params: Vec<String>,
    /// The points.
    pub points: Vec<PlanPoint>,
    /// Every run, in canonical order; a run's index in this list is its id.
    pub runs: Vec<RunKey>,
    /// Identifies the sweep (scenario, sweep, overrides, infersim version): a journal is only
    /// resumed or merged with the same fingerprint.
    pub fingerprint: String,
    /// `--seed` override.
    pub seed: Option<u64>,
    /// `--replications` override.
    pub replications: Option<u32>,
}

impl Plan {
    /// Reads a scenario file and expands its sweep (a scenario without `[sweep]` is one point).
    /// Every point is validated; a bad key or value is reported with the file, the line of the
    /// `[sweep]` entry and the key.
    pub fn new(
        path: &Path,
        seed: Option<u64>,
        replications: Option<u32>,
    ) -> Result<Plan, ScenarioError> {
        let (text, stripped, spec, base) = spec::load_base(path)?;
        Self::from_parts(path, text, &stripped, spec, base, seed, replications)
    }

    /// Expands scenario text (as [`new`](Self::new) does with a file's content).
    pub fn from_text(
        text: &str,
        path: &Path,
        seed: Option<u64>,
        replications: Option<u32>,
    ) -> Result<Plan, ScenarioError> {
        let (stripped, spec) = spec::strip_sweep(text, path)?;
        let base = Scenario::from_str_at(&stripped, path)?;
        Self::from_parts(
            path,
            text.to_string(),
            &stripped,
            spec,
            base,
            seed,
            replications,
        )
    }

    fn from_parts(
        path: &Path,
        text: String,
        stripped: &str,
        spec: Option<SweepSpec>,
        base: Scenario,
        seed: Option<u64>,
        replications: Option<u32>,
    ) -> Result<Plan, ScenarioError> {
        let spec = spec.unwrap_or_default();
        let override_ = |mut sc: Scenario| {
            if let Some(s) = seed {
                sc.run.seed = s;
            }
            if let Some(r) = replications {
                sc.run.replications = r;
            }
            sc
        };
        let mut points = Vec::with_capacity(spec.len());
        if spec.axes.is_empty() {
            points.push(PlanPoint {
                labels: Vec::new(),
                scenario: override_(base.clone()),
            });
        } else {
            let doc: DocumentMut = stripped.parse().map_err(|e| ScenarioError {
                file: path.to_path_buf(),
                line: None,
                key: None,
                message: format!("cannot parse the scenario: {e}"),
            })?;
            for p in spec.points() {
                let (_, sc) = spec::apply_point(&doc, &spec, &p, path)?;
                points.push(PlanPoint {
                    labels: spec.labels(&p),
                    scenario: override_(sc),
                });
            }
        }
        // The runs of the whole sweep, within the base's limit, before they are listed.
        let total: u64 = points
            .iter()
            .map(|p| p.scenario.policies.len() as u64 * u64::from(p.scenario.run.replications))
            .sum();
        if let Some(p) = points.first()
            && total > base.run.limits.runs
        {
            let reps = p.scenario.run.replications;
            let (key, message) = crate::scenario::limits::check_runs(
                points.len() as u64,
                p.scenario.policies.len(),
                reps,
                &base.run.limits,
            )
            .err()
            .unwrap_or_else(|| {
                (
                    "run.replications".into(),
                    format!(
                        "the sweep has {total} runs, over the limit of {}; raise it with `[run.limits] runs = ...`",
                        base.run.limits.runs
                    ),
                )
            });
            return Err(ScenarioError {
                file: path.to_path_buf(),
                line: None,
                key: Some(key),
                message,
            });
        }
        let mut runs = Vec::new();
        for (i, p) in points.iter().enumerate() {
            for pol in 0..p.scenario.policies.len() {
                for rep in 0..p.scenario.run.replications {
                    runs.push(RunKey {
                        point: i,
                        policy: pol,
                        replication: rep,
                    });
                }
            }
        }
        let mut fp = format!(
            "infersim {}\nseed {seed:?}\nreplications {replications:?}\n",
            env!("CARGO_PKG_VERSION")
        );
        fp.push_str(stripped);
        fp.push('\n');
        fp.push_str(&spec.canonical());
        let params = spec.params().iter().map(|p| p.key.clone()).collect();
        Ok(Plan {
            path: path.to_path_buf(),
            text,
            name: base.name.clone(),
            description: base.description.clone(),
            params,
            points,
            runs,
            fingerprint: format!("{:016x}", fnv1a(fp.as_bytes())),
            seed,
            replications,
        })
    }

    /// The header of `results.csv`.
    pub fn results_header(&self) -> String {
        results_header(&self.params)
    }

    /// Runs run `id` (a pure function of the plan and the id); fails when its arrival trace
    /// cannot be read to its end.
    pub fn run(&self, id: usize) -> Result<RunResult, crate::engine::RunError> {
        let k = self.runs[id];
        crate::engine::run(&self.points[k.point].scenario, k.policy, k.replication)
    }

    /// The rows of run `id` in `results.csv` form.
    pub fn rows(&self, id: usize, result: &RunResult) -> String {
        let k = self.runs[id];
        let p = &self.points[k.point];
        let mut prefix = format!("{}", k.point);
        for l in &p.labels {
            prefix.push(',');
            prefix.push_str(&csv_field(l));
        }
        let policy = p.scenario.policies[k.policy].display_name();
        let _ = write!(prefix, ",{},{}", csv_field(policy), k.replication);
        let mut out = String::new();
        for (m, v) in &result.metrics {
            let _ = writeln!(out, "{prefix},{},{}", csv_field(&m.name()), fmt_num(*v));
        }
        out
    }

    /// A readable description of run `id`.
    pub fn describe(&self, id: usize) -> String {
        let k = self.runs[id];
        format!(
            "run {id} (point {}, policy {}, replication {})",
            k.point,
            self.points[k.point].scenario.policies[k.policy].display_name(),
            k.replication
        )
    }
}

/// The header of `results.csv` for these swept keys.
pub fn results_header(params: &[String]) -> String {
    let mut h = String::from("point");
    for p in params {
        h.push(',');
        h.push_str(&csv_field(p));
    }
    h.push_str(",policy,replication,metric,value\n");
    h
}

/// The header of a sweep's `summary.csv`.
pub fn summary_header(params: &[String]) -> String {
    let mut h = String::from("point");
    for p in params {
        h.push(',');
        h.push_str(&csv_field(p));
    }
    h.push_str(",policy,metric,mean,std,ci95_low,ci95_high,n\n");
    h
}
