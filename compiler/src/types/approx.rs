//! Building polynomial approximations at check time: Chebyshev interpolation of an exact
//! function on its interval, for a given degree or the smallest degree meeting an error target.

use super::checked::{ApproxDef, Basis, Builtin};
use super::range;
use super::ty::Range;
use crate::syntax::span::Span;

pub const MAX_DEGREE: usize = 64;

/// Chebyshev coefficients of the degree-`d` interpolant of `f` on `dom`.
pub fn chebyshev(f: impl Fn(f64) -> f64, dom: Range, d: usize) -> Vec<f64> {
    let n = d + 1;
    let fx: Vec<f64> = (0..n)
        .map(|k| {
            let t = (std::f64::consts::PI * (k as f64 + 0.5) / n as f64).cos();
            f(0.5 * (dom.hi - dom.lo) * t + 0.5 * (dom.hi + dom.lo))
        })
        .collect();
    (0..n)
        .map(|j| {
            let s: f64 = (0..n)
                .map(|k| {
                    fx[k] * (std::f64::consts::PI * j as f64 * (k as f64 + 0.5) / n as f64).cos()
                })
                .sum();
            let c = 2.0 * s / n as f64;
            if j == 0 {
                c / 2.0
            } else {
                c
            }
        })
        .collect()
}

/// Max |p - f| on a dense grid of the domain.
pub fn max_error(def: &ApproxDef, f: Builtin) -> f64 {
    let n = 4001;
    (0..n)
        .map(|i| {
            let x = def.domain.lo + (def.domain.hi - def.domain.lo) * i as f64 / (n - 1) as f64;
            (def.eval(x) - f.eval1(x)).abs()
        })
        .fold(0.0, f64::max)
}

pub fn defined_on(f: Builtin, dom: Range) -> bool {
    range::sample(|x| f.eval1(x), dom).is_some()
}

fn finish(mut def: ApproxDef) -> ApproxDef {
    let d = def.clone();
    def.out_range =
        range::sample(|x| d.eval(x), d.domain).unwrap_or(Range::new(f64::MIN, f64::MAX));
    def
}

pub fn with_degree(name: &str, f: Builtin, dom: Range, d: usize, span: Span) -> ApproxDef {
    let mut def = ApproxDef {
        name: name.to_string(),
        domain: dom,
        basis: Basis::Chebyshev,
        coeffs: chebyshev(|x| f.eval1(x), dom, d),
        exact: Some(f),
        max_error: None,
        out_range: dom,
        span,
    };
    def.max_error = Some(max_error(&def, f));
    finish(def)
}

/// The lowest degree (up to [`MAX_DEGREE`]) whose error is at most `target`.
pub fn with_error(
    name: &str,
    f: Builtin,
    dom: Range,
    target: f64,
    span: Span,
) -> Result<ApproxDef, f64> {
    let mut best = f64::INFINITY;
    for d in 1..=MAX_DEGREE {
        let def = with_degree(name, f, dom, d, span);
        let e = def.max_error.unwrap_or(f64::INFINITY);
        best = best.min(e);
        if e <= target {
            return Ok(def);
        }
    }
    Err(best)
}

pub fn monomial(
    name: &str,
    coeffs: Vec<f64>,
    dom: Range,
    exact: Option<Builtin>,
    span: Span,
) -> ApproxDef {
    let mut def = ApproxDef {
        name: name.to_string(),
        domain: dom,
        basis: Basis::Monomial,
        coeffs,
        exact,
        max_error: None,
        out_range: dom,
        span,
    };
    if let Some(f) = exact {
        def.max_error = Some(max_error(&def, f));
    }
    finish(def)
}
