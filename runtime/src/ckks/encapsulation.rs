//! Bootstrapping keys: evaluation keys (relinearization, the Galois keys of the transforms,
//! conjugation, slot folding) plus the two switching keys of sparse-secret encapsulation.
//!
//! The dense→sparse key is an RLWE sample under the ephemeral sparse secret, so it must not
//! exist at a large modulus: it is an [`EncapsulationKey`], one digit modulo `q_0 · p_0` only
//! (about 2^121 with the shipped primes; the design of OpenFHE's `SPARSE_ENCAPSULATED`),
//! applied at level 0 right before ModRaise. The sparse→dense key is an ordinary switching
//! key under the dense main secret.

use crate::ckks::context::Context;
use crate::ckks::keygen::KeyGenerator;
use crate::ckks::keys::{EvaluationKeys, KeyManifest, SecretKey, SwitchingKey};
use crate::ckks::keyswitch;
use crate::ckks::rns::Poly;
use crate::ckks::serialization::codec::{Reader, Writer};
use crate::ckks::serialization::objects::{
    read_poly, read_switching_key, write_poly, write_switching_key,
};
use crate::ckks::serialization::{FormatError, ObjectKind, Serializable};

/// The dense→sparse switching key: one digit modulo `q_0 · p_0` (limbs `[0, p_0]`, NTT).
#[derive(Clone, Debug, PartialEq)]
pub struct EncapsulationKey {
    pub(crate) b: Poly,
    pub(crate) a: Poly,
}

impl EncapsulationKey {
    /// The limb of the special prime the key lives on (the first one of `P`).
    pub fn p_limb(ctx: &Context) -> usize {
        ctx.basis().num_q()
    }

    /// log2 of the key's modulus `q_0 · p_0`.
    pub fn log_modulus(ctx: &Context) -> f64 {
        let b = ctx.basis();
        (b.modulus(0).value() as f64).log2() + (b.modulus(Self::p_limb(ctx)).value() as f64).log2()
    }

    /// Switches `d` (level 0, NTT) from the dense secret to the sparse one: `(u0, u1)` over
    /// `q_0` with `u0 + u1·s_sparse ≈ d·s_dense`.
    pub fn switch(&self, ctx: &Context, d: &Poly) -> (Poly, Poly) {
        keyswitch::switch_key_single_prime(ctx, d, &self.b, &self.a, Self::p_limb(ctx))
    }

    pub fn size_bytes(&self) -> usize {
        (self.b.data().len() + self.a.data().len()) * 8
    }
}

/// Key material a cloud needs to bootstrap. Contains no secret. The evaluation keys are
/// shared (an `Arc`): a backend built from these keys holds the same key material, never a
/// copy (a copy was 8 GB at N = 2^16).
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrappingKeys {
    pub evaluation: std::sync::Arc<EvaluationKeys>,
    pub dense_to_sparse: EncapsulationKey,
    pub sparse_to_dense: SwitchingKey,
}

/// Layout tag of the bootstrapping-key payload (1 was the q_0·P encapsulation key).
const LAYOUT: u8 = 2;

impl BootstrappingKeys {
    /// Generates the keys for `manifest` (from `circuits::bootstrapping::Bootstrapper::key_manifest`).
    pub fn generate(
        keygen: &mut KeyGenerator,
        sk: &SecretKey,
        manifest: &KeyManifest,
        ephemeral_h: usize,
    ) -> Self {
        let evaluation = std::sync::Arc::new(keygen.gen_evaluation_keys(sk, manifest));
        let sparse = keygen.gen_sparse_secret_key(ephemeral_h);
        let sparse_to_dense = keygen.gen_switching_key(&sparse.poly, sk);
        let ctx = keygen.context().clone();
        let (b, a) = keygen.gen_single_prime_switching_key(
            &sk.poly,
            &sparse,
            0,
            EncapsulationKey::p_limb(&ctx),
        );
        let dense_to_sparse = EncapsulationKey { b, a };
        drop(sparse);
        BootstrappingKeys {
            evaluation,
            dense_to_sparse,
            sparse_to_dense,
        }
    }

    /// Size of the keys as stored in a file.
    pub fn stored_bytes(&self) -> usize {
        self.evaluation.stored_bytes()
            + self.dense_to_sparse.size_bytes()
            + self.sparse_to_dense.stored_bytes()
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
        w.u8(LAYOUT);
        self.evaluation.write_payload(w);
        write_switching_key(w, &self.sparse_to_dense);
        write_poly(w, &self.dense_to_sparse.b);
        write_poly(w, &self.dense_to_sparse.a);
    }
    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let layout = r.u8("bootstrapping keys layout")?;
        if layout != LAYOUT {
            return Err(FormatError::Malformed {
                field: "bootstrapping keys layout",
                reason: format!(
                    "layout {layout} is not supported (this build reads {LAYOUT}; layout 1 kept \
                     the sparse-secret key modulo q_0·P and must be regenerated)"
                ),
            });
        }
        let evaluation = std::sync::Arc::new(EvaluationKeys::read_payload(ctx, r)?);
        let sparse_to_dense = read_switching_key(ctx, r)?;
        // The encapsulation key exists only modulo q_0·p_0 (its secret is sparse): exactly
        // two limbs are read, so it cannot carry data at a larger modulus.
        let idx = [0, EncapsulationKey::p_limb(ctx)];
        let b = read_poly(ctx, r, &idx, "dense-to-sparse key b")?;
        let a = read_poly(ctx, r, &idx, "dense-to-sparse key a")?;
        let dense_to_sparse = EncapsulationKey { b, a };
        Ok(BootstrappingKeys {
            evaluation,
            dense_to_sparse,
            sparse_to_dense,
        })
    }
}
