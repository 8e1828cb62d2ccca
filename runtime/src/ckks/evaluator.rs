//! Homomorphic evaluation (cloud side): arithmetic, relinearization, rescaling, level
//! management, rotations, conjugation and hoisted rotations.
//!
//! An [`Evaluator`] is built from [`EvaluationKeys`] only; no secret material can reach it.
//! Binary operations bring both operands to the lower of their levels (dropping limbs, which
//! is free) and require equal scales. In strict level mode ([`Evaluator::strict_levels`]),
//! which plans and the generic circuits run in, operands at different levels are an error
//! ([`CkksError::LevelMismatch`]): aligning them is an explicit [`Evaluator::drop_to_level`].

use std::sync::Arc;

use num_complex::Complex64;
use rayon::prelude::*;

use super::ciphertext::Ciphertext;
use super::context::Context;
use super::encoding::f64_to_residue;
use super::error::CkksError;
use super::keys::{EvaluationKeys, SwitchingKey};
use super::keyswitch::{self, Decomposition};
use super::plaintext::Plaintext;
use super::rns::Poly;

/// A constant's residues on one limb in the NTT domain: a scalar for a real constant, one value
/// per coefficient for a complex one (`X^{N/2}` is not a scalar there).
enum ConstLimb {
    Scalar(u64),
    PerCoefficient(Vec<u64>),
}

/// Relative gap under which two scales count as equal.
pub const SCALE_TOLERANCE: f64 = 1e-9;

/// Evaluates operations on ciphertexts with a set of evaluation keys.
#[derive(Debug, Clone)]
pub struct Evaluator {
    ctx: Arc<Context>,
    keys: Arc<EvaluationKeys>,
    strict: bool,
}

pub(crate) fn check_scales(a: f64, b: f64) -> Result<(), CkksError> {
    let gap = (a / b - 1.0).abs();
    if gap > SCALE_TOLERANCE {
        return Err(CkksError::ScaleMismatch {
            left: a,
            right: b,
            gap,
        });
    }
    Ok(())
}

pub(crate) fn check_slots(a: usize, b: usize) -> Result<(), CkksError> {
    if a != b {
        return Err(CkksError::SlotMismatch { left: a, right: b });
    }
    Ok(())
}

impl Evaluator {
    pub fn new(ctx: Arc<Context>, keys: Arc<EvaluationKeys>) -> Result<Self, CkksError> {
        if keys.params_fingerprint() != ctx.params().fingerprint() {
            return Err(CkksError::ParameterMismatch);
        }
        Ok(Evaluator {
            ctx,
            keys,
            strict: false,
        })
    }

    /// The same evaluator in strict level mode (`true`): binary operations on operands at
    /// different levels fail with [`CkksError::LevelMismatch`] instead of dropping limbs.
    pub fn strict_levels(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether operands at different levels are refused.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// In strict mode, refuses operands at different levels.
    pub(crate) fn check_levels(&self, left: usize, right: usize) -> Result<(), CkksError> {
        if self.strict && left != right {
            return Err(CkksError::LevelMismatch { left, right });
        }
        Ok(())
    }

    /// An evaluator without keys: every operation but relinearization and rotations.
    pub fn without_keys(ctx: Arc<Context>) -> Self {
        let keys = Arc::new(EvaluationKeys {
            relin: None,
            galois: Default::default(),
            fingerprint: ctx.params().fingerprint(),
        });
        Evaluator {
            ctx,
            keys,
            strict: false,
        }
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    pub fn keys(&self) -> &EvaluationKeys {
        &self.keys
    }

    fn q_idx(&self, level: usize) -> Vec<usize> {
        self.ctx.basis().q_indices(level)
    }

    // ---------------------------------------------------------------- levels

    /// Drops `ct` to `level` (no rescaling: the scale is unchanged).
    pub fn drop_to_level(&self, ct: &Ciphertext, level: usize) -> Result<Ciphertext, CkksError> {
        if level > ct.level {
            return Err(CkksError::InvalidLevelDrop {
                from: ct.level,
                to: level,
            });
        }
        Ok(Ciphertext {
            parts: ct.parts.iter().map(|p| p.prefix(level + 1)).collect(),
            level,
            scale: ct.scale,
            slots: ct.slots,
        })
    }

    fn aligned<'a>(
        &self,
        a: &'a Ciphertext,
        b: &'a Ciphertext,
    ) -> Result<
        (
            std::borrow::Cow<'a, Ciphertext>,
            std::borrow::Cow<'a, Ciphertext>,
        ),
        CkksError,
    > {
        use std::borrow::Cow;
        self.check_levels(a.level, b.level)?;
        let level = a.level.min(b.level);
        let a2 = if a.level > level {
            Cow::Owned(self.drop_to_level(a, level).expect("lower level"))
        } else {
            Cow::Borrowed(a)
        };
        let b2 = if b.level > level {
            Cow::Owned(self.drop_to_level(b, level).expect("lower level"))
        } else {
            Cow::Borrowed(b)
        };
        Ok((a2, b2))
    }

    /// Rescales by the last prime `q_level`: the level drops by one and the scale is divided
    /// by `q_level` (rounding division of every coefficient).
    pub fn rescale(&self, ct: &Ciphertext) -> Result<Ciphertext, CkksError> {
        if ct.level == 0 {
            return Err(CkksError::NoLevelLeft);
        }
        let level = ct.level;
        let parts = ct
            .parts
            .iter()
            .map(|p| self.rescale_poly(level, p))
            .collect();
        let q_last = self.ctx.params().q()[level] as f64;
        Ok(Ciphertext {
            parts,
            level: level - 1,
            scale: ct.scale / q_last,
            slots: ct.slots,
        })
    }

    fn rescale_poly(&self, level: usize, p: &Poly) -> Poly {
        let basis = self.ctx.basis();
        let n = self.ctx.n();
        let ql = basis.modulus(level).value();
        let half = ql / 2;
        let mut last = p.limb(level).to_vec();
        basis.table(level).inverse(&mut last);
        let inv = self.ctx.rescale_inv(level);
        let mut out = p.prefix(level);
        out.data_mut()
            .par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, limb)| {
                let m = basis.modulus(i);
                let ql_mod = m.reduce(ql);
                // Centered lift of the last limb, reduced modulo q_i.
                let mut t: Vec<u64> = last
                    .iter()
                    .map(|&v| {
                        let r = m.reduce(v);
                        if v > half {
                            m.sub(r, ql_mod)
                        } else {
                            r
                        }
                    })
                    .collect();
                basis.table(i).forward_lazy(&mut t);
                let q = m.value();
                let four_q = 4 * q;
                for (x, &y) in limb.iter_mut().zip(&t) {
                    // (x - y) · q_l^{-1}; y in [0, 4q)
                    *x = m.mul_shoup(*x + four_q - y, inv[i]);
                }
            });
        out
    }

    // ---------------------------------------------------------------- additive

    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, CkksError> {
        check_scales(a.scale, b.scale)?;
        check_slots(a.slots, b.slots)?;
        let (a, b) = self.aligned(a, b)?;
        let idx = self.q_idx(a.level);
        let (long, short) = if a.parts.len() >= b.parts.len() {
            (&*a, &*b)
        } else {
            (&*b, &*a)
        };
        let mut out = long.clone();
        for (o, s) in out.parts.iter_mut().zip(&short.parts) {
            o.add_assign(self.ctx.basis(), &idx, s);
        }
        Ok(out)
    }

    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, CkksError> {
        self.add(a, &self.neg(b))
    }

    pub fn neg(&self, a: &Ciphertext) -> Ciphertext {
        let idx = self.q_idx(a.level);
        let mut out = a.clone();
        for p in out.parts.iter_mut() {
            p.neg_assign(self.ctx.basis(), &idx);
        }
        out
    }

    /// The plaintext's polynomial; operations zip limb by limb, so limbs above `level` are
    /// simply not read (no copy).
    fn plain_at<'p>(&self, pt: &'p Plaintext, _level: usize) -> &'p Poly {
        &pt.poly
    }

    pub fn add_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, CkksError> {
        self.check_levels(a.level, pt.level)?;
        check_scales(a.scale, pt.scale)?;
        check_slots(a.slots, pt.slots)?;
        let level = a.level.min(pt.level);
        let mut out = self.drop_to_level(a, level)?;
        out.parts[0].add_assign(
            self.ctx.basis(),
            &self.q_idx(level),
            self.plain_at(pt, level),
        );
        Ok(out)
    }

    pub fn sub_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, CkksError> {
        self.check_levels(a.level, pt.level)?;
        check_scales(a.scale, pt.scale)?;
        check_slots(a.slots, pt.slots)?;
        let level = a.level.min(pt.level);
        let mut out = self.drop_to_level(a, level)?;
        out.parts[0].sub_assign(
            self.ctx.basis(),
            &self.q_idx(level),
            self.plain_at(pt, level),
        );
        Ok(out)
    }

    /// Residues of `round(c · scale)` for every limb up to `level`.
    fn constant_residues(&self, c: f64, scale: f64, level: usize) -> Result<Vec<u64>, CkksError> {
        let v = (c * scale).round();
        if !v.is_finite() {
            return Err(CkksError::NonFiniteValue { index: 0 });
        }
        let basis = self.ctx.basis();
        Ok((0..=level)
            .map(|i| f64_to_residue(v, basis.modulus(i)))
            .collect())
    }

    /// Adds the real constant `c` to every slot.
    pub fn add_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, CkksError> {
        let idx = self.q_idx(a.level);
        let r = self.constant_residues(c, a.scale, a.level)?;
        let mut out = a.clone();
        out.parts[0].add_scalar_assign(self.ctx.basis(), &idx, &r);
        Ok(out)
    }

    // ---------------------------------------------------------------- multiplicative

    /// Multiplies every slot by the integer `k` (scale unchanged, no level used).
    pub fn mul_integer(&self, a: &Ciphertext, k: i64) -> Ciphertext {
        let idx = self.q_idx(a.level);
        let basis = self.ctx.basis();
        let r: Vec<u64> = idx
            .iter()
            .map(|&i| basis.modulus(i).reduce_i64(k))
            .collect();
        let mut out = a.clone();
        for p in out.parts.iter_mut() {
            p.mul_scalar_assign(basis, &idx, &r);
        }
        out
    }

    /// Multiplies every slot by the real constant `c`, encoded at scale `q_level` so that the
    /// following [`rescale`](Self::rescale) restores the input scale exactly.
    pub fn mul_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, CkksError> {
        let const_scale = self.ctx.params().q()[a.level] as f64;
        self.mul_const_with_scale(a, c, const_scale)
    }

    /// Multiplies by the real constant `c` encoded at `const_scale` (result scale is
    /// `a.scale · const_scale`).
    pub fn mul_const_with_scale(
        &self,
        a: &Ciphertext,
        c: f64,
        const_scale: f64,
    ) -> Result<Ciphertext, CkksError> {
        let idx = self.q_idx(a.level);
        let r = self.constant_residues(c, const_scale, a.level)?;
        let mut out = a.clone();
        for p in out.parts.iter_mut() {
            p.mul_scalar_assign(self.ctx.basis(), &idx, &r);
        }
        out.scale = a.scale * const_scale;
        Ok(out)
    }

    /// Residues of the complex constant `c` at `scale` on limb `i`, per NTT coefficient:
    /// `round(c.re·scale) + round(c.im·scale)·X^{N/2}` (one value when `c` is real).
    fn complex_constant_limb(
        &self,
        c: Complex64,
        scale: f64,
        i: usize,
    ) -> Result<ConstLimb, CkksError> {
        let (re, im) = ((c.re * scale).round(), (c.im * scale).round());
        if !(re.is_finite() && im.is_finite()) {
            return Err(CkksError::NonFiniteValue { index: 0 });
        }
        let m = self.ctx.basis().modulus(i);
        let r = f64_to_residue(re, m);
        if im == 0.0 {
            return Ok(ConstLimb::Scalar(r));
        }
        let b = m.shoup(f64_to_residue(im, m));
        Ok(ConstLimb::PerCoefficient(
            self.ctx
                .imaginary_unit_ntt(i)
                .iter()
                .map(|&w| m.add(r, m.mul_shoup(w, b)))
                .collect(),
        ))
    }

    /// `Σ_j c_j·a_j` at `level`, each complex constant `c_j` encoded at `const_scale_j` (all
    /// products must have the same scale `a_j.scale · const_scale_j`). Inputs may sit above
    /// `level` (their extra limbs are ignored, nothing is copied). One pass over the output with
    /// 128-bit accumulation: the leaves of polynomial evaluation.
    pub fn linear_combination(
        &self,
        terms: &[(&Ciphertext, Complex64, f64)],
        level: usize,
    ) -> Result<Ciphertext, CkksError> {
        let Some(&(first, _, first_scale)) = terms.first() else {
            return Err(CkksError::InvalidLevelDrop { from: 0, to: level });
        };
        let scale = first.scale * first_scale;
        let degree = first.parts.len();
        for &(a, _, cs) in terms {
            check_slots(a.slots, first.slots)?;
            check_scales(a.scale * cs, scale)?;
            if a.level < level {
                return Err(CkksError::InvalidLevelDrop {
                    from: a.level,
                    to: level,
                });
            }
            if a.parts.len() != degree {
                return Err(CkksError::NeedsRelinearization {
                    degree: a.parts.len().max(degree) - 1,
                });
            }
        }
        // consts[i][j]: term j's constant on limb i.
        let consts = (0..=level)
            .map(|i| {
                terms
                    .iter()
                    .map(|&(_, c, cs)| self.complex_constant_limb(c, cs, i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let basis = self.ctx.basis();
        let n = self.ctx.n();
        let parts = (0..degree)
            .map(|which| {
                let mut out = Poly::zero(n, level + 1);
                out.data_mut()
                    .par_chunks_mut(n)
                    .enumerate()
                    .for_each(|(i, o)| {
                        let m = basis.modulus(i);
                        let xs: Vec<(&[u64], &ConstLimb)> = terms
                            .iter()
                            .zip(&consts[i])
                            .map(|((a, _, _), r)| (a.parts[which].limb(i), r))
                            .collect();
                        for chunk in xs.chunks(8) {
                            for (k, o) in o.iter_mut().enumerate() {
                                let mut acc = *o as u128;
                                for &(x, r) in chunk {
                                    let r = match r {
                                        ConstLimb::Scalar(r) => *r,
                                        ConstLimb::PerCoefficient(v) => v[k],
                                    };
                                    acc += x[k] as u128 * r as u128;
                                }
                                *o = m.reduce_u128(acc);
                            }
                        }
                    });
                out
            })
            .collect();
        Ok(Ciphertext {
            parts,
            level,
            scale,
            slots: first.slots,
        })
    }

    /// Adds the complex constant `c` to every slot.
    pub fn add_const_complex(&self, a: &Ciphertext, c: Complex64) -> Result<Ciphertext, CkksError> {
        let mut out = a.clone();
        let basis = self.ctx.basis();
        for i in 0..=a.level {
            let m = basis.modulus(i);
            let limb = out.parts[0].limb_mut(i);
            match self.complex_constant_limb(c, a.scale, i)? {
                ConstLimb::Scalar(r) => limb.iter_mut().for_each(|x| *x = m.add(*x, r)),
                ConstLimb::PerCoefficient(v) => limb
                    .iter_mut()
                    .zip(&v)
                    .for_each(|(x, &r)| *x = m.add(*x, r)),
            }
        }
        Ok(out)
    }

    /// Slot-wise product with a plaintext (result scale is the product of scales).
    pub fn mul_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, CkksError> {
        self.check_levels(a.level, pt.level)?;
        check_slots(a.slots, pt.slots)?;
        let level = a.level.min(pt.level);
        let idx = self.q_idx(level);
        let parts = a
            .parts
            .iter()
            .map(|p| Poly::mul_new(self.ctx.basis(), &idx, p, &pt.poly))
            .collect();
        Ok(Ciphertext {
            parts,
            level,
            scale: a.scale * pt.scale,
            slots: a.slots,
        })
    }

    /// `acc += b` in place; `b` may be at a higher level (its extra limbs are ignored).
    pub fn add_assign(&self, acc: &mut Ciphertext, b: &Ciphertext) -> Result<(), CkksError> {
        self.accumulate(acc, b, false)
    }

    /// `acc ± b` in place, `b` possibly higher (its extra limbs are not read).
    fn accumulate(
        &self,
        acc: &mut Ciphertext,
        b: &Ciphertext,
        subtract: bool,
    ) -> Result<(), CkksError> {
        self.check_levels(acc.level, b.level)?;
        check_scales(acc.scale, b.scale)?;
        check_slots(acc.slots, b.slots)?;
        if b.level < acc.level {
            *acc = self.drop_to_level(acc, b.level)?;
        }
        while acc.parts.len() < b.parts.len() {
            acc.parts.push(Poly::zero(self.ctx.n(), acc.level + 1));
        }
        let idx = self.q_idx(acc.level);
        for (o, p) in acc.parts.iter_mut().zip(&b.parts) {
            if subtract {
                o.sub_assign(self.ctx.basis(), &idx, p);
            } else {
                o.add_assign(self.ctx.basis(), &idx, p);
            }
        }
        Ok(())
    }

    /// `acc -= b` in place (same rules as [`add_assign`](Self::add_assign)).
    pub fn sub_assign(&self, acc: &mut Ciphertext, b: &Ciphertext) -> Result<(), CkksError> {
        self.accumulate(acc, b, true)
    }

    /// `a *= k` in place for an integer `k` (no level, scale unchanged).
    pub fn mul_integer_assign(&self, a: &mut Ciphertext, k: i64) {
        let idx = self.q_idx(a.level);
        let basis = self.ctx.basis();
        let r: Vec<u64> = idx
            .iter()
            .map(|&i| basis.modulus(i).reduce_i64(k))
            .collect();
        for p in a.parts.iter_mut() {
            p.mul_scalar_assign(basis, &idx, &r);
        }
    }

    /// Tensor product of two degree-1 ciphertexts: a degree-2 ciphertext (3 parts).
    pub fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, CkksError> {
        check_slots(a.slots, b.slots)?;
        for c in [a, b] {
            if c.degree() != 1 {
                return Err(CkksError::NeedsRelinearization { degree: c.degree() });
            }
        }
        let (a, b) = self.aligned(a, b)?;
        let basis = self.ctx.basis();
        let n = self.ctx.n();
        let level = a.level;
        let idx = self.q_idx(level);
        let limbs = idx.len();
        let mut d0 = Poly::zero(n, limbs);
        let mut d1 = Poly::zero(n, limbs);
        let mut d2 = Poly::zero(n, limbs);
        let (a0, a1, b0, b1) = (&a.parts[0], &a.parts[1], &b.parts[0], &b.parts[1]);
        d0.data_mut()
            .par_chunks_mut(n)
            .zip(d1.data_mut().par_chunks_mut(n))
            .zip(d2.data_mut().par_chunks_mut(n))
            .enumerate()
            .for_each(|(i, ((o0, o1), o2))| {
                let m = basis.modulus(idx[i]);
                let (x0, x1, y0, y1) = (a0.limb(i), a1.limb(i), b0.limb(i), b1.limb(i));
                for k in 0..n {
                    o0[k] = m.mul(x0[k], y0[k]);
                    o1[k] = m
                        .reduce_u128(x0[k] as u128 * y1[k] as u128 + x1[k] as u128 * y0[k] as u128);
                    o2[k] = m.mul(x1[k], y1[k]);
                }
            });
        Ok(Ciphertext {
            parts: vec![d0, d1, d2],
            level,
            scale: a.scale * b.scale,
            slots: a.slots,
        })
    }

    /// Squares a degree-1 ciphertext (degree-2 result).
    pub fn square(&self, a: &Ciphertext) -> Result<Ciphertext, CkksError> {
        self.mul(a, a)
    }

    /// Brings a degree-2 ciphertext back to degree 1 with the relinearization key.
    pub fn relinearize(&self, a: &Ciphertext) -> Result<Ciphertext, CkksError> {
        if a.degree() == 1 {
            return Ok(a.clone());
        }
        if a.degree() != 2 {
            return Err(CkksError::NeedsRelinearization { degree: a.degree() });
        }
        let key = self.relin_key(a.level)?;
        let idx = self.q_idx(a.level);
        // Add into the key-switch outputs (fresh buffers) rather than cloning the inputs.
        let (mut c0, mut c1) = keyswitch::switch_key(&self.ctx, a.level, &a.parts[2], key);
        c0.add_assign(self.ctx.basis(), &idx, &a.parts[0]);
        c1.add_assign(self.ctx.basis(), &idx, &a.parts[1]);
        Ok(Ciphertext {
            parts: vec![c0, c1],
            level: a.level,
            scale: a.scale,
            slots: a.slots,
        })
    }

    /// Product followed by relinearization (no rescale).
    pub fn mul_relin(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, CkksError> {
        self.relinearize(&self.mul(a, b)?)
    }

    // ---------------------------------------------------------------- automorphisms

    /// The Galois key of `element`, checked to reach `level`.
    pub(crate) fn galois_key(
        &self,
        element: u64,
        steps: Option<i64>,
        level: usize,
    ) -> Result<&SwitchingKey, CkksError> {
        let key = self
            .keys
            .galois
            .get(&element)
            .map(|g| &g.key)
            .ok_or(CkksError::MissingGaloisKey { element, steps })?;
        key.check_level(level, "Galois")?;
        Ok(key)
    }

    /// The relinearization key, checked to reach `level`.
    pub(crate) fn relin_key(&self, level: usize) -> Result<&SwitchingKey, CkksError> {
        let key = &self
            .keys
            .relin
            .as_ref()
            .ok_or(CkksError::MissingRelinearizationKey)?
            .key;
        key.check_level(level, "relinearization")?;
        Ok(key)
    }

    /// Key-switch decomposition of `ct`'s second part, to share among several rotations.
    pub fn decompose(&self, ct: &Ciphertext) -> Result<Decomposition, CkksError> {
        if ct.degree() != 1 {
            return Err(CkksError::NeedsRelinearization {
                degree: ct.degree(),
            });
        }
        Ok(keyswitch::decompose(&self.ctx, ct.level, &ct.parts[1]))
    }

    /// Applies `X ↦ X^g` to `ct` given the decomposition of its second part.
    pub fn apply_galois_hoisted(
        &self,
        ct: &Ciphertext,
        dec: &Decomposition,
        element: u64,
        steps: Option<i64>,
    ) -> Result<Ciphertext, CkksError> {
        if element == 1 {
            return Ok(ct.clone());
        }
        let key = self.galois_key(element, steps, ct.level)?;
        let perm = self.ctx.galois_permutation(element);
        let (b, a) = keyswitch::inner_product(&self.ctx, dec, key, Some(&perm));
        let idx = self.q_idx(ct.level);
        let mut c0 = keyswitch::mod_down(&self.ctx, ct.level, b);
        c0.add_permuted_assign(self.ctx.basis(), &idx, &ct.parts[0], &perm);
        let c1 = keyswitch::mod_down(&self.ctx, ct.level, a);
        Ok(Ciphertext {
            parts: vec![c0, c1],
            level: ct.level,
            scale: ct.scale,
            slots: ct.slots,
        })
    }

    /// Applies the automorphism `X ↦ X^g`.
    pub fn apply_galois(&self, ct: &Ciphertext, element: u64) -> Result<Ciphertext, CkksError> {
        if element == 1 {
            return Ok(ct.clone());
        }
        self.galois_key(element, None, ct.level)?;
        let dec = self.decompose(ct)?;
        self.apply_galois_hoisted(ct, &dec, element, None)
    }

    /// Rotates the slots left by `steps` (right if negative), cyclically over `ct.slots()`.
    pub fn rotate(&self, ct: &Ciphertext, steps: i64) -> Result<Ciphertext, CkksError> {
        let element = self.ctx.rotation_element(steps);
        if element == 1 {
            return Ok(ct.clone());
        }
        self.galois_key(element, Some(steps), ct.level)?;
        let dec = self.decompose(ct)?;
        self.apply_galois_hoisted(ct, &dec, element, Some(steps))
    }

    /// Complex conjugation of every slot.
    pub fn conjugate(&self, ct: &Ciphertext) -> Result<Ciphertext, CkksError> {
        self.apply_galois(ct, self.ctx.conjugation_element())
    }

    /// Many rotations of one ciphertext sharing a single decomposition (hoisting).
    pub fn rotate_hoisted(
        &self,
        ct: &Ciphertext,
        steps: &[i64],
    ) -> Result<Vec<Ciphertext>, CkksError> {
        for &s in steps {
            self.galois_key(self.ctx.rotation_element(s), Some(s), ct.level)?;
        }
        let dec = self.decompose(ct)?;
        steps
            .iter()
            .map(|&s| self.apply_galois_hoisted(ct, &dec, self.ctx.rotation_element(s), Some(s)))
            .collect()
    }

    /// Multiplies every slot by the imaginary unit `i` (exactly: a product with the monomial
    /// `X^{N/2}`; no level, no scale change, no noise growth).
    pub fn mul_by_i(&self, a: &Ciphertext) -> Ciphertext {
        let n = self.ctx.n();
        let basis = self.ctx.basis();
        let idx = self.q_idx(a.level);
        let mut monomial = Poly::zero(n, idx.len());
        for &b in &idx {
            monomial
                .limb_mut(b)
                .copy_from_slice(self.ctx.imaginary_unit_ntt(b));
        }
        let mut out = a.clone();
        for p in out.parts.iter_mut() {
            p.mul_assign(basis, &idx, &monomial);
        }
        out
    }

    /// Slot-wise product with complex constants, given as a plaintext encoded by the caller;
    /// convenience for `mul_plain` followed by `rescale`.
    pub fn mul_plain_rescale(
        &self,
        a: &Ciphertext,
        pt: &Plaintext,
    ) -> Result<Ciphertext, CkksError> {
        self.rescale(&self.mul_plain(a, pt)?)
    }

    /// Multiplies by a complex constant encoded at scale `q_level` (exact scale after rescale).
    pub fn mul_complex_const(&self, a: &Ciphertext, c: Complex64) -> Result<Ciphertext, CkksError> {
        // c = re + i·im, and i acts as the monomial X^{N/2} on slots.
        let re = self.mul_const(a, c.re)?;
        if c.im == 0.0 {
            return Ok(re);
        }
        let im = self.mul_by_i(&self.mul_const(a, c.im)?);
        self.add(&re, &im)
    }
}
