//! Word-level arithmetic: prime moduli, their reduction constants, prime generation and the NTT.

pub mod modulus;
pub mod ntt;
pub mod primes;

pub use modulus::{Modulus, ShoupConst};
pub use ntt::NttTable;
