//! `blindtune bench bootstrap --backend count|sim`: the same bootstrapping circuit on the
//! counting backend (operation counts and the cost model's estimate, no keys, no arithmetic)
//! or on the noise simulator (predicted precision, in well under a second at N = 2^16).

use std::time::Instant;

use blindtune_runtime::backend::{
    CostModel, CountingBackend, MetaBackend, Recorder, SimBackend, SimOptions,
};
use blindtune_runtime::circuits::bootstrapping::{Bootstrapper, BootstrappingConfig};
use blindtune_runtime::ckks::testing::{mean_precision_bits, precision_bits, random_complex};
use blindtune_runtime::ckks::Params;
use miette::miette;
use serde::Serialize;

#[derive(Serialize)]
struct Row {
    backend: &'static str,
    set: String,
    n: usize,
    slots: usize,
    target_level: usize,
    ms: f64,
    precision_min_bits: Option<f64>,
    precision_mean_bits: Option<f64>,
    key_switches: usize,
    decompositions: usize,
    mod_downs: usize,
    plaintext_products: usize,
    estimated_ms: Option<f64>,
    cost_table: Option<String>,
}

pub fn run(
    backend: &str,
    params: Params,
    cfg: BootstrappingConfig,
    targets: &[usize],
    json: bool,
) -> miette::Result<()> {
    let set = params.name().to_string();
    let n = params.n();
    let cost = CostModel::shipped(&set, 1);
    let mut rows = Vec::new();
    for &target in targets {
        let counted: CountingBackend = Recorder::new(MetaBackend::new(params.clone()));
        let counter =
            Bootstrapper::with_backend(counted, cfg.clone()).map_err(|e| miette!("{e}"))?;
        let trace = counter.trace(target).map_err(|e| miette!("{e}"))?;
        let (ms, min, mean) = match backend {
            "count" => {
                let t = Instant::now();
                counter.trace(target).map_err(|e| miette!("{e}"))?;
                (t.elapsed().as_secs_f64() * 1e3, None, None)
            }
            "sim" => {
                let sim = SimBackend::new(
                    params.clone(),
                    SimOptions {
                        ephemeral_hamming_weight: cfg.ephemeral_hamming_weight,
                        ..SimOptions::default()
                    },
                );
                let boot =
                    Bootstrapper::with_backend(sim, cfg.clone()).map_err(|e| miette!("{e}"))?;
                let scale = params.default_scale();
                boot.prepare(target, scale).map_err(|e| miette!("{e}"))?;
                let z = random_complex(cfg.slots, 1.0);
                let ct = boot
                    .backend()
                    .encrypt_symmetric(&z, 0, scale)
                    .map_err(|e| miette!("{e}"))?;
                let t = Instant::now();
                let out = boot.bootstrap(&ct, target).map_err(|e| miette!("{e}"))?;
                let ms = t.elapsed().as_secs_f64() * 1e3;
                let got = boot.backend().decrypt(&out);
                (
                    ms,
                    Some(precision_bits(&z, &got)),
                    Some(mean_precision_bits(&z, &got)),
                )
            }
            other => {
                return Err(miette!(
                    "--backend: `{other}` is not one of cpu, count, sim"
                ))
            }
        };
        rows.push(Row {
            backend: if backend == "sim" { "sim" } else { "count" },
            set: set.clone(),
            n,
            slots: cfg.slots,
            target_level: target,
            ms,
            precision_min_bits: min,
            precision_mean_bits: mean,
            key_switches: trace.key_switches(),
            decompositions: trace.decompositions(),
            mod_downs: trace.mod_downs(),
            plaintext_products: trace.plaintext_products(),
            estimated_ms: cost.as_ref().map(|c| c.estimate(&trace) * 1e3),
            cost_table: cost
                .as_ref()
                .map(|c| format!("shipped {}-{}thread", c.table().params, c.table().threads)),
        });
    }
    if json {
        for r in &rows {
            println!("{}", serde_json::to_string(r).expect("serializable row"));
        }
        return Ok(());
    }
    println!(
        "{:7} {:>6} {:>7} {:>9} {:>10} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6} {:>14}",
        "backend",
        "N",
        "slots",
        "target",
        "ms",
        "min bit",
        "mean bit",
        "ks",
        "modup",
        "mdown",
        "ptmul",
        "estimated ms"
    );
    for r in &rows {
        let bits = |b: Option<f64>| b.map_or("-".to_string(), |b| format!("{b:.1}"));
        println!(
            "{:7} {:>6} {:>7} {:>9} {:>10.1} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6} {:>14}",
            r.backend,
            r.n,
            r.slots,
            r.target_level,
            r.ms,
            bits(r.precision_min_bits),
            bits(r.precision_mean_bits),
            r.key_switches,
            r.decompositions,
            r.mod_downs,
            r.plaintext_products,
            r.estimated_ms
                .map_or("-".to_string(), |e| format!("{e:.0}")),
        );
    }
    if let Some(c) = &cost {
        println!(
            "estimates: shipped cost table {} at {} thread(s) ({})",
            c.table().params,
            c.table().threads,
            c.table().measured_on
        );
    }
    Ok(())
}
