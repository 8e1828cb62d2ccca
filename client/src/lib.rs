//! The data owner's and the cloud's tools around a blindtune plan.
//!
//! Data owner: [`features`] (DeiT features from images), [`owner::keygen`] (keys from a plan),
//! [`encrypt::encrypt`] (an encrypted dataset directory, public key only),
//! [`owner::decrypt`] (the trained head from the cloud's model directory),
//! [`evaluate::evaluate`] (accuracy, loss and confusion of a head), [`plot`] (training
//! curves), [`owner::validate`] (early stopping: each epoch's encrypted validation logits
//! decrypted and scored, [`early_stopping`]'s rule, a [`decision`] file for the cloud).
//!
//! Cloud: [`cloud`] (the evaluation bundle, the executor's input source over an encrypted
//! dataset and its output sink into a model directory, the owner's early-stopping decisions
//! awaited between epochs). In memory, for the simulator and
//! tests: [`memory`] with the encryptors of [`cipher`].
//!
//! **Roles.** Everything that touches `secret.key` is in [`owner`]; [`cloud`] never imports
//! it, and its one key loader accepts only an evaluation bundle (a secret-key file is refused
//! by its secret flag). The file formats are in [`keyfiles`] (keys) and [`format`] (the
//! encrypted dataset and model directories); `docs/workflow.md` says who holds which file.

pub mod cipher;
pub mod cloud;
pub mod dataset;
pub mod decision;
pub mod early_stopping;
pub mod encrypt;
pub mod error;
pub mod evaluate;
pub mod features;
pub mod files;
pub mod format;
pub mod keyfiles;
pub mod memory;
pub mod owner;
pub mod params;
pub mod plot;
pub mod tensors;

pub use error::{ClientError, Result};
