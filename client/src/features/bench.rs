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
    /// CPU time (user + system, all threads) of the best run, where the OS reports it (Linux);
    /// on a shared machine `images / cpu_seconds * threads` is the rate free cores would give.
    pub cpu_seconds: Option<f64>,
}

/// Process CPU time (user + system) from `/proc/self/stat`, assuming the usual 100 ticks/s.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
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
    let mut best_cpu = None;
    for _ in 0..repeats.max(1) {
        let cpu0 = process_cpu_seconds();
        let t = Instant::now();
        let f = pool.install(|| model.extract(pixels, batch, None));
        let wall = t.elapsed().as_secs_f64();
        let cpu = process_cpu_seconds().zip(cpu0).map(|(a, b)| a - b);
        if wall < best {
            best = wall;
            best_cpu = cpu;
        }
        std::hint::black_box(f);
    }
    Ok(BenchResult {
        threads,
        batch,
        images: n,
        seconds: best,
        images_per_sec: n as f64 / best,
        cpu_seconds: best_cpu,
    })
}
