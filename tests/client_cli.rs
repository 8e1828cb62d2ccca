//! `blindtune keygen / encrypt / decrypt / evaluate` end to end on the client's test plan
//! (insecure N = 2^12 set), with the cloud played by the library (the executor comes later);
//! damaged files make the commands exit non-zero with a message naming the file.

#[path = "../client/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output};

use blindtune_client::cloud::{cpu_backend, load_eval_bundle, EncryptedDirSource, ModelDirSink};
use blindtune_client::features::output::{serialize, OwnedTensor};
use common::*;

fn blindtune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blindtune"))
        .args(args)
        .output()
        .expect("runs")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn fails_naming(out: &Output, file: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail; stderr: {stderr}");
    assert!(
        stderr.contains(file),
        "the message should name {file}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn f64_tensor(shape: Vec<usize>, v: impl Iterator<Item = f64>) -> OwnedTensor {
    OwnedTensor {
        dtype: safetensors::Dtype::F64,
        shape,
        data: v.flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// The test data as a safetensors file (labels u8).
fn write_data(path: &Path, seed: u64) {
    let ds = data(seed);
    let mut tensors = Vec::new();
    for (name, t) in &ds {
        let shape = t.data.shape().to_vec();
        let owned = if t.integer {
            OwnedTensor {
                dtype: safetensors::Dtype::U8,
                shape,
                data: t.data.iter().map(|&v| v as u8).collect(),
            }
        } else {
            f64_tensor(shape, t.data.iter().copied())
        };
        tensors.push((name.clone(), owned));
    }
    std::fs::write(path, serialize(&tensors, None).unwrap()).unwrap();
}

#[test]
fn keygen_encrypt_decrypt_evaluate_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    let plan = plan();
    plan.save(Path::new(&p("plan.json"))).unwrap();
    write_data(Path::new(&p("data.safetensors")), 3);

    let out = ok(&blindtune(&[
        "keygen",
        "--plan",
        &p("plan.json"),
        "--out",
        &p("keys"),
    ]));
    assert!(
        out.contains("secret.key") && out.contains("eval.bin") && out.contains("INSECURE"),
        "{out}"
    );
    fails_naming(
        &blindtune(&["keygen", "--plan", &p("plan.json"), "--out", &p("keys")]),
        "secret.key",
    );

    let out = ok(&blindtune(&[
        "encrypt",
        "--plan",
        &p("plan.json"),
        "--keys",
        &p("keys"),
        "--data",
        &p("data.safetensors"),
        "--out",
        &p("enc"),
        "--quiet",
    ]));
    assert!(
        out.contains("train_x") && out.contains("test_y") && out.contains("stays with you"),
        "{out}"
    );

    // the cloud: every input read from enc/ and written back to model/
    let (ctx, bundle) = load_eval_bundle(&plan, Path::new(&p("keys/eval.bin"))).unwrap();
    let backend = cpu_backend(&ctx, &bundle).unwrap();
    let mut src = EncryptedDirSource::open(&plan, Path::new(&p("enc"))).unwrap();
    let mut sink =
        ModelDirSink::create(&plan, Path::new(&p("model")), src.dims().clone(), false).unwrap();
    echo(&backend, &mut src, &mut sink);

    let out = ok(&blindtune(&[
        "decrypt",
        "--plan",
        &p("plan.json"),
        "--keys",
        &p("keys"),
        "--model",
        &p("model"),
        "--out",
        &p("head.safetensors"),
    ]));
    assert!(
        out.contains("test_back") && out.contains("head.trips.safetensors"),
        "{out}"
    );
    assert!(Path::new(&p("head.trips.safetensors")).exists());

    // a damaged model file, a damaged secret key, a damaged plan
    let f = p("model/test_back.ct");
    let mut b = std::fs::read(&f).unwrap();
    b.truncate(b.len() / 2);
    std::fs::write(&f, b).unwrap();
    let args = [
        "decrypt",
        "--plan",
        &p("plan.json"),
        "--keys",
        &p("keys"),
        "--model",
        &p("model"),
        "--out",
        &p("h2.safetensors"),
    ];
    fails_naming(&blindtune(&args), "test_back.ct");
    let k = p("keys/secret.key");
    let mut b = std::fs::read(&k).unwrap();
    b[70] ^= 1;
    std::fs::write(&k, b).unwrap();
    fails_naming(&blindtune(&args), "secret.key");
    std::fs::write(
        p("bad.json"),
        "{\"format\": \"blindtune-plan\", \"version\": 1",
    )
    .unwrap();
    fails_naming(
        &blindtune(&["keygen", "--plan", &p("bad.json"), "--out", &p("k2")]),
        "bad.json",
    );
    assert!(!Path::new(&p("k2")).exists());
}

#[test]
fn evaluate_prints_a_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    // identity head on 2 features: the class is the larger feature
    let head = serialize(
        &[
            (
                "weights".to_string(),
                f64_tensor(vec![2, 2], [1.0, 0.0, 0.0, 1.0].into_iter()),
            ),
            (
                "bias".to_string(),
                f64_tensor(vec![2], [0.0, 0.0].into_iter()),
            ),
        ],
        None,
    )
    .unwrap();
    std::fs::write(p("head.safetensors"), head).unwrap();
    let data = serialize(
        &[
            (
                "test_x".to_string(),
                f64_tensor(vec![3, 2], [3.0, 1.0, 0.0, 2.0, 5.0, 4.0].into_iter()),
            ),
            (
                "test_y".to_string(),
                OwnedTensor {
                    dtype: safetensors::Dtype::U8,
                    shape: vec![3],
                    data: vec![0, 1, 1],
                },
            ),
        ],
        None,
    )
    .unwrap();
    std::fs::write(p("data.safetensors"), data).unwrap();
    let args = [
        "evaluate",
        "--head",
        &p("head.safetensors"),
        "--data",
        &p("data.safetensors"),
        "--raw",
    ];
    let out = ok(&blindtune(&args));
    assert!(out.contains("accuracy 66.67%"), "{out}");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let v: serde_json::Value = serde_json::from_str(&ok(&blindtune(&json_args))).unwrap();
    assert_eq!(v["confusion"], serde_json::json!([[1, 0], [1, 1]]));
    assert!((v["accuracy"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    // without --raw and without statistics to normalise with: a clear error
    fails_naming(&blindtune(&args[..5]), "data.safetensors");
}
