//! Polynomials in the monomial basis.

use num_complex::Complex64;

/// `p(x) = Σ_k coeffs[k] · x^k`.
#[derive(Clone, Debug, PartialEq)]
pub struct PowerSeries {
    pub coeffs: Vec<f64>,
}

impl PowerSeries {
    pub fn new(coeffs: Vec<f64>) -> Self {
        PowerSeries { coeffs }
    }

    /// The nominal degree, `coeffs.len() - 1` (zero for an empty series).
    pub fn degree(&self) -> usize {
        self.coeffs.len().saturating_sub(1)
    }

    /// Horner evaluation (plaintext reference).
    pub fn eval(&self, x: f64) -> f64 {
        self.coeffs.iter().rev().fold(0.0, |acc, &c| acc * x + c)
    }

    /// Horner evaluation at a complex point.
    pub fn eval_complex(&self, x: Complex64) -> Complex64 {
        self.coeffs
            .iter()
            .rev()
            .fold(Complex64::new(0.0, 0.0), |acc, &c| acc * x + c)
    }
}
