//! Key material, separated by role.
//!
//! * [`SecretKey`]: stays with the data owner. It is not part of [`EvaluationKeys`], no
//!   evaluation API accepts it, its file kind is refused by every loader of evaluation
//!   material, and its memory is wiped on drop.
//! * [`PublicKey`]: encryption only.
//! * [`EvaluationKeys`]: what a cloud runtime receives: a relinearization key and Galois
//!   keys, each a hybrid switching key with `dnum` digits over `Q·P`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rns::Poly;

/// The secret key `s`, as small coefficients and as a polynomial over all of `Q·P` (NTT).
pub struct SecretKey {
    pub(crate) coeffs: Vec<i64>,
    pub(crate) poly: Poly,
    pub(crate) fingerprint: [u8; 32],
}

impl SecretKey {
    /// Fingerprint of the parameter set the key belongs to.
    pub fn params_fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
    /// Hamming weight (number of non-zero coefficients).
    pub fn hamming_weight(&self) -> usize {
        self.coeffs.iter().filter(|&&c| c != 0).count()
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey { <redacted> }")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        // Volatile writes so the wipe is not optimised away.
        for c in self.coeffs.iter_mut() {
            unsafe { std::ptr::write_volatile(c, 0) };
        }
        for c in self.poly.data_mut().iter_mut() {
            unsafe { std::ptr::write_volatile(c, 0) };
        }
    }
}

/// An encryption of zero under `s` over `Q_L`: `b = -a·s + e`.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicKey {
    pub(crate) b: Poly,
    pub(crate) a: Poly,
    pub(crate) fingerprint: [u8; 32],
}

/// A hybrid key-switching key from a source secret `s'` to `s`: for each digit `j`,
/// `(b_j, a_j)` over `Q·P` (NTT) with `b_j = -a_j·s + e_j + P·g_j·s'`, where `g_j` is
/// 1 on the limbs of digit `j` and 0 elsewhere.
///
/// A key is held only up to the highest level it is used at (`max_level`): its polynomials
/// keep the limbs `q_0 … q_max_level` and all of `P`, and only the digits those limbs reach.
/// RNS limbs are independent, so such a key is exactly the full key with limbs dropped; at
/// N = 2^16 a key used by SlotsToCoeffs only is about a third of a full one.
#[derive(Clone, Debug, PartialEq)]
pub struct SwitchingKey {
    pub(crate) b: Vec<Poly>,
    pub(crate) a: Vec<Poly>,
    pub(crate) max_level: usize,
    /// Held below the parameters' top level (then `max_level` is written with the key).
    pub(crate) truncated: bool,
    /// The seeds the uniform halves `a_j` were drawn from (one per digit), when known: a key
    /// file then stores them instead of the polynomials, half the bytes.
    pub(crate) a_seeds: Option<Vec<[u8; 32]>>,
}

impl SwitchingKey {
    pub fn dnum(&self) -> usize {
        self.b.len()
    }

    /// Size in bytes of the key as stored in a file: the `b` halves, and the `a` halves or
    /// their 32-byte seeds.
    pub fn stored_bytes(&self) -> usize {
        let b: usize = self.b.iter().map(|p| p.data().len() * 8).sum();
        match &self.a_seeds {
            Some(seeds) => b + seeds.len() * 32,
            None => b + self.a.iter().map(|p| p.data().len() * 8).sum::<usize>(),
        }
    }

    /// The highest level this key can switch at.
    pub fn max_level(&self) -> usize {
        self.max_level
    }

    /// Position in the key's polynomials of basis limb `b_idx` (a Q limb up to `max_level`,
    /// or a P limb).
    #[inline]
    pub(crate) fn position(&self, num_q: usize, b_idx: usize) -> usize {
        if b_idx < num_q {
            debug_assert!(b_idx <= self.max_level);
            b_idx
        } else {
            self.max_level + 1 + (b_idx - num_q)
        }
    }

    /// The same key held only up to `max_level` (no-op if it is already at or below).
    pub fn truncated(&self, ctx: &crate::ckks::Context, max_level: usize) -> SwitchingKey {
        if max_level >= self.max_level {
            return self.clone();
        }
        let num_q = ctx.basis().num_q();
        let digits = ctx.digits(max_level).len();
        let keep: Vec<usize> = (0..=max_level)
            .chain((0..ctx.basis().num_p()).map(|j| self.position(num_q, num_q + j)))
            .collect();
        let cut = |p: &Poly| Poly::from_limbs(ctx.n(), keep.iter().map(|&i| p.limb(i)));
        SwitchingKey {
            b: self.b.iter().take(digits).map(cut).collect(),
            a: self.a.iter().take(digits).map(cut).collect(),
            max_level,
            truncated: true,
            a_seeds: self.a_seeds.as_ref().map(|s| s[..digits].to_vec()),
        }
    }

    /// Refuses a switch at `level` above the key's.
    pub(crate) fn check_level(
        &self,
        level: usize,
        what: &'static str,
    ) -> Result<(), crate::ckks::CkksError> {
        if level > self.max_level {
            return Err(crate::ckks::CkksError::KeyLevelTooLow {
                what,
                level,
                key_level: self.max_level,
            });
        }
        Ok(())
    }
    /// Size in bytes of the residues.
    pub fn size_bytes(&self) -> usize {
        self.b
            .iter()
            .chain(&self.a)
            .map(|p| p.data().len() * 8)
            .sum()
    }
}

/// Switching key from `s²` to `s`.
#[derive(Clone, Debug, PartialEq)]
pub struct RelinearizationKey {
    pub(crate) key: SwitchingKey,
}

impl RelinearizationKey {
    pub fn switching_key(&self) -> &SwitchingKey {
        &self.key
    }
}

/// Switching key from `σ_g(s)` to `s` for the automorphism `X ↦ X^g`.
#[derive(Clone, Debug, PartialEq)]
pub struct GaloisKey {
    pub(crate) element: u64,
    pub(crate) key: SwitchingKey,
}

impl GaloisKey {
    pub fn element(&self) -> u64 {
        self.element
    }
    pub fn switching_key(&self) -> &SwitchingKey {
        &self.key
    }
}

/// Which evaluation keys a computation needs (and a key set provides). Circuits declare
/// their needs with it; the key generator fulfils them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct KeyManifest {
    pub relinearization: bool,
    /// Galois elements, ordered.
    pub galois_elements: Vec<u64>,
    /// Highest level each key is used at, when known (from a counted trace): keys are then
    /// generated only up to it. Absent: the top level. Galois elements by element; the
    /// relinearization key under element 0.
    #[serde(default)]
    pub max_levels: BTreeMap<u64, usize>,
}

/// JSON leaves an empty `max_levels` out; a binary (not self-describing) form always writes it,
/// or every later field would be misread.
impl Serialize for KeyManifest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let every_field = !s.is_human_readable();
        let mut st = s.serialize_struct("KeyManifest", 3)?;
        st.serialize_field("relinearization", &self.relinearization)?;
        st.serialize_field("galois_elements", &self.galois_elements)?;
        if every_field || !self.max_levels.is_empty() {
            st.serialize_field("max_levels", &self.max_levels)?;
        } else {
            st.skip_field("max_levels")?;
        }
        st.end()
    }
}

/// The `max_levels` entry of the relinearization key.
pub const RELINEARIZATION_ENTRY: u64 = 0;

impl KeyManifest {
    /// Merges another manifest into this one (a level bound survives only where both bound
    /// the key; otherwise the key is needed at the top).
    pub fn union(&mut self, other: &KeyManifest) {
        let bound = |m: &KeyManifest, g: u64, has: bool| -> Option<Option<usize>> {
            has.then(|| m.max_levels.get(&g).copied())
        };
        let mut levels = BTreeMap::new();
        let mut all: Vec<u64> = self
            .galois_elements
            .iter()
            .chain(&other.galois_elements)
            .copied()
            .collect();
        all.push(RELINEARIZATION_ENTRY);
        for g in all {
            let (has_a, has_b) = if g == RELINEARIZATION_ENTRY {
                (self.relinearization, other.relinearization)
            } else {
                (
                    self.galois_elements.contains(&g),
                    other.galois_elements.contains(&g),
                )
            };
            let merged = match (bound(self, g, has_a), bound(other, g, has_b)) {
                (Some(Some(a)), Some(Some(b))) => Some(a.max(b)),
                (Some(Some(a)), None) | (None, Some(Some(a))) => Some(a),
                _ => None,
            };
            if let Some(l) = merged {
                levels.insert(g, l);
            }
        }
        self.relinearization |= other.relinearization;
        self.galois_elements.extend(&other.galois_elements);
        self.galois_elements.sort_unstable();
        self.galois_elements.dedup();
        self.max_levels = levels;
    }

    /// The level up to which the key of `element` (or [`RELINEARIZATION_ENTRY`]) is needed.
    pub fn max_level(&self, element: u64, top: usize) -> usize {
        self.max_levels.get(&element).map_or(top, |&l| l.min(top))
    }
}

/// Everything a cloud evaluator may hold. Contains no secret material by construction.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluationKeys {
    pub(crate) relin: Option<RelinearizationKey>,
    pub(crate) galois: BTreeMap<u64, GaloisKey>,
    pub(crate) fingerprint: [u8; 32],
}

impl EvaluationKeys {
    pub fn params_fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
    pub fn relinearization_key(&self) -> Option<&RelinearizationKey> {
        self.relin.as_ref()
    }
    pub fn galois_key(&self, element: u64) -> Option<&GaloisKey> {
        self.galois.get(&element)
    }
    /// The manifest this key set satisfies.
    pub fn manifest(&self) -> KeyManifest {
        KeyManifest {
            max_levels: self
                .relin
                .iter()
                .map(|r| (RELINEARIZATION_ENTRY, r.key.max_level))
                .chain(self.galois.iter().map(|(&g, k)| (g, k.key.max_level)))
                .collect(),
            relinearization: self.relin.is_some(),
            galois_elements: self.galois.keys().copied().collect(),
        }
    }
    /// Whether every key named in `needs` is present.
    /// Whether every key named in `needs` is present, up to the level it is needed at.
    pub fn satisfies(&self, needs: &KeyManifest) -> bool {
        let reaches = |k: &SwitchingKey, entry: u64| match needs.max_levels.get(&entry) {
            Some(&l) => l <= k.max_level,
            None => !k.truncated,
        };
        (!needs.relinearization
            || self
                .relin
                .as_ref()
                .is_some_and(|r| reaches(&r.key, RELINEARIZATION_ENTRY)))
            && needs
                .galois_elements
                .iter()
                .all(|g| self.galois.get(g).is_some_and(|k| reaches(&k.key, *g)))
    }
    /// Size of the keys as stored in a file (seeded uniform halves take 32 bytes each).
    pub fn stored_bytes(&self) -> usize {
        self.relin
            .iter()
            .map(|r| r.key.stored_bytes())
            .sum::<usize>()
            + self
                .galois
                .values()
                .map(|g| g.key.stored_bytes())
                .sum::<usize>()
    }

    /// Total size of the key residues in bytes.
    pub fn size_bytes(&self) -> usize {
        self.relin.iter().map(|r| r.key.size_bytes()).sum::<usize>()
            + self
                .galois
                .values()
                .map(|g| g.key.size_bytes())
                .sum::<usize>()
    }
    /// Adds keys from another set (same parameters).
    pub fn extend(&mut self, other: EvaluationKeys) {
        if other.relin.is_some() {
            self.relin = other.relin;
        }
        self.galois.extend(other.galois);
    }
}
