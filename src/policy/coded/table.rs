//! Accuracy tables for runs: the CSV that `infersim accuracy` writes (and the paper's table in
//! `data/`), read with [`crate::coded::accuracy::table::parse_csv`], and the rows a coded policy
//! needs.

use std::path::Path;

pub use crate::coded::accuracy::table::{HEADER, Row as AccuracyRow};

/// Reads a table; errors name the file, the line and what is wrong.
pub fn read(path: &Path) -> Result<Vec<AccuracyRow>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the accuracy table {}: {e}", path.display()))?;
    let rows = crate::coded::accuracy::table::parse_csv(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for (i, r) in rows.iter().enumerate() {
        let fraction = |x: f64| (0.0..=1.0).contains(&x);
        if !fraction(r.accuracy) || !r.detected_rate.is_none_or(fraction) {
            return Err(format!(
                "{}: line {}: accuracy and detected_rate must be fractions between 0 and 1",
                path.display(),
                i + 2
            ));
        }
    }
    Ok(rows)
}

/// The row of `scheme` at (k, s, e) for `model`, preferring `adversary` when several match.
pub fn lookup<'a>(
    rows: &'a [AccuracyRow],
    model: &str,
    scheme: &str,
    (k, s, e): (u16, u16, u16),
    adversary: &str,
) -> Option<&'a AccuracyRow> {
    let (k, s, e) = (k as usize, s as usize, e as usize);
    let mut matching = rows.iter().filter(|r| {
        r.model == model && r.scheme.name() == scheme && r.k == k && r.s == s && r.e == e
    });
    let first = matching.clone().next()?;
    Some(
        matching
            .find(|r| r.adversary.name() == adversary)
            .unwrap_or(first),
    )
}

/// The base accuracy of `model`: its `uncoded` (or `replication`) row, whatever its K.
pub fn base<'a>(rows: &'a [AccuracyRow], model: &str) -> Option<&'a AccuracyRow> {
    let of = |scheme: &str| {
        rows.iter()
            .find(|r| r.model == model && r.scheme.name() == scheme)
    };
    of("uncoded").or_else(|| of("replication"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "model,scheme,k,s,e,adversary,sigma,groups,queries,accuracy,ci95_low,ci95_high,detected_rate
m,uncoded,1,0,0,none,,,,0.99,,,
m,approxifer,12,1,0,none,,,,0.868,,,
m,approxifer,12,1,1,gaussian,10,,,0.95,,,0.9
m,approxifer,12,1,1,sign-flip,,,,0.97,,,0.99
";

    #[test]
    fn rows_are_found_by_scheme_and_kse_preferring_the_adversary() {
        let rows = crate::coded::accuracy::table::parse_csv(TABLE).unwrap();
        assert_eq!(base(&rows, "m").unwrap().accuracy, 0.99);
        let r = lookup(&rows, "m", "approxifer", (12, 1, 1), "sign-flip").unwrap();
        assert_eq!((r.accuracy, r.detected_rate), (0.97, Some(0.99)));
        let r = lookup(&rows, "m", "approxifer", (12, 1, 1), "none").unwrap();
        assert_eq!(r.accuracy, 0.95);
        assert!(lookup(&rows, "m", "parm", (12, 1, 0), "none").is_none());
    }

    #[test]
    fn out_of_range_values_are_reported_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, TABLE.replace("0.868", "1.5")).unwrap();
        let e = read(&p).unwrap_err();
        assert!(e.contains("line 3") && e.contains("between 0 and 1"), "{e}");
    }
}
