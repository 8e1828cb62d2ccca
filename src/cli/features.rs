//! `blindtune features`: the data owner's feature extraction. A frozen DeiT / ViT backbone from
//! a timm safetensors checkpoint turns images (a u8 safetensors tensor or a folder of PNGs) into
//! pre-logit features, written as safetensors (`features` f32 [N, D], `labels` [N]) and
//! optionally `.npy`. The work is done by `blindtune_client::features::pipeline`.

use std::path::PathBuf;

use blindtune_client::features::pipeline::{run as run_job, Job};

#[derive(clap::Args)]
pub struct Args {
    /// Backbone checkpoint: safetensors with timm parameter names (F32, F16, BF16 or F64).
    #[arg(long)]
    model: PathBuf,
    /// Architecture and normalisation JSON, e.g. data/deit-fmnist/config.json or
    /// data/configs/deit_tiny_patch16_224.json (format: see data/README.md).
    #[arg(long)]
    config: PathBuf,
    /// Images: a safetensors file with a u8 tensor [N,H,W], [N,C,H,W] or [N,H,W,C], or a folder
    /// of PNGs (class subfolders give labels, in sorted order). Resized and normalised per the
    /// config.
    #[arg(long)]
    images: PathBuf,
    /// Output safetensors file (`features`, `labels`).
    #[arg(long)]
    out: PathBuf,
    /// Name of the image tensor in a safetensors input.
    #[arg(long, default_value = "images")]
    images_key: String,
    /// Name of the label tensor in a safetensors input (skipped if absent).
    #[arg(long, default_value = "labels")]
    labels_key: String,
    /// Images per forward batch.
    #[arg(long, default_value_t = blindtune_client::features::DEFAULT_BATCH)]
    batch: usize,
    /// Worker threads (0: all cores, or RAYON_NUM_THREADS).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Only the first N images.
    #[arg(long)]
    limit: Option<usize>,
    /// Also write <out stem>.features.npy and <out stem>.labels.npy.
    #[arg(long)]
    npy: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> miette::Result<()> {
    let mut job = Job::new(args.model, args.config, args.images, args.out);
    job.images_key = args.images_key;
    job.labels_key = args.labels_key;
    job.batch = args.batch.max(1);
    job.threads = args.threads;
    job.limit = args.limit;
    job.npy = args.npy;
    job.progress = !args.quiet;
    let s = run_job(&job).map_err(|e| miette::miette!("{e}"))?;
    println!(
        "{} images -> {}-d features{} in {:.2} s ({:.1} images/s)",
        s.images,
        s.feature_dim,
        if s.has_labels { " with labels" } else { "" },
        s.seconds,
        s.images_per_sec
    );
    for f in &s.written {
        println!("wrote {}", f.display());
    }
    Ok(())
}
