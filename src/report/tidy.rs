//! Tidy results read back from the CSV files of a run or a sweep, the common input of the plots,
//! the Markdown report and the JSON summary.
//!
//! A run directory holds `summary.csv` (`policy,replication,metric,value`); a sweep directory holds
//! `results.csv` (`point,<swept keys…>,policy,replication,metric,value`). Both load into [`Tidy`],
//! a run being a sweep of one point with no swept keys.

use std::path::Path;

use super::ScenarioResults;
use super::csvin;
use super::metric::{Metric, MetricKey};
use super::stats::{Summary, summarize};

/// One observation: a metric of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct TidyRow {
    /// Sweep point (0 for a plain run).
    pub point: usize,
    /// Values of the swept keys at this point, as written in `results.csv`.
    pub params: Vec<String>,
    /// Policy name.
    pub policy: String,
    /// Replication number.
    pub replication: u32,
    /// Metric.
    pub metric: MetricKey,
    /// Value (NaN when the cell is empty).
    pub value: f64,
}

/// All observations of a run or a sweep, in file order (canonical: point, policy, replication).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tidy {
    /// Swept keys (columns between `point` and `policy`); empty for a plain run.
    pub params: Vec<String>,
    /// Rows.
    pub rows: Vec<TidyRow>,
}

/// Statistics of every metric of one (point, policy) group.
#[derive(Clone, Debug)]
pub struct Group {
    /// Sweep point.
    pub point: usize,
    /// Swept values at the point.
    pub params: Vec<String>,
    /// Policy name.
    pub policy: String,
    /// Metrics in first-appearance order, with their statistics over replications.
    pub metrics: Vec<(MetricKey, Summary)>,
}

impl Group {
    /// Statistics of a metric that is not per-stage, if the group has it.
    pub fn get(&self, metric: Metric) -> Option<&Summary> {
        self.metrics
            .iter()
            .find(|(m, _)| m.is(metric))
            .map(|(_, s)| s)
    }

    /// Statistics of a metric by key, if the group has it.
    pub fn get_key(&self, key: &MetricKey) -> Option<&Summary> {
        self.metrics.iter().find(|(m, _)| m == key).map(|(_, s)| s)
    }
}

/// The reserved columns of `results.csv`; a swept key may not use these names.
pub const RESERVED_COLUMNS: &[&str] = &["point", "policy", "replication", "metric", "value"];

fn parse_value(s: &str) -> Result<f64, String> {
    if s.is_empty() {
        Ok(f64::NAN)
    } else {
        s.parse::<f64>()
            .map_err(|_| format!("`{s}` is not a number"))
    }
}

impl Tidy {
    /// Builds the table from in-memory results of `infersim run`.
    pub fn from_results(r: &ScenarioResults) -> Tidy {
        let mut rows = Vec::new();
        for (p, runs) in r.policies.iter().zip(&r.results) {
            for (rep, run) in r.replications.iter().zip(runs) {
                for (m, v) in &run.metrics {
                    rows.push(TidyRow {
                        point: 0,
                        params: Vec::new(),
                        policy: p.clone(),
                        replication: *rep,
                        metric: m.clone(),
                        value: *v,
                    });
                }
            }
        }
        Tidy {
            params: Vec::new(),
            rows,
        }
    }

    /// Parses a run's `summary.csv` or a sweep's `results.csv` (told apart by the header).
    pub fn parse_csv(bytes: &[u8]) -> Result<Tidy, String> {
        let mut rd = csvin::reader(bytes)?;
        let header: Vec<String> = rd
            .headers()
            .map_err(|e| csvin::describe(&e))?
            .iter()
            .map(str::to_string)
            .collect();
        let n = header.len();
        let tail = ["policy", "replication", "metric", "value"];
        if n < 4 || header[n - 4..] != tail {
            return Err(format!(
                "unexpected header `{}`: expected `…,policy,replication,metric,value`",
                header.join(",")
            ));
        }
        let sweep = header.first().map(String::as_str) == Some("point");
        let params: Vec<String> = if sweep {
            header[1..n - 4].to_vec()
        } else if n == 4 {
            Vec::new()
        } else {
            return Err(format!("unexpected header `{}`", header.join(",")));
        };
        let mut rows = Vec::new();
        for (i, rec) in rd.records().enumerate() {
            let rec = rec.map_err(|e| csvin::describe(&e))?;
            let line = i + 2;
            if rec.len() != n {
                return Err(format!("line {line}: {} fields, expected {n}", rec.len()));
            }
            let point = if sweep {
                rec[0]
                    .parse::<usize>()
                    .map_err(|_| format!("line {line}: bad point `{}`", &rec[0]))?
            } else {
                0
            };
            let params = if sweep {
                rec.iter().skip(1).take(n - 5).map(str::to_string).collect()
            } else {
                Vec::new()
            };
            rows.push(TidyRow {
                point,
                params,
                policy: rec[n - 4].to_string(),
                replication: rec[n - 3]
                    .parse::<u32>()
                    .map_err(|_| format!("line {line}: bad replication `{}`", &rec[n - 3]))?,
                metric: Metric::from_name(&rec[n - 2]).map_err(|e| format!("line {line}: {e}"))?,
                value: parse_value(&rec[n - 1]).map_err(|e| format!("line {line}: {e}"))?,
            });
        }
        Ok(Tidy { params, rows })
    }

    /// Loads the tidy table of an output directory: `results.csv` (sweep) or `summary.csv` (run).
    pub fn load_dir(dir: &Path) -> Result<Tidy, String> {
        for name in ["results.csv", "summary.csv"] {
            let path = dir.join(name);
            if name == "summary.csv" && !path.exists() {
                break;
            }
            match std::fs::read(&path) {
                Ok(bytes) => {
                    // A shard's results hold some runs of each point only.
                    let shard = std::fs::read(dir.join("sweep.json"))
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                        .is_some_and(|m| !m["shard"].is_null());
                    return Tidy::parse_csv(&bytes)
                        .and_then(|t| t.check_complete(!shard).map(|()| t))
                        .map_err(|e| format!("{}: {e}", path.display()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
            }
        }
        Err(format!(
            "{}: no results.csv (sweep) or summary.csv (run) found",
            dir.display()
        ))
    }

    /// Checks that the table is whole: every replication of a (point, policy) has the same
    /// metrics and, with `every_run` (not a shard's results), every point the same policies
    /// and replications. A file cut at the end of a line passes the parser; this finds the run
    /// it cut short.
    pub fn check_complete(&self, every_run: bool) -> Result<(), String> {
        // Runs in file order: (point, policy, replication) and its metric count.
        let mut runs: Vec<(usize, &str, u32, usize)> = Vec::new();
        for r in &self.rows {
            match runs.last_mut() {
                Some(last)
                    if (last.0, last.1, last.2) == (r.point, r.policy.as_str(), r.replication) =>
                {
                    last.3 += 1
                }
                _ => runs.push((r.point, &r.policy, r.replication, 1)),
            }
        }
        let Some(&(p0, _, _, _)) = runs.first() else {
            return Ok(());
        };
        let layout = |point: usize| -> Vec<(&str, u32)> {
            runs.iter()
                .filter(|r| r.0 == point)
                .map(|r| (r.1, r.2))
                .collect()
        };
        let first = layout(p0);
        let mut points: Vec<usize> = runs.iter().map(|r| r.0).collect();
        points.dedup();
        for &pt in points.iter().skip(1).filter(|_| every_run) {
            if layout(pt) != first {
                return Err(format!(
                    "point {pt} does not have the runs (policies × replications) of point {p0}: the file is cut short or was edited"
                ));
            }
        }
        for w in runs.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (a.0, a.1) == (b.0, b.1) && a.3 != b.3 {
                let short = if b.3 < a.3 { b } else { a };
                return Err(format!(
                    "{} replication {}{}: {} metrics where its other replications have {}: the file is cut short or was edited",
                    short.1,
                    short.2,
                    if self.params.is_empty() {
                        String::new()
                    } else {
                        format!(" at point {}", short.0)
                    },
                    short.3,
                    a.3.max(b.3)
                ));
            }
        }
        Ok(())
    }

    /// Number of distinct sweep points.
    pub fn points(&self) -> usize {
        let mut pts: Vec<usize> = self.rows.iter().map(|r| r.point).collect();
        pts.sort_unstable();
        pts.dedup();
        pts.len()
    }

    /// Policy names in first-appearance order.
    pub fn policies(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.rows {
            if !out.contains(&r.policy) {
                out.push(r.policy.clone());
            }
        }
        out
    }

    /// Statistics per (point, policy), in first-appearance order, with 95 % Student-t intervals.
    pub fn groups(&self) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        let mut i = 0;
        while i < self.rows.len() {
            let (point, policy) = (self.rows[i].point, &self.rows[i].policy);
            let mut names: Vec<MetricKey> = Vec::new();
            let mut vals: Vec<Vec<f64>> = Vec::new();
            let mut j = i;
            while j < self.rows.len()
                && self.rows[j].point == point
                && &self.rows[j].policy == policy
            {
                let r = &self.rows[j];
                match names.iter().position(|m| m == &r.metric) {
                    Some(k) => vals[k].push(r.value),
                    None => {
                        names.push(r.metric.clone());
                        vals.push(vec![r.value]);
                    }
                }
                j += 1;
            }
            groups.push(Group {
                point,
                params: self.rows[i].params.clone(),
                policy: policy.clone(),
                metrics: names
                    .into_iter()
                    .zip(vals)
                    .map(|(m, xs)| (m, summarize(&xs, 0.95)))
                    .collect(),
            });
            i = j;
        }
        groups
    }

    /// The values of `metric` for one (point, policy), one per replication, in file order.
    pub fn values(&self, point: usize, policy: &str, metric: &MetricKey) -> Vec<f64> {
        self.rows
            .iter()
            .filter(|r| r.point == point && r.policy == policy && &r.metric == metric)
            .map(|r| r.value)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_cut_at_a_line_end_is_found_and_a_shards_is_not_mistaken_for_one() {
        let head = "point,rate,policy,replication,metric,value\n";
        let whole = format!(
            "{head}0,1,a,0,events,1\n0,1,a,0,requests,1\n0,1,a,1,events,2\n0,1,a,1,requests,2\n\
             1,2,a,0,events,3\n1,2,a,0,requests,3\n1,2,a,1,events,4\n1,2,a,1,requests,4\n"
        );
        let t = Tidy::parse_csv(whole.as_bytes()).unwrap();
        assert!(t.check_complete(true).is_ok());
        // The last run lost its last metric.
        let cut: String = whole.lines().take(8).map(|l| format!("{l}\n")).collect();
        let e = Tidy::parse_csv(cut.as_bytes())
            .unwrap()
            .check_complete(true)
            .unwrap_err();
        assert!(
            e.starts_with("a replication 1 at point 1: 1 metrics where"),
            "{e}"
        );
        // The last point lost its last run: a whole sweep must have it, a shard need not.
        let cut: String = whole.lines().take(7).map(|l| format!("{l}\n")).collect();
        let t = Tidy::parse_csv(cut.as_bytes()).unwrap();
        assert!(
            t.check_complete(true)
                .unwrap_err()
                .starts_with("point 1 does not have")
        );
        assert!(t.check_complete(false).is_ok());
    }

    #[test]
    fn parses_both_layouts() {
        let run = Tidy::parse_csv(b"policy,replication,metric,value\na,0,events,1\na,1,events,\n")
            .unwrap();
        assert!(run.params.is_empty());
        assert_eq!(run.rows.len(), 2);
        assert!(run.rows[1].value.is_nan());
        let sweep = Tidy::parse_csv(
            b"point,rate,policy,replication,metric,value\n0,10/s,a,0,stage_x_exited,1\n0,10/s,a,1,stage_x_exited,3\n1,\"{ a = 1, b = 2 }\",a,0,stage_x_exited,2\n",
        )
        .unwrap();
        assert_eq!(sweep.params, vec!["rate".to_string()]);
        assert_eq!(sweep.rows[2].params, vec!["{ a = 1, b = 2 }".to_string()]);
        let g = sweep.groups();
        assert_eq!(g.len(), 2);
        let k = Metric::StageExited.of_stage("x");
        assert_eq!(g[0].get_key(&k).unwrap().mean, 2.0);
        assert_eq!(g[0].get_key(&k).unwrap().n, 2);
        assert_eq!(g[0].get(Metric::StageExited), None);
        assert_eq!(sweep.values(0, "a", &k), vec![1.0, 3.0]);
        let e =
            Tidy::parse_csv(b"policy,replication,metric,value\na,0,cost_totl_usd,1\n").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("`cost_total_usd`"),
            "{e}"
        );
    }
}
