//! Figures (SVG and PNG, checked for size and content), report.md, `infersim plot` and the
//! `--json` summary.

use std::path::Path;
use std::process::Command;

use infersim::report::plot::{self, BarFigure, Line, LineFigure, Panel};

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
            x_log: false,
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
                    markers: true,
                })
                .collect(),
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
            "end-to-end latency (ms, log scale)",
            "fraction of requests",
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
        &[
            "workload.arrivals.rate (1/s)",
            "cost per run ($)",
            "<polygon",
        ],
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
