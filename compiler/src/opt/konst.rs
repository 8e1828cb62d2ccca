//! Compile-time plaintexts: the values the optimizer can fold, with identity by interning.
//!
//! A [`Konst`] is `scale · m_1 · … · m_n`, a real scale times a slotwise product of mask rules
//! (an empty product is the constant `scale` in every slot). It is closed under products and
//! rotations (a rotated mask is [`Mask::Rotated`]), which are the foldings the rules need:
//! `mul_plain(mul_plain(x, p), q) = mul_plain(x, p·q)` and `rot(x·m, k) = rot(x, k)·rot(m, k)`.
//! Sums of constants fold only for scalars. [`KonstTable`] interns each rule once, so two
//! derivations of the same plaintext are one e-graph leaf.

use blindtune_runtime::plan::{BlockShape, Mask};
use num_complex::Complex64;
use std::collections::HashMap;

/// `scale · Π masks`, masks in a canonical order (by their rule's text).
#[derive(Clone, Debug, PartialEq)]
pub struct Konst {
    pub scale: f64,
    pub masks: Vec<Mask>,
}

impl Konst {
    pub fn scalar(v: f64) -> Konst {
        Konst {
            scale: v,
            masks: vec![],
        }
    }

    pub fn mask(m: Mask) -> Konst {
        Konst {
            scale: 1.0,
            masks: vec![m],
        }
    }

    /// The scalar, if this is one number in every slot.
    pub fn as_scalar(&self) -> Option<f64> {
        self.masks.is_empty().then_some(self.scale)
    }

    /// The slotwise product.
    pub fn mul(&self, other: &Konst) -> Konst {
        let mut masks = self.masks.clone();
        masks.extend(other.masks.iter().cloned());
        Konst::normalized(self.scale * other.scale, masks)
    }

    /// Rotated like a ciphertext (`slot j ← slot j + steps`); scalars do not move.
    pub fn rotate(&self, steps: i64, block: BlockShape) -> Konst {
        let masks = self.masks.iter().map(|m| m.rotated(steps, block)).collect();
        Konst::normalized(self.scale, masks)
    }

    /// The sum, when it is representable (scalars only).
    pub fn add(&self, other: &Konst) -> Option<Konst> {
        Some(Konst::scalar(self.as_scalar()? + other.as_scalar()?))
    }

    fn normalized(scale: f64, mut masks: Vec<Mask>) -> Konst {
        if scale == 0.0 {
            masks.clear();
        }
        masks.sort_by_cached_key(|m| format!("{m:?}"));
        Konst { scale, masks }
    }

    /// The identity of the rule (equal keys: equal plaintexts).
    pub fn key(&self) -> String {
        format!("{:?}|{:?}", self.scale, self.masks)
    }

    /// The block's slot vector.
    pub fn slots(&self, block: BlockShape) -> Vec<Complex64> {
        let mut v = vec![Complex64::new(self.scale, 0.0); block.slots()];
        for m in &self.masks {
            for (x, y) in v.iter_mut().zip(m.slots(block)) {
                *x *= y;
            }
        }
        v
    }
}

/// Interned plaintext rules: one index per distinct [`Konst::key`].
#[derive(Clone, Debug, Default)]
pub struct KonstTable {
    items: Vec<Konst>,
    index: HashMap<String, u32>,
}

impl KonstTable {
    pub fn intern(&mut self, k: Konst) -> u32 {
        let key = k.key();
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.items.len() as u32;
        self.items.push(k);
        self.index.insert(key, i);
        i
    }

    pub fn get(&self, i: u32) -> &Konst {
        &self.items[i as usize]
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(lo: usize, hi: usize) -> Mask {
        Mask::Window {
            row_mod: 1,
            row_lo: 0,
            row_hi: 1,
            col_mod: 8,
            col_lo: lo,
            col_hi: hi,
        }
    }

    #[test]
    fn products_and_rotations_fold_to_the_slotwise_values() {
        let block = BlockShape { s0: 2, s1: 8 };
        let (a, b) = (Konst::mask(window(0, 5)), Konst::mask(window(2, 8)));
        let p = a.mul(&Konst::scalar(0.5)).mul(&b);
        let (va, vb, vp) = (a.slots(block), b.slots(block), p.slots(block));
        for j in 0..block.slots() {
            assert_eq!(vp[j], va[j] * vb[j] * 0.5);
        }
        let r = p.rotate(3, block);
        let vr = r.slots(block);
        for j in 0..block.slots() {
            assert_eq!(vr[j], vp[(j + 3) % block.slots()]);
        }
        // equal rules intern to one index, whatever the order of the factors
        let mut t = KonstTable::default();
        assert_eq!(
            t.intern(b.mul(&a).mul(&Konst::scalar(0.5))),
            t.intern(p.clone())
        );
        assert_eq!(t.intern(p.rotate(3, block).rotate(-3, block)), t.intern(p));
        assert_eq!(
            Konst::scalar(2.0).add(&Konst::scalar(0.5)),
            Some(Konst::scalar(2.5))
        );
        assert_eq!(a.add(&b), None);
    }
}
