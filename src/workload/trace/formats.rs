//! Readers of the line-oriented formats: per-second counts, Azure LLM 2023 CSV, Mooncake JSONL,
//! generic CSV and the pacslab Lambda measurements. Each has a `scan` (at load: checks every
//! line, order and emptiness) and a lazy stream (per run).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Arrival, Class, Spread, TokenCost, Window, spread_bin};
use crate::kernel::{SimDuration, SimRng};

fn open(path: &Path) -> Result<BufReader<File>, String> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| format!("cannot read trace {}: {e}", path.display()))
}

fn unit_scale(unit: &str, what: &str) -> Result<f64, String> {
    Ok(match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        other => {
            return Err(format!(
                "unknown {what} unit \"{other}\"; allowed: ns, us, ms, s"
            ));
        }
    })
}

fn out_of_order(path: &Path, line: usize) -> String {
    format!(
        "{}: line {line}: the trace goes back in time; traces must be sorted by time (e.g. `sort -t, -k1,1n`)",
        path.display()
    )
}

// ----- per-second counts -------------------------------------------------------------------

fn parse_count(line: &str, path: &Path, n: usize) -> Result<Option<u64>, String> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    t.parse::<u64>().map(Some).map_err(|_| {
        format!(
            "{}: line {n}: \"{t}\" is not a non-negative integer count",
            path.display()
        )
    })
}

/// Checks a per-second count file; returns the arrivals in the window.
pub fn scan_counts(path: &Path, w: &Window) -> Result<u64, String> {
    let mut total = 0;
    let mut second = 0u64;
    for (i, line) in open(path)?.lines().enumerate() {
        let line = line.map_err(|e| format!("{}: line {}: {e}", path.display(), i + 1))?;
        if let Some(c) = parse_count(&line, path, i + 1)? {
            let from = second * 1_000_000_000;
            if from + 1_000_000_000 > w.start && from < w.end {
                total += c;
            }
            second += 1;
        }
    }
    Ok(total)
}

/// Streams a per-second count file.
pub fn counts_stream(
    path: &Path,
    spread: Spread,
    w: Window,
    mut rng: SimRng,
) -> Box<dyn Iterator<Item = Arrival> + Send> {
    let Ok(reader) = open(path) else {
        return Box::new(std::iter::empty());
    };
    let mut lines = reader.lines();
    let mut second = 0u64;
    let mut buf: Vec<u64> = Vec::new();
    let mut pos = 0;
    Box::new(std::iter::from_fn(move || {
        loop {
            if pos < buf.len() {
                let t = buf[pos];
                pos += 1;
                if let Some(time) = w.map(t) {
                    return Some(Arrival {
                        time,
                        class: 0,
                        service: None,
                    });
                }
                continue;
            }
            let line = lines.next()?.ok()?;
            let Ok(Some(c)) = parse_count(&line, Path::new(""), 0) else {
                continue;
            };
            buf.clear();
            pos = 0;
            let from = second * 1_000_000_000;
            second += 1;
            if from >= w.end {
                return None;
            }
            spread_bin(spread, c, from, 1_000_000_000, &mut rng, &mut buf);
            buf.sort_unstable();
        }
    }))
}

// ----- Azure LLM 2023 ---------------------------------------------------------------------

fn parse_llm(rec: &csv::StringRecord, path: &Path, line: usize) -> Result<(i64, u64, u64), String> {
    let ts = rec.get(0).unwrap_or("").trim();
    let t = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.f").map_err(|_| {
        format!(
            "{}: line {line}: TIMESTAMP \"{ts}\" is not \"YYYY-MM-DD hh:mm:ss.fffffff\"",
            path.display()
        )
    })?;
    let ns = t
        .and_utc()
        .timestamp_nanos_opt()
        .ok_or_else(|| format!("{}: line {line}: timestamp out of range", path.display()))?;
    let num = |k: usize, name: &str| -> Result<u64, String> {
        let f = rec.get(k).unwrap_or("").trim();
        f.parse::<u64>().map_err(|_| {
            format!(
                "{}: line {line}: {name} holds \"{f}\", not a token count",
                path.display()
            )
        })
    };
    Ok((ns, num(1, "ContextTokens")?, num(2, "GeneratedTokens")?))
}

fn llm_reader(path: &Path) -> Result<csv::Reader<File>, String> {
    let mut rdr = csv::Reader::from_path(path)
        .map_err(|e| format!("cannot read trace {}: {e}", path.display()))?;
    let h = rdr
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    if h.len() < 3 || &h[0] != "TIMESTAMP" {
        return Err(format!(
            "{}: expected the header TIMESTAMP,ContextTokens,GeneratedTokens, found \"{}\"",
            path.display(),
            h.iter().collect::<Vec<_>>().join(",")
        ));
    }
    Ok(rdr)
}

/// Checks an Azure LLM CSV.
pub fn scan_llm_csv(path: &Path, w: &Window) -> Result<u64, String> {
    let mut rdr = llm_reader(path)?;
    let mut first = None;
    let mut last = i64::MIN;
    let mut n = 0;
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("{}: line {line}: {e}", path.display()))?;
        let (t, ..) = parse_llm(&rec, path, line)?;
        if t < last {
            return Err(out_of_order(path, line));
        }
        last = t;
        let t0 = *first.get_or_insert(t);
        if w.map((t - t0) as u64).is_some() {
            n += 1;
        }
    }
    Ok(n)
}

/// Streams an Azure LLM CSV.
pub fn llm_stream(
    path: &Path,
    cost: TokenCost,
    w: Window,
) -> Box<dyn Iterator<Item = Arrival> + Send> {
    let Ok(rdr) = llm_reader(path) else {
        return Box::new(std::iter::empty());
    };
    let path = path.to_path_buf();
    let mut first = None;
    Box::new(rdr.into_records().filter_map(move |rec| {
        let (t, input, output) = parse_llm(&rec.ok()?, &path, 0).ok()?;
        let t0 = *first.get_or_insert(t);
        Some(Arrival {
            time: w.map((t - t0) as u64)?,
            class: 0,
            service: Some(cost.service(input, output)),
        })
    }))
}

// ----- Mooncake JSONL ---------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct MooncakeRecord {
    timestamp: u64,
    input_length: u64,
    output_length: u64,
}

fn parse_mooncake(line: &str, path: &Path, n: usize) -> Result<Option<MooncakeRecord>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(line).map(Some).map_err(|e| {
        format!(
            "{}: line {n}: {e} (expected {{\"timestamp\": ms, \"input_length\": n, \"output_length\": n}})",
            path.display()
        )
    })
}

/// Checks a Mooncake JSONL trace.
pub fn scan_mooncake(path: &Path, w: &Window) -> Result<u64, String> {
    let mut last = 0;
    let mut n = 0;
    for (i, line) in open(path)?.lines().enumerate() {
        let line = line.map_err(|e| format!("{}: line {}: {e}", path.display(), i + 1))?;
        let Some(r) = parse_mooncake(&line, path, i + 1)? else {
            continue;
        };
        if r.timestamp < last {
            return Err(out_of_order(path, i + 1));
        }
        last = r.timestamp;
        if w.map(r.timestamp * 1_000_000).is_some() {
            n += 1;
        }
    }
    Ok(n)
}

/// Streams a Mooncake JSONL trace (timestamps are ms from the start of the trace).
pub fn mooncake_stream(
    path: &Path,
    cost: TokenCost,
    w: Window,
) -> Box<dyn Iterator<Item = Arrival> + Send> {
    let Ok(reader) = open(path) else {
        return Box::new(std::iter::empty());
    };
    Box::new(
        reader
            .lines()
            .map_while(Result::ok)
            .filter_map(move |line| {
                let r = parse_mooncake(&line, Path::new(""), 0).ok()??;
                Some(Arrival {
                    time: w.map(r.timestamp * 1_000_000)?,
                    class: 0,
                    service: Some(cost.service(r.input_length, r.output_length)),
                })
            }),
    )
}

// ----- generic CSV --------------------------------------------------------------------------

/// A checked generic CSV trace.
#[derive(Debug)]
pub struct CsvConfig {
    path: PathBuf,
    time: usize,
    time_scale: f64,
    function: Option<usize>,
    duration: Option<(usize, f64)>,
    class_of: HashMap<String, u32>,
    /// Functions found (in order of first appearance).
    pub classes: Vec<Class>,
    /// Records in the window.
    pub records: u64,
}

impl CsvConfig {
    /// Checks the file and collects its functions.
    #[allow(clippy::too_many_arguments)]
    pub fn scan(
        path: &Path,
        time_column: &str,
        time_unit: &str,
        function_column: Option<&str>,
        duration_column: Option<&str>,
        duration_unit: &str,
        memory_column: Option<&str>,
        w: &Window,
    ) -> Result<Self, String> {
        let time_scale = unit_scale(time_unit, "time")?;
        let mut rdr = csv::Reader::from_path(path)
            .map_err(|e| format!("cannot read trace {}: {e}", path.display()))?;
        let headers = rdr
            .headers()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| {
                    format!(
                        "{}: no column \"{name}\"; columns are: {}",
                        path.display(),
                        headers.iter().collect::<Vec<_>>().join(", ")
                    )
                })
        };
        let time = col(time_column)?;
        let function = function_column.map(col).transpose()?;
        let duration = match duration_column {
            Some(c) => Some((col(c)?, unit_scale(duration_unit, "duration")?)),
            None => None,
        };
        let memory = memory_column.map(col).transpose()?;
        let mut cfg = CsvConfig {
            path: path.to_path_buf(),
            time,
            time_scale,
            function,
            duration,
            class_of: HashMap::new(),
            classes: Vec::new(),
            records: 0,
        };
        let mut last = f64::NEG_INFINITY;
        let mut first = None;
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| format!("{}: line {line}: {e}", path.display()))?;
            let num = |k: usize, what: &str| -> Result<f64, String> {
                let f = rec.get(k).unwrap_or("").trim();
                f.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        format!(
                            "{}: line {line}: {what} \"{f}\" is not a number",
                            path.display()
                        )
                    })
            };
            let t = num(time, "time")?;
            if t < last {
                return Err(out_of_order(path, line));
            }
            last = t;
            if let Some((d, _)) = duration
                && num(d, "duration")? < 0.0
            {
                return Err(format!(
                    "{}: line {line}: negative duration",
                    path.display()
                ));
            }
            if let Some(f) = function {
                let name = rec.get(f).unwrap_or("").to_string();
                if !cfg.class_of.contains_key(&name) {
                    let memory_mb = match memory {
                        Some(m) => Some((num(m, "memory")?.round() as u32).clamp(128, 10_240)),
                        None => None,
                    };
                    cfg.class_of.insert(name.clone(), cfg.classes.len() as u32);
                    cfg.classes.push(Class { name, memory_mb });
                }
            }
            let t0 = *first.get_or_insert(t);
            if w.map(((t - t0) * time_scale) as u64).is_some() {
                cfg.records += 1;
            }
        }
        if cfg.classes.is_empty() {
            cfg.classes.push(super::single());
        }
        Ok(cfg)
    }

    /// True when a duration column was given.
    pub fn has_duration(&self) -> bool {
        self.duration.is_some()
    }
}

/// Streams a generic CSV trace.
pub fn csv_stream(cfg: Arc<CsvConfig>, w: Window) -> Box<dyn Iterator<Item = Arrival> + Send> {
    let Ok(rdr) = csv::Reader::from_path(&cfg.path) else {
        return Box::new(std::iter::empty());
    };
    let mut first = None;
    Box::new(rdr.into_records().filter_map(move |rec| {
        let rec = rec.ok()?;
        let t: f64 = rec.get(cfg.time)?.trim().parse().ok()?;
        let t0 = *first.get_or_insert(t);
        let time = w.map(((t - t0) * cfg.time_scale) as u64)?;
        let class = match cfg.function {
            Some(f) => *cfg.class_of.get(rec.get(f)?)?,
            None => 0,
        };
        let service = match cfg.duration {
            Some((d, scale)) => Some(SimDuration(
                (rec.get(d)?.trim().parse::<f64>().ok()? * scale) as u64,
            )),
            None => None,
        };
        Some(Arrival {
            time,
            class,
            service,
        })
    }))
}

// ----- pacslab ------------------------------------------------------------------------------

/// Loads the client start times of a pacslab measurement file, sorted, as ns offsets from the
/// first.
pub fn load_pacslab(path: &Path) -> Result<Vec<u64>, String> {
    let mut rdr = csv::Reader::from_path(path)
        .map_err(|e| format!("cannot read trace {}: {e}", path.display()))?;
    let headers = rdr
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let c = headers
        .iter()
        .position(|h| h == "client_start_time")
        .ok_or_else(|| {
            format!(
                "{}: no column \"client_start_time\" (is this a pacslab results file?)",
                path.display()
            )
        })?;
    let mut ts = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("{}: line {}: {e}", path.display(), i + 2))?;
        let f = rec.get(c).unwrap_or("").trim();
        let v: f64 = f
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                format!(
                    "{}: line {}: client_start_time \"{f}\" is not a number",
                    path.display(),
                    i + 2
                )
            })?;
        ts.push(v);
    }
    // Requests were issued by concurrent clients: sort once up front.
    ts.sort_by(f64::total_cmp);
    let t0 = ts.first().copied().unwrap_or(0.0);
    Ok(ts
        .into_iter()
        .map(|t| ((t - t0) * 1e9).round() as u64)
        .collect())
}
