//! The last stage: a scheduled program becomes a [`Plan`] with its parameters, exact key
//! manifest and cost estimate.

pub mod explain;
pub mod price;

use crate::sched::ScheduledProgram;
use blindtune_runtime::backend::CostModel;
use blindtune_runtime::ckks::keys::KeyManifest;
use blindtune_runtime::plan::params::{fingerprint_hex, PlanParams};
use blindtune_runtime::plan::{
    Estimate, GridDim, Inst, Op, Plan, RegInfo, SourceInfo, Trips, FORMAT_NAME, FORMAT_VERSION,
};
use price::Pricer;
use std::collections::BTreeMap;

/// Builds the plan of a scheduled program.
pub fn build(
    sched: &ScheduledProgram,
    pp: &PlanParams,
    set_name: &str,
    source: SourceInfo,
    seed: u64,
    threads: usize,
) -> Plan {
    let model = CostModel::shipped(set_name, threads);
    let mut pricer = Pricer::new(&pp.params, pp.bootstrapping.as_ref(), model);
    build_with(sched, pp, set_name, source, seed, &mut pricer)
}

/// [`build`] with a shared [`Pricer`] (its traces are memoized across plans).
pub fn build_with(
    sched: &ScheduledProgram,
    pp: &PlanParams,
    set_name: &str,
    source: SourceInfo,
    seed: u64,
    pricer: &mut Pricer,
) -> Plan {
    let mut est = Estimate {
        assumed_dims: sched.assumed_dims.clone(),
        ..Default::default()
    };
    let mut keys = KeyManifest::default();
    let per_run = walk(sched, &sched.body, "top", pricer, &mut est, &mut keys);
    est.total_ms = per_run * 1e3;
    est.peak_live_ciphertexts = peak_live(sched);
    Plan {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        source,
        params: set_name.to_string(),
        params_fingerprint: fingerprint_hex(&pp.params),
        insecure: pp.insecure,
        block: sched.block,
        bootstrapping: sched.bootstrapping,
        max_level: sched.max_level,
        keys,
        inputs: sched.inputs.clone(),
        outputs: sched.outputs.clone(),
        seed,
        regs: sched.regs.clone(),
        body: sched.body.clone(),
        estimate: est,
    }
}

/// The plan's estimate re-priced with the shipped cost table for `threads` (the plan's own is
/// for one thread, the same on every machine); `None` where no table ships for that count.
/// `demo` and `bench train` put this beside what they measure on that many threads.
pub fn estimate_for_threads(plan: &Plan, threads: usize) -> Option<Estimate> {
    let model = CostModel::shipped(&plan.params, threads)?;
    let pp = blindtune_runtime::plan::params::resolve(&plan.params, plan.insecure).ok()?;
    let sched = ScheduledProgram {
        slots: plan.block.slots(),
        block: plan.block,
        regs: plan.regs.clone(),
        facts: vec![Default::default(); plan.regs.len()],
        body: plan.body.clone(),
        inputs: plan.inputs.clone(),
        outputs: plan.outputs.clone(),
        max_level: plan.max_level,
        bootstrapping: plan.bootstrapping,
        strategy: crate::sched::Strategy::Lookahead,
        assumed_dims: plan.estimate.assumed_dims.clone(),
        bootstraps: 0,
    };
    let mut pricer = Pricer::new(&pp.params, pp.bootstrapping.as_ref(), Some(model));
    let mut est = Estimate {
        assumed_dims: sched.assumed_dims.clone(),
        ..Default::default()
    };
    let mut keys = KeyManifest::default();
    est.total_ms = walk(&sched, &sched.body, "top", &mut pricer, &mut est, &mut keys) * 1e3;
    est.peak_live_ciphertexts = plan.estimate.peak_live_ciphertexts;
    Some(est)
}

fn blocks(sched: &ScheduledProgram, info: &RegInfo) -> f64 {
    let rows = match &info.rows {
        GridDim::Fixed(n) => *n as f64,
        GridDim::Rows(d) => {
            let n = sched.assumed_dims.get(d).copied().unwrap_or(1024);
            (n as f64 / sched.block.s0 as f64).ceil().max(1.0)
        }
    };
    rows * info.cols as f64
}

/// Seconds for one pass over `insts` (loops included), recording per-trip figures.
fn walk(
    sched: &ScheduledProgram,
    insts: &[Inst],
    path: &str,
    pricer: &mut Pricer,
    est: &mut Estimate,
    keys: &mut KeyManifest,
) -> f64 {
    let mut secs = 0.0;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut boots = 0u64;
    for (k, inst) in insts.iter().enumerate() {
        if let Op::Loop { trips, body, .. } = &inst.op {
            let sub = format!("{path}/loop{k}");
            let per_trip = walk(sched, body, &sub, pricer, est, keys);
            let n = match trips {
                Trips::Fixed(n) => *n as f64,
                Trips::Batches { rows, size } => {
                    let r = sched.assumed_dims.get(rows).copied().unwrap_or(1024);
                    (r as f64 / *size as f64).ceil().max(1.0)
                }
            };
            est.per_trip_ms.insert(sub, per_trip * 1e3);
            secs += per_trip * n;
            continue;
        }
        let out = inst.results.first().map(|&r| &sched.regs[r as usize]);
        let grid = match (&inst.op, out) {
            (Op::SumBlocks { a, .. }, Some(o)) => {
                blocks(sched, &sched.regs[*a as usize]) - blocks(sched, o)
            }
            (_, Some(o)) => blocks(sched, o),
            _ => 1.0,
        };
        let is_ct_op = out.is_some_and(|o| o.kind == blindtune_runtime::plan::RegKind::Cipher);
        if !is_ct_op {
            continue;
        }
        let (s, m) = pricer.price(&inst.op, &sched.regs, out.and_then(|o| o.level));
        keys.union(&m);
        secs += s * grid;
        *counts.entry(inst.op.mnemonic().to_string()).or_default() += grid as u64;
        if matches!(inst.op, Op::Bootstrap { .. }) {
            boots += grid as u64;
        }
    }
    est.counts.insert(path.to_string(), counts);
    est.bootstraps.insert(path.to_string(), boots);
    secs
}

/// The most ciphertext registers alive at once in any block (a register lives from its
/// definition to its last use in the block; values from enclosing blocks count as live).
fn peak_live(sched: &ScheduledProgram) -> usize {
    fn block(sched: &ScheduledProgram, insts: &[Inst], outer_live: usize) -> usize {
        let mut last: BTreeMap<u32, usize> = BTreeMap::new();
        for (k, inst) in insts.iter().enumerate() {
            let mut ops = inst.op.operands();
            if let Op::Loop { yields, .. } = &inst.op {
                ops.extend(yields);
            }
            for o in ops {
                last.insert(o, k);
            }
        }
        let is_ct =
            |r: u32| sched.regs[r as usize].kind == blindtune_runtime::plan::RegKind::Cipher;
        let mut live = 0usize;
        let mut peak = outer_live;
        for (k, inst) in insts.iter().enumerate() {
            if let Op::Loop { body, .. } = &inst.op {
                peak = peak.max(block(sched, body, outer_live + live));
            }
            live += inst.results.iter().filter(|&&r| is_ct(r)).count();
            peak = peak.max(outer_live + live);
            let dying = last
                .iter()
                .filter(|&(&r, &l)| l == k && is_ct(r) && inst.results.iter().all(|&x| x != r))
                .count();
            live = live.saturating_sub(dying);
        }
        peak
    }
    block(sched, &sched.body, 0)
}
