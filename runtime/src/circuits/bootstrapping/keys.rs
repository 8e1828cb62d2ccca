//! Bootstrapping keys: evaluation keys (relinearization, the Galois keys of the transforms,
//! conjugation, slot folding) plus the two switching keys of sparse-secret encapsulation.
//!
//! The dense→sparse key is an RLWE sample under the ephemeral sparse secret; it lives only on
//! the limbs of `q_0` and `P` (every other limb is zero), the small modulus at which ModRaise
//! happens. The sparse→dense key is an ordinary switching key under the dense main secret.

use crate::ckks::context::Context;
use crate::ckks::keygen::KeyGenerator;
use crate::ckks::keys::{EvaluationKeys, KeyManifest, SecretKey, SwitchingKey};
use crate::ckks::serialization::codec::{Reader, Writer};
use crate::ckks::serialization::objects::{read_switching_key, write_switching_key};
use crate::ckks::serialization::{FormatError, ObjectKind, Serializable};

/// Key material a cloud needs to bootstrap. Contains no secret.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrappingKeys {
    pub evaluation: EvaluationKeys,
    pub dense_to_sparse: SwitchingKey,
    pub sparse_to_dense: SwitchingKey,
}

impl BootstrappingKeys {
    /// Generates the keys for `manifest` (from [`super::Bootstrapper::key_manifest`]).
    pub fn generate(
        keygen: &mut KeyGenerator,
        sk: &SecretKey,
        manifest: &KeyManifest,
        ephemeral_h: usize,
    ) -> Self {
        let evaluation = keygen.gen_evaluation_keys(sk, manifest);
        let sparse = keygen.gen_sparse_secret_key(ephemeral_h);
        let sparse_to_dense = keygen.gen_switching_key(&sparse.poly, sk);
        let mut dense_to_sparse = keygen.gen_switching_key(&sk.poly, &sparse);
        // Keep only digit 0 on the limbs of q_0 and P: the sample under the sparse secret must
        // not exist at the large modulus.
        let ctx = keygen.context().clone();
        let n = ctx.n();
        let num_q = ctx.basis().num_q();
        for (j, (b, a)) in dense_to_sparse
            .b
            .iter_mut()
            .zip(dense_to_sparse.a.iter_mut())
            .enumerate()
        {
            for limb in 0..num_q {
                if j != 0 || limb != 0 {
                    b.data_mut()[limb * n..(limb + 1) * n].fill(0);
                    a.data_mut()[limb * n..(limb + 1) * n].fill(0);
                }
            }
            if j != 0 {
                b.data_mut().fill(0);
                a.data_mut().fill(0);
            }
        }
        drop(sparse);
        BootstrappingKeys {
            evaluation,
            dense_to_sparse,
            sparse_to_dense,
        }
    }

    /// Total size of the key residues in bytes.
    pub fn size_bytes(&self) -> usize {
        self.evaluation.size_bytes()
            + self.dense_to_sparse.size_bytes()
            + self.sparse_to_dense.size_bytes()
    }
}

/// Stored like every other key file (kind `bootstrapping keys`): the evaluation keys' payload,
/// then the sparse→dense and dense→sparse switching keys.
impl Serializable for BootstrappingKeys {
    const KIND: ObjectKind = ObjectKind::BootstrappingKeys;
    fn write_payload(&self, w: &mut Writer) {
        self.evaluation.write_payload(w);
        write_switching_key(w, &self.sparse_to_dense);
        write_switching_key(w, &self.dense_to_sparse);
    }
    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let evaluation = EvaluationKeys::read_payload(ctx, r)?;
        let sparse_to_dense = read_switching_key(ctx, r)?;
        let dense_to_sparse = read_switching_key(ctx, r)?;
        // The encapsulation key must not exist above q_0 (its secret is sparse).
        for (j, (b, a)) in dense_to_sparse.b.iter().zip(&dense_to_sparse.a).enumerate() {
            for limb in 0..ctx.basis().num_q() {
                if (j != 0 || limb != 0)
                    && (b.limb(limb).iter().any(|&x| x != 0)
                        || a.limb(limb).iter().any(|&x| x != 0))
                {
                    return Err(FormatError::Malformed {
                        field: "dense-to-sparse key",
                        reason: format!("digit {j} has data on limb {limb}: the sparse-secret key may only live on q_0 and P"),
                    });
                }
            }
        }
        Ok(BootstrappingKeys {
            evaluation,
            dense_to_sparse,
            sparse_to_dense,
        })
    }
}
