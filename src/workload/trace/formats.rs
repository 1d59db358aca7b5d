//! Readers of the line-oriented formats: per-second counts, Azure LLM 2023 CSV, Mooncake JSONL,
//! generic CSV and the pacslab Lambda measurements. Each has a `scan` (at load: checks every
//! line, order and emptiness) and a lazy stream (per run). A stream checks each line as the scan
//! does: a line it cannot read or parse (the file changed since the scan, or cannot be read any
//! more) ends it with a [`TraceError`] naming the file and the line.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::textfile::TraceFile;
use super::{Arrival, ArrivalStream, Class, Spread, TokenCost, TraceError, Window, spread_bin};
use crate::kernel::{SimDuration, SimRng};

fn open(path: &Path) -> Result<BufReader<TraceFile>, String> {
    TraceFile::open(path)
        .map(BufReader::new)
        .map_err(|e| format!("cannot read trace {}: {e}", path.display()))
}

/// A stream that fails at once: the trace cannot be opened (or its header read) at run time.
fn failed(e: TraceError) -> ArrivalStream {
    Box::new(std::iter::once(Err(e)))
}

/// Opens a trace for a stream.
fn open_stream(path: &Path) -> Result<BufReader<TraceFile>, TraceError> {
    TraceFile::open(path)
        .map(BufReader::new)
        .map_err(|e| TraceError::new(path, None, format!("cannot open the trace: {e}")))
}

/// What is wrong with a line that could not be read.
fn read_problem(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::InvalidData {
        "not valid UTF-8 text (a trace must be a text file in UTF-8 or ASCII)".into()
    } else {
        format!("cannot read the line: {e}")
    }
}

/// What is wrong with a CSV line that could not be read, in words.
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "field {} is not valid UTF-8 text (a trace must be a text file in UTF-8 or ASCII)",
            err.field() + 1
        ),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "{len} field{}, but the header has {expected_len} (every line needs one field per column)",
            if *len == 1 { "" } else { "s" }
        ),
        csv::ErrorKind::Io(e) => format!("cannot read the line: {e}"),
        _ => e.to_string(),
    }
}

/// The header of a CSV trace (line 1); a header that cannot be read is an error naming it.
fn csv_headers(
    path: &Path,
    rdr: &mut csv::Reader<TraceFile>,
) -> Result<csv::StringRecord, TraceError> {
    rdr.headers()
        .cloned()
        .map_err(|e| TraceError::new(path, Some(1), csv_problem(&e)))
}

/// The records of a CSV trace (after its header) with their 1-based lines; a record that cannot
/// be read is an error naming its line, and ends the records.
///
/// A record's line is the last one it spans (a quoted field may span several): the reader's
/// position before a record is just after the previous record, on the blank lines it then skips
/// if there are any, so the position after the record (less its line break) is taken.
fn csv_records(
    path: &Path,
    mut rdr: csv::Reader<TraceFile>,
) -> impl Iterator<Item = Result<(u64, csv::StringRecord), TraceError>> + Send + use<> {
    let path = path.to_path_buf();
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let start = rdr.position().line();
        let mut rec = csv::StringRecord::new();
        let read = rdr.read_record(&mut rec);
        // After a record ending in a line break the reader is on the next line (not so for a
        // last line without one).
        let line = start.max(rdr.position().line().saturating_sub(1));
        match read {
            Ok(true) => Some(Ok((line, rec))),
            Ok(false) => None,
            Err(e) => {
                done = true;
                Some(Err(TraceError::new(&path, Some(line), csv_problem(&e))))
            }
        }
    })
}

/// The lines of a text trace, numbered from 1; a line that cannot be read (not UTF-8, an I/O
/// error) is an error naming it.
struct Lines {
    path: PathBuf,
    lines: std::io::Lines<BufReader<TraceFile>>,
    n: u64,
    failed: bool,
}

impl Lines {
    fn new(path: &Path, reader: BufReader<TraceFile>) -> Self {
        Lines {
            path: path.to_path_buf(),
            lines: reader.lines(),
            n: 0,
            failed: false,
        }
    }

    /// The next line and its number; after an error, none (a reader that failed may fail
    /// again at once, as a line too long does).
    fn next(&mut self) -> Option<Result<(u64, String), TraceError>> {
        if self.failed {
            return None;
        }
        let line = self.lines.next()?;
        self.n += 1;
        self.failed = line.is_err();
        Some(
            line.map(|l| (self.n, l))
                .map_err(|e| self.error(self.n, read_problem(&e))),
        )
    }

    fn error(&self, line: u64, message: String) -> TraceError {
        TraceError::new(&self.path, Some(line), message)
    }
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

const OUT_OF_ORDER: &str =
    "the trace goes back in time; traces must be sorted by time (e.g. `sort -t, -k1,1n`)";

fn out_of_order(path: &Path, line: u64) -> String {
    TraceError::new(path, Some(line), OUT_OF_ORDER).to_string()
}

// ----- per-second counts -------------------------------------------------------------------

/// A line of counts: `None` for a blank line or a comment; the error says what is wrong.
fn parse_count(line: &str) -> Result<Option<u64>, String> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    t.parse::<u64>()
        .map(Some)
        .map_err(|_| format!("\"{t}\" is not a non-negative integer count"))
}

/// Checks a per-second count file; returns the arrivals in the window.
pub fn scan_counts(path: &Path, w: &Window) -> Result<u64, String> {
    let mut total = 0;
    let mut second = 0u64;
    let mut lines = Lines::new(path, open(path)?);
    while let Some(line) = lines.next() {
        let (n, line) = line.map_err(|e| e.to_string())?;
        if let Some(c) = parse_count(&line).map_err(|m| lines.error(n, m).to_string())? {
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
pub fn counts_stream(path: &Path, spread: Spread, w: Window, mut rng: SimRng) -> ArrivalStream {
    let mut lines = match open_stream(path) {
        Ok(reader) => Lines::new(path, reader),
        Err(e) => return failed(e),
    };
    let mut second = 0u64;
    let mut buf: Vec<u64> = Vec::new();
    let mut pos = 0;
    let mut done = false;
    Box::new(std::iter::from_fn(move || {
        loop {
            if pos < buf.len() {
                let t = buf[pos];
                pos += 1;
                if let Some(time) = w.map(t) {
                    return Some(Ok(Arrival {
                        time,
                        class: 0,
                        service: None,
                    }));
                }
                continue;
            }
            if done {
                return None;
            }
            let parsed = match lines.next()? {
                Ok((n, line)) => parse_count(&line).map_err(|m| lines.error(n, m)),
                Err(e) => Err(e),
            };
            let c = match parsed {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            };
            buf.clear();
            pos = 0;
            let from = second * 1_000_000_000;
            second += 1;
            if from >= w.end {
                done = true;
                return None;
            }
            spread_bin(spread, c, from, 1_000_000_000, &mut rng, &mut buf);
            buf.sort_unstable();
        }
    }))
}

// ----- Azure LLM 2023 ---------------------------------------------------------------------

/// A record of the Azure LLM CSV: (time in ns, context tokens, generated tokens); the error says
/// what is wrong.
fn parse_llm(rec: &csv::StringRecord) -> Result<(i64, u64, u64), String> {
    let ts = rec.get(0).unwrap_or("").trim();
    let t = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|_| format!("TIMESTAMP \"{ts}\" is not \"YYYY-MM-DD hh:mm:ss.fffffff\""))?;
    let ns = t.and_utc().timestamp_nanos_opt().ok_or_else(|| {
        format!("TIMESTAMP \"{ts}\" is out of range (years 1677 to 2262 are allowed)")
    })?;
    let num = |k: usize, name: &str| -> Result<u64, String> {
        let f = rec.get(k).unwrap_or("").trim();
        f.parse::<u64>()
            .map_err(|_| format!("{name} holds \"{f}\", not a token count (a whole number ≥ 0)"))
    };
    Ok((ns, num(1, "ContextTokens")?, num(2, "GeneratedTokens")?))
}

/// Checks the header of an Azure LLM CSV.
fn check_llm_header(h: &csv::StringRecord) -> Result<(), String> {
    if h.len() < 3 || &h[0] != "TIMESTAMP" {
        return Err(format!(
            "expected the header TIMESTAMP,ContextTokens,GeneratedTokens, found \"{}\"",
            h.iter().collect::<Vec<_>>().join(",")
        ));
    }
    Ok(())
}

fn llm_reader(path: &Path) -> Result<csv::Reader<TraceFile>, String> {
    let mut rdr = TraceFile::open(path)
        .map(csv::Reader::from_reader)
        .map_err(|e| format!("cannot read trace {}: {e}", path.display()))?;
    let h = csv_headers(path, &mut rdr).map_err(|e| e.to_string())?;
    check_llm_header(&h).map_err(|m| format!("{}: {m}", path.display()))?;
    Ok(rdr)
}

/// Checks an Azure LLM CSV.
pub fn scan_llm_csv(path: &Path, w: &Window) -> Result<u64, String> {
    let rdr = llm_reader(path)?;
    let mut first = None;
    let mut last = i64::MIN;
    let mut n = 0;
    for rec in csv_records(path, rdr) {
        let (line, rec) = rec.map_err(|e| e.to_string())?;
        let (t, ..) =
            parse_llm(&rec).map_err(|m| TraceError::new(path, Some(line), m).to_string())?;
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

/// Opens a CSV trace for a stream and reads its header.
fn csv_stream_reader(
    path: &Path,
) -> Result<(csv::Reader<TraceFile>, csv::StringRecord), TraceError> {
    let file = TraceFile::open(path)
        .map_err(|e| TraceError::new(path, None, format!("cannot open the trace: {e}")))?;
    let mut rdr = csv::Reader::from_reader(file);
    let headers = csv_headers(path, &mut rdr)?;
    Ok((rdr, headers))
}

/// Streams an Azure LLM CSV.
pub fn llm_stream(path: &Path, cost: TokenCost, w: Window) -> ArrivalStream {
    let rdr = match csv_stream_reader(path) {
        Ok((rdr, headers)) => match check_llm_header(&headers) {
            Ok(()) => rdr,
            Err(m) => return failed(TraceError::new(path, Some(1), m)),
        },
        Err(e) => return failed(e),
    };
    let path = path.to_path_buf();
    let mut first = None;
    let mut last = i64::MIN;
    let mut done = false;
    let mut records = csv_records(&path, rdr);
    Box::new(std::iter::from_fn(move || {
        while !done {
            let parsed = records.next()?.and_then(|(line, rec)| {
                let (t, input, output) =
                    parse_llm(&rec).map_err(|m| TraceError::new(&path, Some(line), m))?;
                if t < last {
                    return Err(TraceError::new(&path, Some(line), OUT_OF_ORDER));
                }
                Ok((t, input, output))
            });
            let (t, input, output) = match parsed {
                Ok(r) => r,
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            };
            last = t;
            let t0 = *first.get_or_insert(t);
            if let Some(time) = w.map((t - t0) as u64) {
                return Some(Ok(Arrival {
                    time,
                    class: 0,
                    service: Some(cost.service(input, output)),
                }));
            }
        }
        None
    }))
}

// ----- Mooncake JSONL ---------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct MooncakeRecord {
    timestamp: u64,
    input_length: u64,
    output_length: u64,
}

const MOONCAKE_SHAPE: &str =
    "expected {\"timestamp\": ms, \"input_length\": n, \"output_length\": n}";

/// A line of a Mooncake trace: `None` for a blank line; the error says what is wrong.
fn parse_mooncake(line: &str) -> Result<Option<MooncakeRecord>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(line)
        .map(Some)
        .map_err(|e| format!("{} ({MOONCAKE_SHAPE})", mooncake_problem(line, &e)))
}

/// Why a line is not a Mooncake record, in words (serde's message names Rust types).
fn mooncake_problem(line: &str, e: &serde_json::Error) -> String {
    let value = match serde_json::from_str::<serde_json::Value>(line) {
        Ok(v) => v,
        Err(e) => {
            let full = e.to_string();
            let what = full
                .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
                .unwrap_or(&full);
            return format!("not valid JSON ({what} at column {})", e.column());
        }
    };
    let Some(fields) = value.as_object() else {
        return "not a JSON object".into();
    };
    for key in ["timestamp", "input_length", "output_length"] {
        match fields.get(key) {
            None => return format!("no field \"{key}\""),
            Some(v) if v.as_u64().is_none() => {
                return format!("\"{key}\" is {v}, not a whole number ≥ 0");
            }
            Some(_) => {}
        }
    }
    e.to_string()
}

/// Checks a Mooncake JSONL trace.
pub fn scan_mooncake(path: &Path, w: &Window) -> Result<u64, String> {
    let mut last = 0;
    let mut n = 0;
    let mut lines = Lines::new(path, open(path)?);
    while let Some(line) = lines.next() {
        let (i, line) = line.map_err(|e| e.to_string())?;
        let Some(r) = parse_mooncake(&line).map_err(|m| lines.error(i, m).to_string())? else {
            continue;
        };
        if r.timestamp < last {
            return Err(out_of_order(path, i));
        }
        last = r.timestamp;
        if w.map(r.timestamp.saturating_mul(1_000_000)).is_some() {
            n += 1;
        }
    }
    Ok(n)
}

/// Streams a Mooncake JSONL trace (timestamps are ms from the start of the trace).
pub fn mooncake_stream(path: &Path, cost: TokenCost, w: Window) -> ArrivalStream {
    let mut lines = match open_stream(path) {
        Ok(reader) => Lines::new(path, reader),
        Err(e) => return failed(e),
    };
    let mut last = 0;
    let mut done = false;
    Box::new(std::iter::from_fn(move || {
        while !done {
            let parsed = lines.next()?.and_then(|(n, line)| {
                let r = parse_mooncake(&line).map_err(|m| lines.error(n, m))?;
                if let Some(r) = &r
                    && r.timestamp < last
                {
                    return Err(lines.error(n, OUT_OF_ORDER.into()));
                }
                Ok(r)
            });
            let r = match parsed {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            };
            last = r.timestamp;
            if let Some(time) = w.map(r.timestamp.saturating_mul(1_000_000)) {
                return Some(Ok(Arrival {
                    time,
                    class: 0,
                    service: Some(cost.service(r.input_length, r.output_length)),
                }));
            }
        }
        None
    }))
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
        let mut rdr = TraceFile::open(path)
            .map(csv::Reader::from_reader)
            .map_err(|e| format!("cannot read trace {}: {e}", path.display()))?;
        let headers = csv_headers(path, &mut rdr).map_err(|e| e.to_string())?;
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
        for rec in csv_records(path, rdr) {
            let (line, rec) = rec.map_err(|e| e.to_string())?;
            let at = |m: String| TraceError::new(path, Some(line), m).to_string();
            let t = csv_num(&rec, time, "time").map_err(at)?;
            if t < last {
                return Err(out_of_order(path, line));
            }
            last = t;
            if let Some((d, _)) = duration {
                csv_duration(&rec, d).map_err(at)?;
            }
            if let Some(f) = function {
                let name = rec.get(f).unwrap_or("").to_string();
                if !cfg.class_of.contains_key(&name) {
                    let memory_mb = match memory {
                        Some(m) => Some(
                            (csv_num(&rec, m, "memory").map_err(at)?.round() as u32)
                                .clamp(128, 10_240),
                        ),
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

/// Field `k` of a CSV record as a finite number; the error says what is wrong.
fn csv_num(rec: &csv::StringRecord, k: usize, what: &str) -> Result<f64, String> {
    let f = rec.get(k).unwrap_or("").trim();
    f.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{what} \"{f}\" is not a number"))
}

/// Field `k` of a CSV record as a duration (a number ≥ 0).
fn csv_duration(rec: &csv::StringRecord, k: usize) -> Result<f64, String> {
    let d = csv_num(rec, k, "duration")?;
    if d < 0.0 {
        return Err(format!("negative duration {d} (durations must be ≥ 0)"));
    }
    Ok(d)
}

/// Streams a generic CSV trace.
pub fn csv_stream(cfg: Arc<CsvConfig>, w: Window) -> ArrivalStream {
    let rdr = match csv_stream_reader(&cfg.path) {
        Ok((rdr, _)) => rdr,
        Err(e) => return failed(e),
    };
    let mut records = csv_records(&cfg.path, rdr);
    let mut first = None;
    let mut last = f64::NEG_INFINITY;
    let mut done = false;
    Box::new(std::iter::from_fn(move || {
        while !done {
            let parsed = records.next()?.and_then(|(line, rec)| {
                let at = |m: String| TraceError::new(&cfg.path, Some(line), m);
                let t = csv_num(&rec, cfg.time, "time").map_err(at)?;
                if t < last {
                    return Err(at(OUT_OF_ORDER.into()));
                }
                let class = match cfg.function {
                    Some(f) => {
                        let name = rec.get(f).unwrap_or("");
                        *cfg.class_of.get(name).ok_or_else(|| {
                            at(format!(
                                "function \"{name}\" was not in the trace when the scenario was loaded (the file changed since)"
                            ))
                        })?
                    }
                    None => 0,
                };
                let service = match cfg.duration {
                    Some((d, scale)) => Some(SimDuration(
                        (csv_duration(&rec, d).map_err(at)? * scale) as u64,
                    )),
                    None => None,
                };
                Ok((t, class, service))
            });
            let (t, class, service) = match parsed {
                Ok(r) => r,
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            };
            last = t;
            let t0 = *first.get_or_insert(t);
            if let Some(time) = w.map(((t - t0) * cfg.time_scale) as u64) {
                return Some(Ok(Arrival {
                    time,
                    class,
                    service,
                }));
            }
        }
        None
    }))
}

// ----- pacslab ------------------------------------------------------------------------------

/// Loads the client start times of a pacslab measurement file, sorted, as ns offsets from the
/// first.
pub fn load_pacslab(path: &Path) -> Result<Vec<u64>, String> {
    let mut rdr = TraceFile::open(path)
        .map(csv::Reader::from_reader)
        .map_err(|e| format!("cannot read trace {}: {e}", path.display()))?;
    let headers = csv_headers(path, &mut rdr).map_err(|e| e.to_string())?;
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
    for rec in csv_records(path, rdr) {
        let (line, rec) = rec.map_err(|e| e.to_string())?;
        let f = rec.get(c).unwrap_or("").trim();
        let v: f64 = f
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                format!(
                    "{}: line {line}: client_start_time \"{f}\" is not a number",
                    path.display()
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
