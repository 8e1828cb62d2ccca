//! The CKKS encoder: the canonical embedding through the "special" FFT over the rotation
//! group `5^j mod 2N`, with sparse packing (any power-of-two slot count up to N/2), arbitrary
//! scale and a chosen level.
//!
//! A vector `z ∈ C^n` is mapped to `m(X) = Δ·(u_re(X^g) + X^{N/2}·u_im(X^g))` with
//! `g = N/(2n)` and `u = SpecialFFT^{-1}(z)`, so that slot `j` is `m(ζ^{5^j})/Δ`.

use std::sync::Arc;

use num_complex::Complex64;
use rayon::prelude::*;

use super::context::Context;
pub use super::embedding::bit_reverse_in_place;
use super::embedding::Embedding;
use super::error::CkksError;
use super::extended::ExtendedPlaintext;
use super::plaintext::Plaintext;
use super::rns::Poly;

/// Encodes and decodes slot vectors for one context.
#[derive(Debug, Clone)]
pub struct Encoder {
    ctx: Arc<Context>,
    embedding: Arc<Embedding>,
}

/// Residue of the integer nearest to `x` modulo `q` (any magnitude).
#[inline]
pub(crate) fn f64_to_residue(x: f64, m: &crate::ckks::math::Modulus) -> u64 {
    if x.abs() < 9.2e18 {
        m.reduce_i64(x as i64)
    } else {
        // x = mantissa · 2^exp exactly (x is an integer here).
        let bits = x.abs().to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i64 - 1075;
        let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
        let r = m.mul(m.reduce(mantissa), m.pow(2, exp as u64));
        if x < 0.0 {
            m.neg(r)
        } else {
            r
        }
    }
}

impl Encoder {
    pub fn new(ctx: Arc<Context>) -> Self {
        let embedding = Arc::new(Embedding::new(ctx.n()));
        Encoder { ctx, embedding }
    }

    /// The float canonical embedding this encoder uses.
    pub fn embedding(&self) -> &Arc<Embedding> {
        &self.embedding
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// The special FFT (coefficient vector → slots, the decoding direction), in place.
    pub fn fft_special(&self, vals: &mut [Complex64]) {
        self.embedding.fft_special(vals)
    }

    /// The inverse special FFT (slots → coefficient vector, the encoding direction), in place.
    pub fn fft_special_inv(&self, vals: &mut [Complex64]) {
        self.embedding.fft_special_inv(vals)
    }

    /// Slot count used for `len` values: the next power of two (at least 1).
    pub fn slots_for(&self, len: usize) -> Result<usize, CkksError> {
        let slots = len.max(1).next_power_of_two();
        if slots > self.ctx.n() / 2 {
            return Err(CkksError::TooManySlots {
                requested: len,
                max: self.ctx.n() / 2,
            });
        }
        Ok(slots)
    }

    /// Encodes complex values at `level` with scale `scale`. The values are zero-padded to a
    /// power-of-two slot count.
    pub fn encode_complex(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<Plaintext, CkksError> {
        let (coeffs, slots) = self.integer_coefficients(values, level, scale)?;
        let idx = self.ctx.basis().q_indices(level);
        Ok(Plaintext {
            poly: self.residues(&coeffs, &idx),
            level,
            scale,
            slots,
        })
    }

    /// As [`encode_complex`](Self::encode_complex), over the extended basis `Q_level ∪ P`:
    /// the operand of products with [`ExtendedCiphertext`](super::ExtendedCiphertext)s.
    pub fn encode_complex_extended(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<ExtendedPlaintext, CkksError> {
        let (coeffs, slots) = self.integer_coefficients(values, level, scale)?;
        let idx = self.ctx.basis().qp_indices(level);
        Ok(ExtendedPlaintext {
            poly: self.residues(&coeffs, &idx),
            level,
            scale,
            slots,
        })
    }

    /// The rounded coefficients `round(Δ·FFT⁻¹(values))` and the slot count, checked to fit
    /// below `Q_level`.
    fn integer_coefficients(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<(Vec<f64>, usize), CkksError> {
        if level > self.ctx.max_level() {
            return Err(CkksError::LevelOutOfRange {
                level,
                max: self.ctx.max_level(),
            });
        }
        if !(scale.is_finite() && scale >= 1.0) {
            return Err(CkksError::InvalidScale { scale });
        }
        if let Some(bad) = values
            .iter()
            .position(|v| !(v.re.is_finite() && v.im.is_finite()))
        {
            return Err(CkksError::NonFiniteValue { index: bad });
        }
        let slots = self.slots_for(values.len())?;
        let n = self.ctx.n();
        let mut u = vec![Complex64::new(0.0, 0.0); slots];
        u[..values.len()].copy_from_slice(values);
        self.fft_special_inv(&mut u);
        let gap = n / (2 * slots);
        let half = n / 2;
        let mut coeffs = vec![0f64; n];
        for (i, v) in u.iter().enumerate() {
            coeffs[i * gap] = (v.re * scale).round();
            coeffs[half + i * gap] = (v.im * scale).round();
        }
        let bound = self.ctx.params().q()[..=level]
            .iter()
            .map(|&q| (q as f64).log2())
            .sum::<f64>()
            - 1.0;
        let max = coeffs.iter().fold(0f64, |a, &c| a.max(c.abs()));
        if max > 0.0 && max.log2() >= bound {
            return Err(CkksError::EncodingOverflow {
                log_coeff: max.log2(),
                log_q: bound + 1.0,
            });
        }
        Ok((coeffs, slots))
    }

    /// The NTT-domain residues of integer coefficients over the limbs `idx`.
    fn residues(&self, coeffs: &[f64], idx: &[usize]) -> Poly {
        let basis = self.ctx.basis();
        let n = self.ctx.n();
        let mut poly = Poly::zero(n, idx.len());
        poly.data_mut()
            .par_chunks_mut(n)
            .zip(idx.par_iter())
            .for_each(|(limb, &i)| {
                let m = basis.modulus(i);
                for (x, &c) in limb.iter_mut().zip(coeffs) {
                    *x = f64_to_residue(c, m);
                }
            });
        poly.ntt(basis, idx);
        poly
    }

    /// Encodes real values (imaginary parts zero).
    pub fn encode(&self, values: &[f64], level: usize, scale: f64) -> Result<Plaintext, CkksError> {
        let c: Vec<Complex64> = values.iter().map(|&x| Complex64::new(x, 0.0)).collect();
        self.encode_complex(&c, level, scale)
    }

    /// Decodes all `pt.slots()` complex slots.
    pub fn decode_complex(&self, pt: &Plaintext) -> Vec<Complex64> {
        let n = self.ctx.n();
        let basis = self.ctx.basis();
        let idx = basis.q_indices(pt.level);
        let mut poly = pt.poly.clone();
        poly.intt(basis, &idx);
        let slots = pt.slots;
        let gap = n / (2 * slots);
        let half = n / 2;
        let crt = self.ctx.crt(pt.level);
        let limbs: Vec<&[u64]> = poly.limbs().collect();
        let mut u: Vec<Complex64> = (0..slots)
            .into_par_iter()
            .map_init(Vec::new, |acc, i| {
                let re = crt.reconstruct_scaled(basis, &limbs, i * gap, pt.scale, acc);
                let im = crt.reconstruct_scaled(basis, &limbs, half + i * gap, pt.scale, acc);
                Complex64::new(re, im)
            })
            .collect();
        self.fft_special(&mut u);
        u
    }

    /// Decodes the real parts of the slots.
    pub fn decode(&self, pt: &Plaintext) -> Vec<f64> {
        self.decode_complex(pt).into_iter().map(|c| c.re).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::params::{presets, Params};
    use crate::ckks::testing::{precision_bits, random_complex};

    #[test]
    fn encode_decode_round_trip_all_slot_counts() {
        let ctx = Context::new(Params::new_insecure_for_tests(presets::test_insecure()).unwrap());
        let enc = Encoder::new(ctx.clone());
        for log_slots in [0, 1, 3, 7, 11] {
            let z = random_complex(1 << log_slots, 1.0);
            for level in [0, ctx.max_level()] {
                let pt = enc.encode_complex(&z, level, 2f64.powi(40)).unwrap();
                let back = enc.decode_complex(&pt);
                let bits = precision_bits(&z, &back);
                // Rounding to integers at scale 2^40 costs about log2(sqrt(N)) + 1 bits.
                assert!(
                    bits >= 32.0,
                    "slots 2^{log_slots} level {level}: {bits:.1} bits"
                );
            }
        }
    }

    #[test]
    fn large_scales_and_values_are_exact_to_f64() {
        let ctx = Context::new(Params::new_insecure_for_tests(presets::test_insecure()).unwrap());
        let enc = Encoder::new(ctx.clone());
        let z = random_complex(64, 1000.0);
        let pt = enc
            .encode_complex(&z, ctx.max_level(), 2f64.powi(90))
            .unwrap();
        let back = enc.decode_complex(&pt);
        // Values up to 1000 (2^10): f64 FFT round-off bounds the absolute error near 2^-40.
        let bits = precision_bits(&z, &back);
        assert!(bits >= 35.0, "{bits:.1}");
    }

    #[test]
    fn rejects_bad_inputs() {
        let ctx = Context::new(Params::new_insecure_for_tests(presets::test_insecure()).unwrap());
        let enc = Encoder::new(ctx.clone());
        assert!(matches!(
            enc.encode(&vec![0.0; ctx.n()], 0, 1e10),
            Err(CkksError::TooManySlots { .. })
        ));
        assert!(matches!(
            enc.encode(&[f64::NAN], 0, 1e10),
            Err(CkksError::NonFiniteValue { index: 0 })
        ));
        assert!(matches!(
            enc.encode(&[1.0], 99, 1e10),
            Err(CkksError::LevelOutOfRange { .. })
        ));
        assert!(matches!(
            enc.encode(&[1e30], 0, 2f64.powi(40)),
            Err(CkksError::EncodingOverflow { .. })
        ));
    }
}
