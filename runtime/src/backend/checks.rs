//! The argument checks every backend applies identically (the CPU backend's come from its
//! evaluator): one place, so that the metadata backend and the simulator refuse exactly what
//! the CPU backend refuses.

use super::CiphertextMeta;
use crate::ckks::evaluator::{check_scales, check_slots};
use crate::ckks::{CkksError, Params};

/// Refuses operands at different levels (strict level mode).
pub fn check_same_level(left: usize, right: usize) -> Result<(), CkksError> {
    if left != right {
        return Err(CkksError::LevelMismatch { left, right });
    }
    Ok(())
}

/// A binary operation's operands: same level, scale and slot count.
pub fn check_binary(a: &impl CiphertextMeta, b: &impl CiphertextMeta) -> Result<(), CkksError> {
    check_same_level(a.level(), b.level())?;
    check_scales(a.scale(), b.scale())?;
    check_slots(a.slots(), b.slots())
}

/// A ciphertext that must not be awaiting relinearization.
pub fn check_degree_one(a: &impl CiphertextMeta) -> Result<(), CkksError> {
    if a.degree() != 1 {
        return Err(CkksError::NeedsRelinearization { degree: a.degree() });
    }
    Ok(())
}

/// A shared decomposition (made at `dec_level`) used for a ciphertext at `level`.
pub fn check_decomposition(dec_level: usize, level: usize) -> Result<(), CkksError> {
    if dec_level != level {
        return Err(CkksError::InvalidLevelDrop {
            from: dec_level,
            to: level,
        });
    }
    Ok(())
}

/// Encoding at `level` and `scale`.
pub fn check_encode(params: &Params, level: usize, scale: f64) -> Result<(), CkksError> {
    if level > params.max_level() {
        return Err(CkksError::LevelOutOfRange {
            level,
            max: params.max_level(),
        });
    }
    if !(scale.is_finite() && scale >= 1.0) {
        return Err(CkksError::InvalidScale { scale });
    }
    Ok(())
}

/// A drop from `from` to `to` (never up).
pub fn check_drop(from: usize, to: usize) -> Result<(), CkksError> {
    if to > from {
        return Err(CkksError::InvalidLevelDrop { from, to });
    }
    Ok(())
}

/// The terms of a linear combination at `level`: one slot count and degree, products of one
/// scale, inputs at or above `level`. Returns the output scale.
pub fn check_linear_combination<C: CiphertextMeta>(
    terms: &[(&C, f64)],
    level: usize,
) -> Result<f64, CkksError> {
    let Some(&(first, fs)) = terms.first() else {
        return Err(CkksError::InvalidLevelDrop { from: 0, to: level });
    };
    let scale = first.scale() * fs;
    for &(a, cs) in terms {
        check_slots(a.slots(), first.slots())?;
        check_scales(a.scale() * cs, scale)?;
        if a.level() < level {
            return Err(CkksError::InvalidLevelDrop {
                from: a.level(),
                to: level,
            });
        }
        if a.degree() != first.degree() {
            return Err(CkksError::NeedsRelinearization {
                degree: a.degree().max(first.degree()),
            });
        }
    }
    Ok(scale)
}

/// `(level, scale, slots)` of one operand.
pub type OperandMeta = (usize, f64, usize);

/// The terms of a sum of products over `Q ∪ P`: `(ciphertext level, scale, slots)` and
/// `(plaintext level, scale, slots)`, all at one level, slot count and product scale.
/// Returns the output scale.
pub fn check_sum_of_products(terms: &[(OperandMeta, OperandMeta)]) -> Result<f64, CkksError> {
    let Some(&((level, s0, slots), (_, p0, _))) = terms.first() else {
        return Err(CkksError::InvalidLevelDrop { from: 0, to: 0 });
    };
    let scale = s0 * p0;
    for &((al, a_scale, a_slots), (pl, p_scale, p_slots)) in terms {
        check_slots(a_slots, slots)?;
        check_slots(p_slots, slots)?;
        check_scales(a_scale * p_scale, scale)?;
        if al != level || pl != level {
            return Err(CkksError::InvalidLevelDrop {
                from: al.min(pl),
                to: level,
            });
        }
    }
    Ok(scale)
}

/// ModRaise's input (level 0, degree 1) and target level.
pub fn check_mod_raise(
    params: &Params,
    ct: &impl CiphertextMeta,
    level: usize,
) -> Result<(), CkksError> {
    if ct.level() != 0 {
        return Err(CkksError::InvalidLevelDrop {
            from: ct.level(),
            to: 0,
        });
    }
    check_degree_one(ct)?;
    if level > params.max_level() {
        return Err(CkksError::LevelOutOfRange {
            level,
            max: params.max_level(),
        });
    }
    Ok(())
}
