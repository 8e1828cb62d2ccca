//! `blindtune fmt FILE`: pretty-print a program in the canonical layout.

use clap::Args as ClapArgs;
use miette::{miette, Result};
use std::path::PathBuf;

#[derive(ClapArgs)]
pub struct Args {
    /// The .bt program.
    pub file: PathBuf,
    /// Rewrite the file in place instead of printing.
    #[arg(long)]
    pub write: bool,
    /// Exit non-zero if the file is not already formatted.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: Args) -> Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| miette!("cannot read {}: {e}", args.file.display()))?;
    let formatted =
        blindtune_compiler::syntax::format_source(&args.file.display().to_string(), &text)
            .map_err(|rendered| {
                eprint!("{rendered}");
                miette!("{} has syntax errors; not formatting", args.file.display())
            })?;
    if args.check {
        if formatted != text {
            return Err(miette!(
                "{} is not formatted (run `blindtune fmt --write`)",
                args.file.display()
            ));
        }
        return Ok(());
    }
    if args.write {
        std::fs::write(&args.file, formatted)
            .map_err(|e| miette!("cannot write {}: {e}", args.file.display()))?;
    } else {
        print!("{formatted}");
    }
    Ok(())
}
