//! Interval arithmetic for value ranges. `None` means "unknown"; ranges matter only where an
//! approximation needs its argument inside its domain.

use super::ty::Range;

fn ok(r: Range) -> Option<Range> {
    if r.lo.is_nan() || r.hi.is_nan() || !r.is_finite() {
        None
    } else {
        Some(r)
    }
}

pub fn add(a: Option<Range>, b: Option<Range>) -> Option<Range> {
    let (a, b) = (a?, b?);
    ok(Range::new(a.lo + b.lo, a.hi + b.hi))
}
pub fn sub(a: Option<Range>, b: Option<Range>) -> Option<Range> {
    let (a, b) = (a?, b?);
    ok(Range::new(a.lo - b.hi, a.hi - b.lo))
}
pub fn neg(a: Option<Range>) -> Option<Range> {
    let a = a?;
    Some(Range::new(-a.hi, -a.lo))
}
pub fn mul(a: Option<Range>, b: Option<Range>) -> Option<Range> {
    let (a, b) = (a?, b?);
    let p = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
    ok(Range::new(
        p.iter().cloned().fold(f64::INFINITY, f64::min),
        p.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
    ))
}
pub fn div(a: Option<Range>, b: Option<Range>) -> Option<Range> {
    let b = b?;
    if b.lo <= 0.0 && b.hi >= 0.0 {
        return None;
    }
    mul(a, Some(Range::new(1.0 / b.hi, 1.0 / b.lo)))
}
pub fn scale(a: Option<Range>, k: f64) -> Option<Range> {
    mul(a, Some(Range::point(k)))
}
/// `x ** n` for a non-negative integer n.
pub fn powi(a: Option<Range>, n: u32) -> Option<Range> {
    let a = a?;
    if n == 0 {
        return Some(Range::point(1.0));
    }
    let (l, h) = (a.lo.powi(n as i32), a.hi.powi(n as i32));
    if n % 2 == 0 {
        let lo = if a.lo <= 0.0 && a.hi >= 0.0 {
            0.0
        } else {
            l.min(h)
        };
        ok(Range::new(lo, l.max(h)))
    } else {
        ok(Range::new(l, h))
    }
}
pub fn hull(a: Option<Range>, b: Option<Range>) -> Option<Range> {
    let (a, b) = (a?, b?);
    Some(Range::new(a.lo.min(b.lo), a.hi.max(b.hi)))
}
pub fn intersect(a: Range, b: Range) -> Range {
    Range::new(a.lo.max(b.lo), a.hi.min(b.hi).max(a.lo.max(b.lo)))
}
/// Range of a continuous function over an interval, by dense sampling plus a relative margin.
pub fn sample(f: impl Fn(f64) -> f64, r: Range) -> Option<Range> {
    let n = 2001;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..n {
        let x = r.lo + (r.hi - r.lo) * i as f64 / (n - 1) as f64;
        let y = f(x);
        if !y.is_finite() {
            return None;
        }
        lo = lo.min(y);
        hi = hi.max(y);
    }
    let m = 1e-6 * (hi - lo).abs().max(1e-12);
    ok(Range::new(lo - m, hi + m))
}
