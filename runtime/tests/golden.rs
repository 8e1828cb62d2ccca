//! Golden files of every serialized kind (format version 1): parameters, secret key, public
//! key, evaluation keys, plaintext, ciphertext and bootstrapping keys, made once on a tiny
//! insecure ring and committed in `tests/golden/`. Later builds must keep reading them with
//! the same meaning (the golden ciphertext decrypts under the golden secret key to the
//! golden values, the golden keys still rotate it), and must write them byte for byte, or
//! fail here: a format change bumps `FORMAT_VERSION`, keeps a reader for these files, and
//! adds new golden files beside them.
//!
//! Bless (writes only the files that do not exist yet, so earlier layouts stay pinned):
//! `BLINDTUNE_BLESS=1 cargo test -p blindtune-runtime --test golden`.
//!
//! Layouts pinned (besides one file per kind, including the evaluation bundle and the
//! ciphertext grid): full-level keys with both halves stored (`evaluation_keys.bin`,
//! `bootstrapping_keys.bin`), and keys held below the top level with seeded uniform halves
//! (`evaluation_keys_seeded_truncated.bin`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use blindtune_runtime::ckks::bundle::EvaluationBundle;
use blindtune_runtime::ckks::encapsulation::BootstrappingKeys;
use blindtune_runtime::ckks::sampling::Sampler;
use blindtune_runtime::ckks::serialization::{self, CiphertextGrid, Serializable, FORMAT_VERSION};
use blindtune_runtime::ckks::testing::precision_bits;
use blindtune_runtime::ckks::*;
use num_complex::Complex64;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn literal() -> ParamsLiteral {
    ParamsLiteral {
        name: "golden-insecure".into(),
        log_n: 10,
        log_q: vec![50, 35, 35],
        log_p: vec![55],
        log_scale: 35,
        dnum: 3,
        secret: SecretDistribution::UniformTernary,
        sigma: 3.2,
    }
}

/// The message of the golden ciphertext and plaintext: deterministic, no randomness needed.
fn values(slots: usize) -> Vec<Complex64> {
    (0..slots)
        .map(|i| Complex64::new((i as f64 * 0.37).sin() * 0.9, (i as f64 * 0.11).cos() * 0.5))
        .collect()
}

fn bless() {
    let params = Params::new_insecure_for_tests(literal()).unwrap();
    let ctx = Context::new(params.clone());
    let mut kg = KeyGenerator::with_sampler(ctx.clone(), Sampler::from_seed_for_tests([7; 32]));
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk);
    let evk = kg.gen_evaluation_keys(&sk, &kg.manifest_for_rotations(&[1], true));
    let relin_only = kg.manifest_for_rotations(&[], false);
    let boot = BootstrappingKeys::generate(&mut kg, &sk, &relin_only, 8);
    let enc = Encoder::new(ctx.clone());
    let pt = enc
        .encode_complex(
            &values(ctx.n() / 2),
            ctx.max_level(),
            params.default_scale(),
        )
        .unwrap();
    let ct = Encryptor::with_public_key(ctx.clone(), pk.clone())
        .unwrap()
        .encrypt(&pt);
    let mut seeded_manifest = kg.manifest_for_rotations(&[1], false);
    seeded_manifest
        .max_levels
        .insert(ctx.rotation_element(1), ctx.max_level() - 1);
    let seeded = kg.gen_evaluation_keys(&sk, &seeded_manifest);
    std::fs::create_dir_all(dir()).unwrap();
    let d = dir();
    let fresh = |name: &str| !d.join(name).exists();
    if fresh("params.bin") {
        serialization::save_params(&params, &d.join("params.bin")).unwrap();
    }
    let save = |name: &str, bytes: Vec<u8>| {
        if fresh(name) {
            std::fs::write(d.join(name), bytes).unwrap();
        }
    };
    save("secret_key.bin", sk.to_bytes(&ctx));
    save("public_key.bin", pk.to_bytes(&ctx));
    save("evaluation_keys.bin", evk.to_bytes(&ctx));
    save(
        "evaluation_keys_seeded_truncated.bin",
        seeded.to_bytes(&ctx),
    );
    save("plaintext.bin", pt.to_bytes(&ctx));
    save("ciphertext.bin", ct.to_bytes(&ctx));
    save("bootstrapping_keys.bin", boot.to_bytes(&ctx));
    // Drawn after everything above, so the earlier files' draws are unchanged.
    let bundle = EvaluationBundle::with_bootstrapping(
        pk.clone(),
        BootstrappingKeys::generate(&mut kg, &sk, &relin_only, 8),
    );
    save("evaluation_bundle.bin", bundle.to_bytes(&ctx));
    let mut encryptor = Encryptor::with_public_key(ctx.clone(), pk.clone()).unwrap();
    let grid = CiphertextGrid(vec![vec![encryptor.encrypt(&pt), encryptor.encrypt(&pt)]]);
    save("ciphertext_grid.bin", grid.to_bytes(&ctx));
}

/// Loads `name` and checks that writing it again gives the committed bytes.
fn load_stable<T: Serializable>(ctx: &Context, name: &str) -> T {
    let path = dir().join(name);
    let obj: T = serialization::load(ctx, &path).unwrap_or_else(|e| {
        panic!("golden file {name} (format {FORMAT_VERSION}) no longer loads: {e}")
    });
    let committed = std::fs::read(&path).unwrap();
    assert!(
        obj.to_bytes(ctx) == committed,
        "{name}: this build writes different bytes for the same object; a format change \
         must bump FORMAT_VERSION and keep reading version-1 files"
    );
    obj
}

#[test]
fn golden_files_of_every_kind_still_load_with_their_meaning() {
    if std::env::var_os("BLINDTUNE_BLESS").is_some() {
        bless();
    }
    let params = serialization::load_params(&dir().join("params.bin")).expect("golden params");
    assert_eq!(
        params.literal(),
        &literal(),
        "golden parameters changed meaning"
    );
    let ctx = Context::new(params.clone());
    let sk: SecretKey = load_stable(&ctx, "secret_key.bin");
    let pk: PublicKey = load_stable(&ctx, "public_key.bin");
    let evk: EvaluationKeys = load_stable(&ctx, "evaluation_keys.bin");
    let pt: Plaintext = load_stable(&ctx, "plaintext.bin");
    let ct: Ciphertext = load_stable(&ctx, "ciphertext.bin");
    let boot: BootstrappingKeys = load_stable(&ctx, "bootstrapping_keys.bin");
    let seeded: EvaluationKeys = load_stable(&ctx, "evaluation_keys_seeded_truncated.bin");
    let bundle: EvaluationBundle = load_stable(&ctx, "evaluation_bundle.bin");
    let grid: CiphertextGrid = load_stable(&ctx, "ciphertext_grid.bin");
    let seeded_len = std::fs::metadata(dir().join("evaluation_keys_seeded_truncated.bin"))
        .unwrap()
        .len();
    let full_len = std::fs::metadata(dir().join("evaluation_keys.bin"))
        .unwrap()
        .len();
    assert!(
        seeded_len * 3 < full_len,
        "seeded, truncated keys store under a third"
    );

    let enc = Encoder::new(ctx.clone());
    let dec = Decryptor::new(ctx.clone(), &sk).unwrap();
    let want = values(ctx.n() / 2);
    assert!(precision_bits(&want, &enc.decode_complex(&pt)) > 25.0);
    let got = enc.decode_complex(&dec.decrypt(&ct));
    assert!(
        precision_bits(&want, &got) > 18.0,
        "golden ciphertext lost its message"
    );
    // The golden keys still work on the golden ciphertext.
    let eval = Evaluator::new(ctx.clone(), Arc::new(evk)).unwrap();
    let rotated = enc.decode_complex(&dec.decrypt(&eval.rotate(&ct, 1).unwrap()));
    let n = want.len();
    let want_rot: Vec<_> = (0..n).map(|i| want[(i + 1) % n]).collect();
    assert!(precision_bits(&want_rot, &rotated) > 15.0);
    let squared = eval.rescale(&eval.mul_relin(&ct, &ct).unwrap()).unwrap();
    let want_sq: Vec<_> = want.iter().map(|z| z * z).collect();
    assert!(precision_bits(&want_sq, &enc.decode_complex(&dec.decrypt(&squared))) > 12.0);
    // The seeded key, regenerated from its seeds, rotates the ciphertext below the top.
    let seeded_eval = Evaluator::new(ctx.clone(), Arc::new(seeded)).unwrap();
    let low = eval.drop_to_level(&ct, ctx.max_level() - 1).unwrap();
    let rotated = enc.decode_complex(&dec.decrypt(&seeded_eval.rotate(&low, 1).unwrap()));
    assert!(precision_bits(&want_rot, &rotated) > 15.0);
    assert!(
        seeded_eval.rotate(&ct, 1).is_err(),
        "held below the top level"
    );
    let boot_eval = Evaluator::new(ctx.clone(), boot.evaluation.clone()).unwrap();
    assert!(boot_eval.relinearize(&eval.mul(&ct, &ct).unwrap()).is_ok());
    // A fresh encryption under the golden public key decrypts under the golden secret key.
    let fresh = Encryptor::with_public_key(ctx.clone(), pk.clone())
        .unwrap()
        .encrypt(&pt);
    assert!(precision_bits(&want, &enc.decode_complex(&dec.decrypt(&fresh))) > 18.0);
    // The bundle's public key is the golden one, its bootstrapping keys share its evaluation
    // keys, and those relinearize; the grid's blocks decrypt to the golden message.
    assert_eq!(bundle.public_key, pk);
    let boot_keys = bundle
        .bootstrapping
        .as_ref()
        .expect("a bootstrapping bundle");
    assert!(Arc::ptr_eq(&boot_keys.evaluation, &bundle.evaluation));
    let bundle_eval = Evaluator::new(ctx.clone(), bundle.evaluation.clone()).unwrap();
    assert!(bundle_eval
        .relinearize(&eval.mul(&ct, &ct).unwrap())
        .is_ok());
    assert_eq!(grid.dims(), (1, 2));
    for block in grid.0.iter().flatten() {
        assert!(precision_bits(&want, &enc.decode_complex(&dec.decrypt(block))) > 18.0);
    }
}
