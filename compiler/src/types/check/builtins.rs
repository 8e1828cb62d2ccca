//! Builtins: the exact elementwise functions ([`Builtin`]) and the structural ones
//! ([`Structural`]: reductions, constructors, shape queries, rotations).

use super::*;

/// The structural builtins: reductions, constructors, shape queries and rotations (the
/// elementwise ones are [`Builtin`]). Calls resolve to these by name only when no user item
/// of that name is in scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Structural {
    Sum,
    Mean,
    RowSum,
    Zeros,
    Ones,
    Rows,
    Cols,
    Roll,
    Log2Ceil,
    Randn,
    Uniform,
}

impl Structural {
    pub(super) const ALL: &'static [Structural] = &[
        Structural::Sum,
        Structural::Mean,
        Structural::RowSum,
        Structural::Zeros,
        Structural::Ones,
        Structural::Rows,
        Structural::Cols,
        Structural::Roll,
        Structural::Log2Ceil,
        Structural::Randn,
        Structural::Uniform,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Structural::Sum => "sum",
            Structural::Mean => "mean",
            Structural::RowSum => "rowsum",
            Structural::Zeros => "zeros",
            Structural::Ones => "ones",
            Structural::Rows => "rows",
            Structural::Cols => "cols",
            Structural::Roll => "roll",
            Structural::Log2Ceil => "log2ceil",
            Structural::Randn => "randn",
            Structural::Uniform => "uniform",
        }
    }

    pub(super) fn from_name(n: &str) -> Option<Structural> {
        Structural::ALL.iter().copied().find(|s| s.name() == n)
    }
}

impl<'m> Checker<'m> {
    pub(super) fn dims_arg(&mut self, frame: &mut Frame, e: &Expr) -> Option<Dim> {
        if let ExprKind::Call(p, _) = &e.kind {
            if p.len() == 1
                && matches!(
                    Structural::from_name(&p[0].name),
                    Some(Structural::Rows | Structural::Cols)
                )
            {
                let t = self.expr(frame, e);
                return match t.kind {
                    TKind::DimValue(d) => Some(d),
                    TKind::Const(v) => Some(Dim::Const(v as u64)),
                    _ => None,
                };
            }
        }
        if let ExprKind::Path(p) = &e.kind {
            if p.len() == 1
                && frame.dim_syms.contains(&p[0].name)
                && frame.lookup(&p[0].name).is_none()
            {
                return Some(Dim::Sym(p[0].name.clone()));
            }
        }
        let v = self.const_int(frame.module, e, "a dimension")?;
        if v < 0 {
            self.err(
                Diagnostic::error(
                    "E0004",
                    format!("negative dimension {v}"),
                    e.span,
                    "negative",
                )
                .with_help("dimensions are non-negative"),
            );
            return None;
        }
        Some(Dim::Const(v as u64))
    }

    pub(super) fn exact_builtin(&mut self, b: Builtin, a: TExpr, span: Span) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        let Ty::Tensor(t) = a.ty.clone() else {
            return mk(TKind::Builtin(b, vec![a]), Ty::Error);
        };
        if t.secrecy == Secrecy::Secret {
            let name = b.name();
            let help = match b {
                Builtin::Softmax => "use a polynomial softmax such as `std::softmax::hetal(z)` (bound `z` with a range annotation first)".to_string(),
                Builtin::RowMax => "use `std::math::max_tournament(x)` (composite sign polynomials)".to_string(),
                _ => format!("declare a polynomial approximation, e.g. `approx {name}_p = {name} on [-8, 8] degree 15;`, or use `std::math`"),
            };
            self.err(
                Diagnostic::error(
                    "E0404",
                    format!(
                        "`{name}` is not a polynomial and cannot be evaluated on a secret value"
                    ),
                    span,
                    "secret argument",
                )
                .with_help(help),
            );
            return mk(TKind::Builtin(b, vec![a]), Ty::Error);
        }
        let ty = match b {
            Builtin::Softmax => {
                if t.shape.is_empty() {
                    self.err(
                        Diagnostic::error(
                            "E0303",
                            "softmax needs at least a vector",
                            span,
                            "scalar",
                        )
                        .with_help("softmax normalises over the last axis"),
                    );
                    return mk(TKind::Builtin(b, vec![a]), Ty::Error);
                }
                TensorType {
                    range: Some(Range::new(0.0, 1.0)),
                    elem: Elem::F64,
                    ..t
                }
            }
            Builtin::RowMax => {
                let mut s = t.shape.clone();
                if let Some(l) = s.last_mut() {
                    *l = Dim::Const(1);
                }
                TensorType { shape: s, ..t }
            }
            _ => TensorType {
                range: t.range.and_then(|r| rg::sample(|x| b.eval1(x), r)),
                elem: Elem::F64,
                ..t
            },
        };
        mk(TKind::Builtin(b, vec![a]), Ty::Tensor(ty))
    }

    pub(super) fn structural(
        &mut self,
        frame: &mut Frame,
        s: Structural,
        args: &[Expr],
        span: Span,
    ) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        use Structural as S;
        let name = s.name();
        let want = match s {
            S::Sum | S::Mean | S::Roll => 2,
            S::Zeros | S::Ones | S::Randn | S::Uniform => usize::MAX,
            S::RowSum | S::Rows | S::Cols | S::Log2Ceil => 1,
        };
        if want != usize::MAX && args.len() != want {
            self.err(
                Diagnostic::error(
                    "E0201",
                    format!(
                        "`{name}` takes {want} argument{}, found {}",
                        if want == 1 { "" } else { "s" },
                        args.len()
                    ),
                    span,
                    "wrong number of arguments",
                )
                .with_help(match s {
                    S::Sum | S::Mean => "write `sum(x, axis)` with a constant axis".to_string(),
                    S::Roll => "write `roll(x, k)`: a cyclic shift of the last axis".to_string(),
                    _ => format!("write `{name}(x)`"),
                }),
            );
            return mk(TKind::Const(0.0), Ty::Error);
        }
        match s {
            S::Randn | S::Uniform => self.random_init(frame, s, args, span),
            S::Zeros | S::Ones => {
                let dims: Vec<Option<Dim>> = args.iter().map(|a| self.dims_arg(frame, a)).collect();
                let Some(shape) = dims.into_iter().collect::<Option<Vec<Dim>>>() else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                let v = if s == S::Zeros { 0.0 } else { 1.0 };
                let b = if s == S::Zeros {
                    Builtin::Zeros
                } else {
                    Builtin::Ones
                };
                let dim_exprs = shape
                    .iter()
                    .map(|d| TExpr {
                        kind: TKind::DimValue(d.clone()),
                        ty: scalar_pub(None),
                        span,
                    })
                    .collect();
                mk(
                    TKind::Builtin(b, dim_exprs),
                    Ty::Tensor(TensorType {
                        elem: Elem::F64,
                        shape,
                        secrecy: Secrecy::Public,
                        range: Some(Range::point(v)),
                    }),
                )
            }
            S::RowSum => {
                let a = self.expr(frame, &args[0]);
                let Ty::Tensor(t) = a.ty.clone() else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                if t.shape.is_empty() || is_any(&t.shape) {
                    self.err(
                        Diagnostic::error(
                            "E0303",
                            "`rowsum` needs a tensor of known rank >= 1",
                            a.span,
                            "scalar or rank-polymorphic",
                        )
                        .with_help("`rowsum(x)` sums the last axis and keeps it with size 1"),
                    );
                    return mk(TKind::Const(0.0), Ty::Error);
                }
                let mut shape = t.shape.clone();
                let last = shape.pop().unwrap();
                shape.push(Dim::Const(1));
                let range = match last {
                    Dim::Const(n) => rg::scale(t.range, n as f64),
                    _ => None,
                };
                mk(
                    TKind::Builtin(Builtin::RowSum, vec![a]),
                    Ty::Tensor(TensorType {
                        shape,
                        range,
                        elem: Elem::F64,
                        ..t
                    }),
                )
            }
            S::Rows | S::Cols => {
                let a = self.expr(frame, &args[0]);
                let Ty::Tensor(t) = &a.ty else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                if is_any(&t.shape) {
                    self.err(
                        Diagnostic::error("E0303", format!("`{name}` of a rank-polymorphic `[..]` tensor"), a.span, "rank unknown here")
                            .with_help("`[..]` parameters only support elementwise operations; give the parameter a concrete shape"),
                    );
                    return mk(TKind::Const(0.0), Ty::Error);
                }
                let idx = if s == S::Rows {
                    0
                } else {
                    t.shape.len().wrapping_sub(1)
                };
                match t.shape.get(idx) {
                    Some(Dim::Const(n)) => mk(TKind::Const(*n as f64), scalar_pub(Some(*n as f64))),
                    Some(d) => mk(TKind::DimValue(d.clone()), scalar_pub(None)),
                    None => {
                        self.err(
                            Diagnostic::error(
                                "E0303",
                                format!("`{name}` of a scalar"),
                                a.span,
                                "scalar",
                            )
                            .with_help("`rows`/`cols` need a tensor of rank >= 1"),
                        );
                        mk(TKind::Const(0.0), Ty::Error)
                    }
                }
            }
            S::Log2Ceil => {
                let a = self.expr(frame, &args[0]);
                if let Ty::Tensor(t) = &a.ty {
                    if t.secrecy == Secrecy::Secret || !t.shape.is_empty() {
                        self.err(
                            Diagnostic::error(
                                "E0405",
                                "`log2ceil` needs a public scalar",
                                a.span,
                                "not a public scalar",
                            )
                            .with_help("use it on dimensions, e.g. `log2ceil(cols(x))`"),
                        );
                        return mk(TKind::Const(0.0), Ty::Error);
                    }
                    let r = t.range.map(|r| {
                        Range::new(r.lo.max(1.0).log2().ceil(), r.hi.max(1.0).log2().ceil())
                    });
                    return mk(
                        TKind::Builtin(Builtin::Log2Ceil, vec![a.clone()]),
                        Ty::Tensor(TensorType {
                            range: r,
                            ..t.clone()
                        }),
                    );
                }
                mk(TKind::Const(0.0), Ty::Error)
            }
            S::Roll => {
                let a = self.expr(frame, &args[0]);
                let k = self.expr(frame, &args[1]);
                if let Ty::Tensor(kt) = &k.ty {
                    if kt.secrecy == Secrecy::Secret || !kt.shape.is_empty() {
                        self.err(Diagnostic::error("E0405", "the shift of `roll` must be a public scalar", k.span, "secret or non-scalar shift").with_help("rotation amounts are part of the circuit and must be known to the server"));
                        return mk(TKind::Const(0.0), Ty::Error);
                    }
                }
                let ty = match &a.ty {
                    Ty::Tensor(t) if t.shape.is_empty() => {
                        self.err(
                            Diagnostic::error("E0303", "`roll` of a scalar", a.span, "scalar")
                                .with_help("`roll` shifts the last axis of a tensor"),
                        );
                        Ty::Error
                    }
                    t => t.clone(),
                };
                mk(TKind::Builtin(Builtin::Roll, vec![a, k]), ty)
            }
            S::Sum | S::Mean => {
                let a = self.expr(frame, &args[0]);
                let Some(axis) = self.const_int(frame.module, &args[1], "an axis") else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                let Ty::Tensor(t) = a.ty.clone() else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                if is_any(&t.shape) {
                    self.err(
                        Diagnostic::error(
                            "E0303",
                            format!("`{name}` over an axis of a rank-polymorphic `[..]` tensor"),
                            a.span,
                            "rank unknown here",
                        )
                        .with_help("`[..]` parameters only support elementwise operations"),
                    );
                    return mk(TKind::Const(0.0), Ty::Error);
                }
                // a negative axis counts from the last, as in numpy
                let rank = t.shape.len() as i64;
                let axis0 = axis;
                let axis = if axis < 0 { axis + rank } else { axis };
                if axis < 0 || axis as usize >= t.shape.len() {
                    self.err(
                        Diagnostic::error(
                            "E0304",
                            format!(
                                "axis {axis0} is out of range for shape {}",
                                shape_text(&t.shape)
                            ),
                            args[1].span,
                            "bad axis",
                        )
                        .with_help(format!(
                            "axes go from 0 to {}",
                            t.shape.len().saturating_sub(1)
                        )),
                    );
                    return mk(TKind::Const(0.0), Ty::Error);
                }
                let axis = axis as usize;
                let mut shape = t.shape.clone();
                let d = shape.remove(axis);
                let range = if s == S::Mean {
                    t.range
                } else {
                    match d {
                        Dim::Const(n) => rg::scale(t.range, n as f64),
                        _ => None,
                    }
                };
                let b = if s == S::Sum {
                    Builtin::Sum(axis)
                } else {
                    Builtin::Mean(axis)
                };
                mk(
                    TKind::Builtin(b, vec![a]),
                    Ty::Tensor(TensorType {
                        shape,
                        range,
                        elem: Elem::F64,
                        ..t
                    }),
                )
            }
        }
    }

    /// `randn(seed, dims...)` and `uniform(seed, lo, hi, dims...)`: public, reproducible random
    /// tensors for initialising parameters (the seed, bounds and dims are constants).
    fn random_init(
        &mut self,
        frame: &mut Frame,
        s: Structural,
        args: &[Expr],
        span: Span,
    ) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        let fixed = if s == Structural::Randn { 1 } else { 3 };
        if args.len() < fixed {
            let form = if s == Structural::Randn {
                "randn(seed, d0, d1, ...)"
            } else {
                "uniform(seed, lo, hi, d0, d1, ...)"
            };
            self.err(
                Diagnostic::error(
                    "E0201",
                    format!(
                        "`{}` takes at least {fixed} argument{}, found {}",
                        s.name(),
                        if fixed == 1 { "" } else { "s" },
                        args.len()
                    ),
                    span,
                    "wrong number of arguments",
                )
                .with_help(format!(
                    "write `{form}`; the seed makes the values reproducible"
                )),
            );
            return mk(TKind::Const(0.0), Ty::Error);
        }
        let seed = self.const_int(frame.module, &args[0], "a seed");
        if let Some(v) = seed {
            if v < 0 {
                self.err(
                    Diagnostic::error(
                        "E0202",
                        format!("a seed must be a non-negative integer, found {v}"),
                        args[0].span,
                        "negative seed",
                    )
                    .with_help("use a seed such as 0 or 42"),
                );
                return mk(TKind::Const(0.0), Ty::Error);
            }
        }
        let mut consts = vec![TExpr {
            kind: TKind::Const(seed.unwrap_or(0) as f64),
            ty: scalar_pub(seed.map(|v| v as f64)),
            span: args[0].span,
        }];
        let range = if s == Structural::Uniform {
            let r = self.const_range(
                frame.module,
                &args[1],
                &args[2],
                args[1].span.to(args[2].span),
            );
            for (a, v) in args[1..3].iter().zip([r.map(|r| r.lo), r.map(|r| r.hi)]) {
                consts.push(TExpr {
                    kind: TKind::Const(v.unwrap_or(0.0)),
                    ty: scalar_pub(v),
                    span: a.span,
                });
            }
            r
        } else {
            // Box-Muller on 53-bit uniforms never leaves |z| <= sqrt(-2 ln 2^-53) < 8.58
            Some(Range::new(-RANDN_BOUND, RANDN_BOUND))
        };
        let dims: Vec<Option<Dim>> = args[fixed..]
            .iter()
            .map(|a| self.dims_arg(frame, a))
            .collect();
        let (Some(_), Some(range), Some(shape)) =
            (seed, range, dims.into_iter().collect::<Option<Vec<Dim>>>())
        else {
            return mk(TKind::Const(0.0), Ty::Error);
        };
        consts.extend(shape.iter().map(|d| TExpr {
            kind: TKind::DimValue(d.clone()),
            ty: scalar_pub(None),
            span,
        }));
        let b = if s == Structural::Randn {
            Builtin::Randn
        } else {
            Builtin::Uniform
        };
        mk(
            TKind::Builtin(b, consts),
            Ty::Tensor(TensorType {
                elem: Elem::F64,
                shape,
                secrecy: Secrecy::Public,
                range: Some(range),
            }),
        )
    }
}

/// The largest |randn| value possible (see `random_init`).
pub const RANDN_BOUND: f64 = 8.58;
