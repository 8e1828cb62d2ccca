//! Demanded levels: the lowest level each ciphertext value may be computed at, given the
//! bootstraps placed, so that every later use still has the levels it consumes.
//!
//! Levels run down from where values are made (fresh encryptions and bootstraps at the top),
//! but most values are needed lower: a value whose uses only need level 3 can be computed at
//! level 3, on operands dropped there first, and every rotation, product and sum on the way is
//! cheaper (their cost grows with the level; HECATE and EVA place modulus switches early for
//! the same reason). One backward pass over the program: a use demands of its operand the
//! level its result is demanded at plus what the operation consumes; loop-carried values,
//! initial values and yields are demanded at the top (type-matched loop headers); a
//! bootstrapped value is demanded only at the level its scale factor needs, as its uses read
//! the bootstrapped copy; outputs keep the level they are computed at.

use super::levels::Flat;
use crate::ir::ckks::CkksProgram;
use blindtune_runtime::plan::{Inst, Op, Reg, RegKind};
use std::collections::BTreeSet;

/// Demanded levels of every ciphertext register (`None`: never read).
pub struct Demand {
    /// the level register `r` is demanded at
    pub want: Vec<Option<usize>>,
    /// for a bootstrapped register, the level its bootstrapped copy is demanded at: the
    /// bootstrap's target (HALO lowers a target when every consumer drops levels anyway; a
    /// lower target runs SlotsToCoeffs on fewer limbs)
    pub after_boot: Vec<Option<usize>>,
}

pub fn demanded(
    prog: &CkksProgram,
    top: usize,
    flat: &Flat,
    boots: &BTreeSet<Reg>,
    raw: &[usize],
) -> Demand {
    let mut d = Demand {
        want: vec![None; prog.regs.len()],
        after_boot: vec![None; prog.regs.len()],
    };
    block(prog, top, flat, boots, raw, &prog.body, &mut d);
    d
}

fn demand(want: &mut [Option<usize>], r: Reg, level: usize) {
    let w = &mut want[r as usize];
    *w = Some(w.map_or(level, |x| x.max(level)));
}

fn block(
    prog: &CkksProgram,
    top: usize,
    flat: &Flat,
    boots: &BTreeSet<Reg>,
    raw: &[usize],
    insts: &[Inst],
    d: &mut Demand,
) {
    let is_ct = |r: Reg| prog.regs[r as usize].kind == RegKind::Cipher;
    for inst in insts.iter().rev() {
        // what this instruction's results are demanded at; a bootstrapped result's uses read
        // the bootstrapped copy, so it is demanded only for its factor
        for &r in &inst.results {
            if boots.contains(&r) {
                d.after_boot[r as usize] = d.want[r as usize];
                d.want[r as usize] = Some(flat.pre_need(r));
            }
        }
        let res = inst
            .results
            .iter()
            .filter_map(|&r| d.want[r as usize])
            .max();
        match &inst.op {
            Op::Loop {
                inits,
                body,
                yields,
                ..
            } => {
                for &y in yields {
                    if is_ct(y) {
                        demand(&mut d.want, y, top);
                    }
                }
                block(prog, top, flat, boots, raw, body, d);
                for &i in inits {
                    if is_ct(i) {
                        demand(&mut d.want, i, top);
                    }
                }
            }
            Op::Output { value, .. } => {
                if is_ct(*value) {
                    demand(&mut d.want, *value, raw[*value as usize]);
                }
            }
            op => {
                let Some(res) = res else { continue };
                let consumed = op.levels_consumed().unwrap_or(0);
                for a in op.operands() {
                    if is_ct(a) {
                        demand(&mut d.want, a, res + consumed);
                    }
                }
            }
        }
    }
}
