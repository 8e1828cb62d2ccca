//! A CKKS ciphertext: two (or, after a tensor product, three) polynomials over `Q_level` in
//! the NTT domain, with the scale and slot count of the message they encrypt.

use super::rns::Poly;

/// An encrypted message. Decrypts as `Σ_i parts[i] · s^i`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ciphertext {
    pub(crate) parts: Vec<Poly>,
    pub(crate) level: usize,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
}

impl Ciphertext {
    pub fn level(&self) -> usize {
        self.level
    }
    pub fn scale(&self) -> f64 {
        self.scale
    }
    pub fn slots(&self) -> usize {
        self.slots
    }
    /// Number of polynomials: 2, or 3 before relinearization.
    pub fn degree(&self) -> usize {
        self.parts.len() - 1
    }
    pub fn parts(&self) -> &[Poly] {
        &self.parts
    }
    /// Overrides the recorded scale (the compiler uses this when it knows the exact value).
    pub fn set_scale(&mut self, scale: f64) {
        self.scale = scale;
    }
}
