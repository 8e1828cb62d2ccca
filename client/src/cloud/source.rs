//! [`EncryptedDirSource`]: the executor's [`InputSource`] over an encrypted dataset directory
//! (`enc/`, see [`crate::format`]), for the CPU backend. Each grid file is read when the
//! executor asks for it (a stream's batches one at a time, from disk), checked against the
//! manifest (size, BLAKE3, block grid, level, scale) and by its own envelope (kind, checksum,
//! parameter fingerprint).
//!
//! Its position in the streams ([`EncryptedDirSource::cursors`]: batches consumed per
//! streamed input) is all it needs to resume: the batch order is fixed in the manifest by the
//! data owner (shuffled with the plan's seed), so [`EncryptedDirSource::seek`] to the cursors
//! a checkpoint recorded hands out exactly the batches the interrupted run would have read
//! next, without reading the ones before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blindtune_runtime::backend::CpuBackend;
use blindtune_runtime::ckks::serialization::{CiphertextGrid, Serializable};
use blindtune_runtime::ckks::Ciphertext;
use blindtune_runtime::executor::io::{Grid, InputSource, IoError};
use blindtune_runtime::plan::Plan;

use crate::dataset::read_inputs;
use crate::error::{ClientError, Result};
use crate::files;
use crate::format::{DatasetInput, DatasetManifest, FileRef, MANIFEST_FILE};

pub struct EncryptedDirSource {
    dir: PathBuf,
    manifest: DatasetManifest,
    /// BLAKE3 of `manifest.json` as read
    manifest_blake3: String,
    /// next batch of each streamed input
    cursors: BTreeMap<String, usize>,
}

fn input_err(name: &str, e: impl std::fmt::Display) -> IoError {
    IoError::Input {
        name: name.to_string(),
        message: e.to_string(),
    }
}

impl EncryptedDirSource {
    /// Opens `dir` for `plan`: the manifest must be this plan's (program hash, parameters,
    /// seed, block, every input's secrecy, layout, level and shape), and every input the plan
    /// reads must be there.
    pub fn open(plan: &Plan, dir: &Path) -> Result<EncryptedDirSource> {
        let manifest = DatasetManifest::load(dir)?;
        let manifest_blake3 = files::blake3_hex(&files::read(&dir.join(MANIFEST_FILE))?);
        manifest.check(plan, dir)?;
        for name in read_inputs(plan) {
            if manifest.input(&name).is_none() {
                return Err(ClientError::manifest(
                    &dir.join(MANIFEST_FILE),
                    format!("input `{name}`, which the plan reads, is not in the dataset"),
                ));
            }
        }
        Ok(EncryptedDirSource {
            dir: dir.to_path_buf(),
            manifest,
            manifest_blake3,
            cursors: BTreeMap::new(),
        })
    }

    /// BLAKE3 of the dataset's `manifest.json`, which pins every file of the dataset (a
    /// checkpoint records it so a resumed run reads the same data).
    pub fn manifest_blake3(&self) -> &str {
        &self.manifest_blake3
    }

    /// Batches handed out so far, per streamed input (inputs not read yet are absent).
    pub fn cursors(&self) -> &BTreeMap<String, usize> {
        &self.cursors
    }

    /// Continues every stream after the batches `cursors` counts (as [`Self::cursors`] gave
    /// them); the other streams start over. `what` names the file the cursors come from in
    /// errors: a name that is not a streamed input, or a count past its batches.
    pub fn seek(&mut self, cursors: &BTreeMap<String, usize>, what: &Path) -> Result<()> {
        for (name, &k) in cursors {
            let field = format!("cursors.{name}");
            let bad = |message: String| ClientError::Checkpoint {
                path: what.to_path_buf(),
                field: field.clone(),
                message,
            };
            let stream = self
                .manifest
                .input(name)
                .and_then(|i| i.stream.as_ref())
                .ok_or_else(|| bad("not a streamed input of the dataset".into()))?;
            if k > stream.batches.len() {
                return Err(bad(format!(
                    "{k} batches consumed but the dataset has {}",
                    stream.batches.len()
                )));
            }
        }
        self.cursors = cursors.clone();
        Ok(())
    }

    /// The named dimensions the data fixed.
    pub fn dims(&self) -> &BTreeMap<String, usize> {
        &self.manifest.dims
    }

    pub fn manifest(&self) -> &DatasetManifest {
        &self.manifest
    }

    /// Starts every stream over from its first batch.
    pub fn rewind(&mut self) {
        self.cursors.clear();
    }

    fn input(&self, name: &str) -> Result<&DatasetInput, IoError> {
        self.manifest
            .input(name)
            .ok_or_else(|| input_err(name, "not in the encrypted dataset"))
    }

    /// Reads and checks one grid file.
    fn grid(
        &self,
        backend: &CpuBackend,
        input: &DatasetInput,
        file: &FileRef,
        grid: [usize; 2],
    ) -> Result<Grid<Ciphertext>, IoError> {
        let name = &input.name;
        let bytes = file.read(&self.dir).map_err(|e| input_err(name, e))?;
        let path = file.full_path(&self.dir);
        let g = CiphertextGrid::from_bytes(backend.context(), &bytes)
            .map_err(|e| input_err(name, e.in_file(&path)))?;
        let (r, c) = g.dims();
        if [r, c] != grid {
            return Err(input_err(
                name,
                format!(
                    "{}: {r}×{c} blocks where the manifest lists {}×{}",
                    path.display(),
                    grid[0],
                    grid[1]
                ),
            ));
        }
        for ct in g.0.iter().flatten() {
            if Some(ct.level()) != input.level
                || input.scale.is_some_and(|s| s != ct.scale())
                || ct.slots() != self.manifest.block.slots()
            {
                return Err(input_err(
                    name,
                    format!(
                        "{}: a block at level {} scale {} with {} slots, where the manifest says \
                         level {:?} scale {:?} with {} slots",
                        path.display(),
                        ct.level(),
                        ct.scale(),
                        ct.slots(),
                        input.level,
                        input.scale,
                        self.manifest.block.slots()
                    ),
                ));
            }
        }
        Ok(g.0)
    }
}

impl InputSource<CpuBackend> for EncryptedDirSource {
    fn secret(&mut self, backend: &CpuBackend, name: &str) -> Result<Grid<Ciphertext>, IoError> {
        let input = self.input(name)?;
        if !input.secret || input.stream.is_some() {
            return Err(input_err(name, "not a whole secret input in the dataset"));
        }
        let (Some(file), Some(grid)) = (&input.file, input.grid) else {
            return Err(input_err(name, "the manifest lists no file for it"));
        };
        self.grid(backend, input, file, grid)
    }

    fn public(&mut self, name: &str) -> Result<(Vec<f64>, [usize; 2]), IoError> {
        let input = self.input(name)?;
        if input.secret {
            return Err(input_err(name, "a secret input, not a public one"));
        }
        let file = input
            .file
            .as_ref()
            .ok_or_else(|| input_err(name, "the manifest lists no file for it"))?;
        let bytes = file.read(&self.dir).map_err(|e| input_err(name, e))?;
        let path = file.full_path(&self.dir);
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| input_err(name, format!("{}: {e}", path.display())))?;
        let t = st
            .tensor(name)
            .map_err(|_| input_err(name, format!("{}: no tensor `{name}`", path.display())))?;
        if t.dtype() != safetensors::Dtype::F64 {
            return Err(input_err(
                name,
                format!("{}: dtype {:?}, not F64", path.display(), t.dtype()),
            ));
        }
        let values: Vec<f64> = t
            .data()
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        if values.len() != input.shape[0] * input.shape[1] {
            return Err(input_err(
                name,
                format!(
                    "{}: {} values for shape {:?}",
                    path.display(),
                    values.len(),
                    input.shape
                ),
            ));
        }
        Ok((values, input.shape))
    }

    fn next_batch(
        &mut self,
        backend: &CpuBackend,
        name: &str,
    ) -> Result<(Grid<Ciphertext>, usize), IoError> {
        let input = self.input(name)?;
        let stream = input
            .stream
            .as_ref()
            .ok_or_else(|| input_err(name, "not a streamed input in the dataset"))?;
        let k = self.cursors.get(name).copied().unwrap_or(0);
        let batch = stream.batches.get(k).ok_or_else(|| {
            input_err(
                name,
                format!(
                    "all {} batches have been read ({} entries of {}); the plan asks for more",
                    stream.batches.len(),
                    stream.entries,
                    stream.batches_per_entry
                ),
            )
        })?;
        let grid = self.grid(backend, input, &batch.file, batch.grid)?;
        let rows = batch.rows;
        self.cursors.insert(name.to_string(), k + 1);
        Ok((grid, rows))
    }

    fn dim(&self, name: &str) -> Option<usize> {
        self.manifest.dims.get(name).copied()
    }
}
