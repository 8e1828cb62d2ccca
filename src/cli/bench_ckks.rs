//! `blindtune bench ckks`: times every leveled CKKS operation at the top and a middle level,
//! with 1 thread and all threads, and measures the precision of each result against f64.
//!
//! Rows join with `bench/peers/openfhe_ckks.py` on `(n, limbs, threads, op)`.
//!
//! `--backend` runs the same table on the CPU backend (times, measured precision), the noise
//! simulator (its predicted precision; its times are the simulator's own) or the counting
//! backend (the operations each row performs and the cost model's estimate).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use blindtune_runtime::backend::{
    Backend, CostModel, CountingBackend, CpuBackend, MetaBackend, Recorder, SimBackend, SimOptions,
    Trace,
};
use blindtune_runtime::circuits::linear_transform::transform::rotations_for;
use blindtune_runtime::circuits::linear_transform::{DiagonalMatrix, LinearTransform};
use blindtune_runtime::circuits::polynomial::{ChebyshevSeries, PolynomialEvaluator};
use blindtune_runtime::ckks::testing::{precision_bits, random_complex, random_index};
use blindtune_runtime::ckks::*;
use indicatif::{ProgressBar, ProgressStyle};
use miette::{miette, IntoDiagnostic};
use num_complex::Complex64;
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// Parameter sets to measure (see `blindtune params`).
    #[arg(long, value_delimiter = ',', default_value = "n14,n16")]
    sets: Vec<String>,
    /// Thread counts: numbers or `all`.
    #[arg(long, value_delimiter = ',', default_value = "1,all")]
    threads: Vec<String>,
    /// Timed repetitions per operation (the median is reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Limb counts to measure (default: all limbs and the middle level).
    #[arg(long, value_delimiter = ',')]
    limbs: Vec<usize>,
    /// Print JSON rows instead of a table.
    #[arg(long)]
    json: bool,
    /// Measure every backend operation per level and write a cost table (needs `--out`, one
    /// set in `--sets` and one thread count in `--threads`).
    #[arg(long, requires = "out")]
    calibrate: bool,
    /// Where `--calibrate` writes its cost table (JSON).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Levels `--calibrate` measures (default: 1, L/4, L/2, 3L/4 and L).
    #[arg(long, value_delimiter = ',')]
    levels: Vec<usize>,
    /// Backend: `cpu` (measured), `sim` (the noise simulator's predicted precision) or
    /// `count` (operations per row and the cost model's estimate; needs a shipped cost table
    /// for the estimate).
    #[arg(long, default_value = "cpu")]
    backend: String,
}

#[derive(Serialize, Clone)]
struct Row {
    library: &'static str,
    set: String,
    n: usize,
    limbs: usize,
    threads: usize,
    op: &'static str,
    ms: f64,
    precision_bits: Option<f64>,
    backend: &'static str,
    /// The cost model's estimate of what the row did (shipped table for the set and thread
    /// count), beside the measured time.
    #[serde(skip_serializing_if = "Option::is_none")]
    estimated_ms: Option<f64>,
    /// Counting backend: the operations the row performed (`kind×count`).
    #[serde(skip_serializing_if = "Option::is_none")]
    counted: Option<String>,
}

fn median_ms<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(reps);
    let mut last = f(); // warm-up
    for _ in 0..reps {
        let t = Instant::now();
        last = f();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    (times[times.len() / 2], last)
}

pub const HOISTED: [i64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// A random matrix with the 16 diagonals 0..16 (a band): the linear-transform row.
fn banded_matrix(slots: usize) -> DiagonalMatrix {
    let mut m = DiagonalMatrix::zero(slots);
    for k in 0..16 {
        for (row, v) in random_complex(slots, 0.2).into_iter().enumerate() {
            m.add_entry(row, k, v);
        }
    }
    m
}

pub fn run(args: Args) -> miette::Result<()> {
    let threads = super::bench::parse_threads(&args.threads)?;
    if args.calibrate {
        let ([set], [threads]) = (&args.sets[..], &threads[..]) else {
            return Err(miette!(
                "--calibrate measures one parameter set at one thread count: give one value \
                 to --sets and to --threads (e.g. --sets n16-boot --threads 1)"
            ));
        };
        return super::bench_calibrate::run(super::bench_calibrate::Calibration {
            set: set.clone(),
            threads: *threads,
            reps: args.reps,
            levels: args.levels.clone(),
            out: args.out.clone().expect("clap requires --out"),
        });
    }
    let threads_dedup = threads.clone();
    let mut rows = Vec::new();
    for set in &args.sets {
        let lit = presets::by_name(set)
            .or_else(|| {
                blindtune_runtime::circuits::bootstrapping::config::presets()
                    .into_iter()
                    .find(|p| &p.name == set)
            })
            .ok_or_else(|| {
                miette!("--sets: unknown parameter set `{set}` (see `blindtune params`)")
            })?;
        let params = super::bench::bench_params(lit)?;
        let ctx = Context::new(params);
        let max_level = ctx.max_level();
        let limbs: Vec<usize> = if args.limbs.is_empty() {
            vec![max_level + 1, max_level / 2 + 1]
        } else {
            args.limbs.clone()
        };
        for &l in &limbs {
            if l == 0 || l > max_level + 1 {
                return Err(miette!(
                    "--limbs: {l} is outside 1..={} for set `{set}`",
                    max_level + 1
                ));
            }
        }
        let r = 1 + random_index(ctx.n() / 2 - 1) as i64;
        let mut steps = HOISTED.to_vec();
        steps.push(r);
        steps.extend(rotations_for(&banded_matrix(ctx.n() / 2)));
        let mut side: Box<dyn Side> = match args.backend.as_str() {
            "cpu" => {
                let spinner =
                    ProgressBar::new_spinner().with_message(format!("{set}: generating keys"));
                spinner.enable_steady_tick(std::time::Duration::from_millis(200));
                let mut keygen = KeyGenerator::new(ctx.clone());
                let sk = keygen.gen_secret_key();
                let pk = keygen.gen_public_key(&sk);
                let evk =
                    keygen.gen_evaluation_keys(&sk, &keygen.manifest_for_rotations(&steps, false));
                spinner.finish_and_clear();
                Box::new(CpuSide {
                    backend: Recorder::new(
                        CpuBackend::new(ctx.clone(), Arc::new(evk)).into_diagnostic()?,
                    ),
                    model: CostModel::shipped(set, threads_dedup[0]),
                    enc: Encoder::new(ctx.clone()),
                    encryptor: Mutex::new(
                        Encryptor::with_public_key(ctx.clone(), pk).into_diagnostic()?,
                    ),
                    dec: Decryptor::new(ctx.clone(), &sk).into_diagnostic()?,
                })
            }
            "sim" => Box::new(SimSide(SimBackend::new(
                ctx.params().clone(),
                SimOptions::default(),
            ))),
            "count" => Box::new(CountSide {
                backend: Recorder::new(MetaBackend::new(ctx.params().clone())),
                model: CostModel::shipped(set, 1),
            }),
            other => {
                return Err(miette!(
                    "--backend: `{other}` is not one of cpu, sim, count"
                ))
            }
        };
        let total = (threads_dedup.len() * limbs.len() * 10) as u64;
        let bar = ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ops").expect("template"),
        );
        for &t in &threads_dedup {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .into_diagnostic()?;
            for &l in &limbs {
                bar.set_message(format!("{set} {l} limbs {t} thread(s)"));
                let level = l - 1;
                let ctx = ctx.clone();
                let mut new_rows =
                    pool.install(|| side.measure(&ctx, set, level, t, r, args.reps, &bar))?;
                rows.append(&mut new_rows);
            }
        }
        bar.finish_and_clear();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows).into_diagnostic()?);
    } else {
        println!(
            "{:<7} {:<8} {:>7} {:>6} {:>8} {:<18} {:>11} {:>10} {:>9}  counted",
            "backend", "set", "N", "limbs", "threads", "op", "median ms", "est. ms", "bits",
        );
        for r in &rows {
            let ms = if r.backend == "count" {
                "-".to_string()
            } else {
                format!("{:.3}", r.ms)
            };
            println!(
                "{:<7} {:<8} {:>7} {:>6} {:>8} {:<18} {:>11} {:>10} {:>9}  {}",
                r.backend,
                r.set,
                r.n,
                r.limbs,
                r.threads,
                r.op,
                ms,
                r.estimated_ms
                    .map(|e| format!("{e:.3}"))
                    .unwrap_or_else(|| "-".into()),
                r.precision_bits
                    .map(|b| format!("{b:.1}"))
                    .unwrap_or_else(|| "-".into()),
                r.counted.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// A backend with its client side (encryption and decryption, where it has values).
trait Side: Send {
    #[allow(clippy::too_many_arguments)]
    fn measure(
        &mut self,
        ctx: &Arc<Context>,
        set: &str,
        level: usize,
        threads: usize,
        r: i64,
        reps: usize,
        bar: &ProgressBar,
    ) -> miette::Result<Vec<Row>>;
}

struct CpuSide {
    backend: Recorder<CpuBackend>,
    model: Option<CostModel>,
    enc: Encoder,
    encryptor: Mutex<Encryptor>,
    dec: Decryptor,
}

struct SimSide(SimBackend);

struct CountSide {
    backend: CountingBackend,
    model: Option<CostModel>,
}

/// What [`measure`] needs from a side: encryption, decryption (values, if any), and what
/// happened since the last call (counting backend).
trait Client: Sync {
    type B: Backend;
    fn backend(&self) -> &Self::B;
    fn encrypt(
        &self,
        z: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<<Self::B as Backend>::Ct, CkksError>;
    fn decrypt(&self, ct: &<Self::B as Backend>::Ct) -> Option<Vec<Complex64>>;
    /// The operations since the last call (recording backends).
    fn take_counted(&self) -> Option<Trace> {
        None
    }
    fn name(&self) -> &'static str;
    fn estimate_ms(&self, _trace: &Trace) -> Option<f64> {
        None
    }
}

impl Client for CpuSide {
    type B = Recorder<CpuBackend>;
    fn backend(&self) -> &Recorder<CpuBackend> {
        &self.backend
    }
    fn take_counted(&self) -> Option<Trace> {
        Some(self.backend.take_trace())
    }
    fn estimate_ms(&self, trace: &Trace) -> Option<f64> {
        self.model.as_ref().map(|m| m.estimate(trace) * 1e3)
    }
    fn encrypt(&self, z: &[Complex64], level: usize, scale: f64) -> Result<Ciphertext, CkksError> {
        let pt = self.enc.encode_complex(z, level, scale)?;
        Ok(self.encryptor.lock().expect("encryptor").encrypt(&pt))
    }
    fn decrypt(&self, ct: &Ciphertext) -> Option<Vec<Complex64>> {
        Some(self.enc.decode_complex(&self.dec.decrypt(ct)))
    }
    fn name(&self) -> &'static str {
        "cpu"
    }
}

impl Client for SimSide {
    type B = SimBackend;
    fn backend(&self) -> &SimBackend {
        &self.0
    }
    fn encrypt(
        &self,
        z: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<<SimBackend as Backend>::Ct, CkksError> {
        self.0.encrypt(z, level, scale)
    }
    fn decrypt(&self, ct: &<SimBackend as Backend>::Ct) -> Option<Vec<Complex64>> {
        Some(self.0.decrypt(ct))
    }
    fn name(&self) -> &'static str {
        "sim"
    }
}

impl Client for CountSide {
    type B = CountingBackend;
    fn backend(&self) -> &CountingBackend {
        &self.backend
    }
    fn encrypt(
        &self,
        z: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<<CountingBackend as Backend>::Ct, CkksError> {
        Ok(self
            .backend
            .inner()
            .fresh(level, scale, z.len().next_power_of_two()))
    }
    fn decrypt(&self, _ct: &<CountingBackend as Backend>::Ct) -> Option<Vec<Complex64>> {
        None
    }
    fn take_counted(&self) -> Option<Trace> {
        Some(self.backend.take_trace())
    }
    fn name(&self) -> &'static str {
        "count"
    }
    fn estimate_ms(&self, trace: &Trace) -> Option<f64> {
        self.model.as_ref().map(|m| m.estimate(trace) * 1e3)
    }
}

macro_rules! side {
    ($t:ty) => {
        impl Side for $t {
            fn measure(
                &mut self,
                ctx: &Arc<Context>,
                set: &str,
                level: usize,
                threads: usize,
                r: i64,
                reps: usize,
                bar: &ProgressBar,
            ) -> miette::Result<Vec<Row>> {
                measure(&*self, ctx, set, level, threads, r, reps, bar)
            }
        }
    };
}
side!(CpuSide);
side!(SimSide);
side!(CountSide);

#[allow(clippy::too_many_arguments)]
fn measure<C: Client>(
    side: &C,
    ctx: &Arc<Context>,
    set: &str,
    level: usize,
    threads: usize,
    r: i64,
    reps: usize,
    bar: &ProgressBar,
) -> miette::Result<Vec<Row>> {
    let eval = side.backend();
    let slots = ctx.n() / 2;
    let scale = ctx.params().default_scale();
    let x = random_complex(slots, 1.0);
    let y = random_complex(slots, 1.0);
    let decrypt = |ct: &<C::B as Backend>::Ct| side.decrypt(ct);
    let bits = |want: &[Complex64], ct: &<C::B as Backend>::Ct| {
        decrypt(ct).map(|got| precision_bits(want, &got))
    };
    let mut rows = Vec::new();
    let mut push = |op: &'static str, ms: f64, bits: Option<f64>| {
        let counted = side.take_counted();
        let estimated_ms = counted
            .as_ref()
            .and_then(|t| side.estimate_ms(t))
            .map(|e| e / (reps + 1) as f64);
        let counting = side.name() == "count";
        rows.push(Row {
            library: "blindtune",
            set: set.to_string(),
            n: ctx.n(),
            limbs: level + 1,
            threads,
            op,
            ms,
            precision_bits: bits,
            backend: side.name(),
            estimated_ms,
            counted: counted.filter(|_| counting).map(|t| {
                t.counts_by_kind()
                    .iter()
                    .map(|(k, c)| format!("{}×{}", k.name(), c / (reps + 1)))
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
        });
        bar.inc(1);
    };
    let e = |e: CkksError| miette!("{e}");

    // encode + encrypt
    let (ms, cx) = median_ms(reps, || side.encrypt(&x, level, scale).expect("encrypt"));
    let b = bits(&x, &cx);
    push("encode_encrypt", ms, b);
    let cy = side.encrypt(&y, level, scale).map_err(e)?;

    // add
    let (ms, sum) = median_ms(reps, || eval.add(&cx, &cy).expect("add"));
    let want: Vec<Complex64> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
    let b = bits(&want, &sum);
    push("add", ms, b);

    // ct-pt multiplication (precision after the rescale that would follow)
    let prod: Vec<Complex64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let pt = eval.encode(&y, level, scale).map_err(e)?;
    let m = eval.mul_plain(&cx, &pt).map_err(e)?;
    let b = if level > 0 {
        bits(&prod, &eval.rescale(&m).map_err(e)?)
    } else {
        bits(&prod, &m)
    };
    side.take_counted(); // the encoding and the precision check are not part of the row
    let (ms, _) = median_ms(reps, || eval.mul_plain(&cx, &pt).expect("mul_plain"));
    push("mul_plain", ms, b);

    // ct-ct multiplication with relinearization
    let (ms, m) = median_ms(reps, || eval.mul_relin(&cx, &cy).expect("mul_relin"));
    let b = bits(&prod, &m);
    push("mul_relin", ms, b);

    // rescale
    if level > 0 {
        let (ms, rs) = median_ms(reps, || eval.rescale(&m).expect("rescale"));
        let b = bits(&prod, &rs);
        push("rescale", ms, b);
    } else {
        bar.inc(1);
    }

    // rotate by a random index
    let shifted = |k: i64| -> Vec<Complex64> {
        (0..slots)
            .map(|i| x[(i as i64 + k).rem_euclid(slots as i64) as usize])
            .collect()
    };
    let (ms, rot) = median_ms(reps, || eval.rotate(&cx, r).expect("rotate"));
    let b = bits(&shifted(r), &rot);
    push("rotate", ms, b);

    // 8 hoisted rotations
    let (ms, rots) = median_ms(reps, || {
        eval.rotate_hoisted(&cx, &HOISTED).expect("hoisted")
    });
    let b = HOISTED
        .iter()
        .zip(&rots)
        .map(|(&k, ct)| bits(&shifted(k), ct))
        .try_fold(f64::INFINITY, |acc, b| b.map(|b| acc.min(b)));
    push("rotate_hoisted_8", ms, b);

    // A 16-diagonal BSGS transform (double hoisting) and a degree-60 Chebyshev series: the
    // circuits whose estimates the cost model must get right.
    if level > 0 {
        let m = banded_matrix(slots);
        let lt = LinearTransform::new(eval, &m, level).map_err(e)?;
        side.take_counted();
        let (ms, out) = median_ms(reps, || lt.evaluate(eval, &cx).expect("transform"));
        let b = bits(&m.apply(&x), &out);
        push("linear_transform_16", ms, b);
        let series = ChebyshevSeries::interpolate(|t| (2.0 * t).sin(), -1.0, 1.0, 60);
        let pe = PolynomialEvaluator::new(eval);
        if level >= PolynomialEvaluator::depth_chebyshev(&series) {
            let xr: Vec<Complex64> = x.iter().map(|c| Complex64::new(c.re, 0.0)).collect();
            let cxr = side.encrypt(&xr, level, scale).map_err(e)?;
            side.take_counted();
            let (ms, out) = median_ms(reps, || {
                pe.evaluate_chebyshev(&cxr, &series, scale)
                    .expect("chebyshev")
            });
            let want: Vec<Complex64> = xr.iter().map(|&t| series.eval_complex(t)).collect();
            let b = bits(&want, &out);
            push("chebyshev_60", ms, b);
        } else {
            bar.inc(1);
        }
    } else {
        bar.inc(2);
    }

    // decrypt (+ decode)
    let (ms, got) = median_ms(reps, || decrypt(&cx));
    push("decrypt", ms, got.map(|g| precision_bits(&x, &g)));
    Ok(rows)
}
