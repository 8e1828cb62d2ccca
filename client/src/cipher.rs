//! Encrypting slot vectors without the secret key, for any backend that can: the CPU runtime
//! with the public key ([`PublicKeyEncryptor`]), the simulator with its modelled
//! public-key encryption error ([`SimEncryptor`]), and either under a `Recorder`
//! ([`Recorded`]).

use std::sync::{Arc, Mutex};

use blindtune_runtime::backend::{Backend, CpuBackend, Recorder, SimBackend};
use blindtune_runtime::ckks::{Ciphertext, CkksError, Context, Encoder, Encryptor, PublicKey};
use num_complex::Complex64;

/// Encrypts one block's slot vector at a level and scale.
pub trait SlotEncryptor<B: Backend>: Send + Sync {
    fn encrypt(
        &self,
        backend: &B,
        slots: &[f64],
        level: usize,
        scale: f64,
    ) -> Result<B::Ct, CkksError>;
}

/// The simulator's public-key encryption (its error model; no key exists).
#[derive(Clone, Copy, Debug, Default)]
pub struct SimEncryptor;

impl SlotEncryptor<SimBackend> for SimEncryptor {
    fn encrypt(
        &self,
        backend: &SimBackend,
        slots: &[f64],
        level: usize,
        scale: f64,
    ) -> Result<<SimBackend as Backend>::Ct, CkksError> {
        let v: Vec<Complex64> = slots.iter().map(|&x| Complex64::new(x, 0.0)).collect();
        backend.encrypt(&v, level, scale)
    }
}

/// Encryption under the public key, shareable by threads: each thread takes an encryptor from
/// a pool (each with its own CSPRNG) and gives it back.
pub struct PublicKeyEncryptor {
    ctx: Arc<Context>,
    pk: PublicKey,
    encoder: Encoder,
    pool: Mutex<Vec<Encryptor>>,
}

impl std::fmt::Debug for PublicKeyEncryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicKeyEncryptor { .. }")
    }
}

impl PublicKeyEncryptor {
    pub fn new(ctx: Arc<Context>, pk: PublicKey) -> Result<Self, CkksError> {
        // Fails early on a key of other parameters.
        let first = Encryptor::with_public_key(ctx.clone(), pk.clone())?;
        Ok(PublicKeyEncryptor {
            encoder: Encoder::new(ctx.clone()),
            ctx,
            pk,
            pool: Mutex::new(vec![first]),
        })
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Encodes `slots` (a power-of-two count) at `level` and `scale` and encrypts them.
    pub fn encrypt_slots(
        &self,
        slots: &[f64],
        level: usize,
        scale: f64,
    ) -> Result<Ciphertext, CkksError> {
        let pt = self.encoder.encode(slots, level, scale)?;
        let taken = self.pool.lock().expect("encryptor pool").pop();
        let mut enc = match taken {
            Some(e) => e,
            None => Encryptor::with_public_key(self.ctx.clone(), self.pk.clone())?,
        };
        let ct = enc.encrypt(&pt);
        self.pool.lock().expect("encryptor pool").push(enc);
        Ok(ct)
    }
}

impl SlotEncryptor<CpuBackend> for PublicKeyEncryptor {
    fn encrypt(
        &self,
        _backend: &CpuBackend,
        slots: &[f64],
        level: usize,
        scale: f64,
    ) -> Result<Ciphertext, CkksError> {
        self.encrypt_slots(slots, level, scale)
    }
}

/// An encryptor of `B` used for `Recorder<B>` (encryption is not a recorded operation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Recorded<E>(pub E);

impl<B: Backend, E: SlotEncryptor<B>> SlotEncryptor<Recorder<B>> for Recorded<E> {
    fn encrypt(
        &self,
        backend: &Recorder<B>,
        slots: &[f64],
        level: usize,
        scale: f64,
    ) -> Result<B::Ct, CkksError> {
        self.0.encrypt(backend.inner(), slots, level, scale)
    }
}
