//! A word-sized prime modulus with precomputed Barrett and Shoup constants.
//!
//! Every modular product in the runtime goes through this type: Barrett reduction
//! of 128-bit products for two variable operands, Shoup multiplication when one
//! operand is a constant known ahead of time (NTT twiddles, key-switching
//! constants). `u128 % q` is never used on a hot path.

/// Largest modulus bit size supported: lazy (Harvey) reduction keeps values in
/// `[0, 4q)`, which must fit in a `u64`.
pub const MAX_MODULUS_BITS: u32 = 61;

/// A prime modulus `q < 2^61` with its reduction constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modulus {
    q: u64,
    /// `floor(2^128 / q)`, low word.
    ratio_lo: u64,
    /// `floor(2^128 / q)`, high word.
    ratio_hi: u64,
}

/// A constant multiplicand with its Shoup companion `floor(w * 2^64 / q)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShoupConst {
    pub value: u64,
    pub quotient: u64,
}

impl Modulus {
    /// Builds the reduction constants for `q`. `q` must be in `[2, 2^61]`.
    pub fn new(q: u64) -> Self {
        assert!(
            q >= 2 && q < (1u64 << MAX_MODULUS_BITS),
            "modulus {q} out of range"
        );
        let ratio = u128::MAX / q as u128; // floor((2^128 - 1) / q) == floor(2^128 / q) for q not a power of two
        let ratio = if (u128::MAX % q as u128) == q as u128 - 1 {
            ratio + 1
        } else {
            ratio
        };
        Modulus {
            q,
            ratio_lo: ratio as u64,
            ratio_hi: (ratio >> 64) as u64,
        }
    }

    #[inline(always)]
    pub fn value(&self) -> u64 {
        self.q
    }

    /// Number of bits of `q`.
    pub fn bits(&self) -> u32 {
        64 - self.q.leading_zeros()
    }

    /// Reduces a 128-bit value `x < 2^124` (enough for sums of 16 products of
    /// two values below 2^60) modulo `q`.
    #[inline(always)]
    pub fn reduce_u128(&self, x: u128) -> u64 {
        let x0 = x as u64;
        let x1 = (x >> 64) as u64;
        // quotient estimate = floor(x * ratio / 2^128), computed from the partial products.
        let mid = ((x0 as u128 * self.ratio_lo as u128) >> 64)
            + x0 as u128 * self.ratio_hi as u128
            + x1 as u128 * self.ratio_lo as u128;
        let quot = (x1 as u128 * self.ratio_hi as u128 + (mid >> 64)) as u64;
        let mut r = x0.wrapping_sub(quot.wrapping_mul(self.q));
        if r >= self.q {
            r -= self.q;
        }
        if r >= self.q {
            r -= self.q;
        }
        r
    }

    /// Reduces an arbitrary `u128` modulo `q` (slow path for setup code).
    pub fn reduce_u128_any(&self, x: u128) -> u64 {
        (x % self.q as u128) as u64
    }

    /// Reduces a `u64` modulo `q`.
    #[inline(always)]
    pub fn reduce(&self, x: u64) -> u64 {
        self.reduce_u128(x as u128)
    }

    /// Reduces a signed value modulo `q`, returning a value in `[0, q)`.
    #[inline(always)]
    pub fn reduce_i64(&self, x: i64) -> u64 {
        if x >= 0 {
            self.reduce(x as u64)
        } else {
            let r = self.reduce(x.unsigned_abs());
            if r == 0 {
                0
            } else {
                self.q - r
            }
        }
    }

    #[inline(always)]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        let s = a + b;
        if s >= self.q {
            s - self.q
        } else {
            s
        }
    }

    #[inline(always)]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        if a >= b {
            a - b
        } else {
            a + self.q - b
        }
    }

    #[inline(always)]
    pub fn neg(&self, a: u64) -> u64 {
        if a == 0 {
            0
        } else {
            self.q - a
        }
    }

    /// `a * b mod q` for `a, b < 2^62` through Barrett reduction.
    #[inline(always)]
    pub fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128(a as u128 * b as u128)
    }

    /// Precomputes the Shoup companion of a constant `w < q`.
    pub fn shoup(&self, w: u64) -> ShoupConst {
        debug_assert!(w < self.q);
        ShoupConst {
            value: w,
            quotient: (((w as u128) << 64) / self.q as u128) as u64,
        }
    }

    /// `x * w mod q` in `[0, 2q)` for any `x < 2^64` (Shoup, lazy).
    #[inline(always)]
    pub fn mul_shoup_lazy(&self, x: u64, w: ShoupConst) -> u64 {
        let hi = ((x as u128 * w.quotient as u128) >> 64) as u64;
        x.wrapping_mul(w.value)
            .wrapping_sub(hi.wrapping_mul(self.q))
    }

    /// `x * w mod q` in `[0, q)` (Shoup).
    #[inline(always)]
    pub fn mul_shoup(&self, x: u64, w: ShoupConst) -> u64 {
        let r = self.mul_shoup_lazy(x, w);
        if r >= self.q {
            r - self.q
        } else {
            r
        }
    }

    pub fn pow(&self, base: u64, mut exp: u64) -> u64 {
        let mut result = 1 % self.q;
        let mut b = self.reduce(base);
        while exp > 0 {
            if exp & 1 == 1 {
                result = self.mul(result, b);
            }
            b = self.mul(b, b);
            exp >>= 1;
        }
        result
    }

    /// Inverse modulo the prime `q` (Fermat). `a` must be non-zero mod `q`.
    pub fn inv(&self, a: u64) -> u64 {
        let a = self.reduce(a);
        assert!(a != 0, "zero has no inverse modulo {}", self.q);
        self.pow(a, self.q - 2)
    }

    /// Centered lift of a residue to `(-q/2, q/2]`.
    #[inline(always)]
    pub fn center(&self, a: u64) -> i64 {
        if a > self.q / 2 {
            a as i64 - self.q as i64
        } else {
            a as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PRIMES: [u64; 3] = [0x1fffffffffe00001, 1152921504606584833, 1099511678977];

    proptest! {
        #[test]
        fn barrett_matches_u128_remainder(a in any::<u64>(), b in any::<u64>(), i in 0usize..3) {
            let m = Modulus::new(PRIMES[i]);
            let (a, b) = (a % m.value(), b % m.value());
            prop_assert_eq!(m.mul(a, b), ((a as u128 * b as u128) % m.value() as u128) as u64);
        }

        #[test]
        fn shoup_matches_u128_remainder(x in any::<u64>(), w in any::<u64>(), i in 0usize..3) {
            let m = Modulus::new(PRIMES[i]);
            let w = m.shoup(w % m.value());
            let lazy = m.mul_shoup_lazy(x, w);
            prop_assert!(lazy < 2 * m.value());
            prop_assert_eq!(m.mul_shoup(x, w), ((x as u128 * w.value as u128) % m.value() as u128) as u64);
        }

        #[test]
        fn reduce_sums_of_products(xs in proptest::collection::vec((any::<u64>(), any::<u64>()), 1..16), i in 0usize..3) {
            let m = Modulus::new(PRIMES[i]);
            let mut acc = 0u128;
            for (a, b) in &xs { acc += (a % m.value()) as u128 * (b % m.value()) as u128; }
            prop_assert_eq!(m.reduce_u128(acc), (acc % m.value() as u128) as u64);
        }
    }

    #[test]
    fn inverse_and_power() {
        for &q in &PRIMES {
            let m = Modulus::new(q);
            for a in [1u64, 2, 3, q - 1, 123456789] {
                assert_eq!(m.mul(a, m.inv(a)), 1);
            }
            assert_eq!(m.pow(3, q - 1), 1);
        }
    }
}
