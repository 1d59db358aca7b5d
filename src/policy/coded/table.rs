//! Accuracy tables: the accuracy of each scheme per (K, S, E), measured by `infersim accuracy`
//! or copied from a paper, as CSV with the header
//! `model,scheme,k,s,e,adversary,sigma,groups,queries,accuracy,ci95_low,ci95_high,detected_rate`.

use std::path::Path;

/// One row of an accuracy table.
#[derive(Clone, Debug, PartialEq)]
pub struct AccuracyRow {
    /// The model (and data set) measured.
    pub model: String,
    /// `uncoded`, `replication`, `parm` or `approxifer`.
    pub scheme: String,
    /// Queries per group.
    pub k: u16,
    /// Stragglers.
    pub s: u16,
    /// Byzantine workers.
    pub e: u16,
    /// `none`, `gaussian` or `sign-flip`.
    pub adversary: String,
    /// Accuracy, 0..1.
    pub accuracy: f64,
    /// The locator's detection rate, when measured.
    pub detected_rate: Option<f64>,
}

/// The columns a table must have, in this order.
pub const HEADER: &str =
    "model,scheme,k,s,e,adversary,sigma,groups,queries,accuracy,ci95_low,ci95_high,detected_rate";

/// Reads a table; errors name the file, the line and what is wrong.
pub fn read(path: &Path) -> Result<Vec<AccuracyRow>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the accuracy table {}: {e}", path.display()))?;
    parse(&text).map_err(|m| format!("{}: {m}", path.display()))
}

/// Parses a table's text.
pub fn parse(text: &str) -> Result<Vec<AccuracyRow>, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == HEADER => {}
        Some((_, h)) => {
            return Err(format!(
                "line 1: the header must be `{HEADER}`, found `{}`",
                h.chars().take(200).collect::<String>()
            ));
        }
        None => return Err("the table is empty (expected a header line)".into()),
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let at = |m: String| format!("line {}: {m}", i + 1);
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 13 {
            return Err(at(format!("{} fields, expected 13", f.len())));
        }
        let int = |j: usize, what: &str| {
            f[j].trim()
                .parse::<u16>()
                .map_err(|_| at(format!("{what} `{}` is not a whole number 0–65535", f[j])))
        };
        let frac = |j: usize, what: &str| -> Result<Option<f64>, String> {
            let t = f[j].trim();
            if t.is_empty() {
                return Ok(None);
            }
            match t.parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => Ok(Some(x)),
                _ => Err(at(format!(
                    "{what} `{t}` is not a fraction between 0 and 1"
                ))),
            }
        };
        let scheme = f[1].trim().to_string();
        if !["uncoded", "replication", "parm", "approxifer"].contains(&scheme.as_str()) {
            return Err(at(format!(
                "scheme `{scheme}` is unknown; allowed: uncoded, replication, parm, approxifer"
            )));
        }
        let accuracy = frac(9, "accuracy")?.ok_or_else(|| at("accuracy is empty".into()))?;
        rows.push(AccuracyRow {
            model: f[0].trim().to_string(),
            scheme,
            k: int(2, "k")?,
            s: int(3, "s")?,
            e: int(4, "e")?,
            adversary: f[5].trim().to_string(),
            accuracy,
            detected_rate: frac(12, "detected_rate")?,
        });
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
    let mut matching = rows
        .iter()
        .filter(|r| r.model == model && r.scheme == scheme && r.k == k && r.s == s && r.e == e);
    let first = matching.clone().next()?;
    Some(matching.find(|r| r.adversary == adversary).unwrap_or(first))
}

/// The base accuracy of `model`: its `uncoded` (or `replication`) row, whatever its K.
pub fn base<'a>(rows: &'a [AccuracyRow], model: &str) -> Option<&'a AccuracyRow> {
    rows.iter()
        .find(|r| r.model == model && r.scheme == "uncoded")
        .or_else(|| {
            rows.iter()
                .find(|r| r.model == model && r.scheme == "replication")
        })
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
        let rows = parse(TABLE).unwrap();
        assert_eq!(base(&rows, "m").unwrap().accuracy, 0.99);
        let r = lookup(&rows, "m", "approxifer", (12, 1, 1), "sign-flip").unwrap();
        assert_eq!((r.accuracy, r.detected_rate), (0.97, Some(0.99)));
        let r = lookup(&rows, "m", "approxifer", (12, 1, 1), "none").unwrap();
        assert_eq!(r.accuracy, 0.95);
        assert!(lookup(&rows, "m", "parm", (12, 1, 0), "none").is_none());
    }

    #[test]
    fn bad_rows_are_reported_with_their_line() {
        let bad = TABLE.replace("0.868", "1.5");
        let e = parse(&bad).unwrap_err();
        assert!(
            e.starts_with("line 3:") && e.contains("between 0 and 1"),
            "{e}"
        );
        let e = parse("model,scheme\n").unwrap_err();
        assert!(e.contains("the header must be"), "{e}");
    }
}
