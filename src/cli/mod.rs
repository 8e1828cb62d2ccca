//! One module per subcommand.

pub mod bench;
pub mod bench_bootstrap;
pub mod bench_bootstrap_model;
pub mod bench_calibrate;
pub mod bench_ckks;
pub mod bench_features;
pub mod bench_softmax;
pub mod check;
pub mod compile;
pub mod features;
pub mod fmt;
pub mod params;
pub mod run;

/// Writes `bytes` to `path` atomically (the runtime's file writer: temporary file, fsync,
/// rename).
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> miette::Result<()> {
    blindtune_runtime::ckks::serialization::write_atomically(path, bytes)
        .map_err(|e| miette::miette!("{e}"))
}
