//! Sampling with a CSPRNG (ChaCha20 seeded from the operating system): uniform residues,
//! uniform and sparse ternary secrets, and the discrete Gaussian error.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;

use super::rns::{Poly, RnsBasis};

/// Largest error magnitude, in standard deviations, before a Gaussian sample is redrawn.
pub const GAUSSIAN_TAIL_CUT: f64 = 6.0;

/// A cryptographically secure sampler.
pub struct Sampler {
    rng: ChaCha20Rng,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sampler { .. }")
    }
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampler {
    /// Seeds from the operating system.
    pub fn new() -> Self {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)
            .expect("the operating system's random source is unavailable");
        Sampler {
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    /// Deterministic sampler for reproducible tests. Never use for real keys.
    pub fn from_seed_for_tests(seed: [u8; 32]) -> Self {
        Sampler {
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    fn uniform_below(rng: &mut ChaCha20Rng, bound: u64) -> u64 {
        // Rejection sampling on the smallest power-of-two range above `bound`.
        let mask = u64::MAX >> (bound - 1).leading_zeros();
        loop {
            let x = rng.next_u64() & mask;
            if x < bound {
                return x;
            }
        }
    }

    /// A polynomial with every limb uniform modulo its prime (uniform in `R_Q` by the CRT).
    /// Limbs are drawn in parallel from independent ChaCha streams of one fresh seed.
    pub fn uniform_poly(&mut self, basis: &RnsBasis, idx: &[usize]) -> Poly {
        let n = basis.n();
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let mut p = Poly::zero(n, idx.len());
        p.data_mut()
            .par_chunks_mut(n)
            .zip(idx.par_iter())
            .enumerate()
            .for_each(|(stream, (limb, &i))| {
                let mut rng = ChaCha20Rng::from_seed(seed);
                rng.set_stream(stream as u64);
                let q = basis.modulus(i).value();
                for x in limb.iter_mut() {
                    *x = Self::uniform_below(&mut rng, q);
                }
            });
        p
    }

    /// A fresh 32-byte seed for [`uniform_poly_from_seed`](Self::uniform_poly_from_seed).
    pub fn seed(&mut self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        seed
    }

    /// The uniform polynomial a seed stands for, on the basis limbs `idx`: limb `i` of the
    /// basis is always drawn from ChaCha20 stream `i` of `seed`, so any subset of limbs (a key
    /// held below the top level) regenerates exactly the same residues.
    pub fn uniform_poly_from_seed(basis: &RnsBasis, idx: &[usize], seed: &[u8; 32]) -> Poly {
        let n = basis.n();
        let mut p = Poly::zero(n, idx.len());
        p.data_mut()
            .par_chunks_mut(n)
            .zip(idx.par_iter())
            .for_each(|(limb, &i)| {
                let mut rng = ChaCha20Rng::from_seed(*seed);
                rng.set_stream(i as u64);
                let q = basis.modulus(i).value();
                for x in limb.iter_mut() {
                    *x = Self::uniform_below(&mut rng, q);
                }
            });
        p
    }

    /// Coefficients uniform in {-1, 0, 1}.
    pub fn ternary(&mut self, n: usize) -> Vec<i64> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let mut w = self.rng.next_u64();
            for _ in 0..32 {
                let t = w & 3;
                w >>= 2;
                if t < 3 {
                    out.push(t as i64 - 1);
                    if out.len() == n {
                        break;
                    }
                }
            }
        }
        out
    }

    /// Exactly `h` coefficients in {-1, 1} at uniformly random distinct positions.
    pub fn sparse_ternary(&mut self, n: usize, h: usize) -> Vec<i64> {
        assert!(h <= n);
        let mut positions: Vec<usize> = (0..n).collect();
        let mut out = vec![0i64; n];
        for i in 0..h {
            let j = i + Self::uniform_below(&mut self.rng, (n - i) as u64) as usize;
            positions.swap(i, j);
            out[positions[i]] = if self.rng.next_u64() & 1 == 0 { 1 } else { -1 };
        }
        out
    }

    /// Rounded Gaussian of standard deviation `sigma`, redrawn beyond `6σ`.
    pub fn gaussian(&mut self, n: usize, sigma: f64) -> Vec<i64> {
        let bound = GAUSSIAN_TAIL_CUT * sigma;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            // Box–Muller gives two samples per pair of uniforms.
            let u1 = ((self.rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
            let u2 = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let r = (-2.0 * u1.ln()).sqrt() * sigma;
            let theta = 2.0 * std::f64::consts::PI * u2;
            for v in [r * theta.cos(), r * theta.sin()] {
                if v.abs() <= bound && out.len() < n {
                    out.push(v.round() as i64);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_has_the_right_spread() {
        let mut s = Sampler::new();
        let v = s.gaussian(1 << 16, 3.2);
        let mean = v.iter().sum::<i64>() as f64 / v.len() as f64;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.1, "mean {mean}");
        // Rounding adds 1/12 to the variance.
        assert!(
            (var.sqrt() - (3.2f64 * 3.2 + 1.0 / 12.0).sqrt()).abs() < 0.1,
            "std {}",
            var.sqrt()
        );
        assert!(v.iter().all(|x| (*x as f64).abs() <= 6.0 * 3.2 + 0.5));
    }

    #[test]
    fn ternary_and_sparse() {
        let mut s = Sampler::new();
        let t = s.ternary(30000);
        for c in [-1, 0, 1] {
            let k = t.iter().filter(|&&x| x == c).count() as f64 / 30000.0;
            assert!((k - 1.0 / 3.0).abs() < 0.02, "{c}: {k}");
        }
        let sp = s.sparse_ternary(4096, 32);
        assert_eq!(sp.iter().filter(|&&x| x != 0).count(), 32);
        assert!(sp.iter().all(|&x| (-1..=1).contains(&x)));
    }
}
