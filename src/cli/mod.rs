//! One module per subcommand.

pub mod bench;
pub mod bench_bootstrap;
pub mod bench_ckks;
pub mod bench_features;
pub mod bench_softmax;
pub mod check;
pub mod features;
pub mod fmt;
pub mod params;
pub mod run;
