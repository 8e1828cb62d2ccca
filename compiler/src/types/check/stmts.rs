//! Statements: `let` (with tuple patterns and type annotations, whose ranges become run-time
//! assumptions) and `output`.

use super::*;

impl<'m> Checker<'m> {
    pub(super) fn block(&mut self, frame: &mut Frame, b: &ast::Block) -> TBlock {
        frame.scopes.push(HashMap::new());
        let stmts = b.stmts.iter().filter_map(|s| self.stmt(frame, s)).collect();
        let tail = b.tail.as_ref().map(|t| Box::new(self.expr(frame, t)));
        frame.scopes.pop();
        TBlock { stmts, tail }
    }

    pub(super) fn stmt(&mut self, frame: &mut Frame, s: &Stmt) -> Option<TStmt> {
        match s {
            Stmt::Error(_) => None,
            Stmt::Let { pat, ty, value, .. } => {
                let mut v = self.expr(frame, value);
                if let Some(t) = ty {
                    v = self.annotate(frame, v, t);
                }
                let is_loop = matches!(value.kind, ExprKind::For { .. });
                let targets: Vec<LocalId> = match pat {
                    ast::Pattern::Name(n) => {
                        let id = frame.new_local(&n.name, v.ty.clone());
                        frame.lets.push((vec![id], n.span, is_loop));
                        vec![id]
                    }
                    ast::Pattern::Tuple(names, span) => {
                        let tys: Vec<Ty> = match &v.ty {
                            Ty::Tuple(ts) if ts.len() == names.len() => ts.clone(),
                            Ty::Error => vec![Ty::Error; names.len()],
                            other => {
                                let other = other.to_string();
                                self.err(
                                    Diagnostic::error("E0306", format!("cannot destructure {other} into {} names", names.len()), *span, "pattern does not match the value")
                                        .with_help("a loop gives back its carried state as a tuple with one element per `carry` binding"),
                                );
                                vec![Ty::Error; names.len()]
                            }
                        };
                        let ids: Vec<LocalId> = names
                            .iter()
                            .zip(tys)
                            .map(|(n, t)| frame.new_local(&n.name, t))
                            .collect();
                        frame.lets.push((ids.clone(), *span, is_loop));
                        ids
                    }
                };
                Some(TStmt::Let { targets, value: v })
            }
            Stmt::Output {
                name,
                value,
                against,
                span,
            } => {
                if frame.in_fn {
                    self.err(Diagnostic::error("E0603", "`output` inside a function", *span, "not allowed here").with_help("return the value from the function and write `output` in the main program"));
                    return None;
                }
                if let Some(prev) = self.output_spans.get(&name.name) {
                    let prev = *prev;
                    self.err(
                        Diagnostic::error(
                            "E0603",
                            format!("output `{}` is defined twice", name.name),
                            name.span,
                            "duplicate",
                        )
                        .with_note(prev, "first defined here")
                        .with_help("give every output a distinct name"),
                    );
                    return None;
                }
                self.output_spans.insert(name.name.clone(), name.span);
                let v = self.expr(frame, value);
                let labels = against.as_ref().map(|a| self.expr(frame, a));
                if let (Some(l), Ty::Tensor(vt)) = (&labels, &v.ty) {
                    if let Ty::Tensor(lt) = &l.ty {
                        let multi = vt.shape.len() == 2
                            && lt.shape.len() == 1
                            && vt.shape[0] == lt.shape[0];
                        let binary = vt.shape.len() == 2
                            && vt.shape[1] == Dim::Const(1)
                            && lt.shape == vt.shape;
                        let ok = multi || binary;
                        if !ok {
                            self.err(
                                Diagnostic::error(
                                    "E0301",
                                    format!(
                                        "cannot score logits {} against labels {}",
                                        shape_text(&vt.shape),
                                        shape_text(&lt.shape)
                                    ),
                                    l.span,
                                    "labels here",
                                )
                                .with_help(
                                    "`against` needs logits [n, classes] with integer labels [n], or scores [n, 1] with 0/1 labels [n, 1]",
                                ),
                            );
                        }
                    }
                }
                if matches!(v.ty, Ty::Tuple(_) | Ty::Unit) {
                    self.err(
                        Diagnostic::error(
                            "E0603",
                            "an output must be a tensor",
                            value.span,
                            "not a tensor",
                        )
                        .with_help("output each element separately"),
                    );
                }
                self.outputs.push(CheckedOutput {
                    name: name.name.clone(),
                    ty: v.ty.clone(),
                    in_loop: frame.loop_depth > 0,
                    has_labels: labels.is_some(),
                });
                Some(TStmt::Output {
                    name: name.name.clone(),
                    value: v,
                    against: labels,
                    in_loop: frame.loop_depth > 0,
                })
            }
        }
    }

    /// Apply a `let x: T = ...` annotation: checks secrecy/elem/shape, and a range becomes an
    /// assumption (checked at run time by the interpreter).
    pub(super) fn annotate(&mut self, frame: &mut Frame, v: TExpr, t: &ast::TypeExpr) -> TExpr {
        let Ty::Tensor(mut vt) = v.ty.clone() else {
            if v.ty != Ty::Error {
                self.err(
                    Diagnostic::error(
                        "E0308",
                        format!(
                            "cannot annotate a value of type {} with a tensor type",
                            v.ty
                        ),
                        t.span,
                        "annotation",
                    )
                    .with_help("annotations apply to tensors"),
                );
            }
            return v;
        };
        if let Some(s) = t.secrecy {
            if s == Secrecy::Public && vt.secrecy == Secrecy::Secret {
                self.err(
                    Diagnostic::error("E0405", "a secret value cannot be declared public", t.span, "declared public here")
                        .with_help("the server cannot decrypt; only the data owner can. Output the value and let the client decrypt it"),
                );
            }
            vt.secrecy = join(vt.secrecy, s);
        }
        if let Some(sh) = &t.shape {
            let dims: Vec<Dim> = sh.iter().map(|d| self.dim_of(frame.module, d)).collect();
            if dims != vt.shape {
                self.err(
                    Diagnostic::error(
                        "E0308",
                        format!(
                            "shape mismatch: the value has shape {} but is annotated {}",
                            shape_text(&vt.shape),
                            shape_text(&dims)
                        ),
                        t.span,
                        "annotation",
                    )
                    .with_help(
                        "fix the annotation or the expression; symbolic dims must match by name",
                    ),
                );
            }
        }
        if let Some(e) = t.elem {
            if e != vt.elem && !(e == Elem::F64 && vt.elem == Elem::I64) {
                self.err(
                    Diagnostic::error(
                        "E0601",
                        format!(
                            "the value is {} but is annotated {}",
                            elem_text(vt.elem),
                            elem_text(e)
                        ),
                        t.span,
                        "annotation",
                    )
                    .with_help("element types convert only from i64 to f64"),
                );
            }
            vt.elem = e;
        }
        if let Some((lo, hi)) = &t.range {
            if let Some(r) = self.const_range(frame.module, lo, hi, t.span) {
                vt.range = Some(r);
                return TExpr {
                    kind: TKind::Assume(Box::new(v), r),
                    ty: Ty::Tensor(vt),
                    span: t.span,
                };
            }
        }
        TExpr {
            ty: Ty::Tensor(vt),
            ..v
        }
    }
}
