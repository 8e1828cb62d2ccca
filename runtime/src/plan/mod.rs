//! The plan: what the compiler emits and a cloud runtime executes.
//!
//! A plan is self-describing and versioned ([`FORMAT_NAME`], [`FORMAT_VERSION`]): the
//! parameter set (by name, pinned by its fingerprint), the block shape, the exact key manifest,
//! the inputs and outputs with their layouts and levels, the instructions ([`ops`]) with loops
//! kept as regions, and the cost estimate. Constants are rules ([`layout::Mask`], fills,
//! polynomial coefficients), generated at load time, never stored as slot vectors, so a plan's
//! size does not grow with the epochs or the dataset. JSON is the readable form, a compact
//! binary form ([`format`]) is what ships; both carry the same value. [`validate`] checks every
//! register, level, kind and grid on load.

pub mod format;
pub mod layout;
pub mod ops;
pub mod params;
pub mod print;
pub mod validate;

pub use format::PlanError;
pub use layout::{AxisLayout, BlockShape, Layout, Mask};
pub use ops::{GridDim, Inst, Op, PlainFn, PolySpec, Reg, RegInfo, RegKind, ScalarOp, Trips};

use crate::ckks::keys::KeyManifest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `format` field of every plan.
pub const FORMAT_NAME: &str = "blindtune-plan";
/// The version this build writes; [`format`] reads it and refuses others with a clear message.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    pub version: u32,
    pub source: SourceInfo,
    /// the parameter set, by its shipped name
    pub params: String,
    /// hex of `Params::fingerprint()`: a plan only runs under the exact parameters it was
    /// compiled for
    pub params_fingerprint: String,
    /// whether the set is below the 128-bit bound (test sets only)
    pub insecure: bool,
    pub block: BlockShape,
    /// bootstrapping is used (its keys are in the manifest); the configuration is the shipped
    /// one of the parameter set
    pub bootstrapping: bool,
    /// the highest level a fresh ciphertext or a bootstrap output may have in this plan
    pub max_level: usize,
    /// every key the plan needs, with the highest level each is used at
    pub keys: KeyManifest,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    /// the random generator's seed for shuffled batch orders (numpy's `default_rng`)
    pub seed: u64,
    pub regs: Vec<RegInfo>,
    pub body: Vec<Inst>,
    pub estimate: Estimate,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// the program's file name
    pub name: String,
    /// BLAKE3 of the source text, hex
    pub blake3: String,
    /// the `param` values it was compiled with
    pub params: BTreeMap<String, String>,
    /// the compiler's mode (`optimized`, `naive`, `halo`)
    pub mode: String,
}

/// The size of one tensor axis: known at compile time, or named and bound by the data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DimSpec {
    Fixed(usize),
    Named(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    pub name: String,
    /// secret inputs are encrypted by the data owner; public ones travel in the clear
    pub secret: bool,
    /// `[rows, cols]` (a vector is `[1, c]`, a scalar `[1, 1]`)
    pub shape: [DimSpec; 2],
    /// the rank in the program (0, 1 or 2), to rebuild the tensor on decryption
    pub rank: usize,
    pub layout: Layout,
    /// the level the data owner encrypts at (secret inputs)
    pub level: Option<usize>,
    /// present when the input is consumed batch by batch inside a loop
    pub stream: Option<StreamSpec>,
}

/// A streamed input: the data owner encrypts its rows batch by batch in the order the plan
/// consumes them, so the cloud never holds the dataset and never permutes ciphertext rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamSpec {
    /// rows per batch (the last batch may be shorter)
    pub batch: usize,
    /// the order group: inputs sliced by the same order are encrypted with the same permutation
    pub order: usize,
    /// shuffled (one fresh permutation per loop entry, drawn in entry order from the plan's
    /// seed) or in order
    pub shuffle: bool,
    /// how many times the batch loop is entered over the whole run
    pub entries: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    pub name: String,
    pub shape: [DimSpec; 2],
    pub rank: usize,
    pub layout: Layout,
    /// written once per trip of the enclosing loops (validation logits per epoch)
    pub repeated: bool,
    /// the public labels the owner scores it against (`output ... against y`)
    pub against: Option<String>,
}

/// The compiler's estimate, from the runtime's cost model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// estimated milliseconds for the whole run at the data sizes the compiler assumed
    pub total_ms: f64,
    /// per loop (outermost first, by the loop's path), milliseconds per trip
    pub per_trip_ms: BTreeMap<String, f64>,
    /// operation counts per trip of the innermost loop containing them, by mnemonic
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// bootstraps per trip of each loop
    pub bootstraps: BTreeMap<String, u64>,
    /// the dimension sizes the estimate assumed
    pub assumed_dims: BTreeMap<String, usize>,
    /// the largest number of ciphertexts live at once
    pub peak_live_ciphertexts: usize,
}
