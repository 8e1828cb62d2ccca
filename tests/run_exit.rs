//! `blindtune run --plaintext` fails (non-zero exit, one report per violation) when the run
//! breaks a range assumption or produces NaN/infinity, unless `--allow-violations`; `--json`
//! keeps every per-iteration value of outputs recorded inside loops.

use std::process::Command;

const PROGRAM: &str = "input x: public f64[N];
approx e4 = exp on [-2, 2] degree 8;
let z: in [-2, 2] = x * 1;
let y = e4(z);
output y = y;
let l = log(x);
output l = l;
let s = for i in 0..3 carry (acc = zeros(1)) { output it = acc; acc + sum(l, 0) };
output s = s;
";

/// A 1-d float64 .npy file (format 1.0, little-endian).
fn npy(path: &std::path::Path, v: &[f64]) {
    let mut header = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
        v.len()
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((header.len() as u16).to_le_bytes());
    b.extend(header.as_bytes());
    for x in v {
        b.extend(x.to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

fn run(dir: &std::path::Path, x: &[f64], extra: &[&str]) -> (i32, String, serde_json::Value) {
    run_program(dir, PROGRAM, x, extra)
}

fn run_program(
    dir: &std::path::Path,
    program: &str,
    x: &[f64],
    extra: &[&str],
) -> (i32, String, serde_json::Value) {
    let bt = dir.join("p.bt");
    std::fs::write(&bt, program).unwrap();
    let data = dir.join("x.npy");
    npy(&data, x);
    let json = dir.join("out.json");
    let out = Command::new(env!("CARGO_BIN_EXE_blindtune"))
        .arg("run")
        .arg("--plaintext")
        .arg(&bt)
        .arg("--data")
        .arg(format!("x={}", data.display()))
        .arg("--json")
        .arg(&json)
        .args(extra)
        .output()
        .unwrap();
    let j = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let _ = std::fs::remove_file(&json);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
        j,
    )
}

#[test]
fn broken_run_exits_non_zero_with_one_report_per_violation() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err, _) = run(dir.path(), &[-3.0, -1.0, 0.5, 4.0], &[]);
    assert_ne!(code, 0, "{err}");
    // z's assumption, output l, carried acc, output it, output s
    assert_eq!(err.matches("error: ").count(), 5, "{err}");
    assert!(err.contains("p.bt:3:8"), "{err}");
    assert!(err.contains("feeds the approximation `e4`"), "{err}");
    assert!(err.contains("--allow-violations"), "{err}");
    let (code, err, _) = run(dir.path(), &[-3.0, -1.0, 0.5, 4.0], &["--allow-violations"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("range assumption [-2, 2] violated"), "{err}");
}

#[test]
fn healthy_run_exits_zero_and_json_keeps_every_iteration() {
    let dir = tempfile::tempdir().unwrap();
    let x = [0.5, 1.0, 1.5];
    let (code, err, j) = run(dir.path(), &x, &[]);
    assert_eq!(code, 0, "{err}");
    let vals = j["approximate"]["it"]["values"].as_array().unwrap();
    // acc before iterations 0, 1, 2: k * sum(log x)
    let s: f64 = x.iter().map(|v: &f64| v.ln()).sum();
    assert_eq!(vals.len(), 3);
    for (k, v) in vals.iter().enumerate() {
        let got = v["data"][0].as_f64().unwrap();
        assert!((got - k as f64 * s).abs() < 1e-12, "iteration {k}: {got}");
    }
}

#[test]
fn the_same_input_twice_warns_and_deny_warnings_fails() {
    let dir = tempfile::tempdir().unwrap();
    let data = format!("x={}", dir.path().join("x.npy").display());
    let x = [0.5, 1.0, 1.5];
    let (code, err, _) = run(dir.path(), &x, &["--data", &data]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning[W0006]: input `x` is given twice"),
        "{err}"
    );
    let (code, err, _) = run(dir.path(), &x, &["--data", &data, "--deny-warnings"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("denied by --deny-warnings"), "{err}");
    // a program warning (unused let) fails under --deny-warnings too
    let unused = format!("{PROGRAM}let unused = x * 2;\n");
    let (code, err, _) = run_program(dir.path(), &unused, &x, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning[W0001]"), "{err}");
    let (code, err, _) = run_program(dir.path(), &unused, &x, &["--deny-warnings"]);
    assert_ne!(code, 0, "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_blindtune"))
        .args(["check", "--deny-warnings"])
        .arg(dir.path().join("p.bt"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}
