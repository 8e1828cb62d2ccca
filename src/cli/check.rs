//! `blindtune check FILE`: parse and type-check a blindtune program; print rustc-style
//! diagnostics and exit non-zero on errors. `--dump` prints the checked program.

use clap::Args as ClapArgs;
use miette::{miette, IntoDiagnostic, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(ClapArgs)]
pub struct Args {
    /// The .bt program.
    pub file: PathBuf,
    /// Print the checked program (every node with shape, secrecy and range).
    #[arg(long)]
    pub dump: bool,
    /// Print the multiplicative depth of every function, loop body and output.
    #[arg(long)]
    pub depth: bool,
    /// Override a parameter: `--param EPOCHS=3` (library ones qualified: `std::softmax::R=64`).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

pub fn parse_params(items: &[String]) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for it in items {
        let (k, v) = it
            .split_once('=')
            .ok_or_else(|| miette!("--param expects NAME=VALUE, got `{it}`"))?;
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| miette!("--param {k}: `{v}` is not a number"))?;
        out.insert(k.trim().to_string(), v);
    }
    Ok(out)
}

/// Check a file; on errors print them and fail.
pub fn compile(file: &PathBuf, params: &[String]) -> Result<blindtune_compiler::CheckedProgram> {
    let overrides = parse_params(params)?;
    let c = blindtune_compiler::check_file(file, overrides)
        .into_diagnostic()
        .map_err(|e| miette!("cannot read {}: {e}", file.display()))?;
    if !c.diagnostics.is_empty() {
        eprint!("{}", c.rendered_diagnostics());
    }
    match c.program {
        Some(p) => Ok(p),
        None => Err(miette!("{} has errors", file.display())),
    }
}

pub fn run(args: Args) -> Result<()> {
    let p = compile(&args.file, &args.params)?;
    if args.depth {
        print!("{}", blindtune_compiler::types::depth::analyze(&p).render());
    }
    if args.dump {
        print!("{}", p.dump());
    } else if !args.depth {
        println!(
            "{}: ok ({} inputs, {} outputs, {} functions, {} approximations)",
            args.file.display(),
            p.inputs.len(),
            p.outputs.len(),
            p.functions.len(),
            p.approximations.len()
        );
    }
    Ok(())
}
