//! The checker: resolves names across modules, infers and checks shapes (symbolic dims are
//! unified), propagates secrecy and value ranges, types loop-carried state, and builds the
//! [`CheckedProgram`].

use super::approx as ap;
use super::checked::*;
use super::range as rg;
use super::resolve::{DefKind, Import, ModInfo};
use super::secrecy::{self, join};
use super::shape;
use super::ty::*;
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{self, BinOp, Expr, ExprKind, Ident, Item, Stmt};
use crate::syntax::span::Span;
use std::collections::{BTreeMap, HashMap, HashSet};

const STRUCTURAL: &[&str] = &[
    "sum", "mean", "rowsum", "zeros", "ones", "rows", "cols", "roll", "log2ceil",
];
/// The rank-polymorphic shape `[..]` (elementwise use only).
const ANY: &str = "..";

fn is_any(s: &[Dim]) -> bool {
    s.iter().any(|d| matches!(d, Dim::Sym(x) if x == ANY))
}

#[derive(Clone)]
enum FnState {
    InProgress,
    Done,
    Failed,
}

pub struct Checker<'m> {
    pub mods: &'m [ModInfo],
    pub diags: Vec<Diagnostic>,
    overrides: BTreeMap<String, f64>,
    param_vals: HashMap<String, Option<f64>>,
    param_busy: HashSet<String>,
    params_out: Vec<CheckedParam>,
    fn_state: HashMap<String, FnState>,
    functions: BTreeMap<String, CheckedFn>,
    approxes: BTreeMap<String, ApproxDef>,
    approx_failed: HashSet<String>,
    batch_counter: usize,
    outputs: Vec<CheckedOutput>,
    output_spans: HashMap<String, Span>,
    /// Nesting of the expressions being checked right now, counted across function bodies and
    /// parameter definitions: the stack the checker and the interpreter need grows with it.
    nest: usize,
    /// The deepest `nest` reached since the current function's check began.
    nest_max: usize,
    /// Per checked function: how much nesting its body adds to a call site.
    fn_nest: HashMap<String, usize>,
}

/// The most nested expressions, counted through calls (a function body adds its own depth to
/// every call site) and parameter definitions. Single expression trees are already cut at
/// [`crate::syntax::depth::MAX_DEPTH`].
pub const MAX_NEST: usize = 1000;

/// Per-function (or main) state.
struct Frame {
    module: usize,
    in_fn: bool,
    locals: Vec<LocalInfo>,
    scopes: Vec<HashMap<String, LocalId>>,
    dim_syms: HashSet<String>,
    loop_depth: usize,
}

impl Frame {
    fn new_local(&mut self, name: &str, ty: Ty) -> LocalId {
        self.locals.push(LocalInfo {
            name: name.to_string(),
            ty,
        });
        let id = (self.locals.len() - 1) as LocalId;
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), id);
        }
        id
    }
    fn lookup(&self, name: &str) -> Option<LocalId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }
}

/// What a path names.
enum Target {
    Def(usize, String, DefKind),
    NotFound,
    BadModule(String),
}

/// The return type of a call: generic dims and `[..]` replaced, secrecy from the arguments.
fn subst_ty(t: &Ty, binding: &BTreeMap<String, Dim>, any: Option<&[Dim]>, sec: Secrecy) -> Ty {
    match t {
        Ty::Tensor(t) => {
            let shape = match (is_any(&t.shape), any) {
                (true, Some(a)) => a.to_vec(),
                _ => shape::substitute(&t.shape, binding),
            };
            Ty::Tensor(TensorType {
                shape,
                secrecy: sec,
                ..t.clone()
            })
        }
        Ty::Tuple(ts) => Ty::Tuple(ts.iter().map(|x| subst_ty(x, binding, any, sec)).collect()),
        other => other.clone(),
    }
}

fn tensor_ty(t: TensorType) -> Ty {
    Ty::Tensor(t)
}

fn scalar_pub(v: Option<f64>) -> Ty {
    Ty::Tensor(TensorType {
        elem: Elem::F64,
        shape: vec![],
        secrecy: Secrecy::Public,
        range: v.map(Range::point),
    })
}

fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0005",
        format!("expression nested too deeply: more than {MAX_NEST} levels counting the bodies of the functions and parameters it uses"),
        span,
        "nesting goes past the limit here",
    )
    .with_help("bind inner parts to names with `let`, or call fewer levels of functions from deep inside an expression")
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + (ca != *cb) as usize)
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

impl<'m> Checker<'m> {
    pub fn new(mods: &'m [ModInfo], overrides: BTreeMap<String, f64>) -> Self {
        Checker {
            mods,
            diags: vec![],
            overrides,
            param_vals: HashMap::new(),
            param_busy: HashSet::new(),
            params_out: vec![],
            fn_state: HashMap::new(),
            functions: BTreeMap::new(),
            approxes: BTreeMap::new(),
            approx_failed: HashSet::new(),
            batch_counter: 0,
            outputs: vec![],
            output_spans: HashMap::new(),
            nest: 0,
            nest_max: 0,
            fn_nest: HashMap::new(),
        }
    }

    /// Enter one more level of nesting; false (with E0005 reported) past [`MAX_NEST`].
    fn nest_in(&mut self, span: Span, extra: usize) -> bool {
        let level = self.nest + extra;
        self.nest_max = self.nest_max.max(level);
        if level > MAX_NEST {
            self.err(too_deep(span));
            return false;
        }
        true
    }

    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    // ------------------------------------------------------------------ name resolution

    fn resolve_path(&self, module: usize, path: &[Ident]) -> Target {
        let m = &self.mods[module];
        if path.len() == 1 {
            let n = &path[0].name;
            if let Some(d) = m.defs.get(n) {
                return Target::Def(module, n.clone(), d.kind);
            }
            if let Some((Import::Item(t, item), _)) = m.imports.get(n) {
                if let Some(d) = self.mods[*t].defs.get(item) {
                    return Target::Def(*t, item.clone(), d.kind);
                }
            }
            return Target::NotFound;
        }
        let prefix: Vec<String> = path[..path.len() - 1]
            .iter()
            .map(|i| i.name.clone())
            .collect();
        let last = &path[path.len() - 1].name;
        let target_mod = if prefix.len() == 1 {
            match m.imports.get(&prefix[0]) {
                Some((Import::Module(t), _)) => Some(*t),
                _ => None,
            }
        } else {
            None
        }
        .or_else(|| {
            let full = prefix.join("::");
            self.mods.iter().position(|mm| mm.path == full)
        });
        match target_mod {
            Some(t) => match self.mods[t].defs.get(last) {
                Some(d) => Target::Def(t, last.clone(), d.kind),
                None => Target::NotFound,
            },
            None => Target::BadModule(prefix.join("::")),
        }
    }

    fn visible_names(&self, frame: &Frame) -> Vec<String> {
        let mut v: Vec<String> = frame
            .scopes
            .iter()
            .flat_map(|s| s.keys().cloned())
            .collect();
        v.extend(self.mods[frame.module].defs.keys().cloned());
        v.extend(self.mods[frame.module].imports.keys().cloned());
        v.extend(frame.dim_syms.iter().cloned());
        v
    }

    fn unknown_name(&mut self, frame: &Frame, path: &[Ident], span: Span, t: Target) {
        let text = ast::path_text(path);
        if let Target::BadModule(m) = t {
            self.err(
                Diagnostic::error(
                    "E0102",
                    format!("unknown module `{m}` in `{text}`"),
                    span,
                    "module not imported",
                )
                .with_help(format!(
                    "add `use std::{m};` (or the right module path) at the top of the file"
                )),
            );
            return;
        }
        let name = &path[path.len() - 1].name;
        let mut cands: Vec<(usize, String)> = self
            .visible_names(frame)
            .into_iter()
            .map(|c| (edit_distance(&c, name), c))
            .filter(|(d, _)| *d <= 2)
            .collect();
        cands.sort();
        let help = match cands.first() {
            Some((_, c)) => format!("a name with a similar spelling exists: `{c}`"),
            None => "names must be defined before use: a `let`, a parameter, an input, a loop variable, or an item brought in with `use`".to_string(),
        };
        self.err(
            Diagnostic::error(
                "E0101",
                format!("cannot find `{text}` in this scope"),
                span,
                "not found",
            )
            .with_help(help),
        );
    }

    // ------------------------------------------------------------------ constants

    fn param_value(&mut self, module: usize, name: &str) -> Option<f64> {
        let q = self.mods[module].qualify(name);
        if let Some(v) = self.param_vals.get(&q) {
            return *v;
        }
        if self.param_busy.contains(&q) {
            let span = self.mods[module].defs[name].span;
            self.err(
                Diagnostic::error(
                    "E0202",
                    format!("parameter `{q}` depends on itself"),
                    span,
                    "cyclic definition",
                )
                .with_help("give the parameter a value that does not refer back to it"),
            );
            return None;
        }
        let def = self.mods[module].defs.get(name)?.clone();
        let Item::Param {
            value,
            kind,
            name: id,
            ..
        } = &self.mods[module].ast.items[def.item]
        else {
            return None;
        };
        self.param_busy.insert(q.clone());
        self.nest += 1;
        let mut v = if self.nest_in(value.span, 0) {
            self.const_eval(module, value)
        } else {
            None
        };
        self.nest -= 1;
        self.param_busy.remove(&q);
        if let Some(o) = self.overrides.get(&q) {
            v = Some(*o);
        }
        if let (Some(x), ast::ScalarKind::Int) = (v, kind) {
            if x.fract() != 0.0 {
                self.err(
                    Diagnostic::error(
                        "E0202",
                        format!("parameter `{q}` is declared `int` but its value is {x}"),
                        id.span,
                        "not an integer",
                    )
                    .with_help("declare it `real` or give it a whole-number value"),
                );
            }
        }
        self.param_vals.insert(q.clone(), v);
        if let Some(x) = v {
            self.params_out.push(CheckedParam {
                name: q,
                integer: *kind == ast::ScalarKind::Int,
                value: x,
            });
        }
        v
    }

    /// Evaluate a compile-time constant expression; reports E0202 when it is not one.
    fn const_eval(&mut self, module: usize, e: &Expr) -> Option<f64> {
        match self.try_const(module, e) {
            Ok(v) => Some(v),
            Err(Some(span)) => {
                self.err(
                    Diagnostic::error("E0202", "expected a compile-time constant", span, "not known at compile time")
                        .with_help("use numbers, `param`s and arithmetic on them here (shapes, intervals, degrees and slices are fixed before running)"),
                );
                None
            }
            Err(None) => None,
        }
    }

    /// Err(Some(span)): not constant at span; Err(None): already reported.
    fn try_const(&mut self, module: usize, e: &Expr) -> Result<f64, Option<Span>> {
        match &e.kind {
            ExprKind::Number(n) => Ok(*n),
            ExprKind::Path(p) => match self.resolve_path(module, p) {
                Target::Def(m, n, DefKind::Param) => self.param_value(m, &n).ok_or(None),
                _ => Err(Some(e.span)),
            },
            ExprKind::Unary(a) => Ok(-self.try_const(module, a)?),
            ExprKind::Binary(op, a, b) => {
                let x = self.try_const(module, a)?;
                let y = self.try_const(module, b)?;
                match op {
                    BinOp::Add => Ok(x + y),
                    BinOp::Sub => Ok(x - y),
                    BinOp::Mul => Ok(x * y),
                    BinOp::Div => Ok(x / y),
                    BinOp::Pow => Ok(x.powf(y)),
                    _ => Err(Some(e.span)),
                }
            }
            ExprKind::Call(p, args)
                if p.len() == 1 && p[0].name == "log2ceil" && args.len() == 1 =>
            {
                let x = self.try_const(module, &args[0])?;
                Ok(x.max(1.0).log2().ceil())
            }
            _ => Err(Some(e.span)),
        }
    }

    fn const_int(&mut self, module: usize, e: &Expr, what: &str) -> Option<i64> {
        let v = self.const_eval(module, e)?;
        if v.fract() != 0.0 || !v.is_finite() {
            self.err(
                Diagnostic::error(
                    "E0202",
                    format!("{what} must be a whole number, found {v}"),
                    e.span,
                    "not an integer",
                )
                .with_help("use an integer constant"),
            );
            return None;
        }
        Some(v as i64)
    }

    fn const_range(&mut self, module: usize, lo: &Expr, hi: &Expr, span: Span) -> Option<Range> {
        let l = self.const_eval(module, lo)?;
        let h = self.const_eval(module, hi)?;
        if !(l < h) || !l.is_finite() || !h.is_finite() {
            self.err(
                Diagnostic::error(
                    "E0503",
                    format!("empty or invalid interval [{l}, {h}]"),
                    span,
                    "lower bound must be below upper bound",
                )
                .with_help("write intervals as `[lo, hi]` with lo < hi"),
            );
            return None;
        }
        Some(Range::new(l, h))
    }

    // ------------------------------------------------------------------ types from syntax

    fn dim_of(&mut self, module: usize, d: &ast::DimExpr) -> Dim {
        match d {
            ast::DimExpr::Const(n, _) => Dim::Const(*n),
            ast::DimExpr::Sym(id) => match self.resolve_path(module, std::slice::from_ref(id)) {
                Target::Def(m, n, DefKind::Param) => match self.param_value(m, &n) {
                    Some(v) if v >= 0.0 && v.fract() == 0.0 => Dim::Const(v as u64),
                    Some(v) => {
                        self.err(
                            Diagnostic::error(
                                "E0004",
                                format!("dimension `{}` has the non-integer value {v}", id.name),
                                id.span,
                                "not a dimension",
                            )
                            .with_help("dimension parameters must be `int`s"),
                        );
                        Dim::Sym(id.name.clone())
                    }
                    None => Dim::Sym(id.name.clone()),
                },
                _ => Dim::Sym(id.name.clone()),
            },
        }
    }

    /// A full type from a declaration (inputs, fn params/returns): omitted parts default to
    /// f64, scalar, and `default_secrecy`.
    fn full_type(
        &mut self,
        module: usize,
        t: &ast::TypeExpr,
        default_secrecy: Secrecy,
    ) -> TensorType {
        let shape = t
            .shape
            .as_ref()
            .map(|s| s.iter().map(|d| self.dim_of(module, d)).collect())
            .unwrap_or_default();
        let range = t
            .range
            .as_ref()
            .and_then(|(lo, hi)| self.const_range(module, lo, hi, t.span));
        TensorType {
            elem: t.elem.unwrap_or(Elem::F64),
            shape,
            secrecy: t.secrecy.unwrap_or(default_secrecy),
            range,
        }
    }

    // ------------------------------------------------------------------ approximations

    fn approx_def(&mut self, module: usize, name: &str) -> Option<String> {
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
                            .with_help("approximable functions: exp, log, sigmoid, sign, step, inverse, sqrt, tanh, relu, abs"),
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
                                    Diagnostic::error("E0504", format!("no polynomial of degree <= {} approximates `{}` on {dom} within {target}", ap::MAX_DEGREE, func.name), *span, format!("best reachable error is {best:.2e}"))
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
                                self.err(Diagnostic::error("E0505", format!("unknown function `{}`", a.name), a.span, "not an elementwise builtin").with_help("approximable functions: exp, log, sigmoid, sign, step, inverse, sqrt, tanh, relu, abs"));
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

    // ------------------------------------------------------------------ functions

    fn check_fn(&mut self, module: usize, name: &str, call_span: Option<Span>) -> Option<String> {
        let q = self.mods[module].qualify(name);
        match self.fn_state.get(&q) {
            Some(FnState::Done) => return Some(q),
            Some(FnState::Failed) => return None,
            Some(FnState::InProgress) => {
                let span = call_span.unwrap_or(self.mods[module].defs[name].span);
                self.err(
                    Diagnostic::error("E0108", format!("`{q}` calls itself"), span, "recursive call")
                        .with_help("recursion cannot be unrolled into a fixed CKKS circuit; use a `for` loop with a public bound"),
                );
                return None;
            }
            None => {}
        }
        self.fn_state.insert(q.clone(), FnState::InProgress);
        let item = self.mods[module].defs[name].item;
        let Item::Fn(f) = &self.mods[module].ast.items[item] else {
            return None;
        };
        let before = self.diags.len();
        let mut frame = Frame {
            module,
            in_fn: true,
            locals: vec![],
            scopes: vec![HashMap::new()],
            dim_syms: HashSet::new(),
            loop_depth: 0,
        };
        let mut params = vec![];
        for (pname, pty) in &f.params {
            let t = self.full_type(module, pty, Secrecy::Secret);
            for d in &t.shape {
                if let Dim::Sym(s) = d {
                    if s != ANY {
                        frame.dim_syms.insert(s.clone());
                    }
                }
            }
            params.push(frame.new_local(&pname.name, tensor_ty(t)));
        }
        let mut dim_syms: Vec<String> = frame.dim_syms.iter().cloned().collect();
        dim_syms.sort();
        let outer_max = std::mem::replace(&mut self.nest_max, self.nest);
        let mut body = self.block(&mut frame, &f.body);
        self.fn_nest
            .insert(q.clone(), self.nest_max.saturating_sub(self.nest));
        self.nest_max = self.nest_max.max(outer_max);
        let mut ret = body.tail.as_ref().map(|t| t.ty.clone()).unwrap_or(Ty::Unit);
        if let Some(rt) = &f.ret {
            let declared = self.full_type(module, rt, Secrecy::Secret);
            match &ret {
                Ty::Tensor(actual) => {
                    if actual.shape != declared.shape {
                        self.err(
                            Diagnostic::error("E0602", format!("`{}` returns shape {} but is declared to return {}", f.name.name, shape_text(&actual.shape), shape_text(&declared.shape)), body.tail.as_ref().map(|t| t.span).unwrap_or(f.body.span), "returned here")
                                .with_note(rt.span, "declared here")
                                .with_help("make the body's last expression match the declared return type, or fix the declaration"),
                        );
                    }
                    let mut t = actual.clone();
                    if rt.secrecy.is_some() {
                        t.secrecy = declared.secrecy;
                    }
                    if let Some(r) = declared.range {
                        t.range = Some(r);
                        if let Some(tail) = body.tail.take() {
                            let sp = tail.span;
                            body.tail = Some(Box::new(TExpr {
                                kind: TKind::Assume(tail, r),
                                ty: Ty::Tensor(t.clone()),
                                span: sp,
                            }));
                        }
                    }
                    ret = Ty::Tensor(t);
                }
                Ty::Error => {}
                other => {
                    let other = other.to_string();
                    self.err(
                        Diagnostic::error(
                            "E0602",
                            format!(
                                "`{}` is declared to return a tensor but its body gives {other}",
                                f.name.name
                            ),
                            f.body.span,
                            "body",
                        )
                        .with_help("end the body with the value to return"),
                    );
                }
            }
        }
        let exact = match &f.approximates {
            Some(a) => match Builtin::exact_by_name(&a.name) {
                Some(b) => Some(b),
                None => {
                    self.err(Diagnostic::error("E0505", format!("unknown exact function `{}`", a.name), a.span, "not a builtin").with_help("`approximates` names the exact builtin used under `--exact`: exp, log, sigmoid, sign, step, inverse, sqrt, tanh, relu, abs, softmax, max"));
                    None
                }
            },
            None => None,
        };
        let failed = self.diags[before..]
            .iter()
            .any(|d| d.severity == crate::diagnostics::Severity::Error);
        self.functions.insert(
            q.clone(),
            CheckedFn {
                name: q.clone(),
                params,
                dim_syms,
                locals: frame.locals,
                ret,
                body,
                exact,
                span: f.name.span,
            },
        );
        self.fn_state.insert(
            q.clone(),
            if failed {
                FnState::Failed
            } else {
                FnState::Done
            },
        );
        if failed {
            None
        } else {
            Some(q)
        }
    }

    // ------------------------------------------------------------------ statements

    fn block(&mut self, frame: &mut Frame, b: &ast::Block) -> TBlock {
        frame.scopes.push(HashMap::new());
        let stmts = b.stmts.iter().filter_map(|s| self.stmt(frame, s)).collect();
        let tail = b.tail.as_ref().map(|t| Box::new(self.expr(frame, t)));
        frame.scopes.pop();
        TBlock { stmts, tail }
    }

    fn stmt(&mut self, frame: &mut Frame, s: &Stmt) -> Option<TStmt> {
        match s {
            Stmt::Error(_) => None,
            Stmt::Let { pat, ty, value, .. } => {
                let mut v = self.expr(frame, value);
                if let Some(t) = ty {
                    v = self.annotate(frame, v, t);
                }
                let targets = match pat {
                    ast::Pattern::Name(n) => vec![frame.new_local(&n.name, v.ty.clone())],
                    ast::Pattern::Tuple(names, span) => {
                        let tys: Vec<Ty> = match &v.ty {
                            Ty::Tuple(ts) if ts.len() == names.len() => ts.clone(),
                            Ty::Error => vec![Ty::Error; names.len()],
                            other => {
                                let other = other.to_string();
                                self.err(
                                    Diagnostic::error("E0306", format!("cannot destructure {other} into {} names", names.len()), *span, "pattern does not match the value")
                                        .with_help("a loop gives back its carried state as a tuple with one element per `carry` binding"),
                                );
                                vec![Ty::Error; names.len()]
                            }
                        };
                        names
                            .iter()
                            .zip(tys)
                            .map(|(n, t)| frame.new_local(&n.name, t))
                            .collect()
                    }
                };
                Some(TStmt::Let { targets, value: v })
            }
            Stmt::Output {
                name,
                value,
                against,
                span,
            } => {
                if frame.in_fn {
                    self.err(Diagnostic::error("E0603", "`output` inside a function", *span, "not allowed here").with_help("return the value from the function and write `output` in the main program"));
                    return None;
                }
                if let Some(prev) = self.output_spans.get(&name.name) {
                    let prev = *prev;
                    self.err(
                        Diagnostic::error(
                            "E0603",
                            format!("output `{}` is defined twice", name.name),
                            name.span,
                            "duplicate",
                        )
                        .with_note(prev, "first defined here")
                        .with_help("give every output a distinct name"),
                    );
                    return None;
                }
                self.output_spans.insert(name.name.clone(), name.span);
                let v = self.expr(frame, value);
                let labels = against.as_ref().map(|a| self.expr(frame, a));
                if let (Some(l), Ty::Tensor(vt)) = (&labels, &v.ty) {
                    if let Ty::Tensor(lt) = &l.ty {
                        let multi = vt.shape.len() == 2
                            && lt.shape.len() == 1
                            && vt.shape[0] == lt.shape[0];
                        let binary = vt.shape.len() == 2
                            && vt.shape[1] == Dim::Const(1)
                            && lt.shape == vt.shape;
                        let ok = multi || binary;
                        if !ok {
                            self.err(
                                Diagnostic::error(
                                    "E0301",
                                    format!(
                                        "cannot score logits {} against labels {}",
                                        shape_text(&vt.shape),
                                        shape_text(&lt.shape)
                                    ),
                                    l.span,
                                    "labels here",
                                )
                                .with_help(
                                    "`against` needs logits [n, classes] with integer labels [n], or scores [n, 1] with 0/1 labels [n, 1]",
                                ),
                            );
                        }
                    }
                }
                if matches!(v.ty, Ty::Tuple(_) | Ty::Unit) {
                    self.err(
                        Diagnostic::error(
                            "E0603",
                            "an output must be a tensor",
                            value.span,
                            "not a tensor",
                        )
                        .with_help("output each element separately"),
                    );
                }
                self.outputs.push(CheckedOutput {
                    name: name.name.clone(),
                    ty: v.ty.clone(),
                    in_loop: frame.loop_depth > 0,
                    has_labels: labels.is_some(),
                });
                Some(TStmt::Output {
                    name: name.name.clone(),
                    value: v,
                    against: labels,
                    in_loop: frame.loop_depth > 0,
                })
            }
        }
    }

    /// Apply a `let x: T = ...` annotation: checks secrecy/elem/shape, and a range becomes an
    /// assumption (checked at run time by the interpreter).
    fn annotate(&mut self, frame: &mut Frame, v: TExpr, t: &ast::TypeExpr) -> TExpr {
        let Ty::Tensor(mut vt) = v.ty.clone() else {
            if v.ty != Ty::Error {
                self.err(
                    Diagnostic::error(
                        "E0308",
                        format!(
                            "cannot annotate a value of type {} with a tensor type",
                            v.ty
                        ),
                        t.span,
                        "annotation",
                    )
                    .with_help("annotations apply to tensors"),
                );
            }
            return v;
        };
        if let Some(s) = t.secrecy {
            if s == Secrecy::Public && vt.secrecy == Secrecy::Secret {
                self.err(
                    Diagnostic::error("E0405", "a secret value cannot be declared public", t.span, "declared public here")
                        .with_help("the server cannot decrypt; only the data owner can. Output the value and let the client decrypt it"),
                );
            }
            vt.secrecy = join(vt.secrecy, s);
        }
        if let Some(sh) = &t.shape {
            let dims: Vec<Dim> = sh.iter().map(|d| self.dim_of(frame.module, d)).collect();
            if dims != vt.shape {
                self.err(
                    Diagnostic::error(
                        "E0308",
                        format!(
                            "shape mismatch: the value has shape {} but is annotated {}",
                            shape_text(&vt.shape),
                            shape_text(&dims)
                        ),
                        t.span,
                        "annotation",
                    )
                    .with_help(
                        "fix the annotation or the expression; symbolic dims must match by name",
                    ),
                );
            }
        }
        if let Some(e) = t.elem {
            if e != vt.elem && !(e == Elem::F64 && vt.elem == Elem::I64) {
                self.err(
                    Diagnostic::error(
                        "E0601",
                        format!(
                            "the value is {} but is annotated {}",
                            elem_text(vt.elem),
                            elem_text(e)
                        ),
                        t.span,
                        "annotation",
                    )
                    .with_help("element types convert only from i64 to f64"),
                );
            }
            vt.elem = e;
        }
        if let Some((lo, hi)) = &t.range {
            if let Some(r) = self.const_range(frame.module, lo, hi, t.span) {
                vt.range = Some(r);
                return TExpr {
                    kind: TKind::Assume(Box::new(v), r),
                    ty: Ty::Tensor(vt),
                    span: t.span,
                };
            }
        }
        TExpr {
            ty: Ty::Tensor(vt),
            ..v
        }
    }

    // ------------------------------------------------------------------ expressions

    fn expr(&mut self, frame: &mut Frame, e: &Expr) -> TExpr {
        self.nest += 1;
        let t = if self.nest_in(e.span, 0) {
            self.expr_inner(frame, e)
        } else {
            TExpr {
                kind: TKind::Const(0.0),
                ty: Ty::Error,
                span: e.span,
            }
        };
        self.nest -= 1;
        t
    }

    fn expr_inner(&mut self, frame: &mut Frame, e: &Expr) -> TExpr {
        let span = e.span;
        let mk = |kind, ty| TExpr { kind, ty, span };
        match &e.kind {
            ExprKind::Error => mk(TKind::Const(0.0), Ty::Error),
            ExprKind::Number(n) => mk(TKind::Const(*n), scalar_pub(Some(*n))),
            ExprKind::Path(p) => self.path_expr(frame, p, span),
            ExprKind::Unary(a) => {
                let a = self.expr(frame, a);
                let ty = match &a.ty {
                    Ty::Tensor(t) => Ty::Tensor(TensorType {
                        range: rg::neg(t.range),
                        ..t.clone()
                    }),
                    Ty::Error => Ty::Error,
                    other => {
                        let o = other.to_string();
                        self.err(
                            Diagnostic::error(
                                "E0601",
                                format!("cannot negate {o}"),
                                span,
                                "not a tensor",
                            )
                            .with_help("negation applies to tensors"),
                        );
                        Ty::Error
                    }
                };
                mk(TKind::Neg(Box::new(a)), ty)
            }
            ExprKind::Binary(op, a, b) => {
                let a = self.expr(frame, a);
                let b = self.expr(frame, b);
                self.binary(*op, a, b, span)
            }
            ExprKind::Transpose(a) => {
                let a = self.expr(frame, a);
                let ty = match &a.ty {
                    Ty::Tensor(t) if t.shape.len() == 2 => Ty::Tensor(TensorType {
                        shape: vec![t.shape[1].clone(), t.shape[0].clone()],
                        ..t.clone()
                    }),
                    Ty::Tensor(t) => {
                        let s = shape_text(&t.shape);
                        self.err(Diagnostic::error("E0303", format!("`.T` needs a matrix, found shape {s}"), span, "not a matrix").with_help("transpose applies to rank-2 tensors; a vector needs no transpose for `@`"));
                        Ty::Error
                    }
                    _ => Ty::Error,
                };
                mk(TKind::Transpose(Box::new(a)), ty)
            }
            ExprKind::Call(p, args) => self.call(frame, p, args, span),
            ExprKind::Index(a, items) => {
                let a = self.expr(frame, a);
                self.index(frame, a, items, span)
            }
            ExprKind::Tuple(es) => {
                let es: Vec<TExpr> = es.iter().map(|x| self.expr(frame, x)).collect();
                let ty = Ty::Tuple(es.iter().map(|x| x.ty.clone()).collect());
                mk(TKind::Tuple(es), ty)
            }
            ExprKind::Block(b) => {
                let b = self.block(frame, b);
                let ty = b.tail.as_ref().map(|t| t.ty.clone()).unwrap_or(Ty::Unit);
                mk(
                    TKind::If(
                        Box::new(TExpr {
                            kind: TKind::Const(1.0),
                            ty: scalar_pub(Some(1.0)),
                            span,
                        }),
                        b.clone(),
                        b,
                    ),
                    ty,
                )
            }
            ExprKind::If(c, t, f) => {
                let c = self.expr(frame, c);
                if let Ty::Tensor(ct) = &c.ty {
                    if ct.secrecy == Secrecy::Secret {
                        self.err(
                            Diagnostic::error(
                                "E0401",
                                "this `if` branches on a secret value",
                                c.span,
                                "secret condition",
                            )
                            .with_help(secrecy::HELP_SELECT),
                        );
                    } else if ct.elem != Elem::Bool || !ct.shape.is_empty() {
                        let s = ct.to_string();
                        self.err(
                            Diagnostic::error(
                                "E0601",
                                format!(
                                    "an `if` condition must be a public bool scalar, found {s}"
                                ),
                                c.span,
                                "not a condition",
                            )
                            .with_help(
                                "compare public scalars, e.g. `if e < 10 { .. } else { .. }`",
                            ),
                        );
                    }
                }
                let t = self.block(frame, t);
                let f = self.block(frame, f);
                let tt = t.tail.as_ref().map(|x| x.ty.clone()).unwrap_or(Ty::Unit);
                let ft = f.tail.as_ref().map(|x| x.ty.clone()).unwrap_or(Ty::Unit);
                let ty = match (&tt, &ft) {
                    (Ty::Tensor(a), Ty::Tensor(b)) if a.shape == b.shape => {
                        Ty::Tensor(TensorType {
                            secrecy: join(a.secrecy, b.secrecy),
                            range: rg::hull(a.range, b.range),
                            ..a.clone()
                        })
                    }
                    (Ty::Error, _) | (_, Ty::Error) => Ty::Error,
                    (a, b) if a == b => a.clone(),
                    (a, b) => {
                        let (a, b) = (a.to_string(), b.to_string());
                        self.err(
                            Diagnostic::error(
                                "E0301",
                                format!("`if` branches have different types: {a} vs {b}"),
                                span,
                                "branches differ",
                            )
                            .with_help("both branches must produce the same shape"),
                        );
                        Ty::Error
                    }
                };
                mk(TKind::If(Box::new(c), t, f), ty)
            }
            ExprKind::For { iter, carry, body } => self.for_loop(frame, iter, carry, body, span),
        }
    }

    fn path_expr(&mut self, frame: &mut Frame, p: &[Ident], span: Span) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        if p.len() == 1 {
            let n = &p[0].name;
            if let Some(id) = frame.lookup(n) {
                return mk(TKind::Local(id), frame.locals[id as usize].ty.clone());
            }
            if frame.dim_syms.contains(n) {
                return mk(TKind::DimValue(Dim::Sym(n.clone())), scalar_pub(None));
            }
        }
        match self.resolve_path(frame.module, p) {
            Target::Def(m, n, DefKind::Param) => {
                let v = self.param_value(m, &n);
                match v {
                    Some(x) => mk(TKind::Param(self.mods[m].qualify(&n)), scalar_pub(Some(x))),
                    None => mk(TKind::Const(0.0), Ty::Error),
                }
            }
            Target::Def(m, n, DefKind::Input) => {
                if frame.in_fn {
                    self.err(
                        Diagnostic::error(
                            "E0107",
                            format!("input `{n}` used inside a function"),
                            span,
                            "inputs are global to the main program",
                        )
                        .with_help("pass the input to the function as an argument"),
                    );
                    return mk(TKind::Const(0.0), Ty::Error);
                }
                let item = self.mods[m].defs[&n].item;
                let Item::Input { ty, .. } = &self.mods[m].ast.items[item] else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                let t = self.full_type(m, ty, Secrecy::Secret);
                mk(TKind::Input(n), Ty::Tensor(t))
            }
            Target::Def(_, n, kind) => {
                let what = match kind {
                    DefKind::Fn => "function",
                    _ => "approximation",
                };
                self.err(
                    Diagnostic::error(
                        "E0105",
                        format!("`{n}` is a {what}, not a value"),
                        span,
                        "used as a value",
                    )
                    .with_help(format!("call it: `{n}(x)`")),
                );
                mk(TKind::Const(0.0), Ty::Error)
            }
            t => {
                self.unknown_name(frame, p, span, t);
                mk(TKind::Const(0.0), Ty::Error)
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: TExpr, b: TExpr, span: Span) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        let (ta, tb) = match (&a.ty, &b.ty) {
            (Ty::Tensor(x), Ty::Tensor(y)) => (x.clone(), y.clone()),
            (Ty::Error, _) | (_, Ty::Error) => {
                return mk(TKind::Bin(op, Box::new(a), Box::new(b)), Ty::Error)
            }
            (x, y) => {
                let (x, y) = (x.to_string(), y.to_string());
                self.err(
                    Diagnostic::error(
                        "E0601",
                        format!("`{}` needs tensors, found {x} and {y}", op.text()),
                        span,
                        "not tensors",
                    )
                    .with_help("destructure tuples with `let (a, b) = ...;` first"),
                );
                return mk(TKind::Bin(op, Box::new(a), Box::new(b)), Ty::Error);
            }
        };
        let sec = join(ta.secrecy, tb.secrecy);
        let is_cmp = matches!(
            op,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne
        );
        if !is_cmp && (ta.elem == Elem::Bool || tb.elem == Elem::Bool) {
            self.err(
                Diagnostic::error(
                    "E0601",
                    format!("arithmetic `{}` on a bool", op.text()),
                    span,
                    "bool operand",
                )
                .with_help("bools only appear as `if` conditions"),
            );
            return mk(TKind::Bin(op, Box::new(a), Box::new(b)), Ty::Error);
        }
        if op == BinOp::MatMul && (is_any(&ta.shape) || is_any(&tb.shape)) {
            self.err(Diagnostic::error("E0303", "`@` on a rank-polymorphic `[..]` tensor", span, "rank unknown here").with_help("`[..]` parameters only support elementwise operations; give the parameter a concrete shape like `f64[n, k]`"));
            return mk(TKind::MatMul(Box::new(a), Box::new(b)), Ty::Error);
        }
        if op == BinOp::MatMul {
            return match shape::matmul(&ta.shape, &tb.shape) {
                Ok(s) => {
                    let k = if ta.shape.len() == 2 {
                        &ta.shape[1]
                    } else {
                        &ta.shape[0]
                    };
                    let range = match k {
                        Dim::Const(k) => rg::scale(rg::mul(ta.range, tb.range), *k as f64),
                        _ => None,
                    };
                    mk(
                        TKind::MatMul(Box::new(a), Box::new(b)),
                        Ty::Tensor(TensorType {
                            elem: Elem::F64,
                            shape: s,
                            secrecy: sec,
                            range,
                        }),
                    )
                }
                Err(m) => {
                    self.err(Diagnostic::error("E0302", format!("matrix product shapes do not match: {m}"), span, "in this product").with_help("`a @ b` needs a's last dim equal to b's first; use `.T` to transpose (e.g. `x @ w.T` for logits)"));
                    mk(TKind::MatMul(Box::new(a), Box::new(b)), Ty::Error)
                }
            };
        }
        let shape = match shape::broadcast(&ta.shape, &tb.shape) {
            Ok(s) => s,
            Err(m) => {
                self.err(
                    Diagnostic::error("E0301", format!("shape mismatch in `{}`: {m}", op.text()), span, "these shapes do not broadcast")
                        .with_help("elementwise operators need equal dims or a dim of 1; for a matrix product use `@`"),
                );
                return mk(TKind::Bin(op, Box::new(a), Box::new(b)), Ty::Error);
            }
        };
        let elem = if is_cmp {
            Elem::Bool
        } else if ta.elem == Elem::I64 && tb.elem == Elem::I64 && op != BinOp::Div {
            Elem::I64
        } else {
            Elem::F64
        };
        let range = match op {
            BinOp::Add => rg::add(ta.range, tb.range),
            BinOp::Sub => rg::sub(ta.range, tb.range),
            BinOp::Mul => rg::mul(ta.range, tb.range),
            BinOp::Div => {
                if tb.secrecy == Secrecy::Secret {
                    self.err(
                        Diagnostic::error(
                            "E0403",
                            "division by a secret value",
                            b.span,
                            "secret divisor",
                        )
                        .with_help(secrecy::HELP_DIV),
                    );
                }
                rg::div(ta.range, tb.range)
            }
            BinOp::Pow => {
                let exp = match (&b.kind, tb.range) {
                    (_, Some(r)) if r.lo == r.hi => Some(r.lo),
                    _ => None,
                };
                match exp {
                    Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 64.0 => {
                        rg::powi(ta.range, n as u32)
                    }
                    _ if sec == Secrecy::Public => None,
                    _ => {
                        self.err(
                            Diagnostic::error("E0406", "a secret value raised to a non-constant or non-integer power", b.span, "exponent must be a constant whole number 0..=64")
                                .with_help("under CKKS only products are available: use `x ** 3` with a constant, or an `approx` for other powers"),
                        );
                        None
                    }
                }
            }
            _ => Some(Range::new(0.0, 1.0)),
        };
        mk(
            TKind::Bin(op, Box::new(a), Box::new(b)),
            Ty::Tensor(TensorType {
                elem,
                shape,
                secrecy: sec,
                range,
            }),
        )
    }

    fn index(
        &mut self,
        frame: &mut Frame,
        a: TExpr,
        items: &[ast::IndexItem],
        span: Span,
    ) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        let Ty::Tensor(t) = a.ty.clone() else {
            return mk(TKind::Index(Box::new(a), vec![]), Ty::Error);
        };
        if is_any(&t.shape) {
            self.err(
                Diagnostic::error(
                    "E0303",
                    "indexing a rank-polymorphic `[..]` tensor",
                    span,
                    "rank unknown here",
                )
                .with_help("`[..]` parameters only support elementwise operations"),
            );
            return mk(TKind::Index(Box::new(a), vec![]), Ty::Error);
        }
        if items.len() > t.shape.len() {
            self.err(
                Diagnostic::error(
                    "E0303",
                    format!(
                        "{} indices for a tensor of rank {}",
                        items.len(),
                        t.shape.len()
                    ),
                    span,
                    "too many indices",
                )
                .with_help(format!("the value has shape {}", shape_text(&t.shape))),
            );
            return mk(TKind::Index(Box::new(a), vec![]), Ty::Error);
        }
        let mut out = vec![];
        let mut shape = vec![];
        let mut ok = true;
        for (i, d) in t.shape.iter().enumerate() {
            let Some(it) = items.get(i) else {
                shape.push(d.clone());
                out.push(TIndex::Full);
                continue;
            };
            match it {
                ast::IndexItem::Full => {
                    shape.push(d.clone());
                    out.push(TIndex::Full);
                }
                ast::IndexItem::Range(lo, hi) => {
                    let (l, h) = (
                        self.const_int(frame.module, lo, "a slice bound"),
                        self.const_int(frame.module, hi, "a slice bound"),
                    );
                    let (Some(l), Some(h)) = (l, h) else {
                        ok = false;
                        continue;
                    };
                    let bad = l < 0 || h <= l || matches!(d, Dim::Const(n) if h as u64 > *n);
                    if bad {
                        self.err(
                            Diagnostic::error(
                                "E0307",
                                format!("slice {l}:{h} is out of bounds for axis {i} of size {d}"),
                                lo.span.to(hi.span),
                                "bad slice",
                            )
                            .with_help("slices are `lo:hi` with 0 <= lo < hi <= size"),
                        );
                        ok = false;
                        continue;
                    }
                    if let (Dim::Sym(s), false) = (d, l == 0 && h == 1) {
                        self.err(Diagnostic::error("E0307", format!("cannot slice axis {i} of symbolic size `{s}` with constant bounds"), lo.span.to(hi.span), "size unknown at compile time").with_help("slice axes of known size (e.g. the class axis)"));
                        ok = false;
                        continue;
                    }
                    shape.push(Dim::Const((h - l) as u64));
                    out.push(TIndex::Range(l as usize, h as usize));
                }
                ast::IndexItem::At(x) => {
                    let Some(v) = self.const_int(frame.module, x, "an index") else {
                        ok = false;
                        continue;
                    };
                    if v < 0 || matches!(d, Dim::Const(n) if v as u64 >= *n) {
                        self.err(
                            Diagnostic::error(
                                "E0307",
                                format!("index {v} is out of bounds for axis {i} of size {d}"),
                                x.span,
                                "bad index",
                            )
                            .with_help("indices go from 0 to size - 1"),
                        );
                        ok = false;
                        continue;
                    }
                    out.push(TIndex::At(v as usize));
                }
            }
        }
        let ty = if ok {
            Ty::Tensor(TensorType { shape, ..t })
        } else {
            Ty::Error
        };
        mk(TKind::Index(Box::new(a), out), ty)
    }

    fn dims_arg(&mut self, frame: &mut Frame, e: &Expr) -> Option<Dim> {
        if let ExprKind::Call(p, _) = &e.kind {
            if p.len() == 1 && (p[0].name == "rows" || p[0].name == "cols") {
                let t = self.expr(frame, e);
                return match t.kind {
                    TKind::DimValue(d) => Some(d),
                    TKind::Const(v) => Some(Dim::Const(v as u64)),
                    _ => None,
                };
            }
        }
        if let ExprKind::Path(p) = &e.kind {
            if p.len() == 1
                && frame.dim_syms.contains(&p[0].name)
                && frame.lookup(&p[0].name).is_none()
            {
                return Some(Dim::Sym(p[0].name.clone()));
            }
        }
        let v = self.const_int(frame.module, e, "a dimension")?;
        if v < 0 {
            self.err(
                Diagnostic::error(
                    "E0004",
                    format!("negative dimension {v}"),
                    e.span,
                    "negative",
                )
                .with_help("dimensions are non-negative"),
            );
            return None;
        }
        Some(Dim::Const(v as u64))
    }

    fn call(&mut self, frame: &mut Frame, p: &[Ident], args: &[Expr], span: Span) -> TExpr {
        let err_ty = |span| TExpr {
            kind: TKind::Const(0.0),
            ty: Ty::Error,
            span,
        };
        let target = self.resolve_path(frame.module, p);
        let name = p.last().map(|i| i.name.clone()).unwrap_or_default();
        match target {
            Target::Def(m, n, DefKind::Fn) => {
                let targs: Vec<TExpr> = args.iter().map(|a| self.expr(frame, a)).collect();
                let Some(q) = self.check_fn(m, &n, Some(span)) else {
                    return err_ty(span);
                };
                let need = self.fn_nest.get(&q).copied().unwrap_or(0);
                if !self.nest_in(span, need) {
                    return err_ty(span);
                }
                self.instantiate(&q, targs, span)
            }
            Target::Def(m, n, DefKind::Approx | DefKind::Poly) => {
                if args.len() != 1 {
                    self.err(
                        Diagnostic::error(
                            "E0201",
                            format!("`{n}` takes 1 argument, found {}", args.len()),
                            span,
                            "wrong number of arguments",
                        )
                        .with_help("an approximation is applied elementwise to one tensor"),
                    );
                    return err_ty(span);
                }
                let a = self.expr(frame, &args[0]);
                let Some(q) = self.approx_def(m, &n) else {
                    return err_ty(span);
                };
                self.apply_approx(&q, a, span)
            }
            Target::Def(_, n, _) => {
                self.err(
                    Diagnostic::error(
                        "E0105",
                        format!("`{n}` is not a function"),
                        span,
                        "called here",
                    )
                    .with_help("only `fn`s, `approx`/`poly` items and builtins can be called"),
                );
                err_ty(span)
            }
            Target::BadModule(_) => {
                self.unknown_name(frame, p, span, target);
                err_ty(span)
            }
            Target::NotFound if p.len() == 1 => {
                if let Some(b) = Builtin::exact_by_name(&name) {
                    if args.len() != 1 {
                        self.err(
                            Diagnostic::error(
                                "E0201",
                                format!("`{name}` takes 1 argument, found {}", args.len()),
                                span,
                                "wrong number of arguments",
                            )
                            .with_help(format!("write `{name}(x)`")),
                        );
                        return err_ty(span);
                    }
                    let a = self.expr(frame, &args[0]);
                    return self.exact_builtin(b, a, span);
                }
                if STRUCTURAL.contains(&name.as_str()) {
                    return self.structural(frame, &name, args, span);
                }
                self.unknown_name(frame, p, span, Target::NotFound);
                err_ty(span)
            }
            Target::NotFound => {
                self.unknown_name(frame, p, span, Target::NotFound);
                err_ty(span)
            }
        }
    }

    fn instantiate(&mut self, q: &str, args: Vec<TExpr>, span: Span) -> TExpr {
        let f = self.functions[q].clone();
        let mk = |kind, ty| TExpr { kind, ty, span };
        if args.len() != f.params.len() {
            self.err(
                Diagnostic::error(
                    "E0201",
                    format!(
                        "`{q}` takes {} argument{}, found {}",
                        f.params.len(),
                        if f.params.len() == 1 { "" } else { "s" },
                        args.len()
                    ),
                    span,
                    "wrong number of arguments",
                )
                .with_note(f.span, "defined here")
                .with_help(format!(
                    "the signature is ({})",
                    f.params
                        .iter()
                        .map(|p| format!(
                            "{}: {}",
                            f.locals[*p as usize].name, f.locals[*p as usize].ty
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
            return mk(
                TKind::Call {
                    func: q.to_string(),
                    args,
                    dims: vec![],
                },
                Ty::Error,
            );
        }
        let mut binding = BTreeMap::new();
        let mut any_shape: Option<Vec<Dim>> = None;
        let mut sec = Secrecy::Public;
        let mut ok = true;
        for (pid, a) in f.params.iter().zip(&args) {
            let pinfo = &f.locals[*pid as usize];
            let (Ty::Tensor(pt), Ty::Tensor(at)) = (&pinfo.ty, &a.ty) else {
                ok = false;
                continue;
            };
            sec = join(sec, at.secrecy);
            let mut problem = None;
            if is_any(&pt.shape) {
                match &any_shape {
                    Some(prev) if *prev != at.shape => {
                        problem = Some(format!(
                            "all `[..]` arguments must have the same shape: {} vs {}",
                            shape_text(prev),
                            shape_text(&at.shape)
                        ))
                    }
                    _ => any_shape = Some(at.shape.clone()),
                }
            } else if pt.shape.len() != at.shape.len() {
                problem = Some(format!(
                    "expected rank {} {}, found {}",
                    pt.shape.len(),
                    shape_text(&pt.shape),
                    shape_text(&at.shape)
                ));
            } else {
                for (dd, ad) in pt.shape.iter().zip(&at.shape) {
                    if let Err(m) = shape::unify_dim(dd, ad, &f.dim_syms, &mut binding) {
                        problem = Some(format!(
                            "{m} (parameter shape {}, argument shape {})",
                            shape_text(&pt.shape),
                            shape_text(&at.shape)
                        ));
                        break;
                    }
                }
            }
            if let Some(m) = problem {
                self.err(
                    Diagnostic::error(
                        "E0301",
                        format!(
                            "argument `{}` of `{q}` has the wrong shape: {m}",
                            pinfo.name
                        ),
                        a.span,
                        "this argument",
                    )
                    .with_help(
                        "symbolic dims in a signature must be the same wherever they appear",
                    ),
                );
                ok = false;
                continue;
            }
            if pt.range.is_some() {
                if !self.check_range(
                    at.range,
                    pt.range.unwrap(),
                    a.span,
                    &format!("parameter `{}` of `{q}`", pinfo.name),
                ) {
                    ok = false;
                }
            }
        }
        // explicit `public` parameters
        for (i, a) in args.iter().enumerate() {
            if let Some(Item::Fn(fd)) = self.find_fn_decl(q) {
                if let Some((pn, pt)) = fd.params.get(i) {
                    if pt.secrecy == Some(Secrecy::Public) && a.ty.secrecy() == Secrecy::Secret {
                        self.err(Diagnostic::error("E0405", format!("parameter `{}` of `{q}` must be public, but the argument is secret", pn.name), a.span, "secret argument").with_help("pass a public value (a parameter, a dimension, or a public input)"));
                        ok = false;
                    }
                }
            }
        }
        if !ok {
            return mk(
                TKind::Call {
                    func: q.to_string(),
                    args,
                    dims: vec![],
                },
                Ty::Error,
            );
        }
        let declared_sec = self.find_fn_decl(q).and_then(|i| {
            if let Item::Fn(fd) = i {
                fd.ret.as_ref().and_then(|r| r.secrecy)
            } else {
                None
            }
        });
        let ret = subst_ty(
            &f.ret,
            &binding,
            any_shape.as_deref(),
            declared_sec.unwrap_or(sec),
        );
        let dims: Vec<(String, Dim)> = binding.into_iter().collect();
        mk(
            TKind::Call {
                func: q.to_string(),
                args,
                dims,
            },
            ret,
        )
    }

    fn find_fn_decl(&self, q: &str) -> Option<&'m Item> {
        for m in self.mods {
            for (n, d) in &m.defs {
                if d.kind == DefKind::Fn && m.qualify(n) == q {
                    return m.ast.items.get(d.item);
                }
            }
        }
        None
    }

    fn check_range(
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

    fn apply_approx(&mut self, q: &str, a: TExpr, span: Span) -> TExpr {
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

    fn exact_builtin(&mut self, b: Builtin, a: TExpr, span: Span) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        let Ty::Tensor(t) = a.ty.clone() else {
            return mk(TKind::Builtin(b, vec![a]), Ty::Error);
        };
        if t.secrecy == Secrecy::Secret {
            let name = b.name();
            let help = match b {
                Builtin::Softmax => "use a polynomial softmax such as `std::softmax::hetal(z)` (bound `z` with a range annotation first)".to_string(),
                Builtin::RowMax => "use `std::math::max_tournament(x)` (composite sign polynomials)".to_string(),
                _ => format!("declare a polynomial approximation, e.g. `approx {name}_p = {name} on [-8, 8] degree 15;`, or use `std::math`"),
            };
            self.err(
                Diagnostic::error(
                    "E0404",
                    format!(
                        "`{name}` is not a polynomial and cannot be evaluated on a secret value"
                    ),
                    span,
                    "secret argument",
                )
                .with_help(help),
            );
            return mk(TKind::Builtin(b, vec![a]), Ty::Error);
        }
        let ty = match b {
            Builtin::Softmax => {
                if t.shape.is_empty() {
                    self.err(
                        Diagnostic::error(
                            "E0303",
                            "softmax needs at least a vector",
                            span,
                            "scalar",
                        )
                        .with_help("softmax normalises over the last axis"),
                    );
                    return mk(TKind::Builtin(b, vec![a]), Ty::Error);
                }
                TensorType {
                    range: Some(Range::new(0.0, 1.0)),
                    elem: Elem::F64,
                    ..t
                }
            }
            Builtin::RowMax => {
                let mut s = t.shape.clone();
                if let Some(l) = s.last_mut() {
                    *l = Dim::Const(1);
                }
                TensorType { shape: s, ..t }
            }
            _ => TensorType {
                range: t.range.and_then(|r| rg::sample(|x| b.eval1(x), r)),
                elem: Elem::F64,
                ..t
            },
        };
        mk(TKind::Builtin(b, vec![a]), Ty::Tensor(ty))
    }

    fn structural(&mut self, frame: &mut Frame, name: &str, args: &[Expr], span: Span) -> TExpr {
        let mk = |kind, ty| TExpr { kind, ty, span };
        let want = match name {
            "sum" | "mean" | "roll" => 2,
            "zeros" | "ones" => usize::MAX,
            _ => 1,
        };
        if want != usize::MAX && args.len() != want {
            self.err(
                Diagnostic::error(
                    "E0201",
                    format!(
                        "`{name}` takes {want} argument{}, found {}",
                        if want == 1 { "" } else { "s" },
                        args.len()
                    ),
                    span,
                    "wrong number of arguments",
                )
                .with_help(match name {
                    "sum" | "mean" => "write `sum(x, axis)` with a constant axis".to_string(),
                    "roll" => "write `roll(x, k)`: a cyclic shift of the last axis".to_string(),
                    _ => format!("write `{name}(x)`"),
                }),
            );
            return mk(TKind::Const(0.0), Ty::Error);
        }
        match name {
            "zeros" | "ones" => {
                let dims: Vec<Option<Dim>> = args.iter().map(|a| self.dims_arg(frame, a)).collect();
                let Some(shape) = dims.into_iter().collect::<Option<Vec<Dim>>>() else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                let v = if name == "zeros" { 0.0 } else { 1.0 };
                let b = if name == "zeros" {
                    Builtin::Zeros
                } else {
                    Builtin::Ones
                };
                let dim_exprs = shape
                    .iter()
                    .map(|d| TExpr {
                        kind: TKind::DimValue(d.clone()),
                        ty: scalar_pub(None),
                        span,
                    })
                    .collect();
                mk(
                    TKind::Builtin(b, dim_exprs),
                    Ty::Tensor(TensorType {
                        elem: Elem::F64,
                        shape,
                        secrecy: Secrecy::Public,
                        range: Some(Range::point(v)),
                    }),
                )
            }
            "rowsum" => {
                let a = self.expr(frame, &args[0]);
                let Ty::Tensor(t) = a.ty.clone() else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                if t.shape.is_empty() || is_any(&t.shape) {
                    self.err(
                        Diagnostic::error(
                            "E0303",
                            "`rowsum` needs a tensor of known rank >= 1",
                            a.span,
                            "scalar or rank-polymorphic",
                        )
                        .with_help("`rowsum(x)` sums the last axis and keeps it with size 1"),
                    );
                    return mk(TKind::Const(0.0), Ty::Error);
                }
                let mut shape = t.shape.clone();
                let last = shape.pop().unwrap();
                shape.push(Dim::Const(1));
                let range = match last {
                    Dim::Const(n) => rg::scale(t.range, n as f64),
                    _ => None,
                };
                mk(
                    TKind::Builtin(Builtin::RowSum, vec![a]),
                    Ty::Tensor(TensorType {
                        shape,
                        range,
                        elem: Elem::F64,
                        ..t
                    }),
                )
            }
            "rows" | "cols" => {
                let a = self.expr(frame, &args[0]);
                let Ty::Tensor(t) = &a.ty else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                if is_any(&t.shape) {
                    self.err(
                        Diagnostic::error("E0303", format!("`{name}` of a rank-polymorphic `[..]` tensor"), a.span, "rank unknown here")
                            .with_help("`[..]` parameters only support elementwise operations; give the parameter a concrete shape"),
                    );
                    return mk(TKind::Const(0.0), Ty::Error);
                }
                let idx = if name == "rows" {
                    0
                } else {
                    t.shape.len().wrapping_sub(1)
                };
                match t.shape.get(idx) {
                    Some(Dim::Const(n)) => mk(TKind::Const(*n as f64), scalar_pub(Some(*n as f64))),
                    Some(d) => mk(TKind::DimValue(d.clone()), scalar_pub(None)),
                    None => {
                        self.err(
                            Diagnostic::error(
                                "E0303",
                                format!("`{name}` of a scalar"),
                                a.span,
                                "scalar",
                            )
                            .with_help("`rows`/`cols` need a tensor of rank >= 1"),
                        );
                        mk(TKind::Const(0.0), Ty::Error)
                    }
                }
            }
            "log2ceil" => {
                let a = self.expr(frame, &args[0]);
                if let Ty::Tensor(t) = &a.ty {
                    if t.secrecy == Secrecy::Secret || !t.shape.is_empty() {
                        self.err(
                            Diagnostic::error(
                                "E0405",
                                "`log2ceil` needs a public scalar",
                                a.span,
                                "not a public scalar",
                            )
                            .with_help("use it on dimensions, e.g. `log2ceil(cols(x))`"),
                        );
                        return mk(TKind::Const(0.0), Ty::Error);
                    }
                    let r = t.range.map(|r| {
                        Range::new(r.lo.max(1.0).log2().ceil(), r.hi.max(1.0).log2().ceil())
                    });
                    return mk(
                        TKind::Builtin(Builtin::Log2Ceil, vec![a.clone()]),
                        Ty::Tensor(TensorType {
                            range: r,
                            ..t.clone()
                        }),
                    );
                }
                mk(TKind::Const(0.0), Ty::Error)
            }
            "roll" => {
                let a = self.expr(frame, &args[0]);
                let k = self.expr(frame, &args[1]);
                if let Ty::Tensor(kt) = &k.ty {
                    if kt.secrecy == Secrecy::Secret || !kt.shape.is_empty() {
                        self.err(Diagnostic::error("E0405", "the shift of `roll` must be a public scalar", k.span, "secret or non-scalar shift").with_help("rotation amounts are part of the circuit and must be known to the server"));
                        return mk(TKind::Const(0.0), Ty::Error);
                    }
                }
                let ty = match &a.ty {
                    Ty::Tensor(t) if t.shape.is_empty() => {
                        self.err(
                            Diagnostic::error("E0303", "`roll` of a scalar", a.span, "scalar")
                                .with_help("`roll` shifts the last axis of a tensor"),
                        );
                        Ty::Error
                    }
                    t => t.clone(),
                };
                mk(TKind::Builtin(Builtin::Roll, vec![a, k]), ty)
            }
            _ => {
                // sum / mean
                let a = self.expr(frame, &args[0]);
                let Some(axis) = self.const_int(frame.module, &args[1], "an axis") else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                let Ty::Tensor(t) = a.ty.clone() else {
                    return mk(TKind::Const(0.0), Ty::Error);
                };
                if is_any(&t.shape) {
                    self.err(
                        Diagnostic::error(
                            "E0303",
                            format!("`{name}` over an axis of a rank-polymorphic `[..]` tensor"),
                            a.span,
                            "rank unknown here",
                        )
                        .with_help("`[..]` parameters only support elementwise operations"),
                    );
                    return mk(TKind::Const(0.0), Ty::Error);
                }
                if axis < 0 || axis as usize >= t.shape.len() {
                    self.err(
                        Diagnostic::error(
                            "E0304",
                            format!(
                                "axis {axis} is out of range for shape {}",
                                shape_text(&t.shape)
                            ),
                            args[1].span,
                            "bad axis",
                        )
                        .with_help(format!(
                            "axes go from 0 to {}",
                            t.shape.len().saturating_sub(1)
                        )),
                    );
                    return mk(TKind::Const(0.0), Ty::Error);
                }
                let axis = axis as usize;
                let mut shape = t.shape.clone();
                let d = shape.remove(axis);
                let range = if name == "mean" {
                    t.range
                } else {
                    match d {
                        Dim::Const(n) => rg::scale(t.range, n as f64),
                        _ => None,
                    }
                };
                let b = if name == "sum" {
                    Builtin::Sum(axis)
                } else {
                    Builtin::Mean(axis)
                };
                mk(
                    TKind::Builtin(b, vec![a]),
                    Ty::Tensor(TensorType {
                        shape,
                        range,
                        elem: Elem::F64,
                        ..t
                    }),
                )
            }
        }
    }

    fn public_scalar(&mut self, e: &TExpr, what: &str) {
        if let Ty::Tensor(t) = &e.ty {
            if t.secrecy == Secrecy::Secret {
                self.err(
                    Diagnostic::error("E0402", format!("{what} is secret"), e.span, "secret value")
                        .with_help(secrecy::HELP_LOOP),
                );
            } else if !t.shape.is_empty() {
                self.err(
                    Diagnostic::error(
                        "E0303",
                        format!(
                            "{what} must be a scalar, found shape {}",
                            shape_text(&t.shape)
                        ),
                        e.span,
                        "not a scalar",
                    )
                    .with_help("use a parameter, a number or `rows(x)`"),
                );
            }
        }
    }

    fn for_loop(
        &mut self,
        frame: &mut Frame,
        iter: &ast::LoopIter,
        carry: &[ast::Carry],
        body: &ast::Block,
        span: Span,
    ) -> TExpr {
        // carried initial values are evaluated outside the loop
        let inits: Vec<TExpr> = carry.iter().map(|c| self.expr(frame, &c.init)).collect();
        let mut carried_tys: Vec<Ty> = vec![];
        for (c, init) in carry.iter().zip(&inits) {
            let mut ty = init.ty.clone();
            if let Ty::Tensor(t) = &mut ty {
                t.range = None;
                if let Some(ann) = &c.ty {
                    if let Some(s) = ann.secrecy {
                        if s == Secrecy::Public && t.secrecy == Secrecy::Secret {
                            self.err(
                                Diagnostic::error(
                                    "E0405",
                                    format!(
                                        "carried state `{}` is declared public but starts secret",
                                        c.name.name
                                    ),
                                    ann.span,
                                    "declared public",
                                )
                                .with_help(
                                    "drop the `public` qualifier; secret state stays secret",
                                ),
                            );
                        }
                        t.secrecy = join(t.secrecy, s);
                    }
                    if let Some((lo, hi)) = &ann.range {
                        t.range = self.const_range(frame.module, lo, hi, ann.span);
                    }
                    if let Some(sh) = &ann.shape {
                        let dims: Vec<Dim> =
                            sh.iter().map(|d| self.dim_of(frame.module, d)).collect();
                        if dims != t.shape {
                            self.err(Diagnostic::error("E0308", format!("carried state `{}` starts with shape {} but is annotated {}", c.name.name, shape_text(&t.shape), shape_text(&dims)), ann.span, "annotation").with_help("fix the initial value or the annotation"));
                        }
                    }
                }
            }
            carried_tys.push(ty);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let diag_mark = self.diags.len();
            let out_mark = self.outputs.len();
            let spans_before = self.output_spans.clone();
            frame.scopes.push(HashMap::new());
            frame.loop_depth += 1;
            let kind = match iter {
                ast::LoopIter::Range { var, lo, hi } => {
                    let lo_e = self.expr(frame, lo);
                    let hi_e = self.expr(frame, hi);
                    self.public_scalar(&lo_e, "the loop's lower bound");
                    self.public_scalar(&hi_e, "the loop's upper bound");
                    let r = match (
                        lo_e.ty.tensor().and_then(|t| t.range),
                        hi_e.ty.tensor().and_then(|t| t.range),
                    ) {
                        (Some(a), Some(b)) if a.lo == a.hi && b.lo == b.hi && b.lo > a.lo => {
                            Some(Range::new(a.lo, b.lo - 1.0))
                        }
                        _ => None,
                    };
                    let v = frame.new_local(
                        &var.name,
                        Ty::Tensor(TensorType {
                            elem: Elem::I64,
                            shape: vec![],
                            secrecy: Secrecy::Public,
                            range: r,
                        }),
                    );
                    LoopKind::Range {
                        var: v,
                        lo: lo_e,
                        hi: hi_e,
                    }
                }
                ast::LoopIter::Batches {
                    vars,
                    sources,
                    size,
                    shuffle,
                } => {
                    let srcs: Vec<TExpr> = sources.iter().map(|s| self.expr(frame, s)).collect();
                    let size_e = self.expr(frame, size);
                    self.public_scalar(&size_e, "the batch size");
                    self.batch_counter += 1;
                    let bdim = format!("b{}", self.batch_counter);
                    if vars.len() != srcs.len() {
                        self.err(
                            Diagnostic::error("E0306", format!("{} loop variables for {} batched sources", vars.len(), srcs.len()), span, "count mismatch")
                                .with_help("write one variable per source: `for (x, y) in batches(xs, ys) size B`"),
                        );
                    }
                    let mut rows: Option<(Dim, Span)> = None;
                    let mut vs = vec![];
                    for (v, s) in vars.iter().zip(&srcs) {
                        let ty = match &s.ty {
                            Ty::Tensor(t) if !t.shape.is_empty() => {
                                if let Some((r, rs)) = &rows {
                                    if *r != t.shape[0] {
                                        let r = r.clone();
                                        let rs = *rs;
                                        self.err(
                                            Diagnostic::error("E0301", format!("batched sources have different numbers of rows: {r} vs {}", t.shape[0]), s.span, "rows differ")
                                                .with_note(rs, format!("{r} rows here"))
                                                .with_help("all sources of `batches` are split along axis 0 and must have the same number of rows"),
                                        );
                                    }
                                } else {
                                    rows = Some((t.shape[0].clone(), s.span));
                                }
                                let mut sh = t.shape.clone();
                                sh[0] = Dim::Sym(bdim.clone());
                                Ty::Tensor(TensorType {
                                    shape: sh,
                                    ..t.clone()
                                })
                            }
                            Ty::Tensor(_) => {
                                self.err(
                                    Diagnostic::error(
                                        "E0303",
                                        "cannot split a scalar into batches",
                                        s.span,
                                        "scalar",
                                    )
                                    .with_help("`batches` splits tensors along their first axis"),
                                );
                                Ty::Error
                            }
                            _ => Ty::Error,
                        };
                        vs.push(frame.new_local(&v.name, ty));
                    }
                    frame.dim_syms.insert(bdim.clone());
                    LoopKind::Batches {
                        vars: vs,
                        sources: srcs,
                        size: size_e,
                        shuffle: *shuffle,
                        batch_dim: bdim,
                    }
                }
            };
            let mut carried = vec![];
            for ((c, init), ty) in carry.iter().zip(&inits).zip(&carried_tys) {
                let id = frame.new_local(&c.name.name, ty.clone());
                carried.push(Carried {
                    local: id,
                    name: c.name.name.clone(),
                    init: init.clone(),
                    ty: ty.clone(),
                });
            }
            let tb = self.block(frame, body);
            frame.loop_depth -= 1;
            frame.scopes.pop();
            // compare the body's result with the carried state
            let mut upgrade = false;
            if !carry.is_empty() {
                let carry_help = format!(
                    "end the body with `({})`",
                    carry
                        .iter()
                        .map(|c| c.name.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let results: Vec<(Ty, Span)> = match &tb.tail {
                    None => {
                        self.err(
                            Diagnostic::error(
                                "E0305",
                                "the loop body must end with the next carried state",
                                body.span,
                                "no final expression",
                            )
                            .with_help(carry_help.clone()),
                        );
                        vec![]
                    }
                    Some(t) if carry.len() == 1 => vec![(t.ty.clone(), t.span)],
                    Some(t) => match (&t.kind, &t.ty) {
                        (TKind::Tuple(es), _) if es.len() == carry.len() => {
                            es.iter().map(|e| (e.ty.clone(), e.span)).collect()
                        }
                        (_, Ty::Tuple(ts)) if ts.len() == carry.len() => {
                            ts.iter().map(|x| (x.clone(), t.span)).collect()
                        }
                        (_, Ty::Error) => vec![],
                        _ => {
                            self.err(
                                Diagnostic::error(
                                    "E0306",
                                    format!(
                                        "the loop carries {} values but the body gives {}",
                                        carry.len(),
                                        t.ty
                                    ),
                                    t.span,
                                    "wrong arity",
                                )
                                .with_help(carry_help.clone()),
                            );
                            vec![]
                        }
                    },
                };
                for (i, (rty, rspan)) in results.iter().enumerate() {
                    let (Ty::Tensor(rt), Ty::Tensor(ct)) = (rty, &carried_tys[i]) else {
                        continue;
                    };
                    if rt.shape != ct.shape {
                        self.err(
                            Diagnostic::error("E0305", format!("carried state `{}` changes shape: {} before the iteration, {} after", carry[i].name.name, shape_text(&ct.shape), shape_text(&rt.shape)), *rspan, "new value here")
                                .with_note(carry[i].name.span, "carried here")
                                .with_help("a loop's carried state must keep its shape across iterations (per-batch dims such as the batch rows cannot escape the loop; reduce them with `sum` or `@`)"),
                        );
                    }
                    if rt.secrecy > ct.secrecy {
                        if carry[i].ty.as_ref().and_then(|t| t.secrecy) == Some(Secrecy::Public) {
                            self.err(Diagnostic::error("E0405", format!("carried state `{}` is declared public but becomes secret in the loop", carry[i].name.name), *rspan, "secret value").with_help("drop the `public` qualifier"));
                        } else {
                            upgrade = true;
                        }
                    }
                }
                if upgrade && attempt == 1 {
                    for (i, (rty, _)) in results.iter().enumerate() {
                        if let (Ty::Tensor(rt), Ty::Tensor(ct)) = (rty, &mut carried_tys[i]) {
                            ct.secrecy = join(ct.secrecy, rt.secrecy);
                        }
                    }
                    self.diags.truncate(diag_mark);
                    self.outputs.truncate(out_mark);
                    self.output_spans = spans_before;
                    continue;
                }
            } else if let Some(t) = &tb.tail {
                self.err(Diagnostic::error("E0305", "a loop without `carry` cannot produce a value", t.span, "unused value").with_help("add `carry (name = init)` to thread state through the iterations, or remove the expression"));
            }
            let ty = match carried_tys.len() {
                0 => Ty::Unit,
                1 => carried_tys[0].clone(),
                _ => Ty::Tuple(carried_tys.clone()),
            };
            return TExpr {
                kind: TKind::Loop(Box::new(TLoop {
                    kind,
                    carried,
                    body: tb,
                })),
                ty,
                span,
            };
        }
    }

    // ------------------------------------------------------------------ driver

    pub fn check_main(mut self, main: usize) -> (Option<CheckedProgram>, Vec<Diagnostic>) {
        let m = &self.mods[main];
        let mut frame = Frame {
            module: main,
            in_fn: false,
            locals: vec![],
            scopes: vec![HashMap::new()],
            dim_syms: HashSet::new(),
            loop_depth: 0,
        };
        let mut inputs = vec![];
        // library modules: only declarations
        for (mi, md) in self.mods.iter().enumerate() {
            if mi == main {
                continue;
            }
            for it in &md.ast.items {
                let bad = match it {
                    Item::Input { span, .. } => Some(*span),
                    Item::Stmt(Stmt::Let { span, .. }) | Item::Stmt(Stmt::Output { span, .. }) => {
                        Some(*span)
                    }
                    _ => None,
                };
                if let Some(s) = bad {
                    self.diags.push(
                        Diagnostic::error(
                            "E0106",
                            format!(
                                "module `{}` is a library and cannot have inputs or statements",
                                md.path
                            ),
                            s,
                            "only allowed in the main program",
                        )
                        .with_help("libraries contain `fn`, `param`, `approx` and `poly` items"),
                    );
                }
            }
        }
        // check every function / approximation of every module, so errors in unused ones show
        for (mi, md) in self.mods.iter().enumerate() {
            for (n, d) in &md.defs {
                match d.kind {
                    DefKind::Fn => {
                        self.check_fn(mi, n, None);
                    }
                    DefKind::Approx | DefKind::Poly => {
                        self.approx_def(mi, n);
                    }
                    DefKind::Param => {
                        self.param_value(mi, n);
                    }
                    DefKind::Input => {}
                }
            }
        }
        for o in self.overrides.keys() {
            if !self.param_vals.contains_key(o) {
                self.diags.push(
                    Diagnostic::error(
                        "E0101",
                        format!("`--param {o}` names no parameter of this program"),
                        m.ast.span,
                        "in this program",
                    )
                    .with_help("parameters are declared with `param NAME: int = ...;`"),
                );
            }
        }
        for it in &m.ast.items {
            if let Item::Input { name, ty, span } = it {
                let t = self.full_type(main, ty, Secrecy::Secret);
                for d in &t.shape {
                    if let Dim::Sym(s) = d {
                        frame.dim_syms.insert(s.clone());
                    }
                }
                if ty.range.is_some() && t.range.is_none() {
                    continue;
                }
                inputs.push(CheckedInput {
                    name: name.name.clone(),
                    ty: Ty::Tensor(t),
                    span: *span,
                });
            }
        }
        let mut body = vec![];
        for it in &m.ast.items {
            if let Item::Stmt(s) = it {
                if let Some(ts) = self.stmt(&mut frame, s) {
                    body.push(ts);
                }
            }
        }
        let errors = self
            .diags
            .iter()
            .any(|d| d.severity == crate::diagnostics::Severity::Error);
        let mut diags = std::mem::take(&mut self.diags);
        diags.sort_by_key(|d| (d.span.file, d.span.start));
        diags.dedup();
        if errors {
            return (None, diags);
        }
        let mut params = self.params_out;
        params.sort_by(|a, b| a.name.cmp(&b.name));
        let prog = CheckedProgram {
            params,
            inputs,
            functions: self.functions,
            approximations: self.approxes,
            locals: frame.locals,
            body,
            outputs: self.outputs,
            _sealed: (),
        };
        (Some(prog), diags)
    }
}
