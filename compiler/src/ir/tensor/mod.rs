//! The tensor IR: the first stage of the middle end (issue 10).
//!
//! An SSA dataflow program over whole tensors. Every value has a tensor type (shape with
//! symbolic dims, element kind, secrecy, known range); functions are inlined; loops stay
//! rolled as regions with carried values; approximations are first-class polynomial nodes.
//!
//! - [`ir`]: the types ([`TensorProgram`], [`Region`], [`Inst`], [`Op`]).
//! - [`lower`]: [`crate::CheckedProgram`] → [`TensorProgram`] (runs the verifier).
//! - [`print`]: the MLIR-like text form.
//! - [`verify`]: dominance, types and region invariants.
//! - [`interp`]: an f64 evaluator, checked against the reference interpreter.

pub mod interp;
pub mod ir;
pub mod lower;
pub mod print;
pub mod verify;

pub use ir::{Inst, LoopKind, Op, Region, TensorProgram, ValueId, ValueInfo};
pub use lower::{lower, LowerError};
pub use verify::{verify, VerifyError};
