//! Helpers shared by tests and benchmarks: fresh random inputs and precision in bits.
//!
//! Inputs are fresh on every run but reproducible: one root seed per process (random, or
//! `BLINDTUNE_TEST_SEED`), printed by the first draw of each test (the harness shows it when
//! the test fails), and each draw seeded from the root, the test's name and the draw's index.

use std::cell::Cell;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use num_complex::Complex64;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// The environment variable that replays a run's random inputs.
pub const SEED_VARIABLE: &str = "BLINDTUNE_TEST_SEED";

/// The process's root seed: `BLINDTUNE_TEST_SEED` if set (decimal), else random.
pub fn root_seed() -> u64 {
    static ROOT: OnceLock<u64> = OnceLock::new();
    *ROOT.get_or_init(|| {
        if let Some(seed) = std::env::var(SEED_VARIABLE)
            .ok()
            .and_then(|v| v.trim().parse().ok())
        {
            return seed;
        }
        let mut b = [0u8; 8];
        getrandom::getrandom(&mut b).expect("OS randomness");
        u64::from_le_bytes(b)
    })
}

thread_local! {
    static DRAWS: Cell<u64> = const { Cell::new(0) };
}

/// A seed for this thread's next draw (printed with the replay command on the first draw).
pub fn next_seed() -> u64 {
    let root = root_seed();
    let k = DRAWS.with(|d| {
        let k = d.get();
        d.set(k + 1);
        k
    });
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("main");
    if k == 0 {
        eprintln!("random inputs of `{name}`: replay with {SEED_VARIABLE}={root}");
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (root, name, k).hash(&mut h);
    h.finish()
}

fn fresh_rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(next_seed())
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
