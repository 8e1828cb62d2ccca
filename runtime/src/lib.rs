pub mod backend;
pub mod circuits;
pub mod ckks;
pub mod executor;
pub mod memory;
pub mod plan;
