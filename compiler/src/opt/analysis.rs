//! The e-class analysis: what every class knows whatever term computes it.
//!
//! - [`Kind`]: ciphertext, plaintext, scalar, or a datum (a step, an axis, a polynomial);
//! - the grid of blocks (equal terms have equal grids, so rebuilding a register needs no term);
//! - multiplicative depth: the minimum over the class of levels consumed from the block's
//!   live-ins (a product or plaintext product one, a polynomial its evaluator depth);
//! - for plaintexts and scalars known at compile time, the interned rule ([`Konst`]): `modify`
//!   adds the rule's leaf (`Lit` or `k…`) to the class, so constant folding is a union.

use super::konst::{Konst, KonstTable};
use super::lang::{Ckks, Lit, PolyRef};
use blindtune_runtime::plan::{BlockShape, GridDim, PolySpec};
use egg::{Analysis, DidMerge, EGraph, Id, Symbol};
use std::collections::HashMap;

/// What a class holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Cipher,
    Plain,
    Scalar,
    /// a rotation step, an integer factor, an axis, a polynomial
    Datum,
}

/// Blocks along rows and columns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Grid {
    pub rows: GridDim,
    pub cols: usize,
}

impl Grid {
    pub const ONE: Grid = Grid {
        rows: GridDim::Fixed(1),
        cols: 1,
    };

    /// The grid of a blockwise operation on two grids (a single block broadcasts).
    pub fn broadcast(&self, other: &Grid) -> Grid {
        Grid {
            rows: if self.rows == GridDim::Fixed(1) {
                other.rows.clone()
            } else {
                self.rows.clone()
            },
            cols: self.cols.max(other.cols),
        }
    }
}

/// A leaf register's facts, given by the conversion (or a test).
#[derive(Clone, Debug)]
pub struct LeafInfo {
    pub kind: Kind,
    pub grid: Grid,
    pub konst: Option<Konst>,
}

/// Per-class data.
#[derive(Clone, Debug)]
pub struct Data {
    pub kind: Kind,
    pub grid: Grid,
    pub depth: u32,
    /// the interned rule of a compile-time plaintext or scalar
    pub konst: Option<u32>,
    /// the value of a `Num` leaf
    pub num: Option<i64>,
}

/// The analysis, with the tables the rules and the conversion share.
#[derive(Clone, Debug)]
pub struct CkksAnalysis {
    pub block: BlockShape,
    pub leaves: HashMap<Symbol, LeafInfo>,
    pub table: KonstTable,
    /// interned polynomials with their evaluator depth
    pub polys: Vec<(PolySpec, u32)>,
    poly_index: HashMap<String, u32>,
}

impl Default for CkksAnalysis {
    /// Blocks of 128 × 256 (2^15 slots), no known leaves (unknown symbols are ciphertexts).
    fn default() -> Self {
        CkksAnalysis::new(BlockShape { s0: 128, s1: 256 })
    }
}

impl CkksAnalysis {
    pub fn new(block: BlockShape) -> Self {
        CkksAnalysis {
            block,
            leaves: HashMap::new(),
            table: KonstTable::default(),
            polys: Vec::new(),
            poly_index: HashMap::new(),
        }
    }

    pub fn slots(&self) -> i64 {
        self.block.slots() as i64
    }

    /// Declares a leaf symbol (a register from outside the expression).
    pub fn with_leaf(mut self, name: &str, kind: Kind, konst: Option<Konst>) -> Self {
        self.leaves.insert(
            Symbol::from(name),
            LeafInfo {
                kind,
                grid: Grid::ONE,
                konst,
            },
        );
        self
    }

    /// Interns a polynomial with its depth.
    pub fn poly(&mut self, spec: &PolySpec, depth: u32) -> PolyRef {
        let key = format!("{spec:?}");
        if let Some(&i) = self.poly_index.get(&key) {
            return PolyRef(i);
        }
        let i = self.polys.len() as u32;
        self.polys.push((spec.clone(), depth));
        self.poly_index.insert(key, i);
        PolyRef(i)
    }

    pub fn konst(&self, i: u32) -> &Konst {
        self.table.get(i)
    }
}

fn datum() -> Data {
    Data {
        kind: Kind::Datum,
        grid: Grid::ONE,
        depth: 0,
        konst: None,
        num: None,
    }
}

impl Analysis<Ckks> for CkksAnalysis {
    type Data = Data;

    fn make(egraph: &mut EGraph<Ckks, Self>, enode: &Ckks) -> Data {
        let d = |i: &Id| egraph[*i].data.clone();
        let cipher = |grid: Grid, depth: u32| Data {
            kind: Kind::Cipher,
            grid,
            depth,
            konst: None,
            num: None,
        };
        match enode {
            Ckks::Num(n) => Data {
                num: Some(*n),
                ..datum()
            },
            Ckks::F(_) => datum(),
            Ckks::Lit(l) => {
                let k = egraph.analysis.table.intern(Konst::scalar(l.value()));
                Data {
                    kind: Kind::Scalar,
                    konst: Some(k),
                    ..datum()
                }
            }
            Ckks::K(r) => Data {
                kind: Kind::Plain,
                konst: Some(r.0),
                ..datum()
            },
            Ckks::Sym(s) => match egraph.analysis.leaves.get(s).cloned() {
                Some(info) => Data {
                    kind: info.kind,
                    grid: info.grid,
                    depth: 0,
                    konst: info.konst.map(|k| egraph.analysis.table.intern(k)),
                    num: None,
                },
                None => cipher(Grid::ONE, 0),
            },
            Ckks::Add([a, b]) | Ckks::Sub([a, b]) => {
                let (a, b) = (d(a), d(b));
                cipher(a.grid.broadcast(&b.grid), a.depth.max(b.depth))
            }
            Ckks::Mul([a, b]) => {
                let (a, b) = (d(a), d(b));
                cipher(a.grid.broadcast(&b.grid), a.depth.max(b.depth) + 1)
            }
            Ckks::MulPlain([x, p]) => {
                let (x, p) = (d(x), d(p));
                cipher(x.grid.broadcast(&p.grid), x.depth + 1)
            }
            Ckks::AddPlain([x, p]) | Ckks::SubPlain([x, p]) | Ckks::RSubPlain([x, p]) => {
                let (x, p) = (d(x), d(p));
                cipher(x.grid.broadcast(&p.grid), x.depth)
            }
            Ckks::Neg(x) | Ckks::Conj(x) | Ckks::MulI(x) => {
                let x = d(x);
                cipher(x.grid, x.depth)
            }
            Ckks::Rot([x, _]) | Ckks::MulInt([x, _]) => {
                let x = d(x);
                cipher(x.grid, x.depth)
            }
            Ckks::Poly([f, x]) => {
                let x = d(x);
                let depth = match egraph[*f].nodes.iter().find_map(|n| match n {
                    Ckks::F(r) => Some(r.0),
                    _ => None,
                }) {
                    Some(i) => egraph.analysis.polys[i as usize].1,
                    None => 0,
                };
                cipher(x.grid, x.depth + depth)
            }
            Ckks::SumBlocks([axis, x]) => {
                let (axis, x) = (d(axis).num.unwrap_or(0), d(x));
                let grid = if axis == 0 {
                    Grid {
                        rows: GridDim::Fixed(1),
                        cols: x.grid.cols,
                    }
                } else {
                    Grid {
                        rows: x.grid.rows,
                        cols: 1,
                    }
                };
                cipher(grid, x.depth)
            }
            Ckks::Trivial(p) => cipher(d(p).grid, 0),
            Ckks::PMul([p, q]) | Ckks::PAdd([p, q]) => {
                let (p, q) = (d(p), d(q));
                let konst = match (p.konst, q.konst) {
                    (Some(a), Some(b)) => {
                        let t = &egraph.analysis.table;
                        let (ka, kb) = (t.get(a), t.get(b));
                        let k = if matches!(enode, Ckks::PMul(_)) {
                            Some(ka.mul(kb))
                        } else {
                            ka.add(kb)
                        };
                        k.map(|k| egraph.analysis.table.intern(k))
                    }
                    _ => None,
                };
                let kind = if p.kind == Kind::Scalar && q.kind == Kind::Scalar {
                    Kind::Scalar
                } else {
                    Kind::Plain
                };
                Data {
                    kind,
                    grid: p.grid.broadcast(&q.grid),
                    depth: 0,
                    konst,
                    num: None,
                }
            }
            Ckks::RotP([p, k]) => {
                let (p, k) = (d(p), d(k));
                let konst = match (p.konst, k.num) {
                    (Some(c), Some(steps)) => {
                        let block = egraph.analysis.block;
                        let r = egraph.analysis.table.get(c).rotate(steps, block);
                        Some(egraph.analysis.table.intern(r))
                    }
                    _ => None,
                };
                Data {
                    kind: p.kind,
                    grid: p.grid,
                    depth: 0,
                    konst,
                    num: None,
                }
            }
        }
    }

    fn merge(&mut self, a: &mut Data, b: Data) -> DidMerge {
        let mut changed_a = false;
        let mut changed_b = false;
        if b.depth < a.depth {
            a.depth = b.depth;
            changed_a = true;
        } else if a.depth < b.depth {
            changed_b = true;
        }
        if a.kind != b.kind {
            // a uniform plaintext and a scalar of the same value: a plaintext
            if a.kind == Kind::Scalar && b.kind == Kind::Plain {
                a.kind = Kind::Plain;
                changed_a = true;
            } else {
                changed_b = true;
            }
        }
        match (a.konst, b.konst) {
            (None, Some(k)) => {
                a.konst = Some(k);
                changed_a = true;
            }
            (Some(_), None) => changed_b = true,
            (Some(x), Some(y)) if x != y => changed_b = true,
            _ => {}
        }
        if a.num.is_none() && b.num.is_some() {
            a.num = b.num;
            changed_a = true;
        }
        DidMerge(changed_a, changed_b)
    }

    fn modify(egraph: &mut EGraph<Ckks, Self>, id: Id) {
        let data = &egraph[id].data;
        let Some(k) = data.konst else { return };
        if data.kind == Kind::Datum {
            return;
        }
        let leaf = match egraph.analysis.table.get(k).as_scalar() {
            Some(v) => Ckks::Lit(Lit::new(v)),
            None => Ckks::K(super::lang::KRef(k)),
        };
        let added = egraph.add(leaf);
        egraph.union(id, added);
    }
}

/// The data of a class, for conditions.
pub fn data(egraph: &EGraph<Ckks, CkksAnalysis>, id: Id) -> &Data {
    &egraph[id].data
}
