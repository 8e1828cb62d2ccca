//! The canonical pretty printer (`blindtune fmt`). `parse(pretty(m))` equals `m` up to spans:
//! parentheses are re-inserted from operator precedence, numbers print in shortest round-trip form.

use super::ast::*;

pub fn module(m: &Module) -> String {
    module_with_comments(m, "")
}

/// Pretty-print keeping the `//` comments of `src` (the text `m` was parsed from): comments
/// before an item or statement stay before it, end-of-line comments stay at the end of the
/// line; a comment inside an expression moves to before the next statement.
pub fn module_with_comments(m: &Module, src: &str) -> String {
    let mut p = Printer {
        out: String::new(),
        indent: 0,
        comments: find_comments(src),
        next: 0,
        src,
    };
    let mut prev: Option<&'static str> = None;
    let mut prev_end = 0usize;
    for item in &m.items {
        let kind = item_kind(item);
        let span = item_span(item);
        if let Some(pk) = prev {
            // keep the author's blank lines; without source, separate kinds of items
            let blank = match src.get(prev_end..span.start as usize) {
                Some(gap) if !src.is_empty() => {
                    let lines: Vec<&str> = gap.split('\n').collect();
                    lines.len() > 2
                        && lines[1..lines.len() - 1]
                            .iter()
                            .any(|l| l.trim().is_empty())
                }
                _ => pk != kind || kind == "fn",
            };
            if blank || kind == "fn" || pk == "fn" {
                p.out.push('\n');
            }
        }
        prev = Some(kind);
        prev_end = span.end as usize;
        p.leading(span.start as usize, true);
        p.item(item);
        if let Some(c) = p.trailing(span.end as usize) {
            p.out.pop();
            p.out.push_str(&format!(" {c}\n"));
        }
    }
    p.leading(usize::MAX, true);
    p.out
}

struct Comment {
    start: usize,
    text: String,
}

/// The `//` and `/* */` comments of `src`: whatever the lexer skipped between tokens.
fn find_comments(src: &str) -> Vec<Comment> {
    let mut out = vec![];
    let mut gaps = vec![];
    let mut prev = 0;
    for (l, _, r) in super::lexer::lex(src) {
        gaps.push((prev, l));
        prev = r;
    }
    gaps.push((prev, src.len()));
    for (a, b) in gaps {
        let Some(gap) = src.get(a..b) else { continue };
        let mut i = 0;
        while let Some(j) = gap[i..].find('/') {
            let at = i + j;
            let rest = &gap[at..];
            let len = if rest.starts_with("//") {
                rest.find('\n').unwrap_or(rest.len())
            } else if rest.starts_with("/*") {
                rest.find("*/").map(|e| e + 2).unwrap_or(rest.len())
            } else {
                i = at + 1;
                continue;
            };
            out.push(Comment {
                start: a + at,
                text: rest[..len].trim_end().to_string(),
            });
            i = at + len.max(1);
        }
    }
    out
}

fn item_span(i: &Item) -> super::span::Span {
    match i {
        Item::Use { span, .. }
        | Item::Param { span, .. }
        | Item::Input { span, .. }
        | Item::Approx { span, .. }
        | Item::Poly { span, .. }
        | Item::Error(span) => *span,
        Item::Fn(f) => f.span,
        Item::Stmt(s) => stmt_span(s),
    }
}

fn stmt_span(s: &Stmt) -> super::span::Span {
    match s {
        Stmt::Let { span, .. } | Stmt::Output { span, .. } | Stmt::Error(span) => *span,
    }
}

fn item_kind(i: &Item) -> &'static str {
    match i {
        Item::Use { .. } => "use",
        Item::Param { .. } => "param",
        Item::Input { .. } => "input",
        Item::Fn(_) => "fn",
        Item::Approx { .. } | Item::Poly { .. } => "approx",
        Item::Stmt(_) | Item::Error(_) => "stmt",
    }
}

pub fn expr(e: &Expr) -> String {
    let mut p = Printer {
        out: String::new(),
        indent: 0,
        comments: vec![],
        next: 0,
        src: "",
    };
    p.expr(e, 0);
    p.out
}

pub fn type_expr(t: &TypeExpr) -> String {
    let mut p = Printer {
        out: String::new(),
        indent: 0,
        comments: vec![],
        next: 0,
        src: "",
    };
    p.ty(t);
    p.out
}

/// Shortest text that parses back to the same f64.
pub fn number(n: f64) -> String {
    if n.is_finite() {
        // the shorter of plain and exponent notation; both parse back to the same f64
        let plain = format!("{n}");
        let exp = format!("{n:e}");
        if exp.len() < plain.len() {
            exp
        } else {
            plain
        }
    } else {
        // not representable in source; print something that parses (1e999 is inf)
        "1e999".into()
    }
}

struct Printer<'s> {
    out: String,
    indent: usize,
    comments: Vec<Comment>,
    next: usize,
    src: &'s str,
}

impl Printer<'_> {
    /// Print the comments that start before `pos`, each on its own line.
    fn leading(&mut self, pos: usize, top: bool) {
        while self.next < self.comments.len() && self.comments[self.next].start < pos {
            let text = self.comments[self.next].text.clone();
            self.next += 1;
            self.out.push_str(&text);
            if top {
                self.out.push('\n');
            } else {
                self.nl();
            }
        }
    }
    /// The comment on the same line right after `end`, if any (consumed).
    fn trailing(&mut self, end: usize) -> Option<String> {
        let c = self.comments.get(self.next)?;
        let gap = self.src.get(end.min(c.start)..c.start)?;
        if c.start >= end && !gap.contains('\n') {
            self.next += 1;
            return Some(self.comments[self.next - 1].text.clone());
        }
        None
    }
    fn nl(&mut self) {
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("    ");
        }
    }
    fn path(&mut self, p: &[Ident]) {
        self.out.push_str(&path_text(p));
    }
    fn item(&mut self, item: &Item) {
        match item {
            Item::Use { path, .. } => {
                self.out.push_str("use ");
                self.path(path);
                self.out.push_str(";\n");
            }
            Item::Param {
                name, kind, value, ..
            } => {
                let k = match kind {
                    ScalarKind::Int => "int",
                    ScalarKind::Real => "real",
                };
                self.out.push_str(&format!("param {}: {k} = ", name.name));
                self.expr(value, 0);
                self.out.push_str(";\n");
            }
            Item::Input { name, ty, .. } => {
                self.out.push_str(&format!("input {}: ", name.name));
                self.ty(ty);
                self.out.push_str(";\n");
            }
            Item::Fn(f) => {
                self.out.push_str(&format!("fn {}(", f.name.name));
                for (i, (n, t)) in f.params.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push_str(&format!("{}: ", n.name));
                    self.ty(t);
                }
                self.out.push(')');
                match &f.ret {
                    Some(ReturnType::One(r)) => {
                        self.out.push_str(" -> ");
                        self.ty(r);
                    }
                    Some(ReturnType::Tuple(rs, _)) => {
                        self.out.push_str(" -> (");
                        for (i, r) in rs.iter().enumerate() {
                            if i > 0 {
                                self.out.push_str(", ");
                            }
                            self.ty(r);
                        }
                        self.out.push(')');
                    }
                    None => {}
                }
                if let Some(a) = &f.approximates {
                    self.out.push_str(&format!(" approximates {}", a.name));
                }
                self.out.push(' ');
                self.block(&f.body);
                self.out.push('\n');
            }
            Item::Approx {
                name,
                func,
                lo,
                hi,
                spec,
                ..
            } => {
                self.out
                    .push_str(&format!("approx {} = {} on [", name.name, func.name));
                self.expr(lo, 0);
                self.out.push_str(", ");
                self.expr(hi, 0);
                self.out.push_str("] ");
                match spec {
                    ApproxSpec::Degree(d) => {
                        self.out.push_str("degree ");
                        self.expr(d, 0);
                    }
                    ApproxSpec::Error(d) => {
                        self.out.push_str("error ");
                        self.expr(d, 0);
                    }
                }
                self.out.push_str(";\n");
            }
            Item::Poly {
                name,
                coeffs,
                lo,
                hi,
                approximates,
                ..
            } => {
                self.out.push_str(&format!("poly {} = [", name.name));
                self.list(coeffs);
                self.out.push_str("] on [");
                self.expr(lo, 0);
                self.out.push_str(", ");
                self.expr(hi, 0);
                self.out.push(']');
                if let Some(a) = approximates {
                    self.out.push_str(&format!(" approximates {}", a.name));
                }
                self.out.push_str(";\n");
            }
            Item::Stmt(s) => {
                self.stmt(s);
                self.out.push('\n');
            }
            Item::Error(_) => self.out.push_str("// <syntax error>\n"),
        }
    }
    fn list(&mut self, es: &[Expr]) {
        for (i, e) in es.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(e, 0);
        }
    }
    fn ty(&mut self, t: &TypeExpr) {
        let mut parts = 0;
        if let Some(s) = t.secrecy {
            self.out.push_str(match s {
                Secrecy::Secret => "secret",
                Secrecy::Public => "public",
            });
            parts += 1;
        }
        if let Some(e) = t.elem {
            if parts > 0 {
                self.out.push(' ');
            }
            self.out.push_str(match e {
                Elem::F64 => "f64",
                Elem::I64 => "i64",
                Elem::Bool => "bool",
            });
            parts += 1;
            if let Some(sh) = &t.shape {
                self.out.push('[');
                for (i, d) in sh.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    match d {
                        DimExpr::Const(n, _) => self.out.push_str(&n.to_string()),
                        DimExpr::Sym(s) => self.out.push_str(&s.name),
                    }
                }
                self.out.push(']');
            }
        }
        if let Some((lo, hi)) = &t.range {
            if parts > 0 {
                self.out.push(' ');
            }
            self.out.push_str("in [");
            self.expr(lo, 0);
            self.out.push_str(", ");
            self.expr(hi, 0);
            self.out.push(']');
        }
    }
    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Let { pat, ty, value, .. } => {
                self.out.push_str("let ");
                match pat {
                    Pattern::Name(n) => self.out.push_str(&n.name),
                    Pattern::Tuple(ns, _) => {
                        self.out.push('(');
                        self.out.push_str(
                            &ns.iter()
                                .map(|n| n.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        );
                        if ns.len() == 1 {
                            self.out.push(',');
                        }
                        self.out.push(')');
                    }
                }
                if let Some(t) = ty {
                    self.out.push_str(": ");
                    self.ty(t);
                }
                self.out.push_str(" = ");
                self.expr(value, 0);
                self.out.push(';');
            }
            Stmt::Output {
                name,
                value,
                against,
                ..
            } => {
                self.out.push_str(&format!("output {} = ", name.name));
                self.expr(value, 0);
                if let Some(a) = against {
                    self.out.push_str(" against ");
                    self.expr(a, 0);
                }
                self.out.push(';');
            }
            Stmt::Error(_) => self.out.push_str("// <syntax error>"),
        }
    }
    fn block(&mut self, b: &Block) {
        self.out.push('{');
        self.indent += 1;
        for s in &b.stmts {
            self.nl();
            let span = stmt_span(s);
            self.leading(span.start as usize, false);
            self.stmt(s);
            if let Some(c) = self.trailing(span.end as usize) {
                self.out.push_str(&format!(" {c}"));
            }
        }
        if let Some(t) = &b.tail {
            self.nl();
            self.leading(t.span.start as usize, false);
            self.expr(t, 0);
            if let Some(c) = self.trailing(t.span.end as usize) {
                self.out.push_str(&format!(" {c}"));
            }
        }
        if !self.src.is_empty()
            && self.next < self.comments.len()
            && self.comments[self.next].start < b.span.end as usize
        {
            self.nl();
            let end = b.span.end as usize;
            self.leading(end, false);
            // `leading` ended with a newline+indent for the next line; drop that indentation
            while self.out.ends_with(' ') {
                self.out.pop();
            }
            self.out.pop();
        }
        self.indent -= 1;
        self.nl();
        self.out.push('}');
    }
    /// `ctx`: the minimum precedence level that may appear here without parentheses:
    /// 0 any, 1 comparison operand.., 2 additive, 3 multiplicative rhs, 4 unary, 5 power lhs, 6 postfix.
    fn expr(&mut self, e: &Expr, ctx: u8) {
        let level = match &e.kind {
            ExprKind::If(..) | ExprKind::For { .. } | ExprKind::Block(_) => 0,
            ExprKind::Binary(op, ..) => op.prec(),
            ExprKind::Unary(_) => 4,
            _ => 6,
        };
        let paren = level < ctx;
        if paren {
            self.out.push('(');
        }
        match &e.kind {
            ExprKind::Number(n) => self.out.push_str(&number(*n)),
            ExprKind::Path(p) => self.path(p),
            ExprKind::Unary(x) => {
                self.out.push('-');
                self.expr(x, 4);
            }
            ExprKind::Binary(op, a, b) => {
                let p = op.prec();
                let (lc, rc) = match op {
                    BinOp::Pow => (6, 4),
                    // comparisons are non-associative
                    _ if p == 1 => (2, 2),
                    _ => (p, p + 1),
                };
                self.expr(a, lc);
                self.out.push_str(&format!(" {} ", op.text()));
                self.expr(b, rc);
            }
            ExprKind::Transpose(x) => {
                self.expr(x, 6);
                self.out.push_str(".T");
            }
            ExprKind::Call(p, args) => {
                self.path(p);
                self.out.push('(');
                self.list(args);
                self.out.push(')');
            }
            ExprKind::Index(x, items) => {
                self.expr(x, 6);
                self.out.push('[');
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    match it {
                        IndexItem::Full => self.out.push(':'),
                        IndexItem::Range(a, b) => {
                            self.expr(a, 2);
                            self.out.push(':');
                            self.expr(b, 2);
                        }
                        IndexItem::At(a) => self.expr(a, 2),
                        IndexItem::From(a) => {
                            self.expr(a, 2);
                            self.out.push(':');
                        }
                        IndexItem::To(b) => {
                            self.out.push(':');
                            self.expr(b, 2);
                        }
                    }
                }
                self.out.push(']');
            }
            ExprKind::Tuple(es) => {
                self.out.push('(');
                self.list(es);
                if es.len() == 1 {
                    self.out.push(',');
                }
                self.out.push(')');
            }
            ExprKind::If(c, t, f) => {
                self.out.push_str("if ");
                self.expr(c, 1);
                self.out.push(' ');
                self.block(t);
                self.out.push_str(" else ");
                match (&f.stmts[..], f.tail.as_deref()) {
                    // `else if`
                    (
                        [],
                        Some(
                            inner @ Expr {
                                kind: ExprKind::If(..),
                                ..
                            },
                        ),
                    ) => self.expr(inner, 0),
                    _ => self.block(f),
                }
            }
            ExprKind::For { iter, carry, body } => {
                self.out.push_str("for ");
                match &**iter {
                    LoopIter::Range { var, lo, hi } => {
                        self.out.push_str(&format!("{} in ", var.name));
                        self.expr(lo, 2);
                        self.out.push_str("..");
                        self.expr(hi, 2);
                    }
                    LoopIter::Batches {
                        vars,
                        sources,
                        size,
                        shuffle,
                    } => {
                        if vars.len() == 1 {
                            self.out.push_str(&vars[0].name);
                        } else {
                            self.out.push('(');
                            self.out.push_str(
                                &vars
                                    .iter()
                                    .map(|n| n.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            );
                            self.out.push(')');
                        }
                        self.out.push_str(" in batches(");
                        self.list(sources);
                        self.out.push_str(") size ");
                        self.expr(size, 2);
                        if *shuffle {
                            self.out.push_str(" shuffle");
                        }
                    }
                }
                if !carry.is_empty() {
                    self.out.push_str(" carry (");
                    for (i, c) in carry.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        self.out.push_str(&c.name.name);
                        if let Some(t) = &c.ty {
                            self.out.push_str(": ");
                            self.ty(t);
                        }
                        self.out.push_str(" = ");
                        self.expr(&c.init, 0);
                    }
                    self.out.push(')');
                }
                self.out.push(' ');
                self.block(body);
            }
            ExprKind::Block(b) => self.block(b),
            ExprKind::Error => self.out.push_str("0"),
        }
        if paren {
            self.out.push(')');
        }
    }
}
