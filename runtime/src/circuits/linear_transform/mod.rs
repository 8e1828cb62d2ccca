//! Slot-wise linear transforms: matrices as diagonals, evaluated with BSGS and hoisting.
//! Each transform declares the Galois elements it needs ([`LinearTransform::key_manifest`]).

pub mod diagonal_matrix;
pub mod transform;

pub use diagonal_matrix::DiagonalMatrix;
pub use transform::LinearTransform;
