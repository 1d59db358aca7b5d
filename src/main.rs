//! The `infersim` command line: parsing, then one module of [`cli`] per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(
    name = "infersim",
    version,
    about = "Simulate the cost and latency of ML inference on serverless functions and VMs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every policy of a scenario (or one) and write reports.
    Run(cli::run::Args),
    /// Inspect a recorded trace or fit distributions to one of its columns.
    Trace(cli::trace::Args),
    /// Check scenarios without running them (exit 0 if all are valid, 2 otherwise).
    Validate(cli::validate::Args),
    /// Run the points of a scenario's [sweep] × policies × replications, resumably.
    Sweep(cli::sweep::Args),
    /// Join the output directories of a sweep's shards into one.
    Merge(cli::merge::Args),
    /// Draw the figures of run or sweep output directories into DIR/plots/.
    Plot(cli::plot::Args),
    /// Rerun scenarios and compare each policy's cost and p99 latency with a baseline.
    Check(cli::check::Args),
    /// Measure the accuracy of coded inference (ApproxIFER), ParM and replication on real models.
    Accuracy(cli::accuracy::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cli::run::execute(args),
        Command::Trace(args) => cli::trace::execute(args),
        Command::Validate(args) => cli::validate::execute(args),
        Command::Sweep(args) => cli::sweep::execute(args),
        Command::Merge(args) => cli::merge::execute(args),
        Command::Plot(args) => cli::plot::execute(args),
        Command::Check(args) => cli::check::execute(args),
        Command::Accuracy(args) => cli::accuracy::execute(args),
    };
    match result {
        Ok(code) => code,
        // A run that failed while running (its outputs could not be written) exits 3; every
        // other error is bad input (a file, a value, a directory): exit 2 with its message.
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<cli::common::RunFailure>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::from(2)
            }
        }
    }
}
