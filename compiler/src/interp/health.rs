//! Run health. The plaintext run is the reference the encrypted circuit is built against, so a
//! run whose range assumptions fail, or whose outputs or carried state stop being finite, is a
//! failed run: [`violations`] turns a [`RunResult`] into one report per violation (location,
//! count, observed interval, and the approximations the value feeds), and `blindtune run`
//! exits non-zero on any unless told to continue.

use super::eval::RunResult;
use super::feeds;
use crate::diagnostics::SourceMap;
use crate::syntax::span::Span;
use crate::types::checked::CheckedProgram;
use crate::types::ty::Range;
use ndarray::ArrayD;

/// An output or carried value that held NaN or an infinity.
#[derive(Clone, Debug)]
pub struct NonFinite {
    pub span: Span,
    /// "output `loss`", "carried state `w`"
    pub what: String,
    pub evaluations: u64,
    /// evaluations in which at least one element was not finite
    pub bad_evaluations: u64,
    pub nan: u64,
    pub inf: u64,
    /// the interval of the finite elements seen (None if none was finite)
    pub observed: Option<Range>,
}

impl NonFinite {
    pub(crate) fn new(span: Span, what: String) -> Self {
        NonFinite {
            span,
            what,
            evaluations: 0,
            bad_evaluations: 0,
            nan: 0,
            inf: 0,
            observed: None,
        }
    }

    /// Account one evaluation of the value.
    pub(crate) fn record(&mut self, a: &ArrayD<f64>) {
        self.evaluations += 1;
        let (mut nan, mut inf) = (0u64, 0u64);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &v in a.iter() {
            if v.is_nan() {
                nan += 1;
            } else if v.is_infinite() {
                inf += 1;
            } else {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if nan + inf > 0 {
            self.bad_evaluations += 1;
        }
        self.nan += nan;
        self.inf += inf;
        if lo <= hi {
            self.observed = Some(match self.observed {
                Some(r) => Range::new(r.lo.min(lo), r.hi.max(hi)),
                None => Range::new(lo, hi),
            });
        }
    }
}

/// One violation of a run, ready to report.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub span: Span,
    pub message: String,
    /// approximations (qualified names) whose inputs depend on the value
    pub feeds: Vec<String>,
}

impl Violation {
    /// `file:line:col: message` plus the approximations it feeds.
    pub fn render(&self, sm: &SourceMap) -> String {
        let (l, c) = sm.line_col(self.span.file, self.span.start);
        let mut s = format!(
            "error: {} at {}:{l}:{c}",
            self.message,
            sm.name(self.span.file)
        );
        if self.feeds.is_empty() {
            s.push_str("\n  = note: it feeds no approximation");
        } else {
            s.push_str(&format!(
                "\n  = note: it feeds the approximation{} {}",
                if self.feeds.len() == 1 { "" } else { "s" },
                self.feeds
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        s
    }
}

/// Six decimals, or scientific notation for huge and tiny magnitudes.
fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e6).contains(&a) {
        format!("{v:.4e}")
    } else {
        format!("{v:.6}")
    }
}

fn fmt_range(r: Option<Range>) -> String {
    match r {
        Some(r) => format!("[{}, {}]", fmt_value(r.lo), fmt_value(r.hi)),
        None => "no finite value".into(),
    }
}

/// Every violation of a run, in source order: range assumptions that the data broke, and
/// outputs or carried values that were not finite.
pub fn violations(prog: &CheckedProgram, r: &RunResult) -> Vec<Violation> {
    let fed = feeds::approximations_fed(prog);
    let feeds_of = |span: Span| -> Vec<String> {
        fed.get(&feeds::key(span))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    };
    let mut out = vec![];
    for v in &r.range_checks {
        if v.violations == 0 {
            continue;
        }
        let mut message = format!(
            "range assumption {} violated in {}/{} evaluations (observed {})",
            v.declared,
            v.violations,
            v.evaluations,
            fmt_range(Some(v.observed))
        );
        if v.non_finite > 0 {
            message.push_str(&format!(", {} NaN or infinite values", v.non_finite));
        }
        out.push(Violation {
            span: v.span,
            message,
            feeds: feeds_of(v.span),
        });
    }
    for n in &r.non_finite {
        if n.bad_evaluations == 0 {
            continue;
        }
        out.push(Violation {
            span: n.span,
            message: format!(
                "{} is not finite in {}/{} evaluations ({} NaN, {} infinite values; {})",
                n.what,
                n.bad_evaluations,
                n.evaluations,
                n.nan,
                n.inf,
                match n.observed {
                    Some(_) => format!("finite values observed in {}", fmt_range(n.observed)),
                    None => "no finite value".into(),
                }
            ),
            feeds: feeds_of(n.span),
        });
    }
    out.sort_by_key(|v| (v.span.file, v.span.start));
    out
}
