//! NTT-friendly prime generation: primes `q ≡ 1 (mod 2N)` of a requested bit size,
//! checked with a deterministic Miller–Rabin test.

use super::modulus::{Modulus, MAX_MODULUS_BITS};

/// Deterministic Miller–Rabin for 64-bit integers (bases proven sufficient below 2^64).
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for p in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        if n % p == 0 {
            return n == p;
        }
    }
    let mut d = n - 1;
    let mut s = 0;
    while d % 2 == 0 {
        d /= 2;
        s += 1;
    }
    let mulmod = |a: u64, b: u64| ((a as u128 * b as u128) % n as u128) as u64;
    let powmod = |mut b: u64, mut e: u64| {
        let mut r = 1u64;
        while e > 0 {
            if e & 1 == 1 {
                r = mulmod(r, b);
            }
            b = mulmod(b, b);
            e >>= 1;
        }
        r
    };
    'witness: for a in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        let mut x = powmod(a, d);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mulmod(x, x);
            if x == n - 1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

/// Errors of prime generation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrimeError {
    #[error("prime bit size {bits} is outside the supported range 20..={max}")]
    BitSize { bits: u32, max: u32 },
    #[error("not enough {bits}-bit primes congruent to 1 mod {modulus}")]
    Exhausted { bits: u32, modulus: u64 },
}

/// Generates distinct primes `q ≡ 1 (mod 2n)` with the requested bit sizes.
///
/// Primes are taken nearest to `2^bits`, alternating above and below, so that a chain of
/// equal-size primes keeps a rescaled scale close to `2^bits`. Primes listed in `exclude`
/// (and those generated earlier in the same call) are skipped. The result is deterministic.
pub fn generate_ntt_primes(
    n: usize,
    bit_sizes: &[u32],
    exclude: &[u64],
) -> Result<Vec<u64>, PrimeError> {
    let m = 2 * n as u64;
    let mut taken: Vec<u64> = exclude.to_vec();
    let mut out = Vec::with_capacity(bit_sizes.len());
    for &bits in bit_sizes {
        if !(20..=MAX_MODULUS_BITS).contains(&bits) {
            return Err(PrimeError::BitSize {
                bits,
                max: MAX_MODULUS_BITS,
            });
        }
        let center = 1u64 << bits;
        let lo_limit = 1u64 << (bits - 1);
        let hi_limit = if bits == MAX_MODULUS_BITS {
            (1u64 << MAX_MODULUS_BITS) - 1
        } else {
            1u64 << (bits + 1)
        };
        // Candidates 2^bits + 1 ± k·m, nearest first, alternating below and above.
        let mut found = None;
        let mut k = 0u64;
        loop {
            let below = center.checked_sub(k * m).map(|c| c + 1);
            let above = if bits < MAX_MODULUS_BITS {
                center.checked_add(k * m + m).map(|c| c + 1)
            } else {
                None
            };
            for cand in [below, above].into_iter().flatten() {
                if cand <= lo_limit || cand >= hi_limit {
                    continue;
                }
                if !taken.contains(&cand) && is_prime(cand) {
                    found = Some(cand);
                    break;
                }
            }
            if found.is_some() {
                break;
            }
            let below_done = below.is_none_or(|c| c <= lo_limit);
            let above_done = above.is_none_or(|c| c >= hi_limit);
            if below_done && above_done {
                return Err(PrimeError::Exhausted { bits, modulus: m });
            }
            k += 1;
        }
        let q = found.expect("loop exits with a prime");
        debug_assert_eq!(q % m, 1);
        let _ = Modulus::new(q);
        taken.push(q);
        out.push(q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miller_rabin_agrees_with_trial_division() {
        let trial = |n: u64| n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0);
        for n in 0..5000u64 {
            assert_eq!(is_prime(n), trial(n), "n = {n}");
        }
        assert!(is_prime(0x1fffffffffe00001));
        assert!(!is_prime(1_000_003u64 * 1_000_033));
    }

    #[test]
    fn generated_primes_are_ntt_friendly_and_distinct() {
        let n = 1 << 16;
        let bits = [60, 40, 40, 40, 40, 40, 61, 61];
        let ps = generate_ntt_primes(n, &bits, &[]).unwrap();
        for (p, b) in ps.iter().zip(bits) {
            assert!(is_prime(*p));
            assert_eq!(p % (2 * n as u64), 1);
            assert!(
                (*p as f64).log2() - b as f64 <= 0.01 && (b as f64) - (*p as f64).log2() < 1.0,
                "{p} vs {b}"
            );
        }
        let mut s = ps.clone();
        s.sort();
        s.dedup();
        assert_eq!(s.len(), ps.len());
    }

    #[test]
    fn rejects_bad_bit_sizes() {
        assert!(matches!(
            generate_ntt_primes(1024, &[70], &[]),
            Err(PrimeError::BitSize { .. })
        ));
        assert!(matches!(
            generate_ntt_primes(1024, &[10], &[]),
            Err(PrimeError::BitSize { .. })
        ));
    }
}
