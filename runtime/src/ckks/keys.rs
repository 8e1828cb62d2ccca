//! Key material, separated by role.
//!
//! * [`SecretKey`]: stays with the data owner. It is not part of [`EvaluationKeys`], no
//!   evaluation API accepts it, its file kind is refused by every loader of evaluation
//!   material, and its memory is wiped on drop.
//! * [`PublicKey`]: encryption only.
//! * [`EvaluationKeys`]: what a cloud runtime receives: a relinearization key and Galois
//!   keys, each a hybrid switching key with `dnum` digits over `Q·P`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rns::Poly;

/// The secret key `s`, as small coefficients and as a polynomial over all of `Q·P` (NTT).
pub struct SecretKey {
    pub(crate) coeffs: Vec<i64>,
    pub(crate) poly: Poly,
    pub(crate) fingerprint: [u8; 32],
}

impl SecretKey {
    /// Fingerprint of the parameter set the key belongs to.
    pub fn params_fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
    /// Hamming weight (number of non-zero coefficients).
    pub fn hamming_weight(&self) -> usize {
        self.coeffs.iter().filter(|&&c| c != 0).count()
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey { <redacted> }")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        // Volatile writes so the wipe is not optimised away.
        for c in self.coeffs.iter_mut() {
            unsafe { std::ptr::write_volatile(c, 0) };
        }
        for c in self.poly.data_mut().iter_mut() {
            unsafe { std::ptr::write_volatile(c, 0) };
        }
    }
}

/// An encryption of zero under `s` over `Q_L`: `b = -a·s + e`.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicKey {
    pub(crate) b: Poly,
    pub(crate) a: Poly,
    pub(crate) fingerprint: [u8; 32],
}

/// A hybrid key-switching key from a source secret `s'` to `s`: for each digit `j`,
/// `(b_j, a_j)` over all of `Q·P` (NTT) with `b_j = -a_j·s + e_j + P·g_j·s'`, where `g_j` is
/// 1 on the limbs of digit `j` and 0 elsewhere.
#[derive(Clone, Debug, PartialEq)]
pub struct SwitchingKey {
    pub(crate) b: Vec<Poly>,
    pub(crate) a: Vec<Poly>,
}

impl SwitchingKey {
    pub fn dnum(&self) -> usize {
        self.b.len()
    }
    /// Size in bytes of the residues.
    pub fn size_bytes(&self) -> usize {
        self.b
            .iter()
            .chain(&self.a)
            .map(|p| p.data().len() * 8)
            .sum()
    }
}

/// Switching key from `s²` to `s`.
#[derive(Clone, Debug, PartialEq)]
pub struct RelinearizationKey {
    pub(crate) key: SwitchingKey,
}

impl RelinearizationKey {
    pub fn switching_key(&self) -> &SwitchingKey {
        &self.key
    }
}

/// Switching key from `σ_g(s)` to `s` for the automorphism `X ↦ X^g`.
#[derive(Clone, Debug, PartialEq)]
pub struct GaloisKey {
    pub(crate) element: u64,
    pub(crate) key: SwitchingKey,
}

impl GaloisKey {
    pub fn element(&self) -> u64 {
        self.element
    }
    pub fn switching_key(&self) -> &SwitchingKey {
        &self.key
    }
}

/// Which evaluation keys a computation needs (and a key set provides). Circuits declare
/// their needs with it; the key generator fulfils them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyManifest {
    pub relinearization: bool,
    /// Galois elements, ordered.
    pub galois_elements: Vec<u64>,
}

impl KeyManifest {
    /// Merges another manifest into this one.
    pub fn union(&mut self, other: &KeyManifest) {
        self.relinearization |= other.relinearization;
        self.galois_elements.extend(&other.galois_elements);
        self.galois_elements.sort_unstable();
        self.galois_elements.dedup();
    }
}

/// Everything a cloud evaluator may hold. Contains no secret material by construction.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluationKeys {
    pub(crate) relin: Option<RelinearizationKey>,
    pub(crate) galois: BTreeMap<u64, GaloisKey>,
    pub(crate) fingerprint: [u8; 32],
}

impl EvaluationKeys {
    pub fn params_fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
    pub fn relinearization_key(&self) -> Option<&RelinearizationKey> {
        self.relin.as_ref()
    }
    pub fn galois_key(&self, element: u64) -> Option<&GaloisKey> {
        self.galois.get(&element)
    }
    /// The manifest this key set satisfies.
    pub fn manifest(&self) -> KeyManifest {
        KeyManifest {
            relinearization: self.relin.is_some(),
            galois_elements: self.galois.keys().copied().collect(),
        }
    }
    /// Whether every key named in `needs` is present.
    pub fn satisfies(&self, needs: &KeyManifest) -> bool {
        (!needs.relinearization || self.relin.is_some())
            && needs
                .galois_elements
                .iter()
                .all(|g| self.galois.contains_key(g))
    }
    /// Total size of the key residues in bytes.
    pub fn size_bytes(&self) -> usize {
        self.relin.iter().map(|r| r.key.size_bytes()).sum::<usize>()
            + self
                .galois
                .values()
                .map(|g| g.key.size_bytes())
                .sum::<usize>()
    }
    /// Adds keys from another set (same parameters).
    pub fn extend(&mut self, other: EvaluationKeys) {
        if other.relin.is_some() {
            self.relin = other.relin;
        }
        self.galois.extend(other.galois);
    }
}
