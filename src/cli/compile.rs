//! `blindtune compile FILE.bt [-o plan.{json,bin}] [--emit tensor|layout|ckks|scheduled|plan]
//! [--naive|--halo] [--params SET] [--param NAME=VALUE] [--assume N=60000]`: check the program
//! and lower it through the middle end to a plan (or print a stage).

use blindtune_compiler::pipeline::{compile, CompileOptions, Mode, RotationKeys};
use clap::{Args as ClapArgs, ValueEnum};
use miette::{miette, IntoDiagnostic, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Stage {
    /// the tensor IR: SSA over whole tensors, loops as regions
    Tensor,
    /// tensors mapped to ciphertext slots
    Layout,
    /// primitive CKKS ops and macro-ops on block grids
    Ckks,
    /// CKKS with levels, level drops and bootstraps explicit
    Scheduled,
    /// the plan the runtime executes (JSON)
    Plan,
}

#[derive(ClapArgs)]
pub struct Args {
    /// The .bt program.
    pub file: PathBuf,
    /// The stage to print (default: the plan, written with `-o`).
    #[arg(long, value_enum)]
    pub emit: Option<Stage>,
    /// Where to write the plan (`.json` for JSON, anything else for the binary form) or the
    /// emitted stage.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Override a parameter: `--param EPOCHS=3`.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The CKKS parameter set (`blindtune params`); default: the smallest shipped set the
    /// program fits.
    #[arg(long = "params")]
    pub set: Option<String>,
    /// Allow a parameter set below 128-bit security (test sets).
    #[arg(long)]
    pub allow_insecure: bool,
    /// The baseline: eager rescale, bootstrap when levels run out, no hoisting, no optimizer.
    #[arg(long, conflicts_with_all = ["halo", "egraph"])]
    pub naive: bool,
    /// The DaCapo/HALO-style placement alone (no e-graph).
    #[arg(long, conflicts_with = "egraph")]
    pub halo: bool,
    /// The e-graph scheduling levels alone: terms, level drops and bootstrap sites chosen by
    /// level-aware extraction (the lookahead completes sites only where levels still run out).
    #[arg(long)]
    pub egraph: bool,
    /// Sizes of named dimensions the estimate assumes, e.g. `--assume N=60000 --assume T=10000`.
    #[arg(long = "assume", value_name = "DIM=SIZE")]
    pub assume: Vec<String>,
    /// Seed of the shuffled batch order (as `run --plaintext --seed`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Magnitude assumed for values whose range is unknown (bootstrapping needs a bound).
    #[arg(long, default_value_t = 16.0)]
    pub default_bound: f64,
    /// `exact`: a key for every rotation; `compose`: rotations whose key bootstrapping does
    /// not provide (other than by a power of two) are composed of rotations that have keys,
    /// and the trade against `exact` (keys, bytes, key switches, time) is printed.
    #[arg(long, value_enum, default_value = "exact")]
    pub rotation_keys: KeyChoice,
    /// Bootstrap each value to the level its uses demand instead of the top (HALO's per-site
    /// target): about 1 % faster on the HETAL head, but every distinct target makes `train`
    /// encode another SlotsToCoeffs (about 1.4 GiB each at N = 2^16).
    #[arg(long)]
    pub lower_bootstrap_targets: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyChoice {
    Exact,
    Compose,
}

pub fn options(args: &Args) -> Result<CompileOptions> {
    let text = std::fs::read_to_string(&args.file)
        .into_diagnostic()
        .map_err(|e| miette!("cannot read {}: {e}", args.file.display()))?;
    let mut param_values = BTreeMap::new();
    for p in &args.params {
        if let Some((k, v)) = p.split_once('=') {
            param_values.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    let mut assume_dims = BTreeMap::new();
    for a in &args.assume {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| miette!("--assume {a}: expected DIM=SIZE"))?;
        let n: usize = v
            .trim()
            .parse()
            .map_err(|_| miette!("--assume {a}: `{v}` is not a size"))?;
        assume_dims.insert(k.trim().to_string(), n);
    }
    Ok(CompileOptions {
        params: args.set.clone(),
        allow_insecure: args.allow_insecure,
        mode: if args.naive {
            Mode::Naive
        } else if args.halo {
            Mode::Halo
        } else if args.egraph {
            Mode::Egraph
        } else {
            Mode::Optimized
        },
        source_name: args
            .file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        source_text: text,
        param_values,
        seed: args.seed,
        threads: 1,
        default_bound: args.default_bound,
        assume_dims,
        lower_bootstrap_targets: args.lower_bootstrap_targets,
        rotation_keys: match args.rotation_keys {
            KeyChoice::Exact => RotationKeys::Exact,
            KeyChoice::Compose => RotationKeys::Compose,
        },
    })
}

pub fn run(args: Args) -> Result<()> {
    let p = super::check::compile(&args.file, &args.params, false)?;
    let opts = options(&args)?;
    // the stages before scheduling print even when a later stage refuses the program
    if let Some(stage @ (Stage::Tensor | Stage::Layout | Stage::Ckks)) = args.emit {
        let front = blindtune_compiler::pipeline::front(&p, &opts)
            .map_err(|e| miette!("{}: {e}", args.file.display()))?;
        let text = match stage {
            Stage::Tensor => front.0.to_string(),
            Stage::Layout => front.1.to_string(),
            _ => front.2.to_string(),
        };
        return match &args.output {
            Some(path) => super::write_atomic(path, text.as_bytes()),
            None => {
                print!("{text}");
                Ok(())
            }
        };
    }
    let started = std::time::Instant::now();
    let c = compile(&p, &opts).map_err(|e| miette!("{}: {e}", args.file.display()))?;
    tracing::info!(
        ms = started.elapsed().as_secs_f64() * 1e3,
        params = c.params,
        "compiled"
    );
    let text = match args.emit {
        Some(Stage::Tensor) => c.tensor.to_string(),
        Some(Stage::Layout) => c.layout.to_string(),
        Some(Stage::Ckks) => c.optimized.to_string(),
        Some(Stage::Scheduled) => c.scheduled.to_string(),
        Some(Stage::Plan) => c.plan.to_json(),
        None => {
            let Some(out) = &args.output else {
                return Err(miette!(
                    "give `-o plan.json` (readable) or `-o plan.bin` (compact), or `--emit STAGE` to print a stage"
                ));
            };
            c.plan.save(out).map_err(|e| miette!("{e}"))?;
            eprintln!(
                "{}: plan for `{}` ({} instructions, {} bootstrap sites, est. {:.1} s at {:?}) written to {}",
                args.file.display(),
                c.params,
                count(&c.plan.body),
                c.scheduled.bootstraps,
                c.plan.estimate.total_ms / 1e3,
                c.plan.estimate.assumed_dims,
                out.display()
            );
            if opts.rotation_keys == RotationKeys::Compose {
                key_trade(&p, &opts, &c.plan)?;
            }
            return Ok(());
        }
    };
    match &args.output {
        Some(path) => super::write_atomic(path, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// The trade of composed rotations against one key per rotation: keys and their bytes,
/// key switches per trip of the batch loop (or the busiest loop), estimated time.
fn key_trade(
    p: &blindtune_compiler::CheckedProgram,
    opts: &CompileOptions,
    composed: &blindtune_runtime::plan::Plan,
) -> Result<()> {
    use blindtune_compiler::plan::explain::{explain, human_bytes};
    let exact_opts = CompileOptions {
        rotation_keys: RotationKeys::Exact,
        ..opts.clone()
    };
    let exact = compile(p, &exact_opts).map_err(|e| miette!("{e}"))?.plan;
    let (a, b) = (
        explain(&exact).map_err(|e| miette!("{e}"))?,
        explain(composed).map_err(|e| miette!("{e}"))?,
    );
    let switches = |e: &blindtune_compiler::plan::explain::Explanation| -> (String, u64) {
        e.blocks
            .iter()
            .filter(|b| b.batch_loop)
            .chain(e.blocks.iter())
            .map(|b| (b.name.clone(), b.key_switches + b.bootstrap_key_switches))
            .next()
            .unwrap_or_default()
    };
    let (loop_name, ks_a) = switches(&a);
    let (_, ks_b) = switches(&b);
    eprintln!("rotation keys, exact → composed:");
    eprintln!(
        "  Galois keys      {} → {} (program's own: {} → {})",
        a.keys.total.galois_keys,
        b.keys.total.galois_keys,
        a.keys.program.galois_keys,
        b.keys.program.galois_keys
    );
    eprintln!(
        "  key bytes        {} → {} in memory, {} → {} in the evaluation-key file",
        human_bytes(a.keys.total.bytes_memory),
        human_bytes(b.keys.total.bytes_memory),
        human_bytes(a.keys.total.bytes_file),
        human_bytes(b.keys.total.bytes_file)
    );
    eprintln!("  key switches     {ks_a} → {ks_b} per trip of {loop_name} (bootstraps included)");
    eprintln!(
        "  estimated time   {:.1} s → {:.1} s in all",
        a.estimate.total_ms / 1e3,
        b.estimate.total_ms / 1e3
    );
    Ok(())
}

fn count(insts: &[blindtune_runtime::plan::Inst]) -> usize {
    insts
        .iter()
        .map(|i| {
            1 + match &i.op {
                blindtune_runtime::plan::Op::Loop { body, .. } => count(body),
                _ => 0,
            }
        })
        .sum()
}
