//! `infersim plot`: draw the figures of output directories.

use std::path::PathBuf;
use std::process::ExitCode;

use infersim::report::plot;

use super::common::{UsageError, plural};

// The subcommand's about text is the doc comment of its variant in `main.rs`.
#[derive(clap::Args)]
pub struct Args {
    /// Output directories of `run`, `sweep` or `merge`.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
}

/// Draws each directory's figures into DIR/plots/.
pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    for dir in &args.dirs {
        let plots = plot::plot_dir(dir).map_err(UsageError)?;
        println!(
            "{}: {} figure{} in {}",
            dir.display(),
            plots.len(),
            plural(plots.len()),
            dir.join("plots").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
