//! CKKS bootstrapping (ModRaise first) with sparse-secret encapsulation and a chosen target
//! level.
//!
//! * [`config`]: the circuit's shape and the parameter sets built for it.
//! * [`dft`]: the special DFT factored into butterfly stages and collapsed into levels.
//! * [`eval_mod`]: the scaled-cosine approximation of the modular reduction.
//! * keys: evaluation keys plus the two encapsulation switching keys live in
//!   [`crate::ckks::encapsulation`] (the CPU backend's ModRaise needs them; re-exported here).
//! * [`bootstrapper`]: the circuit.

pub mod bootstrapper;
pub mod config;
pub mod dft;
pub mod eval_mod;

pub use crate::ckks::encapsulation::{BootstrappingKeys, EncapsulationKey};
pub use bootstrapper::{BootstrapCost, BootstrapError, Bootstrapper};
pub use config::{BootstrappingConfig, EvalModConfig};
pub use eval_mod::EvalMod;
