//! Residue number system: the basis of a parameter set and conversions between sub-bases.

pub mod basis;
pub mod conversion;
pub mod crt;
pub mod poly;

pub use basis::RnsBasis;
pub use conversion::BaseConverter;
pub use crt::CrtReconstructor;
pub use poly::Poly;
