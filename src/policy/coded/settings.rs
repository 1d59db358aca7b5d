//! `[coded]`: what every coded policy of a scenario shares, so that they serve the same queries
//! on workers with the same faults (common random numbers).

use std::path::Path;

use super::table::{self, AccuracyRow};
use crate::kernel::SimDuration;
use crate::plan::{Adversary, Byzantine, Partial, WorkerFaults};
use crate::scenario::spec::CodedSpec;

/// The master's coding cost: multiply-adds of encoding and decoding at a fixed time each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Master {
    /// Time per multiply-add, ns.
    pub ns_per_mac: f64,
    /// Elements of one query.
    pub input_elements: u32,
    /// Elements of one answer.
    pub output_elements: u32,
}

impl Default for Master {
    fn default() -> Self {
        Master {
            ns_per_mac: 1.0,
            input_elements: 784,
            output_elements: 10,
        }
    }
}

impl Master {
    /// The time of `macs` multiply-adds.
    pub fn time(&self, macs: f64) -> SimDuration {
        SimDuration::from_secs_f64(macs * self.ns_per_mac * 1e-9)
    }
}

/// The validated `[coded]` table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CodedSettings {
    /// What partial groups do.
    pub partial: Partial,
    /// Worker faults.
    pub faults: WorkerFaults,
    /// The master's coding cost.
    pub master: Master,
    /// The accuracy table and the model to read from it.
    pub accuracy: Option<(Vec<AccuracyRow>, String)>,
}

/// A `[coded]` key and what is wrong with it.
pub type SettingError = (&'static str, String);

fn probability(key: &'static str, p: f64) -> Result<f64, SettingError> {
    if !(0.0..=1.0).contains(&p) {
        return Err((key, format!("{p} is not a probability between 0 and 1")));
    }
    Ok(p)
}

fn factor(key: &'static str, f: f64) -> Result<f64, SettingError> {
    if !(f.is_finite() && (1.0..=1e6).contains(&f)) {
        return Err((
            key,
            format!("{f} must be a slowdown factor from 1 to 1,000,000"),
        ));
    }
    Ok(f)
}

impl CodedSettings {
    /// Validates `[coded]` of the scenario file at `dir` (the accuracy table's path is relative
    /// to it).
    pub fn from_spec(spec: &CodedSpec, dir: &Path) -> Result<Self, SettingError> {
        let partial = match spec.partial.as_deref() {
            None | Some("pad") => Partial::Pad,
            Some("uncoded") => Partial::Uncoded,
            Some(o) => {
                return Err((
                    "partial",
                    format!(
                        "\"{o}\" is not allowed; allowed: \"pad\" (dummy queries fill the group), \"uncoded\" (its members go uncoded)"
                    ),
                ));
            }
        };
        let mut faults = WorkerFaults::default();
        if let Some(s) = &spec.slowdown {
            faults.slowdown = Some((
                probability("slowdown.probability", s.probability)?,
                factor("slowdown.factor", s.factor)?,
            ));
        }
        if let Some(b) = &spec.background {
            if b.interval.0 == SimDuration::ZERO {
                return Err(("background.interval", "must be > 0".into()));
            }
            faults.background = Some((b.interval.0, factor("background.factor", b.factor)?));
        }
        if let Some(p) = spec.fail_probability {
            faults.fail_probability = probability("fail_probability", p)?;
        }
        if let Some(b) = &spec.byzantine {
            faults.byzantine = match (b.per_group, b.fraction) {
                (Some(_), Some(_)) => {
                    return Err((
                        "byzantine",
                        "give `per_group` or `fraction`, not both".into(),
                    ));
                }
                (Some(e), None) => Byzantine::PerGroup(e),
                (None, Some(f)) => Byzantine::Fraction(probability("byzantine.fraction", f)?),
                (None, None) => {
                    return Err((
                        "byzantine",
                        "give `per_group` (Byzantine workers in each group) or `fraction` (probability per worker)".into(),
                    ));
                }
            };
            faults.adversary = match (b.adversary.as_deref(), b.sigma) {
                (None | Some("sign-flip"), None) => Adversary::SignFlip,
                (Some("gaussian"), Some(s)) if s.is_finite() && s > 0.0 => {
                    Adversary::Gaussian { sigma: s }
                }
                (Some("gaussian"), _) => {
                    return Err(("byzantine.sigma", "gaussian noise needs `sigma` > 0".into()));
                }
                (None | Some("sign-flip"), Some(_)) => {
                    return Err((
                        "byzantine.sigma",
                        "`sigma` is for adversary = \"gaussian\" only".into(),
                    ));
                }
                (Some(o), _) => {
                    return Err((
                        "byzantine.adversary",
                        format!("\"{o}\" is not allowed; allowed: \"gaussian\", \"sign-flip\""),
                    ));
                }
            };
        }
        let mut master = Master::default();
        if let Some(m) = &spec.master {
            if let Some(ns) = m.ns_per_mac {
                if !(0.0..=1e6).contains(&ns) {
                    return Err((
                        "master.ns_per_mac",
                        format!("{ns} must be a time from 0 to 1,000,000 ns"),
                    ));
                }
                master.ns_per_mac = ns;
            }
            for (key, v, slot) in [
                (
                    "master.input_elements",
                    m.input_elements,
                    &mut master.input_elements,
                ),
                (
                    "master.output_elements",
                    m.output_elements,
                    &mut master.output_elements,
                ),
            ] {
                if let Some(v) = v {
                    if v == 0 || v > 100_000_000 {
                        return Err((key, format!("{v} must be from 1 to 100,000,000")));
                    }
                    *slot = v;
                }
            }
        }
        let accuracy = match &spec.accuracy {
            None => None,
            Some(a) => {
                let path = dir.join(&a.table);
                let rows = table::read(&path).map_err(|m| ("accuracy.table", m))?;
                if table::base(&rows, &a.model).is_none() {
                    let mut models: Vec<&str> = rows.iter().map(|r| r.model.as_str()).collect();
                    models.dedup();
                    return Err((
                        "accuracy.model",
                        format!(
                            "the table {} has no `uncoded` row for model \"{}\" (its base accuracy); its models: {}",
                            path.display(),
                            a.model,
                            models.join(", ")
                        ),
                    ));
                }
                Some((rows, a.model.clone()))
            }
        };
        Ok(CodedSettings {
            partial,
            faults,
            master,
            accuracy,
        })
    }
}
