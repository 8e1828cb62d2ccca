//! End-to-end encrypted training on the CPU backend, small ring (the insecure N = 2^12 set with
//! nine levels between bootstraps): compile `examples/hetal_head_fast.bt` → keygen → encrypt
//! (public key) → train (evaluation bundle only, from the encrypted dataset on disk) →
//! decrypt (secret key) → compare the decrypted weights, bias and validation logits with the
//! reference interpreter on the same data. Bound: 2^-12 absolute (measured ≈ 2^-20).

use std::path::PathBuf;

use blindtune_client::cloud::{cpu_backend, load_eval_bundle, EncryptedDirSource, ModelDirSink};
use blindtune_client::encrypt::{encrypt, EncryptOptions};
use blindtune_client::owner::{decrypt, keygen};
use blindtune_compiler::interp::{self, DataSet, Tensor};
use blindtune_compiler::pipeline::{compile, CompileOptions};
use blindtune_runtime::circuits::bootstrapping::Bootstrapper;
use blindtune_runtime::executor::Executor;
use blindtune_runtime::plan::params::resolve;
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn random_data(seed: u64, n: usize, t: usize, d: usize, c: usize) -> DataSet {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let m = |shape: &[usize], f: &mut dyn FnMut() -> f64| Tensor {
        data: ArrayD::from_shape_vec(
            IxDyn(shape),
            (0..shape.iter().product::<usize>()).map(|_| f()).collect(),
        )
        .unwrap(),
        integer: false,
    };
    let mut ds = DataSet::new();
    let mut r1 = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 1);
    ds.insert(
        "train_x".into(),
        m(&[n, d], &mut || r1.gen_range(-1.0..1.0)),
    );
    ds.insert("test_x".into(), m(&[t, d], &mut || r1.gen_range(-1.0..1.0)));
    ds.insert(
        "train_mean".into(),
        m(&[d], &mut || r1.gen_range(-0.1..0.1)),
    );
    ds.insert("train_std".into(), m(&[d], &mut || r1.gen_range(0.8..1.2)));
    let labels = |rows: usize, rng: &mut rand_chacha::ChaCha8Rng| {
        let v: Vec<f64> = (0..rows).map(|_| rng.gen_range(0..c) as f64).collect();
        Tensor {
            data: ArrayD::from_shape_vec(IxDyn(&[rows]), v).unwrap(),
            integer: true,
        }
    };
    ds.insert("train_y".into(), labels(n, &mut rng));
    ds.insert("test_y".into(), labels(t, &mut rng));
    ds
}

#[test]
fn encrypted_training_matches_the_reference_interpreter() {
    let seed = blindtune_runtime::ckks::testing::next_seed();
    let program = root().join("examples/hetal_head_fast.bt");
    let overrides = [
        ("EPOCHS".to_string(), 2.0),
        ("B".to_string(), 32.0),
        ("D".to_string(), 24.0),
    ];
    let c = blindtune_compiler::check_file(&program, overrides.iter().cloned().collect()).unwrap();
    let diags = c.rendered_diagnostics();
    let cp = c.program.unwrap_or_else(|| panic!("{diags}"));
    let opts = CompileOptions {
        params: Some("test-boot9-insecure".into()),
        allow_insecure: true,
        seed,
        ..Default::default()
    };
    let plan = compile(&cp, &opts).unwrap().plan;
    let data = random_data(seed, 40, 20, 24, 10);

    let dir = tempfile::tempdir().unwrap();
    let (keys, enc, model, head) = (
        dir.path().join("keys"),
        dir.path().join("enc"),
        dir.path().join("model"),
        dir.path().join("head.safetensors"),
    );
    keygen(&plan, &keys).unwrap();
    encrypt(
        &plan,
        &keys,
        &data,
        &enc,
        &EncryptOptions {
            progress: false,
            force: false,
        },
    )
    .unwrap();

    // the cloud: the evaluation bundle and the encrypted dataset only
    {
        let (ctx, bundle) = load_eval_bundle(&plan, &keys.join("eval.bin")).unwrap();
        let backend = cpu_backend(&ctx, &bundle).unwrap();
        let pp = resolve(&plan.params, true).unwrap();
        let boot = Bootstrapper::with_backend(backend, pp.bootstrapping.unwrap()).unwrap();
        let mut source = EncryptedDirSource::open(&plan, &enc).unwrap();
        let mut sink = ModelDirSink::create(&plan, &model, source.dims().clone(), false).unwrap();
        let mut ex = Executor::new(&plan, boot.backend(), Some(&boot)).unwrap();
        ex.run(&mut source, &mut sink)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }

    let got = decrypt(&plan, &keys, &model, &head).unwrap().outputs;
    let want = interp::run(
        &cp,
        &data,
        &interp::Options {
            exact: false,
            seed,
            progress: None,
        },
    )
    .unwrap();
    let mut worst: f64 = 0.0;
    for o in &want.outputs {
        let g: Vec<Vec<f64>> = if o.values.len() > 1 || o.name == "val_logits" {
            got.trips(&o.name).iter().map(|t| t.data.clone()).collect()
        } else {
            vec![got.get(&o.name).unwrap().data.clone()]
        };
        assert_eq!(
            g.len(),
            o.values.len(),
            "seed {seed}: output {} count",
            o.name
        );
        for (a, b) in g.iter().zip(&o.values) {
            for (x, y) in a.iter().zip(b.iter()) {
                worst = worst.max((x - y).abs());
            }
        }
    }
    eprintln!(
        "seed {seed}: worst |encrypted − reference| = 2^-{:.1}",
        -worst.log2()
    );
    assert!(
        worst <= 2f64.powi(-12),
        "seed {seed}: error 2^-{:.1} above the 2^-12 bound",
        -worst.log2()
    );
}
