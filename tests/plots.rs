//! Figures (SVG and PNG, checked for size and content), report.md, `infersim plot` and the
//! `--json` summary.

use std::path::Path;
use std::process::Command;

use infersim::report::plot::{self, BarFigure, Line, LineFigure, Marks, Panel};

const RUN: &str = r#"name = "plots"
description = "figures for the tests"
[run]
horizon = "10m"
replications = 3
slo = "250ms"
[workload]
arrivals = { kind = "on-off", rate = "20/s", on = "1m", off = "2m" }
[platform.vm]
instance = "c6i.xlarge"
[[stage]]
service = { kind = "lognormal", median = "80ms", p99 = "400ms" }
[[policy]]
kind = "all-faas"
[[policy]]
kind = "vm-autoscale"
interval = "15s"
cooldown = "30s"
[[policy]]
kind = "hybrid"
vms = 1
"#;

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

fn check_svg(path: &Path, needles: &[&str]) {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", path.display());
    assert!(
        svg.len() > 2_000,
        "{}: only {} bytes",
        path.display(),
        svg.len()
    );
    for n in needles {
        assert!(svg.contains(n), "{}: {n:?} missing", path.display());
    }
    // One font family everywhere.
    assert!(svg.contains("font-family=\"sans-serif\""));
}

fn check_png(path: &Path) {
    let png = std::fs::read(path).unwrap();
    assert!(
        png.len() > 10_000,
        "{}: only {} bytes",
        path.display(),
        png.len()
    );
    assert_eq!(png_size(&png), (1440, 880), "{}", path.display());
}

#[test]
fn figures_render_to_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let fig = LineFigure {
        panels: vec![Panel {
            x_label: "offered load (req/s)".into(),
            y_label: "cost per run ($)".into(),
            y_range: None,
            lines: (0..3)
                .map(|k| Line {
                    label: format!("policy {k}"),
                    style: k,
                    points: (1..=5).map(|x| (x as f64, (x * (k + 1)) as f64)).collect(),
                    band: (1..=5)
                        .map(|x| {
                            (
                                x as f64,
                                (x * (k + 1)) as f64 - 0.5,
                                (x * (k + 1)) as f64 + 0.5,
                            )
                        })
                        .collect(),
                    marks: Marks::All,
                })
                .collect(),
            ..Default::default()
        }],
    };
    let files = plot::save(&fig, dir.path(), "lines").unwrap();
    assert_eq!(files.len(), 2);
    check_svg(
        &dir.path().join("lines.svg"),
        &[
            "offered load (req/s)",
            "cost per run ($)",
            "policy 2",
            "#0072B2",
            "#D55E00",
        ],
    );
    check_png(&dir.path().join("lines.png"));

    let bars = BarFigure {
        x_label: "mean cost per run ($)".into(),
        categories: vec!["all-faas".into(), "hybrid".into()],
        components: vec!["FaaS compute".into(), "VMs".into()],
        values: vec![vec![0.5, 0.0], vec![0.2, 0.4]],
    };
    plot::save(&bars, dir.path(), "bars").unwrap();
    check_svg(
        &dir.path().join("bars.svg"),
        &["mean cost per run ($)", "all-faas", "FaaS compute", "VMs"],
    );
    check_png(&dir.path().join("bars.png"));
}

#[test]
fn run_writes_figures_report_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plots.toml");
    std::fs::write(&path, RUN).unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out_dir)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // stdout is one JSON document.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["scenario"], "plots");
    assert_eq!(v["replications"], 3);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[1]["policy"], "vm-autoscale");
    let cost = &results[0]["metrics"]["cost_total_usd"];
    assert!(cost["mean"].as_f64().unwrap() > 0.0);
    assert!(cost["ci95_low"].as_f64().unwrap() <= cost["mean"].as_f64().unwrap());
    assert_eq!(cost["n"], 3);

    let plots = out_dir.join("plots");
    check_svg(
        &plots.join("latency_cdf.svg"),
        &[
            "end-to-end latency x (ms, log scale)",
            "fraction of requests ≤ x",
            "fraction ≥ x (log scale)",
            "all-faas",
            "hybrid",
        ],
    );
    check_svg(
        &plots.join("cost_breakdown.svg"),
        &[
            "mean cost per run ($)",
            "FaaS compute",
            "VMs",
            "vm-autoscale",
        ],
    );
    check_svg(
        &plots.join("cost_vs_slo.svg"),
        &["SLO violations (% of requests)", "cost per run ($)"],
    );
    check_svg(
        &plots.join("timeseries.svg"),
        &["time (min)", "function instances", "VMs running"],
    );
    for f in ["latency_cdf", "cost_breakdown", "cost_vs_slo", "timeseries"] {
        check_png(&plots.join(format!("{f}.png")));
    }
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.starts_with("# plots\n"));
    assert!(md.contains("| policy | requests |"));
    assert!(md.contains("![latency_cdf](plots/latency_cdf.svg)"));
    assert!(md.contains("## Cost by component"));

    // `infersim plot` redraws the same figures from the CSV files.
    let before = std::fs::read(plots.join("cost_vs_slo.svg")).unwrap();
    std::fs::remove_dir_all(&plots).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .arg("plot")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 figures"));
    assert_eq!(
        std::fs::read(plots.join("cost_vs_slo.svg")).unwrap(),
        before
    );
}

#[test]
fn sweep_figures_have_bands_against_the_swept_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        format!("{RUN}\n[sweep]\n\"workload.arrivals.rate\" = {{ from = 10, to = 30, step = 10, unit = \"/s\" }}\n"),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .arg("sweep")
        .arg(&path)
        .arg("--out")
        .arg(&out_dir)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["points"], 3);
    assert_eq!(v["runs"], 27);
    assert_eq!(v["results"][3]["params"]["workload.arrivals.rate"], "20/s");
    let plots = out_dir.join("plots");
    check_svg(
        &plots.join("cost_vs_workload.arrivals.rate.svg"),
        &["arrival rate (1/s)", "cost per run ($)", "<polygon"],
    );
    check_svg(
        &plots.join("p99_vs_workload.arrivals.rate.svg"),
        &["p99 latency (ms)"],
    );
    check_png(&plots.join("slo_vs_workload.arrivals.rate.png"));
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.contains("| point | `workload.arrivals.rate` | policy |"));
    assert!(md.contains("| P2 | 30/s | hybrid |"));
}

#[test]
fn keepalive_tradeoff_is_drawn_for_multi_function_runs() {
    // A run's summary.csv with the trade-off metrics of three keep-alive policies.
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("policy,replication,metric,value\n");
    for (p, cold, idle) in [
        ("no-keepalive", 100.0, 0.0),
        ("fixed-10m", 59.0, 3.0e8),
        ("hybrid-histogram", 50.0, 2.8e8),
    ] {
        for rep in 0..2 {
            csv.push_str(&format!(
                "{p},{rep},cold_start_pct_p75_functions,{}\n",
                cold + rep as f64
            ));
            csv.push_str(&format!(
                "{p},{rep},idle_memory_gb_s,{}\n",
                idle * (1.0 + 0.01 * rep as f64)
            ));
        }
    }
    std::fs::write(dir.path().join("summary.csv"), csv).unwrap();
    let plots = plot::plot_dir(dir.path()).unwrap();
    assert!(
        plots.iter().any(|p| p.stem == "keepalive_tradeoff"),
        "{:?}",
        plots.iter().map(|p| &p.stem).collect::<Vec<_>>()
    );
    check_svg(
        &dir.path().join("plots/keepalive_tradeoff.svg"),
        &[
            "relative to fixed-10m",
            "75th percentile over functions (%)",
            "hybrid-histogram",
        ],
    );
    check_png(&dir.path().join("plots/keepalive_tradeoff.png"));
}

#[test]
fn latency_cdf_csv_holds_every_request_and_agrees_with_the_percentiles() {
    use infersim::report::Metric;
    use infersim::report::latency::{latency_cdf_csv, read_cdf_csv};
    let sc = infersim::scenario::Scenario::from_str_at(RUN, Path::new("plots.toml")).unwrap();
    // One replication: the CDF's quantiles are the reported percentiles, exactly.
    let one = infersim::run_scenario(&sc, None, Some(1)).unwrap();
    let curves = read_cdf_csv(&latency_cdf_csv(&one), "latency_cdf.csv").unwrap();
    assert_eq!(curves.len(), 3);
    for (c, runs) in curves.iter().zip(&one.results) {
        let run = &runs[0];
        let total: u64 = c.points.iter().map(|p| p.requests).sum();
        assert_eq!(
            total as f64,
            run.get(Metric::Completed).unwrap(),
            "{}",
            c.policy
        );
        for (q, m) in [
            (0.5, Metric::LatencyP50),
            (0.99, Metric::LatencyP99),
            (0.999, Metric::LatencyP999),
        ] {
            let at = c.points.iter().find(|p| p.cdf >= q).unwrap();
            let reported = run.get(m).unwrap();
            assert!(
                (at.latency_s - reported).abs() <= 1e-12 * reported,
                "{} q = {q}: CDF gives {} s, the report {} s",
                c.policy,
                at.latency_s,
                reported
            );
        }
        let last = c.points.last().unwrap();
        assert_eq!(last.latency_s, run.get(Metric::LatencyMax).unwrap());
        assert_eq!(last.cdf, 1.0);
        assert_eq!(c.points[0].at_least, 1.0);
        assert!(last.at_least > 0.0 && last.at_least <= 1.0 / total as f64 * 1.000_001);
        assert!(c.points.windows(2).all(|w| w[0].latency_s < w[1].latency_s
            && w[0].cdf <= w[1].cdf
            && w[0].at_least >= w[1].at_least));
    }
    // Three replications are pooled: every measured request of every replication is counted.
    let three = infersim::run_scenario(&sc, None, None).unwrap();
    let curves = read_cdf_csv(&latency_cdf_csv(&three), "latency_cdf.csv").unwrap();
    for (c, runs) in curves.iter().zip(&three.results) {
        let total: u64 = c.points.iter().map(|p| p.requests).sum();
        let completed: f64 = runs.iter().map(|r| r.get(Metric::Completed).unwrap()).sum();
        assert_eq!(total as f64, completed, "{}", c.policy);
    }
}

#[test]
fn the_pareto_frontier_keeps_only_undominated_points() {
    let pts = [
        (1.0, 5.0),
        (2.0, 3.0),
        (3.0, 4.0),
        (4.0, 1.0),
        (2.0, 6.0),
        (f64::NAN, 0.0),
    ];
    assert_eq!(
        plot::pareto_frontier(pts),
        vec![(1.0, 5.0), (2.0, 3.0), (4.0, 1.0)]
    );
    // Equal x: only the cheaper point.
    assert_eq!(
        plot::pareto_frontier([(1.0, 2.0), (1.0, 1.0)]),
        vec![(1.0, 1.0)]
    );
}

const CODED: &str = r#"name = "coded-plots"
[run]
horizon = "60s"
replications = 2
[workload]
arrivals = { kind = "poisson", rate = "100/s" }
group = { size = 4, timeout = "100ms" }
[[stage]]
service = { kind = "lognormal", median = "40ms", p99 = "150ms" }
[coded]
slowdown = { probability = 0.05, factor = 10.0 }
[[policy]]
kind = "uncoded"
[[policy]]
kind = "replication"
stragglers = 1
[[policy]]
kind = "approxifer"
stragglers = 1
"#;

#[test]
fn coded_runs_draw_cost_against_p99_with_the_frontier() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coded.toml");
    std::fs::write(&path, CODED).unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .args([
            "run",
            path.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plots = out_dir.join("plots");
    check_svg(
        &plots.join("cost_vs_slo.svg"),
        &["p99 latency (ms)", "cost per run ($)", "Pareto frontier"],
    );
    check_svg(
        &plots.join("latency_cdf.svg"),
        &[
            "uncoded",
            "replication",
            "approxifer",
            "fraction ≥ x (log scale)",
        ],
    );
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(
        md.contains("`latency_cdf.csv`") && md.contains("`functions.csv`"),
        "{md}"
    );
    assert!(md.contains("Pareto-optimal"));
}

/// An accuracy table with the shape of `infersim accuracy` output, made up for the figures.
fn accuracy_rows() -> Vec<infersim::coded::accuracy::table::Row> {
    use infersim::coded::accuracy::table::{Adversary, Row, Scheme};
    let row = |scheme, k: usize, s: usize, e: usize, adversary, sigma: Option<f64>| {
        let acc = 0.99 - 0.01 * k as f64 - 0.02 * s as f64 - 0.005 * e as f64;
        Row {
            model: "digits-mlp".into(),
            scheme,
            k,
            s,
            e,
            adversary,
            sigma,
            groups: 100,
            queries: 100 * k,
            accuracy: acc,
            ci95_low: acc - 0.01,
            ci95_high: acc + 0.01,
            detected_rate: (e > 0).then_some(0.9),
        }
    };
    let mut rows = Vec::new();
    for k in 2..=6 {
        rows.push(row(Scheme::Uncoded, k, 1, 0, Adversary::None, None));
        rows.push(row(Scheme::Parm, k, 1, 0, Adversary::None, None));
        for s in 1..=3 {
            rows.push(row(Scheme::Approxifer, k, s, 0, Adversary::None, None));
        }
    }
    for e in 1..=2 {
        for sigma in [1.0, 10.0] {
            rows.push(row(
                Scheme::Approxifer,
                6,
                1,
                e,
                Adversary::Gaussian,
                Some(sigma),
            ));
        }
        rows.push(row(Scheme::Approxifer, 6, 1, e, Adversary::SignFlip, None));
    }
    rows
}

#[test]
fn accuracy_figures_against_k_s_e_and_sigma() {
    use infersim::report::plot::accuracy::accuracy_figures;
    let dir = tempfile::tempdir().unwrap();
    let plots = accuracy_figures(&accuracy_rows(), dir.path()).unwrap();
    let stems: Vec<&str> = plots.iter().map(|p| p.stem.as_str()).collect();
    assert_eq!(
        stems,
        [
            "accuracy_vs_k",
            "accuracy_vs_s",
            "accuracy_vs_e",
            "accuracy_vs_sigma"
        ]
    );
    // Each figure says at which values it holds the other settings.
    assert!(
        plots[0].caption.contains("S = 1, E = 0"),
        "{}",
        plots[0].caption
    );
    assert!(
        plots[1].caption.contains("K = 6, E = 0"),
        "{}",
        plots[1].caption
    );
    assert!(
        plots[2].caption.contains("K = 6, S = 1"),
        "{}",
        plots[2].caption
    );
    let p = dir.path().join("plots");
    check_svg(
        &p.join("accuracy_vs_k.svg"),
        &[
            "queries per group K",
            "accuracy (%)",
            "uncoded",
            "parm",
            "approxifer",
        ],
    );
    check_svg(
        &p.join("accuracy_vs_e.svg"),
        &[
            "Byzantine workers E",
            "gaussian σ = 1",
            "gaussian σ = 10",
            "sign-flip",
        ],
    );
    check_svg(
        &p.join("accuracy_vs_sigma.svg"),
        &["E = 1", "E = 2", "(log scale)"],
    );
    // Integer settings keep their ticks on integers.
    let e = std::fs::read_to_string(p.join("accuracy_vs_e.svg")).unwrap();
    assert!(
        !e.contains(">0.5<") && !e.contains(">1.5<"),
        "fractional ticks on E"
    );
    for stem in stems {
        check_png(&p.join(format!("{stem}.png")));
    }
}

/// Copies a bundled accuracy table into a fresh directory and runs `infersim plot` on it.
fn plot_accuracy_table(table: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join(table),
        dir.path().join("accuracy.csv"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .arg("plot")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (dir, stdout)
}

#[test]
fn plot_draws_the_bundled_accuracy_tables() {
    // The paper's table: three data sets (one panel each), K = 8, 10, 12, S and E.
    let (dir, stdout) = plot_accuracy_table("approxifer_paper_accuracy.csv");
    assert!(stdout.contains("4 figures"), "{stdout}");
    check_svg(
        &dir.path().join("plots/accuracy_vs_k.svg"),
        &[
            "paper-resnet18-mnist",
            "paper-resnet18-cifar10",
            "parm",
            "approxifer",
        ],
    );
    // The measured digits table is K = 12 only, and its Byzantine rows have S = 0, which has no
    // straggler-only point: only the figure against S can be drawn.
    let (dir, stdout) = plot_accuracy_table("digits_mlp_accuracy.csv");
    assert!(stdout.contains("1 figure "), "{stdout}");
    assert!(dir.path().join("plots/accuracy_vs_s.svg").is_file());
    assert!(!dir.path().join("plots/accuracy_vs_k.svg").exists());
}

/// The text of every `<text>` element of an SVG, trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = t.split_once('>')?.1;
            Some(body.split("</text>").next()?.trim().to_string())
        })
        .collect()
}

#[test]
fn two_key_sweeps_are_small_multiples_with_one_legend_entry_per_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s2.toml");
    std::fs::write(
        &path,
        format!(
            "{RUN}\n[sweep]\n\"workload.arrivals.rate\" = [\"10/s\", \"30/s\"]\n\"platform.faas.keep_alive\" = [\"1m\", \"10m\"]\n"
        ),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .args([
            "sweep",
            path.to_str().unwrap(),
            "--replications",
            "2",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg =
        std::fs::read_to_string(out_dir.join("plots/cost_vs_workload.arrivals.rate.svg")).unwrap();
    let texts = svg_texts(&svg);
    // One panel per keep-alive value, titled in words; one legend entry per policy.
    assert!(texts.iter().any(|t| t == "keep-alive = 1m"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "keep-alive = 10m"), "{texts:?}");
    for p in ["all-faas", "vm-autoscale", "hybrid"] {
        assert_eq!(
            texts.iter().filter(|t| *t == p).count(),
            1,
            "{p}: {texts:?}"
        );
    }
    // One x-axis title, in words.
    assert_eq!(
        texts.iter().filter(|t| *t == "arrival rate (1/s)").count(),
        1
    );
    // The trade-off figure labels points by their swept values, never two labels alike at one
    // place, and draws no frontier across sweep points.
    let tradeoff = std::fs::read_to_string(out_dir.join("plots/cost_vs_slo.svg")).unwrap();
    let texts = svg_texts(&tradeoff);
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("10/s, ") || t.starts_with("30/s, ")),
        "{texts:?}"
    );
    assert!(
        !texts
            .iter()
            .any(|t| t.starts_with('P') && t[1..].parse::<u32>().is_ok())
    );
    assert!(!tradeoff.contains("Pareto frontier"));
}

// ---------------------------------------------------------------------------------------------
// MoE figures (issue 12 item 10).

/// A small MoE run: GPT2-MoE, 512-token batches, two served batches, two replications, a
/// latency limit; a predicting deployment, the oracle, LambdaML and the CPU cluster.
const MOE: &str = r#"name = "moe-plots"
[run]
horizon = "45min"
seed = 5
replications = 2
[workload]
arrivals = { kind = "constant", rate = "4/h" }
[platform.faas]
keep_alive = "30min"
[moe]
model = "gpt2-moe"
batch_tokens = 512
latency_limit = "60s"
[moe.routing]
profile_fraction = 0.5
test_batches = 2
[moe.routing.synthetic]
seed = 3
layers = 12
experts = 4
top_k = 1
sequences = 8
tokens_per_sequence = 512
skew = 1.2
vocabulary = 1000
token_affinity = 0.5
[[policy]]
kind = "moe-deploy"
name = "bayes"
predictor = "bayes"
[[policy]]
kind = "moe-deploy"
name = "oracle"
predictor = "oracle"
[[policy]]
kind = "moe-lambdaml"
name = "lambdaml"
[[policy]]
kind = "moe-cpu-cluster"
name = "cpu-cluster"
"#;

const MOE_POLICIES: [&str; 4] = ["bayes", "oracle", "lambdaml", "cpu-cluster"];

/// Runs [`MOE`] into a fresh directory (with its figures) and returns it and the output dir.
fn moe_run() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("moe.toml");
    std::fs::write(&path, MOE).unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, out_dir)
}

/// A box in SVG units: (left, top, right, bottom).
type Rect = (f64, f64, f64, f64);

/// One SVG element: its tag, attributes and (for `<text>`) its text.
#[derive(Clone, Debug)]
struct El {
    tag: String,
    attrs: Vec<(String, String)>,
    text: String,
}

impl El {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn num(&self, name: &str) -> f64 {
        self.attr(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }
    fn points(&self) -> Vec<(f64, f64)> {
        self.attr("points")
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|p| {
                let (x, y) = p.split_once(',')?;
                Some((x.parse().ok()?, y.parse().ok()?))
            })
            .collect()
    }
}

/// The elements of an SVG written by plotters (one element per tag, attributes quoted).
fn svg_elements(svg: &str) -> Vec<El> {
    svg.split('<')
        .skip(1)
        .filter(|c| !c.starts_with('/'))
        .map(|c| {
            let (head, body) = c.split_once('>').unwrap_or((c, ""));
            let tag: String = head
                .chars()
                .take_while(|ch| ch.is_ascii_alphanumeric())
                .collect();
            let mut attrs = Vec::new();
            let mut rest = &head[tag.len()..];
            while let Some(eq) = rest.find("=\"") {
                let name = rest[..eq].trim().to_string();
                let after = &rest[eq + 2..];
                let end = after.find('"').unwrap_or(after.len());
                attrs.push((name, after[..end].to_string()));
                rest = &after[(end + 1).min(after.len())..];
            }
            El {
                tag,
                attrs,
                text: body.trim().to_string(),
            }
        })
        .collect()
}

/// SVG text with its entities replaced by the characters they stand for.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The box (left, top, right, bottom) a horizontal text takes, measured in the figures' font
/// (`style::text_width`), its anchor and vertical offset as plotters writes them; `None` for
/// rotated text.
fn text_box(e: &El) -> Option<Rect> {
    if e.tag != "text" || e.attr("transform").is_some() {
        return None;
    }
    let size = e.num("font-size");
    let w = plot::style::text_width(&unescape(&e.text), size);
    let x = e.num("x");
    let y = e.num("y");
    let left = match e.attr("text-anchor") {
        Some("middle") => x - w / 2.0,
        Some("end") => x - w,
        _ => x,
    };
    let top = match e.attr("dy") {
        Some("0.76em") => y,
        Some("0.5ex") => y - 0.5 * size,
        Some("-0.5ex") => y - size,
        _ => y - 0.8 * size,
    };
    Some((left, top, left + w, top + size))
}

/// Asserts that no two horizontal texts of an SVG overlap (boxes shrunk by half a pixel).
fn assert_no_text_overlaps(name: &str, els: &[El]) {
    let boxes: Vec<(&str, Rect)> = els
        .iter()
        .filter_map(|e| Some((e.text.as_str(), text_box(e)?)))
        .filter(|(t, _)| !t.is_empty())
        .collect();
    for (i, (a, p)) in boxes.iter().enumerate() {
        for (b, q) in &boxes[..i] {
            let d = 0.5;
            let overlap =
                p.0 + d < q.2 - d && q.0 + d < p.2 - d && p.1 + d < q.3 - d && q.1 + d < p.3 - d;
            assert!(
                !overlap,
                "{name}: texts {a:?} {p:?} and {b:?} {q:?} overlap"
            );
        }
    }
}

/// The plotting areas (left, top, right, bottom) of an SVG: each long vertical black axis line
/// with the long horizontal one that starts at its foot.
fn plot_areas(els: &[El]) -> Vec<Rect> {
    let axes: Vec<Vec<(f64, f64)>> = els
        .iter()
        .filter(|e| e.tag == "polyline" && e.attr("stroke") == Some("#000000"))
        .map(El::points)
        .filter(|p| p.len() == 2)
        .collect();
    let mut areas = Vec::new();
    for v in axes
        .iter()
        .filter(|p| p[0].0 == p[1].0 && (p[0].1 - p[1].1).abs() > 40.0)
    {
        let (x, top, bottom) = (v[0].0, v[0].1.min(v[1].1), v[0].1.max(v[1].1));
        if let Some(h) = axes.iter().find(|h| {
            h[0].1 == h[1].1
                && (h[0].1 - bottom).abs() <= 2.0
                && (h[0].0.min(h[1].0) - x).abs() <= 2.0
                && (h[0].0 - h[1].0).abs() > 40.0
        }) {
            areas.push((x, top, h[0].0.max(h[1].0), bottom));
        }
    }
    areas
}

/// A marker's shape.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

/// The markers of an SVG: (colour, shape, centre). Squares are the small filled squares
/// (markers), not bars or legend boxes.
fn markers(els: &[El]) -> Vec<(String, Shape, (f64, f64))> {
    els.iter()
        .filter_map(|e| {
            let fill = e.attr("fill")?.to_string();
            if fill == "none" || fill == "#FFFFFF" {
                return None;
            }
            match e.tag.as_str() {
                "circle" => Some((fill, Shape::Circle, (e.num("cx"), e.num("cy")))),
                "rect" => {
                    let (w, h) = (e.num("width"), e.num("height"));
                    (w == h && w <= 16.0 && e.attr("stroke") == Some("none")).then(|| {
                        (
                            fill,
                            Shape::Square,
                            (e.num("x") + w / 2.0, e.num("y") + h / 2.0),
                        )
                    })
                }
                "polygon" => {
                    let p = e.points();
                    let c = (
                        p.iter().map(|q| q.0).sum::<f64>() / p.len() as f64,
                        p.iter().map(|q| q.1).sum::<f64>() / p.len() as f64,
                    );
                    match p.len() {
                        3 => Some((fill, Shape::Triangle, c)),
                        4 if p[0].0 == p[2].0 && p[1].1 == p[3].1 => {
                            Some((fill, Shape::Diamond, c))
                        }
                        _ => None,
                    }
                }
                _ => None,
            }
        })
        .collect()
}

/// A figure read back: its elements, plotting areas and the legend column (texts right of
/// every plotting area).
struct Drawn {
    name: String,
    els: Vec<El>,
    areas: Vec<Rect>,
    legend_x: f64,
}

impl Drawn {
    fn read(path: &Path) -> Drawn {
        let svg = std::fs::read_to_string(path).unwrap();
        let els = svg_elements(&svg);
        let areas = plot_areas(&els);
        assert!(!areas.is_empty(), "{}: no plotting area", path.display());
        let legend_x = areas.iter().map(|a| a.2).fold(0.0, f64::max) + 1.0;
        Drawn {
            name: path.display().to_string(),
            els,
            areas,
            legend_x,
        }
    }

    /// The legend's entries, top to bottom: (label, y).
    fn legend(&self) -> Vec<(String, f64)> {
        self.els
            .iter()
            .filter(|e| e.tag == "text" && e.num("x") > self.legend_x)
            .map(|e| (e.text.clone(), e.num("y")))
            .collect()
    }

    /// The texts outside the legend.
    fn texts(&self) -> Vec<&El> {
        self.els
            .iter()
            .filter(|e| e.tag == "text" && e.num("x") <= self.legend_x)
            .collect()
    }

    fn inside(&self, (l, t, r, b): Rect) -> bool {
        self.areas
            .iter()
            .any(|a| l >= a.0 - 1.0 && t >= a.1 - 1.0 && r <= a.2 + 1.0 && b <= a.3 + 1.0)
    }

    /// The legend's marker swatches: label → (colour, shape).
    fn legend_markers(&self) -> Vec<(String, (String, Shape))> {
        let ms = markers(&self.els);
        self.legend()
            .into_iter()
            .filter_map(|(label, y)| {
                let m = ms
                    .iter()
                    .find(|(_, _, c)| c.0 > self.legend_x && (c.1 - y).abs() <= 3.0)?;
                Some((label, (m.0.clone(), m.1)))
            })
            .collect()
    }

    /// The markers drawn in the plotting areas.
    fn plotted_markers(&self) -> Vec<(String, Shape, (f64, f64))> {
        markers(&self.els)
            .into_iter()
            .filter(|(_, _, c)| c.0 < self.legend_x && self.inside((c.0, c.1, c.0, c.1)))
            .collect()
    }

    /// Every marker in the plot has the shape its colour has in the legend, and every legend
    /// marker is plotted at least once; returns the number plotted per legend entry.
    fn assert_markers_match_legend(&self) -> Vec<(String, usize)> {
        let legend = self.legend_markers();
        assert!(!legend.is_empty(), "{}: no legend markers", self.name);
        let plotted = self.plotted_markers();
        for (colour, shape, c) in &plotted {
            let entry = legend.iter().find(|(_, (lc, _))| lc == colour);
            let Some((label, (_, ls))) = entry else {
                panic!(
                    "{}: a marker of colour {colour} at {c:?} has no legend entry",
                    self.name
                )
            };
            assert_eq!(shape, ls, "{}: {label}'s marker at {c:?}", self.name);
        }
        legend
            .iter()
            .map(|(label, (lc, _))| {
                let n = plotted.iter().filter(|(c, ..)| c == lc).count();
                assert!(
                    n > 0,
                    "{}: {label} is in the legend but not plotted",
                    self.name
                );
                (label.clone(), n)
            })
            .collect()
    }
}

/// The luma of a `#RRGGBB` colour (its grey level in a grayscale print).
fn luma(hex: &str) -> f64 {
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64;
    0.299 * c(1) + 0.587 * c(3) + 0.114 * c(5)
}

#[test]
fn moe_runs_draw_cost_by_layer_and_cost_against_throughput() {
    let (_tmp, out_dir) = moe_run();
    let plots = out_dir.join("plots");
    for stem in [
        "moe_cost_by_layer",
        "moe_cost_vs_throughput",
        "moe_tokens",
        "moe_choices",
    ] {
        check_png(&plots.join(format!("{stem}.png")));
    }
    // No moe_bo.csv, no convergence figure.
    assert!(!out_dir.join("moe_bo.csv").exists());
    assert!(!plots.join("moe_bo_convergence.svg").exists());
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    for stem in [
        "moe_cost_by_layer",
        "moe_cost_vs_throughput",
        "moe_tokens",
        "moe_choices",
    ] {
        assert!(
            md.contains(&format!("![{stem}](plots/{stem}.svg)")),
            "{stem}"
        );
    }
    assert!(!md.contains("moe_bo_convergence"));

    // Cost by layer: one legend entry per layer (12) from layer 11 at the top down to layer 0,
    // then the CPU cluster; a sequential palette whose grey levels rise layer by layer.
    let bars = Drawn::read(&plots.join("moe_cost_by_layer.svg"));
    let legend: Vec<String> = bars.legend().into_iter().map(|(l, _)| l).collect();
    let mut expected: Vec<String> = (0..12).rev().map(|l| format!("layer {l}")).collect();
    expected.push("CPU cluster (whole batch)".into());
    assert_eq!(legend, expected);
    let rects: Vec<&El> = bars.els.iter().filter(|e| e.tag == "rect").collect();
    let swatch = |label: &str| -> String {
        let y = bars.legend().iter().find(|(l, _)| l == label).unwrap().1;
        rects
            .iter()
            .find(|r| {
                r.num("x") > bars.legend_x && (r.num("y") + r.num("height") / 2.0 - y).abs() <= 3.0
            })
            .and_then(|r| r.attr("fill").map(str::to_string))
            .unwrap_or_else(|| panic!("no swatch for {label}"))
    };
    let colours: Vec<String> = (0..12).map(|l| swatch(&format!("layer {l}"))).collect();
    let lumas: Vec<f64> = colours.iter().map(|c| luma(c)).collect();
    assert!(
        lumas.windows(2).all(|w| w[1] - w[0] > 8.0),
        "grey levels of the layers {lumas:?}"
    );
    // Each FaaS policy's bar has one segment per layer in that layer's colour.
    for c in &colours {
        let n = rects
            .iter()
            .filter(|r| r.attr("fill") == Some(c.as_str()) && r.num("x") < bars.legend_x)
            .count();
        assert_eq!(n, 3, "segments of colour {c}");
    }
    // The names under the bars, once each, and the y-axis title in words.
    let texts = bars.texts();
    for p in MOE_POLICIES {
        assert_eq!(texts.iter().filter(|t| t.text == p).count(), 1, "{p}");
    }
    assert!(texts.iter().any(|t| t.text == "cost per batch ($)"));
    // Every bar's total is written inside the plotting area.
    let totals: Vec<&&El> = texts
        .iter()
        .filter(|t| t.text.parse::<f64>().is_ok() && t.attr("text-anchor") == Some("start"))
        .collect();
    assert!(
        totals.len() >= 3,
        "{:?}",
        totals.iter().map(|t| &t.text).collect::<Vec<_>>()
    );
    for t in totals {
        assert!(
            bars.inside(text_box(t).unwrap()),
            "total {} outside",
            t.text
        );
    }
    assert_no_text_overlaps(&bars.name, &bars.els);

    // Cost against throughput: one legend entry per policy and the latency limit; each
    // policy's marker in the plot as in the legend; log throughput (the CPU cluster is > 30×
    // faster); every policy named by a label inside the plot, none overlapping.
    let tp = Drawn::read(&plots.join("moe_cost_vs_throughput.svg"));
    let legend: Vec<String> = tp.legend().into_iter().map(|(l, _)| l).collect();
    let mut expected: Vec<String> = MOE_POLICIES.iter().map(|p| p.to_string()).collect();
    expected.push("latency limit".into());
    assert_eq!(legend, expected);
    let counts = tp.assert_markers_match_legend();
    assert_eq!(counts.len(), 4);
    assert!(counts.iter().all(|(_, n)| *n == 1), "{counts:?}");
    let shapes: Vec<Shape> = tp
        .legend_markers()
        .into_iter()
        .map(|(_, (_, s))| s)
        .collect();
    assert_eq!(
        shapes,
        [
            Shape::Circle,
            Shape::Square,
            Shape::Triangle,
            Shape::Diamond
        ]
    );
    let texts = tp.texts();
    assert!(
        texts
            .iter()
            .any(|t| t.text == "throughput (tokens/s, log scale)")
    );
    let mut named: Vec<&str> = Vec::new();
    for t in &texts {
        let names: Vec<&str> = t.text.split(", ").collect();
        if names.iter().all(|n| MOE_POLICIES.contains(n)) {
            assert!(
                tp.inside(text_box(t).unwrap()),
                "label {:?} outside the plot",
                t.text
            );
            named.extend(names);
        }
    }
    named.sort_unstable();
    let mut all = MOE_POLICIES.to_vec();
    all.sort_unstable();
    assert_eq!(named, all, "every policy labelled once");
    assert_no_text_overlaps(&tp.name, &tp.els);
    // The latency limit: a dashed vertical line at 512 tokens / 60 s ≈ 8.5 tokens/s, left of
    // every FaaS point (they meet the limit) and inside the plot.
    let dashes: Vec<Vec<(f64, f64)>> = tp
        .els
        .iter()
        .filter(|e| e.tag == "polyline" && e.attr("stroke") == Some("#5A5A5A"))
        .map(El::points)
        .filter(|p| p.len() == 2 && p[0].0 == p[1].0 && p[0].0 < tp.legend_x)
        .collect();
    assert!(dashes.len() > 10, "{} dashes", dashes.len());
    let x = dashes[0][0].0;
    assert!(dashes.iter().all(|d| d[0].0 == x));
    assert!(tp.plotted_markers().iter().all(|(_, _, c)| c.0 > x));
    let stats = std::fs::read_to_string(out_dir.join("stats.csv")).unwrap();
    assert!(stats.contains("bayes,batch_latency_limit_s,60,"));
}

#[test]
fn moe_runs_draw_tokens_and_choices_as_small_multiples() {
    let (_tmp, out_dir) = moe_run();
    let plots = out_dir.join("plots");
    // Predicted against real tokens: a panel per predicting policy (bayes, oracle: not
    // LambdaML or the CPU cluster), a legend entry per expert and the diagonal, 12 × 4 points
    // per panel with the expert's marker, one title per axis, the error noted in each panel.
    let tok = Drawn::read(&plots.join("moe_tokens.svg"));
    assert_eq!(tok.areas.len(), 2);
    let legend: Vec<String> = tok.legend().into_iter().map(|(l, _)| l).collect();
    assert_eq!(
        legend,
        [
            "expert 0",
            "expert 1",
            "expert 2",
            "expert 3",
            "predicted = real"
        ]
    );
    let counts = tok.assert_markers_match_legend();
    assert_eq!(
        counts.iter().map(|(_, n)| n).sum::<usize>(),
        2 * 12 * 4,
        "{counts:?}"
    );
    assert!(counts.iter().all(|(_, n)| *n == 2 * 12), "{counts:?}");
    let texts = tok.texts();
    for (title, n) in [
        ("bayes", 1),
        ("oracle", 1),
        ("lambdaml", 0),
        ("cpu-cluster", 0),
        ("real tokens per batch (mean over served batches)", 1),
    ] {
        assert_eq!(
            texts.iter().filter(|t| t.text == title).count(),
            n,
            "{title}"
        );
    }
    assert!(
        tok.els
            .iter()
            .any(|e| e.text == "predicted tokens per batch")
    );
    let notes: Vec<&&El> = texts
        .iter()
        .filter(|t| t.text.starts_with("MAE "))
        .collect();
    assert_eq!(notes.len(), 2);
    assert!(notes.iter().all(|t| tok.inside(text_box(t).unwrap())));
    assert_no_text_overlaps(&tok.name, &tok.els);

    // Choices: a panel per FaaS policy (not the CPU cluster), a marker per expert of each
    // layer, the marker's shape and colour by the layer's mode as in the legend.
    let ch = Drawn::read(&plots.join("moe_choices.svg"));
    assert_eq!(ch.areas.len(), 3);
    let texts = ch.texts();
    for (title, n) in [
        ("bayes", 1),
        ("oracle", 1),
        ("lambdaml", 1),
        ("cpu-cluster", 0),
        ("MoE layer", 1),
    ] {
        assert_eq!(
            texts.iter().filter(|t| t.text == title).count(),
            n,
            "{title}"
        );
    }
    assert!(ch.els.iter().any(|e| e.text == "expert memory (MB)"));
    let legend = ch.legend_markers();
    let modes: Vec<&str> = legend
        .iter()
        .map(|(l, _)| l.as_str())
        .filter(|l| !l.contains("replica"))
        .collect();
    assert!(modes.contains(&"through storage"), "{modes:?}");
    assert!(
        modes.iter().all(|m| [
            "pipelined through storage",
            "through storage",
            "direct (payload)"
        ]
        .contains(m)),
        "{modes:?}"
    );
    let plotted = ch.plotted_markers();
    assert_eq!(plotted.len(), 3 * 12 * 4);
    for (colour, shape, c) in &plotted {
        let (label, (_, s)) = legend
            .iter()
            .find(|(l, (lc, _))| lc == colour && !l.contains("replica"))
            .unwrap_or_else(|| panic!("marker {colour} at {c:?} has no mode in the legend"));
        assert_eq!(shape, s, "{label} at {c:?}");
    }
    // LambdaML stores every layer's tokens in storage: its 48 markers have that mode's look.
    let storage = &legend
        .iter()
        .find(|(l, _)| l == "through storage")
        .unwrap()
        .1;
    let lambdaml = ch.areas[2];
    let in_lambdaml: Vec<_> = plotted
        .iter()
        .filter(|(_, _, c)| c.1 >= lambdaml.1 && c.1 <= lambdaml.3)
        .collect();
    assert_eq!(in_lambdaml.len(), 48);
    assert!(
        in_lambdaml
            .iter()
            .all(|(c, s, _)| c == &storage.0 && *s == storage.1)
    );
    assert_no_text_overlaps(&ch.name, &ch.els);
}

#[test]
fn moe_bo_convergence_is_drawn_only_with_moe_bo_csv() {
    let (_tmp, out_dir) = moe_run();
    let names = |plots: &[infersim::report::plot::Plot]| -> Vec<String> {
        plots.iter().map(|p| p.stem.clone()).collect()
    };
    // `infersim plot` (plot_dir) redraws the MoE figures from the CSV files, the same.
    let before = std::fs::read(out_dir.join("plots/moe_cost_vs_throughput.svg")).unwrap();
    std::fs::remove_dir_all(out_dir.join("plots")).unwrap();
    let plots = plot::plot_dir(&out_dir).unwrap();
    assert!(!names(&plots).contains(&"moe_bo_convergence".to_string()));
    assert!(names(&plots).contains(&"moe_choices".to_string()));
    assert_eq!(
        std::fs::read(out_dir.join("plots/moe_cost_vs_throughput.svg")).unwrap(),
        before
    );

    // With a BO trace of two policies (one iteration failed, no cost), a line per policy.
    let mut bo = String::from(
        "policy,iteration,cost_usd,best_usd,memory_cases,payload_cases,other_cases,epsilon_mean\n",
    );
    for (p, base) in [("bayes", 0.001), ("oracle", 0.0012)] {
        let mut best = f64::INFINITY;
        for i in 1..=12 {
            let cost = base * (1.0 + ((i * 7) % 5) as f64 / 10.0);
            let failed = i == 4;
            if !failed {
                best = best.min(cost);
            }
            bo.push_str(&format!(
                "{p},{i},{},{best},{},0,0,{}\n",
                if failed {
                    String::new()
                } else {
                    cost.to_string()
                },
                u8::from(failed),
                0.5 / i as f64
            ));
        }
    }
    std::fs::write(out_dir.join("moe_bo.csv"), bo).unwrap();
    let plots = plot::plot_dir(&out_dir).unwrap();
    let stems = names(&plots);
    assert!(
        stems.contains(&"moe_bo_convergence".to_string()),
        "{stems:?}"
    );
    let caption = &plots
        .iter()
        .find(|p| p.stem == "moe_bo_convergence")
        .unwrap()
        .caption;
    assert!(
        caption.contains("2 evaluations without a cost"),
        "{caption}"
    );
    check_png(&out_dir.join("plots/moe_bo_convergence.png"));
    let fig = Drawn::read(&out_dir.join("plots/moe_bo_convergence.svg"));
    let legend: Vec<String> = fig.legend().into_iter().map(|(l, _)| l).collect();
    assert_eq!(legend, ["bayes", "oracle", "cost at each iteration"]);
    // The faint points: 11 costs per policy (the failed iteration has none), one marker shape
    // per policy.
    let plotted = fig.plotted_markers();
    assert_eq!(plotted.len(), 22);
    let mut by_colour: Vec<(String, Vec<Shape>)> = Vec::new();
    for (c, s, _) in &plotted {
        match by_colour.iter_mut().find(|(k, _)| k == c) {
            Some((_, v)) => v.push(*s),
            None => by_colour.push((c.clone(), vec![*s])),
        }
    }
    assert_eq!(by_colour.len(), 2);
    assert!(
        by_colour
            .iter()
            .all(|(_, v)| v.len() == 11 && v.iter().all(|s| *s == v[0]))
    );
    assert!(
        fig.texts()
            .iter()
            .any(|t| t.text == "iteration of the Bayesian optimisation")
    );
    assert_no_text_overlaps(&fig.name, &fig.els);
}

#[test]
fn moe_csv_errors_name_the_file_and_line() {
    let (_tmp, out_dir) = moe_run();
    // A truncated moe_layers.csv: `infersim plot` says which file and line, and does not panic.
    let path = out_dir.join("moe_layers.csv");
    let bytes = std::fs::read(&path).unwrap();
    let cut = &bytes[..bytes.len() - 12];
    std::fs::write(&path, cut).unwrap();
    let line = cut.iter().filter(|&&b| b == b'\n').count() + 1;
    let e = plot::plot_dir(&out_dir).unwrap_err();
    assert!(
        e.contains("moe_layers.csv") && e.contains(&format!("line {line} ends without a newline")),
        "{e}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .arg("plot")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("moe_layers.csv") && stderr.contains(&format!("line {line}")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // A bad number in moe_experts.csv.
    std::fs::write(&path, &bytes).unwrap();
    let experts = out_dir.join("moe_experts.csv");
    let text = std::fs::read_to_string(&experts).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[3] = lines[3].replacen(",1,", ",one,", 1);
    std::fs::write(&experts, lines.join("\n") + "\n").unwrap();
    let e = plot::plot_dir(&out_dir).unwrap_err();
    assert!(e.contains("moe_experts.csv: line 4: column"), "{e}");
    // Readers directly: an empty file and a missing column.
    use infersim::report::plot::moe::{read_bo_csv, read_experts_csv, read_layers_csv};
    assert!(
        read_layers_csv(b"", "moe_layers.csv")
            .unwrap_err()
            .contains("empty")
    );
    let e = read_bo_csv(b"policy,iteration,cost_usd\n", "moe_bo.csv").unwrap_err();
    assert!(
        e.contains("moe_bo.csv: line 1: no column `best_usd`"),
        "{e}"
    );
    let e = read_experts_csv(
        b"policy,layer,expert,memory_mb,replicas,planned_tokens,predicted_tokens,real_tokens\na,0,0,768,1,10,,9\na,0,1",
        "moe_experts.csv",
    )
    .unwrap_err();
    assert!(
        e.contains("moe_experts.csv: line 3: 3 fields, expected 8"),
        "{e}"
    );
}

/// Runs `args` of infersim from the repository root (the bundled scenarios' relative trace
/// paths resolve there), asserting success.
fn infersim_ok(args: &[&std::ffi::OsStr]) {
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The SVG figures of `dir/plots/`, sorted.
fn svgs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .collect();
    v.sort();
    v
}

/// The visual regression test of issue 15: every figure that the bundled scenarios' runs and
/// sweep draw is checked as a reviewer reads it — it has a plotting area; no two labels
/// overlap; every label lies on the canvas; no axis of these non-negative quantities reaches
/// below zero; and, where series carry markers, every plotted marker has the shape its colour
/// has in the legend and every legend entry is plotted.
#[test]
fn every_figure_of_the_bundled_scenarios_is_legible() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = Vec::new();
    for name in [
        "quickstart",
        "coded-lambda",
        "azure2019-keepalive",
        "early-exit-libra",
    ] {
        let out = tmp.path().join(name);
        let scenario = root.join("scenarios").join(format!("{name}.toml"));
        infersim_ok(&[
            "run".as_ref(),
            scenario.as_os_str(),
            "--replications".as_ref(),
            "2".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        dirs.push(out);
    }
    let sweep = tmp.path().join("sweep-load");
    infersim_ok(&[
        "sweep".as_ref(),
        root.join("scenarios/sweep-load.toml").as_os_str(),
        "--replications".as_ref(),
        "2".as_ref(),
        "--out".as_ref(),
        sweep.as_os_str(),
    ]);
    dirs.push(sweep);
    let mut checked = Vec::new();
    for dir in &dirs {
        for svg in svgs(dir) {
            let fig = Drawn::read(&svg);
            assert_no_text_overlaps(&fig.name, &fig.els);
            let root_el = fig
                .els
                .iter()
                .find(|e| e.tag == "svg")
                .expect("svg element");
            let (w, h) = (root_el.num("width"), root_el.num("height"));
            for e in &fig.els {
                if let Some(b) = text_box(e).filter(|_| !e.text.is_empty()) {
                    assert!(
                        b.0 >= -1.0 && b.1 >= -1.0 && b.2 <= w + 1.0 && b.3 <= h + 1.0,
                        "{}: label {:?} {b:?} is off the {w} × {h} canvas",
                        fig.name,
                        e.text
                    );
                }
            }
            // Every quantity these figures draw is non-negative (costs, latencies, rates,
            // counts), and so is every interval: no axis reaches below zero.
            for e in fig.texts() {
                assert!(
                    !e.text.parse::<f64>().is_ok_and(|v| v < 0.0),
                    "{}: a negative tick {:?}",
                    fig.name,
                    e.text
                );
            }
            if !fig.legend_markers().is_empty() {
                fig.assert_markers_match_legend();
            }
            checked.push(svg.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    checked.sort();
    checked.dedup();
    // Every figure kind of runs and sweeps (the MoE and accuracy ones have their own tests).
    for kind in [
        "latency_cdf",
        "cost_breakdown",
        "cost_vs_slo",
        "timeseries",
        "keepalive_tradeoff",
    ] {
        assert!(
            checked.iter().any(|c| c == kind),
            "no {kind} among {checked:?}"
        );
    }
    assert!(
        checked.iter().any(|c| c.contains("_vs_")),
        "no sweep figure among {checked:?}"
    );
}
