//! The e-graph's term language: the CKKS stage's ciphertext operations, without levels.
//!
//! Children are e-class ids; data live in leaves:
//! - `Num` (an `i64`): rotation steps and integer factors, `(rot x 5)`, `(mul_int x 3)`;
//! - [`Lit`]: a real scalar constant, written with a decimal point, `(mul_plain x 0.5)`;
//! - [`KRef`] `k3`: a compile-time plaintext (a scaled product of masks), interned in
//!   [`super::konst::KonstTable`] so that equal rules are one leaf;
//! - [`PolyRef`] `f2`: a polynomial approximation, interned by the analysis with its depth;
//! - `Symbol`: a register from outside the expression (`%12`, or a name in tests).
//!
//! Plaintext products `(pmul p q)` and rotated plaintexts `(rotp p k)` are symbolic: the
//! conversion materializes them as hoisted masks ([`blindtune_runtime::plan::Mask::Rotated`])
//! and `plain_bin` products.

use egg::{define_language, Id, Symbol};
use std::fmt;
use std::str::FromStr;

define_language! {
    /// One e-node of the CKKS stage.
    pub enum Ckks {
        "add" = Add([Id; 2]),
        "sub" = Sub([Id; 2]),
        "neg" = Neg(Id),
        // ciphertext × ciphertext (relinearized, rescaled: one level)
        "mul" = Mul([Id; 2]),
        // ciphertext × plaintext or scalar (one level)
        "mul_plain" = MulPlain([Id; 2]),
        // ciphertext + plaintext or scalar
        "add_plain" = AddPlain([Id; 2]),
        // ciphertext − plaintext
        "sub_plain" = SubPlain([Id; 2]),
        // plaintext − ciphertext (`SubPlain { reverse: true }`), children `[x, p]`
        "rsub_plain" = RSubPlain([Id; 2]),
        // slot `j` ← slot `j + k`: `(rot x k)`
        "rot" = Rot([Id; 2]),
        "conj" = Conj(Id),
        "mul_i" = MulI(Id),
        // `(mul_int x k)`: no level
        "mul_int" = MulInt([Id; 2]),
        // `(poly f x)`: the polynomial `f` applied slotwise, its evaluator depth in levels
        "poly" = Poly([Id; 2]),
        // `(sum_blocks axis x)`: the sum of the grid's blocks along `axis`
        "sum_blocks" = SumBlocks([Id; 2]),
        // a public value as a ciphertext
        "trivial" = Trivial(Id),
        // plaintext × plaintext (or scalar), slotwise
        "pmul" = PMul([Id; 2]),
        // plaintext + plaintext (or scalar), slotwise
        "padd" = PAdd([Id; 2]),
        // a plaintext rotated like a ciphertext: `(rotp p k)`
        "rotp" = RotP([Id; 2]),
        Num(i64),
        Lit(Lit),
        K(KRef),
        F(PolyRef),
        Sym(Symbol),
    }
}

/// A real constant: `f64` with total equality on its bits (`-0.0` is read as `0.0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lit(u64);

impl Lit {
    pub fn new(v: f64) -> Lit {
        Lit(if v == 0.0 { 0.0f64 } else { v }.to_bits())
    }
    pub fn value(self) -> f64 {
        f64::from_bits(self.0)
    }
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:?}` always writes a decimal point or an exponent, so it never reads as a `Num`
        write!(f, "{:?}", self.value())
    }
}

impl FromStr for Lit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.contains(['.', 'e', 'E']) || s.starts_with(['k', 'f', '%']) {
            return Err(format!("`{s}` is not a real literal"));
        }
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Lit::new)
            .ok_or_else(|| format!("`{s}` is not a real literal"))
    }
}

macro_rules! table_ref {
    ($name:ident, $prefix:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.strip_prefix($prefix)
                    .and_then(|d| d.parse().ok())
                    .map($name)
                    .ok_or_else(|| format!("`{s}` is not a {}", stringify!($name)))
            }
        }
    };
}

table_ref!(
    KRef,
    "k",
    "An interned compile-time plaintext ([`super::konst::KonstTable`])."
);
table_ref!(
    PolyRef,
    "f",
    "An interned polynomial ([`super::analysis::CkksAnalysis::polys`])."
);

/// The register a leaf symbol names (`%12` → 12).
pub fn reg_of(s: Symbol) -> Option<u32> {
    s.as_str().strip_prefix('%').and_then(|d| d.parse().ok())
}

/// The leaf symbol of a register.
pub fn reg_symbol(r: u32) -> Symbol {
    Symbol::from(format!("%{r}"))
}

impl Ckks {
    /// Multiplicative depth this node adds on top of its deepest child (polynomials: their
    /// depth, looked up by the caller).
    pub fn own_depth(&self) -> u32 {
        match self {
            Ckks::Mul(_) | Ckks::MulPlain(_) => 1,
            _ => 0,
        }
    }

    /// Whether the node computes a ciphertext (as opposed to a plaintext, scalar or datum).
    pub fn is_cipher_op(&self) -> bool {
        matches!(
            self,
            Ckks::Add(_)
                | Ckks::Sub(_)
                | Ckks::Neg(_)
                | Ckks::Mul(_)
                | Ckks::MulPlain(_)
                | Ckks::AddPlain(_)
                | Ckks::SubPlain(_)
                | Ckks::RSubPlain(_)
                | Ckks::Rot(_)
                | Ckks::Conj(_)
                | Ckks::MulI(_)
                | Ckks::MulInt(_)
                | Ckks::Poly(_)
                | Ckks::SumBlocks(_)
                | Ckks::Trivial(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egg::RecExpr;

    #[test]
    fn terms_print_and_parse_back() {
        for s in [
            "(rot (rot x 3) 5)",
            "(mul_plain (mul_plain r4 k2) 0.5)",
            "(poly f0 (add a (mul_int b -2)))",
            "(sum_blocks 1 (rotp k0 7))",
        ] {
            let e: RecExpr<Ckks> = s.parse().unwrap();
            assert_eq!(e.to_string(), s);
        }
        let e: RecExpr<Ckks> = "(mul_plain x 2.0)".parse().unwrap();
        assert!(matches!(e.as_ref()[1], Ckks::Lit(l) if l.value() == 2.0));
        assert_eq!(reg_of(reg_symbol(17)), Some(17));
    }
}
