//! Errors of CKKS operations.

/// What went wrong in an encoding or evaluation call.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CkksError {
    #[error("{requested} values do not fit in the {max} slots of this ring")]
    TooManySlots { requested: usize, max: usize },
    #[error("level {level} is outside 0..={max}")]
    LevelOutOfRange { level: usize, max: usize },
    #[error("scale {scale} is not a finite number ≥ 1")]
    InvalidScale { scale: f64 },
    #[error("value at index {index} is not finite")]
    NonFiniteValue { index: usize },
    #[error("the series of one complex polynomial lie on different intervals: [{a0}, {b0}] and [{a1}, {b1}]")]
    IntervalMismatch { a0: f64, b0: f64, a1: f64, b1: f64 },
    #[error("encoded coefficients need 2^{log_coeff:.1} but the modulus at this level is only 2^{log_q:.1}: lower the scale or the values")]
    EncodingOverflow { log_coeff: f64, log_q: f64 },
    #[error("scales differ: {left} vs {right} (relative gap {gap:.2e}); rescale or re-encode so that they match")]
    ScaleMismatch { left: f64, right: f64, gap: f64 },
    #[error("slot counts differ: {left} vs {right}")]
    SlotMismatch { left: usize, right: usize },
    #[error("operand has degree {degree}; relinearize first")]
    NeedsRelinearization { degree: usize },
    #[error("cannot rescale a ciphertext at level 0")]
    NoLevelLeft,
    #[error("no relinearization key in the evaluation keys")]
    MissingRelinearizationKey,
    #[error(
        "no Galois key for element {element} (rotation by {steps:?}); generate it with the key set"
    )]
    MissingGaloisKey { element: u64, steps: Option<i64> },
    #[error("cannot drop from level {from} to level {to}")]
    InvalidLevelDrop { from: usize, to: usize },
    #[error("operands are at different levels: {left} and {right} (strict level mode); drop the higher one explicitly with a modswitch")]
    LevelMismatch { left: usize, right: usize },
    #[error("the {what} key is held only up to level {key_level} but is used at level {level}; generate it for a higher level (its key manifest's max_levels)")]
    KeyLevelTooLow {
        what: &'static str,
        level: usize,
        key_level: usize,
    },
    #[error("{op} needs {what}, which this backend does not have")]
    Unsupported {
        op: &'static str,
        what: &'static str,
    },
    #[error("objects belong to different parameter sets")]
    ParameterMismatch,
}
