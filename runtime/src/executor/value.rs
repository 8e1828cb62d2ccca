//! What a register holds at run time, and blockwise broadcasting over grids.

use num_complex::Complex64;

use super::io::Grid;
use crate::backend::Backend;
use crate::plan::RegKind;

/// A public grid: one slot vector (`s0·s1` complex values) per block.
pub type PlainGrid = Grid<Vec<Complex64>>;

/// A register's value: a grid of ciphertexts, a grid of public slot vectors, or a number.
pub enum RegValue<B: Backend> {
    Cipher(Grid<B::Ct>),
    Plain(PlainGrid),
    Scalar(f64),
}

impl<B: Backend> Clone for RegValue<B> {
    fn clone(&self) -> Self {
        match self {
            RegValue::Cipher(g) => RegValue::Cipher(g.clone()),
            RegValue::Plain(g) => RegValue::Plain(g.clone()),
            RegValue::Scalar(v) => RegValue::Scalar(*v),
        }
    }
}

impl<B: Backend> std::fmt::Debug for RegValue<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegValue::Cipher(g) => write!(f, "Cipher({}×{})", rows(g), cols(g)),
            RegValue::Plain(g) => write!(f, "Plain({}×{})", rows(g), cols(g)),
            RegValue::Scalar(v) => write!(f, "Scalar({v})"),
        }
    }
}

impl<B: Backend> RegValue<B> {
    pub fn kind(&self) -> RegKind {
        match self {
            RegValue::Cipher(_) => RegKind::Cipher,
            RegValue::Plain(_) => RegKind::Plain,
            RegValue::Scalar(_) => RegKind::Scalar,
        }
    }

    /// Number of ciphertexts held (0 for public values).
    pub fn ciphertexts(&self) -> usize {
        match self {
            RegValue::Cipher(g) => g.iter().map(Vec::len).sum(),
            _ => 0,
        }
    }

    /// `(row blocks, column blocks)`; a scalar is 1 × 1.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            RegValue::Cipher(g) => (rows(g), cols(g)),
            RegValue::Plain(g) => (rows(g), cols(g)),
            RegValue::Scalar(_) => (1, 1),
        }
    }
}

pub(crate) fn rows<T>(g: &Grid<T>) -> usize {
    g.len()
}

pub(crate) fn cols<T>(g: &Grid<T>) -> usize {
    g.first().map_or(0, Vec::len)
}

/// Whether a grid is non-empty and rectangular.
pub(crate) fn is_rectangular<T>(g: &Grid<T>) -> bool {
    let c = cols(g);
    c > 0 && g.iter().all(|r| r.len() == c)
}

/// Whether an operand of shape `from` broadcasts to `to` (each axis equal or 1).
pub(crate) fn broadcasts(from: (usize, usize), to: (usize, usize)) -> bool {
    (from.0 == to.0 || from.0 == 1) && (from.1 == to.1 || from.1 == 1)
}

/// The block of `g` that position `(i, j)` of a broadcast result reads.
pub(crate) fn pick<T>(g: &Grid<T>, i: usize, j: usize) -> &T {
    let row = &g[if g.len() == 1 { 0 } else { i }];
    &row[if row.len() == 1 { 0 } else { j }]
}

/// A `rows × cols` grid from a function of the position, computed in parallel when it has
/// several blocks (backends are `Sync`; the simulator's results do not depend on the order).
pub(crate) fn build<T: Send, E: Send>(
    shape: (usize, usize),
    f: impl Fn(usize, usize) -> Result<T, E> + Sync,
) -> Result<Grid<T>, E> {
    use rayon::prelude::*;
    let (r, c) = shape;
    if r * c <= 1 {
        return (0..r)
            .map(|i| (0..c).map(|j| f(i, j)).collect())
            .collect::<Result<Grid<T>, E>>();
    }
    let flat: Vec<T> = (0..r * c)
        .into_par_iter()
        .map(|k| f(k / c, k % c))
        .collect::<Result<_, E>>()?;
    let mut it = flat.into_iter();
    Ok((0..r).map(|_| it.by_ref().take(c).collect()).collect())
}
