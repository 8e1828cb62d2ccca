//! `blindtune bench features`: images per second of DeiT feature extraction, 1 thread and all
//! threads (or `--threads 1,4,8`). By default the bundled Fashion-MNIST DeiT on the bundled MNIST
//! images; `--synthetic` uses random weights and images for any config (e.g. the standard
//! data/configs/deit_*_patch16_224.json) so that throughput can be measured without a checkpoint.

use std::path::PathBuf;

use blindtune_client::features::{bench, DeiT, ImageSet, ModelConfig, Weights};

#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint (ignored with --synthetic).
    #[arg(long, default_value = "data/deit-fmnist/deit_tiny_fmnist.safetensors")]
    model: PathBuf,
    /// Architecture and normalisation JSON.
    #[arg(long, default_value = "data/deit-fmnist/config.json")]
    config: PathBuf,
    /// Images (ignored with --synthetic).
    #[arg(long, default_value = "data/deit-fmnist/mnist5k_images.safetensors")]
    images: PathBuf,
    /// Random weights and images of the config's shape instead of --model / --images.
    #[arg(long)]
    synthetic: bool,
    /// Number of images per run.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Images per forward batch.
    #[arg(long, default_value_t = blindtune_client::features::DEFAULT_BATCH)]
    batch: usize,
    /// Thread counts to measure (comma separated); default 1 and all cores.
    #[arg(long, value_delimiter = ',')]
    threads: Vec<usize>,
    /// Timed runs per thread count (the best is reported).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> miette::Result<()> {
    let err = |e: blindtune_client::features::FeatureError| miette::miette!("{e}");
    let (model, pixels) = if args.synthetic {
        let config = ModelConfig::from_file(&args.config).map_err(err)?;
        let weights = Weights::synthetic(&config.arch, 1);
        let model = DeiT::new(config, weights);
        let len = args.n * model.arch().pixels_per_image();
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let pixels = (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 56) as u8
            })
            .collect();
        (model, pixels)
    } else {
        let model = DeiT::load(&args.model, &args.config).map_err(err)?;
        let set = ImageSet::load(
            &args.images,
            model.arch(),
            &model.config.input,
            "images",
            "labels",
        )
        .map_err(err)?;
        let set = set.select(&(0..args.n.min(set.n)).collect::<Vec<_>>());
        (model, set.pixels)
    };
    let threads = if args.threads.is_empty() {
        let all = std::thread::available_parallelism().map_or(1, |n| n.get());
        if all > 1 {
            vec![1, all]
        } else {
            vec![1]
        }
    } else {
        args.threads
    };
    let mut rows = Vec::new();
    for t in threads {
        rows.push(bench::run(&model, &pixels, args.batch.max(1), t, args.repeats).map_err(err)?);
    }
    if args.json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "model": model.config.name, "threads": r.threads, "batch": r.batch,
                    "images": r.images, "seconds": r.seconds, "images_per_sec": r.images_per_sec,
                    "cpu_seconds": r.cpu_seconds,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        return Ok(());
    }
    println!(
        "feature extraction: {} ({}x{}x{}, depth {}, width {}){}",
        model.config.name,
        model.arch().in_chans,
        model.arch().img_size,
        model.arch().img_size,
        model.arch().depth,
        model.arch().embed_dim,
        if args.synthetic {
            ", synthetic weights"
        } else {
            ""
        }
    );
    println!(
        "{:>7} {:>6} {:>7} {:>9} {:>10} {:>12} {:>16}",
        "threads", "batch", "images", "best s", "images/s", "CPU s", "images/CPU-s"
    );
    for r in &rows {
        let cpu = r.cpu_seconds.unwrap_or(f64::NAN);
        println!(
            "{:>7} {:>6} {:>7} {:>9.3} {:>10.1} {:>12.2} {:>16.1}",
            r.threads,
            r.batch,
            r.images,
            r.seconds,
            r.images_per_sec,
            cpu,
            r.images as f64 / cpu
        );
    }
    Ok(())
}
