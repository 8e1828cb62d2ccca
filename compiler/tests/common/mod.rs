#![allow(dead_code)]
//! Shared helpers for the integration tests.

use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub const EXAMPLES: &[&str] = &[
    "hetal_head",
    "hetal_head_fast",
    "logreg",
    "select_and_ranges",
];

/// The `.bt` files of `dir` (relative to the repository root), sorted.
pub fn bt_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bt"))
        .collect();
    files.sort();
    files
}

pub fn example_path(name: &str) -> PathBuf {
    root().join("examples").join(format!("{name}.bt"))
}

/// Replace spans by nothing so trees from different texts compare equal.
pub fn strip_spans(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            if m.len() == 3
                && m.contains_key("file")
                && m.contains_key("start")
                && m.contains_key("end")
            {
                *v = serde_json::Value::Null;
                return;
            }
            m.remove("span");
            for x in m.values_mut() {
                strip_spans(x);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

pub fn tree(m: &blindtune_compiler::syntax::ast::Module) -> serde_json::Value {
    let mut v = serde_json::to_value(m).expect("AST serializes");
    strip_spans(&mut v);
    v
}
pub mod data;
pub mod slots;
pub mod streams;
