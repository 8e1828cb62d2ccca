//! Data errors as diagnostics: an input missing from the data, or data that does not match
//! its declaration (shape, label outside the class count, range), pointed at the `input`
//! declaration, with the nearest tensor name of the data suggested for a missing one.

use super::data::DataSet;
use super::eval::RunError;
use crate::diagnostics::{suggest, Diagnostic};
use crate::types::checked::CheckedProgram;

/// How many tensor names a message lists.
const MAX_LISTED: usize = 12;

/// The diagnostic for a data error of `prog`, if `e` is one.
pub fn diagnostic(prog: &CheckedProgram, e: &RunError, data: &DataSet) -> Option<Diagnostic> {
    let input = |n: &str| prog.inputs.iter().find(|i| i.name == n);
    match e {
        RunError::MissingInput(name, _) => {
            let inp = input(name)?;
            let names: Vec<&str> = data.keys().map(|s| s.as_str()).collect();
            let help = match suggest::nearest(name, names.iter().copied()) {
                Some(n) => format!(
                    "the data has a tensor `{n}`: rename the input to `{n}`, or pass the tensor as `--data {name}=FILE.npy`"
                ),
                None => {
                    let mut listed = names
                        .iter()
                        .take(MAX_LISTED)
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    if names.len() > MAX_LISTED {
                        listed.push_str(&format!(" and {} more", names.len() - MAX_LISTED));
                    }
                    if names.is_empty() {
                        listed = "none".into();
                    }
                    format!("tensors in the data: {listed}; pass one as `--data {name}=FILE.npy`")
                }
            };
            Some(
                Diagnostic::error(
                    "E0701",
                    format!("input `{name}` is not in the data"),
                    inp.span,
                    "declared here",
                )
                .with_help(help),
            )
        }
        RunError::BadInput { name, msg } => {
            let inp = input(name)?;
            Some(
                Diagnostic::error(
                    "E0702",
                    format!("the data for input `{name}` does not match its declaration: {msg}"),
                    inp.span,
                    format!("declared as {}", inp.ty),
                )
                .with_help("fix the data or the declaration (shape, class count, range)"),
            )
        }
        RunError::Eval { .. } => None,
    }
}
