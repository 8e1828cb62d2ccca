//! Writing the scheduled program: levels on every ciphertext register, `LevelDown` where two
//! operands meet at different levels (cached per value and level), and at each bootstrapped
//! register `[factor] → Bootstrap → [× factor]`.

use super::levels::{simulate, Flat};
use super::{SchedError, ScheduledProgram, Strategy, Target};
use crate::ir::ckks::{CkksProgram, RegFacts};
use blindtune_runtime::plan::{GridDim, Inst, Op, PolySpec, Reg, RegInfo, RegKind, ScalarOp};
use std::collections::{BTreeSet, HashMap};

struct Emitter<'a> {
    target: &'a Target,
    flat: &'a Flat,
    boots: &'a BTreeSet<Reg>,
    strategy: Strategy,
    regs: Vec<RegInfo>,
    facts: Vec<RegFacts>,
    rename: HashMap<Reg, Reg>,
    downs: Vec<HashMap<(Reg, usize), Reg>>,
    consts: HashMap<u64, Reg>,
    hoisted_consts: Vec<Inst>,
    raw: Vec<usize>,
    /// demanded levels ([`super::demand`]); `None` for the naive strategy (eager levels)
    want: Option<Vec<Option<usize>>>,
    /// bootstrap targets below the top where every use of the refreshed value is lower
    after_boot: Option<Vec<Option<usize>>>,
}

pub fn emit(
    prog: &CkksProgram,
    target: &Target,
    boots: &BTreeSet<Reg>,
    strategy: Strategy,
) -> Result<ScheduledProgram, SchedError> {
    let flat = Flat::new(prog, target);
    let lv = simulate(prog, target, &flat, boots).map_err(|f| SchedError {
        what: f.what,
        why: "the placement left a shortfall (internal error)".into(),
    })?;
    let raw: Vec<usize> = lv.raw.iter().map(|&l| l.max(0) as usize).collect();
    let want = (strategy != Strategy::Naive)
        .then(|| super::demand::demanded(prog, target.max_level, &flat, boots, &raw));
    let (want, after_boot) = match want {
        Some(d) => (Some(d.want), Some(d.after_boot)),
        None => (None, None),
    };
    let mut e = Emitter {
        target,
        flat: &flat,
        boots,
        strategy,
        regs: prog.regs.clone(),
        facts: prog.facts.clone(),
        rename: HashMap::new(),
        downs: vec![HashMap::new()],
        consts: HashMap::new(),
        hoisted_consts: Vec::new(),
        raw,
        want,
        after_boot,
    };
    for (r, info) in e.regs.iter_mut().enumerate() {
        if info.kind == RegKind::Cipher {
            info.level = Some(e.raw[r]);
        }
    }
    let body = e.block(&prog.body);
    let mut all = std::mem::take(&mut e.hoisted_consts);
    all.extend(body);
    let mut inputs = prog.inputs.clone();
    for i in &mut inputs {
        if i.secret {
            i.level = Some(target.max_level);
        }
    }
    Ok(ScheduledProgram {
        slots: prog.slots,
        block: prog.block,
        regs: e.regs,
        facts: e.facts,
        body: all,
        inputs,
        outputs: prog.outputs.clone(),
        max_level: target.max_level,
        bootstrapping: target.bootstrapping,
        strategy,
        assumed_dims: prog.assumed_dims.clone(),
        bootstraps: boots.len(),
    })
}

impl Emitter<'_> {
    fn new_reg(&mut self, like: Reg, kind: RegKind, level: Option<usize>, facts: RegFacts) -> Reg {
        let mut info = self.regs[like as usize].clone();
        info.kind = kind;
        info.level = level;
        if kind != RegKind::Plain {
            info.tensor = None;
        }
        self.regs.push(info);
        self.facts.push(facts);
        (self.regs.len() - 1) as Reg
    }

    fn level(&self, r: Reg) -> usize {
        self.regs[r as usize].level.unwrap_or(0)
    }

    fn konst(&mut self, v: f64) -> Reg {
        if let Some(&r) = self.consts.get(&v.to_bits()) {
            return r;
        }
        self.regs.push(RegInfo {
            kind: RegKind::Scalar,
            rows: GridDim::Fixed(1),
            cols: 1,
            level: None,
            name: None,
            tensor: None,
        });
        self.facts.push(RegFacts::default());
        let r = (self.regs.len() - 1) as Reg;
        self.hoisted_consts.push(Inst {
            results: vec![r],
            op: Op::Const(v),
        });
        self.consts.insert(v.to_bits(), r);
        r
    }

    fn r(&self, x: Reg) -> Reg {
        *self.rename.get(&x).unwrap_or(&x)
    }

    /// `x` at `level` (≤ its own), dropping once per value and level.
    fn down(&mut self, out: &mut Vec<Inst>, x: Reg, level: usize) -> Reg {
        if self.regs[x as usize].kind != RegKind::Cipher || self.level(x) <= level {
            return x;
        }
        for scope in self.downs.iter().rev() {
            if let Some(&d) = scope.get(&(x, level)) {
                return d;
            }
        }
        let d = self.new_reg(
            x,
            RegKind::Cipher,
            Some(level),
            self.facts[x as usize].clone(),
        );
        out.push(Inst {
            results: vec![d],
            op: Op::LevelDown { a: x },
        });
        self.downs.last_mut().unwrap().insert((x, level), d);
        d
    }

    fn block(&mut self, insts: &[Inst]) -> Vec<Inst> {
        let mut out = Vec::new();
        for inst in insts {
            let mut op = inst.op.clone();
            rename_operands(&mut op, &self.rename);
            let is_ct = |e: &Self, r: Reg| e.regs[r as usize].kind == RegKind::Cipher;
            // the level the operands are demanded at: the result's, plus what the op consumes
            let demanded = self.want.as_ref().and_then(|w| {
                let res = inst.results.iter().filter_map(|&r| w[r as usize]).max()?;
                let consumed = op.levels_consumed()?;
                Some(res + consumed)
            });
            match &mut op {
                Op::Add { a, b } | Op::Sub { a, b } | Op::Mul { a, b } => {
                    if is_ct(self, *a) && is_ct(self, *b) {
                        let mut m = self.level(*a).min(self.level(*b));
                        if let Some(d) = demanded {
                            m = m.min(d);
                        }
                        *a = self.down(&mut out, *a, m);
                        *b = self.down(&mut out, *b, m);
                    }
                }
                Op::JoinBlocks { parts } => {
                    let mut m = parts.iter().map(|&p| self.level(p)).min().unwrap_or(0);
                    if let Some(d) = demanded {
                        m = m.min(d);
                    }
                    for p in parts.iter_mut() {
                        *p = self.down(&mut out, *p, m);
                    }
                }
                Op::AddPlain { a, .. }
                | Op::SubPlain { a, .. }
                | Op::MulPlain { a, .. }
                | Op::Poly { a, .. }
                | Op::Neg { a }
                | Op::MulInteger { a, .. }
                | Op::MulI { a }
                | Op::Conjugate { a }
                | Op::Rotate { a, .. }
                | Op::RotateHoisted { a, .. }
                | Op::SumBlocks { a, .. }
                | Op::SplitBlocks { a } => {
                    if let Some(d) = demanded {
                        if is_ct(self, *a) {
                            *a = self.down(&mut out, *a, d);
                        }
                    }
                }
                Op::Loop {
                    args,
                    inits,
                    body,
                    yields,
                    ..
                } => {
                    let top = self.target.max_level;
                    for i in inits.iter_mut() {
                        *i = self.down(&mut out, *i, top);
                    }
                    for &a in &args[1..] {
                        if self.regs[a as usize].kind == RegKind::Cipher {
                            self.regs[a as usize].level = Some(top);
                        }
                    }
                    self.downs.push(HashMap::new());
                    let mut new_body = self.block(body);
                    for y in yields.iter_mut() {
                        *y = self.r(*y);
                        *y = self.down(&mut new_body, *y, top);
                    }
                    self.downs.pop();
                    *body = new_body;
                    for &r in &inst.results {
                        if self.regs[r as usize].kind == RegKind::Cipher {
                            self.regs[r as usize].level = Some(top);
                        }
                    }
                }
                Op::Trivial { .. } | Op::Input { .. } | Op::BatchInput { .. } => {
                    for &r in &inst.results {
                        self.regs[r as usize].level = Some(self.target.max_level);
                    }
                }
                _ => {}
            }
            // result levels follow the (possibly dropped) operands
            let lvl = match &op {
                Op::Add { a, .. } | Op::Sub { a, .. } => Some(self.level(*a)),
                Op::JoinBlocks { parts } => parts.first().map(|&p| self.level(p)),
                Op::Mul { a, b } => Some(self.level(*a).min(self.level(*b)) - 1),
                Op::MulPlain { a, .. } => Some(self.level(*a) - 1),
                Op::Poly { a, poly } => {
                    Some(self.level(*a) - blindtune_runtime::plan::validate::poly_depth(poly))
                }
                other => other.level_preserving_operand().map(|a| self.level(a)),
            };
            if let Some(l) = lvl {
                for &r in &inst.results {
                    self.regs[r as usize].level = Some(l);
                }
            }
            // bootstraps after their register's definition
            let booted: Vec<Reg> = inst
                .results
                .iter()
                .copied()
                .filter(|r| self.boots.contains(r))
                .collect();
            let mut pending = Inst {
                results: inst.results.clone(),
                op,
            };
            for &r in &booted {
                let m = self.flat.factor[r as usize];
                if m > 1.0 && self.flat.foldable[r as usize] {
                    self.fold_factor(&mut out, &mut pending, 1.0 / m);
                }
            }
            if self.strategy == Strategy::Naive {
                if let Op::RotateHoisted { a, steps } = &pending.op {
                    for (k, &s) in steps.iter().enumerate() {
                        out.push(Inst {
                            results: vec![pending.results[k]],
                            op: Op::Rotate { a: *a, steps: s },
                        });
                    }
                } else {
                    out.push(pending);
                }
            } else {
                out.push(pending);
            }
            for r in booted {
                let m = self.flat.factor[r as usize];
                let mut x = r;
                if m > 1.0 && !self.flat.foldable[r as usize] {
                    let c = self.konst(1.0 / m);
                    let l = self.level(r) - 1;
                    let y = self.new_reg(r, RegKind::Cipher, Some(l), RegFacts::default());
                    out.push(Inst {
                        results: vec![y],
                        op: Op::MulPlain { a: r, p: c },
                    });
                    x = y;
                }
                // every bootstrap starts from level 0 at its canonical scale: one prepared
                // circuit serves them all (the runtime prepares one per input scale)
                if self.level(x) > 0 {
                    let z = self.new_reg(r, RegKind::Cipher, Some(0), RegFacts::default());
                    out.push(Inst {
                        results: vec![z],
                        op: Op::LevelDown { a: x },
                    });
                    x = z;
                }
                // the target: the top, or lower where every use of the refreshed value is
                let top = self
                    .after_boot
                    .as_ref()
                    .filter(|_| self.target.lower_targets)
                    .and_then(|a| a[r as usize])
                    .map_or(self.target.max_level, |d| d.clamp(1, self.target.max_level));
                let b = self.new_reg(r, RegKind::Cipher, Some(top), RegFacts::default());
                out.push(Inst {
                    results: vec![b],
                    op: Op::Bootstrap { a: x },
                });
                let mut fin = b;
                if m > 1.0 {
                    let f = self.new_reg(
                        r,
                        RegKind::Cipher,
                        Some(top),
                        self.facts[r as usize].clone(),
                    );
                    out.push(Inst {
                        results: vec![f],
                        op: Op::MulInteger { a: b, k: m as i64 },
                    });
                    fin = f;
                } else {
                    self.facts[b as usize] = self.facts[r as usize].clone();
                }
                self.rename.insert(r, fin);
            }
        }
        out
    }

    /// Multiplies the value `inst` produces by `f` inside `inst` (no level).
    fn fold_factor(&mut self, out: &mut Vec<Inst>, inst: &mut Inst, f: f64) {
        match &mut inst.op {
            Op::Poly { poly, .. } => match poly {
                PolySpec::Chebyshev { coeffs, .. } | PolySpec::Power { coeffs } => {
                    coeffs.iter_mut().for_each(|c| *c *= f);
                }
            },
            Op::MulPlain { p, .. } => {
                let c = self.konst(f);
                let kind = self.regs[*p as usize].kind;
                let np = self.new_reg(*p, kind, None, self.facts[*p as usize].clone());
                let op = if kind == RegKind::Scalar {
                    Op::ScalarBin {
                        op: ScalarOp::Mul,
                        a: *p,
                        b: c,
                    }
                } else {
                    Op::PlainBin {
                        op: ScalarOp::Mul,
                        a: *p,
                        b: c,
                    }
                };
                out.push(Inst {
                    results: vec![np],
                    op,
                });
                *p = np;
            }
            _ => unreachable!("only foldable producers"),
        }
    }
}

fn rename_operands(op: &mut Op, map: &HashMap<Reg, Reg>) {
    let f = |r: &mut Reg| {
        if let Some(&n) = map.get(r) {
            *r = n;
        }
    };
    match op {
        Op::ScalarBin { a, b, .. }
        | Op::PlainBin { a, b, .. }
        | Op::Add { a, b }
        | Op::Sub { a, b }
        | Op::Mul { a, b } => {
            f(a);
            f(b);
        }
        Op::AddPlain { a, p } | Op::SubPlain { a, p, .. } | Op::MulPlain { a, p } => {
            f(a);
            f(p);
        }
        Op::PlainUnary { a, .. }
        | Op::Trivial { a }
        | Op::Neg { a }
        | Op::MulInteger { a, .. }
        | Op::MulI { a }
        | Op::Conjugate { a }
        | Op::Rotate { a, .. }
        | Op::RotateHoisted { a, .. }
        | Op::LevelDown { a }
        | Op::Poly { a, .. }
        | Op::Bootstrap { a }
        | Op::SumBlocks { a, .. }
        | Op::SplitBlocks { a } => f(a),
        Op::JoinBlocks { parts } => parts.iter_mut().for_each(f),
        Op::Loop { inits, .. } => inits.iter_mut().for_each(f),
        Op::Output { value, .. } => f(value),
        _ => {}
    }
}
