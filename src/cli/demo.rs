//! `blindtune demo`: the main job. The whole privacy-preserving fine-tuning flow on the bundled
//! DeiT features, at 128-bit security with bootstrapping, compiled from a program in
//! `examples/` (not hand-written): compile → (simulate) → keygen → encrypt → train (the cloud,
//! evaluation keys only) → decrypt → evaluate, with the plaintext reference interpreter run on
//! the same rows, batches, hyper-parameters and iterations, a training-curve plot, and the
//! measured time per iteration beside the plan's estimate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blindtune_client::dataset::load_data;
use blindtune_client::encrypt::{encrypt, EncryptOptions};
use blindtune_client::evaluate::{labels_of, score_logits};
use blindtune_client::owner::decrypt;
use blindtune_client::plot::{plot_training_curve, Curve};
use blindtune_compiler::interp::{DataSet, Tensor};
use blindtune_compiler::pipeline::{compile, CompileOptions, Mode};
use miette::{miette, IntoDiagnostic};
use ndarray::{Axis, Slice};

use super::simulate;

#[derive(clap::Args)]
pub struct Args {
    /// Bundled features: `fmnist` (Fashion-MNIST, 10,000 train / 2,000 test rows) or `mnist5k`.
    #[arg(long, default_value = "fmnist")]
    pub dataset: String,
    /// A program in the blindtune language (its inputs: train_x, train_y, test_x, test_y,
    /// train_mean, train_std).
    #[arg(long, default_value = "examples/hetal_head_fast.bt")]
    pub program: PathBuf,
    /// Training rows: the first ones of Fashion-MNIST, evenly spread over MNIST-5k (sorted by class).
    #[arg(long)]
    pub rows: Option<usize>,
    /// Test rows scored after each epoch.
    #[arg(long)]
    pub test_rows: Option<usize>,
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Rows per batch (≤ the block's rows).
    #[arg(long)]
    pub batch: Option<usize>,
    /// About 4 minutes: one batch of 1024 rows, one epoch, 512 test rows.
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// The whole bundled training set, 2 epochs of batches of 1024 (about 50 minutes on 2
    /// cores for Fashion-MNIST's 10,000 rows; the time is reported).
    #[arg(long)]
    pub full: bool,
    /// The CKKS parameter set (default: the 128-bit bootstrappable `n16-boot`).
    #[arg(long, default_value = "n16-boot")]
    pub params: String,
    /// Allow an insecure test set (`test-boot9-insecure`), for trying the flow in seconds.
    #[arg(long)]
    pub allow_insecure: bool,
    /// Also predict precision and accuracy on the noise simulator first.
    #[arg(long)]
    pub simulate: bool,
    /// Working directory (plan, keys, encrypted data, model, head, plot).
    #[arg(long, default_value = "demo-out")]
    pub out: PathBuf,
    #[arg(long)]
    pub quiet: bool,
}

/// The plan's estimate per trip of its batch loop (a loop two deep, as in the HETAL heads) in
/// milliseconds, its bootstraps per trip, and the thread count the estimate is for: the
/// threads this process (and the `train` child it starts) runs on where a cost table ships
/// for that count, else the plan's own one-thread estimate.
pub fn batch_loop_estimate(plan: &blindtune_runtime::plan::Plan) -> (f64, u64, usize) {
    let threads = rayon::current_num_threads();
    match blindtune_compiler::plan::estimate_for_threads(plan, threads) {
        Some(e) if threads != 1 => {
            let (ms, boots) = batch_loop_of(&e);
            (ms, boots, threads)
        }
        _ => {
            let (ms, boots) = batch_loop_of(&plan.estimate);
            (ms, boots, 1)
        }
    }
}

/// Milliseconds and bootstraps per trip of the loop two deep in `e`.
fn batch_loop_of(e: &blindtune_runtime::plan::Estimate) -> (f64, u64) {
    let two_deep = |k: &String| k.matches("loop").count() == 2;
    let ms = e
        .per_trip_ms
        .iter()
        .find(|(k, _)| two_deep(k))
        .map(|(_, v)| *v)
        .unwrap_or(0.0);
    let boots = e
        .bootstraps
        .iter()
        .find(|(k, _)| two_deep(k))
        .map(|(_, v)| *v)
        .unwrap_or(0);
    (ms, boots)
}

/// "1 thread", "2 threads".
pub fn threads_label(n: usize) -> String {
    if n == 1 {
        "1 thread".into()
    } else {
        format!("{n} threads")
    }
}

/// Runs `blindtune ARGS` as a child process (the owner's key generation and the cloud's
/// training run apart, as they would on separate machines, so the memory of one is not held
/// by the other).
pub fn run_child(what: &str, args: &[&std::ffi::OsStr]) -> miette::Result<()> {
    let exe = std::env::current_exe().into_diagnostic()?;
    let status = std::process::Command::new(&exe)
        .args(args)
        .status()
        .into_diagnostic()?;
    if !status.success() {
        return Err(miette!("`blindtune {what}` failed ({status})"));
    }
    Ok(())
}

/// The owner's `blindtune keygen --plan PLAN --out KEYS`, in its own process.
pub fn keygen_child(plan: &Path, keys: &Path) -> miette::Result<()> {
    run_child(
        "keygen",
        &[
            "keygen".as_ref(),
            "--plan".as_ref(),
            plan.as_os_str(),
            "--out".as_ref(),
            keys.as_os_str(),
        ],
    )
}

/// `n` rows spread evenly over the whole set (row `⌊i·total/n⌋` for `i < n`): for a set whose
/// rows are sorted by class (the bundled MNIST-5k), so that a few hundred rows hold every class.
pub fn spread_rows(t: &Tensor, n: usize) -> Tensor {
    let total = t.data.shape()[0];
    let n = n.min(total);
    let idx: Vec<usize> = (0..n).map(|i| i * total / n).collect();
    Tensor {
        data: t.data.select(Axis(0), &idx),
        integer: t.integer,
    }
}

pub fn rows_of(t: &Tensor, n: usize) -> Tensor {
    let n = n.min(t.data.shape()[0]);
    Tensor {
        data: t.data.slice_axis(Axis(0), Slice::from(0..n)).to_owned(),
        integer: t.integer,
    }
}

pub fn run(args: Args) -> miette::Result<()> {
    let started = Instant::now();
    let file = match args.dataset.as_str() {
        "fmnist" => "data/deit-fmnist/fmnist_features.safetensors",
        "mnist5k" => "data/deit-fmnist/mnist5k_features.safetensors",
        other => {
            return Err(miette!(
                "--dataset {other}: the bundled sets are `fmnist` and `mnist5k`"
            ))
        }
    };
    let all = load_data(&[file.to_string()]).map_err(|e| miette!("{e}"))?;
    let total = all.get("train_x").map(|t| t.data.shape()[0]).unwrap_or(0);
    // HETAL's batch of 1024 rows: a batch's logits fill one block, so the softmax's and the
    // update's bootstraps are paid once per 1024 rows (about 2.3 min a batch on 2 cores at
    // n16-boot). Default: 2 epochs of 2 batches (4 iterations, 2 validation points), about 11
    // minutes; --quick: one iteration, about 4 minutes; --full: every row, 2 epochs.
    let (rows, test_rows, epochs, batch) = if args.quick {
        (1024, 512, 1, 1024)
    } else if args.full {
        (total, 2000, 2, 1024)
    } else {
        (2048, 1024, 2, 1024)
    };
    // a small test ring's block cannot hold 1024 rows of logits (HETAL's batch needs 2^15
    // slots): there, batches of 128 and, unless --full, a few of them (the flow in a minute)
    let slots = blindtune_runtime::plan::params::resolve(&args.params, args.allow_insecure)
        .map(|pp| pp.params.n() / 2)
        .map_err(|e| miette!("--params {}: {e}", args.params))?;
    let small = slots < 32768;
    let (rows, test_rows, batch) = if small && !args.full {
        (rows.min(256), test_rows.min(256), 128)
    } else if small {
        (rows, test_rows, 128)
    } else {
        (rows, test_rows, batch)
    };
    let rows = args.rows.unwrap_or(rows).min(total);
    let test_rows = args.test_rows.unwrap_or(test_rows);
    let epochs = args.epochs.unwrap_or(epochs);
    let batch = args.batch.unwrap_or(batch);
    let sorted = args.dataset == "mnist5k";
    let mut data = DataSet::new();
    for (k, t) in &all {
        let t = match k.as_str() {
            // MNIST-5k's rows are sorted by class: its first rows are all zeros
            "train_x" | "train_y" if sorted => spread_rows(t, rows),
            "test_x" | "test_y" if sorted => spread_rows(t, test_rows),
            "train_x" | "train_y" => rows_of(t, rows),
            "test_x" | "test_y" => rows_of(t, test_rows),
            _ => t.clone(),
        };
        data.insert(k.clone(), t);
    }
    let iterations = epochs * rows.div_ceil(batch);
    println!(
        "blindtune demo: {} ({} train rows, {} test rows of {file}), {} epoch(s) of batches of {batch} = {iterations} iteration(s), program {}, parameters {}",
        args.dataset,
        rows,
        test_rows,
        epochs,
        args.program.display(),
        args.params
    );
    std::fs::create_dir_all(&args.out).into_diagnostic()?;

    // 1. compile
    let params = vec![format!("EPOCHS={epochs}"), format!("B={batch}")];
    let cp = super::check::compile(&args.program, &params, false)?;
    let text = std::fs::read_to_string(&args.program).into_diagnostic()?;
    let mut opts = CompileOptions {
        params: Some(args.params.clone()),
        allow_insecure: args.allow_insecure,
        mode: Mode::Optimized,
        source_name: args
            .program
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        source_text: text,
        param_values: params
            .iter()
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        ..Default::default()
    };
    opts.assume_dims = BTreeMap::from([("N".to_string(), rows), ("T".to_string(), test_rows)]);
    let t = Instant::now();
    let compiled = compile(&cp, &opts).map_err(|e| miette!("{}: {e}", args.program.display()))?;
    let plan = compiled.plan;
    let plan_path = args.out.join("plan.bin");
    plan.save(&plan_path).map_err(|e| miette!("{e}"))?;
    let (batch_loop, boots_per_iter, est_threads) = batch_loop_estimate(&plan);
    println!(
        "compiled in {:.2} s: {} bootstraps per iteration, {} rotation keys, estimate {:.0} s per iteration ({}; {:.0} s on 1 thread)",
        t.elapsed().as_secs_f64(),
        boots_per_iter,
        plan.keys.galois_elements.len(),
        batch_loop / 1e3,
        threads_label(est_threads),
        batch_loop_of(&plan.estimate).0 / 1e3,
    );

    // 2. plaintext reference on the same rows, batches and iterations
    let reference = simulate::reference(&args.program, &plan, &data)?;

    // 3. simulator prediction
    let predicted = if args.simulate {
        let t = Instant::now();
        let (sim, _) = simulate::simulate(&plan, &data, true, 1, args.quiet)?;
        let rows = simulate::compare(&plan, &sim, &reference, &data);
        println!(
            "simulator ({:.1} s): predicted precision and accuracy",
            t.elapsed().as_secs_f64()
        );
        simulate::print_compare(&rows);
        Some(rows)
    } else {
        None
    };

    // 4. data owner: keys and encryption
    // The owner's key generation and the cloud's training run as separate processes, as they
    // would on separate machines (and so the memory of one is not held by the other).
    let keys = args.out.join("keys");
    let _ = std::fs::remove_dir_all(&keys);
    let t = Instant::now();
    keygen_child(&plan_path, &keys)?;
    println!(
        "keygen {:.1} s (secret key stays in {}; the cloud gets {} only)",
        t.elapsed().as_secs_f64(),
        keys.display(),
        keys.join("eval.bin").display()
    );
    let enc = args.out.join("enc");
    let t = Instant::now();
    let e = encrypt(
        &plan,
        &keys,
        &data,
        &enc,
        &EncryptOptions {
            progress: !args.quiet,
            force: true,
        },
    )
    .map_err(|e| miette!("{e}"))?;
    println!(
        "encrypt {:.1} s: {} ciphertexts in {}",
        t.elapsed().as_secs_f64(),
        e.ciphertexts,
        enc.display()
    );

    // 5. cloud: training with the evaluation bundle only
    let model = args.out.join("model");
    let report_path = args.out.join("train-report.json");
    let mut targs: Vec<&std::ffi::OsStr> = vec![
        "train".as_ref(),
        "--plan".as_ref(),
        plan_path.as_os_str(),
        "--eval-keys".as_ref(),
    ];
    let eval = keys.join("eval.bin");
    targs.push(eval.as_os_str());
    targs.extend([
        "--data".as_ref(),
        enc.as_os_str(),
        "--out".as_ref(),
        model.as_os_str(),
        "--force".as_ref(),
    ]);
    targs.extend(["--report".as_ref(), report_path.as_os_str()]);
    if args.quiet {
        targs.push("--quiet".as_ref());
    }
    run_child("train", &targs)?;
    let tr: super::train::TrainReport =
        serde_json::from_slice(&std::fs::read(&report_path).into_diagnostic()?)
            .map_err(|e| miette!("{}: {e}", report_path.display()))?;

    // 6. data owner: decrypt and score
    let head = args.out.join("head.safetensors");
    let d = decrypt(&plan, &keys, &model, &head).map_err(|e| miette!("{e}"))?;
    let test_y = data
        .get("test_y")
        .ok_or_else(|| miette!("no test_y in {file}"))?;
    let mut enc_curve = Curve {
        name: "encrypted".into(),
        loss: vec![],
        accuracy: vec![],
    };
    let mut pla_curve = Curve {
        name: "plaintext".into(),
        loss: vec![],
        accuracy: vec![],
    };
    let val = plan
        .outputs
        .iter()
        .find(|o| o.repeated && o.against.as_deref() == Some("test_y"));
    if let Some(v) = val {
        let want = reference.get(&v.name).cloned().unwrap_or_default();
        for (g, w) in d.outputs.trips(&v.name).iter().zip(&want) {
            let [r, c] = g.matrix();
            let y = labels_of(test_y, c).map_err(|m| miette!("test_y: {m}"))?;
            let se = score_logits(&g.data, r, c, &y);
            let sp = score_logits(w, r, c, &y);
            enc_curve.accuracy.push(se.accuracy);
            enc_curve.loss.push(se.loss);
            pla_curve.accuracy.push(sp.accuracy);
            pla_curve.loss.push(sp.loss);
        }
    }
    let plot = args.out.join("curve.svg");
    let plotted = plot_training_curve(&plot, &[enc_curve.clone(), pla_curve.clone()]);
    let n_iter = tr.trip_seconds.len().max(1);
    let measured = tr.trip_seconds.iter().sum::<f64>() / n_iter as f64;
    println!();
    println!("== result ({} iterations) ==", iterations);
    if let (Some(e), Some(p)) = (enc_curve.accuracy.last(), pla_curve.accuracy.last()) {
        println!(
            "test accuracy: encrypted {:.2}%  plaintext {:.2}%  (difference {:+.2} points); loss {:.4} vs {:.4}",
            100.0 * e,
            100.0 * p,
            100.0 * (e - p),
            enc_curve.loss.last().unwrap(),
            pla_curve.loss.last().unwrap()
        );
    }
    if !enc_curve.accuracy.is_empty() {
        println!("validation per epoch (decrypted logits vs the plaintext reference):");
        println!("  epoch  encrypted acc  plaintext acc  encrypted loss  plaintext loss");
        for (i, (ea, pa)) in enc_curve
            .accuracy
            .iter()
            .zip(&pla_curve.accuracy)
            .enumerate()
        {
            println!(
                "  {i:>5}  {:>12.2}%  {:>12.2}%  {:>14.4}  {:>14.4}",
                100.0 * ea,
                100.0 * pa,
                enc_curve.loss[i],
                pla_curve.loss[i]
            );
        }
    }
    if let Some(rows) = &predicted {
        if let Some(r) = rows.iter().find(|r| !r.accuracy.is_empty()) {
            let (pe, _) = r.accuracy.last().unwrap();
            println!("simulator predicted encrypted accuracy {:.2}%", 100.0 * pe);
        }
    }
    let weights_err = reference
        .get("weights")
        .zip(d.outputs.get("weights"))
        .map(|(w, g)| {
            w[0].iter()
                .zip(&g.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        });
    if let Some(e) = weights_err {
        println!(
            "weights: max |encrypted − plaintext| = {e:.2e} ({:.1} bits)",
            -e.log2()
        );
    }
    println!(
        "time per iteration: measured {:.1} s (this machine, {}) vs plan estimate {}; {} bootstraps per iteration",
        measured,
        threads_label(rayon::current_num_threads()),
        if batch_loop > 0.0 {
            format!(
                "{:.1} s ({}): measured / estimate {:.2}",
                batch_loop / 1e3,
                threads_label(est_threads),
                measured * 1e3 / batch_loop
            )
        } else {
            "none (no cost table ships for this parameter set)".into()
        },
        boots_per_iter
    );
    println!(
        "training {:.1} s, peak memory of `train` {:.0} MiB, whole demo {:.1} s",
        tr.seconds,
        tr.peak_rss_mib,
        started.elapsed().as_secs_f64()
    );
    let mut phases: Vec<(&String, &f64)> = tr.phases.iter().collect();
    phases.sort_by(|a, b| b.1.total_cmp(a.1));
    let top: Vec<String> = phases
        .iter()
        .take(6)
        .map(|(k, v)| format!("{k} {v:.1} s"))
        .collect();
    println!("time by operation: {}", top.join(", "));
    match plotted {
        Ok(()) => println!("training curve: {}", plot.display()),
        Err(e) => println!("training curve not drawn: {e}"),
    }
    println!("head: {}", Path::new(&head).display());
    Ok(())
}
