//! The checker: name resolution, shapes, secrecy, ranges, loop-carried state.

pub mod approx;
pub mod check;
pub mod checked;
pub mod depth;
pub mod range;
pub mod resolve;
pub mod secrecy;
pub mod shape;
pub mod ty;

use crate::diagnostics::{Diagnostic, SourceMap};
pub use checked::CheckedProgram;
use resolve::{FsSource, Loader, ModInfo, ModuleSource};
use std::collections::BTreeMap;

/// Everything a compilation produced: the source map (for rendering), the parsed modules,
/// the diagnostics, and the checked program when there were no errors.
pub struct Compilation {
    pub sources: SourceMap,
    pub modules: Vec<ModInfo>,
    pub diagnostics: Vec<Diagnostic>,
    pub program: Option<CheckedProgram>,
}

impl Compilation {
    pub fn rendered_diagnostics(&self) -> String {
        crate::diagnostics::render_all(&self.diagnostics, &self.sources)
    }
}

/// Parse and check `text` (named `name`) with modules from `src`. Parameter overrides use
/// qualified names (`EPOCHS`, `std::softmax::R`).
pub fn check_with(
    name: &str,
    text: &str,
    src: &dyn ModuleSource,
    overrides: BTreeMap<String, f64>,
) -> Compilation {
    let mut loader = Loader::new(src);
    let main = loader.add_module("main", name, text);
    let parse_errors = !loader.diags.is_empty();
    let (program, mut diags) = {
        let checker = check::Checker::new(&loader.mods, overrides);
        checker.check_main(main)
    };
    let mut all = std::mem::take(&mut loader.diags);
    if parse_errors {
        // type errors on top of a broken tree are mostly noise; keep those in other lines only
        let lines: Vec<(u32, u32)> = all.iter().map(|d| (d.span.file, d.span.start)).collect();
        diags.retain(|d| {
            !lines
                .iter()
                .any(|(f, s)| *f == d.span.file && d.span.start <= *s && *s <= d.span.end)
        });
    }
    all.extend(diags);
    if all
        .iter()
        .any(|d| d.severity == crate::diagnostics::Severity::Error)
    {
        // warnings on top of errors are noise
        all.retain(|d| d.severity == crate::diagnostics::Severity::Error);
    }
    all.sort_by_key(|d| (d.span.file, d.span.start));
    let program = if all
        .iter()
        .any(|d| d.severity == crate::diagnostics::Severity::Error)
    {
        None
    } else {
        program
    };
    tracing::debug!(
        file = name,
        modules = loader.mods.len(),
        diagnostics = all.len(),
        ok = program.is_some(),
        "checked"
    );
    Compilation {
        sources: loader.sm,
        modules: loader.mods,
        diagnostics: all,
        program,
    }
}

/// Check a file from disk (modules next to it, stdlib embedded).
pub fn check_file(
    path: &std::path::Path,
    overrides: BTreeMap<String, f64>,
) -> std::io::Result<Compilation> {
    let text = match String::from_utf8(std::fs::read(path)?) {
        Ok(t) => t,
        Err(e) => return Ok(not_utf8(&path.display().to_string(), e)),
    };
    let src = FsSource {
        dir: path.parent().map(|p| p.to_path_buf()),
    };
    Ok(check_with(
        &path.display().to_string(),
        &text,
        &src,
        overrides,
    ))
}

/// Check source text with only the stdlib available.
pub fn check_source(name: &str, text: &str) -> Compilation {
    check_with(name, text, &FsSource { dir: None }, BTreeMap::new())
}

/// A file that is not UTF-8: one E0007 naming the byte offset, line and column of the first
/// bad byte (the rest of the file is shown with replacement characters).
fn not_utf8(name: &str, e: std::string::FromUtf8Error) -> Compilation {
    let off = e.utf8_error().valid_up_to();
    let bytes = e.into_bytes();
    let prefix = String::from_utf8_lossy(&bytes[..off]).into_owned();
    let line = prefix.matches('\n').count() + 1;
    let col = prefix[prefix.rfind('\n').map(|i| i + 1).unwrap_or(0)..]
        .chars()
        .count()
        + 1;
    let byte = bytes[off];
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut sm = SourceMap::default();
    let f = sm.add(name, text);
    let d = Diagnostic::error(
        "E0007",
        format!("the file is not valid UTF-8: byte 0x{byte:02x} at byte offset {off} (line {line}, column {col})"),
        crate::syntax::span::Span::new(f, off, off + 1),
        "not UTF-8",
    )
    .with_help("blindtune source files are UTF-8 text; re-save the file as UTF-8 or remove the byte");
    Compilation {
        sources: sm,
        modules: vec![],
        diagnostics: vec![d],
        program: None,
    }
}
