//! `blindtune bench bootstrap`: bootstrapping time, precision, key size and peak memory per
//! target level, with 1 thread and all threads.

use std::sync::Arc;
use std::time::Instant;

use blindtune_runtime::circuits::bootstrapping::config::{self, BootstrappingConfig};
use blindtune_runtime::circuits::bootstrapping::{Bootstrapper, BootstrappingKeys};
use blindtune_runtime::ckks::testing::{
    mean_precision_bits, precision_bits, random_complex, random_real,
};
use blindtune_runtime::ckks::*;
use indicatif::ProgressBar;
use miette::{miette, IntoDiagnostic};
use num_complex::Complex64;
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// Bootstrappable parameter set (`n16-boot`, or `test-boot-insecure` for a quick run).
    #[arg(long, default_value = "n16-boot")]
    set: String,
    /// Thread counts: numbers or `all`.
    #[arg(long, value_delimiter = ',', default_value = "1,all")]
    threads: Vec<String>,
    /// Target levels (default: the highest and 0).
    #[arg(long, value_delimiter = ',')]
    targets: Vec<usize>,
    /// Slots (default: full, N/2).
    #[arg(long)]
    slots: Option<usize>,
    /// Bootstrapping iterations to measure (2 = META-BTS: one extra bootstrap of the error).
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    iterations: Vec<usize>,
    /// log2 of the error amplification between iterations.
    #[arg(long, default_value_t = 12)]
    boost: u32,
    /// Input kinds: uniform complex values in [-1,1], real values in [-1,1], and/or
    /// `constant` (0.97 in every slot: EvalMod's worst case, see `default_log_message_ratio`).
    #[arg(long, value_delimiter = ',', default_value = "complex,real")]
    inputs: Vec<String>,
    /// Timed repetitions (median reported).
    #[arg(long, default_value_t = 1)]
    reps: usize,
    /// Print JSON rows instead of a table.
    #[arg(long)]
    json: bool,
    /// Override log2(q_0 / Δ), the headroom ModRaise leaves above the message (default: the
    /// configuration's, chosen from the slot count).
    #[arg(long)]
    message_ratio: Option<u32>,
    /// EvalMod without the harmonic correction (one level less, lower precision).
    #[arg(long)]
    sine_only: bool,
    /// Cost table (JSON from `bench ckks --calibrate`) for the estimate column; default: the
    /// shipped table for the set and thread count, if any.
    #[arg(long)]
    cost_table: Option<std::path::PathBuf>,
    /// Backend: `cpu` (keys and arithmetic), `count` (operation counts and the cost model's
    /// estimate; no keys) or `sim` (the noise simulator's predicted precision; no keys).
    #[arg(long, default_value = "cpu")]
    backend: String,
}

#[derive(Serialize)]
struct Row {
    library: &'static str,
    set: String,
    n: usize,
    slots: usize,
    threads: usize,
    op: &'static str,
    input: &'static str,
    iterations: usize,
    target_level: usize,
    ms: f64,
    precision_min_bits: f64,
    precision_mean_bits: f64,
    levels_after: usize,
    log_qp: f64,
    key_bytes: usize,
    /// Bytes of the key file (seeded uniform halves).
    key_file_bytes: usize,
    keygen_s: f64,
    peak_rss_mib: f64,
    /// The cost model's estimate from the counted trace (shipped table for this set and
    /// thread count, or `--cost-table`), when one applies.
    estimated_ms: Option<f64>,
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

pub fn run(args: Args) -> miette::Result<()> {
    let lit = config::presets()
        .into_iter()
        .find(|p| p.name == args.set)
        .ok_or_else(|| {
            miette!(
                "--set: `{}` is not a bootstrappable parameter set (see `blindtune params`)",
                args.set
            )
        })?;
    let params = super::bench::bench_params(lit)?;
    let ctx = Context::new(params);
    let n = ctx.n();
    let slots = args.slots.unwrap_or(n / 2);
    let cfg = if args.set.starts_with("test") {
        config::test_boot_config(n)
    } else {
        BootstrappingConfig::full_slots(n)
    };
    let mut cfg = cfg.with_slots(slots);
    if let Some(r) = args.message_ratio {
        cfg.log_message_ratio = r;
    }
    if args.sine_only {
        cfg.eval_mod.harmonic_correction = false;
    }
    if args.backend != "cpu" {
        let max = ctx.max_level()
            - Bootstrapper::with_backend(
                blindtune_runtime::backend::MetaBackend::new(ctx.params().clone()),
                cfg.clone(),
            )
            .map_err(|e| miette!("{e}"))?
            .depth();
        let targets = if args.targets.is_empty() {
            vec![max, 0]
        } else {
            args.targets.clone()
        };
        return super::bench_bootstrap_model::run(
            &args.backend,
            ctx.params().clone(),
            cfg,
            &targets,
            args.json,
        );
    }
    let threads = super::bench::parse_threads(&args.threads)?;

    let spinner = ProgressBar::new_spinner()
        .with_message(format!("{}: generating bootstrapping keys", args.set));
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let t0 = Instant::now();
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk);
    let manifest = Bootstrapper::key_manifest(&ctx, &cfg);
    let keys = BootstrappingKeys::generate(&mut kg, &sk, &manifest, cfg.ephemeral_hamming_weight);
    let keygen_s = t0.elapsed().as_secs_f64();
    let key_bytes = keys.size_bytes();
    let key_file_bytes = keys.stored_bytes();
    let boot = Bootstrapper::new(ctx.clone(), cfg, Arc::new(keys)).map_err(|e| miette!("{e}"))?;
    spinner.finish_and_clear();
    let enc = Encoder::new(ctx.clone());
    // The data owner encrypts with the secret key (fresh noise ≈ 2^-31 at scale 2^40), so the
    // table measures the bootstrapping error rather than the encryption noise.
    let _ = pk;
    let mut encryptor = Encryptor::with_secret_key(ctx.clone(), &sk).into_diagnostic()?;
    let dec = Decryptor::new(ctx.clone(), &sk).into_diagnostic()?;
    let targets = if args.targets.is_empty() {
        vec![boot.max_target_level(), 0]
    } else {
        args.targets.clone()
    };
    let scale = ctx.params().default_scale();
    let mut rows = Vec::new();
    for &t in &threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .into_diagnostic()?;
        for &iterations in &args.iterations {
            for &target in &targets {
                let target = if iterations > 1 {
                    target.min(boot.max_target_level() - 1)
                } else {
                    target
                };
                for input in ["complex", "real", "constant"] {
                    if !args.inputs.iter().any(|i| i == input) {
                        continue;
                    }
                    let z: Vec<Complex64> = match input {
                        "complex" => random_complex(slots, 1.0),
                        // The worst case for EvalMod: one coefficient holds the whole message.
                        "constant" => vec![Complex64::new(0.97, 0.0); slots],
                        _ => random_real(slots, 1.0)
                            .into_iter()
                            .map(|x| Complex64::new(x, 0.0))
                            .collect(),
                    };
                    let ct = encryptor.encrypt(
                        &enc.encode_complex(&z, 0, scale)
                            .map_err(|e| miette!("{e}"))?,
                    );
                    let bar = ProgressBar::new_spinner().with_message(format!(
                        "bootstrap: {t} thread(s), target {target}, {input}"
                    ));
                    bar.enable_steady_tick(std::time::Duration::from_millis(200));
                    // Prepare (encode the transforms for this target) outside the timing; the
                    // transforms of other targets are dropped first, so peak memory is that
                    // of one target (a plan bootstraps to its own targets only).
                    boot.release_prepared_except(target);
                    pool.install(|| boot.prepare(target, scale))
                        .map_err(|e| miette!("{e}"))?;
                    let mut times = Vec::new();
                    let mut out = None;
                    for _ in 0..args.reps.max(1) {
                        let s = Instant::now();
                        let r = pool
                            .install(|| {
                                boot.bootstrap_iterated(&ct, target, iterations, args.boost)
                            })
                            .map_err(|e| miette!("{e}"))?;
                        times.push(s.elapsed().as_secs_f64() * 1e3);
                        out = Some(r);
                    }
                    bar.finish_and_clear();
                    times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
                    let out = out.expect("at least one repetition");
                    let got = enc.decode_complex(&dec.decrypt(&out));
                    let model = match &args.cost_table {
                        Some(p) => Some(
                            blindtune_runtime::backend::CostModel::load(p)
                                .map_err(|e| miette!("{e}"))?,
                        ),
                        None => blindtune_runtime::backend::CostModel::shipped(&args.set, t),
                    };
                    let estimated_ms = match model {
                        Some(m) if iterations == 1 => {
                            Some(m.estimate(&boot.trace(target).map_err(|e| miette!("{e}"))?) * 1e3)
                        }
                        _ => None,
                    };
                    rows.push(Row {
                        library: "blindtune",
                        set: args.set.clone(),
                        n,
                        slots,
                        threads: t,
                        op: "bootstrap",
                        input,
                        iterations,
                        target_level: target,
                        ms: times[times.len() / 2],
                        precision_min_bits: precision_bits(&z, &got),
                        precision_mean_bits: mean_precision_bits(&z, &got),
                        levels_after: out.level(),
                        log_qp: ctx.params().log_qp(),
                        key_bytes,
                        key_file_bytes,
                        keygen_s,
                        peak_rss_mib: peak_rss_mib(),
                        estimated_ms,
                    });
                }
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows).into_diagnostic()?);
        return Ok(());
    }
    println!(
        "{:<18} {:>6} {:>6} {:>7} {:>5} {:>7} {:>7} {:>11} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "set",
        "N",
        "slots",
        "threads",
        "iters",
        "target",
        "input",
        "median ms",
        "min bits",
        "mean bits",
        "key MiB",
        "file MiB",
        "keygen s",
        "peak MiB",
        "est. ms"
    );
    for r in &rows {
        println!(
            "{:<18} {:>6} {:>6} {:>7} {:>5} {:>7} {:>7} {:>11.1} {:>8.1} {:>8.1} {:>9.0} {:>9.0} {:>9.1} {:>9.0} {:>9}",
            r.set,
            r.n,
            r.slots,
            r.threads,
            r.iterations,
            r.target_level,
            r.input,
            r.ms,
            r.precision_min_bits,
            r.precision_mean_bits,
            r.key_bytes as f64 / (1 << 20) as f64,
            r.key_file_bytes as f64 / (1 << 20) as f64,
            r.keygen_s,
            r.peak_rss_mib,
            r.estimated_ms
                .map_or("-".to_string(), |e| format!("{e:.0}"))
        );
    }
    Ok(())
}
