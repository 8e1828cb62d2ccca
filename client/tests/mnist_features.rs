//! End to end: the `blindtune features` job (library entry point [`pipeline::run`]) on the bundled
//! MNIST-5k images must reproduce the bundled features `mnist5k_features.safetensors` (computed by
//! PyTorch), max abs error / max |reference| ≤ 1e-4 (the parity test's measure).
//!
//! The normal suite checks the first 500 images (both splits); all 5000 run with
//! `cargo test -p blindtune-client --test mnist_features -- --ignored`.

use std::path::PathBuf;

use blindtune_client::features::output::read_f32;
use blindtune_client::features::pipeline::{run, Job};
use safetensors::SafeTensors;

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/deit-fmnist")
        .join(file)
}

fn read_i64(path: &PathBuf, name: &str) -> Vec<i64> {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor(name).unwrap();
    assert_eq!(t.dtype(), safetensors::Dtype::I64, "{name}");
    t.data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn read_u8(path: &PathBuf, name: &str) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensor(name).unwrap().data().to_vec()
}

fn reproduce(limit: Option<usize>, tag: &str) {
    let out = std::env::temp_dir().join(format!(
        "blindtune-mnist-{tag}-{}/features.safetensors",
        std::process::id()
    ));
    let mut job = Job::new(
        data("deit_tiny_fmnist.safetensors"),
        data("config.json"),
        data("mnist5k_images.safetensors"),
        &out,
    );
    job.limit = limit;
    job.npy = true;
    let summary = run(&job).unwrap();
    let n = limit.unwrap_or(5000);
    assert_eq!(summary.images, n);
    assert!(summary.has_labels);
    assert_eq!(summary.written.len(), 3, "{:?}", summary.written);
    println!(
        "{n} images in {:.2} s ({:.1} images/s)",
        summary.seconds, summary.images_per_sec
    );

    let (ours, shape) = read_f32(&out, "features").unwrap();
    assert_eq!(shape, [n, 192]);
    let labels = read_u8(&out, "labels");
    assert_eq!(
        labels,
        read_u8(&data("mnist5k_images.safetensors"), "labels")[..n]
    );

    // Reference rows: train_x / test_x follow the ascending train_idx / test_idx.
    let feats = data("mnist5k_features.safetensors");
    let mut reference = vec![0.0f32; n * 192];
    let mut found = 0;
    for split in ["train", "test"] {
        let idx = read_i64(&feats, &format!("{split}_idx"));
        let (x, _) = read_f32(&feats, &format!("{split}_x")).unwrap();
        let y = read_u8(&feats, &format!("{split}_y"));
        for (j, &row) in idx.iter().enumerate() {
            let row = row as usize;
            if row < n {
                reference[row * 192..(row + 1) * 192].copy_from_slice(&x[j * 192..(j + 1) * 192]);
                assert_eq!(labels[row], y[j], "label of row {row}");
                found += 1;
            }
        }
    }
    assert_eq!(found, n);
    let scale = reference.iter().fold(0f64, |m, &v| m.max((v as f64).abs()));
    let diff = ours
        .iter()
        .zip(&reference)
        .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
    println!(
        "max abs err {diff:.3e}, max |ref| {scale:.3}, rel {:.3e}",
        diff / scale
    );
    assert!(diff / scale <= 1e-4, "rel err {:e}", diff / scale);

    // The .npy copy holds the same numbers.
    let npy: ndarray::Array2<f32> =
        ndarray_npy::read_npy(out.with_file_name("features.features.npy")).unwrap();
    assert_eq!(npy.as_slice().unwrap(), &ours[..]);
    std::fs::remove_dir_all(out.parent().unwrap()).unwrap();
}

#[test]
fn first_500_mnist_images_reproduce_bundled_features() {
    reproduce(Some(500), "500");
}

#[test]
#[ignore = "all 5000 images: ~30 CPU-seconds; run with --ignored"]
fn all_5000_mnist_images_reproduce_bundled_features() {
    reproduce(None, "5000");
}
