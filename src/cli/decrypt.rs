//! `blindtune decrypt --plan P --keys keys/ --model model/ --out head.safetensors` (data
//! owner): the cloud's model directory decrypted with the secret key. Final outputs go to
//! `--out` (named like the outputs: `weights`, `bias`), repeated ones (validation logits per
//! epoch) to `<stem>.trips.safetensors`. With `--data`, each repeated output recorded
//! `against` labels is scored per trip (the labels never left the owner); `--plot` draws
//! those scores. Work: `blindtune_client::owner::decrypt`.

use std::path::PathBuf;

use blindtune_client::dataset::load_data;
use blindtune_client::evaluate::{labels_of, score_logits, Score};
use blindtune_client::owner::decrypt;
use blindtune_client::plot::{plot_training_curve, Curve};
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
    /// The model directory the cloud returned.
    #[arg(long)]
    model: PathBuf,
    /// The head to write (safetensors, f64).
    #[arg(long)]
    out: PathBuf,
    /// Data with the labels repeated outputs are scored against (e.g. test_y); repeatable.
    #[arg(long)]
    data: Vec<String>,
    /// Print the per-trip scores as JSON.
    #[arg(long)]
    json: bool,
    /// Plot the per-trip scores (.svg or .png).
    #[arg(long)]
    plot: Option<PathBuf>,
}

pub fn run(args: Args) -> miette::Result<()> {
    let plan = load_plan(&args.plan)?;
    let s = decrypt(&plan, &args.keys, &args.model, &args.out).map_err(|e| miette!("{e}"))?;
    let mut scores: Vec<(String, Vec<Vec<u64>>, Vec<Score>)> = Vec::new();
    if !args.data.is_empty() {
        let data = load_data(&args.data).map_err(|e| miette!("{e}"))?;
        for o in plan.outputs.iter().filter(|o| o.repeated) {
            let Some(against) = &o.against else { continue };
            let labels = data.get(against).ok_or_else(|| {
                miette!(
                    "output `{}` is scored against `{against}`, which --data does not have",
                    o.name
                )
            })?;
            let (mut trips, mut per) = (Vec::new(), Vec::new());
            for t in s.outputs.trips(&o.name) {
                let [rows, classes] = t.matrix();
                let y = labels_of(labels, classes).map_err(|m| miette!("`{against}`: {m}"))?;
                if y.len() != rows {
                    return Err(miette!(
                        "`{against}` has {} labels for {rows} rows of `{}`",
                        y.len(),
                        o.name
                    ));
                }
                trips.push(t.trips.clone());
                per.push(score_logits(&t.data, rows, classes, &y));
            }
            scores.push((o.name.clone(), trips, per));
        }
    }
    if args.json {
        let v: Vec<_> = scores
            .iter()
            .map(|(name, trips, per)| serde_json::json!({"output": name, "trips": trips, "scores": per}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        println!(
            "{} final output(s) -> {}",
            s.outputs.finals.len(),
            s.head.display()
        );
        for t in &s.outputs.finals {
            println!("  {:<16} {:?}", t.name, t.shape);
        }
        if let Some(p) = &s.trips_file {
            println!(
                "{} per-trip value(s) -> {}",
                s.outputs.repeated.len(),
                p.display()
            );
        }
        for (name, trips, per) in &scores {
            println!("\n{name}: trip  accuracy  loss");
            for (t, sc) in trips.iter().zip(per) {
                println!("  {:>8?}  {:>7.2}%  {:.4}", t, sc.accuracy * 100.0, sc.loss);
            }
        }
    }
    if let Some(path) = &args.plot {
        let curves: Vec<Curve> = scores
            .iter()
            .map(|(name, _, per)| Curve {
                name: format!("{name} (encrypted)"),
                loss: per.iter().map(|s| s.loss).collect(),
                accuracy: per.iter().map(|s| s.accuracy).collect(),
            })
            .collect();
        if curves.is_empty() {
            return Err(miette!(
                "--plot needs --data with the labels of a repeated output"
            ));
        }
        plot_training_curve(path, &curves).map_err(|e| miette!("{e}"))?;
        if !args.json {
            println!("plot -> {}", path.display());
        }
    }
    Ok(())
}
