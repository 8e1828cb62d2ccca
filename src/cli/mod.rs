//! One module per subcommand.

pub mod bench;
pub mod bench_bootstrap;
pub mod check;
pub mod fmt;
pub mod run;
pub mod bench_ckks;
pub mod bench_features;
pub mod features;
pub mod params;
