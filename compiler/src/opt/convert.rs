//! A straight-line block ⇄ an e-graph: instructions in, instructions out.
//!
//! In: every ciphertext operation of the block becomes an e-node; registers from outside the
//! block, results of boundary instructions (inputs, loops, outputs, public arithmetic) and
//! carried loop arguments are leaves (`%r`), and public registers whose value is known at
//! compile time enter as their rule (`Lit`/`k…` leaves). Roots are the ciphertext registers
//! that boundary instructions, nested loop bodies or the block's yields read.
//!
//! Out: boundary instructions stay in their order; each extracted class is emitted once, just
//! before the first boundary instruction that needs it (so a value never moves above a leaf it
//! reads). A class reuses an original register of its own (roots first: names and facts
//! survive), other classes get fresh registers with default facts; several rotations of one
//! class become one `RotateHoisted`. A root whose class is emitted under another register is
//! renamed downstream (the returned substitution). Compile-time plaintexts are emitted once at
//! the top of the program ([`Ctx::hoisted`]).

use super::analysis::{CkksAnalysis, Grid, Kind, LeafInfo};
use super::extract::{Choice, Extractor};
use super::konst::Konst;
use super::lang::{reg_of, reg_symbol, Ckks, Lit};
use crate::ir::ckks::RegFacts;
use blindtune_runtime::plan::{
    BlockShape, Inst, Op, PlainFn, PolySpec, Reg, RegInfo, RegKind, ScalarOp,
};
use egg::{EGraph, Id, Language};
use std::collections::{HashMap, HashSet};

/// Program-wide state shared by the blocks.
pub struct Ctx {
    pub block: BlockShape,
    pub regs: Vec<RegInfo>,
    pub facts: Vec<RegFacts>,
    /// compile-time values of public registers
    pub konst: HashMap<Reg, Konst>,
    /// constants defined at the top of the program, by rule key
    pub const_regs: HashMap<String, Reg>,
    /// new constants for the top of the program, in definition order
    pub hoisted: Vec<Inst>,
}

/// Whether an instruction is a ciphertext operation the e-graph takes over.
pub fn is_egraph_op(op: &Op) -> bool {
    matches!(
        op,
        Op::Add { .. }
            | Op::Sub { .. }
            | Op::Neg { .. }
            | Op::AddPlain { .. }
            | Op::SubPlain { .. }
            | Op::Mul { .. }
            | Op::MulPlain { .. }
            | Op::MulInteger { .. }
            | Op::MulI { .. }
            | Op::Conjugate { .. }
            | Op::Rotate { .. }
            | Op::RotateHoisted { .. }
            | Op::Poly { .. }
            | Op::SumBlocks { .. }
            | Op::Trivial { .. }
    )
}

/// The compile-time value of a public instruction's result, given its operands'.
pub fn fold_public(op: &Op, konst: &HashMap<Reg, Konst>) -> Option<Konst> {
    let s = |r: &Reg| konst.get(r).and_then(|k| k.as_scalar());
    let scalar_op = |op: ScalarOp, x: f64, y: f64| match op {
        ScalarOp::Add => x + y,
        ScalarOp::Sub => x - y,
        ScalarOp::Mul => x * y,
        ScalarOp::Div => x / y,
        ScalarOp::Pow => x.powf(y),
        ScalarOp::Min => x.min(y),
        ScalarOp::Max => x.max(y),
    };
    let k = match op {
        Op::Const(v) | Op::Fill { value: v } => Konst::scalar(*v),
        Op::Mask(m) => Konst::mask(m.clone()),
        Op::ScalarBin { op, a, b } => Konst::scalar(scalar_op(*op, s(a)?, s(b)?)),
        Op::PlainBin { op, a, b } => match (op, s(a), s(b)) {
            (op, Some(x), Some(y)) => Konst::scalar(scalar_op(*op, x, y)),
            (ScalarOp::Mul, _, _) => konst.get(a)?.mul(konst.get(b)?),
            _ => return None,
        },
        Op::PlainUnary { f, a } => {
            let x = s(a)?;
            Konst::scalar(match f {
                PlainFn::Neg => -x,
                PlainFn::Recip => 1.0 / x,
                PlainFn::Sqrt => x.sqrt(),
                PlainFn::Exp => x.exp(),
                PlainFn::Log => x.ln(),
                PlainFn::Abs => x.abs(),
            })
        }
        _ => return None,
    };
    (k.scale.is_finite()).then_some(k)
}

impl Ctx {
    fn new_reg(&mut self, kind: RegKind, grid: &Grid) -> Reg {
        let r = self.regs.len() as Reg;
        self.regs.push(RegInfo {
            kind,
            rows: grid.rows.clone(),
            cols: grid.cols,
            level: None,
            name: None,
            tensor: None,
        });
        self.facts.push(RegFacts::default());
        r
    }

    fn hoist(&mut self, key: String, kind: RegKind, op: Op) -> Reg {
        if let Some(&r) = self.const_regs.get(&key) {
            return r;
        }
        let r = self.new_reg(kind, &Grid::ONE);
        self.hoisted.push(Inst {
            results: vec![r],
            op,
        });
        self.const_regs.insert(key, r);
        r
    }

    /// The top-level register holding a compile-time plaintext or scalar.
    pub fn konst_reg(&mut self, k: &Konst) -> Reg {
        if let Some(v) = k.as_scalar() {
            return self.hoist(k.key(), RegKind::Scalar, Op::Const(v));
        }
        let mut acc: Option<Reg> = None;
        let mut partial = Konst::scalar(1.0);
        for m in &k.masks {
            let mr = self.hoist(
                Konst::mask(m.clone()).key(),
                RegKind::Plain,
                Op::Mask(m.clone()),
            );
            partial = partial.mul(&Konst::mask(m.clone()));
            acc = Some(match acc {
                None => mr,
                Some(a) => self.hoist(
                    partial.key(),
                    RegKind::Plain,
                    Op::PlainBin {
                        op: ScalarOp::Mul,
                        a,
                        b: mr,
                    },
                ),
            });
        }
        let acc = acc.expect("a mask product");
        if k.scale == 1.0 {
            return acc;
        }
        let c = self.konst_reg(&Konst::scalar(k.scale));
        self.hoist(
            k.key(),
            RegKind::Plain,
            Op::PlainBin {
                op: ScalarOp::Mul,
                a: acc,
                b: c,
            },
        )
    }
}

/// Every register an instruction list reads, nested bodies included.
pub fn reads(insts: &[Inst], out: &mut HashSet<Reg>) {
    for i in insts {
        out.extend(i.op.operands());
        if let Op::Loop { body, yields, .. } = &i.op {
            reads(body, out);
            out.extend(yields.iter().copied());
        }
    }
}

/// The registers an instruction reads, mutably (its region excluded).
fn operands_mut(op: &mut Op) -> Vec<&mut Reg> {
    use Op::*;
    match op {
        Input { .. }
        | BatchInput { .. }
        | Const(_)
        | DimValue(_)
        | Fill { .. }
        | Mask(_)
        | RowMask { .. } => vec![],
        ScalarBin { a, b, .. } | PlainBin { a, b, .. } => vec![a, b],
        PlainUnary { a, .. } | Trivial { a } | Neg { a } | MulInteger { a, .. } => vec![a],
        Add { a, b } | Sub { a, b } | Mul { a, b } => vec![a, b],
        AddPlain { a, p } | SubPlain { a, p, .. } | MulPlain { a, p } => vec![a, p],
        MulI { a } | Conjugate { a } | Rotate { a, .. } | RotateHoisted { a, .. } => vec![a],
        LevelDown { a } | Poly { a, .. } | Bootstrap { a } | SumBlocks { a, .. } => vec![a],
        SplitBlocks { a } => vec![a],
        JoinBlocks { parts } => parts.iter_mut().collect(),
        Loop { inits, .. } => inits.iter_mut().collect(),
        Output { value, .. } => vec![value],
    }
}

/// Renames register reads in `insts`, nested bodies and yields included.
pub fn remap(insts: &mut [Inst], subst: &HashMap<Reg, Reg>) {
    if subst.is_empty() {
        return;
    }
    for i in insts {
        for r in operands_mut(&mut i.op) {
            if let Some(&n) = subst.get(r) {
                *r = n;
            }
        }
        if let Op::Loop { body, yields, .. } = &mut i.op {
            remap(body, subst);
            for r in yields.iter_mut() {
                if let Some(&n) = subst.get(r) {
                    *r = n;
                }
            }
        }
    }
}

/// A block read into an e-graph.
pub struct Loaded {
    /// roots in order of first need
    pub roots: Vec<Reg>,
    pub class_of: HashMap<Reg, Id>,
    /// the block as written: each result's class and node
    pub original: Vec<(Id, Ckks)>,
    /// registers defined by e-graph instructions, in order
    pub defined: Vec<Reg>,
}

/// Reads the e-graph instructions of a block; `live_out` are registers read after the block.
pub fn load(ctx: &Ctx, insts: &[Inst], live_out: &[Reg]) -> (EGraph<Ckks, CkksAnalysis>, Loaded) {
    let mut eg = EGraph::new(CkksAnalysis::new(ctx.block));
    let mut class_of: HashMap<Reg, Id> = HashMap::new();
    let mut original = Vec::new();
    let mut defined = Vec::new();
    for inst in insts.iter().filter(|i| is_egraph_op(&i.op)) {
        let leaf = |eg: &mut EGraph<Ckks, CkksAnalysis>, r: Reg| -> Id {
            if let Some(&id) = class_of.get(&r) {
                return id;
            }
            if let Some(k) = ctx.konst.get(&r) {
                return match k.as_scalar() {
                    Some(v) => eg.add(Ckks::Lit(Lit::new(v))),
                    None => {
                        let i = eg.analysis.table.intern(k.clone());
                        eg.add(Ckks::K(super::lang::KRef(i)))
                    }
                };
            }
            let info = &ctx.regs[r as usize];
            let kind = match info.kind {
                RegKind::Cipher => Kind::Cipher,
                RegKind::Plain => Kind::Plain,
                RegKind::Scalar => Kind::Scalar,
            };
            let sym = reg_symbol(r);
            eg.analysis.leaves.insert(
                sym,
                LeafInfo {
                    kind,
                    grid: Grid {
                        rows: info.rows.clone(),
                        cols: info.cols,
                    },
                    konst: None,
                },
            );
            eg.add(Ckks::Sym(sym))
        };
        let mut nodes: Vec<Ckks> = Vec::new();
        match &inst.op {
            Op::Add { a, b } => {
                let (a, b) = (leaf(&mut eg, *a), leaf(&mut eg, *b));
                nodes.push(Ckks::Add([a, b]))
            }
            Op::Sub { a, b } => {
                let (a, b) = (leaf(&mut eg, *a), leaf(&mut eg, *b));
                nodes.push(Ckks::Sub([a, b]))
            }
            Op::Mul { a, b } => {
                let (a, b) = (leaf(&mut eg, *a), leaf(&mut eg, *b));
                nodes.push(Ckks::Mul([a, b]))
            }
            Op::Neg { a } => nodes.push(Ckks::Neg(leaf(&mut eg, *a))),
            Op::MulI { a } => nodes.push(Ckks::MulI(leaf(&mut eg, *a))),
            Op::Conjugate { a } => nodes.push(Ckks::Conj(leaf(&mut eg, *a))),
            Op::Trivial { a } => nodes.push(Ckks::Trivial(leaf(&mut eg, *a))),
            Op::AddPlain { a, p } => {
                let (a, p) = (leaf(&mut eg, *a), leaf(&mut eg, *p));
                nodes.push(Ckks::AddPlain([a, p]))
            }
            Op::SubPlain { a, p, reverse } => {
                let (a, p) = (leaf(&mut eg, *a), leaf(&mut eg, *p));
                nodes.push(if *reverse {
                    Ckks::RSubPlain([a, p])
                } else {
                    Ckks::SubPlain([a, p])
                })
            }
            Op::MulPlain { a, p } => {
                let (a, p) = (leaf(&mut eg, *a), leaf(&mut eg, *p));
                nodes.push(Ckks::MulPlain([a, p]))
            }
            Op::MulInteger { a, k } => {
                let a = leaf(&mut eg, *a);
                let k = eg.add(Ckks::Num(*k));
                nodes.push(Ckks::MulInt([a, k]))
            }
            Op::Rotate { a, steps } => {
                let a = leaf(&mut eg, *a);
                let k = eg.add(Ckks::Num(steps.rem_euclid(ctx.block.slots() as i64)));
                nodes.push(Ckks::Rot([a, k]))
            }
            Op::RotateHoisted { a, steps } => {
                let a = leaf(&mut eg, *a);
                for s in steps {
                    let k = eg.add(Ckks::Num(s.rem_euclid(ctx.block.slots() as i64)));
                    nodes.push(Ckks::Rot([a, k]));
                }
            }
            Op::Poly { a, poly } => {
                let a = leaf(&mut eg, *a);
                let depth = blindtune_runtime::plan::validate::poly_depth(poly) as u32;
                let f = eg.analysis.poly(poly, depth);
                let f = eg.add(Ckks::F(f));
                nodes.push(Ckks::Poly([f, a]))
            }
            Op::SumBlocks { a, axis } => {
                let a = leaf(&mut eg, *a);
                let ax = eg.add(Ckks::Num(*axis as i64));
                nodes.push(Ckks::SumBlocks([ax, a]))
            }
            _ => unreachable!("not an e-graph instruction"),
        }
        for (r, n) in inst.results.iter().zip(nodes) {
            let id = eg.add(n.clone());
            class_of.insert(*r, id);
            original.push((id, n));
            defined.push(*r);
        }
    }
    // roots: e-graph results read by boundary instructions (nested bodies included) or live out
    let mut needed: Vec<Reg> = Vec::new();
    let mut seen = HashSet::new();
    for inst in insts.iter().filter(|i| !is_egraph_op(&i.op)) {
        let mut rs: Vec<Reg> = inst.op.operands();
        if let Op::Loop { body, yields, .. } = &inst.op {
            let mut inner = HashSet::new();
            reads(body, &mut inner);
            inner.extend(yields.iter().copied());
            let mut inner: Vec<Reg> = inner.into_iter().collect();
            inner.sort_unstable();
            rs.extend(inner);
        }
        for r in rs {
            if class_of.contains_key(&r) && seen.insert(r) {
                needed.push(r);
            }
        }
    }
    for &r in live_out {
        if class_of.contains_key(&r) && seen.insert(r) {
            needed.push(r);
        }
    }
    (
        eg,
        Loaded {
            roots: needed,
            class_of,
            original,
            defined,
        },
    )
}

/// Why a block is kept as written.
#[derive(Debug)]
pub struct EmitError(pub String);

struct Emitter<'x> {
    ex: &'x Extractor<'x>,
    choice: &'x Choice,
    reg_of_class: HashMap<Id, Reg>,
    preferred: HashMap<Id, Reg>,
    /// rotations of a class in the selection: source class → [(class, steps)]
    groups: HashMap<Id, Vec<(Id, i64)>>,
    pending: HashSet<Reg>,
    out: Vec<Inst>,
}

impl Emitter<'_> {
    fn grid(&self, id: Id) -> Grid {
        self.ex.egraph[id].data.grid.clone()
    }

    fn alloc(&mut self, ctx: &mut Ctx, id: Id) -> Reg {
        if let Some(&r) = self.preferred.get(&id) {
            return r;
        }
        let kind = match self.ex.egraph[id].data.kind {
            Kind::Cipher => RegKind::Cipher,
            Kind::Plain => RegKind::Plain,
            _ => RegKind::Scalar,
        };
        ctx.new_reg(kind, &self.grid(id))
    }

    fn num(&self, id: Id) -> Result<i64, EmitError> {
        self.ex.egraph[self.ex.egraph.find(id)]
            .data
            .num
            .ok_or_else(|| EmitError("a step or axis that is not a number".into()))
    }

    fn materialize(&mut self, ctx: &mut Ctx, id: Id) -> Result<Reg, EmitError> {
        let eg = self.ex.egraph;
        let id = eg.find(id);
        if let Some(&r) = self.reg_of_class.get(&id) {
            return Ok(r);
        }
        let data = &eg[id].data;
        if self.ex.terminal(id) {
            let k = data
                .konst
                .ok_or_else(|| EmitError("a datum used as a value".into()))?;
            let k = eg.analysis.konst(k).clone();
            let r = ctx.konst_reg(&k);
            self.reg_of_class.insert(id, r);
            return Ok(r);
        }
        let n = self
            .choice
            .get(&id)
            .ok_or_else(|| EmitError("a class without a selected node".into()))?
            .clone();
        if let Ckks::Rot([x, _]) = &n {
            let x = eg.find(*x);
            let group = self.groups.get(&x).cloned().unwrap_or_default();
            if group.len() >= 2 {
                let a = self.materialize(ctx, x)?;
                let mut results = Vec::new();
                let mut steps = Vec::new();
                for (c, s) in group {
                    let r = self.alloc(ctx, c);
                    self.reg_of_class.insert(c, r);
                    results.push(r);
                    steps.push(s);
                }
                self.out.push(Inst {
                    results,
                    op: Op::RotateHoisted { a, steps },
                });
                return Ok(self.reg_of_class[&id]);
            }
        }
        if let Ckks::Sym(s) = &n {
            let r = reg_of(*s).ok_or_else(|| EmitError(format!("leaf {s}")))?;
            if self.pending.contains(&r) {
                return Err(EmitError(format!(
                    "%{r} would be read before the instruction defining it"
                )));
            }
            self.reg_of_class.insert(id, r);
            return Ok(r);
        }
        // operands first (data children: steps, axes, polynomials, are read, not emitted)
        let mut k = Vec::new();
        for c in n.children() {
            let c = eg.find(*c);
            k.push(if eg[c].data.kind == Kind::Datum {
                Reg::MAX
            } else {
                self.materialize(ctx, c)?
            });
        }
        let ch = n.children();
        let op = match &n {
            Ckks::Add(_) => Op::Add { a: k[0], b: k[1] },
            Ckks::Sub(_) => Op::Sub { a: k[0], b: k[1] },
            Ckks::Mul(_) => Op::Mul { a: k[0], b: k[1] },
            Ckks::Neg(_) => Op::Neg { a: k[0] },
            Ckks::MulI(_) => Op::MulI { a: k[0] },
            Ckks::Conj(_) => Op::Conjugate { a: k[0] },
            Ckks::Trivial(_) => {
                // a compile-time scalar made a ciphertext: a fill, as the lowering writes it
                let c = eg.find(ch[0]);
                let a = match eg[c].data.konst.map(|i| eg.analysis.konst(i).as_scalar()) {
                    Some(Some(v)) => ctx.hoist(
                        format!("fill|{}", Konst::scalar(v).key()),
                        RegKind::Plain,
                        Op::Fill { value: v },
                    ),
                    _ => k[0],
                };
                Op::Trivial { a }
            }
            Ckks::MulPlain(_) => Op::MulPlain { a: k[0], p: k[1] },
            Ckks::AddPlain(_) => Op::AddPlain { a: k[0], p: k[1] },
            Ckks::SubPlain(_) => Op::SubPlain {
                a: k[0],
                p: k[1],
                reverse: false,
            },
            Ckks::RSubPlain(_) => Op::SubPlain {
                a: k[0],
                p: k[1],
                reverse: true,
            },
            Ckks::MulInt(_) => Op::MulInteger {
                a: k[0],
                k: self.num(ch[1])?,
            },
            Ckks::Rot(_) => Op::Rotate {
                a: k[0],
                steps: self.num(ch[1])?,
            },
            Ckks::SumBlocks(_) => Op::SumBlocks {
                axis: self.num(ch[0])? as u8,
                a: k[1],
            },
            Ckks::Poly(_) => {
                let poly: PolySpec = eg[eg.find(ch[0])]
                    .nodes
                    .iter()
                    .find_map(|m| match m {
                        Ckks::F(r) => Some(eg.analysis.polys[r.0 as usize].0.clone()),
                        _ => None,
                    })
                    .ok_or_else(|| EmitError("a polynomial without its rule".into()))?;
                Op::Poly { a: k[1], poly }
            }
            Ckks::PMul(_) | Ckks::PAdd(_) => {
                let op = if matches!(n, Ckks::PMul(_)) {
                    ScalarOp::Mul
                } else {
                    ScalarOp::Add
                };
                let scalar = |r: Reg| ctx.regs[r as usize].kind == RegKind::Scalar;
                if scalar(k[0]) && scalar(k[1]) {
                    Op::ScalarBin {
                        op,
                        a: k[0],
                        b: k[1],
                    }
                } else {
                    Op::PlainBin {
                        op,
                        a: k[0],
                        b: k[1],
                    }
                }
            }
            Ckks::Sym(_)
            | Ckks::RotP(_)
            | Ckks::Num(_)
            | Ckks::Lit(_)
            | Ckks::K(_)
            | Ckks::F(_) => return Err(EmitError(format!("cannot emit {n:?} without its rule"))),
        };
        let r = self.alloc(ctx, id);
        if let Op::ScalarBin { .. } = op {
            ctx.regs[r as usize].kind = RegKind::Scalar;
        }
        self.reg_of_class.insert(id, r);
        self.out.push(Inst {
            results: vec![r],
            op,
        });
        Ok(r)
    }
}

/// A block written back.
pub struct Emitted {
    pub insts: Vec<Inst>,
    /// roots emitted under another register
    pub subst: HashMap<Reg, Reg>,
    /// the register each emitted class was written to
    pub reg_of_class: HashMap<Id, Reg>,
}

/// Writes the block back from a selection.
pub fn emit(
    ctx: &mut Ctx,
    insts: Vec<Inst>,
    loaded: &Loaded,
    ex: &Extractor,
    choice: &Choice,
) -> Result<Emitted, EmitError> {
    let eg = ex.egraph;
    // original registers to reuse: roots first, then the rest in definition order
    let mut preferred: HashMap<Id, Reg> = HashMap::new();
    for &r in loaded.roots.iter().chain(loaded.defined.iter()) {
        let c = eg.find(loaded.class_of[&r]);
        if eg[c].data.kind == Kind::Cipher && choice.contains_key(&c) {
            preferred.entry(c).or_insert(r);
        }
    }
    // rotation groups in the selection (reachable classes only)
    let mut groups: HashMap<Id, Vec<(Id, i64)>> = HashMap::new();
    for (&c, n) in choice {
        if let Ckks::Rot([x, k]) = n {
            if let Some(s) = eg[eg.find(*k)].data.num {
                groups.entry(eg.find(*x)).or_default().push((c, s));
            }
        }
    }
    for g in groups.values_mut() {
        g.sort_by_key(|&(_, s)| s);
    }
    let mut pending = HashSet::new();
    for i in insts.iter().filter(|i| !is_egraph_op(&i.op)) {
        pending.extend(i.results.iter().copied());
    }
    let mut em = Emitter {
        ex,
        choice,
        reg_of_class: HashMap::new(),
        preferred,
        groups,
        pending,
        out: Vec::new(),
    };
    let mut subst: HashMap<Reg, Reg> = HashMap::new();
    let roots: HashSet<Reg> = loaded.roots.iter().copied().collect();
    let need = |em: &mut Emitter, ctx: &mut Ctx, subst: &mut HashMap<Reg, Reg>, r: Reg| {
        if !roots.contains(&r) || subst.contains_key(&r) {
            return Ok::<(), EmitError>(());
        }
        let got = em.materialize(ctx, loaded.class_of[&r])?;
        if got != r {
            subst.insert(r, got);
        }
        Ok(())
    };
    for mut inst in insts {
        if is_egraph_op(&inst.op) {
            continue;
        }
        let mut rs = inst.op.operands();
        if let Op::Loop { body, yields, .. } = &inst.op {
            let mut inner = HashSet::new();
            reads(body, &mut inner);
            inner.extend(yields.iter().copied());
            let mut inner: Vec<Reg> = inner.into_iter().collect();
            inner.sort_unstable();
            rs.extend(inner);
        }
        for r in rs {
            need(&mut em, ctx, &mut subst, r)?;
        }
        remap(std::slice::from_mut(&mut inst), &subst);
        for r in &inst.results {
            em.pending.remove(r);
        }
        em.out.push(inst);
    }
    for &r in &loaded.roots {
        need(&mut em, ctx, &mut subst, r)?;
    }
    Ok(Emitted {
        insts: em.out,
        subst,
        reg_of_class: em.reg_of_class,
    })
}

/// Counts of a block's instructions (not multiplied by trips).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub rotations: usize,
    /// `RotateHoisted` groups (one decomposition each)
    pub hoisted_groups: usize,
    pub conjugations: usize,
    /// rotations, conjugations and relinearizations
    pub key_switches: usize,
    pub ct_mults: usize,
    pub plain_mults: usize,
    pub mul_ints: usize,
    pub additions: usize,
    /// ciphertext instructions
    pub instructions: usize,
    /// multiplicative depth of the longest path from the block's live-ins
    pub depth: usize,
    pub rotation_amounts: std::collections::BTreeSet<i64>,
}

impl Counts {
    /// Counts a block (nested bodies excluded).
    pub fn of_block(insts: &[Inst]) -> Counts {
        let mut c = Counts::default();
        let mut depth: HashMap<Reg, usize> = HashMap::new();
        for i in insts {
            let d_in =
                i.op.operands()
                    .iter()
                    .map(|r| depth.get(r).copied().unwrap_or(0))
                    .max()
                    .unwrap_or(0);
            let own = match &i.op {
                Op::Mul { .. } | Op::MulPlain { .. } => 1,
                Op::Poly { poly, .. } => blindtune_runtime::plan::validate::poly_depth(poly),
                _ => 0,
            };
            if is_egraph_op(&i.op) {
                c.instructions += 1;
                for r in &i.results {
                    depth.insert(*r, d_in + own);
                    c.depth = c.depth.max(d_in + own);
                }
            }
            match &i.op {
                Op::Rotate { steps, .. } => {
                    c.rotations += 1;
                    c.rotation_amounts.insert(*steps);
                }
                Op::RotateHoisted { steps, .. } => {
                    c.rotations += steps.len();
                    c.hoisted_groups += 1;
                    c.rotation_amounts.extend(steps.iter().copied());
                }
                Op::Conjugate { .. } => c.conjugations += 1,
                Op::Mul { .. } => c.ct_mults += 1,
                Op::MulPlain { .. } => c.plain_mults += 1,
                Op::MulInteger { .. } => c.mul_ints += 1,
                Op::Add { .. } | Op::Sub { .. } | Op::AddPlain { .. } | Op::SubPlain { .. } => {
                    c.additions += 1
                }
                _ => {}
            }
        }
        c.key_switches = c.rotations + c.conjugations + c.ct_mults;
        c
    }

    pub fn add(&mut self, o: &Counts) {
        self.rotations += o.rotations;
        self.hoisted_groups += o.hoisted_groups;
        self.conjugations += o.conjugations;
        self.key_switches += o.key_switches;
        self.ct_mults += o.ct_mults;
        self.plain_mults += o.plain_mults;
        self.mul_ints += o.mul_ints;
        self.additions += o.additions;
        self.instructions += o.instructions;
        self.depth = self.depth.max(o.depth);
        self.rotation_amounts
            .extend(o.rotation_amounts.iter().copied());
    }
}
