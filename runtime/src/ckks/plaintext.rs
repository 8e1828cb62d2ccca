//! An encoded message: a polynomial over `Q_level` in the NTT domain with its scale.

use super::rns::Poly;

/// An encoded (not encrypted) message.
#[derive(Clone, Debug, PartialEq)]
pub struct Plaintext {
    pub(crate) poly: Poly,
    pub(crate) level: usize,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
}

impl Plaintext {
    pub fn level(&self) -> usize {
        self.level
    }
    pub fn scale(&self) -> f64 {
        self.scale
    }
    /// Number of complex slots the message was packed into.
    pub fn slots(&self) -> usize {
        self.slots
    }
    pub fn poly(&self) -> &Poly {
        &self.poly
    }
}
