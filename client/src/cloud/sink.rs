//! [`ModelDirSink`]: the executor's [`OutputSink`] into a model directory (`model/`, see
//! [`crate::format`]), for the CPU backend. Each output value is written atomically as it
//! arrives (one grid file per output per trip), then the manifest is rewritten atomically, so
//! an interrupted run leaves a consistent directory listing the values completed so far.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use blindtune_runtime::backend::CpuBackend;
use blindtune_runtime::ckks::serialization::{CiphertextGrid, Serializable};
use blindtune_runtime::ckks::Ciphertext;
use blindtune_runtime::executor::io::{Grid, IoError, OutputSink};
use blindtune_runtime::plan::Plan;

use crate::error::{io_err, ClientError, Result};
use crate::files;
use crate::format::{output_file_name, FileRef, ModelManifest, ModelOutput, MODEL_FORMAT};

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
        Ok(ModelDirSink {
            dir: dir.to_path_buf(),
            manifest,
            outputs: plan
                .outputs
                .iter()
                .map(|o| (o.name.clone(), o.repeated))
                .collect(),
            written: BTreeSet::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &ModelManifest {
        &self.manifest
    }
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
