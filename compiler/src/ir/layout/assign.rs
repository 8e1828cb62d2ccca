//! Layout assignment: block shape, demanded layouts, streamed inputs.

use super::{pow2, LayoutProgram};
use crate::ir::tensor::{Inst, LoopKind, Op, Region, TensorProgram, ValueId};
use crate::syntax::ast::BinOp;
use crate::types::checked::Builtin;
use crate::types::ty::Dim;
use crate::types::ty::Secrecy;
use blindtune_runtime::plan::{AxisLayout, BlockShape, Layout};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LayoutError {
    #[error("{0}")]
    Unsupported(String),
}

/// Definitions and uses of every value, over all regions.
pub struct Defs<'p> {
    pub def: HashMap<ValueId, &'p Inst>,
    pub uses: HashMap<ValueId, Vec<&'p Inst>>,
    pub prog: &'p TensorProgram,
}

impl<'p> Defs<'p> {
    pub fn new(prog: &'p TensorProgram) -> Self {
        let mut d = Defs {
            def: HashMap::new(),
            uses: HashMap::new(),
            prog,
        };
        fn walk<'p>(d: &mut Defs<'p>, r: &'p Region) {
            for inst in &r.insts {
                for &res in &inst.results {
                    d.def.insert(res, inst);
                }
                for o in inst.op.operands() {
                    d.uses.entry(o).or_default().push(inst);
                }
                for sub in inst.op.regions() {
                    for &y in &sub.yields {
                        d.uses.entry(y).or_default().push(inst);
                    }
                    walk(d, sub);
                }
            }
        }
        walk(&mut d, &prog.body);
        d
    }

    /// The value of a public scalar known at compile time.
    pub fn static_scalar(&self, v: ValueId) -> Option<f64> {
        let inst = self.def.get(&v)?;
        match &inst.op {
            Op::Const(c) => Some(*c),
            Op::Param(name) => self
                .prog
                .params
                .iter()
                .find(|p| &p.name == name)
                .map(|p| p.value),
            Op::DimValue(Dim::Const(n)) => Some(*n as f64),
            Op::Assume(a, _) => self.static_scalar(*a),
            Op::Neg(a) => self.static_scalar(*a).map(|x| -x),
            Op::Bin(op, a, b) => {
                let (x, y) = (self.static_scalar(*a)?, self.static_scalar(*b)?);
                scalar_bin(*op, x, y)
            }
            Op::Builtin(Builtin::Log2Ceil, args) if args.len() == 1 => {
                let x = self.static_scalar(args[0])?;
                Some(x.max(1.0).log2().ceil())
            }
            _ => None,
        }
    }

    /// `w` if `v = transpose(w)`.
    pub fn transposed(&self, v: ValueId) -> Option<ValueId> {
        match self.def.get(&v).map(|i| &i.op) {
            Some(Op::Transpose(w)) => Some(*w),
            _ => None,
        }
    }

    pub fn is_secret(&self, v: ValueId) -> bool {
        self.prog.ty(v).secrecy == Secrecy::Secret
    }
}

pub fn scalar_bin(op: BinOp, x: f64, y: f64) -> Option<f64> {
    Some(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        BinOp::Pow => x.powf(y),
        _ => return None,
    })
}

/// A static dimension's size.
pub fn dim_len(d: &Dim) -> Option<usize> {
    match d {
        Dim::Const(n) => Some(*n as usize),
        Dim::Sym(_) => None,
    }
}

/// The tensor as two axes `[rows, cols]` (a vector is `[1, c]`).
pub fn two_axes(shape: &[Dim]) -> [Dim; 2] {
    match shape {
        [] => [Dim::Const(1), Dim::Const(1)],
        [c] => [Dim::Const(1), c.clone()],
        [r, c] => [r.clone(), c.clone()],
        _ => [Dim::Const(0), Dim::Const(0)],
    }
}

struct Demands<'d, 'p> {
    defs: &'d Defs<'p>,
    out: BTreeMap<ValueId, Layout>,
}

impl Demands<'_, '_> {
    fn class_layout(&self, v: ValueId) -> Layout {
        let [_, c] = two_axes(&self.defs.prog.ty(v).shape);
        Layout {
            rows: AxisLayout::Blocked,
            cols: tiled(dim_len(&c).unwrap_or(1)),
        }
    }

    fn put(&mut self, v: ValueId, l: Layout) {
        if self.defs.prog.ty(v).shape.is_empty() {
            return;
        }
        let [r, c] = two_axes(&self.defs.prog.ty(v).shape);
        // a length-1 axis is replicated whatever the demand
        let fix = |a: AxisLayout, d: &Dim| {
            if *d == Dim::Const(1) {
                AxisLayout::Replicated
            } else {
                a
            }
        };
        let l = Layout {
            rows: fix(l.rows, &r),
            cols: fix(l.cols, &c),
        };
        self.out.entry(v).or_insert(l);
    }

    fn region(&mut self, r: &Region) {
        for inst in r.insts.iter().rev() {
            self.inst(inst);
        }
    }

    fn inst(&mut self, inst: &Inst) {
        let res = inst.results.first().copied();
        let want = res.and_then(|r| self.out.get(&r).copied());
        match &inst.op {
            Op::MatMul(a, b) => {
                if let Some(w) = self.defs.transposed(*b) {
                    // X · Wᵀ: DiagABT
                    let [c, _] = two_axes(&self.defs.prog.ty(w).shape);
                    self.put(*a, Layout::ROW_MAJOR);
                    self.put(
                        w,
                        Layout {
                            rows: tiled(dim_len(&c).unwrap_or(1)),
                            cols: AxisLayout::Blocked,
                        },
                    );
                } else if let Some(g) = self.defs.transposed(*a) {
                    // Gᵀ · X: DiagATB
                    let l = self.class_layout(g);
                    self.put(g, l);
                    self.put(*b, Layout::ROW_MAJOR);
                }
            }
            Op::Bin(_, a, b) => {
                if let Some(l) = want {
                    for x in [a, b] {
                        self.through(*x, l, res.unwrap());
                    }
                }
            }
            Op::Neg(a) | Op::Assume(a, _) | Op::Approx(_, a) => {
                if let Some(l) = want {
                    self.put(*a, l);
                }
            }
            Op::Broadcast(a) => {
                if let Some(l) = want {
                    self.through(*a, l, res.unwrap());
                }
            }
            Op::Builtin(Builtin::Roll, args) => {
                if let Some(l) = want {
                    self.put(args[0], l);
                }
            }
            Op::Builtin(Builtin::Sum(0), args) | Op::Builtin(Builtin::Mean(0), args) => {
                let l = want.map(|l| Layout {
                    rows: AxisLayout::Blocked,
                    cols: l.cols,
                });
                self.put(args[0], l.unwrap_or_else(|| self.class_layout(args[0])));
            }
            Op::Builtin(Builtin::RowSum | Builtin::Sum(1) | Builtin::Mean(1), args) => {
                let l = self.class_layout(args[0]);
                self.put(args[0], l);
            }
            Op::BatchSlice { source, .. } => {
                if let Some(l) = want {
                    self.put(*source, l);
                }
            }
            Op::Loop { inits, body, .. } => {
                for (k, &r) in inst.results.iter().enumerate() {
                    if let Some(l) = self.out.get(&r).copied() {
                        self.put(body.args[k + 1], l);
                        self.put(body.yields[k], l);
                    }
                }
                // twice: a demand found late in the body reaches the back edge
                for _ in 0..2 {
                    self.region(body);
                    for (k, &init) in inits.iter().enumerate() {
                        let arg = body.args[k + 1];
                        if let Some(l) = self.out.get(&arg).copied() {
                            self.put(init, l);
                            self.put(body.yields[k], l);
                            self.put(inst.results[k], l);
                        }
                    }
                }
            }
            Op::If { then, els, .. } => {
                self.region(then);
                self.region(els);
            }
            _ => {}
        }
    }

    /// The demand `l` on a result `res` of shape `[r, c]` passed to an operand `x` that may be
    /// broadcast to it.
    fn through(&mut self, x: ValueId, l: Layout, res: ValueId) {
        let xs = two_axes(&self.defs.prog.ty(x).shape);
        let rs = two_axes(&self.defs.prog.ty(res).shape);
        let rows = if xs[0] == rs[0] {
            l.rows
        } else {
            AxisLayout::Replicated
        };
        let cols = if xs[1] == rs[1] {
            l.cols
        } else {
            AxisLayout::Replicated
        };
        self.put(x, Layout { rows, cols });
    }
}

fn tiled(len: usize) -> AxisLayout {
    if len <= 1 {
        AxisLayout::Replicated
    } else {
        AxisLayout::Tiled { period: pow2(len) }
    }
}

/// Chooses the block, the demanded layouts and the streamed inputs.
pub fn assign(prog: &TensorProgram, slots: usize) -> Result<LayoutProgram, LayoutError> {
    let defs = Defs::new(prog);
    let mut d = Demands {
        defs: &defs,
        out: BTreeMap::new(),
    };
    d.region(&prog.body);
    d.region(&prog.body);
    let mut demanded = d.out;

    // Defaults for what nobody constrained.
    let mut all = Vec::new();
    collect_values(&prog.body, &mut all);
    for v in all {
        if prog.ty(v).shape.is_empty() || demanded.contains_key(&v) {
            continue;
        }
        let [r, c] = two_axes(&prog.ty(v).shape);
        let narrow = dim_len(&c).is_some_and(|c| c <= 32);
        let l = Layout {
            rows: if r == Dim::Const(1) {
                AxisLayout::Replicated
            } else {
                AxisLayout::Blocked
            },
            cols: if c == Dim::Const(1) {
                AxisLayout::Replicated
            } else if narrow && prog.ty(v).shape.len() == 2 {
                tiled(dim_len(&c).unwrap())
            } else {
                AxisLayout::Blocked
            },
        };
        demanded.insert(v, l);
    }

    // Batch size and block shape.
    let mut batch_rows = None;
    find_batches(&defs, &prog.body, &mut batch_rows);
    let mut max_period = 1;
    let mut max_blocked_cols = 1;
    for (v, l) in &demanded {
        if let AxisLayout::Tiled { period } = l.cols {
            max_period = max_period.max(period);
        }
        if let AxisLayout::Tiled { period } = l.rows {
            max_period = max_period.max(period);
        }
        if l.cols == AxisLayout::Blocked {
            if let Some(c) = dim_len(&two_axes(&prog.ty(*v).shape)[1]) {
                max_blocked_cols = max_blocked_cols.max(c);
            }
        }
    }
    let s0 = match batch_rows {
        Some(b) => pow2(b),
        None => (slots / pow2(max_blocked_cols)).max(max_period),
    }
    .clamp(max_period, (slots / max_period).max(1));
    let block = BlockShape { s0, s1: slots / s0 };
    if block.s1 < max_period || block.s0 < max_period {
        return Err(LayoutError::Unsupported(format!(
            "no block of {slots} slots holds a period of {max_period} on both axes"
        )));
    }

    // Stream-only values: secret values whose every use is a batch slice or a rowwise
    // operation whose result is itself stream-only.
    let mut stream_only = BTreeSet::new();
    let mut streamed = BTreeSet::new();
    for inst in prog.body.insts.iter().rev() {
        let Some(&v) = inst.results.first() else {
            continue;
        };
        if inst.results.len() != 1 || !defs.is_secret(v) {
            continue;
        }
        let rowwise = matches!(
            inst.op,
            Op::Input(_) | Op::Bin(..) | Op::Neg(_) | Op::Assume(..) | Op::Approx(..)
        );
        if !rowwise {
            continue;
        }
        let uses = defs.uses.get(&v).map(|u| u.as_slice()).unwrap_or(&[]);
        let only = !uses.is_empty()
            && uses.iter().all(|u| match &u.op {
                Op::BatchSlice { source, .. } => *source == v,
                _ => u.results.len() == 1 && stream_only.contains(&u.results[0]),
            });
        if only {
            stream_only.insert(v);
            if let Op::Input(name) = &inst.op {
                streamed.insert(name.clone());
            }
        }
    }

    Ok(LayoutProgram {
        tensor: prog.clone(),
        slots,
        block,
        demanded,
        streamed,
        stream_only,
        batch_rows,
    })
}

fn collect_values(r: &Region, out: &mut Vec<ValueId>) {
    out.extend(&r.args);
    for inst in &r.insts {
        out.extend(&inst.results);
        for sub in inst.op.regions() {
            collect_values(sub, out);
        }
    }
}

fn find_batches(defs: &Defs, r: &Region, out: &mut Option<usize>) {
    for inst in &r.insts {
        if let Op::Loop {
            kind: LoopKind::Batches { size, .. },
            ..
        } = &inst.op
        {
            if let Some(b) = defs.static_scalar(*size) {
                *out = Some(out.unwrap_or(0).max(b as usize));
            }
        }
        for sub in inst.op.regions() {
            find_batches(defs, sub, out);
        }
    }
}
