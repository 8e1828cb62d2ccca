//! The metadata backend: no arithmetic, only what every operation does to levels, scales,
//! slot counts and degrees, with the same checks as the CPU backend (strict levels, equal
//! scales, keys present for what the circuit asks). Wrapped in a [`super::Recorder`] it is
//! the counting backend: a bootstrap at N = 2^16 is counted in milliseconds.

use std::collections::BTreeSet;

use num_complex::Complex64;

use super::checks::{
    check_binary, check_decomposition, check_degree_one, check_drop, check_encode,
    check_linear_combination, check_mod_raise, check_same_level, check_sum_of_products,
};
use super::{plain_ciphertext_meta, Backend};
use crate::ckks::evaluator::{check_scales, check_slots};
use crate::ckks::{CkksError, KeyManifest, Params};

/// A ciphertext's metadata.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetaCt {
    pub level: usize,
    pub scale: f64,
    pub slots: usize,
    pub degree: usize,
}

plain_ciphertext_meta!(MetaCt, |c| c.degree);

/// A plaintext's metadata.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetaPt {
    pub level: usize,
    pub scale: f64,
    pub slots: usize,
}

/// Metadata-only CKKS. With a key manifest, a rotation or relinearization whose key is not in
/// it fails exactly as on the CPU backend.
#[derive(Clone, Debug)]
pub struct MetaBackend {
    params: Params,
    keys: Option<(bool, BTreeSet<u64>)>,
}

impl MetaBackend {
    /// Every key is assumed present.
    pub fn new(params: Params) -> Self {
        MetaBackend { params, keys: None }
    }

    /// Only the keys of `manifest` are present.
    pub fn with_keys(params: Params, manifest: &KeyManifest) -> Self {
        MetaBackend {
            params,
            keys: Some((
                manifest.relinearization,
                manifest.galois_elements.iter().copied().collect(),
            )),
        }
    }

    /// A fresh ciphertext's metadata (what encryption at `level` and `scale` gives).
    pub fn fresh(&self, level: usize, scale: f64, slots: usize) -> MetaCt {
        MetaCt {
            level,
            scale,
            slots,
            degree: 1,
        }
    }

    fn check_galois(&self, element: u64, steps: Option<i64>) -> Result<(), CkksError> {
        match &self.keys {
            Some((_, g)) if element != 1 && !g.contains(&element) => {
                Err(CkksError::MissingGaloisKey { element, steps })
            }
            _ => Ok(()),
        }
    }

    fn check_relin(&self) -> Result<(), CkksError> {
        match &self.keys {
            Some((false, _)) => Err(CkksError::MissingRelinearizationKey),
            _ => Ok(()),
        }
    }

    fn binary(&self, a: &MetaCt, b: &MetaCt) -> Result<MetaCt, CkksError> {
        check_binary(a, b)?;
        Ok(MetaCt {
            degree: a.degree.max(b.degree),
            ..*a
        })
    }

    fn q(&self, level: usize) -> f64 {
        self.params.q()[level] as f64
    }

    fn degree_one(a: &MetaCt) -> Result<(), CkksError> {
        check_degree_one(a)
    }
}

fn slots_for(params: &Params, len: usize) -> Result<usize, CkksError> {
    let slots = len.max(1).next_power_of_two();
    if slots > params.n() / 2 {
        return Err(CkksError::TooManySlots {
            requested: len,
            max: params.n() / 2,
        });
    }
    Ok(slots)
}

impl Backend for MetaBackend {
    type Ct = MetaCt;
    type Ext = MetaCt;
    type Pt = MetaPt;
    type ExtPt = MetaPt;
    type Dec = usize;

    fn name(&self) -> &'static str {
        "meta"
    }
    fn params(&self) -> &Params {
        &self.params
    }

    fn encode(&self, values: &[Complex64], level: usize, scale: f64) -> Result<MetaPt, CkksError> {
        check_encode(&self.params, level, scale)?;
        Ok(MetaPt {
            level,
            scale,
            slots: slots_for(&self.params, values.len())?,
        })
    }
    fn encode_extended(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<MetaPt, CkksError> {
        self.encode(values, level, scale)
    }
    fn extended_plaintext_level(&self, pt: &MetaPt) -> usize {
        pt.level
    }
    fn trivial(&self, pt: &MetaPt) -> Result<MetaCt, CkksError> {
        Ok(self.fresh(pt.level, pt.scale, pt.slots))
    }

    fn drop_to_level(&self, ct: &MetaCt, level: usize) -> Result<MetaCt, CkksError> {
        check_drop(ct.level, level)?;
        Ok(MetaCt { level, ..*ct })
    }
    fn rescale(&self, ct: &MetaCt) -> Result<MetaCt, CkksError> {
        if ct.level == 0 {
            return Err(CkksError::NoLevelLeft);
        }
        Ok(MetaCt {
            level: ct.level - 1,
            scale: ct.scale / self.q(ct.level),
            ..*ct
        })
    }

    fn add(&self, a: &MetaCt, b: &MetaCt) -> Result<MetaCt, CkksError> {
        self.binary(a, b)
    }
    fn sub(&self, a: &MetaCt, b: &MetaCt) -> Result<MetaCt, CkksError> {
        self.binary(a, b)
    }
    fn neg(&self, a: &MetaCt) -> Result<MetaCt, CkksError> {
        Ok(*a)
    }
    fn add_assign(&self, acc: &mut MetaCt, b: &MetaCt) -> Result<(), CkksError> {
        *acc = self.binary(acc, b)?;
        Ok(())
    }
    fn sub_assign(&self, acc: &mut MetaCt, b: &MetaCt) -> Result<(), CkksError> {
        *acc = self.binary(acc, b)?;
        Ok(())
    }
    fn add_plain(&self, a: &MetaCt, pt: &MetaPt) -> Result<MetaCt, CkksError> {
        check_same_level(a.level, pt.level)?;
        check_scales(a.scale, pt.scale)?;
        check_slots(a.slots, pt.slots)?;
        Ok(*a)
    }
    fn sub_plain(&self, a: &MetaCt, pt: &MetaPt) -> Result<MetaCt, CkksError> {
        self.add_plain(a, pt)
    }
    fn add_const(&self, a: &MetaCt, c: f64) -> Result<MetaCt, CkksError> {
        if !(c * a.scale).is_finite() {
            return Err(CkksError::NonFiniteValue { index: 0 });
        }
        Ok(*a)
    }
    fn add_const_complex(&self, a: &MetaCt, c: Complex64) -> Result<MetaCt, CkksError> {
        if !(c * a.scale).is_finite() {
            return Err(CkksError::NonFiniteValue { index: 0 });
        }
        Ok(*a)
    }

    fn mul_integer(&self, a: &MetaCt, _k: i64) -> Result<MetaCt, CkksError> {
        Ok(*a)
    }
    fn mul_const_with_scale(&self, a: &MetaCt, c: f64, s: f64) -> Result<MetaCt, CkksError> {
        if !(c * s).is_finite() {
            return Err(CkksError::NonFiniteValue { index: 0 });
        }
        Ok(MetaCt {
            scale: a.scale * s,
            ..*a
        })
    }
    fn linear_combination(
        &self,
        terms: &[(&MetaCt, Complex64, f64)],
        level: usize,
    ) -> Result<MetaCt, CkksError> {
        let checked: Vec<(&MetaCt, f64)> = terms.iter().map(|&(a, _, cs)| (a, cs)).collect();
        let scale = check_linear_combination(&checked, level)?;
        let first = terms[0].0;
        Ok(MetaCt {
            level,
            scale,
            slots: first.slots,
            degree: first.degree,
        })
    }
    fn mul_plain(&self, a: &MetaCt, pt: &MetaPt) -> Result<MetaCt, CkksError> {
        check_same_level(a.level, pt.level)?;
        check_slots(a.slots, pt.slots)?;
        Ok(MetaCt {
            scale: a.scale * pt.scale,
            ..*a
        })
    }
    fn mul(&self, a: &MetaCt, b: &MetaCt) -> Result<MetaCt, CkksError> {
        check_slots(a.slots, b.slots)?;
        Self::degree_one(a)?;
        Self::degree_one(b)?;
        check_same_level(a.level, b.level)?;
        Ok(MetaCt {
            scale: a.scale * b.scale,
            degree: 2,
            ..*a
        })
    }
    fn relinearize(&self, a: &MetaCt) -> Result<MetaCt, CkksError> {
        match a.degree {
            1 => Ok(*a),
            2 => {
                self.check_relin()?;
                Ok(MetaCt { degree: 1, ..*a })
            }
            d => Err(CkksError::NeedsRelinearization { degree: d }),
        }
    }
    fn mul_by_i(&self, a: &MetaCt) -> Result<MetaCt, CkksError> {
        Ok(*a)
    }

    fn decompose(&self, ct: &MetaCt) -> Result<usize, CkksError> {
        Self::degree_one(ct)?;
        Ok(ct.level)
    }
    fn apply_galois_hoisted(
        &self,
        ct: &MetaCt,
        dec: &usize,
        element: u64,
        steps: Option<i64>,
    ) -> Result<MetaCt, CkksError> {
        check_decomposition(*dec, ct.level)?;
        self.check_galois(element, steps)?;
        Ok(*ct)
    }
    fn apply_galois(&self, ct: &MetaCt, element: u64) -> Result<MetaCt, CkksError> {
        Self::degree_one(ct)?;
        self.check_galois(element, None)?;
        Ok(*ct)
    }
    fn rotate(&self, ct: &MetaCt, steps: i64) -> Result<MetaCt, CkksError> {
        Self::degree_one(ct)?;
        self.check_galois(self.rotation_element(steps), Some(steps))?;
        Ok(*ct)
    }

    fn extend(&self, ct: &MetaCt) -> Result<MetaCt, CkksError> {
        Self::degree_one(ct)?;
        Ok(*ct)
    }
    fn zero_extended(&self, level: usize, scale: f64, slots: usize) -> MetaCt {
        MetaCt {
            level,
            scale,
            slots,
            degree: 1,
        }
    }
    fn apply_galois_hoisted_extended(
        &self,
        ct: &MetaCt,
        dec: &usize,
        element: u64,
        steps: Option<i64>,
    ) -> Result<MetaCt, CkksError> {
        self.apply_galois_hoisted(ct, dec, element, steps)
    }
    fn sum_of_products_extended(&self, terms: &[(&MetaCt, &MetaPt)]) -> Result<MetaCt, CkksError> {
        let meta: Vec<_> = terms
            .iter()
            .map(|(a, p)| ((a.level, a.scale, a.slots), (p.level, p.scale, p.slots)))
            .collect();
        let scale = check_sum_of_products(&meta)?;
        Ok(MetaCt {
            scale,
            ..*terms[0].0
        })
    }
    fn add_assign_extended(&self, acc: &mut MetaCt, x: &MetaCt) -> Result<(), CkksError> {
        *acc = self.binary(acc, x)?;
        Ok(())
    }
    fn sub_assign_extended(&self, acc: &mut MetaCt, x: &MetaCt) -> Result<(), CkksError> {
        *acc = self.binary(acc, x)?;
        Ok(())
    }
    fn apply_galois_add_assign_extended(
        &self,
        acc: &mut MetaCt,
        x: &MetaCt,
        element: u64,
        steps: Option<i64>,
    ) -> Result<(), CkksError> {
        self.check_galois(element, steps)?;
        *acc = self.binary(acc, x)?;
        Ok(())
    }
    fn relinearize_extended(&self, a: &MetaCt) -> Result<MetaCt, CkksError> {
        if a.degree != 2 {
            return Err(CkksError::NeedsRelinearization { degree: a.degree });
        }
        self.check_relin()?;
        Ok(MetaCt { degree: 1, ..*a })
    }
    fn mul_integer_extended(&self, _x: &mut MetaCt, _k: i64) -> Result<(), CkksError> {
        Ok(())
    }
    fn add_const_extended(&self, x: &mut MetaCt, c: f64) -> Result<(), CkksError> {
        if !(c * x.scale).is_finite() {
            return Err(CkksError::NonFiniteValue { index: 0 });
        }
        Ok(())
    }
    fn mod_down_rescale(&self, x: MetaCt) -> Result<MetaCt, CkksError> {
        self.rescale(&x)
    }
    fn mod_down_extended(&self, x: MetaCt) -> Result<MetaCt, CkksError> {
        Ok(x)
    }

    fn mod_raise(&self, ct: &MetaCt, level: usize) -> Result<MetaCt, CkksError> {
        check_mod_raise(&self.params, ct, level)?;
        Ok(MetaCt { level, ..*ct })
    }
}
