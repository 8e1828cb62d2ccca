//! Secrecy: a two-point lattice `public < secret`. Results join their operands; a few places
//! demand `public` (control flow, loop bounds, divisors, exponents, exact non-polynomial
//! functions), because under CKKS the server cannot look at a secret value.

use super::ty::Secrecy;

pub fn join(a: Secrecy, b: Secrecy) -> Secrecy {
    a.max(b)
}

pub const HELP_SELECT: &str = "a secret value cannot steer control flow; compute both branches and blend them with a polynomial select: `s * a + (1 - s) * b` where `s = std::math::step(c)` approximates the condition";
pub const HELP_LOOP: &str = "loop bounds and batch sizes must be public (parameters, dimensions or public inputs); the server must know how many iterations to run";
pub const HELP_DIV: &str = "division needs a public divisor; for a secret divisor multiply by an approximate inverse, e.g. `x * std::math::inverse(d)` (Goldschmidt), after bounding `d` with a range annotation";
