//! Names and scopes: resolving paths across modules and imports, and the E0101/E0102
//! "cannot find" diagnostics with their did-you-mean suggestions.

use super::*;
use crate::diagnostics::suggest::{close_enough, edit_distance};

impl<'m> Checker<'m> {
    pub(super) fn resolve_path(&self, module: usize, path: &[Ident]) -> Target {
        let m = &self.mods[module];
        if path.len() == 1 {
            let n = &path[0].name;
            if let Some(d) = m.defs.get(n) {
                return Target::Def(module, n.clone(), d.kind);
            }
            if let Some((Import::Item(t, item), _)) = m.imports.get(n) {
                if let Some(d) = self.mods[*t].defs.get(item) {
                    return Target::Def(*t, item.clone(), d.kind);
                }
            }
            return Target::NotFound;
        }
        let prefix: Vec<String> = path[..path.len() - 1]
            .iter()
            .map(|i| i.name.clone())
            .collect();
        let last = &path[path.len() - 1].name;
        let target_mod = if prefix.len() == 1 {
            match m.imports.get(&prefix[0]) {
                Some((Import::Module(t), _)) => Some(*t),
                _ => None,
            }
        } else {
            None
        }
        .or_else(|| {
            let full = prefix.join("::");
            self.mods.iter().position(|mm| mm.path == full)
        });
        match target_mod {
            Some(t) => match self.mods[t].defs.get(last) {
                Some(d) => Target::Def(t, last.clone(), d.kind),
                None => Target::NotFound,
            },
            None => Target::BadModule(prefix.join("::")),
        }
    }

    /// The names in scope of the kind wanted: values (locals, dims, params, inputs) or
    /// callables (functions, approximations, builtins).
    pub(super) fn visible_names(&self, frame: &Frame, callable: bool) -> Vec<String> {
        let m = &self.mods[frame.module];
        let is_callable = |k: DefKind| matches!(k, DefKind::Fn | DefKind::Approx | DefKind::Poly);
        let mut v: Vec<String> = vec![];
        if !callable {
            v.extend(frame.scopes.iter().flat_map(|s| s.keys().cloned()));
            v.extend(frame.dim_syms.iter().cloned());
        }
        v.extend(
            m.defs
                .iter()
                .filter(|(_, d)| is_callable(d.kind) == callable)
                .map(|(n, _)| n.clone()),
        );
        for (n, (imp, _)) in &m.imports {
            if let Import::Item(t, item) = imp {
                if let Some(d) = self.mods[*t].defs.get(item) {
                    if is_callable(d.kind) == callable {
                        v.push(n.clone());
                    }
                }
            }
        }
        if callable {
            v.extend(
                [
                    "exp",
                    "log",
                    "sigmoid",
                    "sign",
                    "step",
                    "inverse",
                    "sqrt",
                    "tanh",
                    "relu",
                    "abs",
                    "gelu",
                    "gelu_grad",
                    "softmax",
                    "max",
                ]
                .iter()
                .map(|s| s.to_string()),
            );
            v.extend(Structural::ALL.iter().map(|s| s.name().to_string()));
        }
        v
    }

    pub(super) fn unknown_name(
        &mut self,
        frame: &Frame,
        path: &[Ident],
        span: Span,
        t: Target,
        callable: bool,
    ) {
        let text = ast::path_text(path);
        if let Target::BadModule(m) = t {
            self.err(
                Diagnostic::error(
                    "E0102",
                    format!("unknown module `{m}` in `{text}`"),
                    span,
                    "module not imported",
                )
                .with_help(format!(
                    "add `use std::{m};` (or the right module path) at the top of the file"
                )),
            );
            return;
        }
        let name = &path[path.len() - 1].name;
        let mut cands: Vec<(usize, String)> = self
            .visible_names(frame, callable)
            .into_iter()
            .map(|c| (edit_distance(&c, name), c))
            .filter(|(d, c)| close_enough(*d, name, c))
            .collect();
        cands.sort();
        let help = match cands.first() {
            Some((_, c)) => format!("a name with a similar spelling exists: `{c}`"),
            None => "names must be defined before use: a `let`, a parameter, an input, a loop variable, or an item brought in with `use`".to_string(),
        };
        self.err(
            Diagnostic::error(
                "E0101",
                format!("cannot find `{text}` in this scope"),
                span,
                "not found",
            )
            .with_help(help),
        );
    }
}
