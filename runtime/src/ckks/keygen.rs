//! Key generation (data-owner side): the secret key, the public key and evaluation keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::context::Context;
use super::galois;
use super::keys;
use super::keys::{
    EvaluationKeys, GaloisKey, KeyManifest, PublicKey, RelinearizationKey, SecretKey, SwitchingKey,
};
use super::params::SecretDistribution;
use super::rns::Poly;
use super::sampling::Sampler;

/// Generates keys for one context. Lives on the data owner's side only.
#[derive(Debug)]
pub struct KeyGenerator {
    ctx: Arc<Context>,
    sampler: Sampler,
}

impl KeyGenerator {
    pub fn new(ctx: Arc<Context>) -> Self {
        KeyGenerator {
            ctx,
            sampler: Sampler::new(),
        }
    }

    /// Uses a given sampler (e.g. a seeded one in tests).
    pub fn with_sampler(ctx: Arc<Context>, sampler: Sampler) -> Self {
        KeyGenerator { ctx, sampler }
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// A fresh secret key of the parameter set's distribution.
    pub fn gen_secret_key(&mut self) -> SecretKey {
        let n = self.ctx.n();
        let coeffs = match self.ctx.params().secret_distribution() {
            SecretDistribution::UniformTernary => self.sampler.ternary(n),
            SecretDistribution::SparseTernary { hamming_weight } => {
                self.sampler.sparse_ternary(n, hamming_weight)
            }
        };
        self.secret_from_coeffs(coeffs)
    }

    /// A sparse ternary secret of weight `h`, e.g. the ephemeral key of sparse-secret
    /// encapsulation in bootstrapping.
    pub fn gen_sparse_secret_key(&mut self, h: usize) -> SecretKey {
        let coeffs = self.sampler.sparse_ternary(self.ctx.n(), h);
        self.secret_from_coeffs(coeffs)
    }

    pub(crate) fn secret_from_coeffs(&self, coeffs: Vec<i64>) -> SecretKey {
        let basis = self.ctx.basis();
        let idx = basis.all_indices();
        let mut poly = Poly::from_signed(self.ctx.n(), basis, &idx, &coeffs);
        poly.ntt(basis, &idx);
        SecretKey {
            coeffs,
            poly,
            fingerprint: self.ctx.params().fingerprint(),
        }
    }

    fn error_poly(&mut self, idx: &[usize]) -> Poly {
        let basis = self.ctx.basis();
        let e = self
            .sampler
            .gaussian(self.ctx.n(), self.ctx.params().sigma());
        let mut p = Poly::from_signed(self.ctx.n(), basis, idx, &e);
        p.ntt(basis, idx);
        p
    }

    /// `b = -a·s + e` over `Q_L`.
    pub fn gen_public_key(&mut self, sk: &SecretKey) -> PublicKey {
        let ctx = self.ctx.clone();
        let basis = ctx.basis();
        let idx = basis.q_indices(self.ctx.max_level());
        let a = self.sampler.uniform_poly(basis, &idx);
        let mut b = self.error_poly(&idx);
        let s = sk.poly.prefix(idx.len());
        let mut as_ = a.clone();
        as_.mul_assign(basis, &idx, &s);
        b.sub_assign(basis, &idx, &as_);
        PublicKey {
            b,
            a,
            fingerprint: sk.fingerprint,
        }
    }

    /// Switching key from the source secret `source` (over all of Q·P, NTT) to `sk`.
    pub fn gen_switching_key(&mut self, source: &Poly, sk: &SecretKey) -> SwitchingKey {
        let ctx = self.ctx.clone();
        let basis = ctx.basis();
        let idx = basis.all_indices();
        let n = self.ctx.n();
        let digits = self.ctx.digits(self.ctx.max_level());
        let mut bs = Vec::with_capacity(digits.len());
        let mut as_ = Vec::with_capacity(digits.len());
        let mut seeds = Vec::with_capacity(digits.len());
        for &(start, end) in &digits {
            // The uniform half comes from a seed, so a key file stores 32 bytes instead of it.
            let seed = self.sampler.seed();
            let a = Sampler::uniform_poly_from_seed(basis, &idx, &seed);
            seeds.push(seed);
            let mut b = self.error_poly(&idx);
            let mut t = a.clone();
            t.mul_assign(basis, &idx, &sk.poly);
            b.sub_assign(basis, &idx, &t);
            for i in start..end {
                let m = basis.modulus(i);
                let c = m.shoup(self.ctx.p_mod_q(i));
                let src = &source.data()[i * n..(i + 1) * n];
                for (x, &y) in b.limb_mut(i).iter_mut().zip(src) {
                    *x = m.add(*x, m.mul_shoup(y, c));
                }
            }
            bs.push(b);
            as_.push(a);
        }
        SwitchingKey {
            b: bs,
            a: as_,
            max_level: self.ctx.max_level(),
            truncated: false,
            a_seeds: Some(seeds),
        }
    }

    /// A single-digit switching key from `source` to `sk` that exists only modulo
    /// `q_{q_limb} · p` for the one special prime `p` of `p_limb`: `b = −a·s + e + p·source`.
    /// Returns `(b, a)`, two limbs each (`[q_limb, p_limb]`, NTT). For keys whose target secret
    /// must never appear at a large modulus (sparse-secret encapsulation).
    pub fn gen_single_prime_switching_key(
        &mut self,
        source: &Poly,
        sk: &SecretKey,
        q_limb: usize,
        p_limb: usize,
    ) -> (Poly, Poly) {
        let ctx = self.ctx.clone();
        let basis = ctx.basis();
        let idx = [q_limb, p_limb];
        let a = self.sampler.uniform_poly(basis, &idx);
        let mut b = self.error_poly(&idx);
        let n = ctx.n();
        for (t, &i) in idx.iter().enumerate() {
            let m = basis.modulus(i);
            let s_limb = sk.poly.limb(i);
            let src = source.limb(i);
            let p_mod = m.shoup(m.reduce(basis.modulus(p_limb).value()));
            let (bl, al) = (&mut b.data_mut()[t * n..(t + 1) * n], a.limb(t));
            for k in 0..n {
                let mut v = m.sub(bl[k], m.mul(al[k], s_limb[k]));
                if i != p_limb {
                    v = m.add(v, m.mul_shoup(src[k], p_mod));
                }
                bl[k] = v;
            }
        }
        (b, a)
    }

    /// Relinearization key (`s² → s`).
    pub fn gen_relinearization_key(&mut self, sk: &SecretKey) -> RelinearizationKey {
        let basis = self.ctx.basis();
        let idx = basis.all_indices();
        let mut s2 = sk.poly.clone();
        s2.mul_assign(basis, &idx, &sk.poly);
        RelinearizationKey {
            key: self.gen_switching_key(&s2, sk),
        }
    }

    /// Galois key for `X ↦ X^g` (`σ_g(s) → s`).
    pub fn gen_galois_key(&mut self, sk: &SecretKey, element: u64) -> GaloisKey {
        let perm = self.ctx.galois_permutation(element);
        let source = sk.poly.permute(&perm);
        GaloisKey {
            element,
            key: self.gen_switching_key(&source, sk),
        }
    }

    /// Evaluation keys fulfilling `manifest`.
    pub fn gen_evaluation_keys(
        &mut self,
        sk: &SecretKey,
        manifest: &KeyManifest,
    ) -> EvaluationKeys {
        let top = self.ctx.max_level();
        let ctx = self.ctx.clone();
        let relin = manifest.relinearization.then(|| {
            let mut k = self.gen_relinearization_key(sk);
            k.key = k
                .key
                .truncated(&ctx, manifest.max_level(keys::RELINEARIZATION_ENTRY, top));
            k
        });
        let mut galois = BTreeMap::new();
        for &g in &manifest.galois_elements {
            let mut k = self.gen_galois_key(sk, g);
            k.key = k.key.truncated(&ctx, manifest.max_level(g, top));
            galois.insert(g, k);
        }
        EvaluationKeys {
            relin,
            galois,
            fingerprint: sk.fingerprint,
        }
    }

    /// Manifest for relinearization plus rotations by `steps` (and conjugation if asked).
    pub fn manifest_for_rotations(&self, steps: &[i64], conjugation: bool) -> KeyManifest {
        let log_n = self.ctx.params().log_n();
        let mut m = KeyManifest {
            max_levels: Default::default(),
            relinearization: true,
            galois_elements: steps
                .iter()
                .map(|&r| galois::rotation_element(log_n, r))
                .filter(|&g| g != 1)
                .collect(),
        };
        if conjugation {
            m.galois_elements.push(galois::conjugation_element(log_n));
        }
        m.galois_elements.sort_unstable();
        m.galois_elements.dedup();
        m
    }
}
