//! A CKKS context: parameters plus every precomputed table the algorithms share (NTT
//! tables, key-switching base converters, rescaling constants, CRT reconstruction,
//! Galois permutations). Built once and shared behind an `Arc`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use super::galois;
use super::math::ShoupConst;
use super::params::Params;
use super::rns::{BaseConverter, CrtReconstructor, RnsBasis};

/// Shared precomputation for one parameter set.
#[derive(Debug)]
pub struct Context {
    params: Params,
    basis: RnsBasis,
    /// Converters from a digit's limb range `[start, end)` to every limb, keyed by the range.
    modup: HashMap<(usize, usize), BaseConverter>,
    /// Converter from the P limbs to every limb.
    moddown: BaseConverter,
    /// `[P^{-1}]_{q_i}`.
    p_inv_mod_q: Vec<ShoupConst>,
    /// `[P]_{q_i}`.
    p_mod_q: Vec<u64>,
    /// `rescale_inv[l][i] = [q_l^{-1}]_{q_i}` for `i < l`.
    rescale_inv: Vec<Vec<ShoupConst>>,
    crt: Vec<OnceLock<CrtReconstructor>>,
    galois_perms: RwLock<HashMap<u64, Arc<Vec<u32>>>>,
    /// NTT of the monomial `X^{N/2}` (the slot-wise imaginary unit) on each Q limb.
    imaginary_unit: Vec<OnceLock<Vec<u64>>>,
    /// Per level `ℓ ≥ 1`: converter from the limbs `{q_ℓ} ∪ P` (ModDown fused with a rescale).
    moddown_rescale: Vec<OnceLock<BaseConverter>>,
}

impl Context {
    pub fn new(params: Params) -> Arc<Self> {
        let basis = RnsBasis::new(params.n(), params.q(), params.p());
        let num_q = basis.num_q();
        let alpha = params.alpha();
        let mut modup = HashMap::new();
        for start in (0..num_q).step_by(alpha) {
            for end in start + 1..=(start + alpha).min(num_q) {
                let from: Vec<usize> = (start..end).collect();
                modup.insert((start, end), BaseConverter::new(&basis, &from));
            }
        }
        let moddown = BaseConverter::new(&basis, &basis.p_indices());
        let mut p_mod_q = Vec::with_capacity(num_q);
        let mut p_inv_mod_q = Vec::with_capacity(num_q);
        for i in 0..num_q {
            let m = basis.modulus(i);
            let p = params
                .p()
                .iter()
                .fold(1u64, |acc, &pj| m.mul(acc, m.reduce(pj)));
            p_mod_q.push(p);
            p_inv_mod_q.push(m.shoup(m.inv(p)));
        }
        let rescale_inv = (0..num_q)
            .map(|l| {
                (0..l)
                    .map(|i| {
                        let m = basis.modulus(i);
                        m.shoup(m.inv(m.reduce(params.q()[l])))
                    })
                    .collect()
            })
            .collect();
        let crt = (0..num_q).map(|_| OnceLock::new()).collect();
        let imaginary_unit = (0..num_q).map(|_| OnceLock::new()).collect();
        let moddown_rescale = (0..num_q).map(|_| OnceLock::new()).collect();
        Arc::new(Context {
            params,
            basis,
            modup,
            moddown,
            p_inv_mod_q,
            p_mod_q,
            rescale_inv,
            crt,
            galois_perms: RwLock::new(HashMap::new()),
            imaginary_unit,
            moddown_rescale,
        })
    }

    pub fn params(&self) -> &Params {
        &self.params
    }
    pub fn basis(&self) -> &RnsBasis {
        &self.basis
    }
    pub fn n(&self) -> usize {
        self.params.n()
    }
    pub fn max_level(&self) -> usize {
        self.params.max_level()
    }

    /// Limb ranges `[start, end)` of the key-switching digits of a polynomial at `level`.
    pub fn digits(&self, level: usize) -> Vec<(usize, usize)> {
        let alpha = self.params.alpha();
        (0..=level)
            .step_by(alpha)
            .map(|s| (s, (s + alpha).min(level + 1)))
            .collect()
    }

    pub(crate) fn modup_converter(&self, range: (usize, usize)) -> &BaseConverter {
        &self.modup[&range]
    }
    pub(crate) fn moddown_converter(&self) -> &BaseConverter {
        &self.moddown
    }
    pub(crate) fn p_inv_mod_q(&self, i: usize) -> ShoupConst {
        self.p_inv_mod_q[i]
    }
    /// Converter from the limbs `{q_level} ∪ P` to the others (cached), for dividing by
    /// `P·q_level` in one step.
    pub(crate) fn moddown_rescale_converter(&self, level: usize) -> &BaseConverter {
        self.moddown_rescale[level].get_or_init(|| {
            let mut from = vec![level];
            from.extend(self.basis.p_indices());
            BaseConverter::new(&self.basis, &from)
        })
    }
    pub(crate) fn p_mod_q(&self, i: usize) -> u64 {
        self.p_mod_q[i]
    }
    pub(crate) fn rescale_inv(&self, level: usize) -> &[ShoupConst] {
        &self.rescale_inv[level]
    }

    /// CRT reconstruction constants for `Q_level`.
    pub fn crt(&self, level: usize) -> &CrtReconstructor {
        self.crt[level]
            .get_or_init(|| CrtReconstructor::new(&self.basis, &self.basis.q_indices(level)))
    }

    /// The NTT-domain residues of `X^{N/2}` on Q limb `i`: multiplying by them multiplies
    /// every slot by the imaginary unit (cached).
    pub fn imaginary_unit_ntt(&self, i: usize) -> &[u64] {
        self.imaginary_unit[i].get_or_init(|| {
            let n = self.params.n();
            let mut v = vec![0u64; n];
            v[n / 2] = 1;
            self.basis.table(i).forward(&mut v);
            v
        })
    }

    /// Cached NTT-domain permutation for the Galois element `g`.
    pub fn galois_permutation(&self, g: u64) -> Arc<Vec<u32>> {
        if let Some(p) = self
            .galois_perms
            .read()
            .expect("galois cache poisoned")
            .get(&g)
        {
            return p.clone();
        }
        let perm = Arc::new(galois::ntt_permutation(self.params.log_n(), g));
        self.galois_perms
            .write()
            .expect("galois cache poisoned")
            .insert(g, perm.clone());
        perm
    }

    /// Galois element of a left rotation by `steps`.
    pub fn rotation_element(&self, steps: i64) -> u64 {
        galois::rotation_element(self.params.log_n(), steps)
    }

    /// Galois element of conjugation.
    pub fn conjugation_element(&self) -> u64 {
        galois::conjugation_element(self.params.log_n())
    }
}
