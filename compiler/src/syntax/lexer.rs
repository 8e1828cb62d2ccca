//! The lexer (logos). Produces `(start, Token, end)` triples for the lalrpop parser.
//! Unknown characters become [`Token::Error`] so the parser can report them and go on.

use logos::Logos;
use std::fmt;

#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
#[logos(skip r"/\*([^*]|\*+[^*/])*\*+/")]
pub enum Token {
    #[token("use")]
    Use,
    #[token("fn")]
    Fn,
    #[token("let")]
    Let,
    #[token("param")]
    Param,
    #[token("input")]
    Input,
    #[token("output")]
    Output,
    #[token("against")]
    Against,
    #[token("approx")]
    Approx,
    #[token("poly")]
    Poly,
    #[token("on")]
    On,
    #[token("degree")]
    Degree,
    #[token("error")]
    ErrorKw,
    #[token("approximates")]
    Approximates,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("carry")]
    Carry,
    #[token("batches")]
    Batches,
    #[token("size")]
    Size,
    #[token("shuffle")]
    Shuffle,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("secret")]
    Secret,
    #[token("public")]
    Public,
    #[token("f64")]
    F64,
    #[token("i64")]
    I64,
    #[token("bool")]
    Bool,
    #[token("int")]
    Int,
    #[token("real")]
    Real,

    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),
    #[regex(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?", |lex| lex.slice().parse::<f64>().ok())]
    Number(f64),

    #[token("::")]
    ColonColon,
    #[token(":")]
    Colon,
    #[token(";")]
    Semi,
    #[token(",")]
    Comma,
    #[token("..")]
    DotDot,
    #[token(".T")]
    DotT,
    #[token("->")]
    Arrow,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("=")]
    Eq,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("**")]
    StarStar,
    #[token("/")]
    Slash,
    #[token("@")]
    At,

    /// A character sequence that is no token; reported by the parser.
    Error,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(s) => write!(f, "identifier `{s}`"),
            Token::Number(n) => write!(f, "number `{n}`"),
            Token::Error => write!(f, "unknown character"),
            other => {
                let s = format!("{other:?}");
                write!(f, "`{}`", keyword_text(other).unwrap_or(&s))
            }
        }
    }
}

/// The source text of fixed tokens (used in "expected ..." messages).
pub fn keyword_text(t: &Token) -> Option<&'static str> {
    Some(match t {
        Token::Use => "use",
        Token::Fn => "fn",
        Token::Let => "let",
        Token::Param => "param",
        Token::Input => "input",
        Token::Output => "output",
        Token::Against => "against",
        Token::Approx => "approx",
        Token::Poly => "poly",
        Token::On => "on",
        Token::Degree => "degree",
        Token::ErrorKw => "error",
        Token::Approximates => "approximates",
        Token::For => "for",
        Token::In => "in",
        Token::Carry => "carry",
        Token::Batches => "batches",
        Token::Size => "size",
        Token::Shuffle => "shuffle",
        Token::If => "if",
        Token::Else => "else",
        Token::Secret => "secret",
        Token::Public => "public",
        Token::F64 => "f64",
        Token::I64 => "i64",
        Token::Bool => "bool",
        Token::Int => "int",
        Token::Real => "real",
        Token::ColonColon => "::",
        Token::Colon => ":",
        Token::Semi => ";",
        Token::Comma => ",",
        Token::DotDot => "..",
        Token::DotT => ".T",
        Token::Arrow => "->",
        Token::LParen => "(",
        Token::RParen => ")",
        Token::LBracket => "[",
        Token::RBracket => "]",
        Token::LBrace => "{",
        Token::RBrace => "}",
        Token::Eq => "=",
        Token::EqEq => "==",
        Token::NotEq => "!=",
        Token::Lt => "<",
        Token::Le => "<=",
        Token::Gt => ">",
        Token::Ge => ">=",
        Token::Plus => "+",
        Token::Minus => "-",
        Token::Star => "*",
        Token::StarStar => "**",
        Token::Slash => "/",
        Token::At => "@",
        _ => return None,
    })
}

/// Lex a whole file. Never fails: bad characters become `Token::Error`.
pub fn lex(src: &str) -> Vec<(usize, Token, usize)> {
    let mut out = Vec::new();
    let mut lx = Token::lexer(src);
    while let Some(tok) = lx.next() {
        let span = lx.span();
        let tok = tok.unwrap_or(Token::Error);
        out.push((span.start, tok, span.end));
    }
    out
}
