//! `blindtune compile FILE --emit tensor` prints the tensor IR; the later stages are refused
//! with a clear error (non-zero exit, never a panic).

use std::process::Command;

fn compile(args: &[&str]) -> (bool, String, String) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_blindtune"))
        .arg("compile")
        .arg(root.join("examples/hetal_head.bt"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn emit_tensor_prints_the_ir_with_rolled_loops() {
    let (ok, out, err) = compile(&["--emit", "tensor", "--param", "EPOCHS=3"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("tensor_program {"), "{out}");
    assert!(out.contains("loop epoch in"), "{out}");
    assert!(out.contains("loop batches of"), "{out}");
    assert!(out.contains("output val_logits ="), "{out}");
    let (_, out40, _) = compile(&["--emit", "tensor", "--param", "EPOCHS=40"]);
    assert_eq!(out.lines().count(), out40.lines().count());
}

#[test]
fn later_stages_are_refused_clearly() {
    for stage in [
        None,
        Some("layout"),
        Some("ckks"),
        Some("scheduled"),
        Some("plan"),
    ] {
        let args: Vec<&str> = stage.map(|s| vec!["--emit", s]).unwrap_or_default();
        let (ok, _, err) = compile(&args);
        assert!(!ok, "{stage:?}");
        assert!(err.contains("not implemented yet"), "{stage:?}: {err}");
        assert!(!err.contains("panicked"), "{stage:?}: {err}");
    }
}
