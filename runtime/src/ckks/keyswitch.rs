//! Hybrid key switching (GHS with RNS digits): decomposition with ModUp, the inner product
//! with a switching key, and ModDown by the special modulus P.
//!
//! The decomposition of a polynomial does not depend on the key, so it is computed once and
//! shared by many key switches of the same input ("hoisting"): a Galois automorphism is
//! applied to the decomposed digits on the fly, as an index permutation, inside the inner
//! product.

use rayon::prelude::*;

use super::context::Context;
use super::keys::SwitchingKey;
use super::rns::Poly;

/// The ModUp'ed digits of a polynomial at `level`, each over `Q_level ∪ P` in the NTT domain.
#[derive(Clone, Debug)]
pub struct Decomposition {
    pub(crate) level: usize,
    pub(crate) digits: Vec<Poly>,
}

impl Decomposition {
    pub fn level(&self) -> usize {
        self.level
    }
    pub fn num_digits(&self) -> usize {
        self.digits.len()
    }
}

/// Decomposes `d` (NTT domain, limbs `0..=level`) into ModUp'ed digits.
pub fn decompose(ctx: &Context, level: usize, d: &Poly) -> Decomposition {
    let basis = ctx.basis();
    let n = ctx.n();
    let q_idx = basis.q_indices(level);
    let qp_idx = basis.qp_indices(level);
    debug_assert_eq!(d.num_limbs(), q_idx.len());
    let mut coeff = d.clone();
    coeff.intt(basis, &q_idx);
    let digits = ctx
        .digits(level)
        .into_par_iter()
        .map(|(start, end)| {
            let conv = ctx.modup_converter((start, end));
            let mut out = Poly::zero(n, qp_idx.len());
            let mut outs: Vec<&mut [u64]> = Vec::with_capacity(qp_idx.len());
            let mut targets = Vec::with_capacity(qp_idx.len());
            for (t, chunk) in out.data_mut().chunks_mut(n).enumerate() {
                let b = qp_idx[t];
                if (start..end).contains(&b) {
                    chunk.copy_from_slice(d.limb(t));
                } else {
                    outs.push(chunk);
                    targets.push(b);
                }
            }
            let inputs: Vec<&[u64]> = (start..end).map(|i| coeff.limb(i)).collect();
            conv.convert(basis, &inputs, &targets, &mut outs);
            outs.par_iter_mut()
                .zip(targets.par_iter())
                .for_each(|(o, &b)| basis.table(b).forward(o));
            out
        })
        .collect();
    Decomposition { level, digits }
}

/// `(Σ_j σ(D_j) ⊙ b_j, Σ_j σ(D_j) ⊙ a_j)` over `Q_level ∪ P`, where `σ` is the optional
/// NTT-domain permutation of a Galois automorphism. Products are accumulated in 128 bits
/// and reduced once per coefficient.
pub fn inner_product(
    ctx: &Context,
    dec: &Decomposition,
    key: &SwitchingKey,
    perm: Option<&[u32]>,
) -> (Poly, Poly) {
    let basis = ctx.basis();
    let n = ctx.n();
    let qp_idx = basis.qp_indices(dec.level);
    let limbs = qp_idx.len();
    let mut acc_b = Poly::zero(n, limbs);
    let mut acc_a = Poly::zero(n, limbs);
    acc_b
        .data_mut()
        .par_chunks_mut(n)
        .zip(acc_a.data_mut().par_chunks_mut(n))
        .enumerate()
        .for_each(|(t, (ob, oa))| {
            let b_idx = qp_idx[t];
            let m = basis.modulus(b_idx);
            let ds: Vec<&[u64]> = dec.digits.iter().map(|d| d.limb(t)).collect();
            let pos = key.position(basis.num_q(), b_idx);
            let kb: Vec<&[u64]> = key.b.iter().take(ds.len()).map(|k| k.limb(pos)).collect();
            let ka: Vec<&[u64]> = key.a.iter().take(ds.len()).map(|k| k.limb(pos)).collect();
            // Up to 8 products of values below 2^61 fit in 128 bits; fold beyond that.
            for chunk_start in (0..ds.len()).step_by(8) {
                let chunk_end = (chunk_start + 8).min(ds.len());
                for k in 0..n {
                    let src = match perm {
                        Some(p) => p[k] as usize,
                        None => k,
                    };
                    let mut sb = if chunk_start == 0 {
                        0u128
                    } else {
                        ob[k] as u128
                    };
                    let mut sa = if chunk_start == 0 {
                        0u128
                    } else {
                        oa[k] as u128
                    };
                    for j in chunk_start..chunk_end {
                        let x = ds[j][src] as u128;
                        sb += x * kb[j][k] as u128;
                        sa += x * ka[j][k] as u128;
                    }
                    ob[k] = m.reduce_u128(sb);
                    oa[k] = m.reduce_u128(sa);
                }
            }
        });
    (acc_b, acc_a)
}

/// Divides a polynomial over `Q_level ∪ P` (NTT) by `P`, rounding, giving one over `Q_level`.
pub fn mod_down(ctx: &Context, level: usize, p: Poly) -> Poly {
    let p_idx = ctx.basis().p_indices();
    divide_by_tail(ctx, p, level + 1, &p_idx, ctx.moddown_converter(), |i| {
        ctx.p_inv_mod_q(i)
    })
}

/// Divides a polynomial over `Q_level ∪ P` (NTT) by `P·q_level`, rounding, giving one over
/// `Q_{level−1}`: a ModDown and a rescale in one step (the `level + 1 + |P|` limbs' worth of
/// NTTs a separate rescale would spend on its lift are saved).
pub fn mod_down_rescale(ctx: &Context, level: usize, p: Poly) -> Poly {
    assert!(level >= 1, "mod_down_rescale needs a limb to drop");
    let basis = ctx.basis();
    let mut from = vec![level];
    from.extend(basis.p_indices());
    let rescale_inv = ctx.rescale_inv(level);
    divide_by_tail(
        ctx,
        p,
        level,
        &from,
        ctx.moddown_rescale_converter(level),
        |i| {
            let m = basis.modulus(i);
            m.shoup(m.mul(ctx.p_inv_mod_q(i).value, rescale_inv[i].value))
        },
    )
}

/// Rounded division of `p` (NTT) by the product `D` of its last limbs `tail` (everything
/// after the first `keep`): the centred residue modulo `D` is converted exactly to the kept
/// limbs, subtracted, and the difference multiplied by `D^{-1}` (`d_inv(i)` on limb `i`).
fn divide_by_tail(
    ctx: &Context,
    mut p: Poly,
    keep: usize,
    tail: &[usize],
    converter: &crate::ckks::rns::BaseConverter,
    d_inv: impl Fn(usize) -> crate::ckks::math::ShoupConst + Sync,
) -> Poly {
    let basis = ctx.basis();
    let n = ctx.n();
    let out_idx = basis.q_indices(keep - 1);
    // The divisor's limbs are contiguous at the end of the polynomial.
    let mut low = Poly::from_data(n, p.data()[keep * n..].to_vec());
    debug_assert_eq!(low.num_limbs(), tail.len());
    low.intt(basis, tail);
    let mut conv = Poly::zero(n, keep);
    {
        let inputs: Vec<&[u64]> = low.limbs().collect();
        let mut outs: Vec<&mut [u64]> = conv.data_mut().chunks_mut(n).collect();
        converter.convert_centered(basis, &inputs, &out_idx, &mut outs);
    }
    conv.ntt(basis, &out_idx);
    p.truncate_limbs(keep);
    p.data_mut()
        .par_chunks_mut(n)
        .zip(conv.data().par_chunks(n))
        .enumerate()
        .for_each(|(i, (x, c))| {
            let m = basis.modulus(i);
            let d = d_inv(i);
            let q = m.value();
            for (x, &c) in x.iter_mut().zip(c) {
                *x = m.mul_shoup(*x + q - c, d);
            }
        });
    p
}

/// Full key switch of `d` (NTT, level `level`): returns `(u0, u1)` over `Q_level` with
/// `u0 + u1·s ≈ d·s'` for the key's source secret `s'`.
pub fn switch_key(ctx: &Context, level: usize, d: &Poly, key: &SwitchingKey) -> (Poly, Poly) {
    let dec = decompose(ctx, level, d);
    let (b, a) = inner_product(ctx, &dec, key, None);
    (mod_down(ctx, level, b), mod_down(ctx, level, a))
}

/// Key switch of `d` (level 0, NTT) with a single-digit key over `q_0 · p` only (limbs
/// `[0, p_limb]`, from [`KeyGenerator::gen_single_prime_switching_key`]): the centred lift of
/// `d` to `p`, the products with the key, and the rounded division by `p`. The added noise is
/// `d·e/p` (below 2^9 for a 60-bit `q_0` and a 61-bit `p`) plus the rounding.
///
/// [`KeyGenerator::gen_single_prime_switching_key`]: super::KeyGenerator::gen_single_prime_switching_key
pub fn switch_key_single_prime(
    ctx: &Context,
    d: &Poly,
    b: &Poly,
    a: &Poly,
    p_limb: usize,
) -> (Poly, Poly) {
    let basis = ctx.basis();
    let n = ctx.n();
    let q = basis.modulus(0);
    let p = basis.modulus(p_limb);
    let lift = |v: u64, from: &crate::ckks::math::Modulus, to: &crate::ckks::math::Modulus| {
        to.reduce_i64(from.center(v))
    };
    let dq = d.limb(0);
    let mut dp: Vec<u64> = dq.to_vec();
    basis.table(0).inverse(&mut dp);
    dp.iter_mut().for_each(|v| *v = lift(*v, q, p));
    basis.table(p_limb).forward(&mut dp);
    let p_inv = q.shoup(q.inv(q.reduce(p.value())));
    let apply = |k: &Poly| -> Poly {
        let mut uq: Vec<u64> = dq
            .iter()
            .zip(k.limb(0))
            .map(|(&x, &y)| q.mul(x, y))
            .collect();
        let mut up: Vec<u64> = dp
            .iter()
            .zip(k.limb(1))
            .map(|(&x, &y)| p.mul(x, y))
            .collect();
        basis.table(p_limb).inverse(&mut up);
        up.iter_mut().for_each(|v| *v = lift(*v, p, q));
        basis.table(0).forward(&mut up);
        for (x, &y) in uq.iter_mut().zip(&up) {
            *x = q.mul_shoup(q.sub(*x, y), p_inv);
        }
        Poly::from_data(n, uq)
    };
    (apply(b), apply(a))
}
