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

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed to disk, then
/// renamed over the target (a crash leaves the old file or the new one, never half of it).
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> miette::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| miette::miette!("{}: not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(miette::miette!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}
