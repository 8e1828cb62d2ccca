//! RNS polynomials: `limbs × N` residues stored limb-major in one contiguous buffer.
//!
//! A polynomial does not know its moduli; every operation takes the basis and the list of
//! basis indices of its limbs (see [`RnsBasis::q_indices`] and friends). Limb-wise work is
//! spread over rayon's pool.

use rayon::prelude::*;

use super::RnsBasis;

/// A polynomial in RNS form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poly {
    n: usize,
    data: Vec<u64>,
}

impl Poly {
    pub fn zero(n: usize, limbs: usize) -> Self {
        Poly {
            n,
            data: vec![0; n * limbs],
        }
    }

    pub fn from_data(n: usize, data: Vec<u64>) -> Self {
        assert!(n > 0 && data.len() % n == 0);
        Poly { n, data }
    }

    pub fn n(&self) -> usize {
        self.n
    }

    pub fn num_limbs(&self) -> usize {
        self.data.len() / self.n
    }

    pub fn data(&self) -> &[u64] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [u64] {
        &mut self.data
    }

    /// A polynomial made of copies of the given limbs, in order.
    pub fn from_limbs<'a>(n: usize, limbs: impl Iterator<Item = &'a [u64]>) -> Poly {
        let mut data = Vec::new();
        for l in limbs {
            debug_assert_eq!(l.len(), n);
            data.extend_from_slice(l);
        }
        Poly { n, data }
    }

    pub fn limb(&self, i: usize) -> &[u64] {
        &self.data[i * self.n..(i + 1) * self.n]
    }

    pub fn limb_mut(&mut self, i: usize) -> &mut [u64] {
        &mut self.data[i * self.n..(i + 1) * self.n]
    }

    pub fn limbs(&self) -> impl Iterator<Item = &[u64]> {
        self.data.chunks_exact(self.n)
    }

    /// Keeps the first `k` limbs.
    pub fn truncate_limbs(&mut self, k: usize) {
        self.data.truncate(k * self.n);
    }

    /// A copy of the first `k` limbs.
    pub fn prefix(&self, k: usize) -> Poly {
        Poly {
            n: self.n,
            data: self.data[..k * self.n].to_vec(),
        }
    }

    fn par_limbs_mut<'a>(
        &'a mut self,
        idx: &'a [usize],
    ) -> impl IndexedParallelIterator<Item = (&'a mut [u64], &'a usize)> {
        debug_assert_eq!(self.num_limbs(), idx.len());
        self.data.par_chunks_mut(self.n).zip(idx.par_iter())
    }

    /// Forward NTT of every limb.
    pub fn ntt(&mut self, basis: &RnsBasis, idx: &[usize]) {
        self.par_limbs_mut(idx)
            .for_each(|(l, &i)| basis.table(i).forward(l));
    }

    /// Inverse NTT of every limb.
    pub fn intt(&mut self, basis: &RnsBasis, idx: &[usize]) {
        self.par_limbs_mut(idx)
            .for_each(|(l, &i)| basis.table(i).inverse(l));
    }

    pub fn add_assign(&mut self, basis: &RnsBasis, idx: &[usize], other: &Poly) {
        self.par_limbs_mut(idx)
            .zip(other.data.par_chunks(other.n))
            .for_each(|((a, &i), b)| {
                let m = basis.modulus(i);
                a.iter_mut().zip(b).for_each(|(x, y)| *x = m.add(*x, *y));
            });
    }

    pub fn sub_assign(&mut self, basis: &RnsBasis, idx: &[usize], other: &Poly) {
        self.par_limbs_mut(idx)
            .zip(other.data.par_chunks(other.n))
            .for_each(|((a, &i), b)| {
                let m = basis.modulus(i);
                a.iter_mut().zip(b).for_each(|(x, y)| *x = m.sub(*x, *y));
            });
    }

    pub fn neg_assign(&mut self, basis: &RnsBasis, idx: &[usize]) {
        self.par_limbs_mut(idx).for_each(|(a, &i)| {
            let m = basis.modulus(i);
            a.iter_mut().for_each(|x| *x = m.neg(*x));
        });
    }

    /// Point-wise product (NTT domain).
    pub fn mul_assign(&mut self, basis: &RnsBasis, idx: &[usize], other: &Poly) {
        self.par_limbs_mut(idx)
            .zip(other.data.par_chunks(other.n))
            .for_each(|((a, &i), b)| {
                let m = basis.modulus(i);
                a.iter_mut().zip(b).for_each(|(x, y)| *x = m.mul(*x, *y));
            });
    }

    /// `a ⊙ b` into a fresh polynomial with `idx.len()` limbs (operands may hold more limbs;
    /// the extra ones are ignored).
    pub fn mul_new(basis: &RnsBasis, idx: &[usize], a: &Poly, b: &Poly) -> Poly {
        let n = a.n;
        let mut data = Vec::with_capacity(n * idx.len());
        // SAFETY-free fast path: fill limb by limb in parallel into a zeroed buffer would cost a
        // memset; collect per-limb vectors instead and concatenate.
        let limbs: Vec<Vec<u64>> = idx
            .par_iter()
            .enumerate()
            .map(|(j, &i)| {
                let m = basis.modulus(i);
                a.limb(j)
                    .iter()
                    .zip(b.limb(j))
                    .map(|(x, y)| m.mul(*x, *y))
                    .collect()
            })
            .collect();
        for l in limbs {
            data.extend_from_slice(&l);
        }
        Poly { n, data }
    }

    /// `self += a ⊙ b` (NTT domain).
    pub fn mul_add_assign(&mut self, basis: &RnsBasis, idx: &[usize], a: &Poly, b: &Poly) {
        self.par_limbs_mut(idx)
            .zip(a.data.par_chunks(a.n))
            .zip(b.data.par_chunks(b.n))
            .for_each(|(((c, &i), x), y)| {
                let m = basis.modulus(i);
                for ((c, x), y) in c.iter_mut().zip(x).zip(y) {
                    *c = m.add(*c, m.mul(*x, *y));
                }
            });
    }

    /// Multiplies limb `j` by the scalar `scalars[j]` (already reduced modulo that limb's prime).
    pub fn mul_scalar_assign(&mut self, basis: &RnsBasis, idx: &[usize], scalars: &[u64]) {
        self.par_limbs_mut(idx)
            .zip(scalars.par_iter())
            .for_each(|((a, &i), &s)| {
                let m = basis.modulus(i);
                let c = m.shoup(s);
                a.iter_mut().for_each(|x| *x = m.mul_shoup(*x, c));
            });
    }

    /// Adds `scalars[j]` to every coefficient of limb `j`. In the NTT domain this adds the
    /// constant polynomial.
    pub fn add_scalar_assign(&mut self, basis: &RnsBasis, idx: &[usize], scalars: &[u64]) {
        self.par_limbs_mut(idx)
            .zip(scalars.par_iter())
            .for_each(|((a, &i), &s)| {
                let m = basis.modulus(i);
                a.iter_mut().for_each(|x| *x = m.add(*x, s));
            });
    }

    /// Fills the limbs from small signed coefficients (coefficient domain).
    pub fn from_signed(n: usize, basis: &RnsBasis, idx: &[usize], coeffs: &[i64]) -> Poly {
        let mut p = Poly::zero(n, idx.len());
        p.par_limbs_mut(idx).for_each(|(a, &i)| {
            let m = basis.modulus(i);
            a.iter_mut()
                .zip(coeffs)
                .for_each(|(x, &c)| *x = m.reduce_i64(c));
        });
        p
    }

    /// `self += permute(other, perm)` without materialising the permuted copy.
    pub fn add_permuted_assign(
        &mut self,
        basis: &RnsBasis,
        idx: &[usize],
        other: &Poly,
        perm: &[u32],
    ) {
        self.par_limbs_mut(idx)
            .zip(other.data.par_chunks(other.n))
            .for_each(|((a, &i), b)| {
                let m = basis.modulus(i);
                for (x, &p) in a.iter_mut().zip(perm) {
                    *x = m.add(*x, b[p as usize]);
                }
            });
    }

    /// Applies the permutation `perm` (new[k] = old[perm[k]]) to every limb.
    pub fn permute(&self, perm: &[u32]) -> Poly {
        let mut out = Poly::zero(self.n, self.num_limbs());
        out.data
            .par_chunks_mut(self.n)
            .zip(self.data.par_chunks(self.n))
            .for_each(|(o, a)| {
                for (x, &p) in o.iter_mut().zip(perm) {
                    *x = a[p as usize];
                }
            });
        out
    }
}
