//! `blindtune compile FILE.bt [--emit tensor|layout|ckks|scheduled|plan] [--param NAME=VALUE]`:
//! check the program and lower it through the middle end. Only the first stage, the tensor IR,
//! exists yet; the other stages are refused with a clear error.

use clap::{Args as ClapArgs, ValueEnum};
use miette::{miette, Result};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Stage {
    /// the tensor IR: SSA over whole tensors, loops as regions
    Tensor,
    /// tensors mapped to ciphertext slots
    Layout,
    /// primitive CKKS ops and macro-ops
    Ckks,
    /// CKKS with levels, rescales and bootstraps explicit
    Scheduled,
    /// the plan the runtime executes
    Plan,
}

#[derive(ClapArgs)]
pub struct Args {
    /// The .bt program.
    pub file: PathBuf,
    /// The stage to print (the layout, CKKS and plan stages are not implemented yet).
    #[arg(long, value_enum, default_value = "plan")]
    pub emit: Stage,
    /// Where to write the output (standard output if absent).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Override a parameter: `--param EPOCHS=3`.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

pub fn run(args: Args) -> Result<()> {
    let p = super::check::compile(&args.file, &args.params, false)?;
    let tensor = blindtune_compiler::ir::tensor::lower(&p)
        .map_err(|e| miette!("{}: {e}", args.file.display()))?;
    let slots = 1usize << 15;
    let text = match args.emit {
        Stage::Tensor => tensor.to_string(),
        Stage::Layout => blindtune_compiler::ir::layout::assign(&tensor, slots)
            .map_err(|e| miette!("{}: {e}", args.file.display()))?
            .to_string(),
        Stage::Ckks => {
            let lp = blindtune_compiler::ir::layout::assign(&tensor, slots)
                .map_err(|e| miette!("{}: {e}", args.file.display()))?;
            blindtune_compiler::ir::ckks::lower(&lp)
                .map_err(|e| miette!("{}: {e}", args.file.display()))?
                .to_string()
        }
        other => {
            return Err(miette!(
                "--emit {}: not implemented yet: the layout/CKKS stages are next (only `--emit tensor` works today)",
                other.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
            ))
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
