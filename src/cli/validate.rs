//! `infersim validate`: check scenarios (and their sweeps) without running them.

use std::path::PathBuf;
use std::process::ExitCode;

use infersim::sweep::Plan;

use super::common::plural;

// The subcommand's about text is the doc comment of its variant in `main.rs`.
#[derive(clap::Args)]
pub struct Args {
    /// Scenario files.
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
}

/// Prints `ok: ...` per valid file and the error of each invalid one; exit 0 if all are valid,
/// 2 otherwise.
pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let mut bad = 0;
    for path in &args.scenarios {
        match Plan::new(path, None, None) {
            Ok(plan) => {
                let sc = &plan.points[0].scenario;
                let points = if plan.params.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", {} sweep point{}",
                        plan.points.len(),
                        plural(plan.points.len())
                    )
                };
                println!(
                    "ok: {} ({}: {} stage{}, {} polic{}{points})",
                    path.display(),
                    sc.name,
                    sc.stages.len(),
                    if sc.stages.len() == 1 { "" } else { "s" },
                    sc.policies.len(),
                    if sc.policies.len() == 1 { "y" } else { "ies" }
                )
            }
            Err(e) => {
                eprintln!("error: {e}");
                bad += 1;
            }
        }
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
