//! One module per subcommand.

pub mod bench;
pub mod bench_bootstrap;
pub mod bench_bootstrap_model;
pub mod bench_calibrate;
pub mod bench_ckks;
pub mod bench_features;
pub mod bench_softmax;
pub mod bench_train;
pub mod check;
pub mod compile;
pub mod decrypt;
pub mod demo;
pub mod encrypt;
pub mod evaluate;
pub mod explain;
pub mod features;
pub mod fmt;
pub mod keygen;
pub mod params;
pub mod progress;
pub mod run;
pub mod simulate;
pub mod train;
pub mod validate;

/// Writes `bytes` to `path` atomically (the runtime's file writer: temporary file, fsync,
/// rename).
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> miette::Result<()> {
    blindtune_runtime::ckks::serialization::write_atomically(path, bytes)
        .map_err(|e| miette::miette!("{e}"))
}

/// A byte count for people (`1.5 GiB`).
pub fn human_bytes(b: u64) -> String {
    blindtune_compiler::plan::explain::human_bytes(b)
}

/// Loads a compiled plan (JSON or binary). The workflow commands (`keygen`, `encrypt`,
/// `decrypt`, and later `train`, `simulate`, `demo`) all start here; the cloud's `train` then
/// calls `blindtune_client::cloud::{load_eval_bundle, cpu_backend, EncryptedDirSource,
/// ModelDirSink}` (never `blindtune_client::owner`), `simulate` `blindtune_client::memory`.
pub fn load_plan(path: &std::path::Path) -> miette::Result<blindtune_runtime::plan::Plan> {
    blindtune_runtime::plan::Plan::load(path).map_err(|e| miette::miette!("{e}"))
}
