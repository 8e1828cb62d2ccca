//! How a tensor of at most two axes lies in ciphertext slots.
//!
//! Every ciphertext holds one *block* of `s0 × s1` slots ([`BlockShape`], `s0·s1` = the slot
//! count), stored row-major: block position `(p, q)` is slot `p·s1 + q`. A tensor `[r, c]` (a
//! vector `[c]` is `[1, c]`, a scalar `[1, 1]`) is a grid of blocks, and each of its two axes is
//! laid along the matching block axis in one of three ways ([`AxisLayout`]):
//!
//! - `Blocked`: index `i` lies in block `i / s` at position `i % s` (`s` = `s0` or `s1`); the
//!   positions past the axis length are padding;
//! - `Tiled { period }`: one block; position `p` holds index `p % period` (`period` a power of
//!   two ≥ the length, dividing `s`), so the axis is repeated `s / period` times: HETAL's
//!   row-tiled weights and column-tiled logits;
//! - `Replicated`: the tensor has length 1 on this axis, and every position holds it: free
//!   broadcasting.
//!
//! Padding positions hold zero when a value is *clean*; the compiler tracks where elementwise
//! functions make them dirty and masks before any reduction that would read them.

use serde::{Deserialize, Serialize};

/// The block every ciphertext of a plan holds: `s0` rows of `s1` slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockShape {
    pub s0: usize,
    pub s1: usize,
}

impl BlockShape {
    pub fn slots(&self) -> usize {
        self.s0 * self.s1
    }
    /// The block extent along tensor axis 0 (`s0`) or 1 (`s1`).
    pub fn extent(&self, axis: usize) -> usize {
        if axis == 0 {
            self.s0
        } else {
            self.s1
        }
    }
}

/// How one tensor axis lies along one block axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AxisLayout {
    Blocked,
    Tiled { period: usize },
    Replicated,
}

/// The layout of a two-axis tensor: `rows` along the block's `s0`, `cols` along `s1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Layout {
    pub rows: AxisLayout,
    pub cols: AxisLayout,
}

impl Layout {
    pub const SCALAR: Layout = Layout {
        rows: AxisLayout::Replicated,
        cols: AxisLayout::Replicated,
    };
    pub const ROW_MAJOR: Layout = Layout {
        rows: AxisLayout::Blocked,
        cols: AxisLayout::Blocked,
    };

    pub fn axis(&self, axis: usize) -> AxisLayout {
        if axis == 0 {
            self.rows
        } else {
            self.cols
        }
    }
}

impl AxisLayout {
    /// Number of blocks along this axis for an axis of length `len`, block extent `s`.
    pub fn blocks(&self, len: usize, s: usize) -> usize {
        match self {
            AxisLayout::Blocked => len.div_ceil(s).max(1),
            _ => 1,
        }
    }

    /// The tensor index at block `b`, position `p` (block extent `s`), or `None` for padding.
    pub fn index(&self, len: usize, s: usize, b: usize, p: usize) -> Option<usize> {
        let i = match self {
            AxisLayout::Blocked => b * s + p,
            AxisLayout::Tiled { period } => p % period,
            AxisLayout::Replicated => 0,
        };
        (i < len).then_some(i)
    }

    /// Whether this axis layout can hold an axis of length `len` in blocks of extent `s`.
    pub fn admits(&self, len: usize, s: usize) -> bool {
        match self {
            AxisLayout::Blocked => true,
            AxisLayout::Tiled { period } => {
                period.is_power_of_two() && *period >= len && s % period == 0
            }
            AxisLayout::Replicated => len <= 1,
        }
    }
}

impl std::fmt::Display for AxisLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AxisLayout::Blocked => write!(f, "blocked"),
            AxisLayout::Tiled { period } => write!(f, "tiled{period}"),
            AxisLayout::Replicated => write!(f, "repl"),
        }
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.rows, self.cols)
    }
}

/// Lays a row-major `[rows, cols]` tensor out as its grid of blocks: `blocks[bi][bj]` is a
/// slot vector of `s0·s1` values (padding zero). The client encodes inputs with it and the
/// executor encodes public tensors; [`gather`] is its inverse.
pub fn scatter(
    data: &[f64],
    rows: usize,
    cols: usize,
    layout: Layout,
    block: BlockShape,
) -> Vec<Vec<Vec<f64>>> {
    let (rb, cb) = (
        layout.rows.blocks(rows, block.s0),
        layout.cols.blocks(cols, block.s1),
    );
    let mut out = vec![vec![vec![0.0; block.slots()]; cb]; rb];
    for (bi, row) in out.iter_mut().enumerate() {
        for (bj, slots) in row.iter_mut().enumerate() {
            for p in 0..block.s0 {
                let Some(i) = layout.rows.index(rows, block.s0, bi, p) else {
                    continue;
                };
                for q in 0..block.s1 {
                    if let Some(j) = layout.cols.index(cols, block.s1, bj, q) {
                        slots[p * block.s1 + q] = data[i * cols + j];
                    }
                }
            }
        }
    }
    out
}

/// Reads a row-major `[rows, cols]` tensor back from its blocks (the first copy of each
/// tiled or replicated entry).
pub fn gather(
    blocks: &[Vec<Vec<f64>>],
    rows: usize,
    cols: usize,
    layout: Layout,
    block: BlockShape,
) -> Vec<f64> {
    let mut out = vec![0.0; rows * cols];
    let pos = |l: AxisLayout, i: usize, s: usize| match l {
        AxisLayout::Blocked => (i / s, i % s),
        _ => (0, i),
    };
    for i in 0..rows {
        let (bi, p) = pos(layout.rows, i, block.s0);
        for j in 0..cols {
            let (bj, q) = pos(layout.cols, j, block.s1);
            out[i * cols + j] = blocks[bi][bj][p * block.s1 + q];
        }
    }
    out
}

/// A plaintext vector described by a rule, generated at load time (never stored in a plan).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Mask {
    /// 1 where the row position `p` and column position `q` of the block satisfy
    /// `p % row_mod ∈ [row_lo, row_hi)` and `q % col_mod ∈ [col_lo, col_hi)`, else 0
    Window {
        row_mod: usize,
        row_lo: usize,
        row_hi: usize,
        col_mod: usize,
        col_lo: usize,
        col_hi: usize,
    },
    /// the wrapped diagonal: 1 where `(a·p + b·q + offset) % modulus == 0` and
    /// `q % col_mod < col_hi` (HETAL's placement masks `M_k`, `M'_k`)
    Diagonal {
        a: i64,
        b: i64,
        offset: i64,
        modulus: usize,
        col_mod: usize,
        col_hi: usize,
    },
    /// `re·m1 + i·im·m2` of two masks (the complex two-diagonal placement `(M_k − i·M_{k+h})/2`)
    Complex {
        re: f64,
        first: Box<Mask>,
        im: f64,
        second: Box<Mask>,
    },
    /// `mask` rotated like a ciphertext by `steps` over a `block`: position `j = p·s1 + q`
    /// holds the mask's position `(j + steps) mod slots` (the plaintext of a rotation moved
    /// through a product, `rot(x·m, k) = rot(x, k)·rot(m, k)`; made by the optimizer)
    Rotated {
        mask: Box<Mask>,
        steps: i64,
        block: BlockShape,
    },
}

impl Mask {
    /// The mask's value at block position `(p, q)`.
    pub fn value(&self, p: usize, q: usize) -> num_complex::Complex64 {
        use num_complex::Complex64 as C;
        match self {
            Mask::Window {
                row_mod,
                row_lo,
                row_hi,
                col_mod,
                col_lo,
                col_hi,
            } => {
                let (r, c) = (p % row_mod.max(&1), q % col_mod.max(&1));
                C::new(
                    (r >= *row_lo && r < *row_hi && c >= *col_lo && c < *col_hi) as u8 as f64,
                    0.0,
                )
            }
            Mask::Diagonal {
                a,
                b,
                offset,
                modulus,
                col_mod,
                col_hi,
            } => {
                let m = (*modulus).max(1) as i64;
                let v = (a * p as i64 + b * q as i64 + offset).rem_euclid(m);
                let ok = v == 0 && q % col_mod.max(&1) < *col_hi;
                C::new(ok as u8 as f64, 0.0)
            }
            Mask::Complex {
                re,
                first,
                im,
                second,
            } => first.value(p, q) * *re + C::new(0.0, *im) * second.value(p, q),
            Mask::Rotated { mask, steps, block } => {
                let n = block.slots() as i64;
                let j = ((p * block.s1 + q) as i64 + steps).rem_euclid(n) as usize;
                mask.value(j / block.s1, j % block.s1)
            }
        }
    }

    /// This mask rotated by `steps` over `block` (a rotation of a rotation is one rotation;
    /// a whole turn is the mask itself).
    pub fn rotated(&self, steps: i64, block: BlockShape) -> Mask {
        let n = block.slots() as i64;
        let (inner, total) = match self {
            Mask::Rotated {
                mask,
                steps: s,
                block: b,
            } if *b == block => (mask.as_ref(), s + steps),
            m => (m, steps),
        };
        match total.rem_euclid(n) {
            0 => inner.clone(),
            k => Mask::Rotated {
                mask: Box::new(inner.clone()),
                steps: k,
                block,
            },
        }
    }

    /// The whole block's slot vector.
    pub fn slots(&self, block: BlockShape) -> Vec<num_complex::Complex64> {
        let mut v = Vec::with_capacity(block.slots());
        for p in 0..block.s0 {
            for q in 0..block.s1 {
                v.push(self.value(p, q));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_mask_moves_like_a_rotated_ciphertext() {
        let block = BlockShape { s0: 4, s1: 8 };
        let m = Mask::Diagonal {
            a: 1,
            b: -1,
            offset: 1,
            modulus: 4,
            col_mod: 4,
            col_hi: 3,
        };
        let base = m.slots(block);
        let n = block.slots();
        for k in [1i64, 5, 8, 31, -3] {
            let r = m.rotated(k, block);
            let got = r.slots(block);
            for j in 0..n {
                // rotation by k: slot j <- slot j + k (cyclic)
                assert_eq!(got[j], base[(j as i64 + k).rem_euclid(n as i64) as usize]);
            }
        }
        // composition and a whole turn
        assert_eq!(m.rotated(3, block).rotated(-3, block), m);
        assert_eq!(m.rotated(3, block).rotated(4, block), m.rotated(7, block));
        assert_eq!(m.rotated(n as i64, block), m);
    }
}
