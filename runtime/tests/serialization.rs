//! Round trips of every object kind, and rejection of each kind of corruption.

use std::sync::Arc;

use blindtune_runtime::ckks::serialization::{self, FormatError, Serializable};
use blindtune_runtime::ckks::testing::{precision_bits, random_complex};
use blindtune_runtime::ckks::*;

fn setup() -> (Arc<Context>, KeyGenerator, SecretKey) {
    let ctx = Context::new(Params::new_insecure_for_tests(presets::test_insecure()).unwrap());
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    (ctx, kg, sk)
}

#[test]
fn round_trips_preserve_meaning() {
    let (ctx, mut kg, sk) = setup();
    let pk = kg.gen_public_key(&sk);
    let evk = kg.gen_evaluation_keys(&sk, &kg.manifest_for_rotations(&[1, -2], true));
    let dir = tempfile_dir();
    // Keys through files.
    serialization::save(&ctx, &sk, &dir.join("sk.bin")).unwrap();
    serialization::save(&ctx, &pk, &dir.join("pk.bin")).unwrap();
    serialization::save(&ctx, &evk, &dir.join("evk.bin")).unwrap();
    let sk2: SecretKey = serialization::load(&ctx, &dir.join("sk.bin")).unwrap();
    let pk2: PublicKey = serialization::load(&ctx, &dir.join("pk.bin")).unwrap();
    let evk2 = serialization::load_evaluation_keys(&ctx, &dir.join("evk.bin")).unwrap();
    assert_eq!(pk, pk2);
    assert_eq!(evk, evk2);
    // The reloaded keys work together: encrypt, rotate, decrypt.
    let enc = Encoder::new(ctx.clone());
    let z = random_complex(ctx.n() / 2, 1.0);
    let pt = enc
        .encode_complex(&z, ctx.max_level(), ctx.params().default_scale())
        .unwrap();
    let ct = Encryptor::with_public_key(ctx.clone(), pk2)
        .unwrap()
        .encrypt(&pt);
    let ct2 = Ciphertext::from_bytes(&ctx, &ct.to_bytes(&ctx)).unwrap();
    assert_eq!(ct, ct2);
    let pt2 = Plaintext::from_bytes(&ctx, &pt.to_bytes(&ctx)).unwrap();
    assert_eq!(pt, pt2);
    let eval = Evaluator::new(ctx.clone(), Arc::new(evk2)).unwrap();
    let rot = eval.rotate(&ct2, -2).unwrap();
    let got = enc.decode_complex(&Decryptor::new(ctx.clone(), &sk2).unwrap().decrypt(&rot));
    let n = z.len() as i64;
    let want: Vec<_> = (0..n).map(|i| z[(i - 2).rem_euclid(n) as usize]).collect();
    assert!(precision_bits(&want, &got) >= 20.0);
    // Parameters.
    serialization::save_params(ctx.params(), &dir.join("params.bin")).unwrap();
    assert_eq!(
        &serialization::load_params(&dir.join("params.bin")).unwrap(),
        ctx.params()
    );
}

#[test]
fn secret_key_is_refused_as_evaluation_material() {
    let (ctx, _, sk) = setup();
    let bytes = sk.to_bytes(&ctx);
    assert!(matches!(
        EvaluationKeys::from_bytes(&ctx, &bytes),
        Err(FormatError::SecretKeyRefused)
    ));
    assert!(matches!(
        Ciphertext::from_bytes(&ctx, &bytes),
        Err(FormatError::SecretKeyRefused)
    ));
    // Even with its kind byte forged, the secret flag gives it away.
    let mut forged = bytes.clone();
    forged[10] = 4;
    assert!(matches!(
        EvaluationKeys::from_bytes(&ctx, &forged),
        Err(FormatError::SecretKeyRefused)
    ));
    let dir = tempfile_dir();
    std::fs::write(dir.join("sk.bin"), &bytes).unwrap();
    let err = serialization::load_evaluation_keys(&ctx, &dir.join("sk.bin")).unwrap_err();
    assert!(
        err.to_string().contains("sk.bin") && err.to_string().contains("secret key"),
        "{err}"
    );
}

#[test]
fn every_corruption_is_a_named_error() {
    let (ctx, mut kg, sk) = setup();
    let pk = kg.gen_public_key(&sk);
    let enc = Encoder::new(ctx.clone());
    let pt = enc.encode(&[1.0, 2.0], 2, 1e12).unwrap();
    let ct = Encryptor::with_public_key(ctx.clone(), pk)
        .unwrap()
        .encrypt(&pt);
    let good = ct.to_bytes(&ctx);
    // Truncation at every region of the file.
    for cut in [0, 5, 11, 30, 50, 60, good.len() / 2, good.len() - 1] {
        let err = Ciphertext::from_bytes(&ctx, &good[..cut]).unwrap_err();
        assert!(
            matches!(err, FormatError::BadMagic | FormatError::Truncated { .. }),
            "cut {cut}: {err}"
        );
    }
    // Bad magic, unsupported version, unknown kind, wrong kind.
    let mut b = good.clone();
    b[0] = b'X';
    assert!(matches!(
        Ciphertext::from_bytes(&ctx, &b),
        Err(FormatError::BadMagic)
    ));
    let mut b = good.clone();
    b[8] = 9;
    assert!(matches!(
        Ciphertext::from_bytes(&ctx, &b),
        Err(FormatError::UnsupportedVersion { found: 9, .. })
    ));
    let mut b = good.clone();
    b[10] = 77;
    assert!(matches!(
        Ciphertext::from_bytes(&ctx, &b),
        Err(FormatError::UnknownKind(77))
    ));
    assert!(matches!(
        Plaintext::from_bytes(&ctx, &good),
        Err(FormatError::WrongKind { .. })
    ));
    // A flipped payload bit fails the checksum.
    let mut b = good.clone();
    let mid = good.len() / 2;
    b[mid] ^= 0x10;
    assert!(matches!(
        Ciphertext::from_bytes(&ctx, &b),
        Err(FormatError::ChecksumMismatch)
    ));
    // Wrong parameter set.
    let other = Context::new(Params::new(presets::n14()).unwrap());
    assert!(matches!(
        Ciphertext::from_bytes(&other, &good),
        Err(FormatError::ParameterMismatch { .. })
    ));
    // Trailing bytes.
    let mut b = good.clone();
    b.push(0);
    assert!(Ciphertext::from_bytes(&ctx, &b).is_err());
    // A semantically invalid payload under a valid checksum is still rejected: level too high.
    let forged = reseal(&good, |payload| {
        payload[0..4].copy_from_slice(&999u32.to_le_bytes())
    });
    let err = Ciphertext::from_bytes(&ctx, &forged).unwrap_err();
    assert!(
        matches!(err, FormatError::Malformed { field: "level", .. }),
        "{err}"
    );
    // Unreduced residue.
    let forged = reseal(&good, |payload| {
        let off = payload.len() - 8;
        payload[off..].copy_from_slice(&u64::MAX.to_le_bytes());
    });
    let err = Ciphertext::from_bytes(&ctx, &forged).unwrap_err();
    assert!(
        matches!(
            err,
            FormatError::Malformed {
                field: "ciphertext polynomial",
                ..
            }
        ),
        "{err}"
    );
}

/// Rewrites the payload of a sealed file and recomputes its checksum (a forger who knows the format).
fn reseal(file: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut payload = file[52..file.len() - 32].to_vec();
    edit(&mut payload);
    let mut out = file[..44].to_vec();
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "blindtune-ser-{}-{}",
        std::process::id(),
        blindtune_runtime::ckks::testing::random_index(1 << 30)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn bundle_and_grid_kinds_refuse_secrets_and_forgeries() {
    use blindtune_runtime::ckks::bundle::{load_evaluation_bundle, EvaluationBundle};
    use blindtune_runtime::ckks::serialization::CiphertextGrid;
    let (ctx, mut kg, sk) = setup();
    let pk = kg.gen_public_key(&sk);
    let evk = kg.gen_evaluation_keys(&sk, &kg.manifest_for_rotations(&[1], false));
    let bundle = EvaluationBundle::new(pk.clone(), evk);
    let back = EvaluationBundle::from_bytes(&ctx, &bundle.to_bytes(&ctx)).unwrap();
    assert_eq!(back, bundle);
    // A secret key is refused as a bundle, even with its kind byte forged to the bundle's.
    let sk_bytes = sk.to_bytes(&ctx);
    let mut forged = sk_bytes.clone();
    forged[10] = 8;
    for b in [&sk_bytes, &forged] {
        assert!(matches!(
            EvaluationBundle::from_bytes(&ctx, b),
            Err(FormatError::SecretKeyRefused)
        ));
    }
    let dir = tempfile_dir();
    std::fs::write(dir.join("secret.key"), &sk_bytes).unwrap();
    let err = load_evaluation_bundle(&ctx, &dir.join("secret.key")).unwrap_err();
    assert!(err.to_string().contains("secret.key"), "{err}");
    // Evaluation keys alone are not a bundle.
    assert!(matches!(
        EvaluationBundle::from_bytes(&ctx, &bundle.evaluation.to_bytes(&ctx)),
        Err(FormatError::WrongKind { .. })
    ));

    // Grids: a round trip, then forged headers under valid checksums.
    let enc = Encoder::new(ctx.clone());
    let mut encryptor = Encryptor::with_public_key(ctx.clone(), pk).unwrap();
    let a = encryptor.encrypt(&enc.encode(&[1.0; 8], 3, 1e12).unwrap());
    let low = encryptor.encrypt(&enc.encode(&[1.0; 8], 2, 1e12).unwrap());
    let grid = CiphertextGrid(vec![vec![a.clone(), a.clone()]]);
    let good = grid.to_bytes(&ctx);
    assert_eq!(CiphertextGrid::from_bytes(&ctx, &good).unwrap(), grid);
    let zero = reseal(&good, |p| p[1..5].copy_from_slice(&0u32.to_le_bytes()));
    assert!(matches!(
        CiphertextGrid::from_bytes(&ctx, &zero),
        Err(FormatError::Malformed {
            field: "grid dimensions",
            ..
        })
    ));
    // a huge block count runs out of bytes instead of allocating
    let huge = reseal(&good, |p| p[1..5].copy_from_slice(&u32::MAX.to_le_bytes()));
    assert!(matches!(
        CiphertextGrid::from_bytes(&ctx, &huge),
        Err(FormatError::Truncated { .. })
    ));
    let mixed = CiphertextGrid(vec![vec![a, low]]).to_bytes(&ctx);
    assert!(matches!(
        CiphertextGrid::from_bytes(&ctx, &mixed),
        Err(FormatError::Malformed {
            field: "grid block",
            ..
        })
    ));
}
