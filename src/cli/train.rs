//! `blindtune train --plan P --eval-keys keys/eval.bin --data enc/ --out model/` (cloud role):
//! runs a plan on the encrypted dataset with the evaluation bundle alone. Its code path has no
//! way to open a secret key: it takes one file, loaded by the bundle loader, which accepts only
//! the evaluation-bundle kind and refuses any file with the secret flag; nothing under the
//! owner's key directory is read. Work: `blindtune_client::cloud` and the runtime executor.
//! `--early-stopping`: after each epoch the run waits for the owner's decision file
//! (`blindtune_client::cloud::AwaitDecisions`) and ends the epoch loop on `stop`.
//!
//! Checkpoints: `--checkpoint-every K` writes `OUT/checkpoint.bin` atomically every K trips
//! of the innermost loop (`blindtune_client::cloud::checkpoint`); after a crash or `kill -9`
//! at any point, `--resume` continues from it (keeping the outputs already written) and ends
//! with a model bit-identical to an uninterrupted run's. The checkpoint is removed when the
//! run completes, so a model directory that still has one is unfinished.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use blindtune_client::cloud::{
    checkpoint_path, cpu_backend, load_eval_bundle, AwaitDecisions, Checkpointer,
    EncryptedDirSource, ModelDirSink, TrainCheckpoint,
};
use blindtune_runtime::backend::CpuBackend;
use blindtune_runtime::circuits::bootstrapping::Bootstrapper;
use blindtune_runtime::executor::{plan_id, ExecError, Executor, Observer};
use blindtune_runtime::plan::params::resolve;
use blindtune_runtime::plan::Plan;
use miette::miette;

use super::load_plan;
use super::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// The compiled plan (JSON or binary).
    #[arg(long)]
    pub plan: PathBuf,
    /// The evaluation-key bundle (`keys/eval.bin` from keygen); never the key directory.
    #[arg(long)]
    pub eval_keys: PathBuf,
    /// The encrypted dataset directory from `encrypt`.
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the encrypted model (outputs).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing model directory.
    #[arg(long)]
    pub force: bool,
    /// Write a checkpoint (`OUT/checkpoint.bin`, atomically) every K trips of the innermost
    /// loop (mini-batches), so that a killed run can continue with `--resume`.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// Continue an interrupted run from `OUT/checkpoint.bin`, keeping the outputs it wrote; the
    /// model ends bit-identical to an uninterrupted run's. Checkpoints go on at the recorded
    /// interval unless `--checkpoint-every` gives another.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Hide progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Write what the run measured (time per trip and per operation, bootstraps, peak
    /// memory) as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// After each epoch, wait for the data owner's decision (`blindtune validate`) in
    /// OUT/decisions/ and stop training when it says stop.
    #[arg(long)]
    pub early_stopping: bool,
    /// How long to wait for each decision, in seconds.
    #[arg(long, default_value_t = 3600.0, requires = "early_stopping")]
    pub decision_timeout: f64,
}

/// What a training run measured.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct TrainReport {
    pub seconds: f64,
    pub trip_seconds: Vec<f64>,
    pub bootstraps: u64,
    pub peak_live: usize,
    pub phases: std::collections::BTreeMap<String, f64>,
    pub peak_rss_mib: f64,
    /// the epochs run when the owner's decision stopped training early
    #[serde(default)]
    pub stopped_after_epochs: Option<u64>,
    /// checkpoints written by this run
    #[serde(default)]
    pub checkpoints: u64,
}

/// Peak resident memory of this process so far.
pub fn peak_rss_mib() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

pub fn train(args: &Args) -> miette::Result<TrainReport> {
    let plan = load_plan(&args.plan)?;
    let ckpt = checkpoint_path(&args.out);
    if !args.resume && !args.force && ckpt.is_file() {
        return Err(miette!(
            "{}: the model directory holds the checkpoint of an unfinished run; continue it with \
             --resume, or start over with --force",
            ckpt.display()
        ));
    }
    if args.resume && !ckpt.is_file() {
        return Err(miette!(
            "{}: no checkpoint to resume from (the run finished, was killed before its first \
             checkpoint, or ran without --checkpoint-every); start over with --force",
            ckpt.display()
        ));
    }
    let (ctx, bundle) = load_eval_bundle(&plan, &args.eval_keys).map_err(|e| miette!("{e}"))?;
    let backend = cpu_backend(&ctx, &bundle).map_err(|e| miette!("{e}"))?;
    let pp = resolve(&plan.params, plan.insecure).map_err(|e| miette!("{e}"))?;
    let mut source = EncryptedDirSource::open(&plan, &args.data).map_err(|e| miette!("{e}"))?;
    let dims = source.dims().clone();
    // The checkpoint is checked before the bootstrapper is built and before the model
    // directory is touched.
    let resumed = if args.resume {
        let c = TrainCheckpoint::load(
            &ctx,
            &ckpt,
            &plan,
            &plan_id(&plan),
            source.manifest_blake3(),
        )
        .map_err(|e| miette!("{e}"))?;
        source.seek(&c.cursors, &ckpt).map_err(|e| miette!("{e}"))?;
        Some(c)
    } else {
        None
    };
    let boot = match (&pp.bootstrapping, plan.bootstrapping) {
        (Some(cfg), true) => Some(
            Bootstrapper::with_backend(backend, cfg.clone())
                .map_err(|e| miette!("bootstrapping: {e}"))?,
        ),
        (None, true) => {
            return Err(miette!(
                "the plan bootstraps but its parameter set `{}` cannot",
                plan.params
            ))
        }
        _ => None,
    };
    let plain_backend;
    let (be, bt) = match &boot {
        Some(b) => (b.backend(), Some(b)),
        None => {
            plain_backend = cpu_backend(&ctx, &bundle).map_err(|e| miette!("{e}"))?;
            (&plain_backend, None)
        }
    };
    let mut ex = Executor::new(&plan, be, bt).map_err(|e| miette!("{e}"))?;
    ex.check_inputs(&source).map_err(|e| miette!("{e}"))?;
    let sink = match &resumed {
        Some(c) => ModelDirSink::reopen(&plan, &args.out, dims, &c.outputs, &ckpt),
        None => ModelDirSink::create(&plan, &args.out, dims, args.force),
    }
    .map_err(|e| miette!("{e}"))?;
    let every = args.checkpoint_every.or(resumed.as_ref().map(|c| c.every));
    let trips_done = resumed.as_ref().map_or(0, |c| c.trips);

    let source = RefCell::new(source);
    let sink = RefCell::new(sink);
    let mut progress = Progress::new(&["epoch", "batch"], args.quiet);
    let mut decisions = early_stopping(&plan, args)?;
    let (result, checkpoints) = {
        let mut checkpointer = None;
        let first: &mut dyn Observer<CpuBackend> = match every {
            Some(k) => checkpointer.insert(Checkpointer::new(
                &plan,
                be.context(),
                &source,
                &sink,
                &mut progress,
                k,
                trips_done,
            )),
            None => &mut progress,
        };
        // the checkpoint is written at the end of a trip, before the owner's decision is
        // read, so a run resumed there asks again
        let mut observer = (first, decisions.as_mut());
        let (mut src, mut snk) = (&source, &sink);
        let result = match resumed {
            Some(c) => ex.resume(&mut src, &mut snk, &mut observer, c.state),
            None => ex.run_with(&mut src, &mut snk, &mut observer),
        };
        (
            result,
            checkpointer.map_or(0, |c: Checkpointer| c.written()),
        )
    };
    let report = result.map_err(|e| match e {
        ExecError::Resume(_) => miette!("{}: {e}", ckpt.display()),
        e => miette!("{}: {e}", args.plan.display()),
    })?;
    progress.finish();
    // The model is complete: its checkpoint would only resume a finished run.
    match std::fs::remove_file(&ckpt) {
        Ok(()) => blindtune_client::files::sync_dir(&args.out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(miette!("{}: {e}", ckpt.display())),
    }
    Ok(TrainReport {
        seconds: report.seconds,
        trip_seconds: progress.trip_seconds,
        bootstraps: report.bootstraps,
        peak_live: report.peak_live_ciphertexts,
        phases: progress
            .seconds
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        peak_rss_mib: peak_rss_mib(),
        stopped_after_epochs: decisions
            .and_then(|d| d.stopped_after)
            .and_then(|t| t.last().map(|e| e + 1)),
        checkpoints,
    })
}

/// With `--early-stopping`: the observer that awaits the owner's decision after each epoch.
fn early_stopping(plan: &Plan, args: &Args) -> miette::Result<Option<AwaitDecisions>> {
    if !args.early_stopping {
        return Ok(None);
    }
    if !(args.decision_timeout.is_finite() && args.decision_timeout >= 0.0) {
        return Err(miette!(
            "--decision-timeout {} is not a number of seconds",
            args.decision_timeout
        ));
    }
    let d = AwaitDecisions::new(
        plan,
        &args.out,
        Duration::from_secs_f64(args.decision_timeout),
    )
    .map_err(|e| miette!("--early-stopping: {e}"))?;
    eprintln!(
        "early stopping: after each epoch of {} the run waits for {}/decisions/epoch-NNNNN.json",
        d.validation().path,
        args.out.display()
    );
    Ok(Some(d))
}

pub fn run(args: Args) -> miette::Result<()> {
    let r = train(&args)?;
    if let Some(path) = &args.report {
        super::write_atomic(path, serde_json::to_string_pretty(&r).unwrap().as_bytes())?;
    }
    if let Some(e) = r.stopped_after_epochs {
        eprintln!("stopped early after {e} epoch(s), as the data holder decided");
    }
    eprintln!(
        "trained in {:.1} s: {} bootstraps, peak {} live ciphertexts{}; model in {}",
        r.seconds,
        r.bootstraps,
        r.peak_live,
        if r.checkpoints > 0 {
            format!(", {} checkpoints", r.checkpoints)
        } else {
            String::new()
        },
        args.out.display()
    );
    Ok(())
}
