//! The CKKS stage: the program as ciphertext operations on block grids, before scheduling.
//!
//! Its instructions are the plan's ([`blindtune_runtime::plan::ops`]) without levels: every
//! ciphertext register has `level: None`, and there is no `LevelDown` or `Bootstrap` yet (the
//! scheduler adds them, [`crate::sched`]). Kernels are expanded here into primitive operations
//! (HETAL's DiagABT/DiagATB with two diagonals per complex product, rotate-and-sum reductions,
//! masks, exact in-row rolls), so the optimizer sees every rotation; polynomial evaluations stay
//! macro-ops whose depth is the runtime evaluator's.
//!
//! Beside the registers the program keeps [`RegFacts`]: for tensor registers the layout, shape
//! and which axes have clean (zero) padding, and a bound on the values' magnitude (from the
//! checker's ranges), which the scheduler needs to bring a value into bootstrapping's `|z| ≤ 1`.

pub mod builder;
pub mod kernels;
pub mod lower;
pub mod print;

pub use lower::{lower, CkksError};

use blindtune_runtime::plan::{BlockShape, DimSpec, InputSpec, Inst, Layout, OutputSpec, RegInfo};

/// What the compiler knows of a register beyond its kind and grid.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegFacts {
    pub tensor: Option<TensorFacts>,
    /// `max |value|` over every slot, when known
    pub bound: Option<f64>,
    /// a packing of several loop-carried tensors into one ciphertext ([`crate::opt::pack`]):
    /// not a tensor, but every slot is defined and bounded, so it may be bootstrapped
    pub packed: bool,
}

impl RegFacts {
    /// Whether the register may be bootstrapped: a whole tensor or a packing of carried
    /// tensors, every slot defined and bounded (a kernel's temporaries are not).
    pub fn bootstrappable(&self) -> bool {
        self.tensor.is_some() || self.packed
    }

    /// The power of two (≥ 1) that brings the value into bootstrapping's `|z| ≤ 1`, from its
    /// bound or `default_bound`.
    pub fn bootstrap_factor(&self, default_bound: f64) -> f64 {
        let bound = self.bound.unwrap_or(default_bound);
        if bound <= 1.0 {
            1.0
        } else {
            2f64.powi(bound.log2().ceil() as i32)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TensorFacts {
    pub layout: Layout,
    pub shape: [DimSpec; 2],
    pub rank: usize,
    /// per axis: the padding positions hold zero
    pub clean: [bool; 2],
}

/// A program in the CKKS stage.
#[derive(Clone, Debug)]
pub struct CkksProgram {
    pub slots: usize,
    pub block: BlockShape,
    pub regs: Vec<RegInfo>,
    pub facts: Vec<RegFacts>,
    pub body: Vec<Inst>,
    /// inputs with `level: None` (the scheduler sets the levels of secret ones)
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    /// the sizes the compiler assumed for named dimensions (for estimates)
    pub assumed_dims: std::collections::BTreeMap<String, usize>,
}
