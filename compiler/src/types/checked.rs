//! The checked program: the only input later passes (interpreter, tensor-IR lowering) accept.
//! Every node carries its full type (shape, secrecy, range); approximations carry their
//! coefficients; loops stay rolled with explicit carried state.

use super::ty::{Dim, Range, Ty};
use crate::syntax::ast::BinOp;
use crate::syntax::span::Span;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub type LocalId = u32;

/// Exact (non-polynomial or structural) builtins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Builtin {
    // elementwise exact functions (public values only; use an approximation for secrets)
    Exp,
    Log,
    Sigmoid,
    Sign,
    Step,
    Inverse,
    Sqrt,
    Tanh,
    Relu,
    Abs,
    /// x Φ(x) with the exact (erf) normal CDF, as torch.nn.GELU()
    Gelu,
    /// the derivative of `Gelu`: Φ(x) + x φ(x) (for backward passes)
    GeluGrad,
    /// row-wise (last axis) softmax, exact
    Softmax,
    /// max over the last axis, keeping it (size 1), exact
    RowMax,
    // structural (fine on secrets)
    Sum(usize),
    Mean(usize),
    /// sum over the last axis, keeping it with size 1
    RowSum,
    Zeros,
    Ones,
    Rows,
    Cols,
    /// cyclic shift along the last axis by a public amount (a CKKS rotation)
    Roll,
    Log2Ceil,
    /// public random initialisation: args are (seed, dims...); standard normal
    Randn,
    /// public random initialisation: args are (seed, lo, hi, dims...); numpy's
    /// `default_rng(seed).uniform(lo, hi, dims)`
    Uniform,
}

impl Builtin {
    pub fn exact_by_name(name: &str) -> Option<Builtin> {
        Some(match name {
            "exp" => Builtin::Exp,
            "log" => Builtin::Log,
            "sigmoid" => Builtin::Sigmoid,
            "sign" => Builtin::Sign,
            "step" => Builtin::Step,
            "inverse" => Builtin::Inverse,
            "sqrt" => Builtin::Sqrt,
            "tanh" => Builtin::Tanh,
            "relu" => Builtin::Relu,
            "abs" => Builtin::Abs,
            "gelu" => Builtin::Gelu,
            "gelu_grad" => Builtin::GeluGrad,
            "softmax" => Builtin::Softmax,
            "max" => Builtin::RowMax,
            _ => return None,
        })
    }
    pub fn is_elementwise_exact(self) -> bool {
        matches!(
            self,
            Builtin::Exp
                | Builtin::Log
                | Builtin::Sigmoid
                | Builtin::Sign
                | Builtin::Step
                | Builtin::Inverse
                | Builtin::Sqrt
                | Builtin::Tanh
                | Builtin::Relu
                | Builtin::Abs
                | Builtin::Gelu
                | Builtin::GeluGrad
        )
    }
    /// Scalar evaluation of an elementwise exact function.
    pub fn eval1(self, x: f64) -> f64 {
        match self {
            Builtin::Exp => x.exp(),
            Builtin::Log => x.ln(),
            Builtin::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Builtin::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Builtin::Step => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    0.0
                } else {
                    0.5
                }
            }
            Builtin::Inverse => 1.0 / x,
            Builtin::Sqrt => x.sqrt(),
            Builtin::Tanh => x.tanh(),
            Builtin::Relu => x.max(0.0),
            Builtin::Abs => x.abs(),
            Builtin::Gelu => x * normal_cdf(x),
            Builtin::GeluGrad => {
                normal_cdf(x) + x * (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
            }
            _ => f64::NAN,
        }
    }
    pub fn name(self) -> String {
        match self {
            Builtin::Sum(a) => format!("sum[axis {a}]"),
            Builtin::Mean(a) => format!("mean[axis {a}]"),
            Builtin::GeluGrad => "gelu_grad".into(),
            other => format!("{other:?}").to_lowercase(),
        }
    }
}

/// erf to about 1e-15: the Maclaurin series for |x| < 2.5, and the continued fraction of erfc
/// above (std has no erf).
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let a = x.abs();
    let r = if a < 2.5 {
        // erf x = 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let (mut term, mut sum) = (a, a);
        let x2 = a * a;
        for n in 1..200 {
            term *= -x2 / n as f64;
            let t = term / (2 * n + 1) as f64;
            sum += t;
            if t.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else if a < 27.0 {
        // erfc x = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated
        // bottom-up (Lentz is not needed at this range)
        let mut f = a;
        for k in (1..120).rev() {
            f = a + (k as f64 / 2.0) / f;
        }
        1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / f
    } else {
        1.0
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// The standard normal CDF Φ(x) = (1 + erf(x / sqrt 2)) / 2.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// A polynomial approximation, fully resolved: coefficients in the Chebyshev basis of `domain`
/// (for `approx`) or the monomial basis (for `poly`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApproxDef {
    pub name: String,
    pub domain: Range,
    pub basis: Basis,
    pub coeffs: Vec<f64>,
    /// the exact function this stands for (used by `--exact`)
    pub exact: Option<Builtin>,
    /// max |p - f| on the domain, measured at check time (None for `poly` without `approximates`)
    pub max_error: Option<f64>,
    /// output range over the domain (including the error)
    pub out_range: Range,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Basis {
    Monomial,
    Chebyshev,
}

impl ApproxDef {
    pub fn degree(&self) -> usize {
        self.coeffs.len().saturating_sub(1)
    }
    pub fn eval(&self, x: f64) -> f64 {
        match self.basis {
            Basis::Monomial => self.coeffs.iter().rev().fold(0.0, |acc, c| acc * x + c),
            // the runtime's plaintext reference, so that the interpreter computes what the
            // homomorphic evaluator approximates
            Basis::Chebyshev => {
                blindtune_runtime::circuits::polynomial::ChebyshevSeries::eval_coeffs(
                    &self.coeffs,
                    self.domain.lo,
                    self.domain.hi,
                    x,
                )
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TIndex {
    Full,
    Range(usize, usize),
    At(usize),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TKind {
    Const(f64),
    Local(LocalId),
    Param(String),
    Input(String),
    /// the run-time value of a symbolic dimension (a public integer)
    DimValue(Dim),
    Neg(Box<TExpr>),
    /// elementwise with broadcasting (including comparisons and `**`)
    Bin(BinOp, Box<TExpr>, Box<TExpr>),
    MatMul(Box<TExpr>, Box<TExpr>),
    Transpose(Box<TExpr>),
    Builtin(Builtin, Vec<TExpr>),
    /// apply an approximation from `CheckedProgram::approximations` elementwise
    Approx(String, Box<TExpr>),
    /// call a checked function; `dims` binds its symbolic dims at this call
    Call {
        func: String,
        args: Vec<TExpr>,
        dims: Vec<(String, Dim)>,
    },
    Index(Box<TExpr>, Vec<TIndex>),
    Tuple(Vec<TExpr>),
    If(Box<TExpr>, TBlock, TBlock),
    Loop(Box<TLoop>),
    /// a range annotation: an assumption the interpreter checks at run time
    Assume(Box<TExpr>, Range),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TExpr {
    pub kind: TKind,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TBlock {
    pub stmts: Vec<TStmt>,
    pub tail: Option<Box<TExpr>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TStmt {
    /// bind one local, or destructure a tuple into several
    Let { targets: Vec<LocalId>, value: TExpr },
    Output {
        name: String,
        value: TExpr,
        against: Option<TExpr>,
        in_loop: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum LoopKind {
    Range {
        var: LocalId,
        lo: TExpr,
        hi: TExpr,
    },
    /// mini-batches of the sources (split along axis 0); the batch rows are dim `batch_dim`
    Batches {
        vars: Vec<LocalId>,
        sources: Vec<TExpr>,
        size: TExpr,
        shuffle: bool,
        batch_dim: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Carried {
    pub local: LocalId,
    pub name: String,
    pub init: TExpr,
    pub ty: Ty,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TLoop {
    pub kind: LoopKind,
    pub carried: Vec<Carried>,
    pub body: TBlock,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LocalInfo {
    pub name: String,
    pub ty: Ty,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckedFn {
    pub name: String,
    pub params: Vec<LocalId>,
    pub dim_syms: Vec<String>,
    pub locals: Vec<LocalInfo>,
    pub ret: Ty,
    pub body: TBlock,
    pub exact: Option<Builtin>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckedParam {
    pub name: String,
    pub integer: bool,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckedInput {
    pub name: String,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckedOutput {
    pub name: String,
    pub ty: Ty,
    pub in_loop: bool,
    pub has_labels: bool,
}

/// A program that passed every check. Constructed only by [`crate::types::check`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckedProgram {
    pub params: Vec<CheckedParam>,
    pub inputs: Vec<CheckedInput>,
    pub functions: BTreeMap<String, CheckedFn>,
    pub approximations: BTreeMap<String, ApproxDef>,
    pub locals: Vec<LocalInfo>,
    pub body: Vec<TStmt>,
    pub outputs: Vec<CheckedOutput>,
    pub(crate) _sealed: (),
}

// ---------------------------------------------------------------------------------------------
// A readable dump (used by snapshots and `blindtune check --dump`).

fn r(x: &Range) -> String {
    x.to_string()
}

pub struct Dumper<'a> {
    pub locals: &'a [LocalInfo],
    pub out: String,
    pub indent: usize,
}

impl<'a> Dumper<'a> {
    fn nl(&mut self) {
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }
    fn local(&self, id: LocalId) -> String {
        format!(
            "{}#{id}",
            self.locals
                .get(id as usize)
                .map(|l| l.name.as_str())
                .unwrap_or("?")
        )
    }
    pub fn block(&mut self, b: &TBlock) {
        for s in &b.stmts {
            self.nl();
            self.stmt(s);
        }
        if let Some(t) = &b.tail {
            self.nl();
            self.out.push_str("yield ");
            self.expr(t);
        }
    }
    pub fn stmt(&mut self, s: &TStmt) {
        match s {
            TStmt::Let { targets, value } => {
                let names: Vec<String> = targets.iter().map(|t| self.local(*t)).collect();
                let _ = write!(self.out, "let {} : {} = ", names.join(", "), value.ty);
                self.expr(value);
            }
            TStmt::Output {
                name,
                value,
                against,
                in_loop,
            } => {
                let _ = write!(
                    self.out,
                    "output{} {name} : {} = ",
                    if *in_loop { "[per iteration]" } else { "" },
                    value.ty
                );
                self.expr(value);
                if let Some(a) = against {
                    self.out.push_str(" against ");
                    self.expr(a);
                }
            }
        }
    }
    /// Every node prints as `(op args) : type` only where the type changes shape or range;
    /// leaves print bare. Full types of every binding are on the `let` lines.
    pub fn expr(&mut self, e: &TExpr) {
        match &e.kind {
            TKind::Const(v) => self.out.push_str(&super::ty::fmt_num(*v)),
            TKind::Local(id) => self.out.push_str(&self.local(*id)),
            TKind::Param(p) => {
                let _ = write!(self.out, "param {p}");
            }
            TKind::Input(p) => {
                let _ = write!(self.out, "input {p}");
            }
            TKind::DimValue(d) => {
                let _ = write!(self.out, "dim {d}");
            }
            TKind::Neg(a) => {
                self.out.push_str("(neg ");
                self.expr(a);
                self.out.push(')');
            }
            TKind::Bin(op, a, b) => {
                let _ = write!(self.out, "({} ", op.text());
                self.expr(a);
                self.out.push(' ');
                self.expr(b);
                let _ = write!(self.out, " : {})", e.ty);
            }
            TKind::MatMul(a, b) => {
                self.out.push_str("(matmul ");
                self.expr(a);
                self.out.push(' ');
                self.expr(b);
                let _ = write!(self.out, " : {})", e.ty);
            }
            TKind::Transpose(a) => {
                self.out.push_str("(transpose ");
                self.expr(a);
                self.out.push(')');
            }
            TKind::Builtin(bi, args) => {
                let _ = write!(self.out, "({}", bi.name());
                for a in args {
                    self.out.push(' ');
                    self.expr(a);
                }
                let _ = write!(self.out, " : {})", e.ty);
            }
            TKind::Approx(name, a) => {
                let _ = write!(self.out, "(approx {name} ");
                self.expr(a);
                let _ = write!(self.out, " : {})", e.ty);
            }
            TKind::Call { func, args, dims } => {
                let _ = write!(self.out, "(call {func}");
                if !dims.is_empty() {
                    let d: Vec<String> = dims.iter().map(|(s, d)| format!("{s}={d}")).collect();
                    let _ = write!(self.out, "<{}>", d.join(", "));
                }
                for a in args {
                    self.out.push(' ');
                    self.expr(a);
                }
                let _ = write!(self.out, " : {})", e.ty);
            }
            TKind::Index(a, ix) => {
                self.out.push_str("(index ");
                self.expr(a);
                let items: Vec<String> = ix
                    .iter()
                    .map(|i| match i {
                        TIndex::Full => ":".to_string(),
                        TIndex::Range(a, b) => format!("{a}:{b}"),
                        TIndex::At(a) => a.to_string(),
                    })
                    .collect();
                let _ = write!(self.out, " [{}] : {})", items.join(", "), e.ty);
            }
            TKind::Tuple(es) => {
                self.out.push_str("(tuple");
                for a in es {
                    self.out.push(' ');
                    self.expr(a);
                }
                self.out.push(')');
            }
            TKind::If(c, t, f) => {
                self.out.push_str("(if ");
                self.expr(c);
                self.indent += 1;
                self.block(t);
                self.nl();
                self.out.push_str("else");
                self.block(f);
                self.indent -= 1;
                self.out.push(')');
            }
            TKind::Loop(l) => {
                self.out.push_str("(loop ");
                match &l.kind {
                    LoopKind::Range { var, lo, hi } => {
                        let _ = write!(self.out, "{} in ", self.local(*var));
                        self.expr(lo);
                        self.out.push_str("..");
                        self.expr(hi);
                    }
                    LoopKind::Batches {
                        vars,
                        sources,
                        size,
                        shuffle,
                        batch_dim,
                    } => {
                        let v: Vec<String> = vars.iter().map(|x| self.local(*x)).collect();
                        let _ = write!(self.out, "({}) in batches<{batch_dim}>(", v.join(", "));
                        for (i, s) in sources.iter().enumerate() {
                            if i > 0 {
                                self.out.push_str(", ");
                            }
                            self.expr(s);
                        }
                        self.out.push_str(") size ");
                        self.expr(size);
                        if *shuffle {
                            self.out.push_str(" shuffle");
                        }
                    }
                }
                self.indent += 1;
                for c in &l.carried {
                    self.nl();
                    let _ = write!(self.out, "carry {} : {} = ", self.local(c.local), c.ty);
                    self.expr(&c.init);
                }
                self.block(&l.body);
                self.indent -= 1;
                let _ = write!(self.out, ") : {}", e.ty);
            }
            TKind::Assume(a, rg) => {
                let _ = write!(self.out, "(assume {} ", r(rg));
                self.expr(a);
                self.out.push(')');
            }
        }
    }
}

impl CheckedProgram {
    /// A readable, deterministic dump of the whole checked program.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for p in &self.params {
            let _ = writeln!(
                out,
                "param {} : {} = {}",
                p.name,
                if p.integer { "int" } else { "real" },
                p.value
            );
        }
        for i in &self.inputs {
            let _ = writeln!(out, "input {} : {}", i.name, i.ty);
        }
        for (name, a) in &self.approximations {
            let _ = writeln!(
                out,
                "approx {name} : {:?} degree {} on {}{}{} -> {}",
                a.basis,
                a.degree(),
                a.domain,
                a.exact
                    .map(|e| format!(" approximates {}", e.name()))
                    .unwrap_or_default(),
                a.max_error
                    .map(|e| format!(" (max error {e:.2e})"))
                    .unwrap_or_default(),
                a.out_range
            );
        }
        for f in self.functions.values() {
            out.push_str(&dump_fn(f));
        }
        let mut d = Dumper {
            locals: &self.locals,
            out: String::new(),
            indent: 0,
        };
        d.out.push_str("main {");
        d.indent = 1;
        for s in &self.body {
            d.nl();
            d.stmt(s);
        }
        d.out.push_str("\n}\n");
        out.push_str(&d.out);
        for o in &self.outputs {
            let _ = writeln!(
                out,
                "output {} : {}{}{}",
                o.name,
                o.ty,
                if o.in_loop { " per iteration" } else { "" },
                if o.has_labels { " (scored)" } else { "" }
            );
        }
        out
    }
}

pub fn dump_fn(f: &CheckedFn) -> String {
    let mut d = Dumper {
        locals: &f.locals,
        out: String::new(),
        indent: 0,
    };
    let ps: Vec<String> = f
        .params
        .iter()
        .map(|p| format!("{} : {}", d.local(*p), f.locals[*p as usize].ty))
        .collect();
    let _ = write!(d.out, "fn {}({}) -> {}", f.name, ps.join(", "), f.ret);
    if let Some(e) = f.exact {
        let _ = write!(d.out, " approximates {}", e.name());
    }
    d.out.push_str(" {");
    d.indent = 1;
    d.block(&f.body);
    d.out.push_str("\n}\n");
    d.out
}
