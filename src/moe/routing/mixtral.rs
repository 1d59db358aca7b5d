//! Reader of the recorded Mixtral-8x7B routing trace (`--format mixtral-routing`): JSON Lines,
//! one record per (token, layer):
//!
//! ```text
//! {"dataset": "humaneval", "problem_id": 0, "layer": 0, "experts": [6, 5],
//!  "gating_probs": [0.696, 0.304], "token_idx": 0}
//! ```
//!
//! `dataset` and `problem_id` name the sequence (sequences are numbered 0, 1, … in order of
//! first appearance), `token_idx` is the decode step (the token's position), `layer` the MoE
//! layer, `experts` the top-k ids in gating order and `gating_probs` their renormalised weights.
//! Other fields are ignored; records may come in any order.
//!
//! The recorded file misses some (token, layer) records (10,779 of 10,816 in the HumanEval
//! sample, all in the last tokens of each problem). Nothing is dropped silently:
//! - a token missing some layers is dropped by default ([`Incomplete::Drop`]) and listed in
//!   [`ReadReport::incomplete`], or is an error with [`Incomplete::Reject`];
//! - a record repeated with the same experts and weights is kept once and listed in
//!   [`ReadReport::duplicates`]; a repeat that disagrees is an error naming both lines.

use std::collections::BTreeMap;
use std::path::Path;

use super::json;
use super::{RoutingTrace, Shape, Token};
use crate::workload::trace::TraceError;

/// What to do with a token some of whose layers have no record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Incomplete {
    /// Drop the token and list it in the report.
    #[default]
    Drop,
    /// Fail, naming the token and its missing layers.
    Reject,
}

/// The dimensions expected and the handling of incomplete tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MixtralOptions {
    /// Expected dimensions (Mixtral-8x7B: 32 layers, 8 experts, top-2).
    pub shape: Shape,
    /// Tokens missing some layers.
    pub incomplete: Incomplete,
}

impl Default for MixtralOptions {
    fn default() -> Self {
        MixtralOptions {
            shape: Shape {
                layers: 32,
                experts: 8,
                top_k: 2,
            },
            incomplete: Incomplete::Drop,
        }
    }
}

/// A token dropped because some layers have no record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncompleteToken {
    /// Its sequence id.
    pub sequence: u32,
    /// Its position (`token_idx`).
    pub position: u32,
    /// The layers with no record.
    pub missing_layers: Vec<usize>,
}

/// A record that repeats an earlier one exactly (kept once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    /// The 1-based line of the repeat.
    pub line: u64,
    /// The 1-based line of the record it repeats.
    pub first_line: u64,
}

/// What the reader found besides the tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// Records read (lines that are not blank).
    pub records: u64,
    /// Sequence names (`dataset/problem_id`), indexed by sequence id.
    pub sequences: Vec<String>,
    /// Tokens dropped because some layers have no record.
    pub incomplete: Vec<IncompleteToken>,
    /// Records repeated exactly (kept once).
    pub duplicates: Vec<Duplicate>,
}

impl ReadReport {
    /// (token, layer) records missing in total.
    pub fn missing_records(&self) -> usize {
        self.incomplete.iter().map(|t| t.missing_layers.len()).sum()
    }
}

/// Reads the file at `path`; see the module docs.
pub fn read(path: &Path, opts: &MixtralOptions) -> Result<(RoutingTrace, ReadReport), TraceError> {
    let text = crate::workload::trace::textfile::read_whole(path)
        .map_err(|e| TraceError::new(path, None, e))?;
    parse(&text, path, opts)
}

struct Record {
    line: u64,
    experts: Vec<u16>,
    gates: Vec<f32>,
}

/// Parses `text` as the contents of `path` (named in errors); see the module docs.
pub fn parse(
    text: &str,
    path: &Path,
    opts: &MixtralOptions,
) -> Result<(RoutingTrace, ReadReport), TraceError> {
    let shape = opts.shape;
    let mut report = ReadReport::default();
    let mut names: BTreeMap<(String, u64), u32> = BTreeMap::new();
    // (sequence, position) → one slot per layer.
    let mut tokens: BTreeMap<(u32, u32), Vec<Option<Record>>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        report.records += 1;
        let err = |m: String| TraceError::new(path, Some(n), m);
        let m = json::object(line).map_err(err)?;
        let dataset =
            match json::field(&m, "dataset", "a string such as \"humaneval\"").map_err(err)? {
                serde_json::Value::String(s) => s.clone(),
                other => {
                    return Err(err(format!(
                        "field \"dataset\" is {}; allowed: a string such as \"humaneval\"",
                        json::kind(other)
                    )));
                }
            };
        let id_allowed = "a whole number from 0 to 4294967295";
        let problem = json::field(&m, "problem_id", id_allowed)
            .and_then(|v| json::uint(v, "problem_id", u32::MAX as u64, id_allowed))
            .map_err(err)?;
        let layer_allowed = format!("a whole number from 0 to {}", shape.layers - 1);
        let layer = json::field(&m, "layer", &layer_allowed)
            .and_then(|v| json::uint(v, "layer", shape.layers as u64 - 1, &layer_allowed))
            .map_err(err)? as usize;
        let position = json::field(&m, "token_idx", id_allowed)
            .and_then(|v| json::uint(v, "token_idx", u32::MAX as u64, id_allowed))
            .map_err(err)? as u32;
        let experts = json::field(&m, "experts", "a list of expert ids")
            .and_then(|v| json::experts(v, "experts", shape.top_k, shape.experts))
            .map_err(err)?;
        let gates = json::field(&m, "gating_probs", "a list of numbers from 0 to 1")
            .and_then(|v| json::gates(v, "gating_probs", shape.top_k))
            .map_err(err)?;
        let next = names.len() as u32;
        let sequence = *names.entry((dataset, problem)).or_insert(next);
        let slots = tokens
            .entry((sequence, position))
            .or_insert_with(|| (0..shape.layers).map(|_| None).collect());
        match &slots[layer] {
            None => {
                slots[layer] = Some(Record {
                    line: n,
                    experts,
                    gates,
                })
            }
            Some(first) if first.experts == experts && first.gates == gates => {
                report.duplicates.push(Duplicate {
                    line: n,
                    first_line: first.line,
                });
            }
            Some(first) => {
                return Err(err(format!(
                    "record for (token_idx {position}, layer {layer}) repeats line {} with \
                     different experts or gating_probs; allowed: each (token, layer) once, or \
                     repeated identically",
                    first.line
                )));
            }
        }
    }
    if report.records == 0 {
        return Err(TraceError::new(
            path,
            None,
            "the file holds no records; allowed: one JSON object per line",
        ));
    }
    let mut seq_names = vec![String::new(); names.len()];
    for ((d, p), s) in &names {
        seq_names[*s as usize] = format!("{d}/{p}");
    }
    report.sequences = seq_names;
    let mut out = Vec::with_capacity(tokens.len());
    for ((sequence, position), slots) in tokens {
        let missing: Vec<usize> = (0..shape.layers).filter(|&l| slots[l].is_none()).collect();
        if !missing.is_empty() {
            if opts.incomplete == Incomplete::Reject {
                return Err(TraceError::new(
                    path,
                    None,
                    format!(
                        "sequence {} token_idx {position} has no record for layers {missing:?}; \
                         allowed: a record for every layer 0 to {} (or drop such tokens)",
                        report.sequences[sequence as usize],
                        shape.layers - 1
                    ),
                ));
            }
            report.incomplete.push(IncompleteToken {
                sequence,
                position,
                missing_layers: missing,
            });
            continue;
        }
        let mut experts = Vec::with_capacity(shape.layers * shape.top_k);
        let mut gates = Vec::with_capacity(shape.layers * shape.top_k);
        for r in slots.into_iter().flatten() {
            experts.extend_from_slice(&r.experts);
            gates.extend_from_slice(&r.gates);
        }
        out.push(Token::new(
            sequence,
            position,
            None,
            shape.top_k,
            experts,
            gates,
        ));
    }
    if out.is_empty() {
        return Err(TraceError::new(
            path,
            None,
            format!(
                "no token has a record for every layer 0 to {}; allowed: at least one complete \
                 token",
                shape.layers - 1
            ),
        ));
    }
    let trace =
        RoutingTrace::new(shape, out).map_err(|e| TraceError::new(path, None, e.to_string()))?;
    Ok((trace, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> MixtralOptions {
        MixtralOptions {
            shape: Shape::new(2, 4, 2).unwrap(),
            incomplete: Incomplete::Drop,
        }
    }

    fn rec(p: u32, l: u32, t: u32, ex: [u16; 2]) -> String {
        format!(
            "{{\"dataset\": \"d\", \"problem_id\": {p}, \"layer\": {l}, \"experts\": [{}, {}], \
             \"gating_probs\": [0.6, 0.4], \"token_idx\": {t}}}",
            ex[0], ex[1]
        )
    }

    #[test]
    fn records_group_into_tokens_and_gaps_are_reported() {
        let text = [
            rec(0, 1, 0, [2, 3]),
            rec(0, 0, 0, [0, 1]),
            rec(0, 0, 1, [1, 0]),
            rec(0, 0, 0, [0, 1]),
            rec(1, 0, 0, [3, 2]),
            rec(1, 1, 0, [1, 2]),
        ]
        .join("\n");
        let (t, r) = parse(&text, Path::new("m.jsonl"), &opts()).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.tokens()[0].experts(0), &[0, 1]);
        assert_eq!(t.tokens()[0].experts(1), &[2, 3]);
        assert_eq!(t.tokens()[1].sequence, 1);
        assert_eq!(r.records, 6);
        assert_eq!(
            r.incomplete,
            vec![IncompleteToken {
                sequence: 0,
                position: 1,
                missing_layers: vec![1]
            }]
        );
        assert_eq!(
            r.duplicates,
            vec![Duplicate {
                line: 4,
                first_line: 2
            }]
        );
        let strict = MixtralOptions {
            incomplete: Incomplete::Reject,
            ..opts()
        };
        let e = parse(&text, Path::new("m.jsonl"), &strict).unwrap_err();
        assert!(e.to_string().contains("no record for layers [1]"), "{e}");
    }

    #[test]
    fn conflicting_repeat_names_both_lines() {
        let text = [rec(0, 0, 0, [0, 1]), rec(0, 0, 0, [1, 0])].join("\n");
        let e = parse(&text, Path::new("m.jsonl"), &opts()).unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(e.message().contains("repeats line 1"), "{e}");
    }
}
