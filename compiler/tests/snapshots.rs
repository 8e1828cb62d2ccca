//! insta snapshots: parsed (canonical pretty form) and checked forms of every example and
//! stdlib module, and the diagnostics of every program in tests/errors/.

mod common;
use blindtune_compiler::{diagnostics::Severity, stdlib, syntax, types};

#[test]
fn examples_parsed_and_checked() {
    for name in common::EXAMPLES {
        let path = common::example_path(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let (m, diags) = syntax::parse(0, &text);
        assert!(diags.is_empty(), "{name}: {diags:?}");
        insta::assert_snapshot!(format!("parsed_{name}"), syntax::pretty::module(&m));
        let c = blindtune_compiler::check_file(&path, Default::default()).unwrap();
        assert!(
            c.diagnostics.is_empty(),
            "{name}:\n{}",
            c.rendered_diagnostics()
        );
        let p = c.program.expect("checked");
        insta::assert_snapshot!(format!("checked_{name}"), p.dump());
    }
}

#[test]
fn stdlib_parsed_and_checked() {
    for (name, text) in stdlib::MODULES {
        let (m, diags) = syntax::parse(0, text);
        assert!(diags.is_empty(), "std::{name}: {diags:?}");
        insta::assert_snapshot!(format!("stdlib_parsed_{name}"), syntax::pretty::module(&m));
        let c = types::check_source("main.bt", &format!("use std::{name};\n"));
        assert!(
            c.diagnostics.is_empty(),
            "std::{name}:\n{}",
            c.rendered_diagnostics()
        );
        let p = c.program.expect("checked");
        let prefix = format!("std::{name}::");
        let mut out = String::new();
        for (aname, a) in &p.approximations {
            if aname.starts_with(&prefix) {
                out.push_str(&format!(
                    "approx {aname}: {:?} degree {} on {} max error {:?} -> {}\n",
                    a.basis,
                    a.degree(),
                    a.domain,
                    a.max_error.map(|e| format!("{e:.2e}")),
                    a.out_range
                ));
            }
        }
        for f in p.functions.values() {
            if f.name.starts_with(&prefix) {
                out.push_str(&types::checked::dump_fn(f));
            }
        }
        insta::assert_snapshot!(format!("stdlib_checked_{name}"), out);
    }
}

#[test]
fn error_programs() {
    let files = common::bt_files("compiler/tests/errors");
    assert!(
        files.len() >= 30,
        "need at least 30 error programs, found {}",
        files.len()
    );
    let mut codes = std::collections::BTreeSet::new();
    for f in &files {
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        let c = types::check_with(
            &format!("errors/{stem}.bt"),
            &text,
            &types::resolve::FsSource { dir: None },
            Default::default(),
        );
        assert!(c.program.is_none(), "{stem} should not check");
        assert!(
            c.diagnostics.iter().any(|d| d.severity == Severity::Error),
            "{stem}: no error"
        );
        for d in &c.diagnostics {
            assert!(
                d.help.is_some(),
                "{stem}: diagnostic without help: {}",
                d.message
            );
        }
        codes.insert(c.diagnostics[0].code);
        let rendered = c.rendered_diagnostics();
        assert!(
            rendered.contains(&format!("errors/{stem}.bt:")),
            "{stem}: no file:line:col"
        );
        assert!(
            rendered.contains('^') && rendered.contains("= help:"),
            "{stem}: no caret/help"
        );
        insta::assert_snapshot!(format!("error_{stem}"), rendered);
    }
    assert!(
        codes.len() >= 20,
        "error programs should exercise many different checks, got {codes:?}"
    );
}

/// tests/warnings/*.bt: each checks (warnings do not stop a program) with at least one warning
/// and help. A first line `// --param NAME=VALUE` passes a parameter override.
#[test]
fn warning_programs() {
    let files = common::bt_files("compiler/tests/warnings");
    assert!(files.len() >= 6, "found {}", files.len());
    for f in &files {
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        let mut overrides = std::collections::BTreeMap::new();
        if let Some(p) = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// --param "))
        {
            let (k, v) = p.split_once('=').unwrap();
            overrides.insert(k.to_string(), v.parse::<f64>().unwrap());
        }
        let c = types::check_with(
            &format!("warnings/{stem}.bt"),
            &text,
            &types::resolve::FsSource { dir: None },
            overrides,
        );
        let rendered = c.rendered_diagnostics();
        assert!(c.program.is_some(), "{stem} should check:\n{rendered}");
        assert!(
            c.diagnostics
                .iter()
                .any(|d| d.severity == Severity::Warning),
            "{stem}: no warning"
        );
        for d in &c.diagnostics {
            assert!(d.help.is_some(), "{stem}: no help: {}", d.message);
            assert!(d.code.starts_with('W'), "{stem}: {}", d.message);
        }
        insta::assert_snapshot!(format!("warning_{stem}"), rendered);
    }
}

#[test]
fn the_examples_have_no_warnings_and_underscore_names_silence_unused() {
    let c = types::check_source(
        "u.bt",
        "input x: secret f64[N, 4] in [-1, 1];\nlet _scratch = x * 2;\nlet (a, _b) = (x, x);\noutput y = a;\n",
    );
    assert!(c.diagnostics.is_empty(), "{}", c.rendered_diagnostics());
    // warnings are not added on top of errors
    let c = types::check_source("u.bt", "let unused = 1;\nlet y = nope;\n");
    assert!(c.diagnostics.iter().all(|d| d.severity == Severity::Error));
}

#[test]
fn non_utf8_file_names_byte_offset_line_and_column() {
    let path = std::env::temp_dir().join(format!("blindtune-non-utf8-{}.bt", std::process::id()));
    std::fs::write(&path, b"let x = 1;\nlet y = \xff;\n").unwrap();
    let c = blindtune_compiler::check_file(&path, Default::default()).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(c.program.is_none());
    assert_eq!(c.diagnostics.len(), 1);
    let d = &c.diagnostics[0];
    assert_eq!(d.code, "E0007");
    assert!(
        d.message
            .contains("byte 0xff at byte offset 19 (line 2, column 9)"),
        "{}",
        d.message
    );
    let r = c.rendered_diagnostics();
    assert!(r.contains(":2:9"), "{r}");
}

#[test]
fn several_syntax_errors_in_one_run() {
    let c = types::check_source(
        "multi.bt",
        "let a = 1 +;\nlet b = (2, ;\nlet c = 3;\nfn f( { }\nlet d = ;\n",
    );
    let n = c
        .diagnostics
        .iter()
        .filter(|d| d.code.starts_with("E000"))
        .count();
    assert!(
        n >= 3,
        "expected several syntax errors, got:\n{}",
        c.rendered_diagnostics()
    );
}
