//! EvalMod: the homomorphic reduction `x ↦ x mod 1` for `x = m/q_0 + I`, `|I| ≤ K`, computed as
//! `sin(2πx)` (≈ `2π·m/q_0` when `|m| ≪ q_0`): a Chebyshev interpolant of
//! `cos(2π(x − 1/4)/2^r)` on `[-K, K]`, then `r` double-angle steps `cos 2θ = 2cos²θ − 1`.
//! The input is given as `u = x/K ∈ [-1, 1]` so no level is spent on a change of variable.

use crate::circuits::polynomial::{ChebyshevSeries, PolynomialEvaluator};
use crate::ckks::{Ciphertext, CkksError, Evaluator};

use super::config::EvalModConfig;

/// A prepared EvalMod circuit.
#[derive(Clone, Debug)]
pub struct EvalMod {
    config: EvalModConfig,
    series: ChebyshevSeries,
}

impl EvalMod {
    pub fn new(config: EvalModConfig) -> Self {
        let k = config.k;
        let r = config.double_angle as i32;
        let f = move |u: f64| (2.0 * std::f64::consts::PI * (k * u - 0.25) / 2f64.powi(r)).cos();
        let series = ChebyshevSeries::interpolate(f, -1.0, 1.0, config.degree);
        EvalMod { config, series }
    }

    pub fn config(&self) -> &EvalModConfig {
        &self.config
    }

    /// Levels consumed.
    pub fn depth(&self) -> usize {
        PolynomialEvaluator::depth_chebyshev(&self.series) + self.config.double_angle
    }

    /// Levels consumed by the Chebyshev part alone (before the double angles).
    pub fn chebyshev_depth(&self) -> usize {
        PolynomialEvaluator::depth_chebyshev(&self.series)
    }

    /// Plaintext model of the circuit at `u = x/K` (returns ≈ `sin(2πx)`).
    pub fn reference(&self, u: f64) -> f64 {
        let mut c = self.series.eval(u);
        for _ in 0..self.config.double_angle {
            c = 2.0 * c * c - 1.0;
        }
        c
    }

    /// Largest deviation of the plaintext model from `sin(2πx)` over `x ∈ [-K, K]` near integers
    /// plus small offsets `|δ| ≤ delta` (where the message lives).
    pub fn model_error(&self, delta: f64) -> f64 {
        let k = self.config.k as i64;
        let mut worst = 0f64;
        for i in -k + 1..k {
            for j in 0..=16 {
                let d = delta * (j as f64 / 8.0 - 1.0);
                let x = i as f64 + d;
                worst = worst.max(
                    (self.reference(x / self.config.k) - (2.0 * std::f64::consts::PI * x).sin())
                        .abs(),
                );
            }
        }
        worst
    }

    /// Evaluates on real slots `u ∈ [-1, 1]`; the Chebyshev part returns at the input scale and
    /// each double angle squares and rescales.
    pub fn evaluate(&self, eval: &Evaluator, ct: &Ciphertext) -> Result<Ciphertext, CkksError> {
        let pe = PolynomialEvaluator::new(eval);
        let mut c = pe.evaluate_chebyshev(ct, &self.series, ct.scale())?;
        for _ in 0..self.config.double_angle {
            let sq = eval.rescale(&eval.mul_relin(&c, &c)?)?;
            c = eval.add_const(&eval.mul_integer(&sq, 2), -1.0)?;
        }
        Ok(c)
    }
}
