//! Expressions and broadcasting: the expression walk, paths, binary operators with their shape,
//! secrecy and range rules, and indexing/slicing.

use super::*;

impl<'m> Checker<'m> {
    pub(super) fn expr(&mut self, frame: &mut Frame, e: &Expr) -> TExpr {
        self.nest += 1;
        let t = if self.nest_in(e.span, 0) {
            self.expr_inner(frame, e)
        } else {
            TExpr {
                kind: TKind::Const(0.0),
                ty: Ty::Error,
                span: e.span,
            }
        };
        self.nest -= 1;
        t
    }

    pub(super) fn expr_inner(&mut self, frame: &mut Frame, e: &Expr) -> TExpr {
        let span = e.span;
        let mk = |kind, ty| TExpr { kind, ty, span };
        match &e.kind {
            ExprKind::Error => mk(TKind::Const(0.0), Ty::Error),
            ExprKind::Number(n) => mk(TKind::Const(*n), scalar_pub(Some(*n))),
            ExprKind::Path(p) => self.path_expr(frame, p, span),
            ExprKind::Unary(a) => {
                let a = self.expr(frame, a);
                let ty = match &a.ty {
                    Ty::Tensor(t) => Ty::Tensor(TensorType {
                        range: rg::neg(t.range),
                        ..t.clone()
                    }),
                    Ty::Error => Ty::Error,
                    other => {
                        let o = other.to_string();
                        self.err(
                            Diagnostic::error(
                                "E0601",
                                format!("cannot negate {o}"),
                                span,
                                "not a tensor",
                            )
                            .with_help("negation applies to tensors"),
                        );
                        Ty::Error
                    }
                };
                mk(TKind::Neg(Box::new(a)), ty)
            }
            ExprKind::Binary(op, a, b) => {
                let a = self.expr(frame, a);
                let b = self.expr(frame, b);
                self.binary(*op, a, b, span)
            }
            ExprKind::Transpose(a) => {
                let a = self.expr(frame, a);
                let ty = match &a.ty {
                    Ty::Tensor(t) if t.shape.len() == 2 => Ty::Tensor(TensorType {
                        shape: vec![t.shape[1].clone(), t.shape[0].clone()],
                        ..t.clone()
                    }),
                    Ty::Tensor(t) => {
                        let s = shape_text(&t.shape);
                        self.err(Diagnostic::error("E0303", format!("`.T` needs a matrix, found shape {s}"), span, "not a matrix").with_help("transpose applies to rank-2 tensors; a vector needs no transpose for `@`"));
                        Ty::Error
                    }
                    _ => Ty::Error,
                };
                mk(TKind::Transpose(Box::new(a)), ty)
            }
            ExprKind::Call(p, args) => self.call(frame, p, args, span),
            ExprKind::Index(a, items) => {
                let a = self.expr(frame, a);
                self.index(frame, a, items, span)
            }
            ExprKind::Tuple(es) => {
                let es: Vec<TExpr> = es.iter().map(|x| self.expr(frame, x)).collect();
                let ty = Ty::Tuple(es.iter().map(|x| x.ty.clone()).collect());
                mk(TKind::Tuple(es), ty)
            }
            ExprKind::Block(b) => {
                let b = self.block(frame, b);
                let ty = b.tail.as_ref().map(|t| t.ty.clone()).unwrap_or(Ty::Unit);
                mk(
                    TKind::If(
                        Box::new(TExpr {
                            kind: TKind::Const(1.0),
                            ty: scalar_pub(Some(1.0)),
                            span,
                        }),
                        b.clone(),
                        b,
                    ),
                    ty,
                )
            }
            ExprKind::If(c, t, f) => {
                let c = self.expr(frame, c);
                if let Ty::Tensor(ct) = &c.ty {
                    if ct.secrecy == Secrecy::Secret {
                        self.err(
                            Diagnostic::error(
                                "E0401",
                                "this `if` branches on a secret value",
                                c.span,
                                "secret condition",
                            )
                            .with_help(secrecy::HELP_SELECT),
                        );
                    } else if ct.elem != Elem::Bool || !ct.shape.is_empty() {
                        let s = ct.to_string();
                        self.err(
                            Diagnostic::error(
                                "E0601",
                                format!(
                                    "an `if` condition must be a public bool scalar, found {s}"
                                ),
                                c.span,
                                "not a condition",
                            )
                            .with_help(
                                "compare public scalars, e.g. `if e < 10 { .. } else { .. }`",
                            ),
                        );
                    }
                }
                let t = self.block(frame, t);
                let f = self.block(frame, f);
                let tt = t.tail.as_ref().map(|x| x.ty.clone()).unwrap_or(Ty::Unit);
                let ft = f.tail.as_ref().map(|x| x.ty.clone()).unwrap_or(Ty::Unit);
                let ty = match (&tt, &ft) {
                    (Ty::Tensor(a), Ty::Tensor(b)) if a.shape == b.shape => {
                        Ty::Tensor(TensorType {
                            secrecy: join(a.secrecy, b.secrecy),
                            range: rg::hull(a.range, b.range),
                            ..a.clone()
                        })
                    }
                    (Ty::Error, _) | (_, Ty::Error) => Ty::Error,
                    (a, b) if a == b => a.clone(),
                    (a, b) => {
                        let (a, b) = (a.to_string(), b.to_string());
                        self.err(
                            Diagnostic::error(
                                "E0301",
                                format!("`if` branches have different types: {a} vs {b}"),
                                span,
                                "branches differ",
                            )
                            .with_help("both branches must produce the same shape"),
                        );
                        Ty::Error
                    }
                };
                mk(TKind::If(Box::new(c), t, f), ty)
            }
            ExprKind::For { iter, carry, body } => self.for_loop(frame, iter, carry, body, span),
        }
    }

    pub(super) fn path_expr(&mut self, frame: &mut Frame, p: &[Ident], span: Span) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        if p.len() == 1 {
            let n = &p[0].name;
            if let Some(id) = frame.lookup(n) {
                frame.used.insert(id);
                return mk(TKind::Local(id), frame.locals[id as usize].ty.clone());
            }
            if frame.dim_syms.contains(n) {
                return mk(TKind::DimValue(Dim::Sym(n.clone())), scalar_pub(None));
            }
        }
        match self.resolve_path(frame.module, p) {
            Target::Def(m, n, DefKind::Param) => {
                let v = self.param_value(m, &n);
                match v {
                    Some(x) => mk(TKind::Param(self.mods[m].qualify(&n)), scalar_pub(Some(x))),
                    None => mk(TKind::Const(0.0), Ty::Error),
                }
            }
            Target::Def(m, n, DefKind::Input) => {
                if frame.in_fn {
                    self.err(
                        Diagnostic::error(
                            "E0107",
                            format!("input `{n}` used inside a function"),
                            span,
                            "inputs are global to the main program",
                        )
                        .with_help("pass the input to the function as an argument"),
                    );
                    return mk(TKind::Const(0.0), Ty::Error);
                }
                let item = self.mods[m].defs[&n].item;
                let Item::Input { ty, .. } = &self.mods[m].ast.items[item] else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                let t = self.full_type(m, ty, Secrecy::Secret);
                mk(TKind::Input(n), Ty::Tensor(t))
            }
            Target::Def(_, n, kind) => {
                let what = match kind {
                    DefKind::Fn => "function",
                    _ => "approximation",
                };
                self.err(
                    Diagnostic::error(
                        "E0105",
                        format!("`{n}` is a {what}, not a value"),
                        span,
                        "used as a value",
                    )
                    .with_help(format!("call it: `{n}(x)`")),
                );
                mk(TKind::Const(0.0), Ty::Error)
            }
            t => {
                self.unknown_name(frame, p, span, t, false);
                mk(TKind::Const(0.0), Ty::Error)
            }
        }
    }

    pub(super) fn binary(&mut self, op: BinOp, a: TExpr, b: TExpr, span: Span) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        let (ta, tb) = match (&a.ty, &b.ty) {
            (Ty::Tensor(x), Ty::Tensor(y)) => (x.clone(), y.clone()),
            (Ty::Error, _) | (_, Ty::Error) => {
                return mk(TKind::Bin(op, Box::new(a), Box::new(b)), Ty::Error)
            }
            (x, y) => {
                let (x, y) = (x.to_string(), y.to_string());
                self.err(
                    Diagnostic::error(
                        "E0601",
                        format!("`{}` needs tensors, found {x} and {y}", op.text()),
                        span,
                        "not tensors",
                    )
                    .with_help("destructure tuples with `let (a, b) = ...;` first"),
                );
                return mk(TKind::Bin(op, Box::new(a), Box::new(b)), Ty::Error);
            }
        };
        let sec = join(ta.secrecy, tb.secrecy);
        let is_cmp = matches!(
            op,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne
        );
        if !is_cmp && (ta.elem == Elem::Bool || tb.elem == Elem::Bool) {
            self.err(
                Diagnostic::error(
                    "E0601",
                    format!("arithmetic `{}` on a bool", op.text()),
                    span,
                    "bool operand",
                )
                .with_help("bools only appear as `if` conditions"),
            );
            return mk(TKind::Bin(op, Box::new(a), Box::new(b)), Ty::Error);
        }
        if op == BinOp::MatMul && (is_any(&ta.shape) || is_any(&tb.shape)) {
            self.err(Diagnostic::error("E0303", "`@` on a rank-polymorphic `[..]` tensor", span, "rank unknown here").with_help("`[..]` parameters only support elementwise operations; give the parameter a concrete shape like `f64[n, k]`"));
            return mk(TKind::MatMul(Box::new(a), Box::new(b)), Ty::Error);
        }
        if op == BinOp::MatMul {
            return match shape::matmul(&ta.shape, &tb.shape) {
                Ok(s) => {
                    let k = if ta.shape.len() == 2 {
                        &ta.shape[1]
                    } else {
                        &ta.shape[0]
                    };
                    let range = match k {
                        Dim::Const(k) => rg::scale(rg::mul(ta.range, tb.range), *k as f64),
                        _ => None,
                    };
                    mk(
                        TKind::MatMul(Box::new(a), Box::new(b)),
                        Ty::Tensor(TensorType {
                            elem: Elem::F64,
                            shape: s,
                            secrecy: sec,
                            range,
                        }),
                    )
                }
                Err(m) => {
                    self.err(Diagnostic::error("E0302", format!("matrix product shapes do not match: {m}"), span, "in this product").with_help("`a @ b` needs a's last dim equal to b's first; use `.T` to transpose (e.g. `x @ w.T` for logits)"));
                    mk(TKind::MatMul(Box::new(a), Box::new(b)), Ty::Error)
                }
            };
        }
        let shape = match shape::broadcast(&ta.shape, &tb.shape) {
            Ok(s) => s,
            Err(m) => {
                self.err(
                    Diagnostic::error("E0301", format!("shape mismatch in `{}`: {m}", op.text()), span, "these shapes do not broadcast")
                        .with_help("elementwise operators need equal dims or a dim of 1; for a matrix product use `@`"),
                );
                return mk(TKind::Bin(op, Box::new(a), Box::new(b)), Ty::Error);
            }
        };
        let elem = if is_cmp {
            Elem::Bool
        } else if ta.elem == Elem::I64 && tb.elem == Elem::I64 && op != BinOp::Div {
            Elem::I64
        } else {
            Elem::F64
        };
        let range = match op {
            BinOp::Add => rg::add(ta.range, tb.range),
            BinOp::Sub => rg::sub(ta.range, tb.range),
            BinOp::Mul => rg::mul(ta.range, tb.range),
            BinOp::Div => {
                if tb.secrecy == Secrecy::Secret {
                    self.err(
                        Diagnostic::error(
                            "E0403",
                            "division by a secret value",
                            b.span,
                            "secret divisor",
                        )
                        .with_help(secrecy::HELP_DIV),
                    );
                }
                if tb.range == Some(Range::point(0.0)) {
                    self.warn(
                        Diagnostic::warning(
                            "W0003",
                            "division by a constant zero",
                            b.span,
                            "this divisor is always 0",
                        )
                        .with_help("the result is infinite or NaN everywhere; check the expression or the parameter it comes from"),
                    );
                }
                rg::div(ta.range, tb.range)
            }
            BinOp::Pow => {
                let exp = match (&b.kind, tb.range) {
                    (_, Some(r)) if r.lo == r.hi => Some(r.lo),
                    _ => None,
                };
                match exp {
                    Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 64.0 => {
                        rg::powi(ta.range, n as u32)
                    }
                    _ if sec == Secrecy::Public => None,
                    _ => {
                        self.err(
                            Diagnostic::error("E0406", "a secret value raised to a non-constant or non-integer power", b.span, "exponent must be a constant whole number 0..=64")
                                .with_help("under CKKS only products are available: use `x ** 3` with a constant, or an `approx` for other powers"),
                        );
                        None
                    }
                }
            }
            _ => Some(Range::new(0.0, 1.0)),
        };
        mk(
            TKind::Bin(op, Box::new(a), Box::new(b)),
            Ty::Tensor(TensorType {
                elem,
                shape,
                secrecy: sec,
                range,
            }),
        )
    }

    pub(super) fn index(
        &mut self,
        frame: &mut Frame,
        a: TExpr,
        items: &[ast::IndexItem],
        span: Span,
    ) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        let Ty::Tensor(t) = a.ty.clone() else {
            return mk(TKind::Index(Box::new(a), vec![]), Ty::Error);
        };
        if is_any(&t.shape) {
            self.err(
                Diagnostic::error(
                    "E0303",
                    "indexing a rank-polymorphic `[..]` tensor",
                    span,
                    "rank unknown here",
                )
                .with_help("`[..]` parameters only support elementwise operations"),
            );
            return mk(TKind::Index(Box::new(a), vec![]), Ty::Error);
        }
        if items.len() > t.shape.len() {
            self.err(
                Diagnostic::error(
                    "E0303",
                    format!(
                        "{} indices for a tensor of rank {}",
                        items.len(),
                        t.shape.len()
                    ),
                    span,
                    "too many indices",
                )
                .with_help(format!("the value has shape {}", shape_text(&t.shape))),
            );
            return mk(TKind::Index(Box::new(a), vec![]), Ty::Error);
        }
        let mut out = vec![];
        let mut shape = vec![];
        let mut ok = true;
        for (i, d) in t.shape.iter().enumerate() {
            let Some(it) = items.get(i) else {
                shape.push(d.clone());
                out.push(TIndex::Full);
                continue;
            };
            match it {
                ast::IndexItem::Full => {
                    shape.push(d.clone());
                    out.push(TIndex::Full);
                }
                ast::IndexItem::Range(_, _) | ast::IndexItem::From(_) | ast::IndexItem::To(_) => {
                    let (lo, hi) = match it {
                        ast::IndexItem::Range(lo, hi) => (Some(lo), Some(hi)),
                        ast::IndexItem::From(lo) => (Some(lo), None),
                        ast::IndexItem::To(hi) => (None, Some(hi)),
                        _ => (None, None),
                    };
                    let bounds_span = match (lo, hi) {
                        (Some(l), Some(h)) => l.span.to(h.span),
                        (Some(x), None) | (None, Some(x)) => x.span,
                        (None, None) => span,
                    };
                    let size = match d {
                        Dim::Const(n) => Some(*n as i64),
                        Dim::Sym(_) => None,
                    };
                    let l = match lo {
                        Some(e) => self.const_int(frame.module, e, "a slice bound"),
                        None => Some(0),
                    };
                    let h = match hi {
                        Some(e) => self.const_int(frame.module, e, "a slice bound"),
                        None => match size {
                            Some(n) => Some(n),
                            None => {
                                self.err(Diagnostic::error("E0307", format!("cannot leave the end of a slice open on axis {i} of symbolic size `{d}`"), bounds_span, "size unknown at compile time").with_help("give both bounds, or slice an axis of known size"));
                                None
                            }
                        },
                    };
                    let (Some(l0), Some(h0)) = (l, h) else {
                        ok = false;
                        continue;
                    };
                    // negative bounds count from the end, as in numpy
                    let wrap = |v: i64| match size {
                        Some(n) if v < 0 => v + n,
                        _ => v,
                    };
                    let (l, h) = (wrap(l0), wrap(h0));
                    let bad = l < 0 || h <= l || matches!(d, Dim::Const(n) if h as u64 > *n);
                    if bad {
                        let shown = match (lo, hi) {
                            (Some(_), Some(_)) => format!("{l0}:{h0}"),
                            (Some(_), None) => format!("{l0}:"),
                            _ => format!(":{h0}"),
                        };
                        self.err(
                            Diagnostic::error(
                                "E0307",
                                format!("slice {shown} is out of bounds for axis {i} of size {d}"),
                                bounds_span,
                                "bad slice",
                            )
                            .with_help("slices are `lo:hi` with 0 <= lo < hi <= size"),
                        );
                        ok = false;
                        continue;
                    }
                    if let (Dim::Sym(s), false) = (d, l == 0 && h == 1) {
                        self.err(Diagnostic::error("E0307", format!("cannot slice axis {i} of symbolic size `{s}` with constant bounds"), bounds_span, "size unknown at compile time").with_help("slice axes of known size (e.g. the class axis)"));
                        ok = false;
                        continue;
                    }
                    shape.push(Dim::Const((h - l) as u64));
                    out.push(TIndex::Range(l as usize, h as usize));
                }
                ast::IndexItem::At(x) => {
                    let Some(v) = self.const_int(frame.module, x, "an index") else {
                        ok = false;
                        continue;
                    };
                    let v0 = v;
                    // a negative index counts from the end, as in numpy
                    let v = match d {
                        Dim::Const(n) if v < 0 => v + *n as i64,
                        _ => v,
                    };
                    if v < 0 || matches!(d, Dim::Const(n) if v as u64 >= *n) {
                        self.err(
                            Diagnostic::error(
                                "E0307",
                                format!("index {v0} is out of bounds for axis {i} of size {d}"),
                                x.span,
                                "bad index",
                            )
                            .with_help("indices go from 0 to size - 1, or from -size to -1 counting from the end"),
                        );
                        ok = false;
                        continue;
                    }
                    out.push(TIndex::At(v as usize));
                }
            }
        }
        let ty = if ok {
            Ty::Tensor(TensorType { shape, ..t })
        } else {
            Ty::Error
        };
        mk(TKind::Index(Box::new(a), out), ty)
    }
}
