//! Helpers shared by the integration tests.

use std::path::Path;

use infersim::report::Metric;
use infersim::report::stats::{Summary, summarize};
use infersim::scenario::Scenario;

/// Builds a scenario from TOML text (relative paths resolve against the crate root).
pub fn scenario(text: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("test.toml");
    match Scenario::from_str_at(text, &path) {
        Ok(s) => s,
        Err(e) => panic!("test scenario is invalid: {e}"),
    }
}

/// Runs every policy and returns the values of `metric` per policy, one per replication.
pub fn metric(sc: &Scenario, metric: Metric) -> Vec<Vec<f64>> {
    let r = infersim::run_scenario(sc, None, None).unwrap();
    r.results
        .iter()
        .map(|runs| {
            runs.iter()
                .map(|run| run.get(metric).unwrap_or(f64::NAN))
                .collect()
        })
        .collect()
}

/// Asserts that `theory` lies within the 99% Student-t interval of the replications.
pub fn assert_in_ci(what: &str, xs: &[f64], theory: f64) -> Summary {
    let s = summarize(xs, 0.99);
    assert!(
        (s.mean - theory).abs() <= s.half_width,
        "{what}: theory {theory:.6} outside the 99% CI {:.6} ± {:.6} (n = {})",
        s.mean,
        s.half_width,
        s.n
    );
    // The interval must be informative: tighter than 10% of the value.
    assert!(
        s.half_width < 0.1 * theory.abs().max(1e-9),
        "{what}: CI half-width {:.6} too wide to test {theory:.6}",
        s.half_width
    );
    s
}

/// A trace in one of the streamed formats, valid and with one line made corrupt.
pub struct CorruptTrace {
    /// What the case is, for messages.
    pub what: &'static str,
    /// The file name (in the scenario's directory).
    pub file: &'static str,
    /// The keys of `arrivals = { kind = "trace", ... }` after `path`.
    pub options: &'static str,
    /// The valid file.
    pub valid: Vec<u8>,
    /// The same file with line `line` broken.
    pub corrupt: Vec<u8>,
    /// The 1-based line that is broken.
    pub line: u64,
    /// What the message must say about it.
    pub needle: &'static str,
}

impl CorruptTrace {
    /// A scenario (60 s; FaaS only, autoscaled VMs with periodic ticks, and both) replaying
    /// this trace from `file`.
    pub fn scenario(&self) -> String {
        format!(
            r#"name = "corrupt-trace"
[run]
horizon = "60s"
replications = 2
[workload]
arrivals = {{ kind = "trace", path = "{}", {} }}
[[stage]]
service = {{ kind = "constant", value = "10ms" }}
[[policy]]
kind = "all-faas"
[[policy]]
kind = "vm-autoscale"
[[policy]]
kind = "hybrid"
vms = 1
"#,
            self.file, self.options
        )
    }
}

/// `valid` with line `line` (1-based) replaced by `with`.
fn replace_line(valid: &str, line: u64, with: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, l) in valid.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            out.extend_from_slice(with);
            if l.ends_with('\n') {
                out.push(b'\n');
            }
        } else {
            out.extend_from_slice(l.as_bytes());
        }
    }
    out
}

/// One corrupt line (and a truncated or non-UTF-8 one) per format with a streaming reader:
/// per-second counts, Azure LLM 2023, Mooncake and generic CSV.
pub fn corrupt_traces() -> Vec<CorruptTrace> {
    let counts = "1\n2\n# a comment\n\n3\n1\n2\n1\n";
    let llm: String = std::iter::once("TIMESTAMP,ContextTokens,GeneratedTokens\n".to_string())
        .chain((0..8).map(|s| format!("2023-11-16 18:15:{:02}.1000000,100,10\n", 10 + s)))
        .collect();
    let mooncake: String = (0..8)
        .map(|s| {
            format!(
                "{{\"timestamp\": {}, \"input_length\": 100, \"output_length\": 10}}\n",
                s * 1000
            )
        })
        .collect();
    let csv: String = std::iter::once("t_ms,fn,dur_ms\n".to_string())
        .chain((0..8).map(|s| format!("{},f{},5\n", s * 1000, s % 2)))
        .collect();
    let llm_opts = r#"format = "azure-llm-2023", prefill = "1ms", decode = "1ms""#;
    let mooncake_opts = r#"format = "mooncake", prefill = "1ms", decode = "1ms""#;
    let csv_opts = r#"format = "csv", time_column = "t_ms", time_unit = "ms", function_column = "fn", duration_column = "dur_ms""#;
    let case = |what, file, options, valid: &str, line, with: &[u8], needle| CorruptTrace {
        what,
        file,
        options,
        valid: valid.as_bytes().to_vec(),
        corrupt: replace_line(valid, line, with),
        line,
        needle,
    };
    vec![
        case(
            "per-second counts, a word",
            "c.txt",
            r#"format = "per-second-counts""#,
            counts,
            6,
            b"lots",
            "\"lots\" is not a non-negative integer count",
        ),
        case(
            "per-second counts, not UTF-8",
            "c.txt",
            r#"format = "per-second-counts""#,
            counts,
            7,
            b"2\xff\xfe",
            "not valid UTF-8 text",
        ),
        case(
            "Azure LLM, a token count",
            "l.csv",
            llm_opts,
            &llm,
            4,
            b"2023-11-16 18:15:12.1000000,100,many",
            "GeneratedTokens holds \"many\", not a token count",
        ),
        case(
            "Azure LLM, a truncated last line",
            "l.csv",
            llm_opts,
            &llm,
            9,
            b"2023-11-16 18:15:1",
            "1 field, but the header has 3",
        ),
        case(
            "Mooncake, a field of the wrong kind",
            "m.jsonl",
            mooncake_opts,
            &mooncake,
            3,
            br#"{"timestamp": 2000, "input_length": "ten", "output_length": 10}"#,
            "\"input_length\" is \"ten\", not a whole number ≥ 0",
        ),
        case(
            "Mooncake, a truncated last line",
            "m.jsonl",
            mooncake_opts,
            &mooncake,
            8,
            br#"{"timestamp": 7000, "input_len"#,
            "not valid JSON",
        ),
        case(
            "CSV, a time",
            "g.csv",
            csv_opts,
            &csv,
            5,
            b"soon,f1,5",
            "time \"soon\" is not a number",
        ),
        case(
            "CSV, not UTF-8",
            "g.csv",
            csv_opts,
            &csv,
            4,
            b"2000,f\xff,5",
            "field 2 is not valid UTF-8 text",
        ),
    ]
}
