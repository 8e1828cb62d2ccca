//! `blindtune run --plaintext FILE --data DATA`: the f64 reference interpreter on real data.

use blindtune_compiler::diagnostics::SourceMap;
use blindtune_compiler::interp::{self, DataSet, RunResult};
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};
use miette::{miette, Result};
use std::path::PathBuf;

#[derive(ClapArgs)]
pub struct Args {
    /// Evaluate in plaintext f64 (the reference semantics; the only mode so far).
    #[arg(long)]
    pub plaintext: bool,
    /// The .bt program.
    pub file: PathBuf,
    /// A .safetensors file (inputs by tensor name) or NAME=FILE.npy; repeatable.
    #[arg(long, value_name = "FILE|NAME=FILE.npy", required = true)]
    pub data: Vec<String>,
    /// Use the exact functions instead of every polynomial approximation.
    #[arg(long)]
    pub exact: bool,
    /// Run twice, approximate and exact, and report the difference.
    #[arg(long, conflicts_with = "exact")]
    pub compare: bool,
    /// Seed of the mini-batch shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Override a parameter: `--param EPOCHS=3`.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Also write the outputs and scores as JSON here (every per-iteration value of outputs
    /// recorded inside loops, under "values").
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Exit 0 even when a range assumption is violated or an output or carried value is NaN
    /// or infinite (the violations are still reported).
    #[arg(long)]
    pub allow_violations: bool,
    /// Fail when there are warnings (for CI).
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Load the `--data` arguments. A tensor name given by two of them is warning W0006 (the later
/// one is used); the warnings come back rendered.
fn load(data: &[String]) -> Result<(DataSet, Vec<String>)> {
    let mut ds = DataSet::new();
    let mut from: std::collections::BTreeMap<String, String> = Default::default();
    let mut warnings = vec![];
    let mut seen = |name: &str, d: &str, warnings: &mut Vec<String>| {
        if let Some(prev) = from.insert(name.to_string(), d.to_string()) {
            warnings.push(super::check::cli_warning(
                "W0006",
                &format!("input `{name}` is given twice: by `--data {prev}` and by `--data {d}`"),
                "the later one is used; drop the other",
            ));
        }
    };
    for d in data {
        if let Some((name, file)) = d.split_once('=') {
            let t = interp::load_npy(std::path::Path::new(file)).map_err(|e| miette!("{e}"))?;
            seen(name, d, &mut warnings);
            ds.insert(name.to_string(), t);
        } else if d.ends_with(".npy") {
            return Err(miette!(
                "--data {d}: name the input of a .npy file as NAME=FILE.npy"
            ));
        } else {
            let more =
                interp::load_safetensors(std::path::Path::new(d)).map_err(|e| miette!("{e}"))?;
            for name in more.keys() {
                seen(name, d, &mut warnings);
            }
            ds.extend(more);
        }
    }
    Ok((ds, warnings))
}

fn execute(
    p: &blindtune_compiler::CheckedProgram,
    ds: &DataSet,
    exact: bool,
    seed: u64,
    label: &str,
    sm: &SourceMap,
) -> Result<RunResult> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    let cb = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let opts = interp::Options {
        exact,
        seed,
        progress: Some(&cb),
    };
    let t0 = std::time::Instant::now();
    let r = interp::run(p, ds, &opts);
    bar.finish_and_clear();
    let r = r.map_err(|e| match interp::data_errors::diagnostic(p, &e, ds) {
        Some(d) => {
            eprint!("{}", blindtune_compiler::diagnostics::render(&d, sm));
            miette!("the data does not fit the program")
        }
        None => miette!("{e}"),
    })?;
    tracing::info!("{label}: {:.2}s", t0.elapsed().as_secs_f64());
    Ok(r)
}

fn report(r: &RunResult, sm: &SourceMap, label: &str) {
    println!("== {label}");
    for o in &r.outputs {
        let Some(last) = o.values.last() else {
            continue;
        };
        let norm = last.iter().map(|v| v * v).sum::<f64>().sqrt();
        println!(
            "output {}: shape {:?}, {} value(s), last: l2 norm {:.6}, first {:?}",
            o.name,
            last.shape(),
            o.values.len(),
            norm,
            last.iter()
                .take(4)
                .map(|v| (v * 1e6).round() / 1e6)
                .collect::<Vec<_>>()
        );
        if let Some(s) = o.scores.last() {
            let best = o
                .scores
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.accuracy.total_cmp(&b.1.accuracy))
                .map(|(i, s)| (i + 1, s.accuracy))
                .unwrap_or((0, 0.0));
            let per: Vec<String> = o
                .scores
                .iter()
                .map(|s| format!("{:.2}", 100.0 * s.accuracy))
                .collect();
            println!(
                "  accuracy: final {:.2}% (loss {:.4}), best {:.2}% at evaluation {}",
                100.0 * s.accuracy,
                s.loss,
                100.0 * best.1,
                best.0
            );
            println!("  per evaluation: {}", per.join(" "));
        }
    }
    let _ = sm;
}

pub fn run(args: Args) -> Result<()> {
    if !args.plaintext {
        return Err(miette!(
            "only `--plaintext` evaluation exists so far; add `--plaintext`"
        ));
    }
    let (overrides, mut cli_warnings) = super::check::parse_params(&args.params)?;
    let c = blindtune_compiler::check_file(&args.file, overrides)
        .map_err(|e| miette!("cannot read {}: {e}", args.file.display()))?;
    if !c.diagnostics.is_empty() {
        eprint!("{}", c.rendered_diagnostics());
    }
    let Some(p) = c.program.as_ref() else {
        return Err(miette!("{} has errors", args.file.display()));
    };
    let (ds, data_warnings) = load(&args.data)?;
    cli_warnings.extend(data_warnings);
    for w in &cli_warnings {
        eprint!("{w}");
    }
    super::check::deny(
        super::check::warnings(&c) + cli_warnings.len(),
        args.deny_warnings,
    )?;
    let mut json = serde_json::Map::new();
    let runs: Vec<(bool, &str)> = if args.compare {
        vec![(false, "approximate"), (true, "exact")]
    } else {
        vec![(args.exact, if args.exact { "exact" } else { "approximate" })]
    };
    let mut results = vec![];
    let mut violations = 0usize;
    for (exact, label) in runs {
        let r = execute(p, &ds, exact, args.seed, label, &c.sources)?;
        report(&r, &c.sources, label);
        for v in interp::violations(p, &r) {
            eprintln!("{}", v.render(&c.sources));
            violations += 1;
        }
        let outs: serde_json::Map<String, serde_json::Value> = r
            .outputs
            .iter()
            .map(|o| {
                let values: Vec<_> = o.values.iter().map(|a| serde_json::json!({"shape": a.shape(), "data": a.iter().collect::<Vec<_>>()})).collect();
                let last = values.last().cloned();
                (o.name.clone(), serde_json::json!({"last": last, "values": values, "accuracy": o.scores.iter().map(|s| s.accuracy).collect::<Vec<_>>(), "loss": o.scores.iter().map(|s| s.loss).collect::<Vec<_>>()}))
            })
            .collect();
        json.insert(label.to_string(), serde_json::Value::Object(outs));
        results.push(r);
    }
    if results.len() == 2 {
        println!("== approximate vs exact");
        for (a, e) in results[0].outputs.iter().zip(&results[1].outputs) {
            if let (Some(x), Some(y)) = (a.values.last(), e.values.last()) {
                let d =
                    x.iter()
                        .zip(y.iter())
                        .map(|(p, q)| (p - q).abs())
                        .fold(0.0, |m: f64, d| {
                            if m.is_nan() || d.is_nan() {
                                f64::NAN
                            } else {
                                m.max(d)
                            }
                        });
                print!("output {}: max |approx - exact| {d:.3e}", a.name);
                if let (Some(sa), Some(se)) = (a.scores.last(), e.scores.last()) {
                    print!(
                        ", accuracy {:.2}% vs {:.2}% ({:+.2} pt)",
                        100.0 * sa.accuracy,
                        100.0 * se.accuracy,
                        100.0 * (sa.accuracy - se.accuracy)
                    );
                }
                println!();
            }
        }
    }
    if let Some(path) = args.json {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        )
        .map_err(|e| miette!("cannot write {}: {e}", path.display()))?;
    }
    if violations > 0 && !args.allow_violations {
        return Err(miette!(
            "the run broke {violations} assumption{} the encrypted circuit relies on (reported above); pass --allow-violations to exit 0 anyway",
            if violations == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}
