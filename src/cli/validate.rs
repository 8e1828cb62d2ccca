//! `blindtune validate --plan P --keys keys/ --model model/ --labels data.safetensors
//! [--patience P] [--metric loss|accuracy] [--watch]` (data owner): HETAL's encrypted
//! validation and early stopping. Decrypts each epoch's validation logits the cloud wrote into
//! the model directory, scores them against the labels (which never leave the owner), prints a
//! table, keeps the best epoch, and writes the decision the cloud (`train --early-stopping`)
//! reads before the next epoch: stop once `--patience` epochs in a row have not improved.
//! `--watch` keeps going until the run writes its final outputs or the decision is stop.
//! Work: `blindtune_client::owner::validate`.

use std::path::PathBuf;
use std::time::Duration;

use blindtune_client::dataset::load_data;
use blindtune_client::decision::Verdict;
use blindtune_client::early_stopping::{Metric, Policy};
use blindtune_client::owner::{validate, EpochRow, ValidateOptions};
use miette::miette;

use super::load_plan;

#[derive(clap::Args)]
pub struct Args {
    /// The compiled plan (JSON or binary).
    #[arg(long)]
    plan: PathBuf,
    /// The key directory from `keygen` (its secret.key is read).
    #[arg(long)]
    keys: PathBuf,
    /// The model directory the cloud writes (decisions go to its decisions/).
    #[arg(long)]
    model: PathBuf,
    /// The labels the validation output is scored against (e.g. the data file with test_y,
    /// as `evaluate --data` takes it, or test_y=FILE.npy); repeatable.
    #[arg(long, alias = "data", required = true)]
    labels: Vec<String>,
    /// Epochs in a row without improvement that are tolerated; the next one stops training
    /// (0: stop at the first epoch that does not improve).
    #[arg(long, default_value_t = 3)]
    patience: u64,
    /// What an epoch is judged by: loss (lower is better) or accuracy (higher is better).
    #[arg(long, default_value = "loss")]
    metric: Metric,
    /// How much better than the best an epoch must be to count as an improvement.
    #[arg(long, default_value_t = 0.0)]
    min_delta: f64,
    /// Stop once this many epochs have been validated, improving or not.
    #[arg(long)]
    max_epochs: Option<u64>,
    /// The validation output (default: the plan's only repeated output scored against labels).
    #[arg(long)]
    output: Option<String>,
    /// Keep watching the model directory until the run finishes or the decision is stop.
    #[arg(long)]
    watch: bool,
    /// With --watch: give up when no new epoch arrives for this many seconds.
    #[arg(long, requires = "watch")]
    timeout: Option<f64>,
    /// Print the epochs as JSON at the end instead of a table.
    #[arg(long)]
    json: bool,
}

fn seconds(flag: &str, s: f64) -> miette::Result<Duration> {
    if s.is_finite() && s >= 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(miette!("{flag} {s} is not a number of seconds"))
    }
}

fn print_row(r: &EpochRow) {
    let epoch = r
        .trips
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(".");
    let note = match (r.decision, r.kept) {
        (Verdict::Stop, _) if !r.step.reason.is_empty() && !r.kept => {
            format!("stop: {}", r.step.reason)
        }
        (d, true) => format!("{d} (decided before)"),
        (d, false) => d.to_string(),
    };
    println!(
        "{epoch:>6}  {:>8.2}%  {:>8.4}  {:>4}  {note}",
        r.score.accuracy * 100.0,
        r.score.loss,
        if r.step.improved { "*" } else { "" },
    );
}

pub fn run(args: Args) -> miette::Result<()> {
    if !(args.min_delta.is_finite() && args.min_delta >= 0.0) {
        return Err(miette!("--min-delta {} must be ≥ 0", args.min_delta));
    }
    if args.max_epochs == Some(0) {
        return Err(miette!("--max-epochs must be at least 1"));
    }
    let plan = load_plan(&args.plan)?;
    let labels = load_data(&args.labels).map_err(|e| miette!("{e}"))?;
    let opts = ValidateOptions {
        output: args.output.clone(),
        policy: Policy {
            metric: args.metric,
            patience: args.patience,
            min_delta: args.min_delta,
            max_epochs: args.max_epochs,
        },
        watch: args.watch,
        timeout: args.timeout.map(|t| seconds("--timeout", t)).transpose()?,
        ..ValidateOptions::default()
    };
    if !args.json {
        println!(
            "validating by {} (patience {}){}",
            args.metric,
            args.patience,
            if args.watch { ", watching" } else { "" }
        );
        println!(" epoch  accuracy      loss  best  decision");
    }
    let json = args.json;
    let v = validate(&plan, &args.keys, &args.model, &labels, &opts, &mut |r| {
        if !json {
            print_row(r)
        }
    })
    .map_err(|e| miette!("{e}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        return Ok(());
    }
    if v.rows.is_empty() {
        println!(
            "  (no epoch of `{}` in {} yet)",
            v.output,
            args.model.display()
        );
    }
    if let Some(b) = v.best() {
        println!(
            "best: epoch {:?}, accuracy {:.2}%, loss {:.4}",
            b.trips,
            b.score.accuracy * 100.0,
            b.score.loss
        );
    }
    match (&v.stopped_after, v.finished) {
        (Some(t), _) => println!("decision: stop after epoch {t:?}"),
        (None, true) => println!("the run has finished"),
        (None, false) => println!("decision: continue"),
    }
    Ok(())
}
