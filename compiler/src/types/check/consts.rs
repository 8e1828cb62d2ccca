//! Constants and params: compile-time evaluation of `param`s (with `--param` overrides),
//! constant expressions, intervals, and the dims and types written in declarations.

use super::*;

impl<'m> Checker<'m> {
    pub(super) fn param_value(&mut self, module: usize, name: &str) -> Option<f64> {
        let q = self.mods[module].qualify(name);
        if let Some(v) = self.param_vals.get(&q) {
            return *v;
        }
        if self.param_busy.contains(&q) {
            let span = self.mods[module].defs[name].span;
            self.err(
                Diagnostic::error(
                    "E0202",
                    format!("parameter `{q}` depends on itself"),
                    span,
                    "cyclic definition",
                )
                .with_help("give the parameter a value that does not refer back to it"),
            );
            return None;
        }
        let def = self.mods[module].defs.get(name)?.clone();
        let Item::Param {
            value,
            kind,
            name: id,
            ..
        } = &self.mods[module].ast.items[def.item]
        else {
            return None;
        };
        self.param_busy.insert(q.clone());
        self.nest += 1;
        let mut v = if self.nest_in(value.span, 0) {
            self.const_eval(module, value)
        } else {
            None
        };
        self.nest -= 1;
        self.param_busy.remove(&q);
        if let Some(o) = self.overrides.get(&q).copied() {
            v = Some(o);
            self.param_override(&q, o, *kind == ast::ScalarKind::Int, id.span);
        }
        if let (Some(x), ast::ScalarKind::Int) = (v, kind) {
            if x.fract() != 0.0 {
                self.err(
                    Diagnostic::error(
                        "E0202",
                        format!("parameter `{q}` is declared `int` but its value is {x}"),
                        id.span,
                        "not an integer",
                    )
                    .with_help("declare it `real` or give it a whole-number value"),
                );
            }
        }
        self.param_vals.insert(q.clone(), v);
        if let Some(x) = v {
            self.params_out.push(CheckedParam {
                name: q,
                integer: *kind == ast::ScalarKind::Int,
                value: x,
            });
        }
        v
    }

    /// Evaluate a compile-time constant expression; reports E0202 when it is not one.
    pub(super) fn const_eval(&mut self, module: usize, e: &Expr) -> Option<f64> {
        match self.try_const(module, e) {
            Ok(v) => Some(v),
            Err(Some(span)) => {
                self.err(
                    Diagnostic::error("E0202", "expected a compile-time constant", span, "not known at compile time")
                        .with_help("use numbers, `param`s and arithmetic on them here (shapes, intervals, degrees and slices are fixed before running)"),
                );
                None
            }
            Err(None) => None,
        }
    }

    /// Err(Some(span)): not constant at span; Err(None): already reported.
    pub(super) fn try_const(&mut self, module: usize, e: &Expr) -> Result<f64, Option<Span>> {
        match &e.kind {
            ExprKind::Number(n) => Ok(*n),
            ExprKind::Path(p) => match self.resolve_path(module, p) {
                Target::Def(m, n, DefKind::Param) => self.param_value(m, &n).ok_or(None),
                _ => Err(Some(e.span)),
            },
            ExprKind::Unary(a) => Ok(-self.try_const(module, a)?),
            ExprKind::Binary(op, a, b) => {
                let x = self.try_const(module, a)?;
                let y = self.try_const(module, b)?;
                match op {
                    BinOp::Add => Ok(x + y),
                    BinOp::Sub => Ok(x - y),
                    BinOp::Mul => Ok(x * y),
                    BinOp::Div => Ok(x / y),
                    BinOp::Pow => Ok(x.powf(y)),
                    _ => Err(Some(e.span)),
                }
            }
            ExprKind::Call(p, args)
                if p.len() == 1
                    && Structural::from_name(&p[0].name) == Some(Structural::Log2Ceil)
                    && args.len() == 1 =>
            {
                let x = self.try_const(module, &args[0])?;
                Ok(x.max(1.0).log2().ceil())
            }
            _ => Err(Some(e.span)),
        }
    }

    pub(super) fn const_int(&mut self, module: usize, e: &Expr, what: &str) -> Option<i64> {
        let v = self.const_eval(module, e)?;
        if v.fract() != 0.0 || !v.is_finite() {
            self.err(
                Diagnostic::error(
                    "E0202",
                    format!("{what} must be a whole number, found {v}"),
                    e.span,
                    "not an integer",
                )
                .with_help("use an integer constant"),
            );
            return None;
        }
        Some(v as i64)
    }

    pub(super) fn const_range(
        &mut self,
        module: usize,
        lo: &Expr,
        hi: &Expr,
        span: Span,
    ) -> Option<Range> {
        let l = self.const_eval(module, lo)?;
        let h = self.const_eval(module, hi)?;
        if !(l < h) || !l.is_finite() || !h.is_finite() {
            self.err(
                Diagnostic::error(
                    "E0503",
                    format!("empty or invalid interval [{l}, {h}]"),
                    span,
                    "lower bound must be below upper bound",
                )
                .with_help("write intervals as `[lo, hi]` with lo < hi"),
            );
            return None;
        }
        Some(Range::new(l, h))
    }

    pub(super) fn dim_of(&mut self, module: usize, d: &ast::DimExpr) -> Dim {
        match d {
            ast::DimExpr::Const(n, _) => Dim::Const(*n),
            ast::DimExpr::Sym(id) => match self.resolve_path(module, std::slice::from_ref(id)) {
                Target::Def(m, n, DefKind::Param) => match self.param_value(m, &n) {
                    Some(v) if v >= 0.0 && v.fract() == 0.0 => Dim::Const(v as u64),
                    Some(v) => {
                        self.err(
                            Diagnostic::error(
                                "E0004",
                                format!("dimension `{}` has the non-integer value {v}", id.name),
                                id.span,
                                "not a dimension",
                            )
                            .with_help("dimension parameters must be `int`s"),
                        );
                        Dim::Sym(id.name.clone())
                    }
                    None => Dim::Sym(id.name.clone()),
                },
                _ => Dim::Sym(id.name.clone()),
            },
        }
    }

    /// A full type from a declaration (inputs, fn params/returns): omitted parts default to
    /// f64, scalar, and `default_secrecy`.
    pub(super) fn full_type(
        &mut self,
        module: usize,
        t: &ast::TypeExpr,
        default_secrecy: Secrecy,
    ) -> TensorType {
        let shape = t
            .shape
            .as_ref()
            .map(|s| s.iter().map(|d| self.dim_of(module, d)).collect())
            .unwrap_or_default();
        let range = t
            .range
            .as_ref()
            .and_then(|(lo, hi)| self.const_range(module, lo, hi, t.span));
        TensorType {
            elem: t.elem.unwrap_or(Elem::F64),
            shape,
            secrecy: t.secrecy.unwrap_or(default_secrecy),
            range,
        }
    }
}
