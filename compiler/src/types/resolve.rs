//! Module loading and name tables. `use std::x` loads an embedded stdlib module; `use foo`
//! loads `foo.bt` next to the main file. Every module gets a table of its definitions and of
//! its imports; the checker resolves paths through them.

use crate::diagnostics::{Diagnostic, SourceMap};
use crate::syntax::ast::{self, Ident, Item};
use crate::syntax::span::{FileId, Span};
use std::collections::BTreeMap;

/// Where module source comes from (the file system next to the main file, plus the stdlib).
pub trait ModuleSource {
    /// `path` is e.g. `["std", "softmax"]` or `["mylib"]`. Returns (display name, text).
    fn load(&self, path: &[String]) -> Option<(String, String)>;
}

/// Loads `std::*` from the embedded stdlib and other modules from `dir`.
pub struct FsSource {
    pub dir: Option<std::path::PathBuf>,
}

impl ModuleSource for FsSource {
    fn load(&self, path: &[String]) -> Option<(String, String)> {
        if path.first().map(|s| s.as_str()) == Some("std") {
            let rest = path[1..].join("/");
            return crate::stdlib::source(&rest)
                .map(|t| (format!("stdlib/{rest}.bt"), t.to_string()));
        }
        let dir = self.dir.as_ref()?;
        let mut p = dir.clone();
        for s in path {
            p.push(s);
        }
        p.set_extension("bt");
        let text = std::fs::read_to_string(&p).ok()?;
        Some((p.display().to_string(), text))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DefKind {
    Param,
    Input,
    Fn,
    Approx,
    Poly,
}

#[derive(Clone, Debug)]
pub struct Def {
    pub kind: DefKind,
    /// index into the module's items
    pub item: usize,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Import {
    Module(usize),
    Item(usize, String),
}

#[derive(Debug)]
pub struct ModInfo {
    /// `main`, `std::softmax`, `mylib`
    pub path: String,
    pub file: FileId,
    pub ast: ast::Module,
    pub defs: BTreeMap<String, Def>,
    pub imports: BTreeMap<String, (Import, Span)>,
}

impl ModInfo {
    /// Qualified name of a definition of this module (main's are unqualified).
    pub fn qualify(&self, name: &str) -> String {
        if self.path == "main" {
            name.to_string()
        } else {
            format!("{}::{name}", self.path)
        }
    }
}

pub struct Loader<'s> {
    pub src: &'s dyn ModuleSource,
    pub sm: SourceMap,
    pub mods: Vec<ModInfo>,
    pub diags: Vec<Diagnostic>,
    by_path: BTreeMap<String, usize>,
}

impl<'s> Loader<'s> {
    pub fn new(src: &'s dyn ModuleSource) -> Self {
        Loader {
            src,
            sm: SourceMap::default(),
            mods: vec![],
            diags: vec![],
            by_path: BTreeMap::new(),
        }
    }

    /// Parse and register a module, then load its imports (depth first).
    pub fn add_module(&mut self, path: &str, name: &str, text: &str) -> usize {
        let file = self.sm.add(name, text);
        let (ast, diags) = crate::syntax::parse(file, text);
        self.diags.extend(diags);
        let idx = self.mods.len();
        self.by_path.insert(path.to_string(), idx);
        let mut defs: BTreeMap<String, Def> = BTreeMap::new();
        for (i, item) in ast.items.iter().enumerate() {
            let (n, kind): (&Ident, DefKind) = match item {
                Item::Param { name, .. } => (name, DefKind::Param),
                Item::Input { name, .. } => (name, DefKind::Input),
                Item::Fn(f) => (&f.name, DefKind::Fn),
                Item::Approx { name, .. } => (name, DefKind::Approx),
                Item::Poly { name, .. } => (name, DefKind::Poly),
                _ => continue,
            };
            if let Some(prev) = defs.get(&n.name) {
                self.diags.push(
                    Diagnostic::error(
                        "E0103",
                        format!("`{}` is defined twice", n.name),
                        n.span,
                        "second definition",
                    )
                    .with_note(prev.span, "first defined here")
                    .with_help("rename one of them; names in a module must be unique"),
                );
                continue;
            }
            defs.insert(
                n.name.clone(),
                Def {
                    kind,
                    item: i,
                    span: n.span,
                },
            );
        }
        self.mods.push(ModInfo {
            path: path.to_string(),
            file,
            ast,
            defs,
            imports: BTreeMap::new(),
        });
        let uses: Vec<(Vec<Ident>, Span)> = self.mods[idx]
            .ast
            .items
            .iter()
            .filter_map(|it| match it {
                Item::Use { path, span } => Some((path.clone(), *span)),
                _ => None,
            })
            .collect();
        for (p, span) in uses {
            self.resolve_use(idx, &p, span);
        }
        idx
    }

    fn module_index(&mut self, path: &[String], stack_guard: usize) -> Option<usize> {
        let key = path.join("::");
        if let Some(&i) = self.by_path.get(&key) {
            return Some(i);
        }
        if stack_guard > 32 {
            return None;
        }
        let (name, text) = self.src.load(path)?;
        Some(self.add_module(&key, &name, &text))
    }

    fn resolve_use(&mut self, m: usize, p: &[Ident], span: Span) {
        let names: Vec<String> = p.iter().map(|i| i.name.clone()).collect();
        let depth = self.mods.len();
        // whole path is a module?
        if let Some(target) = self.module_index(&names, depth) {
            if target == m || self.mods[target].path == "main" {
                self.diags.push(
                    Diagnostic::error(
                        "E0104",
                        "a module cannot import itself",
                        span,
                        "circular import",
                    )
                    .with_help("remove this `use`"),
                );
                return;
            }
            let alias = names.last().cloned().unwrap_or_default();
            self.mods[m]
                .imports
                .insert(alias, (Import::Module(target), span));
            return;
        }
        if names.len() >= 2 {
            if let Some(target) = self.module_index(&names[..names.len() - 1], depth) {
                let item = names.last().cloned().unwrap_or_default();
                if !self.mods[target].defs.contains_key(&item) {
                    let last = p.last().map(|i| i.span).unwrap_or(span);
                    let avail: Vec<String> = self.mods[target].defs.keys().cloned().collect();
                    self.diags.push(
                        Diagnostic::error(
                            "E0102",
                            format!("module `{}` has no item `{item}`", self.mods[target].path),
                            last,
                            "not found",
                        )
                        .with_help(format!("available: {}", avail.join(", "))),
                    );
                    return;
                }
                self.mods[m]
                    .imports
                    .insert(item.clone(), (Import::Item(target, item), span));
                return;
            }
        }
        let std_mods = crate::stdlib::MODULES
            .iter()
            .map(|(n, _)| format!("std::{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.diags.push(
            Diagnostic::error("E0102", format!("cannot find module `{}`", names.join("::")), span, "no such module")
                .with_help(format!("stdlib modules are {std_mods}; other modules are `NAME.bt` files next to the main file")),
        );
    }
}
