//! Recorded traces as arrival processes: one reader per format, each a lazy, time-ordered
//! iterator of [`Arrival`]s whose memory does not grow with the length of the trace.
//!
//! A [`TraceSpec`] (`arrivals = { kind = "trace", format = "...", path = "..." }`) is checked
//! once at load time ([`TraceSpec::build`]: the whole file is scanned for format errors, order
//! and emptiness, and the functions it names become request classes); each run then opens a
//! fresh reader ([`TraceModel::open`]). Time can be windowed (`start`, `end`, relative to the
//! first record) and scaled (`speed`). A reader that cannot go on (the file cannot be opened or
//! read any more, or a line no longer parses) yields a [`TraceError`] and ends.

mod azure2019;
mod error;
mod formats;
pub mod inspect;
pub mod textfile;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::kernel::{SimDuration, SimRng, SimTime};
use crate::units::Duration;

pub use azure2019::AzureFunctions2019;
pub use error::TraceError;

/// The arrivals of one run, in time order; an error ends the stream (nothing follows it).
pub type ArrivalStream = Box<dyn Iterator<Item = Result<Arrival, TraceError>> + Send>;

/// One arrival: when, which function (request class), and the service time the trace gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Arrival time.
    pub time: SimTime,
    /// Request class (index into [`TraceModel::classes`]; 0 for single-class sources).
    pub class: u32,
    /// Service time recorded in (or derived from) the trace, if any.
    pub service: Option<SimDuration>,
}

/// A request class: a function of the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Class {
    /// Name (e.g. the function's hash).
    pub name: String,
    /// Memory the trace gives for it, MB (clamped to Lambda's 128–10,240 MB).
    pub memory_mb: Option<u32>,
}

/// Trace file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Azure Functions 2019: per-minute invocation counts per function (+ durations, memory).
    #[serde(rename = "azure-functions-2019")]
    AzureFunctions2019,
    /// Azure LLM inference 2023: `TIMESTAMP,ContextTokens,GeneratedTokens`.
    #[serde(rename = "azure-llm-2023")]
    AzureLlm2023,
    /// Mooncake JSONL: `{"timestamp": ms, "input_length": n, "output_length": n, ...}`.
    Mooncake,
    /// One integer per line: requests in second i.
    PerSecondCounts,
    /// Any CSV: a time column (with unit), optional function, duration and memory columns.
    Csv,
    /// The pacslab AWS Lambda measurements: `client_start_time` (epoch s) become arrivals.
    PacslabLambda,
}

/// How counts within a bin (minute or second) become arrival times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Spread {
    /// Uniformly at random within the bin (the count is kept).
    #[default]
    Uniform,
    /// Equally spaced: the k-th of n at (k + ½)/n of the bin.
    EquallySpaced,
    /// A Poisson process at the bin's rate (the count varies around the recorded one).
    Poisson,
}

/// `arrivals = { kind = "trace", ... }`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TraceSpec {
    /// File format.
    pub format: Format,
    /// The trace file (Azure 2019: the invocations file), relative to the scenario.
    pub path: PathBuf,
    /// Azure 2019: the durations file (per-function percentiles).
    pub durations: Option<PathBuf>,
    /// Azure 2019: the memory file (per-app allocated memory percentiles).
    pub memory: Option<PathBuf>,
    /// Count formats: how counts are spread within a bin (default uniform).
    pub spread: Option<Spread>,
    /// Azure 2019: keep only the N functions with the most invocations.
    pub top: Option<u32>,
    /// Azure 2019: keep only these functions (by hash).
    pub functions: Option<Vec<String>>,
    /// Azure 2019: keep a random sample of N functions (seeded by `sample_seed`, default 1).
    pub sample: Option<u32>,
    /// Seed of `sample`.
    pub sample_seed: Option<u64>,
    /// CSV: the time column.
    pub time_column: Option<String>,
    /// CSV: unit of the time column (ns, us, ms, s).
    pub time_unit: Option<String>,
    /// CSV: optional function column (each distinct value is a function).
    pub function_column: Option<String>,
    /// CSV: optional duration column.
    pub duration_column: Option<String>,
    /// CSV: unit of the duration column (default ms).
    pub duration_unit: Option<String>,
    /// CSV: optional memory column (MB).
    pub memory_column: Option<String>,
    /// LLM formats: service time per prompt (prefill) token.
    pub prefill: Option<Duration>,
    /// LLM formats: service time per generated (decode) token.
    pub decode: Option<Duration>,
    /// LLM formats: fixed service time per request (default 0s).
    pub base: Option<Duration>,
    /// Time scale: 2.0 replays twice as fast (default 1.0).
    pub speed: Option<f64>,
    /// Skip records before this offset from the first record (default 0s).
    pub start: Option<Duration>,
    /// Stop at this offset from the first record (default: the end of the trace).
    pub end: Option<Duration>,
    /// Replay the (windowed) trace this many times back to back (default 1). Each copy starts
    /// one period after the previous: the window length if `end` is set, a whole day for
    /// azure-functions-2019, else the last arrival rounded up to the next whole second.
    pub repeat: Option<u32>,
}

/// Slowest trace `speed` allowed.
pub const MIN_SPEED: f64 = 1e-6;
/// Fastest trace `speed` allowed.
pub const MAX_SPEED: f64 = 1e6;

/// Window and scale applied to trace times (offsets from the first record, before scaling).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    start: u64,
    end: u64,
    speed: f64,
}

impl Window {
    /// Maps a raw offset to simulated time; `None` outside the window.
    #[inline]
    fn map(&self, offset_ns: u64) -> Option<SimTime> {
        if offset_ns < self.start || offset_ns >= self.end {
            return None;
        }
        let t = offset_ns - self.start;
        Some(SimTime(if self.speed == 1.0 {
            t
        } else {
            (t as f64 / self.speed) as u64
        }))
    }
}

/// Token-count service model of the LLM formats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenCost {
    base: SimDuration,
    prefill: SimDuration,
    decode: SimDuration,
}

impl TokenCost {
    /// Service time of one request.
    pub fn service(&self, input: u64, output: u64) -> SimDuration {
        SimDuration(
            self.base.0
                + self.prefill.0.saturating_mul(input)
                + self.decode.0.saturating_mul(output),
        )
    }
}

/// A validated trace, ready to be opened once per run.
#[derive(Clone, Debug)]
pub struct TraceModel {
    kind: Kind,
    window: Window,
    /// Request classes (functions) named by the trace.
    pub classes: Vec<Class>,
    /// Records in the window (arrivals for count formats: the sum of counts), one copy.
    pub records: u64,
    repeat: u32,
    period: Option<u64>,
}

#[derive(Clone, Debug)]
enum Kind {
    Azure(Arc<AzureFunctions2019>, Spread),
    Counts(PathBuf, Spread),
    Llm(PathBuf, TokenCost),
    Mooncake(PathBuf, TokenCost),
    Csv(Arc<formats::CsvConfig>),
    /// Pre-sorted offsets (small, unsorted-on-disk formats).
    Sorted(Arc<[u64]>),
}

impl TraceModel {
    /// Arrivals of the whole replay: the records in the window times the copies.
    pub fn expected_arrivals(&self) -> u64 {
        self.records.saturating_mul(self.repeat.max(1) as u64)
    }
}

impl TraceSpec {
    /// Checks the trace files and the options; `base` resolves relative paths.
    pub fn build(&self, base: &Path) -> Result<TraceModel, String> {
        let path = base.join(&self.path);
        // A device or a pipe (`/dev/zero`, a FIFO) would be read without end.
        if let Ok(meta) = std::fs::metadata(&path)
            && !meta.is_file()
            && !meta.is_dir()
        {
            return Err(format!(
                "{} is not a regular file (a device, a pipe or a socket); a trace must be a file",
                path.display()
            ));
        }
        let speed = self.speed.unwrap_or(1.0);
        if !(speed > 0.0) || !speed.is_finite() {
            return Err(format!("speed must be a positive number (got {speed})"));
        }
        // Beyond these a trace is stretched past any horizon (no request at all) or squeezed
        // into nanoseconds: results that would look valid but mean nothing.
        if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
            return Err(format!(
                "speed must be from 0.000001 to 1000000 (got {speed}); 2.0 replays the trace twice as fast, 0.5 at half speed"
            ));
        }
        let start = self.start.map(|d| d.0.0).unwrap_or(0);
        let end = self.end.map(|d| d.0.0).unwrap_or(u64::MAX);
        if end <= start {
            return Err("trace `end` must be after `start`".into());
        }
        let window = Window { start, end, speed };
        let spread = self.spread.unwrap_or_default();
        self.check_keys()?;
        let (kind, classes, records) = match self.format {
            Format::AzureFunctions2019 => {
                let az = AzureFunctions2019::load(
                    &path,
                    self.durations.as_ref().map(|p| base.join(p)).as_deref(),
                    self.memory.as_ref().map(|p| base.join(p)).as_deref(),
                    &azure2019::Selection {
                        top: self.top,
                        functions: self.functions.clone(),
                        sample: self.sample,
                        seed: self.sample_seed.unwrap_or(1),
                    },
                )?;
                let records = az.count_in(&window);
                let classes = az.classes();
                (Kind::Azure(Arc::new(az), spread), classes, records)
            }
            Format::PerSecondCounts => {
                let records = formats::scan_counts(&path, &window)?;
                (Kind::Counts(path.clone(), spread), vec![single()], records)
            }
            Format::AzureLlm2023 => {
                let cost = self.token_cost()?;
                let records = formats::scan_llm_csv(&path, &window)?;
                (Kind::Llm(path.clone(), cost), vec![single()], records)
            }
            Format::Mooncake => {
                let cost = self.token_cost()?;
                let records = formats::scan_mooncake(&path, &window)?;
                (Kind::Mooncake(path.clone(), cost), vec![single()], records)
            }
            Format::Csv => {
                let cfg = formats::CsvConfig::scan(
                    &path,
                    self.time_column
                        .as_deref()
                        .ok_or("format \"csv\" needs `time_column`")?,
                    self.time_unit
                        .as_deref()
                        .ok_or("format \"csv\" needs `time_unit` (ns, us, ms, s)")?,
                    self.function_column.as_deref(),
                    self.duration_column.as_deref(),
                    self.duration_unit.as_deref().unwrap_or("ms"),
                    self.memory_column.as_deref(),
                    &window,
                )?;
                let classes = cfg.classes.clone();
                let records = cfg.records;
                (Kind::Csv(Arc::new(cfg)), classes, records)
            }
            Format::PacslabLambda => {
                let offsets = formats::load_pacslab(&path)?;
                let records = offsets.iter().filter(|&&t| window.map(t).is_some()).count() as u64;
                (Kind::Sorted(offsets.into()), vec![single()], records)
            }
        };
        let repeat = self.repeat.unwrap_or(1);
        if repeat == 0 {
            return Err("repeat must be ≥ 1".into());
        }
        let period = if end < u64::MAX {
            Some(((end - start) as f64 / speed) as u64)
        } else if let Kind::Azure(az, _) = &kind {
            Some((az.minutes() as f64 * 60e9 / speed) as u64)
        } else {
            None
        };
        if records == 0 {
            return Err(format!(
                "{}: the trace has no arrivals{}",
                path.display(),
                if start > 0 || end < u64::MAX {
                    " in the chosen window (start/end)"
                } else {
                    ""
                }
            ));
        }
        Ok(TraceModel {
            kind,
            window,
            classes,
            records,
            repeat,
            period,
        })
    }

    fn token_cost(&self) -> Result<TokenCost, String> {
        match (self.prefill, self.decode) {
            (Some(p), Some(d)) => Ok(TokenCost {
                base: self.base.map(|b| b.0).unwrap_or_default(),
                prefill: p.0,
                decode: d.0,
            }),
            _ => Err("LLM traces need `prefill` and `decode` (service time per prompt token and per generated token, e.g. \"0.2ms\" and \"20ms\")".into()),
        }
    }

    /// Rejects options that do not apply to the chosen format.
    fn check_keys(&self) -> Result<(), String> {
        let azure = self.format == Format::AzureFunctions2019;
        let csv = self.format == Format::Csv;
        let llm = matches!(self.format, Format::AzureLlm2023 | Format::Mooncake);
        let counts = matches!(
            self.format,
            Format::AzureFunctions2019 | Format::PerSecondCounts
        );
        let mut bad = Vec::new();
        let mut check = |set: bool, ok: bool, key: &'static str| {
            if set && !ok {
                bad.push(key);
            }
        };
        check(self.durations.is_some(), azure, "durations");
        check(self.memory.is_some(), azure, "memory");
        check(self.top.is_some(), azure, "top");
        check(self.functions.is_some(), azure, "functions");
        check(self.sample.is_some(), azure, "sample");
        check(self.sample_seed.is_some(), azure, "sample_seed");
        check(self.spread.is_some(), counts, "spread");
        check(self.time_column.is_some(), csv, "time_column");
        check(self.time_unit.is_some(), csv, "time_unit");
        check(self.function_column.is_some(), csv, "function_column");
        check(self.duration_column.is_some(), csv, "duration_column");
        check(self.duration_unit.is_some(), csv, "duration_unit");
        check(self.memory_column.is_some(), csv, "memory_column");
        check(self.prefill.is_some(), llm, "prefill");
        check(self.decode.is_some(), llm, "decode");
        check(self.base.is_some(), llm, "base");
        if bad.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "option(s) {} do not apply to format {:?}",
                bad.join(", "),
                serde_json::to_string(&self.format).unwrap_or_default()
            ))
        }
    }
}

fn single() -> Class {
    Class {
        name: "trace".into(),
        memory_mb: None,
    }
}

impl TraceModel {
    /// Opens a reader for one run; `rng` spreads counts within bins and draws durations.
    /// Repeated traces chain their copies, each shifted by the period. A file that cannot be
    /// opened or read to its end yields one error, which ends the stream.
    pub fn open(&self, rng: SimRng) -> ArrivalStream {
        if self.repeat <= 1 {
            return self.open_once(rng);
        }
        let model = self.clone();
        let mut rng = rng;
        let mut copy = 0u32;
        let mut offset = 0u64;
        let mut last = 0u64;
        let mut current = model.open_once(rng.clone());
        Box::new(std::iter::from_fn(move || {
            loop {
                match current.next() {
                    Some(Ok(mut a)) => {
                        a.time.0 += offset;
                        last = a.time.0;
                        return Some(Ok(a));
                    }
                    Some(Err(e)) => {
                        copy = model.repeat;
                        current = Box::new(std::iter::empty());
                        return Some(Err(e));
                    }
                    None => {}
                }
                copy += 1;
                if copy >= model.repeat {
                    return None;
                }
                offset += match model.period {
                    Some(p) => p,
                    None => {
                        last.saturating_sub(offset).div_ceil(1_000_000_000).max(1) * 1_000_000_000
                    }
                };
                use rand::Rng;
                let next_seed = rng.next_u64();
                current = model.open_once(crate::kernel::rng::from_seed(next_seed));
            }
        }))
    }

    fn open_once(&self, rng: SimRng) -> ArrivalStream {
        let w = self.window;
        match &self.kind {
            Kind::Azure(az, spread) => {
                Box::new(azure2019::Stream::new(az.clone(), *spread, w, rng).map(Ok))
            }
            Kind::Counts(path, spread) => formats::counts_stream(path, *spread, w, rng),
            Kind::Llm(path, cost) => formats::llm_stream(path, *cost, w),
            Kind::Mooncake(path, cost) => formats::mooncake_stream(path, *cost, w),
            Kind::Csv(cfg) => formats::csv_stream(cfg.clone(), w),
            Kind::Sorted(offsets) => {
                let offsets = offsets.clone();
                Box::new((0..offsets.len()).filter_map(move |i| {
                    w.map(offsets[i]).map(|time| {
                        Ok(Arrival {
                            time,
                            class: 0,
                            service: None,
                        })
                    })
                }))
            }
        }
    }

    /// True when arrivals carry a service time (durations or token counts).
    pub fn has_service(&self) -> bool {
        match &self.kind {
            Kind::Azure(az, _) => az.has_durations(),
            Kind::Llm(..) | Kind::Mooncake(..) => true,
            Kind::Csv(cfg) => cfg.has_duration(),
            Kind::Counts(..) | Kind::Sorted(_) => false,
        }
    }
}

/// Spreads `n` arrivals over the bin `[from, from + len)` (ns) and appends them to `out`.
pub(crate) fn spread_bin(
    spread: Spread,
    n: u64,
    from: u64,
    len: u64,
    rng: &mut SimRng,
    out: &mut Vec<u64>,
) {
    use rand::RngExt;
    match spread {
        Spread::Uniform => {
            for _ in 0..n {
                out.push(from + (rng.random::<f64>() * len as f64) as u64);
            }
        }
        Spread::EquallySpaced => {
            for k in 0..n {
                out.push(from + ((k as f64 + 0.5) / n as f64 * len as f64) as u64);
            }
        }
        Spread::Poisson => {
            if n == 0 {
                return;
            }
            let rate = n as f64 / len as f64;
            let mut t = 0.0;
            loop {
                t += -(1.0 - rng.random::<f64>()).ln() / rate;
                if t >= len as f64 {
                    break;
                }
                out.push(from + t as u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::rng;

    #[test]
    fn spreads_keep_counts_and_bins() {
        let mut r = rng::from_seed(1);
        for spread in [Spread::Uniform, Spread::EquallySpaced] {
            let mut out = Vec::new();
            spread_bin(spread, 7, 60, 60, &mut r, &mut out);
            assert_eq!(out.len(), 7);
            assert!(out.iter().all(|&t| (60..120).contains(&t)));
        }
        let mut out = Vec::new();
        spread_bin(Spread::EquallySpaced, 2, 0, 100, &mut r, &mut out);
        assert_eq!(out, vec![25, 75]);
        // Poisson: the mean count over many bins is the recorded one.
        let mut out = Vec::new();
        for b in 0..10_000u64 {
            spread_bin(
                Spread::Poisson,
                5,
                b * 1_000_000,
                1_000_000,
                &mut r,
                &mut out,
            );
        }
        let mean = out.len() as f64 / 10_000.0;
        assert!((mean - 5.0).abs() < 0.1, "{mean}");
    }

    #[test]
    fn window_and_speed() {
        let w = Window {
            start: 10,
            end: 30,
            speed: 2.0,
        };
        assert_eq!(w.map(5), None);
        assert_eq!(w.map(10), Some(SimTime(0)));
        assert_eq!(w.map(20), Some(SimTime(5)));
        assert_eq!(w.map(30), None);
    }
}
