//! Approximation declarations: building `approx`/`poly` items (the polynomial itself comes from
//! `types::approx`) and applying them to a value whose range must lie in the domain.

use super::*;

impl<'m> Checker<'m> {
    pub(super) fn approx_def(&mut self, module: usize, name: &str) -> Option<String> {
        let q = self.mods[module].qualify(name);
        if self.approxes.contains_key(&q) {
            return Some(q);
        }
        if self.approx_failed.contains(&q) {
            return None;
        }
        let def = self.mods[module].defs.get(name)?.clone();
        let built = match &self.mods[module].ast.items[def.item] {
            Item::Approx {
                func,
                lo,
                hi,
                spec,
                span,
                ..
            } => (|| {
                let Some(f) =
                    Builtin::exact_by_name(&func.name).filter(|b| b.is_elementwise_exact())
                else {
                    self.err(
                        Diagnostic::error("E0505", format!("cannot approximate unknown function `{}`", func.name), func.span, "not an elementwise builtin")
                            .with_help("approximable functions: exp, log, sigmoid, sign, step, inverse, sqrt, tanh, relu, abs, gelu, gelu_grad"),
                    );
                    return None;
                };
                let dom = self.const_range(module, lo, hi, lo.span.to(hi.span))?;
                if !ap::defined_on(f, dom) {
                    self.err(
                        Diagnostic::error("E0503", format!("`{}` is not finite everywhere on {dom}", func.name), lo.span.to(hi.span), "function undefined on part of this interval")
                            .with_help("choose an interval where the function is defined (e.g. positive values for log, inverse and sqrt)"),
                    );
                    return None;
                }
                match spec {
                    ast::ApproxSpec::Degree(d) => {
                        let d = self.const_int(module, d, "a degree")?;
                        if !(1..=ap::MAX_DEGREE as i64).contains(&d) {
                            self.err(
                                Diagnostic::error(
                                    "E0504",
                                    format!("degree {d} is out of range"),
                                    *span,
                                    "bad degree",
                                )
                                .with_help(format!("degrees go from 1 to {}", ap::MAX_DEGREE)),
                            );
                            return None;
                        }
                        Some(ap::with_degree(&q, f, dom, d as usize, *span))
                    }
                    ast::ApproxSpec::Error(e) => {
                        let target = self.const_eval(module, e)?;
                        if !(target > 0.0) {
                            self.err(
                                Diagnostic::error(
                                    "E0504",
                                    format!("error target must be positive, found {target}"),
                                    e.span,
                                    "bad target",
                                )
                                .with_help("write e.g. `error 1e-4`"),
                            );
                            return None;
                        }
                        match ap::with_error(&q, f, dom, target, *span) {
                            Ok(d) => Some(d),
                            Err(best) => {
                                self.err(
                                    Diagnostic::error("E0504", format!("no polynomial of degree <= {} approximates `{}` on {dom} within {target}", ap::MAX_SEARCH_DEGREE, func.name), *span, format!("best reachable error is {best:.2e}"))
                                        .with_help("narrow the interval, relax the error target, or compose simpler approximations (e.g. a composite sign polynomial)"),
                                );
                                None
                            }
                        }
                    }
                }
            })(),
            Item::Poly {
                coeffs,
                lo,
                hi,
                approximates,
                ..
            } => (|| {
                let cs: Vec<Option<f64>> =
                    coeffs.iter().map(|c| self.const_eval(module, c)).collect();
                let dom = self.const_range(module, lo, hi, lo.span.to(hi.span))?;
                let exact = match approximates {
                    Some(a) => {
                        match Builtin::exact_by_name(&a.name).filter(|b| b.is_elementwise_exact()) {
                            Some(b) => Some(b),
                            None => {
                                self.err(Diagnostic::error("E0505", format!("unknown function `{}`", a.name), a.span, "not an elementwise builtin").with_help("approximable functions: exp, log, sigmoid, sign, step, inverse, sqrt, tanh, relu, abs, gelu, gelu_grad"));
                                return None;
                            }
                        }
                    }
                    None => None,
                };
                let cs: Option<Vec<f64>> = cs.into_iter().collect();
                let cs = cs?;
                if cs.is_empty() {
                    self.err(
                        Diagnostic::error(
                            "E0504",
                            "a polynomial needs at least one coefficient",
                            def.span,
                            "empty",
                        )
                        .with_help("coefficients are listed from degree 0 upwards: `[c0, c1, c2]`"),
                    );
                    return None;
                }
                Some(ap::monomial(&q, cs, dom, exact, def.span))
            })(),
            _ => None,
        };
        match built {
            Some(d) => {
                self.approxes.insert(q.clone(), d);
                Some(q)
            }
            None => {
                self.approx_failed.insert(q);
                None
            }
        }
    }

    pub(super) fn check_range(
        &mut self,
        actual: Option<Range>,
        needed: Range,
        span: Span,
        what: &str,
    ) -> bool {
        match actual {
            None => {
                self.err(
                    Diagnostic::error("E0501", format!("the range of this value is unknown, but {what} needs it within {needed}"), span, "range unknown")
                        .with_help(format!("state what you know with an annotation, e.g. `let z: in [{}, {}] = ...;` (checked when running in plaintext), or scale the value into range first", fmt_num(needed.lo), fmt_num(needed.hi))),
                );
                false
            }
            Some(r) if !r.within(&needed) => {
                self.err(
                    Diagnostic::error("E0502", format!("value range {r} is not inside {needed} required by {what}"), span, format!("range is {r}"))
                        .with_help("scale or normalise the value first, widen the approximation interval, or annotate a tighter range if you know one"),
                );
                false
            }
            Some(_) => true,
        }
    }

    pub(super) fn apply_approx(&mut self, q: &str, a: TExpr, span: Span) -> TExpr {
        let def = self.approxes[q].clone();
        let mk = |kind, ty| TExpr { kind, ty, span };
        let Ty::Tensor(t) = a.ty.clone() else {
            return mk(TKind::Approx(q.to_string(), Box::new(a)), Ty::Error);
        };
        if !self.check_range(
            t.range,
            def.domain,
            a.span,
            &format!("the approximation `{q}`"),
        ) {
            return mk(TKind::Approx(q.to_string(), Box::new(a)), Ty::Error);
        }
        let r = rg::intersect(t.range.unwrap(), def.domain);
        let out = rg::sample(|x| def.eval(x), r);
        mk(
            TKind::Approx(q.to_string(), Box::new(a)),
            Ty::Tensor(TensorType {
                elem: Elem::F64,
                range: out,
                ..t
            }),
        )
    }
}
