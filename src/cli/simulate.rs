//! `blindtune simulate PLAN --data F [--program P.bt] [--exact]`: the whole run on the noise
//! simulator (seconds, no keys), reporting each output's predicted precision against the
//! program's reference interpreter on the same data, and the accuracy the encrypted run would
//! reach per trip next to plaintext's, so drift shows before paying for an encrypted run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blindtune_client::cipher::SimEncryptor;
use blindtune_client::dataset::load_data;
use blindtune_client::evaluate::{labels_of, score_logits};
use blindtune_client::memory::{MemorySink, MemorySource};
use blindtune_client::tensors::Decrypted;
use blindtune_compiler::interp::DataSet;
use blindtune_runtime::backend::{SimBackend, SimOptions};
use blindtune_runtime::circuits::bootstrapping::Bootstrapper;
use blindtune_runtime::executor::Executor;
use blindtune_runtime::plan::params::resolve;
use blindtune_runtime::plan::Plan;
use miette::miette;

use super::load_plan;
use super::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// The compiled plan.
    pub plan: PathBuf,
    /// The plaintext data (safetensors, or NAME=F.npy), as `encrypt` reads it.
    #[arg(long, required = true)]
    pub data: Vec<String>,
    /// The program the plan was compiled from, to compare with its reference interpreter.
    #[arg(long)]
    pub program: Option<PathBuf>,
    /// Deterministic: no modelled noise (checks the plan's arithmetic alone).
    #[arg(long)]
    pub exact: bool,
    /// Seed of the modelled noise.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub quiet: bool,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `plan` on the simulator over `data`; returns the decrypted outputs and the run time.
pub fn simulate(
    plan: &Plan,
    data: &DataSet,
    noise: bool,
    seed: u64,
    quiet: bool,
) -> miette::Result<(Decrypted, f64)> {
    let pp = resolve(&plan.params, plan.insecure).map_err(|e| miette!("{e}"))?;
    let sim = SimBackend::new(
        pp.params.clone(),
        SimOptions {
            inject_noise: noise,
            seed,
            ..SimOptions::default()
        },
    );
    let mut source = MemorySource::new(plan, data, SimEncryptor).map_err(|e| miette!("{e}"))?;
    let dims = source.dims().clone();
    let mut sink = MemorySink::default();
    let mut progress = Progress::new(&["epoch", "batch"], quiet);
    let (secs, decrypted) = if plan.bootstrapping {
        let cfg = pp
            .bootstrapping
            .clone()
            .ok_or_else(|| miette!("`{}` cannot bootstrap", plan.params))?;
        let boot = Bootstrapper::with_backend(sim, cfg).map_err(|e| miette!("{e}"))?;
        let mut ex =
            Executor::new(plan, boot.backend(), Some(&boot)).map_err(|e| miette!("{e}"))?;
        let r = ex
            .run_with(&mut source, &mut sink, &mut progress)
            .map_err(|e| miette!("{e}"))?;
        let d = sink
            .decrypt_with(plan, &dims, |ct| {
                boot.backend().decrypt(ct).iter().map(|z| z.re).collect()
            })
            .map_err(|e| miette!("{e}"))?;
        (r.seconds, d)
    } else {
        let mut ex = Executor::new(plan, &sim, None).map_err(|e| miette!("{e}"))?;
        let r = ex
            .run_with(&mut source, &mut sink, &mut progress)
            .map_err(|e| miette!("{e}"))?;
        let d = sink
            .decrypt_with(plan, &dims, |ct| {
                sim.decrypt(ct).iter().map(|z| z.re).collect()
            })
            .map_err(|e| miette!("{e}"))?;
        (r.seconds, d)
    };
    progress.finish();
    Ok((decrypted, secs))
}

/// The reference interpreter's outputs for the program a plan came from (with the plan's
/// `param` values and seed).
pub fn reference(
    program: &Path,
    plan: &Plan,
    data: &DataSet,
) -> miette::Result<BTreeMap<String, Vec<Vec<f64>>>> {
    let params: Vec<String> = plan
        .source
        .params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let cp = super::check::compile(&program.to_path_buf(), &params, false)?;
    let r = blindtune_compiler::interp::run(
        &cp,
        data,
        &blindtune_compiler::interp::Options {
            exact: false,
            seed: plan.seed,
            progress: None,
        },
    )
    .map_err(|e| miette!("{}: {e}", program.display()))?;
    Ok(r.outputs
        .into_iter()
        .map(|o| {
            (
                o.name,
                o.values
                    .into_iter()
                    .map(|a| a.iter().copied().collect())
                    .collect(),
            )
        })
        .collect())
}

/// One output compared: worst and mean error in bits, per value.
#[derive(serde::Serialize)]
pub struct OutputCompare {
    pub name: String,
    pub min_bits: f64,
    pub mean_bits: f64,
    /// per trip (repeated outputs scored against labels): (encrypted accuracy, plaintext accuracy)
    pub accuracy: Vec<(f64, f64)>,
}

pub fn compare(
    plan: &Plan,
    got: &Decrypted,
    want: &BTreeMap<String, Vec<Vec<f64>>>,
    data: &DataSet,
) -> Vec<OutputCompare> {
    let mut out = Vec::new();
    for spec in &plan.outputs {
        let Some(w) = want.get(&spec.name) else {
            continue;
        };
        let g: Vec<&blindtune_client::tensors::OutputTensor> = if spec.repeated {
            got.trips(&spec.name)
        } else {
            got.get(&spec.name).into_iter().collect()
        };
        let (mut worst, mut sum, mut n) = (0f64, 0f64, 0usize);
        let mut accuracy = Vec::new();
        for (gt, wv) in g.iter().zip(w) {
            for (a, b) in gt.data.iter().zip(wv) {
                let e = (a - b).abs();
                worst = worst.max(e);
                sum += e;
                n += 1;
            }
            if let Some(labels) = spec.against.as_ref().and_then(|l| data.get(l)) {
                let [rows, classes] = gt.matrix();
                if let Ok(y) = labels_of(labels, classes) {
                    if y.len() == rows {
                        let enc = score_logits(&gt.data, rows, classes, &y).accuracy;
                        let pla = score_logits(wv, rows, classes, &y).accuracy;
                        accuracy.push((enc, pla));
                    }
                }
            }
        }
        let bits = |e: f64| if e > 0.0 { -e.log2() } else { 52.0 };
        out.push(OutputCompare {
            name: spec.name.clone(),
            min_bits: bits(worst),
            mean_bits: bits(sum / n.max(1) as f64),
            accuracy,
        });
    }
    out
}

pub fn print_compare(rows: &[OutputCompare]) {
    println!(
        "{:<14} {:>10} {:>10}  accuracy per trip (encrypted / plaintext)",
        "output", "min bits", "mean bits"
    );
    for r in rows {
        let acc: Vec<String> = r
            .accuracy
            .iter()
            .map(|(e, p)| format!("{:.2}/{:.2}", 100.0 * e, 100.0 * p))
            .collect();
        println!(
            "{:<14} {:>10.1} {:>10.1}  {}",
            r.name,
            r.min_bits,
            r.mean_bits,
            acc.join(" ")
        );
    }
}

pub fn run(args: Args) -> miette::Result<()> {
    let plan = load_plan(&args.plan)?;
    let data = load_data(&args.data).map_err(|e| miette!("{e}"))?;
    let (got, secs) = simulate(&plan, &data, !args.exact, args.seed, args.quiet)?;
    eprintln!(
        "simulated in {secs:.1} s ({} noise)",
        if args.exact { "no" } else { "modelled" }
    );
    if let Some(p) = &args.program {
        let want = reference(p, &plan, &data)?;
        let rows = compare(&plan, &got, &want, &data);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&rows).unwrap());
        } else {
            print_compare(&rows);
        }
    } else {
        for t in got.finals.iter().chain(&got.repeated) {
            println!("{} {:?}: {} values", t.tensor_name(), t.shape, t.data.len());
        }
    }
    Ok(())
}
