//! The registry of diagnostic codes (diagnostics::codes) is the single list: every code used
//! in the sources is registered, every registered code is used, and the table in
//! docs/language.md is the one the registry generates.

mod common;
use blindtune_compiler::diagnostics::codes;
use std::collections::BTreeSet;

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `"E1234"` / `"W1234"` string literal in the compiler and CLI sources.
fn used_codes() -> BTreeSet<String> {
    let mut files = vec![];
    rust_files(&common::root().join("compiler/src"), &mut files);
    rust_files(&common::root().join("src"), &mut files);
    let mut out = BTreeSet::new();
    for f in files {
        if f.ends_with("diagnostics/codes.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let b = text.as_bytes();
        for i in 0..b.len().saturating_sub(6) {
            if b[i] == b'"'
                && (b[i + 1] == b'E' || b[i + 1] == b'W')
                && b[i + 2..i + 6].iter().all(u8::is_ascii_digit)
                && b[i + 6] == b'"'
            {
                out.insert(text[i + 1..i + 6].to_string());
            }
        }
    }
    out
}

#[test]
fn every_code_is_registered_and_every_registered_code_is_used() {
    let used = used_codes();
    let registered: BTreeSet<String> = codes::CODES.iter().map(|c| c.code.to_string()).collect();
    let unregistered: Vec<_> = used.difference(&registered).collect();
    let unused: Vec<_> = registered.difference(&used).collect();
    assert!(
        unregistered.is_empty(),
        "codes used but not in diagnostics::codes: {unregistered:?}"
    );
    assert!(
        unused.is_empty(),
        "registered codes no source emits: {unused:?}"
    );
    let mut sorted = codes::CODES.to_vec();
    sorted.sort_by_key(|c| c.code);
    assert_eq!(sorted, codes::CODES.to_vec(), "keep the registry sorted");
}

#[test]
fn docs_table_is_generated_from_the_registry() {
    let docs = std::fs::read_to_string(common::root().join("docs/language.md")).unwrap();
    let table = codes::markdown_table();
    assert!(
        docs.contains(&table),
        "docs/language.md must contain the registry's table; paste this:\n{table}"
    );
}
