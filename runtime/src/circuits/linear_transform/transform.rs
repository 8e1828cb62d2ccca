//! Homomorphic evaluation of a [`DiagonalMatrix`] with baby-step giant-step and double
//! hoisting.
//!
//! With `k = g·n1 + b`, `M·v = Σ_g rot_{g·n1}( Σ_b rot_{-g·n1}(diag_k) ⊙ rot_b(v) )`:
//!
//! * the baby-step rotations `rot_b(v)` share one key-switch decomposition (hoisting) and
//!   stay over `Q ∪ P` without their ModDown;
//! * the inner sums are computed there, against diagonals encoded over `Q ∪ P`;
//! * each giant step rotates its inner sum while staying extended (double hoisting), and a
//!   single ModDown ends the transform (see [`crate::ckks::extended`]).
//!
//! Pre-rotated diagonals are encoded once, at the level the transform runs at, with scale
//! `q_level`, so the single rescale at the end restores the input scale exactly.

use std::collections::BTreeMap;

use crate::backend::{Backend, CiphertextMeta, CpuBackend};
use crate::ckks::galois;
use crate::ckks::keys::KeyManifest;
use crate::ckks::CkksError;

use super::DiagonalMatrix;

/// A linear transform ready to run at one level, its diagonals encoded for backend `B`.
#[derive(Debug, Clone)]
pub struct LinearTransform<B: Backend = CpuBackend> {
    slots: usize,
    level: usize,
    n1: usize,
    /// giant step g → [(baby step b, pre-rotated diagonal)]
    giant: BTreeMap<usize, Vec<(usize, B::ExtPt)>>,
}

/// Relative cost of a giant step against a baby step in [`best_baby_step`].
///
/// With double hoisting a baby step is an inner product with a key plus a lift of the first
/// part (about 10 NTT-equivalents at N = 2^16 and 33 limbs), while a giant step adds a ModDown
/// of one part and a full decomposition (about 160): giants are 15–20 times dearer in time.
/// Every distinct rotation also needs a Galois key (about 135 MB at N = 2^16, dnum 4), so
/// trading all giants for babies would triple the keys of bootstrapping (47 → 145). A weight
/// of 4 halves the transforms' key-switching work for about a fifth more keys.
pub const GIANT_STEP_WEIGHT: usize = 4;

/// The baby-step size for the diagonals `ks` (mod `n`): minimises
/// `babies + GIANT_STEP_WEIGHT · giants`, then the number of rotations (keys).
pub fn best_baby_step(ks: &[usize], n: usize) -> usize {
    let mut best = ((usize::MAX, usize::MAX), 1);
    let mut n1 = 1;
    while n1 <= n {
        let babies: std::collections::BTreeSet<usize> = ks.iter().map(|k| k % n1).collect();
        let giants: std::collections::BTreeSet<usize> = ks.iter().map(|k| k / n1).collect();
        let b = babies.iter().filter(|&&b| b != 0).count();
        let g = giants.iter().filter(|&&g| g != 0).count();
        let cost = (b + GIANT_STEP_WEIGHT * g, b + g);
        if cost < best.0 {
            best = (cost, n1);
        }
        n1 *= 2;
    }
    best.1
}

/// Number of non-zero baby steps and of non-zero giant steps of the BSGS evaluation of `m`.
/// With double hoisting the baby steps share one decomposition and skip their ModDowns;
/// each giant step costs one ModDown (of one part), one decomposition and one inner
/// product; the transform ends with one ModDown of both parts.
pub fn bsgs_shape(m: &DiagonalMatrix) -> (usize, usize) {
    let ks: Vec<usize> = m.diagonals().keys().copied().collect();
    let n1 = best_baby_step(&ks, m.n());
    let babies: std::collections::BTreeSet<usize> =
        ks.iter().map(|k| k % n1).filter(|&b| b != 0).collect();
    let giants: std::collections::BTreeSet<usize> =
        ks.iter().map(|k| k / n1).filter(|&g| g != 0).collect();
    (babies.len(), giants.len())
}

/// Rotation steps the BSGS evaluation of `m` needs (baby steps, then giant steps).
pub fn rotations_for(m: &DiagonalMatrix) -> Vec<i64> {
    let ks: Vec<usize> = m.diagonals().keys().copied().collect();
    let n1 = best_baby_step(&ks, m.n());
    let mut r: Vec<i64> = ks
        .iter()
        .map(|k| (k % n1) as i64)
        .filter(|&b| b != 0)
        .collect();
    r.extend(ks.iter().map(|k| (k / n1 * n1) as i64).filter(|&g| g != 0));
    r.sort_unstable();
    r.dedup();
    r
}

impl<B: Backend> LinearTransform<B> {
    /// Encodes the pre-rotated diagonals of `m` for a ciphertext at `level` with `m.n()` slots,
    /// at scale `q_level`: the output scale equals the input scale exactly.
    pub fn new(backend: &B, m: &DiagonalMatrix, level: usize) -> Result<Self, CkksError> {
        let q = backend.params().q();
        if level >= q.len() {
            return Err(CkksError::LevelOutOfRange {
                level,
                max: q.len() - 1,
            });
        }
        let scale = q[level] as f64;
        Self::with_plaintext_scale(backend, m, level, scale)
    }

    /// As [`new`](Self::new) with the diagonals encoded at `pt_scale`: the output scale is
    /// `input scale · pt_scale / q_level`.
    pub fn with_plaintext_scale(
        backend: &B,
        m: &DiagonalMatrix,
        level: usize,
        pt_scale: f64,
    ) -> Result<Self, CkksError> {
        let n = m.n();
        let ks: Vec<usize> = m.diagonals().keys().copied().collect();
        let n1 = best_baby_step(&ks, n);
        let scale = pt_scale;
        let mut giant: BTreeMap<usize, Vec<(usize, B::ExtPt)>> = BTreeMap::new();
        for (&k, d) in m.diagonals() {
            let (g, b) = (k / n1, k % n1);
            let shift = g * n1;
            // rot_{-shift}(d)[i] = d[(i - shift) mod n]
            let rotated: Vec<_> = (0..n).map(|i| d[(i + n - shift % n) % n]).collect();
            let pt = backend.encode_extended(&rotated, level, scale)?;
            giant.entry(g).or_default().push((b, pt));
        }
        Ok(LinearTransform {
            slots: n,
            level,
            n1,
            giant,
        })
    }

    pub fn level(&self) -> usize {
        self.level
    }

    /// Rotation steps this transform needs keys for (equal to [`rotations_for`] of its matrix).
    pub fn rotations(&self) -> Vec<i64> {
        let mut r: Vec<i64> = self
            .giant
            .values()
            .flatten()
            .map(|(b, _)| *b as i64)
            .filter(|&b| b != 0)
            .collect();
        r.extend(
            self.giant
                .keys()
                .filter(|&&g| g != 0)
                .map(|&g| (g * self.n1) as i64),
        );
        r.sort_unstable();
        r.dedup();
        r
    }

    /// The evaluation keys this transform needs (Galois elements of its rotations).
    pub fn key_manifest(&self, backend: &B) -> KeyManifest {
        let log_n = backend.params().log_n();
        let mut m = KeyManifest {
            max_levels: self
                .rotations()
                .iter()
                .map(|&r| (galois::rotation_element(log_n, r), self.level))
                .collect(),
            relinearization: false,
            galois_elements: self
                .rotations()
                .iter()
                .map(|&r| galois::rotation_element(log_n, r))
                .collect(),
        };
        m.galois_elements.sort_unstable();
        m.galois_elements.dedup();
        m
    }

    /// Number of plaintext diagonals (ct-pt products).
    pub fn num_diagonals(&self) -> usize {
        self.giant.values().map(|v| v.len()).sum()
    }

    /// Evaluates `M·ct`, consuming one level. `ct` must be at this transform's level.
    /// The final ModDown and the rescale are one division by `P·q_level`.
    pub fn evaluate(&self, eval: &B, ct: &B::Ct) -> Result<B::Ct, CkksError> {
        eval.mod_down_rescale(self.evaluate_extended(eval, ct)?)
    }

    /// `M·ct` before its final rescale (scale `input · pt_scale`): callers that apply more
    /// key switches (e.g. a conjugation) can do so while the scale is large, where the
    /// key-switching noise is negligible, and rescale afterwards.
    pub fn evaluate_without_rescale(&self, eval: &B, ct: &B::Ct) -> Result<B::Ct, CkksError> {
        eval.mod_down_extended(self.evaluate_extended(eval, ct)?)
    }

    /// `P·M·ct` over `Q_level ∪ P`, before any division.
    fn evaluate_extended(&self, eval: &B, ct: &B::Ct) -> Result<B::Ext, CkksError> {
        if ct.slots() != self.slots {
            return Err(CkksError::SlotMismatch {
                left: ct.slots(),
                right: self.slots,
            });
        }
        let ct = if ct.level() > self.level {
            eval.drop_to_level(ct, self.level)?
        } else if ct.level() < self.level {
            return Err(CkksError::InvalidLevelDrop {
                from: ct.level(),
                to: self.level,
            });
        } else {
            ct.clone()
        };
        // Baby steps, hoisted, left over Q ∪ P.
        let mut babies: Vec<usize> = self.giant.values().flatten().map(|(b, _)| *b).collect();
        babies.sort_unstable();
        babies.dedup();
        let dec = eval.decompose(&ct)?;
        let mut rotated: BTreeMap<usize, B::Ext> = BTreeMap::new();
        for &b in &babies {
            let element = eval.rotation_element(b as i64);
            let r = eval.apply_galois_hoisted_extended(&ct, &dec, element, Some(b as i64))?;
            rotated.insert(b, r);
        }
        drop(dec);
        // Giant steps: inner sums over Q ∪ P, rotated without leaving it.
        let mut acc: Option<B::Ext> = None;
        for (&g, terms) in &self.giant {
            let pairs: Vec<_> = terms.iter().map(|(b, pt)| (&rotated[b], pt)).collect();
            let inner = eval.sum_of_products_extended(&pairs)?;
            match acc.as_mut() {
                None if g == 0 => acc = Some(inner),
                None => {
                    let mut zero = eval.zero_extended(inner.level(), inner.scale(), inner.slots());
                    let steps = (g * self.n1) as i64;
                    eval.apply_galois_add_assign_extended(
                        &mut zero,
                        &inner,
                        eval.rotation_element(steps),
                        Some(steps),
                    )?;
                    acc = Some(zero);
                }
                Some(x) => {
                    let steps = (g * self.n1) as i64;
                    eval.apply_galois_add_assign_extended(
                        x,
                        &inner,
                        eval.rotation_element(steps),
                        Some(steps),
                    )?;
                }
            }
        }
        acc.ok_or(CkksError::InvalidLevelDrop {
            from: ct.level(),
            to: self.level,
        })
    }
}
