//! `blindtune bench ckks`: times every leveled CKKS operation at the top and a middle level,
//! with 1 thread and all threads, and measures the precision of each result against f64.
//!
//! Rows join with `bench/peers/openfhe_ckks.py` on `(n, limbs, threads, op)`.

use std::sync::Arc;
use std::time::Instant;

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
        let lit = presets::by_name(set).ok_or_else(|| {
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
        let spinner = ProgressBar::new_spinner().with_message(format!("{set}: generating keys"));
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
        let mut keygen = KeyGenerator::new(ctx.clone());
        let sk = keygen.gen_secret_key();
        let pk = keygen.gen_public_key(&sk);
        let r = 1 + random_index(ctx.n() / 2 - 1) as i64;
        let mut steps = HOISTED.to_vec();
        steps.push(r);
        let evk = keygen.gen_evaluation_keys(&sk, &keygen.manifest_for_rotations(&steps, false));
        spinner.finish_and_clear();
        let mut tools = Tools {
            enc: Encoder::new(ctx.clone()),
            encryptor: Encryptor::with_public_key(ctx.clone(), pk).into_diagnostic()?,
            dec: Decryptor::new(ctx.clone(), &sk).into_diagnostic()?,
            eval: Evaluator::new(ctx.clone(), Arc::new(evk)).into_diagnostic()?,
            ctx: ctx.clone(),
        };
        let total = (threads_dedup.len() * limbs.len() * 8) as u64;
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
                let mut new_rows =
                    pool.install(|| measure(&mut tools, set, level, t, r, args.reps, &bar))?;
                rows.append(&mut new_rows);
            }
        }
        bar.finish_and_clear();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows).into_diagnostic()?);
    } else {
        println!(
            "{:<6} {:>7} {:>6} {:>8} {:<18} {:>11} {:>9}",
            "set", "N", "limbs", "threads", "op", "median ms", "bits"
        );
        for r in &rows {
            println!(
                "{:<6} {:>7} {:>6} {:>8} {:<18} {:>11.3} {:>9}",
                r.set,
                r.n,
                r.limbs,
                r.threads,
                r.op,
                r.ms,
                r.precision_bits
                    .map(|b| format!("{b:.1}"))
                    .unwrap_or_else(|| "-".into())
            );
        }
    }
    Ok(())
}

struct Tools {
    ctx: Arc<Context>,
    enc: Encoder,
    encryptor: Encryptor,
    dec: Decryptor,
    eval: Evaluator,
}

fn measure(
    tools: &mut Tools,
    set: &str,
    level: usize,
    threads: usize,
    r: i64,
    reps: usize,
    bar: &ProgressBar,
) -> miette::Result<Vec<Row>> {
    let Tools {
        ctx,
        enc,
        encryptor,
        dec,
        eval,
    } = tools;
    let slots = ctx.n() / 2;
    let scale = ctx.params().default_scale();
    let x = random_complex(slots, 1.0);
    let y = random_complex(slots, 1.0);
    let decrypt = |ct: &Ciphertext| enc.decode_complex(&dec.decrypt(ct));
    let mut rows = Vec::new();
    let mut push = |op: &'static str, ms: f64, bits: Option<f64>| {
        rows.push(Row {
            library: "blindtune",
            set: set.to_string(),
            n: ctx.n(),
            limbs: level + 1,
            threads,
            op,
            ms,
            precision_bits: bits,
        });
        bar.inc(1);
    };
    let e = |e: CkksError| miette!("{e}");

    // encode + encrypt
    let (ms, cx) = median_ms(reps, || {
        let pt = enc.encode_complex(&x, level, scale).expect("encode");
        encryptor.encrypt(&pt)
    });
    push(
        "encode_encrypt",
        ms,
        Some(precision_bits(&x, &decrypt(&cx))),
    );
    let cy = encryptor.encrypt(&enc.encode_complex(&y, level, scale).map_err(e)?);

    // add
    let (ms, sum) = median_ms(reps, || eval.add(&cx, &cy).expect("add"));
    let want: Vec<Complex64> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
    push("add", ms, Some(precision_bits(&want, &decrypt(&sum))));

    // ct-pt multiplication (precision after the rescale that would follow)
    let prod: Vec<Complex64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let pt = enc.encode_complex(&y, level, scale).map_err(e)?;
    let (ms, m) = median_ms(reps, || eval.mul_plain(&cx, &pt).expect("mul_plain"));
    let bits = if level > 0 {
        Some(precision_bits(
            &prod,
            &decrypt(&eval.rescale(&m).map_err(e)?),
        ))
    } else {
        Some(precision_bits(&prod, &decrypt(&m)))
    };
    push("mul_plain", ms, bits);

    // ct-ct multiplication with relinearization
    let (ms, m) = median_ms(reps, || eval.mul_relin(&cx, &cy).expect("mul_relin"));
    let bits = Some(precision_bits(&prod, &decrypt(&m)));
    push("mul_relin", ms, bits);

    // rescale
    if level > 0 {
        let (ms, rs) = median_ms(reps, || eval.rescale(&m).expect("rescale"));
        push("rescale", ms, Some(precision_bits(&prod, &decrypt(&rs))));
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
    push(
        "rotate",
        ms,
        Some(precision_bits(&shifted(r), &decrypt(&rot))),
    );

    // 8 hoisted rotations
    let (ms, rots) = median_ms(reps, || {
        eval.rotate_hoisted(&cx, &HOISTED).expect("hoisted")
    });
    let bits = HOISTED
        .iter()
        .zip(&rots)
        .map(|(&k, ct)| precision_bits(&shifted(k), &decrypt(ct)))
        .fold(f64::INFINITY, f64::min);
    push("rotate_hoisted_8", ms, Some(bits));

    // decrypt (+ decode)
    let (ms, got) = median_ms(reps, || decrypt(&cx));
    push("decrypt", ms, Some(precision_bits(&x, &got)));
    Ok(rows)
}
