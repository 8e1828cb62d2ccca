//! Level propagation through a CKKS-stage program for a given set of bootstrapped registers.

use super::Target;
use crate::ir::ckks::CkksProgram;
use blindtune_runtime::plan::validate::poly_depth;
use blindtune_runtime::plan::{Inst, Op, PolySpec, Reg, RegKind, Trips};
use std::collections::BTreeSet;

/// The program's structure, computed once.
pub struct Flat {
    /// pre-order position of each register's definition
    pub pos: Vec<usize>,
    /// ciphertext operands of each register's defining instruction
    pub operands: Vec<Vec<Reg>>,
    /// loop region arguments
    pub is_arg: Vec<bool>,
    /// how many times the register is computed per run (product of enclosing trips)
    pub trips: Vec<f64>,
    /// the factor bringing the value into `|z| ≤ 1` before a bootstrap (a power of two ≥ 1)
    pub factor: Vec<f64>,
    /// whether that factor folds into the producing instruction (no level)
    pub foldable: Vec<bool>,
    pub is_cipher: Vec<bool>,
    /// a whole tensor, or a packing of carried tensors: every slot bounded, so a cut point
    pub is_tensor: Vec<bool>,
}

impl Flat {
    pub fn new(prog: &CkksProgram, target: &Target) -> Flat {
        let n = prog.regs.len();
        let mut f = Flat {
            pos: vec![0; n],
            operands: vec![Vec::new(); n],
            is_arg: vec![false; n],
            trips: vec![1.0; n],
            factor: vec![1.0; n],
            foldable: vec![false; n],
            is_cipher: prog
                .regs
                .iter()
                .map(|r| r.kind == RegKind::Cipher)
                .collect(),
            is_tensor: prog.facts.iter().map(|x| x.bootstrappable()).collect(),
        };
        let mut counter = 0;
        walk(prog, &prog.body, 1.0, &mut counter, &mut f);
        for r in 0..n {
            f.factor[r] = prog.facts[r].bootstrap_factor(target.default_bound);
        }
        f
    }

    pub fn cut_point(&self, r: Reg) -> bool {
        let r = r as usize;
        self.is_cipher[r] && self.is_tensor[r] && !self.is_arg[r]
    }

    /// Levels the value needs before its bootstrap (for the factor).
    pub fn pre_need(&self, r: Reg) -> usize {
        let r = r as usize;
        usize::from(self.factor[r] > 1.0 && !self.foldable[r])
    }
}

fn walk(prog: &CkksProgram, insts: &[Inst], trips: f64, counter: &mut usize, f: &mut Flat) {
    for inst in insts {
        *counter += 1;
        let ops: Vec<Reg> = inst
            .op
            .operands()
            .into_iter()
            .filter(|&o| prog.regs[o as usize].kind == RegKind::Cipher)
            .collect();
        let foldable = match &inst.op {
            Op::Poly { .. } => true,
            Op::MulPlain { .. } => true,
            _ => false,
        };
        for &r in &inst.results {
            f.pos[r as usize] = *counter;
            f.operands[r as usize] = ops.clone();
            f.trips[r as usize] = trips;
            f.foldable[r as usize] = foldable;
        }
        if let Op::Loop {
            trips: t,
            args,
            body,
            ..
        } = &inst.op
        {
            let n = match t {
                Trips::Fixed(n) => *n as f64,
                Trips::Batches { rows, size } => {
                    let rows = prog.assumed_dims.get(rows).copied().unwrap_or(1024);
                    (rows as f64 / *size as f64).ceil().max(1.0)
                }
            };
            for &a in args {
                f.is_arg[a as usize] = true;
                f.pos[a as usize] = *counter;
                f.trips[a as usize] = trips * n;
            }
            walk(prog, body, trips * n, counter, f);
        }
    }
}

/// Where levels ran out: `reg` needed `need` levels at instruction position `pos` and had
/// `need − deficit`.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub pos: usize,
    pub reg: Reg,
    pub need: usize,
    pub deficit: i64,
    pub what: String,
}

/// Levels of every ciphertext register: `raw` as computed, `eff` after its bootstrap. Levels
/// may go negative: the simulation runs on past a shortfall so that every shortfall is seen.
pub struct Levels {
    pub raw: Vec<i64>,
    pub eff: Vec<i64>,
    pub failures: Vec<Failure>,
}

impl Levels {
    pub fn total_deficit(&self) -> i64 {
        self.failures.iter().map(|f| f.deficit).sum()
    }
}

/// Levels with every shortfall recorded.
pub fn simulate_all(
    prog: &CkksProgram,
    target: &Target,
    flat: &Flat,
    boots: &BTreeSet<Reg>,
) -> Levels {
    let n = prog.regs.len();
    let mut lv = Levels {
        raw: vec![0; n],
        eff: vec![0; n],
        failures: Vec::new(),
    };
    let mut counter = 0;
    sim_block(prog, target, flat, boots, &prog.body, &mut lv, &mut counter);
    lv
}

/// Levels, or the first shortfall.
pub fn simulate(
    prog: &CkksProgram,
    target: &Target,
    flat: &Flat,
    boots: &BTreeSet<Reg>,
) -> Result<Levels, Failure> {
    let lv = simulate_all(prog, target, flat, boots);
    match lv.failures.first() {
        Some(f) => Err(f.clone()),
        None => Ok(lv),
    }
}

fn sim_block(
    prog: &CkksProgram,
    target: &Target,
    flat: &Flat,
    boots: &BTreeSet<Reg>,
    insts: &[Inst],
    lv: &mut Levels,
    counter: &mut usize,
) {
    let top = target.max_level as i64;
    for inst in insts {
        *counter += 1;
        let pos = *counter;
        let is_ct = |r: Reg| prog.regs[r as usize].kind == RegKind::Cipher;
        let need = |lv: &mut Levels, r: Reg, n: i64, what: &str| {
            let have = lv.eff[r as usize];
            if have < n {
                lv.failures.push(Failure {
                    pos,
                    reg: r,
                    need: n.max(0) as usize,
                    deficit: n - have,
                    what: what.to_string(),
                });
            }
        };
        let e = |lv: &Levels, r: Reg| lv.eff[r as usize];
        let level: Option<i64> = match &inst.op {
            Op::Input { .. } | Op::BatchInput { .. } | Op::Trivial { .. } => Some(top),
            Op::Add { a, b } | Op::Sub { a, b } => Some(e(lv, *a).min(e(lv, *b))),
            Op::JoinBlocks { parts } => parts.iter().map(|&p| e(lv, p)).min(),
            Op::Mul { a, b } => {
                need(lv, *a, 1, "a product");
                if b != a {
                    need(lv, *b, 1, "a product");
                }
                Some(e(lv, *a).min(e(lv, *b)) - 1)
            }
            Op::MulPlain { a, .. } => {
                need(lv, *a, 1, "a plaintext product");
                Some(e(lv, *a) - 1)
            }
            Op::Poly { a, poly } => {
                let d = poly_depth(poly) as i64;
                need(lv, *a, d, &poly_name(poly));
                Some(e(lv, *a) - d)
            }
            Op::LevelDown { a } | Op::Bootstrap { a } => Some(e(lv, *a)),
            Op::Loop {
                args,
                inits,
                body,
                yields,
                ..
            } => {
                for &i in inits {
                    if is_ct(i) {
                        need(lv, i, top, "a loop's carried value on entry");
                    }
                }
                for &a in &args[1..] {
                    lv.raw[a as usize] = top;
                    lv.eff[a as usize] = top;
                }
                sim_block(prog, target, flat, boots, body, lv, counter);
                *counter += 1;
                let back = *counter;
                for &y in yields {
                    if is_ct(y) && lv.eff[y as usize] < top {
                        lv.failures.push(Failure {
                            pos: back,
                            reg: y,
                            need: top as usize,
                            deficit: top - lv.eff[y as usize],
                            what: "a loop's carried value at the back edge".into(),
                        });
                    }
                }
                for &r in &inst.results {
                    lv.raw[r as usize] = top;
                    lv.eff[r as usize] = top;
                }
                None
            }
            other => other.level_preserving_operand().map(|a| e(lv, a)),
        };
        if let Some(l) = level {
            for &r in &inst.results {
                lv.raw[r as usize] = l;
                lv.eff[r as usize] = l;
                if boots.contains(&r) {
                    let pre = flat.pre_need(r) as i64;
                    if l < pre {
                        lv.failures.push(Failure {
                            pos,
                            reg: r,
                            need: pre as usize,
                            deficit: pre - l,
                            what: "the scale factor before a bootstrap".into(),
                        });
                    }
                    lv.eff[r as usize] = top;
                }
            }
        }
    }
}

fn poly_name(p: &PolySpec) -> String {
    match p {
        PolySpec::Chebyshev { coeffs, .. } => format!("a degree-{} polynomial", coeffs.len() - 1),
        PolySpec::Power { coeffs } => format!("a degree-{} polynomial", coeffs.len() - 1),
    }
}
