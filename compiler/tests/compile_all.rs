//! Every program the checker accepts compiles, or the middle end says what it cannot compile
//! and why: never a panic. Over every `.bt` of `examples/`, `stdlib/`, the checker's fixture
//! directories (`compiler/tests/errors`, `compiler/tests/warnings`) and the fuzzer's seeds
//! (`fuzz/seeds/front_end`), at the default parameter values, in every mode; and the
//! examples with their `param`s pushed to the edges (batches of 1, 3 and 100 rows and more than
//! a block holds, one or two classes, 17 classes, a single feature, HETAL's 769 features).

mod common;

use blindtune_compiler::pipeline::{compile, CompileOptions, Mode};
use std::panic::{catch_unwind, AssertUnwindSafe};

const DIRS: &[&str] = &[
    "examples",
    "stdlib",
    "compiler/tests/errors",
    "compiler/tests/warnings",
    "fuzz/seeds/front_end",
];

/// Parameter variations of the examples (applied where the program declares the name).
const SWEEP: &[&[(&str, f64)]] = &[
    &[("B", 1.0)],
    &[("B", 3.0)],
    &[("B", 100.0)],
    &[("B", 2048.0)],
    &[("B", 4096.0)],
    &[("C", 1.0)],
    &[("C", 2.0)],
    &[("C", 17.0)],
    &[("D", 1.0)],
    &[("B", 2048.0), ("C", 16.0), ("D", 769.0)],
    &[("EPOCHS", 0.0)],
    &[("K", 1.0), ("STEPS", 0.0)],
];

/// How a compilation ended.
enum Outcome {
    Compiled,
    Refused(String),
    Panicked(String),
}

fn attempt(program: &blindtune_compiler::CheckedProgram, opts: &CompileOptions) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| compile(program, opts))) {
        Ok(Ok(c)) => {
            assert!(c.plan.validate().is_ok(), "{}", opts.source_name);
            Outcome::Compiled
        }
        Ok(Err(e)) => Outcome::Refused(e.to_string()),
        Err(p) => Outcome::Panicked(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
    }
}

/// An error message that says what and why: a sentence, not a debug dump or an empty string.
fn says_what_and_why(m: &str) -> bool {
    m.len() >= 20 && m.contains(' ') && !m.contains("called `Option::unwrap()`")
}

#[test]
fn every_accepted_program_compiles_or_gets_a_diagnostic() {
    let mut compiled = Vec::new();
    let mut refused = Vec::new();
    let mut panics = Vec::new();
    let mut vague = Vec::new();
    let mut checked = 0;
    for dir in DIRS {
        for path in common::bt_files(dir) {
            let c = blindtune_compiler::check_file(&path, Default::default()).unwrap();
            let Some(program) = c.program else { continue };
            checked += 1;
            let rel = path
                .strip_prefix(common::root())
                .unwrap_or(&path)
                .display()
                .to_string();
            for mode in [Mode::Optimized, Mode::Naive, Mode::Halo, Mode::Egraph] {
                let opts = CompileOptions {
                    mode,
                    source_name: rel.clone(),
                    ..Default::default()
                };
                let what = format!("{rel} ({})", mode.name());
                match attempt(&program, &opts) {
                    Outcome::Compiled => compiled.push(what),
                    Outcome::Refused(m) => {
                        if !says_what_and_why(&m) {
                            vague.push(format!("{what}: {m:?}"));
                        }
                        refused.push(format!("{what}: {m}"));
                    }
                    Outcome::Panicked(m) => panics.push(format!("{what}: {m}")),
                }
            }
        }
    }
    for name in common::EXAMPLES {
        let path = common::example_path(name);
        let text = std::fs::read_to_string(&path).unwrap();
        for params in SWEEP {
            let params: Vec<(String, f64)> = params
                .iter()
                .filter(|(k, _)| text.contains(&format!("param {k}:")))
                .map(|(k, v)| (k.to_string(), *v))
                .collect();
            if params.is_empty() {
                continue;
            }
            let c =
                blindtune_compiler::check_file(&path, params.iter().cloned().collect()).unwrap();
            let Some(program) = c.program else { continue };
            checked += 1;
            let what = format!("examples/{name}.bt {params:?}");
            let opts = CompileOptions {
                source_name: what.clone(),
                ..Default::default()
            };
            match attempt(&program, &opts) {
                Outcome::Compiled => compiled.push(what),
                Outcome::Refused(m) => {
                    if !says_what_and_why(&m) {
                        vague.push(format!("{what}: {m:?}"));
                    }
                    refused.push(format!("{what}: {m}"));
                }
                Outcome::Panicked(m) => panics.push(format!("{what}: {m}")),
            }
        }
    }
    eprintln!("{checked} programs accepted by the checker");
    eprintln!(
        "compiled ({}):\n  {}",
        compiled.len(),
        compiled.join("\n  ")
    );
    eprintln!("refused ({}):\n  {}", refused.len(), refused.join("\n  "));
    assert!(checked >= 10, "only {checked} programs found");
    assert!(
        panics.is_empty(),
        "the compiler panicked:\n{}",
        panics.join("\n")
    );
    assert!(
        vague.is_empty(),
        "errors that do not say why:\n{}",
        vague.join("\n")
    );
}
