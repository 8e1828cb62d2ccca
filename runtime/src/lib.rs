pub mod circuits;
pub mod ckks;
