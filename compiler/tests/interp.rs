//! The reference interpreter against an independent f64 implementation, the baseline, and
//! the approximations against the exact functions.

mod common;
use blindtune_compiler::interp::{self, Options};
use blindtune_compiler::types::{self, checked::Builtin};
use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use std::collections::BTreeMap;

fn features() -> interp::DataSet {
    let p = common::root().join("data/deit-fmnist/mnist5k_features.safetensors");
    interp::load_safetensors(&p)
        .unwrap_or_else(|e| panic!("the bundled features are needed for this test: {e}"))
}

fn mat(ds: &interp::DataSet, name: &str) -> Array2<f64> {
    ds[name].data.clone().into_dimensionality().unwrap()
}

/// Hand-written softmax regression with torch-style Nesterov, the same shuffles (numpy's
/// default_rng(0), one permutation per epoch, as baseline.json), exact softmax.
fn reference(
    ds: &interp::DataSet,
    epochs: usize,
    bs: usize,
    lr: f64,
    mu: f64,
) -> (Array2<f64>, Array1<f64>) {
    let mean: Array1<f64> = ds["train_mean"].data.clone().into_dimensionality().unwrap();
    let std: Array1<f64> = ds["train_std"].data.clone().into_dimensionality().unwrap();
    let x = (mat(ds, "train_x") - &mean) / &std;
    let labels: Vec<usize> = ds["train_y"].data.iter().map(|&v| v as usize).collect();
    let (n, d) = x.dim();
    let c = 10;
    let mut w = Array2::<f64>::zeros((c, d));
    let mut b = Array1::<f64>::zeros(c);
    let mut vw = w.clone();
    let mut vb = b.clone();
    let mut rng = interp::nprng::NumpyRng::new(0);
    for _ in 0..epochs {
        let idx = rng.permutation(n);
        for chunk in idx.chunks(bs) {
            let xb = x.select(Axis(0), chunk);
            let mut p = xb.dot(&w.t()) + &b;
            for mut row in p.rows_mut() {
                let m = row.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
                row.mapv_inplace(|v| (v - m).exp());
                let s = row.sum();
                row.mapv_inplace(|v| v / s);
            }
            for (i, &r) in chunk.iter().enumerate() {
                p[[i, labels[r]]] -= 1.0;
            }
            p /= chunk.len() as f64;
            let gw = p.t().dot(&xb);
            let gb = p.sum_axis(Axis(0));
            vw = &vw * mu + &gw;
            vb = &vb * mu + &gb;
            w = &w - &((&gw + &(&vw * mu)) * lr);
            b = &b - &((&gb + &(&vb * mu)) * lr);
        }
    }
    (w, b)
}

fn run(epochs: usize, exact: bool) -> interp::RunResult {
    let mut ov = BTreeMap::new();
    ov.insert("EPOCHS".to_string(), epochs as f64);
    let c = types::check_file(&common::example_path("hetal_head"), ov).unwrap();
    let p = c.program.expect("hetal_head checks");
    interp::run(
        &p,
        &features(),
        &Options {
            exact,
            seed: 0,
            progress: None,
        },
    )
    .unwrap()
}

#[test]
fn hetal_head_exact_matches_reference_and_baseline() {
    let t0 = std::time::Instant::now();
    let r = run(30, true);
    let dt = t0.elapsed();
    let ds = features();
    let (w_ref, b_ref) = reference(&ds, 30, 128, 0.1, 0.9);
    let w = &r.output("weights").unwrap().values[0];
    let b = &r.output("bias").unwrap().values[0];
    let dw = w
        .iter()
        .zip(w_ref.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let db = b
        .iter()
        .zip(b_ref.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        dw < 1e-9 && db < 1e-9,
        "interpreter differs from the reference: {dw:e} {db:e}"
    );
    let scores = &r.output("val_logits").unwrap().scores;
    assert_eq!(scores.len(), 30);
    let acc = scores.last().unwrap().accuracy * 100.0;
    // baseline.json: mnist5k standardized nag_best 79.40% (bs 128, lr 0.1, 30 epochs)
    let baseline = 79.40;
    eprintln!(
        "exact: test accuracy {acc:.2}% (baseline {baseline}%), {:.2}s",
        dt.as_secs_f64()
    );
    assert!(
        (acc - baseline).abs() <= 0.5,
        "accuracy {acc:.2}% is not within 0.5 pt of the baseline {baseline}%"
    );
}

#[test]
fn hetal_head_approximate_softmax_stays_close() {
    let approx = run(3, false);
    let exact = run(3, true);
    let a = approx.output("val_logits").unwrap();
    let e = exact.output("val_logits").unwrap();
    let diff = a
        .values
        .last()
        .unwrap()
        .iter()
        .zip(e.values.last().unwrap().iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let (aa, ea) = (
        a.scores.last().unwrap().accuracy,
        e.scores.last().unwrap().accuracy,
    );
    eprintln!(
        "3 epochs: approximate {:.2}% vs exact {:.2}%, max logit diff {diff:.3e}",
        aa * 100.0,
        ea * 100.0
    );
    assert!(
        diff > 0.0,
        "the approximate run must actually use the polynomials"
    );
    assert!(
        (aa - ea).abs() < 0.02,
        "approximate softmax changes accuracy by {:.2} pt",
        (aa - ea) * 100.0
    );
    // the logit range assumption holds on this data
    for v in &approx.range_checks {
        assert_eq!(
            v.violations, 0,
            "range annotation {} violated: observed {}",
            v.declared, v.observed
        );
    }
}

/// Evaluate a stdlib function on one [n, c] matrix through the interpreter.
fn eval_fn(
    module: &str,
    func: &str,
    x: &Array2<f64>,
    range: (f64, f64),
    exact: bool,
) -> Array2<f64> {
    let (n, c) = x.dim();
    let src = format!("use std::{module};\ninput x: secret f64[{n}, {c}] in [{}, {}];\noutput y = {module}::{func}(x);\n", range.0, range.1);
    let comp = types::check_source("t.bt", &src);
    let rendered = comp.rendered_diagnostics();
    let p = comp.program.unwrap_or_else(|| panic!("{rendered}"));
    let mut ds = interp::DataSet::new();
    ds.insert(
        "x".into(),
        interp::Tensor {
            data: x.clone().into_dyn(),
            integer: false,
        },
    );
    let r = interp::run(
        &p,
        &ds,
        &Options {
            exact,
            seed: 0,
            progress: None,
        },
    )
    .unwrap();
    r.output("y").unwrap().values[0]
        .clone()
        .into_dimensionality()
        .unwrap()
}

fn random(n: usize, c: usize, lo: f64, hi: f64, seed: u64) -> Array2<f64> {
    use rand::Rng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, c), |_| rng.gen_range(lo..hi))
}

fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn hetal_softmax_error_bounds() {
    // HETAL's plaintext script: 10 classes up to [-128, 128]: max error 2.1e-2
    for (r, bound) in [(4.0, 2.5e-2), (32.0, 2.5e-2), (128.0, 2.5e-2)] {
        let x = random(400, 10, -r, r, 7);
        let a = eval_fn("softmax", "hetal", &x, (-128.0, 128.0), false);
        let e = eval_fn("softmax", "hetal", &x, (-128.0, 128.0), true);
        // exact mode really is softmax
        for row in e.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        let err = max_abs_diff(&a, &e);
        eprintln!("hetal softmax on [-{r}, {r}]: max error {err:.3e}");
        assert!(
            err < bound,
            "softmax error {err} on [-{r},{r}] above {bound}"
        );
        assert!(err > 1e-9, "suspiciously exact");
    }
    let x = random(400, 10, -4.0, 4.0, 9);
    let a = eval_fn("softmax", "hetal_precise", &x, (-128.0, 128.0), false);
    let e = eval_fn("softmax", "hetal_precise", &x, (-128.0, 128.0), true);
    let err = max_abs_diff(&a, &e);
    eprintln!("hetal_precise softmax on [-4, 4]: max error {err:.3e}");
    assert!(err < 1e-2);
}

#[test]
fn math_approximations_error_bounds() {
    // exp on [-8, 8] (relative error), inverse on [1, 100], sign away from 0, row max
    let x = random(50, 8, -8.0, 8.0, 1);
    let a = eval_fn("math", "exp", &x, (-8.0, 8.0), false);
    let rel = a
        .iter()
        .zip(x.iter())
        .map(|(p, v)| (p / v.exp() - 1.0).abs())
        .fold(0.0, f64::max);
    assert!(rel < 1e-6, "exp relative error {rel}");
    let s = random(50, 4, 1.0, 100.0, 2);
    let inv = eval_fn("math", "inverse", &s, (0.01, 199.0), false);
    let rel = inv
        .iter()
        .zip(s.iter())
        .map(|(p, v)| (p * v - 1.0).abs())
        .fold(0.0, f64::max);
    assert!(rel < 1e-6, "Goldschmidt inverse relative error {rel}");
    // g twice then f once: close to sign(x) once |x| is not tiny
    for (lo, tol) in [(0.3, 0.02), (0.5, 0.015)] {
        let t = random(50, 4, lo, 1.0, 3);
        let sg = eval_fn("math", "sign", &t, (-1.0, 1.0), false);
        let neg = eval_fn("math", "sign", &t.mapv(|v| -v), (-1.0, 1.0), false);
        let worst = sg
            .iter()
            .map(|v| (v - 1.0).abs())
            .chain(neg.iter().map(|v| (v + 1.0).abs()))
            .fold(0.0, f64::max);
        eprintln!("composite sign on |x| in [{lo}, 1]: max error {worst:.3e}");
        assert!(worst < tol, "sign error {worst} for |x| >= {lo}");
    }
    let m = random(50, 10, -0.5, 0.5, 4);
    let ma = eval_fn("math", "row_max", &m, (-0.5, 0.5), false);
    let me = eval_fn("math", "row_max", &m, (-0.5, 0.5), true);
    let direct: Vec<f64> = m
        .rows()
        .into_iter()
        .map(|r| r.fold(f64::NEG_INFINITY, |a, &v| a.max(v)))
        .collect();
    assert!(me.iter().zip(&direct).all(|(a, b)| a == b));
    let err = max_abs_diff(&ma, &me);
    assert!(err < 0.05, "tournament max error {err}");
}

#[test]
fn chebyshev_approx_meets_its_error_target() {
    for (f, name, lo, hi, target) in [
        (Builtin::Sigmoid, "sigmoid", -8.0, 8.0, 1e-4),
        (Builtin::Exp, "exp", -2.0, 2.0, 1e-9),
        (Builtin::Tanh, "tanh", -3.0, 3.0, 1e-5),
    ] {
        let src = format!("approx p = {name} on [{lo}, {hi}] error {target};\n");
        let c = types::check_source("t.bt", &src);
        let p = c.program.unwrap();
        let def = &p.approximations["p"];
        // independent measurement on a grid offset from the checker's
        let worst = (0..9999)
            .map(|i| lo + (hi - lo) * (i as f64 + 0.37) / 9999.0)
            .map(|x| (def.eval(x) - f.eval1(x)).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= target * 1.05,
            "{name}: error {worst} above target {target} (degree {})",
            def.degree()
        );
    }
}

fn tiny(src: &str) -> blindtune_compiler::CheckedProgram {
    let c = types::check_source("tiny.bt", src);
    let r = c.rendered_diagnostics();
    c.program.unwrap_or_else(|| panic!("{r}"))
}

fn tensor(v: Vec<f64>, shape: &[usize], integer: bool) -> interp::Tensor {
    interp::Tensor {
        data: ndarray::ArrayD::from_shape_vec(shape, v).unwrap(),
        integer,
    }
}

#[test]
fn data_errors_name_the_tensor() {
    let p = tiny("param D: int = 3;\ninput x: secret f64[N, D];\ninput y: secret f64[N, 2];\noutput s = x * 2;\n");
    let mut ds = interp::DataSet::new();
    ds.insert("x".into(), tensor(vec![0.0; 8], &[2, 4], false));
    let e = interp::run(&p, &ds, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("input `x`") && e.contains("axis 1 should be 3"),
        "{e}"
    );
    ds.insert("x".into(), tensor(vec![0.0; 6], &[2, 3], false));
    let e = interp::run(&p, &ds, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`y`") && e.contains("not in the data"), "{e}");
    ds.insert("y".into(), tensor(vec![0.0, 5.0], &[2], true));
    let e = interp::run(&p, &ds, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("input `y`") && e.contains("label 5"), "{e}");
    ds.insert("y".into(), tensor(vec![0.0, 1.0, 1.0], &[3], true));
    let e = interp::run(&p, &ds, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("input `y`") && e.contains("`N` = 2"), "{e}");
    ds.insert("y".into(), tensor(vec![0.0, 1.0], &[2], true));
    let r = interp::run(&p, &ds, &Options::default()).unwrap();
    assert_eq!(r.output("s").unwrap().values[0].shape(), &[2, 3]);
}

#[test]
fn range_assumptions_are_checked_at_run_time() {
    let p = tiny("input x: secret f64[N];\nlet z: in [-1, 1] = x * 2;\noutput z = z;\n");
    let mut ds = interp::DataSet::new();
    ds.insert("x".into(), tensor(vec![0.1, 0.7, -0.2], &[3], false));
    let r = interp::run(&p, &ds, &Options::default()).unwrap();
    assert_eq!(r.range_checks.len(), 1);
    assert_eq!(r.range_checks[0].violations, 1);
    assert!((r.range_checks[0].observed.hi - 1.4).abs() < 1e-12);
}

#[test]
fn loops_batches_and_scores() {
    // 5 rows in batches of 2 (last batch of 1 kept), no shuffle: the carried sum sees all rows
    let p = tiny(
        "input x: secret f64[N, 2];\ninput l: public i64[N];\nlet s = for (r) in batches(x) size 2 carry (acc = zeros(2)) { output rows_seen = zeros(rows(r)); acc + sum(r, 0) };\noutput s = s;\noutput logits = x against l;\n",
    );
    let mut ds = interp::DataSet::new();
    ds.insert(
        "x".into(),
        tensor(
            vec![1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0, 1.0, 1.0],
            &[5, 2],
            false,
        ),
    );
    ds.insert(
        "l".into(),
        tensor(vec![0.0, 1.0, 1.0, 1.0, 0.0], &[5], true),
    );
    let r = interp::run(&p, &ds, &Options::default()).unwrap();
    let s = &r.output("s").unwrap().values[0];
    assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![4.0, 5.0]);
    let sizes: Vec<usize> = r
        .output("rows_seen")
        .unwrap()
        .values
        .iter()
        .map(|v| v.len())
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    // argmax rows: [1,0]->0 ok, [0,1]->1 ok, [2,0]->0 vs 1 wrong, [0,3]->1 ok, [1,1]->0 ok
    let acc = r.output("logits").unwrap().scores[0].accuracy;
    assert!((acc - 0.8).abs() < 1e-12, "{acc}");
}

#[test]
fn npy_inputs_load_and_bad_files_are_named() {
    use ndarray_npy::WriteNpyExt;
    let dir = std::env::temp_dir().join(format!("bt-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("x.npy");
    let a = ndarray::Array2::<f32>::from_shape_fn((3, 2), |(i, j)| (i * 2 + j) as f32);
    a.write_npy(std::fs::File::create(&p).unwrap()).unwrap();
    let t = interp::load_npy(&p).unwrap();
    assert_eq!(t.data.shape(), &[3, 2]);
    assert_eq!(t.data[[2, 1]], 5.0);
    assert!(!t.integer);
    let bad = dir.join("bad.npy");
    std::fs::write(&bad, b"not numpy").unwrap();
    let e = interp::load_npy(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.npy"), "{e}");
    let e = interp::load_safetensors(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.npy") && e.contains("safetensors"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
