//! `blindtune evaluate --head H --data F [--json]` (data owner): a decrypted head scored on
//! plaintext features with the program's normalisation: accuracy, mean cross-entropy and the
//! confusion matrix. Work: `blindtune_client::evaluate::evaluate`.

use std::path::PathBuf;

use blindtune_client::evaluate::{evaluate, EvaluateOptions};
use miette::miette;

#[derive(clap::Args)]
pub struct Args {
    /// The head (safetensors with the weight [C, D] and bias [C] tensors).
    #[arg(long)]
    head: PathBuf,
    /// The data (safetensors): features, labels, and train_mean/train_std or train_x.
    #[arg(long)]
    data: PathBuf,
    /// Features tensor.
    #[arg(long, default_value = "test_x")]
    x: String,
    /// Labels tensor (integer [n] or one-hot [n, C]).
    #[arg(long, default_value = "test_y")]
    y: String,
    /// The head's weight tensor.
    #[arg(long, default_value = "weights")]
    weights: String,
    /// The head's bias tensor.
    #[arg(long, default_value = "bias")]
    bias: String,
    /// Raw features (no normalisation).
    #[arg(long)]
    raw: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> miette::Result<()> {
    let opts = EvaluateOptions {
        x: args.x,
        y: args.y,
        weights: args.weights,
        bias: args.bias,
        normalize: !args.raw,
    };
    let e = evaluate(&args.head, &args.data, &opts).map_err(|e| miette!("{e}"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e).expect("json"));
    } else {
        println!("normalisation: {}", e.normalization);
        print!("{}", e.score.table());
    }
    Ok(())
}
