//! Data errors point at the `input` declaration; a missing tensor suggests the nearest name
//! in the data (interp::data_errors).

use blindtune_compiler::{diagnostics, interp, types};
use ndarray::{ArrayD, IxDyn};

fn tensor(v: Vec<f64>, shape: &[usize], integer: bool) -> interp::Tensor {
    interp::Tensor {
        data: ArrayD::from_shape_vec(IxDyn(shape), v).unwrap(),
        integer,
    }
}

fn render(src: &str, ds: &interp::DataSet) -> String {
    let c = types::check_source("d.bt", src);
    let p = c.program.as_ref().unwrap();
    let e = interp::run(p, ds, &Default::default()).unwrap_err();
    let d = interp::data_errors::diagnostic(p, &e, ds).expect("a data error");
    diagnostics::render_all(&[d], &c.sources)
}

#[test]
fn missing_input_points_at_the_declaration_and_suggests_the_nearest_tensor() {
    let src = "param D: int = 2;\ninput train_x: secret f64[N, D];\noutput y = train_x * 2;\n";
    let mut ds = interp::DataSet::new();
    ds.insert("train_X".into(), tensor(vec![0.0; 4], &[2, 2], false));
    ds.insert("labels".into(), tensor(vec![0.0; 2], &[2], true));
    let r = render(src, &ds);
    assert!(
        r.contains("error[E0701]: input `train_x` is not in the data"),
        "{r}"
    );
    assert!(r.contains(" --> d.bt:2:1"), "{r}");
    assert!(r.contains("the data has a tensor `train_X`"), "{r}");
    // nothing close: the tensors are listed instead
    let mut ds = interp::DataSet::new();
    ds.insert("features".into(), tensor(vec![0.0; 4], &[2, 2], false));
    let r = render(src, &ds);
    assert!(r.contains("tensors in the data: `features`"), "{r}");
}

#[test]
fn label_outside_the_class_count_points_at_the_declaration() {
    let src = "input y: secret f64[N, 3];\noutput s = y * 1;\n";
    let mut ds = interp::DataSet::new();
    ds.insert("y".into(), tensor(vec![0.0, 5.0], &[2], true));
    let r = render(src, &ds);
    assert!(r.contains("error[E0702]"), "{r}");
    assert!(r.contains("label 5 at row 1 is outside 0..3"), "{r}");
    assert!(r.contains(" --> d.bt:1:1"), "{r}");
}
