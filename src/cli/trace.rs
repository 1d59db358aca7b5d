//! `infersim trace inspect`, `infersim trace fit` and `infersim trace synth-routing`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use infersim::moe::routing::synth::{SynthParams, generate};
use infersim::moe::routing::{format as routing_format, summary::RoutingSummary};
use infersim::report::write::{csv_field, write_atomic};
use infersim::workload::fit::fit_all;
use infersim::workload::trace::TraceSpec;
use infersim::workload::trace::inspect::{self, RoutingInput};

use super::common::UsageError;

// The subcommand's about text is the doc comment of its variant in `main.rs`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: TraceCommand,
}

/// Trace tools.
#[derive(Subcommand)]
pub enum TraceCommand {
    /// Summarise a trace: requests, span, rates, burstiness, service times, top functions; or,
    /// for MoE routing traces, tokens, experts, popularity, reuse and cross-layer transitions.
    Inspect {
        /// The trace file.
        file: PathBuf,
        /// Its format: azure-functions-2019, azure-llm-2023, mooncake, per-second-counts, csv,
        /// pacslab-lambda; or the routing formats mixtral-routing, routing.
        #[arg(long)]
        format: String,
        /// Further reader options as KEY=VALUE (the keys of `arrivals = { kind = "trace", ... }`,
        /// e.g. `--set durations=traces/x_durations.csv --set prefill=0.2ms`; for
        /// mixtral-routing: layers, experts, top_k, incomplete=drop|reject; for both routing
        /// formats: seed, of the printed generator parameters).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Functions to list (default 10).
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Also write `inspect.csv` and `top_functions.csv` to this directory (routing formats:
        /// `routing_summary.csv`, `routing_layers.csv`, `routing_counts.csv`,
        /// `routing_transitions.csv` and the generator parameters `routing_synth.toml`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Generate a synthetic MoE routing trace (the `routing` format) from generator parameters.
    SynthRouting {
        /// A TOML file of generator parameters (seed, layers, experts, top_k, sequences,
        /// tokens_per_sequence, skew, reuse, cross_layer, ...).
        #[arg(long)]
        params: PathBuf,
        /// The trace file to write.
        #[arg(long)]
        out: PathBuf,
        /// Override the parameters' number of sequences.
        #[arg(long)]
        sequences: Option<usize>,
        /// Override the parameters' tokens per sequence.
        #[arg(long)]
        tokens_per_sequence: Option<usize>,
        /// Override the parameters' seed.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Fit lognormal, Weibull, Pareto and exponential laws to one column by maximum likelihood.
    Fit {
        /// A CSV file (or JSON Lines, `.jsonl`).
        file: PathBuf,
        /// The column (or JSON field) to fit.
        #[arg(long)]
        column: String,
        /// Unit of the values if they are durations (ns, us, ms, s): parameters are then given
        /// in seconds and a scenario snippet is printed.
        #[arg(long)]
        unit: Option<String>,
    },
}

/// Runs a trace subcommand.
pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        TraceCommand::Inspect {
            file,
            format,
            set,
            top,
            out,
        } => {
            if let Some(input) = inspect::routing_input(&format) {
                return inspect_routing(&file, &format, input, &set, out.as_deref());
            }
            let spec = trace_spec(&file, &format, &set).map_err(|e| {
                let m = e.to_string();
                if m.contains("unknown variant") {
                    UsageError(format!(
                        "{m}; or a routing format: mixtral-routing, routing"
                    ))
                    .into()
                } else {
                    e
                }
            })?;
            let model = spec
                .build(Path::new("."))
                .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
            let stats = inspect::inspect(&model, top).map_err(|e| UsageError(e.to_string()))?;
            println!("{} ({format})", file.display());
            for (k, v) in stats.rows() {
                println!("  {k:<20} {}", fmt(v));
            }
            if !stats.top_functions.is_empty() && model.classes.len() > 1 {
                println!("  top functions (arrivals, share):");
                for (name, n) in &stats.top_functions {
                    println!(
                        "    {name:<66} {n:>10} {:>6.2}%",
                        100.0 * *n as f64 / stats.requests as f64
                    );
                }
            }
            if let Some(dir) = out {
                let mut csv = String::from("metric,value\n");
                for (k, v) in stats.rows() {
                    let _ = writeln!(csv, "{k},{v}");
                }
                write_atomic(&dir.join("inspect.csv"), csv.as_bytes()).with_context(|| {
                    format!("cannot write {}", dir.join("inspect.csv").display())
                })?;
                let mut csv = String::from("function,arrivals\n");
                for (name, n) in &stats.top_functions {
                    let _ = writeln!(csv, "{},{n}", csv_field(name));
                }
                write_atomic(&dir.join("top_functions.csv"), csv.as_bytes()).with_context(
                    || format!("cannot write {}", dir.join("top_functions.csv").display()),
                )?;
                println!("wrote {}/{{inspect,top_functions}}.csv", dir.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        TraceCommand::SynthRouting {
            params,
            out,
            sequences,
            tokens_per_sequence,
            seed,
        } => {
            let text = std::fs::read_to_string(&params)
                .map_err(|e| UsageError(format!("cannot read {}: {e}", params.display())))?;
            let mut p: SynthParams = toml::from_str(&text)
                .map_err(|e| UsageError(format!("{}: {}", params.display(), e.message())))?;
            p.sequences = sequences.unwrap_or(p.sequences);
            p.tokens_per_sequence = tokens_per_sequence.unwrap_or(p.tokens_per_sequence);
            p.seed = seed.unwrap_or(p.seed);
            let trace =
                generate(&p).map_err(|e| UsageError(format!("{}: {e}", params.display())))?;
            let body = routing_format::write(&trace);
            write_atomic(&out, body.as_bytes())
                .map_err(|e| UsageError(format!("cannot write {}: {e}", out.display())))?;
            println!(
                "wrote {} ({} tokens, {} bytes)",
                out.display(),
                trace.len(),
                body.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        TraceCommand::Fit { file, column, unit } => {
            let scale = match unit.as_deref() {
                None => 1.0,
                Some("ns") => 1e-9,
                Some("us") => 1e-6,
                Some("ms") => 1e-3,
                Some("s") => 1.0,
                Some(other) => {
                    return Err(UsageError(format!(
                        "unknown unit \"{other}\"; allowed: ns, us, ms, s"
                    ))
                    .into());
                }
            };
            let xs: Vec<f64> = read_values(&file, &column)?
                .into_iter()
                .map(|x| x * scale)
                .collect();
            let fits = fit_all(&xs)
                .map_err(|e| UsageError(format!("{}: column \"{column}\": {e}", file.display())))?;
            let unit_label = if unit.is_some() { " (seconds)" } else { "" };
            println!(
                "{}: column \"{column}\", {} values{unit_label}",
                file.display(),
                xs.len()
            );
            println!(
                "  {:<12} {:<44} {:>16} {:>8}",
                "law", "parameters", "log-likelihood", "KS D"
            );
            let mut ranked = fits.clone();
            ranked.sort_by(|a, b| a.ks.total_cmp(&b.ks));
            for f in &ranked {
                let params = f
                    .params
                    .iter()
                    .map(|(k, v)| format!("{k} = {}", fmt(*v)))
                    .collect::<Vec<_>>()
                    .join(", ");
                println!(
                    "  {:<12} {:<44} {:>16.1} {:>8.4}",
                    f.kind, params, f.log_likelihood, f.ks
                );
            }
            if unit.is_some() {
                let best = &ranked[0];
                let p = |k: &str| {
                    best.params
                        .iter()
                        .find(|(n, _)| *n == k)
                        .map(|(_, v)| *v)
                        .unwrap_or(f64::NAN)
                };
                let snippet = match best.kind {
                    "lognormal" => format!(
                        "{{ kind = \"lognormal\", mu = {}, sigma = {} }}",
                        p("mu"),
                        p("sigma")
                    ),
                    "exponential" => {
                        format!("{{ kind = \"exponential\", mean = \"{}s\" }}", p("mean"))
                    }
                    "pareto" => format!(
                        "{{ kind = \"pareto\", scale = \"{}s\", shape = {} }}",
                        p("scale"),
                        p("shape")
                    ),
                    _ => format!(
                        "{{ kind = \"weibull\", scale = \"{}s\", shape = {} }}",
                        p("scale"),
                        p("shape")
                    ),
                };
                println!("best by KS, as a scenario distribution: {snippet}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `trace inspect` on a routing trace.
fn inspect_routing(
    file: &Path,
    format: &str,
    input: RoutingInput,
    set: &[String],
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut opts = inspect::RoutingOptions::default();
    for kv in set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--set expects KEY=VALUE, got \"{kv}\"")))?;
        opts.set(input, k.trim(), v.trim())
            .map_err(|e| UsageError(format!("--set {kv}: {e}")))?;
    }
    let (trace, report) =
        inspect::read_routing(file, input, &opts).map_err(|e| UsageError(e.to_string()))?;
    let summary = RoutingSummary::new(&trace, report)
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    println!("{} ({format})", file.display());
    print!("{}", summary.text());
    println!("  synthetic generator parameters (TOML, compact successor form):");
    for line in summary.toml_snippet(opts.seed).lines() {
        println!("    {line}");
    }
    if let Some(dir) = out {
        let mut csv = String::from("metric,value\n");
        for (k, v) in summary.rows() {
            let _ = writeln!(csv, "{k},{v}");
        }
        let full = toml::to_string(&summary.params(
            infersim::moe::routing::fit::TransitionForm::Matrix,
            opts.seed,
        ))
        .context("cannot write the generator parameters")?;
        let files = [
            ("routing_summary.csv", csv),
            ("routing_layers.csv", summary.layers_csv()),
            ("routing_counts.csv", summary.counts_csv()),
            ("routing_transitions.csv", summary.transitions_csv()),
            ("routing_synth.toml", full),
        ];
        for (name, body) in &files {
            let path = dir.join(name);
            write_atomic(&path, body.as_bytes())
                .map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())))?;
        }
        println!(
            "wrote {}/{{routing_summary,routing_layers,routing_counts,routing_transitions}}.csv \
             and routing_synth.toml",
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 1e6 || (v != 0.0 && v.abs() < 1e-3) {
        format!("{v:.4e}")
    } else {
        format!("{:.4}", v)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// Builds a trace spec from the command line: `format`, the file, and `KEY=VALUE` options
/// (values are TOML: numbers as they are, anything else as a string).
fn trace_spec(file: &Path, format: &str, set: &[String]) -> anyhow::Result<TraceSpec> {
    let mut table = toml_edit::InlineTable::new();
    table.insert("format", format.into());
    table.insert("path", file.display().to_string().into());
    for kv in set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--set expects KEY=VALUE, got \"{kv}\"")))?;
        let value: toml_edit::Value = v.parse().unwrap_or_else(|_| v.into());
        table.insert(k.trim(), value);
    }
    let text = format!("t = {table}");
    #[derive(serde::Deserialize)]
    struct W {
        t: TraceSpec,
    }
    toml::from_str::<W>(&text)
        .map(|w| w.t)
        .map_err(|e| UsageError(format!("{}: {}", file.display(), e.message())).into())
}

fn read_values(file: &Path, column: &str) -> anyhow::Result<Vec<f64>> {
    let bad = |m: String| anyhow::Error::from(UsageError(m));
    let mut out = Vec::new();
    if file.extension().is_some_and(|e| e == "jsonl") {
        let text = infersim::workload::trace::textfile::read_whole(file)
            .map_err(|e| bad(format!("{}: {e}", file.display())))?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| bad(format!("{}: line {}: {e}", file.display(), i + 1)))?;
            let x = v.get(column).and_then(|x| x.as_f64()).ok_or_else(|| {
                bad(format!(
                    "{}: line {}: no numeric field \"{column}\"",
                    file.display(),
                    i + 1
                ))
            })?;
            out.push(x);
        }
    } else {
        let mut rdr = infersim::workload::trace::textfile::TraceFile::open(file)
            .map(csv::Reader::from_reader)
            .map_err(|e| bad(format!("cannot read {}: {e}", file.display())))?;
        let headers = rdr
            .headers()
            .map_err(|e| bad(format!("{}: {e}", file.display())))?
            .clone();
        let idx = headers
            .iter()
            .position(|h| h.trim() == column)
            .ok_or_else(|| {
                bad(format!(
                    "{}: no column \"{column}\"; columns are: {}",
                    file.display(),
                    headers.iter().collect::<Vec<_>>().join(", ")
                ))
            })?;
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| bad(format!("{}: line {}: {e}", file.display(), i + 2)))?;
            let f = rec.get(idx).unwrap_or("").trim();
            if f.is_empty() {
                continue;
            }
            out.push(f.parse::<f64>().map_err(|_| {
                bad(format!(
                    "{}: line {}: column \"{column}\" holds \"{f}\", not a number",
                    file.display(),
                    i + 2
                ))
            })?);
        }
    }
    if out.is_empty() {
        return Err(bad(format!(
            "{}: column \"{column}\" has no values",
            file.display()
        )));
    }
    Ok(out)
}
