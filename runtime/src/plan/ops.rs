//! The plan's instruction set: SSA over registers, loops as regions (never unrolled).
//!
//! A register holds a *grid* of blocks (one per ciphertext, [`super::layout`]): a secret value
//! is a grid of ciphertexts, a public one a grid of slot vectors (encoded at use), a scalar a
//! single public number. Every ciphertext operation applies blockwise; a grid with one block
//! along an axis broadcasts against a larger one. Registers are defined once; the level of each
//! ciphertext register is fixed in [`RegInfo`] (a loop's carried registers have the same level
//! at entry and at the back edge), and the scale of a ciphertext at level `l` is the canonical
//! scale of that level (see the executor), so levels are the only state a plan schedules.

use super::layout::Mask;
use serde::{Deserialize, Serialize};

/// A register: an index into [`super::Plan::regs`].
pub type Reg = u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegKind {
    /// a grid of ciphertexts
    Cipher,
    /// a grid of public slot vectors
    Plain,
    /// one public number
    Scalar,
}

/// The number of blocks along a grid axis: fixed, or `ceil(dim / extent)` for a dimension
/// known only when the data arrive (the dataset's rows).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GridDim {
    Fixed(usize),
    /// `ceil(value of the named dimension / s0)`
    Rows(String),
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RegInfo {
    pub kind: RegKind,
    /// row blocks, column blocks (scalars: 1 × 1)
    pub rows: GridDim,
    pub cols: usize,
    /// the level of every ciphertext in the grid (`Cipher` only)
    pub level: Option<usize>,
    /// the source name, for the printer and error messages
    #[serde(default)]
    pub name: Option<String>,
    /// for a plain register holding a tensor: its layout and `[rows, cols]`, so the executor
    /// knows which slots are padding (a public `1/std` is infinite there and is zeroed)
    #[serde(default)]
    pub tensor: Option<(super::layout::Layout, [super::DimSpec; 2])>,
}

/// JSON leaves `name` and `tensor` out when absent. The binary form always writes them: it is
/// not self-describing, so a skipped field would shift every later one (`skip_serializing_if`
/// made every binary plan unreadable).
impl Serialize for RegInfo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let every_field = !s.is_human_readable();
        let mut st = s.serialize_struct("RegInfo", 6)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("rows", &self.rows)?;
        st.serialize_field("cols", &self.cols)?;
        st.serialize_field("level", &self.level)?;
        if every_field || self.name.is_some() {
            st.serialize_field("name", &self.name)?;
        } else {
            st.skip_field("name")?;
        }
        if every_field || self.tensor.is_some() {
            st.serialize_field("tensor", &self.tensor)?;
        } else {
            st.skip_field("tensor")?;
        }
        st.end()
    }
}

/// Public scalar arithmetic, evaluated by the executor in f64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScalarOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Min,
    Max,
}

impl ScalarOp {
    /// `a op b` on public numbers: the one definition the executor and every plaintext
    /// evaluation of a plan use.
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            ScalarOp::Add => a + b,
            ScalarOp::Sub => a - b,
            ScalarOp::Mul => a * b,
            ScalarOp::Div => a / b,
            ScalarOp::Pow => a.powf(b),
            ScalarOp::Min => a.min(b),
            ScalarOp::Max => a.max(b),
        }
    }
}

/// Public elementwise functions on plain registers and scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlainFn {
    Neg,
    Recip,
    Sqrt,
    Exp,
    Log,
    Abs,
}

impl PlainFn {
    /// `f(a)` on a real public number.
    pub fn apply(self, a: f64) -> f64 {
        match self {
            PlainFn::Neg => -a,
            PlainFn::Recip => 1.0 / a,
            PlainFn::Sqrt => a.sqrt(),
            PlainFn::Exp => a.exp(),
            PlainFn::Log => a.ln(),
            PlainFn::Abs => a.abs(),
        }
    }
}

/// A polynomial approximation evaluated by the runtime's `PolynomialEvaluator`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PolySpec {
    /// `Σ c_j T_j((2x − a − b)/(b − a))` on `[a, b]`
    Chebyshev { coeffs: Vec<f64>, a: f64, b: f64 },
    /// `Σ c_j x^j`
    Power { coeffs: Vec<f64> },
}

/// How many times a loop body runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Trips {
    Fixed(u64),
    /// one trip per batch of `size` rows of the named dimension: `ceil(rows / size)`
    Batches {
        rows: String,
        size: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inst {
    pub results: Vec<Reg>,
    pub op: Op,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    // ---- sources -------------------------------------------------------------------------
    /// a whole input: ciphertexts for a secret one, slot vectors for a public one
    Input {
        name: String,
    },
    /// the next batch of a streamed secret input ([`super::StreamSpec`]); if `dim` is given it
    /// is bound to the batch's row count for the rest of the iteration
    BatchInput {
        name: String,
        dim: Option<String>,
    },
    /// a public scalar constant
    Const(f64),
    /// the run-time value of a dimension
    DimValue(String),
    /// public scalar arithmetic
    ScalarBin {
        op: ScalarOp,
        a: Reg,
        b: Reg,
    },
    /// a plain grid of 1 × 1 block holding `value` in every slot
    Fill {
        value: f64,
    },
    /// a plain 1 × 1 grid holding the mask's slots (complex masks allowed)
    Mask(Mask),
    /// a plain 1 × 1 grid with 1 in block rows `p < value(dim)` (every column) and 0 below:
    /// the valid rows of a batch whose row count is known only at run time (the last batch)
    RowMask {
        dim: String,
    },
    /// public elementwise arithmetic (plain or scalar operands, at least one plain)
    PlainBin {
        op: ScalarOp,
        a: Reg,
        b: Reg,
    },
    PlainUnary {
        f: PlainFn,
        a: Reg,
    },
    /// a public value made a ciphertext without the secret key (`(pt, 0)`), at `level`
    Trivial {
        a: Reg,
    },

    // ---- ciphertext arithmetic (blockwise; operands at the result's level) ---------------
    Add {
        a: Reg,
        b: Reg,
    },
    Sub {
        a: Reg,
        b: Reg,
    },
    Neg {
        a: Reg,
    },
    /// ciphertext + plain (or scalar); `reverse`: plain − ciphertext for `PlainSub`
    AddPlain {
        a: Reg,
        p: Reg,
    },
    SubPlain {
        a: Reg,
        p: Reg,
        reverse: bool,
    },
    /// ct × ct, relinearized and rescaled: level − 1
    Mul {
        a: Reg,
        b: Reg,
    },
    /// ct × plain (or scalar), rescaled: level − 1
    MulPlain {
        a: Reg,
        p: Reg,
    },
    /// ct × integer: no level
    MulInteger {
        a: Reg,
        k: i64,
    },
    /// ct × i (a monomial): no level
    MulI {
        a: Reg,
    },
    Conjugate {
        a: Reg,
    },
    /// slot `j` ← slot `j + steps` (cyclic over the block)
    Rotate {
        a: Reg,
        steps: i64,
    },
    /// several rotations of one value sharing one decomposition (one result per step)
    RotateHoisted {
        a: Reg,
        steps: Vec<i64>,
    },
    /// down to the result register's level at the canonical scale
    LevelDown {
        a: Reg,
    },
    /// polynomial evaluation: level − the evaluator's depth
    Poly {
        a: Reg,
        poly: PolySpec,
    },
    /// refresh to the result register's level
    Bootstrap {
        a: Reg,
    },
    /// the sum of the grid's blocks along `axis` (0: row blocks, 1: column blocks)
    SumBlocks {
        a: Reg,
        axis: u8,
    },

    // ---- control -------------------------------------------------------------------------
    /// `args` = `[index scalar, carried...]`, `inits` the carried values on entry, `yields`
    /// the carried values at the back edge; results are the carried values after the last trip
    Loop {
        trips: Trips,
        args: Vec<Reg>,
        inits: Vec<Reg>,
        #[serde(deserialize_with = "nesting::body")]
        body: Vec<Inst>,
        yields: Vec<Reg>,
    },
    /// records an output (inside a loop: once per trip)
    Output {
        name: String,
        value: Reg,
    },

    // ---- block moves (no arithmetic; last, so earlier plans' binary encodings keep their
    // ---- variant numbers) ------------------------------------------------------------------
    /// the blocks of a grid with a fixed row count as 1 × 1 grids, one result per block in
    /// row-major order (the packing of carried values takes a tensor apart this way)
    SplitBlocks {
        a: Reg,
    },
    /// the grid whose blocks are `parts` (1 × 1 grids at one level) in row-major order; the
    /// result register declares the grid's shape
    JoinBlocks {
        parts: Vec<Reg>,
    },
}

impl Op {
    /// The registers this instruction reads directly (not those read inside its region).
    pub fn operands(&self) -> Vec<Reg> {
        use Op::*;
        match self {
            Input { .. }
            | BatchInput { .. }
            | Const(_)
            | DimValue(_)
            | Fill { .. }
            | Mask(_)
            | RowMask { .. } => vec![],
            ScalarBin { a, b, .. } | PlainBin { a, b, .. } => vec![*a, *b],
            PlainUnary { a, .. } | Trivial { a } | Neg { a } | MulInteger { a, .. } => vec![*a],
            Add { a, b } | Sub { a, b } | Mul { a, b } => vec![*a, *b],
            AddPlain { a, p } | SubPlain { a, p, .. } | MulPlain { a, p } => vec![*a, *p],
            MulI { a } | Conjugate { a } | Rotate { a, .. } | RotateHoisted { a, .. } => vec![*a],
            LevelDown { a } | Poly { a, .. } | Bootstrap { a } | SumBlocks { a, .. } => vec![*a],
            SplitBlocks { a } => vec![*a],
            JoinBlocks { parts } => parts.clone(),
            Loop { inits, .. } => inits.clone(),
            Output { value, .. } => vec![*value],
        }
    }

    /// For an operation whose ciphertext result keeps its operand's level (no rescale, no
    /// level change): that operand. The one list the scheduler and the validator share.
    pub fn level_preserving_operand(&self) -> Option<Reg> {
        use Op::*;
        match self {
            AddPlain { a, .. }
            | SubPlain { a, .. }
            | Neg { a }
            | MulInteger { a, .. }
            | MulI { a }
            | Conjugate { a }
            | Rotate { a, .. }
            | RotateHoisted { a, .. }
            | SumBlocks { a, .. }
            | SplitBlocks { a } => Some(*a),
            _ => None,
        }
    }

    /// The levels one ciphertext arithmetic step takes from its operands' level to its
    /// result's: a product rescales (1), a polynomial takes its evaluator's depth, the
    /// level-preserving operations and sums none. `None` for what is not such a step (inputs,
    /// public arithmetic, level changes, loops, outputs). The one table the scheduler's level
    /// demand and its emitter share.
    pub fn levels_consumed(&self) -> Option<usize> {
        use Op::*;
        match self {
            Mul { .. } | MulPlain { .. } => Some(1),
            Poly { poly, .. } => Some(super::validate::poly_depth(poly)),
            Add { .. } | Sub { .. } | JoinBlocks { .. } => Some(0),
            other => other.level_preserving_operand().map(|_| 0),
        }
    }

    /// A short name for counts and messages.
    pub fn mnemonic(&self) -> &'static str {
        use Op::*;
        match self {
            Input { .. } => "input",
            BatchInput { .. } => "batch_input",
            Const(_) => "const",
            DimValue(_) => "dim",
            ScalarBin { .. } => "scalar",
            Fill { .. } => "fill",
            Mask(_) => "mask",
            RowMask { .. } => "row_mask",
            PlainBin { .. } => "plain_bin",
            PlainUnary { .. } => "plain_unary",
            Trivial { .. } => "trivial",
            Add { .. } => "add",
            Sub { .. } => "sub",
            Neg { .. } => "neg",
            AddPlain { .. } => "add_plain",
            SubPlain { .. } => "sub_plain",
            Mul { .. } => "mul",
            MulPlain { .. } => "mul_plain",
            MulInteger { .. } => "mul_int",
            MulI { .. } => "mul_i",
            Conjugate { .. } => "conjugate",
            Rotate { .. } => "rotate",
            RotateHoisted { .. } => "rotate_hoisted",
            LevelDown { .. } => "level_down",
            Poly { .. } => "poly",
            Bootstrap { .. } => "bootstrap",
            SumBlocks { .. } => "sum_blocks",
            SplitBlocks { .. } => "split_blocks",
            JoinBlocks { .. } => "join_blocks",
            Loop { .. } => "loop",
            Output { .. } => "output",
        }
    }
}

/// Loops nest at most [`MAX_LOOP_DEPTH`] deep in a plan read from a file. Decoding (and
/// validating, executing, dropping) a plan recurses once per nested loop, so without a bound a
/// small crafted file of loops nested a hundred thousand deep would overflow the stack instead
/// of being refused. Compiled plans nest a few loops deep.
pub const MAX_LOOP_DEPTH: usize = 64;

pub(crate) mod nesting {
    use super::{Inst, MAX_LOOP_DEPTH};
    use serde::{Deserialize, Deserializer};
    use std::cell::Cell;

    thread_local! {
        static DEPTH: Cell<usize> = const { Cell::new(0) };
        static EXCEEDED: Cell<bool> = const { Cell::new(false) };
    }

    struct Level;
    impl Drop for Level {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }

    /// A loop body, refused past [`MAX_LOOP_DEPTH`] nested loops.
    pub fn body<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Inst>, D::Error> {
        let depth = DEPTH.with(|x| {
            x.set(x.get() + 1);
            x.get()
        });
        let _level = Level;
        if depth > MAX_LOOP_DEPTH {
            EXCEEDED.with(|e| e.set(true));
            return Err(serde::de::Error::custom(format!(
                "loops nested deeper than {MAX_LOOP_DEPTH}"
            )));
        }
        Vec::<Inst>::deserialize(d)
    }

    /// Whether the last decoding on this thread stopped at the nesting bound (and forgets it):
    /// postcard's errors do not carry the message.
    pub fn take_exceeded() -> bool {
        EXCEEDED.with(|e| e.replace(false))
    }
}
