//! The middle end's intermediate representations, one folder per stage. Each stage is its own
//! Rust type, so a pass written for one stage cannot be applied to another.
//!
//! - [`tensor`]: SSA dataflow over whole tensors, lowered from a [`crate::CheckedProgram`].

pub mod ckks;
pub mod layout;
pub mod tensor;
