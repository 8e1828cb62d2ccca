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
    format!("let x = {}zeros(1, 1){};\noutput y = x;\n", pre.concat(), post.concat())
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
