//! Loops and carried state: `for` over a range or over batches, `carry` bindings, and the
//! fixpoint on the carried state's secrecy.

use super::*;

impl<'m> Checker<'m> {
    pub(super) fn public_scalar(&mut self, e: &TExpr, what: &str) {
        if let Ty::Tensor(t) = &e.ty {
            if t.secrecy == Secrecy::Secret {
                self.err(
                    Diagnostic::error("E0402", format!("{what} is secret"), e.span, "secret value")
                        .with_help(secrecy::HELP_LOOP),
                );
            } else if !t.shape.is_empty() {
                self.err(
                    Diagnostic::error(
                        "E0303",
                        format!(
                            "{what} must be a scalar, found shape {}",
                            shape_text(&t.shape)
                        ),
                        e.span,
                        "not a scalar",
                    )
                    .with_help("use a parameter, a number or `rows(x)`"),
                );
            }
        }
    }

    pub(super) fn for_loop(
        &mut self,
        frame: &mut Frame,
        iter: &ast::LoopIter,
        carry: &[ast::Carry],
        body: &ast::Block,
        span: Span,
    ) -> TExpr {
        // carried initial values are evaluated outside the loop
        let inits: Vec<TExpr> = carry.iter().map(|c| self.expr(frame, &c.init)).collect();
        let mut carried_tys: Vec<Ty> = vec![];
        for (c, init) in carry.iter().zip(&inits) {
            let mut ty = init.ty.clone();
            if let Ty::Tensor(t) = &mut ty {
                t.range = None;
                if let Some(ann) = &c.ty {
                    if let Some(s) = ann.secrecy {
                        if s == Secrecy::Public && t.secrecy == Secrecy::Secret {
                            self.err(
                                Diagnostic::error(
                                    "E0405",
                                    format!(
                                        "carried state `{}` is declared public but starts secret",
                                        c.name.name
                                    ),
                                    ann.span,
                                    "declared public",
                                )
                                .with_help(
                                    "drop the `public` qualifier; secret state stays secret",
                                ),
                            );
                        }
                        t.secrecy = join(t.secrecy, s);
                    }
                    if let Some((lo, hi)) = &ann.range {
                        t.range = self.const_range(frame.module, lo, hi, ann.span);
                    }
                    if let Some(sh) = &ann.shape {
                        let dims: Vec<Dim> =
                            sh.iter().map(|d| self.dim_of(frame.module, d)).collect();
                        if dims != t.shape {
                            self.err(Diagnostic::error("E0308", format!("carried state `{}` starts with shape {} but is annotated {}", c.name.name, shape_text(&t.shape), shape_text(&dims)), ann.span, "annotation").with_help("fix the initial value or the annotation"));
                        }
                    }
                }
            }
            carried_tys.push(ty);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let diag_mark = self.diags.len();
            let warn_mark = self.warnings.len();
            let lets_mark = frame.lets.len();
            let out_mark = self.outputs.len();
            let spans_before = self.output_spans.clone();
            frame.scopes.push(HashMap::new());
            frame.loop_depth += 1;
            let kind = match iter {
                ast::LoopIter::Range { var, lo, hi } => {
                    let lo_e = self.expr(frame, lo);
                    let hi_e = self.expr(frame, hi);
                    self.public_scalar(&lo_e, "the loop's lower bound");
                    self.public_scalar(&hi_e, "the loop's upper bound");
                    self.trip_count(
                        frame.module,
                        lo_e.ty.tensor().and_then(|t| t.range),
                        hi_e.ty.tensor().and_then(|t| t.range),
                        lo.span.to(hi.span),
                    );
                    let r = match (
                        lo_e.ty.tensor().and_then(|t| t.range),
                        hi_e.ty.tensor().and_then(|t| t.range),
                    ) {
                        (Some(a), Some(b)) if a.lo == a.hi && b.lo == b.hi && b.lo > a.lo => {
                            Some(Range::new(a.lo, b.lo - 1.0))
                        }
                        _ => None,
                    };
                    let v = frame.new_local(
                        &var.name,
                        Ty::Tensor(TensorType {
                            elem: Elem::I64,
                            shape: vec![],
                            secrecy: Secrecy::Public,
                            range: r,
                        }),
                    );
                    LoopKind::Range {
                        var: v,
                        lo: lo_e,
                        hi: hi_e,
                    }
                }
                ast::LoopIter::Batches {
                    vars,
                    sources,
                    size,
                    shuffle,
                } => {
                    let srcs: Vec<TExpr> = sources.iter().map(|s| self.expr(frame, s)).collect();
                    let size_e = self.expr(frame, size);
                    self.public_scalar(&size_e, "the batch size");
                    self.batch_counter += 1;
                    let bdim = format!("b{}", self.batch_counter);
                    if vars.len() != srcs.len() {
                        self.err(
                            Diagnostic::error("E0306", format!("{} loop variables for {} batched sources", vars.len(), srcs.len()), span, "count mismatch")
                                .with_help("write one variable per source: `for (x, y) in batches(xs, ys) size B`"),
                        );
                    }
                    let mut rows: Option<(Dim, Span)> = None;
                    let mut vs = vec![];
                    for (v, s) in vars.iter().zip(&srcs) {
                        let ty = match &s.ty {
                            Ty::Tensor(t) if !t.shape.is_empty() => {
                                if let Some((r, rs)) = &rows {
                                    if *r != t.shape[0] {
                                        let r = r.clone();
                                        let rs = *rs;
                                        self.err(
                                            Diagnostic::error("E0301", format!("batched sources have different numbers of rows: {r} vs {}", t.shape[0]), s.span, "rows differ")
                                                .with_note(rs, format!("{r} rows here"))
                                                .with_help("all sources of `batches` are split along axis 0 and must have the same number of rows"),
                                        );
                                    }
                                } else {
                                    rows = Some((t.shape[0].clone(), s.span));
                                }
                                let mut sh = t.shape.clone();
                                sh[0] = Dim::Sym(bdim.clone());
                                Ty::Tensor(TensorType {
                                    shape: sh,
                                    ..t.clone()
                                })
                            }
                            Ty::Tensor(_) => {
                                self.err(
                                    Diagnostic::error(
                                        "E0303",
                                        "cannot split a scalar into batches",
                                        s.span,
                                        "scalar",
                                    )
                                    .with_help("`batches` splits tensors along their first axis"),
                                );
                                Ty::Error
                            }
                            _ => Ty::Error,
                        };
                        vs.push(frame.new_local(&v.name, ty));
                    }
                    frame.dim_syms.insert(bdim.clone());
                    LoopKind::Batches {
                        vars: vs,
                        sources: srcs,
                        size: size_e,
                        shuffle: *shuffle,
                        batch_dim: bdim,
                    }
                }
            };
            let mut carried = vec![];
            for ((c, init), ty) in carry.iter().zip(&inits).zip(&carried_tys) {
                let id = frame.new_local(&c.name.name, ty.clone());
                carried.push(Carried {
                    local: id,
                    name: c.name.name.clone(),
                    init: init.clone(),
                    ty: ty.clone(),
                });
            }
            let tb = self.block(frame, body);
            frame.loop_depth -= 1;
            frame.scopes.pop();
            // compare the body's result with the carried state
            let mut upgrade = false;
            if !carry.is_empty() {
                let carry_help = format!(
                    "end the body with `({})`",
                    carry
                        .iter()
                        .map(|c| c.name.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let results: Vec<(Ty, Span)> = match &tb.tail {
                    None => {
                        self.err(
                            Diagnostic::error(
                                "E0305",
                                "the loop body must end with the next carried state",
                                body.span,
                                "no final expression",
                            )
                            .with_help(carry_help.clone()),
                        );
                        vec![]
                    }
                    Some(t) if carry.len() == 1 => vec![(t.ty.clone(), t.span)],
                    Some(t) => match (&t.kind, &t.ty) {
                        (TKind::Tuple(es), _) if es.len() == carry.len() => {
                            es.iter().map(|e| (e.ty.clone(), e.span)).collect()
                        }
                        (_, Ty::Tuple(ts)) if ts.len() == carry.len() => {
                            ts.iter().map(|x| (x.clone(), t.span)).collect()
                        }
                        (_, Ty::Error) => vec![],
                        _ => {
                            self.err(
                                Diagnostic::error(
                                    "E0306",
                                    format!(
                                        "the loop carries {} values but the body gives {}",
                                        carry.len(),
                                        t.ty
                                    ),
                                    t.span,
                                    "wrong arity",
                                )
                                .with_help(carry_help.clone()),
                            );
                            vec![]
                        }
                    },
                };
                for (i, (rty, rspan)) in results.iter().enumerate() {
                    let (Ty::Tensor(rt), Ty::Tensor(ct)) = (rty, &carried_tys[i]) else {
                        continue;
                    };
                    if rt.shape != ct.shape {
                        self.err(
                            Diagnostic::error("E0305", format!("carried state `{}` changes shape: {} before the iteration, {} after", carry[i].name.name, shape_text(&ct.shape), shape_text(&rt.shape)), *rspan, "new value here")
                                .with_note(carry[i].name.span, "carried here")
                                .with_help("a loop's carried state must keep its shape across iterations (per-batch dims such as the batch rows cannot escape the loop; reduce them with `sum` or `@`)"),
                        );
                    }
                    if rt.secrecy > ct.secrecy {
                        if carry[i].ty.as_ref().and_then(|t| t.secrecy) == Some(Secrecy::Public) {
                            self.err(Diagnostic::error("E0405", format!("carried state `{}` is declared public but becomes secret in the loop", carry[i].name.name), *rspan, "secret value").with_help("drop the `public` qualifier"));
                        } else {
                            upgrade = true;
                        }
                    }
                }
                if upgrade && attempt == 1 {
                    for (i, (rty, _)) in results.iter().enumerate() {
                        if let (Ty::Tensor(rt), Ty::Tensor(ct)) = (rty, &mut carried_tys[i]) {
                            ct.secrecy = join(ct.secrecy, rt.secrecy);
                        }
                    }
                    self.diags.truncate(diag_mark);
                    self.warnings.truncate(warn_mark);
                    frame.lets.truncate(lets_mark);
                    self.outputs.truncate(out_mark);
                    self.output_spans = spans_before;
                    continue;
                }
            } else if let Some(t) = &tb.tail {
                self.err(Diagnostic::error("E0305", "a loop without `carry` cannot produce a value", t.span, "unused value").with_help("add `carry (name = init)` to thread state through the iterations, or remove the expression"));
            }
            let ty = match carried_tys.len() {
                0 => Ty::Unit,
                1 => carried_tys[0].clone(),
                _ => Ty::Tuple(carried_tys.clone()),
            };
            return TExpr {
                kind: TKind::Loop(Box::new(TLoop {
                    kind,
                    carried,
                    body: tb,
                })),
                ty,
                span,
            };
        }
    }
}
