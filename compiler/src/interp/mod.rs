//! The reference interpreter: evaluates a [`CheckedProgram`] in f64 on real data. It is the
//! ground truth for compiled plans. With `exact = true` every approximation (an `approx`/`poly`
//! item, or a function marked `approximates f`) is replaced by the exact function, so the
//! approximation error alone can be measured. Range annotations are checked as it runs.

pub mod data;
pub mod data_errors;
pub mod eval;
pub mod feeds;
pub mod health;
pub mod measure;
pub mod nprng;
pub mod ops;

pub use data::{load_npy, load_safetensors, DataError, DataSet, Tensor};
pub use eval::{run, Options, OutputValue, RangeViolation, RunError, RunResult, Score};
pub use health::{violations, NonFinite, Violation};
