//! Ciphertexts kept over the extended basis `Q_ℓ ∪ P`, between key switches: the data type
//! and the evaluator operations behind double hoisting (Bossuat et al., Eurocrypt 2021).
//!
//! An [`ExtendedCiphertext`] `(X_0, X_1)` over `Q_ℓ ∪ P` stands for the ciphertext
//! `ModDown(X_0, X_1) ≈ (X_0, X_1)/P` over `Q_ℓ`. A key switch produces exactly this form
//! before its ModDown, so a linear transform can
//!
//! * rotate its input by every baby step from one decomposition, skipping the ModDowns;
//! * multiply the rotations by diagonals encoded over `Q_ℓ ∪ P` and sum them there;
//! * rotate each giant-step sum while staying extended (one ModDown of the second part
//!   only, to decompose it);
//! * divide by `P` once at the very end.
//!
//! A ModDown costs two inverse NTTs on the `P` limbs and two forward NTTs on the `Q` limbs,
//! about as much as the decomposition itself, so this removes most of the NTTs of the
//! baby steps; it also rounds once instead of once per rotation, so the transform is
//! slightly less noisy.

use rayon::prelude::*;

use super::ciphertext::Ciphertext;
use super::encoding::f64_to_residue;
use super::error::CkksError;
use super::evaluator::{check_scales, check_slots, Evaluator};
use super::keyswitch::{self, Decomposition};
use super::rns::Poly;

/// `P·ct` (up to key-switching noise) over `Q_level ∪ P`, in the NTT domain.
#[derive(Clone, Debug)]
pub struct ExtendedCiphertext {
    pub(crate) parts: [Poly; 2],
    pub(crate) level: usize,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
}

impl ExtendedCiphertext {
    pub fn level(&self) -> usize {
        self.level
    }
    pub fn scale(&self) -> f64 {
        self.scale
    }
    pub fn slots(&self) -> usize {
        self.slots
    }
}

/// An encoded message over `Q_level ∪ P` (the same integer polynomial as a
/// [`Plaintext`](super::Plaintext), with residues for the special primes too).
#[derive(Clone, Debug, PartialEq)]
pub struct ExtendedPlaintext {
    pub(crate) poly: Poly,
    pub(crate) level: usize,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
}

impl ExtendedPlaintext {
    pub fn level(&self) -> usize {
        self.level
    }
    pub fn scale(&self) -> f64 {
        self.scale
    }
    pub fn slots(&self) -> usize {
        self.slots
    }
}

impl Evaluator {
    /// `P·σ(c)` over `Q_level ∪ P` for a polynomial `c` over `Q_level` (NTT domain), with `σ`
    /// an optional NTT-domain permutation: exact, and zero on the `P` limbs.
    fn lift_times_p(&self, level: usize, c: &Poly, perm: Option<&[u32]>) -> Poly {
        let ctx = self.context();
        let basis = ctx.basis();
        let n = ctx.n();
        let mut out = Poly::zero(n, level + 1 + basis.num_p());
        out.data_mut()
            .par_chunks_mut(n)
            .take(level + 1)
            .enumerate()
            .for_each(|(i, o)| {
                let m = basis.modulus(i);
                let p = m.shoup(ctx.p_mod_q(i));
                let src = c.limb(i);
                match perm {
                    Some(perm) => {
                        for (x, &k) in o.iter_mut().zip(perm) {
                            *x = m.mul_shoup(src[k as usize], p);
                        }
                    }
                    None => {
                        for (x, &v) in o.iter_mut().zip(src) {
                            *x = m.mul_shoup(v, p);
                        }
                    }
                }
            });
        out
    }

    /// `P·ct` over `Q_ℓ ∪ P` (exact).
    pub fn extend(&self, ct: &Ciphertext) -> Result<ExtendedCiphertext, CkksError> {
        if ct.degree() != 1 {
            return Err(CkksError::NeedsRelinearization {
                degree: ct.degree(),
            });
        }
        Ok(ExtendedCiphertext {
            parts: [
                self.lift_times_p(ct.level, &ct.parts[0], None),
                self.lift_times_p(ct.level, &ct.parts[1], None),
            ],
            level: ct.level,
            scale: ct.scale,
            slots: ct.slots,
        })
    }

    /// `X ↦ X^g` applied to `ct` from the decomposition of its second part, left over
    /// `Q_ℓ ∪ P` (no ModDown). `steps` only labels a missing-key error.
    pub fn apply_galois_hoisted_extended(
        &self,
        ct: &Ciphertext,
        dec: &Decomposition,
        element: u64,
        steps: Option<i64>,
    ) -> Result<ExtendedCiphertext, CkksError> {
        if element == 1 {
            return self.extend(ct);
        }
        if dec.level() != ct.level {
            return Err(CkksError::InvalidLevelDrop {
                from: dec.level(),
                to: ct.level,
            });
        }
        let ctx = self.context();
        let key = self.galois_key(element, steps, ct.level)?;
        let perm = ctx.galois_permutation(element);
        let (mut b, a) = keyswitch::inner_product(ctx, dec, key, Some(&perm));
        let lifted = self.lift_times_p(ct.level, &ct.parts[0], Some(&perm));
        b.add_assign(ctx.basis(), &ctx.basis().qp_indices(ct.level), &lifted);
        Ok(ExtendedCiphertext {
            parts: [b, a],
            level: ct.level,
            scale: ct.scale,
            slots: ct.slots,
        })
    }

    fn check_extended(
        &self,
        x: &ExtendedCiphertext,
        level: usize,
        scale: f64,
        slots: usize,
    ) -> Result<(), CkksError> {
        check_slots(x.slots, slots)?;
        check_scales(x.scale, scale)?;
        if x.level != level {
            return Err(CkksError::InvalidLevelDrop {
                from: x.level,
                to: level,
            });
        }
        Ok(())
    }

    /// `Σ_i a_i ⊙ pt_i` over `Q_ℓ ∪ P` (the inner sum of a giant step), accumulated in 128
    /// bits and reduced once per eight terms instead of once per product.
    pub fn sum_of_products_extended(
        &self,
        terms: &[(&ExtendedCiphertext, &ExtendedPlaintext)],
    ) -> Result<ExtendedCiphertext, CkksError> {
        let Some(&(first, first_pt)) = terms.first() else {
            return Err(CkksError::InvalidLevelDrop { from: 0, to: 0 });
        };
        let (level, slots, scale) = (first.level, first.slots, first.scale * first_pt.scale);
        for &(a, pt) in terms {
            check_slots(a.slots, slots)?;
            check_slots(pt.slots, slots)?;
            check_scales(a.scale * pt.scale, scale)?;
            if a.level != level || pt.level != level {
                return Err(CkksError::InvalidLevelDrop {
                    from: a.level.min(pt.level),
                    to: level,
                });
            }
        }
        let ctx = self.context();
        let basis = ctx.basis();
        let n = ctx.n();
        let idx = basis.qp_indices(level);
        let part = |which: usize| -> Poly {
            let mut out = Poly::zero(n, idx.len());
            out.data_mut()
                .par_chunks_mut(n)
                .enumerate()
                .for_each(|(t, o)| {
                    let m = basis.modulus(idx[t]);
                    let xs: Vec<(&[u64], &[u64])> = terms
                        .iter()
                        .map(|(a, pt)| (a.parts[which].limb(t), pt.poly.limb(t)))
                        .collect();
                    for chunk in xs.chunks(8) {
                        for (k, o) in o.iter_mut().enumerate() {
                            let mut acc = *o as u128;
                            for (x, y) in chunk {
                                acc += x[k] as u128 * y[k] as u128;
                            }
                            *o = m.reduce_u128(acc);
                        }
                    }
                });
            out
        };
        let (p0, p1) = rayon::join(|| part(0), || part(1));
        Ok(ExtendedCiphertext {
            parts: [p0, p1],
            level,
            scale,
            slots,
        })
    }

    /// `acc += x` over `Q_ℓ ∪ P`.
    pub fn add_assign_extended(
        &self,
        acc: &mut ExtendedCiphertext,
        x: &ExtendedCiphertext,
    ) -> Result<(), CkksError> {
        self.check_extended(acc, x.level, x.scale, x.slots)?;
        let basis = self.context().basis();
        let idx = basis.qp_indices(x.level);
        for (o, p) in acc.parts.iter_mut().zip(&x.parts) {
            o.add_assign(basis, &idx, p);
        }
        Ok(())
    }

    /// `acc += σ_g(x)` with both kept over `Q_ℓ ∪ P`: the second part of `x` is divided by
    /// `P` (one ModDown) and decomposed, the key switch's output is left extended, and the
    /// first part is permuted in place (an automorphism commutes with the NTT-domain
    /// representation on every limb).
    pub fn apply_galois_add_assign_extended(
        &self,
        acc: &mut ExtendedCiphertext,
        x: &ExtendedCiphertext,
        element: u64,
        steps: Option<i64>,
    ) -> Result<(), CkksError> {
        if element == 1 {
            return self.add_assign_extended(acc, x);
        }
        self.check_extended(acc, x.level, x.scale, x.slots)?;
        let ctx = self.context();
        let key = self.galois_key(element, steps, x.level)?;
        let perm = ctx.galois_permutation(element);
        let c1 = keyswitch::mod_down(ctx, x.level, x.parts[1].clone());
        let dec = keyswitch::decompose(ctx, x.level, &c1);
        let (v0, v1) = keyswitch::inner_product(ctx, &dec, key, Some(&perm));
        let basis = ctx.basis();
        let idx = basis.qp_indices(x.level);
        let [a0, a1] = &mut acc.parts;
        a0.add_permuted_assign(basis, &idx, &x.parts[0], &perm);
        a0.add_assign(basis, &idx, &v0);
        a1.add_assign(basis, &idx, &v1);
        Ok(())
    }

    /// Relinearizes a degree-2 ciphertext `(d0, d1, d2)` without the ModDown:
    /// `(P·d0 + u0, P·d1 + u1)` where `(u0, u1)` is the key switch of `d2` over `Q_ℓ ∪ P`.
    /// Followed by [`mod_down_rescale`](Self::mod_down_rescale), this is a product's
    /// relinearization and rescale with one division instead of two.
    pub fn relinearize_extended(&self, a: &Ciphertext) -> Result<ExtendedCiphertext, CkksError> {
        if a.degree() != 2 {
            return Err(CkksError::NeedsRelinearization { degree: a.degree() });
        }
        let key = self.relin_key(a.level)?;
        let ctx = self.context();
        let dec = keyswitch::decompose(ctx, a.level, &a.parts[2]);
        let (mut u0, mut u1) = keyswitch::inner_product(ctx, &dec, key, None);
        let idx = ctx.basis().qp_indices(a.level);
        u0.add_assign(
            ctx.basis(),
            &idx,
            &self.lift_times_p(a.level, &a.parts[0], None),
        );
        u1.add_assign(
            ctx.basis(),
            &idx,
            &self.lift_times_p(a.level, &a.parts[1], None),
        );
        Ok(ExtendedCiphertext {
            parts: [u0, u1],
            level: a.level,
            scale: a.scale,
            slots: a.slots,
        })
    }

    /// `x·k` for a small integer `k` (no level, scale unchanged).
    pub fn mul_integer_extended(&self, x: &mut ExtendedCiphertext, k: i64) {
        let basis = self.context().basis();
        let idx = basis.qp_indices(x.level);
        let scalars: Vec<u64> = idx
            .iter()
            .map(|&i| basis.modulus(i).reduce_i64(k))
            .collect();
        for p in x.parts.iter_mut() {
            p.mul_scalar_assign(basis, &idx, &scalars);
        }
    }

    /// Adds the real constant `c` to every slot (at the ciphertext's scale): `P·round(c·Δ)`
    /// on the `Q` limbs of the first part, nothing on the `P` limbs.
    pub fn add_const_extended(&self, x: &mut ExtendedCiphertext, c: f64) -> Result<(), CkksError> {
        let v = (c * x.scale).round();
        if !v.is_finite() {
            return Err(CkksError::NonFiniteValue { index: 0 });
        }
        let ctx = self.context();
        let basis = ctx.basis();
        let n = ctx.n();
        x.parts[0]
            .data_mut()
            .par_chunks_mut(n)
            .take(x.level + 1)
            .enumerate()
            .for_each(|(i, limb)| {
                let m = basis.modulus(i);
                let r = m.mul(f64_to_residue(v, m), ctx.p_mod_q(i));
                limb.iter_mut().for_each(|y| *y = m.add(*y, r));
            });
        Ok(())
    }

    /// `acc −= x` over `Q_ℓ ∪ P`.
    pub fn sub_assign_extended(
        &self,
        acc: &mut ExtendedCiphertext,
        x: &ExtendedCiphertext,
    ) -> Result<(), CkksError> {
        self.check_extended(acc, x.level, x.scale, x.slots)?;
        let basis = self.context().basis();
        let idx = basis.qp_indices(x.level);
        for (o, p) in acc.parts.iter_mut().zip(&x.parts) {
            o.sub_assign(basis, &idx, p);
        }
        Ok(())
    }

    /// Divides by `P·q_ℓ` with rounding: ModDown and rescale in one step, giving the
    /// ciphertext at level `ℓ − 1` and scale `scale/q_ℓ`.
    pub fn mod_down_rescale(&self, x: ExtendedCiphertext) -> Result<Ciphertext, CkksError> {
        if x.level == 0 {
            return Err(CkksError::NoLevelLeft);
        }
        let ctx = self.context();
        let [x0, x1] = x.parts;
        let (c0, c1) = rayon::join(
            || keyswitch::mod_down_rescale(ctx, x.level, x0),
            || keyswitch::mod_down_rescale(ctx, x.level, x1),
        );
        Ok(Ciphertext {
            parts: vec![c0, c1],
            level: x.level - 1,
            scale: x.scale / ctx.params().q()[x.level] as f64,
            slots: x.slots,
        })
    }

    /// `rescale(relinearize(a·b))` with a single division by `P·q_ℓ`.
    pub fn mul_relin_rescale(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
    ) -> Result<Ciphertext, CkksError> {
        self.mod_down_rescale(self.relinearize_extended(&self.mul(a, b)?)?)
    }

    /// Divides by `P` with rounding (one ModDown per part): the ciphertext over `Q_ℓ`.
    pub fn mod_down_extended(&self, x: ExtendedCiphertext) -> Ciphertext {
        let ctx = self.context();
        let [x0, x1] = x.parts;
        let (c0, c1) = rayon::join(
            || keyswitch::mod_down(ctx, x.level, x0),
            || keyswitch::mod_down(ctx, x.level, x1),
        );
        Ciphertext {
            parts: vec![c0, c1],
            level: x.level,
            scale: x.scale,
            slots: x.slots,
        }
    }
}
