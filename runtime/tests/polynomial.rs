//! Polynomial evaluation (`circuits::polynomial`) against f64 references.
//!
//! Plaintext: Chebyshev interpolation error against the true function, Clenshaw against the
//! direct sum `Σ c_k cos(k·acos u)`. Encrypted: baby-step giant-step evaluation against the
//! plaintext series on fresh random inputs, checking the precision floor (bits, `-log2` of
//! the largest slot error), that the output level is the input level minus the reported
//! depth, and that the output scale is exactly the requested one — on a 12-level set of
//! 40-bit primes and on a set of mixed 50/60-bit primes (scales then never equal primes).
//!
//! Precision is measured against the series evaluated at the *decrypted input* (the error
//! the evaluation adds; the input's own encryption noise, amplified by |p'|, is printed as
//! "vs exact input"). Measured on N = 2^12, scale 2^40, 3 runs (min): Chebyshev random
//! series deg 7: 26.3, deg 15: 23.0, deg 30: 22.7, deg 63 on [-8,8]: 20.5, deg 119: 20.6,
//! deg 255: 16.4; sigmoid deg 63: 25.7; power series deg 1..63: 27.7 → 24.7; mixed primes
//! (2^45 scale) deg 7/31/100: 28.9/27.2/23.9; 60-bit primes, 2^58 scale, EvalMod-like cos
//! deg 63: 41.6. Floors sit ~2 bits below.

use blindtune_runtime::backend::CpuBackend;
use std::sync::Arc;

use blindtune_runtime::circuits::polynomial::{ChebyshevSeries, PolynomialEvaluator, PowerSeries};
use blindtune_runtime::ckks::testing::{precision_bits, random_complex, random_real};
use blindtune_runtime::ckks::*;
use num_complex::Complex64;

struct Fixture {
    ctx: Arc<Context>,
    enc: Encoder,
    encryptor: Encryptor,
    dec: Decryptor,
    eval: CpuBackend,
}

fn literal(name: &str, log_q: Vec<u32>, log_scale: u32, dnum: usize) -> ParamsLiteral {
    ParamsLiteral {
        name: name.into(),
        log_n: 12,
        log_q,
        log_p: vec![61, 61, 61],
        log_scale,
        dnum,
        secret: SecretDistribution::UniformTernary,
        sigma: 3.2,
    }
}

/// 12 levels of 40-bit primes over a 60-bit q0 (insecure, N = 2^12).
fn deep_40() -> ParamsLiteral {
    let mut log_q = vec![60];
    log_q.extend(std::iter::repeat_n(40, 12));
    literal("poly-deep-40", log_q, 40, 4)
}

/// Mixed 50- and 60-bit primes with a 2^45 scale: no scale is ever close to a prime.
fn mixed() -> ParamsLiteral {
    literal(
        "poly-mixed",
        vec![60, 50, 60, 50, 50, 60, 50, 60, 50, 60],
        45,
        5,
    )
}

fn fixture(lit: ParamsLiteral) -> Fixture {
    let ctx = Context::new(Params::new_insecure_for_tests(lit).unwrap());
    let mut keygen = KeyGenerator::new(ctx.clone());
    let sk = keygen.gen_secret_key();
    let pk = keygen.gen_public_key(&sk);
    let evk = keygen.gen_evaluation_keys(&sk, &keygen.manifest_for_rotations(&[], false));
    Fixture {
        enc: Encoder::new(ctx.clone()),
        encryptor: Encryptor::with_public_key(ctx.clone(), pk).unwrap(),
        dec: Decryptor::new(ctx.clone(), &sk).unwrap(),
        eval: CpuBackend::new(ctx.clone(), Arc::new(evk)).unwrap(),
        ctx,
    }
}

impl Fixture {
    fn slots(&self) -> usize {
        self.ctx.n() / 2
    }
    fn encrypt(&mut self, z: &[Complex64], level: usize) -> Ciphertext {
        let scale = self.ctx.params().default_scale();
        let pt = self.enc.encode_complex(z, level, scale).unwrap();
        self.encryptor.encrypt(&pt)
    }
    fn decrypt(&self, ct: &Ciphertext) -> Vec<Complex64> {
        self.enc.decode_complex(&self.dec.decrypt(ct))
    }
}

fn check(bits: f64, floor: f64, what: &str) {
    eprintln!("MEASURED {what}: {bits:.1} bits");
    let floor = if std::env::var_os("POLY_MEASURE").is_some() {
        0.0
    } else {
        floor
    };
    assert!(bits >= floor, "{what}: {bits:.1} bits < floor {floor}");
}

/// Output level and exact scale.
fn check_shape(out: &Ciphertext, input_level: usize, depth: usize, target: f64, what: &str) {
    assert_eq!(out.level(), input_level - depth, "{what}: level");
    assert!(
        (out.scale() / target - 1.0).abs() < 1e-9,
        "{what}: scale {} != target {target}",
        out.scale()
    );
    assert_eq!(out.scale(), target, "{what}: scale not exact");
}

fn real(x: &[f64]) -> Vec<Complex64> {
    x.iter().map(|&v| Complex64::new(v, 0.0)).collect()
}

/// Deterministic pseudo-random coefficients with slow decay (no coefficient negligible).
fn test_coeffs(degree: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..=degree)
        .map(|k| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            let v = u / (1.0 + k as f64).sqrt();
            // keep the leading coefficient away from zero so the degree is the nominal one
            if k == degree {
                v.signum() * v.abs().max(0.05)
            } else {
                v
            }
        })
        .collect()
}

// ------------------------------------------------------------------ plaintext

#[test]
fn interpolation_errors_within_bounds() {
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    // (what, f, a, b, degree, bound on the sup-norm error)
    type Case = (&'static str, Box<dyn Fn(f64) -> f64>, f64, f64, usize, f64);
    let cases: [Case; 5] = [
        (
            "exp [-4,4] deg 31",
            Box::new(f64::exp),
            -4.0,
            4.0,
            31,
            1e-12,
        ),
        ("sin [-π,π] deg 15", Box::new(f64::sin), -3.2, 3.2, 15, 1e-6),
        ("cos [-π,π] deg 16", Box::new(f64::cos), -3.2, 3.2, 16, 1e-7),
        (
            "sigmoid [-8,8] deg 63",
            Box::new(sigmoid),
            -8.0,
            8.0,
            63,
            1e-9,
        ),
        (
            "sigmoid [-8,8] deg 15",
            Box::new(sigmoid),
            -8.0,
            8.0,
            15,
            3e-3,
        ),
    ];
    for (what, f, a, b, degree, bound) in cases {
        let s = ChebyshevSeries::interpolate(&f, a, b, degree);
        assert_eq!(s.degree(), degree);
        let err = s.max_error(&f, 2001);
        eprintln!("MEASURED {what}: max error {err:.2e} (bound {bound:.0e})");
        assert!(err < bound, "{what}: {err:.2e} >= {bound:.0e}");
        // Interpolant: exact at the nodes.
        for j in 0..=degree {
            let u = (std::f64::consts::PI * (j as f64 + 0.5) / (degree + 1) as f64).cos();
            let x = (a + b) / 2.0 + (b - a) / 2.0 * u;
            assert!(
                (s.eval(x) - f(x)).abs() < 1e-12 * (1.0 + f(x).abs()),
                "{what}"
            );
        }
    }
    // A lower degree must be measurably worse (the test can fail).
    let s = ChebyshevSeries::interpolate(f64::exp, -4.0, 4.0, 11);
    assert!(s.max_error(f64::exp, 2001) > 1e-6);
}

#[test]
fn parity_is_exact_for_odd_and_even_functions() {
    let s = ChebyshevSeries::interpolate(f64::sin, -1.0, 1.0, 31);
    assert!(s.coeffs.iter().step_by(2).all(|&c| c == 0.0));
    let s = ChebyshevSeries::interpolate(f64::cos, -2.0, 2.0, 30);
    assert!(s.coeffs.iter().skip(1).step_by(2).all(|&c| c == 0.0));
}

#[test]
fn clenshaw_matches_direct_sum() {
    for degree in [0, 1, 2, 7, 64, 255] {
        let s = ChebyshevSeries::new(test_coeffs(degree, degree as u64 + 1), -3.0, 5.0);
        for j in 0..=100 {
            let x = -3.0 + 8.0 * j as f64 / 100.0;
            let u = ((2.0 * x - 2.0) / 8.0).clamp(-1.0, 1.0);
            let direct: f64 = s
                .coeffs
                .iter()
                .enumerate()
                .map(|(k, c)| c * (k as f64 * u.acos()).cos())
                .sum();
            assert!(
                (s.eval(x) - direct).abs() < 1e-11,
                "degree {degree} x {x}: {} vs {direct}",
                s.eval(x)
            );
            let z = s.eval_complex(Complex64::new(x, 0.0));
            assert!((z.re - direct).abs() < 1e-11 && z.im == 0.0);
        }
    }
    let p = PowerSeries::new(vec![1.0, -2.0, 0.5, 3.0]);
    assert_eq!(p.eval(2.0), 1.0 - 4.0 + 2.0 + 24.0);
}

#[test]
fn reported_depths() {
    let cheb = |d: usize, a: f64, b: f64| {
        PolynomialEvaluator::depth_chebyshev(&ChebyshevSeries::new(test_coeffs(d, 7), a, b))
    };
    assert_eq!(cheb(0, -1.0, 1.0), 0);
    assert_eq!(cheb(1, -1.0, 1.0), 1);
    assert_eq!(cheb(7, -1.0, 1.0), 3);
    assert_eq!(cheb(8, -1.0, 1.0), 4);
    assert_eq!(cheb(63, -1.0, 1.0), 6);
    assert_eq!(cheb(63, -8.0, 8.0), 7);
    assert_eq!(cheb(255, -1.0, 1.0), 8);
    let pow = |d| PolynomialEvaluator::depth_power(&PowerSeries::new(test_coeffs(d, 3)));
    assert_eq!(pow(1), 1);
    assert_eq!(pow(15), 4);
    assert_eq!(pow(16), 5);
    // Negligible trailing coefficients do not count.
    let mut c = test_coeffs(7, 1);
    c.extend([1e-30; 8]);
    assert_eq!(
        PolynomialEvaluator::depth_power(&PowerSeries::new(c.clone())),
        3
    );
}

// ------------------------------------------------------------------ encrypted

/// Evaluates `series` on random inputs in [a, b] (real, or complex with small imaginary
/// parts) and checks level, scale and precision.
fn check_chebyshev(
    f: &mut Fixture,
    series: &ChebyshevSeries,
    target: f64,
    complex: bool,
    floor: f64,
    what: &str,
) {
    let n = f.slots();
    let (mid, half) = ((series.a + series.b) / 2.0, (series.b - series.a) / 2.0);
    let x: Vec<Complex64> = if complex {
        random_complex(n, 1.0)
            .into_iter()
            .map(|z| Complex64::new(mid + half * z.re, 0.1 * half * z.im))
            .collect()
    } else {
        real(
            &random_real(n, 1.0)
                .into_iter()
                .map(|u| mid + half * u)
                .collect::<Vec<_>>(),
        )
    };
    let level = f.ctx.max_level();
    let ct = f.encrypt(&x, level);
    let pe = PolynomialEvaluator::new(&f.eval);
    let depth = PolynomialEvaluator::depth_chebyshev(series);
    let start = std::time::Instant::now();
    let out = pe.evaluate_chebyshev(&ct, series, target).unwrap();
    eprintln!(
        "MEASURED {what}: depth {depth}, {:.0} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    check_shape(&out, level, depth, target, what);
    let got = f.decrypt(&out);
    // Against the series at the exact inputs (includes the encryption noise of the input
    // amplified by |p'|, large for high degrees)...
    let exact: Vec<Complex64> = x.iter().map(|&z| series.eval_complex(z)).collect();
    eprintln!(
        "MEASURED {what} (vs exact input): {:.1} bits",
        precision_bits(&exact, &got)
    );
    // ...and, with the floor, against the series at the decrypted input: the error the
    // evaluation itself adds.
    let noisy_input = f.decrypt(&ct);
    let want: Vec<Complex64> = noisy_input
        .iter()
        .take(n)
        .map(|&z| series.eval_complex(z))
        .collect();
    check(precision_bits(&want, &got), floor, what);
}

#[test]
fn chebyshev_random_series_several_degrees() {
    let mut f = fixture(deep_40());
    let scale = f.ctx.params().default_scale();
    // (degree, interval, floor in bits); the measured values are in the MEASURED lines.
    for (degree, a, b, floor) in [
        (7, -1.0, 1.0, 24.0),
        (15, -2.0, 3.0, 21.0),
        (30, -1.0, 1.0, 20.5),
        (63, -8.0, 8.0, 18.5),
        (119, -1.0, 1.0, 18.5),
        (255, -1.0, 1.0, 14.5),
    ] {
        let series = ChebyshevSeries::new(test_coeffs(degree, degree as u64), a, b);
        let what = format!("chebyshev deg {degree} on [{a},{b}]");
        check_chebyshev(&mut f, &series, scale, false, floor, &what);
    }
}

#[test]
fn chebyshev_functions_complex_slots_and_odd_series() {
    let mut f = fixture(deep_40());
    let scale = f.ctx.params().default_scale();
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    // sigmoid = 1/2 + odd: the even baby steps are skipped.
    let s = ChebyshevSeries::interpolate(sigmoid, -8.0, 8.0, 63);
    check_chebyshev(&mut f, &s, scale, false, 23.5, "sigmoid [-8,8] deg 63");
    // Against the true function: interpolation error (~1e-10) is below the CKKS noise.
    let s = ChebyshevSeries::interpolate(f64::exp, -4.0, 4.0, 31);
    check_chebyshev(&mut f, &s, scale, false, 19.0, "exp [-4,4] deg 31");
    let s = ChebyshevSeries::interpolate(f64::sin, -3.2, 3.2, 31);
    check_chebyshev(
        &mut f,
        &s,
        2f64.powi(33),
        true,
        17.5,
        "sin deg 31, complex slots",
    );
    // A target scale unrelated to the primes and the input scale.
    let s = ChebyshevSeries::new(test_coeffs(40, 5), -1.0, 1.0);
    check_chebyshev(
        &mut f,
        &s,
        1.2345e11,
        false,
        20.5,
        "deg 40, target 1.2345e11",
    );
}

#[test]
fn chebyshev_true_function_error() {
    let mut f = fixture(deep_40());
    let scale = f.ctx.params().default_scale();
    let s = ChebyshevSeries::interpolate(f64::cos, -3.0, 3.0, 24);
    let n = f.slots();
    let x = random_real(n, 3.0);
    let level = f.ctx.max_level();
    let ct = f.encrypt(&real(&x), level);
    let out = PolynomialEvaluator::new(&f.eval)
        .evaluate_chebyshev(&ct, &s, scale)
        .unwrap();
    let want = real(&x.iter().map(|v| v.cos()).collect::<Vec<_>>());
    check(
        precision_bits(&want, &f.decrypt(&out)),
        22.0,
        "cos(x) vs true cos",
    );
}

#[test]
fn power_series_several_degrees() {
    let mut f = fixture(deep_40());
    let scale = f.ctx.params().default_scale();
    for (degree, floor) in [
        (1, 25.5),
        (3, 25.0),
        (7, 24.5),
        (16, 24.0),
        (31, 23.5),
        (63, 22.5),
    ] {
        let p = PowerSeries::new(test_coeffs(degree, 100 + degree as u64));
        let n = f.slots();
        let x = random_complex(n, 1.0)
            .into_iter()
            .map(|z| Complex64::new(z.re, 0.05 * z.im))
            .collect::<Vec<_>>();
        let level = f.ctx.max_level();
        let ct = f.encrypt(&x, level);
        let depth = PolynomialEvaluator::depth_power(&p);
        let out = PolynomialEvaluator::new(&f.eval)
            .evaluate_power(&ct, &p, scale)
            .unwrap();
        let what = format!("power deg {degree}");
        check_shape(&out, level, depth, scale, &what);
        let input = f.decrypt(&ct);
        let want: Vec<_> = input.iter().map(|&z| p.eval_complex(z)).collect();
        check(precision_bits(&want, &f.decrypt(&out)), floor, &what);
    }
}

#[test]
fn mixed_prime_sizes_keep_exact_scales() {
    let mut f = fixture(mixed());
    let scale = f.ctx.params().default_scale();
    for (degree, floor) in [(7, 27.0), (31, 25.0), (100, 21.5)] {
        let series = ChebyshevSeries::new(test_coeffs(degree, 11 * degree as u64), -2.0, 2.0);
        let what = format!("mixed primes chebyshev deg {degree}");
        check_chebyshev(&mut f, &series, scale, false, floor, &what);
    }
    // Output scale chosen as a 60-bit prime-sized value, as bootstrapping does.
    let series = ChebyshevSeries::new(test_coeffs(20, 3), -1.0, 1.0);
    check_chebyshev(
        &mut f,
        &series,
        2f64.powi(52),
        false,
        26.0,
        "mixed primes, target 2^52",
    );
    let p = PowerSeries::new(test_coeffs(15, 9));
    let n = f.slots();
    let x = real(&random_real(n, 1.0));
    let level = f.ctx.max_level();
    let ct = f.encrypt(&x, level);
    let out = PolynomialEvaluator::new(&f.eval)
        .evaluate_power(&ct, &p, scale)
        .unwrap();
    check_shape(&out, level, 4, scale, "mixed primes power deg 15");
    let want: Vec<_> = f.decrypt(&ct).iter().map(|&z| p.eval_complex(z)).collect();
    check(
        precision_bits(&want, &f.decrypt(&out)),
        26.0,
        "mixed primes power deg 15",
    );
}

#[test]
fn edge_cases_and_errors() {
    let mut f = fixture(presets::test_insecure());
    let scale = f.ctx.params().default_scale();
    let n = f.slots();
    let x = real(&random_real(n, 1.0));
    let level = f.ctx.max_level();
    let ct = f.encrypt(&x, level);
    let pe = PolynomialEvaluator::new(&f.eval);
    // Constant series: no level used, exact scale.
    let c = ChebyshevSeries::new(vec![0.75, 0.0, 1e-30], -5.0, 5.0);
    assert_eq!(PolynomialEvaluator::depth_chebyshev(&c), 0);
    let out = pe.evaluate_chebyshev(&ct, &c, 2.0 * scale).unwrap();
    check_shape(&out, level, 0, 2.0 * scale, "constant");
    let want = vec![Complex64::new(0.75, 0.0); n];
    check(precision_bits(&want, &f.decrypt(&out)), 30.0, "constant");
    // Degree 1 on [-1, 1]: one level.
    let lin = ChebyshevSeries::new(vec![0.5, -0.25], -1.0, 1.0);
    let out = pe.evaluate_chebyshev(&ct, &lin, scale).unwrap();
    check_shape(&out, level, 1, scale, "linear");
    // Too deep for the 5 levels: an error, not a panic.
    let deep = ChebyshevSeries::new(test_coeffs(63, 1), -2.0, 2.0);
    assert_eq!(PolynomialEvaluator::depth_chebyshev(&deep), 7);
    assert_eq!(
        pe.evaluate_chebyshev(&ct, &deep, scale).unwrap_err(),
        CkksError::NoLevelLeft
    );
    // Fits exactly: 31 → depth 5 on [-1, 1], ending at level 0.
    let fits = ChebyshevSeries::new(test_coeffs(31, 2), -1.0, 1.0);
    let out = pe.evaluate_chebyshev(&ct, &fits, scale).unwrap();
    check_shape(&out, level, 5, scale, "depth 5 of 5");
    let want: Vec<_> = x.iter().map(|&z| fits.eval_complex(z)).collect();
    check(
        precision_bits(&want, &f.decrypt(&out)),
        16.0,
        "depth 5 of 5",
    );
    // Bad inputs.
    assert!(matches!(
        pe.evaluate_chebyshev(&ct, &lin, 0.5),
        Err(CkksError::InvalidScale { .. })
    ));
    let nan = PowerSeries::new(vec![1.0, f64::NAN]);
    assert!(pe.evaluate_power(&ct, &nan, scale).is_err());
}

/// EvalMod-like use: 60-bit primes, input scale 2^58 (scales near but not equal to primes,
/// constants above 2^63 once scaled), target = input scale as bootstrapping asks. Precision
/// must rise well above what a 2^40 scale allows: nothing in the evaluator caps it.
#[test]
fn large_primes_eval_mod_like() {
    let lit = literal("poly-60", vec![61, 60, 60, 60, 60, 60, 60, 60, 60], 58, 3);
    let mut f = fixture(lit);
    let (k, r) = (12.0, 3);
    let g = move |u: f64| (2.0 * std::f64::consts::PI * (k * u - 0.25) / 2f64.powi(r)).cos();
    let series = ChebyshevSeries::interpolate(g, -1.0, 1.0, 63);
    let scale = f.ctx.params().default_scale();
    assert_eq!(PolynomialEvaluator::depth_chebyshev(&series), 6);
    check_chebyshev(
        &mut f,
        &series,
        scale,
        false,
        36.0,
        "60-bit primes, eval-mod cos deg 63",
    );
}

#[test]
fn complex_series_gives_the_unit_circle_in_one_evaluation() {
    // e^{i·a·u} = cos(a·u) + i·sin(a·u) as one series with complex coefficients: the
    // EvalMod building block. Checked against f64 on fresh real inputs in [-1, 1], with the
    // same depth as the real series and the exact requested scale.
    let mut f = fixture(deep_40());
    let a = 5.0;
    let re = ChebyshevSeries::interpolate(move |u| (a * u).cos(), -1.0, 1.0, 31);
    let im = ChebyshevSeries::interpolate(move |u| (a * u).sin(), -1.0, 1.0, 31);
    let depth = PolynomialEvaluator::depth_chebyshev_complex(&re, &im).unwrap();
    assert_eq!(depth, 5, "degree 31 needs 5 levels");
    let x = random_real(f.slots(), 1.0);
    let level = f.ctx.max_level();
    let ct = f.encrypt(&real(&x), level);
    let held: Vec<f64> = f.decrypt(&ct).iter().map(|v| v.re).collect();
    let scale = f.ctx.params().default_scale();
    let pe = PolynomialEvaluator::new(&f.eval);
    let out = pe.evaluate_chebyshev_complex(&ct, &re, &im, scale).unwrap();
    check_shape(&out, level, depth, scale, "complex series");
    let want: Vec<Complex64> = held
        .iter()
        .map(|&u| Complex64::new(re.eval(u), im.eval(u)))
        .collect();
    check(
        precision_bits(&want, &f.decrypt(&out)),
        20.0,
        "e^{5iu} deg 31",
    );
    // Series on different intervals are refused with an error naming both.
    let other = ChebyshevSeries::interpolate(f64::sin, -2.0, 2.0, 7);
    let err = pe
        .evaluate_chebyshev_complex(&ct, &re, &other, scale)
        .unwrap_err();
    assert!(matches!(err, CkksError::IntervalMismatch { .. }), "{err}");
}
