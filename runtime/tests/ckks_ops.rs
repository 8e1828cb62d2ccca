//! Every CKKS operation against an f64 reference on fresh random inputs.
//!
//! Precision floors are stated per operation in bits (`-log2` of the largest slot error);
//! inputs are uniform complex values in [-1, 1] at scale 2^40 on the fast insecure test set
//! (N = 2^12). Measured there: public-key encryption ≈ 24 bits, secret-key ≈ 31 bits,
//! mult+relin+rescale ≈ 25 bits, rotations ≈ 23–25 bits; floors sit 1.5–2 bits below.

use std::sync::Arc;

use blindtune_runtime::ckks::testing::{precision_bits, random_complex, random_index};
use blindtune_runtime::ckks::*;
use num_complex::Complex64;

struct Fixture {
    ctx: Arc<Context>,
    enc: Encoder,
    encryptor: Encryptor,
    sk_encryptor: Encryptor,
    dec: Decryptor,
    eval: Evaluator,
    keygen: KeyGenerator,
    sk: SecretKey,
}

const ROTATIONS: [i64; 6] = [1, 2, 3, -1, 7, 100];

fn fixture() -> Fixture {
    let params = Params::new_insecure_for_tests(presets::test_insecure()).unwrap();
    let ctx = Context::new(params);
    let mut keygen = KeyGenerator::new(ctx.clone());
    let sk = keygen.gen_secret_key();
    let pk = keygen.gen_public_key(&sk);
    let manifest = keygen.manifest_for_rotations(&ROTATIONS, true);
    let evk = keygen.gen_evaluation_keys(&sk, &manifest);
    Fixture {
        enc: Encoder::new(ctx.clone()),
        encryptor: Encryptor::with_public_key(ctx.clone(), pk).unwrap(),
        sk_encryptor: Encryptor::with_secret_key(ctx.clone(), &sk).unwrap(),
        dec: Decryptor::new(ctx.clone(), &sk).unwrap(),
        eval: Evaluator::new(ctx.clone(), Arc::new(evk)).unwrap(),
        ctx,
        keygen,
        sk,
    }
}

impl Fixture {
    fn scale(&self) -> f64 {
        self.ctx.params().default_scale()
    }
    fn encrypt(&mut self, z: &[Complex64], level: usize) -> Ciphertext {
        let pt = self.enc.encode_complex(z, level, self.scale()).unwrap();
        self.encryptor.encrypt(&pt)
    }
    fn decrypt(&self, ct: &Ciphertext) -> Vec<Complex64> {
        self.enc.decode_complex(&self.dec.decrypt(ct))
    }
}

fn check(bits: f64, floor: f64, what: &str, line: u32) {
    eprintln!("MEASURED {what}{line}: {bits:.1}");
    assert!(
        bits >= floor,
        "{what}{line}: {bits:.1} bits < floor {floor}"
    );
}

fn slots(f: &Fixture) -> usize {
    f.ctx.n() / 2
}

#[test]
fn encrypt_decrypt_public_and_secret_key() {
    let mut f = fixture();
    let z = random_complex(slots(&f), 1.0);
    for level in [0, f.ctx.max_level()] {
        let ct = f.encrypt(&z, level);
        check(precision_bits(&z, &f.decrypt(&ct)), 22.0, "line ", line!());
        let pt = f.enc.encode_complex(&z, level, f.scale()).unwrap();
        let ct = f.sk_encryptor.encrypt(&pt);
        check(precision_bits(&z, &f.decrypt(&ct)), 29.0, "line ", line!());
    }
}

#[test]
fn add_sub_neg_and_constants() {
    let mut f = fixture();
    let n = slots(&f);
    let (x, y) = (random_complex(n, 1.0), random_complex(n, 1.0));
    let l = f.ctx.max_level();
    let (cx, cy) = (f.encrypt(&x, l), f.encrypt(&y, l - 2));
    let want: Vec<_> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
    check(
        precision_bits(&want, &f.decrypt(&f.eval.add(&cx, &cy).unwrap())),
        21.5,
        "line ",
        line!(),
    );
    let want: Vec<_> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
    check(
        precision_bits(&want, &f.decrypt(&f.eval.sub(&cx, &cy).unwrap())),
        21.5,
        "line ",
        line!(),
    );
    let want: Vec<_> = x.iter().map(|a| -a).collect();
    check(
        precision_bits(&want, &f.decrypt(&f.eval.neg(&cx))),
        22.0,
        "line ",
        line!(),
    );
    let pt = f.enc.encode_complex(&y, l, f.scale()).unwrap();
    let want: Vec<_> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
    check(
        precision_bits(&want, &f.decrypt(&f.eval.add_plain(&cx, &pt).unwrap())),
        22.0,
        "line ",
        line!(),
    );
    let want: Vec<_> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
    check(
        precision_bits(&want, &f.decrypt(&f.eval.sub_plain(&cx, &pt).unwrap())),
        22.0,
        "line ",
        line!(),
    );
    let c = 0.734;
    let want: Vec<_> = x.iter().map(|a| a + c).collect();
    check(
        precision_bits(&want, &f.decrypt(&f.eval.add_const(&cx, c).unwrap())),
        22.0,
        "line ",
        line!(),
    );
    let want: Vec<_> = x.iter().map(|a| a * 3.0).collect();
    check(
        precision_bits(&want, &f.decrypt(&f.eval.mul_integer(&cx, 3))),
        20.5,
        "line ",
        line!(),
    );
}

#[test]
fn multiplications_then_rescale_keep_20_bits() {
    let mut f = fixture();
    let n = slots(&f);
    let (x, y) = (random_complex(n, 1.0), random_complex(n, 1.0));
    let l = f.ctx.max_level();
    let (cx, cy) = (f.encrypt(&x, l), f.encrypt(&y, l));
    // ct-ct with relinearization
    let prod: Vec<_> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let ct = f
        .eval
        .rescale(&f.eval.mul_relin(&cx, &cy).unwrap())
        .unwrap();
    assert_eq!(ct.level(), l - 1);
    let bits = precision_bits(&prod, &f.decrypt(&ct));
    assert!(bits >= 20.0, "mul+relin+rescale: {bits:.1} bits");
    // degree-2 ciphertext decrypts too
    let bits = precision_bits(&prod, &f.decrypt(&f.eval.mul(&cx, &cy).unwrap()));
    assert!(bits >= 20.0, "tensor: {bits:.1} bits");
    // ct-pt
    let pt = f.enc.encode_complex(&y, l, f.scale()).unwrap();
    let ct = f
        .eval
        .rescale(&f.eval.mul_plain(&cx, &pt).unwrap())
        .unwrap();
    let bits = precision_bits(&prod, &f.decrypt(&ct));
    assert!(bits >= 20.0, "mul_plain: {bits:.1} bits");
    // ct-const keeps the exact scale
    let c = -0.3771;
    let ct = f.eval.rescale(&f.eval.mul_const(&cx, c).unwrap()).unwrap();
    assert!((ct.scale() / f.scale() - 1.0).abs() < 1e-12);
    let want: Vec<_> = x.iter().map(|a| a * c).collect();
    check(
        precision_bits(&want, &f.decrypt(&ct)),
        22.0,
        "line ",
        line!(),
    );
    let cc = Complex64::new(0.25, -0.5);
    let ct = f
        .eval
        .rescale(&f.eval.mul_complex_const(&cx, cc).unwrap())
        .unwrap();
    let want: Vec<_> = x.iter().map(|a| a * cc).collect();
    check(
        precision_bits(&want, &f.decrypt(&ct)),
        22.0,
        "line ",
        line!(),
    );
}

#[test]
fn depth_chain_to_level_zero() {
    // x^(2^k) by repeated squaring through every level, against f64.
    let mut f = fixture();
    let n = slots(&f);
    let x: Vec<Complex64> = random_complex(n, 1.0)
        .into_iter()
        .map(|c| Complex64::new(0.5 + 0.5 * c.re.abs(), 0.0))
        .collect();
    let mut ct = f.encrypt(&x, f.ctx.max_level());
    let mut want = x.clone();
    while ct.level() > 0 {
        ct = f
            .eval
            .rescale(&f.eval.mul_relin(&ct, &ct).unwrap())
            .unwrap();
        want.iter_mut().for_each(|w| *w = *w * *w);
        let bits = precision_bits(&want, &f.decrypt(&ct));
        assert!(bits >= 18.0, "level {}: {bits:.1} bits", ct.level());
    }
    assert!(f.eval.rescale(&ct).is_err());
}

#[test]
fn rotation_by_k_is_a_slot_shift() {
    let mut f = fixture();
    let n = slots(&f);
    let x = random_complex(n, 1.0);
    let l = f.ctx.max_level();
    let cx = f.encrypt(&x, l);
    let mut steps: Vec<i64> = ROTATIONS.to_vec();
    // A random rotation whose key is made on the spot.
    let r = random_index(n) as i64;
    let g = f.ctx.rotation_element(r);
    let mut extra = f.keygen.gen_evaluation_keys(
        &f.sk,
        &KeyManifest {
            relinearization: false,
            galois_elements: vec![g],
            max_levels: Default::default(),
        },
    );
    extra.extend(f.eval.keys().clone());
    let eval = Evaluator::new(f.ctx.clone(), Arc::new(extra)).unwrap();
    steps.push(r);
    for &k in &steps {
        let got = f.decrypt(&eval.rotate(&cx, k).unwrap());
        let want: Vec<_> = (0..n)
            .map(|i| x[(i as i64 + k).rem_euclid(n as i64) as usize])
            .collect();
        let bits = precision_bits(&want, &got);
        assert!(bits >= 22.0, "rotate {k}: {bits:.1} bits");
    }
    // Hoisted rotations agree with the reference too.
    let outs = eval.rotate_hoisted(&cx, &steps).unwrap();
    for (&k, ct) in steps.iter().zip(&outs) {
        let want: Vec<_> = (0..n)
            .map(|i| x[(i as i64 + k).rem_euclid(n as i64) as usize])
            .collect();
        let bits = precision_bits(&want, &f.decrypt(ct));
        assert!(bits >= 22.0, "hoisted rotate {k}: {bits:.1} bits");
    }
    // Conjugation.
    let got = f.decrypt(&eval.conjugate(&cx).unwrap());
    let want: Vec<_> = x.iter().map(|c| c.conj()).collect();
    check(precision_bits(&want, &got), 22.0, "line ", line!());
    // A rotation without its key is a clear error.
    let missing = f.ctx.rotation_element(5);
    assert!(
        matches!(f.eval.rotate(&cx, 5), Err(CkksError::MissingGaloisKey { element, .. }) if element == missing)
    );
}

#[test]
fn sparse_packing_rotates_within_the_slot_count() {
    let mut f = fixture();
    let x = random_complex(64, 1.0);
    let cx = f.encrypt(&x, 3);
    assert_eq!(cx.slots(), 64);
    for &k in &[1i64, 3, -1] {
        let got = f.decrypt(&f.eval.rotate(&cx, k).unwrap());
        let want: Vec<_> = (0..64)
            .map(|i| x[(i as i64 + k).rem_euclid(64) as usize])
            .collect();
        assert!(precision_bits(&want, &got) >= 22.0, "sparse rotate {k}");
    }
}

#[test]
fn mismatched_operands_are_errors() {
    let mut f = fixture();
    let x = random_complex(slots(&f), 1.0);
    let l = f.ctx.max_level();
    let a = f.encrypt(&x, l);
    let b = f.eval.mul_const(&a, 2.0).unwrap();
    assert!(matches!(
        f.eval.add(&a, &b),
        Err(CkksError::ScaleMismatch { .. })
    ));
    let small = f.encrypt(&x[..8], l);
    assert!(matches!(
        f.eval.add(&a, &small),
        Err(CkksError::SlotMismatch { .. })
    ));
    let d2 = f.eval.mul(&a, &a).unwrap();
    assert!(matches!(
        f.eval.mul(&d2, &a),
        Err(CkksError::NeedsRelinearization { degree: 2 })
    ));
    let other = Context::new(Params::new(presets::n14()).unwrap());
    let mut kg = KeyGenerator::new(other.clone());
    let sk2 = kg.gen_secret_key();
    assert!(matches!(
        Decryptor::new(f.ctx.clone(), &sk2),
        Err(CkksError::ParameterMismatch)
    ));
    assert!(matches!(
        f.eval.drop_to_level(&a, l + 1),
        Err(CkksError::InvalidLevelDrop { .. })
    ));
}
