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
    /// Max and mean error of each stdlib softmax against the exact one, and its depth.
    Softmax(super::bench_softmax::Args),
    /// One encrypted training iteration per compiler mode (optimized, naive), measured beside
    /// the plan's estimate, by operation.
    Train(super::bench_train::Args),
}

pub fn run(cmd: BenchCommand) -> miette::Result<()> {
    match cmd {
        BenchCommand::Ckks(args) => bench_ckks::run(args),
        BenchCommand::Bootstrap(args) => bench_bootstrap::run(args),
        BenchCommand::Features(args) => super::bench_features::run(args),
        BenchCommand::Softmax(args) => super::bench_softmax::run(args),
        BenchCommand::Train(args) => super::bench_train::run(args),
    }
}

/// Parses `--threads` values (numbers or `all`), in order, without repeats.
pub fn parse_threads(values: &[String]) -> miette::Result<Vec<usize>> {
    let all = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut out: Vec<usize> = Vec::new();
    for t in values {
        let n = if t == "all" {
            all
        } else {
            t.parse::<usize>()
                .map_err(|_| miette::miette!("--threads: `{t}` is not a number or `all`"))?
        };
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// Builds a shipped parameter set: through the 128-bit check when it passes, and through the
/// explicitly insecure constructor for the test sets (benchmarks measure those too).
pub fn bench_params(
    lit: blindtune_runtime::ckks::ParamsLiteral,
) -> miette::Result<blindtune_runtime::ckks::Params> {
    use blindtune_runtime::ckks::Params;
    match Params::new(lit.clone()) {
        Ok(p) => Ok(p),
        Err(_) => Params::new_insecure_for_tests(lit).map_err(|e| miette::miette!("{e}")),
    }
}
