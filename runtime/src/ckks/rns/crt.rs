//! Exact CRT reconstruction of RNS residues into centered real numbers.
//!
//! Decoding needs the centered integer `x ∈ (-Q_ℓ/2, Q_ℓ/2]` behind the residues of every
//! coefficient. It is composed exactly in multi-word arithmetic as
//! `x = Σ_i [x_i · Q̂_i^{-1}]_{q_i} · Q̂_i  mod Q_ℓ` and only then rounded to `f64`.

use super::RnsBasis;
use crate::ckks::math::ShoupConst;

/// Per-level constants for reconstruction modulo `Q_ℓ = q_0 ⋯ q_ℓ`.
#[derive(Debug, Clone)]
pub struct CrtReconstructor {
    /// `Q_ℓ` as little-endian words.
    modulus: Vec<u64>,
    /// `floor(Q_ℓ / 2)`, for centering.
    half: Vec<u64>,
    /// `Q̂_i = Q_ℓ / q_i` as little-endian words (same length as `modulus`).
    hats: Vec<Vec<u64>>,
    hat_inv: Vec<ShoupConst>,
    limbs: Vec<usize>,
}

fn mul_small(a: &[u64], b: u64) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + 1);
    let mut carry = 0u128;
    for &w in a {
        let t = w as u128 * b as u128 + carry;
        out.push(t as u64);
        carry = t >> 64;
    }
    out.push(carry as u64);
    while out.len() > 1 && *out.last().unwrap() == 0 {
        out.pop();
    }
    out
}

fn cmp_words(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    for i in (0..a.len().max(b.len())).rev() {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        if x != y {
            return x.cmp(&y);
        }
    }
    std::cmp::Ordering::Equal
}

/// `a -= b` in place, assuming `a ≥ b`.
fn sub_assign(a: &mut [u64], b: &[u64]) {
    let mut borrow = 0u64;
    for i in 0..a.len() {
        let y = b.get(i).copied().unwrap_or(0);
        let (d1, o1) = a[i].overflowing_sub(y);
        let (d2, o2) = d1.overflowing_sub(borrow);
        a[i] = d2;
        borrow = (o1 || o2) as u64;
    }
}

fn words_to_f64(a: &[u64]) -> f64 {
    let mut r = 0.0f64;
    for &w in a.iter().rev() {
        r = r * 18446744073709551616.0 + w as f64;
    }
    r
}

impl CrtReconstructor {
    /// Constants for the limbs `limbs` of `basis` (usually `0..=ℓ`).
    pub fn new(basis: &RnsBasis, limbs: &[usize]) -> Self {
        let mut modulus = vec![1u64];
        for &i in limbs {
            modulus = mul_small(&modulus, basis.modulus(i).value());
        }
        let width = modulus.len() + 1;
        let hats = limbs
            .iter()
            .map(|&i| {
                let mut h = vec![1u64];
                for &k in limbs {
                    if k != i {
                        h = mul_small(&h, basis.modulus(k).value());
                    }
                }
                h.resize(width, 0);
                h
            })
            .collect();
        let hat_inv = limbs
            .iter()
            .map(|&i| {
                let m = basis.modulus(i);
                m.shoup(m.inv(basis.product_mod(limbs, Some(i), i)))
            })
            .collect();
        let mut half = modulus.clone();
        let mut carry = 0u64;
        for w in half.iter_mut().rev() {
            let next = *w & 1;
            *w = (*w >> 1) | (carry << 63);
            carry = next;
        }
        CrtReconstructor {
            modulus,
            half,
            hats,
            hat_inv,
            limbs: limbs.to_vec(),
        }
    }

    /// `log2(Q_ℓ)`.
    pub fn log_modulus(&self) -> f64 {
        words_to_f64(&self.modulus).log2()
    }

    /// Reconstructs coefficient `k` of the residues `limbs` (coefficient domain, one slice per
    /// limb, ordered as at construction) as a centered value, scaled by `1/scale`.
    pub fn reconstruct_scaled(
        &self,
        basis: &RnsBasis,
        residues: &[&[u64]],
        k: usize,
        scale: f64,
        acc: &mut Vec<u64>,
    ) -> f64 {
        let width = self.modulus.len() + 1;
        acc.clear();
        acc.resize(width, 0);
        for (j, &limb) in self.limbs.iter().enumerate() {
            let m = basis.modulus(limb);
            let y = m.mul_shoup(residues[j][k], self.hat_inv[j]);
            if y == 0 {
                continue;
            }
            // acc += hats[j] * y
            let mut carry = 0u128;
            for (w, &h) in acc.iter_mut().zip(&self.hats[j]) {
                let t = *w as u128 + h as u128 * y as u128 + carry;
                *w = t as u64;
                carry = t >> 64;
            }
        }
        // Reduce modulo Q (the sum is below |limbs| · Q).
        while cmp_words(acc, &self.modulus) != std::cmp::Ordering::Less {
            sub_assign(acc, &self.modulus);
        }
        // Center: if 2·acc > Q the value is acc - Q.
        if cmp_words(acc, &self.half) == std::cmp::Ordering::Greater {
            let mut neg = self.modulus.clone();
            neg.resize(width, 0);
            sub_assign(&mut neg, acc);
            -words_to_f64(&neg) / scale
        } else {
            words_to_f64(acc) / scale
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::math::primes::generate_ntt_primes;
    use num_bigint::{BigInt, BigUint};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn reconstruction_matches_big_integers(limbs in 1usize..8, seed in any::<u64>()) {
            let n = 8;
            let primes = generate_ntt_primes(n, &vec![55; limbs], &[]).unwrap();
            let basis = RnsBasis::new(n, &primes, &[]);
            let idx: Vec<usize> = (0..limbs).collect();
            let crt = CrtReconstructor::new(&basis, &idx);
            let mut state = seed | 1;
            let mut rnd = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let q: BigUint = primes.iter().map(|&p| BigUint::from(p)).product();
            let res: Vec<Vec<u64>> = primes.iter().map(|&p| (0..n).map(|_| rnd() % p).collect()).collect();
            let slices: Vec<&[u64]> = res.iter().map(|v| v.as_slice()).collect();
            let mut acc = Vec::new();
            for k in 0..n {
                let got = crt.reconstruct_scaled(&basis, &slices, k, 1.0, &mut acc);
                // Reference: solve CRT with big integers, then center.
                let mut x = BigUint::from(0u32);
                for (i, &p) in primes.iter().enumerate() {
                    let pi = BigUint::from(p);
                    let hat = &q / &pi;
                    let inv = hat.modpow(&(&pi - 2u32), &pi);
                    x += BigUint::from(res[i][k]) * hat * inv;
                }
                x %= &q;
                let xc = if &x * 2u32 > q { BigInt::from(x) - BigInt::from(q.clone()) } else { BigInt::from(x) };
                let want: f64 = xc.to_string().parse().unwrap();
                prop_assert!((got - want).abs() <= want.abs() * 1e-15 + 1e-9, "{got} vs {want}");
            }
        }
    }
}
