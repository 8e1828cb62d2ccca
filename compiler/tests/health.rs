//! Broken runs are reported: one violation per broken range assumption and per non-finite
//! output or carried value, with location, count, observed interval and the approximations
//! the value feeds (interp::violations, used by `blindtune run` to exit non-zero).

use blindtune_compiler::{interp, types};

fn compile(src: &str) -> blindtune_compiler::Compilation {
    let c = types::check_source("health.bt", src);
    assert!(c.program.is_some(), "{}", c.rendered_diagnostics());
    c
}

fn data(x: &[f64]) -> interp::DataSet {
    let mut ds = interp::DataSet::new();
    ds.insert(
        "x".into(),
        interp::Tensor {
            data: ndarray::ArrayD::from_shape_vec(vec![x.len()], x.to_vec()).unwrap(),
            integer: false,
        },
    );
    ds
}

const PROGRAM: &str = "input x: public f64[N];
approx e4 = exp on [-2, 2] degree 8;
let z: in [-2, 2] = x * 1;
let y = e4(z);
output y = y;
let l = log(x);
output l = l;
let s = for i in 0..3 carry (acc = zeros(1)) { acc + sum(l, 0) };
output s = s;
";

#[test]
fn violations_name_location_count_interval_and_approximations() {
    let c = compile(PROGRAM);
    let p = c.program.as_ref().unwrap();
    let x = [-3.0, -1.0, 0.5, 4.0];
    let r = interp::run(p, &data(&x), &Default::default()).unwrap();
    let v = interp::violations(p, &r);
    let text: Vec<String> = v.iter().map(|v| v.render(&c.sources)).collect();
    let all = text.join("\n");
    println!("{all}");
    // the assumption on z (line 3), the NaN output l (line 7), the carried acc (line 8), the
    // output s (line 9); y is finite (exp of an out-of-domain polynomial is still finite)
    assert_eq!(v.len(), 4, "{all}");
    assert!(
        text[0].contains("range assumption [-2, 2] violated in 1/1 evaluations"),
        "{all}"
    );
    let (lo, hi) = x
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    assert!(
        text[0].contains(&format!("observed [{lo:.6}, {hi:.6}]")),
        "{all}"
    );
    assert!(text[0].contains("health.bt:3:"), "{all}");
    assert_eq!(v[0].feeds, vec!["e4".to_string()], "{all}");
    // numpy: np.log([-3, -1, .5, 4]) has 2 NaN; finite part [log .5, log 4]
    assert!(
        text[1].contains("output `l` is not finite in 1/1 evaluations (2 NaN, 0 infinite"),
        "{all}"
    );
    assert!(
        text[1].contains(&format!("[{:.6}, {:.6}]", 0.5f64.ln(), 4f64.ln())),
        "{all}"
    );
    assert!(text[1].contains("health.bt:7:"), "{all}");
    assert!(
        text[2].contains("carried state `acc` is not finite in 3/3 evaluations"),
        "{all}"
    );
    assert!(text[3].contains("output `s`"), "{all}");
}

#[test]
fn huge_observed_values_are_written_compactly() {
    let c = compile("input x: public f64[N];\nlet z: in [-1, 1] = x * 1;\noutput z = z;\n");
    let p = c.program.as_ref().unwrap();
    let r = interp::run(p, &data(&[-3e200, 0.5]), &Default::default()).unwrap();
    let v = interp::violations(p, &r);
    let t = v[0].render(&c.sources);
    assert!(t.contains("observed [-3.0000e200, 0.500000]"), "{t}");
}

#[test]
fn a_healthy_run_has_no_violation() {
    let c = compile(PROGRAM);
    let p = c.program.as_ref().unwrap();
    let r = interp::run(p, &data(&[0.5, 1.0, 1.5]), &Default::default()).unwrap();
    assert_eq!(interp::violations(p, &r), vec![]);
}

#[test]
fn nan_inside_an_assumption_is_a_violation() {
    let c = compile("input x: public f64[N];\nlet z: in [-1, 1] = log(x);\noutput z = z;\n");
    let p = c.program.as_ref().unwrap();
    let r = interp::run(p, &data(&[-1.0, 1.0]), &Default::default()).unwrap();
    assert_eq!(r.range_checks[0].violations, 1);
    assert_eq!(r.range_checks[0].non_finite, 1);
}

#[test]
fn feeds_follow_lets_calls_and_function_parameters() {
    let c = compile(
        "input x: public f64[N];
approx s4 = sigmoid on [-4, 4] degree 7;
fn act(v: f64[..] in [-4, 4]) -> f64[..] { s4(v) }
let z: in [-1, 1] = x * 1;
let w = z * 2;
output a = act(w);
",
    );
    let p = c.program.as_ref().unwrap();
    let r = interp::run(p, &data(&[3.0]), &Default::default()).unwrap();
    let v = interp::violations(p, &r);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].feeds, vec!["s4".to_string()]);
}
