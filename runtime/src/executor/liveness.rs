//! Last uses, per block, computed once per plan: after each instruction the executor drops
//! the registers it read for the last time, so memory stays bounded by what the program needs
//! at once rather than by its length (or its trips).
//!
//! A block is the top-level body or a loop body. A register belongs to the block that defines
//! it (a loop body defines its region arguments and its instructions' results). A use inside a
//! nested loop counts, in the enclosing block, as a use by the loop instruction: a value defined
//! outside a loop and read inside stays alive until the loop has run all its trips. A body's
//! yields are a use at the end of the trip; a register that is never read dies right after its
//! definition.

use std::collections::{BTreeSet, HashMap};

use crate::plan::{Inst, Op, Reg};

#[derive(Debug, Default)]
pub(crate) struct BlockLive {
    /// `kills[k]`: registers of this block last used by instruction `k`.
    pub kills: Vec<Vec<Reg>>,
    /// Region arguments never read (dropped as soon as they are bound).
    pub unused_args: Vec<Reg>,
    /// Registers of this block last used by the yields (dropped once the trip ends).
    pub end_kills: Vec<Reg>,
    /// Every register this block defines.
    pub defined: BTreeSet<Reg>,
    /// Registers read here (nested blocks and yields included) but defined outside.
    pub free_uses: BTreeSet<Reg>,
    /// The liveness of each loop instruction's body, by instruction index.
    pub children: HashMap<usize, BlockLive>,
}

impl BlockLive {
    /// Liveness of a block with region arguments `args` and `yields` (empty for the body).
    pub fn of(insts: &[Inst], args: &[Reg], yields: &[Reg]) -> BlockLive {
        let mut live = BlockLive::default();
        live.defined.extend(args.iter().copied());
        let mut uses: Vec<BTreeSet<Reg>> = Vec::with_capacity(insts.len());
        let mut last: HashMap<Reg, usize> = HashMap::new();
        for (k, inst) in insts.iter().enumerate() {
            let mut u: BTreeSet<Reg> = inst.op.operands().into_iter().collect();
            if let Op::Loop {
                args: a,
                body,
                yields: y,
                ..
            } = &inst.op
            {
                let child = BlockLive::of(body, a, y);
                u.extend(child.free_uses.iter().copied());
                live.children.insert(k, child);
            }
            for &r in &inst.results {
                live.defined.insert(r);
                // Never read: dies right after its definition (overwritten by a later read).
                last.insert(r, k);
            }
            uses.push(u);
        }
        for (k, u) in uses.iter().enumerate() {
            for &r in u {
                if live.defined.contains(&r) {
                    let e = last.entry(r).or_insert(k);
                    *e = (*e).max(k);
                } else {
                    live.free_uses.insert(r);
                }
            }
        }
        let end = insts.len();
        for &r in yields {
            if live.defined.contains(&r) {
                last.insert(r, end);
            } else {
                live.free_uses.insert(r);
            }
        }
        live.kills = vec![Vec::new(); insts.len()];
        for &r in args {
            if !last.contains_key(&r) {
                live.unused_args.push(r);
            }
        }
        for (&r, &k) in &last {
            if k == end {
                live.end_kills.push(r);
            } else {
                live.kills[k].push(r);
            }
        }
        live.kills.iter_mut().for_each(|v| v.sort_unstable());
        live.end_kills.sort_unstable();
        live.unused_args.sort_unstable();
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Trips;

    fn inst(results: &[Reg], op: Op) -> Inst {
        Inst {
            results: results.to_vec(),
            op,
        }
    }

    #[test]
    fn outer_values_read_in_a_loop_live_until_the_loop_ends() {
        // r0 = const; r1 = const; loop(r2 idx, r3 carried = r1) { r4 = r3 + r0; yield r4 } -> r5;
        // output r5
        let body = vec![inst(
            &[4],
            Op::ScalarBin {
                op: crate::plan::ScalarOp::Add,
                a: 3,
                b: 0,
            },
        )];
        let insts = vec![
            inst(&[0], Op::Const(1.0)),
            inst(&[1], Op::Const(2.0)),
            inst(
                &[5],
                Op::Loop {
                    trips: Trips::Fixed(3),
                    args: vec![2, 3],
                    inits: vec![1],
                    body,
                    yields: vec![4],
                },
            ),
            inst(
                &[],
                Op::Output {
                    name: "y".into(),
                    value: 5,
                },
            ),
        ];
        let live = BlockLive::of(&insts, &[], &[]);
        assert_eq!(live.kills, vec![vec![], vec![], vec![0, 1], vec![5]]);
        let body = &live.children[&2];
        assert_eq!(body.free_uses, [0].into_iter().collect());
        assert_eq!(body.unused_args, vec![2]);
        assert_eq!(body.kills, vec![vec![3]]);
        assert_eq!(body.end_kills, vec![4]);
    }
}
