//! Public arithmetic: scalars in `f64`, plain grids slot by slot (complex values, as masks
//! may be), and the padding rule: a plain register that knows its tensor (`RegInfo::tensor`)
//! has its padding slots zeroed (a public `1/std` is infinite there) and any non-finite value
//! in a valid slot is an error naming the element.

use num_complex::Complex64;

use super::value::PlainGrid;
use crate::plan::layout::{BlockShape, Layout};
use crate::plan::{PlainFn, ScalarOp};

const ZERO: Complex64 = Complex64::new(0.0, 0.0);

/// `a op b` on slot values; `None` when the operation is only defined on reals and an operand
/// is complex.
pub(crate) fn slot_op(op: ScalarOp, a: Complex64, b: Complex64) -> Option<Complex64> {
    match op {
        ScalarOp::Add => Some(a + b),
        ScalarOp::Sub => Some(a - b),
        ScalarOp::Mul => Some(a * b),
        ScalarOp::Div if b.im == 0.0 => Some(a / b.re),
        ScalarOp::Div => Some(a / b),
        _ if a.im == 0.0 && b.im == 0.0 => Some(Complex64::new(op.apply(a.re, b.re), 0.0)),
        _ => None,
    }
}

/// `f(a)` on a slot value; `None` when `f` is only defined on reals and `a` is complex.
pub(crate) fn slot_fn(f: PlainFn, a: Complex64) -> Option<Complex64> {
    let real = |g: fn(f64) -> f64| (a.im == 0.0).then(|| Complex64::new(g(a.re), 0.0));
    match f {
        PlainFn::Neg => Some(-a),
        PlainFn::Recip if a.im == 0.0 => Some(Complex64::new(1.0 / a.re, 0.0)),
        PlainFn::Recip => Some(a.inv()),
        PlainFn::Abs => Some(Complex64::new(a.norm(), 0.0)),
        PlainFn::Sqrt => real(f64::sqrt),
        PlainFn::Exp => real(f64::exp),
        PlainFn::Log => real(f64::ln),
    }
}

/// Where a non-finite value sits: grid block, slot, and tensor element if known.
#[derive(Debug, PartialEq)]
pub(crate) struct BadSlot {
    pub block: (usize, usize),
    pub slot: usize,
    pub element: Option<(usize, usize)>,
    pub value: Complex64,
}

impl std::fmt::Display for BadSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the value {} ", self.value)?;
        match self.element {
            Some((i, j)) => write!(f, "at element [{i}, {j}]")?,
            None => write!(f, "in slot {}", self.slot)?,
        }
        write!(
            f,
            " (block [{}, {}]) is not finite",
            self.block.0, self.block.1
        )
    }
}

/// Zeroes the padding slots of `grid` (a tensor of `shape` laid out as `layout`, when known)
/// and checks that every other slot is finite.
pub(crate) fn clean(
    grid: &mut PlainGrid,
    tensor: Option<(Layout, [usize; 2])>,
    block: BlockShape,
) -> Result<(), BadSlot> {
    for (bi, row) in grid.iter_mut().enumerate() {
        for (bj, slots) in row.iter_mut().enumerate() {
            for (s, v) in slots.iter_mut().enumerate() {
                let (p, q) = (s / block.s1, s % block.s1);
                let element = match tensor {
                    Some((layout, [r, c])) => {
                        let i = layout.rows.index(r, block.s0, bi, p);
                        let j = layout.cols.index(c, block.s1, bj, q);
                        match (i, j) {
                            (Some(i), Some(j)) => Some((i, j)),
                            _ => {
                                *v = ZERO;
                                continue;
                            }
                        }
                    }
                    None => None,
                };
                if !(v.re.is_finite() && v.im.is_finite()) {
                    return Err(BadSlot {
                        block: (bi, bj),
                        slot: s,
                        element,
                        value: *v,
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::layout::AxisLayout;

    #[test]
    fn padding_is_zeroed_and_valid_slots_must_be_finite() {
        let block = BlockShape { s0: 2, s1: 4 };
        let layout = Layout::ROW_MAJOR;
        // a [3, 5] tensor: 2 × 2 blocks; 1/x with x = 0 in the padding gives infinities there
        let mut g: PlainGrid = vec![vec![vec![Complex64::new(f64::INFINITY, 0.0); 8]; 2]; 2];
        for row in g.iter_mut() {
            for b in row.iter_mut() {
                for (s, v) in b.iter_mut().enumerate() {
                    if s % 4 == 0 {
                        *v = Complex64::new(1.0, 0.0);
                    }
                }
            }
        }
        // Element [0, 1] (block [0,0], slot 1) is infinite but valid: an error naming it.
        let err = clean(&mut g.clone(), Some((layout, [3, 5])), block).unwrap_err();
        assert_eq!(err.element, Some((0, 1)));
        assert!(err.to_string().contains("element [0, 1]"), "{err}");
        // A [3, 1] column replicated along the block's columns: row 3 is padding.
        let tiled = Layout {
            rows: AxisLayout::Blocked,
            cols: AxisLayout::Replicated,
        };
        let mut h: PlainGrid = vec![vec![vec![Complex64::new(2.0, 0.0); 8]]; 2];
        h[1][0][4] = Complex64::new(f64::NAN, 0.0); // row 3: padding of a 3-row tensor
        clean(&mut h, Some((tiled, [3, 1])), block).unwrap();
        assert_eq!(h[1][0][4], ZERO);
        assert_eq!(h[1][0][0], Complex64::new(2.0, 0.0));
    }

    #[test]
    fn real_only_functions_refuse_complex_slots() {
        let z = Complex64::new(0.5, 0.5);
        assert!(slot_fn(PlainFn::Sqrt, z).is_none());
        assert_eq!(slot_fn(PlainFn::Neg, z), Some(-z));
        assert!(slot_op(ScalarOp::Max, z, z).is_none());
        assert_eq!(
            slot_op(
                ScalarOp::Pow,
                Complex64::new(2.0, 0.0),
                Complex64::new(3.0, 0.0)
            ),
            Some(Complex64::new(8.0, 0.0))
        );
    }
}
