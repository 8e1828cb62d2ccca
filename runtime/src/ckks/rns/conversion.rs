//! Fast (approximate) base conversion between RNS bases.
//!
//! For `x` given by its residues `x_i` modulo the primes `a_i` of a basis `A`, the fast base
//! conversion to a prime `b` is `Σ_i [x_i · Â_i^{-1}]_{a_i} · Â_i  mod b`, which equals
//! `x + u·A (mod b)` for some `0 ≤ u < |A|`. Hybrid key switching absorbs that `u·A` into noise.

use rayon::prelude::*;

use super::RnsBasis;
use crate::ckks::math::{Modulus, ShoupConst};

/// Converter from a fixed source set of limbs to any limb of the basis.
#[derive(Debug, Clone)]
pub struct BaseConverter {
    from: Vec<usize>,
    /// `[Â_i^{-1}]_{a_i}` for each source limb.
    hat_inv: Vec<ShoupConst>,
    /// `[Â_i]_{b}` indexed `[target basis index][i]`.
    hat_mod: Vec<Vec<u64>>,
    /// `[A]_b` for every target limb `b` (to subtract the multiple of `A` in exact conversion).
    a_mod: Vec<u64>,
    /// `1/a_i` in floating point.
    inv_f64: Vec<f64>,
}

impl BaseConverter {
    /// Precomputes the conversion from the limbs `from` of `basis` to every limb of `basis`.
    pub fn new(basis: &RnsBasis, from: &[usize]) -> Self {
        let total = basis.num_q() + basis.num_p();
        let hat_inv = from
            .iter()
            .map(|&i| {
                let mi = basis.modulus(i);
                mi.shoup(mi.inv(basis.product_mod(from, Some(i), i)))
            })
            .collect();
        let hat_mod = (0..total)
            .map(|t| {
                from.iter()
                    .map(|&i| basis.product_mod(from, Some(i), t))
                    .collect()
            })
            .collect();
        let a_mod = (0..total)
            .map(|t| basis.product_mod(from, None, t))
            .collect();
        let inv_f64 = from
            .iter()
            .map(|&i| 1.0 / basis.modulus(i).value() as f64)
            .collect();
        BaseConverter {
            from: from.to_vec(),
            hat_inv,
            hat_mod,
            a_mod,
            inv_f64,
        }
    }

    pub fn from(&self) -> &[usize] {
        &self.from
    }

    /// Converts the source limbs `input` (coefficient domain, one slice per source limb, in
    /// the order of `from`) to the target limbs `targets`, writing `outputs[t]` for each.
    /// Fast conversion: the result is `x + u·A` for some `0 ≤ u < |A|`.
    pub fn convert(
        &self,
        basis: &RnsBasis,
        input: &[&[u64]],
        targets: &[usize],
        outputs: &mut [&mut [u64]],
    ) {
        self.convert_impl(basis, input, targets, outputs, false)
    }

    /// As [`convert`](Self::convert), but exact and centered: the result is the representative
    /// of `x` in `(-A/2, A/2]` (up to a floating-point tie), found by estimating `u` as
    /// `round(Σ_i y_i / a_i)`. ModDown uses it so that division by `P` rounds instead of
    /// carrying an error of up to `|P|` limbs.
    pub fn convert_centered(
        &self,
        basis: &RnsBasis,
        input: &[&[u64]],
        targets: &[usize],
        outputs: &mut [&mut [u64]],
    ) {
        self.convert_impl(basis, input, targets, outputs, true)
    }

    fn convert_impl(
        &self,
        basis: &RnsBasis,
        input: &[&[u64]],
        targets: &[usize],
        outputs: &mut [&mut [u64]],
        centered: bool,
    ) {
        let alpha = self.from.len();
        let n = basis.n();
        debug_assert_eq!(input.len(), alpha);
        debug_assert_eq!(targets.len(), outputs.len());
        // y[k*alpha + i] = x_i[k] * Â_i^{-1} mod a_i, coefficient-major for a contiguous inner loop.
        let consts: Vec<(crate::ckks::math::Modulus, ShoupConst)> = (0..alpha)
            .map(|i| (*basis.modulus(self.from[i]), self.hat_inv[i]))
            .collect();
        let mut y = Vec::with_capacity(n * alpha);
        for k in 0..n {
            for (x, (m, c)) in input.iter().zip(&consts) {
                y.push(m.mul_shoup(x[k], *c));
            }
        }
        // Multiples of A to subtract: round(Σ y_i / a_i) (exact conversion, centered).
        let multiples: Vec<u8> = if centered {
            y.chunks_exact(alpha)
                .map(|ys| {
                    // Truncating `v + 0.5` (v ≥ 0) rounds without a libm call: `f64::round`
                    // is not a single instruction on baseline x86-64.
                    (ys.iter()
                        .zip(&self.inv_f64)
                        .map(|(&v, &inv)| v as f64 * inv)
                        .sum::<f64>()
                        + 0.5) as u8
                })
                .collect()
        } else {
            Vec::new()
        };
        outputs
            .par_iter_mut()
            .zip(targets.par_iter())
            .for_each(|(out, &t)| {
                let m = basis.modulus(t);
                let consts = &self.hat_mod[t];
                convert_one(&y, alpha, consts, m, out);
                if centered {
                    let a = self.a_mod[t];
                    let table: Vec<u64> = (0..=alpha as u64)
                        .map(|r| m.reduce_u128(a as u128 * r as u128))
                        .collect();
                    for (o, &r) in out.iter_mut().zip(&multiples) {
                        *o = m.sub(*o, table[r as usize]);
                    }
                }
            });
    }
}

/// `out[k] = Σ_i y[k·α + i]·consts[i] mod m`, with the digit size as a constant so the inner
/// product is fully unrolled (up to 8 products of 61-bit values fit in 128 bits).
#[inline(always)]
fn convert_fixed<const A: usize>(y: &[u64], consts: &[u64], m: &Modulus, out: &mut [u64]) {
    let c: [u64; A] = consts[..A].try_into().expect("A constants");
    for (o, ys) in out.iter_mut().zip(y.chunks_exact(A)) {
        let mut acc = 0u128;
        for i in 0..A {
            acc += ys[i] as u128 * c[i] as u128;
        }
        *o = m.reduce_u128(acc);
    }
}

#[inline]
fn convert_one(y: &[u64], alpha: usize, consts: &[u64], m: &Modulus, out: &mut [u64]) {
    match alpha {
        1 => convert_fixed::<1>(y, consts, m, out),
        2 => convert_fixed::<2>(y, consts, m, out),
        3 => convert_fixed::<3>(y, consts, m, out),
        4 => convert_fixed::<4>(y, consts, m, out),
        5 => convert_fixed::<5>(y, consts, m, out),
        6 => convert_fixed::<6>(y, consts, m, out),
        7 => convert_fixed::<7>(y, consts, m, out),
        8 => convert_fixed::<8>(y, consts, m, out),
        _ => {
            for (o, ys) in out.iter_mut().zip(y.chunks_exact(alpha)) {
                let mut r = 0u64;
                for (yc, cc) in ys.chunks(8).zip(consts.chunks(8)) {
                    let mut acc = r as u128;
                    for (a, c) in yc.iter().zip(cc) {
                        acc += *a as u128 * *c as u128;
                    }
                    r = m.reduce_u128(acc);
                }
                *o = r;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::math::primes::generate_ntt_primes;
    use num_bigint::BigUint;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Centered conversion gives exactly the representative of x in (-A/2, A/2].
        #[test]
        fn centered_conversion_is_exact(alpha in 1usize..8, seed in any::<u64>()) {
            let n = 16;
            let primes = generate_ntt_primes(n, &vec![55; alpha + 2], &[]).unwrap();
            let basis = RnsBasis::new(n, &primes[..alpha], &primes[alpha..]);
            let conv = BaseConverter::new(&basis, &(0..alpha).collect::<Vec<_>>());
            let mut state = seed | 1;
            let mut rnd = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let input: Vec<Vec<u64>> = (0..alpha).map(|i| (0..n).map(|_| rnd() % primes[i]).collect()).collect();
            let mut outs = vec![vec![0u64; n]; 2];
            {
                let ins: Vec<&[u64]> = input.iter().map(|v| v.as_slice()).collect();
                let mut o: Vec<&mut [u64]> = outs.iter_mut().map(|v| v.as_mut_slice()).collect();
                conv.convert_centered(&basis, &ins, &[alpha, alpha + 1], &mut o);
            }
            let a: BigUint = primes[..alpha].iter().map(|&p| BigUint::from(p)).product();
            for k in 0..n {
                let mut x = BigUint::from(0u32);
                for i in 0..alpha {
                    let ai = BigUint::from(primes[i]);
                    let hat = &a / &ai;
                    x += BigUint::from(input[i][k]) * &hat * hat.modpow(&(&ai - 2u32), &ai);
                }
                x %= &a;
                for t in 0..2 {
                    let b = BigUint::from(primes[alpha + t]);
                    // centered representative: x or x - A
                    let want = if &x * 2u32 > a { (&b * ((&a / &b) + 1u32) + &x - &a) % &b } else { &x % &b };
                    prop_assert_eq!(BigUint::from(outs[t][k]), want, "limb {} coefficient {}", t, k);
                }
            }
        }

        /// Fast base conversion equals the CRT value plus a small multiple u·A with 0 ≤ u < |A|.
        #[test]
        fn matches_big_integer_crt(alpha in 1usize..10, seed in any::<u64>()) {
            let n = 16;
            let primes = generate_ntt_primes(n, &vec![50; alpha + 3], &[]).unwrap();
            let basis = RnsBasis::new(n, &primes[..alpha], &primes[alpha..]);
            let from: Vec<usize> = (0..alpha).collect();
            let conv = BaseConverter::new(&basis, &from);
            let mut state = seed | 1;
            let mut rnd = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let input: Vec<Vec<u64>> = (0..alpha).map(|i| (0..n).map(|_| rnd() % primes[i]).collect()).collect();
            let targets: Vec<usize> = (alpha..alpha + 3).collect();
            let mut outs = vec![vec![0u64; n]; 3];
            {
                let ins: Vec<&[u64]> = input.iter().map(|v| v.as_slice()).collect();
                let mut o: Vec<&mut [u64]> = outs.iter_mut().map(|v| v.as_mut_slice()).collect();
                conv.convert(&basis, &ins, &targets, &mut o);
            }
            let a: BigUint = primes[..alpha].iter().map(|&p| BigUint::from(p)).product();
            for k in 0..n {
                // CRT reconstruction of x.
                let mut x = BigUint::from(0u32);
                for i in 0..alpha {
                    let ai = BigUint::from(primes[i]);
                    let hat = &a / &ai;
                    let hat_inv = hat.modpow(&(&ai - 2u32), &ai);
                    x += BigUint::from(input[i][k]) * &hat * hat_inv;
                }
                x %= &a;
                let mut ok = false;
                for (t, out) in outs.iter().enumerate() {
                    let b = BigUint::from(primes[alpha + t]);
                    let got = BigUint::from(out[k]);
                    ok = (0..alpha as u32).any(|u| (&x + &a * u) % &b == got);
                    prop_assert!(ok, "limb {t} coefficient {k}");
                }
                prop_assert!(ok);
            }
        }
    }
}
