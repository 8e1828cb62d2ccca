//! EvalMod: the homomorphic reduction `x ↦ x mod 1` for `x = m/q_0 + I`, `|I| ≤ K`, near the
//! integers (`|m/q_0| ≪ 1`). With `θ = 2πx`:
//!
//! * **Sine only** (one harmonic): a Chebyshev interpolant of `cos((θ − π/2)/2^r)` on
//!   `x ∈ [-K, K]`, then `r` double-angle steps `cos 2φ = 2cos²φ − 1` give `sin θ ≈ θ`, with a
//!   relative error of `θ²/6` (the cubic term of the sine).
//! * **Harmonic correction** (two harmonics): interpolants of `cos(θ/2^r)` and `sin(θ/2^r)`
//!   are evaluated as one Chebyshev series with complex coefficients, `z = e^{iθ/2^r}` (one
//!   set of powers, one product per giant step); `r` squarings give `e^{iθ}` (one product
//!   each: squaring a unit complex number doubles its angle), and one more product gives
//!   `w = z·(8 − z)` with `Im w = 8 sin θ − sin 2θ = 6θ + O(θ⁵)`: the Taylor-matched pair of
//!   harmonics, whose relative error is `θ⁴/30`. It costs one level and one product more
//!   than the sine, and lets ModRaise put the message much closer to `q_0`, which is where
//!   the precision comes from (the noise EvalMod sees is fixed in absolute terms). The
//!   value is in the imaginary part; bootstrapping extracts the two parts it evaluates with
//!   a single conjugation.
//!
//! The input is given as `u = x/K ∈ [-1, 1]` so no level is spent on a change of variable.
//! The output is `gain() · (x mod 1)`: bootstrapping folds the gain into the scale.

use std::f64::consts::PI;

use crate::backend::{Backend, CiphertextMeta};
use crate::circuits::polynomial::{ChebyshevSeries, PolynomialEvaluator};
use crate::ckks::CkksError;

use super::config::EvalModConfig;

/// A prepared EvalMod circuit.
#[derive(Clone, Debug)]
pub struct EvalMod {
    config: EvalModConfig,
    /// Sine only: `cos((θ − π/2)/2^r)`. With the correction: `cos(θ/2^r)`.
    cos_series: ChebyshevSeries,
    /// With the correction: `sin(θ/2^r)`.
    sin_series: Option<ChebyshevSeries>,
}

impl EvalMod {
    pub fn new(config: EvalModConfig) -> Self {
        let k = config.k;
        let div = 2f64.powi(config.double_angle as i32);
        let (cos_series, sin_series) = if config.harmonic_correction {
            let c = move |u: f64| (2.0 * PI * k * u / div).cos();
            let s = move |u: f64| (2.0 * PI * k * u / div).sin();
            (
                ChebyshevSeries::interpolate(c, -1.0, 1.0, config.degree),
                Some(ChebyshevSeries::interpolate(s, -1.0, 1.0, config.degree)),
            )
        } else {
            let c = move |u: f64| (2.0 * PI * (k * u - 0.25) / div).cos();
            (
                ChebyshevSeries::interpolate(c, -1.0, 1.0, config.degree),
                None,
            )
        };
        EvalMod {
            config,
            cos_series,
            sin_series,
        }
    }

    pub fn config(&self) -> &EvalModConfig {
        &self.config
    }

    /// Levels consumed.
    pub fn depth(&self) -> usize {
        self.chebyshev_depth()
            + self.config.double_angle
            + usize::from(self.config.harmonic_correction)
    }

    /// Levels consumed by the Chebyshev part alone (before the double angles).
    pub fn chebyshev_depth(&self) -> usize {
        match &self.sin_series {
            None => PolynomialEvaluator::depth_chebyshev(&self.cos_series),
            Some(sin) => PolynomialEvaluator::depth_chebyshev_complex(&self.cos_series, sin)
                .expect("both series are built on [-1, 1]"),
        }
    }

    /// The output is `gain · (x mod 1)` (`2π` for the sine alone, `12π` with the correction).
    pub fn gain(&self) -> f64 {
        if self.config.harmonic_correction {
            12.0 * PI
        } else {
            2.0 * PI
        }
    }

    /// Whether the value sits in the imaginary part of the output (the correction works on
    /// `e^{iθ}`; its real part is `8 cos θ − cos 2θ`, to be discarded).
    pub fn output_in_imaginary_part(&self) -> bool {
        self.config.harmonic_correction
    }

    /// Ciphertext-ciphertext products per evaluation beyond the Chebyshev part (the
    /// double angles and the correction), for cost models.
    pub fn extra_products(&self) -> usize {
        self.config.double_angle + usize::from(self.config.harmonic_correction)
    }

    /// Scale of the output for an input at `input_scale` and level `level`, given the
    /// chain `q`: the Chebyshev part returns at the input scale, and each later product of
    /// two ciphertexts at scale `s` rescales to `s²/q_ℓ`.
    pub fn output_scale(&self, input_scale: f64, level: usize, q: &[u64]) -> f64 {
        let mut s = input_scale;
        let mut level = level - self.chebyshev_depth();
        let products = self.config.double_angle + usize::from(self.config.harmonic_correction);
        for _ in 0..products {
            s = s * s / q[level] as f64;
            level -= 1;
        }
        s
    }

    /// Plaintext model of the circuit at `u = x/K` (returns ≈ `gain()·(x mod 1)`).
    pub fn reference(&self, u: f64) -> f64 {
        let mut c = self.cos_series.eval(u);
        match &self.sin_series {
            None => {
                for _ in 0..self.config.double_angle {
                    c = 2.0 * c * c - 1.0;
                }
                c
            }
            Some(sin) => {
                let mut z = num_complex::Complex64::new(c, sin.eval(u));
                for _ in 0..self.config.double_angle {
                    z = z * z;
                }
                (z * (8.0 - z)).im
            }
        }
    }

    /// Largest deviation of the plaintext model from `x mod 1`, in units of `x` (that is,
    /// relative to `q_0`), over `x = i + δ` for integers `|i| < K` and offsets `|δ| ≤ delta`
    /// (where the message lives). It combines the interpolation error and the
    /// approximation of `x mod 1` by harmonics.
    pub fn model_error(&self, delta: f64) -> f64 {
        let k = self.config.k as i64;
        let mut worst = 0f64;
        for i in -k + 1..k {
            for j in 0..=16 {
                let d = delta * (j as f64 / 8.0 - 1.0);
                let x = i as f64 + d;
                worst = worst.max((self.reference(x / self.config.k) / self.gain() - d).abs());
            }
        }
        worst
    }

    /// Evaluates on real slots `u ∈ [-1, 1]`; the Chebyshev part returns at the input scale and
    /// each later product rescales (see [`output_scale`](Self::output_scale)). The value
    /// `gain()·(x mod 1)` is the real part of the output for the sine alone and its
    /// imaginary part with the correction ([`output_in_imaginary_part`](Self::output_in_imaginary_part)).
    pub fn evaluate<B: Backend>(&self, eval: &B, ct: &B::Ct) -> Result<B::Ct, CkksError> {
        let pe = PolynomialEvaluator::new(eval);
        let square = |c: &B::Ct| -> Result<B::Ct, CkksError> {
            let mut sq = eval.mul_relin_rescale(c, c)?;
            eval.mul_integer_assign(&mut sq, 2)?;
            eval.add_const(&sq, -1.0)
        };
        match &self.sin_series {
            None => {
                let mut c = pe.evaluate_chebyshev(ct, &self.cos_series, ct.scale())?;
                for _ in 0..self.config.double_angle {
                    c = square(&c)?;
                }
                Ok(c)
            }
            Some(sin) => {
                // z = e^{iθ/2^r}, squared r times to e^{iθ}, then w = z·(8 − z):
                // Im(w) = 8 sin θ − sin 2θ = 6θ + O(θ⁵). The caller takes the imaginary part
                // (for the real/imaginary pair of bootstrapping, one conjugation).
                let mut z = pe.evaluate_chebyshev_complex(ct, &self.cos_series, sin, ct.scale())?;
                for _ in 0..self.config.double_angle {
                    z = eval.mul_relin_rescale(&z, &z)?;
                }
                let eight_minus_z = eval.add_const(&eval.neg(&z)?, 8.0)?;
                eval.mul_relin_rescale(&z, &eight_minus_z)
            }
        }
    }
}
