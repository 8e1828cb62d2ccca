//! `blindtune bench …`: benchmarks that print tables (and JSON for machines).

use super::{bench_bootstrap, bench_ckks};

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Per-operation CKKS timings and measured precision, top and middle level, 1 and all threads.
    Ckks(bench_ckks::Args),
    /// Bootstrapping time, precision, key size and peak memory per target level.
    Bootstrap(bench_bootstrap::Args),
    /// Images per second of DeiT feature extraction, 1 thread and all threads.
    Features(super::bench_features::Args),
}

pub fn run(cmd: BenchCommand) -> miette::Result<()> {
    match cmd {
        BenchCommand::Ckks(args) => bench_ckks::run(args),
        BenchCommand::Bootstrap(args) => bench_bootstrap::run(args),
        BenchCommand::Features(args) => super::bench_features::run(args),
    }
}
