//! Regression bounds of the stdlib softmax approximations (error on seeded random rows,
//! through the reference interpreter, against the exact softmax; depth by the project's rule)
//! and of the one interpolation and depth rule shared with the runtime.

mod common;
use blindtune_compiler::interp::measure;
use blindtune_compiler::types::{self, approx, checked::Builtin, depth, ty::Range};
use blindtune_runtime::circuits::polynomial::{ChebyshevSeries, PolynomialEvaluator};
use rand::{Rng, SeedableRng};

/// Seed of the random rows: `BLINDTUNE_TEST_SEED` if set (to reproduce a failure), else a
/// fixed one; every failure message prints it.
fn seed() -> u64 {
    std::env::var("BLINDTUNE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(13_2026)
}

const CLASSES: usize = 10;
const ROWS: usize = 3000;
const RANGES: [f64; 4] = [4.0, 8.0, 32.0, 128.0];

/// Stated bounds (docs/softmax.md): (function, depth, max error on every range).
const BOUNDS: [(&str, usize, f64); 3] = [
    ("fast", 41, 2e-3),
    ("hetal", 83, 2.5e-2),
    ("hetal_precise", 86, 1.2e-2),
];

#[test]
fn softmax_error_within_stated_bounds() {
    let seed = seed();
    for (f, _, bound) in BOUNDS {
        for (i, r) in RANGES.into_iter().enumerate() {
            let s = seed + i as u64;
            let e = measure::range_error("softmax", f, 128.0, CLASSES, r, ROWS, s)
                .unwrap_or_else(|e| panic!("seed {s}: {e}"));
            eprintln!(
                "std::softmax::{f} on [-{r}, {r}]: max {:.2e} mean {:.2e}",
                e.max, e.mean
            );
            assert!(
                e.max <= bound,
                "std::softmax::{f} on [-{r}, {r}]: max error {:.3e} above its bound {bound:.1e} (seed {s})",
                e.max
            );
            // the comparison is live: an approximation is not the exact function
            assert!(
                e.max > 1e-9,
                "std::softmax::{f}: suspiciously exact (seed {s})"
            );
        }
    }
}

#[test]
fn softmax_depth_within_stated_bounds() {
    for (f, bound, _) in BOUNDS {
        let d = measure::function_depth("softmax", f, CLASSES, 128.0).unwrap();
        eprintln!("std::softmax::{f}: depth {d}");
        assert!(
            d <= bound,
            "std::softmax::{f}: depth {d} above its bound {bound}"
        );
    }
    let fast = measure::function_depth("softmax", "fast", CLASSES, 128.0).unwrap();
    let hetal = measure::function_depth("softmax", "hetal", CLASSES, 128.0).unwrap();
    assert!(
        hetal >= 60,
        "hetal's depth {hetal} is implausibly low: the analysis lost levels"
    );
    assert!(
        2 * fast <= hetal,
        "fast {fast} is more than half of hetal {hetal}"
    );
}

/// The checker's Chebyshev coefficients are the runtime's, and its depth is the evaluator's.
#[test]
fn checker_and_runtime_share_interpolation_and_depth() {
    let seed = seed();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..40 {
        let lo: f64 = rng.gen_range(-300.0..1.0);
        let hi = lo + rng.gen_range(0.5..300.0);
        let (lo, hi) = if rng.gen_bool(0.2) {
            (-1.0, 1.0)
        } else {
            (lo, hi)
        };
        let d = rng.gen_range(1..200usize);
        let f = if lo > 0.0 {
            Builtin::Inverse
        } else {
            Builtin::Exp
        };
        let def = approx::with_degree("p", f, Range::new(lo, hi), d, Default::default());
        let rt = ChebyshevSeries::interpolate(|x| f.eval1(x), lo, hi, d);
        assert_eq!(
            def.coeffs, rt.coeffs,
            "seed {seed}: {f:?} on [{lo}, {hi}] degree {d}"
        );
        assert_eq!(
            approx::depth(&def),
            PolynomialEvaluator::depth_chebyshev(&rt),
            "seed {seed}: depth of degree {d} on [{lo}, {hi}]"
        );
        for _ in 0..20 {
            let x = rng.gen_range(lo..=hi);
            let (a, b) = (def.eval(x), rt.eval(x));
            assert!(
                (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                "seed {seed}: p({x}) = {a} vs {b}"
            );
        }
    }
    // an integer factor k of the argument: the runtime's depth of the series on [a/k, b/k]
    let def = approx::with_degree(
        "p",
        Builtin::Inverse,
        Range::new(1.0, 17.0),
        63,
        Default::default(),
    );
    assert_eq!(approx::depth(&def), 7);
    assert_eq!(approx::depth_scaled(&def, 8), 6);
    assert_eq!(approx::depth_scaled(&def, 3), 7);
    // the rule itself: ⌈log2(d + 1)⌉, plus one off [-1, 1]
    for (d, lo, want) in [
        (7, -1.0f64, 3),
        (8, -1.0, 4),
        (62, -1.0, 6),
        (63, -259.0, 7),
        (511, 0.085, 10),
    ] {
        let hi = if lo == -1.0 { 1.0 } else { lo.abs() + 3.0 };
        let f = if lo > 0.0 {
            Builtin::Inverse
        } else {
            Builtin::Relu
        };
        let def = approx::with_degree("p", f, Range::new(lo, hi), d, Default::default());
        assert_eq!(approx::depth(&def), want, "degree {d} on [{lo}, {hi}]");
    }
}

fn depth_of(body: &str) -> usize {
    let src = format!(
        "input x: secret f64[4, 3] in [-1, 1];\ninput y: secret f64[4, 3] in [-1, 1];\n{body}"
    );
    let c = types::check_source("d.bt", &src);
    let r = c.rendered_diagnostics();
    let p = c.program.unwrap_or_else(|| panic!("{r}\n{src}"));
    depth::analyze(&p).outputs[0].1
}

/// Products, scalars and loops under the rule of `types::depth`.
#[test]
fn depth_rule_on_small_programs() {
    let cases = [
        ("output o = x + y - x;", 0),
        ("output o = x * y;", 1),
        ("output o = 3 * x;", 0),
        ("output o = x / 2;", 1),
        ("output o = 0.5 * (x * (y * y));", 2),
        ("output o = 0.5 * ((x * y) * (y * x));", 3),
        ("output o = x ** 4;", 2),
        ("output o = x ** 5;", 3),
        ("output o = for i in 0..5 carry (t = x) { t * t };", 5),
        ("output o = for i in 0..3 carry (t = x) { t * y };", 3),
        ("output o = rowsum(x * y) * x;", 2),
        // change of variable: slope 1 (width 2) is free, slope 1/4 costs a level, and an
        // integer factor of the argument folds into the slope
        (
            "approx e2 = exp on [-2, 0] degree 7;\noutput o = e2(x - 1);",
            3,
        ),
        ("approx e8 = exp on [-4, 4] degree 7;\noutput o = e8(x);", 4),
        (
            "approx e8 = exp on [-4, 4] degree 7;\noutput o = e8(4 * x);",
            3,
        ),
        (
            "approx e8 = exp on [-4, 4] degree 7;\noutput o = e8(2 * x + 1);",
            4,
        ),
        (
            "approx e8 = exp on [-4, 4] degree 7;\noutput o = e8(2 * (2 * x));",
            3,
        ),
        (
            "approx e8 = exp on [-4, 4] degree 7;\noutput o = e8(4 * x * y);",
            5,
        ),
    ];
    for (body, want) in cases {
        assert_eq!(depth_of(body), want, "{body}");
    }
}
