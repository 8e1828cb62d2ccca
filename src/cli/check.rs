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
    /// Fail when there are warnings (for CI).
    #[arg(long)]
    pub deny_warnings: bool,
}

/// A command-line warning in the compiler's style.
pub fn cli_warning(code: &str, msg: &str, help: &str) -> String {
    format!("warning[{code}]: {msg}\n  = help: {help}\n")
}

/// Parse the `--param NAME=VALUE`s. A name given twice is warning W0006 (the later wins).
pub fn parse_params(items: &[String]) -> Result<(BTreeMap<String, f64>, Vec<String>)> {
    let mut out = BTreeMap::new();
    let mut warnings = vec![];
    for it in items {
        let (k, v) = it
            .split_once('=')
            .ok_or_else(|| miette!("--param expects NAME=VALUE, got `{it}`"))?;
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| miette!("--param {k}: `{v}` is not a number"))?;
        if let Some(prev) = out.insert(k.trim().to_string(), v) {
            warnings.push(cli_warning(
                "W0006",
                &format!("`--param {}` is given twice ({prev}, then {v})", k.trim()),
                "the later value is used; drop one of them",
            ));
        }
    }
    Ok((out, warnings))
}

/// Fail under `--deny-warnings` when there were any warnings.
pub fn deny(n: usize, deny_warnings: bool) -> Result<()> {
    if deny_warnings && n > 0 {
        return Err(miette!(
            "{n} warning{} denied by --deny-warnings",
            if n == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

/// How many of a compilation's diagnostics are warnings.
pub fn warnings(c: &blindtune_compiler::Compilation) -> usize {
    c.diagnostics
        .iter()
        .filter(|d| d.severity == blindtune_compiler::diagnostics::Severity::Warning)
        .count()
}

/// Check a file; on errors print them and fail.
pub fn compile(
    file: &PathBuf,
    params: &[String],
    deny_warnings: bool,
) -> Result<blindtune_compiler::CheckedProgram> {
    let (overrides, cli) = parse_params(params)?;
    for w in &cli {
        eprint!("{w}");
    }
    let c = blindtune_compiler::check_file(file, overrides)
        .into_diagnostic()
        .map_err(|e| miette!("cannot read {}: {e}", file.display()))?;
    if !c.diagnostics.is_empty() {
        eprint!("{}", c.rendered_diagnostics());
    }
    let n = warnings(&c) + cli.len();
    match c.program {
        Some(p) => {
            deny(n, deny_warnings)?;
            Ok(p)
        }
        None => Err(miette!("{} has errors", file.display())),
    }
}

pub fn run(args: Args) -> Result<()> {
    let p = compile(&args.file, &args.params, args.deny_warnings)?;
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
