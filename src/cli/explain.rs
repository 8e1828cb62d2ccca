//! `blindtune explain PLAN [--dot] [--json] [--threads N] [-o FILE]`: what a compiled plan (JSON or binary)
//! needs and costs: parameters and security, block shape, inputs and outputs, operation counts
//! per loop trip by kind and level, bootstraps, keys and their bytes, estimated time and peak
//! memory (`blindtune_compiler::plan::explain`). `--json` prints the same figures as JSON,
//! `--dot` the instruction dataflow as Graphviz (loops as clusters).

use blindtune_compiler::plan::explain::{dot, explain_at};
use clap::Args as ClapArgs;
use miette::{miette, Result};
use std::path::PathBuf;

#[derive(ClapArgs)]
pub struct Args {
    /// The plan (`.json` or binary).
    pub plan: PathBuf,
    /// Print the instruction dataflow as a Graphviz digraph (`dot -Tsvg`).
    #[arg(long, conflicts_with = "json")]
    pub dot: bool,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
    /// Price the estimate for this many threads (a cost table must ship for the count; the
    /// plan's own estimate is for one thread).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let plan = super::load_plan(&args.plan)?;
    let text = if args.dot {
        dot(&plan)
    } else {
        let e =
            explain_at(&plan, args.threads).map_err(|e| miette!("{}: {e}", args.plan.display()))?;
        if args.json {
            let mut s = serde_json::to_string_pretty(&e).map_err(|e| miette!("{e}"))?;
            s.push('\n');
            s
        } else {
            e.text()
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
