//! Layout stage → CKKS stage.
//!
//! Walks the tensor IR once with the layouts of [`crate::ir::layout`]: elementwise operations
//! become blockwise ciphertext/plaintext operations (scalars and public tensors stay public
//! until they meet a secret), kernels are expanded ([`super::kernels`]), short fixed loops are
//! unrolled and the others kept rolled with their carried registers, batch slices of
//! stream-only values are recomputed per batch from streamed inputs, and anything that cannot
//! be compiled yet is an error naming the operation and the reason.

use super::builder::Builder;
use super::kernels::{col_window, row_window, Kernels};
use super::{CkksProgram, RegFacts, TensorFacts};
use crate::ir::layout::assign::{dim_len, scalar_bin, two_axes, Defs};
use crate::ir::layout::{pow2, LayoutProgram, UNROLL_LIMIT};
use crate::ir::tensor::{Inst, LoopKind, Op as TOp, Region, ValueId};
use crate::syntax::ast::BinOp;
use crate::types::checked::{Basis, Builtin, TIndex};
use crate::types::ty::{Dim, Secrecy};
use blindtune_runtime::plan::{
    AxisLayout, DimSpec, GridDim, InputSpec, Layout, Op, OutputSpec, PlainFn, PolySpec, Reg,
    RegKind, ScalarOp, StreamSpec, Trips,
};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("cannot compile {what} yet: {why}")]
pub struct CkksError {
    pub what: String,
    pub why: String,
}

fn err<T>(what: impl Into<String>, why: impl Into<String>) -> Result<T, CkksError> {
    Err(CkksError {
        what: what.into(),
        why: why.into(),
    })
}

/// A lowered tensor value.
#[derive(Clone, Debug)]
struct TVal {
    reg: Reg,
    secret: bool,
    layout: Layout,
    shape: [DimSpec; 2],
    lens: [Option<usize>; 2],
    rank: usize,
    clean: [bool; 2],
    bound: Option<f64>,
}

#[derive(Clone, Debug)]
enum LVal {
    Scalar {
        reg: Option<Reg>,
        value: Option<f64>,
    },
    Tensor(TVal),
    Order {
        shuffle: bool,
        id: usize,
    },
    /// a transpose, consumed by a matrix product
    Transposed,
    /// not materialized (stream-only values, unused inputs)
    Skipped,
}

struct Lowerer<'p> {
    lp: &'p LayoutProgram,
    defs: Defs<'p>,
    b: Builder,
    env: HashMap<ValueId, LVal>,
    inputs: Vec<InputSpec>,
    outputs: Vec<OutputSpec>,
    /// batch dims (symbols) → batch size
    batch_dims: HashMap<String, usize>,
    /// static trip counts of the enclosing loops (rolled or unrolled)
    trips_stack: Vec<u64>,
    orders: usize,
    /// streamed-input registers per loop body: (source value) → lowered per batch
    batch_env: Vec<HashMap<ValueId, TVal>>,
    assumed: BTreeMap<String, usize>,
    /// public values used only as the labels an output is scored against (they stay with the
    /// data owner and are never computed by the plan)
    labels_only: std::collections::HashSet<ValueId>,
}

/// Lowers the layout stage to the CKKS stage.
pub fn lower(lp: &LayoutProgram) -> Result<CkksProgram, CkksError> {
    let mut l = Lowerer {
        lp,
        defs: Defs::new(&lp.tensor),
        b: Builder::new(),
        env: HashMap::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        batch_dims: HashMap::new(),
        trips_stack: Vec::new(),
        orders: 0,
        batch_env: Vec::new(),
        assumed: BTreeMap::new(),
        labels_only: Default::default(),
    };
    l.labels_only = labels_only(&l.defs, &lp.tensor.body);
    l.region(&lp.tensor.body)?;
    let body = l.b.close();
    let mut all = std::mem::take(&mut l.b.consts);
    all.extend(body);
    Ok(CkksProgram {
        slots: lp.slots,
        block: lp.block,
        regs: l.b.regs,
        facts: l.b.facts,
        body: all,
        inputs: l.inputs,
        outputs: l.outputs,
        assumed_dims: l.assumed,
    })
}

fn dimspec(d: &Dim) -> DimSpec {
    match d {
        Dim::Const(n) => DimSpec::Fixed(*n as usize),
        Dim::Sym(s) => DimSpec::Named(s.clone()),
    }
}

fn is_replicated(a: AxisLayout) -> bool {
    a == AxisLayout::Replicated
}

impl<'p> Lowerer<'p> {
    fn name_of(&self, v: ValueId) -> String {
        self.lp.tensor.values[v as usize]
            .name
            .clone()
            .map(|n| format!("`{n}`"))
            .unwrap_or_else(|| format!("%{v}"))
    }

    fn get(&self, v: ValueId) -> Result<LVal, CkksError> {
        if let Some(t) = self.batch_env.last().and_then(|m| m.get(&v)) {
            return Ok(LVal::Tensor(t.clone()));
        }
        self.env.get(&v).cloned().ok_or_else(|| CkksError {
            what: self.name_of(v),
            why: "it is used where it was not computed (an internal ordering error)".into(),
        })
    }

    fn tensor(&self, v: ValueId) -> Result<TVal, CkksError> {
        match self.get(v)? {
            LVal::Tensor(t) => Ok(t),
            other => err(
                self.name_of(v),
                format!("expected a tensor, found {other:?}"),
            ),
        }
    }

    fn grid_rows(&mut self, layout: AxisLayout, d: &Dim) -> Result<GridDim, CkksError> {
        Ok(match layout {
            AxisLayout::Blocked => match d {
                Dim::Const(n) => GridDim::Fixed((*n as usize).div_ceil(self.lp.block.s0).max(1)),
                Dim::Sym(s) => match self.batch_dims.get(s) {
                    Some(&b) => GridDim::Fixed(b.div_ceil(self.lp.block.s0).max(1)),
                    None => GridDim::Rows(s.clone()),
                },
            },
            _ => GridDim::Fixed(1),
        })
    }

    fn grid_cols(&self, layout: AxisLayout, d: &Dim, what: &str) -> Result<usize, CkksError> {
        Ok(match layout {
            AxisLayout::Blocked => match d {
                Dim::Const(n) => (*n as usize).div_ceil(self.lp.block.s1).max(1),
                Dim::Sym(s) => {
                    return err(what, format!("its columns have the run-time size `{s}`; column counts must be known at compile time"))
                }
            },
            _ => 1,
        })
    }

    fn layout_of(&self, v: ValueId) -> Layout {
        self.lp
            .demanded
            .get(&v)
            .copied()
            .unwrap_or(Layout::ROW_MAJOR)
    }

    /// A fresh tensor register for value `v` with `layout`.
    fn new_tensor(
        &mut self,
        v: ValueId,
        kind: RegKind,
        layout: Layout,
        clean: [bool; 2],
    ) -> Result<(Reg, TVal), CkksError> {
        let ty = self.lp.tensor.ty(v).clone();
        let axes = two_axes(&ty.shape);
        let what = self.name_of(v);
        let rows = self.grid_rows(layout.rows, &axes[0])?;
        let cols = self.grid_cols(layout.cols, &axes[1], &what)?;
        for (k, a) in axes.iter().enumerate() {
            let s = self.lp.block.extent(k);
            if let Some(n) = dim_len(a) {
                if !layout.axis(k).admits(n, s) {
                    return err(
                        what,
                        format!(
                            "axis {k} of length {n} does not fit layout {}",
                            layout.axis(k)
                        ),
                    );
                }
            }
        }
        let shape = [dimspec(&axes[0]), dimspec(&axes[1])];
        let lens = [dim_len(&axes[0]), dim_len(&axes[1])];
        let clean = [
            clean[0] || is_replicated(layout.rows),
            clean[1] || is_replicated(layout.cols),
        ];
        let bound = ty.range.filter(|r| r.is_finite()).map(|r| r.max_abs());
        let facts = RegFacts {
            tensor: Some(TensorFacts {
                layout,
                shape: shape.clone(),
                rank: ty.shape.len(),
                clean,
            }),
            bound,
            packed: false,
        };
        let reg = self.b.reg(kind, rows, cols, facts);
        if let Some(n) = &self.lp.tensor.values[v as usize].name {
            self.b.name(reg, n);
        }
        Ok((
            reg,
            TVal {
                reg,
                secret: kind == RegKind::Cipher,
                layout,
                shape,
                lens,
                rank: ty.shape.len(),
                clean,
                bound,
            },
        ))
    }

    fn scalar_reg(&mut self, s: &LVal) -> Reg {
        match s {
            LVal::Scalar { reg: Some(r), .. } => *r,
            LVal::Scalar { value: Some(v), .. } => self.b.konst(*v),
            _ => unreachable!("scalar without register or value"),
        }
    }

    fn region(&mut self, r: &Region) -> Result<(), CkksError> {
        for inst in &r.insts {
            self.inst(inst)?;
        }
        Ok(())
    }

    fn set(&mut self, inst: &Inst, v: LVal) {
        if let Some(&r) = inst.results.first() {
            self.env.insert(r, v);
        }
    }

    fn inst(&mut self, inst: &Inst) -> Result<(), CkksError> {
        let res = inst.results.first().copied();
        let what = || {
            res.map(|r| self.name_of(r))
                .unwrap_or_else(|| "an instruction".into())
        };
        if let Some(r) = res {
            if self.labels_only.contains(&r) || self.lp.stream_only.contains(&r) {
                self.set(inst, LVal::Skipped);
                return Ok(());
            }
        }
        if let Some(v) = self
            .lp
            .tensor
            .ty(res.unwrap_or(0))
            .range
            .filter(|_| res.is_some())
        {
            let _ = v;
        }
        let val = match &inst.op {
            TOp::Const(c) => LVal::Scalar {
                reg: None,
                value: Some(*c),
            },
            TOp::Param(_) | TOp::DimValue(Dim::Const(_)) => LVal::Scalar {
                reg: None,
                value: Some(self.defs.static_scalar(res.unwrap()).unwrap_or(0.0)),
            },
            TOp::DimValue(Dim::Sym(s)) => {
                let r = self.b.scalar(Op::DimValue(s.clone()));
                LVal::Scalar {
                    reg: Some(r),
                    value: None,
                }
            }
            TOp::Input(name) => self.input(res.unwrap(), name)?,
            TOp::Neg(a) => match self.get(*a)? {
                LVal::Scalar { value: Some(x), .. } => LVal::Scalar {
                    reg: None,
                    value: Some(-x),
                },
                LVal::Scalar { reg: Some(r), .. } => {
                    let m = self.b.konst(-1.0);
                    LVal::Scalar {
                        reg: Some(self.b.scalar(Op::ScalarBin {
                            op: ScalarOp::Mul,
                            a: r,
                            b: m,
                        })),
                        value: None,
                    }
                }
                LVal::Tensor(t) => {
                    let op = if t.secret {
                        Op::Neg { a: t.reg }
                    } else {
                        Op::PlainUnary {
                            f: PlainFn::Neg,
                            a: t.reg,
                        }
                    };
                    self.derived(res.unwrap(), &t, t.clean, op)?
                }
                other => return err(what(), format!("negation of {other:?}")),
            },
            TOp::Bin(op, a, b) => self.bin(res.unwrap(), *op, *a, *b)?,
            TOp::Broadcast(a) => match self.get(*a)? {
                LVal::Tensor(mut t) => {
                    let ty = self.lp.tensor.ty(res.unwrap());
                    let axes = two_axes(&ty.shape);
                    t.shape = [dimspec(&axes[0]), dimspec(&axes[1])];
                    t.lens = [dim_len(&axes[0]), dim_len(&axes[1])];
                    t.rank = ty.shape.len();
                    LVal::Tensor(t)
                }
                s => s,
            },
            TOp::Transpose(_) => LVal::Transposed,
            TOp::MatMul(a, b) => self.matmul(res.unwrap(), *a, *b)?,
            TOp::Builtin(bi, args) => self.builtin(res.unwrap(), *bi, args)?,
            TOp::Approx(name, a) => self.approx(res.unwrap(), name, *a)?,
            TOp::Slice(a, idx) => self.slice(res.unwrap(), *a, idx)?,
            TOp::Assume(a, r) => match self.get(*a)? {
                LVal::Tensor(mut t) => {
                    t.bound = Some(r.max_abs());
                    self.b.facts[t.reg as usize].bound = Some(
                        self.b.facts[t.reg as usize]
                            .bound
                            .map_or(r.max_abs(), |b| b.min(r.max_abs())),
                    );
                    LVal::Tensor(t)
                }
                s => s,
            },
            TOp::BatchOrder { shuffle, .. } => {
                self.orders += 1;
                LVal::Order {
                    shuffle: *shuffle,
                    id: self.orders - 1,
                }
            }
            TOp::BatchSlice { source, order, .. } => {
                self.batch_slice(res.unwrap(), *source, *order)?
            }
            TOp::Loop {
                kind, inits, body, ..
            } => {
                self.lower_loop(inst, kind, inits, body)?;
                return Ok(());
            }
            TOp::If { cond, then, els } => {
                let Some(c) = self.defs.static_scalar(*cond) else {
                    return err("an `if`", "its condition is known only at run time");
                };
                let r = if c != 0.0 { then } else { els };
                self.region(r)?;
                for (k, &y) in r.yields.iter().enumerate() {
                    let v = self.get(y)?;
                    self.env.insert(inst.results[k], v);
                }
                return Ok(());
            }
            TOp::Output {
                name,
                value,
                against,
            } => {
                self.output(name, *value, *against)?;
                return Ok(());
            }
        };
        self.set(inst, val);
        Ok(())
    }

    fn input(&mut self, v: ValueId, name: &str) -> Result<LVal, CkksError> {
        let ty = self.lp.tensor.ty(v).clone();
        let uses = self.defs.uses.get(&v).map(|u| u.len()).unwrap_or(0);
        let only_labels = self.defs.uses.get(&v).is_some_and(|us| {
            us.iter().all(|u| matches!(&u.op, TOp::Output { against: Some(a), value, .. } if *a == v && *value != v))
        });
        if uses == 0 || only_labels {
            return Ok(LVal::Skipped);
        }
        if ty.shape.len() > 2 {
            return err(
                format!("input `{name}`"),
                "tensors of rank above 2 have no layout yet",
            );
        }
        let layout = self.layout_of(v);
        let secret = ty.secrecy == Secrecy::Secret;
        let kind = if secret {
            RegKind::Cipher
        } else {
            RegKind::Plain
        };
        let (reg, t) = self.new_tensor(v, kind, layout, [true, true])?;
        self.b.emit(
            vec![reg],
            Op::Input {
                name: name.to_string(),
            },
        );
        self.inputs.push(InputSpec {
            name: name.to_string(),
            secret,
            shape: t.shape.clone(),
            rank: t.rank,
            layout,
            level: None,
            stream: None,
        });
        for d in &t.shape {
            if let DimSpec::Named(n) = d {
                self.assumed.entry(n.clone()).or_insert(1024);
            }
        }
        Ok(LVal::Tensor(t))
    }

    /// A result computed from `t` by `op` in `t`'s layout.
    fn derived(
        &mut self,
        v: ValueId,
        t: &TVal,
        clean: [bool; 2],
        op: Op,
    ) -> Result<LVal, CkksError> {
        let kind = if t.secret {
            RegKind::Cipher
        } else {
            RegKind::Plain
        };
        let (reg, nt) = self.new_tensor(v, kind, t.layout, clean)?;
        self.b.emit(vec![reg], op);
        Ok(LVal::Tensor(nt))
    }

    /// Brings `t` to `layout` (supported conversions only).
    fn convert(&mut self, t: &TVal, layout: Layout, what: &str) -> Result<TVal, CkksError> {
        if t.layout == layout {
            return Ok(t.clone());
        }
        if !t.secret {
            // public values are re-laid out for free: they are encoded at use
            let mut nt = t.clone();
            if let Some(tf) = self.b.facts[t.reg as usize].tensor.clone() {
                let _ = tf;
            }
            nt.layout = layout;
            let reg = self.b.reg(
                RegKind::Plain,
                GridDim::Fixed(1),
                1,
                RegFacts {
                    tensor: Some(TensorFacts {
                        layout,
                        shape: t.shape.clone(),
                        rank: t.rank,
                        clean: t.clean,
                    }),
                    bound: t.bound,
                    packed: false,
                },
            );
            let one = self.b.konst(1.0);
            // re-encode: a public tensor in another layout is the same data re-scattered; the
            // executor scatters public inputs by the consuming register's layout
            self.b.emit(
                vec![reg],
                Op::PlainBin {
                    op: ScalarOp::Mul,
                    a: t.reg,
                    b: one,
                },
            );
            nt.reg = reg;
            return Ok(nt);
        }
        err(
            what,
            format!("it is needed in layout {layout} but computed in {}; this conversion is not implemented", t.layout),
        )
    }

    fn bin(&mut self, v: ValueId, op: BinOp, a: ValueId, b: ValueId) -> Result<LVal, CkksError> {
        let what = self.name_of(v);
        let (x, y) = (self.get(a)?, self.get(b)?);
        use LVal::{Scalar, Tensor};
        match (&x, &y) {
            (Scalar { value: Some(p), .. }, Scalar { value: Some(q), .. }) => {
                return match scalar_bin(op, *p, *q) {
                    Some(r) => Ok(Scalar {
                        reg: None,
                        value: Some(r),
                    }),
                    None => err(what, format!("the operator `{}` on scalars", op.text())),
                }
            }
            (Scalar { .. }, Scalar { .. }) => {
                let sop = scalar_op(op).ok_or_else(|| CkksError {
                    what: what.clone(),
                    why: format!("the operator `{}`", op.text()),
                })?;
                let (ra, rb) = (self.scalar_reg(&x), self.scalar_reg(&y));
                let r = self.b.scalar(Op::ScalarBin {
                    op: sop,
                    a: ra,
                    b: rb,
                });
                return Ok(Scalar {
                    reg: Some(r),
                    value: None,
                });
            }
            _ => {}
        }
        // at least one tensor
        let secret_x = matches!(&x, Tensor(t) if t.secret);
        let secret_y = matches!(&y, Tensor(t) if t.secret);
        let res_layout = match (&x, &y) {
            (Tensor(t), Tensor(u)) => join_layout(t.layout, u.layout),
            (Tensor(t), _) | (_, Tensor(t)) => t.layout,
            _ => unreachable!(),
        };
        let demanded = self.layout_of(v);
        let res_layout = if res_layout == demanded || !secret_x && !secret_y {
            demanded
        } else {
            res_layout
        };
        if !secret_x && !secret_y {
            // public elementwise arithmetic
            let sop = scalar_op(op).ok_or_else(|| CkksError {
                what: what.clone(),
                why: format!("the operator `{}` on public tensors", op.text()),
            })?;
            let ra = self.operand_reg(&x);
            let rb = self.operand_reg(&y);
            let (reg, t) = self.new_tensor(v, RegKind::Plain, res_layout, [true, true])?;
            self.b.emit(
                vec![reg],
                Op::PlainBin {
                    op: sop,
                    a: ra,
                    b: rb,
                },
            );
            return Ok(Tensor(t));
        }
        // secret ∘ anything
        let (ct, other, ct_first) = if secret_x {
            (x.clone(), y.clone(), true)
        } else {
            (y.clone(), x.clone(), false)
        };
        let Tensor(ct) = ct else { unreachable!() };
        let ct = self.convert(&ct, merge_axes(ct.layout, res_layout), &what)?;
        // whether an operand leaves zeros in the result's padding: a broadcast (replicated)
        // axis writes its value into the padding of the other operand's axis
        let pad_zero = |o: &LVal| -> [bool; 2] {
            match o {
                Tensor(t) => [0, 1].map(|ax| {
                    if t.layout.axis(ax) == AxisLayout::Replicated
                        && res_layout.axis(ax) != AxisLayout::Replicated
                    {
                        false
                    } else {
                        t.clean[ax]
                    }
                }),
                Scalar { value: Some(z), .. } if *z == 0.0 => [true, true],
                _ => [false, false],
            }
        };
        let clean_of = pad_zero;
        let ctz = pad_zero(&Tensor(ct.clone()));
        match (op, &other) {
            (BinOp::Add | BinOp::Sub, Tensor(o)) if o.secret => {
                let o = self.convert(o, merge_axes(o.layout, res_layout), &what)?;
                let (l, r) = if ct_first { (ct.reg, o.reg) } else { (o.reg, ct.reg) };
                let oz = pad_zero(&Tensor(o.clone()));
                let clean = [ctz[0] && oz[0], ctz[1] && oz[1]];
                let op = if op == BinOp::Add { Op::Add { a: l, b: r } } else { Op::Sub { a: l, b: r } };
                self.result(v, res_layout, RegKind::Cipher, clean, op)
            }
            (BinOp::Mul, Tensor(o)) if o.secret => {
                let o = self.convert(o, merge_axes(o.layout, res_layout), &what)?;
                let oz = pad_zero(&Tensor(o.clone()));
                let clean = [ctz[0] || oz[0], ctz[1] || oz[1]];
                self.result(v, res_layout, RegKind::Cipher, clean, Op::Mul { a: ct.reg, b: o.reg })
            }
            (BinOp::Div, Tensor(o)) if o.secret => {
                err(what, "division by a secret value: approximate `1/x` with a polynomial (`std::math::inverse`)")
            }
            (BinOp::Pow, _) => {
                let Some(k) = self.defs.static_scalar(b).filter(|k| *k >= 1.0 && k.fract() == 0.0 && *k <= 64.0) else {
                    return err(what, "a secret power needs a constant positive integer exponent (≤ 64)");
                };
                if !ct_first {
                    return err(what, "a public base raised to a secret power");
                }
                let k = k as u32;
                let mut acc: Option<Reg> = None;
                let mut sq = ct.reg;
                let mut e = k;
                while e > 0 {
                    if e & 1 == 1 {
                        acc = Some(match acc {
                            None => sq,
                            Some(a) => self.b.cipher(a, RegFacts::default(), Op::Mul { a, b: sq }),
                        });
                    }
                    e >>= 1;
                    if e > 0 {
                        sq = self.b.cipher(sq, RegFacts::default(), Op::Mul { a: sq, b: sq });
                    }
                }
                let r = acc.unwrap();
                let (reg, t) = self.new_tensor(v, RegKind::Cipher, ct.layout, ct.clean)?;
                // re-label the last product as this value's register
                self.b.emit(vec![reg], Op::MulInteger { a: r, k: 1 });
                Ok(Tensor(t))
            }
            (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div, _) => {
                // secret ∘ public (scalar or tensor)
                if let Scalar { value: Some(s), .. } = other {
                    if op == BinOp::Mul || (op == BinOp::Div && ct_first) {
                        let f = if op == BinOp::Mul { s } else { 1.0 / s };
                        if f == 1.0 {
                            return Ok(Tensor(ct));
                        }
                        if f.fract() == 0.0 && f.abs() <= 16.0 {
                            let op = if f == -1.0 { Op::Neg { a: ct.reg } } else { Op::MulInteger { a: ct.reg, k: f as i64 } };
                            return self.result(v, ct.layout, RegKind::Cipher, ct.clean, op);
                        }
                    }
                    if (op == BinOp::Add || op == BinOp::Sub) && s == 0.0 {
                        return Ok(Tensor(ct));
                    }
                }
                let mut p = self.operand_reg(&other);
                let other_clean = clean_of(&other);
                match op {
                    BinOp::Add => self.result(v, res_layout, RegKind::Cipher, [ctz[0] && other_clean[0], ctz[1] && other_clean[1]], Op::AddPlain { a: ct.reg, p }),
                    BinOp::Sub => self.result(v, res_layout, RegKind::Cipher, [ctz[0] && other_clean[0], ctz[1] && other_clean[1]], Op::SubPlain { a: ct.reg, p, reverse: !ct_first }),
                    BinOp::Mul => self.result(v, res_layout, RegKind::Cipher, [ctz[0] || other_clean[0], ctz[1] || other_clean[1]], Op::MulPlain { a: ct.reg, p }),
                    BinOp::Div => {
                        if !ct_first {
                            return err(what, "division by a secret value: approximate `1/x` with a polynomial");
                        }
                        p = self.reciprocal(p, &other);
                        self.result(v, res_layout, RegKind::Cipher, ct.clean, Op::MulPlain { a: ct.reg, p })
                    }
                    _ => unreachable!(),
                }
            }
            _ => err(what, format!("the operator `{}` on a secret value (comparisons need a polynomial step)", op.text())),
        }
    }

    fn reciprocal(&mut self, p: Reg, other: &LVal) -> Reg {
        match other {
            LVal::Scalar { .. } => {
                let one = self.b.konst(1.0);
                self.b.scalar(Op::ScalarBin {
                    op: ScalarOp::Div,
                    a: one,
                    b: p,
                })
            }
            _ => {
                let facts = self.b.facts[p as usize].clone();
                let r = self.b.reg(
                    RegKind::Plain,
                    self.b.regs[p as usize].rows.clone(),
                    self.b.regs[p as usize].cols,
                    facts,
                );
                self.b.emit(
                    vec![r],
                    Op::PlainUnary {
                        f: PlainFn::Recip,
                        a: p,
                    },
                );
                r
            }
        }
    }

    fn operand_reg(&mut self, x: &LVal) -> Reg {
        match x {
            LVal::Tensor(t) => t.reg,
            s => self.scalar_reg(s),
        }
    }

    fn result(
        &mut self,
        v: ValueId,
        layout: Layout,
        kind: RegKind,
        clean: [bool; 2],
        op: Op,
    ) -> Result<LVal, CkksError> {
        let (reg, t) = self.new_tensor(v, kind, layout, clean)?;
        self.b.emit(vec![reg], op);
        Ok(LVal::Tensor(t))
    }

    /// Masks the padding of `t` along the axes in `axes` that are dirty (one level), or
    /// returns it as is.
    fn clean(&mut self, t: &TVal, axes: [bool; 2]) -> TVal {
        let need = [axes[0] && !t.clean[0], axes[1] && !t.clean[1]];
        if !need[0] && !need[1] {
            return t.clone();
        }
        let mut mask: Option<Reg> = None;
        let mut dynamic = false;
        if need[0] {
            let m = match (&t.shape[0], t.layout.rows) {
                (DimSpec::Named(d), AxisLayout::Blocked) => {
                    // the valid rows are known per batch: computed where used, never hoisted
                    dynamic = true;
                    let r = self
                        .b
                        .reg(RegKind::Plain, GridDim::Fixed(1), 1, RegFacts::default());
                    self.b.emit(vec![r], Op::RowMask { dim: d.clone() });
                    r
                }
                (_, AxisLayout::Tiled { period }) => {
                    self.b
                        .mask(row_window(period, 0, t.lens[0].unwrap_or(period)))
                }
                (DimSpec::Fixed(n), _) => {
                    self.b
                        .mask(row_window(self.lp.block.s0, 0, (*n).min(self.lp.block.s0)))
                }
                _ => unreachable!(),
            };
            mask = Some(m);
        }
        if need[1] {
            let m = match t.layout.cols {
                AxisLayout::Tiled { period } => {
                    self.b
                        .mask(col_window(period, 0, t.lens[1].unwrap_or(period)))
                }
                _ => self.b.mask(col_window(
                    self.lp.block.s1,
                    0,
                    t.lens[1].unwrap_or(self.lp.block.s1).min(self.lp.block.s1),
                )),
            };
            mask = Some(match mask {
                None => m,
                Some(r) if dynamic => {
                    let out = self
                        .b
                        .reg(RegKind::Plain, GridDim::Fixed(1), 1, RegFacts::default());
                    self.b.emit(
                        vec![out],
                        Op::PlainBin {
                            op: ScalarOp::Mul,
                            a: r,
                            b: m,
                        },
                    );
                    out
                }
                Some(r) => self.b.constant(Op::PlainBin {
                    op: ScalarOp::Mul,
                    a: r,
                    b: m,
                }),
            });
        }
        let facts = RegFacts {
            tensor: Some(TensorFacts {
                layout: t.layout,
                shape: t.shape.clone(),
                rank: t.rank,
                clean: [true, true],
            }),
            bound: t.bound,
            packed: false,
        };
        let reg = self.b.cipher(
            t.reg,
            facts,
            Op::MulPlain {
                a: t.reg,
                p: mask.unwrap(),
            },
        );
        TVal {
            reg,
            clean: [t.clean[0] || need[0], t.clean[1] || need[1]],
            ..t.clone()
        }
    }

    fn wrap(
        &mut self,
        v: ValueId,
        reg: Reg,
        layout: Layout,
        clean: [bool; 2],
    ) -> Result<LVal, CkksError> {
        let (out, t) = self.new_tensor(v, RegKind::Cipher, layout, clean)?;
        self.b.emit(vec![out], Op::MulInteger { a: reg, k: 1 });
        Ok(LVal::Tensor(t))
    }

    fn matmul(&mut self, v: ValueId, a: ValueId, b: ValueId) -> Result<LVal, CkksError> {
        let what = self.name_of(v);
        let block = self.lp.block;
        if let Some(w) = self.defs.transposed(b) {
            let x = self.tensor(a)?;
            let wt = self.tensor(w)?;
            if !x.secret && !wt.secret {
                return err(
                    what,
                    "a product of two public matrices (compute it before encryption)",
                );
            }
            let c = wt.lens[0].ok_or_else(|| CkksError {
                what: what.clone(),
                why: "the class count must be static".into(),
            })?;
            let cp = if c <= 1 { 1 } else { pow2(c) };
            let x = self.convert(&x, Layout::ROW_MAJOR, &what)?;
            let wl = Layout {
                rows: if cp == 1 {
                    AxisLayout::Replicated
                } else {
                    AxisLayout::Tiled { period: cp }
                },
                cols: AxisLayout::Blocked,
            };
            let wt = self.convert(&wt, wl, &what)?;
            let x = self.clean(&x, [false, true]);
            let wt = self.clean(&wt, [true, true]);
            let (x, wt) = (self.lift(&x)?, self.lift(&wt)?);
            let z = Kernels {
                b: &mut self.b,
                block,
            }
            .diag_abt(x.reg, wt.reg, c, cp);
            let layout = Layout {
                rows: AxisLayout::Blocked,
                cols: if cp == 1 {
                    AxisLayout::Replicated
                } else {
                    AxisLayout::Tiled { period: cp }
                },
            };
            return self.wrap(v, z, layout, [x.clean[0], true]);
        }
        if let Some(g) = self.defs.transposed(a) {
            let gt = self.tensor(g)?;
            let xb = self.tensor(b)?;
            let c = gt.lens[1].ok_or_else(|| CkksError {
                what: what.clone(),
                why: "the class count must be static".into(),
            })?;
            let cp = if c <= 1 { 1 } else { pow2(c) };
            let gl = Layout {
                rows: AxisLayout::Blocked,
                cols: if cp == 1 {
                    AxisLayout::Replicated
                } else {
                    AxisLayout::Tiled { period: cp }
                },
            };
            let gt = self.convert(&gt, gl, &what)?;
            let xb = self.convert(&xb, Layout::ROW_MAJOR, &what)?;
            let gt = self.clean(&gt, [true, true]);
            let xb = self.clean(&xb, [false, true]);
            let (gt, xb) = (self.lift(&gt)?, self.lift(&xb)?);
            let out = Kernels {
                b: &mut self.b,
                block,
            }
            .diag_atb(gt.reg, xb.reg, c, cp);
            let layout = Layout {
                rows: if cp == 1 {
                    AxisLayout::Replicated
                } else {
                    AxisLayout::Tiled { period: cp }
                },
                cols: AxisLayout::Blocked,
            };
            return self.wrap(v, out, layout, [true, true]);
        }
        err(what, "a general matrix product: only `X @ W.T` (DiagABT) and `G.T @ X` (DiagATB) have kernels")
    }

    /// A public tensor operand of a kernel becomes a trivial ciphertext.
    fn lift(&mut self, t: &TVal) -> Result<TVal, CkksError> {
        if t.secret {
            return Ok(t.clone());
        }
        let facts = self.b.facts[t.reg as usize].clone();
        let (rows, cols) = (
            self.b.regs[t.reg as usize].rows.clone(),
            self.b.regs[t.reg as usize].cols,
        );
        let reg = self
            .b
            .cipher_grid(rows, cols, facts, Op::Trivial { a: t.reg });
        Ok(TVal {
            reg,
            secret: true,
            ..t.clone()
        })
    }

    fn builtin(&mut self, v: ValueId, bi: Builtin, args: &[ValueId]) -> Result<LVal, CkksError> {
        let what = self.name_of(v);
        let block = self.lp.block;
        match bi {
            Builtin::Zeros | Builtin::Ones => {
                let value = if bi == Builtin::Zeros { 0.0 } else { 1.0 };
                let layout = self.layout_of(v);
                let (reg, t) = self.new_tensor(v, RegKind::Plain, layout, [value == 0.0; 2])?;
                self.b.emit(vec![reg], Op::Fill { value });
                Ok(LVal::Tensor(t))
            }
            Builtin::Log2Ceil | Builtin::Rows | Builtin::Cols => match self.defs.static_scalar(v) {
                Some(x) => Ok(LVal::Scalar {
                    reg: None,
                    value: Some(x),
                }),
                None => {
                    let ty = self.lp.tensor.ty(args[0]).clone();
                    let d = if bi == Builtin::Rows {
                        ty.shape.first()
                    } else {
                        ty.shape.last()
                    };
                    match d {
                        Some(Dim::Sym(s)) => Ok(LVal::Scalar {
                            reg: Some(self.b.scalar(Op::DimValue(s.clone()))),
                            value: None,
                        }),
                        Some(Dim::Const(n)) => Ok(LVal::Scalar {
                            reg: None,
                            value: Some(*n as f64),
                        }),
                        None => err(what, "rows/cols of a scalar"),
                    }
                }
            },
            Builtin::Sum(axis) | Builtin::Mean(axis) => {
                let t = self.tensor(args[0])?;
                let t = self.lift(&t)?;
                let rank = t.rank;
                let ax = if rank == 1 { 1 } else { axis };
                if rank == 2 && ax == 1 {
                    return err(
                        what,
                        "a sum over columns that drops the axis gives a vector of rows, which has no layout yet: use `rowsum(x)` (keeps the axis)",
                    );
                }
                let out = if ax == 0 {
                    self.sum_rows(&t, &what)?
                } else {
                    self.sum_cols(&t, &what)?
                };
                let mut out = out;
                if matches!(bi, Builtin::Mean(_)) {
                    let n = match &t.shape[ax] {
                        DimSpec::Fixed(n) => self.b.konst(1.0 / *n as f64),
                        DimSpec::Named(d) => {
                            let dv = self.b.scalar(Op::DimValue(d.clone()));
                            let one = self.b.konst(1.0);
                            self.b.scalar(Op::ScalarBin {
                                op: ScalarOp::Div,
                                a: one,
                                b: dv,
                            })
                        }
                    };
                    out.0 =
                        self.b
                            .cipher(out.0, RegFacts::default(), Op::MulPlain { a: out.0, p: n });
                }
                let (reg, layout) = out;
                let layout = if rank == 1 || self.lp.tensor.ty(v).shape.is_empty() {
                    Layout::SCALAR
                } else {
                    layout
                };
                self.wrap(v, reg, layout, [true, true])
            }
            Builtin::RowSum => {
                let t = self.tensor(args[0])?;
                let t = self.lift(&t)?;
                let (reg, layout) = self.sum_cols(&t, &what)?;
                self.wrap(v, reg, layout, [t.clean[0], true])
            }
            Builtin::Roll => {
                let t = self.tensor(args[0])?;
                let Some(k) =
                    self.defs
                        .static_scalar(args[1])
                        .or_else(|| match self.get(args[1]) {
                            Ok(LVal::Scalar { value: Some(x), .. }) => Some(x),
                            _ => None,
                        })
                else {
                    return err(what, "a roll by an amount known only at run time (rotation keys are fixed when the plan is compiled)");
                };
                if !t.secret {
                    return err(what, "roll of a public tensor");
                }
                let len = t.lens[1].ok_or_else(|| CkksError {
                    what: what.clone(),
                    why: "roll along a run-time-sized axis".into(),
                })?;
                let period = match t.layout.cols {
                    AxisLayout::Tiled { period } => period,
                    AxisLayout::Blocked if len <= block.s1 => block.s1,
                    _ => {
                        return err(
                            what,
                            format!("roll along columns laid out {}", t.layout.cols),
                        )
                    }
                };
                let reg = Kernels {
                    b: &mut self.b,
                    block,
                }
                .roll_cols(t.reg, k as i64, len, period);
                self.wrap(v, reg, t.layout, [t.clean[0], true])
            }
            Builtin::Exp | Builtin::Log | Builtin::Sqrt | Builtin::Abs | Builtin::Inverse => {
                let t = self.tensor(args[0])?;
                if t.secret {
                    return err(what, format!("the exact function `{bi:?}` on a secret value: use an approximation (`approx`) instead"));
                }
                let f = match bi {
                    Builtin::Exp => PlainFn::Exp,
                    Builtin::Log => PlainFn::Log,
                    Builtin::Sqrt => PlainFn::Sqrt,
                    Builtin::Abs => PlainFn::Abs,
                    _ => PlainFn::Recip,
                };
                self.derived(v, &t, [false, false], Op::PlainUnary { f, a: t.reg })
            }
            other => err(
                what,
                format!("the builtin `{other:?}` has no CKKS lowering"),
            ),
        }
    }

    /// Sum over the tensor's rows: every row of the result holds it (rows replicated).
    fn sum_rows(&mut self, t: &TVal, what: &str) -> Result<(Reg, Layout), CkksError> {
        if t.layout.rows != AxisLayout::Blocked {
            return err(
                what,
                format!("a row sum over rows laid out {}", t.layout.rows),
            );
        }
        let t = self.clean(t, [true, false]);
        let block = self.lp.block;
        let r = Kernels {
            b: &mut self.b,
            block,
        }
        .all_reduce_rows(t.reg);
        Ok((
            r,
            Layout {
                rows: AxisLayout::Replicated,
                cols: t.layout.cols,
            },
        ))
    }

    /// Sum over the tensor's columns, replicated along each row.
    fn sum_cols(&mut self, t: &TVal, what: &str) -> Result<(Reg, Layout), CkksError> {
        let block = self.lp.block;
        let period = match t.layout.cols {
            AxisLayout::Tiled { period } => period,
            AxisLayout::Blocked => block.s1,
            AxisLayout::Replicated => return err(what, "a sum over a replicated axis"),
        };
        let t = self.clean(t, [false, true]);
        let mut k = Kernels {
            b: &mut self.b,
            block,
        };
        let r = k.sum_blocks(t.reg, 1);
        let r = k.window_sum_cols(r, period);
        Ok((
            r,
            Layout {
                rows: t.layout.rows,
                cols: AxisLayout::Replicated,
            },
        ))
    }

    fn approx(&mut self, v: ValueId, name: &str, a: ValueId) -> Result<LVal, CkksError> {
        let what = self.name_of(v);
        let def = self
            .lp
            .tensor
            .approximations
            .get(name)
            .ok_or_else(|| CkksError {
                what: what.clone(),
                why: format!("unknown approximation {name}"),
            })?
            .clone();
        let t = match self.get(a)? {
            LVal::Tensor(t) => t,
            _ => {
                return err(
                    what,
                    "an approximation of a scalar (evaluate it in the clear)",
                )
            }
        };
        if !t.secret {
            return err(
                what,
                "an approximation applied to a public value (use the exact function)",
            );
        }
        let poly = match def.basis {
            Basis::Chebyshev => PolySpec::Chebyshev {
                coeffs: def.coeffs.clone(),
                a: def.domain.lo,
                b: def.domain.hi,
            },
            Basis::Monomial => PolySpec::Power {
                coeffs: def.coeffs.clone(),
            },
        };
        let p0 = match &poly {
            PolySpec::Chebyshev { coeffs, a, b } => {
                blindtune_runtime::circuits::polynomial::ChebyshevSeries::eval_coeffs(
                    coeffs, *a, *b, 0.0,
                )
            }
            PolySpec::Power { coeffs } => coeffs.first().copied().unwrap_or(0.0),
        };
        let keep = p0.abs() < 1e-9;
        let clean = [t.clean[0] && keep, t.clean[1] && keep];
        let (reg, mut nt) = self.new_tensor(v, RegKind::Cipher, t.layout, clean)?;
        nt.bound = Some(def.out_range.max_abs());
        self.b.facts[reg as usize].bound = nt.bound;
        self.b.emit(vec![reg], Op::Poly { a: t.reg, poly });
        Ok(LVal::Tensor(nt))
    }

    fn slice(&mut self, v: ValueId, a: ValueId, idx: &[TIndex]) -> Result<LVal, CkksError> {
        let what = self.name_of(v);
        let t = self.tensor(a)?;
        let block = self.lp.block;
        match idx {
            [TIndex::Full, TIndex::Range(lo, hi)] if t.rank == 2 => {
                let (lo, hi) = (*lo, *hi);
                if !t.secret {
                    return err(
                        what,
                        "a slice of a public matrix (slice it before encryption)",
                    );
                }
                let period = match t.layout.cols {
                    AxisLayout::Tiled { period } => period,
                    AxisLayout::Blocked if t.lens[1].is_some_and(|c| c <= block.s1) => block.s1,
                    l => return err(what, format!("a column slice of columns laid out {l}")),
                };
                if hi - lo == 1 {
                    let reg = Kernels {
                        b: &mut self.b,
                        block,
                    }
                    .select_col(t.reg, lo, period);
                    return self.wrap(
                        v,
                        reg,
                        Layout {
                            rows: t.layout.rows,
                            cols: AxisLayout::Replicated,
                        },
                        [t.clean[0], true],
                    );
                }
                if lo == 0 {
                    // the first columns: the same slots, the rest becomes padding
                    let (reg, nt) =
                        self.new_tensor(v, RegKind::Cipher, t.layout, [t.clean[0], false])?;
                    self.b.emit(vec![reg], Op::MulInteger { a: t.reg, k: 1 });
                    return Ok(LVal::Tensor(nt));
                }
                err(
                    what,
                    "a column slice that neither starts at 0 nor has width 1",
                )
            }
            _ => err(
                what,
                "this slice (only column slices `[:, a:b]` of matrices compile)",
            ),
        }
    }

    fn batch_slice(
        &mut self,
        v: ValueId,
        source: ValueId,
        order: ValueId,
    ) -> Result<LVal, CkksError> {
        let what = self.name_of(v);
        let LVal::Order { shuffle, id } = self.get(order)? else {
            return err(what, "a batch slice without a batch order");
        };
        let batch_dim = match self.lp.tensor.ty(v).shape.first() {
            Some(Dim::Sym(s)) => s.clone(),
            _ => return err(what, "a batch whose rows are not a batch dimension"),
        };
        if !self.lp.stream_only.contains(&source) {
            return err(
                what,
                format!("batches of {}, which is also used whole: batch sources must be the program's inputs or row-wise functions of them", self.name_of(source)),
            );
        }
        let entries: u64 = self.trips_stack.iter().product();
        let t = self.stream_value(source, &batch_dim, (shuffle, id, entries))?;
        let mut t = t;
        t.shape[0] = DimSpec::Named(batch_dim);
        Ok(LVal::Tensor(t))
    }

    /// Re-computes a stream-only value on the current batch.
    fn stream_value(
        &mut self,
        v: ValueId,
        batch_dim: &str,
        order: (bool, usize, u64),
    ) -> Result<TVal, CkksError> {
        if let Some(t) = self.batch_env.last().and_then(|m| m.get(&v)) {
            return Ok(t.clone());
        }
        let inst = *self.defs.def.get(&v).expect("a definition");
        let saved: Vec<(ValueId, Option<LVal>)> = inst
            .op
            .operands()
            .iter()
            .map(|&o| (o, self.env.get(&o).cloned()))
            .collect();
        // operands: stream-only ones per batch, others as lowered
        for &o in &inst.op.operands() {
            if self.lp.stream_only.contains(&o) {
                let t = self.stream_value(o, batch_dim, order)?;
                self.env.insert(o, LVal::Tensor(t));
            }
        }
        let t = match &inst.op {
            TOp::Input(name) => {
                let layout = self.layout_of(v);
                let size = self.batch_dims.get(batch_dim).copied().unwrap_or(0);
                let ty = self.lp.tensor.ty(v).clone();
                let axes = two_axes(&ty.shape);
                let cols = self.grid_cols(layout.cols, &axes[1], name)?;
                let shape = [DimSpec::Named(batch_dim.to_string()), dimspec(&axes[1])];
                let bound = ty.range.filter(|r| r.is_finite()).map(|r| r.max_abs());
                let facts = RegFacts {
                    tensor: Some(TensorFacts {
                        layout,
                        shape: shape.clone(),
                        rank: 2,
                        clean: [true, true],
                    }),
                    bound,
                    packed: false,
                };
                let reg = self.b.reg(
                    RegKind::Cipher,
                    GridDim::Fixed(size.div_ceil(self.lp.block.s0).max(1)),
                    cols,
                    facts,
                );
                self.b.name(reg, name);
                self.b.emit(
                    vec![reg],
                    Op::BatchInput {
                        name: name.clone(),
                        dim: Some(batch_dim.to_string()),
                    },
                );
                if !self.inputs.iter().any(|i| &i.name == name) {
                    if let DimSpec::Named(n) = dimspec(&axes[0]) {
                        self.assumed.entry(n).or_insert(1024);
                    }
                    self.inputs.push(InputSpec {
                        name: name.clone(),
                        secret: true,
                        shape: [dimspec(&axes[0]), dimspec(&axes[1])],
                        rank: ty.shape.len(),
                        layout,
                        level: None,
                        stream: Some(StreamSpec {
                            batch: size,
                            order: order.1,
                            shuffle: order.0,
                            entries: order.2,
                        }),
                    });
                }
                TVal {
                    reg,
                    secret: true,
                    layout,
                    shape,
                    lens: [Some(size), dim_len(&axes[1])],
                    rank: ty.shape.len(),
                    clean: [true, true],
                    bound,
                }
            }
            _ => {
                // a row-wise op: lower it normally in the batch context
                self.lp_inst_in_batch(inst, batch_dim)?
            }
        };
        for (o, old) in saved {
            match old {
                Some(x) => self.env.insert(o, x),
                None => self.env.remove(&o),
            };
        }
        self.batch_env
            .last_mut()
            .expect("inside a batch loop")
            .insert(v, t.clone());
        Ok(t)
    }

    fn lp_inst_in_batch(&mut self, inst: &Inst, batch_dim: &str) -> Result<TVal, CkksError> {
        let v = inst.results[0];
        let lv = match &inst.op {
            TOp::Bin(op, a, b) => self.bin(v, *op, *a, *b)?,
            TOp::Neg(a) => {
                let t = self.tensor(*a)?;
                self.derived(v, &t, t.clean, Op::Neg { a: t.reg })?
            }
            TOp::Assume(a, _) => LVal::Tensor(self.tensor(*a)?),
            TOp::Approx(name, a) => self.approx(v, name, *a)?,
            _ => {
                return err(
                    self.name_of(v),
                    "a batch source computed by a non-row-wise operation",
                )
            }
        };
        let LVal::Tensor(mut t) = lv else {
            return err(self.name_of(v), "a batch source that is not a tensor");
        };
        t.shape[0] = DimSpec::Named(batch_dim.to_string());
        // the register's grid is the batch's
        let size = self.batch_dims.get(batch_dim).copied().unwrap_or(0);
        self.b.regs[t.reg as usize].rows = GridDim::Fixed(size.div_ceil(self.lp.block.s0).max(1));
        if let Some(tf) = self.b.facts[t.reg as usize].tensor.as_mut() {
            tf.shape[0] = DimSpec::Named(batch_dim.to_string());
        }
        t.lens[0] = Some(size);
        Ok(t)
    }

    fn lower_loop(
        &mut self,
        inst: &Inst,
        kind: &LoopKind,
        inits: &[ValueId],
        body: &Region,
    ) -> Result<(), CkksError> {
        let (static_trips, lo) = match kind {
            LoopKind::Range { lo, hi } => {
                let (l, h) = (self.defs.static_scalar(*lo), self.defs.static_scalar(*hi));
                match (l, h) {
                    (Some(l), Some(h)) => (Some((h - l).max(0.0) as u64), l),
                    _ => return err("a loop", "its trip count is known only at run time"),
                }
            }
            LoopKind::Batches { .. } => (None, 0.0),
        };
        let has_batch_loop = contains_batch_loop(body);
        if let (Some(n), false) = (static_trips, has_batch_loop) {
            if n <= UNROLL_LIMIT {
                // unrolled: the body once per trip with the index a constant
                let mut carried: Vec<LVal> = inits
                    .iter()
                    .map(|&i| self.get(i))
                    .collect::<Result<_, _>>()?;
                for trip in 0..n {
                    self.env.insert(
                        body.args[0],
                        LVal::Scalar {
                            reg: None,
                            value: Some(lo + trip as f64),
                        },
                    );
                    for (k, c) in carried.iter().enumerate() {
                        self.env.insert(body.args[k + 1], c.clone());
                    }
                    self.trips_stack.push(1);
                    self.region(body)?;
                    self.trips_stack.pop();
                    carried = body
                        .yields
                        .iter()
                        .map(|&y| self.get(y))
                        .collect::<Result<_, _>>()?;
                }
                for (k, c) in carried.into_iter().enumerate() {
                    self.env.insert(inst.results[k], c);
                }
                return Ok(());
            }
        }
        // rolled
        let trips = match kind {
            LoopKind::Range { .. } => Trips::Fixed(static_trips.unwrap()),
            LoopKind::Batches { size, rows, .. } => {
                let b = self.defs.static_scalar(*size).ok_or_else(|| CkksError {
                    what: "a batch loop".into(),
                    why: "its batch size must be known at compile time".into(),
                })? as usize;
                if b > self.lp.block.s0 {
                    return err(
                        "a batch loop",
                        format!(
                            "batches of {b} rows exceed the block's {} rows",
                            self.lp.block.s0
                        ),
                    );
                }
                // the batch dim of the slices inside
                for inst in &body.insts {
                    if let TOp::BatchSlice { .. } = inst.op {
                        if let Some(Dim::Sym(s)) = self.lp.tensor.ty(inst.results[0]).shape.first()
                        {
                            self.batch_dims.insert(s.clone(), b);
                        }
                    }
                }
                let rows = match rows {
                    Dim::Sym(s) => s.clone(),
                    Dim::Const(n) => {
                        return err(
                            "a batch loop",
                            format!(
                            "batches over a fixed {n} rows: declare the rows as a named dimension"
                        ),
                        )
                    }
                };
                Trips::Batches { rows, size: b }
            }
        };
        // carried registers: the init's layout, secret if the body makes it secret
        let mut init_regs = Vec::new();
        let mut arg_regs = Vec::new();
        let index = self
            .b
            .reg(RegKind::Scalar, GridDim::Fixed(1), 1, RegFacts::default());
        arg_regs.push(index);
        let mut arg_vals = Vec::new();
        for (k, &init) in inits.iter().enumerate() {
            let arg = body.args[k + 1];
            let secret = self.lp.tensor.ty(arg).secrecy == Secrecy::Secret;
            let iv = self.get(init)?;
            let LVal::Tensor(mut t) = iv else {
                return err(
                    self.name_of(arg),
                    "a carried scalar in a rolled loop (carry tensors)",
                );
            };
            let want = self.layout_of(arg);
            if t.layout != want {
                t = self.convert(&t, want, &self.name_of(arg))?;
            }
            if secret && !t.secret {
                t = self.lift(&t)?;
            }
            let (areg, at) = self.new_tensor(
                arg,
                if t.secret {
                    RegKind::Cipher
                } else {
                    RegKind::Plain
                },
                t.layout,
                t.clean,
            )?;
            // the grid of the carried value is the init's
            self.b.regs[areg as usize].rows = self.b.regs[t.reg as usize].rows.clone();
            self.b.regs[areg as usize].cols = self.b.regs[t.reg as usize].cols;
            init_regs.push(t.reg);
            arg_regs.push(areg);
            arg_vals.push(at);
        }
        self.b.open();
        self.batch_env.push(HashMap::new());
        self.trips_stack.push(static_trips.unwrap_or(1));
        let idx_val = if lo != 0.0 {
            let l = self.b.konst(lo);
            let r = self.b.scalar(Op::ScalarBin {
                op: ScalarOp::Add,
                a: index,
                b: l,
            });
            LVal::Scalar {
                reg: Some(r),
                value: None,
            }
        } else {
            LVal::Scalar {
                reg: Some(index),
                value: None,
            }
        };
        self.env.insert(body.args[0], idx_val);
        for (k, at) in arg_vals.iter().enumerate() {
            self.env.insert(body.args[k + 1], LVal::Tensor(at.clone()));
        }
        self.region(body)?;
        let mut yields = Vec::new();
        for (k, &y) in body.yields.iter().enumerate() {
            let at = &arg_vals[k];
            let mut t = self.tensor(y)?;
            if t.layout != at.layout {
                t = self.convert(&t, at.layout, &self.name_of(y))?;
            }
            if at.secret && !t.secret {
                t = self.lift(&t)?;
            }
            // the back edge must keep the header's padding promise
            let need = [at.clean[0], at.clean[1]];
            t = self.clean(&t, need);
            yields.push(t.reg);
        }
        self.trips_stack.pop();
        self.batch_env.pop();
        let body_insts = self.b.close();
        let mut results = Vec::new();
        for (k, &r) in inst.results.iter().enumerate() {
            let at = &arg_vals[k];
            let (rr, rt) = self.new_tensor(
                r,
                if at.secret {
                    RegKind::Cipher
                } else {
                    RegKind::Plain
                },
                at.layout,
                at.clean,
            )?;
            self.b.regs[rr as usize].rows = self.b.regs[at.reg as usize].rows.clone();
            self.b.regs[rr as usize].cols = self.b.regs[at.reg as usize].cols;
            results.push(rr);
            self.env.insert(r, LVal::Tensor(rt));
        }
        self.b.emit(
            results,
            Op::Loop {
                trips,
                args: arg_regs,
                inits: init_regs,
                body: body_insts,
                yields,
            },
        );
        Ok(())
    }

    /// A readable form of a labels expression: `test_y`, `test_y[:, 0:1]`.
    fn describe(&self, v: ValueId) -> String {
        match self.defs.def.get(&v).map(|i| &i.op) {
            Some(TOp::Input(n)) => n.clone(),
            Some(TOp::Assume(a, _)) | Some(TOp::Broadcast(a)) => self.describe(*a),
            Some(TOp::Slice(a, idx)) => {
                let parts: Vec<String> = idx
                    .iter()
                    .map(|i| match i {
                        TIndex::Full => ":".to_string(),
                        TIndex::Range(a, b) => format!("{a}:{b}"),
                        TIndex::At(k) => k.to_string(),
                    })
                    .collect();
                format!("{}[{}]", self.describe(*a), parts.join(", "))
            }
            _ => self.name_of(v),
        }
    }

    fn output(
        &mut self,
        name: &str,
        value: ValueId,
        against: Option<ValueId>,
    ) -> Result<(), CkksError> {
        let t = match self.get(value)? {
            LVal::Tensor(t) => t,
            other => {
                return err(
                    format!("output `{name}`"),
                    format!("outputs must be tensors, found {other:?}"),
                )
            }
        };
        let against = match against {
            Some(a) => Some(self.describe(a)),
            None => None,
        };
        if !self.outputs.iter().any(|o| o.name == name) {
            self.outputs.push(OutputSpec {
                name: name.to_string(),
                shape: t.shape.clone(),
                rank: t.rank,
                layout: t.layout,
                repeated: !self.trips_stack.is_empty(),
                against,
            });
        }
        self.b.emit(
            vec![],
            Op::Output {
                name: name.to_string(),
                value: t.reg,
            },
        );
        Ok(())
    }
}

/// Public values whose every use is as scoring labels (`output ... against y`), directly or
/// through public operations that are themselves labels only.
fn labels_only(defs: &Defs, body: &Region) -> std::collections::HashSet<ValueId> {
    let mut all = Vec::new();
    fn collect<'a>(r: &'a Region, out: &mut Vec<&'a Inst>) {
        for i in &r.insts {
            out.push(i);
            for sub in i.op.regions() {
                collect(sub, out);
            }
        }
    }
    collect(body, &mut all);
    let mut set = std::collections::HashSet::new();
    for inst in all.iter().rev() {
        let [v] = inst.results.as_slice() else {
            continue;
        };
        if defs.is_secret(*v) {
            continue;
        }
        let Some(uses) = defs.uses.get(v) else {
            continue;
        };
        let only = uses.iter().all(|u| match &u.op {
            TOp::Output {
                against: Some(a),
                value,
                ..
            } => a == v && value != v,
            _ => u.results.len() == 1 && set.contains(&u.results[0]),
        });
        if only {
            set.insert(*v);
        }
    }
    set
}

fn contains_batch_loop(r: &Region) -> bool {
    r.insts.iter().any(|i| match &i.op {
        TOp::Loop {
            kind: LoopKind::Batches { .. },
            ..
        } => true,
        op => op.regions().into_iter().any(contains_batch_loop),
    })
}

fn scalar_op(op: BinOp) -> Option<ScalarOp> {
    Some(match op {
        BinOp::Add => ScalarOp::Add,
        BinOp::Sub => ScalarOp::Sub,
        BinOp::Mul => ScalarOp::Mul,
        BinOp::Div => ScalarOp::Div,
        BinOp::Pow => ScalarOp::Pow,
        _ => return None,
    })
}

/// The layout of an elementwise result: a replicated axis yields to the other operand's.
fn join_layout(a: Layout, b: Layout) -> Layout {
    let j = |x: AxisLayout, y: AxisLayout| if x == AxisLayout::Replicated { y } else { x };
    Layout {
        rows: j(a.rows, b.rows),
        cols: j(a.cols, b.cols),
    }
}

/// `t`'s layout where it must match the result, keeping its replicated (broadcast) axes.
fn merge_axes(own: Layout, res: Layout) -> Layout {
    let m = |o: AxisLayout, r: AxisLayout| if o == AxisLayout::Replicated { o } else { r };
    Layout {
        rows: m(own.rows, res.rows),
        cols: m(own.cols, res.cols),
    }
}
