//! Lowering: [`CheckedProgram`] → [`TensorProgram`].
//!
//! Functions are inlined at each call (their symbolic dims replaced by the caller's), tuples
//! are flattened into several values, loops become regions whose arguments are the induction
//! value and the carried values, and a batch loop gets an explicit row order
//! ([`Op::BatchOrder`]) and explicit batch slices ([`Op::BatchSlice`]). The result is
//! verified before it is returned.

use super::ir::*;
use crate::syntax::span::Span;
use crate::types::checked::{self as ck, CheckedProgram, LocalInfo, TBlock, TExpr, TKind, TStmt};
use crate::types::ty::{Dim, Elem, Secrecy, TensorType, Ty};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum LowerError {
    /// a construct the tensor IR does not represent yet
    #[error("cannot lower {what} to the tensor IR yet (bytes {}..{} of file {}): {why}", span.start, span.end, span.file)]
    Unsupported {
        what: String,
        why: String,
        span: Span,
    },
    /// the lowering produced an IR the verifier refuses (a compiler bug)
    #[error("internal error: the lowered tensor IR is invalid: {0}")]
    Invalid(#[from] super::verify::VerifyError),
}

type Result<T> = std::result::Result<T, LowerError>;

fn unsupported<T>(what: &str, why: &str, span: Span) -> Result<T> {
    Err(LowerError::Unsupported {
        what: what.into(),
        why: why.into(),
        span,
    })
}

/// Lower a checked program and verify the result.
pub fn lower(prog: &CheckedProgram) -> Result<TensorProgram> {
    let mut l = Lowerer {
        prog,
        values: vec![],
        insts: vec![],
        inputs: HashMap::new(),
        used_approx: Default::default(),
    };
    let mut input_list = vec![];
    for inp in &prog.inputs {
        let Ty::Tensor(t) = &inp.ty else {
            return unsupported(
                &format!("input `{}`", inp.name),
                "an input must be a tensor",
                inp.span,
            );
        };
        let v = l.emit1(Op::Input(inp.name.clone()), t.clone(), inp.span);
        l.values[v as usize].name = Some(inp.name.clone());
        l.inputs.insert(inp.name.clone(), v);
        input_list.push((inp.name.clone(), v));
    }
    let mut frame = Frame {
        locals: &prog.locals,
        vals: vec![None; prog.locals.len()],
        dims: HashMap::new(),
        any: None,
        all_public: false,
    };
    for s in &prog.body {
        l.stmt(&mut frame, s)?;
    }
    let approximations = prog
        .approximations
        .iter()
        .filter(|(n, _)| l.used_approx.contains(*n))
        .map(|(n, a)| (n.clone(), a.clone()))
        .collect();
    let tp = TensorProgram {
        params: prog.params.clone(),
        inputs: input_list,
        approximations,
        outputs: prog.outputs.clone(),
        values: l.values,
        body: Region {
            args: vec![],
            insts: l.insts,
            yields: vec![],
        },
    };
    super::verify::verify(&tp)?;
    Ok(tp)
}

struct Frame<'p> {
    locals: &'p [LocalInfo],
    vals: Vec<Option<Vec<ValueId>>>,
    /// this function's symbolic dims, as the caller's dims
    dims: HashMap<String, Dim>,
    /// the shape a rank-generic (`[..]`) parameter was called with
    any: Option<Vec<Dim>>,
    /// every argument of this call is public: the body then computes only public values (a
    /// function cannot read an input), though the checker typed it for secret arguments too
    all_public: bool,
}

/// The checker's "any shape" dim (`f64[..]`).
const ANY: &str = "..";

impl<'p> Frame<'p> {
    fn dim(&self, d: &Dim) -> Dim {
        match d {
            Dim::Sym(s) => self.dims.get(s).cloned().unwrap_or_else(|| d.clone()),
            c => c.clone(),
        }
    }
    fn tensor(&self, t: &TensorType) -> TensorType {
        let mut out = t.clone();
        match &self.any {
            Some(any) if t.shape.iter().any(|d| matches!(d, Dim::Sym(s) if s == ANY)) => {
                out.shape = any.clone()
            }
            _ => out.shape = t.shape.iter().map(|d| self.dim(d)).collect(),
        }
        if self.all_public {
            out.secrecy = Secrecy::Public;
        }
        out
    }
    /// The flattened tensor types of `ty` (a tuple gives several, unit none).
    fn flat(&self, ty: &Ty, span: Span) -> Result<Vec<TensorType>> {
        match ty {
            Ty::Tensor(t) => Ok(vec![self.tensor(t)]),
            Ty::Tuple(ts) => {
                let mut out = vec![];
                for t in ts {
                    out.extend(self.flat(t, span)?);
                }
                Ok(out)
            }
            Ty::Unit => Ok(vec![]),
            Ty::Error => unsupported("an expression", "its type is an error", span),
        }
    }
}

struct Lowerer<'p> {
    prog: &'p CheckedProgram,
    values: Vec<ValueInfo>,
    /// the instructions of the region being built
    insts: Vec<Inst>,
    inputs: HashMap<String, ValueId>,
    used_approx: std::collections::BTreeSet<String>,
}

fn one(vs: Vec<ValueId>, what: &str, span: Span) -> Result<ValueId> {
    match vs.as_slice() {
        [v] => Ok(*v),
        _ => unsupported(
            what,
            &format!("expected one tensor, found {} values", vs.len()),
            span,
        ),
    }
}

impl<'p> Lowerer<'p> {
    fn new_value(&mut self, ty: TensorType) -> ValueId {
        self.values.push(ValueInfo { ty, name: None });
        (self.values.len() - 1) as ValueId
    }
    fn emit(&mut self, op: Op, tys: Vec<TensorType>, span: Span) -> Vec<ValueId> {
        let results: Vec<ValueId> = tys.into_iter().map(|t| self.new_value(t)).collect();
        self.insts.push(Inst {
            results: results.clone(),
            op,
            span,
        });
        results
    }
    fn emit1(&mut self, op: Op, ty: TensorType, span: Span) -> ValueId {
        self.emit(op, vec![ty], span)[0]
    }
    fn name(&mut self, v: ValueId, name: &str) {
        let info = &mut self.values[v as usize];
        if info.name.is_none() && !name.is_empty() {
            info.name = Some(name.to_string());
        }
    }

    /// Lower a block into a fresh region (the instructions emitted meanwhile go there).
    fn region(
        &mut self,
        f: &mut Frame<'p>,
        args: Vec<ValueId>,
        prelude: impl FnOnce(&mut Self, &mut Frame<'p>) -> Result<()>,
        b: &TBlock,
    ) -> Result<Region> {
        let outer = std::mem::take(&mut self.insts);
        let r = (|| {
            prelude(self, f)?;
            self.block(f, b)
        })();
        let insts = std::mem::replace(&mut self.insts, outer);
        Ok(Region {
            args,
            insts,
            yields: r?,
        })
    }

    fn stmt(&mut self, f: &mut Frame<'p>, s: &TStmt) -> Result<()> {
        match s {
            TStmt::Let { targets, value } => {
                let vs = self.expr(f, value)?;
                if targets.len() == 1 && !matches!(value.ty, Ty::Tuple(_)) {
                    let t = targets[0] as usize;
                    if let [v] = vs.as_slice() {
                        self.name(*v, &f.locals[t].name);
                    }
                    f.vals[t] = Some(vs);
                } else {
                    let Ty::Tuple(parts) = &value.ty else {
                        return unsupported(
                            "a destructuring `let`",
                            "the value is not a tuple",
                            value.span,
                        );
                    };
                    if parts.len() != targets.len() {
                        return unsupported(
                            "a destructuring `let`",
                            "the tuple's arity differs from the pattern's",
                            value.span,
                        );
                    }
                    let mut rest = vs.as_slice();
                    for (t, ty) in targets.iter().zip(parts) {
                        let n = f.flat(ty, value.span)?.len();
                        if rest.len() < n {
                            return unsupported(
                                "a destructuring `let`",
                                "too few values",
                                value.span,
                            );
                        }
                        let (mine, tail) = rest.split_at(n);
                        if let [v] = mine {
                            self.name(*v, &f.locals[*t as usize].name);
                        }
                        f.vals[*t as usize] = Some(mine.to_vec());
                        rest = tail;
                    }
                }
                Ok(())
            }
            TStmt::Output {
                name,
                value,
                against,
                ..
            } => {
                let v = self.expr(f, value)?;
                let v = one(v, &format!("output `{name}`"), value.span)?;
                let a = match against {
                    Some(a) => {
                        let vs = self.expr(f, a)?;
                        Some(one(vs, &format!("the labels of output `{name}`"), a.span)?)
                    }
                    None => None,
                };
                self.emit(
                    Op::Output {
                        name: name.clone(),
                        value: v,
                        against: a,
                    },
                    vec![],
                    value.span,
                );
                Ok(())
            }
        }
    }

    fn block(&mut self, f: &mut Frame<'p>, b: &TBlock) -> Result<Vec<ValueId>> {
        for s in &b.stmts {
            self.stmt(f, s)?;
        }
        match &b.tail {
            Some(t) => self.expr(f, t),
            None => Ok(vec![]),
        }
    }

    fn expr1(&mut self, f: &mut Frame<'p>, e: &TExpr) -> Result<ValueId> {
        let vs = self.expr(f, e)?;
        one(vs, "an operand", e.span)
    }

    fn ty1(&self, f: &Frame<'p>, e: &TExpr) -> Result<TensorType> {
        match &e.ty {
            Ty::Tensor(t) => Ok(f.tensor(t)),
            other => unsupported(
                "an expression",
                &format!("expected a tensor type, found {other}"),
                e.span,
            ),
        }
    }

    /// `v` as an elementwise operand for a result of type `rt`: as is when it has the
    /// result's shape or is a scalar, else through an explicit broadcast.
    fn broadcast_to(&mut self, v: ValueId, rt: &TensorType, span: Span) -> ValueId {
        let t = self.values[v as usize].ty.clone();
        if t.shape.is_empty() || t.shape == rt.shape {
            return v;
        }
        let ty = TensorType {
            shape: rt.shape.clone(),
            ..t
        };
        self.emit1(Op::Broadcast(v), ty, span)
    }

    fn expr(&mut self, f: &mut Frame<'p>, e: &TExpr) -> Result<Vec<ValueId>> {
        let span = e.span;
        Ok(match &e.kind {
            TKind::Const(c) => vec![self.emit1(Op::Const(*c), self.ty1(f, e)?, span)],
            TKind::Local(id) => match f.vals.get(*id as usize).and_then(|v| v.clone()) {
                Some(vs) => vs,
                None => {
                    return unsupported(
                        "a variable",
                        "it is read before it is set (a checker bug)",
                        span,
                    )
                }
            },
            TKind::Param(p) => vec![self.emit1(Op::Param(p.clone()), self.ty1(f, e)?, span)],
            TKind::Input(n) => match self.inputs.get(n) {
                Some(v) => vec![*v],
                None => return unsupported("an input", &format!("`{n}` is not declared"), span),
            },
            TKind::DimValue(d) => {
                let d = f.dim(d);
                vec![self.emit1(Op::DimValue(d), self.ty1(f, e)?, span)]
            }
            TKind::Neg(a) => {
                let a = self.expr1(f, a)?;
                vec![self.emit1(Op::Neg(a), self.ty1(f, e)?, span)]
            }
            TKind::Bin(op, a, b) => {
                let rt = self.ty1(f, e)?;
                let x = self.expr1(f, a)?;
                let y = self.expr1(f, b)?;
                let x = self.broadcast_to(x, &rt, a.span);
                let y = self.broadcast_to(y, &rt, b.span);
                vec![self.emit1(Op::Bin(*op, x, y), rt, span)]
            }
            TKind::MatMul(a, b) => {
                let x = self.expr1(f, a)?;
                let y = self.expr1(f, b)?;
                vec![self.emit1(Op::MatMul(x, y), self.ty1(f, e)?, span)]
            }
            TKind::Transpose(a) => {
                let x = self.expr1(f, a)?;
                vec![self.emit1(Op::Transpose(x), self.ty1(f, e)?, span)]
            }
            TKind::Builtin(b, args) => {
                let mut vs = vec![];
                for a in args {
                    vs.push(self.expr1(f, a)?);
                }
                vec![self.emit1(Op::Builtin(*b, vs), self.ty1(f, e)?, span)]
            }
            TKind::Approx(name, a) => {
                if !self.prog.approximations.contains_key(name) {
                    return unsupported(
                        "an approximation",
                        &format!("`{name}` is not defined"),
                        span,
                    );
                }
                self.used_approx.insert(name.clone());
                let x = self.expr1(f, a)?;
                vec![self.emit1(Op::Approx(name.clone(), x), self.ty1(f, e)?, span)]
            }
            TKind::Call { func, args, dims } => self.call(f, func, args, dims, span)?,
            TKind::Index(a, items) => {
                let x = self.expr1(f, a)?;
                vec![self.emit1(Op::Slice(x, items.clone()), self.ty1(f, e)?, span)]
            }
            TKind::Tuple(es) => {
                let mut out = vec![];
                for x in es {
                    out.extend(self.expr(f, x)?);
                }
                out
            }
            TKind::If(c, t, els) => {
                let cond = self.expr1(f, c)?;
                let tys = f.flat(&e.ty, span)?;
                let then = self.region(f, vec![], |_, _| Ok(()), t)?;
                let els = self.region(f, vec![], |_, _| Ok(()), els)?;
                if then.yields.len() != tys.len() || els.yields.len() != tys.len() {
                    return unsupported(
                        "an `if`",
                        "its branches give a different number of values than its type",
                        span,
                    );
                }
                self.emit(Op::If { cond, then, els }, tys, span)
            }
            TKind::Loop(l) => self.lower_loop(f, l, &e.ty, span)?,
            TKind::Assume(a, r) => {
                let x = self.expr1(f, a)?;
                vec![self.emit1(Op::Assume(x, *r), self.ty1(f, e)?, span)]
            }
        })
    }

    fn call(
        &mut self,
        f: &mut Frame<'p>,
        func: &str,
        args: &[TExpr],
        dims: &[(String, Dim)],
        span: Span,
    ) -> Result<Vec<ValueId>> {
        let prog = self.prog;
        let Some(fun) = prog.functions.get(func) else {
            return unsupported("a call", &format!("function `{func}` is not defined"), span);
        };
        let mut vals = vec![];
        for a in args {
            vals.push(self.expr(f, a)?);
        }
        let mut callee = Frame {
            locals: &fun.locals,
            vals: vec![None; fun.locals.len()],
            dims: dims.iter().map(|(s, d)| (s.clone(), f.dim(d))).collect(),
            any: None,
            all_public: vals
                .iter()
                .flatten()
                .all(|v| self.values[*v as usize].ty.secrecy == Secrecy::Public),
        };
        if fun.params.len() != vals.len() {
            return unsupported(
                &format!("the call of `{func}`"),
                "the argument count differs from the parameter count",
                span,
            );
        }
        for (p, vs) in fun.params.iter().zip(vals) {
            // dims the call site did not bind come from the argument's type, as the
            // interpreter binds them from the argument's shape
            if let (Ty::Tensor(pt), [v]) = (&fun.locals[*p as usize].ty, vs.as_slice()) {
                let at = self.values[*v as usize].ty.shape.clone();
                if pt
                    .shape
                    .iter()
                    .any(|d| matches!(d, Dim::Sym(s) if s == ANY))
                {
                    if callee.any.is_none() {
                        callee.any = Some(at.clone());
                    }
                } else if at.len() == pt.shape.len() {
                    for (d, a) in pt.shape.iter().zip(at) {
                        if let Dim::Sym(s) = d {
                            callee.dims.entry(s.clone()).or_insert(a);
                        }
                    }
                }
            }
            callee.vals[*p as usize] = Some(vs);
        }
        self.block(&mut callee, &fun.body)
    }

    fn lower_loop(
        &mut self,
        f: &mut Frame<'p>,
        l: &ck::TLoop,
        ty: &Ty,
        span: Span,
    ) -> Result<Vec<ValueId>> {
        let mut inits = vec![];
        let mut carried_tys = vec![];
        for c in &l.carried {
            let vs = self.expr(f, &c.init)?;
            let tys = f.flat(&c.ty, c.init.span)?;
            if vs.len() != tys.len() {
                return unsupported(
                    &format!("carried value `{}`", c.name),
                    "its initial value's arity differs from its type's",
                    c.init.span,
                );
            }
            inits.extend(vs);
            carried_tys.push(tys);
        }
        let index_ty = TensorType::scalar(Secrecy::Public, None);
        let mut batch_srcs: Vec<ValueId> = vec![];
        let (kind, var, iv) = match &l.kind {
            ck::LoopKind::Range { var, lo, hi } => {
                let lo = self.expr1(f, lo)?;
                let hi = self.expr1(f, hi)?;
                let vt = match &f.locals[*var as usize].ty {
                    Ty::Tensor(t) => f.tensor(t),
                    _ => index_ty.clone(),
                };
                let iv = self.new_value(vt);
                self.name(iv, &f.locals[*var as usize].name);
                f.vals[*var as usize] = Some(vec![iv]);
                (
                    LoopKind::Range { lo, hi },
                    Some(f.locals[*var as usize].name.clone()),
                    iv,
                )
            }
            ck::LoopKind::Batches {
                sources,
                size,
                shuffle,
                ..
            } => {
                let mut srcs = vec![];
                for s in sources {
                    srcs.push(self.expr1(f, s)?);
                }
                let size = self.expr1(f, size)?;
                let Some(rows) = srcs
                    .first()
                    .and_then(|s| self.values[*s as usize].ty.shape.first().cloned())
                else {
                    return unsupported("a batch loop", "it has no source with rows", span);
                };
                let order = self.emit1(
                    Op::BatchOrder {
                        rows: rows.clone(),
                        shuffle: *shuffle,
                    },
                    TensorType {
                        elem: Elem::I64,
                        shape: vec![rows.clone()],
                        secrecy: Secrecy::Public,
                        range: None,
                    },
                    span,
                );
                batch_srcs = srcs;
                let iv = self.new_value(index_ty.clone());
                self.name(iv, "batch");
                (LoopKind::Batches { order, size, rows }, None, iv)
            }
        };
        // the region's arguments: the induction value, then the carried values
        let mut args = vec![iv];
        for (c, tys) in l.carried.iter().zip(&carried_tys) {
            let vs: Vec<ValueId> = tys.iter().map(|t| self.new_value(t.clone())).collect();
            if let [v] = vs.as_slice() {
                self.name(*v, &c.name);
            }
            f.vals[c.local as usize] = Some(vs.clone());
            args.extend(vs);
        }
        let batch_prelude = |this: &mut Self, f: &mut Frame<'p>| -> Result<()> {
            if let (
                ck::LoopKind::Batches { vars, sources, .. },
                LoopKind::Batches { order, size, .. },
            ) = (&l.kind, &kind)
            {
                for ((v, s), src) in vars.iter().zip(sources).zip(&batch_srcs) {
                    let vt = match &f.locals[*v as usize].ty {
                        Ty::Tensor(t) => f.tensor(t),
                        _ => return unsupported("a batch variable", "it is not a tensor", s.span),
                    };
                    let bv = this.emit1(
                        Op::BatchSlice {
                            source: *src,
                            order: *order,
                            index: iv,
                            size: *size,
                        },
                        vt,
                        s.span,
                    );
                    this.name(bv, &f.locals[*v as usize].name);
                    f.vals[*v as usize] = Some(vec![bv]);
                }
            }
            Ok(())
        };
        let body = self.region(f, args, batch_prelude, &l.body)?;
        let result_tys: Vec<TensorType> = carried_tys.into_iter().flatten().collect();
        let _ = ty;
        let body = Region {
            yields: if result_tys.is_empty() {
                vec![]
            } else {
                body.yields
            },
            ..body
        };
        Ok(self.emit(
            Op::Loop {
                kind,
                var,
                inits,
                body,
            },
            result_tys,
            span,
        ))
    }
}
