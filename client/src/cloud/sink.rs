//! [`ModelDirSink`]: the executor's [`OutputSink`] into a model directory (`model/`, see
//! [`crate::format`]), for the CPU backend. Each output value is written atomically as it
//! arrives (one grid file per output per trip), then the manifest is rewritten atomically, so
//! an interrupted run leaves a consistent directory listing the values completed so far.
//!
//! A run resumed from a checkpoint [reopens](ModelDirSink::reopen) the directory at the
//! outputs the checkpoint recorded: those files are checked, the manifest is cut back to them
//! (values written after the checkpoint are computed and written again, identically), and the
//! temporary files of writes the killed run left half-done are removed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use blindtune_runtime::backend::CpuBackend;
use blindtune_runtime::ckks::serialization::{CiphertextGrid, Serializable};
use blindtune_runtime::ckks::Ciphertext;
use blindtune_runtime::executor::io::{Grid, IoError, OutputSink};
use blindtune_runtime::plan::Plan;

use crate::error::{io_err, ClientError, Result};
use crate::files;
use crate::format::{
    output_file_name, FileRef, ModelManifest, ModelOutput, MANIFEST_FILE, MODEL_FORMAT,
};

pub struct ModelDirSink {
    dir: PathBuf,
    manifest: ModelManifest,
    /// output name → repeated
    outputs: BTreeMap<String, bool>,
    written: BTreeSet<(String, Vec<u64>)>,
}

fn output_err(name: &str, e: impl std::fmt::Display) -> IoError {
    IoError::Output {
        name: name.to_string(),
        message: e.to_string(),
    }
}

impl ModelDirSink {
    /// Creates the model directory of `plan` (`dims`: the run's named dimensions, e.g.
    /// [`super::EncryptedDirSource::dims`]). An existing non-empty directory is refused, or
    /// with `replace` emptied first if it is a model directory.
    pub fn create(
        plan: &Plan,
        dir: &Path,
        dims: BTreeMap<String, usize>,
        replace: bool,
    ) -> Result<ModelDirSink> {
        if dir.exists()
            && std::fs::read_dir(dir)
                .map_err(io_err(dir))?
                .next()
                .is_some()
        {
            let is_model = ModelManifest::load(dir).is_ok();
            if !replace || !is_model {
                return Err(ClientError::Refused {
                    path: dir.to_path_buf(),
                    message: if replace {
                        format!("is not a {MODEL_FORMAT} directory; not replacing it")
                    } else {
                        "exists and is not empty (use --force to replace it)".into()
                    },
                });
            }
            std::fs::remove_dir_all(dir).map_err(io_err(dir))?;
        }
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let manifest = ModelManifest::new(plan, dims);
        manifest.save(dir)?;
        Ok(ModelDirSink::with_manifest(plan, dir, manifest))
    }

    fn with_manifest(plan: &Plan, dir: &Path, manifest: ModelManifest) -> ModelDirSink {
        ModelDirSink {
            dir: dir.to_path_buf(),
            written: manifest
                .outputs
                .iter()
                .map(|o| (o.name.clone(), o.trips.clone()))
                .collect(),
            manifest,
            outputs: plan
                .outputs
                .iter()
                .map(|o| (o.name.clone(), o.repeated))
                .collect(),
        }
    }

    /// Reopens the model directory of an interrupted run of `plan` at the outputs a checkpoint
    /// recorded (`written`, in the order they were written; `checkpoint` names the file in
    /// errors). The directory must be this plan's with the same dimensions, and every output
    /// file `written` lists must be intact; the manifest is cut back to them and leftover
    /// temporary files are removed.
    pub fn reopen(
        plan: &Plan,
        dir: &Path,
        dims: BTreeMap<String, usize>,
        written: &[ModelOutput],
        checkpoint: &Path,
    ) -> Result<ModelDirSink> {
        let mut manifest = ModelManifest::load(dir)?;
        manifest.check(plan, dir)?;
        if manifest.dims != dims {
            return Err(ClientError::manifest(
                &dir.join(MANIFEST_FILE),
                format!(
                    "the model's dimensions {:?} are not the dataset's {dims:?}",
                    manifest.dims
                ),
            ));
        }
        let mut seen = BTreeSet::new();
        for o in written {
            if !plan.outputs.iter().any(|s| s.name == o.name)
                || !seen.insert((o.name.as_str(), o.trips.as_slice()))
                || o.file.path != output_file_name(&o.name, &o.trips)
            {
                return Err(ClientError::Checkpoint {
                    path: checkpoint.to_path_buf(),
                    field: "outputs".into(),
                    message: format!(
                        "output `{}` for trips {:?} (file {}) is not one this plan writes once",
                        o.name, o.trips, o.file.path
                    ),
                });
            }
            // Checks the size and BLAKE3 the checkpoint recorded; the error names the file.
            o.file.read(dir)?;
        }
        remove_temporaries(dir)?;
        manifest.outputs = written.to_vec();
        manifest.save(dir)?;
        Ok(ModelDirSink::with_manifest(plan, dir, manifest))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &ModelManifest {
        &self.manifest
    }
}

/// Removes the temporary files of atomic writes a killed run left in `dir` and in its output
/// subdirectories.
fn remove_temporaries(dir: &Path) -> Result<()> {
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).map_err(io_err(&d))? {
            let entry = entry.map_err(io_err(&d))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            let kind = entry.file_type().map_err(io_err(&path))?;
            if kind.is_dir() && d == dir {
                dirs.push(path);
            } else if kind.is_file() && files::is_temporary(&name) {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
    }
    Ok(())
}

impl OutputSink<CpuBackend> for ModelDirSink {
    fn output(
        &mut self,
        backend: &CpuBackend,
        name: &str,
        trips: &[u64],
        grid: &Grid<Ciphertext>,
    ) -> Result<(), IoError> {
        let repeated = *self
            .outputs
            .get(name)
            .ok_or_else(|| output_err(name, "not an output of the plan"))?;
        if repeated == trips.is_empty() {
            return Err(output_err(
                name,
                if repeated {
                    "a repeated output written outside its loops".to_string()
                } else {
                    format!("written inside loops (trips {trips:?}) but the plan records it once")
                },
            ));
        }
        if !files::is_plain_name(name) {
            return Err(output_err(name, "the name cannot be used as a file name"));
        }
        let first = grid
            .first()
            .and_then(|r| r.first())
            .ok_or_else(|| output_err(name, "an empty grid"))?;
        if grid.iter().any(|r| r.len() != grid[0].len()) {
            return Err(output_err(name, "a ragged grid"));
        }
        let key = (name.to_string(), trips.to_vec());
        if self.written.contains(&key) {
            return Err(output_err(
                name,
                format!("written twice for trips {trips:?}"),
            ));
        }
        let g = CiphertextGrid(grid.clone());
        let bytes = g.to_bytes(backend.context());
        let rel = output_file_name(name, trips);
        let path = self.dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| output_err(name, format!("{}: {e}", parent.display())))?;
        }
        files::write_atomic(&path, &bytes).map_err(|e| output_err(name, e))?;
        let (r, c) = g.dims();
        self.manifest.outputs.push(ModelOutput {
            name: name.to_string(),
            trips: trips.to_vec(),
            level: first.level(),
            scale: first.scale(),
            grid: [r, c],
            file: FileRef::new(rel, &bytes),
        });
        self.manifest
            .save(&self.dir)
            .map_err(|e| output_err(name, e))?;
        self.written.insert(key);
        tracing::debug!(output = name, ?trips, "written");
        Ok(())
    }
}
