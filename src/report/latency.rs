//! The whole latency distribution of a run, as recorded (HDR histogram buckets, 3 significant
//! digits), and the empirical CDF pooled over replications that `latency_cdf.csv` holds.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use super::ScenarioResults;
use super::write::csv_field;

/// The latencies of a run's measured requests: one `(latency_ns, count)` per non-empty histogram
/// bucket, in increasing latency. A bucket's latency is the largest value it holds (the value
/// the reported percentiles use), so the CDF read from it agrees with `latency_p*_s`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencyCounts(pub Vec<(u64, u64)>);

impl LatencyCounts {
    /// The non-empty buckets of `hist`.
    pub fn from_histogram(hist: &Histogram<u64>) -> Self {
        LatencyCounts(
            hist.iter_recorded()
                .map(|v| {
                    (
                        hist.highest_equivalent(v.value_iterated_to()),
                        v.count_at_value(),
                    )
                })
                .collect(),
        )
    }

    /// Requests counted.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|&(_, c)| c).sum()
    }

    /// The buckets of several runs added together (the runs' histograms have the same
    /// buckets, so this is exact).
    pub fn pooled<'a>(runs: impl IntoIterator<Item = &'a LatencyCounts>) -> LatencyCounts {
        let mut all: Vec<(u64, u64)> = runs.into_iter().flat_map(|r| r.0.iter().copied()).collect();
        all.sort_unstable_by_key(|&(v, _)| v);
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(all.len());
        for (v, c) in all {
            match out.last_mut() {
                Some((last, n)) if *last == v => *n += c,
                _ => out.push((v, c)),
            }
        }
        LatencyCounts(out)
    }

    /// The empirical distribution: per bucket, `(latency_s, requests, F(x), P(L ≥ x))`, where
    /// F(x) is the fraction of requests at most x and P(L ≥ x) the fraction at least x (the
    /// tail view: 1 at the minimum, 1/n at the maximum, never 0).
    pub fn cdf(&self) -> Vec<CdfPoint> {
        let n = self.total();
        if n == 0 {
            return Vec::new();
        }
        let mut below = 0u64;
        self.0
            .iter()
            .map(|&(v, c)| {
                let p = CdfPoint {
                    latency_s: v as f64 / 1e9,
                    requests: c,
                    cdf: (below + c) as f64 / n as f64,
                    at_least: (n - below) as f64 / n as f64,
                };
                below += c;
                p
            })
            .collect()
    }
}

/// One row of the empirical latency distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CdfPoint {
    /// Latency, seconds (the largest value of the bucket).
    pub latency_s: f64,
    /// Requests in the bucket.
    pub requests: u64,
    /// Fraction of requests with a latency at most `latency_s`.
    pub cdf: f64,
    /// Fraction of requests with a latency at least `latency_s` (the CCDF just below it).
    pub at_least: f64,
}

/// The header of `latency_cdf.csv`.
pub const CDF_HEADER: &str = "policy,latency_s,requests,cdf,ccdf_at_least";

/// `latency_cdf.csv`: per policy, the empirical CDF of the latency of measured requests, pooled
/// over replications, one row per histogram bucket that holds a request.
pub fn latency_cdf_csv(r: &ScenarioResults) -> Vec<u8> {
    let mut out = format!("{CDF_HEADER}\n");
    for (p, runs) in r.policies.iter().zip(&r.results) {
        let pooled = LatencyCounts::pooled(runs.iter().map(|run| &run.latency));
        let name = csv_field(p);
        for q in pooled.cdf() {
            let _ = writeln!(
                out,
                "{name},{},{},{},{}",
                q.latency_s,
                q.requests,
                significant(q.cdf),
                significant(q.at_least)
            );
        }
    }
    out.into_bytes()
}

/// A fraction rounded to 7 significant digits (plenty for a figure, and half the bytes of a
/// round-trip representation); never rounds a positive value to 0.
fn significant(x: f64) -> f64 {
    format!("{x:.6e}").parse().unwrap_or(x)
}

/// One policy's curve read back from `latency_cdf.csv`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CdfCurve {
    /// Policy name.
    pub policy: String,
    /// Rows in increasing latency.
    pub points: Vec<CdfPoint>,
}

/// Reads `latency_cdf.csv` (as written by [`latency_cdf_csv`]) into one curve per policy, in
/// file order. `path` names the file in errors.
pub fn read_cdf_csv(bytes: &[u8], path: &str) -> Result<Vec<CdfCurve>, String> {
    let mut rd = csv::ReaderBuilder::new().from_reader(bytes);
    let headers = rd
        .headers()
        .map_err(|e| format!("{path}: cannot read the header: {e}"))?
        .clone();
    if headers.iter().collect::<Vec<_>>().join(",") != CDF_HEADER {
        return Err(format!(
            "{path}: the header is not `{CDF_HEADER}` (is this a latency_cdf.csv written by infersim?)"
        ));
    }
    let mut curves: Vec<CdfCurve> = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("{path}: {}", super::csvin::describe(&e)))?;
        let num = |col: usize, what: &str| -> Result<f64, String> {
            rec[col]
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| {
                    format!(
                        "{path}: line {line}: {what} is `{}`; a number ≥ 0 is expected",
                        &rec[col]
                    )
                })
        };
        let point = CdfPoint {
            latency_s: num(1, "latency_s")?,
            requests: num(2, "requests")? as u64,
            cdf: num(3, "cdf")?,
            at_least: num(4, "ccdf_at_least")?,
        };
        match curves.last_mut() {
            Some(c) if c.policy == rec[0] => c.points.push(point),
            _ => curves.push(CdfCurve {
                policy: rec[0].to_string(),
                points: vec![point],
            }),
        }
    }
    Ok(curves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::new(3).unwrap();
        for &v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn buckets_agree_with_the_histogram_percentiles() {
        let values: Vec<u64> = (1..=10_000u64).map(|i| i * i * 37 + 5_000).collect();
        let h = hist(&values);
        let counts = LatencyCounts::from_histogram(&h);
        assert_eq!(counts.total(), 10_000);
        let cdf = counts.cdf();
        for q in [0.5, 0.9, 0.99, 0.999] {
            // The smallest bucket whose CDF reaches q is the percentile HDR reports.
            let at = cdf.iter().find(|p| p.cdf >= q).unwrap();
            assert_eq!(at.latency_s, h.value_at_quantile(q) as f64 / 1e9, "q = {q}");
        }
        assert_eq!(cdf.last().unwrap().latency_s, h.max() as f64 / 1e9);
        assert_eq!(cdf.last().unwrap().cdf, 1.0);
        assert_eq!(cdf[0].at_least, 1.0);
        assert_eq!(cdf.last().unwrap().at_least, 1.0 / 10_000.0);
    }

    #[test]
    fn pooling_adds_the_counts_of_equal_buckets() {
        let a = LatencyCounts::from_histogram(&hist(&[1_000, 2_000, 2_000, 50_000_000]));
        let b = LatencyCounts::from_histogram(&hist(&[2_000, 3_000]));
        let p = LatencyCounts::pooled([&a, &b]);
        assert_eq!(p.total(), 6);
        assert_eq!(p.0[0], (1_000, 1));
        assert_eq!(p.0[1], (2_000, 3));
        // Above 2,048 ns buckets are 2 ns wide: 3,000 is in [3,000, 3,001].
        assert_eq!(p.0[2], (3_001, 1));
        assert_eq!(p.0.len(), 4);
        // Pooling equals recording everything into one histogram.
        let one =
            LatencyCounts::from_histogram(&hist(&[1_000, 2_000, 2_000, 50_000_000, 2_000, 3_000]));
        assert_eq!(p, one);
    }

    #[test]
    fn the_csv_reads_back() {
        let r = ScenarioResults {
            scenario: "t".into(),
            policies: vec!["a,b".into(), "c".into()],
            results: vec![
                vec![super::super::RunResult {
                    latency: LatencyCounts(vec![(1_000_000, 3), (2_000_000, 1)]),
                    ..Default::default()
                }],
                vec![super::super::RunResult::default()],
            ],
            replications: vec![0],
        };
        let bytes = latency_cdf_csv(&r);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"a,b\",0.001,3,0.75,1\n"), "{text}");
        let curves = read_cdf_csv(&bytes, "x.csv").unwrap();
        assert_eq!(curves.len(), 1, "a policy without requests has no rows");
        assert_eq!(curves[0].policy, "a,b");
        assert_eq!(curves[0].points[1].at_least, 0.25);
        let bad = read_cdf_csv(b"policy,x\n", "y.csv").unwrap_err();
        assert!(bad.contains("y.csv") && bad.contains("header"), "{bad}");
        let bad =
            read_cdf_csv(format!("{CDF_HEADER}\np,abc,1,0.5,1\n").as_bytes(), "z.csv").unwrap_err();
        assert!(bad.contains("line 2") && bad.contains("latency_s"), "{bad}");
    }
}
