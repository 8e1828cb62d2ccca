//! Prices for extraction, from the runtime's measured cost table at a nominal level.
//!
//! A node costs the seconds of the backend operations that execute it (a product:
//! tensor + relinearization + rescale; a rotation or conjugation: a full key switch; a
//! plaintext operand: its encoding) times the blocks of its grid; a level on the critical path
//! costs `level_price_s` (a bootstrap's time over the levels it gives), so a folded product is
//! worth a level and a rotation is worth a few milliseconds.

use super::analysis::{CkksAnalysis, Grid, Kind};
use super::lang::Ckks;
use blindtune_runtime::backend::trace::{Op as TraceOp, OpKind};
use blindtune_runtime::backend::CostModel;
use blindtune_runtime::plan::GridDim;
use egg::EGraph;
use std::collections::BTreeMap;

/// What extraction weighs.
#[derive(Clone, Debug)]
pub struct CostParams {
    /// the level the table is read at (user levels of `n16-boot` are 1–12)
    pub nominal_level: usize,
    /// seconds per level of critical-path depth
    pub level_price_s: f64,
    /// the parameter set whose shipped table prices operations
    pub params: String,
}

impl Default for CostParams {
    /// `n16-boot`: a bootstrap to 9 user levels takes ~26.5 s on one thread
    /// (`bench/results/2026-11-22-cpu.md`), so a level is worth ~2.9 s.
    fn default() -> Self {
        CostParams {
            nominal_level: 6,
            level_price_s: 26.5 / 9.0,
            params: "n16-boot".into(),
        }
    }
}

/// Seconds per operation at the nominal level, per ciphertext block.
#[derive(Clone, Debug)]
pub struct Prices {
    pub add: f64,
    pub neg: f64,
    pub add_plain: f64,
    pub add_const: f64,
    pub mul: f64,
    pub mul_plain: f64,
    pub mul_const: f64,
    pub mul_int: f64,
    pub mul_i: f64,
    pub galois: f64,
    pub galois_hoisted: f64,
    pub decompose: f64,
    pub encode: f64,
    /// public f64 arithmetic on a slot vector (plaintext products, sums)
    pub public_op: f64,
    pub level: f64,
    /// row blocks assumed for named dimensions
    pub assumed_rows: BTreeMap<String, usize>,
}

impl Prices {
    pub fn new(params: &CostParams, assumed_rows: BTreeMap<String, usize>) -> Prices {
        let model = CostModel::shipped(&params.params, 1)
            .or_else(|| CostModel::shipped("n16-boot", 1))
            .expect("the shipped n16-boot table");
        let at = |kind: OpKind| {
            model.op_seconds(&TraceOp {
                kind,
                level: params.nominal_level,
                digits: 0,
                terms: 1,
                key: None,
            })
        };
        let rescale = at(OpKind::Rescale);
        Prices {
            add: at(OpKind::Add),
            neg: at(OpKind::Neg),
            add_plain: at(OpKind::AddPlain),
            add_const: at(OpKind::AddConst),
            mul: at(OpKind::Tensor) + at(OpKind::Relinearize) + rescale,
            mul_plain: at(OpKind::MulPlain) + rescale,
            mul_const: at(OpKind::MulConst) + rescale,
            mul_int: at(OpKind::MulInteger),
            mul_i: at(OpKind::MulByI),
            galois: at(OpKind::Galois),
            galois_hoisted: at(OpKind::GaloisHoisted),
            decompose: at(OpKind::Decompose),
            encode: at(OpKind::Encode),
            public_op: 1e-4,
            level: params.level_price_s,
            assumed_rows,
        }
    }

    /// Ciphertexts in a grid.
    pub fn blocks(&self, g: &Grid) -> f64 {
        let rows = match &g.rows {
            GridDim::Fixed(n) => *n,
            GridDim::Rows(name) => self.assumed_rows.get(name).copied().unwrap_or(1),
        };
        (rows.max(1) * g.cols.max(1)) as f64
    }

    /// The seconds of one e-node (its children excluded); `None` for a node that cannot be
    /// emitted (a run-time plaintext rotated).
    pub fn node(
        &self,
        egraph: &EGraph<Ckks, CkksAnalysis>,
        class_grid: &Grid,
        n: &Ckks,
    ) -> Option<f64> {
        let plain = |id: &egg::Id| egraph[*id].data.kind == Kind::Plain;
        let b = self.blocks(class_grid);
        let per_block = match n {
            Ckks::Num(_) | Ckks::Lit(_) | Ckks::K(_) | Ckks::F(_) | Ckks::Sym(_) => {
                return Some(0.0)
            }
            Ckks::Add(_) | Ckks::Sub(_) => self.add,
            Ckks::Neg(_) => self.neg,
            Ckks::AddPlain([_, p]) | Ckks::SubPlain([_, p]) | Ckks::RSubPlain([_, p]) => {
                if plain(p) {
                    self.add_plain + self.encode
                } else {
                    self.add_const
                }
            }
            Ckks::Mul(_) => self.mul,
            Ckks::MulPlain([_, p]) => {
                if plain(p) {
                    self.mul_plain + self.encode
                } else {
                    self.mul_const
                }
            }
            Ckks::MulInt(_) => self.mul_int,
            Ckks::MulI(_) => self.mul_i,
            Ckks::Rot(_) | Ckks::Conj(_) => self.galois,
            Ckks::Poly([f, _]) => {
                // ~2·sqrt(degree) products and a constant product per coefficient
                let deg = egraph[*f]
                    .nodes
                    .iter()
                    .find_map(|n| match n {
                        Ckks::F(r) => Some(poly_degree(&egraph.analysis.polys[r.0 as usize].0)),
                        _ => None,
                    })
                    .unwrap_or(1) as f64;
                2.0 * deg.sqrt() * self.mul + deg * self.mul_const
            }
            Ckks::SumBlocks([_, x]) => {
                return Some((self.blocks(&egraph[*x].data.grid) - b).max(0.0) * self.add)
            }
            Ckks::Trivial(_) => self.encode,
            Ckks::PMul(_) | Ckks::PAdd(_) => return Some(self.public_op),
            Ckks::RotP(_) => return None,
        };
        Some(per_block * b)
    }
}

fn poly_degree(p: &blindtune_runtime::plan::PolySpec) -> usize {
    match p {
        blindtune_runtime::plan::PolySpec::Chebyshev { coeffs, .. }
        | blindtune_runtime::plan::PolySpec::Power { coeffs } => {
            coeffs.len().saturating_sub(1).max(1)
        }
    }
}
