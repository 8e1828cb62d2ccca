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
//!   lands exactly on the input scale `Δ`, or on any requested output scale `Δ'`
//!   ([`Bootstrapper::bootstrap_to_scale`]): the ratio `Δ'/Δ` is folded into the
//!   SlotsToCoeffs plaintexts (encoded at `q_ℓ·ρ^{1/stc_levels}` instead of `q_ℓ·…`), so an
//!   exact output scale costs no level, no operation and no extra key (the key manifest and
//!   the highest target level are those of a scale-keeping bootstrap). A plan executor uses it
//!   to land on the canonical scale of the target level.
//!
//! The target level: CoeffsToSlots and EvalMod run on the primes the chain reserves for them
//! (their scale plan relies on those prime sizes), then the ciphertext is dropped to
//! `target + stc_levels` before SlotsToCoeffs, so a lower target runs SlotsToCoeffs on fewer
//! limbs and returns a smaller ciphertext.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::backend::meta::MetaCt;
use crate::backend::{
    Backend, CiphertextMeta, CountingBackend, CpuBackend, MetaBackend, Recorder, Trace,
};
use crate::circuits::linear_transform::{DiagonalMatrix, LinearTransform};
use crate::ckks::keys::KeyManifest;
use crate::ckks::{CkksError, Context, Params};

use super::config::BootstrappingConfig;
use super::dft::{
    coeffs_to_slots_stages, collapse, pack_real_imaginary, slots_to_coeffs_stages,
    unpack_real_imaginary,
};
use super::eval_mod::EvalMod;
use crate::ckks::encapsulation::BootstrappingKeys;

/// Transforms encoded for one starting level.
struct Prepared<B: Backend> {
    cts: Arc<Vec<LinearTransform<B>>>,
    stc: Vec<LinearTransform<B>>,
}

/// Summary of the work one bootstrap does at a target level, read off its counted trace
/// ([`Bootstrapper::trace`]). Key switching splits into its three phases, which double
/// hoisting counts separately: a decomposition (ModUp) per distinct input, an inner product
/// with a key per key switch, and ModDowns (counted per polynomial part) only where a result
/// leaves the extended basis.
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

/// A bootstrapping circuit on a backend (for the CPU backend, bound to its keys).
pub struct Bootstrapper<B: Backend = CpuBackend> {
    backend: B,
    config: BootstrappingConfig,
    eval_mod: EvalMod,
    cts_matrices: Vec<DiagonalMatrix>,
    stc_matrices: Vec<DiagonalMatrix>,
    prepared: Mutex<HashMap<PreparedKey, Arc<Prepared<B>>>>,
}

/// What a set of encoded transforms depends on: the target level, the (boosted) input scale
/// (CoeffsToSlots) and the output scale (SlotsToCoeffs), scales by their bits.
type PreparedKey = (usize, u64, u64);

impl<B: Backend> std::fmt::Debug for Bootstrapper<B> {
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
fn packs_coefficients(params: &Params, config: &BootstrappingConfig) -> bool {
    2 * config.slots <= params.n() / 2
}

fn matrices(
    params: &Params,
    config: &BootstrappingConfig,
) -> (Vec<DiagonalMatrix>, Vec<DiagonalMatrix>) {
    let n = params.n();
    let mut cts = collapse(&coeffs_to_slots_stages(n, config.slots), config.cts_levels);
    let mut stc = collapse(&slots_to_coeffs_stages(n, config.slots), config.stc_levels);
    if packs_coefficients(params, config) {
        let last = cts.pop().expect("at least one CtS level");
        cts.push(pack_real_imaginary(&last));
        stc[0] = unpack_real_imaginary(&stc[0]);
    }
    (cts, stc)
}

/// Keys a bootstrapper with `config` needs under `params`: relinearization, conjugation,
/// the rotations of both transforms and of slot folding, each with the highest level it is
/// used at (read off the counted trace of a bootstrap to the highest target, which bounds
/// every lower target and META-BTS's second bootstrap), so that keys used only by
/// SlotsToCoeffs are generated over its few limbs. [`Bootstrapper::bootstrap_to_scale`] runs
/// the same operations at the same levels whatever its output scale, so this manifest covers
/// it too.
pub fn key_manifest_for(params: &Params, config: &BootstrappingConfig) -> KeyManifest {
    let counted = Bootstrapper::with_backend(
        Recorder::new(MetaBackend::new(params.clone())),
        config.clone(),
    )
    .and_then(|b| {
        let top = b.max_target_level();
        b.trace(top)
    });
    match counted {
        Ok(trace) => trace.key_manifest(),
        // A configuration that cannot run has no keys to generate; `Bootstrapper::new` will
        // report why.
        Err(_) => KeyManifest::default(),
    }
}

impl Bootstrapper<CpuBackend> {
    /// Keys a bootstrapper with `config` needs (see [`key_manifest_for`]).
    pub fn key_manifest(ctx: &Context, config: &BootstrappingConfig) -> KeyManifest {
        key_manifest_for(ctx.params(), config)
    }

    /// A bootstrapper on the CPU backend with `keys`.
    pub fn new(
        ctx: Arc<Context>,
        config: BootstrappingConfig,
        keys: Arc<BootstrappingKeys>,
    ) -> Result<Self, BootstrapError> {
        Self::with_backend(CpuBackend::with_bootstrapping_keys(ctx, keys)?, config)
    }
}

impl<B: Backend> Bootstrapper<B> {
    /// A bootstrapper running on `backend`.
    pub fn with_backend(backend: B, config: BootstrappingConfig) -> Result<Self, BootstrapError> {
        let params = backend.params();
        let max_slots = params.n() / 2;
        if !config.slots.is_power_of_two() || config.slots < 2 || config.slots > max_slots {
            return Err(BootstrapError::BadSlots {
                slots: config.slots,
                max: max_slots,
            });
        }
        let eval_mod = EvalMod::new(config.eval_mod.clone());
        let depth = config.cts_levels + eval_mod.depth() + config.stc_levels;
        if depth > params.max_level() {
            return Err(BootstrapError::NotEnoughLevels {
                levels: params.max_level(),
                depth,
                cts: config.cts_levels,
                eval_mod: eval_mod.depth(),
                stc: config.stc_levels,
            });
        }
        let (cts_matrices, stc_matrices) = matrices(params, &config);
        Ok(Bootstrapper {
            backend,
            config,
            eval_mod,
            cts_matrices,
            stc_matrices,
            prepared: Mutex::new(HashMap::new()),
        })
    }

    /// The backend the circuit runs on.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    fn params(&self) -> &Params {
        self.backend.params()
    }

    /// Drops the transforms prepared for every target (they are rebuilt on demand).
    pub fn release_prepared(&self) {
        self.prepared.lock().expect("cache poisoned").clear();
    }

    /// Drops the transforms prepared for targets other than `target`.
    pub fn release_prepared_except(&self, target: usize) {
        self.prepared
            .lock()
            .expect("cache poisoned")
            .retain(|(t, _, _), _| *t == target);
    }

    /// Levels one bootstrap consumes.
    pub fn depth(&self) -> usize {
        self.config.cts_levels + self.eval_mod.depth() + self.config.stc_levels
    }

    /// Highest level a bootstrapped ciphertext can have.
    pub fn max_target_level(&self) -> usize {
        self.params().max_level() - self.depth()
    }

    pub fn config(&self) -> &BootstrappingConfig {
        &self.config
    }

    /// The EvalMod circuit (its plaintext model bounds the approximation error).
    pub fn eval_mod(&self) -> &EvalMod {
        &self.eval_mod
    }

    /// The operations one bootstrap to `target_level` performs, counted by running this
    /// circuit on the counting backend (no arithmetic; milliseconds at N = 2^16). The
    /// encoding of the transforms is left out (it is done once per target and cached).
    pub fn trace(&self, target_level: usize) -> Result<Trace, BootstrapError> {
        bootstrap_trace(self.params(), &self.config, target_level)
    }

    /// Summary of the work of a bootstrap to `target_level`, from its [`trace`](Self::trace).
    pub fn cost(&self, target_level: usize) -> Result<BootstrapCost, BootstrapError> {
        let trace = self.trace(target_level)?;
        Ok(BootstrapCost {
            target_level,
            start_level: self.params().max_level(),
            key_switches: trace.key_switches(),
            decompositions: trace.decompositions(),
            mod_downs: trace.mod_downs(),
            plaintext_products: trace.plaintext_products(),
            eval_mod_evaluations: if packs_coefficients(self.params(), &self.config) {
                1
            } else {
                2
            },
            key_switch_limbs: trace.key_switch_limbs(),
        })
    }

    /// The encoded transforms for `target_level`, an input scale and an output scale.
    /// CoeffsToSlots depends only on the input scale and is shared by every target and output
    /// scale; SlotsToCoeffs is per target and output scale.
    fn prepared(
        &self,
        target_level: usize,
        input_scale: f64,
        output_scale: f64,
        cts_out_scale_ratio: f64,
        stc_ratio: f64,
    ) -> Result<Arc<Prepared<B>>, CkksError> {
        let key = (target_level, input_scale.to_bits(), output_scale.to_bits());
        if let Some(p) = self.prepared.lock().expect("cache poisoned").get(&key) {
            return Ok(p.clone());
        }
        let shared_cts = self
            .prepared
            .lock()
            .expect("cache poisoned")
            .iter()
            .find(|((_, s, _), _)| *s == key.1)
            .map(|(_, p)| p.cts.clone());
        let cts = match shared_cts {
            Some(c) => c,
            None => Arc::new(self.encode_group(
                &self.cts_matrices,
                self.params().max_level(),
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
        let q0 = self.params().q()[0] as f64;
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
    ) -> Result<Vec<LinearTransform<B>>, CkksError> {
        let q = self.params().q();
        let per_level = ratio.powf(1.0 / matrices.len() as f64);
        matrices
            .par_iter()
            .enumerate()
            .map(|(g, m)| {
                let l = start_level - g;
                LinearTransform::with_plaintext_scale(&self.backend, m, l, q[l] as f64 * per_level)
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
        let q = self.params().q();
        let n = self.params().n() as f64;
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
        self.prepare_to_scale(target_level, input_scale, input_scale)
    }

    /// As [`prepare`](Self::prepare), for [`bootstrap_to_scale`](Self::bootstrap_to_scale).
    pub fn prepare_to_scale(
        &self,
        target_level: usize,
        input_scale: f64,
        output_scale: f64,
    ) -> Result<(), BootstrapError> {
        self.check_target(target_level, output_scale)?;
        let boosted = input_scale * self.boost(input_scale);
        let (_, cts_ratio, stc_ratio) =
            self.scale_plan(self.params().max_level(), boosted, output_scale);
        self.prepared(target_level, boosted, output_scale, cts_ratio, stc_ratio)?;
        Ok(())
    }

    fn check_target(&self, target_level: usize, output_scale: f64) -> Result<(), BootstrapError> {
        let max = self.max_target_level();
        if target_level > max {
            return Err(BootstrapError::TargetTooHigh {
                target: target_level,
                max,
            });
        }
        if !(output_scale.is_finite() && output_scale >= 1.0) {
            return Err(CkksError::InvalidScale {
                scale: output_scale,
            }
            .into());
        }
        Ok(())
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
        ct: &B::Ct,
        target_level: usize,
        iterations: usize,
        boost_log2: u32,
    ) -> Result<B::Ct, BootstrapError> {
        let eval = &self.backend;
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
            let amplified = eval.mul_integer(&err, 1i64 << boost_log2.min(40))?;
            let fixed = self.bootstrap(&amplified, target_level + 1)?;
            let fixed =
                eval.rescale(&eval.mul_const(&fixed, 2f64.powi(-(boost_log2.min(40) as i32)))?)?;
            out = eval.add(&out, &fixed)?;
        }
        Ok(out)
    }

    /// Refreshes `ct` to `target_level` (≤ [`max_target_level`](Self::max_target_level)),
    /// keeping its scale and slot count.
    pub fn bootstrap(&self, ct: &B::Ct, target_level: usize) -> Result<B::Ct, BootstrapError> {
        self.bootstrap_to_scale(ct, target_level, ct.scale())
    }

    /// Refreshes `ct` to `target_level` with scale exactly `output_scale` (the message is
    /// unchanged: `Δ'·m` instead of `Δ·m`). The ratio `Δ'/Δ` is folded into the SlotsToCoeffs
    /// plaintexts, so this costs what [`bootstrap`](Self::bootstrap) costs: no extra level,
    /// operation or key. Meant for output scales within a few bits of the input's (a plan's
    /// canonical scales); SlotsToCoeffs' constants are encoded at `q_ℓ` times the per-level
    /// share of the ratio, so a far larger ratio would cost precision.
    pub fn bootstrap_to_scale(
        &self,
        ct: &B::Ct,
        target_level: usize,
        output_scale: f64,
    ) -> Result<B::Ct, BootstrapError> {
        self.check_target(target_level, output_scale)?;
        if ct.slots() != self.config.slots {
            return Err(CkksError::SlotMismatch {
                left: ct.slots(),
                right: self.config.slots,
            }
            .into());
        }
        let eval = &self.backend;
        let ct = eval.relinearize(ct)?;
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
        let start = self.params().max_level();

        // Raise the message towards q_0 (exact: an integer power of two), then ModRaise under
        // the ephemeral sparse secret and switch back to the dense secret.
        let mut low = eval.drop_to_level(&ct, 0)?;
        let boost = self.boost(input_scale);
        if boost > 1.0 {
            eval.mul_integer_assign(&mut low, boost as i64)?;
        }
        let boosted = input_scale * boost;
        let (s0, cts_ratio, stc_ratio) = self.scale_plan(start, boosted, output_scale);
        let prepared = self.prepared(target_level, boosted, output_scale, cts_ratio, stc_ratio)?;
        let mut x = eval.mod_raise(&low, start)?;

        // Slot folding for sparse packing: project onto the subring of the slots.
        let mut fold = self.config.slots;
        while fold < self.params().n() / 2 {
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
        let packed = packs_coefficients(self.params(), &self.config);
        if packed {
            // The last factor reads the slots-slot vector in the 2·slots view (it repeats).
            x.set_slots(2 * self.config.slots);
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
                let mut y = eval.neg(&eval.mul_by_i(&d)?)?;
                y.set_scale(2.0 * y.scale());
                y
            } else {
                w
            }
        } else {
            self.evaluate_mod_pair(&x)?
        };
        phase("eval_mod");
        let s_after = y.scale() * self.eval_mod.gain() * boosted / self.params().q()[0] as f64;
        y.set_scale(s_after);

        // SlotsToCoeffs, on as few limbs as the target allows; with packing, the first factor
        // reads the 2·slots real values and writes the slots-slot vector (repeated).
        y = eval.drop_to_level(&y, target_level + self.config.stc_levels)?;
        for (k, t) in prepared.stc.iter().enumerate() {
            y = t.evaluate(eval, &y)?;
            if packed && k == 0 {
                y.set_slots(self.config.slots);
            }
        }
        phase("slots_to_coeffs");
        // The plan lands on the output scale; snap away floating round-off only.
        if (y.scale() / output_scale - 1.0).abs() < 1e-9 {
            y.set_scale(output_scale);
        }
        if y.level() > target_level {
            y = eval.drop_to_level(&y, target_level)?;
        }
        Ok(y)
    }

    /// Full slots: EvalMod on the real and on the imaginary part of the CoeffsToSlots output
    /// `x` (at its unrescaled scale), recombined as `Re + i·Im` of the reduced values.
    fn evaluate_mod_pair(&self, x: &B::Ct) -> Result<B::Ct, BootstrapError> {
        let eval = &self.backend;
        let conj = eval.conjugate(x)?;
        let re = eval.rescale(&eval.add(x, &conj)?)?;
        let im = eval.rescale(&eval.mul_by_i(&eval.sub(&conj, x)?)?)?;
        let (re, im) = rayon::join(
            || self.eval_mod.evaluate(eval, &re),
            || self.eval_mod.evaluate(eval, &im),
        );
        let (re, im) = (re?, im?);
        Ok(if self.eval_mod.output_in_imaginary_part() {
            // Im(w_re) + i·Im(w_im) = ½·(A − conj(B)) with A = w_im − i·w_re and
            // B = w_im + i·w_re: one conjugation for both parts; the ½ goes into the scale.
            let i_re = eval.mul_by_i(&re)?;
            let a = eval.sub(&im, &i_re)?;
            let b = eval.add(&im, &i_re)?;
            let mut y = eval.sub(&a, &eval.conjugate(&b)?)?;
            y.set_scale(2.0 * y.scale());
            y
        } else {
            eval.add(&re, &eval.mul_by_i(&im)?)?
        })
    }
}

/// The counted trace of one bootstrap to `target_level` under `params` and `config` (the
/// circuit run on [`CountingBackend`], transforms' encoding excluded).
pub fn bootstrap_trace(
    params: &Params,
    config: &BootstrappingConfig,
    target_level: usize,
) -> Result<Trace, BootstrapError> {
    let counter: CountingBackend = Recorder::new(MetaBackend::new(params.clone()));
    let boot = Bootstrapper::with_backend(counter, config.clone())?;
    let scale = params.default_scale();
    boot.prepare(target_level, scale)?;
    boot.backend().take_trace();
    let input = MetaCt {
        level: 0,
        scale,
        slots: config.slots,
        degree: 1,
    };
    boot.bootstrap(&input, target_level)?;
    Ok(boot.backend().take_trace())
}
