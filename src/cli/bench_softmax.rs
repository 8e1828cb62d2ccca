//! `blindtune bench softmax`: max and mean absolute error of each stdlib softmax against the
//! exact softmax on seeded uniform random rows (10 classes, 2×10^5 rows per input range by
//! default), evaluated through the reference interpreter, and each one's multiplicative depth.

use blindtune_compiler::interp::measure;
use clap::Args as ClapArgs;
use miette::Result;

#[derive(ClapArgs)]
pub struct Args {
    /// The softmax functions of `std::softmax` to measure.
    #[arg(long = "func", value_delimiter = ',', default_values_t = ["hetal".to_string(), "hetal_precise".to_string(), "fast".to_string()])]
    pub funcs: Vec<String>,
    /// Rows per input range.
    #[arg(long, default_value_t = 200_000)]
    pub rows: usize,
    /// Classes per row.
    #[arg(long, default_value_t = 10)]
    pub classes: usize,
    /// Input ranges: rows uniform in [-r, r].
    #[arg(long = "range", value_delimiter = ',', default_values_t = [4.0, 8.0, 32.0, 128.0])]
    pub ranges: Vec<f64>,
    /// Seed of the random rows (range i uses seed + i).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The logits' declared domain: HETAL's [-128, 128].
const DOMAIN: f64 = 128.0;

pub fn run(args: Args) -> Result<()> {
    if args.rows == 0 || args.classes < 2 {
        return Err(miette::miette!(
            "--rows must be positive and --classes at least 2"
        ));
    }
    let mut results = Vec::new();
    for f in &args.funcs {
        let depth = measure::function_depth("softmax", f, args.classes, DOMAIN)?;
        let mut per_range = Vec::new();
        for (i, &r) in args.ranges.iter().enumerate() {
            if !(r > 0.0 && r <= DOMAIN) {
                return Err(miette::miette!(
                    "--range {r}: ranges go from 0 (excluded) to {DOMAIN}"
                ));
            }
            let e = measure::range_error(
                "softmax",
                f,
                DOMAIN,
                args.classes,
                r,
                args.rows,
                args.seed + i as u64,
            )?;
            if !args.json {
                eprintln!(
                    "std::softmax::{f} on [-{r}, {r}]: max {:.2e}, mean {:.2e}",
                    e.max, e.mean
                );
            }
            per_range.push(e);
        }
        results.push((f.clone(), depth, per_range));
    }
    if args.json {
        let v: Vec<_> = results
            .iter()
            .map(|(f, d, rs)| serde_json::json!({"function": format!("std::softmax::{f}"), "depth": d, "classes": args.classes, "ranges": rs}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| miette::miette!("{e}"))?
        );
        return Ok(());
    }
    println!(
        "softmax on {} classes, {} uniform random rows per range (seed {}), error against the exact softmax:",
        args.classes, args.rows, args.seed
    );
    let mut header = format!("| {:<28} | {:>5} |", "function", "depth");
    for r in &args.ranges {
        header.push_str(&format!(" {:>19} |", format!("±{r}: max / mean")));
    }
    println!("{header}");
    let rule: Vec<String> = header
        .split('|')
        .filter(|s| !s.is_empty())
        .map(|s| "-".repeat(s.chars().count()))
        .collect();
    println!("|{}|", rule.join("|"));
    for (f, d, rs) in &results {
        let mut line = format!("| {:<28} | {:>5} |", format!("std::softmax::{f}"), d);
        for e in rs {
            line.push_str(&format!(
                " {:>19} |",
                format!("{:.2e} / {:.2e}", e.max, e.mean)
            ));
        }
        println!("{line}");
    }
    println!();
    println!("mean of approx - exact at the top class (negative: softer than softmax):");
    let mut header = format!("| {:<28} |", "function");
    for r in &args.ranges {
        header.push_str(&format!(" {:>10} |", format!("±{r}")));
    }
    println!("{header}");
    let rule: Vec<String> = header
        .split('|')
        .filter(|s| !s.is_empty())
        .map(|s| "-".repeat(s.chars().count()))
        .collect();
    println!("|{}|", rule.join("|"));
    for (f, _, rs) in &results {
        let mut line = format!("| {:<28} |", format!("std::softmax::{f}"));
        for e in rs {
            line.push_str(&format!(" {:>10} |", format!("{:+.2e}", e.mean_top_bias)));
        }
        println!("{line}");
    }
    Ok(())
}
