//! The registry of diagnostic codes: every code the compiler emits, with a one-line meaning.
//! The table in docs/language.md is generated from it ([`markdown_table`]) and a test checks
//! that the docs, this list and the codes used in the sources agree.

/// A registered diagnostic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub meaning: &'static str,
}

const fn c(code: &'static str, meaning: &'static str) -> Code {
    Code { code, meaning }
}

/// All codes, in order. `E` codes are errors, `W` codes warnings.
pub const CODES: &[Code] = &[
    c("E0001", "unknown character"),
    c("E0002", "unexpected end of file"),
    c("E0003", "unexpected token"),
    c(
        "E0004",
        "bad dimension (fractional, negative or non-integer)",
    ),
    c("E0005", "expression nested too deeply"),
    c(
        "E0006",
        "expression too long (a chain of operators past the depth limit)",
    ),
    c("E0007", "source file is not UTF-8"),
    c("E0101", "unknown name, or `--param` naming no parameter"),
    c("E0102", "unknown module or item in a path"),
    c("E0103", "duplicate definition"),
    c("E0104", "import cycle"),
    c("E0105", "not a value / not a function"),
    c("E0106", "input or statement in a library module"),
    c("E0107", "input used inside a function"),
    c("E0108", "recursion"),
    c("E0201", "wrong number of arguments"),
    c(
        "E0202",
        "not a compile-time constant (or a bad `param` value)",
    ),
    c(
        "E0301",
        "shapes do not broadcast (also `if` branches, `against`, batched rows)",
    ),
    c("E0302", "matrix product inner dimensions differ"),
    c("E0303", "wrong rank for the operation"),
    c("E0304", "axis out of range"),
    c(
        "E0305",
        "carried state changes shape, or a loop body gives no/unused value",
    ),
    c(
        "E0306",
        "tuple arity mismatch (patterns, carried state, batch variables)",
    ),
    c("E0307", "index or slice out of bounds, or not constant"),
    c("E0308", "annotation does not match the value"),
    c("E0401", "`if` on a secret condition"),
    c("E0402", "secret loop bound or batch size"),
    c("E0403", "division by a secret value"),
    c("E0404", "exact non-polynomial function of a secret value"),
    c("E0405", "secret value where `public` is required"),
    c("E0406", "secret non-constant exponent"),
    c(
        "E0501",
        "range of a value unknown where an approximation needs it",
    ),
    c("E0502", "range outside an approximation's domain"),
    c(
        "E0503",
        "empty or invalid interval, or function undefined on it",
    ),
    c("E0504", "bad degree or error target of an approximation"),
    c("E0505", "unknown function to approximate"),
    c("E0601", "element type mismatch"),
    c("E0602", "function return type mismatch"),
    c(
        "E0603",
        "bad output (inside a function, duplicate, not a tensor)",
    ),
    c("E0701", "an input is not in the data"),
    c(
        "E0702",
        "the data of an input does not match its declaration",
    ),
    c("W0001", "unused `let` binding"),
    c("W0002", "unused loop result"),
    c("W0003", "division by a constant zero"),
    c(
        "W0004",
        "loop that runs zero or an enormous number of times",
    ),
    c("W0005", "`--param` value out of a sensible range"),
    c(
        "W0006",
        "the same input or parameter given twice on the command line",
    ),
];

pub fn lookup(code: &str) -> Option<&'static Code> {
    CODES.iter().find(|c| c.code == code)
}

/// The docs table (docs/language.md, section Diagnostics).
pub fn markdown_table() -> String {
    let mut s = String::from("| code | meaning |\n|---|---|\n");
    for c in CODES {
        s.push_str(&format!("| {} | {} |\n", c.code, c.meaning));
    }
    s
}
