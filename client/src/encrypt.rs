//! `encrypt`: the data owner turns its tensors into an encrypted dataset directory
//! ([`crate::format::DatasetManifest`]) for the cloud, under the **public key** only (the
//! secret key is never read here).
//!
//! Secret inputs are encrypted at their plan level and [`encryption_scale`]; streamed ones
//! batch by batch in the order the plan consumes them (every loop entry, permuted per
//! [`crate::dataset`]), one file per batch, so the cloud streams them from disk and never
//! permutes ciphertext rows. Public inputs the plan reads go in the clear into
//! `public.safetensors`; declared inputs it never reads (labels scored by the owner) are not
//! written. The directory is built under a temporary name and renamed into place when
//! complete: a failed run leaves no directory and no half-written file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use blindtune_compiler::interp::data::DataSet;
use blindtune_runtime::ckks::serialization::{self, CiphertextGrid, Serializable};
use blindtune_runtime::ckks::PublicKey;
use blindtune_runtime::plan::{layout, Plan};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use safetensors::Dtype;

use crate::cipher::PublicKeyEncryptor;
use crate::dataset::{bind, cursor, encryption_scale, BoundInput};
use crate::error::{io_err, ClientError, Result};
use crate::features::output::{serialize, OwnedTensor};
use crate::files::{self, Staging};
use crate::format::{
    batch_file_name, BatchFile, DatasetInput, DatasetManifest, FileRef, PlanRef, StreamFiles,
    DATASET_FORMAT, DATASET_VERSION, PUBLIC_FILE,
};
use crate::keyfiles::PUBLIC_KEY_FILE;
use crate::params::plan_context;

#[derive(Clone, Debug, Default)]
pub struct EncryptOptions {
    /// show a progress bar (ciphertexts)
    pub progress: bool,
    /// replace an existing encrypted dataset at the output path
    pub force: bool,
}

#[derive(Clone, Debug)]
pub struct EncryptSummary {
    pub dir: PathBuf,
    pub ciphertexts: u64,
    pub files: usize,
    pub bytes: u64,
    pub seconds: f64,
    /// `(input, how)` for every input written
    pub inputs: Vec<(String, String)>,
    /// declared inputs the plan never reads, not written
    pub kept: Vec<String>,
}

/// Encrypts `data` for `plan` with the public key of `keys_dir` into `out_dir`.
pub fn encrypt(
    plan: &Plan,
    keys_dir: &Path,
    data: &DataSet,
    out_dir: &Path,
    opts: &EncryptOptions,
) -> Result<EncryptSummary> {
    let ctx = plan_context(plan)?;
    let pk: PublicKey = serialization::load(&ctx, &keys_dir.join(PUBLIC_KEY_FILE))?;
    let enc = PublicKeyEncryptor::new(ctx, pk)?;
    encrypt_with(plan, &enc, data, out_dir, opts)
}

/// What encrypting one input needs.
struct InputJob<'a> {
    plan: &'a Plan,
    enc: &'a PublicKeyEncryptor,
    input: &'a BoundInput,
    level: usize,
    scale: f64,
    pb: &'a ProgressBar,
}

/// The ciphertexts of one tensor `[rows, cols]` (row-major) in the input's layout.
fn encrypt_tensor(job: &InputJob<'_>, data: &[f64], rows: usize) -> Result<CiphertextGrid> {
    let (input, block) = (job.input, job.plan.block);
    let blocks = layout::scatter(data, rows, input.cols, input.spec.layout, block);
    let grid = blocks
        .par_iter()
        .map(|row| {
            row.par_iter()
                .map(|slots| {
                    let ct = job.enc.encrypt_slots(slots, job.level, job.scale);
                    job.pb.inc(1);
                    ct
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CiphertextGrid(grid))
}

fn grid_blocks(plan: &Plan, input: &BoundInput, rows: usize) -> [usize; 2] {
    [
        input.spec.layout.rows.blocks(rows, plan.block.s0),
        input.spec.layout.cols.blocks(input.cols, plan.block.s1),
    ]
}

/// As [`encrypt`], with a ready encryptor (tests, or a caller that holds the public key).
pub fn encrypt_with(
    plan: &Plan,
    enc: &PublicKeyEncryptor,
    data: &DataSet,
    out_dir: &Path,
    opts: &EncryptOptions,
) -> Result<EncryptSummary> {
    let start = Instant::now();
    let ctx = enc.context().clone();
    let bound = bind(plan, data)?;
    for name in &bound.kept {
        tracing::info!(input = %name, "not read by the plan: stays with the data owner");
    }
    // Ciphertexts to make, for the progress bar.
    let total: u64 = bound
        .inputs
        .iter()
        .filter(|i| i.spec.secret)
        .map(|i| match cursor(plan, i) {
            Some(c) => c
                .map(|b| {
                    let [r, c] = grid_blocks(plan, i, b.rows.len());
                    (r * c) as u64
                })
                .sum::<u64>(),
            None => {
                let [r, c] = grid_blocks(plan, i, i.rows);
                (r * c) as u64
            }
        })
        .sum();
    let pb = if opts.progress {
        let pb = ProgressBar::new(total);
        pb.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} ciphertexts, {per_sec}, eta {eta}")
                .expect("static template"),
        );
        pb
    } else {
        ProgressBar::hidden()
    };

    let staging = Staging::new(out_dir, opts.force, DATASET_FORMAT)?;
    let dir = staging.path().to_path_buf();
    let mut inputs = Vec::new();
    let mut how = Vec::new();
    let mut files_written = 0usize;
    let mut bytes_written = 0u64;
    let mut public: Vec<(String, OwnedTensor)> = Vec::new();
    let write = |rel: &str, bytes: &[u8]| -> Result<FileRef> {
        files::write_atomic(&dir.join(rel), bytes)?;
        Ok(FileRef::new(rel.to_string(), bytes))
    };

    for input in &bound.inputs {
        let spec = &input.spec;
        if !files::is_plain_name(&spec.name) {
            return Err(ClientError::input(
                &spec.name,
                "the name cannot be used as a file name",
            ));
        }
        let mut entry = DatasetInput {
            name: spec.name.clone(),
            secret: spec.secret,
            shape: [input.rows, input.cols],
            rank: spec.rank,
            layout: spec.layout,
            level: spec.level,
            scale: None,
            file: None,
            grid: None,
            stream: None,
        };
        if !spec.secret {
            let shape = match spec.rank {
                0 => vec![],
                1 => vec![input.cols],
                _ => vec![input.rows, input.cols],
            };
            let data = input.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            public.push((
                spec.name.clone(),
                OwnedTensor {
                    dtype: Dtype::F64,
                    shape,
                    data,
                },
            ));
            inputs.push(entry);
            how.push((spec.name.clone(), "public, in the clear".to_string()));
            continue;
        }
        let level = spec
            .level
            .expect("a validated plan gives secret inputs a level");
        let scale = encryption_scale(ctx.params(), plan.max_level, level);
        entry.scale = Some(scale);
        let job = InputJob {
            plan,
            enc,
            input,
            level,
            scale,
            pb: &pb,
        };
        match cursor(plan, input) {
            None => {
                let grid = encrypt_tensor(&job, &input.data, input.rows)?;
                let bytes = grid.to_bytes(&ctx);
                let rel = format!("{}.ct", spec.name);
                entry.grid = Some(grid_blocks(plan, input, input.rows));
                entry.file = Some(write(&rel, &bytes)?);
                files_written += 1;
                bytes_written += bytes.len() as u64;
                how.push((
                    spec.name.clone(),
                    format!(
                        "{} ciphertexts at level {level}",
                        grid.dims().0 * grid.dims().1
                    ),
                ));
            }
            Some(cur) => {
                let st = spec.stream.as_ref().expect("a cursor comes from a stream");
                let per_entry = cur.batches_per_entry();
                let sub = dir.join(&spec.name);
                std::fs::create_dir_all(&sub).map_err(io_err(&sub))?;
                let all: Vec<_> = cur.collect();
                let mut batches = Vec::with_capacity(all.len());
                // one entry at a time: its batches in parallel, written as they finish
                for chunk in all.chunks(per_entry.max(1)) {
                    let done = chunk
                        .par_iter()
                        .map(|b| -> Result<BatchFile> {
                            let rows = input.select_rows(&b.rows);
                            let grid = encrypt_tensor(&job, &rows, b.rows.len())?;
                            let bytes = grid.to_bytes(&ctx);
                            let rel = batch_file_name(&spec.name, b.entry, b.index);
                            Ok(BatchFile {
                                entry: b.entry,
                                index: b.index,
                                rows: b.rows.len(),
                                grid: grid_blocks(plan, input, b.rows.len()),
                                file: write(&rel, &bytes)?,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    batches.extend(done);
                }
                files_written += batches.len();
                bytes_written += batches.iter().map(|b| b.file.bytes).sum::<u64>();
                how.push((
                    spec.name.clone(),
                    format!(
                        "{} batches of {} rows ({} entries × {per_entry}{}) at level {level}",
                        batches.len(),
                        st.batch,
                        st.entries,
                        if st.shuffle {
                            ", shuffled"
                        } else {
                            ", in order"
                        }
                    ),
                ));
                entry.stream = Some(StreamFiles {
                    batch: st.batch,
                    order: st.order,
                    shuffle: st.shuffle,
                    entries: st.entries,
                    batches_per_entry: per_entry,
                    batches,
                });
            }
        }
        inputs.push(entry);
    }
    if !public.is_empty() {
        let bytes = serialize(&public, None).map_err(|m| ClientError::Data {
            path: dir.join(PUBLIC_FILE),
            message: m,
        })?;
        let f = write(PUBLIC_FILE, &bytes)?;
        files_written += 1;
        bytes_written += bytes.len() as u64;
        for i in inputs.iter_mut().filter(|i| !i.secret) {
            i.file = Some(f.clone());
        }
    }
    let manifest = DatasetManifest {
        format: DATASET_FORMAT.into(),
        version: DATASET_VERSION,
        plan: PlanRef::of(plan),
        block: plan.block,
        dims: bound.dims.clone(),
        inputs,
    };
    manifest.save(&dir)?;
    pb.finish_and_clear();
    let dir = staging.commit()?;
    Ok(EncryptSummary {
        dir,
        ciphertexts: total,
        files: files_written,
        bytes: bytes_written,
        seconds: start.elapsed().as_secs_f64(),
        inputs: how,
        kept: bound.kept,
    })
}
