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
