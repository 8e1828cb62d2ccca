//! The executor: runs a [`Plan`] on any [`Backend`].
//!
//! * [`scales`]: the canonical scale of each level and how every instruction lands on it.
//! * [`value`]: what registers hold ([`RegValue`]: ciphertext grids, public slot-vector grids,
//!   numbers) and blockwise broadcasting.
//! * [`liveness`]: last uses per block, so registers are dropped as soon as they are dead.
//! * [`plain`]: public arithmetic and the padding rule.
//! * [`observer`]: progress hooks, the [`RunReport`], checkpoints and resuming, stopping a loop
//!   early ([`TripControl`]).
//! * `stop`: when a loop may stop early (batch streams).
//! * [`io`]: where inputs come from and outputs go ([`InputSource`], [`OutputSink`]).
//! * `run`: the interpreter.
//!
//! Invariants:
//! * Canonical scales: a ciphertext register at level `l` has scale exactly `S_l`
//!   ([`CanonicalScales`]); every instruction's constants are encoded so that its result lands
//!   there, inputs are checked against it, and a result that does not is an error (never a
//!   silent `set_scale`), so a backend's strict scale check can never fire on a valid plan.
//!   Levels are checked against the plan's register table after every instruction.
//! * Liveness: after each instruction the registers it read for the last time are dropped; a
//!   value defined outside a loop and read inside lives until the loop ends; values defined
//!   in a trip die with it. Memory is bounded by the plan's live set, not its length;
//!   [`RunReport::peak_live_ciphertexts`] is measured.
//! * Rolled loops: a loop's body runs once per trip from the same instructions (never
//!   unrolled); its carried registers are rebound at each trip, moved rather than copied
//!   where the plan allows. Trip counts are fixed or `ceil(rows / batch)` of a dimension the
//!   data bind. An observer may end a loop after any trip but the last
//!   ([`TripControl::Break`]); it then ends as if it had that many trips.
//! * Encoded plaintexts are cached per (register, level, scale) and evicted when their
//!   register dies, so a mask defined outside a loop is encoded once for all its trips.
//! * Errors name the instruction by its path, as validation does (`body[5].loop[3] mul: …`).

pub mod error;
pub mod io;
pub(crate) mod liveness;
pub mod observer;
pub mod plain;
mod run;
pub mod scales;
mod stop;
pub mod value;

pub use error::ExecError;
pub use io::{Grid, InputSource, IoError, OutputSink};
pub use observer::{
    Checkpoint, LoopPos, NoObserver, Observer, OpStat, RunReport, TripBoundary, TripControl,
};
pub use scales::CanonicalScales;
pub use value::{PlainGrid, RegValue};

use crate::backend::Backend;
use crate::circuits::bootstrapping::Bootstrapper;
use crate::ckks::Params;
use crate::plan::{Inst, Op, Plan};
use liveness::BlockLive;

/// Lower-case hex of a parameter fingerprint, as plans store it.
pub fn fingerprint_hex(params: &Params) -> String {
    params
        .fingerprint()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// BLAKE3 of the plan's binary form (hex): what a [`Checkpoint`] is tied to
/// ([`Executor::plan_id`]).
pub fn plan_id(plan: &Plan) -> String {
    blake3::hash(&plan.to_binary()).to_hex().to_string()
}

/// Refuses to run `plan` under `params` unless they are the parameters it was compiled for
/// (its `params_fingerprint`).
pub fn check_params(plan: &Plan, params: &Params) -> Result<(), ExecError> {
    let have = fingerprint_hex(params);
    if !plan.params_fingerprint.eq_ignore_ascii_case(&have) {
        return Err(ExecError::ParamsMismatch {
            plan_name: plan.params.clone(),
            plan: plan.params_fingerprint.clone(),
            backend_name: params.name().to_string(),
            backend: have,
        });
    }
    Ok(())
}

/// Runs one plan on one backend. The bootstrapper (needed iff the plan bootstraps) runs on its
/// own backend: for traces and counts, build it over the same backend and pass
/// `bootstrapper.backend()` as `backend` so that every operation goes through one place.
pub struct Executor<'a, B: Backend> {
    plan: &'a Plan,
    backend: &'a B,
    bootstrapper: Option<&'a Bootstrapper<B>>,
    scales: CanonicalScales,
    live: BlockLive,
    plan_id: String,
}

/// The path of the first bootstrap instruction and the highest level a bootstrap targets.
fn bootstraps(insts: &[Inst], path: &str, plan: &Plan, found: &mut Option<(String, usize)>) {
    for (k, inst) in insts.iter().enumerate() {
        match &inst.op {
            Op::Bootstrap { .. } => {
                let level = inst
                    .results
                    .first()
                    .and_then(|&r| plan.regs.get(r as usize))
                    .and_then(|i| i.level)
                    .unwrap_or(0);
                match found {
                    Some((_, l)) => *l = (*l).max(level),
                    None => *found = Some((format!("{path}[{k}] bootstrap"), level)),
                }
            }
            Op::Loop { body, .. } => bootstraps(body, &format!("{path}[{k}].loop"), plan, found),
            _ => {}
        }
    }
}

/// Dimensions bound by batches and dimensions trip counts need, in a block and its loops.
fn dims_of(
    insts: &[Inst],
    bound: &mut std::collections::BTreeSet<String>,
    needed: &mut std::collections::BTreeSet<String>,
) {
    for inst in insts {
        match &inst.op {
            Op::BatchInput { dim: Some(d), .. } => {
                bound.insert(d.clone());
            }
            Op::Loop { trips, body, .. } => {
                if let crate::plan::Trips::Batches { rows, .. } = trips {
                    needed.insert(rows.clone());
                }
                dims_of(body, bound, needed);
            }
            _ => {}
        }
    }
}

impl<'a, B: Backend> Executor<'a, B> {
    /// Checks that `plan` can run here: it validates, its parameter fingerprint is the
    /// backend's, its block fits the ring, its canonical scales are sound, and a plan that
    /// bootstraps has a bootstrapper for its block's slot count reaching its levels.
    pub fn new(
        plan: &'a Plan,
        backend: &'a B,
        bootstrapper: Option<&'a Bootstrapper<B>>,
    ) -> Result<Self, ExecError> {
        plan.validate()?;
        let params = backend.params();
        check_params(plan, params)?;
        let slots = plan.block.slots();
        if slots > params.n() / 2 {
            return Err(ExecError::Setup(format!(
                "the plan's block {}×{} has {slots} slots but the ring holds {}",
                plan.block.s0,
                plan.block.s1,
                params.n() / 2
            )));
        }
        let scales = CanonicalScales::new(params, plan.max_level).map_err(ExecError::Setup)?;
        let mut found = None;
        bootstraps(&plan.body, "body", plan, &mut found);
        if let Some((at, level)) = found {
            let boot = bootstrapper.ok_or_else(|| {
                ExecError::Setup(format!(
                    "the plan bootstraps ({at}) but no bootstrapper was given"
                ))
            })?;
            if boot.backend().params().fingerprint() != params.fingerprint() {
                return Err(ExecError::Setup(
                    "the bootstrapper runs under other parameters than the backend".into(),
                ));
            }
            if boot.config().slots != slots {
                return Err(ExecError::Setup(format!(
                    "the bootstrapper is configured for {} slots but the plan's blocks have {slots}",
                    boot.config().slots
                )));
            }
            if level > boot.max_target_level() {
                return Err(ExecError::Setup(format!(
                    "the plan bootstraps to level {level} but the bootstrapper reaches {} at most",
                    boot.max_target_level()
                )));
            }
        }
        Ok(Executor {
            plan,
            backend,
            bootstrapper,
            scales,
            live: BlockLive::of(&plan.body, &[], &[]),
            plan_id: plan_id(plan),
        })
    }

    pub fn plan(&self) -> &Plan {
        self.plan
    }

    pub fn backend(&self) -> &B {
        self.backend
    }

    /// BLAKE3 of the plan's binary form (hex): what a [`Checkpoint`] is tied to.
    pub fn plan_id(&self) -> &str {
        &self.plan_id
    }

    /// The canonical scale of every level (what the data owner encrypts inputs at).
    pub fn scales(&self) -> &CanonicalScales {
        &self.scales
    }

    /// Checks, before a run, that `inputs` gives every dimension the plan needs and no batch
    /// binds: the named dimensions of the inputs' shapes and of batch-loop trip counts.
    pub fn check_inputs(&self, inputs: &dyn InputSource<B>) -> Result<(), ExecError> {
        let mut bound = std::collections::BTreeSet::new();
        let mut needed = std::collections::BTreeSet::new();
        dims_of(&self.plan.body, &mut bound, &mut needed);
        for spec in &self.plan.inputs {
            for d in &spec.shape {
                if let crate::plan::DimSpec::Named(n) = d {
                    // A public input's own shape binds its dimension when nothing else does.
                    if spec.secret || spec.stream.is_some() {
                        needed.insert(n.clone());
                    }
                }
            }
        }
        let missing: Vec<String> = needed
            .into_iter()
            .filter(|n| !bound.contains(n) && inputs.dim(n).is_none())
            .map(|n| format!("`{n}`"))
            .collect();
        if !missing.is_empty() {
            return Err(ExecError::Setup(format!(
                "the inputs do not give the dimension(s) {}",
                missing.join(", ")
            )));
        }
        Ok(())
    }

    /// Runs the plan from the start.
    pub fn run(
        &mut self,
        inputs: &mut dyn InputSource<B>,
        outputs: &mut dyn OutputSink<B>,
    ) -> Result<RunReport, ExecError> {
        self.run_with(inputs, outputs, &mut NoObserver)
    }

    /// Runs the plan from the start, reporting progress and trip boundaries to `observer`.
    pub fn run_with(
        &mut self,
        inputs: &mut dyn InputSource<B>,
        outputs: &mut dyn OutputSink<B>,
        observer: &mut dyn Observer<B>,
    ) -> Result<RunReport, ExecError> {
        run::Machine::new(self, inputs, outputs, observer).run(None)
    }

    /// Continues a run from a checkpoint taken at a trip boundary
    /// ([`TripBoundary::checkpoint`]); see [`observer`] for what `inputs` must do.
    pub fn resume(
        &mut self,
        inputs: &mut dyn InputSource<B>,
        outputs: &mut dyn OutputSink<B>,
        observer: &mut dyn Observer<B>,
        from: Checkpoint<B>,
    ) -> Result<RunReport, ExecError> {
        run::Machine::new(self, inputs, outputs, observer).run(Some(from))
    }
}
