//! Throughput measurement of feature extraction (images per second) on a given rayon thread
//! count; used by `blindtune bench features` and `cargo run --release --example bench_features`.

use std::time::Instant;

use super::deit::DeiT;
use super::error::{FeatureError, Result};

/// One measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchResult {
    pub threads: usize,
    pub batch: usize,
    pub images: usize,
    /// Best wall time over the repeats.
    pub seconds: f64,
    pub images_per_sec: f64,
}

/// Extracts features of `pixels` (preprocessed u8 `[n, C, S, S]`) `repeats` times on a pool of
/// `threads` threads after one warm-up pass, and reports the best run.
pub fn run(
    model: &DeiT,
    pixels: &[u8],
    batch: usize,
    threads: usize,
    repeats: usize,
) -> Result<BenchResult> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| FeatureError::Config {
            field: "threads".into(),
            message: e.to_string(),
        })?;
    let n = pixels.len() / model.arch().pixels_per_image();
    let warm = (batch * threads).min(n) * model.arch().pixels_per_image();
    pool.install(|| model.extract(&pixels[..warm], batch, None));
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let f = pool.install(|| model.extract(pixels, batch, None));
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(f);
    }
    Ok(BenchResult {
        threads,
        batch,
        images: n,
        seconds: best,
        images_per_sec: n as f64 / best,
    })
}
