//! blindtune-compiler: the blindtune language.
//!
//! Pipeline (one folder per stage): [`syntax`] (logos lexer, lalrpop grammar, AST, pretty
//! printer) -> [`types`] (name resolution, shapes, secrecy, ranges; produces a
//! [`types::CheckedProgram`]) -> [`interp`] (the f64 reference interpreter) and, for the middle end, [`ir`] (the tensor IR:
//! SSA over whole tensors, loops as regions). [`diagnostics`]
//! renders errors rustc-style; [`stdlib`] embeds `stdlib/*.bt`.

pub mod diagnostics;
pub mod interp;
pub mod ir;
pub mod opt;
pub mod pipeline;
pub mod plan;
pub mod sched;
pub mod stdlib;
pub mod syntax;
pub mod types;

pub use types::{check_file, check_source, CheckedProgram, Compilation};
