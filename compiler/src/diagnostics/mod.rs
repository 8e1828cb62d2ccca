//! Diagnostics in the rustc style:
//!
//! ```text
//! error[E0301]: shape mismatch in `+`: [b, 10] vs [b, 192]
//!  --> examples/bad.bt:7:13
//!   |
//! 7 |     let z = x + w;
//!   |             ^^^^^ these shapes do not broadcast
//!   |
//!   = help: ...
//! ```
//!
//! The renderer is our own (deterministic, no colours) so snapshots are stable; [`Diagnostic`]
//! also implements `miette::Diagnostic` for callers that want miette's reports.

pub mod codes;
pub mod suggest;

use crate::syntax::span::{FileId, Span};
use std::fmt::Write as _;

/// All source files of one compilation (the main file, user modules, stdlib modules).
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<(String, String)>,
}

impl SourceMap {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push((name.into(), text.into()));
        (self.files.len() - 1) as FileId
    }
    pub fn name(&self, f: FileId) -> &str {
        self.files
            .get(f as usize)
            .map(|x| x.0.as_str())
            .unwrap_or("<unknown>")
    }
    pub fn text(&self, f: FileId) -> &str {
        self.files
            .get(f as usize)
            .map(|x| x.1.as_str())
            .unwrap_or("")
    }
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, f: FileId, offset: u32) -> (usize, usize) {
        let text = self.text(f);
        let off = (offset as usize).min(text.len());
        let off = (0..=off)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        let before = &text[..off];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        (line, text[line_start..off].chars().count() + 1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, e.g. `E0301`; see docs/language.md for the list.
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    /// Text under the caret.
    pub label: String,
    pub help: Option<String>,
    /// Secondary notes with their own spans (e.g. "first defined here").
    pub notes: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: label.into(),
            help: None,
            notes: vec![],
        }
    }
    pub fn warning(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span, label)
        }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn with_note(mut self, span: Span, note: impl Into<String>) -> Self {
        self.notes.push((span, note.into()));
        self
    }
}

/// The most characters of one source line a snippet echoes; longer lines are shown as a window
/// around the caret, marked with `…` where cut.
pub const MAX_ECHO: usize = 200;
/// The most characters of a message, label, note or help (they may quote source names).
pub const MAX_TEXT: usize = 400;

fn capped(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}…", &s[..i]).into(),
        None => s.into(),
    }
}

fn snippet(out: &mut String, sm: &SourceMap, span: Span, label: &str, gutter: usize) {
    let text = sm.text(span.file);
    let (line, col) = sm.line_col(span.file, span.start);
    let full_line = text.lines().nth(line - 1).unwrap_or("");
    // caret length: within the first line of the span, at least 1
    let (end_line, end_col) = sm.line_col(span.file, span.end);
    let full_chars = full_line.chars().count();
    let mut len = if end_line == line {
        end_col.saturating_sub(col).max(1)
    } else {
        full_chars.saturating_sub(col - 1).max(1)
    };
    let windowed;
    let (line_text, col) = if full_chars > MAX_ECHO {
        let start = (col - 1).saturating_sub(MAX_ECHO / 4);
        let end = (start + MAX_ECHO).min(full_chars);
        let mut w: String = full_line.chars().skip(start).take(end - start).collect();
        if end < full_chars {
            w.push('…');
        }
        let mut c = col - start;
        if start > 0 {
            w.insert(0, '…');
            c += 1;
        }
        len = len.min((end + 1).saturating_sub(col)).max(1);
        windowed = w;
        (windowed.as_str(), c)
    } else {
        (full_line, col)
    };
    let label = capped(label);
    let pad = " ".repeat(gutter);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{line:>gutter$} | {line_text}");
    let lead: String = line_text
        .chars()
        .take(col - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let _ = writeln!(out, "{pad} | {lead}{} {label}", "^".repeat(len));
}

/// Render one diagnostic as text.
pub fn render(d: &Diagnostic, sm: &SourceMap) -> String {
    let mut out = String::new();
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{sev}[{}]: {}", d.code, capped(&d.message));
    let (line, col) = sm.line_col(d.span.file, d.span.start);
    let mut gutter = line.to_string().len();
    for (s, _) in &d.notes {
        gutter = gutter.max(sm.line_col(s.file, s.start).0.to_string().len());
    }
    let _ = writeln!(
        out,
        "{} --> {}:{line}:{col}",
        " ".repeat(gutter),
        sm.name(d.span.file)
    );
    snippet(&mut out, sm, d.span, &d.label, gutter);
    for (s, note) in &d.notes {
        let (l, c) = sm.line_col(s.file, s.start);
        let _ = writeln!(
            out,
            "{} ::: {}:{l}:{c}",
            " ".repeat(gutter),
            sm.name(s.file)
        );
        snippet(&mut out, sm, *s, note, gutter);
    }
    if let Some(h) = &d.help {
        let _ = writeln!(out, "{} |", " ".repeat(gutter));
        let _ = writeln!(out, "{} = help: {}", " ".repeat(gutter), capped(h));
    }
    out
}

/// Render many, separated by blank lines, with a summary line.
pub fn render_all(ds: &[Diagnostic], sm: &SourceMap) -> String {
    let mut out = String::new();
    for d in ds {
        out.push_str(&render(d, sm));
        out.push('\n');
    }
    let w = ds
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    if w > 0 {
        let _ = writeln!(
            out,
            "warning: {w} warning{} emitted",
            if w == 1 { "" } else { "s" }
        );
    }
    let n = ds.iter().filter(|d| d.severity == Severity::Error).count();
    if n > 0 {
        let _ = writeln!(
            out,
            "error: could not compile due to {n} previous error{}",
            if n == 1 { "" } else { "s" }
        );
    }
    out
}

/// A failed compilation, usable as a miette report (`blindtune check`).
#[derive(Debug, thiserror::Error)]
#[error("{rendered}")]
pub struct CompileError {
    pub diagnostics: Vec<Diagnostic>,
    pub rendered: String,
}

impl miette::Diagnostic for CompileError {}
