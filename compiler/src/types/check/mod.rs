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

mod approx_decl;
mod builtins;
mod consts;
mod exprs;
mod functions;
mod lints;
mod loops;
mod names;
mod stmts;

use builtins::Structural;

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
    /// Warnings; reported only when the program has no error (see `lints`).
    warnings: Vec<Diagnostic>,
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
    /// locals read somewhere (for the unused-`let` warning)
    used: HashSet<LocalId>,
    /// each `let`: (its locals, the pattern's span, bound to a loop's result)
    lets: Vec<(Vec<LocalId>, Span, bool)>,
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
            warnings: vec![],
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

    fn warn(&mut self, d: Diagnostic) {
        self.warnings.push(d);
    }

    pub fn check_main(mut self, main: usize) -> (Option<CheckedProgram>, Vec<Diagnostic>) {
        let m = &self.mods[main];
        let mut frame = Frame {
            module: main,
            in_fn: false,
            locals: vec![],
            scopes: vec![HashMap::new()],
            dim_syms: HashSet::new(),
            loop_depth: 0,
            used: HashSet::new(),
            lets: vec![],
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
        self.unused_lets(&frame);
        let errors = self
            .diags
            .iter()
            .any(|d| d.severity == crate::diagnostics::Severity::Error);
        let mut diags = std::mem::take(&mut self.diags);
        if !errors {
            diags.append(&mut self.warnings);
        }
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
