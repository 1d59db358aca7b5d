//! The Azure Functions 2019 trace: per-minute invocation counts per function, joined with the
//! per-function duration percentiles and per-app memory percentiles.
//!
//! Durations are drawn from the piecewise-linear quantile function through the recorded
//! percentiles (0, 1, 25, 50, 75, 99, 100): exact at every recorded percentile. Memory is the
//! app's average allocated MB, clamped to Lambda's 128–10,240 MB (the trace has smaller apps).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rand::RngExt;
use rand::seq::SliceRandom;

use super::{Arrival, Class, Spread, Window, spread_bin};
use crate::kernel::{SimDuration, SimRng, SimTime};

/// Which functions to keep.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// The N with the most invocations.
    pub top: Option<u32>,
    /// These hashes.
    pub functions: Option<Vec<String>>,
    /// A random sample of N.
    pub sample: Option<u32>,
    /// Seed of the sample.
    pub seed: u64,
}

/// The loaded trace (selected functions only).
#[derive(Debug)]
pub struct AzureFunctions2019 {
    names: Vec<String>,
    /// counts[f][minute]
    counts: Vec<Vec<u32>>,
    /// Quantile points (probability, ms) per function, if durations were given.
    durations: Option<Vec<[(f64, f64); 7]>>,
    memory_mb: Vec<Option<u32>>,
    minutes: usize,
}

const PCTS: [f64; 7] = [0.0, 0.01, 0.25, 0.50, 0.75, 0.99, 1.0];

fn reader(path: &Path) -> Result<csv::Reader<super::textfile::TraceFile>, String> {
    super::textfile::TraceFile::open(path)
        .map(csv::Reader::from_reader)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn column(headers: &csv::StringRecord, name: &str, path: &Path) -> Result<usize, String> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        format!(
            "{}: missing column \"{name}\" (is this the right file?)",
            path.display()
        )
    })
}

impl AzureFunctions2019 {
    /// Loads and joins the files, keeping the selected functions.
    pub fn load(
        invocations: &Path,
        durations: Option<&Path>,
        memory: Option<&Path>,
        sel: &Selection,
    ) -> Result<Self, String> {
        let mut rdr = reader(invocations)?;
        let headers = rdr
            .headers()
            .map_err(|e| format!("{}: {e}", invocations.display()))?
            .clone();
        let c_fn = column(&headers, "HashFunction", invocations)?;
        let c_app = column(&headers, "HashApp", invocations)?;
        let first = column(&headers, "minute_1", invocations)?;
        let minutes = headers.len() - first;
        let mut names = Vec::new();
        let mut apps = Vec::new();
        let mut counts = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| format!("{}: line {line}: {e}", invocations.display()))?;
            let mut row = Vec::with_capacity(minutes);
            for (m, field) in rec.iter().skip(first).enumerate() {
                row.push(field.trim().parse::<u32>().map_err(|_| {
                    format!(
                        "{}: line {line}: minute_{} holds \"{field}\", not a non-negative integer count",
                        invocations.display(),
                        m + 1
                    )
                })?);
            }
            if row.len() != minutes {
                return Err(format!(
                    "{}: line {line}: {} counts, expected {minutes}",
                    invocations.display(),
                    row.len()
                ));
            }
            names.push(rec[c_fn].to_string());
            apps.push(rec[c_app].to_string());
            counts.push(row);
        }
        if names.is_empty() {
            return Err(format!(
                "{}: no functions (the file has only a header)",
                invocations.display()
            ));
        }
        // Selection.
        let mut keep: Vec<usize> = (0..names.len()).collect();
        if let Some(list) = &sel.functions {
            let index: HashMap<&str, usize> = names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_str(), i))
                .collect();
            keep = list
                .iter()
                .map(|n| {
                    index.get(n.as_str()).copied().ok_or_else(|| {
                        format!("function \"{n}\" is not in {}", invocations.display())
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(n) = sel.top {
            let total = |i: &usize| counts[*i].iter().map(|&c| c as u64).sum::<u64>();
            keep.sort_by(|a, b| total(b).cmp(&total(a)).then(a.cmp(b)));
            keep.truncate(n as usize);
            keep.sort_unstable();
        }
        if let Some(n) = sel.sample {
            let mut rng = crate::kernel::rng::from_seed(sel.seed);
            keep.shuffle(&mut rng);
            keep.truncate(n as usize);
            keep.sort_unstable();
        }
        if keep.is_empty() {
            return Err("the function selection is empty".into());
        }
        let durations = match durations {
            None => None,
            Some(p) => Some(Self::load_durations(p, &names)?),
        };
        let memory = match memory {
            None => None,
            Some(p) => Some(Self::load_memory(p)?),
        };
        Ok(AzureFunctions2019 {
            names: keep.iter().map(|&i| names[i].clone()).collect(),
            counts: keep
                .iter()
                .map(|&i| std::mem::take(&mut counts[i]))
                .collect(),
            durations: durations.map(|d| keep.iter().map(|&i| d[i]).collect()),
            memory_mb: keep
                .iter()
                .map(|&i| memory.as_ref().and_then(|m| m.get(&apps[i]).copied()))
                .collect(),
            minutes,
        })
    }

    fn load_durations(path: &Path, names: &[String]) -> Result<Vec<[(f64, f64); 7]>, String> {
        let mut rdr = reader(path)?;
        let headers = rdr
            .headers()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .clone();
        let c_fn = column(&headers, "HashFunction", path)?;
        let cols: Vec<usize> = ["0", "1", "25", "50", "75", "99", "100"]
            .iter()
            .map(|p| column(&headers, &format!("percentile_Average_{p}"), path))
            .collect::<Result<_, _>>()?;
        let mut by_name = HashMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| format!("{}: line {line}: {e}", path.display()))?;
            let mut q = [(0.0, 0.0); 7];
            for (k, &c) in cols.iter().enumerate() {
                let v: f64 = rec[c].trim().parse().map_err(|_| {
                    format!(
                        "{}: line {line}: column {} holds \"{}\", not a number of ms",
                        path.display(),
                        &headers[c],
                        &rec[c]
                    )
                })?;
                if !(v >= 0.0) {
                    return Err(format!(
                        "{}: line {line}: negative duration {v}",
                        path.display()
                    ));
                }
                q[k] = (PCTS[k], v);
            }
            for k in 1..7 {
                if q[k].1 < q[k - 1].1 {
                    return Err(format!(
                        "{}: line {line}: duration percentiles decrease",
                        path.display()
                    ));
                }
            }
            by_name.insert(rec[c_fn].to_string(), q);
        }
        names
            .iter()
            .map(|n| {
                by_name
                    .get(n)
                    .copied()
                    .ok_or_else(|| format!("{}: no durations for function {n}", path.display()))
            })
            .collect()
    }

    fn load_memory(path: &Path) -> Result<HashMap<String, u32>, String> {
        let mut rdr = reader(path)?;
        let headers = rdr
            .headers()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .clone();
        let c_app = column(&headers, "HashApp", path)?;
        let c_mb = column(&headers, "AverageAllocatedMb", path)?;
        let mut out = HashMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| format!("{}: line {line}: {e}", path.display()))?;
            let mb: f64 = rec[c_mb].trim().parse().map_err(|_| {
                format!(
                    "{}: line {line}: AverageAllocatedMb holds \"{}\"",
                    path.display(),
                    &rec[c_mb]
                )
            })?;
            out.insert(
                rec[c_app].to_string(),
                (mb.round() as u32).clamp(128, 10_240),
            );
        }
        Ok(out)
    }

    /// The selected functions as request classes.
    pub fn classes(&self) -> Vec<Class> {
        self.names
            .iter()
            .zip(&self.memory_mb)
            .map(|(n, m)| Class {
                name: n.clone(),
                memory_mb: *m,
            })
            .collect()
    }

    /// Minutes in the trace.
    pub fn minutes(&self) -> usize {
        self.minutes
    }

    /// True when durations were loaded.
    pub fn has_durations(&self) -> bool {
        self.durations.is_some()
    }

    /// Invocations whose minute overlaps the window (exact for whole-minute windows).
    pub(super) fn count_in(&self, w: &Window) -> u64 {
        let mut n = 0;
        for m in 0..self.minutes {
            let from = m as u64 * 60_000_000_000;
            if from + 60_000_000_000 <= w.start || from >= w.end {
                continue;
            }
            n += self.counts.iter().map(|c| c[m] as u64).sum::<u64>();
        }
        n
    }

    /// Invocations per function over the whole day.
    pub fn totals(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|c| c.iter().map(|&x| x as u64).sum())
            .collect()
    }

    fn duration(&self, f: usize, rng: &mut SimRng) -> Option<SimDuration> {
        let q = &self.durations.as_ref()?[f];
        let u: f64 = rng.random();
        let k = q.partition_point(|&(p, _)| p < u).clamp(1, 6);
        let (p0, v0) = q[k - 1];
        let (p1, v1) = q[k];
        let ms = if p1 > p0 {
            v0 + (v1 - v0) * (u - p0) / (p1 - p0)
        } else {
            v1
        };
        Some(SimDuration::from_secs_f64(ms / 1e3))
    }
}

/// A lazy, time-ordered stream over the minutes of the day.
pub struct Stream {
    az: Arc<AzureFunctions2019>,
    spread: Spread,
    window: Window,
    rng: SimRng,
    minute: usize,
    buf: Vec<(u64, u32)>,
    times: Vec<u64>,
    pos: usize,
}

impl Stream {
    /// Starts at minute 1.
    pub fn new(az: Arc<AzureFunctions2019>, spread: Spread, window: Window, rng: SimRng) -> Self {
        Stream {
            az,
            spread,
            window,
            rng,
            minute: 0,
            buf: Vec::new(),
            times: Vec::new(),
            pos: 0,
        }
    }

    fn fill(&mut self) -> bool {
        self.buf.clear();
        self.pos = 0;
        while self.buf.is_empty() {
            if self.minute >= self.az.minutes {
                return false;
            }
            let m = self.minute;
            self.minute += 1;
            let from = m as u64 * 60_000_000_000;
            if from >= self.window.end {
                return false;
            }
            if from + 60_000_000_000 <= self.window.start {
                continue;
            }
            for (f, counts) in self.az.counts.iter().enumerate() {
                let c = counts[m];
                if c == 0 {
                    continue;
                }
                self.times.clear();
                spread_bin(
                    self.spread,
                    c as u64,
                    from,
                    60_000_000_000,
                    &mut self.rng,
                    &mut self.times,
                );
                self.buf.extend(self.times.iter().map(|&t| (t, f as u32)));
            }
            self.buf.sort_unstable();
        }
        true
    }
}

impl Iterator for Stream {
    type Item = Arrival;
    fn next(&mut self) -> Option<Arrival> {
        loop {
            if self.pos >= self.buf.len() && !self.fill() {
                return None;
            }
            let (t, f) = self.buf[self.pos];
            self.pos += 1;
            let Some(time) = self.window.map(t) else {
                continue;
            };
            let service = self.az.duration(f as usize, &mut self.rng);
            return Some(Arrival {
                time: SimTime(time.0),
                class: f,
                service,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_function_hits_the_recorded_percentiles() {
        let az = AzureFunctions2019 {
            names: vec!["f".into()],
            counts: vec![vec![1]],
            durations: Some(vec![[
                (0.0, 10.0),
                (0.01, 20.0),
                (0.25, 40.0),
                (0.5, 100.0),
                (0.75, 200.0),
                (0.99, 1000.0),
                (1.0, 2000.0),
            ]]),
            memory_mb: vec![None],
            minutes: 1,
        };
        let mut r = crate::kernel::rng::from_seed(9);
        let mut xs: Vec<f64> = (0..100_000)
            .map(|_| az.duration(0, &mut r).unwrap().as_secs_f64() * 1e3)
            .collect();
        xs.sort_by(f64::total_cmp);
        // The share of draws at or below each recorded percentile is that percentile (binomial
        // standard error at most 0.0016 with 100,000 draws).
        for (p, v) in [
            (0.01, 20.0),
            (0.25, 40.0),
            (0.5, 100.0),
            (0.75, 200.0),
            (0.99, 1000.0),
        ] {
            let share = xs.partition_point(|&x| x <= v) as f64 / xs.len() as f64;
            assert!((share - p).abs() < 0.005, "P(X ≤ {v}) = {share}, want {p}");
        }
        assert!(xs[0] >= 10.0 && xs[xs.len() - 1] <= 2000.0);
    }
}
