//! Warnings (rustc style; `--deny-warnings` turns them into a failure): unused `let`
//! bindings and unused loop results, constant-zero divisors (in `exprs.rs`), loops that run
//! zero or an enormous number of times, and `--param` values out of a sensible range. They are
//! reported only for programs without errors, and never for the standard library.

use super::*;

/// A loop with more iterations than this is almost certainly a mistake in plaintext and
/// impossible under encryption.
pub const MAX_SENSIBLE_TRIPS: f64 = 1e6;
/// `--param` values beyond this magnitude are reported.
pub const MAX_SENSIBLE_PARAM: f64 = 1e9;

impl<'m> Checker<'m> {
    fn linted(&self, module: usize) -> bool {
        !self.mods[module].path.starts_with("std")
    }

    /// W0001/W0002 for the `let`s of a finished function or main program that nobody read.
    pub(super) fn unused_lets(&mut self, frame: &Frame) {
        if !self.linted(frame.module) {
            return;
        }
        for (ids, span, is_loop) in &frame.lets {
            // a tuple pattern is unused only when none of its names is read
            if ids.iter().any(|id| frame.used.contains(id))
                || ids
                    .iter()
                    .all(|id| frame.locals[*id as usize].name.starts_with('_'))
            {
                continue;
            }
            let names: Vec<&str> = ids
                .iter()
                .map(|id| frame.locals[*id as usize].name.as_str())
                .collect();
            let name = if names.len() == 1 {
                names[0].to_string()
            } else {
                format!("({})", names.join(", "))
            };
            let d = if *is_loop {
                Diagnostic::warning(
                    "W0002",
                    format!("the result of this loop, `{name}`, is never used"),
                    *span,
                    "loop result unused",
                )
                .with_help(format!("a loop gives back its final carried state; without using `{name}` (e.g. in an `output` or passed on) the loop has no effect. Start the name with `_` if that is intended"))
            } else {
                Diagnostic::warning(
                    "W0001",
                    format!("unused `let` binding `{name}`"),
                    *span,
                    "never read",
                )
                .with_help("use it, remove the `let`, or start the name with `_` to say it is unused on purpose")
            };
            self.warn(d);
        }
    }

    /// W0004 for a `lo..hi` loop with constant bounds that runs zero or enormously many times.
    pub(super) fn trip_count(
        &mut self,
        module: usize,
        lo: Option<Range>,
        hi: Option<Range>,
        span: Span,
    ) {
        if !self.linted(module) {
            return;
        }
        let (Some(a), Some(b)) = (lo, hi) else {
            return;
        };
        if a.lo != a.hi || b.lo != b.hi {
            return;
        }
        let n = b.lo - a.lo;
        if n <= 0.0 {
            self.warn(
                Diagnostic::warning(
                    "W0004",
                    format!("this loop never runs: {}..{} is empty", fmt_num(a.lo), fmt_num(b.lo)),
                    span,
                    "zero iterations",
                )
                .with_help("the carried state passes through unchanged; check the bounds (a parameter such as an epoch count may be 0 or negative)"),
            );
        } else if n > MAX_SENSIBLE_TRIPS {
            self.warn(
                Diagnostic::warning(
                    "W0004",
                    format!("this loop runs {} times", fmt_num(n)),
                    span,
                    "enormous trip count",
                )
                .with_help(format!("loops are unrolled into the encrypted circuit; more than {} iterations is almost certainly a mistake in the bounds", fmt_num(MAX_SENSIBLE_TRIPS))),
            );
        }
    }

    /// W0005 for a `--param` override that no sensible program wants.
    pub(super) fn param_override(&mut self, q: &str, v: f64, integer: bool, span: Span) {
        let why = if !v.is_finite() {
            Some("is not finite")
        } else if v.abs() > MAX_SENSIBLE_PARAM {
            Some("is enormous")
        } else if integer && v < 0.0 {
            Some("is negative")
        } else {
            None
        };
        if let Some(why) = why {
            self.warn(
                Diagnostic::warning(
                    "W0005",
                    format!("`--param {q}={}` {why}", fmt_num(v)),
                    span,
                    "parameter declared here",
                )
                .with_help(format!("integer parameters count things (epochs, dims, batch sizes) and are used between 0 and {}; check the value given on the command line", fmt_num(MAX_SENSIBLE_PARAM))),
            );
        }
    }
}
