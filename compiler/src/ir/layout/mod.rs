//! The layout stage: every tensor of the tensor IR mapped to ciphertext slots.
//!
//! One block shape `s0 × s1` per program ([`BlockShape`]; `s0·s1` = the parameter set's slot
//! count) and, per tensor value, a [`Layout`] of its two axes (blocked, tiled with a period,
//! replicated; `blindtune_runtime::plan::layout`). Layouts are chosen by *demand*: the kernels
//! fix what their operands must look like (HETAL's DiagABT wants `X` row-major and `W`
//! row-tiled, DiagATB wants the gradient column-tiled), and the demands flow backwards through
//! elementwise operations, broadcasts and loop-carried values to the inputs, so that softmax,
//! gradient and update need no re-layout (hetal.md §7.4). A value nobody constrains is
//! row-major, or column-tiled when it is a narrow class-like matrix.
//!
//! [`assign`] also decides the loop policy: loops that contain a batch loop, or whose trip count
//! is not a compile-time constant, or is above [`UNROLL_LIMIT`], stay rolled; the short
//! fixed loops of the stdlib (the max tournament, the Goldschmidt inverse, the domain
//! extension) are unrolled, since their index steers rotation amounts and their bodies are a
//! level or two deep.

pub mod assign;
pub mod print;

pub use assign::{assign, LayoutError};

use crate::ir::tensor::{TensorProgram, ValueId};
use blindtune_runtime::plan::{BlockShape, Layout};
use std::collections::{BTreeMap, BTreeSet};

/// Loops with at most this many trips (and no batch loop inside) are unrolled.
pub const UNROLL_LIMIT: u64 = 64;

/// The layout stage of a program.
#[derive(Clone, Debug)]
pub struct LayoutProgram {
    pub tensor: TensorProgram,
    /// the parameter set's slot count and the block chosen for it
    pub slots: usize,
    pub block: BlockShape,
    /// the layout each tensor value is demanded in (scalars: none)
    pub demanded: BTreeMap<ValueId, Layout>,
    /// secret inputs consumed batch by batch (their whole-dataset value is never built)
    pub streamed: BTreeSet<String>,
    /// values computed only to be batch-sliced: re-computed per batch on the streamed rows
    pub stream_only: BTreeSet<ValueId>,
    /// the batch size that set `s0`, if any
    pub batch_rows: Option<usize>,
}

/// The smallest power of two ≥ `n` (at least 1).
pub fn pow2(n: usize) -> usize {
    n.max(1).next_power_of_two()
}
