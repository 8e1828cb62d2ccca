//! The bootstrapping circuit: ModRaise (with sparse-secret encapsulation), optional slot
//! folding for sparse packing, CoeffsToSlots, EvalMod, SlotsToCoeffs, to a chosen target
//! level. With full slots the `N` real coefficients fill the real and imaginary parts of
//! `N/2` slots and EvalMod runs on each part; with `slots ≤ N/4` the last CoeffsToSlots
//! factor packs the `2·slots` coefficients side by side as real slots and EvalMod runs once
//! (the first SlotsToCoeffs factor unpacks them), for about half the EvalMod work.
//!
//! Scale plan (all exact, recorded in the ciphertexts):
//! * after ModRaise the polynomial is `t = m + q_0·I`; it is reinterpreted at scale `K·q_0·N`,
//!   which folds the `1/slots` of the inverse DFT, the `1/2` of the real/imaginary split, the
//!   `1/K` of EvalMod's variable and (sparse packing) the `N/(2·slots)` of slot folding into
//!   the scale instead of into plaintexts;
//! * CoeffsToSlots encodes its diagonals at scales that bring the ciphertext to the EvalMod
//!   working scale (the first EvalMod prime) exactly;
//! * after EvalMod the value `gain·x ≈ gain·m/q_0` (`EvalMod::gain`, doubled when the
//!   imaginary parts are extracted) is reinterpreted by `q_0/(gain·Δ)`, and SlotsToCoeffs
//!   lands exactly on the input scale `Δ`.
//!
//! The target level: CoeffsToSlots and EvalMod run on the primes the chain reserves for them
//! (their scale plan relies on those prime sizes), then the ciphertext is dropped to
//! `target + stc_levels` before SlotsToCoeffs, so a lower target runs SlotsToCoeffs on fewer
//! limbs and returns a smaller ciphertext.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::circuits::linear_transform::transform::{bsgs_shape, rotations_for};
use crate::circuits::linear_transform::{DiagonalMatrix, LinearTransform};
use crate::ckks::keys::KeyManifest;
use crate::ckks::keyswitch;
use crate::ckks::rns::Poly;
use crate::ckks::{Ciphertext, CkksError, Context, Encoder, Evaluator};

use super::config::BootstrappingConfig;
use super::dft::{
    coeffs_to_slots_stages, collapse, pack_real_imaginary, slots_to_coeffs_stages,
    unpack_real_imaginary,
};
use super::eval_mod::EvalMod;
use super::keys::BootstrappingKeys;

/// Transforms encoded for one starting level.
struct Prepared {
    cts: Arc<Vec<LinearTransform>>,
    stc: Vec<LinearTransform>,
}

/// Static description of the work one bootstrap does at a target level (for the compiler's
/// cost model). Key switching splits into its three phases, which double hoisting counts
/// separately: a decomposition (ModUp) per distinct input, an inner product with a key per
/// key switch, and ModDowns (counted per polynomial part) only where a result leaves the
/// extended basis.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BootstrapCost {
    pub target_level: usize,
    /// Level ModRaise lands at.
    pub start_level: usize,
    /// Key switches (rotations, conjugations, relinearizations, encapsulation switches):
    /// one inner product with a switching key each.
    pub key_switches: usize,
    /// Decompositions (ModUp of one polynomial into `dnum` digits over `Q_ℓ ∪ P`).
    pub decompositions: usize,
    /// ModDowns of one polynomial part.
    pub mod_downs: usize,
    /// Plaintext-ciphertext products in the transforms.
    pub plaintext_products: usize,
    /// EvalMod evaluations: 2 with full slots (real and imaginary parts), 1 when the
    /// coefficients are packed (`slots ≤ N/4`).
    pub eval_mod_evaluations: usize,
    /// Sum over key switches of the limbs they run at (a proxy for time).
    pub key_switch_limbs: usize,
}

/// A bootstrapping circuit bound to its keys.
pub struct Bootstrapper {
    ctx: Arc<Context>,
    config: BootstrappingConfig,
    encoder: Encoder,
    eval: Evaluator,
    keys: Arc<BootstrappingKeys>,
    eval_mod: EvalMod,
    cts_matrices: Vec<DiagonalMatrix>,
    stc_matrices: Vec<DiagonalMatrix>,
    prepared: Mutex<HashMap<(usize, u64), Arc<Prepared>>>,
}

impl std::fmt::Debug for Bootstrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrapper")
            .field("config", &self.config)
            .finish()
    }
}

/// Errors specific to bootstrapping set-up.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BootstrapError {
    #[error("the parameter set has {levels} levels but bootstrapping needs {depth} (CtS {cts} + EvalMod {eval_mod} + StC {stc})")]
    NotEnoughLevels {
        levels: usize,
        depth: usize,
        cts: usize,
        eval_mod: usize,
        stc: usize,
    },
    #[error("target level {target} is above the highest reachable level {max}")]
    TargetTooHigh { target: usize, max: usize },
    #[error("slot count {slots} must be a power of two in 2..={max}")]
    BadSlots { slots: usize, max: usize },
    #[error(transparent)]
    Ckks(#[from] CkksError),
}

/// Whether the `2·slots` real coefficients fit in one ciphertext's slots (`slots ≤ N/4`):
/// then CoeffsToSlots packs them side by side and EvalMod runs once.
fn packs_coefficients(ctx: &Context, config: &BootstrappingConfig) -> bool {
    2 * config.slots <= ctx.n() / 2
}

fn matrices(
    ctx: &Context,
    config: &BootstrappingConfig,
) -> (Vec<DiagonalMatrix>, Vec<DiagonalMatrix>) {
    let n = ctx.n();
    let mut cts = collapse(&coeffs_to_slots_stages(n, config.slots), config.cts_levels);
    let mut stc = collapse(&slots_to_coeffs_stages(n, config.slots), config.stc_levels);
    if packs_coefficients(ctx, config) {
        let last = cts.pop().expect("at least one CtS level");
        cts.push(pack_real_imaginary(&last));
        stc[0] = unpack_real_imaginary(&stc[0]);
    }
    (cts, stc)
}

impl Bootstrapper {
    /// Keys a bootstrapper with `config` needs: relinearization, conjugation, the rotations of
    /// both transforms and of slot folding.
    pub fn key_manifest(ctx: &Context, config: &BootstrappingConfig) -> KeyManifest {
        let (cts, stc) = matrices(ctx, config);
        let mut rotations: Vec<i64> = cts.iter().chain(&stc).flat_map(rotations_for).collect();
        let mut s = config.slots;
        while s < ctx.n() / 2 {
            rotations.push(s as i64);
            s *= 2;
        }
        let mut galois: Vec<u64> = rotations
            .iter()
            .map(|&r| ctx.rotation_element(r))
            .filter(|&g| g != 1)
            .collect();
        galois.push(ctx.conjugation_element());
        galois.sort_unstable();
        galois.dedup();
        KeyManifest {
            relinearization: true,
            galois_elements: galois,
        }
    }

    pub fn new(
        ctx: Arc<Context>,
        config: BootstrappingConfig,
        keys: Arc<BootstrappingKeys>,
    ) -> Result<Self, BootstrapError> {
        let max_slots = ctx.n() / 2;
        if !config.slots.is_power_of_two() || config.slots < 2 || config.slots > max_slots {
            return Err(BootstrapError::BadSlots {
                slots: config.slots,
                max: max_slots,
            });
        }
        let eval_mod = EvalMod::new(config.eval_mod.clone());
        let depth = config.cts_levels + eval_mod.depth() + config.stc_levels;
        if depth > ctx.max_level() {
            return Err(BootstrapError::NotEnoughLevels {
                levels: ctx.max_level(),
                depth,
                cts: config.cts_levels,
                eval_mod: eval_mod.depth(),
                stc: config.stc_levels,
            });
        }
        let (cts_matrices, stc_matrices) = matrices(&ctx, &config);
        let eval = Evaluator::new(ctx.clone(), Arc::new(keys.evaluation.clone()))?;
        Ok(Bootstrapper {
            encoder: Encoder::new(ctx.clone()),
            eval,
            ctx,
            config,
            keys,
            eval_mod,
            cts_matrices,
            stc_matrices,
            prepared: Mutex::new(HashMap::new()),
        })
    }

    /// Levels one bootstrap consumes.
    pub fn depth(&self) -> usize {
        self.config.cts_levels + self.eval_mod.depth() + self.config.stc_levels
    }

    /// Highest level a bootstrapped ciphertext can have.
    pub fn max_target_level(&self) -> usize {
        self.ctx.max_level() - self.depth()
    }

    pub fn config(&self) -> &BootstrappingConfig {
        &self.config
    }

    pub fn evaluator(&self) -> &Evaluator {
        &self.eval
    }

    /// The EvalMod circuit (its plaintext model bounds the approximation error).
    pub fn eval_mod(&self) -> &EvalMod {
        &self.eval_mod
    }

    /// Static cost of a bootstrap to `target_level`.
    pub fn cost(&self, target_level: usize) -> Result<BootstrapCost, BootstrapError> {
        let max = self.max_target_level();
        if target_level > max {
            return Err(BootstrapError::TargetTooHigh {
                target: target_level,
                max,
            });
        }
        let start = self.ctx.max_level();
        let mut c = BootstrapCost {
            target_level,
            start_level: start,
            key_switches: 0,
            decompositions: 0,
            mod_downs: 0,
            plaintext_products: 0,
            eval_mod_evaluations: 0,
            key_switch_limbs: 0,
        };
        // An ordinary key switch at `level`.
        let plain = |c: &mut BootstrapCost, level: usize, count: usize| {
            c.key_switches += count;
            c.decompositions += count;
            c.mod_downs += 2 * count;
            c.key_switch_limbs += count * (level + 1);
        };
        // A double-hoisted transform at `level`.
        let transform = |c: &mut BootstrapCost, m: &DiagonalMatrix, level: usize| {
            let (babies, giants) = bsgs_shape(m);
            c.key_switches += babies + giants;
            c.decompositions += usize::from(babies > 0) + giants;
            c.mod_downs += giants + 2;
            c.key_switch_limbs += (babies + giants) * (level + 1);
            c.plaintext_products += m.num_diagonals();
        };
        plain(&mut c, 0, 1); // dense → sparse at level 0
        plain(&mut c, start, 1); // sparse → dense after ModRaise
        let mut level = start;
        let mut fold = self.config.slots;
        while fold < self.ctx.n() / 2 {
            plain(&mut c, level, 1);
            fold *= 2;
        }
        for m in &self.cts_matrices {
            transform(&mut c, m, level);
            level -= 1;
        }
        // The conjugation, before the last CtS rescale.
        plain(&mut c, level + 1, 1);
        // Relinearizations per EvalMod: about 2·sqrt(degree) for the Chebyshev BSGS (one
        // complex series with the correction) plus the double angles and the correction,
        // counted at the middle of EvalMod's levels. Full slots evaluate it on the real and
        // the imaginary part; packed sparse slots once.
        let em_depth = self.eval_mod.depth();
        let evaluations = if packs_coefficients(&self.ctx, &self.config) {
            1
        } else {
            2
        };
        c.eval_mod_evaluations = evaluations;
        let relin = evaluations
            * (2 * (self.config.eval_mod.degree as f64).sqrt().ceil() as usize
                + self.eval_mod.extra_products());
        plain(&mut c, level - em_depth / 2, relin);
        if self.eval_mod.output_in_imaginary_part() {
            plain(&mut c, level - em_depth, 1); // the conjugation extracting the values
        }
        level = target_level + self.config.stc_levels;
        for m in &self.stc_matrices {
            transform(&mut c, m, level);
            level -= 1;
        }
        Ok(c)
    }

    /// The encoded transforms for `target_level` and an input scale. CoeffsToSlots depends
    /// only on the input scale and is shared by every target; SlotsToCoeffs is per target.
    fn prepared(
        &self,
        target_level: usize,
        input_scale: f64,
        cts_out_scale_ratio: f64,
        stc_ratio: f64,
    ) -> Result<Arc<Prepared>, CkksError> {
        let key = (target_level, input_scale.to_bits());
        if let Some(p) = self.prepared.lock().expect("cache poisoned").get(&key) {
            return Ok(p.clone());
        }
        let shared_cts = self
            .prepared
            .lock()
            .expect("cache poisoned")
            .iter()
            .find(|((_, s), _)| *s == key.1)
            .map(|(_, p)| p.cts.clone());
        let cts = match shared_cts {
            Some(c) => c,
            None => Arc::new(self.encode_group(
                &self.cts_matrices,
                self.ctx.max_level(),
                cts_out_scale_ratio,
            )?),
        };
        let stc = self.encode_group(
            &self.stc_matrices,
            target_level + self.config.stc_levels,
            stc_ratio,
        )?;
        let p = Arc::new(Prepared { cts, stc });
        self.prepared
            .lock()
            .expect("cache poisoned")
            .insert(key, p.clone());
        Ok(p)
    }

    /// Exact power-of-two factor that brings a message of scale `input_scale` to the configured
    /// ratio below `q_0` (1 when it is already there).
    fn boost(&self, input_scale: f64) -> f64 {
        let q0 = self.ctx.params().q()[0] as f64;
        let bits = (q0.log2() - input_scale.log2() - self.config.log_message_ratio as f64).floor();
        if bits >= 1.0 {
            2f64.powi(bits.min(62.0) as i32)
        } else {
            1.0
        }
    }

    /// Encodes consecutive transforms starting at `start_level` (one level each) so that the
    /// group as a whole multiplies the scale by `ratio` (spread evenly over its levels).
    fn encode_group(
        &self,
        matrices: &[DiagonalMatrix],
        start_level: usize,
        ratio: f64,
    ) -> Result<Vec<LinearTransform>, CkksError> {
        let q = self.ctx.params().q();
        let per_level = ratio.powf(1.0 / matrices.len() as f64);
        matrices
            .par_iter()
            .enumerate()
            .map(|(g, m)| {
                let l = start_level - g;
                LinearTransform::with_plaintext_scale(&self.encoder, m, l, q[l] as f64 * per_level)
            })
            .collect()
    }

    /// Scale ratios for the transforms at `start_level` (CtS: EvalMod scale / reinterpreted
    /// input scale; StC: input scale / scale after EvalMod).
    fn scale_plan(
        &self,
        start_level: usize,
        input_scale: f64,
        output_scale: f64,
    ) -> (f64, f64, f64) {
        let q = self.ctx.params().q();
        let n = self.ctx.n() as f64;
        let q0 = q[0] as f64;
        let s0 = self.config.eval_mod.k * q0 * n;
        let eval_mod_level = start_level - self.config.cts_levels;
        let s_em = q[eval_mod_level] as f64;
        let s = self.eval_mod.output_scale(s_em, eval_mod_level, q);
        // Extracting the imaginary parts doubles the value, which is folded into the scale.
        let extract = if self.eval_mod.output_in_imaginary_part() {
            2.0
        } else {
            1.0
        };
        let s_after = s * extract * self.eval_mod.gain() * input_scale / q0;
        (s0, s_em / s0, output_scale / s_after)
    }

    /// Work estimate and preparation of the transforms for `target_level` ahead of time.
    pub fn prepare(&self, target_level: usize, input_scale: f64) -> Result<(), BootstrapError> {
        let max = self.max_target_level();
        if target_level > max {
            return Err(BootstrapError::TargetTooHigh {
                target: target_level,
                max,
            });
        }
        let boosted = input_scale * self.boost(input_scale);
        let (_, cts_ratio, stc_ratio) = self.scale_plan(self.ctx.max_level(), boosted, input_scale);
        self.prepared(target_level, boosted, cts_ratio, stc_ratio)?;
        Ok(())
    }

    fn mod_raise(&self, ct: &Ciphertext, level: usize) -> Ciphertext {
        let basis = self.ctx.basis();
        let n = self.ctx.n();
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

    /// `(c0 + u0, u1)`: `ct` under the key switch's target secret, given the switch
    /// `(u0, u1)` of its second part.
    fn switched(&self, ct: &Ciphertext, (u0, u1): (Poly, Poly)) -> Ciphertext {
        let idx = self.ctx.basis().q_indices(ct.level);
        let mut c0 = ct.parts[0].clone();
        c0.add_assign(self.ctx.basis(), &idx, &u0);
        Ciphertext {
            parts: vec![c0, u1],
            ..ct.clone()
        }
    }

    /// Iterated bootstrapping (META-BTS): bootstrap, subtract the result from the input to get
    /// the bootstrapping error, amplify it by `2^boost_log2` (an exact integer product at level
    /// 0), bootstrap it one level higher, scale it back down with one constant product and
    /// add it. Each extra iteration costs one bootstrap and adds up to `boost_log2` bits; the
    /// amplified error must stay below 1, so `boost_log2` must be below the precision of one
    /// bootstrap. The target must leave one level for the scaling: at most
    /// `max_target_level() - 1` when `iterations > 1`.
    pub fn bootstrap_iterated(
        &self,
        ct: &Ciphertext,
        target_level: usize,
        iterations: usize,
        boost_log2: u32,
    ) -> Result<Ciphertext, BootstrapError> {
        let eval = &self.eval;
        let max = self.max_target_level();
        if iterations > 1 && target_level + 1 > max {
            return Err(BootstrapError::TargetTooHigh {
                target: target_level + 1,
                max,
            });
        }
        let mut out = self.bootstrap(ct, target_level)?;
        let base = eval.drop_to_level(&eval.relinearize(ct)?, 0)?;
        for _ in 1..iterations.max(1) {
            let err = eval.sub(&base, &eval.drop_to_level(&out, 0)?)?;
            let amplified = eval.mul_integer(&err, 1i64 << boost_log2.min(40));
            let fixed = self.bootstrap(&amplified, target_level + 1)?;
            let fixed =
                eval.rescale(&eval.mul_const(&fixed, 2f64.powi(-(boost_log2.min(40) as i32)))?)?;
            out = eval.add(&out, &fixed)?;
        }
        Ok(out)
    }

    /// Refreshes `ct` to `target_level` (≤ [`max_target_level`](Self::max_target_level)),
    /// keeping its scale and slot count.
    pub fn bootstrap(
        &self,
        ct: &Ciphertext,
        target_level: usize,
    ) -> Result<Ciphertext, BootstrapError> {
        let max = self.max_target_level();
        if target_level > max {
            return Err(BootstrapError::TargetTooHigh {
                target: target_level,
                max,
            });
        }
        if ct.slots() != self.config.slots {
            return Err(CkksError::SlotMismatch {
                left: ct.slots(),
                right: self.config.slots,
            }
            .into());
        }
        let ct = self.eval.relinearize(ct)?;
        let eval = &self.eval;
        let input_scale = ct.scale();
        let clock = std::time::Instant::now();
        let phase = |name: &str| {
            tracing::debug!(
                target: "blindtune_runtime::bootstrap",
                phase = name,
                elapsed_ms = clock.elapsed().as_secs_f64() * 1e3,
                "bootstrap phase done"
            )
        };
        let start = self.ctx.max_level();

        // Raise the message towards q_0 (exact: an integer power of two), then ModRaise under
        // the ephemeral sparse secret and switch back to the dense secret.
        let mut low = eval.drop_to_level(&ct, 0)?;
        let boost = self.boost(input_scale);
        if boost > 1.0 {
            low = eval.mul_integer(&low, boost as i64);
        }
        let boosted = input_scale * boost;
        let low = self.switched(
            &low,
            self.keys.dense_to_sparse.switch(&self.ctx, &low.parts[1]),
        );
        let (s0, cts_ratio, stc_ratio) = self.scale_plan(start, boosted, input_scale);
        let prepared = self.prepared(target_level, boosted, cts_ratio, stc_ratio)?;
        let raised = self.mod_raise(&low, start);
        let mut x = self.switched(
            &raised,
            keyswitch::switch_key(
                &self.ctx,
                start,
                &raised.parts[1],
                &self.keys.sparse_to_dense,
            ),
        );

        // Slot folding for sparse packing: project onto the subring of the slots.
        let mut fold = self.config.slots;
        while fold < self.ctx.n() / 2 {
            let r = eval.rotate(&x, fold as i64)?;
            x = eval.add(&x, &r)?;
            fold *= 2;
        }
        x.set_scale(s0);
        phase("modraise");

        // CoeffsToSlots; the last transform is not rescaled yet so that the conjugation of the
        // real/imaginary split runs at a large scale, then both parts are rescaled.
        let (last, rest) = prepared.cts.split_last().expect("at least one CtS level");
        for t in rest {
            x = t.evaluate(eval, &x)?;
        }
        let packed = packs_coefficients(&self.ctx, &self.config);
        if packed {
            // The last factor reads the slots-slot vector in the 2·slots view (it repeats).
            x.slots = 2 * self.config.slots;
        }
        let x = last.evaluate_without_rescale(eval, &x)?;
        phase("coeffs_to_slots");
        let mut y = if packed {
            // [Mx, −i·Mx] + conj = [2·Re(Mx), 2·Im(Mx)]: every coefficient, real, in one
            // ciphertext; one EvalMod.
            let u = eval.rescale(&eval.add(&x, &eval.conjugate(&x)?)?)?;
            let w = self.eval_mod.evaluate(eval, &u)?;
            if self.eval_mod.output_in_imaginary_part() {
                // 2·Im(w) = −i·(w − conj(w)); the 2 goes into the scale.
                let d = eval.sub(&w, &eval.conjugate(&w)?)?;
                let mut y = eval.neg(&eval.mul_by_i(&d));
                y.set_scale(2.0 * y.scale());
                y
            } else {
                w
            }
        } else {
            self.evaluate_mod_pair(&x)?
        };
        phase("eval_mod");
        let s_after = y.scale() * self.eval_mod.gain() * boosted / self.ctx.params().q()[0] as f64;
        y.set_scale(s_after);

        // SlotsToCoeffs, on as few limbs as the target allows; with packing, the first factor
        // reads the 2·slots real values and writes the slots-slot vector (repeated).
        y = eval.drop_to_level(&y, target_level + self.config.stc_levels)?;
        for (k, t) in prepared.stc.iter().enumerate() {
            y = t.evaluate(eval, &y)?;
            if packed && k == 0 {
                y.slots = self.config.slots;
            }
        }
        phase("slots_to_coeffs");
        // The plan lands on the input scale; snap away floating round-off only.
        if (y.scale() / input_scale - 1.0).abs() < 1e-9 {
            y.set_scale(input_scale);
        }
        if y.level() > target_level {
            y = eval.drop_to_level(&y, target_level)?;
        }
        Ok(y)
    }

    /// Full slots: EvalMod on the real and on the imaginary part of the CoeffsToSlots output
    /// `x` (at its unrescaled scale), recombined as `Re + i·Im` of the reduced values.
    fn evaluate_mod_pair(&self, x: &Ciphertext) -> Result<Ciphertext, BootstrapError> {
        let eval = &self.eval;
        let conj = eval.conjugate(x)?;
        let re = eval.rescale(&eval.add(x, &conj)?)?;
        let im = eval.rescale(&eval.mul_by_i(&eval.sub(&conj, x)?))?;
        let (re, im) = rayon::join(
            || self.eval_mod.evaluate(eval, &re),
            || self.eval_mod.evaluate(eval, &im),
        );
        let (re, im) = (re?, im?);
        Ok(if self.eval_mod.output_in_imaginary_part() {
            // Im(w_re) + i·Im(w_im) = ½·(A − conj(B)) with A = w_im − i·w_re and
            // B = w_im + i·w_re: one conjugation for both parts; the ½ goes into the scale.
            let i_re = eval.mul_by_i(&re);
            let a = eval.sub(&im, &i_re)?;
            let b = eval.add(&im, &i_re)?;
            let mut y = eval.sub(&a, &eval.conjugate(&b)?)?;
            y.set_scale(2.0 * y.scale());
            y
        } else {
            eval.add(&re, &eval.mul_by_i(&im))?
        })
    }
}
