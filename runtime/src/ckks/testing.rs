//! Helpers shared by tests and benchmarks: fresh random inputs and precision in bits.

use num_complex::Complex64;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

fn fresh_rng() -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).expect("OS randomness");
    ChaCha20Rng::from_seed(seed)
}

fn uniform_pm1(rng: &mut ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// `n` complex values with real and imaginary parts uniform in `[-bound, bound]`, freshly seeded.
pub fn random_complex(n: usize, bound: f64) -> Vec<Complex64> {
    let mut rng = fresh_rng();
    (0..n)
        .map(|_| Complex64::new(uniform_pm1(&mut rng) * bound, uniform_pm1(&mut rng) * bound))
        .collect()
}

/// `n` real values uniform in `[-bound, bound]`, freshly seeded.
pub fn random_real(n: usize, bound: f64) -> Vec<f64> {
    let mut rng = fresh_rng();
    (0..n).map(|_| uniform_pm1(&mut rng) * bound).collect()
}

/// A fresh random integer in `[0, bound)`.
pub fn random_index(bound: usize) -> usize {
    (fresh_rng().next_u64() % bound as u64) as usize
}

/// Precision in bits: `-log2(max_i |want_i - got_i|)` (capped at 60).
pub fn precision_bits(want: &[Complex64], got: &[Complex64]) -> f64 {
    assert!(got.len() >= want.len());
    let err = want
        .iter()
        .zip(got)
        .map(|(a, b)| (a - b).norm())
        .fold(0f64, f64::max);
    (-err.log2()).min(60.0)
}

/// Mean precision in bits: `-log2(mean_i |want_i - got_i|)` (capped at 60).
pub fn mean_precision_bits(want: &[Complex64], got: &[Complex64]) -> f64 {
    let err = want
        .iter()
        .zip(got)
        .map(|(a, b)| (a - b).norm())
        .sum::<f64>()
        / want.len() as f64;
    (-err.log2()).min(60.0)
}

/// Precision in bits of real values.
pub fn precision_bits_real(want: &[f64], got: &[f64]) -> f64 {
    assert!(got.len() >= want.len());
    let err = want
        .iter()
        .zip(got)
        .map(|(a, b)| (a - b).abs())
        .fold(0f64, f64::max);
    (-err.log2()).min(60.0)
}
