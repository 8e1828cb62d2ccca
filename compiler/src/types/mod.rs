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
    let text = std::fs::read_to_string(path)?;
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
