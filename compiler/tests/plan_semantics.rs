//! Compiled plans compute what their programs mean: every example's plan, run on exact slot
//! vectors (no CKKS noise: `common/slots.rs`), matches the tensor-IR evaluator (itself equal to
//! the reference interpreter) on fresh random inputs. Bound: 1e-6 absolute + 1e-6 relative
//! (the plan reorders sums; polynomials are the same coefficients).

mod common;
use common::data::random_inputs;

use blindtune_compiler::ir::tensor::{self, interp as tinterp};
use blindtune_compiler::pipeline::{compile, CompileOptions, RotationKeys};
use blindtune_compiler::CheckedProgram;
use common::slots::SlotEval;
use ndarray::ArrayD;
use std::collections::BTreeMap;

fn checked(name: &str, overrides: &[(&str, f64)]) -> CheckedProgram {
    let path = if name.ends_with(".bt") {
        std::path::PathBuf::from(name)
    } else {
        common::example_path(name)
    };
    let ov = overrides.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let c = blindtune_compiler::check_file(&path, ov).unwrap();
    let diags = c.rendered_diagnostics();
    c.program.unwrap_or_else(|| panic!("{name}: {diags}"))
}

fn two_axes(a: &ArrayD<f64>) -> [usize; 2] {
    match a.shape() {
        [] => [1, 1],
        [c] => [1, *c],
        [r, c] => [*r, *c],
        s => panic!("rank {}", s.len()),
    }
}

/// Compiles `name` and compares its plan on exact slots with the tensor-IR evaluator.
pub fn check_plan(name: &str, overrides: &[(&str, f64)], dims: &[(&str, usize)], seed: u64) {
    check_plan_with(name, overrides, dims, seed, RotationKeys::Exact)
}

fn check_plan_with(
    name: &str,
    overrides: &[(&str, f64)],
    dims: &[(&str, usize)],
    seed: u64,
    rotation_keys: RotationKeys,
) {
    let cp = checked(name, overrides);
    let opts = CompileOptions {
        params: Some("n16-boot".into()),
        seed,
        rotation_keys,
        ..Default::default()
    };
    let compiled = compile(&cp, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let dims: BTreeMap<&str, usize> = dims.iter().cloned().collect();
    let data = random_inputs(&cp, &dims, seed);
    let tp = tensor::lower(&cp).unwrap();
    let arrays: BTreeMap<String, ArrayD<f64>> = data
        .iter()
        .map(|(k, t)| (k.clone(), t.data.clone()))
        .collect();
    let want =
        tinterp::run(&tp, &arrays, seed).unwrap_or_else(|e| panic!("{name} seed {seed}: {e}"));
    let inputs = arrays
        .iter()
        .map(|(k, a)| {
            (
                k.clone(),
                (a.iter().copied().collect::<Vec<f64>>(), two_axes(a)),
            )
        })
        .collect();
    let mut ev = SlotEval::new(&compiled.plan, inputs);
    ev.run();
    let mut worst: f64 = 0.0;
    for (out, values) in &want {
        let got = ev
            .outputs
            .get(out)
            .unwrap_or_else(|| panic!("{name}: plan never wrote output {out}"));
        assert_eq!(
            got.len(),
            values.len(),
            "{name} seed {seed}: output {out} written {} times, expected {}",
            got.len(),
            values.len()
        );
        for (k, (g, w)) in got.iter().zip(values).enumerate() {
            assert_eq!(g.len(), w.len(), "{name}: output {out} #{k} size");
            for (i, (a, b)) in g.iter().zip(w.iter()).enumerate() {
                let err = (a - b).abs();
                worst = worst.max(err / (1.0 + b.abs()));
                assert!(
                    err <= 1e-6 + 1e-6 * b.abs(),
                    "{name} seed {seed}: output {out} #{k} element {i}: plan {a} vs program {b}"
                );
            }
        }
    }
    eprintln!("{name} seed {seed}: worst relative error {worst:.2e}");
}

#[test]
fn hetal_head_fast_plan_computes_the_program() {
    check_plan(
        "hetal_head_fast",
        &[("EPOCHS", 2.0)],
        &[("N", 200), ("T", 70)],
        11,
    );
}

/// HETAL's batch of 1024 rows: the block is 1024 × 32, so the weights and their momentum are
/// six blocks each and are packed block by block (`split_blocks`, `join_blocks`).
#[test]
fn hetal_head_fast_large_batch_plan_computes_the_program() {
    check_plan(
        "hetal_head_fast",
        &[("EPOCHS", 2.0), ("B", 1024.0)],
        &[("N", 1500), ("T", 40)],
        23,
    );
}

/// Rotations composed from bootstrapping's and power-of-two keys (`--rotation-keys compose`)
/// compute what the single rotations did.
#[test]
fn hetal_head_fast_composed_rotations_plan_computes_the_program() {
    check_plan_with(
        "hetal_head_fast",
        &[("EPOCHS", 1.0)],
        &[("N", 150), ("T", 50)],
        31,
        RotationKeys::Compose,
    );
}

#[test]
fn hetal_head_plan_computes_the_program() {
    check_plan(
        "hetal_head",
        &[("EPOCHS", 1.0)],
        &[("N", 128), ("T", 40)],
        5,
    );
}

#[test]
fn logreg_plan_computes_the_program() {
    check_plan("logreg", &[("EPOCHS", 2.0)], &[("N", 150), ("T", 30)], 3);
}

#[test]
fn select_and_ranges_plan_computes_the_program() {
    check_plan("select_and_ranges", &[], &[("N", 40)], 9);
}

#[test]
#[ignore]
fn scratch() {
    let f = std::env::var("SCRATCH").unwrap();
    check_plan(&f, &[], &[("N", 20)], 1);
}
