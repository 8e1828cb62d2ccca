//! Multiplicative depth of a checked program: how many CKKS levels each function, each loop
//! body and each output consumes, under the project's one depth rule.
//!
//! # The rule
//!
//! * A polynomial (`approx` or `poly`) costs what the runtime's polynomial evaluator consumes
//!   for it ([`approx::depth`], which calls `PolynomialEvaluator::depth_chebyshev` /
//!   `depth_power`): `⌈log2(d + 1)⌉` for the effective degree `d`, plus one for the change
//!   of variable `u = αx + β` of a Chebyshev series on an interval other than `[-1, 1]`,
//!   unless the slope `α` is an integer (no rescale). An argument `k·y + c` with an integer
//!   `k` (an integer product, plus plaintexts) is evaluated as the same series on
//!   `[a/k, b/k]` at `y` ([`approx::depth_scaled`]): the slope becomes `kα`.
//! * A product of two ciphertexts costs one level after the deeper operand.
//! * A product (or division) of a ciphertext by a plaintext costs one level, except by an
//!   integer constant (no rescale needed), or when the ciphertext is a product whose operands
//!   had different depths (the constant is then multiplied into the shallower operand first,
//!   at no extra level), or when the ciphertext was itself just multiplied by a plaintext
//!   scalar (the two factors fold into one). `x ** k` is `⌈log2 k⌉` products.
//! * Additions, subtractions, negation, rotations (`roll`), sums over an axis, slicing and
//!   transposition cost nothing; plaintext (public) values have depth 0.
//! * A `for i in lo..hi` loop with constant bounds is followed iteration by iteration; a
//!   mini-batch loop is reported per iteration, its carried state starting at depth 0 (fresh
//!   ciphertexts, or bootstrapped ones, at each iteration).
//!
//! The middle end will count levels the same way; the two must agree once it exists.

use super::approx;
use super::checked::{Builtin, CheckedProgram, LoopKind, TBlock, TExpr, TKind, TLoop, TStmt};
use super::ty::{Dim, Secrecy};
use crate::syntax::ast::BinOp;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Loops followed iteration by iteration up to this many iterations (beyond: per iteration).
const MAX_UNROLL: i64 = 4096;

/// What the analysis knows about one value.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Val {
    /// levels consumed so far (0 for fresh ciphertexts and plaintexts)
    depth: usize,
    /// a ciphertext (derived from a secret input or parameter)
    secret: bool,
    /// the value, when it is a compile-time scalar
    konst: Option<f64>,
    /// a public integer (a dimension, a constant integer)
    integer: bool,
    /// a ciphertext product whose operands had different depths: a plaintext factor can go
    /// into the shallower operand for free
    slack: bool,
    /// the last operation was a product by a plaintext scalar: a further scalar factor folds
    /// into it (`c2 (c1 x) = (c2 c1) x`)
    scaled: bool,
    /// the value is `factor·y + c` for a ciphertext `y` of the same depth, `factor` a positive
    /// integer (1 when nothing is known): a polynomial applied to it folds the factor into its
    /// change of variable
    factor: i64,
}

impl Val {
    fn plain(konst: Option<f64>, integer: bool) -> Val {
        Val {
            depth: 0,
            secret: false,
            konst,
            integer,
            slack: false,
            scaled: false,
            factor: 1,
        }
    }
    fn cipher(depth: usize) -> Val {
        Val {
            depth,
            secret: true,
            konst: None,
            integer: false,
            slack: false,
            scaled: false,
            factor: 1,
        }
    }
    fn is_integer(&self) -> bool {
        self.integer || self.konst.is_some_and(|v| v == v.trunc())
    }
}

/// The depth of one loop body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoopDepth {
    /// `for` (a range) or `batches`
    pub kind: &'static str,
    /// levels one iteration consumes (carried state entering at depth 0)
    pub body: usize,
    /// iterations, when the bounds are constants
    pub iterations: Option<i64>,
}

/// The depth of one function, its secret arguments entering at depth 0.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FnDepth {
    pub name: String,
    pub depth: usize,
    pub loops: Vec<LoopDepth>,
    /// measured at the program's calls (with their dimensions); false: standalone, a loop
    /// over a symbolic bound counted once
    pub called: bool,
}

/// The depth report of a program.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DepthReport {
    pub functions: Vec<FnDepth>,
    /// the program's own loops (training loops: per iteration)
    pub loops: Vec<LoopDepth>,
    /// depth of each output, in program order
    pub outputs: Vec<(String, usize)>,
    /// the approximations with their depth and degree
    pub approximations: Vec<(String, usize, usize)>,
}

impl DepthReport {
    /// A readable table.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let loops = |s: &mut String, ls: &[LoopDepth]| {
            for l in ls {
                let _ = match l.iterations {
                    Some(n) => writeln!(
                        s,
                        "    {} loop body: {} per iteration x {n}",
                        l.kind, l.body
                    ),
                    None => writeln!(s, "    {} loop body: {} per iteration", l.kind, l.body),
                };
            }
        };
        let _ = writeln!(
            s,
            "multiplicative depth (runtime polynomial evaluator's rule):"
        );
        for f in &self.functions {
            if f.called {
                let _ = writeln!(s, "  fn {}: {}", f.name, f.depth);
            } else {
                let _ = writeln!(
                    s,
                    "  fn {}: {} (not called: loops over symbolic bounds counted once)",
                    f.name, f.depth
                );
            }
            loops(&mut s, &f.loops);
        }
        for (name, depth, degree) in &self.approximations {
            let _ = writeln!(s, "  approx {name}: {depth} (degree {degree}; less where an integer factor of its argument folds into the change of variable)");
        }
        if !self.loops.is_empty() {
            let _ = writeln!(s, "  program:");
            loops(&mut s, &self.loops);
        }
        for (name, d) in &self.outputs {
            let _ = writeln!(s, "  output {name}: {d}");
        }
        s
    }

    /// The depth of function `name` (full name, e.g. `std::softmax::hetal`).
    pub fn function(&self, name: &str) -> Option<usize> {
        self.functions
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.depth)
    }
}

/// Depth of every function (secret arguments at depth 0), loop body and output.
///
/// A function the program calls is reported at its calls (with the dimensions they bind; the
/// most levels one call consumed); one it does not call, standalone, its symbolic dimensions
/// unknown (a loop over such a range is then counted for one iteration).
pub fn analyze(prog: &CheckedProgram) -> DepthReport {
    let mut a = Analyzer::new(prog);
    a.report_outputs = true;
    for s in &prog.body {
        a.stmt(s);
    }
    let mut functions = Vec::new();
    for (name, f) in &prog.functions {
        if let Some((depth, loops)) = a.called.get(name) {
            functions.push(FnDepth {
                name: name.clone(),
                depth: *depth,
                loops: loops.clone(),
                called: true,
            });
            continue;
        }
        let mut b = Analyzer::new(prog);
        for &p in &f.params {
            b.env.insert(p, vec![Val::cipher(0)]);
        }
        let v = b.block(&f.body);
        functions.push(FnDepth {
            name: name.clone(),
            depth: max_depth(&v),
            loops: b.loops,
            called: false,
        });
    }
    DepthReport {
        functions,
        loops: a.loops,
        outputs: a.outputs,
        approximations: prog
            .approximations
            .iter()
            .map(|(n, d)| (n.clone(), approx::depth(d), d.degree()))
            .collect(),
    }
}

/// Depth of one function (see [`analyze`]): `None` if the program has no such function.
pub fn function_depth(prog: &CheckedProgram, name: &str) -> Option<usize> {
    analyze(prog).function(name)
}

fn max_depth(v: &[Val]) -> usize {
    v.iter()
        .filter(|x| x.secret)
        .map(|x| x.depth)
        .max()
        .unwrap_or(0)
}

struct Analyzer<'p> {
    prog: &'p CheckedProgram,
    params: HashMap<&'p str, (f64, bool)>,
    env: HashMap<u32, Vec<Val>>,
    loops: Vec<LoopDepth>,
    outputs: Vec<(String, usize)>,
    report_outputs: bool,
    /// nesting of calls (a call's loops are reported with the callee, not the caller)
    call_depth: usize,
    /// values of the symbolic dimensions bound by the enclosing calls
    dims: HashMap<String, f64>,
    /// per function: the most levels one call consumed (result depth minus argument depth)
    /// and the loops seen in its body at that call
    called: BTreeMap<String, (usize, Vec<LoopDepth>)>,
}

impl<'p> Analyzer<'p> {
    fn new(prog: &'p CheckedProgram) -> Self {
        Analyzer {
            prog,
            params: prog
                .params
                .iter()
                .map(|p| (p.name.as_str(), (p.value, p.integer)))
                .collect(),
            env: HashMap::new(),
            loops: Vec::new(),
            outputs: Vec::new(),
            report_outputs: false,
            call_depth: 0,
            dims: HashMap::new(),
            called: BTreeMap::new(),
        }
    }

    fn one(&mut self, e: &TExpr) -> Val {
        let v = self.expr(e);
        join(&v)
    }

    fn block(&mut self, b: &TBlock) -> Vec<Val> {
        for s in &b.stmts {
            self.stmt(s);
        }
        match &b.tail {
            Some(t) => self.expr(t),
            None => vec![],
        }
    }

    fn stmt(&mut self, s: &TStmt) {
        match s {
            TStmt::Let { targets, value } => {
                let v = self.expr(value);
                if targets.len() == 1 {
                    self.env.insert(targets[0], v);
                } else {
                    let all = join(&v);
                    for (i, t) in targets.iter().enumerate() {
                        self.env.insert(*t, vec![v.get(i).copied().unwrap_or(all)]);
                    }
                }
            }
            TStmt::Output { name, value, .. } => {
                let v = self.expr(value);
                if self.report_outputs && self.call_depth == 0 {
                    // an output inside a loop: the deepest of its values
                    let d = max_depth(&v);
                    match self.outputs.iter_mut().find(|(n, _)| n == name) {
                        Some(o) => o.1 = o.1.max(d),
                        None => self.outputs.push((name.clone(), d)),
                    }
                }
            }
        }
    }

    fn expr(&mut self, e: &TExpr) -> Vec<Val> {
        let secret_ty = e.ty.secrecy() == Secrecy::Secret;
        let v = match &e.kind {
            TKind::Const(c) => Val::plain(Some(*c), c.trunc() == *c),
            TKind::Param(p) => match self.params.get(p.as_str()) {
                Some(&(v, int)) => Val::plain(Some(v), int || v.trunc() == v),
                None => Val::plain(None, false),
            },
            TKind::DimValue(d) => Val::plain(self.dim(d), true),
            TKind::Input(_) => {
                if secret_ty {
                    Val::cipher(0)
                } else {
                    Val::plain(None, false)
                }
            }
            TKind::Local(id) => {
                return self
                    .env
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| vec![Val::cipher(0)])
            }
            TKind::Neg(a) => {
                let mut v = self.one(a);
                v.konst = v.konst.map(|x| -x);
                v.factor = 1;
                v
            }
            TKind::Bin(op, a, b) => {
                let (x, y) = (self.one(a), self.one(b));
                bin(*op, x, y)
            }
            TKind::MatMul(a, b) => {
                let (x, y) = (self.one(a), self.one(b));
                product(x, y)
            }
            TKind::Transpose(a) => {
                let v = self.one(a);
                Val { konst: None, ..v }
            }
            TKind::Builtin(f, args) => {
                let vs: Vec<Val> = args.iter().map(|a| self.one(a)).collect();
                builtin(*f, &vs)
            }
            TKind::Approx(name, a) => {
                let x = self.one(a);
                if !x.secret {
                    Val::plain(None, false)
                } else {
                    let d = self
                        .prog
                        .approximations
                        .get(name)
                        .map(|def| approx::depth_scaled(def, x.factor))
                        .unwrap_or(0);
                    Val::cipher(x.depth + d)
                }
            }
            TKind::Call { func, args, dims } => {
                let vs: Vec<Vec<Val>> = args.iter().map(|a| self.expr(a)).collect();
                return self.call(func, dims, vs);
            }
            TKind::Index(a, _) => {
                let v = self.one(a);
                Val { konst: None, ..v }
            }
            TKind::Tuple(items) => {
                return items.iter().map(|i| self.one(i)).collect();
            }
            TKind::If(c, t, f) => {
                let c = self.one(c);
                let t = self.block(t);
                let f = self.block(f);
                let n = t.len().max(f.len()).max(1);
                return (0..n)
                    .map(|i| {
                        let a = t.get(i).copied().unwrap_or(join(&t));
                        let b = f.get(i).copied().unwrap_or(join(&f));
                        let mut v = join(&[a, b, c]);
                        v.konst = None;
                        v
                    })
                    .collect();
            }
            TKind::Loop(l) => return self.lp(l),
            TKind::Assume(a, _) => return self.expr(a),
        };
        vec![v]
    }

    fn dim(&self, d: &Dim) -> Option<f64> {
        match d {
            Dim::Const(n) => Some(*n as f64),
            Dim::Sym(s) => self.dims.get(s).copied(),
        }
    }

    fn call(&mut self, func: &str, dims: &[(String, Dim)], args: Vec<Vec<Val>>) -> Vec<Val> {
        let Some(f) = self.prog.functions.get(func) else {
            return vec![join(&args.iter().map(|a| join(a)).collect::<Vec<_>>())];
        };
        let bound: HashMap<String, f64> = dims
            .iter()
            .filter_map(|(name, d)| self.dim(d).map(|v| (name.clone(), v)))
            .collect();
        let arg_depth = args
            .iter()
            .flatten()
            .filter(|v| v.secret)
            .map(|v| v.depth)
            .max();
        let saved = std::mem::take(&mut self.env);
        let saved_loops = std::mem::take(&mut self.loops);
        let saved_dims = std::mem::replace(&mut self.dims, bound);
        for (p, a) in f.params.iter().zip(args) {
            self.env.insert(*p, a);
        }
        self.call_depth += 1;
        let out = self.block(&f.body);
        self.call_depth -= 1;
        if let Some(a) = arg_depth {
            let used = max_depth(&out).saturating_sub(a);
            let loops = std::mem::take(&mut self.loops);
            let entry = self.called.entry(func.to_string()).or_insert((0, vec![]));
            if used >= entry.0 {
                *entry = (used, loops);
            }
        }
        self.env = saved;
        self.loops = saved_loops;
        self.dims = saved_dims;
        out
    }

    fn lp(&mut self, l: &TLoop) -> Vec<Val> {
        let mut carried: Vec<Val> = l.carried.iter().map(|c| self.one(&c.init)).collect();
        let iterations = match &l.kind {
            LoopKind::Range { lo, hi, .. } => {
                let (lo, hi) = (self.one(lo), self.one(hi));
                match (lo.konst, hi.konst) {
                    (Some(a), Some(b)) => Some((b - a).max(0.0) as i64),
                    _ => None,
                }
            }
            LoopKind::Batches { .. } => None,
        };
        // One iteration from fresh ciphertexts: the body's own cost (a carried value that
        // starts as a plaintext, like zero weights, is a ciphertext after one update).
        let body = {
            let fresh = vec![Val::cipher(0); carried.len()];
            let out = self.iterate(l, &fresh);
            out.iter()
                .filter(|v| v.secret)
                .map(|v| v.depth)
                .max()
                .unwrap_or(0)
        };
        let kind = match l.kind {
            LoopKind::Range { .. } => "for",
            LoopKind::Batches { .. } => "batches",
        };
        let report = LoopDepth {
            kind,
            body,
            iterations,
        };
        match (&l.kind, iterations) {
            (LoopKind::Range { .. }, Some(n)) if n <= MAX_UNROLL => {
                for _ in 0..n {
                    carried = self.iterate(l, &carried);
                }
            }
            (LoopKind::Range { .. }, _) => {
                // unknown bounds: one iteration
                carried = self.iterate(l, &carried);
            }
            (LoopKind::Batches { .. }, _) => {
                // a training loop: its state is refreshed (bootstrapped) every iteration, so
                // what leaves it has the depth of one iteration
                let fresh = vec![Val::cipher(0); carried.len()];
                carried = self.iterate(l, &fresh);
            }
        }
        if !self.loops.contains(&report) {
            self.loops.push(report);
        }
        carried
    }

    /// One pass of the loop body with the carried state at the given depths.
    fn iterate(&mut self, l: &TLoop, carried: &[Val]) -> Vec<Val> {
        match &l.kind {
            LoopKind::Range { var, .. } => {
                self.env.insert(*var, vec![Val::plain(None, true)]);
            }
            LoopKind::Batches { vars, sources, .. } => {
                for (v, s) in vars.iter().zip(sources) {
                    let x = self.one(s);
                    self.env.insert(
                        *v,
                        vec![Val {
                            depth: 0,
                            slack: false,
                            scaled: false,
                            konst: None,
                            ..x
                        }],
                    );
                }
            }
        }
        for (c, v) in l.carried.iter().zip(carried) {
            self.env.insert(c.local, vec![*v]);
        }
        let out = self.block(&l.body);
        if out.len() == carried.len() {
            out
        } else {
            let j = join(&out);
            vec![j; carried.len()]
        }
    }
}

/// The deepest of several values (a tuple seen as one value, or operands of a free op).
fn join(v: &[Val]) -> Val {
    let secret = v.iter().any(|x| x.secret);
    Val {
        depth: v.iter().map(|x| x.depth).max().unwrap_or(0),
        secret,
        konst: if v.len() == 1 { v[0].konst } else { None },
        integer: !secret && v.iter().all(|x| x.integer),
        slack: v.len() == 1 && v[0].slack,
        scaled: v.len() == 1 && v[0].scaled,
        factor: if v.len() == 1 { v[0].factor } else { 1 },
    }
}

fn fold(op: BinOp, a: f64, b: f64) -> Option<f64> {
    Some(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::Pow => a.powf(b),
        _ => return None,
    })
}

fn bin(op: BinOp, x: Val, y: Val) -> Val {
    if !x.secret && !y.secret {
        let konst = match (x.konst, y.konst) {
            (Some(a), Some(b)) => fold(op, a, b),
            _ => None,
        };
        let integer = match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul => x.is_integer() && y.is_integer(),
            _ => konst.is_some_and(|v| v == v.trunc()),
        };
        return Val::plain(konst, integer || konst.is_some_and(|v| v == v.trunc()));
    }
    match op {
        // a plaintext added to k y keeps the form k y + c
        BinOp::Add | BinOp::Sub if x.secret != y.secret => Val {
            factor: if x.secret { x.factor } else { y.factor },
            ..Val::cipher(x.depth.max(y.depth))
        },
        BinOp::Add | BinOp::Sub => Val::cipher(x.depth.max(y.depth)),
        BinOp::Mul => product(x, y),
        BinOp::Div => {
            if !y.secret {
                // x / k = x * (1/k)
                let inv = Val::plain(y.konst.map(|k| 1.0 / k), false);
                product(x, inv)
            } else {
                // a division by a ciphertext is not a polynomial; count it as one product
                Val::cipher(x.depth.max(y.depth) + 1)
            }
        }
        BinOp::Pow => match y.konst {
            Some(k) if k >= 1.0 && k == k.trunc() => {
                let k = k as u64;
                let levels = (u64::BITS - (k - 1).leading_zeros()) as usize;
                Val {
                    slack: !k.is_power_of_two(),
                    ..Val::cipher(x.depth + levels)
                }
            }
            _ => Val::cipher(x.depth.max(y.depth) + 1),
        },
        _ => Val::cipher(x.depth.max(y.depth)),
    }
}

/// A product (elementwise or matrix) of two values.
fn product(x: Val, y: Val) -> Val {
    match (x.secret, y.secret) {
        (true, true) => Val {
            slack: x.depth != y.depth,
            ..Val::cipher(x.depth.max(y.depth) + 1)
        },
        (true, false) | (false, true) => {
            let (c, p) = if x.secret { (x, y) } else { (y, x) };
            if p.is_integer() {
                // an integer factor needs no rescale
                let factor = match p.konst {
                    Some(k) if (1.0..=(1u64 << 20) as f64).contains(&k) => {
                        c.factor.saturating_mul(k as i64)
                    }
                    _ => 1,
                };
                Val {
                    konst: None,
                    factor,
                    ..c
                }
            } else if c.slack || c.scaled {
                // folded into the shallower operand of the last product, or into the last
                // scalar factor
                Val {
                    slack: false,
                    scaled: true,
                    konst: None,
                    factor: 1,
                    ..c
                }
            } else {
                Val {
                    scaled: true,
                    ..Val::cipher(c.depth + 1)
                }
            }
        }
        (false, false) => Val::plain(None, x.is_integer() && y.is_integer()),
    }
}

fn builtin(f: Builtin, args: &[Val]) -> Val {
    let all = join(args);
    match f {
        Builtin::Zeros => Val::plain(Some(0.0), true),
        Builtin::Ones => Val::plain(Some(1.0), true),
        Builtin::Rows | Builtin::Cols => Val::plain(None, true),
        Builtin::Log2Ceil => {
            let k = args.first().and_then(|a| a.konst).map(|v| v.log2().ceil());
            Val::plain(k, true)
        }
        // sums and rotations commute with a pending scalar factor
        Builtin::Sum(_) | Builtin::RowSum | Builtin::Roll => Val {
            konst: None,
            integer: all.integer,
            slack: false,
            ..all
        },
        Builtin::Mean(_) => {
            if all.secret {
                product(all, Val::plain(None, false))
            } else {
                Val::plain(None, false)
            }
        }
        // exact functions: on plaintexts only (the checker rejects them on secrets, except
        // under `approximates`, where the approximation's body is what runs)
        _ => Val {
            konst: None,
            integer: false,
            slack: false,
            scaled: false,
            ..all
        },
    }
}
