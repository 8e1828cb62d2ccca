//! Encryption (public or secret key) and decryption.

use std::sync::Arc;

use super::ciphertext::Ciphertext;
use super::context::Context;
use super::error::CkksError;
use super::keys::{PublicKey, SecretKey};
use super::plaintext::Plaintext;
use super::rns::Poly;
use super::sampling::Sampler;

enum EncryptionKey {
    Public(PublicKey),
    Secret(Poly),
}

/// Encrypts plaintexts under a public key (anyone) or a secret key (the data owner; smaller
/// noise).
pub struct Encryptor {
    ctx: Arc<Context>,
    key: EncryptionKey,
    sampler: Sampler,
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encryptor { .. }")
    }
}

impl Encryptor {
    pub fn with_public_key(ctx: Arc<Context>, pk: PublicKey) -> Result<Self, CkksError> {
        if pk.fingerprint != ctx.params().fingerprint() {
            return Err(CkksError::ParameterMismatch);
        }
        Ok(Encryptor {
            ctx,
            key: EncryptionKey::Public(pk),
            sampler: Sampler::new(),
        })
    }

    pub fn with_secret_key(ctx: Arc<Context>, sk: &SecretKey) -> Result<Self, CkksError> {
        if sk.fingerprint != ctx.params().fingerprint() {
            return Err(CkksError::ParameterMismatch);
        }
        Ok(Encryptor {
            ctx,
            key: EncryptionKey::Secret(sk.poly.clone()),
            sampler: Sampler::new(),
        })
    }

    /// Encrypts `pt` at its own level and scale.
    pub fn encrypt(&mut self, pt: &Plaintext) -> Ciphertext {
        let ctx = self.ctx.clone();
        let basis = ctx.basis();
        let n = ctx.n();
        let sigma = ctx.params().sigma();
        let level = pt.level;
        let idx = basis.q_indices(level);
        let k = idx.len();
        let sampler = &mut self.sampler;
        let small = |coeffs: Vec<i64>| {
            let mut p = Poly::from_signed(n, basis, &idx, &coeffs);
            p.ntt(basis, &idx);
            p
        };
        let (mut c0, c1) = match &self.key {
            EncryptionKey::Public(pk) => {
                let v = small(sampler.ternary(n));
                let mut c0 = small(sampler.gaussian(n, sigma));
                let mut c1 = small(sampler.gaussian(n, sigma));
                c0.mul_add_assign(basis, &idx, &v, &pk.b.prefix(k));
                c1.mul_add_assign(basis, &idx, &v, &pk.a.prefix(k));
                (c0, c1)
            }
            EncryptionKey::Secret(s) => {
                let a = sampler.uniform_poly(basis, &idx);
                let mut c0 = small(sampler.gaussian(n, sigma));
                let mut as_ = a.clone();
                as_.mul_assign(basis, &idx, &s.prefix(k));
                c0.sub_assign(basis, &idx, &as_);
                (c0, a)
            }
        };
        c0.add_assign(basis, &idx, &pt.poly);
        Ciphertext {
            parts: vec![c0, c1],
            level,
            scale: pt.scale,
            slots: pt.slots,
        }
    }
}

/// Decrypts ciphertexts. Holds the secret key: data-owner side only.
pub struct Decryptor {
    ctx: Arc<Context>,
    s: Poly,
}

impl std::fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decryptor { .. }")
    }
}

impl Drop for Decryptor {
    fn drop(&mut self) {
        for c in self.s.data_mut().iter_mut() {
            unsafe { std::ptr::write_volatile(c, 0) };
        }
    }
}

impl Decryptor {
    pub fn new(ctx: Arc<Context>, sk: &SecretKey) -> Result<Self, CkksError> {
        if sk.fingerprint != ctx.params().fingerprint() {
            return Err(CkksError::ParameterMismatch);
        }
        let s = sk.poly.prefix(ctx.basis().num_q());
        Ok(Decryptor { ctx, s })
    }

    /// `Σ_i c_i · s^i` at the ciphertext's level.
    pub fn decrypt(&self, ct: &Ciphertext) -> Plaintext {
        let basis = self.ctx.basis();
        let idx = basis.q_indices(ct.level);
        let s = self.s.prefix(idx.len());
        // Horner: ((c_d · s + c_{d-1}) · s + …) + c_0
        let mut acc = ct.parts[ct.parts.len() - 1].clone();
        for part in ct.parts[..ct.parts.len() - 1].iter().rev() {
            acc.mul_assign(basis, &idx, &s);
            acc.add_assign(basis, &idx, part);
        }
        Plaintext {
            poly: acc,
            level: ct.level,
            scale: ct.scale,
            slots: ct.slots,
        }
    }
}
