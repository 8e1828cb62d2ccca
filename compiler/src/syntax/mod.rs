//! Front end: lexer (logos), grammar (lalrpop), AST and pretty printer.

pub mod ast;
pub mod depth;
pub mod lexer;
pub mod pretty;
pub mod span;

use crate::diagnostics::Diagnostic;
use lalrpop_util::{lalrpop_mod, ErrorRecovery, ParseError};
use lexer::Token;
use span::{FileId, Span};

lalrpop_mod!(
    #[allow(clippy::all, unused_parens, unused_imports, dead_code)]
    pub grammar,
    "/syntax/grammar.rs"
);

/// An error raised from a grammar action (e.g. a fractional dimension).
#[derive(Clone, Debug, PartialEq)]
pub struct UserError {
    pub msg: String,
    pub start: usize,
    pub end: usize,
}

fn expected_text(expected: &[String]) -> String {
    let mut v: Vec<String> = expected
        .iter()
        .map(|s| s.trim_matches('"').to_string())
        .collect();
    v.sort();
    v.dedup();
    let v: Vec<String> = v
        .into_iter()
        .map(|s| {
            if s == "IDENT" {
                "identifier".into()
            } else if s == "NUM" {
                "number".into()
            } else if s == "BADCHAR" {
                String::new()
            } else {
                format!("`{s}`")
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    match v.len() {
        0 => "nothing more".into(),
        1 => v[0].clone(),
        n if n <= 6 => format!("{} or {}", v[..n - 1].join(", "), v[n - 1]),
        _ => format!("{}, ... ({} possibilities)", v[..5].join(", "), v.len()),
    }
}

fn help_for(found: &Token, expected: &[String]) -> String {
    let exp = |s: &str| expected.iter().any(|e| e.trim_matches('"') == s);
    if *found == Token::Error {
        return "remove this character; blindtune source is ASCII identifiers, numbers and the operators listed in docs/language.md".into();
    }
    if exp("IDENT")
        && lexer::keyword_text(found).is_some_and(|k| k.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return format!(
            "`{}` is a keyword and cannot be used as a name; pick another name",
            lexer::keyword_text(found).unwrap_or("")
        );
    }
    if exp(";") {
        return "statements and declarations end with `;`".into();
    }
    if exp("else") {
        return "an `if` is an expression and needs both branches: `if c { a } else { b }`".into();
    }
    if matches!(found, Token::RParen | Token::RBracket | Token::RBrace) {
        return "check that brackets are balanced and nothing is missing before this one".into();
    }
    format!("expected {} here", expected_text(expected))
}

/// Loops are expressions with carried state; shown where someone writes an assignment.
const LOOP_FORM: &str = "blindtune has no assignment: values are immutable, and a loop is an expression whose `carry` state is updated by the body's last expression, e.g. `let w = for e in 0..EPOCHS carry (w = zeros(C, D)) { let g = grad(w); w - 0.1 * g };` (outside loops, bind a new name: `let w2 = w - g;`)";

fn convert(
    file: FileId,
    src_len: usize,
    e: ParseError<usize, Token, UserError>,
    prev_end: &dyn Fn(usize) -> Option<usize>,
    assign_at: &dyn Fn(usize) -> bool,
) -> Diagnostic {
    // `w = w - g` (an identifier then `=` where a statement starts), or `=` after an expression
    if let ParseError::UnrecognizedToken {
        token: (l, ref tok, r),
        ..
    } = e
    {
        if *tok == Token::Eq || (matches!(tok, Token::Ident(_)) && assign_at(l)) {
            return Diagnostic::error(
                "E0003",
                "assignment is not a statement in blindtune",
                Span::new(file, l, r),
                "assignment here",
            )
            .with_help(LOOP_FORM);
        }
        if *tok == Token::For {
            return Diagnostic::error(
                "E0003",
                "a `for` loop is an expression, not a statement",
                Span::new(file, l, r),
                "loop used as a statement",
            )
            .with_help(LOOP_FORM);
        }
    }
    // a missing `;` is reported right after the previous token, as rustc does
    if let ParseError::UnrecognizedToken {
        token: (l, ref tok, _),
        ref expected,
    } = e
    {
        if expected.iter().any(|x| x.trim_matches('"') == ";") && *tok != Token::Error {
            if let Some(p) = prev_end(l) {
                return Diagnostic::error(
                    "E0003",
                    format!("expected `;`, found {tok}"),
                    Span::new(file, p, p + 1),
                    "expected `;` here",
                )
                .with_help("statements and declarations end with `;`");
            }
        }
    }
    match e {
        ParseError::InvalidToken { location } => Diagnostic::error(
            "E0001",
            "invalid token",
            Span::new(file, location, location + 1),
            "not a token",
        )
        .with_help("remove this character"),
        ParseError::UnrecognizedEof { location, expected } => Diagnostic::error(
            "E0002",
            format!(
                "unexpected end of file, expected {}",
                expected_text(&expected)
            ),
            Span::new(file, location.min(src_len), location.min(src_len)),
            "file ends here",
        )
        .with_help("the last item is incomplete; check for a missing `;` or `}`"),
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let code = if tok == Token::Error {
                "E0001"
            } else {
                "E0003"
            };
            let msg = if tok == Token::Error {
                "unknown character".to_string()
            } else {
                format!("unexpected {tok}, expected {}", expected_text(&expected))
            };
            Diagnostic::error(code, msg, Span::new(file, l, r), "unexpected here")
                .with_help(help_for(&tok, &expected))
        }
        ParseError::ExtraToken { token: (l, tok, r) } => Diagnostic::error(
            "E0003",
            format!("unexpected {tok}"),
            Span::new(file, l, r),
            "extra token",
        )
        .with_help("remove it"),
        ParseError::User { error } => Diagnostic::error(
            "E0004",
            error.msg,
            Span::new(file, error.start, error.end),
            "here",
        )
        .with_help("dimensions are whole numbers or symbols such as `N`"),
    }
}

/// Parse one file. Always returns a module (possibly with `Error` items) and the syntax errors.
pub fn parse(file: FileId, src: &str) -> (ast::Module, Vec<Diagnostic>) {
    let tokens = lexer::lex(src);
    let mut diags = Vec::new();
    // Unknown characters are reported here once and dropped, so the parser sees the rest.
    let mut clean = Vec::with_capacity(tokens.len());
    for (i, (l, t, r)) in tokens.iter().cloned().enumerate() {
        // `softmax.hetal(z)`: a module item reached with `.` instead of `::`
        let ident_at = |j: usize| matches!(tokens.get(j), Some((_, Token::Ident(_), _)));
        if t == Token::Error
            && src.get(l..r) == Some(".")
            && i > 0
            && ident_at(i - 1)
            && ident_at(i + 1)
        {
            let (a, b) = (
                src.get(tokens[i - 1].0..tokens[i - 1].2).unwrap_or(""),
                src.get(tokens[i + 1].0..tokens[i + 1].2).unwrap_or(""),
            );
            diags.push(
                Diagnostic::error(
                    "E0001",
                    format!("`{a}.{b}`: `.` is not an operator"),
                    Span::new(file, l, r),
                    "use `::` here",
                )
                .with_help(format!("blindtune has no methods; an item of a module is reached with `::`: write `{a}::{b}` (after `use std::{a};` for a stdlib module)")),
            );
            // go on as if `::` had been written, so the rest is checked normally
            clean.push((l, Token::ColonColon, r));
            continue;
        }
        if t == Token::Error {
            let shown: String = src.get(l..r).unwrap_or("?").chars().take(10).collect();
            diags.push(
                Diagnostic::error(
                    "E0001",
                    format!("unknown character `{}`", shown.escape_debug()),
                    Span::new(file, l, r),
                    "not part of the language",
                )
                .with_help("remove it; comments start with `//`"),
            );
        } else {
            clean.push((l, t, r));
        }
    }
    let ends: Vec<usize> = clean.iter().map(|t| t.2).collect();
    // identifiers followed by `=` where a statement or item starts
    let assigns: std::collections::HashSet<usize> = clean
        .windows(2)
        .enumerate()
        .filter(|(i, w)| {
            matches!(w[0].1, Token::Ident(_))
                && w[1].1 == Token::Eq
                && (*i == 0
                    || matches!(clean[i - 1].1, Token::Semi | Token::LBrace | Token::RBrace))
        })
        .map(|(_, w)| w[0].0)
        .collect();
    let assign_at = |l: usize| assigns.contains(&l);
    let mut errors: Vec<ErrorRecovery<usize, Token, UserError>> = Vec::new();
    let result = grammar::ModuleParser::new().parse(
        file,
        &mut errors,
        clean.into_iter().map(Ok::<_, UserError>),
    );
    let prev_end = |l: usize| ends.iter().rev().find(|&&e| e <= l).copied();
    for e in errors {
        diags.push(convert(file, src.len(), e.error, &prev_end, &assign_at));
    }
    let mut module = match result {
        Ok(m) => m,
        Err(e) => {
            diags.push(convert(file, src.len(), e, &prev_end, &assign_at));
            ast::Module {
                items: vec![],
                span: Span::new(file, 0, src.len()),
            }
        }
    };
    diags.extend(depth::limit_module(&mut module));
    (module, diags)
}

/// Parse a single expression (used by `--param NAME=EXPR` and tests).
pub fn parse_expr(file: FileId, src: &str) -> Result<ast::Expr, Diagnostic> {
    let tokens = lexer::lex(src);
    if let Some((l, _, r)) = tokens.iter().find(|t| t.1 == Token::Error) {
        return Err(Diagnostic::error(
            "E0001",
            "unknown character",
            Span::new(file, *l, *r),
            "here",
        )
        .with_help("remove it"));
    }
    let mut errors = Vec::new();
    let r = grammar::ExprParser::new().parse(
        file,
        &mut errors,
        tokens.into_iter().map(Ok::<_, UserError>),
    );
    if let Some(e) = errors.into_iter().next() {
        return Err(convert(file, src.len(), e.error, &|_| None, &|_| false));
    }
    let mut e = r.map_err(|e| convert(file, src.len(), e, &|_| None, &|_| false))?;
    match depth::limit_expr(&mut e) {
        Some(d) => Err(d),
        None => Ok(e),
    }
}

/// Parse and pretty-print keeping comments (`blindtune fmt`). Syntax errors come back rendered.
pub fn format_source(name: &str, src: &str) -> Result<String, String> {
    let mut sm = crate::diagnostics::SourceMap::default();
    let f = sm.add(name, src);
    let (m, diags) = parse(f, src);
    if !diags.is_empty() {
        return Err(crate::diagnostics::render_all(&diags, &sm));
    }
    Ok(pretty::module_with_comments(&m, src))
}
