//! Rewrite rules by topic, and the small conditions and appliers they share.
//!
//! Rules follow Cranelift's advice for e-graphs: no general commutativity or associativity of
//! ciphertext additions (rotate-and-sum chains would blow the graph up); distributions that
//! grow the graph are guarded by the depth analysis (they fire only where operands differ in
//! depth, the only place they can shorten the critical path), and factorings that save
//! operations fire unconditionally. Every rule is an equality of slot vectors (blockwise, with
//! the grid broadcasts of the CKKS stage), so extraction may pick either side.

pub mod complex;
pub mod fold;
pub mod reassoc;
pub mod rotation;

use super::analysis::{CkksAnalysis, Kind};
use super::lang::Ckks;
use egg::{Applier, EGraph, Id, PatternAst, Rewrite, Subst, Symbol, Var};

pub type Rw = Rewrite<Ckks, CkksAnalysis>;
pub type Graph = EGraph<Ckks, CkksAnalysis>;

/// Every rule.
pub fn all() -> Vec<Rw> {
    let mut v = rotation::rules();
    v.extend(complex::rules());
    v.extend(fold::rules());
    v.extend(reassoc::rules());
    v
}

pub(crate) fn var(s: &str) -> Var {
    s.parse().expect("a pattern variable")
}

/// A rule's right-hand side computed in Rust: `f` returns the class to union with the match.
pub(crate) struct Compute<F> {
    pub f: F,
}

impl<F> Applier<Ckks, CkksAnalysis> for Compute<F>
where
    F: Fn(&mut Graph, &Subst) -> Option<Id> + Send + Sync,
{
    fn apply_one(
        &self,
        egraph: &mut Graph,
        eclass: Id,
        subst: &Subst,
        _searcher_ast: Option<&PatternAst<Ckks>>,
        _rule_name: Symbol,
    ) -> Vec<Id> {
        match (self.f)(egraph, subst) {
            Some(new) if egraph.union(eclass, new) => vec![new],
            _ => vec![],
        }
    }
}

pub(crate) fn compute<F>(f: F) -> Compute<F>
where
    F: Fn(&mut Graph, &Subst) -> Option<Id> + Send + Sync,
{
    Compute { f }
}

/// The integer of a `Num` class.
pub(crate) fn num(egraph: &Graph, id: Id) -> Option<i64> {
    egraph[id].data.num
}

/// The scalar a class holds, when known at compile time.
pub(crate) fn scalar_konst(egraph: &Graph, id: Id) -> Option<f64> {
    let k = egraph[id].data.konst?;
    egraph.analysis.konst(k).as_scalar()
}

/// Whether a plaintext class can be rotated at compile time (a known rule, or a scalar).
pub(crate) fn rotatable(v: &'static str) -> impl Fn(&mut Graph, Id, &Subst) -> bool {
    let v = var(v);
    move |g, _, s| {
        let d = &g[s[v]].data;
        d.konst.is_some() || d.kind == Kind::Scalar
    }
}

/// Whether a class is a scalar (one public number in every slot).
pub(crate) fn is_scalar(v: &'static str) -> impl Fn(&mut Graph, Id, &Subst) -> bool {
    let v = var(v);
    move |g, _, s| {
        let id = s[v];
        g[id].data.kind == Kind::Scalar || scalar_konst(g, id).is_some()
    }
}

/// `depth(a) != depth(b)`.
pub(crate) fn depths_differ(
    a: &'static str,
    b: &'static str,
) -> impl Fn(&mut Graph, Id, &Subst) -> bool {
    let (a, b) = (var(a), var(b));
    move |g, _, s| g[s[a]].data.depth != g[s[b]].data.depth
}

/// `depth(a) > max(depth(b), depth(c))` (`c` may repeat `b`).
pub(crate) fn deeper(
    a: &'static str,
    b: &'static str,
    c: &'static str,
) -> impl Fn(&mut Graph, Id, &Subst) -> bool {
    let (a, b, c) = (var(a), var(b), var(c));
    move |g, _, s| g[s[a]].data.depth > g[s[b]].data.depth.max(g[s[c]].data.depth)
}

/// `rot` by `steps` reduced modulo the slot count (0: the value itself).
pub(crate) fn add_rot(egraph: &mut Graph, x: Id, steps: i64) -> Id {
    let k = steps.rem_euclid(egraph.analysis.slots());
    if k == 0 {
        return x;
    }
    let k = egraph.add(Ckks::Num(k));
    egraph.add(Ckks::Rot([x, k]))
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::opt::analysis::{CkksAnalysis, Kind};
    use crate::opt::konst::Konst;
    use crate::opt::lang::Ckks;
    use blindtune_runtime::plan::Mask;
    use egg::Runner;

    fn window(lo: usize, hi: usize) -> Mask {
        Mask::Window {
            row_mod: 1,
            row_lo: 0,
            row_hi: 1,
            col_mod: 256,
            col_lo: lo,
            col_hi: hi,
        }
    }

    /// Leaves for the declarative tests: `m`, `n` masks (compile-time plaintexts), `p`, `q`
    /// run-time plaintexts, `s` a run-time scalar; every other symbol is a ciphertext.
    pub(crate) fn runner() -> Runner<Ckks, CkksAnalysis> {
        let a = CkksAnalysis::default()
            .with_leaf("m", Kind::Plain, Some(Konst::mask(window(0, 3))))
            .with_leaf("n", Kind::Plain, Some(Konst::mask(window(1, 9))))
            .with_leaf("p", Kind::Plain, None)
            .with_leaf("q", Kind::Plain, None)
            .with_leaf("s", Kind::Scalar, None);
        Runner::new(a).with_iter_limit(12).with_node_limit(20_000)
    }
}
