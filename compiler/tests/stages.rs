//! insta snapshots of the middle end's stages for every example (`--emit layout`, `--emit
//! ckks`, `--emit scheduled` of `blindtune compile examples/NAME.bt --param EPOCHS=2 --params
//! n16-boot`; programs without an `EPOCHS` parameter compile with their own values), and the
//! plan's independence of the epoch count. Accept changes with
//! `INSTA_UPDATE=always cargo test -p blindtune-compiler --test stages` after reading the diff.

mod common;

use blindtune_compiler::pipeline::{compile, CompileOptions, Compiled};
use std::collections::BTreeMap;
use std::time::Instant;

/// Snapshots above this size are replaced by a summary.
const MAX_SNAPSHOT: usize = 200 * 1024;

fn compile_example(name: &str, epochs: Option<u64>) -> (Compiled, f64) {
    let path = common::example_path(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut overrides = BTreeMap::new();
    let mut values = BTreeMap::new();
    if let Some(e) = epochs.filter(|_| text.contains("param EPOCHS:")) {
        overrides.insert("EPOCHS".to_string(), e as f64);
        values.insert("EPOCHS".to_string(), e.to_string());
    }
    let c = blindtune_compiler::check_file(&path, overrides).unwrap();
    let diags = c.rendered_diagnostics();
    let program = c.program.unwrap_or_else(|| panic!("{name}: {diags}"));
    let opts = CompileOptions {
        params: Some("n16-boot".into()),
        source_name: format!("{name}.bt"),
        source_text: text,
        param_values: values,
        ..Default::default()
    };
    let t = Instant::now();
    let compiled = compile(&program, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    (compiled, t.elapsed().as_secs_f64())
}

/// Op counts by kind per block (the text's indentation gives the nesting) and the first 150
/// lines: the snapshot of a stage too large to keep whole.
fn summary(text: &str) -> String {
    let mut counts: Vec<(String, BTreeMap<String, usize>)> = vec![("top".into(), BTreeMap::new())];
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)]; // (indent, index into counts)
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        while stack.len() > 1 && indent < stack.last().unwrap().0 {
            stack.pop();
        }
        let Some((_, rhs)) = line.split_once(" = ") else {
            continue;
        };
        let op = rhs.split_whitespace().next().unwrap_or("").to_string();
        let at = stack.last().unwrap().1;
        *counts[at].1.entry(op.clone()).or_default() += 1;
        if op == "loop" {
            counts.push((format!("loop at line `{}`", line.trim()), BTreeMap::new()));
            stack.push((indent + 2, counts.len() - 1));
        }
    }
    let mut out = format!(
        "summary of a {} KB stage: op counts by kind per block, then its first 150 lines\n",
        text.len() / 1024
    );
    for (name, c) in counts {
        out += &format!("{name}:\n");
        for (k, v) in c {
            out += &format!("  {k} {v}\n");
        }
    }
    out += "---\n";
    for line in text.lines().take(150) {
        out += line;
        out += "\n";
    }
    out
}

fn snapshot(name: &str, text: String) {
    let text = if text.len() > MAX_SNAPSHOT {
        summary(&text)
    } else {
        text
    };
    insta::assert_snapshot!(name, text);
}

#[test]
fn stages_of_every_example() {
    for name in common::EXAMPLES {
        let (c, secs) = compile_example(name, Some(2));
        eprintln!("{name}: compiled in {:.0} ms", secs * 1e3);
        snapshot(&format!("stage_{name}_layout"), c.layout.to_string());
        snapshot(&format!("stage_{name}_ckks"), c.optimized.to_string());
        snapshot(&format!("stage_{name}_scheduled"), c.scheduled.to_string());
    }
}

#[test]
fn summary_counts_ops_per_block() {
    let text = "prog {\n  %1: ct = add %0, %0\n  %2: ct = loop 3 trips\n    ^(%3) ← (%1)\n    %4: ct = rotate %3, 1\n    %5: ct = add %4, %3\n    yield %5\n  %6: ct = mul %2, %2\n}\n";
    let s = summary(text);
    assert!(s.contains("top:\n  add 1\n  loop 1\n  mul 1\n"), "{s}");
    assert!(
        s.contains("loop at line `%2: ct = loop 3 trips`:\n  add 1\n  rotate 1\n"),
        "{s}"
    );
}

/// The plan's JSON with the epoch count taken out: the epoch loop's `Fixed(n)`, the streamed
/// inputs' `entries` (how often their batch loop is entered: once per epoch), the estimate's
/// total (per-trip figures stay), and the source's `param` values.
fn normalized(json: &str, epochs: u64) -> (serde_json::Value, usize) {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["source"].as_object_mut().unwrap().remove("params");
    v["estimate"].as_object_mut().unwrap().remove("total_ms");
    for input in v["inputs"].as_array_mut().unwrap() {
        if let Some(s) = input["stream"].as_object_mut() {
            assert_eq!(
                s["entries"], epochs,
                "the batch loop is entered once per epoch"
            );
            s.remove("entries");
        }
    }
    fn trips(v: &mut serde_json::Value, epochs: u64, found: &mut usize) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(fixed) = m
                    .get_mut("Loop")
                    .and_then(|l| l.get_mut("trips"))
                    .and_then(|t| t.get_mut("Fixed"))
                {
                    if *fixed == epochs {
                        *fixed = serde_json::Value::String("EPOCHS".into());
                        *found += 1;
                    }
                }
                m.values_mut().for_each(|x| trips(x, epochs, found));
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| trips(x, epochs, found)),
            _ => {}
        }
    }
    let mut found = 0;
    trips(&mut v["body"], epochs, &mut found);
    (v, found)
}

#[test]
fn plans_differ_only_in_the_epoch_count() {
    let mut first: Option<(serde_json::Value, usize)> = None;
    for epochs in [10, 20, 30, 40] {
        let (c, secs) = compile_example("hetal_head", Some(epochs));
        let json = c.plan.to_json();
        let bin = c.plan.to_binary();
        eprintln!(
            "hetal_head EPOCHS={epochs}: compiled in {:.0} ms (test profile), JSON {} bytes, binary {} bytes, {} ms estimated",
            secs * 1e3,
            json.len(),
            bin.len(),
            c.plan.estimate.total_ms.round()
        );
        let (v, found) = normalized(&json, epochs);
        assert_eq!(found, 1, "EPOCHS={epochs}: one loop runs EPOCHS trips");
        match &first {
            None => first = Some((v, json.len())),
            Some((v0, len0)) => {
                assert!(
                    *v0 == v,
                    "EPOCHS={epochs}: the plan differs beyond the epoch count"
                );
                // the sizes differ by the digits of the numbers only
                assert!(json.len().abs_diff(*len0) < 64, "EPOCHS={epochs}");
            }
        }
    }
}
