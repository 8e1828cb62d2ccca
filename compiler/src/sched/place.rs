//! Choosing the bootstrapped registers.

use super::levels::{simulate_all, Failure, Flat};
use super::{SchedError, Strategy, Target};
use crate::ir::ckks::CkksProgram;
use blindtune_runtime::plan::Reg;
use std::collections::{BTreeSet, HashSet};

/// How many earlier cut points the lookahead strategy weighs at each shortfall.
const LOOKAHEAD_CANDIDATES: usize = 6;
/// Bound on the local search's accepted improvements.
const IMPROVE_ROUNDS: usize = 16;

/// Cut points among `x` and its ancestors, latest first.
fn candidates(flat: &Flat, x: Reg, boots: &BTreeSet<Reg>) -> Vec<Reg> {
    let mut seen = HashSet::new();
    let mut stack = vec![x];
    let mut out = Vec::new();
    while let Some(r) = stack.pop() {
        if !seen.insert(r) {
            continue;
        }
        if flat.cut_point(r) && !boots.contains(&r) {
            out.push(r);
        }
        if boots.contains(&r) {
            continue; // above a bootstrap nothing helps this path
        }
        stack.extend(flat.operands[r as usize].iter().copied());
    }
    out.sort_by_key(|&r| std::cmp::Reverse(flat.pos[r as usize]));
    out
}

/// The state of a placement: its shortfalls (none: done).
fn state(
    prog: &CkksProgram,
    target: &Target,
    flat: &Flat,
    boots: &BTreeSet<Reg>,
) -> (i64, Option<Failure>) {
    let lv = simulate_all(prog, target, flat, boots);
    (lv.total_deficit(), lv.failures.first().cloned())
}

/// Candidates that can be bootstrapped where they are (their level pays the scale factor);
/// levels only rise as bootstraps are added, so a candidate stays feasible.
fn feasible(
    prog: &CkksProgram,
    target: &Target,
    flat: &Flat,
    boots: &BTreeSet<Reg>,
    reg: Reg,
) -> Vec<Reg> {
    let lv = simulate_all(prog, target, flat, boots);
    candidates(flat, reg, boots)
        .into_iter()
        .filter(|&c| lv.raw[c as usize] >= flat.pre_need(c) as i64)
        .collect()
}

/// The cost of a set of bootstraps: each weighted by how often it runs, plus the level
/// factors that do not fold.
fn price(flat: &Flat, boots: &BTreeSet<Reg>) -> f64 {
    boots
        .iter()
        .map(|&r| flat.trips[r as usize] * (1.0 + 0.01 * flat.pre_need(r) as f64))
        .sum()
}

/// Completes `boots` greedily: at the first shortfall, the latest cut point (among the
/// shortfall's operand and its ancestors) whose bootstrap lowers the total shortfall.
fn greedy(
    prog: &CkksProgram,
    target: &Target,
    flat: &Flat,
    mut boots: BTreeSet<Reg>,
) -> Result<BTreeSet<Reg>, Failure> {
    loop {
        let (deficit, first) = state(prog, target, flat, &boots);
        let Some(f) = first else { return Ok(boots) };
        if std::env::var_os("BLINDTUNE_SCHED_DEBUG").is_some() {
            eprintln!("shortfall {f:?} total {deficit}");
        }
        let mut fixed = false;
        for c in feasible(prog, target, flat, &boots, f.reg) {
            let mut b = boots.clone();
            b.insert(c);
            if state(prog, target, flat, &b).0 < deficit {
                boots = b;
                fixed = true;
                break;
            }
        }
        if !fixed {
            return Err(f);
        }
    }
}

pub fn place(
    prog: &CkksProgram,
    target: &Target,
    strategy: Strategy,
) -> Result<BTreeSet<Reg>, SchedError> {
    let flat = Flat::new(prog, target);
    let explain = |f: Failure| {
        let name = prog.regs[f.reg as usize]
            .name
            .clone()
            .map(|n| format!("`{n}` (%{})", f.reg))
            .unwrap_or_else(|| format!("%{}", f.reg));
        SchedError {
            what: f.what.clone(),
            why: if target.bootstrapping {
                format!(
                    "it needs {} levels from {name}, and no bootstrap at a tensor boundary before it gives them (the parameter set has {} levels between bootstraps)",
                    f.need, target.max_level
                )
            } else {
                format!(
                    "it needs {} levels from {name}; the parameter set has {} and no bootstrapping",
                    f.need, target.max_level
                )
            },
        }
    };
    if !target.bootstrapping {
        return match state(prog, target, &flat, &BTreeSet::new()).1 {
            None => Ok(BTreeSet::new()),
            Some(f) => Err(explain(f)),
        };
    }
    match strategy {
        Strategy::Naive => greedy(prog, target, &flat, BTreeSet::new()).map_err(explain),
        Strategy::Lookahead => {
            let first = lookahead(prog, target, &flat, BTreeSet::new()).map_err(explain)?;
            Ok(improve(prog, target, &flat, first))
        }
    }
}

/// A placement grown from `seeds` (the bootstraps a level-aware extraction chose): seeds that
/// are not cut points are dropped, the rest completed by lookahead where levels still run out
/// and pruned by the local search, like any other placement.
pub fn place_seeded(
    prog: &CkksProgram,
    target: &Target,
    seeds: &BTreeSet<Reg>,
) -> Result<BTreeSet<Reg>, SchedError> {
    let flat = Flat::new(prog, target);
    let seeds: BTreeSet<Reg> = seeds
        .iter()
        .copied()
        .filter(|&r| (r as usize) < prog.regs.len() && flat.cut_point(r))
        .collect();
    if !target.bootstrapping {
        return place(prog, target, Strategy::Lookahead);
    }
    match lookahead(prog, target, &flat, seeds) {
        Ok(first) => Ok(improve(prog, target, &flat, first)),
        // seeds that lead nowhere: the placement without them
        Err(_) => place(prog, target, Strategy::Lookahead),
    }
}

/// Completes `boots` by lookahead: at each shortfall, every feasible cut point (up to
/// [`LOOKAHEAD_CANDIDATES`]) is tried, the schedule completed greedily from it and priced, and
/// the cheapest is kept.
fn lookahead(
    prog: &CkksProgram,
    target: &Target,
    flat: &Flat,
    mut boots: BTreeSet<Reg>,
) -> Result<BTreeSet<Reg>, Failure> {
    loop {
        let (deficit, first) = state(prog, target, flat, &boots);
        let Some(f) = first else { return Ok(boots) };
        let mut best: Option<(f64, Reg)> = None;
        let mut tried = 0;
        for c in feasible(prog, target, flat, &boots, f.reg) {
            let mut b = boots.clone();
            b.insert(c);
            if state(prog, target, flat, &b).0 >= deficit {
                continue;
            }
            tried += 1;
            if let Ok(done) = greedy(prog, target, flat, b) {
                let cost = price(flat, &done);
                if best.is_none_or(|(bc, _)| cost < bc - 1e-9) {
                    best = Some((cost, c));
                }
            }
            if tried >= LOOKAHEAD_CANDIDATES {
                break;
            }
        }
        match best {
            Some((_, c)) => {
                boots.insert(c);
            }
            None => return Err(f),
        }
    }
}

/// Local search on a complete placement: the lookahead decides shortfalls in program order,
/// so an early choice can force extra bootstraps later. Drop one bootstrap, complete the
/// placement again by lookahead, and keep the result while it is cheaper.
fn improve(
    prog: &CkksProgram,
    target: &Target,
    flat: &Flat,
    mut boots: BTreeSet<Reg>,
) -> BTreeSet<Reg> {
    let mut cost = price(flat, &boots);
    for _ in 0..IMPROVE_ROUNDS {
        // one bootstrap at a time (pairs cost half a second on hetal_head's 17 and found nothing
        // on any example); the drops are tried side by side and the first that improves, in
        // the placement's order, is kept: the result is the sequential search's
        use rayon::prelude::*;
        let list: Vec<Reg> = boots.iter().copied().collect();
        let found = list.par_iter().find_map_first(|&b| {
            let mut t = boots.clone();
            t.remove(&b);
            let done = lookahead(prog, target, flat, t).ok()?;
            let c = price(flat, &done);
            (c < cost - 1e-9).then_some((done, c))
        });
        match found {
            Some((done, c)) => {
                boots = done;
                cost = c;
            }
            None => break,
        }
    }
    boots
}
