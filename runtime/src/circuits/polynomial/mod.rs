//! Polynomial evaluation on CKKS ciphertexts, the building block of bootstrapping's EvalMod
//! and of compiled non-linear activations.
//!
//! * [`chebyshev`]: Chebyshev series on `[a, b]` (interpolation, Clenshaw reference).
//! * [`power`]: polynomials in the monomial basis.
//! * [`evaluator`]: homomorphic baby-step giant-step evaluation with minimal depth and exact
//!   output scale.

pub mod chebyshev;
pub mod evaluator;
pub mod power;

pub use chebyshev::ChebyshevSeries;
pub use evaluator::{PolynomialEvaluator, NEGLIGIBLE_COEFF};
pub use power::PowerSeries;
