pub mod ckks;
