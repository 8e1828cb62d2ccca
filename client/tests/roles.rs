//! The roles invariant, checked on the source: the cloud's code (`client/src/cloud/`, and the
//! cloud commands of `src/cli/` once they exist) never imports the owner's module nor names
//! the types that hold or make a secret key. The cloud can then not open a secret key by
//! construction: its one key loader accepts only the evaluation-bundle kind (tested in
//! `workflow.rs`).

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "owner",
    "SecretKey",
    "Decryptor",
    "KeyGenerator",
    "SECRET_KEY_FILE",
    "secret.key",
    "with_secret_key",
    "encrypt_symmetric",
];

/// The cloud commands (added with the executor); checked when present.
const CLOUD_COMMANDS: &[&str] = &["train.rs"];

fn check(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for f in FORBIDDEN {
            assert!(
                !code.contains(f),
                "{}:{}: cloud code names `{f}`: {line}",
                path.display(),
                n + 1
            );
        }
    }
}

#[test]
fn cloud_code_never_touches_the_secret_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("src/cloud")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "rs") {
            check(&p);
            checked += 1;
        }
    }
    assert!(checked >= 3, "the cloud module has its files");
    for cmd in CLOUD_COMMANDS {
        let p = root.join("../src/cli").join(cmd);
        if p.exists() {
            check(&p);
        }
    }
}
