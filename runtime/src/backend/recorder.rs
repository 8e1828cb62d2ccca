//! A backend that records every operation of the backend it wraps: `Recorder<CpuBackend>`
//! traces a real run, `Recorder<MetaBackend>` (the counting backend) traces the same circuit
//! without arithmetic. Both record through this one file, so their traces are comparable.

use std::sync::Mutex;

use num_complex::Complex64;

use super::trace::{Op, OpKind, Trace};
use super::{Backend, CiphertextMeta};
use crate::ckks::{CkksError, Params};

/// Records the operations of `B`.
#[derive(Debug)]
pub struct Recorder<B> {
    inner: B,
    ops: Mutex<Vec<Op>>,
}

impl<B: Backend> Recorder<B> {
    pub fn new(inner: B) -> Self {
        Recorder {
            inner,
            ops: Mutex::new(Vec::new()),
        }
    }

    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// Takes the trace recorded so far (and starts a new one).
    pub fn take_trace(&self) -> Trace {
        Trace {
            ops: std::mem::take(&mut *self.ops.lock().expect("trace poisoned")),
        }
    }

    fn digits(&self, level: usize) -> usize {
        (level + 1).div_ceil(self.inner.params().alpha())
    }

    fn push(&self, kind: OpKind, level: usize, terms: usize) {
        self.push_key(kind, level, terms, None)
    }

    fn push_key(&self, kind: OpKind, level: usize, terms: usize, key: Option<u64>) {
        let digits = if kind.key_switches() > 0 || kind.decompositions() > 0 {
            self.digits(level)
        } else {
            0
        };
        self.ops.lock().expect("trace poisoned").push(Op {
            kind,
            level,
            digits,
            terms,
            key,
        });
    }
}

impl<B: Backend> Backend for Recorder<B> {
    type Ct = B::Ct;
    type Ext = B::Ext;
    type Pt = B::Pt;
    type ExtPt = B::ExtPt;
    type Dec = B::Dec;

    fn name(&self) -> &'static str {
        match self.inner.name() {
            "meta" => "count",
            other => other,
        }
    }
    fn params(&self) -> &Params {
        self.inner.params()
    }
    fn rotation_element(&self, steps: i64) -> u64 {
        self.inner.rotation_element(steps)
    }

    fn encode(&self, values: &[Complex64], level: usize, scale: f64) -> Result<B::Pt, CkksError> {
        self.push(OpKind::Encode, level, 1);
        self.inner.encode(values, level, scale)
    }
    fn encode_extended(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<B::ExtPt, CkksError> {
        self.push(OpKind::EncodeExtended, level, 1);
        self.inner.encode_extended(values, level, scale)
    }
    fn extended_plaintext_level(&self, pt: &B::ExtPt) -> usize {
        self.inner.extended_plaintext_level(pt)
    }
    fn trivial(&self, pt: &B::Pt) -> Result<B::Ct, CkksError> {
        let ct = self.inner.trivial(pt)?;
        self.push(OpKind::Trivial, ct.level(), 1);
        Ok(ct)
    }

    fn drop_to_level(&self, ct: &B::Ct, level: usize) -> Result<B::Ct, CkksError> {
        self.push(OpKind::DropLevel, ct.level(), 1);
        self.inner.drop_to_level(ct, level)
    }
    fn rescale(&self, ct: &B::Ct) -> Result<B::Ct, CkksError> {
        self.push(OpKind::Rescale, ct.level(), 1);
        self.inner.rescale(ct)
    }
    fn rescale_assign(&self, ct: &mut B::Ct) -> Result<(), CkksError> {
        self.push(OpKind::Rescale, ct.level(), 1);
        self.inner.rescale_assign(ct)
    }

    fn add(&self, a: &B::Ct, b: &B::Ct) -> Result<B::Ct, CkksError> {
        self.push(OpKind::Add, a.level(), 1);
        self.inner.add(a, b)
    }
    fn sub(&self, a: &B::Ct, b: &B::Ct) -> Result<B::Ct, CkksError> {
        self.push(OpKind::Add, a.level(), 1);
        self.inner.sub(a, b)
    }
    fn neg(&self, a: &B::Ct) -> Result<B::Ct, CkksError> {
        self.push(OpKind::Neg, a.level(), 1);
        self.inner.neg(a)
    }
    fn add_assign(&self, acc: &mut B::Ct, b: &B::Ct) -> Result<(), CkksError> {
        self.push(OpKind::Add, acc.level(), 1);
        self.inner.add_assign(acc, b)
    }
    fn sub_assign(&self, acc: &mut B::Ct, b: &B::Ct) -> Result<(), CkksError> {
        self.push(OpKind::Add, acc.level(), 1);
        self.inner.sub_assign(acc, b)
    }
    fn add_plain(&self, a: &B::Ct, pt: &B::Pt) -> Result<B::Ct, CkksError> {
        self.push(OpKind::AddPlain, a.level(), 1);
        self.inner.add_plain(a, pt)
    }
    fn sub_plain(&self, a: &B::Ct, pt: &B::Pt) -> Result<B::Ct, CkksError> {
        self.push(OpKind::AddPlain, a.level(), 1);
        self.inner.sub_plain(a, pt)
    }
    fn add_const(&self, a: &B::Ct, c: f64) -> Result<B::Ct, CkksError> {
        self.push(OpKind::AddConst, a.level(), 1);
        self.inner.add_const(a, c)
    }
    fn add_const_complex(&self, a: &B::Ct, c: Complex64) -> Result<B::Ct, CkksError> {
        self.push(OpKind::AddConst, a.level(), 1);
        self.inner.add_const_complex(a, c)
    }

    fn mul_integer(&self, a: &B::Ct, k: i64) -> Result<B::Ct, CkksError> {
        self.push(OpKind::MulInteger, a.level(), 1);
        self.inner.mul_integer(a, k)
    }
    fn mul_integer_assign(&self, a: &mut B::Ct, k: i64) -> Result<(), CkksError> {
        self.push(OpKind::MulInteger, a.level(), 1);
        self.inner.mul_integer_assign(a, k)
    }
    fn mul_const(&self, a: &B::Ct, c: f64) -> Result<B::Ct, CkksError> {
        self.push(OpKind::MulConst, a.level(), 1);
        self.inner.mul_const(a, c)
    }
    fn mul_const_with_scale(&self, a: &B::Ct, c: f64, s: f64) -> Result<B::Ct, CkksError> {
        self.push(OpKind::MulConst, a.level(), 1);
        self.inner.mul_const_with_scale(a, c, s)
    }
    fn linear_combination(
        &self,
        terms: &[(&B::Ct, Complex64, f64)],
        level: usize,
    ) -> Result<B::Ct, CkksError> {
        self.push(OpKind::LinearCombination, level, terms.len());
        self.inner.linear_combination(terms, level)
    }
    fn mul_plain(&self, a: &B::Ct, pt: &B::Pt) -> Result<B::Ct, CkksError> {
        self.push(OpKind::MulPlain, a.level(), 1);
        self.inner.mul_plain(a, pt)
    }
    fn mul(&self, a: &B::Ct, b: &B::Ct) -> Result<B::Ct, CkksError> {
        self.push(OpKind::Tensor, a.level(), 1);
        self.inner.mul(a, b)
    }
    fn relinearize(&self, a: &B::Ct) -> Result<B::Ct, CkksError> {
        if a.degree() == 1 {
            return self.inner.relinearize(a);
        }
        self.push_key(
            OpKind::Relinearize,
            a.level(),
            1,
            Some(crate::ckks::keys::RELINEARIZATION_ENTRY),
        );
        self.inner.relinearize(a)
    }
    fn mul_by_i(&self, a: &B::Ct) -> Result<B::Ct, CkksError> {
        self.push(OpKind::MulByI, a.level(), 1);
        self.inner.mul_by_i(a)
    }
    fn mul_relin_rescale(&self, a: &B::Ct, b: &B::Ct) -> Result<B::Ct, CkksError> {
        // Recorded as its three steps (the inner backend's fused call is the same work).
        self.push(OpKind::Tensor, a.level(), 1);
        self.push_key(
            OpKind::RelinearizeExtended,
            a.level(),
            1,
            Some(crate::ckks::keys::RELINEARIZATION_ENTRY),
        );
        self.push(OpKind::ModDownRescale, a.level(), 1);
        self.inner.mul_relin_rescale(a, b)
    }
    fn mul_relin(&self, a: &B::Ct, b: &B::Ct) -> Result<B::Ct, CkksError> {
        self.push(OpKind::Tensor, a.level(), 1);
        self.push_key(
            OpKind::Relinearize,
            a.level(),
            1,
            Some(crate::ckks::keys::RELINEARIZATION_ENTRY),
        );
        self.inner.mul_relin(a, b)
    }

    fn decompose(&self, ct: &B::Ct) -> Result<B::Dec, CkksError> {
        self.push(OpKind::Decompose, ct.level(), 1);
        self.inner.decompose(ct)
    }
    fn apply_galois_hoisted(
        &self,
        ct: &B::Ct,
        dec: &B::Dec,
        element: u64,
        steps: Option<i64>,
    ) -> Result<B::Ct, CkksError> {
        if element != 1 {
            self.push_key(OpKind::GaloisHoisted, ct.level(), 1, Some(element));
        }
        self.inner.apply_galois_hoisted(ct, dec, element, steps)
    }
    fn apply_galois(&self, ct: &B::Ct, element: u64) -> Result<B::Ct, CkksError> {
        if element != 1 {
            self.push_key(OpKind::Galois, ct.level(), 1, Some(element));
        }
        self.inner.apply_galois(ct, element)
    }
    fn rotate(&self, ct: &B::Ct, steps: i64) -> Result<B::Ct, CkksError> {
        let g = self.rotation_element(steps);
        if g != 1 {
            self.push_key(OpKind::Galois, ct.level(), 1, Some(g));
        }
        self.inner.rotate(ct, steps)
    }
    fn conjugate(&self, ct: &B::Ct) -> Result<B::Ct, CkksError> {
        self.push_key(
            OpKind::Galois,
            ct.level(),
            1,
            Some(self.conjugation_element()),
        );
        self.inner.conjugate(ct)
    }
    fn rotate_hoisted(&self, ct: &B::Ct, steps: &[i64]) -> Result<Vec<B::Ct>, CkksError> {
        self.push(OpKind::Decompose, ct.level(), 1);
        for &s in steps {
            let g = self.rotation_element(s);
            if g != 1 {
                self.push_key(OpKind::GaloisHoisted, ct.level(), 1, Some(g));
            }
        }
        self.inner.rotate_hoisted(ct, steps)
    }

    fn extend(&self, ct: &B::Ct) -> Result<B::Ext, CkksError> {
        self.push(OpKind::Extend, ct.level(), 1);
        self.inner.extend(ct)
    }
    fn zero_extended(&self, level: usize, scale: f64, slots: usize) -> B::Ext {
        self.inner.zero_extended(level, scale, slots)
    }
    fn apply_galois_hoisted_extended(
        &self,
        ct: &B::Ct,
        dec: &B::Dec,
        element: u64,
        steps: Option<i64>,
    ) -> Result<B::Ext, CkksError> {
        if element == 1 {
            self.push(OpKind::Extend, ct.level(), 1);
        } else {
            self.push_key(OpKind::GaloisHoistedExtended, ct.level(), 1, Some(element));
        }
        self.inner
            .apply_galois_hoisted_extended(ct, dec, element, steps)
    }
    fn sum_of_products_extended(
        &self,
        terms: &[(&B::Ext, &B::ExtPt)],
    ) -> Result<B::Ext, CkksError> {
        let level = terms.first().map_or(0, |(x, _)| x.level());
        self.push(OpKind::SumProductsExtended, level, terms.len());
        self.inner.sum_of_products_extended(terms)
    }
    fn add_assign_extended(&self, acc: &mut B::Ext, x: &B::Ext) -> Result<(), CkksError> {
        self.push(OpKind::AddExtended, acc.level(), 1);
        self.inner.add_assign_extended(acc, x)
    }
    fn sub_assign_extended(&self, acc: &mut B::Ext, x: &B::Ext) -> Result<(), CkksError> {
        self.push(OpKind::AddExtended, acc.level(), 1);
        self.inner.sub_assign_extended(acc, x)
    }
    fn apply_galois_add_assign_extended(
        &self,
        acc: &mut B::Ext,
        x: &B::Ext,
        element: u64,
        steps: Option<i64>,
    ) -> Result<(), CkksError> {
        if element == 1 {
            self.push(OpKind::AddExtended, x.level(), 1);
        } else {
            self.push_key(OpKind::GaloisAddExtended, x.level(), 1, Some(element));
        }
        self.inner
            .apply_galois_add_assign_extended(acc, x, element, steps)
    }
    fn relinearize_extended(&self, a: &B::Ct) -> Result<B::Ext, CkksError> {
        self.push_key(
            OpKind::RelinearizeExtended,
            a.level(),
            1,
            Some(crate::ckks::keys::RELINEARIZATION_ENTRY),
        );
        self.inner.relinearize_extended(a)
    }
    fn mul_integer_extended(&self, x: &mut B::Ext, k: i64) -> Result<(), CkksError> {
        self.push(OpKind::ScalarExtended, x.level(), 1);
        self.inner.mul_integer_extended(x, k)
    }
    fn add_const_extended(&self, x: &mut B::Ext, c: f64) -> Result<(), CkksError> {
        self.push(OpKind::ScalarExtended, x.level(), 1);
        self.inner.add_const_extended(x, c)
    }
    fn mod_down_rescale(&self, x: B::Ext) -> Result<B::Ct, CkksError> {
        self.push(OpKind::ModDownRescale, x.level(), 1);
        self.inner.mod_down_rescale(x)
    }
    fn mod_down_extended(&self, x: B::Ext) -> Result<B::Ct, CkksError> {
        self.push(OpKind::ModDown, x.level(), 1);
        self.inner.mod_down_extended(x)
    }

    fn mod_raise(&self, ct: &B::Ct, level: usize) -> Result<B::Ct, CkksError> {
        self.push(OpKind::ModRaise, level, 1);
        self.inner.mod_raise(ct, level)
    }
}
