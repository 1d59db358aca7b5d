//! The `[sweep]` table of a scenario: parsing, expansion into points, and applying a point to the
//! scenario text.
//!
//! ```toml
//! [sweep]
//! "workload.arrivals.rate" = ["10/s", "20/s", "40/s"]      # a list
//! "policy.1.vms" = { from = 1, to = 4, step = 1 }          # a range of numbers
//! "platform.faas.keep_alive" = { from = 1, to = 10, step = 3, unit = "m" }  # "1m", "4m", …
//!
//! [sweep.zip]                                              # zipped: varied together
//! "platform.faas.memory" = ["1024MB", "2048MB"]
//! "stage.0.service.median" = ["200ms", "100ms"]
//! ```
//!
//! Every entry is an axis (a zip group is one axis); the points are the cartesian product of the
//! axes, the first axis varying slowest. The `[sweep]` table is not part of the scenario schema: the
//! scenario loader ignores it ([`crate::scenario::strip_sweep_table`] blanks its lines, so line
//! numbers of the rest stay right), and [`strip_sweep`] parses it beside the stripped text.

use std::fmt::Write as _;
use std::path::Path;

use toml_edit::{DocumentMut, Item, Key, Table, TableLike, Value};

use crate::report::tidy::RESERVED_COLUMNS;
use crate::scenario::{Scenario, ScenarioError};

/// Most points a sweep may have.
pub const MAX_POINTS: usize = 1_000_000;

/// One swept key and its values.
#[derive(Clone, Debug)]
pub struct Param {
    /// Dotted key path in the scenario (`workload.arrivals.rate`, `policy.1.vms`).
    pub key: String,
    /// Line of the entry in the scenario file (1-based).
    pub line: usize,
    /// Values, in order.
    pub values: Vec<Value>,
}

impl Param {
    /// The value at `i` as written in `results.csv`: strings without quotes, other values in
    /// TOML syntax.
    pub fn label(&self, i: usize) -> String {
        value_label(&self.values[i])
    }
}

/// A value as written in `results.csv`.
pub fn value_label(v: &Value) -> String {
    match v {
        Value::String(s) => s.value().clone(),
        other => {
            let mut v = other.clone();
            v.decor_mut().clear();
            v.to_string().trim().to_string()
        }
    }
}

/// One axis of the product: a single key, or a zip group whose keys vary together.
#[derive(Clone, Debug)]
pub struct Axis {
    /// The keys (one unless zipped); all have the same number of values.
    pub params: Vec<Param>,
}

impl Axis {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.params.first().map_or(0, |p| p.values.len())
    }

    /// True when the axis has no values (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A parsed `[sweep]` table.
#[derive(Clone, Debug, Default)]
pub struct SweepSpec {
    /// Axes, in file order.
    pub axes: Vec<Axis>,
}

/// One point of a sweep: a value index for every parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    /// Index of the point (0-based, first axis slowest).
    pub index: usize,
    /// For every parameter (in [`SweepSpec::params`] order), the index of its value.
    pub choice: Vec<usize>,
}

impl SweepSpec {
    /// Every parameter, in column order (axes in file order, zipped keys in file order).
    pub fn params(&self) -> Vec<&Param> {
        self.axes.iter().flat_map(|a| a.params.iter()).collect()
    }

    /// Number of points (the product of the axes' lengths; 1 with no axis).
    pub fn len(&self) -> usize {
        self.axes
            .iter()
            .map(Axis::len)
            .fold(1usize, usize::saturating_mul)
    }

    /// True when the sweep has no points (never: an empty sweep has one point).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The point of index `i` (< [`len`](Self::len)).
    pub fn point(&self, i: usize) -> Point {
        let mut rest = i;
        let mut per_axis = vec![0; self.axes.len()];
        for (k, axis) in self.axes.iter().enumerate().rev() {
            per_axis[k] = rest % axis.len();
            rest /= axis.len();
        }
        let choice = self
            .axes
            .iter()
            .zip(per_axis)
            .flat_map(|(a, j)| std::iter::repeat_n(j, a.params.len()))
            .collect();
        Point { index: i, choice }
    }

    /// Every point, in order.
    pub fn points(&self) -> Vec<Point> {
        (0..self.len()).map(|i| self.point(i)).collect()
    }

    /// The labels of a point's values, in column order.
    pub fn labels(&self, p: &Point) -> Vec<String> {
        self.params()
            .iter()
            .zip(&p.choice)
            .map(|(param, &j)| param.label(j))
            .collect()
    }

    /// A canonical text of the sweep (keys, grouping and values), for fingerprints.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        for (i, a) in self.axes.iter().enumerate() {
            for p in &a.params {
                let vals: Vec<String> = p
                    .values
                    .iter()
                    .map(|v| {
                        let mut v = v.clone();
                        v.decor_mut().clear();
                        v.to_string()
                    })
                    .collect();
                let _ = writeln!(out, "axis {i} {} = [{}]", p.key, vals.join(", "));
            }
        }
        out
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Splits a scenario's text into the scenario without its `[sweep]` table (as the scenario loader
/// sees it: [`crate::scenario::strip_sweep_table`]) and the parsed sweep. Text that is not valid
/// TOML is returned unchanged, for [`Scenario::from_str_at`] to report.
pub fn strip_sweep(text: &str, path: &Path) -> Result<(String, Option<SweepSpec>), ScenarioError> {
    let Ok(doc) = toml_edit::Document::parse(text.to_string()) else {
        return Ok((text.to_string(), None));
    };
    let Some((key, item)) = doc.as_table().get_key_value("sweep") else {
        return Ok((text.to_string(), None));
    };
    let err = |line: Option<usize>, key: String, message: String| ScenarioError {
        file: path.to_path_buf(),
        line,
        key: Some(key),
        message,
    };
    let stripped = crate::scenario::strip_sweep_table(text);
    let key_line = key.span().map(|s| line_of(text, s.start));
    let Some(table) = item.as_table_like() else {
        return Err(err(
            key_line,
            "sweep".into(),
            "`sweep` must be a table: write `[sweep]` and below it `\"key.path\" = [values]`"
                .into(),
        ));
    };
    let mut spec = SweepSpec::default();
    let cx = Cx { text, path };
    for (k, it) in table.iter() {
        let kline = table
            .key(k)
            .and_then(Key::span)
            .map(|s| line_of(text, s.start))
            .or(key_line);
        if k == "zip" {
            let groups: Vec<(&dyn TableLike, Option<usize>)> = match it {
                Item::ArrayOfTables(a) => a
                    .iter()
                    .map(|t| {
                        let l = t.span().map(|s| line_of(text, s.start)).or(kline);
                        (t as &dyn TableLike, l)
                    })
                    .collect(),
                other => match other.as_table_like() {
                    Some(t) => vec![(t, kline)],
                    None => {
                        return Err(err(
                            kline,
                            "sweep.zip".into(),
                            "`sweep.zip` must be a table of lists of equal length: `[sweep.zip]` then `\"a.b\" = [1, 2]` and `\"c.d\" = [3, 4]`".into(),
                        ));
                    }
                },
            };
            for (g, gline) in groups {
                let mut params = Vec::new();
                for (gk, git) in g.iter() {
                    let l = g
                        .key(gk)
                        .and_then(Key::span)
                        .map(|s| line_of(text, s.start))
                        .or(gline);
                    cx.entry(gk, git, l, &mut params)?;
                }
                if params.is_empty() {
                    return Err(err(
                        gline,
                        "sweep.zip".into(),
                        "a zip group needs at least one key".into(),
                    ));
                }
                let n = params[0].values.len();
                if let Some(p) = params.iter().find(|p| p.values.len() != n) {
                    return Err(err(
                        Some(p.line),
                        format!("sweep.zip.\"{}\"", p.key),
                        format!(
                            "zipped lists must have the same length: `{}` has {n} values, `{}` has {}",
                            params[0].key,
                            p.key,
                            p.values.len()
                        ),
                    ));
                }
                spec.axes.push(Axis { params });
            }
        } else {
            let mut params = Vec::new();
            cx.entry(k, it, kline, &mut params)?;
            for p in params {
                spec.axes.push(Axis { params: vec![p] });
            }
        }
    }
    // Keys must be distinct and must not shadow the fixed columns.
    let all = spec.params();
    for (i, p) in all.iter().enumerate() {
        if all[..i].iter().any(|q| q.key == p.key) {
            return Err(err(
                Some(p.line),
                format!("sweep.\"{}\"", p.key),
                format!("`{}` is swept twice", p.key),
            ));
        }
        if RESERVED_COLUMNS.contains(&p.key.as_str()) {
            return Err(err(
                Some(p.line),
                format!("sweep.\"{}\"", p.key),
                format!("`{}` is not a scenario key that can be swept", p.key),
            ));
        }
    }
    if spec.len() > MAX_POINTS {
        return Err(err(
            key_line,
            "sweep".into(),
            if spec.len() == usize::MAX {
                format!(
                    "the sweep has more points than can be counted; at most {MAX_POINTS} are allowed"
                )
            } else {
                format!(
                    "the sweep has {} points; at most {MAX_POINTS} are allowed",
                    spec.len()
                )
            },
        ));
    }
    Ok((stripped, Some(spec)))
}

struct Cx<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Cx<'_> {
    fn err(&self, line: Option<usize>, key: &str, message: String) -> ScenarioError {
        ScenarioError {
            file: self.path.to_path_buf(),
            line,
            key: Some(format!("sweep.\"{key}\"")),
            message,
        }
    }

    /// A clean, owned copy of a parsed value (re-parsed from its source text).
    fn owned(&self, v: &Value) -> Option<Value> {
        let span = v.span()?;
        self.text.get(span)?.trim().parse::<Value>().ok()
    }

    /// One `key = values` entry (nested tables from unquoted dotted keys are flattened).
    fn entry(
        &self,
        key: &str,
        item: &Item,
        line: Option<usize>,
        out: &mut Vec<Param>,
    ) -> Result<(), ScenarioError> {
        let key_norm = normalize_key(key);
        let line_or = line.unwrap_or(1);
        match item {
            Item::Value(Value::Array(a)) => {
                let mut values = Vec::new();
                for v in a.iter() {
                    let owned = self.owned(v).ok_or_else(|| {
                        self.err(line, &key_norm, "cannot read this value".into())
                    })?;
                    let label = value_label(&owned);
                    if label.contains(['\n', '\r']) {
                        return Err(self.err(
                            line,
                            &key_norm,
                            "sweep values cannot contain line breaks".into(),
                        ));
                    }
                    values.push(owned);
                }
                if values.is_empty() {
                    return Err(self.err(line, &key_norm, "the list of values is empty".into()));
                }
                out.push(Param {
                    key: key_norm,
                    line: line_or,
                    values,
                });
                Ok(())
            }
            other => match other.as_table_like() {
                Some(t) if t.contains_key("from") || t.contains_key("to") => {
                    let values = self.range(t, line, &key_norm)?;
                    out.push(Param {
                        key: key_norm,
                        line: line_or,
                        values,
                    });
                    Ok(())
                }
                Some(t) => {
                    // `a.b = [..]` written without quotes: a nested table; flatten it.
                    for (k, it) in t.iter() {
                        let l = t
                            .key(k)
                            .and_then(Key::span)
                            .map(|s| line_of(self.text, s.start))
                            .or(line);
                        self.entry(&format!("{key}.{k}"), it, l, out)?;
                    }
                    Ok(())
                }
                None => Err(self.err(
                    line,
                    &key_norm,
                    "a swept key needs a list of values (`[\"10/s\", \"20/s\"]`) or a range (`{ from = 1, to = 5, step = 1 }`), not a single value".into(),
                )),
            },
        }
    }

    /// `{ from = a, to = b, step = s, unit = "…" }`.
    fn range(
        &self,
        t: &dyn TableLike,
        line: Option<usize>,
        key: &str,
    ) -> Result<Vec<Value>, ScenarioError> {
        for (k, _) in t.iter() {
            if !["from", "to", "step", "unit"].contains(&k) {
                return Err(self.err(
                    line,
                    key,
                    format!("unknown range key `{k}`; allowed: `from`, `to`, `step`, `unit`"),
                ));
            }
        }
        let num = |name: &str| -> Result<Option<(f64, bool)>, ScenarioError> {
            match t.get(name) {
                None => Ok(None),
                Some(it) => match it.as_value() {
                    Some(Value::Integer(i)) => Ok(Some((*i.value() as f64, true))),
                    Some(Value::Float(f)) if f.value().is_finite() => Ok(Some((*f.value(), false))),
                    _ => Err(self.err(
                        line,
                        key,
                        format!("range `{name}` must be a number (put a unit in `unit = \"…\"`)"),
                    )),
                },
            }
        };
        let (Some(from), Some(to)) = (num("from")?, num("to")?) else {
            return Err(self.err(line, key, "a range needs `from`, `to` and `step`".into()));
        };
        let Some(step) = num("step")? else {
            return Err(self.err(line, key, "a range needs `step`".into()));
        };
        let unit = match t.get("unit") {
            None => None,
            Some(it) => match it.as_str() {
                Some(u) => Some(u.to_string()),
                None => {
                    return Err(self.err(
                        line,
                        key,
                        "range `unit` must be a string such as \"/s\", \"ms\" or \"MB\"".into(),
                    ));
                }
            },
        };
        let (a, b, s) = (from.0, to.0, step.0);
        if s == 0.0 || (b - a) / s < -1e-9 {
            return Err(self.err(
                line,
                key,
                format!("step {s} never goes from {a} to {b}: it must be non-zero and point from `from` to `to`"),
            ));
        }
        // Count in floating point and bound it before converting or allocating: a tiny step or
        // a huge span would overflow an integer count.
        let count = ((b - a) / s + 1e-9).floor() + 1.0;
        if !count.is_finite() || count > MAX_POINTS as f64 {
            let found = if count.is_finite() {
                format!("about {count:.3e} values")
            } else {
                "more values than can be counted".to_string()
            };
            return Err(self.err(
                line,
                key,
                format!(
                    "the range from {} to {} in steps of {} has {found}; a sweep may have at most {MAX_POINTS} points (use a larger step or a narrower range)",
                    short(a),
                    short(b),
                    short(s)
                ),
            ));
        }
        let n = count as usize;
        let ints = from.1 && to.1 && step.1;
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            let x = a + i as f64 * s;
            let text = if ints {
                format!("{}", x.round() as i64)
            } else {
                // Round away binary noise (0.1 + 0.2): 12 significant digits.
                let r: f64 = format!("{x:.12e}").parse().unwrap_or(x);
                format!("{r}")
            };
            let v: Value = match &unit {
                Some(u) => Value::from(format!("{text}{u}")),
                None if ints => Value::from(x.round() as i64),
                None => Value::from(text.parse::<f64>().unwrap_or(x)),
            };
            values.push(v);
        }
        Ok(values)
    }
}

/// A number as a user would write it: `0.5`, `1e-300`, `1e300`.
fn short(x: f64) -> String {
    if x == 0.0 || (1e-4..1e15).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// `policy[1].vms` → `policy.1.vms`.
pub fn normalize_key(key: &str) -> String {
    key.replace('[', ".").replace(']', "").replace("..", ".")
}

/// Sets the dotted `key` of a document to `value`, creating missing tables on the way.
pub fn set_key(doc: &mut DocumentMut, key: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "`{key}` is not a key path (write `table.key`, `policy.1.vms`)"
        ));
    }
    set_in_item(doc.as_item_mut(), &parts, value, key, 0)
}

fn describe(parts: &[&str], upto: usize) -> String {
    if upto == 0 {
        "the top level".into()
    } else {
        format!("`{}`", parts[..upto].join("."))
    }
}

fn set_in_item(
    item: &mut Item,
    parts: &[&str],
    value: Value,
    key: &str,
    depth: usize,
) -> Result<(), String> {
    let part = parts[depth];
    let last = depth + 1 == parts.len();
    let index = part.parse::<usize>().ok();
    match item {
        Item::ArrayOfTables(a) => {
            let Some(i) = index else {
                return Err(format!(
                    "{} is a list of tables: give an index, e.g. `{}.0.{part}`",
                    describe(parts, depth),
                    parts[..depth].join(".")
                ));
            };
            let len = a.len();
            let Some(t) = a.get_mut(i) else {
                return Err(format!(
                    "{} has {len} entries (indices 0 to {}); there is no index {i}",
                    describe(parts, depth),
                    len.saturating_sub(1)
                ));
            };
            if last {
                return Err(format!(
                    "cannot sweep a whole table `{key}`; sweep its keys (`{key}.name`)"
                ));
            }
            let mut tmp = Item::Table(std::mem::take(t));
            let r = set_in_item(&mut tmp, parts, value, key, depth + 1);
            if let Item::Table(back) = tmp {
                *t = back;
            }
            r
        }
        Item::Value(v) => set_in_value(v, parts, value, key, depth),
        Item::Table(_) | Item::None => {
            if index.is_some() {
                return Err(format!(
                    "{} is a table, not a list: `{part}` cannot index it",
                    describe(parts, depth)
                ));
            }
            if item.is_none() {
                *item = Item::Table(Table::new());
                if let Item::Table(t) = item {
                    t.set_implicit(true);
                }
            }
            let Some(t) = item.as_table_like_mut() else {
                unreachable!("a table")
            };
            if last {
                match t.get_mut(part) {
                    Some(Item::Value(old)) => {
                        let decor = old.decor().clone();
                        let mut v = value;
                        *v.decor_mut() = decor;
                        *old = v;
                    }
                    Some(other) if !other.is_none() => {
                        *other = Item::Value(value);
                    }
                    _ => {
                        t.insert(part, Item::Value(value));
                    }
                }
                return Ok(());
            }
            if t.get(part).is_none() {
                let next_is_index = parts[depth + 1].parse::<usize>().is_ok();
                if next_is_index {
                    return Err(format!(
                        "the scenario has no `{}` list to index",
                        parts[..=depth].join(".")
                    ));
                }
                let mut nt = Table::new();
                nt.set_implicit(true);
                t.insert(part, Item::Table(nt));
            }
            let child = t.get_mut(part).expect("inserted");
            set_in_item(child, parts, value, key, depth + 1)
        }
    }
}

fn set_in_value(
    v: &mut Value,
    parts: &[&str],
    value: Value,
    key: &str,
    depth: usize,
) -> Result<(), String> {
    let part = parts[depth];
    let last = depth + 1 == parts.len();
    match v {
        Value::InlineTable(t) => {
            if part.parse::<usize>().is_ok() {
                return Err(format!(
                    "{} is a table, not a list: `{part}` cannot index it",
                    describe(parts, depth)
                ));
            }
            if last {
                match t.get_mut(part) {
                    Some(old) => {
                        let decor = old.decor().clone();
                        let mut nv = value;
                        *nv.decor_mut() = decor;
                        *old = nv;
                    }
                    None => {
                        t.insert(part, value);
                    }
                }
                return Ok(());
            }
            if t.get(part).is_none() {
                t.insert(part, Value::InlineTable(toml_edit::InlineTable::new()));
            }
            let child = t.get_mut(part).expect("inserted");
            set_in_value(child, parts, value, key, depth + 1)
        }
        Value::Array(a) => {
            let Ok(i) = part.parse::<usize>() else {
                return Err(format!(
                    "{} is a list: index it with a number, not `{part}`",
                    describe(parts, depth)
                ));
            };
            let len = a.len();
            if i >= len {
                return Err(format!(
                    "{} has {len} values; there is no index {i}",
                    describe(parts, depth)
                ));
            }
            if last {
                let old = a.get(i).expect("in range");
                let decor = old.decor().clone();
                let mut nv = value;
                *nv.decor_mut() = decor;
                a.replace(i, nv);
                return Ok(());
            }
            let child = a.get_mut(i).expect("in range");
            set_in_value(child, parts, value, key, depth + 1)
        }
        _ => Err(format!(
            "{} is a single value, so `{key}` does not exist",
            describe(parts, depth)
        )),
    }
}

/// Applies a point to the stripped scenario text and validates the result.
pub fn apply_point(
    base: &DocumentMut,
    spec: &SweepSpec,
    point: &Point,
    path: &Path,
) -> Result<(String, Scenario), ScenarioError> {
    let mut doc = base.clone();
    let params = spec.params();
    let labels = spec.labels(point);
    let describe_point = || {
        params
            .iter()
            .zip(&labels)
            .map(|(p, l)| format!("{} = {l}", p.key))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (p, &j) in params.iter().zip(&point.choice) {
        set_key(&mut doc, &p.key, p.values[j].clone()).map_err(|m| ScenarioError {
            file: path.to_path_buf(),
            line: Some(p.line),
            key: Some(format!("sweep.\"{}\"", p.key)),
            message: m,
        })?;
    }
    let text = doc.to_string();
    match Scenario::from_str_at(&text, path) {
        Ok(sc) => Ok((text, sc)),
        Err(inner) => {
            // Blame the swept key the error is about, or else the first one.
            let inner_key = inner.key.clone().unwrap_or_default();
            let blamed = params
                .iter()
                .find(|p| {
                    inner_key == p.key
                        || inner_key.starts_with(&format!("{}.", p.key))
                        || p.key.starts_with(&format!("{inner_key}."))
                })
                .or(params.first())
                .copied();
            let what = match &inner.key {
                Some(k) => format!("key `{k}`: {}", inner.message),
                None => inner.message.clone(),
            };
            Err(ScenarioError {
                file: path.to_path_buf(),
                line: blamed.map(|p| p.line),
                key: blamed.map(|p| format!("sweep.\"{}\"", p.key)),
                message: format!(
                    "at sweep point {} ({}): {what}",
                    point.index,
                    describe_point()
                ),
            })
        }
    }
}

/// Reads a scenario file, strips its `[sweep]` table and validates the rest.
pub fn load_base(
    path: &Path,
) -> Result<(String, String, Option<SweepSpec>, Scenario), ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        line: None,
        key: None,
        message: format!("cannot read the scenario: {e}"),
    })?;
    let (stripped, spec) = strip_sweep(&text, path)?;
    let sc = Scenario::from_str_at(&stripped, path)?;
    Ok((text, stripped, spec, sc))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"name = "t"
[run]
horizon = "60s"
[sweep]
"workload.arrivals.rate" = ["10/s", "20/s"]
"policy.0.keep_alive" = { from = 1, to = 3, step = 1, unit = "m" }
[sweep.zip]
"platform.faas.memory" = ["1024MB", "2048MB"]
"stage.0.service.mean" = ["100ms", "50ms"]
[workload]
arrivals = { kind = "poisson", rate = "5/s" }
[[stage]]
service = { kind = "exponential", mean = "100ms" }
[[policy]]
kind = "all-faas"
"#;

    #[test]
    fn strips_and_keeps_lines() {
        let (s, spec) = strip_sweep(BASE, Path::new("t.toml")).unwrap();
        assert_eq!(s.lines().count(), BASE.lines().count());
        assert!(!s.contains("sweep"));
        assert_eq!(s.lines().nth(10), BASE.lines().nth(10));
        let spec = spec.unwrap();
        assert_eq!(spec.axes.len(), 3);
        assert_eq!(spec.len(), 2 * 3 * 2);
        let keys: Vec<&str> = spec.params().iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "workload.arrivals.rate",
                "policy.0.keep_alive",
                "platform.faas.memory",
                "stage.0.service.mean"
            ]
        );
        assert_eq!(spec.params()[1].line, 6);
        // First axis slowest, zipped keys together.
        assert_eq!(
            spec.labels(&spec.point(0)),
            ["10/s", "1m", "1024MB", "100ms"]
        );
        assert_eq!(
            spec.labels(&spec.point(1)),
            ["10/s", "1m", "2048MB", "50ms"]
        );
        assert_eq!(
            spec.labels(&spec.point(11)),
            ["20/s", "3m", "2048MB", "50ms"]
        );
    }

    #[test]
    fn applies_points() {
        let path = Path::new("t.toml");
        let (s, spec) = strip_sweep(BASE, path).unwrap();
        let spec = spec.unwrap();
        let doc: DocumentMut = s.parse().unwrap();
        let (text, sc) = apply_point(&doc, &spec, &spec.point(11), path).unwrap();
        assert!(text.contains("rate = \"20/s\""), "{text}");
        assert!(text.contains("keep_alive = \"3m\""), "{text}");
        assert_eq!(sc.faas.memory_mb, 2048);
    }

    #[test]
    fn ranges() {
        let text = "[sweep]\na = { from = 0.1, to = 0.3, step = 0.1 }\nb = { from = 5, to = 1, step = -2 }\n";
        let (_, spec) = strip_sweep(text, Path::new("x.toml")).unwrap();
        let spec = spec.unwrap();
        let p = spec.params();
        let a: Vec<String> = (0..p[0].values.len()).map(|i| p[0].label(i)).collect();
        assert_eq!(a, ["0.1", "0.2", "0.3"]);
        let b: Vec<String> = (0..p[1].values.len()).map(|i| p[1].label(i)).collect();
        assert_eq!(b, ["5", "3", "1"]);
    }
}
