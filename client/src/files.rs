//! Writing files so that a failed run leaves nothing half-written: every file goes to a
//! temporary name beside its target, is flushed to disk and renamed (the runtime's
//! `write_atomically`); secret files are created with mode 0600 from the start; a directory
//! of many files is built under a temporary name and renamed into place when complete.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::error::{io_err, ClientError, Result};

/// Writes `bytes` to `path` atomically (temporary file in the same directory, fsync, rename,
/// fsync of the directory so the rename itself survives a crash).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    blindtune_runtime::ckks::serialization::write_atomically(path, bytes)?;
    sync_dir(parent_dir(path));
    Ok(())
}

/// Whether `name` is the temporary file of an atomic write ([`write_atomic`],
/// [`write_private_atomic`]) that a killed process left behind.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Writes a secret file atomically. The temporary file is created with mode 0600 (never
/// readable by others, not even for an instant), flushed, renamed over `path`, and the
/// directory entry is flushed too.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "secret".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ClientError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    })
}

fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Flushes a directory's entries (best effort: not every platform can open a directory).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Creates `dir` (and its parents) readable by its owner only, if it does not exist.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(io_err(dir))
}

/// Reads a whole file, naming it on error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(io_err(path))
}

/// BLAKE3 of `bytes`, hex.
pub fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A directory built under a temporary name beside its target and renamed into place by
/// [`Staging::commit`]; dropped without a commit, it is removed with everything in it.
pub struct Staging {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staging {
    /// Starts building `target`. A `target` that exists must be empty, or (with `replace`)
    /// hold a `manifest.json` of the expected `format` (so `--force` never deletes an
    /// unrelated directory).
    pub fn new(target: &Path, replace: bool, format: &str) -> Result<Staging> {
        if target.exists() {
            let empty = std::fs::read_dir(target)
                .map_err(io_err(target))?
                .next()
                .is_none();
            if !empty {
                if !replace {
                    return Err(ClientError::Refused {
                        path: target.to_path_buf(),
                        message: "exists and is not empty (use --force to replace it)".into(),
                    });
                }
                let manifest =
                    std::fs::read_to_string(target.join("manifest.json")).unwrap_or_default();
                if !manifest.contains(&format!("\"{format}\"")) {
                    return Err(ClientError::Refused {
                        path: target.to_path_buf(),
                        message: format!(
                            "is not a {format} directory (no manifest.json of that format); \
                             not replacing it"
                        ),
                    });
                }
            }
        }
        let dir = parent_dir(target);
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "out".into());
        let tmp = dir.join(format!(".{name}.partial-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
        }
        std::fs::create_dir(&tmp).map_err(io_err(&tmp))?;
        Ok(Staging {
            tmp,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// Where the files go until the commit.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Renames the finished directory into place (replacing an empty or old one).
    pub fn commit(mut self) -> Result<PathBuf> {
        sync_dir(&self.tmp);
        if self.target.exists() {
            std::fs::remove_dir_all(&self.target).map_err(io_err(&self.target))?;
        }
        std::fs::rename(&self.tmp, &self.target).map_err(io_err(&self.target))?;
        sync_dir(parent_dir(&self.target));
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Checks that a path read from a manifest stays inside its directory: relative, plain
/// components only (no `..`, no root), at most two of them.
pub fn checked_relative(manifest: &Path, rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    let ok = !rel.is_empty()
        && p.components().count() <= 2
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    if !ok {
        return Err(ClientError::manifest(
            manifest,
            format!("file path {rel:?} is not a plain relative path inside the directory"),
        ));
    }
    Ok(p.to_path_buf())
}

/// Whether `name` can be used as a file name as is (program identifiers can).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-')
}
