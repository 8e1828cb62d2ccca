//! The simulator's error model: the standard deviation, per real and imaginary part of each
//! slot and in message units, of the error each real operation adds. Every formula follows
//! from the CPU backend's arithmetic (the test `backend_ops` checks the simulator's precision
//! against measured CPU runs, within 2 bits):
//!
//! * an error polynomial with independent coefficients of variance `v` puts variance `N·v` on
//!   each (complex) slot of the canonical embedding, `N·v/2` on each real part;
//! * a rounding division of both ciphertext parts (rescale, ModDown) leaves `r_0 + r_1·s`,
//!   `r_i` uniform in `[-1/2, 1/2]`: `v = (1 + h)/12` for a secret of Hamming weight `h`;
//! * a key switch leaves `Σ_j d_j·e_j / P` with digits `d_j` uniform modulo `Q_j` and key
//!   errors of deviation `σ`: `v = N·σ²·Σ_j Q_j²/(12·P²)`;
//! * encoding rounds `2·slots` coefficients: `v = 1/12` on those only;
//! * public-key encryption leaves `u·e + e_0 + e_1·s` with `u` dense ternary:
//!   `v = σ²·(2N/3 + 1 + h)`.
//!
//! The error of a value at scale `S` is the polynomial error divided by `S`.

use crate::ckks::{Params, SecretDistribution};

/// Error deviations for one parameter set.
#[derive(Clone, Debug)]
pub struct NoiseModel {
    n: f64,
    /// Expected Hamming weight of the main secret.
    h: f64,
    sigma: f64,
    /// Key-switching variance after the division by `P`, per level.
    key_switch: Vec<f64>,
    /// The same for the encapsulation key (one digit `q_0` over `p_0`).
    encapsulation: f64,
}

impl NoiseModel {
    pub fn new(params: &Params) -> Self {
        let n = params.n() as f64;
        let h = match params.secret_distribution() {
            SecretDistribution::UniformTernary => 2.0 * n / 3.0,
            SecretDistribution::SparseTernary { hamming_weight } => hamming_weight as f64,
        };
        let sigma = params.sigma();
        let log_p: f64 = params.p().iter().map(|&p| (p as f64).log2()).sum();
        let alpha = params.alpha();
        let q = params.q();
        let key_switch = (0..q.len())
            .map(|level| {
                let sum: f64 = (0..=level)
                    .step_by(alpha)
                    .map(|s| {
                        let log_qj: f64 = q[s..(s + alpha).min(level + 1)]
                            .iter()
                            .map(|&x| (x as f64).log2())
                            .sum();
                        2f64.powf(2.0 * (log_qj - log_p))
                    })
                    .sum();
                n * sigma * sigma * sum / 12.0
            })
            .collect();
        let p0 = params.p().first().map_or(1.0, |&p| p as f64);
        let encapsulation = n * sigma * sigma * (q[0] as f64 / p0).powi(2) / 12.0;
        NoiseModel {
            n,
            h,
            sigma,
            key_switch,
            encapsulation,
        }
    }

    fn per_part(&self, variance: f64, scale: f64) -> f64 {
        (self.n * variance / 2.0).sqrt() / scale
    }

    /// Rounding both parts of a ciphertext whose result has scale `scale`.
    pub fn rounding(&self, scale: f64) -> f64 {
        self.per_part((1.0 + self.h) / 12.0, scale)
    }

    /// Rounding the second part only (a ModDown before a decomposition).
    pub fn rounding_second_part(&self, scale: f64) -> f64 {
        self.per_part(self.h / 12.0, scale)
    }

    /// A key switch at `level` of a value at `scale`, its ModDown's rounding included.
    pub fn key_switch(&self, level: usize, scale: f64) -> f64 {
        let ks = self.key_switch[level.min(self.key_switch.len() - 1)];
        self.per_part(ks, scale)
    }

    /// The dense → sparse switch of bootstrapping at level 0.
    pub fn encapsulation(&self, scale: f64) -> f64 {
        self.per_part(self.encapsulation + (1.0 + self.h) / 12.0, scale)
    }

    /// Encoding `slots` slots at `scale`: `2·slots` rounded coefficients. Returned per real
    /// part of each of the `slots` distinct slots.
    pub fn encoding(&self, slots: usize, scale: f64) -> f64 {
        (slots as f64 / 12.0).sqrt() / scale
    }

    /// Public-key encryption at `scale` (encoding rounding included).
    pub fn fresh(&self, scale: f64) -> f64 {
        let v = self.sigma * self.sigma * (2.0 * self.n / 3.0 + 1.0 + self.h) + 1.0 / 12.0;
        self.per_part(v, scale)
    }

    /// Secret-key encryption at `scale` (encoding rounding included).
    pub fn fresh_symmetric(&self, scale: f64) -> f64 {
        self.per_part(self.sigma * self.sigma + 1.0 / 12.0, scale)
    }
}
