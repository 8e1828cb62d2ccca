//! Linear transforms (BSGS with double hoisting) and the extended-basis operations behind
//! them, against f64 references on fresh random inputs (N = 2^12, insecure).

use std::sync::Arc;

use blindtune_runtime::backend::CpuBackend;
use blindtune_runtime::circuits::linear_transform::{DiagonalMatrix, LinearTransform};
use blindtune_runtime::ckks::testing::{
    mean_precision_bits, precision_bits, random_complex, random_index,
};
use blindtune_runtime::ckks::*;
use num_complex::Complex64;

struct Setup {
    ctx: Arc<Context>,
    enc: Encoder,
    encryptor: Encryptor,
    dec: Decryptor,
    sk: SecretKey,
    kg: KeyGenerator,
}

fn setup() -> Setup {
    let ctx = Context::new(Params::new_insecure_for_tests(presets::test_insecure()).unwrap());
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    Setup {
        enc: Encoder::new(ctx.clone()),
        encryptor: Encryptor::with_secret_key(ctx.clone(), &sk).unwrap(),
        dec: Decryptor::new(ctx.clone(), &sk).unwrap(),
        sk,
        kg,
        ctx,
    }
}

/// A matrix with `count` random diagonals (always including 0) of entries in the unit disc.
fn random_matrix(n: usize, count: usize) -> DiagonalMatrix {
    let mut m = DiagonalMatrix::zero(n);
    let mut ks = vec![0usize];
    while ks.len() < count {
        let k = 1 + random_index(n - 1);
        if !ks.contains(&k) {
            ks.push(k);
        }
    }
    for k in ks {
        for (row, v) in random_complex(n, 0.7).into_iter().enumerate() {
            m.add_entry(row, k, v);
        }
    }
    m
}

#[test]
fn bsgs_transform_matches_the_dense_product() {
    let mut s = setup();
    let slots = s.ctx.n() / 2;
    let level = s.ctx.max_level();
    let scale = s.ctx.params().default_scale();
    for count in [1, 7, 40] {
        let m = random_matrix(slots, count);
        let keyless = CpuBackend::without_keys(s.ctx.clone());
        let t = LinearTransform::new(&keyless, &m, level).unwrap();
        let manifest = t.key_manifest(&keyless);
        let evk = s.kg.gen_evaluation_keys(&s.sk, &manifest);
        let eval = CpuBackend::new(s.ctx.clone(), Arc::new(evk)).unwrap();
        let z = random_complex(slots, 1.0);
        let ct = s
            .encryptor
            .encrypt(&s.enc.encode_complex(&z, level, scale).unwrap());
        let out = t.evaluate(&eval, &ct).unwrap();
        assert_eq!(out.level(), level - 1);
        assert!((out.scale() / scale - 1.0).abs() < 1e-12);
        let want = m.apply(&z);
        let got = s.enc.decode_complex(&s.dec.decrypt(&out));
        // Entries are O(1) and each output sums `count` products: normalise by the largest.
        let norm = want.iter().fold(1f64, |a, w| a.max(w.norm()));
        let want_n: Vec<_> = want.iter().map(|w| w / norm).collect();
        let got_n: Vec<_> = got.iter().map(|g| g / norm).collect();
        let (min, mean) = (
            precision_bits(&want_n, &got_n),
            mean_precision_bits(&want_n, &got_n),
        );
        eprintln!(
            "MEASURED transform with {count} diagonals ({} rotation keys): min {min:.1}, mean {mean:.1} bits",
            manifest.galois_elements.len()
        );
        assert!(
            min >= 25.0 && mean >= 27.0,
            "{count} diagonals: {min:.1}/{mean:.1}"
        );
    }
}

#[test]
fn extended_rotations_agree_with_ordinary_ones() {
    let mut s = setup();
    let slots = s.ctx.n() / 2;
    let level = s.ctx.max_level() - 1;
    let scale = s.ctx.params().default_scale();
    let k1 = 1 + random_index(slots - 1) as i64;
    let k2 = 1 + random_index(slots - 1) as i64;
    let manifest = s.kg.manifest_for_rotations(&[k1, k2, k1 + k2], false);
    let evk = s.kg.gen_evaluation_keys(&s.sk, &manifest);
    let eval = Evaluator::new(s.ctx.clone(), Arc::new(evk)).unwrap();
    let z = random_complex(slots, 1.0);
    let ct = s
        .encryptor
        .encrypt(&s.enc.encode_complex(&z, level, scale).unwrap());
    let rot = |v: &[Complex64], k: i64| -> Vec<Complex64> {
        (0..slots).map(|i| v[(i + k as usize) % slots]).collect()
    };
    // σ_{k2}(σ_{k1}(ct)), all in the extended basis, then one ModDown.
    let dec = eval.decompose(&ct).unwrap();
    let first = eval
        .apply_galois_hoisted_extended(&ct, &dec, s.ctx.rotation_element(k1), Some(k1))
        .unwrap();
    let mut acc = eval.extend(&ct).unwrap();
    eval.apply_galois_add_assign_extended(&mut acc, &first, s.ctx.rotation_element(k2), Some(k2))
        .unwrap();
    let out = eval.mod_down_extended(acc);
    let want: Vec<Complex64> = z.iter().zip(rot(&z, k1 + k2)).map(|(a, b)| a + b).collect();
    let got = s.enc.decode_complex(&s.dec.decrypt(&out));
    let (min, mean) = (
        precision_bits(&want, &got),
        mean_precision_bits(&want, &got),
    );
    eprintln!(
        "MEASURED z + rot_(k1+k2)(z) in the extended basis: min {min:.1}, mean {mean:.1} bits"
    );
    assert!(min >= 25.0 && mean >= 27.0, "{min:.1}/{mean:.1}");

    // A missing key is an error naming the rotation, not a panic.
    let held = [k1, k2, (k1 + k2) % slots as i64];
    let missing = (1..).find(|r| !held.contains(r)).unwrap();
    let err = eval
        .apply_galois_hoisted_extended(&ct, &dec, s.ctx.rotation_element(missing), Some(missing))
        .unwrap_err();
    assert!(matches!(err, CkksError::MissingGaloisKey { .. }), "{err}");
}

#[test]
fn fused_relinearize_and_rescale_matches_the_product() {
    // mul_relin_rescale divides by P·q_ℓ once; it must agree with the f64 product as well as
    // the separate relinearize-then-rescale path does, land one level lower at scale Δ²/q_ℓ,
    // and the extended constant and integer operations must act on the slots.
    let mut s = setup();
    let slots = s.ctx.n() / 2;
    let level = s.ctx.max_level();
    let scale = s.ctx.params().default_scale();
    let evk =
        s.kg.gen_evaluation_keys(&s.sk, &s.kg.manifest_for_rotations(&[], false));
    let eval = Evaluator::new(s.ctx.clone(), Arc::new(evk)).unwrap();
    let (x, y) = (random_complex(slots, 1.0), random_complex(slots, 1.0));
    let cx = s
        .encryptor
        .encrypt(&s.enc.encode_complex(&x, level, scale).unwrap());
    let cy = s
        .encryptor
        .encrypt(&s.enc.encode_complex(&y, level, scale).unwrap());
    let want: Vec<Complex64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let fused = eval.mul_relin_rescale(&cx, &cy).unwrap();
    let separate = eval.rescale(&eval.mul_relin(&cx, &cy).unwrap()).unwrap();
    assert_eq!(fused.level(), level - 1);
    assert_eq!(fused.scale(), separate.scale());
    let bits = |ct: &Ciphertext, want: &[Complex64]| {
        let got = s.enc.decode_complex(&s.dec.decrypt(ct));
        (precision_bits(want, &got), mean_precision_bits(want, &got))
    };
    let (fmin, fmean) = bits(&fused, &want);
    let (smin, smean) = bits(&separate, &want);
    eprintln!("MEASURED x·y fused {fmin:.1}/{fmean:.1} bits, separate {smin:.1}/{smean:.1} bits");
    assert!(
        fmin >= 25.0 && fmean >= smean - 0.5,
        "{fmin:.1}/{fmean:.1} vs {smean:.1}"
    );
    // 2·x·y − 1 through the extended operations.
    let mut ext = eval
        .relinearize_extended(&eval.mul(&cx, &cy).unwrap())
        .unwrap();
    eval.mul_integer_extended(&mut ext, 2);
    eval.add_const_extended(&mut ext, -1.0).unwrap();
    let out = eval.mod_down_rescale(ext).unwrap();
    let want2: Vec<Complex64> = want.iter().map(|w| 2.0 * w - 1.0).collect();
    let (min2, mean2) = bits(&out, &want2);
    eprintln!("MEASURED 2xy − 1 extended: {min2:.1}/{mean2:.1} bits");
    assert!(min2 >= 24.0 && mean2 >= 26.0, "{min2:.1}/{mean2:.1}");
}
