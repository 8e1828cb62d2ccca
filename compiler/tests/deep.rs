//! Deep and long input never crashes the front end: a 100,000-term flat sum and 100,000-deep
//! nestings of every recursive construct give a result or an E0005/E0006 diagnostic with a
//! location, in bounded time, on the test harness's default 2 MiB thread stack. Depths just
//! under the limits check, print, format and run.

use blindtune_compiler::{interp, syntax, types};
use std::time::Instant;

const N: usize = 100_000;

/// Check, render, dump and format `text`; returns the codes of the diagnostics.
fn front_end(text: &str) -> (bool, Vec<&'static str>, String) {
    let c = types::check_source("deep.bt", text);
    let rendered = c.rendered_diagnostics();
    if let Some(p) = &c.program {
        let _ = p.dump();
    }
    let _ = syntax::format_source("deep.bt", text);
    let codes = c.diagnostics.iter().map(|d| d.code).collect();
    (c.program.is_some(), codes, rendered)
}

fn shapes(n: usize) -> Vec<(&'static str, String)> {
    vec![
        (
            "flat sum",
            format!("let x = 1{};\noutput y = x;\n", " + 1".repeat(n - 1)),
        ),
        (
            "flat product",
            format!("let x = 1{};\noutput y = x;\n", " * 1".repeat(n - 1)),
        ),
        (
            "unary minus",
            format!("let x = {}1;\noutput y = x;\n", "-".repeat(n)),
        ),
        (
            "parentheses",
            format!(
                "let x = {}1{};\noutput y = x;\n",
                "(".repeat(n),
                ")".repeat(n)
            ),
        ),
        (
            "if",
            format!(
                "let x = {}1{};\noutput y = x;\n",
                "if 1 < 2 { ".repeat(n),
                " } else { 0 }".repeat(n)
            ),
        ),
        (
            "calls",
            format!(
                "let x = {}1{};\noutput y = x;\n",
                "relu(".repeat(n),
                ")".repeat(n)
            ),
        ),
        (
            "power",
            format!("let x = {}1;\noutput y = x;\n", "1 ** ".repeat(n)),
        ),
        (
            "transpose",
            format!("let x = zeros(2, 2){};\noutput y = x;\n", ".T".repeat(n)),
        ),
        ("unclosed", format!("let x = {}1 +;\n", "-".repeat(n))),
    ]
}

#[test]
fn hundred_thousand_deep_or_long_gives_result_or_diagnostic() {
    for (what, text) in shapes(N) {
        let t0 = Instant::now();
        let (ok, codes, rendered) = front_end(&text);
        let dt = t0.elapsed().as_secs_f64();
        println!("{what}: {dt:.2}s, ok {ok}, codes {codes:?}");
        assert!(
            ok || !codes.is_empty(),
            "{what}: neither a program nor a diagnostic"
        );
        if !ok {
            assert!(
                codes
                    .iter()
                    .any(|c| ["E0005", "E0006", "E0002", "E0003"].contains(c)),
                "{what}: unexpected codes {codes:?}"
            );
            assert!(rendered.contains("deep.bt:"), "{what}: no location");
            // the echoed source is capped: a 100,000-term line is not printed whole
            assert!(
                rendered.len() < 4_000,
                "{what}: rendered diagnostics are {} bytes",
                rendered.len()
            );
        }
        assert!(dt < 30.0, "{what}: took {dt:.1}s");
    }
}

#[test]
fn flat_sum_is_reported_as_too_long_and_nesting_as_too_deep() {
    let (_, codes, rendered) = front_end(&shapes(N)[0].1);
    assert_eq!(codes, vec!["E0006"], "{rendered}");
    assert!(rendered.contains("expression too long"), "{rendered}");
    assert!(rendered.contains(" --> deep.bt:1:9"), "{rendered}");
    let (_, codes, rendered) = front_end(&shapes(N)[2].1);
    assert_eq!(codes, vec!["E0005"], "{rendered}");
    assert!(rendered.contains("nested too deeply"), "{rendered}");
}

#[test]
fn parenthesised_depth_is_free() {
    // parentheses are not tree nodes: any number of them checks
    let (ok, codes, _) = front_end(&shapes(N)[3].1);
    assert!(ok, "{codes:?}");
}

#[test]
fn just_under_the_limit_checks_prints_and_runs() {
    let n = syntax::depth::MAX_DEPTH - 5;
    for (what, text) in shapes(n) {
        if what == "unclosed" {
            continue;
        }
        let c = types::check_source("deep.bt", &text);
        let Some(p) = c.program.as_ref() else {
            panic!("{what}:\n{}", c.rendered_diagnostics());
        };
        let _ = p.dump();
        let f = syntax::format_source("deep.bt", &text).unwrap();
        assert!(syntax::parse(0, &f).1.is_empty(), "{what}");
        let r = interp::run(p, &interp::DataSet::new(), &Default::default())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let y = r.output("y").unwrap().values[0].clone();
        let expect = match what {
            "flat sum" => n as f64,
            "unary minus" => {
                if n % 2 == 0 {
                    1.0
                } else {
                    -1.0
                }
            }
            "transpose" => 0.0,
            _ => 1.0,
        };
        assert!(
            y.iter().all(|v| *v == expect),
            "{what}: {:?} != {expect}",
            y.iter().take(4).collect::<Vec<_>>()
        );
    }
}

#[test]
fn nesting_through_function_bodies_is_bounded() {
    // each function nests 300 deep and calls the next from the bottom: the depth adds up
    let mut text = String::new();
    let k = 12;
    for i in 0..k {
        let inner = if i + 1 < k {
            format!("f{}(x)", i + 1)
        } else {
            "x".to_string()
        };
        text.push_str(&format!(
            "fn f{i}(x: f64) -> f64 {{ {}{inner} }}\n",
            "-".repeat(300)
        ));
    }
    text.push_str("let y = f0(1);\noutput o = y;\n");
    let (ok, codes, rendered) = front_end(&text);
    assert!(!ok && codes.contains(&"E0005"), "{rendered}");
    // a chain of long parameter definitions too
    let mut text = String::new();
    for i in 0..N / 10 {
        if i == 0 {
            text.push_str("param P0: int = 1;\n");
        } else {
            text.push_str(&format!("param P{i}: int = P{} + 1;\n", i - 1));
        }
    }
    text.push_str(&format!("let y = P{};\noutput o = y;\n", N / 10 - 1));
    let (ok, codes, rendered) = front_end(&text);
    assert!(
        ok || codes.contains(&"E0005"),
        "{}",
        &rendered[..rendered.len().min(2000)]
    );
}

#[test]
fn huge_line_is_not_echoed_whole() {
    let long = format!("let x = zz{};\n", " + 1".repeat(100_000 / 4));
    let (_, codes, rendered) = front_end(&long);
    assert!(
        codes.contains(&"E0101") || codes.contains(&"E0006"),
        "{codes:?}"
    );
    assert!(rendered.len() < 3_000, "{} bytes", rendered.len());
    assert!(rendered.contains('…'));
}
