//! The `blindtune` command-line tool.
//!
//! Each subcommand lives in its own file under `src/cli/`; this file only declares
//! them and dispatches. Errors are reported through miette with their context.

mod cli;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "blindtune",
    version,
    about = "Compile and run encrypted (CKKS) training of classifier heads"
)]
struct Cli {
    /// Log filter (tracing env-filter syntax), e.g. `info` or `blindtune_runtime=debug`.
    #[arg(long, global = true, default_value = "warn", env = "BLINDTUNE_LOG")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the shipped CKKS parameter sets.
    Params(cli::params::Args),
    /// Type-check a blindtune program (rustc-style diagnostics; non-zero exit on errors).
    Check(cli::check::Args),
    /// Compile a blindtune program: `compile FILE.bt --emit tensor` prints the tensor IR.
    Compile(cli::compile::Args),
    /// Explain a compiled plan: parameters, layouts, op counts per loop trip, bootstraps,
    /// keys and their sizes, estimated time, peak memory (`--dot`: the dataflow graph).
    Explain(cli::explain::Args),
    /// Pretty-print a blindtune program in the canonical layout.
    Fmt(cli::fmt::Args),
    /// Run a blindtune program: `run --plaintext FILE --data FILE.safetensors`.
    Run(cli::run::Args),
    /// Extract DeiT features from images (data owner side, before encryption).
    Features(cli::features::Args),
    /// Generate the keys a plan needs: secret.key (owner), public.key, eval.bin (cloud).
    Keygen(cli::keygen::Args),
    /// Encrypt a plan's inputs into an encrypted dataset directory for the cloud.
    Encrypt(cli::encrypt::Args),
    /// Train on an encrypted dataset with the evaluation keys alone (cloud).
    Train(cli::train::Args),
    /// The main job: encrypted fine-tuning of a DeiT head end to end on the bundled features.
    Demo(cli::demo::Args),
    /// Run a plan on the noise simulator and predict its precision and accuracy.
    Simulate(cli::simulate::Args),
    /// Decrypt the cloud's model directory into head.safetensors (data owner).
    Decrypt(cli::decrypt::Args),
    /// Score a decrypted head on plaintext features: accuracy, loss, confusion matrix.
    Evaluate(cli::evaluate::Args),
    /// Decrypt and score each epoch's validation logits, and write the early-stopping
    /// decision the cloud reads before the next epoch (data owner).
    Validate(cli::validate::Args),
    /// Benchmarks that print tables (`blindtune bench ckks`).
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
}

fn main() -> miette::Result<()> {
    blindtune_runtime::memory::retain_freed_memory();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Params(args) => cli::params::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Compile(args) => cli::compile::run(args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Fmt(args) => cli::fmt::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Bench(cmd) => cli::bench::run(cmd),
        Command::Features(args) => cli::features::run(args),
        Command::Keygen(args) => cli::keygen::run(args),
        Command::Encrypt(args) => cli::encrypt::run(args),
        Command::Train(args) => cli::train::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Simulate(args) => cli::simulate::run(args),
        Command::Decrypt(args) => cli::decrypt::run(args),
        Command::Evaluate(args) => cli::evaluate::run(args),
        Command::Validate(args) => cli::validate::run(args),
    }
}
