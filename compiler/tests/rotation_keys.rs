//! `--rotation-keys compose`: the plan keeps a key only for rotations bootstrapping needs
//! anyway or by a power of two, has fewer Galois keys than the exact plan, and pays for it
//! with a stated number of extra rotations. (That the composed plan computes the same thing is
//! `plan_semantics::hetal_head_fast_composed_rotations_plan_computes_the_program`.)

mod common;

use blindtune_compiler::pipeline::{compile, CompileOptions, RotationKeys};
use blindtune_compiler::sched::compose::bootstrap_steps;
use blindtune_runtime::plan::params::resolve;
use blindtune_runtime::plan::{Inst, Op};
use std::collections::BTreeSet;

fn steps(insts: &[Inst], out: &mut Vec<i64>) {
    for i in insts {
        match &i.op {
            Op::Rotate { steps: s, .. } => out.push(*s),
            Op::RotateHoisted { steps: s, .. } => out.extend(s),
            Op::Loop { body, .. } => steps(body, out),
            _ => {}
        }
    }
}

#[test]
fn composed_plans_use_only_bootstrapping_and_power_of_two_keys() {
    for name in ["hetal_head_fast", "hetal_head", "logreg"] {
        let path = common::example_path(name);
        let c = blindtune_compiler::check_file(&path, [("EPOCHS".to_string(), 1.0)].into())
            .unwrap()
            .program
            .unwrap();
        let opts = |rotation_keys| CompileOptions {
            params: Some("n16-boot".into()),
            rotation_keys,
            ..Default::default()
        };
        let exact = compile(&c, &opts(RotationKeys::Exact)).unwrap().plan;
        let composed = compile(&c, &opts(RotationKeys::Compose)).unwrap().plan;
        let pp = resolve("n16-boot", false).unwrap();
        let slots = (pp.params.n() / 2) as i64;
        let boot: BTreeSet<i64> = bootstrap_steps(&pp);
        assert!(
            !boot.is_empty(),
            "n16-boot's bootstrapping needs rotation keys"
        );
        let mut used = Vec::new();
        steps(&composed.body, &mut used);
        for s in &used {
            let s = s.rem_euclid(slots);
            assert!(
                boot.contains(&s)
                    || (s as u64).is_power_of_two()
                    || ((slots - s) as u64).is_power_of_two(),
                "{name}: the composed plan rotates by {s}, which has a key of its own"
            );
        }
        let (ke, kc) = (
            exact.keys.galois_elements.len(),
            composed.keys.galois_elements.len(),
        );
        assert!(kc <= ke, "{name}: {kc} keys composed vs {ke} exact");
        let mut exact_steps = Vec::new();
        steps(&exact.body, &mut exact_steps);
        let keyed = |v: &[i64]| -> BTreeSet<i64> {
            v.iter()
                .map(|s| s.rem_euclid(slots))
                .chain(boot.iter().copied())
                .collect()
        };
        // the manifests differ by exactly the rotation keys the plans' rotations differ by
        assert_eq!(
            ke - kc,
            keyed(&exact_steps).len() - keyed(&used).len(),
            "{name}: {ke} → {kc} keys"
        );
        let rare = keyed(&exact_steps).len() - keyed(&used).len();
        assert!(name == "logreg" || rare > 0, "{name}: nothing was composed");
        eprintln!(
            "{name}: {ke} → {kc} Galois keys, {} → {} rotations (static)",
            exact_steps.len(),
            used.len()
        );
    }
}
