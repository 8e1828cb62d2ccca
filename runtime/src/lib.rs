pub mod backend;
pub mod circuits;
pub mod ckks;
pub mod memory;
pub mod plan;
