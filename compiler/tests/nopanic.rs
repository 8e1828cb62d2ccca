//! The front end (lexer, parser, checker, renderer) never panics, whatever the input. This is
//! the in-suite twin of the cargo-fuzz target in fuzz/.

mod common;
use blindtune_compiler::types;
use proptest::prelude::*;

fn check(text: &str) {
    let c = types::check_source("fuzz.bt", text);
    let _ = c.rendered_diagnostics();
    if let Some(p) = &c.program {
        let _ = p.dump();
    }
    if let Ok(f) = blindtune_compiler::syntax::format_source("fuzz.bt", text) {
        // what fmt prints parses again
        let (_, d) = blindtune_compiler::syntax::parse(0, &f);
        assert!(d.is_empty(), "formatted text does not parse: {d:?}\n{f}");
    }
}

fn token() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "use",
        "std",
        "::",
        "softmax",
        "math",
        "fn",
        "let",
        "param",
        "input",
        "output",
        "against",
        "approx",
        "poly",
        "on",
        "degree",
        "error",
        "approximates",
        "for",
        "in",
        "carry",
        "batches",
        "size",
        "shuffle",
        "if",
        "else",
        "secret",
        "public",
        "f64",
        "i64",
        "bool",
        "int",
        "real",
        "x",
        "y",
        "N",
        "n",
        "c",
        "0",
        "1",
        "2.5",
        "1e308",
        "99999999999999999999",
        ":",
        ";",
        ",",
        "..",
        ".T",
        "->",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "=",
        "==",
        "<",
        "+",
        "-",
        "*",
        "**",
        "/",
        "@",
        "zeros",
        "sum",
        "rows",
        "roll",
        "log2ceil",
        "exp",
        "hetal",
        "\n",
        " ",
        "é",
        "//",
        "\"",
        "[..]",
    ])
    .prop_map(|s| s.to_string())
}

/// An expression wrapped once per entry of `kinds`, innermost first: unary minus,
/// parentheses, a call, an `if`, a trailing `+ 1`, a leading `1 **`, `.T`, a slice.
fn deep_text(kinds: &[u8]) -> String {
    let (mut pre, mut post) = (vec![], vec![]);
    for k in kinds {
        let (a, b) = match k {
            0 => ("-", ""),
            1 => ("(", ")"),
            2 => ("relu(", ")"),
            3 => ("if 1 < 2 { ", " } else { 0 }"),
            4 => ("", " + 1"),
            5 => ("1 ** ", ""),
            6 => ("", ".T"),
            _ => ("", "[0:1]"),
        };
        pre.push(a);
        post.push(b);
    }
    pre.reverse();
    format!(
        "let x = {}zeros(1, 1){};\noutput y = x;\n",
        pre.concat(),
        post.concat()
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, .. ProptestConfig::default() })]
    #[test]
    fn token_soup_never_panics(toks in prop::collection::vec(token(), 0..60)) {
        check(&toks.join(" "));
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,200}") {
        check(&s);
    }

    #[test]
    fn mutated_examples_never_panic(which in 0usize..3, cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), token()), 1..4)) {
        let mut text = std::fs::read_to_string(common::example_path(common::EXAMPLES[which])).unwrap();
        for (a, b, t) in cuts {
            let len = text.len();
            let (mut i, mut j) = (a.index(len.max(1)), b.index(len.max(1)));
            if i > j { std::mem::swap(&mut i, &mut j); }
            j = j.min(i + 20);
            while !text.is_char_boundary(i) { i -= 1; }
            while !text.is_char_boundary(j) { j -= 1; }
            text.replace_range(i..j.max(i), &t);
        }
        check(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
    #[test]
    fn deep_random_nesting_never_panics(kinds in prop::collection::vec(0u8..8, 0..3000)) {
        check(&deep_text(&kinds));
    }
}

#[test]
fn pathological_inputs() {
    for s in [
        "",
        "(((((((((((((((((((((((((((((((",
        "let x = -----------------------------1;",
        "fn",
        "use std;",
        "use std::math::sign;\nlet y = sign(1);",
        "let x = 1e999;",
        "input x: f64[99999999999999999999];",
        "let x = zeros(1e300, 1e300);",
        "param N: int = N;",
        "param A: int = B; param B: int = A;",
        "use std::softmax::hetal; let p = hetal(1);",
    ] {
        check(s);
    }
    // deep nesting must not overflow the stack at ordinary depths
    let deep = format!("let x = {}1{};", "(".repeat(200), ")".repeat(200));
    check(&deep);
}

/// A bounded random-input loop over the same front end as the cargo-fuzz target, for machines
/// without cargo-fuzz: mutates the seeds (examples, stdlib, error and warning programs,
/// fuzz/seeds/front_end) by deleting, duplicating, splicing, inserting tokens and repeating
/// short pieces thousands of times (deep nesting). Run it with
/// `FUZZ_SECONDS=300 cargo test -p blindtune-compiler --test nopanic -- --ignored --nocapture`;
/// it prints the executions, and on a panic the RNG seed and the input.
#[test]
#[ignore]
fn fuzz_loop() {
    let secs: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut seeds: Vec<String> = blindtune_compiler::stdlib::MODULES
        .iter()
        .map(|(_, t)| t.to_string())
        .collect();
    for dir in [
        "examples",
        "compiler/tests/errors",
        "compiler/tests/warnings",
        "fuzz/seeds/front_end",
    ] {
        for e in std::fs::read_dir(common::root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "bt") {
                seeds.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    let toks = [
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        "-",
        "+",
        "*",
        "/",
        "@",
        "**",
        ".T",
        ":",
        ";",
        ",",
        "..",
        "if 1 < 2 {",
        "} else {",
        "} else if 1 < 2 {",
        "for i in 0..3 carry (a = 1) {",
        "let x = ",
        "output o = ",
        "fn f(x: f64) -> (f64, f64) {",
        "x[:, -1]",
        "x[2:]",
        "/*",
        "*/",
        "//",
        "\n",
        "randn(0, 2)",
        "uniform(1, 0, 1, 3)",
        "gelu(",
        "sum(x, -1)",
        "softmax.hetal(",
        "w = ",
        "\u{ff}",
        "1e308",
        "-0",
        "x",
    ];
    let mut s = seed;
    let mut rnd = move |n: usize| -> usize {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % n.max(1) as u64) as usize
    };
    let t0 = std::time::Instant::now();
    let mut execs = 0u64;
    while t0.elapsed().as_secs() < secs {
        let mut t: Vec<char> = seeds[rnd(seeds.len())].chars().collect();
        for _ in 0..1 + rnd(6) {
            let len = t.len();
            let (a, b) = {
                let a = rnd(len + 1);
                (a, (a + rnd(40)).min(len))
            };
            match rnd(6) {
                0 => {
                    t.drain(a..b);
                }
                1 => {
                    let piece: Vec<char> = t[a..b].to_vec();
                    t.splice(a..a, piece);
                }
                2 => {
                    let other: Vec<char> = seeds[rnd(seeds.len())].chars().collect();
                    let c = rnd(other.len() + 1);
                    let d = (c + rnd(200)).min(other.len());
                    t.splice(a..a, other[c..d].iter().copied());
                }
                3 => {
                    let tok: Vec<char> = toks[rnd(toks.len())].chars().collect();
                    t.splice(a..a, tok);
                }
                4 => {
                    // repeat a short piece many times: deep or long expressions
                    let b = (a + 1 + rnd(3)).min(len);
                    let piece: Vec<char> = t[a..b].to_vec();
                    let n = 1 + rnd(3000);
                    let rep: Vec<char> = piece
                        .iter()
                        .copied()
                        .cycle()
                        .take(piece.len() * n)
                        .collect();
                    t.splice(a..a, rep);
                }
                _ => {
                    if a < len {
                        t[a] = (b' ' + rnd(95) as u8) as char;
                    }
                }
            }
        }
        let text: String = t.into_iter().collect();
        let r = std::panic::catch_unwind(|| check(&text));
        if r.is_err() {
            let shown: String = text.chars().take(2000).collect();
            panic!("panic after {execs} executions (FUZZ_SEED={seed}); input:\n{shown}");
        }
        execs += 1;
    }
    println!(
        "fuzz_loop: {execs} executions in {:.0} s, no panic (FUZZ_SEED={seed})",
        t0.elapsed().as_secs_f64()
    );
}
