//! The constructs of the second front-end pass, run by the interpreter against references
//! computed here in f64 with numpy's semantics: `else if`, negative indices and open-ended
//! slices, negative axes, block comments, `gelu`/`gelu_grad` (exact and approximated), and
//! `randn`/`uniform` random initialisation.

use blindtune_compiler::{interp, syntax, types};
use ndarray::{ArrayD, IxDyn};

fn run(src: &str, x: Option<(Vec<f64>, Vec<usize>)>) -> interp::RunResult {
    let c = types::check_source("c.bt", src);
    let r = c.rendered_diagnostics();
    let p = c.program.unwrap_or_else(|| panic!("{r}"));
    assert!(c.diagnostics.is_empty(), "{r}");
    let mut ds = interp::DataSet::new();
    if let Some((v, shape)) = x {
        ds.insert(
            "x".into(),
            interp::Tensor {
                data: ArrayD::from_shape_vec(IxDyn(&shape), v).unwrap(),
                integer: false,
            },
        );
    }
    interp::run(&p, &ds, &Default::default()).unwrap()
}

fn out(r: &interp::RunResult, name: &str) -> ArrayD<f64> {
    r.output(name).unwrap().values[0].clone()
}

fn assert_close(a: &ArrayD<f64>, shape: &[usize], want: &[f64], tol: f64, what: &str) {
    assert_eq!(a.shape(), shape, "{what}");
    for (i, (g, w)) in a.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{i}]: {g} vs {w}");
    }
}

/// x = arange(12).reshape(3, 4) as f64
fn x34() -> (Vec<f64>, Vec<usize>) {
    ((0..12).map(|v| v as f64).collect(), vec![3, 4])
}

#[test]
fn else_if_chains() {
    for (k, want) in [(0, 10.0), (2, 20.0), (5, 30.0)] {
        let src = format!(
            "param K: int = {k};\nlet v = if K < 1 {{ 10 }} else if K < 3 {{ 20 }} else {{ 30 }};\noutput v = v;\n"
        );
        let r = run(&src, None);
        assert_eq!(out(&r, "v").iter().next().copied(), Some(want), "K={k}");
        let f = syntax::format_source("c.bt", &src).unwrap();
        assert!(f.contains("} else if K < 3 {"), "{f}");
    }
}

#[test]
fn negative_indices_and_open_ended_slices() {
    let src = "input x: public f64[3, 4];
output a = x[:, -1];
output b = x[:, 2:];
output c = x[:2, :];
output d = x[-2:, 1:-1];
output e = x[-1];
";
    let r = run(src, Some(x34()));
    let x = |i: usize, j: usize| (4 * i + j) as f64;
    // numpy: x[:, -1], x[:, 2:], x[:2, :], x[-2:, 1:-1], x[-1]
    assert_close(&out(&r, "a"), &[3], &[x(0, 3), x(1, 3), x(2, 3)], 0.0, "a");
    assert_close(
        &out(&r, "b"),
        &[3, 2],
        &[x(0, 2), x(0, 3), x(1, 2), x(1, 3), x(2, 2), x(2, 3)],
        0.0,
        "b",
    );
    let c: Vec<f64> = (0..8).map(|v| v as f64).collect();
    assert_close(&out(&r, "c"), &[2, 4], &c, 0.0, "c");
    assert_close(
        &out(&r, "d"),
        &[2, 2],
        &[x(1, 1), x(1, 2), x(2, 1), x(2, 2)],
        0.0,
        "d",
    );
    assert_close(
        &out(&r, "e"),
        &[4],
        &[x(2, 0), x(2, 1), x(2, 2), x(2, 3)],
        0.0,
        "e",
    );
    // out of range even counting from the end
    let c = types::check_source("c.bt", "input x: public f64[3, 4];\noutput a = x[:, -5];\n");
    assert!(c
        .rendered_diagnostics()
        .contains("index -5 is out of bounds"));
}

#[test]
fn negative_axes() {
    let src = "input x: public f64[3, 4];\noutput s = sum(x, -1);\noutput m = mean(x, -2);\n";
    let r = run(src, Some(x34()));
    let rows: Vec<f64> = (0..3)
        .map(|i| (0..4).map(|j| (4 * i + j) as f64).sum())
        .collect();
    let cols: Vec<f64> = (0..4)
        .map(|j| (0..3).map(|i| (4 * i + j) as f64).sum::<f64>() / 3.0)
        .collect();
    assert_close(&out(&r, "s"), &[3], &rows, 1e-12, "sum(x, -1)");
    assert_close(&out(&r, "m"), &[4], &cols, 1e-12, "mean(x, -2)");
    let c = types::check_source(
        "c.bt",
        "input x: public f64[3, 4];\noutput s = sum(x, -3);\n",
    );
    assert!(c.rendered_diagnostics().contains("axis -3 is out of range"));
}

#[test]
fn block_comments_are_skipped_and_kept_by_fmt() {
    let src = "/* a block comment\n   over two lines */\nlet v = 1 + /* inline */ 2;\noutput v = v; /* trailing */\n";
    let r = run(src, None);
    assert_eq!(out(&r, "v").iter().next().copied(), Some(3.0));
    let f = syntax::format_source("c.bt", src).unwrap();
    assert!(
        f.contains("/* a block comment\n   over two lines */"),
        "{f}"
    );
    assert!(f.contains("/* trailing */"), "{f}");
    assert!(syntax::parse(0, &f).1.is_empty(), "{f}");
}

#[test]
fn gelu_and_its_derivative_exact_and_approximated() {
    // references from Python: x * 0.5 * (1 + math.erf(x / sqrt(2))) (torch.nn.GELU())
    let xs = [-3.0, -1.0, -0.5, 0.0, 0.3, 1.0, 2.49, 2.51];
    let gelu = [
        -0.00404969409489031,
        -0.15865525393145707,
        -0.15426876936299344,
        0.0,
        0.18537342665668577,
        0.8413447460685429,
        2.4740959846352917,
        2.494848239218164,
    ];
    let src = "input x: public f64[8] in [-4, 4];
approx g = gelu on [-4, 4] degree 24;
approx gd = gelu_grad on [-4, 4] degree 24;
output e = gelu(x);
output d = gelu_grad(x);
output p = g(x);
output q = gd(x);
";
    let r = run(src, Some((xs.to_vec(), vec![8])));
    assert_close(&out(&r, "e"), &[8], &gelu, 1e-13, "gelu");
    // the derivative against a central difference of the reference formula
    let phi = |x: f64| x * blindtune_compiler::types::checked::normal_cdf(x);
    let h = 1e-5;
    let dref: Vec<f64> = xs
        .iter()
        .map(|&x| (phi(x + h) - phi(x - h)) / (2.0 * h))
        .collect();
    assert_close(&out(&r, "d"), &[8], &dref, 1e-8, "gelu_grad");
    assert_close(&out(&r, "p"), &[8], &gelu, 1e-6, "approx gelu");
    assert_close(&out(&r, "q"), &[8], &dref, 1e-5, "approx gelu_grad");
    // on a secret value the exact one is refused and an approximation is suggested
    let c = types::check_source(
        "c.bt",
        "input x: secret f64[8] in [-4, 4];\noutput e = gelu(x);\n",
    );
    assert!(c.rendered_diagnostics().contains("approx gelu_p = gelu on"));
}

#[test]
fn uniform_matches_numpy_default_rng() {
    // np.random.default_rng(7).uniform(-1, 1, (2, 3))
    let want = [
        0.25019093320933394,
        0.794427601939151,
        0.551371380490387,
        -0.5495856200188163,
        -0.39966743017754913,
        0.7471068907925238,
    ];
    let r = run("let w = uniform(7, -1, 1, 2, 3);\noutput w = w;\n", None);
    assert_close(&out(&r, "w"), &[2, 3], &want, 1e-15, "uniform");
}

#[test]
fn randn_is_reproducible_bounded_and_standard() {
    let seed = 42u64;
    let src = format!(
        "param D: int = 100;\nlet a = randn({seed}, 100, D);\nlet b = randn({seed}, 100, D);\nlet c = randn({}, 100, D);\noutput a = a;\noutput b = b;\noutput c = c;\n",
        seed + 1
    );
    let r = run(&src, None);
    let (a, b, c) = (out(&r, "a"), out(&r, "b"), out(&r, "c"));
    assert_eq!(a, b, "seed {seed}: same seed, same values");
    assert_ne!(a, c, "seed {seed}: another seed, other values");
    // reference: Box-Muller on numpy's default_rng(seed).random() stream
    let mut rng = blindtune_compiler::interp::nprng::NumpyRng::new(seed);
    for (i, g) in a.iter().take(50).enumerate() {
        let u1 = 1.0 - rng.random();
        let u2 = rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        assert!(
            (g - z).abs() < 1e-15,
            "seed {seed}, element {i}: {g} vs {z}"
        );
    }
    let n = a.len() as f64;
    let mean = a.iter().sum::<f64>() / n;
    let sd = (a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(
        mean.abs() < 0.05 && (sd - 1.0).abs() < 0.05,
        "seed {seed}: mean {mean}, sd {sd}"
    );
    // public, with a range, usable where an approximation needs one
    let c = types::check_source(
        "c.bt",
        "approx t = tanh on [-9, 9] degree 15;\nlet w = randn(0, 4);\noutput y = t(w);\n",
    );
    assert!(c.program.is_some(), "{}", c.rendered_diagnostics());
}

#[test]
fn tuple_return_types() {
    let src = "fn stats(x: f64[N]) -> (f64, f64 in [0, 100]) {\n    (sum(x, 0), mean(x, 0))\n}\n\ninput x: public f64[4];\nlet (s, m) = stats(x);\noutput s = s;\noutput m = m;\n";
    let xs = vec![1.0, 2.0, 3.0, 10.0];
    let r = run(src, Some((xs.clone(), vec![4])));
    let sum: f64 = xs.iter().sum();
    assert_close(&out(&r, "s"), &[], &[sum], 1e-12, "sum");
    assert_close(&out(&r, "m"), &[], &[sum / 4.0], 1e-12, "mean");
    // the declared range is an assumption checked at run time
    assert_eq!(r.range_checks.len(), 1);
    assert_eq!(r.range_checks[0].violations, 0);
    let f = syntax::format_source("c.bt", src).unwrap();
    assert!(f.contains("-> (f64, f64 in [0, 100])"), "{f}");
}

#[test]
fn the_tutorial_section_on_new_constructs_checks() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let t = std::fs::read_to_string(root.join("docs/tutorial.md")).unwrap();
    let sec = &t[t.find("## 7.").unwrap()..];
    let a = sec.find("```\n").unwrap() + 4;
    let b = a + sec[a..].find("```").unwrap();
    let src = format!(
        "param D: int = 192;\ninput train_x: secret f64[N, D];\n{}output h = h;\noutput dh = dh;\noutput l = last;\noutput t = tail;\noutput s = score;\noutput c = colmax;\n",
        &sec[a..b]
    );
    let c = types::check_source("tutorial.bt", &src);
    assert!(
        c.diagnostics.is_empty(),
        "{}\n{src}",
        c.rendered_diagnostics()
    );
}
