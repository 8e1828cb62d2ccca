//! The backend boundary: one trait for every CKKS operation that circuits and plans use, and
//! its implementations.
//!
//! * [`cpu`]: the RNS-CKKS runtime of [`crate::ckks`] (the default, and ground truth).
//! * [`meta`]: no arithmetic at all, only the metadata (level, scale, slots, degree) every
//!   operation produces; wrapped in a [`Recorder`] it is the counting backend.
//! * [`recorder`]: wraps any backend and records every operation with its level, digit count
//!   and hoisting: the single source of operation counts ([`trace`]).
//! * [`sim`]: the noise simulator: slot vectors in `f64`, every operation applied exactly,
//!   plus the error a real operation adds, drawn from a model of the CPU backend.
//! * [`cost`]: the measured cost model that prices a trace.
//! * [`checks`]: the argument checks every backend shares.
//!
//! Invariants:
//! * Circuits (`crate::circuits`) see ciphertexts only through this trait: no polynomial, limb
//!   or key internals outside [`cpu`].
//! * Levels are strict: operands of a binary operation are at the same level, or the call
//!   fails with [`CkksError::LevelMismatch`] naming both; aligning is an explicit
//!   [`Backend::drop_to_level`]. The exceptions say so in their documentation
//!   ([`Backend::linear_combination`] takes an explicit output level).
//! * Scales are exact: a binary operation on unequal scales fails
//!   ([`CkksError::ScaleMismatch`]); `set_scale` only reinterprets by a factor the caller
//!   knows exactly.
//! * The secret key is never reachable from a backend: backends are built from evaluation
//!   keys (CPU) or from parameters alone (metadata, simulator).

pub mod checks;
pub mod cost;
pub mod cpu;
pub mod meta;
pub mod recorder;
pub mod sim;
pub mod trace;

use num_complex::Complex64;

use crate::ckks::galois;
use crate::ckks::{CkksError, Params};

pub use cost::{CostModel, CostTable};
pub use cpu::CpuBackend;
pub use meta::MetaBackend;
pub use recorder::Recorder;
pub use sim::{SimBackend, SimOptions};
pub use trace::{Op, OpKind, Trace};

/// The counting backend: metadata only, every operation recorded.
pub type CountingBackend = Recorder<MetaBackend>;

/// What every ciphertext-like value exposes, whatever the backend.
pub trait CiphertextMeta {
    /// Level: the value lives modulo `q_0 ⋯ q_level`.
    fn level(&self) -> usize;
    /// The scale `Δ` the message is multiplied by.
    fn scale(&self) -> f64;
    /// Number of complex slots of the message.
    fn slots(&self) -> usize;
    /// 1 for a normal ciphertext, 2 after a tensor product (before relinearization).
    fn degree(&self) -> usize;
    /// Reinterprets the scale (the caller knows the exact factor; see the module invariants).
    fn set_scale(&mut self, scale: f64);
    /// Reinterprets the slot count: a `s`-slot message is its `2s`-slot repetition and back
    /// (bootstrapping's packed path is the only user).
    fn set_slots(&mut self, slots: usize);
}

/// Implements [`CiphertextMeta`] for a struct with `level`, `scale` and `slots` fields whose
/// scale is a plain reinterpretation (the polynomial does not change).
macro_rules! plain_ciphertext_meta {
    ($t:ty, |$s:ident| $degree:expr) => {
        impl $crate::backend::CiphertextMeta for $t {
            fn level(&self) -> usize {
                self.level
            }
            fn scale(&self) -> f64 {
                self.scale
            }
            fn slots(&self) -> usize {
                self.slots
            }
            fn degree(&self) -> usize {
                let $s = self;
                $degree
            }
            fn set_scale(&mut self, scale: f64) {
                self.scale = scale;
            }
            fn set_slots(&mut self, slots: usize) {
                self.slots = slots;
            }
        }
    };
}
pub(crate) use plain_ciphertext_meta;

/// Every CKKS operation circuits and plans use. All methods take `&self` (a backend is shared
/// by threads); operations that produce a value return it, and the `*_assign` forms write into
/// their first operand so that an executor allocates nothing per operation.
pub trait Backend: Send + Sync {
    /// A ciphertext over `Q_level`.
    type Ct: CiphertextMeta + Clone + Send + Sync + std::fmt::Debug;
    /// A ciphertext kept over `Q_level ∪ P` between key switches (double hoisting).
    type Ext: CiphertextMeta + Clone + Send + Sync;
    /// An encoded plaintext over `Q_level`.
    type Pt: Clone + Send + Sync;
    /// An encoded plaintext over `Q_level ∪ P`.
    type ExtPt: Clone + Send + Sync + std::fmt::Debug;
    /// A key-switch decomposition shared by several automorphisms of one ciphertext.
    type Dec: Send + Sync;

    /// A short name for tables ("cpu", "count", "sim").
    fn name(&self) -> &'static str;
    /// The parameter set (ring degree, moduli chain, key-switching digits).
    fn params(&self) -> &Params;

    /// Galois element of a left rotation by `steps`.
    fn rotation_element(&self, steps: i64) -> u64 {
        galois::rotation_element(self.params().log_n(), steps)
    }
    /// Galois element of complex conjugation.
    fn conjugation_element(&self) -> u64 {
        galois::conjugation_element(self.params().log_n())
    }

    // ------------------------------------------------------------------ encoding

    /// Encodes `values` (zero-padded to a power-of-two slot count) at `level` and `scale`.
    fn encode(&self, values: &[Complex64], level: usize, scale: f64)
        -> Result<Self::Pt, CkksError>;
    /// As [`encode`](Self::encode), over `Q_level ∪ P`.
    fn encode_extended(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<Self::ExtPt, CkksError>;
    /// Level of an extended plaintext.
    fn extended_plaintext_level(&self, pt: &Self::ExtPt) -> usize;
    /// The trivial encryption `(pt, 0)` of a public value: a valid ciphertext at the
    /// plaintext's level, scale and slot count under any secret, made without a key and
    /// without noise (its message is exactly the plaintext's). The cloud uses it for public
    /// initial values (zero weights) and public outputs; it hides nothing.
    fn trivial(&self, pt: &Self::Pt) -> Result<Self::Ct, CkksError>;

    // ------------------------------------------------------------------ levels

    /// Drops `ct` to `level` (a modswitch: limbs dropped, scale unchanged).
    fn drop_to_level(&self, ct: &Self::Ct, level: usize) -> Result<Self::Ct, CkksError>;
    /// Rescales by `q_level`: one level down, scale divided by that prime.
    fn rescale(&self, ct: &Self::Ct) -> Result<Self::Ct, CkksError>;
    fn rescale_assign(&self, ct: &mut Self::Ct) -> Result<(), CkksError> {
        *ct = self.rescale(ct)?;
        Ok(())
    }

    // ------------------------------------------------------------------ additive

    fn add(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct, CkksError>;
    fn sub(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct, CkksError>;
    fn neg(&self, a: &Self::Ct) -> Result<Self::Ct, CkksError>;
    fn add_assign(&self, acc: &mut Self::Ct, b: &Self::Ct) -> Result<(), CkksError>;
    fn sub_assign(&self, acc: &mut Self::Ct, b: &Self::Ct) -> Result<(), CkksError>;
    fn add_plain(&self, a: &Self::Ct, pt: &Self::Pt) -> Result<Self::Ct, CkksError>;
    fn sub_plain(&self, a: &Self::Ct, pt: &Self::Pt) -> Result<Self::Ct, CkksError>;
    /// Adds the real constant `c` to every slot.
    fn add_const(&self, a: &Self::Ct, c: f64) -> Result<Self::Ct, CkksError>;
    /// Adds the complex constant `c` to every slot.
    fn add_const_complex(&self, a: &Self::Ct, c: Complex64) -> Result<Self::Ct, CkksError>;

    // ------------------------------------------------------------------ multiplicative

    /// Multiplies by the integer `k` (no level, scale unchanged).
    fn mul_integer(&self, a: &Self::Ct, k: i64) -> Result<Self::Ct, CkksError>;
    fn mul_integer_assign(&self, a: &mut Self::Ct, k: i64) -> Result<(), CkksError> {
        *a = self.mul_integer(a, k)?;
        Ok(())
    }
    /// Multiplies by `c` encoded at `q_level` (the next rescale restores the scale).
    fn mul_const(&self, a: &Self::Ct, c: f64) -> Result<Self::Ct, CkksError> {
        let q = self.params().q()[a.level()] as f64;
        self.mul_const_with_scale(a, c, q)
    }
    /// Multiplies by `c` encoded at `const_scale` (result scale `a.scale · const_scale`).
    fn mul_const_with_scale(
        &self,
        a: &Self::Ct,
        c: f64,
        const_scale: f64,
    ) -> Result<Self::Ct, CkksError>;
    /// `Σ_j c_j·a_j` at `level`, each complex `c_j` encoded at `const_scale_j`; the products
    /// must share one scale. Inputs may sit above `level` (the one documented exception to
    /// strict levels: their extra limbs are not read).
    fn linear_combination(
        &self,
        terms: &[(&Self::Ct, Complex64, f64)],
        level: usize,
    ) -> Result<Self::Ct, CkksError>;
    /// Slot-wise product with a plaintext at the same level.
    fn mul_plain(&self, a: &Self::Ct, pt: &Self::Pt) -> Result<Self::Ct, CkksError>;
    /// Tensor product of two degree-1 ciphertexts at the same level (degree-2 result).
    fn mul(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct, CkksError>;
    /// Degree 2 → 1 with the relinearization key.
    fn relinearize(&self, a: &Self::Ct) -> Result<Self::Ct, CkksError>;
    /// Multiplies every slot by `i` exactly (a monomial product; no level, no noise).
    fn mul_by_i(&self, a: &Self::Ct) -> Result<Self::Ct, CkksError>;
    /// `rescale(relinearize(a·b))` with one division by `P·q_ℓ`.
    fn mul_relin_rescale(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct, CkksError> {
        self.mod_down_rescale(self.relinearize_extended(&self.mul(a, b)?)?)
    }
    /// `relinearize(a·b)` (no rescale).
    fn mul_relin(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct, CkksError> {
        self.relinearize(&self.mul(a, b)?)
    }

    // ------------------------------------------------------------------ automorphisms

    /// Decomposes (ModUp) the second part of `ct`, to share among several automorphisms.
    fn decompose(&self, ct: &Self::Ct) -> Result<Self::Dec, CkksError>;
    /// `X ↦ X^g` of `ct` from its decomposition (`steps` only labels a missing-key error).
    fn apply_galois_hoisted(
        &self,
        ct: &Self::Ct,
        dec: &Self::Dec,
        element: u64,
        steps: Option<i64>,
    ) -> Result<Self::Ct, CkksError>;
    /// `X ↦ X^g` of `ct` (one decomposition, one key switch).
    fn apply_galois(&self, ct: &Self::Ct, element: u64) -> Result<Self::Ct, CkksError>;
    /// Rotates the slots left by `steps` (right if negative).
    fn rotate(&self, ct: &Self::Ct, steps: i64) -> Result<Self::Ct, CkksError>;
    /// Complex conjugation of every slot.
    fn conjugate(&self, ct: &Self::Ct) -> Result<Self::Ct, CkksError> {
        self.apply_galois(ct, self.conjugation_element())
    }
    /// Several rotations of one ciphertext sharing one decomposition (hoisting).
    fn rotate_hoisted(&self, ct: &Self::Ct, steps: &[i64]) -> Result<Vec<Self::Ct>, CkksError> {
        let dec = self.decompose(ct)?;
        steps
            .iter()
            .map(|&s| self.apply_galois_hoisted(ct, &dec, self.rotation_element(s), Some(s)))
            .collect()
    }

    // ------------------------------------------------------------------ extended basis

    /// `P·ct` over `Q_ℓ ∪ P` (exact).
    fn extend(&self, ct: &Self::Ct) -> Result<Self::Ext, CkksError>;
    /// A zero over `Q_level ∪ P` with the given scale and slots (an accumulator).
    fn zero_extended(&self, level: usize, scale: f64, slots: usize) -> Self::Ext;
    /// `X ↦ X^g` of `ct` from its decomposition, left over `Q_ℓ ∪ P` (no ModDown).
    fn apply_galois_hoisted_extended(
        &self,
        ct: &Self::Ct,
        dec: &Self::Dec,
        element: u64,
        steps: Option<i64>,
    ) -> Result<Self::Ext, CkksError>;
    /// `Σ_i a_i ⊙ pt_i` over `Q_ℓ ∪ P`.
    fn sum_of_products_extended(
        &self,
        terms: &[(&Self::Ext, &Self::ExtPt)],
    ) -> Result<Self::Ext, CkksError>;
    fn add_assign_extended(&self, acc: &mut Self::Ext, x: &Self::Ext) -> Result<(), CkksError>;
    fn sub_assign_extended(&self, acc: &mut Self::Ext, x: &Self::Ext) -> Result<(), CkksError>;
    /// `acc += σ_g(x)`, both kept over `Q_ℓ ∪ P`.
    fn apply_galois_add_assign_extended(
        &self,
        acc: &mut Self::Ext,
        x: &Self::Ext,
        element: u64,
        steps: Option<i64>,
    ) -> Result<(), CkksError>;
    /// Relinearizes a degree-2 ciphertext without its ModDown.
    fn relinearize_extended(&self, a: &Self::Ct) -> Result<Self::Ext, CkksError>;
    fn mul_integer_extended(&self, x: &mut Self::Ext, k: i64) -> Result<(), CkksError>;
    fn add_const_extended(&self, x: &mut Self::Ext, c: f64) -> Result<(), CkksError>;
    /// Divides by `P·q_ℓ`: ModDown and rescale in one rounding.
    fn mod_down_rescale(&self, x: Self::Ext) -> Result<Self::Ct, CkksError>;
    /// Divides by `P`: back to a ciphertext over `Q_ℓ`.
    fn mod_down_extended(&self, x: Self::Ext) -> Result<Self::Ct, CkksError>;

    // ------------------------------------------------------------------ bootstrapping

    /// Bootstrapping's first step: `ct` at level 0 is switched to the sparse ephemeral secret
    /// (modulo `q_0·p_0`), its coefficients are lifted to `Q_level` (adding `q_0·I(X)` for a
    /// small integer polynomial `I`), and it is switched back to the main secret.
    fn mod_raise(&self, ct: &Self::Ct, level: usize) -> Result<Self::Ct, CkksError>;
}

pub use checks::check_same_level;
