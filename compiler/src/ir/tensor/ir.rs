//! The tensor IR's types.
//!
//! Invariants (checked by [`super::verify`]):
//! - every value is defined exactly once (an instruction result or a region argument) and
//!   every use is dominated by its definition: defined earlier in the same region or in an
//!   enclosing one;
//! - an elementwise operand has the result's shape or is a scalar (rank 0); every other
//!   broadcast is an explicit [`Op::Broadcast`];
//! - a loop's region takes `[induction value, carried...]`, its inits match the carried
//!   values' shapes, its yields match them too, and its results are the carried values' finals.

use crate::syntax::ast::BinOp;
use crate::syntax::span::Span;
use crate::types::checked::{ApproxDef, Builtin, CheckedOutput, CheckedParam, TIndex};
use crate::types::ty::{Dim, Range, TensorType};
use std::collections::BTreeMap;

/// An SSA value: an index into [`TensorProgram::values`].
pub type ValueId = u32;

#[derive(Clone, Debug, PartialEq)]
pub struct ValueInfo {
    pub ty: TensorType,
    /// the source name it was bound to, if any (for the printer only)
    pub name: Option<String>,
}

/// A tensor-IR program: one flat region (functions inlined) with nested loop regions.
/// Constructed by [`super::lower`], which verifies it.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorProgram {
    pub params: Vec<CheckedParam>,
    /// every input, in declaration order, with the value that stands for it
    pub inputs: Vec<(String, ValueId)>,
    /// the approximations the program uses, by name (coefficients, interval, basis)
    pub approximations: BTreeMap<String, ApproxDef>,
    pub outputs: Vec<CheckedOutput>,
    pub values: Vec<ValueInfo>,
    pub body: Region,
}

/// A sequence of instructions with arguments (defined on entry) and yields (its results).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Region {
    pub args: Vec<ValueId>,
    pub insts: Vec<Inst>,
    pub yields: Vec<ValueId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    pub results: Vec<ValueId>,
    pub op: Op,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LoopKind {
    /// `for i in lo..hi`: trip count `hi - lo` (public scalars); the induction value is `i`
    Range { lo: ValueId, hi: ValueId },
    /// mini-batches over `order` (a permutation of the `rows` source rows) in chunks of `size`;
    /// trip count `ceil(rows / size)`; the induction value is the batch index. The region
    /// slices its batches itself with [`Op::BatchSlice`].
    Batches {
        order: ValueId,
        size: ValueId,
        rows: Dim,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// a public scalar constant
    Const(f64),
    /// a program parameter (public scalar)
    Param(String),
    /// a program input
    Input(String),
    /// the run-time value of a symbolic dimension
    DimValue(Dim),
    Neg(ValueId),
    /// elementwise (operands of the result's shape or scalars)
    Bin(BinOp, ValueId, ValueId),
    /// numpy broadcasting made explicit: to the result's shape
    Broadcast(ValueId),
    MatMul(ValueId, ValueId),
    Transpose(ValueId),
    /// exact builtins: elementwise functions (public values), reductions (`Sum(axis)`,
    /// `Mean(axis)`, `RowSum`, `RowMax`), `Softmax`, fills, random initialisers, `Roll`, ...
    Builtin(Builtin, Vec<ValueId>),
    /// a polynomial approximation from [`TensorProgram::approximations`], elementwise
    Approx(String, ValueId),
    /// basic slicing: ranges and single indices per leading axis
    Slice(ValueId, Vec<TIndex>),
    /// a range annotation (the result is the operand, known to lie in the range)
    Assume(ValueId, Range),
    /// the order of the rows for a batch loop: `rows` indices, shuffled (numpy's
    /// `default_rng(seed).permutation`, one per loop entry) or in order
    BatchOrder {
        rows: Dim,
        shuffle: bool,
    },
    /// rows `order[index*size .. min((index+1)*size, rows)]` of `source`; the result's first
    /// dim is the batch dim
    BatchSlice {
        source: ValueId,
        order: ValueId,
        index: ValueId,
        size: ValueId,
    },
    /// a loop: results are the carried values after the last iteration
    Loop {
        kind: LoopKind,
        var: Option<String>,
        inits: Vec<ValueId>,
        body: Region,
    },
    /// a public `if`: both regions yield the results
    If {
        cond: ValueId,
        then: Region,
        els: Region,
    },
    /// record an output (inside a loop: once per iteration)
    Output {
        name: String,
        value: ValueId,
        against: Option<ValueId>,
    },
}

impl Op {
    /// The values this instruction reads directly (not those read inside its regions).
    pub fn operands(&self) -> Vec<ValueId> {
        match self {
            Op::Const(_) | Op::Param(_) | Op::Input(_) | Op::DimValue(_) => vec![],
            Op::BatchOrder { .. } => vec![],
            Op::Neg(a) | Op::Broadcast(a) | Op::Transpose(a) | Op::Approx(_, a) => vec![*a],
            Op::Slice(a, _) | Op::Assume(a, _) => vec![*a],
            Op::Bin(_, a, b) | Op::MatMul(a, b) => vec![*a, *b],
            Op::Builtin(_, args) => args.clone(),
            Op::BatchSlice {
                source,
                order,
                index,
                size,
            } => vec![*source, *order, *index, *size],
            Op::Loop { kind, inits, .. } => {
                let mut v = match kind {
                    LoopKind::Range { lo, hi } => vec![*lo, *hi],
                    LoopKind::Batches { order, size, .. } => vec![*order, *size],
                };
                v.extend(inits);
                v
            }
            Op::If { cond, .. } => vec![*cond],
            Op::Output { value, against, .. } => {
                let mut v = vec![*value];
                v.extend(against);
                v
            }
        }
    }

    pub fn regions(&self) -> Vec<&Region> {
        match self {
            Op::Loop { body, .. } => vec![body],
            Op::If { then, els, .. } => vec![then, els],
            _ => vec![],
        }
    }
}

impl TensorProgram {
    pub fn ty(&self, v: ValueId) -> &TensorType {
        &self.values[v as usize].ty
    }
    /// Number of instructions, counting those inside regions.
    pub fn inst_count(&self) -> usize {
        fn count(r: &Region) -> usize {
            r.insts
                .iter()
                .map(|i| 1 + i.op.regions().into_iter().map(count).sum::<usize>())
                .sum()
        }
        count(&self.body)
    }
}
