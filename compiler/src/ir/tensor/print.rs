//! The tensor IR's text form: MLIR-like, stable (values numbered in definition order, named
//! after the source variable when there is one) and readable. One instruction per line; a
//! region prints its arguments on its first line (`^(...)`) and ends with `yield`.

use super::ir::*;
use crate::syntax::ast::BinOp;
use crate::types::checked::{Basis, Builtin, TIndex};
use crate::types::ty::fmt_num;
use std::fmt::Write as _;

/// A value as printed: `%name.N`, or `%N` when it has no source name.
pub fn value(p: &TensorProgram, v: ValueId) -> String {
    match p.values.get(v as usize).and_then(|i| i.name.as_deref()) {
        Some(n) => format!("%{n}.{v}"),
        None => format!("%{v}"),
    }
}

fn typed(p: &TensorProgram, v: ValueId) -> String {
    match p.values.get(v as usize) {
        Some(i) => format!("{} : {}", value(p, v), i.ty),
        None => format!("%{v} : <no type>"),
    }
}

fn list(p: &TensorProgram, vs: &[ValueId]) -> String {
    vs.iter()
        .map(|v| value(p, *v))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn bin_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "add",
        BinOp::Sub => "sub",
        BinOp::Mul => "mul",
        BinOp::Div => "div",
        BinOp::MatMul => "matmul",
        BinOp::Pow => "pow",
        BinOp::Lt => "lt",
        BinOp::Le => "le",
        BinOp::Gt => "gt",
        BinOp::Ge => "ge",
        BinOp::Eq => "eq",
        BinOp::Ne => "ne",
    }
}

pub fn builtin_name(b: Builtin) -> String {
    match b {
        Builtin::Sum(a) => format!("reduce_sum[axis={a}]"),
        Builtin::Mean(a) => format!("reduce_mean[axis={a}]"),
        Builtin::RowSum => "rowsum".into(),
        Builtin::RowMax => "rowmax".into(),
        Builtin::Log2Ceil => "log2_ceil".into(),
        other => other.name(),
    }
}

/// The op and its operands, without results or types (a loop or `if` only its header).
fn op_text(p: &TensorProgram, op: &Op) -> String {
    match op {
        Op::Const(c) => format!("const {}", fmt_num(*c)),
        Op::Param(n) => format!("param {n}"),
        Op::Input(n) => format!("input {n}"),
        Op::DimValue(d) => format!("dim {d}"),
        Op::Neg(a) => format!("neg {}", value(p, *a)),
        Op::Bin(o, a, b) => format!("{} {}, {}", bin_name(*o), value(p, *a), value(p, *b)),
        Op::Broadcast(a) => format!("broadcast {}", value(p, *a)),
        Op::MatMul(a, b) => format!("matmul {}, {}", value(p, *a), value(p, *b)),
        Op::Transpose(a) => format!("transpose {}", value(p, *a)),
        Op::Builtin(b, args) => format!("{} {}", builtin_name(*b), list(p, args)),
        Op::Approx(n, a) => format!("poly @{n} {}", value(p, *a)),
        Op::Slice(a, items) => {
            let it: Vec<String> = items
                .iter()
                .map(|i| match i {
                    TIndex::Full => ":".to_string(),
                    TIndex::Range(a, b) => format!("{a}:{b}"),
                    TIndex::At(a) => a.to_string(),
                })
                .collect();
            format!("slice {} [{}]", value(p, *a), it.join(", "))
        }
        Op::Assume(a, r) => format!("assume {} in {r}", value(p, *a)),
        Op::BatchOrder { rows, shuffle } => format!(
            "batch_order rows {rows}{}",
            if *shuffle { " shuffled" } else { " in order" }
        ),
        Op::BatchSlice {
            source,
            order,
            index,
            size,
        } => format!(
            "batch_slice {} rows {}[{} * {} ..]",
            value(p, *source),
            value(p, *order),
            value(p, *index),
            value(p, *size)
        ),
        Op::Loop {
            kind, var, inits, ..
        } => {
            let head = match kind {
                LoopKind::Range { lo, hi } => format!(
                    "loop {} in {}..{} (trips {} - {})",
                    var.as_deref().unwrap_or("_"),
                    value(p, *lo),
                    value(p, *hi),
                    value(p, *hi),
                    value(p, *lo)
                ),
                LoopKind::Batches { order, size, rows } => format!(
                    "loop batches of {} (trips ceil({rows} / {}))",
                    value(p, *order),
                    value(p, *size)
                ),
            };
            format!("{head} carry({})", list(p, inits))
        }
        Op::If { cond, .. } => format!("if {}", value(p, *cond)),
        Op::Output {
            name,
            value: v,
            against,
        } => {
            let mut s = format!("output {name} = {}", value(p, *v));
            if let Some(a) = against {
                let _ = write!(s, " against {}", value(p, *a));
            }
            s
        }
    }
}

fn results_prefix(p: &TensorProgram, inst: &Inst) -> String {
    if inst.results.is_empty() {
        String::new()
    } else {
        format!("{} = ", list(p, &inst.results))
    }
}

fn results_types(p: &TensorProgram, inst: &Inst) -> String {
    if inst.results.is_empty() {
        return String::new();
    }
    let tys: Vec<String> = inst
        .results
        .iter()
        .map(|r| match p.values.get(*r as usize) {
            Some(i) => i.ty.to_string(),
            None => "<no type>".into(),
        })
        .collect();
    format!(" : {}", tys.join(", "))
}

/// One instruction on one line (a loop or `if`: its header), as in verifier messages.
pub fn inst_line(p: &TensorProgram, inst: &Inst) -> String {
    format!(
        "{}{}{}",
        results_prefix(p, inst),
        op_text(p, &inst.op),
        results_types(p, inst)
    )
}

struct Printer<'a> {
    p: &'a TensorProgram,
    out: String,
}

impl Printer<'_> {
    fn line(&mut self, indent: usize, s: &str) {
        for _ in 0..indent {
            self.out.push_str("  ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }
    fn region_body(&mut self, r: &Region, indent: usize) {
        if !r.args.is_empty() {
            let args: Vec<String> = r.args.iter().map(|a| typed(self.p, *a)).collect();
            self.line(indent, &format!("^({}):", args.join(", ")));
        }
        for inst in &r.insts {
            self.inst(inst, indent);
        }
        if !r.yields.is_empty() {
            self.line(indent, &format!("yield {}", list(self.p, &r.yields)));
        }
    }
    fn inst(&mut self, inst: &Inst, indent: usize) {
        match &inst.op {
            Op::Loop { body, .. } => {
                self.line(indent, &format!("{} {{", inst_line(self.p, inst)));
                self.region_body(body, indent + 1);
                self.line(indent, "}");
            }
            Op::If { then, els, .. } => {
                self.line(indent, &format!("{} {{", inst_line(self.p, inst)));
                self.region_body(then, indent + 1);
                self.line(indent, "} else {");
                self.region_body(els, indent + 1);
                self.line(indent, "}");
            }
            _ => self.line(indent, &inst_line(self.p, inst)),
        }
    }
}

/// The whole program as text.
pub fn program(p: &TensorProgram) -> String {
    let mut pr = Printer {
        p,
        out: String::new(),
    };
    pr.line(0, "tensor_program {");
    for prm in &p.params {
        pr.line(
            1,
            &format!(
                "param {} : {} = {}",
                prm.name,
                if prm.integer { "int" } else { "real" },
                fmt_num(prm.value)
            ),
        );
    }
    for (name, a) in &p.approximations {
        let mut s = format!(
            "approx @{name} : {} degree {} on {} depth {} -> {}",
            match a.basis {
                Basis::Chebyshev => "chebyshev",
                Basis::Monomial => "monomial",
            },
            a.degree(),
            a.domain,
            crate::types::approx::depth(a),
            a.out_range
        );
        if let Some(e) = a.exact {
            let _ = write!(s, " approximates {}", e.name());
        }
        if let Some(e) = a.max_error {
            let _ = write!(s, " max error {e:.1e}");
        }
        pr.line(1, &s);
        let cs: Vec<String> = a.coeffs.iter().map(|c| format!("{c:.6e}")).collect();
        pr.line(2, &format!("coeffs [{}]", cs.join(", ")));
    }
    for o in &p.outputs {
        pr.line(
            1,
            &format!(
                "output {} : {}{}{}",
                o.name,
                o.ty,
                if o.in_loop { " per iteration" } else { "" },
                if o.has_labels { " scored" } else { "" }
            ),
        );
    }
    pr.line(1, "body {");
    pr.region_body(&p.body, 2);
    pr.line(1, "}");
    pr.line(0, "}");
    pr.out
}

impl std::fmt::Display for TensorProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&program(self))
    }
}
