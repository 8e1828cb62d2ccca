//! The cloud's side of the workflow: everything a `train` run needs, and nothing that can open
//! a secret key.
//!
//! **Roles invariant.** This module never imports [`crate::owner`] (nor `SecretKey`,
//! `Decryptor` or `KeyGenerator`; `client/tests/roles.rs` checks the source). Its only key
//! loader, [`load_eval_bundle`], accepts a file of the evaluation-bundle kind and nothing
//! else: a secret-key file is refused by its secret flag before anything else is read
//! (`FormatError::SecretKeyRefused`). Cloud commands take `--eval-keys FILE`, never a keys
//! directory.
//!
//! * [`load_eval_bundle`], [`cpu_backend`]: the bundle of a plan, and the CPU backend over it
//!   (with bootstrapping keys when the plan bootstraps);
//! * [`source::EncryptedDirSource`]: the executor's inputs from an encrypted dataset directory;
//! * [`sink::ModelDirSink`]: the executor's outputs into a model directory;
//! * [`decisions::AwaitDecisions`]: early stopping, the owner's decision awaited after each
//!   epoch;
//! * [`checkpoint::TrainCheckpoint`]: the checkpoint file a run can be resumed from, and
//!   [`checkpointer::Checkpointer`], the observer that writes it every K innermost trips.

pub mod checkpoint;
pub mod checkpointer;
pub mod decisions;
pub mod sink;
pub mod source;

use std::path::Path;
use std::sync::Arc;

use blindtune_runtime::backend::CpuBackend;
use blindtune_runtime::ckks::bundle::{load_evaluation_bundle, EvaluationBundle};
use blindtune_runtime::ckks::Context;
use blindtune_runtime::plan::Plan;

use crate::error::{ClientError, Result};
use crate::params::{plan_context, required_keys};

pub use checkpoint::{checkpoint_path, TrainCheckpoint, CHECKPOINT_FILE};
pub use checkpointer::Checkpointer;
pub use decisions::{validation_loop, AwaitDecisions, ValidationLoop};
pub use sink::ModelDirSink;
pub use source::EncryptedDirSource;

/// Loads the evaluation bundle of `plan` from `path`: the plan's parameters, the file's kind
/// (evaluation bundle only; a secret key is refused), its checksum and fingerprint, and that
/// it holds every key the plan needs.
pub fn load_eval_bundle(plan: &Plan, path: &Path) -> Result<(Arc<Context>, EvaluationBundle)> {
    let ctx = plan_context(plan)?;
    let bundle = load_evaluation_bundle(&ctx, path)?;
    let needs = required_keys(plan, ctx.params());
    if !bundle.evaluation.satisfies(&needs) {
        return Err(ClientError::Plan(format!(
            "{}: the evaluation keys do not cover the plan's key manifest (made for another \
             plan? run keygen for this plan)",
            path.display()
        )));
    }
    if plan.bootstrapping && bundle.bootstrapping.is_none() {
        return Err(ClientError::Plan(format!(
            "{}: the plan bootstraps but the bundle has no bootstrapping keys",
            path.display()
        )));
    }
    Ok((ctx, bundle))
}

/// The CPU backend over a bundle's keys (able to bootstrap when the bundle can).
pub fn cpu_backend(ctx: &Arc<Context>, bundle: &EvaluationBundle) -> Result<CpuBackend> {
    Ok(match &bundle.bootstrapping {
        Some(b) => CpuBackend::with_bootstrapping_keys(ctx.clone(), b.clone())?,
        None => CpuBackend::new(ctx.clone(), bundle.evaluation.clone())?,
    })
}
