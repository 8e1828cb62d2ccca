//! Negacyclic number-theoretic transform over `Z_q[X]/(X^N + 1)`.
//!
//! Forward: Cooley–Tukey with the powers of a primitive 2N-th root ψ in bit-reversed
//! order, merged with the ψ-twist (no separate pre-multiplication); output in
//! bit-reversed order. Inverse: Gentleman–Sande, input in bit-reversed order.
//! Butterflies use Shoup multiplication and Harvey's lazy reduction: values stay in
//! `[0, 4q)` (forward) or `[0, 2q)` (inverse) between stages and are fully reduced once
//! at the end.

use super::modulus::{Modulus, ShoupConst};

/// Precomputed twiddles for one prime and one ring degree.
#[derive(Clone, Debug)]
pub struct NttTable {
    n: usize,
    modulus: Modulus,
    /// ψ^{bitrev(i)} for i in 0..n.
    roots: Vec<ShoupConst>,
    /// ψ^{-bitrev(i)} for i in 0..n (indexed as in the Gentleman–Sande loop).
    inv_roots: Vec<ShoupConst>,
    n_inv: ShoupConst,
    psi: u64,
}

/// Reverses the lowest `bits` bits of `x`.
#[inline]
pub fn bit_reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}

impl NttTable {
    /// Builds the table for `q ≡ 1 (mod 2n)`; `n` a power of two.
    pub fn new(n: usize, modulus: Modulus) -> Self {
        assert!(n.is_power_of_two() && n >= 2);
        let q = modulus.value();
        assert_eq!(q % (2 * n as u64), 1, "{q} is not 1 mod 2n");
        let psi = minimal_primitive_root(2 * n as u64, &modulus);
        let psi_inv = modulus.inv(psi);
        let log_n = n.trailing_zeros();
        let mut pow = vec![0u64; n];
        let mut inv_pow = vec![0u64; n];
        let (mut a, mut b) = (1u64, 1u64);
        for i in 0..n {
            pow[i] = a;
            inv_pow[i] = b;
            a = modulus.mul(a, psi);
            b = modulus.mul(b, psi_inv);
        }
        let roots = (0..n)
            .map(|i| modulus.shoup(pow[bit_reverse(i, log_n)]))
            .collect();
        let inv_roots = (0..n)
            .map(|i| modulus.shoup(inv_pow[bit_reverse(i, log_n)]))
            .collect();
        let n_inv = modulus.shoup(modulus.inv(n as u64));
        NttTable {
            n,
            modulus,
            roots,
            inv_roots,
            n_inv,
            psi,
        }
    }

    pub fn n(&self) -> usize {
        self.n
    }

    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// The primitive 2N-th root of unity the table was built from.
    pub fn psi(&self) -> u64 {
        self.psi
    }

    /// In-place forward NTT; input in `[0, q)` (or lazily `[0, 4q)`), output in `[0, q)`.
    pub fn forward(&self, a: &mut [u64]) {
        self.forward_lazy(a);
        let q = self.modulus.value();
        let two_q = 2 * q;
        for x in a.iter_mut() {
            let mut v = *x;
            if v >= two_q {
                v -= two_q;
            }
            if v >= q {
                v -= q;
            }
            *x = v;
        }
    }

    /// Forward NTT leaving outputs in `[0, 4q)`.
    pub fn forward_lazy(&self, a: &mut [u64]) {
        assert_eq!(a.len(), self.n);
        let m_ = self.modulus;
        let two_q = 2 * m_.value();
        let n = self.n;
        let roots = &self.roots[..n];
        #[inline(always)]
        fn butterfly(x: &mut u64, y: &mut u64, w: ShoupConst, m_: &Modulus, two_q: u64) {
            let mut u = *x;
            if u >= two_q {
                u -= two_q;
            }
            let v = m_.mul_shoup_lazy(*y, w);
            *x = u + v;
            *y = u + two_q - v;
        }
        let mut t = n;
        let mut m = 1;
        while m < n {
            t >>= 1;
            if t >= 4 {
                let ptr = a.as_mut_ptr();
                for (i, &w) in roots[m..2 * m].iter().enumerate() {
                    // SAFETY: block i covers [2·i·t, 2·i·t + 2t) ⊂ [0, n) because m·2t = n; the
                    // two halves are disjoint.
                    unsafe {
                        let x = ptr.add(2 * i * t);
                        let y = x.add(t);
                        for j in 0..t {
                            butterfly(&mut *x.add(j), &mut *y.add(j), w, &m_, two_q);
                        }
                    }
                }
            } else if t == 2 {
                for (block, &w) in a.chunks_exact_mut(4).zip(&roots[m..2 * m]) {
                    let (lo, hi) = block.split_at_mut(2);
                    let (x0, x1) = lo.split_at_mut(1);
                    let (y0, y1) = hi.split_at_mut(1);
                    butterfly(&mut x0[0], &mut y0[0], w, &m_, two_q);
                    butterfly(&mut x1[0], &mut y1[0], w, &m_, two_q);
                }
            } else {
                for (pair, &w) in a.chunks_exact_mut(2).zip(&roots[m..2 * m]) {
                    let (x, y) = pair.split_at_mut(1);
                    butterfly(&mut x[0], &mut y[0], w, &m_, two_q);
                }
            }
            m <<= 1;
        }
    }

    /// In-place inverse NTT; input in `[0, 2q)`, output in `[0, q)`.
    pub fn inverse(&self, a: &mut [u64]) {
        assert_eq!(a.len(), self.n);
        let m_ = self.modulus;
        let q = m_.value();
        let two_q = 2 * q;
        let n = self.n;
        let inv_roots = &self.inv_roots[..n];
        #[inline(always)]
        fn butterfly(x: &mut u64, y: &mut u64, w: ShoupConst, m_: &Modulus, two_q: u64) {
            let u = *x;
            let v = *y;
            let mut s = u + v;
            if s >= two_q {
                s -= two_q;
            }
            *x = s;
            *y = m_.mul_shoup_lazy(u + two_q - v, w);
        }
        let mut t = 1;
        let mut m = n;
        while m > 1 {
            let h = m >> 1;
            if t == 1 {
                for (pair, &w) in a.chunks_exact_mut(2).zip(&inv_roots[h..2 * h]) {
                    let (x, y) = pair.split_at_mut(1);
                    butterfly(&mut x[0], &mut y[0], w, &m_, two_q);
                }
            } else {
                let ptr = a.as_mut_ptr();
                for (i, &w) in inv_roots[h..2 * h].iter().enumerate() {
                    // SAFETY: block i covers [2·i·t, 2·i·t + 2t) ⊂ [0, n) because h·2t = n; the
                    // two halves are disjoint.
                    unsafe {
                        let x = ptr.add(2 * i * t);
                        let y = x.add(t);
                        for j in 0..t {
                            butterfly(&mut *x.add(j), &mut *y.add(j), w, &m_, two_q);
                        }
                    }
                }
            }
            t <<= 1;
            m = h;
        }
        let n_inv = self.n_inv;
        for x in a.iter_mut() {
            let v = m_.mul_shoup_lazy(*x, n_inv);
            *x = if v >= q { v - q } else { v };
        }
    }
}

/// The smallest primitive `m`-th root of unity modulo a prime `q ≡ 1 (mod m)`, `m` a power of two.
fn minimal_primitive_root(m: u64, modulus: &Modulus) -> u64 {
    let q = modulus.value();
    let cofactor = (q - 1) / m;
    // Find any primitive m-th root g: g^(m/2) = -1.
    let mut g = 0;
    for x in 2..q {
        let c = modulus.pow(x, cofactor);
        if modulus.pow(c, m / 2) == q - 1 {
            g = c;
            break;
        }
    }
    assert!(g != 0, "no primitive root found for {q}");
    // All primitive m-th roots are g^k for odd k; pick the smallest for determinism.
    let g2 = modulus.mul(g, g);
    let mut best = g;
    let mut cur = g;
    for _ in 0..m / 2 {
        cur = modulus.mul(cur, g2);
        if cur < best {
            best = cur;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::math::primes::generate_ntt_primes;
    use proptest::prelude::*;

    fn schoolbook_negacyclic(a: &[u64], b: &[u64], m: &Modulus) -> Vec<u64> {
        let n = a.len();
        let mut c = vec![0u64; n];
        for i in 0..n {
            for j in 0..n {
                let p = m.mul(a[i], b[j]);
                let k = i + j;
                if k < n {
                    c[k] = m.add(c[k], p);
                } else {
                    c[k - n] = m.sub(c[k - n], p);
                }
            }
        }
        c
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn round_trip(log_n in 1u32..12, bits in prop::sample::select(vec![30u32, 40, 50, 60, 61]), seed in any::<u64>()) {
            let n = 1usize << log_n;
            let q = generate_ntt_primes(n, &[bits], &[]).unwrap()[0];
            let table = NttTable::new(n, Modulus::new(q));
            let mut state = seed | 1;
            let a: Vec<u64> = (0..n).map(|_| { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state % q }).collect();
            let mut b = a.clone();
            table.forward(&mut b);
            prop_assert!(b.iter().all(|&x| x < q));
            table.inverse(&mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn negacyclic_convolution_matches_schoolbook(log_n in 1u32..7, bits in prop::sample::select(vec![40u32, 61]),
                                                      a in proptest::collection::vec(any::<u64>(), 64), b in proptest::collection::vec(any::<u64>(), 64)) {
            let n = 1usize << log_n;
            let q = generate_ntt_primes(n, &[bits], &[]).unwrap()[0];
            let m = Modulus::new(q);
            let table = NttTable::new(n, m);
            let a: Vec<u64> = a[..n].iter().map(|x| x % q).collect();
            let b: Vec<u64> = b[..n].iter().map(|x| x % q).collect();
            let expect = schoolbook_negacyclic(&a, &b, &m);
            let (mut fa, mut fb) = (a.clone(), b.clone());
            table.forward(&mut fa);
            table.forward(&mut fb);
            let mut c: Vec<u64> = fa.iter().zip(&fb).map(|(x, y)| m.mul(*x, *y)).collect();
            table.inverse(&mut c);
            prop_assert_eq!(c, expect);
        }
    }

    #[test]
    fn psi_is_primitive_2n_th_root() {
        let n = 1 << 10;
        let q = generate_ntt_primes(n, &[50], &[]).unwrap()[0];
        let m = Modulus::new(q);
        let t = NttTable::new(n, m);
        assert_eq!(m.pow(t.psi(), n as u64), q - 1);
    }
}
