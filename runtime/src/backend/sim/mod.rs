//! The noise simulator: a ciphertext is its message as `N/2` complex slots in `f64` (the full
//! canonical embedding, so a sparse-slot message is its repetition, exactly as the ring
//! holds it), every operation is applied exactly, and the error the real operation would add
//! is drawn from [`noise::NoiseModel`]. Bootstrapping runs its real circuit on it: ModRaise
//! moves the message to coefficients, adds `q_0·I(X)` with `I` drawn as the sparse secret
//! makes it, and moves back, so CoeffsToSlots, EvalMod and SlotsToCoeffs are simulated with
//! their true approximation errors. A full bootstrap at N = 2^16 takes well under a second.
//!
//! With [`SimOptions::inject_noise`] off it is deterministic and exact up to encoding of
//! constants: the compiler's semantic check against the reference interpreter. With it on,
//! the noise of every value is drawn from a seed derived from its inputs' seeds, so a run is
//! reproducible whatever the thread interleaving.

pub mod noise;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use num_complex::Complex64;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::checks::{
    check_binary, check_decomposition, check_degree_one, check_drop, check_encode,
    check_linear_combination, check_mod_raise, check_same_level, check_sum_of_products,
};
use super::{Backend, CiphertextMeta};
use crate::ckks::embedding::Embedding;
use crate::ckks::evaluator::{check_scales, check_slots};
use crate::ckks::{CkksError, Params};
use noise::NoiseModel;

/// How the simulator runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SimOptions {
    /// Add the modelled error of each operation (off: deterministic, exact arithmetic).
    pub inject_noise: bool,
    /// Root of every noise seed.
    pub seed: u64,
    /// Hamming weight of bootstrapping's ephemeral sparse secret (shapes ModRaise's `I`).
    pub ephemeral_hamming_weight: usize,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            inject_noise: true,
            seed: 0x5eed,
            ephemeral_hamming_weight: 32,
        }
    }
}

/// A simulated ciphertext: the full slot vector of its message.
#[derive(Clone, Debug)]
pub struct SimCt {
    values: Vec<Complex64>,
    level: usize,
    scale: f64,
    slots: usize,
    degree: usize,
    seed: u64,
}

impl CiphertextMeta for SimCt {
    fn level(&self) -> usize {
        self.level
    }
    fn scale(&self) -> f64 {
        self.scale
    }
    fn slots(&self) -> usize {
        self.slots
    }
    fn degree(&self) -> usize {
        self.degree
    }
    /// The polynomial is unchanged, so the message is multiplied by `old/new`.
    fn set_scale(&mut self, scale: f64) {
        let r = self.scale / scale;
        self.values.iter_mut().for_each(|v| *v *= r);
        self.scale = scale;
    }
    fn set_slots(&mut self, slots: usize) {
        self.slots = slots;
    }
}

/// A simulated plaintext (its rounding error included).
#[derive(Clone, Debug)]
pub struct SimPt {
    values: Vec<Complex64>,
    level: usize,
    scale: f64,
    slots: usize,
}

/// The noise simulator.
#[derive(Debug)]
pub struct SimBackend {
    params: Params,
    options: SimOptions,
    noise: NoiseModel,
    embedding: Arc<Embedding>,
    /// `5^k mod 2N → k`.
    dlog: OnceLock<HashMap<u64, usize>>,
    fresh: AtomicU64,
}

/// SplitMix64 finaliser: derives seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn derive(a: u64, b: u64, tag: u64) -> u64 {
    mix(mix(a ^ mix(b.rotate_left(17))) ^ tag)
}

/// Standard normal pairs by Box–Muller.
fn gaussian_pair(rng: &mut ChaCha8Rng) -> (f64, f64) {
    let u1 = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let r = (-2.0 * u1.ln()).sqrt();
    let t = 2.0 * std::f64::consts::PI * u2;
    (r * t.cos(), r * t.sin())
}

impl SimBackend {
    pub fn new(params: Params, options: SimOptions) -> Self {
        let noise = NoiseModel::new(&params);
        let embedding = Arc::new(Embedding::new(params.n()));
        SimBackend {
            params,
            options,
            noise,
            embedding,
            dlog: OnceLock::new(),
            fresh: AtomicU64::new(0),
        }
    }

    /// A deterministic simulator (no injected error).
    pub fn exact(params: Params) -> Self {
        Self::new(
            params,
            SimOptions {
                inject_noise: false,
                ..SimOptions::default()
            },
        )
    }

    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    fn half(&self) -> usize {
        self.params.n() / 2
    }

    /// `values` zero-padded to a power-of-two slot count and repeated over the `N/2` slots.
    fn full(&self, values: &[Complex64]) -> Result<(Vec<Complex64>, usize), CkksError> {
        let slots = values.len().max(1).next_power_of_two();
        if slots > self.half() {
            return Err(CkksError::TooManySlots {
                requested: values.len(),
                max: self.half(),
            });
        }
        if let Some(index) = values
            .iter()
            .position(|v| !(v.re.is_finite() && v.im.is_finite()))
        {
            return Err(CkksError::NonFiniteValue { index });
        }
        let mut block = vec![Complex64::new(0.0, 0.0); slots];
        block[..values.len()].copy_from_slice(values);
        Ok((block.repeat(self.half() / slots), slots))
    }

    /// Adds independent Gaussian errors of deviation `std` to the real and imaginary parts.
    fn perturb(&self, values: &mut [Complex64], std: f64, seed: u64) {
        if !self.options.inject_noise || std == 0.0 {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for v in values.iter_mut() {
            let (a, b) = gaussian_pair(&mut rng);
            *v += Complex64::new(a * std, b * std);
        }
    }

    /// Periodic error (a subring polynomial's): drawn for `slots` slots and repeated.
    fn perturb_periodic(&self, values: &mut [Complex64], slots: usize, std: f64, seed: u64) {
        if !self.options.inject_noise || std == 0.0 {
            return;
        }
        let mut block = vec![Complex64::new(0.0, 0.0); slots];
        self.perturb(&mut block, std, seed);
        for chunk in values.chunks_mut(slots) {
            chunk.iter_mut().zip(&block).for_each(|(v, e)| *v += e);
        }
    }

    /// Encrypts `values` (public-key encryption's error) at `level` and `scale`: the client
    /// side of a simulated run.
    pub fn encrypt(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<SimCt, CkksError> {
        self.encrypt_with(values, level, scale, self.noise.fresh(scale))
    }

    /// Encrypts `values` with secret-key encryption's (smaller) error.
    pub fn encrypt_symmetric(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<SimCt, CkksError> {
        self.encrypt_with(values, level, scale, self.noise.fresh_symmetric(scale))
    }

    fn encrypt_with(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
        std: f64,
    ) -> Result<SimCt, CkksError> {
        self.check_encode(level, scale)?;
        let (mut values, slots) = self.full(values)?;
        let seed = derive(
            self.options.seed,
            self.fresh.fetch_add(1, Ordering::Relaxed),
            1,
        );
        self.perturb(&mut values, std, seed);
        Ok(SimCt {
            values,
            level,
            scale,
            slots,
            degree: 1,
            seed,
        })
    }

    /// The message's `slots` slots as decryption reads them (the projection onto the slot
    /// subring: the average of the repetitions).
    pub fn decrypt(&self, ct: &SimCt) -> Vec<Complex64> {
        let reps = self.half() / ct.slots;
        (0..ct.slots)
            .map(|j| {
                (0..reps)
                    .map(|r| ct.values[r * ct.slots + j])
                    .sum::<Complex64>()
                    / reps as f64
            })
            .collect()
    }

    fn check_encode(&self, level: usize, scale: f64) -> Result<(), CkksError> {
        check_encode(&self.params, level, scale)
    }

    fn dlog(&self) -> &HashMap<u64, usize> {
        self.dlog.get_or_init(|| {
            let two_n = 2 * self.params.n() as u64;
            let mut m = HashMap::with_capacity(self.half());
            let mut g = 1u64;
            for k in 0..self.half() {
                m.insert(g, k);
                g = g * 5 % two_n;
            }
            m
        })
    }

    /// The slot permutation (and conjugation) of `X ↦ X^g`.
    fn galois(&self, values: &[Complex64], element: u64) -> Result<Vec<Complex64>, CkksError> {
        let two_n = 2 * self.params.n() as u64;
        let (k, conj) = if let Some(&k) = self.dlog().get(&(element % two_n)) {
            (k, false)
        } else if let Some(&k) = self.dlog().get(&((two_n - element % two_n) % two_n)) {
            (k, true)
        } else {
            return Err(CkksError::MissingGaloisKey {
                element,
                steps: None,
            });
        };
        let n = values.len();
        Ok((0..n)
            .map(|j| {
                let v = values[(j + k) % n];
                if conj {
                    v.conj()
                } else {
                    v
                }
            })
            .collect())
    }

    fn rounded(c: f64, scale: f64) -> Result<f64, CkksError> {
        let v = (c * scale).round();
        if !v.is_finite() {
            return Err(CkksError::NonFiniteValue { index: 0 });
        }
        Ok(v / scale)
    }

    fn rounded_complex(c: Complex64, scale: f64) -> Result<Complex64, CkksError> {
        Ok(Complex64::new(
            Self::rounded(c.re, scale)?,
            Self::rounded(c.im, scale)?,
        ))
    }

    fn binary(&self, a: &SimCt, b: &SimCt) -> Result<(), CkksError> {
        check_binary(a, b)
    }

    fn degree_one(a: &SimCt) -> Result<(), CkksError> {
        check_degree_one(a)
    }

    fn q(&self, level: usize) -> f64 {
        self.params.q()[level] as f64
    }

    fn map(a: &SimCt, seed_tag: u64, f: impl Fn(Complex64) -> Complex64) -> SimCt {
        SimCt {
            values: a.values.iter().map(|&v| f(v)).collect(),
            seed: derive(a.seed, seed_tag, 2),
            ..a.clone()
        }
    }

    fn zip(a: &SimCt, b: &SimCt, tag: u64, f: impl Fn(Complex64, Complex64) -> Complex64) -> SimCt {
        SimCt {
            values: a
                .values
                .iter()
                .zip(&b.values)
                .map(|(&x, &y)| f(x, y))
                .collect(),
            seed: derive(a.seed, b.seed, tag),
            level: a.level,
            scale: a.scale,
            slots: a.slots,
            degree: a.degree.max(b.degree),
        }
    }

    /// A key switch's error on `ct` (at its level and scale).
    fn switched(&self, mut ct: SimCt, tag: u64) -> SimCt {
        ct.seed = derive(ct.seed, tag, 3);
        let std = self.noise.key_switch(ct.level, ct.scale);
        self.perturb(&mut ct.values, std, ct.seed);
        ct
    }

    /// ModDown's rounding on both parts.
    fn rounded_down(&self, mut ct: SimCt, tag: u64) -> SimCt {
        ct.seed = derive(ct.seed, tag, 4);
        let std = self.noise.rounding(ct.scale);
        self.perturb(&mut ct.values, std, ct.seed);
        ct
    }
}

const TAG_ADD: u64 = 10;
const TAG_SUB: u64 = 11;
const TAG_MUL: u64 = 12;
const TAG_PLAIN: u64 = 13;
const TAG_RESCALE: u64 = 14;
const TAG_GALOIS: u64 = 15;
const TAG_RELIN: u64 = 16;
const TAG_RAISE: u64 = 17;
const TAG_TRIVIAL: u64 = 18;

impl Backend for SimBackend {
    type Ct = SimCt;
    type Ext = SimCt;
    type Pt = SimPt;
    type ExtPt = SimPt;
    type Dec = usize;

    fn name(&self) -> &'static str {
        "sim"
    }
    fn params(&self) -> &Params {
        &self.params
    }

    fn encode(&self, values: &[Complex64], level: usize, scale: f64) -> Result<SimPt, CkksError> {
        self.check_encode(level, scale)?;
        let (mut full, slots) = self.full(values)?;
        // The rounding of a plaintext depends on its values only: seeded by them.
        let seed = values.iter().fold(mix(scale.to_bits()), |s, v| {
            derive(s, v.re.to_bits() ^ v.im.to_bits().rotate_left(32), 5)
        });
        self.perturb_periodic(&mut full, slots, self.noise.encoding(slots, scale), seed);
        Ok(SimPt {
            values: full,
            level,
            scale,
            slots,
        })
    }
    fn encode_extended(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<SimPt, CkksError> {
        self.encode(values, level, scale)
    }
    fn extended_plaintext_level(&self, pt: &SimPt) -> usize {
        pt.level
    }
    fn trivial(&self, pt: &SimPt) -> Result<SimCt, CkksError> {
        // Exact: the message is the plaintext's (its encoding error included), no noise is
        // added. The seed derives from the values, as a plaintext's rounding does.
        let seed = pt.values.iter().fold(mix(pt.scale.to_bits()), |s, v| {
            derive(
                s,
                v.re.to_bits() ^ v.im.to_bits().rotate_left(32),
                TAG_TRIVIAL,
            )
        });
        Ok(SimCt {
            values: pt.values.clone(),
            level: pt.level,
            scale: pt.scale,
            slots: pt.slots,
            degree: 1,
            seed,
        })
    }

    fn drop_to_level(&self, ct: &SimCt, level: usize) -> Result<SimCt, CkksError> {
        check_drop(ct.level, level)?;
        Ok(SimCt {
            level,
            ..ct.clone()
        })
    }
    fn rescale(&self, ct: &SimCt) -> Result<SimCt, CkksError> {
        if ct.level == 0 {
            return Err(CkksError::NoLevelLeft);
        }
        let out = SimCt {
            level: ct.level - 1,
            scale: ct.scale / self.q(ct.level),
            ..ct.clone()
        };
        Ok(self.rounded_down(out, TAG_RESCALE))
    }

    fn add(&self, a: &SimCt, b: &SimCt) -> Result<SimCt, CkksError> {
        self.binary(a, b)?;
        Ok(Self::zip(a, b, TAG_ADD, |x, y| x + y))
    }
    fn sub(&self, a: &SimCt, b: &SimCt) -> Result<SimCt, CkksError> {
        self.binary(a, b)?;
        Ok(Self::zip(a, b, TAG_SUB, |x, y| x - y))
    }
    fn neg(&self, a: &SimCt) -> Result<SimCt, CkksError> {
        Ok(Self::map(a, 20, |x| -x))
    }
    fn add_assign(&self, acc: &mut SimCt, b: &SimCt) -> Result<(), CkksError> {
        *acc = self.add(acc, b)?;
        Ok(())
    }
    fn sub_assign(&self, acc: &mut SimCt, b: &SimCt) -> Result<(), CkksError> {
        *acc = self.sub(acc, b)?;
        Ok(())
    }
    fn add_plain(&self, a: &SimCt, pt: &SimPt) -> Result<SimCt, CkksError> {
        check_same_level(a.level, pt.level)?;
        check_scales(a.scale, pt.scale)?;
        check_slots(a.slots, pt.slots)?;
        let mut out = a.clone();
        out.values
            .iter_mut()
            .zip(&pt.values)
            .for_each(|(x, y)| *x += y);
        Ok(out)
    }
    fn sub_plain(&self, a: &SimCt, pt: &SimPt) -> Result<SimCt, CkksError> {
        check_same_level(a.level, pt.level)?;
        check_scales(a.scale, pt.scale)?;
        check_slots(a.slots, pt.slots)?;
        let mut out = a.clone();
        out.values
            .iter_mut()
            .zip(&pt.values)
            .for_each(|(x, y)| *x -= y);
        Ok(out)
    }
    fn add_const(&self, a: &SimCt, c: f64) -> Result<SimCt, CkksError> {
        let c = Self::rounded(c, a.scale)?;
        Ok(Self::map(a, 21, |x| x + c))
    }
    fn add_const_complex(&self, a: &SimCt, c: Complex64) -> Result<SimCt, CkksError> {
        let c = Self::rounded_complex(c, a.scale)?;
        Ok(Self::map(a, 22, |x| x + c))
    }

    fn mul_integer(&self, a: &SimCt, k: i64) -> Result<SimCt, CkksError> {
        let k = k as f64;
        Ok(Self::map(a, 23, |x| x * k))
    }
    fn mul_const_with_scale(&self, a: &SimCt, c: f64, s: f64) -> Result<SimCt, CkksError> {
        let c = Self::rounded(c, s)?;
        let mut out = Self::map(a, 24, |x| x * c);
        out.scale = a.scale * s;
        Ok(out)
    }
    fn linear_combination(
        &self,
        terms: &[(&SimCt, Complex64, f64)],
        level: usize,
    ) -> Result<SimCt, CkksError> {
        let checked: Vec<(&SimCt, f64)> = terms.iter().map(|&(a, _, cs)| (a, cs)).collect();
        let scale = check_linear_combination(&checked, level)?;
        let first = terms[0].0;
        let mut values = vec![Complex64::new(0.0, 0.0); first.values.len()];
        let mut seed = 0;
        for &(a, c, cs) in terms {
            let c = Self::rounded_complex(c, cs)?;
            values
                .iter_mut()
                .zip(&a.values)
                .for_each(|(o, &x)| *o += c * x);
            seed = derive(seed, a.seed, 25);
        }
        Ok(SimCt {
            values,
            level,
            scale,
            slots: first.slots,
            degree: first.degree,
            seed,
        })
    }
    fn mul_plain(&self, a: &SimCt, pt: &SimPt) -> Result<SimCt, CkksError> {
        check_same_level(a.level, pt.level)?;
        check_slots(a.slots, pt.slots)?;
        Ok(SimCt {
            values: a
                .values
                .iter()
                .zip(&pt.values)
                .map(|(&x, &y)| x * y)
                .collect(),
            scale: a.scale * pt.scale,
            seed: derive(a.seed, pt.scale.to_bits(), TAG_PLAIN),
            ..a.clone()
        })
    }
    fn mul(&self, a: &SimCt, b: &SimCt) -> Result<SimCt, CkksError> {
        check_slots(a.slots, b.slots)?;
        Self::degree_one(a)?;
        Self::degree_one(b)?;
        check_same_level(a.level, b.level)?;
        let mut out = Self::zip(a, b, TAG_MUL, |x, y| x * y);
        out.scale = a.scale * b.scale;
        out.degree = 2;
        Ok(out)
    }
    fn relinearize(&self, a: &SimCt) -> Result<SimCt, CkksError> {
        match a.degree {
            1 => Ok(a.clone()),
            2 => {
                let out = SimCt {
                    degree: 1,
                    ..a.clone()
                };
                Ok(self.rounded_down(self.switched(out, TAG_RELIN), TAG_RELIN))
            }
            d => Err(CkksError::NeedsRelinearization { degree: d }),
        }
    }
    fn mul_by_i(&self, a: &SimCt) -> Result<SimCt, CkksError> {
        let i = Complex64::new(0.0, 1.0);
        Ok(Self::map(a, 26, |x| x * i))
    }

    fn decompose(&self, ct: &SimCt) -> Result<usize, CkksError> {
        Self::degree_one(ct)?;
        Ok(ct.level)
    }
    fn apply_galois_hoisted(
        &self,
        ct: &SimCt,
        dec: &usize,
        element: u64,
        steps: Option<i64>,
    ) -> Result<SimCt, CkksError> {
        check_decomposition(*dec, ct.level)?;
        if element == 1 {
            return Ok(ct.clone());
        }
        let out = self.apply_galois_hoisted_extended(ct, dec, element, steps)?;
        self.mod_down_extended(out)
    }
    fn apply_galois(&self, ct: &SimCt, element: u64) -> Result<SimCt, CkksError> {
        let dec = self.decompose(ct)?;
        self.apply_galois_hoisted(ct, &dec, element, None)
    }
    fn rotate(&self, ct: &SimCt, steps: i64) -> Result<SimCt, CkksError> {
        let dec = self.decompose(ct)?;
        self.apply_galois_hoisted(ct, &dec, self.rotation_element(steps), Some(steps))
    }

    fn extend(&self, ct: &SimCt) -> Result<SimCt, CkksError> {
        Self::degree_one(ct)?;
        Ok(ct.clone())
    }
    fn zero_extended(&self, level: usize, scale: f64, slots: usize) -> SimCt {
        SimCt {
            values: vec![Complex64::new(0.0, 0.0); self.half()],
            level,
            scale,
            slots,
            degree: 1,
            seed: 0,
        }
    }
    fn apply_galois_hoisted_extended(
        &self,
        ct: &SimCt,
        dec: &usize,
        element: u64,
        _steps: Option<i64>,
    ) -> Result<SimCt, CkksError> {
        check_decomposition(*dec, ct.level)?;
        Self::degree_one(ct)?;
        if element == 1 {
            return Ok(ct.clone());
        }
        let out = SimCt {
            values: self.galois(&ct.values, element)?,
            seed: derive(ct.seed, element, TAG_GALOIS),
            ..ct.clone()
        };
        Ok(self.switched(out, TAG_GALOIS))
    }
    fn sum_of_products_extended(&self, terms: &[(&SimCt, &SimPt)]) -> Result<SimCt, CkksError> {
        let meta: Vec<_> = terms
            .iter()
            .map(|(a, p)| ((a.level, a.scale, a.slots), (p.level, p.scale, p.slots)))
            .collect();
        let scale = check_sum_of_products(&meta)?;
        let first = terms[0].0;
        let mut values = vec![Complex64::new(0.0, 0.0); first.values.len()];
        let mut seed = 0;
        for &(a, pt) in terms {
            values
                .iter_mut()
                .zip(a.values.iter().zip(&pt.values))
                .for_each(|(o, (&x, &y))| *o += x * y);
            seed = derive(seed, a.seed, 27);
        }
        Ok(SimCt {
            values,
            scale,
            seed,
            ..first.clone()
        })
    }
    fn add_assign_extended(&self, acc: &mut SimCt, x: &SimCt) -> Result<(), CkksError> {
        self.add_assign(acc, x)
    }
    fn sub_assign_extended(&self, acc: &mut SimCt, x: &SimCt) -> Result<(), CkksError> {
        self.sub_assign(acc, x)
    }
    fn apply_galois_add_assign_extended(
        &self,
        acc: &mut SimCt,
        x: &SimCt,
        element: u64,
        steps: Option<i64>,
    ) -> Result<(), CkksError> {
        if element == 1 {
            return self.add_assign(acc, x);
        }
        self.binary(acc, x)?;
        // The second part is divided by P (rounded) and decomposed; the result stays over
        // Q ∪ P, so that rounding and the key switch's error are the additions.
        let mut rotated = self.apply_galois_hoisted_extended(x, &x.level, element, steps)?;
        let std = self.noise.rounding_second_part(x.scale);
        self.perturb(&mut rotated.values, std, derive(rotated.seed, 28, 6));
        self.add_assign(acc, &rotated)
    }
    fn relinearize_extended(&self, a: &SimCt) -> Result<SimCt, CkksError> {
        if a.degree != 2 {
            return Err(CkksError::NeedsRelinearization { degree: a.degree });
        }
        let out = SimCt {
            degree: 1,
            ..a.clone()
        };
        Ok(self.switched(out, TAG_RELIN))
    }
    fn mul_integer_extended(&self, x: &mut SimCt, k: i64) -> Result<(), CkksError> {
        *x = self.mul_integer(x, k)?;
        Ok(())
    }
    fn add_const_extended(&self, x: &mut SimCt, c: f64) -> Result<(), CkksError> {
        *x = self.add_const(x, c)?;
        Ok(())
    }
    fn mod_down_rescale(&self, x: SimCt) -> Result<SimCt, CkksError> {
        if x.level == 0 {
            return Err(CkksError::NoLevelLeft);
        }
        let out = SimCt {
            level: x.level - 1,
            scale: x.scale / self.q(x.level),
            ..x
        };
        Ok(self.rounded_down(out, TAG_RESCALE))
    }
    fn mod_down_extended(&self, x: SimCt) -> Result<SimCt, CkksError> {
        Ok(self.rounded_down(x, 29))
    }

    fn mod_raise(&self, ct: &SimCt, level: usize) -> Result<SimCt, CkksError> {
        check_mod_raise(&self.params, ct, level)?;
        let seed = derive(ct.seed, level as u64, TAG_RAISE);
        let mut values = ct.values.clone();
        // Dense → sparse at level 0.
        self.perturb(&mut values, self.noise.encapsulation(ct.scale), seed);
        // To coefficients, + q_0·I(X), back to slots. I's coefficients are the rounded sum
        // of h + 1 uniform terms in [-1/2, 1/2] (c_0 + c_1·s over q_0, s with h non-zeros).
        self.embedding.fft_special_inv(&mut values);
        let q0_over_scale = self.q(0) / ct.scale;
        let terms = self.options.ephemeral_hamming_weight + 1;
        let mut rng = ChaCha8Rng::seed_from_u64(derive(seed, 1, 7));
        let mut overflow = || -> f64 {
            let s: f64 = (0..terms)
                .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
                .sum();
            s.round()
        };
        for v in values.iter_mut() {
            let (re, im) = (overflow(), overflow());
            *v += Complex64::new(re, im) * q0_over_scale;
        }
        self.embedding.fft_special(&mut values);
        let raised = SimCt {
            values,
            level,
            seed,
            ..ct.clone()
        };
        // Sparse → dense at the top.
        Ok(self.switched(raised, TAG_RAISE))
    }
}
