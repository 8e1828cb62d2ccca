//! Text form of instruction lists (the compiler's CKKS stages and `blindtune explain`).

use super::ops::{GridDim, Inst, Op, PolySpec, RegInfo, RegKind, Trips};
use std::fmt::Write;

fn reg(regs: &[RegInfo], r: u32) -> String {
    match regs.get(r as usize).and_then(|i| i.name.as_ref()) {
        Some(n) => format!("%{r}.{n}"),
        None => format!("%{r}"),
    }
}

fn ty(info: &RegInfo) -> String {
    let grid = |g: &GridDim| match g {
        GridDim::Fixed(n) => n.to_string(),
        GridDim::Rows(d) => format!("⌈{d}/s0⌉"),
    };
    match info.kind {
        RegKind::Scalar => "scalar".into(),
        RegKind::Plain => format!("pt[{}×{}]", grid(&info.rows), info.cols),
        RegKind::Cipher => match info.level {
            Some(l) => format!("ct[{}×{}]@{l}", grid(&info.rows), info.cols),
            None => format!("ct[{}×{}]", grid(&info.rows), info.cols),
        },
    }
}

fn operands(regs: &[RegInfo], op: &Op) -> String {
    let r = |x: &u32| reg(regs, *x);
    match op {
        Op::Input { name } => format!("input {name}"),
        Op::BatchInput { name, dim } => format!(
            "batch_input {name}{}",
            dim.as_ref()
                .map(|d| format!(" rows→{d}"))
                .unwrap_or_default()
        ),
        Op::Const(c) => format!("const {c}"),
        Op::DimValue(d) => format!("dim {d}"),
        Op::ScalarBin { op, a, b } => format!("scalar.{op:?} {}, {}", r(a), r(b)).to_lowercase(),
        Op::Fill { value } => format!("fill {value}"),
        Op::Mask(m) => format!("mask {m:?}"),
        Op::RowMask { dim } => format!("row_mask rows < {dim}"),
        Op::PlainBin { op, a, b } => format!("plain.{:?} {}, {}", op, r(a), r(b)).to_lowercase(),
        Op::PlainUnary { f, a } => format!("plain.{f:?} {}", r(a)).to_lowercase(),
        Op::Trivial { a } => format!("trivial {}", r(a)),
        Op::Add { a, b } => format!("add {}, {}", r(a), r(b)),
        Op::Sub { a, b } => format!("sub {}, {}", r(a), r(b)),
        Op::Neg { a } => format!("neg {}", r(a)),
        Op::AddPlain { a, p } => format!("add_plain {}, {}", r(a), r(p)),
        Op::SubPlain { a, p, reverse } => {
            if *reverse {
                format!("sub_plain {} - {}", r(p), r(a))
            } else {
                format!("sub_plain {} - {}", r(a), r(p))
            }
        }
        Op::Mul { a, b } => format!("mul {}, {}", r(a), r(b)),
        Op::MulPlain { a, p } => format!("mul_plain {}, {}", r(a), r(p)),
        Op::MulInteger { a, k } => format!("mul_int {}, {k}", r(a)),
        Op::MulI { a } => format!("mul_i {}", r(a)),
        Op::Conjugate { a } => format!("conjugate {}", r(a)),
        Op::Rotate { a, steps } => format!("rotate {}, {steps}", r(a)),
        Op::RotateHoisted { a, steps } => format!("rotate_hoisted {}, {steps:?}", r(a)),
        Op::LevelDown { a } => format!("level_down {}", r(a)),
        Op::Poly { a, poly } => match poly {
            PolySpec::Chebyshev {
                coeffs,
                a: lo,
                b: hi,
            } => format!(
                "poly {} chebyshev degree {} on [{lo}, {hi}] depth {}",
                r(a),
                coeffs.len().saturating_sub(1),
                super::validate::poly_depth(poly)
            ),
            PolySpec::Power { coeffs } => format!(
                "poly {} power degree {} depth {}",
                r(a),
                coeffs.len().saturating_sub(1),
                super::validate::poly_depth(poly)
            ),
        },
        Op::Bootstrap { a } => format!("bootstrap {}", r(a)),
        Op::SumBlocks { a, axis } => format!("sum_blocks {}, axis {axis}", r(a)),
        Op::SplitBlocks { a } => format!("split_blocks {}", r(a)),
        Op::JoinBlocks { parts } => format!(
            "join_blocks {}",
            parts.iter().map(r).collect::<Vec<_>>().join(", ")
        ),
        Op::Loop { trips, .. } => match trips {
            Trips::Fixed(n) => format!("loop {n} trips"),
            Trips::Batches { rows, size } => format!("loop batches of {size} over {rows} rows"),
        },
        Op::Output { name, value } => format!("output {name} = {}", r(value)),
    }
}

/// Writes `insts` with two spaces of indentation per `depth`.
pub fn write_insts(out: &mut String, regs: &[RegInfo], insts: &[Inst], depth: usize) {
    let pad = "  ".repeat(depth);
    for inst in insts {
        let lhs = inst
            .results
            .iter()
            .map(|&r| format!("{}: {}", reg(regs, r), ty(&regs[r as usize])))
            .collect::<Vec<_>>()
            .join(", ");
        let rhs = operands(regs, &inst.op);
        if lhs.is_empty() {
            let _ = writeln!(out, "{pad}{rhs}");
        } else {
            let _ = writeln!(out, "{pad}{lhs} = {rhs}");
        }
        if let Op::Loop {
            args,
            inits,
            body,
            yields,
            ..
        } = &inst.op
        {
            let a = args
                .iter()
                .map(|&r| reg(regs, r))
                .collect::<Vec<_>>()
                .join(", ");
            let i = inits
                .iter()
                .map(|&r| reg(regs, r))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(out, "{pad}  ^({a}) ← ({i})");
            write_insts(out, regs, body, depth + 1);
            let y = yields
                .iter()
                .map(|&r| reg(regs, r))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(out, "{pad}  yield {y}");
        }
    }
}
