//! Bootstrapping on a small insecure ring (N = 2^12): precision against the f64 input, the
//! levels it restores, multiplications after it, lower target levels, and sparse packing.

use blindtune_runtime::backend::Backend;
use std::sync::Arc;

use blindtune_runtime::circuits::bootstrapping::config::{test_boot_config, test_boot_insecure};
use blindtune_runtime::circuits::bootstrapping::{
    Bootstrapper, BootstrappingConfig, BootstrappingKeys,
};
use blindtune_runtime::ckks::testing::{mean_precision_bits, precision_bits, random_complex};
use blindtune_runtime::ckks::*;
use num_complex::Complex64;

struct Setup {
    ctx: Arc<Context>,
    enc: Encoder,
    encryptor: Encryptor,
    dec: Decryptor,
    boot: Bootstrapper,
}

fn setup(config: impl FnOnce(usize) -> BootstrappingConfig) -> Setup {
    let ctx = Context::new(Params::new_insecure_for_tests(test_boot_insecure()).unwrap());
    let config = config(ctx.n());
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk);
    let manifest = Bootstrapper::key_manifest(&ctx, &config);
    let keys =
        BootstrappingKeys::generate(&mut kg, &sk, &manifest, config.ephemeral_hamming_weight);
    Setup {
        enc: Encoder::new(ctx.clone()),
        encryptor: Encryptor::with_public_key(ctx.clone(), pk).unwrap(),
        dec: Decryptor::new(ctx.clone(), &sk).unwrap(),
        boot: Bootstrapper::new(ctx.clone(), config, Arc::new(keys)).unwrap(),
        ctx,
    }
}

fn report(label: &str, want: &[Complex64], got: &[Complex64]) -> (f64, f64) {
    let (min, mean) = (precision_bits(want, got), mean_precision_bits(want, got));
    eprintln!("MEASURED {label}: min {min:.1} bits, mean {mean:.1} bits");
    (min, mean)
}

/// Fresh uniform complex values in [-1, 1] and their public-key encryption at level 0.
fn fresh_input(s: &mut Setup, slots: usize) -> (Vec<Complex64>, Ciphertext) {
    let z = random_complex(slots, 1.0);
    let scale = s.ctx.params().default_scale();
    let ct = s
        .encryptor
        .encrypt(&s.enc.encode_complex(&z, 0, scale).unwrap());
    (z, ct)
}

#[test]
fn full_slot_bootstrap_restores_levels_with_precision() {
    let mut s = setup(test_boot_config);
    let slots = s.ctx.n() / 2;
    let (z, ct) = fresh_input(&mut s, slots);
    let scale = s.ctx.params().default_scale();
    let target = s.boot.max_target_level();
    let out = s.boot.bootstrap(&ct, target).unwrap();
    assert_eq!(out.level(), target);
    assert_eq!(out.scale(), scale);
    let got = s.enc.decode_complex(&s.dec.decrypt(&out));
    let (min, mean) = report("full-slot bootstrap", &z, &got);
    assert!(min >= 20.0 && mean >= 23.0, "min {min:.1} mean {mean:.1}");
    // The refreshed ciphertext supports the promised multiplications.
    let eval = s.boot.backend();
    let mut ct2 = out;
    let mut want = got.clone();
    for _ in 0..target {
        ct2 = eval.rescale(&eval.mul_relin(&ct2, &ct2).unwrap()).unwrap();
        want.iter_mut().for_each(|w| *w = *w * *w);
    }
    let got2 = s.enc.decode_complex(&s.dec.decrypt(&ct2));
    let (min2, _) = report("squarings after bootstrap", &want, &got2);
    assert!(min2 >= 22.0, "{min2:.1}");
}

#[test]
fn lower_target_level_and_sparse_slots() {
    let mut s = setup(|n| test_boot_config(n).with_slots(64));
    let (z, ct) = fresh_input(&mut s, 64);
    for target in [0, s.boot.max_target_level()] {
        let out = s.boot.bootstrap(&ct, target).unwrap();
        assert_eq!(out.level(), target);
        let got = s.enc.decode_complex(&s.dec.decrypt(&out));
        let (min, mean) = report(&format!("sparse bootstrap to level {target}"), &z, &got);
        assert!(
            min >= 24.0 && mean >= 26.0,
            "target {target}: min {min:.1} mean {mean:.1}"
        );
    }
    // Lower targets cost less.
    let low = s.boot.cost(0).unwrap();
    let high = s.boot.cost(s.boot.max_target_level()).unwrap();
    assert!(low.key_switch_limbs < high.key_switch_limbs);
    // 64 slots pack their 128 coefficients into one ciphertext: EvalMod runs once (the
    // precision above is that of the packed path); full slots need it twice.
    assert_eq!(low.eval_mod_evaluations, 1);
    let full = setup(test_boot_config);
    assert_eq!(full.boot.cost(0).unwrap().eval_mod_evaluations, 2);
    assert!(s
        .boot
        .bootstrap(&ct, s.boot.max_target_level() + 1)
        .is_err());
}

#[test]
fn eval_mod_model_is_accurate() {
    let s = setup(test_boot_config);
    let err = s.boot.eval_mod().model_error(1e-3);
    eprintln!(
        "MEASURED EvalMod plaintext model error: 2^{:.1}",
        err.log2()
    );
    assert!(err < 2f64.powi(-40), "{err:e}");
}

#[test]
fn harmonic_correction_cancels_the_cubic_error_of_the_sine() {
    use blindtune_runtime::circuits::bootstrapping::{EvalMod, EvalModConfig};
    let harmonic = EvalMod::new(EvalModConfig::default());
    let sine = EvalMod::new(EvalModConfig {
        harmonic_correction: false,
        ..EvalModConfig::default()
    });
    assert_eq!(harmonic.depth(), sine.depth() + 1);
    // At |x mod 1| ≤ 2^-8 the sine is off by (2π)²δ³/6 ≈ 2^-21.3 and the pair of harmonics
    // by (2π)⁴δ⁵/30 ≈ 2^-34.3 (both in units of q_0).
    let delta = 2f64.powi(-8);
    let (h, s) = (harmonic.model_error(delta), sine.model_error(delta));
    eprintln!(
        "MEASURED model error at 2^-8: sine 2^{:.1}, harmonics 2^{:.1}",
        s.log2(),
        h.log2()
    );
    let cubic = (2.0 * std::f64::consts::PI).powi(2) * delta.powi(3) / 6.0;
    let quintic = (2.0 * std::f64::consts::PI).powi(4) * delta.powi(5) / 30.0;
    assert!((s / cubic - 1.0).abs() < 0.05, "sine {s:e} vs {cubic:e}");
    assert!(h < 1.1 * quintic, "harmonics {h:e} vs {quintic:e}");
}

#[test]
fn constant_messages_are_the_worst_case_and_stay_usable() {
    // A constant vector is a single coefficient c·Δ, the input that strains EvalMod's
    // approximation most at the default message ratio (see `default_log_message_ratio`).
    let mut s = setup(test_boot_config);
    let slots = s.ctx.n() / 2;
    let scale = s.ctx.params().default_scale();
    for c in [0.97, -0.6] {
        let z = vec![Complex64::new(c, 0.0); slots];
        let ct = s
            .encryptor
            .encrypt(&s.enc.encode_complex(&z, 0, scale).unwrap());
        let out = s.boot.bootstrap(&ct, s.boot.max_target_level()).unwrap();
        let got = s.enc.decode_complex(&s.dec.decrypt(&out));
        let (min, _) = report(&format!("constant {c}"), &z, &got);
        assert!(min >= 18.0, "constant {c}: {min:.1} bits");
    }
}

#[test]
fn iterated_bootstrap_adds_precision() {
    // A deliberately coarse bootstrap (sine only, message far below q_0: ~20 bits), so that
    // the gain of the second iteration is visible below the ~30-bit floor of the 2^40 scale
    // at N = 2^12.
    let mut s = setup(|n| {
        let mut c = test_boot_config(n);
        c.eval_mod.harmonic_correction = false;
        c.log_message_ratio = 15;
        c
    });
    let slots = s.ctx.n() / 2;
    let (_, ct) = fresh_input(&mut s, slots);
    // Reference: the message the ciphertext actually holds (fresh public-key encryption at
    // 2^40 is itself only ~24 bits away from z), so the bootstrapping error alone is measured.
    let held = s.enc.decode_complex(&s.dec.decrypt(&ct));
    let target = s.boot.max_target_level() - 1;
    let once = s
        .enc
        .decode_complex(&s.dec.decrypt(&s.boot.bootstrap(&ct, target).unwrap()));
    let (min1, mean1) = report("one bootstrap (vs held message)", &held, &once);
    let twice = s.boot.bootstrap_iterated(&ct, target, 2, 12).unwrap();
    assert_eq!(twice.level(), target);
    let got = s.enc.decode_complex(&s.dec.decrypt(&twice));
    let (min2, mean2) = report("two iterations (vs held message)", &held, &got);
    assert!(
        min2 >= min1 + 6.0 && mean2 >= 27.0,
        "{min1:.1}/{mean1:.1} -> {min2:.1}/{mean2:.1}"
    );
}

#[test]
fn bootstrapping_keys_round_trip_through_the_file_format() {
    use blindtune_runtime::ckks::serialization::{FormatError, Serializable};
    let ctx = Context::new(Params::new_insecure_for_tests(test_boot_insecure()).unwrap());
    let config = test_boot_config(ctx.n()).with_slots(8);
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let keys =
        BootstrappingKeys::generate(&mut kg, &sk, &Bootstrapper::key_manifest(&ctx, &config), 32);
    let bytes = keys.to_bytes(&ctx);
    eprintln!(
        "MEASURED bootstrapping key file: {:.1} MiB ({} residue bytes)",
        bytes.len() as f64 / (1 << 20) as f64,
        keys.size_bytes()
    );
    let back = BootstrappingKeys::from_bytes(&ctx, &bytes).unwrap();
    assert_eq!(back, keys);
    // The sparse-secret key exists modulo q_0·p_0 only: two limbs, about 2^121.
    use blindtune_runtime::circuits::bootstrapping::EncapsulationKey;
    assert_eq!(keys.dense_to_sparse.size_bytes(), 2 * 2 * ctx.n() * 8);
    assert!(EncapsulationKey::log_modulus(&ctx) < 125.0);
    // The reloaded keys bootstrap.
    let enc = Encoder::new(ctx.clone());
    let z = random_complex(8, 1.0);
    let ct = Encryptor::with_secret_key(ctx.clone(), &sk)
        .unwrap()
        .encrypt(
            &enc.encode_complex(&z, 0, ctx.params().default_scale())
                .unwrap(),
        );
    let boot = Bootstrapper::new(ctx.clone(), config, Arc::new(back)).unwrap();
    let out = boot.bootstrap(&ct, boot.max_target_level()).unwrap();
    let got = enc.decode_complex(&Decryptor::new(ctx.clone(), &sk).unwrap().decrypt(&out));
    assert!(precision_bits(&z, &got) >= 15.0);
    // Loaders of other kinds refuse it; a secret key is refused as bootstrapping material.
    assert!(matches!(
        EvaluationKeys::from_bytes(&ctx, &bytes),
        Err(FormatError::WrongKind { .. })
    ));
    assert!(matches!(
        BootstrappingKeys::from_bytes(&ctx, &sk.to_bytes(&ctx)),
        Err(FormatError::SecretKeyRefused)
    ));
}

#[test]
fn default_circuit_fits_the_shipped_chains() {
    use blindtune_runtime::circuits::bootstrapping::config::{n16_boot, DEFAULT_EVAL_MOD_LEVELS};
    use blindtune_runtime::circuits::bootstrapping::{EvalMod, EvalModConfig};
    // EvalMod must use exactly the 60-bit primes the chains reserve for it; one level more
    // would run a double angle on a 40-bit prime and one level less would waste one.
    assert_eq!(
        EvalMod::new(EvalModConfig::default()).depth(),
        DEFAULT_EVAL_MOD_LEVELS
    );
    let lit = n16_boot();
    let config = BootstrappingConfig::full_slots(1 << lit.log_n);
    let depth = config.cts_levels + DEFAULT_EVAL_MOD_LEVELS + config.stc_levels;
    let user = lit.log_q.len() - 1 - depth;
    assert_eq!(user, 9, "n16-boot leaves {user} user levels");
    assert!(lit.log_q[1..=user].iter().all(|&b| b == 40));
    assert!(
        Params::new(lit).is_ok(),
        "n16-boot must pass the 128-bit check"
    );
}
