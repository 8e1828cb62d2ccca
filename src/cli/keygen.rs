//! `blindtune keygen --plan P --out keys/` (data owner): the keys a plan needs. Writes
//! `secret.key` (mode 0600; stays with the owner), `public.key` (for `encrypt`) and `eval.bin`
//! (the evaluation bundle, the one file the cloud receives). Work:
//! `blindtune_client::owner::keygen_with`.

use std::path::PathBuf;

use blindtune_client::owner::{keygen_with, KeygenOptions};
use miette::miette;

use super::{human_bytes, load_plan};

#[derive(clap::Args)]
pub struct Args {
    /// The compiled plan (JSON or binary).
    #[arg(long)]
    plan: PathBuf,
    /// The key directory to write (created readable by its owner only).
    #[arg(long)]
    out: PathBuf,
    /// Replace an existing secret key (everything encrypted under it becomes undecryptable).
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> miette::Result<()> {
    let plan = load_plan(&args.plan)?;
    let s = keygen_with(&plan, &args.out, &KeygenOptions { force: args.force })
        .map_err(|e| miette!("{e}"))?;
    println!(
        "keys for parameter set {}{} in {:.1} s: relinearization {}, {} Galois keys{}",
        s.params,
        if s.insecure {
            " (INSECURE test set)"
        } else {
            ""
        },
        s.seconds,
        if s.relinearization { "yes" } else { "no" },
        s.galois_keys,
        if s.bootstrapping {
            ", bootstrapping keys"
        } else {
            ""
        }
    );
    for (f, who) in [
        (&s.secret_key, "data owner only, mode 0600"),
        (&s.public_key, "data owner, for encrypt"),
        (&s.eval_bundle, "give to the cloud: --eval-keys"),
    ] {
        println!(
            "  {:<40} {:>10}  ({who})",
            f.path.display(),
            human_bytes(f.bytes)
        );
    }
    Ok(())
}
