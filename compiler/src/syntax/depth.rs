//! Depth limits. The LR parser accepts any nesting without recursing, but everything after it
//! (checker, interpreter, printers, derived `Clone`/`Debug`) walks trees recursively. So right
//! after parsing, every expression nested deeper than [`MAX_DEPTH`] is cut (replaced by an
//! error node) with an E0005 "nested too deeply" or E0006 "expression too long" diagnostic.
//! The walk here is itself iterative, and dropping the cut subtree is too (see `ast::Expr`'s
//! `Drop`).

use super::ast::*;
use super::span::Span;
use crate::diagnostics::Diagnostic;

/// The deepest expression tree the later passes are given. Parentheses are not nodes, so this
/// counts operators, calls, indexing, blocks, `if`s and loops on the way down.
pub const MAX_DEPTH: usize = 400;

struct Walk<'a> {
    /// (expression, depth, length of the chain of binary operators just above it)
    stack: Vec<(&'a mut Expr, usize, usize)>,
    cut: Option<Diagnostic>,
}

impl<'a> Walk<'a> {
    fn type_expr(&mut self, t: &'a mut Option<TypeExpr>, depth: usize) {
        if let Some(TypeExpr {
            range: Some((lo, hi)),
            ..
        }) = t
        {
            self.stack.push((lo, depth, 0));
            self.stack.push((hi, depth, 0));
        }
    }

    fn block(&mut self, b: &'a mut Block, depth: usize) {
        for s in &mut b.stmts {
            self.stmt(s, depth);
        }
        if let Some(t) = &mut b.tail {
            self.stack.push((t, depth, 0));
        }
    }

    fn stmt(&mut self, s: &'a mut Stmt, depth: usize) {
        match s {
            Stmt::Let { ty, value, .. } => {
                self.type_expr(ty, depth);
                self.stack.push((value, depth, 0));
            }
            Stmt::Output { value, against, .. } => {
                self.stack.push((value, depth, 0));
                if let Some(a) = against {
                    self.stack.push((a, depth, 0));
                }
            }
            Stmt::Error(_) => {}
        }
    }

    fn run(&mut self) {
        while let Some((e, depth, chain)) = self.stack.pop() {
            let leaf = matches!(
                e.kind,
                ExprKind::Number(_) | ExprKind::Path(_) | ExprKind::Error
            );
            if depth >= MAX_DEPTH && !leaf {
                if self.cut.is_none() {
                    self.cut = Some(too_deep(e.span, chain * 2 > depth));
                }
                // dismantled iteratively by `Expr`'s Drop
                e.kind = ExprKind::Error;
                continue;
            }
            let d = depth + 1;
            match &mut e.kind {
                ExprKind::Number(_) | ExprKind::Path(_) | ExprKind::Error => {}
                ExprKind::Unary(a) | ExprKind::Transpose(a) => self.stack.push((a, d, 0)),
                ExprKind::Binary(_, a, b) => {
                    self.stack.push((a, d, chain + 1));
                    self.stack.push((b, d, chain + 1));
                }
                ExprKind::Call(_, args) | ExprKind::Tuple(args) => {
                    for a in args {
                        self.stack.push((a, d, 0));
                    }
                }
                ExprKind::Index(a, items) => {
                    self.stack.push((a, d, 0));
                    for it in items {
                        match it {
                            IndexItem::Full => {}
                            IndexItem::At(x) | IndexItem::From(x) | IndexItem::To(x) => {
                                self.stack.push((x, d, 0))
                            }
                            IndexItem::Range(x, y) => {
                                self.stack.push((x, d, 0));
                                self.stack.push((y, d, 0));
                            }
                        }
                    }
                }
                ExprKind::If(c, t, f) => {
                    self.stack.push((c, d, 0));
                    self.block(t, d);
                    self.block(f, d);
                }
                ExprKind::For { iter, carry, body } => {
                    match &mut **iter {
                        LoopIter::Range { lo, hi, .. } => {
                            self.stack.push((lo, d, 0));
                            self.stack.push((hi, d, 0));
                        }
                        LoopIter::Batches { sources, size, .. } => {
                            for s in sources {
                                self.stack.push((s, d, 0));
                            }
                            self.stack.push((size, d, 0));
                        }
                    }
                    for c in carry {
                        self.type_expr(&mut c.ty, d);
                        self.stack.push((&mut c.init, d, 0));
                    }
                    self.block(body, d);
                }
                ExprKind::Block(b) => self.block(b, d),
            }
        }
    }
}

fn too_deep(span: Span, chain: bool) -> Diagnostic {
    if chain {
        Diagnostic::error(
            "E0006",
            format!("expression too long: more than {MAX_DEPTH} operators in one chain"),
            span,
            "this chain of operators is too long",
        )
        .with_help("split it into partial results with `let` (e.g. sums of a few hundred terms each), or use `sum(x, axis)` over a tensor")
    } else {
        Diagnostic::error(
            "E0005",
            format!("expression nested too deeply: more than {MAX_DEPTH} levels"),
            span,
            "nesting goes past the limit here",
        )
        .with_help("bind inner parts to names with `let` to flatten the expression")
    }
}

fn type_exprs(t: &mut TypeExpr) -> Vec<&mut Expr> {
    match &mut t.range {
        Some((lo, hi)) => vec![lo, hi],
        None => vec![],
    }
}

/// The top-level expressions of one item (the roots of the walk).
fn item_roots(it: &mut Item) -> Walk<'_> {
    let mut w = Walk {
        stack: vec![],
        cut: None,
    };
    match it {
        Item::Use { .. } | Item::Error(_) => {}
        Item::Param { value, .. } => w.stack.push((value, 0, 0)),
        Item::Input { ty, .. } => {
            for e in type_exprs(ty) {
                w.stack.push((e, 0, 0));
            }
        }
        Item::Fn(f) => {
            for (_, t) in &mut f.params {
                for e in type_exprs(t) {
                    w.stack.push((e, 0, 0));
                }
            }
            if let Some(r) = &mut f.ret {
                for t in r.types_mut() {
                    for e in type_exprs(t) {
                        w.stack.push((e, 0, 0));
                    }
                }
            }
            w.block(&mut f.body, 0);
        }
        Item::Approx { lo, hi, spec, .. } => {
            w.stack.push((lo, 0, 0));
            w.stack.push((hi, 0, 0));
            match spec {
                ApproxSpec::Degree(e) | ApproxSpec::Error(e) => w.stack.push((e, 0, 0)),
            }
        }
        Item::Poly { coeffs, lo, hi, .. } => {
            for c in coeffs {
                w.stack.push((c, 0, 0));
            }
            w.stack.push((lo, 0, 0));
            w.stack.push((hi, 0, 0));
        }
        Item::Stmt(s) => w.stmt(s, 0),
    }
    w
}

/// Cut every too-deep expression of `m`; one diagnostic per item that needed a cut.
pub fn limit_module(m: &mut Module) -> Vec<Diagnostic> {
    let mut out = vec![];
    for it in &mut m.items {
        let mut w = item_roots(it);
        w.run();
        out.extend(w.cut);
    }
    out
}

/// Cut a single expression (`--param NAME=EXPR`).
pub fn limit_expr(e: &mut Expr) -> Option<Diagnostic> {
    let mut w = Walk {
        stack: vec![(e, 0, 0)],
        cut: None,
    };
    w.run();
    w.cut
}
