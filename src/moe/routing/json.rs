//! Field checks shared by the JSON Lines readers: every error names the field, what it holds
//! and what is allowed, in words.

use serde_json::{Map, Value};

/// What a JSON value is, in words.
pub(crate) fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a long string".into(),
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(a) => format!("a list of {} items", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

/// Parses one line as a JSON object.
pub(crate) fn object(line: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(format!(
            "the line is {}; allowed: a JSON object {{...}}",
            kind(&other)
        )),
        Err(e) => Err(format!("the line is not valid JSON ({e})")),
    }
}

/// A required field.
pub(crate) fn field<'a>(
    m: &'a Map<String, Value>,
    name: &str,
    allowed: &str,
) -> Result<&'a Value, String> {
    m.get(name)
        .ok_or_else(|| format!("field \"{name}\" is missing; allowed: {allowed}"))
}

/// A whole number in `0..=max` (`allowed` says so in words).
pub(crate) fn uint(v: &Value, name: &str, max: u64, allowed: &str) -> Result<u64, String> {
    match v.as_u64() {
        Some(x) if x <= max => Ok(x),
        _ => Err(format!(
            "field \"{name}\" is {}; allowed: {allowed}",
            kind(v)
        )),
    }
}

/// The items of `v`, a list of exactly `k` `what`s; an error saying what is `allowed` otherwise.
fn list_of<'a>(
    v: &'a Value,
    name: &str,
    k: usize,
    what: &str,
    allowed: &str,
) -> Result<&'a Vec<Value>, String> {
    let Some(items) = v.as_array() else {
        return Err(format!(
            "field \"{name}\" is {}; allowed: {allowed}",
            kind(v)
        ));
    };
    if items.len() != k {
        return Err(format!(
            "field \"{name}\" has {} {what}; allowed: {allowed}",
            items.len()
        ));
    }
    Ok(items)
}

/// A list of exactly `k` distinct expert ids below `experts`.
pub(crate) fn experts(v: &Value, name: &str, k: usize, experts: usize) -> Result<Vec<u16>, String> {
    let allowed = format!(
        "a list of {k} distinct expert ids, whole numbers from 0 to {}",
        experts - 1
    );
    let items = list_of(v, name, k, "ids", &allowed)?;
    let mut out = Vec::with_capacity(k);
    for x in items {
        match x.as_u64() {
            Some(e) if (e as usize) < experts => {
                if out.contains(&(e as u16)) {
                    return Err(format!(
                        "field \"{name}\" names expert {e} twice; allowed: {allowed}"
                    ));
                }
                out.push(e as u16);
            }
            Some(e) => {
                return Err(format!(
                    "field \"{name}\": expert id {e} is out of range; allowed: {allowed}"
                ));
            }
            None => {
                return Err(format!(
                    "field \"{name}\" holds {}; allowed: {allowed}",
                    kind(x)
                ));
            }
        }
    }
    Ok(out)
}

/// A list of exactly `k` gate weights in [0, 1].
pub(crate) fn gates(v: &Value, name: &str, k: usize) -> Result<Vec<f32>, String> {
    let allowed = format!("a list of {k} numbers from 0 to 1");
    let items = list_of(v, name, k, "numbers", &allowed)?;
    items
        .iter()
        .map(|x| match x.as_f64() {
            Some(g) if (0.0..=1.0).contains(&g) => Ok(g as f32),
            _ => Err(format!(
                "field \"{name}\" holds {}; allowed: {allowed}",
                kind(x)
            )),
        })
        .collect()
}
