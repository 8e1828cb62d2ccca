//! Error of a stdlib row function (a softmax) against its exact counterpart, measured through
//! the reference interpreter on seeded uniform random rows: what the language computes, not a
//! re-implementation. Used by `blindtune bench softmax` and the regression tests.

use super::{run, DataSet, Options, RunError, Tensor};
use crate::types::{self, depth};
use ndarray::{Array2, ArrayD};
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Errors of one function on one input range.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RangeError {
    /// inputs uniform in `[-radius, radius]`
    pub radius: f64,
    pub rows: usize,
    /// max over rows and classes of |approx - exact|
    pub max: f64,
    /// mean over rows of the row's max |approx - exact| (HETAL's script's convention)
    pub mean: f64,
    /// mean over rows of approx − exact at the exact top class: negative when the
    /// approximation is softer than softmax (HETAL's domain extension shrinks large gaps),
    /// which inflates the weights in training
    pub mean_top_bias: f64,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MeasureError {
    #[error("std::{module}::{func} does not check:\n{diagnostics}")]
    Check {
        module: String,
        func: String,
        diagnostics: String,
    },
    #[error(
        "running std::{module}::{func} on inputs in [-{radius}, {radius}] (seed {seed}): {source}"
    )]
    Run {
        module: String,
        func: String,
        radius: f64,
        seed: u64,
        #[source]
        source: RunError,
    },
    #[error("the program has no output `y`")]
    NoOutput,
}

/// `rows × classes` values uniform in `[-radius, radius]` from ChaCha8 seeded with `seed`.
pub fn random_rows(rows: usize, classes: usize, radius: f64, seed: u64) -> Array2<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, classes), |_| rng.gen_range(-radius..=radius))
}

/// The checked one-line program `y = std::module::func(x)` for `x: secret f64[rows, classes]`
/// in `[-domain, domain]`.
pub fn program(
    module: &str,
    func: &str,
    rows: usize,
    classes: usize,
    domain: f64,
) -> Result<crate::CheckedProgram, MeasureError> {
    let src = format!(
        "use std::{module};\ninput x: secret f64[{rows}, {classes}] in [-{domain}, {domain}];\noutput y = {module}::{func}(x);\n"
    );
    let comp = types::check_source("measure.bt", &src);
    let diagnostics = comp.rendered_diagnostics();
    comp.program.ok_or_else(|| MeasureError::Check {
        module: module.into(),
        func: func.into(),
        diagnostics,
    })
}

/// Runs `program` on `x` (approximate, or exact under `exact`).
pub fn eval(
    prog: &crate::CheckedProgram,
    x: &Array2<f64>,
    exact: bool,
) -> Result<ArrayD<f64>, RunError> {
    let mut ds = DataSet::new();
    ds.insert(
        "x".into(),
        Tensor {
            data: x.clone().into_dyn(),
            integer: false,
        },
    );
    let r = run(
        prog,
        &ds,
        &Options {
            exact,
            seed: 0,
            progress: None,
        },
    )?;
    Ok(r.output("y")
        .and_then(|o| o.values.first().cloned())
        .unwrap_or_else(|| ArrayD::zeros(vec![0])))
}

/// Max and mean error of `std::module::func` (domain `[-domain, domain]`) on `rows` random
/// rows of `classes` values in `[-radius, radius]`, against the exact function (`--exact`).
#[allow(clippy::too_many_arguments)]
pub fn range_error(
    module: &str,
    func: &str,
    domain: f64,
    classes: usize,
    radius: f64,
    rows: usize,
    seed: u64,
) -> Result<RangeError, MeasureError> {
    let prog = program(module, func, rows, classes, domain)?;
    let x = random_rows(rows, classes, radius, seed);
    let wrap = |source| MeasureError::Run {
        module: module.into(),
        func: func.into(),
        radius,
        seed,
        source,
    };
    let a = eval(&prog, &x, false).map_err(wrap)?;
    let e = eval(&prog, &x, true).map_err(wrap)?;
    if a.len() != rows * classes || e.len() != rows * classes {
        return Err(MeasureError::NoOutput);
    }
    let a = a
        .into_shape_with_order((rows, classes))
        .map_err(|_| MeasureError::NoOutput)?;
    let e = e
        .into_shape_with_order((rows, classes))
        .map_err(|_| MeasureError::NoOutput)?;
    let (mut max, mut sum_row_max, mut bias) = (0f64, 0f64, 0f64);
    for (ra, re) in a.rows().into_iter().zip(e.rows()) {
        let mut row_max = 0f64;
        for (p, q) in ra.iter().zip(re.iter()) {
            let d = (p - q).abs();
            // NaN counts as an infinite error
            row_max = if d.is_nan() {
                f64::INFINITY
            } else {
                row_max.max(d)
            };
        }
        let top = (0..classes)
            .max_by(|&i, &j| re[i].total_cmp(&re[j]))
            .unwrap_or(0);
        bias += ra[top] - re[top];
        max = max.max(row_max);
        sum_row_max += row_max;
    }
    Ok(RangeError {
        radius,
        rows,
        max,
        mean: sum_row_max / rows as f64,
        mean_top_bias: bias / rows as f64,
    })
}

/// Depth of `std::module::func` by the project's rule (see [`depth`]).
pub fn function_depth(
    module: &str,
    func: &str,
    classes: usize,
    domain: f64,
) -> Result<usize, MeasureError> {
    let prog = program(module, func, 1, classes, domain)?;
    Ok(
        depth::function_depth(&prog, &format!("std::{module}::{func}"))
            .or_else(|| depth::analyze(&prog).outputs.first().map(|o| o.1))
            .unwrap_or(0),
    )
}
