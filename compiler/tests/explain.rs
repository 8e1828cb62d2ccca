//! `blindtune explain` (`plan::explain`): insta snapshots of the report for every example's
//! plan (as `blindtune compile examples/NAME.bt --params n16-boot -o plan.json` writes it), its
//! figures checked against the plan's own estimate, its key sizes against real keys, and the
//! Graphviz form's structure. Accept changes with
//! `INSTA_UPDATE=always cargo test -p blindtune-compiler --test explain`.

mod common;

use blindtune_compiler::pipeline::{compile, CompileOptions};
use blindtune_compiler::plan::explain::{dot, explain, switching_key_bytes};
use blindtune_runtime::plan::{Inst, Op, Plan};

fn plan_of(name: &str) -> Plan {
    let path = common::example_path(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let c = blindtune_compiler::check_file(&path, Default::default()).unwrap();
    let diags = c.rendered_diagnostics();
    let program = c.program.unwrap_or_else(|| panic!("{name}: {diags}"));
    let opts = CompileOptions {
        params: Some("n16-boot".into()),
        source_name: format!("{name}.bt"),
        source_text: text,
        ..Default::default()
    };
    compile(&program, &opts)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .plan
}

fn loops(insts: &[Inst]) -> usize {
    insts
        .iter()
        .map(|i| match &i.op {
            Op::Loop { body, .. } => 1 + loops(body),
            _ => 0,
        })
        .sum()
}

fn instructions(insts: &[Inst]) -> usize {
    insts
        .iter()
        .map(|i| match &i.op {
            Op::Loop { body, .. } => 1 + instructions(body),
            _ => 1,
        })
        .sum()
}

#[test]
fn explain_every_example() {
    for name in common::EXAMPLES {
        let plan = plan_of(name);
        let e = explain(&plan).unwrap_or_else(|e| panic!("{name}: {e}"));
        insta::assert_snapshot!(format!("explain_{name}"), e.text());

        // one block per loop, named as the estimate names them, with its counts
        assert_eq!(e.blocks.len(), 1 + loops(&plan.body), "{name}");
        for b in &e.blocks {
            let est = plan
                .estimate
                .counts
                .get(&b.name)
                .unwrap_or_else(|| panic!("{name}: no estimate for {}", b.name));
            for (kind, n) in est {
                // the estimate counts a hoisted rotation once per block, explain once per step
                if kind != "rotate_hoisted" {
                    assert_eq!(b.ops.get(kind), Some(n), "{name} {}: {kind}", b.name);
                }
            }
            let by_level: u64 = b.by_level.values().flat_map(|m| m.values()).sum();
            assert_eq!(by_level, b.ops.values().sum::<u64>(), "{name} {}", b.name);
            assert_eq!(
                b.bootstraps_per_trip, plan.estimate.bootstraps[&b.name],
                "{name} {}",
                b.name
            );
            assert_eq!(
                b.bootstraps.iter().map(|x| x.count).sum::<u64>(),
                b.bootstraps_per_trip
            );
            assert!(b.key_switches >= b.rotations + b.ops.get("mul").copied().unwrap_or(0));
            if b.depth > 0 {
                assert_eq!(
                    b.ms_per_trip,
                    plan.estimate.per_trip_ms.get(&b.name).copied()
                );
            }
        }
        assert_eq!(
            e.blocks.iter().any(|b| b.batch_loop),
            plan.inputs.iter().any(|i| i.stream.is_some()),
            "{name}: a batch loop where inputs are streamed"
        );

        // keys: every Galois element of the plan, its level, used by someone
        assert_eq!(
            e.keys.galois.len(),
            plan.keys.galois_elements.len(),
            "{name}"
        );
        for g in &e.keys.galois {
            assert!(
                g.program || g.bootstrap,
                "{name}: {} used by nobody",
                g.element
            );
            assert!(
                g.conjugation || g.rotation.is_some(),
                "{name}: {}",
                g.element
            );
            assert_eq!(
                g.key.max_level,
                plan.keys.max_level(g.element, e.params.max_level)
            );
        }
        let sum: u64 = e
            .keys
            .galois
            .iter()
            .map(|g| g.key.bytes_memory)
            .chain(e.keys.relinearization.iter().map(|r| r.bytes_memory))
            .sum::<u64>()
            + e.keys
                .bootstrapping
                .as_ref()
                .map_or(0, |b| b.encapsulation_bytes_memory);
        assert_eq!(sum, e.keys.total.bytes_memory, "{name}");
        assert!(e.keys.total.bytes_file < e.keys.total.bytes_memory);

        // memory: at least the compiler's live registers, each at most a top-level ciphertext
        assert!(e.memory.peak_live_blocks >= e.memory.peak_live_registers as u64);
        assert!(
            e.memory.peak_live_bytes <= e.memory.peak_live_blocks * e.memory.ciphertext_bytes_top
        );

        // JSON has the same figures
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["blocks"].as_array().unwrap().len(), e.blocks.len());

        // dot: one node per instruction, two per loop (its arguments, its yield), one cluster
        // per loop, balanced braces
        let d = dot(&plan);
        assert!(d.starts_with("digraph plan {"), "{name}");
        assert_eq!(d.matches("subgraph cluster_").count(), loops(&plan.body));
        assert_eq!(
            d.matches(" [label=").count(),
            instructions(&plan.body) + loops(&plan.body),
            "{name}"
        );
        assert_eq!(d.matches('{').count(), d.matches('}').count(), "{name}");
        assert_eq!(
            d.matches("style=dashed").count(),
            loops(&plan.body),
            "{name}: one back edge per loop"
        );
    }
}

#[test]
fn key_sizes_are_those_of_real_keys() {
    use blindtune_runtime::ckks::context::Context;
    use blindtune_runtime::ckks::keygen::KeyGenerator;
    use blindtune_runtime::ckks::params::{presets, Params};
    use blindtune_runtime::ckks::sampling::Sampler;

    // N = 2^12: 6 Q limbs, 2 P limbs, dnum 3 (two limbs a digit)
    let params = Params::new_insecure_for_tests(presets::test_insecure()).unwrap();
    let ctx = Context::new(params.clone());
    let mut kg = KeyGenerator::with_sampler(ctx.clone(), Sampler::from_seed_for_tests([3; 32]));
    let sk = kg.gen_secret_key();
    for level in 0..=params.max_level() {
        let mut m = kg.manifest_for_rotations(&[1], true);
        let g = ctx.rotation_element(1);
        m.max_levels.insert(g, level);
        m.max_levels
            .insert(blindtune_runtime::ckks::keys::RELINEARIZATION_ENTRY, level);
        let keys = kg.gen_evaluation_keys(&sk, &m);
        let (memory, file) = switching_key_bytes(&params, level);
        for k in [
            keys.galois_key(g).unwrap().switching_key(),
            keys.relinearization_key().unwrap().switching_key(),
        ] {
            assert_eq!(k.max_level(), level);
            assert_eq!(k.size_bytes() as u64, memory, "level {level}: in memory");
            assert_eq!(k.stored_bytes() as u64, file, "level {level}: in a file");
        }
    }
}

#[test]
fn explain_reads_the_golden_plan() {
    let path = common::root().join("runtime/tests/golden/plan_logreg_epochs1.bin");
    let Ok(plan) = Plan::load(&path) else {
        panic!("{}: bless it with the plan_format test", path.display());
    };
    let e = explain(&plan).unwrap();
    let batch = e.batch_block();
    assert!(batch.batch_loop);
    assert_eq!(batch.runs, 8.0, "one epoch of ⌈1024/128⌉ batches");
    assert!(e.text().contains("batch 128, order 0, shuffled, 1 entries"));
}

/// Re-pricing a plan for a thread count: one thread gives back the plan's own estimate exactly
/// (the same trace, summed in the same sorted order); two threads price every loop lower (the
/// shipped two-thread table is 1.4–1.8× faster per heavy operation); a count without a shipped
/// table is refused by name.
#[test]
fn estimates_reprice_for_the_thread_count() {
    use blindtune_compiler::plan::estimate_for_threads;
    use blindtune_compiler::plan::explain::explain_at;
    let plan = plan_of("logreg");
    let one = estimate_for_threads(&plan, 1).expect("a one-thread table ships");
    assert_eq!(one.total_ms, plan.estimate.total_ms);
    assert_eq!(one.per_trip_ms, plan.estimate.per_trip_ms);
    let two = estimate_for_threads(&plan, 2).expect("a two-thread table ships");
    for (k, v) in &plan.estimate.per_trip_ms {
        let t = two.per_trip_ms[k];
        assert!(
            *v == 0.0 || (t < *v && t > *v / 2.5),
            "{k}: {t} ms on two threads vs {v} on one"
        );
    }
    assert!(estimate_for_threads(&plan, 3).is_none());
    let e = explain_at(&plan, 3).unwrap_err();
    assert!(e.contains("3 threads") && e.contains("1, 2"), "{e}");
    assert_eq!(explain_at(&plan, 2).unwrap().estimate.threads, 2);
}
