//! Operation traces: what a circuit or plan did, one record per backend operation, with the
//! level it ran at, the key-switching digits it used and how many terms it summed. Traces
//! are the single source of operation counts (the cost model prices them; bootstrapping's
//! cost is its trace).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ckks::keys::{KeyManifest, RELINEARIZATION_ENTRY};

/// One kind of backend operation (the methods of [`super::Backend`] that do work).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Encode,
    EncodeExtended,
    DropLevel,
    Rescale,
    Add,
    Neg,
    AddPlain,
    AddConst,
    MulInteger,
    MulConst,
    LinearCombination,
    MulPlain,
    Tensor,
    Relinearize,
    MulByI,
    Decompose,
    /// An automorphism from a shared decomposition: inner product with a key and ModDown.
    GaloisHoisted,
    /// A full automorphism: decomposition, inner product, ModDown.
    Galois,
    Extend,
    /// An automorphism from a shared decomposition left over `Q ∪ P` (no ModDown).
    GaloisHoistedExtended,
    SumProductsExtended,
    AddExtended,
    /// `acc += σ(x)` over `Q ∪ P`: ModDown of one part, decomposition, inner product.
    GaloisAddExtended,
    RelinearizeExtended,
    ScalarExtended,
    ModDownRescale,
    ModDown,
    ModRaise,
    /// A trivial encryption `(pt, 0)` of a public value.
    Trivial,
}

impl OpKind {
    pub const ALL: [OpKind; 29] = [
        OpKind::Encode,
        OpKind::EncodeExtended,
        OpKind::DropLevel,
        OpKind::Rescale,
        OpKind::Add,
        OpKind::Neg,
        OpKind::AddPlain,
        OpKind::AddConst,
        OpKind::MulInteger,
        OpKind::MulConst,
        OpKind::LinearCombination,
        OpKind::MulPlain,
        OpKind::Tensor,
        OpKind::Relinearize,
        OpKind::MulByI,
        OpKind::Decompose,
        OpKind::GaloisHoisted,
        OpKind::Galois,
        OpKind::Extend,
        OpKind::GaloisHoistedExtended,
        OpKind::SumProductsExtended,
        OpKind::AddExtended,
        OpKind::GaloisAddExtended,
        OpKind::RelinearizeExtended,
        OpKind::ScalarExtended,
        OpKind::ModDownRescale,
        OpKind::ModDown,
        OpKind::ModRaise,
        OpKind::Trivial,
    ];

    /// The snake-case name used in tables and cost files.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Encode => "encode",
            OpKind::EncodeExtended => "encode_extended",
            OpKind::DropLevel => "drop_level",
            OpKind::Rescale => "rescale",
            OpKind::Add => "add",
            OpKind::Neg => "neg",
            OpKind::AddPlain => "add_plain",
            OpKind::AddConst => "add_const",
            OpKind::MulInteger => "mul_integer",
            OpKind::MulConst => "mul_const",
            OpKind::LinearCombination => "linear_combination",
            OpKind::MulPlain => "mul_plain",
            OpKind::Tensor => "tensor",
            OpKind::Relinearize => "relinearize",
            OpKind::MulByI => "mul_by_i",
            OpKind::Decompose => "decompose",
            OpKind::GaloisHoisted => "galois_hoisted",
            OpKind::Galois => "galois",
            OpKind::Extend => "extend",
            OpKind::GaloisHoistedExtended => "galois_hoisted_extended",
            OpKind::SumProductsExtended => "sum_products_extended",
            OpKind::AddExtended => "add_extended",
            OpKind::GaloisAddExtended => "galois_add_extended",
            OpKind::RelinearizeExtended => "relinearize_extended",
            OpKind::ScalarExtended => "scalar_extended",
            OpKind::ModDownRescale => "mod_down_rescale",
            OpKind::ModDown => "mod_down",
            OpKind::ModRaise => "mod_raise",
            OpKind::Trivial => "trivial",
        }
    }

    /// Inner products with a switching key this operation performs.
    pub fn key_switches(self) -> usize {
        match self {
            OpKind::Relinearize
            | OpKind::GaloisHoisted
            | OpKind::Galois
            | OpKind::GaloisHoistedExtended
            | OpKind::GaloisAddExtended
            | OpKind::RelinearizeExtended => 1,
            // dense → sparse at level 0, sparse → dense after the raise
            OpKind::ModRaise => 2,
            _ => 0,
        }
    }

    /// Decompositions (ModUp into digits over `Q ∪ P`) this operation performs.
    pub fn decompositions(self) -> usize {
        match self {
            OpKind::Relinearize
            | OpKind::Decompose
            | OpKind::Galois
            | OpKind::GaloisAddExtended
            | OpKind::RelinearizeExtended => 1,
            OpKind::ModRaise => 2,
            _ => 0,
        }
    }

    /// ModDowns of one polynomial part this operation performs (a fused ModDown-rescale
    /// counts as a ModDown).
    pub fn mod_downs(self) -> usize {
        match self {
            OpKind::Relinearize | OpKind::GaloisHoisted | OpKind::Galois => 2,
            OpKind::GaloisAddExtended => 1,
            OpKind::ModDownRescale | OpKind::ModDown => 2,
            OpKind::ModRaise => 4,
            _ => 0,
        }
    }
}

/// One recorded operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Op {
    pub kind: OpKind,
    /// Level of the (first) input; for encodings and `mod_raise`, of the output.
    pub level: usize,
    /// Key-switching digits at that level (0 for operations without a key switch).
    pub digits: usize,
    /// Summed terms (linear combinations, sums of products); 1 otherwise.
    pub terms: usize,
    /// The switching key used: a Galois element, or
    /// [`RELINEARIZATION_ENTRY`] for the relinearization key.
    pub key: Option<u64>,
}

/// The operations one run performed, in order (for concurrent circuits, in the order the
/// threads reached them; compare with [`Trace::summary`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub ops: Vec<Op>,
}

impl Trace {
    /// Counts per `(kind, level, digits, terms)`: equal for two runs of one circuit whatever
    /// the interleaving of its threads.
    pub fn summary(&self) -> BTreeMap<Op, usize> {
        let mut m = BTreeMap::new();
        for op in &self.ops {
            *m.entry(*op).or_insert(0) += 1;
        }
        m
    }

    /// Counts per kind, in [`OpKind`] order.
    pub fn counts_by_kind(&self) -> BTreeMap<OpKind, usize> {
        let mut m = BTreeMap::new();
        for op in &self.ops {
            *m.entry(op.kind).or_insert(0) += 1;
        }
        m
    }

    /// Inner products with a switching key.
    pub fn key_switches(&self) -> usize {
        self.ops.iter().map(|o| o.kind.key_switches()).sum()
    }

    /// Decompositions (ModUp).
    pub fn decompositions(&self) -> usize {
        self.ops.iter().map(|o| o.kind.decompositions()).sum()
    }

    /// ModDowns of one polynomial part.
    pub fn mod_downs(&self) -> usize {
        self.ops.iter().map(|o| o.kind.mod_downs()).sum()
    }

    /// Sum over key switches of the limbs (`level + 1`) they run at.
    pub fn key_switch_limbs(&self) -> usize {
        self.ops
            .iter()
            .map(|o| o.kind.key_switches() * (o.level + 1))
            .sum()
    }

    /// Plaintext-ciphertext products (sum-of-product terms and plaintext products).
    pub fn plaintext_products(&self) -> usize {
        self.ops
            .iter()
            .map(|o| match o.kind {
                OpKind::SumProductsExtended => o.terms,
                OpKind::MulPlain => 1,
                _ => 0,
            })
            .sum()
    }

    /// The keys this trace used, each with the highest level it was used at: the exact key
    /// manifest of the run (computed from what the backend did, never re-derived).
    pub fn key_manifest(&self) -> KeyManifest {
        let mut m = KeyManifest::default();
        for op in &self.ops {
            let Some(k) = op.key else { continue };
            if k == RELINEARIZATION_ENTRY {
                m.relinearization = true;
            } else {
                m.galois_elements.push(k);
            }
            let e = m.max_levels.entry(k).or_insert(op.level);
            *e = (*e).max(op.level);
        }
        m.galois_elements.sort_unstable();
        m.galois_elements.dedup();
        m
    }
}
