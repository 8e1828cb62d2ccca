//! The surface syntax tree. Every node has a [`Span`]. Parentheses are not nodes (the pretty
//! printer re-inserts them from precedence), so `parse(pretty(m)) == m` up to spans.

use super::span::Span;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Module {
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Item {
    /// `use std::softmax;` or `use std::softmax::hetal;`
    Use {
        path: Vec<Ident>,
        span: Span,
    },
    /// `param EPOCHS: int = 30;` (compile-time, overridable from the command line)
    Param {
        name: Ident,
        kind: ScalarKind,
        value: Expr,
        span: Span,
    },
    /// `input train_x: secret f64[N, D] in [-8, 8];`
    Input {
        name: Ident,
        ty: TypeExpr,
        span: Span,
    },
    Fn(FnDecl),
    /// `approx exp8 = exp on [-8, 8] degree 8;` or `... error 1e-4;`
    Approx {
        name: Ident,
        func: Ident,
        lo: Expr,
        hi: Expr,
        spec: ApproxSpec,
        span: Span,
    },
    /// `poly f3 = [0, 2.1875, 0, -2.1875] on [-1, 1] approximates sign;` (coefficients low to high)
    Poly {
        name: Ident,
        coeffs: Vec<Expr>,
        lo: Expr,
        hi: Expr,
        approximates: Option<Ident>,
        span: Span,
    },
    /// A top-level statement (`let`, `output`) of the main program.
    Stmt(Stmt),
    /// Placeholder left by error recovery.
    Error(Span),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ScalarKind {
    Int,
    Real,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ApproxSpec {
    Degree(Expr),
    Error(Expr),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FnDecl {
    pub name: Ident,
    pub params: Vec<(Ident, TypeExpr)>,
    pub ret: Option<ReturnType>,
    /// `approximates softmax`: under `--exact` the interpreter calls the exact builtin instead.
    pub approximates: Option<Ident>,
    pub body: Block,
    pub span: Span,
}

/// `-> f64[N]` or `-> (f64[N], f64)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ReturnType {
    One(TypeExpr),
    Tuple(Vec<TypeExpr>, Span),
}

impl ReturnType {
    pub fn types(&self) -> &[TypeExpr] {
        match self {
            ReturnType::One(t) => std::slice::from_ref(t),
            ReturnType::Tuple(ts, _) => ts,
        }
    }
    pub fn types_mut(&mut self) -> &mut [TypeExpr] {
        match self {
            ReturnType::One(t) => std::slice::from_mut(t),
            ReturnType::Tuple(ts, _) => ts,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Secrecy {
    Public,
    Secret,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Elem {
    F64,
    I64,
    Bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum DimExpr {
    Const(u64, Span),
    Sym(Ident),
}

/// `secret f64[N, D] in [-8, 8]`; each part is optional (a `let` may annotate only a range).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypeExpr {
    pub secrecy: Option<Secrecy>,
    pub elem: Option<Elem>,
    pub shape: Option<Vec<DimExpr>>,
    pub range: Option<(Expr, Expr)>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub tail: Option<Box<Expr>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Pattern {
    Name(Ident),
    Tuple(Vec<Ident>, Span),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Stmt {
    Let {
        pat: Pattern,
        ty: Option<TypeExpr>,
        value: Expr,
        span: Span,
    },
    /// `output name = e;` or `output name = logits against labels;`. Inside a loop it records
    /// one value per iteration.
    Output {
        name: Ident,
        value: Expr,
        against: Option<Expr>,
        span: Span,
    },
    Error(Span),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    MatMul,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl BinOp {
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::MatMul => "@",
            BinOp::Pow => "**",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
        }
    }
    /// Binding strength (higher binds tighter).
    pub fn prec(self) -> u8 {
        match self {
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne => 1,
            BinOp::Add | BinOp::Sub => 2,
            BinOp::Mul | BinOp::Div | BinOp::MatMul => 3,
            BinOp::Pow => 5,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum IndexItem {
    /// `:` (whole axis)
    Full,
    /// `a:b`
    Range(Expr, Expr),
    /// `a:` (to the end)
    From(Expr),
    /// `:b` (from the start)
    To(Expr),
    /// `i`
    At(Expr),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum LoopIter {
    /// `i in lo..hi`
    Range { var: Ident, lo: Expr, hi: Expr },
    /// `(x, y) in batches(a, b) size B shuffle`
    Batches {
        vars: Vec<Ident>,
        sources: Vec<Expr>,
        size: Expr,
        shuffle: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Carry {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub init: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ExprKind {
    Number(f64),
    Path(Vec<Ident>),
    Unary(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Transpose(Box<Expr>),
    Call(Vec<Ident>, Vec<Expr>),
    Index(Box<Expr>, Vec<IndexItem>),
    Tuple(Vec<Expr>),
    If(Box<Expr>, Block, Block),
    For {
        iter: Box<LoopIter>,
        carry: Vec<Carry>,
        body: Block,
    },
    Block(Block),
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}

/// Dropping a tree the input made arbitrarily deep must not recurse once per level (the
/// parser builds the whole tree before [`super::depth`] cuts it down), so a node with
/// children hands them to an explicit stack.
impl Drop for Expr {
    fn drop(&mut self) {
        if matches!(
            self.kind,
            ExprKind::Number(_) | ExprKind::Path(_) | ExprKind::Error
        ) {
            return;
        }
        let mut stack = Vec::new();
        move_children(
            std::mem::replace(&mut self.kind, ExprKind::Error),
            &mut stack,
        );
        while let Some(mut e) = stack.pop() {
            move_children(std::mem::replace(&mut e.kind, ExprKind::Error), &mut stack);
        }
    }
}

fn move_type_children(t: Option<TypeExpr>, out: &mut Vec<Expr>) {
    if let Some(TypeExpr {
        range: Some((lo, hi)),
        ..
    }) = t
    {
        out.push(lo);
        out.push(hi);
    }
}

fn move_block_children(b: Block, out: &mut Vec<Expr>) {
    for s in b.stmts {
        match s {
            Stmt::Let { ty, value, .. } => {
                move_type_children(ty, out);
                out.push(value);
            }
            Stmt::Output { value, against, .. } => {
                out.push(value);
                out.extend(against);
            }
            Stmt::Error(_) => {}
        }
    }
    if let Some(t) = b.tail {
        out.push(*t);
    }
}

/// Move the direct sub-expressions of `k` (including those inside blocks, loop headers and
/// type annotations) onto `out`.
fn move_children(k: ExprKind, out: &mut Vec<Expr>) {
    match k {
        ExprKind::Number(_) | ExprKind::Path(_) | ExprKind::Error => {}
        ExprKind::Unary(a) | ExprKind::Transpose(a) => out.push(*a),
        ExprKind::Binary(_, a, b) => {
            out.push(*a);
            out.push(*b);
        }
        ExprKind::Call(_, args) | ExprKind::Tuple(args) => out.extend(args),
        ExprKind::Index(a, items) => {
            out.push(*a);
            for it in items {
                match it {
                    IndexItem::Full => {}
                    IndexItem::At(e) | IndexItem::From(e) | IndexItem::To(e) => out.push(e),
                    IndexItem::Range(a, b) => {
                        out.push(a);
                        out.push(b);
                    }
                }
            }
        }
        ExprKind::If(c, t, f) => {
            out.push(*c);
            move_block_children(t, out);
            move_block_children(f, out);
        }
        ExprKind::For { iter, carry, body } => {
            match *iter {
                LoopIter::Range { lo, hi, .. } => {
                    out.push(lo);
                    out.push(hi);
                }
                LoopIter::Batches { sources, size, .. } => {
                    out.extend(sources);
                    out.push(size);
                }
            }
            for c in carry {
                move_type_children(c.ty, out);
                out.push(c.init);
            }
            move_block_children(body, out);
        }
        ExprKind::Block(b) => move_block_children(b, out),
    }
}

/// Join a path for messages: `std::softmax::hetal`.
pub fn path_text(p: &[Ident]) -> String {
    p.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join("::")
}
