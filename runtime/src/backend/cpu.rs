//! The CPU backend: the RNS-CKKS runtime of [`crate::ckks`] behind the [`Backend`] trait. It
//! is the only place where circuits' operations touch polynomials and keys.
//!
//! Built from evaluation keys (and, to bootstrap, the encapsulation keys): a secret key
//! cannot be given to it. Its evaluator runs in strict level mode.

use std::sync::Arc;

use num_complex::Complex64;

use super::checks::check_mod_raise;
use super::plain_ciphertext_meta;
use super::Backend;
use crate::ckks::encapsulation::BootstrappingKeys;
use crate::ckks::keys::EvaluationKeys;
use crate::ckks::keyswitch::{self, Decomposition};
use crate::ckks::rns::Poly;
use crate::ckks::{
    Ciphertext, CkksError, Context, Encoder, Evaluator, ExtendedCiphertext, ExtendedPlaintext,
    Params, Plaintext,
};

plain_ciphertext_meta!(Ciphertext, |c| c.parts.len() - 1);
plain_ciphertext_meta!(ExtendedCiphertext, |_c| 1);

/// The CPU runtime as a [`Backend`].
#[derive(Debug, Clone)]
pub struct CpuBackend {
    eval: Evaluator,
    encoder: Encoder,
    bootstrapping: Option<Arc<BootstrappingKeys>>,
}

impl CpuBackend {
    /// A backend with `keys` (relinearization and Galois keys); it cannot bootstrap.
    pub fn new(ctx: Arc<Context>, keys: Arc<EvaluationKeys>) -> Result<Self, CkksError> {
        Ok(CpuBackend {
            eval: Evaluator::new(ctx.clone(), keys)?.strict_levels(true),
            encoder: Encoder::new(ctx),
            bootstrapping: None,
        })
    }

    /// A backend without keys: encoding and every operation but relinearization, rotations
    /// and ModRaise (which fail with a missing-key error).
    pub fn without_keys(ctx: Arc<Context>) -> Self {
        CpuBackend {
            eval: Evaluator::without_keys(ctx.clone()).strict_levels(true),
            encoder: Encoder::new(ctx),
            bootstrapping: None,
        }
    }

    /// A backend with bootstrapping keys: their evaluation keys plus the encapsulation keys
    /// ModRaise needs.
    pub fn with_bootstrapping_keys(
        ctx: Arc<Context>,
        keys: Arc<BootstrappingKeys>,
    ) -> Result<Self, CkksError> {
        Ok(CpuBackend {
            eval: Evaluator::new(ctx.clone(), keys.evaluation.clone())?.strict_levels(true),
            encoder: Encoder::new(ctx),
            bootstrapping: Some(keys),
        })
    }

    pub fn evaluator(&self) -> &Evaluator {
        &self.eval
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    pub fn context(&self) -> &Arc<Context> {
        self.eval.context()
    }

    /// `(c0 + u0, u1)`: `ct` under the key switch's target secret, given the switch
    /// `(u0, u1)` of its second part.
    fn switched(&self, ct: &Ciphertext, (u0, u1): (Poly, Poly)) -> Ciphertext {
        let ctx = self.context();
        let idx = ctx.basis().q_indices(ct.level);
        let mut c0 = ct.parts[0].clone();
        c0.add_assign(ctx.basis(), &idx, &u0);
        Ciphertext {
            parts: vec![c0, u1],
            ..ct.clone()
        }
    }

    /// Lifts the centered residues modulo `q_0` of every part to `Q_level`.
    fn raise(&self, ct: &Ciphertext, level: usize) -> Ciphertext {
        let ctx = self.context();
        let basis = ctx.basis();
        let n = ctx.n();
        let q0 = basis.modulus(0).value();
        let idx = basis.q_indices(level);
        let parts = ct
            .parts
            .iter()
            .map(|p| {
                let mut c = p.limb(0).to_vec();
                basis.table(0).inverse(&mut c);
                let centered: Vec<i64> = c
                    .iter()
                    .map(|&v| {
                        if v > q0 / 2 {
                            v as i64 - q0 as i64
                        } else {
                            v as i64
                        }
                    })
                    .collect();
                let mut out = Poly::from_signed(n, basis, &idx, &centered);
                out.ntt(basis, &idx);
                out
            })
            .collect();
        Ciphertext {
            parts,
            level,
            scale: ct.scale,
            slots: ct.slots,
        }
    }
}

impl Backend for CpuBackend {
    type Ct = Ciphertext;
    type Ext = ExtendedCiphertext;
    type Pt = Plaintext;
    type ExtPt = ExtendedPlaintext;
    type Dec = Decomposition;

    fn name(&self) -> &'static str {
        "cpu"
    }
    fn params(&self) -> &Params {
        self.eval.context().params()
    }
    fn rotation_element(&self, steps: i64) -> u64 {
        self.context().rotation_element(steps)
    }

    fn encode(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<Plaintext, CkksError> {
        self.encoder.encode_complex(values, level, scale)
    }
    fn encode_extended(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<ExtendedPlaintext, CkksError> {
        self.encoder.encode_complex_extended(values, level, scale)
    }
    fn extended_plaintext_level(&self, pt: &ExtendedPlaintext) -> usize {
        pt.level
    }
    fn trivial(&self, pt: &Plaintext) -> Result<Ciphertext, CkksError> {
        // (pt, 0): the second part is zero in every limb (zero is zero in the NTT domain).
        Ok(Ciphertext {
            parts: vec![
                pt.poly.clone(),
                Poly::zero(self.context().n(), pt.level + 1),
            ],
            level: pt.level,
            scale: pt.scale,
            slots: pt.slots,
        })
    }

    fn drop_to_level(&self, ct: &Ciphertext, level: usize) -> Result<Ciphertext, CkksError> {
        self.eval.drop_to_level(ct, level)
    }
    fn rescale(&self, ct: &Ciphertext) -> Result<Ciphertext, CkksError> {
        self.eval.rescale(ct)
    }

    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, CkksError> {
        self.eval.add(a, b)
    }
    fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, CkksError> {
        self.eval.check_levels(a.level, b.level)?;
        let mut out = a.clone();
        self.eval.sub_assign(&mut out, b)?;
        Ok(out)
    }
    fn neg(&self, a: &Ciphertext) -> Result<Ciphertext, CkksError> {
        Ok(self.eval.neg(a))
    }
    fn add_assign(&self, acc: &mut Ciphertext, b: &Ciphertext) -> Result<(), CkksError> {
        self.eval.add_assign(acc, b)
    }
    fn sub_assign(&self, acc: &mut Ciphertext, b: &Ciphertext) -> Result<(), CkksError> {
        self.eval.sub_assign(acc, b)
    }
    fn add_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, CkksError> {
        self.eval.add_plain(a, pt)
    }
    fn sub_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, CkksError> {
        self.eval.sub_plain(a, pt)
    }
    fn add_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, CkksError> {
        self.eval.add_const(a, c)
    }
    fn add_const_complex(&self, a: &Ciphertext, c: Complex64) -> Result<Ciphertext, CkksError> {
        self.eval.add_const_complex(a, c)
    }

    fn mul_integer(&self, a: &Ciphertext, k: i64) -> Result<Ciphertext, CkksError> {
        Ok(self.eval.mul_integer(a, k))
    }
    fn mul_integer_assign(&self, a: &mut Ciphertext, k: i64) -> Result<(), CkksError> {
        self.eval.mul_integer_assign(a, k);
        Ok(())
    }
    fn mul_const_with_scale(
        &self,
        a: &Ciphertext,
        c: f64,
        const_scale: f64,
    ) -> Result<Ciphertext, CkksError> {
        self.eval.mul_const_with_scale(a, c, const_scale)
    }
    fn linear_combination(
        &self,
        terms: &[(&Ciphertext, Complex64, f64)],
        level: usize,
    ) -> Result<Ciphertext, CkksError> {
        self.eval.linear_combination(terms, level)
    }
    fn mul_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, CkksError> {
        self.eval.mul_plain(a, pt)
    }
    fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, CkksError> {
        self.eval.mul(a, b)
    }
    fn relinearize(&self, a: &Ciphertext) -> Result<Ciphertext, CkksError> {
        self.eval.relinearize(a)
    }
    fn mul_by_i(&self, a: &Ciphertext) -> Result<Ciphertext, CkksError> {
        Ok(self.eval.mul_by_i(a))
    }

    fn decompose(&self, ct: &Ciphertext) -> Result<Decomposition, CkksError> {
        self.eval.decompose(ct)
    }
    fn apply_galois_hoisted(
        &self,
        ct: &Ciphertext,
        dec: &Decomposition,
        element: u64,
        steps: Option<i64>,
    ) -> Result<Ciphertext, CkksError> {
        self.eval.apply_galois_hoisted(ct, dec, element, steps)
    }
    fn apply_galois(&self, ct: &Ciphertext, element: u64) -> Result<Ciphertext, CkksError> {
        self.eval.apply_galois(ct, element)
    }
    fn rotate(&self, ct: &Ciphertext, steps: i64) -> Result<Ciphertext, CkksError> {
        self.eval.rotate(ct, steps)
    }
    fn rotate_hoisted(&self, ct: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>, CkksError> {
        self.eval.rotate_hoisted(ct, steps)
    }

    fn extend(&self, ct: &Ciphertext) -> Result<ExtendedCiphertext, CkksError> {
        self.eval.extend(ct)
    }
    fn zero_extended(&self, level: usize, scale: f64, slots: usize) -> ExtendedCiphertext {
        let ctx = self.context();
        let limbs = level + 1 + ctx.basis().num_p();
        ExtendedCiphertext {
            parts: [Poly::zero(ctx.n(), limbs), Poly::zero(ctx.n(), limbs)],
            level,
            scale,
            slots,
        }
    }
    fn apply_galois_hoisted_extended(
        &self,
        ct: &Ciphertext,
        dec: &Decomposition,
        element: u64,
        steps: Option<i64>,
    ) -> Result<ExtendedCiphertext, CkksError> {
        self.eval
            .apply_galois_hoisted_extended(ct, dec, element, steps)
    }
    fn sum_of_products_extended(
        &self,
        terms: &[(&ExtendedCiphertext, &ExtendedPlaintext)],
    ) -> Result<ExtendedCiphertext, CkksError> {
        self.eval.sum_of_products_extended(terms)
    }
    fn add_assign_extended(
        &self,
        acc: &mut ExtendedCiphertext,
        x: &ExtendedCiphertext,
    ) -> Result<(), CkksError> {
        self.eval.add_assign_extended(acc, x)
    }
    fn sub_assign_extended(
        &self,
        acc: &mut ExtendedCiphertext,
        x: &ExtendedCiphertext,
    ) -> Result<(), CkksError> {
        self.eval.sub_assign_extended(acc, x)
    }
    fn apply_galois_add_assign_extended(
        &self,
        acc: &mut ExtendedCiphertext,
        x: &ExtendedCiphertext,
        element: u64,
        steps: Option<i64>,
    ) -> Result<(), CkksError> {
        self.eval
            .apply_galois_add_assign_extended(acc, x, element, steps)
    }
    fn relinearize_extended(&self, a: &Ciphertext) -> Result<ExtendedCiphertext, CkksError> {
        self.eval.relinearize_extended(a)
    }
    fn mul_integer_extended(&self, x: &mut ExtendedCiphertext, k: i64) -> Result<(), CkksError> {
        self.eval.mul_integer_extended(x, k);
        Ok(())
    }
    fn add_const_extended(&self, x: &mut ExtendedCiphertext, c: f64) -> Result<(), CkksError> {
        self.eval.add_const_extended(x, c)
    }
    fn mod_down_rescale(&self, x: ExtendedCiphertext) -> Result<Ciphertext, CkksError> {
        self.eval.mod_down_rescale(x)
    }
    fn mod_down_extended(&self, x: ExtendedCiphertext) -> Result<Ciphertext, CkksError> {
        Ok(self.eval.mod_down_extended(x))
    }
    fn mul_relin_rescale(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, CkksError> {
        self.eval.mul_relin_rescale(a, b)
    }

    fn mod_raise(&self, ct: &Ciphertext, level: usize) -> Result<Ciphertext, CkksError> {
        let keys = self.bootstrapping.as_ref().ok_or(CkksError::Unsupported {
            op: "mod_raise",
            what: "bootstrapping keys (build it with CpuBackend::with_bootstrapping_keys)",
        })?;
        check_mod_raise(self.params(), ct, level)?;
        keys.sparse_to_dense.check_level(level, "sparse-to-dense")?;
        let ctx = self.context();
        let low = self.switched(ct, keys.dense_to_sparse.switch(ctx, &ct.parts[1]));
        let raised = self.raise(&low, level);
        let back = keyswitch::switch_key(ctx, level, &raised.parts[1], &keys.sparse_to_dense);
        Ok(self.switched(&raised, back))
    }
}
