//! The whole middle end in one call: checked program → tensor IR → layout stage → CKKS stage
//! → (optimizer) → scheduled CKKS → plan, keeping every stage for `--emit`.

use crate::ir::ckks::CkksProgram;
use crate::ir::layout::LayoutProgram;
use crate::ir::tensor::TensorProgram;
use crate::sched::{ScheduledProgram, Strategy, Target};
use crate::CheckedProgram;
use blindtune_runtime::plan::params::{resolve, PlanParams};
use blindtune_runtime::plan::{Plan, SourceInfo};
use std::collections::BTreeMap;

/// How hard the compiler works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// every optimization; the cheaper of the placement strategies is kept
    Optimized,
    /// the DaCapo/HALO-style baseline: lookahead placement, carried values packed, hoisting,
    /// no e-graph
    Halo,
    /// eager rescale, bootstrap when levels run out, no hoisting, no packing, no optimizer
    Naive,
    /// the e-graph scheduling levels alone: carried values packed, then every block's terms,
    /// level drops and bootstrap sites chosen by level-aware extraction; the lookahead only
    /// completes the sites where levels still run out across blocks
    Egraph,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Optimized => "optimized",
            Mode::Halo => "halo",
            Mode::Naive => "naive",
            Mode::Egraph => "egraph",
        }
    }
}

#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// the parameter set; `None`: the smallest shipped set the program fits
    pub params: Option<String>,
    pub allow_insecure: bool,
    pub mode: Mode,
    /// the program's file name and text (hashed into the plan)
    pub source_name: String,
    pub source_text: String,
    pub param_values: BTreeMap<String, String>,
    /// numpy seed for shuffled batches (the reference interpreter's `--seed`)
    pub seed: u64,
    /// the thread count the estimate assumes (the shipped cost table is 1 thread)
    pub threads: usize,
    /// magnitude assumed for values without a known range (bootstrapping needs a bound)
    pub default_bound: f64,
    /// one key per rotation, or rare rotations composed from keys that exist anyway
    pub rotation_keys: RotationKeys,
    /// bootstraps target the level their uses demand ([`Target::lower_targets`])
    pub lower_bootstrap_targets: bool,
    /// sizes assumed for named dimensions in the estimate (e.g. `N=60000`)
    pub assume_dims: BTreeMap<String, usize>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            params: None,
            allow_insecure: false,
            mode: Mode::Optimized,
            source_name: String::new(),
            source_text: String::new(),
            param_values: BTreeMap::new(),
            seed: 0,
            threads: 1,
            default_bound: 16.0,
            assume_dims: BTreeMap::new(),
            rotation_keys: RotationKeys::Exact,
            lower_bootstrap_targets: false,
        }
    }
}

/// How rotation keys are chosen ([`crate::sched::compose`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RotationKeys {
    /// a key for every distinct rotation the plan performs
    #[default]
    Exact,
    /// rotations whose key bootstrapping does not provide, other than by a power of two, are
    /// composed of rotations that have keys (fewer keys, more key switches)
    Compose,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("tensor IR: {0}")]
    Tensor(String),
    #[error("layout: {0}")]
    Layout(String),
    #[error("{0}")]
    Ckks(String),
    #[error("{0}")]
    Params(String),
    #[error("{0}")]
    Schedule(String),
}

/// Every stage of one compilation.
pub struct Compiled {
    pub tensor: TensorProgram,
    pub layout: LayoutProgram,
    pub ckks: CkksProgram,
    pub optimized: CkksProgram,
    pub scheduled: ScheduledProgram,
    pub plan: Plan,
    pub params: String,
}

fn target_for(pp: &PlanParams, default_bound: f64, lower_targets: bool) -> Target {
    let max_level = match &pp.bootstrapping {
        Some(cfg) => {
            let depth = cfg.cts_levels
                + blindtune_runtime::circuits::bootstrapping::EvalMod::new(cfg.eval_mod.clone())
                    .depth()
                + cfg.stc_levels;
            pp.params.max_level() - depth
        }
        None => pp.params.max_level(),
    };
    Target {
        max_level,
        bootstrapping: pp.bootstrapping.is_some(),
        default_bound,
        lower_targets,
    }
}

/// The stages before scheduling, for the first candidate parameter set.
pub fn front(
    checked: &CheckedProgram,
    opts: &CompileOptions,
) -> Result<(TensorProgram, LayoutProgram, CkksProgram), PipelineError> {
    let tensor =
        crate::ir::tensor::lower(checked).map_err(|e| PipelineError::Tensor(e.to_string()))?;
    let name = opts.params.clone().unwrap_or_else(|| "n16-boot".into());
    let pp = resolve(&name, opts.allow_insecure).map_err(PipelineError::Params)?;
    let layout = crate::ir::layout::assign(&tensor, pp.params.n() / 2)
        .map_err(|e| PipelineError::Layout(e.to_string()))?;
    let ckks = crate::ir::ckks::lower(&layout).map_err(|e| PipelineError::Ckks(e.to_string()))?;
    Ok((tensor, layout, ckks))
}

type Seeds = std::collections::BTreeSet<u32>;

/// Every (stage, strategy) pair of the stages in `range`.
fn jobs(range: std::ops::Range<usize>, strategies: &[Strategy]) -> Vec<(usize, Strategy)> {
    range
        .flat_map(|k| strategies.iter().map(move |&s| (k, s)))
        .collect()
}

/// The placements of `jobs`, in parallel; a stage with seeds grows its lookahead placement
/// from them.
fn schedule_jobs(
    stages: &[(CkksProgram, Option<Seeds>)],
    jobs: &[(usize, Strategy)],
    target: &Target,
) -> Vec<Result<ScheduledProgram, crate::sched::SchedError>> {
    use rayon::prelude::*;
    jobs.par_iter()
        .map(|&(k, s)| match &stages[k] {
            (stage, Some(seeds)) if s == Strategy::Lookahead => {
                crate::sched::schedule_seeded(stage, target, seeds)
            }
            (stage, _) => crate::sched::schedule(stage, target, s),
        })
        .collect()
}

/// The level-aware e-graph candidate: the skeleton's levels (the lookahead placement), then
/// every block extracted against them; with the bootstraps it chose (seeds for the placement).
fn level_aware(
    stage: &CkksProgram,
    target: &Target,
    default_bound: f64,
) -> Option<(CkksProgram, std::collections::BTreeSet<u32>)> {
    if !target.bootstrapping {
        return None;
    }
    let (level, need) = crate::sched::skeleton_levels(stage, target).ok()?;
    let mut o = crate::opt::OptOptions::default();
    o.levels = Some(crate::opt::LevelInputs {
        top: target.max_level,
        level,
        need,
        boot_s: o.cost.level_price_s * target.max_level as f64,
        default_bound,
    });
    match crate::opt::optimize(stage, &o) {
        Ok((p, report)) => {
            tracing::debug!(?report, "level-aware e-graph extraction");
            Some((p, report.boot_hints))
        }
        Err(e) => {
            tracing::warn!(
                "the level-aware e-graph extraction gave up ({e}); compiling without it"
            );
            None
        }
    }
}

/// Runs the middle end.
pub fn compile(checked: &CheckedProgram, opts: &CompileOptions) -> Result<Compiled, PipelineError> {
    let tensor =
        crate::ir::tensor::lower(checked).map_err(|e| PipelineError::Tensor(e.to_string()))?;
    let candidates: Vec<String> = match &opts.params {
        Some(p) => vec![p.clone()],
        None => vec!["n16".into(), "n16-boot".into()],
    };
    let mut last_err = None;
    let mut optimized_stage: Option<CkksProgram> = None;
    for name in &candidates {
        let pp = resolve(name, opts.allow_insecure).map_err(PipelineError::Params)?;
        let slots = pp.params.n() / 2;
        let layout = crate::ir::layout::assign(&tensor, slots)
            .map_err(|e| PipelineError::Layout(e.to_string()))?;
        let mut ckks =
            crate::ir::ckks::lower(&layout).map_err(|e| PipelineError::Ckks(e.to_string()))?;
        for (k, v) in &opts.assume_dims {
            ckks.assumed_dims.insert(k.clone(), *v);
        }
        // candidates: the CKKS stage as lowered, with its loop-carried values packed (not in
        // naive mode) and (optimized mode) that as the e-graph rewrote it, each with the
        // placement strategies of the mode; the cheapest estimate ships
        let target = target_for(&pp, opts.default_bound, opts.lower_bootstrap_targets);
        // (stage, bootstraps a level-aware extraction chose for it: seeds for the placement)
        let mut stages: Vec<(CkksProgram, Option<Seeds>)> = vec![(ckks.clone(), None)];
        if opts.mode != Mode::Naive {
            if let Some((p, report)) = crate::opt::pack::pack_carried(&ckks, opts.default_bound) {
                tracing::debug!(?report, "carried values packed");
                stages.push((p, None));
            }
        }
        let source = SourceInfo {
            name: opts.source_name.clone(),
            blake3: blake3::hash(opts.source_text.as_bytes())
                .to_hex()
                .to_string(),
            params: opts.param_values.clone(),
            mode: opts.mode.name().into(),
        };
        let strategies: &[Strategy] = match opts.mode {
            Mode::Naive => &[Strategy::Naive],
            Mode::Halo | Mode::Egraph => &[Strategy::Lookahead],
            Mode::Optimized => &[Strategy::Lookahead, Strategy::Naive],
        };
        // the placements of the lowered and packed stages run while the e-graph works (the
        // lowered stage's lookahead is the longest single job); plans are priced in order after
        let early: Vec<(usize, Strategy)> = if opts.mode == Mode::Egraph {
            Vec::new()
        } else {
            jobs(0..stages.len(), strategies)
        };
        // (the pricer, which builds bootstrapping's circuits on the counting backend, too)
        let ((mut results, mut pricer), optimized) = rayon::join(
            || {
                rayon::join(
                    || schedule_jobs(&stages, &early, &target),
                    || {
                        crate::plan::price::Pricer::new(
                            &pp.params,
                            pp.bootstrapping.as_ref(),
                            blindtune_runtime::backend::CostModel::shipped(name, opts.threads),
                        )
                    },
                )
            },
            || {
                let last = &stages.last().expect("the lowered stage").0;
                match opts.mode {
                    // two e-graph candidates side by side: extraction by seconds and priced
                    // depth, and the e-graph scheduling levels (against the skeleton's
                    // levels, each block's terms and bootstrap sites chosen together)
                    Mode::Optimized => Some(rayon::join(
                        || {
                            Some(crate::opt::optimize(
                                last,
                                &crate::opt::OptOptions::default(),
                            ))
                        },
                        || level_aware(last, &target, opts.default_bound),
                    )),
                    Mode::Egraph => Some((None, level_aware(last, &target, opts.default_bound))),
                    Mode::Naive | Mode::Halo => None,
                }
            },
        );
        let mut all_jobs = early;
        if let Some((plain, leveled)) = optimized {
            let mut first_new = stages.len();
            match plain {
                Some(Ok((p, report))) => {
                    tracing::debug!(?report, "e-graph optimizer");
                    stages.push((p, None));
                }
                Some(Err(e)) => {
                    tracing::warn!("the e-graph optimizer gave up ({e}); compiling without it")
                }
                None => {}
            }
            match leveled {
                Some((p, hints)) => stages.push((p, Some(hints))),
                // the e-graph alone found nothing: the packed stage by lookahead
                None if opts.mode == Mode::Egraph => {
                    tracing::warn!(
                        "the level-aware extraction gave up; the lookahead placement stands in"
                    );
                    first_new -= 1;
                }
                None => {}
            }
            let late = jobs(first_new..stages.len(), strategies);
            results.extend(schedule_jobs(&stages, &late, &target));
            all_jobs.extend(late);
        }
        let mut best: Option<(ScheduledProgram, Plan, CkksProgram)> = None;
        let mut boot_steps: Option<std::collections::BTreeSet<i64>> = None;
        for (&(k, s), scheduled) in all_jobs.iter().zip(results) {
            let (stage, seeds) = &stages[k];
            match scheduled {
                Ok(mut sched) => {
                    if opts.rotation_keys == RotationKeys::Compose {
                        let keyed = boot_steps
                            .get_or_insert_with(|| crate::sched::compose::bootstrap_steps(&pp));
                        let (c, report) = crate::sched::compose::compose_rotations(&sched, keyed);
                        tracing::debug!(?report, "rotations composed");
                        sched = c;
                    }
                    let plan = crate::plan::build_with(
                        &sched,
                        &pp,
                        name,
                        source.clone(),
                        opts.seed,
                        &mut pricer,
                    );
                    let better = best.as_ref().is_none_or(|(bs, bp, _)| {
                        plan.estimate.total_ms < bp.estimate.total_ms
                            || (plan.estimate.total_ms == bp.estimate.total_ms
                                && sched.bootstraps < bs.bootstraps)
                    });
                    tracing::debug!(
                        stage = k,
                        seeded = seeds.is_some(),
                        strategy = s.name(),
                        bootstraps = sched.bootstraps,
                        est_ms = plan.estimate.total_ms,
                        "candidate schedule"
                    );
                    if better {
                        best = Some((sched, plan, stage.clone()));
                    }
                }
                Err(e) => last_err = Some(PipelineError::Schedule(e.to_string())),
            }
        }
        let best = best.map(|(s, p, o)| {
            optimized_stage = Some(o);
            (s, p)
        });
        if let Some((scheduled, plan)) = best {
            plan.validate().map_err(|e| {
                PipelineError::Schedule(format!(
                    "the compiler produced an invalid plan (a bug): {e}"
                ))
            })?;
            return Ok(Compiled {
                tensor,
                layout,
                ckks,
                optimized: optimized_stage.take().expect("the winner's stage"),
                scheduled,
                plan,
                params: name.clone(),
            });
        }
    }
    Err(last_err.unwrap_or_else(|| PipelineError::Schedule("no parameter set fits".into())))
}
