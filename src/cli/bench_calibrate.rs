//! `blindtune bench ckks --calibrate --out costs.json`: measures every backend operation of
//! the CPU backend at several levels and writes the cost table the compiler's cost model
//! reads (`runtime::backend::cost`). The shipped default was made with this command.

use std::sync::Arc;
use std::time::Instant;

use blindtune_runtime::backend::cost::{CostEntry, CostTable, COST_TABLE_FORMAT};
use blindtune_runtime::backend::{Backend, CostModel, CpuBackend, OpKind};
use blindtune_runtime::circuits::bootstrapping::config;
use blindtune_runtime::ckks::encapsulation::BootstrappingKeys;
use blindtune_runtime::ckks::testing::random_complex;
use blindtune_runtime::ckks::*;
use indicatif::{ProgressBar, ProgressStyle};
use miette::{miette, IntoDiagnostic};
use num_complex::Complex64;

/// Terms of the summing operations' measurement (their cost is stored per term).
const TERMS: usize = 8;

/// What one calibration measures.
pub struct Calibration {
    pub set: String,
    pub threads: usize,
    pub reps: usize,
    pub levels: Vec<usize>,
    pub out: std::path::PathBuf,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut() -> Result<(), CkksError>) -> Result<f64, CkksError> {
    f()?; // warm-up (caches, permutations)
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed().as_secs_f64());
    }
    Ok(median(samples))
}

pub fn run(c: Calibration) -> miette::Result<()> {
    let lit = config::presets()
        .into_iter()
        .chain(presets::all())
        .find(|p| p.name == c.set)
        .ok_or_else(|| miette!("--sets: `{}` is not a shipped parameter set", c.set))?;
    let params = super::bench::bench_params(lit)?;
    let ctx = Context::new(params);
    let max = ctx.max_level();
    let levels: Vec<usize> = if c.levels.is_empty() {
        let mut l = vec![1, max / 4, max / 2, 3 * max / 4, max];
        l.dedup();
        l
    } else {
        c.levels.clone()
    };
    if let Some(&bad) = levels.iter().find(|&&l| l == 0 || l > max) {
        return Err(miette!("--limbs: level {bad} is outside 1..={max}"));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(c.threads)
        .build()
        .into_diagnostic()?;
    let spinner = ProgressBar::new_spinner().with_message(format!("{}: generating keys", c.set));
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let manifest = kg.manifest_for_rotations(&[1], true);
    let keys = BootstrappingKeys::generate(&mut kg, &sk, &manifest, 32);
    let b = CpuBackend::with_bootstrapping_keys(ctx.clone(), Arc::new(keys)).into_diagnostic()?;
    let mut encryptor = Encryptor::with_secret_key(ctx.clone(), &sk).into_diagnostic()?;
    spinner.finish_and_clear();

    let slots = ctx.n() / 2;
    let scale = ctx.params().default_scale();
    let z = random_complex(slots, 0.5);
    let mut points: std::collections::BTreeMap<OpKind, Vec<(usize, f64)>> = Default::default();
    let bar = ProgressBar::new((levels.len() * OpKind::ALL.len()) as u64).with_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ETA {eta}")
            .expect("static template"),
    );
    bar.set_message(format!("calibrating {} at {} thread(s)", c.set, c.threads));
    let g = b.rotation_element(1);
    pool.install(|| -> miette::Result<()> {
        for &level in &levels {
            let m = |e: CkksError| miette!("level {level}: {e}");
            let enc = |encryptor: &mut Encryptor, l: usize| -> miette::Result<Ciphertext> {
                Ok(encryptor.encrypt(&b.encode(&z, l, scale).map_err(m)?))
            };
            let a = enc(&mut encryptor, level)?;
            let a2 = enc(&mut encryptor, level)?;
            let low = enc(&mut encryptor, 0)?;
            let pt = b.encode(&z, level, scale).map_err(m)?;
            let t = b.mul(&a, &a2).map_err(m)?;
            let dec = b.decompose(&a).map_err(m)?;
            let ext = b.extend(&a).map_err(m)?;
            let many: Vec<Ciphertext> = (0..TERMS)
                .map(|_| enc(&mut encryptor, level))
                .collect::<miette::Result<_>>()?;
            let many_ext = many
                .iter()
                .map(|c| b.extend(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(m)?;
            let many_pt = (0..TERMS)
                .map(|k| b.encode_extended(&z[k..], level, scale))
                .collect::<Result<Vec<_>, _>>()
                .map_err(m)?;
            let q = ctx.params().q()[level] as f64;
            for kind in OpKind::ALL {
                let r = c.reps;
                let secs = match kind {
                    OpKind::Encode => time(r, || b.encode(&z, level, scale).map(drop)),
                    OpKind::EncodeExtended => {
                        time(r, || b.encode_extended(&z, level, scale).map(drop))
                    }
                    OpKind::DropLevel => time(r, || b.drop_to_level(&a, level - 1).map(drop)),
                    OpKind::Rescale => time(r, || b.rescale(&a).map(drop)),
                    OpKind::Add => time(r, || b.add(&a, &a2).map(drop)),
                    OpKind::Neg => time(r, || b.neg(&a).map(drop)),
                    OpKind::AddPlain => time(r, || b.add_plain(&a, &pt).map(drop)),
                    OpKind::AddConst => time(r, || b.add_const(&a, 0.25).map(drop)),
                    OpKind::MulInteger => time(r, || b.mul_integer(&a, 3).map(drop)),
                    OpKind::MulConst => time(r, || b.mul_const(&a, 0.25).map(drop)),
                    OpKind::LinearCombination => {
                        // Distinct operands, as in a polynomial's leaves (no cache reuse).
                        let terms: Vec<(&Ciphertext, Complex64, f64)> = many
                            .iter()
                            .enumerate()
                            .map(|(k, c)| (c, Complex64::new(0.1 * k as f64, 0.0), q))
                            .collect();
                        time(r, || b.linear_combination(&terms, level).map(drop))
                            .map(|s| s / TERMS as f64)
                    }
                    OpKind::MulPlain => time(r, || b.mul_plain(&a, &pt).map(drop)),
                    OpKind::Tensor => time(r, || b.mul(&a, &a2).map(drop)),
                    OpKind::Relinearize => time(r, || b.relinearize(&t).map(drop)),
                    OpKind::MulByI => time(r, || b.mul_by_i(&a).map(drop)),
                    OpKind::Decompose => time(r, || b.decompose(&a).map(drop)),
                    OpKind::GaloisHoisted => {
                        time(r, || b.apply_galois_hoisted(&a, &dec, g, None).map(drop))
                    }
                    OpKind::Galois => time(r, || b.rotate(&a, 1).map(drop)),
                    OpKind::Extend => time(r, || b.extend(&a).map(drop)),
                    OpKind::GaloisHoistedExtended => time(r, || {
                        b.apply_galois_hoisted_extended(&a, &dec, g, None).map(drop)
                    }),
                    OpKind::SumProductsExtended => {
                        let terms: Vec<_> = many_ext.iter().zip(&many_pt).collect();
                        time(r, || b.sum_of_products_extended(&terms).map(drop))
                            .map(|s| s / TERMS as f64)
                    }
                    OpKind::AddExtended => {
                        let mut acc = ext.clone();
                        time(r, || b.add_assign_extended(&mut acc, &ext))
                    }
                    OpKind::GaloisAddExtended => {
                        let mut acc = ext.clone();
                        time(r, || {
                            b.apply_galois_add_assign_extended(&mut acc, &ext, g, None)
                        })
                    }
                    OpKind::RelinearizeExtended => time(r, || b.relinearize_extended(&t).map(drop)),
                    OpKind::ScalarExtended => {
                        let mut x = ext.clone();
                        time(r, || b.mul_integer_extended(&mut x, 3))
                    }
                    OpKind::ModDownRescale => time(r, || b.mod_down_rescale(ext.clone()).map(drop)),
                    OpKind::ModDown => time(r, || b.mod_down_extended(ext.clone()).map(drop)),
                    OpKind::ModRaise => time(r, || b.mod_raise(&low, level).map(drop)),
                    OpKind::Trivial => time(r, || b.trivial(&pt).map(drop)),
                }
                .map_err(|e| miette!("{}: level {level}: {e}", kind.name()))?;
                points.entry(kind).or_default().push((level, secs));
                bar.inc(1);
            }
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let entries = points
        .into_iter()
        .map(|(op, mut p)| {
            p.sort_by_key(|x| x.0);
            CostEntry {
                op,
                per_term: matches!(op, OpKind::LinearCombination | OpKind::SumProductsExtended),
                points: p,
            }
        })
        .collect();
    let table = CostTable {
        format: COST_TABLE_FORMAT,
        params: c.set.clone(),
        log_n: ctx.params().log_n(),
        threads: c.threads,
        measured_on: format!(
            "blindtune bench ckks --calibrate, {} hardware thread(s) available, median of {}",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            c.reps
        ),
        entries,
    };
    // Validate before writing: the file must load.
    CostModel::from_table(table.clone(), "calibration").map_err(|e| miette!("{e}"))?;
    let json = serde_json::to_string_pretty(&table).into_diagnostic()?;
    super::write_atomic(&c.out, json.as_bytes())?;
    println!(
        "{:24} {}",
        "operation",
        levels
            .iter()
            .map(|l| format!("{:>10}", format!("level {l}")))
            .collect::<String>()
    );
    for e in &table.entries {
        println!(
            "{:24} {}",
            e.op.name(),
            e.points
                .iter()
                .map(|(_, s)| format!("{:>9.2}ms", s * 1e3))
                .collect::<String>()
        );
    }
    println!("wrote {}", c.out.display());
    Ok(())
}
