//! `blindtune encrypt --plan P --keys keys/ --data F --out enc/` (data owner): the plan's
//! inputs encrypted under the public key into an encrypted dataset directory for the cloud
//! (streamed inputs batch by batch in the plan's order). Work:
//! `blindtune_client::encrypt::encrypt`.

use std::path::PathBuf;

use blindtune_client::dataset::load_data;
use blindtune_client::encrypt::{encrypt, EncryptOptions};
use miette::miette;

use super::{human_bytes, load_plan};

#[derive(clap::Args)]
pub struct Args {
    /// The compiled plan (JSON or binary).
    #[arg(long)]
    plan: PathBuf,
    /// The key directory from `keygen` (only its public.key is read).
    #[arg(long)]
    keys: PathBuf,
    /// Input data: FILE.safetensors (tensors by input name) or NAME=FILE.npy; repeatable.
    #[arg(long, required = true)]
    data: Vec<String>,
    /// The encrypted dataset directory to write (built aside, renamed when complete).
    #[arg(long)]
    out: PathBuf,
    /// Replace an existing encrypted dataset at --out.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> miette::Result<()> {
    let plan = load_plan(&args.plan)?;
    let data = load_data(&args.data).map_err(|e| miette!("{e}"))?;
    let opts = EncryptOptions {
        progress: !args.quiet,
        force: args.force,
    };
    let s = encrypt(&plan, &args.keys, &data, &args.out, &opts).map_err(|e| miette!("{e}"))?;
    println!(
        "{} ciphertexts in {} files ({}) in {:.1} s -> {}",
        s.ciphertexts,
        s.files,
        human_bytes(s.bytes),
        s.seconds,
        s.dir.display()
    );
    for (name, how) in &s.inputs {
        println!("  {name:<16} {how}");
    }
    for name in &s.kept {
        println!("  {name:<16} not read by the plan: stays with you");
    }
    Ok(())
}
