//! Our own routing-trace format (`--format routing`): JSON Lines, a header line and then one
//! line per token, in (sequence, position) order.
//!
//! ```text
//! {"infersim_routing": 1, "layers": 2, "experts": 8, "top_k": 2}
//! {"sequence": 0, "position": 0, "token_id": 17, "experts": [[6, 5], [1, 3]]}
//! {"sequence": 0, "position": 1, "experts": [[5, 3], [1, 0]], "gates": [[0.8, 0.2], [0.6, 0.4]]}
//! ```
//!
//! - header: `infersim_routing` is the format version (1), then the dimensions;
//! - `sequence`, `position`: whole numbers; `token_id` optional (a whole number);
//! - `experts`: one list per layer (`layers` lists), each of `top_k` distinct ids in gating
//!   order, from 0 to `experts` − 1;
//! - `gates`: optional, the matching gate weights (numbers from 0 to 1).
//!
//! Unknown fields are errors (so a typo is not silently ignored).

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::json;
use super::{RoutingTrace, Shape, Token};
use crate::workload::trace::TraceError;

/// The format version written in the header.
pub const VERSION: u64 = 1;

/// Writes `trace` in this format (gate weights with 4 decimals).
pub fn write(trace: &RoutingTrace) -> String {
    let s = trace.shape();
    let mut out = format!(
        "{{\"infersim_routing\": {VERSION}, \"layers\": {}, \"experts\": {}, \"top_k\": {}}}\n",
        s.layers, s.experts, s.top_k
    );
    for t in trace.tokens() {
        let _ = write!(
            out,
            "{{\"sequence\": {}, \"position\": {}",
            t.sequence, t.position
        );
        if let Some(id) = t.token_id {
            let _ = write!(out, ", \"token_id\": {id}");
        }
        out.push_str(", \"experts\": [");
        for l in 0..s.layers {
            if l > 0 {
                out.push(',');
            }
            out.push('[');
            for (j, e) in t.experts(l).iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{e}");
            }
            out.push(']');
        }
        out.push(']');
        if t.has_gates() {
            out.push_str(", \"gates\": [");
            for l in 0..s.layers {
                if l > 0 {
                    out.push(',');
                }
                out.push('[');
                for (j, g) in t.gates(l).unwrap_or(&[]).iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{g:.4}");
                }
                out.push(']');
            }
            out.push(']');
        }
        out.push_str("}\n");
    }
    out
}

/// Reads the file at `path`.
pub fn read(path: &Path) -> Result<RoutingTrace, TraceError> {
    let text = crate::workload::trace::textfile::read_whole(path)
        .map_err(|e| TraceError::new(path, None, e))?;
    parse(&text, path)
}

/// Parses `text` as the contents of `path` (named in errors).
pub fn parse(text: &str, path: &Path) -> Result<RoutingTrace, TraceError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((h, header)) = lines.next() else {
        return Err(TraceError::new(
            path,
            None,
            "the file is empty; allowed: a header line {\"infersim_routing\": 1, \"layers\": L, \
             \"experts\": E, \"top_k\": K} and one line per token",
        ));
    };
    let shape = parse_header(header).map_err(|m| TraceError::new(path, Some(h as u64 + 1), m))?;
    let mut tokens = Vec::new();
    let mut last: Option<(u32, u32, u64)> = None;
    for (i, line) in lines {
        let n = i as u64 + 1;
        let t = parse_token(line, shape).map_err(|m| TraceError::new(path, Some(n), m))?;
        if let Some((s, p, at)) = last
            && (s, p) >= (t.sequence, t.position)
        {
            return Err(TraceError::new(
                path,
                Some(n),
                format!(
                    "token (sequence {}, position {}) comes after (sequence {s}, position {p}) on \
                     line {at}; allowed: tokens in increasing (sequence, position) order, each once",
                    t.sequence, t.position
                ),
            ));
        }
        last = Some((t.sequence, t.position, n));
        tokens.push(t);
    }
    if tokens.is_empty() {
        return Err(TraceError::new(
            path,
            None,
            "the file has a header but no tokens; allowed: at least one token line",
        ));
    }
    RoutingTrace::new(shape, tokens).map_err(|e| TraceError::new(path, None, e.to_string()))
}

fn parse_header(line: &str) -> Result<Shape, String> {
    let m = json::object(line).map_err(|e| format!("header: {e}"))?;
    let version = json::field(&m, "infersim_routing", "the format version 1")
        .map_err(|e| format!("header: {e}"))?;
    if version.as_u64() != Some(VERSION) {
        return Err(format!(
            "header: field \"infersim_routing\" is {}; allowed: {VERSION}",
            json::kind(version)
        ));
    }
    for k in m.keys() {
        if !["infersim_routing", "layers", "experts", "top_k"].contains(&k.as_str()) {
            return Err(format!(
                "header: unknown field \"{k}\"; allowed: infersim_routing, layers, experts, top_k"
            ));
        }
    }
    let dim = |name: &str| {
        let allowed = "a whole number from 1 to 65536";
        json::field(&m, name, allowed)
            .and_then(|v| json::uint(v, name, 1 << 16, allowed))
            .map(|x| x as usize)
            .map_err(|e| format!("header: {e}"))
    };
    Shape::new(dim("layers")?, dim("experts")?, dim("top_k")?).map_err(|e| format!("header: {e}"))
}

fn parse_token(line: &str, shape: Shape) -> Result<Token, String> {
    let m = json::object(line)?;
    for k in m.keys() {
        if !["sequence", "position", "token_id", "experts", "gates"].contains(&k.as_str()) {
            return Err(format!(
                "unknown field \"{k}\"; allowed: sequence, position, token_id, experts, gates"
            ));
        }
    }
    let allowed = "a whole number from 0 to 4294967295";
    let uint = |name: &str| {
        json::field(&m, name, allowed).and_then(|v| json::uint(v, name, u32::MAX as u64, allowed))
    };
    let sequence = uint("sequence")? as u32;
    let position = uint("position")? as u32;
    let token_id = match m.get("token_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(json::uint(v, "token_id", u32::MAX as u64, allowed)? as u32),
    };
    let per_layer = |name: &str| -> Result<Option<&Vec<Value>>, String> {
        match m.get(name) {
            None => Ok(None),
            Some(Value::Array(a)) if a.len() == shape.layers => Ok(Some(a)),
            Some(v) => Err(format!(
                "field \"{name}\" is {}; allowed: a list of {} lists (one per layer)",
                json::kind(v),
                shape.layers
            )),
        }
    };
    let Some(layers) = per_layer("experts")? else {
        return Err(format!(
            "field \"experts\" is missing; allowed: a list of {} lists (one per layer)",
            shape.layers
        ));
    };
    let mut experts = Vec::with_capacity(shape.layers * shape.top_k);
    for (l, v) in layers.iter().enumerate() {
        experts.extend(json::experts(
            v,
            &format!("experts[{l}]"),
            shape.top_k,
            shape.experts,
        )?);
    }
    let mut gates = Vec::new();
    if let Some(layers) = per_layer("gates")? {
        for (l, v) in layers.iter().enumerate() {
            gates.extend(json::gates(v, &format!("gates[{l}]"), shape.top_k)?);
        }
    }
    Ok(Token::new(
        sequence,
        position,
        token_id,
        shape.top_k,
        experts,
        gates,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_parse_is_the_identity() {
        let shape = Shape::new(2, 4, 2).unwrap();
        let t = RoutingTrace::new(
            shape,
            vec![
                Token::new(0, 0, Some(7), 2, vec![0, 1, 3, 2], vec![]),
                Token::new(0, 1, None, 2, vec![1, 0, 2, 3], vec![0.75, 0.25, 0.5, 0.5]),
            ],
        )
        .unwrap();
        let text = write(&t);
        assert_eq!(parse(&text, Path::new("x.jsonl")).unwrap(), t);
    }

    #[test]
    fn errors_name_line_field_and_what_is_allowed() {
        let head = "{\"infersim_routing\": 1, \"layers\": 1, \"experts\": 4, \"top_k\": 2}\n";
        let case = |body: &str| {
            parse(&format!("{head}{body}"), Path::new("x.jsonl"))
                .unwrap_err()
                .to_string()
        };
        let e = case("{\"sequence\": 0, \"position\": 0, \"experts\": [[0, 9]]}");
        assert!(
            e.starts_with("x.jsonl: line 2: field \"experts[0]\""),
            "{e}"
        );
        assert!(e.contains("from 0 to 3"), "{e}");
        let e = case("{\"sequence\": \"a\", \"position\": 0, \"experts\": [[0, 1]]}");
        assert!(e.contains("field \"sequence\" is the string \"a\""), "{e}");
        let e = case("{\"sequence\": 0, \"position\": 0, \"expert\": [[0, 1]]}");
        assert!(e.contains("unknown field \"expert\""), "{e}");
        let e = parse("", Path::new("x.jsonl")).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
    }
}
