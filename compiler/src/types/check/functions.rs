//! Functions and generic instantiation: checking a `fn` body once, binding its symbolic dims
//! and `[..]` at each call, and dispatching a call to a function, an approximation or a builtin.

use super::*;

/// The return type of a call: generic dims and `[..]` replaced, secrecy from the arguments.
fn subst_ty(t: &Ty, binding: &BTreeMap<String, Dim>, any: Option<&[Dim]>, sec: Secrecy) -> Ty {
    match t {
        Ty::Tensor(t) => {
            let shape = match (is_any(&t.shape), any) {
                (true, Some(a)) => a.to_vec(),
                _ => shape::substitute(&t.shape, binding),
            };
            Ty::Tensor(TensorType {
                shape,
                secrecy: sec,
                ..t.clone()
            })
        }
        Ty::Tuple(ts) => Ty::Tuple(ts.iter().map(|x| subst_ty(x, binding, any, sec)).collect()),
        other => other.clone(),
    }
}

impl<'m> Checker<'m> {
    pub(super) fn check_fn(
        &mut self,
        module: usize,
        name: &str,
        call_span: Option<Span>,
    ) -> Option<String> {
        let q = self.mods[module].qualify(name);
        match self.fn_state.get(&q) {
            Some(FnState::Done) => return Some(q),
            Some(FnState::Failed) => return None,
            Some(FnState::InProgress) => {
                let span = call_span.unwrap_or(self.mods[module].defs[name].span);
                self.err(
                    Diagnostic::error("E0108", format!("`{q}` calls itself"), span, "recursive call")
                        .with_help("recursion cannot be unrolled into a fixed CKKS circuit; use a `for` loop with a public bound"),
                );
                return None;
            }
            None => {}
        }
        self.fn_state.insert(q.clone(), FnState::InProgress);
        let item = self.mods[module].defs[name].item;
        let Item::Fn(f) = &self.mods[module].ast.items[item] else {
            return None;
        };
        let before = self.diags.len();
        let mut frame = Frame {
            module,
            in_fn: true,
            locals: vec![],
            scopes: vec![HashMap::new()],
            dim_syms: HashSet::new(),
            loop_depth: 0,
            used: HashSet::new(),
            lets: vec![],
        };
        let mut params = vec![];
        for (pname, pty) in &f.params {
            let t = self.full_type(module, pty, Secrecy::Secret);
            for d in &t.shape {
                if let Dim::Sym(s) = d {
                    if s != ANY {
                        frame.dim_syms.insert(s.clone());
                    }
                }
            }
            params.push(frame.new_local(&pname.name, tensor_ty(t)));
        }
        let mut dim_syms: Vec<String> = frame.dim_syms.iter().cloned().collect();
        dim_syms.sort();
        let outer_max = std::mem::replace(&mut self.nest_max, self.nest);
        let mut body = self.block(&mut frame, &f.body);
        self.fn_nest
            .insert(q.clone(), self.nest_max.saturating_sub(self.nest));
        self.nest_max = self.nest_max.max(outer_max);
        let mut ret = body.tail.as_ref().map(|t| t.ty.clone()).unwrap_or(Ty::Unit);
        let actual = ret.clone();
        match &f.ret {
            Some(ast::ReturnType::One(rt)) => {
                let span = body.tail.as_ref().map(|t| t.span).unwrap_or(f.body.span);
                ret = self.declared_return(
                    module,
                    &f.name.name,
                    rt,
                    body.tail.as_deref_mut(),
                    &actual,
                    span,
                    f.body.span,
                );
            }
            Some(ast::ReturnType::Tuple(rts, rspan)) => match &actual {
                Ty::Tuple(ts) if ts.len() == rts.len() => {
                    let span = body.tail.as_ref().map(|t| t.span).unwrap_or(f.body.span);
                    let mut out = vec![];
                    match body.tail.as_deref_mut() {
                        // a literal tuple: declared ranges become assumptions on its elements
                        Some(TExpr {
                            kind: TKind::Tuple(es),
                            ..
                        }) if es.len() == rts.len() => {
                            for (rt, e) in rts.iter().zip(es.iter_mut()) {
                                let (ety, sp) = (e.ty.clone(), e.span);
                                out.push(self.declared_return(
                                    module,
                                    &f.name.name,
                                    rt,
                                    Some(e),
                                    &ety,
                                    sp,
                                    f.body.span,
                                ));
                            }
                        }
                        _ => {
                            for (rt, t) in rts.iter().zip(ts) {
                                out.push(self.declared_return(
                                    module,
                                    &f.name.name,
                                    rt,
                                    None,
                                    t,
                                    span,
                                    f.body.span,
                                ));
                            }
                        }
                    }
                    ret = Ty::Tuple(out);
                    if let Some(t) = body.tail.as_deref_mut() {
                        t.ty = ret.clone();
                    }
                }
                Ty::Error => {}
                other => {
                    let other = other.to_string();
                    self.err(
                        Diagnostic::error(
                            "E0602",
                            format!(
                                "`{}` is declared to return {} values but its body gives {other}",
                                f.name.name,
                                rts.len()
                            ),
                            body.tail.as_ref().map(|t| t.span).unwrap_or(f.body.span),
                            "returned here",
                        )
                        .with_note(*rspan, "declared here")
                        .with_help(
                            "end the body with a tuple of the declared values, e.g. `(a, b)`",
                        ),
                    );
                }
            },
            None => {}
        }
        let exact = match &f.approximates {
            Some(a) => match Builtin::exact_by_name(&a.name) {
                Some(b) => Some(b),
                None => {
                    self.err(Diagnostic::error("E0505", format!("unknown exact function `{}`", a.name), a.span, "not a builtin").with_help("`approximates` names the exact builtin used under `--exact`: exp, log, sigmoid, sign, step, inverse, sqrt, tanh, relu, abs, gelu, gelu_grad, softmax, max"));
                    None
                }
            },
            None => None,
        };
        self.unused_lets(&frame);
        let failed = self.diags[before..]
            .iter()
            .any(|d| d.severity == crate::diagnostics::Severity::Error);
        self.functions.insert(
            q.clone(),
            CheckedFn {
                name: q.clone(),
                params,
                dim_syms,
                locals: frame.locals,
                ret,
                body,
                exact,
                span: f.name.span,
            },
        );
        self.fn_state.insert(
            q.clone(),
            if failed {
                FnState::Failed
            } else {
                FnState::Done
            },
        );
        if failed {
            None
        } else {
            Some(q)
        }
    }

    pub(super) fn call(
        &mut self,
        frame: &mut Frame,
        p: &[Ident],
        args: &[Expr],
        span: Span,
    ) -> TExpr {
        let err_ty = |span| TExpr {
            kind: TKind::Const(0.0),
            ty: Ty::Error,
            span,
        };
        let target = self.resolve_path(frame.module, p);
        let name = p.last().map(|i| i.name.clone()).unwrap_or_default();
        match target {
            Target::Def(m, n, DefKind::Fn) => {
                let targs: Vec<TExpr> = args.iter().map(|a| self.expr(frame, a)).collect();
                let Some(q) = self.check_fn(m, &n, Some(span)) else {
                    return err_ty(span);
                };
                let need = self.fn_nest.get(&q).copied().unwrap_or(0);
                if !self.nest_in(span, need) {
                    return err_ty(span);
                }
                self.instantiate(&q, targs, span)
            }
            Target::Def(m, n, DefKind::Approx | DefKind::Poly) => {
                if args.len() != 1 {
                    self.err(
                        Diagnostic::error(
                            "E0201",
                            format!("`{n}` takes 1 argument, found {}", args.len()),
                            span,
                            "wrong number of arguments",
                        )
                        .with_help("an approximation is applied elementwise to one tensor"),
                    );
                    return err_ty(span);
                }
                let a = self.expr(frame, &args[0]);
                let Some(q) = self.approx_def(m, &n) else {
                    return err_ty(span);
                };
                self.apply_approx(&q, a, span)
            }
            Target::Def(_, n, _) => {
                self.err(
                    Diagnostic::error(
                        "E0105",
                        format!("`{n}` is not a function"),
                        span,
                        "called here",
                    )
                    .with_help("only `fn`s, `approx`/`poly` items and builtins can be called"),
                );
                err_ty(span)
            }
            Target::BadModule(_) => {
                self.unknown_name(frame, p, span, target, true);
                err_ty(span)
            }
            Target::NotFound if p.len() == 1 => {
                if let Some(b) = Builtin::exact_by_name(&name) {
                    if args.len() != 1 {
                        self.err(
                            Diagnostic::error(
                                "E0201",
                                format!("`{name}` takes 1 argument, found {}", args.len()),
                                span,
                                "wrong number of arguments",
                            )
                            .with_help(format!("write `{name}(x)`")),
                        );
                        return err_ty(span);
                    }
                    let a = self.expr(frame, &args[0]);
                    return self.exact_builtin(b, a, span);
                }
                if let Some(s) = Structural::from_name(&name) {
                    return self.structural(frame, s, args, span);
                }
                self.unknown_name(frame, p, span, Target::NotFound, true);
                err_ty(span)
            }
            Target::NotFound => {
                self.unknown_name(frame, p, span, Target::NotFound, true);
                err_ty(span)
            }
        }
    }

    pub(super) fn instantiate(&mut self, q: &str, args: Vec<TExpr>, span: Span) -> TExpr {
        let f = self.functions[q].clone();
        let mk = |kind, ty| TExpr { kind, ty, span };
        if args.len() != f.params.len() {
            self.err(
                Diagnostic::error(
                    "E0201",
                    format!(
                        "`{q}` takes {} argument{}, found {}",
                        f.params.len(),
                        if f.params.len() == 1 { "" } else { "s" },
                        args.len()
                    ),
                    span,
                    "wrong number of arguments",
                )
                .with_note(f.span, "defined here")
                .with_help(format!(
                    "the signature is ({})",
                    f.params
                        .iter()
                        .map(|p| format!(
                            "{}: {}",
                            f.locals[*p as usize].name, f.locals[*p as usize].ty
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
            return mk(
                TKind::Call {
                    func: q.to_string(),
                    args,
                    dims: vec![],
                },
                Ty::Error,
            );
        }
        let mut binding = BTreeMap::new();
        let mut any_shape: Option<Vec<Dim>> = None;
        let mut sec = Secrecy::Public;
        let mut ok = true;
        for (pid, a) in f.params.iter().zip(&args) {
            let pinfo = &f.locals[*pid as usize];
            let (Ty::Tensor(pt), Ty::Tensor(at)) = (&pinfo.ty, &a.ty) else {
                ok = false;
                continue;
            };
            sec = join(sec, at.secrecy);
            let mut problem = None;
            if is_any(&pt.shape) {
                match &any_shape {
                    Some(prev) if *prev != at.shape => {
                        problem = Some(format!(
                            "all `[..]` arguments must have the same shape: {} vs {}",
                            shape_text(prev),
                            shape_text(&at.shape)
                        ))
                    }
                    _ => any_shape = Some(at.shape.clone()),
                }
            } else if pt.shape.len() != at.shape.len() {
                problem = Some(format!(
                    "expected rank {} {}, found {}",
                    pt.shape.len(),
                    shape_text(&pt.shape),
                    shape_text(&at.shape)
                ));
            } else {
                for (dd, ad) in pt.shape.iter().zip(&at.shape) {
                    if let Err(m) = shape::unify_dim(dd, ad, &f.dim_syms, &mut binding) {
                        problem = Some(format!(
                            "{m} (parameter shape {}, argument shape {})",
                            shape_text(&pt.shape),
                            shape_text(&at.shape)
                        ));
                        break;
                    }
                }
            }
            if let Some(m) = problem {
                self.err(
                    Diagnostic::error(
                        "E0301",
                        format!(
                            "argument `{}` of `{q}` has the wrong shape: {m}",
                            pinfo.name
                        ),
                        a.span,
                        "this argument",
                    )
                    .with_help(
                        "symbolic dims in a signature must be the same wherever they appear",
                    ),
                );
                ok = false;
                continue;
            }
            if pt.range.is_some() {
                if !self.check_range(
                    at.range,
                    pt.range.unwrap(),
                    a.span,
                    &format!("parameter `{}` of `{q}`", pinfo.name),
                ) {
                    ok = false;
                }
            }
        }
        // explicit `public` parameters
        for (i, a) in args.iter().enumerate() {
            if let Some(Item::Fn(fd)) = self.find_fn_decl(q) {
                if let Some((pn, pt)) = fd.params.get(i) {
                    if pt.secrecy == Some(Secrecy::Public) && a.ty.secrecy() == Secrecy::Secret {
                        self.err(Diagnostic::error("E0405", format!("parameter `{}` of `{q}` must be public, but the argument is secret", pn.name), a.span, "secret argument").with_help("pass a public value (a parameter, a dimension, or a public input)"));
                        ok = false;
                    }
                }
            }
        }
        if !ok {
            return mk(
                TKind::Call {
                    func: q.to_string(),
                    args,
                    dims: vec![],
                },
                Ty::Error,
            );
        }
        let declared_sec = self.find_fn_decl(q).and_then(|i| {
            if let Item::Fn(fd) = i {
                match &fd.ret {
                    Some(ast::ReturnType::One(r)) => r.secrecy,
                    _ => None,
                }
            } else {
                None
            }
        });
        let ret = subst_ty(
            &f.ret,
            &binding,
            any_shape.as_deref(),
            declared_sec.unwrap_or(sec),
        );
        let dims: Vec<(String, Dim)> = binding.into_iter().collect();
        mk(
            TKind::Call {
                func: q.to_string(),
                args,
                dims,
            },
            ret,
        )
    }

    pub(super) fn find_fn_decl(&self, q: &str) -> Option<&'m Item> {
        for m in self.mods {
            for (n, d) in &m.defs {
                if d.kind == DefKind::Fn && m.qualify(n) == q {
                    return m.ast.items.get(d.item);
                }
            }
        }
        None
    }

    /// Check one declared return type against the type `actual` of the value the body gives
    /// (`slot`, when it can be rewritten); a declared range becomes an assumption on it.
    #[allow(clippy::too_many_arguments)]
    fn declared_return(
        &mut self,
        module: usize,
        fname: &str,
        rt: &ast::TypeExpr,
        slot: Option<&mut TExpr>,
        actual: &Ty,
        span: Span,
        body_span: Span,
    ) -> Ty {
        let declared = self.full_type(module, rt, Secrecy::Secret);
        match actual {
            Ty::Tensor(actual) => {
                if actual.shape != declared.shape {
                    self.err(
                        Diagnostic::error("E0602", format!("`{fname}` returns shape {} but is declared to return {}", shape_text(&actual.shape), shape_text(&declared.shape)), span, "returned here")
                            .with_note(rt.span, "declared here")
                            .with_help("make the body's last expression match the declared return type, or fix the declaration"),
                    );
                }
                let mut t = actual.clone();
                if rt.secrecy.is_some() {
                    t.secrecy = declared.secrecy;
                }
                if let Some(r) = declared.range {
                    t.range = Some(r);
                    if let Some(slot) = slot {
                        let sp = slot.span;
                        let inner = std::mem::replace(
                            slot,
                            TExpr {
                                kind: TKind::Const(0.0),
                                ty: Ty::Error,
                                span: sp,
                            },
                        );
                        *slot = TExpr {
                            kind: TKind::Assume(Box::new(inner), r),
                            ty: Ty::Tensor(t.clone()),
                            span: sp,
                        };
                    }
                }
                Ty::Tensor(t)
            }
            Ty::Error => Ty::Error,
            other => {
                let other = other.to_string();
                self.err(
                    Diagnostic::error(
                        "E0602",
                        format!(
                            "`{fname}` is declared to return a tensor but its body gives {other}"
                        ),
                        body_span,
                        "body",
                    )
                    .with_help("end the body with the value to return"),
                );
                actual.clone()
            }
        }
    }
}
