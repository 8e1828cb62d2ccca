//! Composing rare rotations from keys that exist anyway, to cap key memory.
//!
//! Every distinct rotation a plan performs needs its own Galois key (tens of MiB at N = 2^16).
//! Bootstrapping already needs dozens of keys, most of them powers of two; a program rotation
//! whose key bootstrapping does not provide can instead be performed as a chain of rotations
//! by steps that have keys: bootstrapping's, and powers of two (`±2^k`). The chain is the
//! shortest (fewest key switches) over the cyclic group of slot positions (breadth-first,
//! bootstrapping's keys tried before powers of two, so a tie uses a key that exists anyway).
//!
//! Runs on the scheduled stage: rotations keep their operand's level, so the schedule stands.
//! The key manifest is then read off the rewritten plan by the same trace as always, and the
//! estimate prices the extra key switches, so the trade (keys and bytes saved, key switches
//! added) is what `compile --rotation-keys compose` reports by comparing with the exact plan.
//!
//! In a hoisted group, the chains' first steps share the group's one decomposition, and
//! chains with a common prefix share its rotations.

use super::ScheduledProgram;
use blindtune_runtime::circuits::bootstrapping::bootstrapper::key_manifest_for;
use blindtune_runtime::ckks::galois::rotation_element;
use blindtune_runtime::plan::params::PlanParams;
use blindtune_runtime::plan::{Inst, Op, Reg};
use std::collections::{BTreeSet, HashMap, VecDeque};

/// What composition did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComposeReport {
    /// distinct rotation steps now composed
    pub composed_steps: usize,
    /// rotation instructions added (static count, loop bodies once)
    pub added_rotations: usize,
}

/// Shortest chains over `Z_slots` from the steps that have keys.
pub struct Chains {
    slots: usize,
    /// the step taken last to reach each position (0: the origin or unreachable)
    last: Vec<i64>,
    dist: Vec<u32>,
}

impl Chains {
    /// `keyed`: steps whose keys exist anyway (bootstrapping's), tried first; then powers of
    /// two in both directions.
    pub fn new(slots: usize, keyed: &BTreeSet<i64>) -> Chains {
        let n = slots as i64;
        let mut gens: Vec<i64> = keyed
            .iter()
            .map(|s| s.rem_euclid(n))
            .filter(|&s| s != 0)
            .collect();
        let mut p = 1i64;
        while p < n {
            for s in [p, n - p] {
                if !gens.contains(&s) {
                    gens.push(s);
                }
            }
            p *= 2;
        }
        let mut dist = vec![u32::MAX; slots];
        let mut last = vec![0i64; slots];
        dist[0] = 0;
        let mut q = VecDeque::from([0usize]);
        while let Some(x) = q.pop_front() {
            for &g in &gens {
                let y = (x + g as usize) % slots;
                if dist[y] == u32::MAX {
                    dist[y] = dist[x] + 1;
                    last[y] = g;
                    q.push_back(y);
                }
            }
        }
        Chains { slots, last, dist }
    }

    /// The steps (each with a key) whose rotations compose to `steps`, first to last.
    pub fn chain(&self, steps: i64) -> Vec<i64> {
        let mut x = steps.rem_euclid(self.slots as i64) as usize;
        let mut out = Vec::with_capacity(self.dist[x] as usize);
        while x != 0 {
            let g = self.last[x];
            out.push(g);
            x = (x + self.slots - g as usize) % self.slots;
        }
        out.reverse();
        out
    }
}

/// The rotation steps whose keys bootstrapping needs (none without bootstrapping), read off
/// the bootstrapper's own key manifest.
pub fn bootstrap_steps(pp: &PlanParams) -> BTreeSet<i64> {
    let Some(cfg) = &pp.bootstrapping else {
        return BTreeSet::new();
    };
    let elements: BTreeSet<u64> = key_manifest_for(&pp.params, cfg)
        .galois_elements
        .into_iter()
        .collect();
    let log_n = pp.params.log_n();
    (0..(pp.params.n() / 2) as i64)
        .filter(|&k| elements.contains(&rotation_element(log_n, k)))
        .collect()
}

/// Rewrites every rotation by a step outside `keep` (the steps that keep their own key:
/// bootstrapping's and powers of two) into its chain.
pub fn compose_rotations(
    sched: &ScheduledProgram,
    bootstrap_steps: &BTreeSet<i64>,
) -> (ScheduledProgram, ComposeReport) {
    let slots = sched.slots;
    let chains = Chains::new(slots, bootstrap_steps);
    let n = slots as i64;
    let keeps = |s: i64| {
        let s = s.rem_euclid(n);
        s == 0
            || bootstrap_steps.iter().any(|b| b.rem_euclid(n) == s)
            || (s as u64).is_power_of_two()
            || ((n - s) as u64).is_power_of_two()
    };
    let mut out = sched.clone();
    let mut composed = BTreeSet::new();
    let mut added = 0;
    let body = std::mem::take(&mut out.body);
    out.body = rewrite(&mut out, body, &chains, &keeps, &mut composed, &mut added);
    (
        out,
        ComposeReport {
            composed_steps: composed.len(),
            added_rotations: added,
        },
    )
}

fn new_like(p: &mut ScheduledProgram, like: Reg) -> Reg {
    let mut info = p.regs[like as usize].clone();
    info.name = None;
    info.tensor = None;
    p.regs.push(info);
    p.facts.push(Default::default());
    (p.regs.len() - 1) as Reg
}

fn rewrite(
    p: &mut ScheduledProgram,
    body: Vec<Inst>,
    chains: &Chains,
    keeps: &dyn Fn(i64) -> bool,
    composed: &mut BTreeSet<i64>,
    added: &mut usize,
) -> Vec<Inst> {
    let n = p.slots as i64;
    let mut out = Vec::with_capacity(body.len());
    for mut inst in body {
        match &mut inst.op {
            Op::Loop { body, .. } => {
                let b = std::mem::take(body);
                *body = rewrite(p, b, chains, keeps, composed, added);
                out.push(inst);
            }
            Op::Rotate { a, steps } if !keeps(*steps) => {
                let chain = chains.chain(*steps);
                composed.insert(steps.rem_euclid(n));
                *added += chain.len() - 1;
                let result = inst.results[0];
                let mut x = *a;
                for (k, &g) in chain.iter().enumerate() {
                    let r = if k + 1 == chain.len() {
                        result
                    } else {
                        new_like(p, result)
                    };
                    out.push(Inst {
                        results: vec![r],
                        op: Op::Rotate { a: x, steps: g },
                    });
                    x = r;
                }
            }
            Op::RotateHoisted { a, steps }
                if steps.iter().any(|&s| !keeps(s))
                    && steps
                        .iter()
                        .map(|s| s.rem_euclid(n))
                        .collect::<BTreeSet<_>>()
                        .len()
                        == steps.len() =>
            {
                let a = *a;
                let chains_of: Vec<Vec<i64>> = steps
                    .iter()
                    .map(|&s| {
                        if keeps(s) {
                            vec![s]
                        } else {
                            composed.insert(s.rem_euclid(n));
                            chains.chain(s)
                        }
                    })
                    .collect();
                // the register holding the rotation by each cumulative step reached so far
                let mut at: HashMap<i64, Reg> = HashMap::new();
                for (s, &r) in steps.iter().zip(&inst.results) {
                    at.insert(s.rem_euclid(n), r);
                }
                // the hoisted group: every chain's first step
                let mut firsts: Vec<i64> = Vec::new();
                for c in &chains_of {
                    let f = c[0].rem_euclid(n);
                    if !firsts.contains(&f) {
                        firsts.push(f);
                    }
                }
                let like = inst.results[0];
                let first_regs: Vec<Reg> = firsts
                    .iter()
                    .map(|f| match at.get(f) {
                        Some(&r) => r,
                        None => {
                            let r = new_like(p, like);
                            at.insert(*f, r);
                            r
                        }
                    })
                    .collect();
                out.push(Inst {
                    results: first_regs,
                    op: Op::RotateHoisted {
                        a,
                        steps: firsts.clone(),
                    },
                });
                // the rest of each chain, sharing prefixes
                let mut extra = 0;
                let mut done: BTreeSet<i64> = firsts.iter().copied().collect();
                for c in &chains_of {
                    let mut cum = c[0].rem_euclid(n);
                    for &g in &c[1..] {
                        let next = (cum + g).rem_euclid(n);
                        if done.insert(next) {
                            let r = match at.get(&next) {
                                Some(&r) => r,
                                None => {
                                    let r = new_like(p, like);
                                    at.insert(next, r);
                                    r
                                }
                            };
                            out.push(Inst {
                                results: vec![r],
                                op: Op::Rotate {
                                    a: at[&cum],
                                    steps: g,
                                },
                            });
                            extra += 1;
                        }
                        cum = next;
                    }
                }
                *added += (firsts.len() + extra).saturating_sub(steps.len());
            }
            _ => out.push(inst),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every chain composes to its step, uses only keyed steps, and is as short as the
    /// signed binary (NAF) expansion or shorter.
    #[test]
    fn chains_compose_to_their_steps_with_keyed_steps_only() {
        let slots = 1 << 12;
        let keyed: BTreeSet<i64> = [3, 40, -100].into_iter().collect();
        let c = Chains::new(slots, &keyed);
        let n = slots as i64;
        let allowed = |g: i64| {
            let g = g.rem_euclid(n);
            keyed.iter().any(|k| k.rem_euclid(n) == g)
                || (g as u64).is_power_of_two()
                || ((n - g) as u64).is_power_of_two()
        };
        for s in -300..300i64 {
            let chain = c.chain(s);
            assert_eq!(
                chain.iter().sum::<i64>().rem_euclid(n),
                s.rem_euclid(n),
                "step {s}: chain {chain:?}"
            );
            assert!(chain.iter().all(|&g| allowed(g)), "step {s}: {chain:?}");
            // NAF weight bounds the shortest chain over powers of two alone
            let mut x = s.rem_euclid(n);
            let mut naf = 0;
            while x != 0 {
                if x & 1 == 1 {
                    naf += 1;
                    x = if x & 3 == 3 { x + 1 } else { x - 1 };
                }
                x >>= 1;
            }
            assert!(
                chain.len() <= naf.max(1),
                "step {s}: {chain:?} vs NAF {naf}"
            );
        }
        assert_eq!(c.chain(43), vec![3, 40]);
    }
}
