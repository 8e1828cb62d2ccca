//! `blindtune params`: the shipped CKKS parameter sets.

use blindtune_runtime::ckks::params::{max_log_qp_128, presets, Params, SecretDistribution};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> miette::Result<()> {
    let mut rows = Vec::new();
    let boot = blindtune_runtime::circuits::bootstrapping::config::presets();
    for lit in presets::all().into_iter().chain(boot) {
        let secure = Params::new(lit.clone());
        let params = match &secure {
            Ok(p) => p.clone(),
            Err(_) => {
                Params::new_insecure_for_tests(lit.clone()).map_err(|e| miette::miette!("{e}"))?
            }
        };
        let bound = max_log_qp_128(lit.log_n);
        let secret = match lit.secret {
            SecretDistribution::UniformTernary => "ternary".to_string(),
            SecretDistribution::SparseTernary { hamming_weight } => {
                format!("sparse h={hamming_weight}")
            }
        };
        rows.push(serde_json::json!({
            "name": lit.name,
            "n": params.n(),
            "log_n": lit.log_n,
            "slots": params.max_slots(),
            "levels": params.max_level(),
            "q_limbs": params.q().len(),
            "p_limbs": params.p().len(),
            "log_q": params.log_q(),
            "log_qp": params.log_qp(),
            "log_scale": lit.log_scale,
            "dnum": lit.dnum,
            "secret": secret,
            "security_bound_log_qp": bound,
            "secure_128": secure.is_ok(),
        }));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows).expect("json"));
        return Ok(());
    }
    println!(
        "{:<19} {:>7} {:>7} {:>6} {:>7} {:>8} {:>7} {:>5} {:>6} {:>9} {:>11}",
        "name",
        "N",
        "slots",
        "levels",
        "Q bits",
        "QP bits",
        "scale",
        "dnum",
        "P",
        "secret",
        "128-bit"
    );
    for r in &rows {
        println!(
            "{:<19} {:>7} {:>7} {:>6} {:>7.0} {:>8.0} {:>7} {:>5} {:>6} {:>9} {:>11}",
            r["name"].as_str().unwrap_or(""),
            format!("2^{}", r["log_n"]),
            r["slots"].to_string(),
            r["levels"].to_string(),
            r["log_q"].as_f64().unwrap_or(0.0),
            r["log_qp"].as_f64().unwrap_or(0.0),
            format!("2^{}", r["log_scale"]),
            r["dnum"].to_string(),
            r["p_limbs"].to_string(),
            r["secret"].as_str().unwrap_or(""),
            if r["secure_128"].as_bool().unwrap_or(false) {
                format!("yes (≤{})", r["security_bound_log_qp"])
            } else {
                "NO (tests)".to_string()
            }
        );
    }
    Ok(())
}
