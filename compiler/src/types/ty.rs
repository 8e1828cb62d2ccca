//! Semantic types: tensor types with element type, shape (constant or symbolic dims), secrecy
//! and an optional value range.

pub use crate::syntax::ast::{Elem, Secrecy};
use serde::Serialize;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Dim {
    Const(u64),
    /// A symbolic dimension: an input's (`N`), a function's generic (`n`), or a batch (`b1`).
    Sym(String),
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Const(n) => write!(f, "{n}"),
            Dim::Sym(s) => write!(f, "{s}"),
        }
    }
}

/// A closed interval of values; `None` in a type means "unknown".
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
}

impl Range {
    pub fn new(lo: f64, hi: f64) -> Range {
        Range { lo, hi }
    }
    pub fn point(v: f64) -> Range {
        Range { lo: v, hi: v }
    }
    pub fn within(&self, outer: &Range) -> bool {
        let tol = 1e-9 * (1.0 + outer.hi.abs().max(outer.lo.abs()));
        self.lo >= outer.lo - tol && self.hi <= outer.hi + tol
    }
    pub fn max_abs(&self) -> f64 {
        self.lo.abs().max(self.hi.abs())
    }
    pub fn is_finite(&self) -> bool {
        self.lo.is_finite() && self.hi.is_finite()
    }
}

pub fn fmt_num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 1e-3 && v.abs() < 1e6 {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.3e}")
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", fmt_num(self.lo), fmt_num(self.hi))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TensorType {
    pub elem: Elem,
    pub shape: Vec<Dim>,
    pub secrecy: Secrecy,
    pub range: Option<Range>,
}

impl TensorType {
    pub fn scalar(secrecy: Secrecy, range: Option<Range>) -> Self {
        TensorType {
            elem: Elem::F64,
            shape: vec![],
            secrecy,
            range,
        }
    }
    pub fn is_scalar(&self) -> bool {
        self.shape.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Ty {
    Tensor(TensorType),
    Tuple(Vec<Ty>),
    Unit,
    /// The type of an expression that already produced an error (suppresses follow-up errors).
    Error,
}

impl Ty {
    pub fn tensor(&self) -> Option<&TensorType> {
        match self {
            Ty::Tensor(t) => Some(t),
            _ => None,
        }
    }
    pub fn secrecy(&self) -> Secrecy {
        match self {
            Ty::Tensor(t) => t.secrecy,
            Ty::Tuple(ts) => ts
                .iter()
                .map(|t| t.secrecy())
                .max()
                .unwrap_or(Secrecy::Public),
            _ => Secrecy::Public,
        }
    }
}

pub fn secrecy_text(s: Secrecy) -> &'static str {
    match s {
        Secrecy::Public => "public",
        Secrecy::Secret => "secret",
    }
}

pub fn elem_text(e: Elem) -> &'static str {
    match e {
        Elem::F64 => "f64",
        Elem::I64 => "i64",
        Elem::Bool => "bool",
    }
}

pub fn shape_text(s: &[Dim]) -> String {
    format!(
        "[{}]",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", secrecy_text(self.secrecy), elem_text(self.elem))?;
        if !self.shape.is_empty() {
            write!(f, "{}", shape_text(&self.shape))?;
        }
        if let Some(r) = self.range {
            write!(f, " in {r}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Tensor(t) => write!(f, "{t}"),
            Ty::Tuple(ts) => write!(
                f,
                "({})",
                ts.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ty::Unit => write!(f, "()"),
            Ty::Error => write!(f, "{{error}}"),
        }
    }
}
