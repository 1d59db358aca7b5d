//! Hostile input (issue 14): overflowing sweep ranges, names that would break CSV, values that
//! would give silently wrong results, and integer errors that must name the key — a clear message
//! and exit status 2, never a panic, never a corrupt file.

use std::path::Path;
use std::process::{Command, Output};

const GOOD: &str = r#"name = "hostile"
[run]
horizon = "60s"
[workload]
arrivals = { kind = "poisson", rate = "5/s" }
[platform.faas]
memory = "1024MB"
[[stage]]
service = { kind = "lognormal", median = "100ms", p99 = "1s" }
[[policy]]
kind = "all-faas"
"#;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_infersim"))
}

fn no_panic(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    stderr
}

/// Writes `text` to DIR/scenario.toml and runs `infersim <args> scenario.toml`.
fn infersim(dir: &Path, text: &str, args: &[&str]) -> (i32, String) {
    let path = dir.join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    let out = bin()
        .args(args)
        .arg(&path)
        .current_dir(dir)
        .output()
        .unwrap();
    let err = no_panic(&out);
    (out.status.code().unwrap_or(-1), err)
}

/// Asserts `validate` exits 2 naming the file and every needle.
fn rejects(text: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = infersim(dir.path(), text, &["validate"]);
    assert_eq!(code, 2, "expected exit 2, got {code}: {err}");
    assert!(err.contains("scenario.toml"), "no file in: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing in: {err}");
    }
}

#[test]
fn overflowing_float_ranges_are_rejected_without_a_sweep_directory() {
    for range in [
        "{ from = 0.0, to = 1.0, step = 1e-300 }",
        "{ from = 0.0, to = 1e300, step = 1 }",
        "{ from = 0.0, to = 1.7e308, step = 1e-308 }",
    ] {
        let text = format!("{GOOD}\n[sweep]\n\"run.seed\" = {range}\n");
        rejects(&text, &["run.seed", "at most 1000000 points"]);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let (code, err) = infersim(
            dir.path(),
            &text,
            &["sweep", "--no-plots", "--out", out.to_str().unwrap()],
        );
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("at most 1000000 points"), "{err}");
        assert!(!out.exists(), "a sweep directory was left behind");
        assert!(
            !dir.path().join("reports").exists(),
            "a sweep directory was left behind"
        );
    }
    // Axes that are each allowed but whose product overflows.
    let mut text = format!("{GOOD}\n[sweep]\n");
    for k in [
        "run.seed",
        "platform.faas.keep_alive",
        "run.replications",
        "platform.faas.memory",
    ] {
        text.push_str(&format!(
            "\"{k}\" = {{ from = 1, to = 1000000, step = 1 }}\n"
        ));
    }
    rejects(&text, &["at most 1000000 are allowed"]);
}

/// Every CSV in `dir`, read by the `csv` crate (strict: every record has the header's length).
fn strict_csvs(dir: &Path) -> Vec<(String, Vec<csv::StringRecord>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "csv") {
            let mut rd = csv::Reader::from_path(&p).unwrap();
            let n = rd.headers().unwrap().len();
            let recs: Vec<csv::StringRecord> = rd
                .records()
                .map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", p.display())))
                .collect();
            assert!(recs.iter().all(|r| r.len() == n), "{}", p.display());
            out.push((p.file_name().unwrap().to_string_lossy().into_owned(), recs));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

const AWKWARD: &str = r#"name = "awkward"
[run]
horizon = "30s"
replications = 2
slo = "300ms"
[workload]
arrivals = { kind = "poisson", rate = "3/s" }
[[stage]]
name = "pre,process"
service = { kind = "exponential", mean = "50ms" }
[[stage]]
name = "say \"infer\""
service = { kind = "exponential", mean = "100ms" }
[[policy]]
kind = "all-faas"
name = "faas,1769MB"
[[policy]]
kind = "vm-fixed"
vms = 1
name = "the \"fixed\" one, 1 VM"
"#;

#[test]
fn names_with_commas_and_quotes_give_csv_that_a_strict_reader_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let (code, err) = infersim(
        dir.path(),
        AWKWARD,
        &["run", "--no-plots", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let files = strict_csvs(&out);
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    for f in [
        "functions.csv",
        "latency_cdf.csv",
        "stats.csv",
        "summary.csv",
        "timeseries.csv",
    ] {
        assert!(names.contains(&f), "{f} missing: {names:?}");
    }
    for (file, recs) in &files {
        let policies: std::collections::BTreeSet<&str> = recs.iter().map(|r| &r[0]).collect();
        assert_eq!(
            policies.into_iter().collect::<Vec<_>>(),
            ["faas,1769MB", "the \"fixed\" one, 1 VM"],
            "{file}"
        );
    }
    let summary = &files.iter().find(|f| f.0 == "summary.csv").unwrap().1;
    assert!(
        summary.iter().any(|r| r[2].contains("pre,process")),
        "no per-stage metric"
    );
    assert!(
        summary.iter().any(|r| r[2].contains("say \"infer\"")),
        "no per-stage metric"
    );
    // `plot` re-reads these files.
    let plot = bin().arg("plot").arg(&out).output().unwrap();
    let err = no_panic(&plot);
    assert!(plot.status.success(), "plot failed: {err}");
    assert!(out.join("plots").is_dir());

    // A sweep of the same scenario: results.csv and summary.csv, then `plot` on its directory.
    let sweep = format!("{AWKWARD}\n[sweep]\n\"workload.arrivals.rate\" = [\"2/s\", \"4/s\"]\n");
    let sout = dir.path().join("sweep");
    let (code, err) = infersim(
        dir.path(),
        &sweep,
        &["sweep", "--no-plots", "--out", sout.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let files = strict_csvs(&sout);
    assert!(files.iter().any(|f| f.0 == "results.csv"));
    assert!(files.iter().any(|f| f.0 == "summary.csv"));
    let plot = bin().arg("plot").arg(&sout).output().unwrap();
    let err = no_panic(&plot);
    assert!(plot.status.success(), "plot failed: {err}");
}

#[test]
fn names_with_line_breaks_or_control_characters_are_rejected() {
    for (from, to, key) in [
        (
            "name = \"faas,1769MB\"",
            "name = \"faas\\n1769MB\"",
            "policy[0].name",
        ),
        (
            "name = \"pre,process\"",
            "name = \"pre\\tprocess\"",
            "stage[0].name",
        ),
        ("name = \"awkward\"", "name = \"awk\\u0007ward\"", "name"),
    ] {
        rejects(
            &AWKWARD.replace(from, to),
            &[key, "no line breaks, tabs or other control characters"],
        );
    }
}

#[test]
fn values_that_would_give_silently_wrong_results_are_rejected() {
    rejects(
        &GOOD.replace("horizon = \"60s\"", "horizon = \"60s\"\nslo = \"0s\""),
        &["run.slo", "slo must be > 0"],
    );
    for w in ["inf", "nan", "-1.0", "0.0", "1e308"] {
        let mix = format!(
            "service = {{ kind = \"mixture\", components = [ {{ weight = {w}, dist = {{ kind = \"constant\", value = \"1s\" }} }}, {{ weight = 1e308, dist = {{ kind = \"constant\", value = \"2s\" }} }} ] }}"
        );
        rejects(
            &GOOD.replace(
                "service = { kind = \"lognormal\", median = \"100ms\", p99 = \"1s\" }",
                &mix,
            ),
            &["stage[0].service", "mixture"],
        );
    }
    // A trace slowed down so far that no request falls in the horizon.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trace.csv"), "t\n0\n100\n200\n300\n").unwrap();
    for speed in ["1e-300", "1e300", "1e-7"] {
        let text = GOOD.replace(
            "arrivals = { kind = \"poisson\", rate = \"5/s\" }",
            &format!("arrivals = {{ kind = \"trace\", format = \"csv\", path = \"trace.csv\", time_column = \"t\", time_unit = \"ms\", speed = {speed} }}"),
        );
        let (code, err) = infersim(dir.path(), &text, &["validate"]);
        assert_eq!(code, 2, "{speed}: {err}");
        assert!(
            err.contains("workload.arrivals")
                && err.contains("speed must be from 0.000001 to 1000000"),
            "{err}"
        );
    }
    // `--jobs 0`.
    for cmd in ["run", "sweep"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let (code, err) = infersim(
            dir.path(),
            GOOD,
            &[
                cmd,
                "--jobs",
                "0",
                "--no-plots",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("--jobs must be at least 1"), "{err}");
        assert!(!out.exists());
    }
}

#[test]
fn integer_errors_name_the_key_and_the_range_in_words() {
    let hybrid = GOOD.replace(
        "kind = \"all-faas\"",
        "kind = \"hybrid\"\nvms = 1\nmax_queue = -1",
    );
    rejects(
        &hybrid,
        &[
            "policy[0].max_queue",
            "`max_queue` must be a whole number from 0 to 4294967295; found -1",
        ],
    );
    rejects(
        &GOOD.replace("horizon = \"60s\"", "horizon = \"60s\"\nreplications = -3"),
        &[
            "run.replications",
            "a whole number from 0 to 4294967295; found -3",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trace.csv"), "t\n0\n100\n").unwrap();
    let text = GOOD.replace(
        "arrivals = { kind = \"poisson\", rate = \"5/s\" }",
        "arrivals = { kind = \"trace\", format = \"csv\", path = \"trace.csv\", time_column = \"t\", time_unit = \"ms\", repeat = 1e12 }",
    );
    let (code, err) = infersim(dir.path(), &text, &["validate"]);
    assert_eq!(code, 2, "{err}");
    for n in [
        "workload.arrivals.repeat",
        "a whole number from 0 to 4294967295",
        "1000000000000",
    ] {
        assert!(err.contains(n), "{n:?} missing in: {err}");
    }
    assert!(!err.contains("u32"), "{err}");
}

/// `GOOD` with `from` replaced by `to` (which must occur).
fn good_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replace(from, to)
}

const POLICY: &str = "[[policy]]\nkind = \"all-faas\"\n";

#[test]
fn quantities_that_would_exhaust_memory_or_time_are_rejected_naming_the_key_and_limit() {
    let rate = "arrivals = { kind = \"poisson\", rate = \"5/s\" }";
    let horizon = "horizon = \"60s\"";
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            good_with(horizon, "horizon = \"100000000000000000000s\""),
            vec!["run.horizon", "584 years"],
        ),
        (
            good_with(horizon, "horizon = \"10000000000s\""),
            vec![
                "workload.arrivals",
                "5.0e10 requests",
                "100,000,000",
                "requests =",
            ],
        ),
        (
            good_with(
                rate,
                "arrivals = { kind = \"poisson\", rate = \"1000000000/s\" }",
            ),
            vec![
                "workload.arrivals",
                "6.0e10 requests",
                "[run.limits] requests",
            ],
        ),
        (
            good_with(horizon, "horizon = \"60s\"\nsample_interval = \"1ns\""),
            vec![
                "run.sample_interval",
                "time-series samples",
                "[run.limits] samples",
            ],
        ),
        (
            good_with(
                POLICY,
                "[[policy]]\nkind = \"vm-autoscale\"\ninterval = \"1ns\"\n",
            ),
            vec!["policy[0].interval", "fires 6.0e10 times", "timer_events"],
        ),
        (
            good_with(
                POLICY,
                "[[policy]]\nkind = \"libra\"\nepoch = \"1ns\"\ncapacity_per_vm = 10.0\n",
            ),
            vec!["policy[0].epoch", "timer_events"],
        ),
        (
            good_with(
                POLICY,
                "[[policy]]\nkind = \"libra\"\nmax = 0\ncapacity_per_vm = 10.0\n",
            ),
            vec!["policy[0].max", "never be served", "all-faas"],
        ),
        (
            good_with(
                "memory = \"1024MB\"",
                "memory = \"1024MB\"\nprovisioned_concurrency = 1000000000",
            ),
            vec![
                "platform.faas.provisioned_concurrency",
                "1,000,000",
                "instances",
            ],
        ),
        (
            good_with(
                "memory = \"1024MB\"",
                "memory = \"1024MB\"\nconcurrency_limit = 1\non_throttle = { kind = \"retry\", delay = \"0s\", max_attempts = 1000000000 }",
            ),
            vec!["on_throttle.max_attempts", "1,000", "retries"],
        ),
        (
            good_with(
                "memory = \"1024MB\"",
                "memory = \"1024MB\"\nconcurrency_limit = 1\non_throttle = { kind = \"retry\", delay = \"0s\", max_attempts = 5 }",
            ),
            vec!["on_throttle.delay", "same instant"],
        ),
        (
            good_with("[[stage]]\n", "[[stage]]\ntasks = 1000000000\n"),
            vec!["stage[0].tasks", "instances"],
        ),
        (
            good_with(horizon, "horizon = \"60s\"\nlimits = { requests = 0 }"),
            vec!["run.limits.requests", "≥ 1"],
        ),
    ];
    for (text, needles) in &cases {
        rejects(text, needles);
    }
}

#[test]
fn a_raised_limit_admits_what_the_default_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let fast = good_with(
        "horizon = \"60s\"",
        "horizon = \"1s\"\nsample_interval = \"100ns\"",
    );
    let (code, err) = infersim(dir.path(), &fast, &["validate"]);
    assert_eq!(code, 2, "{err}");
    let raised = fast.replace(
        "sample_interval = \"100ns\"",
        "sample_interval = \"100ns\"\nlimits = { samples = 20000000 }",
    );
    let (code, err) = infersim(dir.path(), &raised, &["validate"]);
    assert_eq!(code, 0, "{err}");
}

/// summary.csv of DIR as (metric → value) for its single policy and replication.
fn summary(dir: &Path) -> std::collections::BTreeMap<String, String> {
    let mut r = csv::Reader::from_path(dir.join("summary.csv")).unwrap();
    r.records()
        .map(|x| x.unwrap())
        .map(|x| (x[2].to_string(), x[3].to_string()))
        .collect()
}

#[test]
fn requests_that_outlast_the_drain_limit_are_counted_unfinished_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let text = good_with(
        "service = { kind = \"lognormal\", median = \"100ms\", p99 = \"1s\" }",
        "service = { kind = \"constant\", value = \"1000000s\" }",
    )
    .replace(
        "horizon = \"60s\"",
        "horizon = \"60s\"\nlimits = { drain = \"2h\" }",
    );
    let (code, err) = infersim(dir.path(), &text, &["run", "--no-plots", "--out", "out"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: policy \"all-faas\"") && err.contains("`unfinished`"),
        "{err}"
    );
    let s = summary(&dir.path().join("out"));
    let n = |k: &str| s[k].parse::<f64>().unwrap();
    assert!(n("requests") > 200.0, "{s:?}");
    assert_eq!(n("completed"), 0.0);
    assert_eq!(n("unfinished"), n("requests") - n("dropped"));
    // The run stopped at horizon + drain, not at the 10⁶ s completions.
    assert_eq!(n("end_time_s"), 60.0 + 7200.0);
    // A run whose requests all finish has none unfinished, and conserves its requests.
    let (code, err) = infersim(dir.path(), GOOD, &["run", "--no-plots", "--out", "ok"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let s = summary(&dir.path().join("ok"));
    let n = |k: &str| s[k].parse::<f64>().unwrap();
    assert_eq!(n("unfinished"), 0.0);
    assert_eq!(n("requests"), n("completed") + n("dropped"));
}

#[test]
fn exit_codes_tell_bad_input_from_a_run_that_failed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-file"), "not a directory").unwrap();
    // --out naming a file is bad input (2), caught before the run.
    let (code, err) = infersim(dir.path(), GOOD, &["run", "--no-plots", "--out", "a-file"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("a file, not a directory"), "{err}");
    // A report that cannot be written while running (below a file) is a run failure (3).
    let (code, err) = infersim(
        dir.path(),
        GOOD,
        &["run", "--no-plots", "--out", "a-file/reports"],
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("cannot write") && err.contains("summary.csv"),
        "{err}"
    );
    // Too many worker threads: one message, exit 2, no thread is started.
    let (code, err) = infersim(dir.path(), GOOD, &["run", "--jobs", "100000"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches("--jobs").count(), 1, "{err}");
    assert!(err.contains("at most 1024"), "{err}");
}

#[test]
fn inputs_the_fuzzers_found_slow_or_endless_are_rejected() {
    // On periods so short that about 1.5 million of them pass per arrival.
    rejects(
        &good_with(
            "arrivals = { kind = \"poisson\", rate = \"5/s\" }",
            "arrivals = { kind = \"on-off\", rate = \"0.001/s\", on = \"655360ns\", off = \"30269s\" }",
        ),
        &["workload.arrivals", "on-off", "rate × on must be at least"],
    );
    // A device as a trace would be read without end.
    rejects(
        &good_with(
            "arrivals = { kind = \"poisson\", rate = \"5/s\" }",
            "arrivals = { kind = \"trace\", format = \"per-second-counts\", path = \"/dev/zero\" }",
        ),
        &["workload.arrivals", "not a regular file"],
    );
}

#[test]
fn run_refuses_a_directory_holding_another_commands_output() {
    let dir = tempfile::tempdir().unwrap();
    let sweep_dir = dir.path().join("a-sweep");
    std::fs::create_dir(&sweep_dir).unwrap();
    std::fs::write(sweep_dir.join("sweep.json"), "{}\n").unwrap();
    std::fs::write(sweep_dir.join("results.csv"), "point,policy\n").unwrap();
    let (code, err) = infersim(dir.path(), GOOD, &["run", "--no-plots", "--out", "a-sweep"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("output of a sweep") && err.contains("sweep.json, results.csv"),
        "{err}"
    );
    // Nothing was written beside the sweep's files.
    let mut names: Vec<_> = std::fs::read_dir(&sweep_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["results.csv", "sweep.json"]);
    // `infersim accuracy` refuses a run's directory before it loads any model.
    let (code, err) = infersim(dir.path(), GOOD, &["run", "--no-plots", "--out", "a-run"]);
    assert_eq!(code, 0, "{err}");
    let out = bin()
        .args(["accuracy", "--out", "a-run"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("output of `infersim run` (summary.csv"),
        "{err}"
    );
    // A sweep refuses the run's directory too.
    let swept = format!("{GOOD}[sweep]\n\"workload.arrivals.rate\" = [\"1/s\", \"2/s\"]\n");
    let (code, err) = infersim(dir.path(), &swept, &["sweep", "--out", "a-run"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("stats.csv"), "{err}");
}

#[test]
fn a_rerun_removes_the_optional_files_of_an_earlier_run_it_does_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    std::fs::create_dir(&out).unwrap();
    // As an earlier MoE run into the same directory would have left it.
    std::fs::write(out.join("moe_layers.csv"), "policy\n").unwrap();
    let (code, err) = infersim(dir.path(), GOOD, &["run", "--no-plots", "--out", "r"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.join("moe_layers.csv").exists());
    assert!(out.join("summary.csv").is_file());
}

/// Runs `infersim <args>` in `dir`; returns the exit code and standard error.
fn command(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = bin().args(args).current_dir(dir).output().unwrap();
    let err = no_panic(&out);
    (out.status.code().unwrap_or(-1), err)
}

#[test]
fn plot_and_check_reject_files_cut_short_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = infersim(
        dir.path(),
        GOOD,
        &["run", "--no-plots", "--replications", "2", "--out", "r"],
    );
    assert_eq!(code, 0, "{err}");
    let r = dir.path().join("r");
    let whole = |name: &str| std::fs::read(r.join(name)).unwrap();
    let restore = |name: &str, bytes: &[u8]| std::fs::write(r.join(name), bytes).unwrap();
    let (code, err) = command(dir.path(), &["plot", "r"]);
    assert_eq!(code, 0, "the whole directory plots: {err}");
    for name in ["summary.csv", "timeseries.csv", "latency_cdf.csv"] {
        let bytes = whole(name);
        // Cut in the middle of a line: the file and that line are named.
        let cut = bytes.len() - 3;
        let line = bytes[..cut].iter().filter(|&&b| b == b'\n').count() + 1;
        restore(name, &bytes[..cut]);
        let (code, err) = command(dir.path(), &["plot", "r"]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains(name) && err.contains(&format!("line {line} ends without a newline")),
            "{name}: {err}"
        );
        restore(name, &bytes);
    }
    // summary.csv cut at the end of a line: the replication it cut short is named.
    let bytes = whole("summary.csv");
    let text = String::from_utf8(bytes.clone()).unwrap();
    let keep: Vec<&str> = text.lines().collect();
    restore(
        "summary.csv",
        (keep[..keep.len() - 5].join("\n") + "\n").as_bytes(),
    );
    let (code, err) = command(dir.path(), &["plot", "r"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("summary.csv")
            && err.contains("all-faas replication 1")
            && err.contains("cut short"),
        "{err}"
    );
    restore("summary.csv", &bytes);
    // A baseline cut short is refused by `check`, not read as a shorter gate.
    let path = dir.path().join("scenario.toml");
    let (code, err) = command(
        dir.path(),
        &[
            "check",
            path.to_str().unwrap(),
            "--baseline",
            "base.csv",
            "--update",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let base = std::fs::read(dir.path().join("base.csv")).unwrap();
    std::fs::write(dir.path().join("base.csv"), &base[..base.len() - 4]).unwrap();
    let (code, err) = command(
        dir.path(),
        &["check", path.to_str().unwrap(), "--baseline", "base.csv"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("base.csv") && err.contains("ends without a newline"),
        "{err}"
    );
}

#[test]
fn a_trace_line_longer_than_the_cap_is_an_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    // Good lines, then 2 MiB without a line break (a binary file, a trace whose line breaks
    // were lost).
    for (format, head, extra, line) in [
        ("per-second-counts", "1\n2\n", "", 3),
        (
            "csv",
            "t\n1\n",
            r#", time_column = "t", time_unit = "s""#,
            3,
        ),
        (
            "mooncake",
            "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 5}\n",
            r#", prefill = "0.2ms", decode = "20ms""#,
            2,
        ),
    ] {
        let mut bytes = head.as_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(b'7', 2 << 20));
        std::fs::write(dir.path().join("long.txt"), &bytes).unwrap();
        let text = GOOD.replace(
            r#"arrivals = { kind = "poisson", rate = "5/s" }"#,
            &format!(
                r#"arrivals = {{ kind = "trace", format = "{format}", path = "long.txt"{extra} }}"#
            ),
        );
        let (code, err) = infersim(dir.path(), &text, &["validate"]);
        assert_eq!(code, 2, "{format}: {err}");
        assert!(
            err.contains(&format!("long.txt: line {line}:")) && err.contains("longer than 1 MiB"),
            "{format}: {err}"
        );
    }
}

#[test]
fn markov_modulated_arrivals_that_would_cycle_for_hours_are_rejected() {
    let with = |arrivals: &str| {
        GOOD.replace(
            r#"arrivals = { kind = "poisson", rate = "5/s" }"#,
            &format!("arrivals = {arrivals}"),
        )
    };
    // Six billion state changes in a minute: the timer-events guard names the process.
    rejects(
        &with(
            r#"{ kind = "mmpp", rates = ["1000000/s", "1000000/s"], mean_durations = ["10ns", "10ns"] }"#,
        ),
        &["workload.arrivals", "changes state about", "timer_events"],
    );
    // One arrival in half a million cycles: drawing the cycles between arrivals is the hang.
    rejects(
        &with(
            r#"{ kind = "mmpp", rates = ["1/s", "0.000001/s"], mean_durations = ["1us", "1us"] }"#,
        ),
        &[
            "workload.arrivals",
            "Σ rate × mean duration",
            "at least 0.00001",
        ],
    );
}

#[test]
fn replications_beyond_the_runs_limit_are_rejected_before_anything_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    // The fuzzer's memory abort: a sweep over replications in the hundreds of millions.
    let swept = format!("{GOOD}[sweep]\n\"run.replications\" = [254742272, 805306367]\n");
    let (code, err) = infersim(dir.path(), &swept, &["validate"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("run.replications")
            && err.contains("over the limit of 100,000")
            && err.contains("runs = "),
        "{err}"
    );
    // The same through the command line.
    let (code, err) = infersim(dir.path(), GOOD, &["run", "--replications", "1000000"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--replications 1000000") && err.contains("1,000,000 runs"),
        "{err}"
    );
    // A raised limit admits them (validation only: nothing runs).
    let raised = GOOD.replace(
        "horizon = \"60s\"\n",
        "horizon = \"60s\"\nreplications = 200000\n[run.limits]\nruns = 200000\n",
    );
    let (code, err) = infersim(dir.path(), &raised, &["validate"]);
    assert_eq!(code, 0, "{err}");
}
