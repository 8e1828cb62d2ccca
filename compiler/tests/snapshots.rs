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
    let dir = common::root().join("compiler/tests/errors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bt"))
        .collect();
    files.sort();
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
