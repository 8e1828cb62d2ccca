//! `blindtune bench train`: one encrypted training iteration of a program, measured, per
//! compiler mode (by default the optimized plan and the `--naive` one), beside each plan's
//! estimate, with the time split by operation. The same flow as `demo` (keygen and train as
//! separate processes, the cloud with the evaluation bundle only) on the bundled Fashion-MNIST
//! features: one batch, one epoch.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use blindtune_client::dataset::load_data;
use blindtune_client::encrypt::{encrypt, EncryptOptions};
use blindtune_compiler::interp::DataSet;
use blindtune_compiler::pipeline::{compile, CompileOptions, Mode};
use miette::{miette, IntoDiagnostic};

use super::demo::{batch_loop_estimate, keygen_child, rows_of, run_child, threads_label};
use super::train::TrainReport;

#[derive(clap::Args)]
pub struct Args {
    /// The training program (inputs as `demo`'s).
    #[arg(long, default_value = "examples/hetal_head_fast.bt")]
    pub program: PathBuf,
    /// Compiler modes to measure, in order: `optimized`, `halo`, `egraph`, `naive`.
    #[arg(long, value_delimiter = ',', default_value = "optimized,naive")]
    pub modes: Vec<String>,
    /// Rows of the one batch (the block's rows at most; HETAL's 1024, as `demo`).
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    /// Test rows scored after the epoch.
    #[arg(long, default_value_t = 128)]
    pub test_rows: usize,
    #[arg(long, default_value = "n16-boot")]
    pub params: String,
    #[arg(long)]
    pub allow_insecure: bool,
    /// Working directory (plans, keys, encrypted data, reports).
    #[arg(long, default_value = "bench-out")]
    pub out: PathBuf,
    /// Also write the results as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub quiet: bool,
}

/// One mode's measurement.
#[derive(serde::Serialize)]
pub struct Row {
    pub mode: String,
    pub bootstraps_per_iteration: u64,
    pub estimate_s: f64,
    /// the thread count of the cost table the estimate used (the run's, where one ships)
    pub estimate_threads: usize,
    pub measured_s: f64,
    /// measured seconds by operation over the iteration
    pub phases: BTreeMap<String, f64>,
    pub keygen_s: f64,
    pub peak_rss_mib: f64,
}

fn mode_of(name: &str) -> miette::Result<Mode> {
    match name {
        "optimized" => Ok(Mode::Optimized),
        "halo" => Ok(Mode::Halo),
        "naive" => Ok(Mode::Naive),
        "egraph" => Ok(Mode::Egraph),
        other => Err(miette!(
            "--modes: `{other}` is not `optimized`, `halo`, `egraph` or `naive`"
        )),
    }
}

pub fn run(args: Args) -> miette::Result<()> {
    let modes: Vec<Mode> = args
        .modes
        .iter()
        .map(|m| mode_of(m))
        .collect::<miette::Result<_>>()?;
    let file = "data/deit-fmnist/fmnist_features.safetensors";
    let all = load_data(&[file.to_string()]).map_err(|e| miette!("{e}"))?;
    let mut data = DataSet::new();
    for (k, t) in &all {
        let t = match k.as_str() {
            "train_x" | "train_y" => rows_of(t, args.batch),
            "test_x" | "test_y" => rows_of(t, args.test_rows),
            _ => t.clone(),
        };
        data.insert(k.clone(), t);
    }
    let params = vec!["EPOCHS=1".to_string(), format!("B={}", args.batch)];
    let cp = super::check::compile(&args.program, &params, false)?;
    let text = std::fs::read_to_string(&args.program).into_diagnostic()?;
    println!(
        "bench train: {} at {}, one iteration (a batch of {} rows, {} test rows), modes {}",
        args.program.display(),
        args.params,
        args.batch,
        args.test_rows,
        args.modes.join(", ")
    );
    let mut rows = Vec::new();
    for (name, mode) in args.modes.iter().zip(modes) {
        let dir = args.out.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).into_diagnostic()?;
        let opts = CompileOptions {
            params: Some(args.params.clone()),
            allow_insecure: args.allow_insecure,
            mode,
            source_name: args.program.display().to_string(),
            source_text: text.clone(),
            param_values: params
                .iter()
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            assume_dims: BTreeMap::from([
                ("N".to_string(), args.batch),
                ("T".to_string(), args.test_rows),
            ]),
            ..Default::default()
        };
        let plan = compile(&cp, &opts)
            .map_err(|e| miette!("{}: {e}", args.program.display()))?
            .plan;
        let plan_path = dir.join("plan.bin");
        plan.save(&plan_path).map_err(|e| miette!("{e}"))?;
        let (est_ms, boots, est_threads) = batch_loop_estimate(&plan);
        println!(
            "[{name}] {boots} bootstraps per iteration, estimate {:.1} s ({})",
            est_ms / 1e3,
            threads_label(est_threads)
        );

        let keys = dir.join("keys");
        let t = Instant::now();
        keygen_child(&plan_path, &keys)?;
        let keygen_s = t.elapsed().as_secs_f64();
        let enc = dir.join("enc");
        encrypt(
            &plan,
            &keys,
            &data,
            &enc,
            &EncryptOptions {
                progress: false,
                force: true,
            },
        )
        .map_err(|e| miette!("{e}"))?;
        let report = dir.join("train-report.json");
        let model = dir.join("model");
        let eval = keys.join("eval.bin");
        let mut targs: Vec<&std::ffi::OsStr> = vec![
            "train".as_ref(),
            "--plan".as_ref(),
            plan_path.as_os_str(),
            "--eval-keys".as_ref(),
            eval.as_os_str(),
            "--data".as_ref(),
            enc.as_os_str(),
            "--out".as_ref(),
            model.as_os_str(),
            "--force".as_ref(),
            "--report".as_ref(),
            report.as_os_str(),
        ];
        if args.quiet {
            targs.push("--quiet".as_ref());
        }
        run_child("train", &targs)?;
        let tr: TrainReport = serde_json::from_slice(&std::fs::read(&report).into_diagnostic()?)
            .map_err(|e| miette!("{}: {e}", report.display()))?;
        // the keys are gigabytes: keep the plan and the report only
        let _ = std::fs::remove_dir_all(&keys);
        let _ = std::fs::remove_dir_all(&enc);
        let measured = tr.trip_seconds.iter().sum::<f64>() / tr.trip_seconds.len().max(1) as f64;
        rows.push(Row {
            mode: name.clone(),
            bootstraps_per_iteration: boots,
            estimate_s: est_ms / 1e3,
            estimate_threads: est_threads,
            measured_s: measured,
            phases: tr.phases.clone(),
            keygen_s,
            peak_rss_mib: tr.peak_rss_mib,
        });
    }
    print_table(&rows);
    if let Some(path) = &args.json {
        super::write_atomic(
            path,
            serde_json::to_string_pretty(&rows).unwrap().as_bytes(),
        )?;
    }
    Ok(())
}

fn print_table(rows: &[Row]) {
    let group = |r: &Row, names: &[&str]| -> f64 {
        r.phases
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v)
            .sum()
    };
    println!();
    if let Some(r) = rows.first() {
        println!(
            "measured on {}; estimates from the cost table for {}",
            threads_label(rayon::current_num_threads()),
            threads_label(r.estimate_threads)
        );
    }
    println!(
        "| mode | bootstraps / iter | estimate s / iter | measured s / iter | measured / estimate | bootstrap s | rotations s | products s | polynomials s | other s | peak RSS of train |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let boot = group(r, &["bootstrap"]);
        let rot = group(r, &["rotate", "rotate_hoisted"]);
        let mul = group(r, &["mul", "mul_plain"]);
        let poly = group(r, &["poly"]);
        let all: f64 = r.phases.values().sum();
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} GiB |",
            r.mode,
            r.bootstraps_per_iteration,
            r.estimate_s,
            r.measured_s,
            r.measured_s / r.estimate_s,
            boot,
            rot,
            mul,
            poly,
            all - boot - rot - mul - poly,
            r.peak_rss_mib / 1024.0
        );
    }
    if let (Some(o), Some(n)) = (
        rows.iter().find(|r| r.mode == "optimized"),
        rows.iter().find(|r| r.mode == "naive"),
    ) {
        println!();
        println!(
            "optimized vs naive: measured {:.2}× ({:.1} vs {:.1} s per iteration), estimated {:.2}×",
            n.measured_s / o.measured_s,
            o.measured_s,
            n.measured_s,
            n.estimate_s / o.estimate_s
        );
    }
}
