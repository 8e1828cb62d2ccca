//! `decrypt` (data owner): the model directory the cloud returned, decrypted with
//! `secret.key`. Final outputs (the head: `weights`, `bias`) go to `head.safetensors`, named
//! like the outputs; repeated outputs (validation logits per epoch) to
//! `<stem>.trips.safetensors` beside it, one tensor per trip (`val_logits.0`, …). Tensors are
//! f64, in the program's shapes, padding cut.

use std::path::{Path, PathBuf};

use blindtune_runtime::ckks::serialization::{CiphertextGrid, Serializable};
use blindtune_runtime::ckks::{Context, Decryptor, Encoder, SecretKey};
use blindtune_runtime::plan::Plan;

use crate::error::{ClientError, Result};
use crate::format::{ModelManifest, ModelOutput};
use crate::owner::keys::load_secret_key;
use crate::tensors::{gather_output, write_safetensors, Decrypted, OutputTensor};

#[derive(Clone, Debug)]
pub struct DecryptSummary {
    pub head: PathBuf,
    /// the file of the repeated outputs, if any
    pub trips_file: Option<PathBuf>,
    pub outputs: Decrypted,
}

/// Where the repeated outputs of `head` go: `head.trips.safetensors` beside it.
pub fn trips_path(head: &Path) -> PathBuf {
    let stem = head
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "head".into());
    head.with_file_name(format!("{stem}.trips.safetensors"))
}

/// Decrypts `model_dir` for `plan` with the key in `keys_dir` and writes `out` (and its
/// `.trips.safetensors` when the plan has repeated outputs).
pub fn decrypt(
    plan: &Plan,
    keys_dir: &Path,
    model_dir: &Path,
    out: &Path,
) -> Result<DecryptSummary> {
    let (ctx, sk) = load_secret_key(plan, keys_dir)?;
    let outputs = decrypt_model(plan, &ctx, &sk, model_dir)?;
    let missing: Vec<&str> = plan
        .outputs
        .iter()
        .filter(|o| !o.repeated && outputs.get(&o.name).is_none())
        .map(|o| o.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ClientError::manifest(
            &model_dir.join(crate::format::MANIFEST_FILE),
            format!(
                "the run has not finished: the model has no value of {}",
                missing.join(", ")
            ),
        ));
    }
    write_safetensors(out, &outputs.finals)?;
    let trips_file = if outputs.repeated.is_empty() {
        None
    } else {
        let p = trips_path(out);
        write_safetensors(&p, &outputs.repeated)?;
        Some(p)
    };
    Ok(DecryptSummary {
        head: out.to_path_buf(),
        trips_file,
        outputs,
    })
}

/// Decrypts every value a model directory lists (checked against the plan and the manifest's
/// hashes) into tensors.
pub fn decrypt_model(
    plan: &Plan,
    ctx: &std::sync::Arc<Context>,
    sk: &SecretKey,
    model_dir: &Path,
) -> Result<Decrypted> {
    let manifest = ModelManifest::load(model_dir)?;
    manifest.check(plan, model_dir)?;
    let dec = ModelDecryptor::new(ctx, sk)?;
    let mut out = Decrypted::default();
    for o in &manifest.outputs {
        let t = dec.value(plan, &manifest, model_dir, o)?;
        if o.trips.is_empty() {
            out.finals.push(t);
        } else {
            out.repeated.push(t);
        }
    }
    Ok(out)
}

/// Decrypts the values of a model directory one at a time (`validate` decrypts each epoch's
/// logits as they arrive).
pub struct ModelDecryptor {
    ctx: std::sync::Arc<Context>,
    dec: Decryptor,
    encoder: Encoder,
}

impl ModelDecryptor {
    pub fn new(ctx: &std::sync::Arc<Context>, sk: &SecretKey) -> Result<Self> {
        Ok(ModelDecryptor {
            ctx: ctx.clone(),
            dec: Decryptor::new(ctx.clone(), sk)?,
            encoder: Encoder::new(ctx.clone()),
        })
    }

    /// One value `o` of `manifest` (already checked against `plan`): its file read against the
    /// manifest's hash, decrypted, and laid out in the program's shape.
    pub fn value(
        &self,
        plan: &Plan,
        manifest: &ModelManifest,
        model_dir: &Path,
        o: &ModelOutput,
    ) -> Result<OutputTensor> {
        let spec = plan
            .outputs
            .iter()
            .find(|s| s.name == o.name)
            .ok_or_else(|| {
                ClientError::manifest(
                    &model_dir.join(crate::format::MANIFEST_FILE),
                    format!("output `{}` is not in the plan", o.name),
                )
            })?;
        let bytes = o.file.read(model_dir)?;
        let path = o.file.full_path(model_dir);
        let grid = CiphertextGrid::from_bytes(&self.ctx, &bytes).map_err(|e| e.in_file(&path))?;
        let blocks: Vec<Vec<Vec<f64>>> = grid
            .0
            .iter()
            .map(|row| {
                row.iter()
                    .map(|ct| self.encoder.decode(&self.dec.decrypt(ct)))
                    .collect()
            })
            .collect();
        gather_output(spec, &manifest.dims, manifest.block, &o.trips, &blocks)
    }
}
