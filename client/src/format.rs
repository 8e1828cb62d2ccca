//! The directory formats around a plan, each described by a versioned `manifest.json`:
//!
//! * the **encrypted dataset** (`enc/`, [`DatasetManifest`]): what the data owner sends the
//!   cloud. One ciphertext-grid file per whole secret input (`NAME.ct`), one per batch of a
//!   streamed input (`NAME/eEEEEE-bBBBBB.ct`, listed in the order the plan consumes them),
//!   and the public inputs in the clear (`public.safetensors`, f64).
//! * the **encrypted model** (`model/`, [`ModelManifest`]): what the cloud sends back. One
//!   ciphertext-grid file per output value (`NAME.ct`, or `NAME/tT[-T…].ct` per trip of the
//!   enclosing loops for repeated outputs).
//!
//! Every file listed carries its BLAKE3 and size, and every ciphertext file is a runtime
//! envelope with its own checksum and parameter fingerprint, so a corrupted, truncated,
//! swapped or foreign file is refused by name. A manifest records the plan's source hash and
//! parameter fingerprint; a reader refuses a directory made for another plan. Manifests are
//! written last (atomically), so a directory without one is not a dataset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blindtune_runtime::plan::{BlockShape, Layout, Plan};
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};
use crate::files;

pub const DATASET_FORMAT: &str = "blindtune-encrypted-dataset";
pub const DATASET_VERSION: u32 = 1;
pub const MODEL_FORMAT: &str = "blindtune-encrypted-model";
pub const MODEL_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";
/// The public inputs of an encrypted dataset.
pub const PUBLIC_FILE: &str = "public.safetensors";

/// Which plan a directory belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanRef {
    /// the program's file name
    pub source: String,
    /// BLAKE3 of the program's source (the plan's `source.blake3`)
    pub source_blake3: String,
    pub params: String,
    pub params_fingerprint: String,
    /// the seed of the batch orders
    pub seed: u64,
}

impl PlanRef {
    pub fn of(plan: &Plan) -> PlanRef {
        PlanRef {
            source: plan.source.name.clone(),
            source_blake3: plan.source.blake3.clone(),
            params: plan.params.clone(),
            params_fingerprint: plan.params_fingerprint.clone(),
            seed: plan.seed,
        }
    }

    /// Refuses a directory made for another plan (another program, parameters or seed).
    pub fn check(&self, plan: &Plan, manifest: &Path) -> Result<()> {
        let want = PlanRef::of(plan);
        let mismatch = |what: &str, found: &str, want: &str| {
            Err(ClientError::manifest(
                manifest,
                format!("made for another plan: {what} is {found}, the plan has {want}"),
            ))
        };
        if self.source_blake3 != want.source_blake3 {
            return mismatch(
                "the program's hash",
                &format!("{} ({})", self.source_blake3, self.source),
                &format!("{} ({})", want.source_blake3, want.source),
            );
        }
        if !self
            .params_fingerprint
            .eq_ignore_ascii_case(&want.params_fingerprint)
        {
            return mismatch(
                "the parameter fingerprint",
                &self.params_fingerprint,
                &want.params_fingerprint,
            );
        }
        if self.seed != want.seed {
            return mismatch(
                "the batch-order seed",
                &self.seed.to_string(),
                &want.seed.to_string(),
            );
        }
        Ok(())
    }
}

/// A file of a directory, with what pins its contents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    /// relative to the directory
    pub path: String,
    pub bytes: u64,
    pub blake3: String,
}

impl FileRef {
    pub fn new(path: String, contents: &[u8]) -> FileRef {
        FileRef {
            path,
            bytes: contents.len() as u64,
            blake3: files::blake3_hex(contents),
        }
    }

    /// Reads the file under `dir`, checking its size and hash against the manifest.
    pub fn read(&self, dir: &Path) -> Result<Vec<u8>> {
        let manifest = dir.join(MANIFEST_FILE);
        let path = dir.join(files::checked_relative(&manifest, &self.path)?);
        let bytes = files::read(&path)?;
        if bytes.len() as u64 != self.bytes {
            return Err(ClientError::manifest(
                &path,
                format!(
                    "{} bytes where the manifest lists {}: the file is truncated or was replaced",
                    bytes.len(),
                    self.bytes
                ),
            ));
        }
        if files::blake3_hex(&bytes) != self.blake3 {
            return Err(ClientError::manifest(
                &path,
                "its BLAKE3 does not match the manifest: the file is corrupted or was replaced",
            ));
        }
        Ok(bytes)
    }

    pub fn full_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.path)
    }
}

/// One batch file of a streamed input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchFile {
    /// the loop entry (epoch) it belongs to
    pub entry: u64,
    /// its index in the entry
    pub index: usize,
    /// its row count (the last batch of an entry may be short)
    pub rows: usize,
    /// `[row blocks, column blocks]`
    pub grid: [usize; 2],
    pub file: FileRef,
}

/// A streamed input's batches, in the order the plan consumes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamFiles {
    pub batch: usize,
    pub order: usize,
    pub shuffle: bool,
    pub entries: u64,
    pub batches_per_entry: usize,
    pub batches: Vec<BatchFile>,
}

/// One input of an encrypted dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetInput {
    pub name: String,
    pub secret: bool,
    /// `[rows, cols]` with the named dimensions bound
    pub shape: [usize; 2],
    pub rank: usize,
    pub layout: Layout,
    /// secret inputs: the level and scale of every ciphertext
    pub level: Option<usize>,
    pub scale: Option<f64>,
    /// a whole secret input's grid file (`[row blocks, column blocks]`), or for a public
    /// input the safetensors file holding it (tensor named like the input)
    pub file: Option<FileRef>,
    pub grid: Option<[usize; 2]>,
    pub stream: Option<StreamFiles>,
}

/// `enc/manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetManifest {
    pub format: String,
    pub version: u32,
    pub plan: PlanRef,
    pub block: BlockShape,
    /// the named dimensions the data fixed (`N`, `T`, …)
    pub dims: BTreeMap<String, usize>,
    pub inputs: Vec<DatasetInput>,
}

/// One output value in `model/`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelOutput {
    pub name: String,
    /// trip indices of the enclosing loops, outermost first (empty outside loops)
    pub trips: Vec<u64>,
    pub level: usize,
    pub scale: f64,
    pub grid: [usize; 2],
    pub file: FileRef,
}

/// `model/manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    pub format: String,
    pub version: u32,
    pub plan: PlanRef,
    pub block: BlockShape,
    /// the named dimensions of the run (from the dataset), to cut the outputs' padding
    pub dims: BTreeMap<String, usize>,
    /// in the order they were written
    pub outputs: Vec<ModelOutput>,
}

/// Reads a manifest: the format name and version first (so another version is refused by
/// name even if its fields changed), then the fields; errors name the file.
fn read_manifest<T: for<'de> Deserialize<'de>>(
    dir: &Path,
    format: &str,
    version: u32,
) -> Result<T> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ClientError::manifest(
                &path,
                format!(
                    "missing: {} is not a complete {format} directory",
                    dir.display()
                ),
            )
        } else {
            ClientError::Io {
                path: path.clone(),
                source: e,
            }
        }
    })?;
    #[derive(Deserialize)]
    struct Header {
        format: Option<String>,
        version: Option<u32>,
    }
    let h: Header = serde_json::from_str(&text)
        .map_err(|e| ClientError::manifest(&path, format!("not a JSON manifest ({e})")))?;
    match (h.format.as_deref(), h.version) {
        (Some(f), Some(v)) if f == format && v == version => {}
        (Some(f), Some(v)) if f == format => {
            return Err(ClientError::manifest(
                &path,
                format!(
                    "{format} version {v} is not supported (this build reads version {version})"
                ),
            ))
        }
        (f, _) => {
            return Err(ClientError::manifest(
                &path,
                format!("its format is {f:?}, not {format:?}"),
            ))
        }
    }
    serde_json::from_str(&text).map_err(|e| ClientError::manifest(&path, format!("malformed: {e}")))
}

impl DatasetManifest {
    pub fn load(dir: &Path) -> Result<DatasetManifest> {
        read_manifest(dir, DATASET_FORMAT, DATASET_VERSION)
    }

    pub fn input(&self, name: &str) -> Option<&DatasetInput> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// Refuses a dataset made for another plan, or whose inputs do not match the plan's.
    pub fn check(&self, plan: &Plan, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        self.plan.check(plan, &path)?;
        if self.block != plan.block {
            return Err(ClientError::manifest(&path, "made for another block shape"));
        }
        for i in &self.inputs {
            let spec = plan
                .inputs
                .iter()
                .find(|s| s.name == i.name)
                .ok_or_else(|| {
                    ClientError::manifest(&path, format!("input `{}` is not in the plan", i.name))
                })?;
            if spec.secret != i.secret || spec.layout != i.layout || spec.level != i.level {
                return Err(ClientError::manifest(
                    &path,
                    format!(
                        "input `{}` differs from the plan's (secrecy, layout or level)",
                        i.name
                    ),
                ));
            }
            if spec.stream.is_some() != i.stream.is_some() {
                return Err(ClientError::manifest(
                    &path,
                    format!("input `{}`: streamed in one and not in the other", i.name),
                ));
            }
            if crate::dataset::resolve_shape(&spec.shape, &self.dims) != Some(i.shape) {
                return Err(ClientError::manifest(
                    &path,
                    format!(
                        "input `{}` has shape {:?}, which does not fit the plan's",
                        i.name, i.shape
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("a manifest serializes");
        files::write_atomic(&dir.join(MANIFEST_FILE), json.as_bytes())
    }
}

impl ModelManifest {
    pub fn new(plan: &Plan, dims: BTreeMap<String, usize>) -> ModelManifest {
        ModelManifest {
            format: MODEL_FORMAT.into(),
            version: MODEL_VERSION,
            plan: PlanRef::of(plan),
            block: plan.block,
            dims,
            outputs: Vec::new(),
        }
    }

    pub fn load(dir: &Path) -> Result<ModelManifest> {
        read_manifest(dir, MODEL_FORMAT, MODEL_VERSION)
    }

    pub fn check(&self, plan: &Plan, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        self.plan.check(plan, &path)?;
        for o in &self.outputs {
            if !plan.outputs.iter().any(|s| s.name == o.name) {
                return Err(ClientError::manifest(
                    &path,
                    format!("output `{}` is not in the plan", o.name),
                ));
            }
        }
        Ok(())
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("a manifest serializes");
        files::write_atomic(&dir.join(MANIFEST_FILE), json.as_bytes())
    }
}

/// The file name of an output value: `NAME.ct` outside loops, `NAME/t3.ct`, `NAME/t3-0.ct`
/// inside them.
pub fn output_file_name(name: &str, trips: &[u64]) -> String {
    if trips.is_empty() {
        format!("{name}.ct")
    } else {
        let t: Vec<String> = trips.iter().map(|t| format!("{t:05}")).collect();
        format!("{name}/t{}.ct", t.join("-"))
    }
}

/// The file name of batch `index` of entry `entry` of a streamed input.
pub fn batch_file_name(name: &str, entry: u64, index: usize) -> String {
    format!("{name}/e{entry:06}-b{index:06}.ct")
}
