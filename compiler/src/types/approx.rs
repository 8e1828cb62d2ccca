//! Building polynomial approximations at check time: Chebyshev interpolation of an exact
//! function on its interval, for a given degree or the smallest degree meeting an error target.

use super::checked::{ApproxDef, Basis, Builtin};
use super::range;
use super::ty::Range;
use crate::syntax::span::Span;
use blindtune_runtime::circuits::polynomial::{ChebyshevSeries, PolynomialEvaluator, PowerSeries};

/// The highest degree an `approx … degree d` may ask for (the runtime evaluates any degree;
/// this keeps check-time interpolation, O(d²), fast).
pub const MAX_DEGREE: usize = 1023;

/// The highest degree `approx … error e` searches (every degree up to it is tried).
pub const MAX_SEARCH_DEGREE: usize = 64;

/// Chebyshev coefficients of the degree-`d` interpolant of `f` on `dom`: the runtime's
/// interpolation ([`ChebyshevSeries::interpolate`]), so that the checker's coefficients, error
/// and depth are those the homomorphic polynomial evaluator executes.
pub fn chebyshev(f: impl Fn(f64) -> f64, dom: Range, d: usize) -> Vec<f64> {
    if !(dom.lo < dom.hi) {
        // a point interval: the constant f(lo) (the runtime's interpolation needs lo < hi)
        return vec![f(dom.lo)];
    }
    ChebyshevSeries::interpolate(f, dom.lo, dom.hi, d).coeffs
}

/// The approximation as the runtime's Chebyshev series (`None` for the monomial basis).
pub fn runtime_chebyshev(def: &ApproxDef) -> Option<ChebyshevSeries> {
    match def.basis {
        Basis::Chebyshev => Some(ChebyshevSeries::new(
            def.coeffs.clone(),
            def.domain.lo,
            def.domain.hi,
        )),
        Basis::Monomial => None,
    }
}

/// Depth of `def` applied to `k·y + c` for an integer `k ≥ 1` and a ciphertext `y`: the
/// integer factor is folded into the change of variable (the runtime evaluates the same
/// series on `[a/k, b/k]` at `y`, whose slope is `k` times `def`'s), so the runtime's rule is
/// applied to that series. A slope that becomes an integer costs no level.
pub fn depth_scaled(def: &ApproxDef, k: i64) -> usize {
    match runtime_chebyshev(def) {
        Some(series)
            if k > 1
                && def.coeffs.iter().all(|c| c.is_finite())
                && def.domain.lo < def.domain.hi =>
        {
            let kf = k as f64;
            PolynomialEvaluator::depth_chebyshev(&ChebyshevSeries::new(
                series.coeffs,
                series.a / kf,
                series.b / kf,
            ))
        }
        _ => depth(def),
    }
}

/// Multiplicative depth of evaluating `def` on a ciphertext, by the runtime evaluator's own
/// rule ([`PolynomialEvaluator::depth_chebyshev`] / [`PolynomialEvaluator::depth_power`]):
/// `⌈log2(d + 1)⌉` for the effective degree `d`, plus one for the change of variable of a
/// Chebyshev series on an interval other than `[-1, 1]`.
pub fn depth(def: &ApproxDef) -> usize {
    if !def.coeffs.iter().all(|c| c.is_finite()) || !(def.domain.lo < def.domain.hi) {
        return 0;
    }
    match runtime_chebyshev(def) {
        Some(series) => PolynomialEvaluator::depth_chebyshev(&series),
        None => PolynomialEvaluator::depth_power(&PowerSeries::new(def.coeffs.clone())),
    }
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

/// The lowest degree (up to [`MAX_SEARCH_DEGREE`]) whose error is at most `target`.
pub fn with_error(
    name: &str,
    f: Builtin,
    dom: Range,
    target: f64,
    span: Span,
) -> Result<ApproxDef, f64> {
    let mut best = f64::INFINITY;
    for d in 1..=MAX_SEARCH_DEGREE {
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
