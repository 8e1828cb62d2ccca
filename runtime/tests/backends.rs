//! The backend boundary: one table of circuits run on the CPU backend and on the noise
//! simulator (the simulator's precision must be within 2 bits of the measured one), counted
//! traces equal to the operations a real CPU run performs, and strict levels on every
//! backend. N = 2^12 (insecure test sets); inputs are fresh and replayable
//! (`BLINDTUNE_TEST_SEED`, printed on failure).

use std::sync::Arc;

use blindtune_runtime::backend::meta::MetaCt;
use blindtune_runtime::backend::{
    Backend, CiphertextMeta, CpuBackend, MetaBackend, Recorder, SimBackend, SimOptions,
};
use blindtune_runtime::circuits::bootstrapping::config::{test_boot_config, test_boot_insecure};
use blindtune_runtime::circuits::bootstrapping::{Bootstrapper, BootstrappingConfig};
use blindtune_runtime::circuits::polynomial::{ChebyshevSeries, PolynomialEvaluator};
use blindtune_runtime::ckks::encapsulation::BootstrappingKeys;
use blindtune_runtime::ckks::testing::{mean_precision_bits, next_seed, random_complex};
use blindtune_runtime::ckks::*;
use num_complex::Complex64;

/// A CPU backend with every key the table needs, its client side, and the simulator.
struct Fixture {
    ctx: Arc<Context>,
    cpu: CpuBackend,
    encoder: Encoder,
    encryptor: std::sync::Mutex<Encryptor>,
    decryptor: Decryptor,
    config: BootstrappingConfig,
}

const ROTATIONS: [i64; 3] = [1, 5, -3];

fn fixture(config: fn(usize) -> BootstrappingConfig) -> Fixture {
    let ctx = Context::new(Params::new_insecure_for_tests(test_boot_insecure()).unwrap());
    let config = config(ctx.n());
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let mut manifest = Bootstrapper::key_manifest(&ctx, &config);
    manifest.union(&kg.manifest_for_rotations(&ROTATIONS, true));
    let keys =
        BootstrappingKeys::generate(&mut kg, &sk, &manifest, config.ephemeral_hamming_weight);
    Fixture {
        cpu: CpuBackend::with_bootstrapping_keys(ctx.clone(), Arc::new(keys)).unwrap(),
        encoder: Encoder::new(ctx.clone()),
        encryptor: std::sync::Mutex::new(Encryptor::with_secret_key(ctx.clone(), &sk).unwrap()),
        decryptor: Decryptor::new(ctx.clone(), &sk).unwrap(),
        ctx,
        config,
    }
}

fn sim(f: &Fixture) -> SimBackend {
    SimBackend::new(
        f.ctx.params().clone(),
        SimOptions {
            seed: next_seed(),
            ephemeral_hamming_weight: f.config.ephemeral_hamming_weight,
            inject_noise: true,
        },
    )
}

/// One row of the table: a circuit generic over the backend, its f64 reference, the input
/// level and magnitude.
struct Case {
    name: &'static str,
    bound: f64,
    run: fn(&dyn Runner, &[Complex64]) -> Vec<Complex64>,
    reference: fn(&[Complex64]) -> Vec<Complex64>,
}

/// Runs a circuit on one backend and decrypts: the object-safe face of a backend for the
/// table (each backend's ciphertext type stays inside its runner).
trait Runner {
    fn mul_chain(&self, z: &[Complex64], level: usize) -> Vec<Complex64>;
    fn rotations(&self, z: &[Complex64], level: usize) -> Vec<Complex64>;
    fn chebyshev(&self, z: &[Complex64], level: usize) -> Vec<Complex64>;
    fn bootstrap(&self, z: &[Complex64], config: &BootstrappingConfig) -> Vec<Complex64>;
}

fn mul_chain<B: Backend>(b: &B, x: B::Ct) -> B::Ct {
    let mut x = x;
    for _ in 0..3 {
        x = b.mul_relin_rescale(&x, &x).unwrap();
    }
    x
}

fn rotations<B: Backend>(b: &B, x: B::Ct) -> B::Ct {
    let rs: Vec<B::Ct> = ROTATIONS
        .iter()
        .map(|&r| b.rotate(&x, r).unwrap())
        .collect();
    let mut acc = rs[0].clone();
    for r in &rs[1..] {
        b.add_assign(&mut acc, r).unwrap();
    }
    acc
}

fn series() -> ChebyshevSeries {
    ChebyshevSeries::interpolate(|x| (3.0 * x).sin() * 0.5 + 0.25 * x, -1.0, 1.0, 60)
}

fn chebyshev<B: Backend>(b: &B, x: B::Ct) -> B::Ct {
    let s = x.scale();
    PolynomialEvaluator::new(b)
        .evaluate_chebyshev(&x, &series(), s)
        .unwrap()
}

struct Cpu<'a>(&'a Fixture);

impl Cpu<'_> {
    fn enc(&self, z: &[Complex64], level: usize) -> Ciphertext {
        let f = self.0;
        let pt = f
            .encoder
            .encode_complex(z, level, f.ctx.params().default_scale())
            .unwrap();
        f.encryptor.lock().unwrap().encrypt(&pt)
    }
    fn dec(&self, ct: &Ciphertext) -> Vec<Complex64> {
        self.0.encoder.decode_complex(&self.0.decryptor.decrypt(ct))
    }
}

impl Runner for Cpu<'_> {
    fn mul_chain(&self, z: &[Complex64], level: usize) -> Vec<Complex64> {
        self.dec(&mul_chain(&self.0.cpu, self.enc(z, level)))
    }
    fn rotations(&self, z: &[Complex64], level: usize) -> Vec<Complex64> {
        self.dec(&rotations(&self.0.cpu, self.enc(z, level)))
    }
    fn chebyshev(&self, z: &[Complex64], level: usize) -> Vec<Complex64> {
        self.dec(&chebyshev(&self.0.cpu, self.enc(z, level)))
    }
    fn bootstrap(&self, z: &[Complex64], config: &BootstrappingConfig) -> Vec<Complex64> {
        let boot = Bootstrapper::with_backend(self.0.cpu.clone(), config.clone()).unwrap();
        let out = boot
            .bootstrap(&self.enc(z, 0), boot.max_target_level())
            .unwrap();
        self.dec(&out)
    }
}

struct Sim<'a>(&'a SimBackend);

impl Sim<'_> {
    fn enc(&self, z: &[Complex64], level: usize) -> <SimBackend as Backend>::Ct {
        let scale = self.0.params().default_scale();
        self.0.encrypt_symmetric(z, level, scale).unwrap()
    }
}

impl Runner for Sim<'_> {
    fn mul_chain(&self, z: &[Complex64], level: usize) -> Vec<Complex64> {
        self.0.decrypt(&mul_chain(self.0, self.enc(z, level)))
    }
    fn rotations(&self, z: &[Complex64], level: usize) -> Vec<Complex64> {
        self.0.decrypt(&rotations(self.0, self.enc(z, level)))
    }
    fn chebyshev(&self, z: &[Complex64], level: usize) -> Vec<Complex64> {
        self.0.decrypt(&chebyshev(self.0, self.enc(z, level)))
    }
    fn bootstrap(&self, z: &[Complex64], config: &BootstrappingConfig) -> Vec<Complex64> {
        let backend = SimBackend::new(self.0.params().clone(), self.0.options().clone());
        let boot = Bootstrapper::with_backend(backend, config.clone()).unwrap();
        let input = Sim(boot.backend()).enc(z, 0);
        let out = boot.bootstrap(&input, boot.max_target_level()).unwrap();
        boot.backend().decrypt(&out)
    }
}

/// `z` rotated left by `k` slots.
fn rotate_ref(z: &[Complex64], k: i64) -> Vec<Complex64> {
    let n = z.len() as i64;
    (0..n)
        .map(|j| z[((j + k).rem_euclid(n)) as usize])
        .collect()
}

fn table() -> Vec<Case> {
    vec![
        Case {
            name: "three squarings (mult + relin + rescale)",
            bound: 1.0,
            run: |r, z| r.mul_chain(z, 3 + 1),
            reference: |z| z.iter().map(|&x| x * x * x * x * x * x * x * x).collect(),
        },
        Case {
            name: "three rotations, summed",
            bound: 1.0,
            run: |r, z| r.rotations(z, 3),
            reference: |z| {
                let mut acc = vec![Complex64::new(0.0, 0.0); z.len()];
                for &k in &ROTATIONS {
                    acc.iter_mut()
                        .zip(rotate_ref(z, k))
                        .for_each(|(a, b)| *a += b);
                }
                acc
            },
        },
        Case {
            name: "degree-60 Chebyshev series",
            bound: 1.0,
            run: |r, z| r.chebyshev(z, 7),
            reference: |z| z.iter().map(|&x| series().eval_complex(x)).collect(),
        },
    ]
}

fn real_inputs(n: usize, bound: f64) -> Vec<Complex64> {
    random_complex(n, bound)
        .into_iter()
        .map(|c| Complex64::new(c.re, 0.0))
        .collect()
}

#[test]
fn simulator_precision_is_within_two_bits_of_the_cpu_backend() {
    let f = fixture(test_boot_config);
    let s = sim(&f);
    let slots = f.ctx.n() / 2;
    for case in table() {
        let z = real_inputs(slots, case.bound);
        let want = (case.reference)(&z);
        let cpu = mean_precision_bits(&want, &(case.run)(&Cpu(&f), &z));
        let simulated = mean_precision_bits(&want, &(case.run)(&Sim(&s), &z));
        eprintln!(
            "{:45} cpu {cpu:5.1} bits, sim {simulated:5.1} bits",
            case.name
        );
        assert!(
            (cpu - simulated).abs() <= 2.0,
            "{}: cpu {cpu:.1} bits, simulator {simulated:.1} bits",
            case.name
        );
    }
}

#[test]
fn simulated_bootstrap_is_within_two_bits_of_the_cpu_backend() {
    for config in [test_boot_config, |n: usize| {
        test_boot_config(n).with_slots(64)
    }] {
        let f = fixture(config);
        let s = sim(&f);
        let z = random_complex(f.config.slots, 1.0);
        let cpu = mean_precision_bits(&z, &Cpu(&f).bootstrap(&z, &f.config));
        let simulated = mean_precision_bits(&z, &Sim(&s).bootstrap(&z, &f.config));
        eprintln!(
            "bootstrap, {} slots: cpu {cpu:.1} bits, sim {simulated:.1} bits",
            f.config.slots
        );
        assert!(
            (cpu - simulated).abs() <= 2.0,
            "{} slots: cpu {cpu:.1} bits, simulator {simulated:.1} bits",
            f.config.slots
        );
    }
}

#[test]
fn deterministic_simulator_is_exact_up_to_the_approximations() {
    let f = fixture(test_boot_config);
    let s = SimBackend::exact(f.ctx.params().clone());
    let slots = f.ctx.n() / 2;
    let z = real_inputs(slots, 1.0);
    // Arithmetic without approximation is exact to f64 round-off.
    let got = Sim(&s).mul_chain(&z, 4);
    let want: Vec<_> = z.iter().map(|&x| x.powi(8)).collect();
    assert!(mean_precision_bits(&want, &got) > 45.0);
    // Twice the same run gives the same bits.
    let a = Sim(&s).chebyshev(&z, 7);
    let b = Sim(&s).chebyshev(&z, 7);
    assert_eq!(a, b);
}

#[test]
fn counted_traces_equal_real_runs() {
    let f = fixture(|n| test_boot_config(n).with_slots(64));
    let slots = f.config.slots;
    let z = random_complex(slots, 1.0);
    let recorded = Recorder::new(f.cpu.clone());
    let counted = Recorder::new(MetaBackend::new(f.ctx.params().clone()));
    let scale = f.ctx.params().default_scale();

    // Polynomial evaluation.
    let ct = Cpu(&f).enc(&z, 7);
    chebyshev(&recorded, ct);
    chebyshev(&counted, counted.inner().fresh(7, scale, slots));
    assert_eq!(
        recorded.take_trace().summary(),
        counted.take_trace().summary()
    );

    // Bootstrapping (its transforms' encodings included: same on both).
    let real = Bootstrapper::with_backend(recorded, f.config.clone()).unwrap();
    let count = Bootstrapper::with_backend(counted, f.config.clone()).unwrap();
    let target = real.max_target_level();
    real.bootstrap(&Cpu(&f).enc(&z, 0), target).unwrap();
    count
        .bootstrap(&count.backend().inner().fresh(0, scale, slots), target)
        .unwrap();
    let (r, c) = (real.backend().take_trace(), count.backend().take_trace());
    assert!(r.key_switches() > 10, "a bootstrap switches keys");
    assert_eq!(r.summary(), c.summary());
    // Bootstrapper::cost is read off the counted trace (no hand-written mirror).
    let cost = real.cost(target).unwrap();
    assert_eq!(cost.key_switches, c.key_switches());
}

#[test]
fn strict_levels_refuse_mismatched_operands_on_every_backend() {
    let f = fixture(test_boot_config);
    let z = random_complex(8, 1.0);
    let scale = f.ctx.params().default_scale();
    let want = CkksError::LevelMismatch { left: 5, right: 4 };

    let (a, b) = (Cpu(&f).enc(&z, 5), Cpu(&f).enc(&z, 4));
    assert_eq!(f.cpu.add(&a, &b).unwrap_err(), want);
    assert_eq!(f.cpu.mul(&a, &b).unwrap_err(), want);
    let aligned = f.cpu.drop_to_level(&a, 4).unwrap();
    assert!(f.cpu.add(&aligned, &b).is_ok());

    let meta = MetaBackend::new(f.ctx.params().clone());
    let (a, b): (MetaCt, MetaCt) = (meta.fresh(5, scale, 8), meta.fresh(4, scale, 8));
    assert_eq!(meta.add(&a, &b).unwrap_err(), want);
    assert_eq!(meta.mul(&a, &b).unwrap_err(), want);

    let s = SimBackend::exact(f.ctx.params().clone());
    let (a, b) = (
        s.encrypt(&z, 5, scale).unwrap(),
        s.encrypt(&z, 4, scale).unwrap(),
    );
    assert_eq!(s.add(&a, &b).unwrap_err(), want);
    assert_eq!(s.mul(&a, &b).unwrap_err(), want);
    assert!(want.to_string().contains("5") && want.to_string().contains("4"));
}

#[test]
fn keys_held_below_the_top_work_up_to_their_level_and_refuse_above() {
    let ctx = Context::new(Params::new_insecure_for_tests(presets::test_insecure()).unwrap());
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let mut manifest = kg.manifest_for_rotations(&[3], false);
    let g = ctx.rotation_element(3);
    manifest.max_levels.insert(g, 2);
    let full = kg.gen_evaluation_keys(&sk, &kg.manifest_for_rotations(&[3], false));
    let evk = kg.gen_evaluation_keys(&sk, &manifest);
    assert!(
        evk.size_bytes() < full.size_bytes() * 3 / 4,
        "a level-2 key is smaller"
    );
    assert!(evk.satisfies(&manifest) && !evk.satisfies(&kg.manifest_for_rotations(&[3], false)));
    let cpu = CpuBackend::new(ctx.clone(), Arc::new(evk)).unwrap();
    let enc = Encoder::new(ctx.clone());
    let dec = Decryptor::new(ctx.clone(), &sk).unwrap();
    let mut encryptor = Encryptor::with_secret_key(ctx.clone(), &sk).unwrap();
    let z = random_complex(ctx.n() / 2, 1.0);
    let scale = ctx.params().default_scale();
    let high = encryptor.encrypt(&enc.encode_complex(&z, 4, scale).unwrap());
    let err = cpu.rotate(&high, 3).unwrap_err();
    assert_eq!(
        err,
        CkksError::KeyLevelTooLow {
            what: "Galois",
            level: 4,
            key_level: 2
        }
    );
    let low = cpu.drop_to_level(&high, 2).unwrap();
    let got = enc.decode_complex(&dec.decrypt(&cpu.rotate(&low, 3).unwrap()));
    let n = z.len();
    let want: Vec<_> = (0..n).map(|i| z[(i + 3) % n]).collect();
    assert!(mean_precision_bits(&want, &got) > 25.0);
}
