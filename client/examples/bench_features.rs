//! Images per second of feature extraction on the bundled model and MNIST images, 1 thread and
//! all threads: `cargo run --release -p blindtune-client --example bench_features [N] [BATCH]
//! [THREADS] [CONFIG]`; with a CONFIG (e.g. data/configs/deit_base_patch16_224.json), synthetic
//! weights and random images of that architecture are used instead.
//! (`blindtune bench features` prints the same table from the main binary.)

use std::path::PathBuf;

use blindtune_client::features::{bench, DeiT, ImageSet, ModelConfig, Weights};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1000, |s| s.parse().unwrap());
    let batch: usize = args.next().map_or(16, |s| s.parse().unwrap());
    let threads_arg = args.next();
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/deit-fmnist");
    let (model, pixels) = if let Some(config) = args.next() {
        let config = ModelConfig::from_file(config).unwrap();
        let weights = Weights::synthetic(&config.arch, 1);
        let model = DeiT::new(config, weights);
        let pixels = (0..n * model.arch().pixels_per_image())
            .map(|i| ((i * 2_654_435_761usize) >> 7) as u8)
            .collect::<Vec<u8>>();
        (model, pixels)
    } else {
        let model = DeiT::load(
            data.join("deit_tiny_fmnist.safetensors"),
            data.join("config.json"),
        )
        .unwrap();
        let set = ImageSet::load(
            data.join("mnist5k_images.safetensors"),
            model.arch(),
            &model.config.input,
            "images",
            "labels",
        )
        .unwrap();
        let set = set.select(&(0..n.min(set.n)).collect::<Vec<_>>());
        (model, set.pixels)
    };
    println!("{}", model.config.name);
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads_list: Vec<usize> = match threads_arg {
        Some(t) => vec![t.parse().unwrap()],
        None => vec![1, all],
    };
    for threads in threads_list {
        let r = bench::run(&model, &pixels, batch, threads, 3).unwrap();
        println!(
            "threads {:>2}  batch {:>3}  images {:>5}  best {:.3} s  {:.1} images/s  cpu {:.2} s",
            r.threads,
            r.batch,
            r.images,
            r.seconds,
            r.images_per_sec,
            r.cpu_seconds.unwrap_or(f64::NAN)
        );
    }
}
