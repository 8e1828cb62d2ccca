//! `blindtune compile FILE --emit STAGE` prints every stage; `-o` writes a plan that loads;
//! without either, a clear error (non-zero exit, never a panic).

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
fn every_stage_prints_and_a_plan_is_written() {
    for (stage, head) in [
        ("layout", "layout_program {"),
        ("ckks", "ckks_program {"),
        ("scheduled", "scheduled_program {"),
        ("plan", "{"),
    ] {
        let (ok, out, err) = compile(&["--emit", stage, "--param", "EPOCHS=2"]);
        assert!(ok, "{stage}: {err}");
        assert!(
            out.starts_with(head),
            "{stage}: {}",
            &out[..out.len().min(200)]
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.bin");
    let (ok, _, err) = compile(&["--param", "EPOCHS=2", "-o", plan.to_str().unwrap()]);
    assert!(ok, "{err}");
    let loaded = blindtune_runtime::plan::Plan::load(&plan).unwrap();
    assert!(loaded.bootstrapping);
}

#[test]
fn without_an_output_the_plan_is_refused_clearly() {
    let (ok, _, err) = compile(&[]);
    assert!(!ok);
    assert!(err.contains("-o plan.json"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
