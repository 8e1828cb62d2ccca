//! The evaluation bundle: everything a cloud runtime receives from the data owner, in one file
//! of its own kind (`evaluation bundle`), so it can never be confused with a secret key.
//!
//! It holds the public key (to add fresh encryptions if ever needed), the evaluation keys
//! (relinearization and the Galois keys a plan lists, each held up to the level it is used at)
//! and, for plans that bootstrap, the bootstrapping keys (whose evaluation keys are the same
//! shared `Arc`). It contains no secret by construction: none of its parts can hold one, and
//! its loader, like every loader but the secret key's, refuses a file with the secret flag
//! ([`FormatError::SecretKeyRefused`]).

use std::path::Path;
use std::sync::Arc;

use super::context::Context;
use super::encapsulation::BootstrappingKeys;
use super::keys::{EvaluationKeys, PublicKey};
use super::serialization::codec::{Reader, Writer};
use super::serialization::{load, FormatError, ObjectKind, Serializable};

/// The cloud's key material.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluationBundle {
    pub public_key: PublicKey,
    /// The evaluation keys (for a bootstrapping bundle, the same `Arc` as its
    /// `bootstrapping.evaluation`).
    pub evaluation: Arc<EvaluationKeys>,
    pub bootstrapping: Option<Arc<BootstrappingKeys>>,
}

/// Layout tag of the bundle payload.
const LAYOUT: u8 = 1;

impl EvaluationBundle {
    /// A bundle for a plan without bootstrapping.
    pub fn new(public_key: PublicKey, evaluation: EvaluationKeys) -> Self {
        EvaluationBundle {
            public_key,
            evaluation: Arc::new(evaluation),
            bootstrapping: None,
        }
    }

    /// A bundle for a plan that bootstraps: the evaluation keys are the bootstrapping keys'.
    pub fn with_bootstrapping(public_key: PublicKey, bootstrapping: BootstrappingKeys) -> Self {
        EvaluationBundle {
            public_key,
            evaluation: bootstrapping.evaluation.clone(),
            bootstrapping: Some(Arc::new(bootstrapping)),
        }
    }

    /// Size of the bundle's keys as stored in a file (public key included).
    pub fn stored_bytes(&self) -> usize {
        let pk = (self.public_key.b.data().len() + self.public_key.a.data().len()) * 8;
        pk + match &self.bootstrapping {
            Some(b) => b.stored_bytes(),
            None => self.evaluation.stored_bytes(),
        }
    }
}

/// Payload: layout tag, the public key's payload, a bootstrapping flag (0 or 1), then the
/// evaluation keys' payload (flag 0) or the bootstrapping keys' payload (flag 1, which
/// contains the evaluation keys).
impl Serializable for EvaluationBundle {
    const KIND: ObjectKind = ObjectKind::EvaluationBundle;
    fn write_payload(&self, w: &mut Writer) {
        w.u8(LAYOUT);
        self.public_key.write_payload(w);
        match &self.bootstrapping {
            Some(b) => {
                w.u8(1);
                b.write_payload(w);
            }
            None => {
                w.u8(0);
                self.evaluation.write_payload(w);
            }
        }
    }
    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let layout = r.u8("evaluation bundle layout")?;
        if layout != LAYOUT {
            return Err(FormatError::Malformed {
                field: "evaluation bundle layout",
                reason: format!("layout {layout} is not supported (this build reads {LAYOUT})"),
            });
        }
        let public_key = PublicKey::read_payload(ctx, r)?;
        match r.u8("bootstrapping flag")? {
            0 => Ok(EvaluationBundle::new(
                public_key,
                EvaluationKeys::read_payload(ctx, r)?,
            )),
            1 => Ok(EvaluationBundle::with_bootstrapping(
                public_key,
                BootstrappingKeys::read_payload(ctx, r)?,
            )),
            x => Err(FormatError::Malformed {
                field: "bootstrapping flag",
                reason: format!("{x} is neither 0 nor 1"),
            }),
        }
    }
}

/// Loads an evaluation bundle: only a file of the bundle kind is accepted, and a secret key
/// is refused outright; errors name the file.
pub fn load_evaluation_bundle(ctx: &Context, path: &Path) -> Result<EvaluationBundle, FormatError> {
    load::<EvaluationBundle>(ctx, path)
}
