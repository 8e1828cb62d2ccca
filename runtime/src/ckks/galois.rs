//! Galois automorphisms `X ↦ X^g` of `Z[X]/(X^N + 1)`: the elements that rotate slots or
//! conjugate them, and the index permutations that apply them in either domain.

use super::math::ntt::bit_reverse;

/// The generator of the rotation group used by the encoder (slot `j` is evaluated at `ζ^{5^j}`).
pub const ROTATION_GENERATOR: u64 = 5;

/// Galois element for a left rotation of the slots by `steps` (negative: right).
pub fn rotation_element(log_n: u32, steps: i64) -> u64 {
    let n = 1u64 << log_n;
    let two_n = 2 * n;
    let order = (n / 2) as i64; // order of 5 in (Z/2NZ)^*
    let k = steps.rem_euclid(order) as u64;
    let mut g = 1u64;
    let mut base = ROTATION_GENERATOR;
    let mut e = k;
    while e > 0 {
        if e & 1 == 1 {
            g = g * base % two_n;
        }
        base = base * base % two_n;
        e >>= 1;
    }
    g
}

/// Galois element of complex conjugation of the slots.
pub fn conjugation_element(log_n: u32) -> u64 {
    2 * (1u64 << log_n) - 1
}

/// Permutation applying `X ↦ X^g` to a polynomial in the NTT (bit-reversed evaluation)
/// domain: `new[k] = old[perm[k]]`.
pub fn ntt_permutation(log_n: u32, g: u64) -> Vec<u32> {
    let n = 1usize << log_n;
    let two_n = 2 * n as u64;
    assert!(
        g % 2 == 1 && g < two_n,
        "Galois element {g} must be odd and below 2N"
    );
    (0..n)
        .map(|k| {
            let e = 2 * bit_reverse(k, log_n) as u64 + 1;
            let src = (e * g % two_n - 1) / 2;
            bit_reverse(src as usize, log_n) as u32
        })
        .collect()
}

/// Applies `X ↦ X^g` in the coefficient domain to signed coefficients.
pub fn apply_coefficients(coeffs: &[i64], g: u64) -> Vec<i64> {
    let n = coeffs.len();
    let two_n = 2 * n as u64;
    let mut out = vec![0i64; n];
    for (j, &c) in coeffs.iter().enumerate() {
        let t = (j as u64 * g) % two_n;
        if t < n as u64 {
            out[t as usize] += c;
        } else {
            out[(t - n as u64) as usize] -= c;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::math::{primes::generate_ntt_primes, Modulus, NttTable};

    #[test]
    fn ntt_permutation_matches_coefficient_automorphism() {
        let log_n = 6;
        let n = 1 << log_n;
        let q = generate_ntt_primes(n, &[50], &[]).unwrap()[0];
        let m = Modulus::new(q);
        let t = NttTable::new(n, m);
        let coeffs: Vec<i64> = (0..n as i64).map(|i| (i * 7919) % 101 - 50).collect();
        for g in [
            rotation_element(log_n, 1),
            rotation_element(log_n, -3),
            conjugation_element(log_n),
        ] {
            let mut a: Vec<u64> = coeffs.iter().map(|&c| m.reduce_i64(c)).collect();
            t.forward(&mut a);
            let perm = ntt_permutation(log_n, g);
            let mut permuted: Vec<u64> = perm.iter().map(|&p| a[p as usize]).collect();
            t.inverse(&mut permuted);
            let expect: Vec<u64> = apply_coefficients(&coeffs, g)
                .iter()
                .map(|&c| m.reduce_i64(c))
                .collect();
            assert_eq!(permuted, expect, "g = {g}");
        }
    }

    #[test]
    fn rotation_elements_compose() {
        let log_n = 10;
        let two_n = 2u64 << log_n;
        for (a, b) in [(1i64, 2i64), (5, -5), (100, 300)] {
            assert_eq!(
                rotation_element(log_n, a) * rotation_element(log_n, b) % two_n,
                rotation_element(log_n, a + b)
            );
        }
        assert_eq!(rotation_element(log_n, 0), 1);
    }
}
