//! `evaluate` on a hand-computed case (logits, accuracy, loss, confusion), through files with
//! the program's normalisation, and the training-curve plot in SVG and PNG.

use std::collections::HashMap;

use blindtune_client::evaluate::{evaluate, logits, mean_std, score_logits, EvaluateOptions};
use blindtune_client::features::output::{serialize, OwnedTensor};
use blindtune_client::plot::{font_path, plot_training_curve, Curve};

/// W = [[1,0],[0,1],[-1,-1]], b = 0; rows [2,0] → class 0, [0,3] → 1, [-1,-1] → 2,
/// [1,1] → logits [1,1,-2]: a tie, the first maximum (0) wins. Labels [0,1,2,1]:
/// accuracy 3/4, the fourth row confused 1 → 0.
#[test]
fn hand_computed_scores() {
    let w = [1.0, 0.0, 0.0, 1.0, -1.0, -1.0];
    let b = [0.0, 0.0, 0.0];
    let x = [2.0, 0.0, 0.0, 3.0, -1.0, -1.0, 1.0, 1.0];
    let z = logits(&x, 4, 2, &w, &b, None);
    assert_eq!(
        z,
        vec![2.0, 0.0, -2.0, 0.0, 3.0, -3.0, -1.0, -1.0, 2.0, 1.0, 1.0, -2.0]
    );
    let s = score_logits(&z, 4, 3, &[0, 1, 2, 1]);
    assert_eq!(s.accuracy, 0.75);
    assert_eq!(
        s.confusion,
        vec![vec![1, 0, 0], vec![1, 1, 0], vec![0, 0, 1]]
    );
    // cross-entropy per row: lse(z) - z_y
    let ce = |r: &[f64], y: usize| r.iter().map(|v| v.exp()).sum::<f64>().ln() - r[y];
    let want = (ce(&[2.0, 0.0, -2.0], 0)
        + ce(&[0.0, 3.0, -3.0], 1)
        + ce(&[-1.0, -1.0, 2.0], 2)
        + ce(&[1.0, 1.0, -2.0], 1))
        / 4.0;
    assert!((s.loss - want).abs() < 1e-12, "{} vs {want}", s.loss);
    // ln(1 + e^-2 + e^-4) for the first row, by hand
    assert!((ce(&[2.0, 0.0, -2.0], 0) - 0.142_932_4).abs() < 1e-6);
    let table = s.table();
    assert!(table.contains("accuracy 75.00%"), "{table}");
}

fn f64_tensor(shape: Vec<usize>, v: &[f64]) -> OwnedTensor {
    OwnedTensor {
        dtype: safetensors::Dtype::F64,
        shape,
        data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

#[test]
fn evaluate_files_with_the_programs_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    // head: 2 classes, 2 features
    let w = [1.0, -1.0, -1.0, 1.0];
    let b = [0.5, -0.5];
    let head = dir.path().join("head.safetensors");
    let bytes = serialize(
        &[
            ("weights".into(), f64_tensor(vec![2, 2], &w)),
            ("bias".into(), f64_tensor(vec![2], &b)),
        ],
        None,
    )
    .unwrap();
    std::fs::write(&head, bytes).unwrap();
    let train_x = [0.0, 10.0, 2.0, 14.0, 4.0, 12.0];
    let test_x = [3.0, 11.0, 1.0, 13.0];
    let test_y = [0u8, 1];
    let (m, s) = mean_std(&train_x, 3, 2);
    assert_eq!(m, vec![2.0, 12.0]);
    let mut tensors = vec![
        ("train_x".to_string(), f64_tensor(vec![3, 2], &train_x)),
        ("test_x".to_string(), f64_tensor(vec![2, 2], &test_x)),
        (
            "test_y".to_string(),
            OwnedTensor {
                dtype: safetensors::Dtype::U8,
                shape: vec![2],
                data: test_y.to_vec(),
            },
        ),
    ];
    let data = dir.path().join("data.safetensors");
    std::fs::write(&data, serialize(&tensors, None).unwrap()).unwrap();
    // no train_mean/train_std: computed from train_x
    let e = evaluate(&head, &data, &EvaluateOptions::default()).unwrap();
    let want = score_logits(
        &logits(&test_x, 2, 2, &w, &b, Some((&m, &s))),
        2,
        2,
        &[0, 1],
    );
    assert_eq!(e.score, want);
    assert!(e.normalization.contains("computed"));
    // train_mean/train_std in the file take precedence
    let (m2, s2) = ([3.0, 12.0], [1.0, 2.0]);
    tensors.push(("train_mean".into(), f64_tensor(vec![2], &m2)));
    tensors.push(("train_std".into(), f64_tensor(vec![2], &s2)));
    std::fs::write(&data, serialize(&tensors, None).unwrap()).unwrap();
    let e = evaluate(&head, &data, &EvaluateOptions::default()).unwrap();
    // rows normalised: [0, -0.5] → logits [1, -1] → class 0; [-2, 0.5] → [-2, 2] → class 1
    assert_eq!(e.score.accuracy, 1.0);
    assert!(e.normalization.contains("train_mean"));
    // a missing tensor is named
    let opts = EvaluateOptions {
        weights: "W".into(),
        ..Default::default()
    };
    let err = evaluate(&head, &data, &opts).unwrap_err().to_string();
    assert!(
        err.contains("head.safetensors") && err.contains("`W`"),
        "{err}"
    );
    let _ = HashMap::<(), ()>::new();
}

#[test]
fn training_curves_plot_to_svg_and_png() {
    if font_path().is_none() {
        eprintln!("skipped: no TrueType font on this machine (set BLINDTUNE_FONT)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // BLINDTUNE_PLOT_DIR keeps the images to look at
    let keep = std::env::var_os("BLINDTUNE_PLOT_DIR").map(std::path::PathBuf::from);
    let dir = keep.as_deref().unwrap_or(tmp.path());
    let curves = [
        Curve {
            name: "encrypted".into(),
            loss: vec![1.2, 0.8, 0.6, 0.55],
            accuracy: vec![0.6, 0.75, 0.8, 0.82],
        },
        Curve {
            name: "plaintext".into(),
            loss: vec![1.1, 0.7, 0.55, 0.5],
            accuracy: vec![0.62, 0.77, 0.82, 0.84],
        },
    ];
    let svg = dir.join("curve.svg");
    plot_training_curve(&svg, &curves).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("<svg") && text.contains("encrypted") && text.contains("accuracy"));
    let png = dir.join("curve.png");
    plot_training_curve(&png, &curves).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let err = plot_training_curve(&dir.join("curve.gif"), &curves)
        .unwrap_err()
        .to_string();
    assert!(err.contains("curve.gif"), "{err}");
}
