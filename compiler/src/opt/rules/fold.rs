//! Constant folding: plaintext products and sums fold into one plaintext (a level saved for
//! every product folded), scalar factors that are integers become `mul_int` (no level),
//! identities vanish, and a plaintext factor distributes where the depths of a sum's operands
//! differ (so the product lands on the shallow side only) or factors out of a sum.

use super::{compute, depths_differ, num, scalar_konst, var, Rw};
use crate::opt::lang::{Ckks, Lit};
use egg::rewrite;

/// The largest integer factor turned into `mul_int` (noise grows with it like with the
/// plaintext product it replaces).
pub const MAX_INT_FACTOR: i64 = 1 << 16;

/// A scalar within this relative distance of an integer is that integer (the folded products
/// of `1/n` and `n` in f64).
pub const INT_TOLERANCE: f64 = 1e-12;

fn as_int(v: f64) -> Option<i64> {
    let r = v.round();
    ((v - r).abs() <= INT_TOLERANCE * r.abs().max(1.0) && r.abs() <= MAX_INT_FACTOR as f64)
        .then_some(r as i64)
}

pub fn rules() -> Vec<Rw> {
    let (x, p, a, b) = (var("?x"), var("?p"), var("?a"), var("?b"));
    let mut v = vec![
        rewrite!("mul-plain-mul-plain"; "(mul_plain (mul_plain ?x ?p) ?q)"
            => "(mul_plain ?x (pmul ?p ?q))"),
        rewrite!("pmul-comm"; "(pmul ?p ?q)" => "(pmul ?q ?p)"),
        rewrite!("pmul-assoc"; "(pmul (pmul ?p ?q) ?r)" => "(pmul ?p (pmul ?q ?r))"),
        rewrite!("padd-comm"; "(padd ?p ?q)" => "(padd ?q ?p)"),
        // x·c for an integer c: no level
        rewrite!("mul-plain-int"; "(mul_plain ?x ?p)" => {
            compute(move |g, s| {
                let c = as_int(scalar_konst(g, s[p])?)?;
                Some(match c {
                    0 => return None,
                    1 => s[x],
                    -1 => g.add(Ckks::Neg(s[x])),
                    c => {
                        let n = g.add(Ckks::Num(c));
                        g.add(Ckks::MulInt([s[x], n]))
                    }
                })
            })
        }),
        rewrite!("mul-int-one"; "(mul_int ?x 1)" => "?x"),
        rewrite!("mul-int-minus-one"; "(mul_int ?x -1)" => "(neg ?x)"),
        rewrite!("mul-int-mul-int"; "(mul_int (mul_int ?x ?a) ?b)" => {
            compute(move |g, s| {
                let c = num(g, s[a])?.checked_mul(num(g, s[b])?)?;
                (c.abs() <= MAX_INT_FACTOR).then_some(())?;
                let n = g.add(Ckks::Num(c));
                Some(g.add(Ckks::MulInt([s[x], n])))
            })
        }),
        // an integer factor folds into a plaintext product next to it
        rewrite!("mul-int-into-plain"; "(mul_int (mul_plain ?x ?p) ?a)" => {
            compute(move |g, s| {
                let c = g.add(Ckks::Lit(Lit::new(num(g, s[a])? as f64)));
                let q = g.add(Ckks::PMul([s[p], c]));
                Some(g.add(Ckks::MulPlain([s[x], q])))
            })
        }),
        rewrite!("plain-into-mul-int"; "(mul_plain (mul_int ?x ?a) ?p)" => {
            compute(move |g, s| {
                let c = g.add(Ckks::Lit(Lit::new(num(g, s[a])? as f64)));
                let q = g.add(Ckks::PMul([s[p], c]));
                Some(g.add(Ckks::MulPlain([s[x], q])))
            })
        }),
        rewrite!("mul-int-factor"; "(add (mul_int ?a ?n) (mul_int ?b ?n))"
            => "(mul_int (add ?a ?b) ?n)"),
        // sums of plaintexts
        rewrite!("add-plain-add-plain"; "(add_plain (add_plain ?x ?p) ?q)"
            => "(add_plain ?x (padd ?p ?q))"),
        rewrite!("sub-plain-sub-plain"; "(sub_plain (sub_plain ?x ?p) ?q)"
            => "(sub_plain ?x (padd ?p ?q))"),
        rewrite!("add-trivial"; "(add ?x (trivial ?p))" => "(add_plain ?x ?p)"),
        rewrite!("add-plain-zero"; "(add_plain ?x ?p)" => "?x" if is_zero("?p")),
        rewrite!("sub-plain-zero"; "(sub_plain ?x ?p)" => "?x" if is_zero("?p")),
        // distribution where it can shorten a path, factoring where it saves a product
        rewrite!("mul-plain-add-dist"; "(mul_plain (add ?a ?b) ?p)"
            => "(add (mul_plain ?a ?p) (mul_plain ?b ?p))" if depths_differ("?a", "?b")),
        rewrite!("mul-plain-sub-dist"; "(mul_plain (sub ?a ?b) ?p)"
            => "(sub (mul_plain ?a ?p) (mul_plain ?b ?p))" if depths_differ("?a", "?b")),
        rewrite!("mul-plain-add-factor"; "(add (mul_plain ?a ?p) (mul_plain ?b ?p))"
            => "(mul_plain (add ?a ?b) ?p)"),
        rewrite!("mul-plain-sub-factor"; "(sub (mul_plain ?a ?p) (mul_plain ?b ?p))"
            => "(mul_plain (sub ?a ?b) ?p)"),
        rewrite!("mul-plain-same-factor"; "(add (mul_plain ?x ?p) (mul_plain ?x ?q))"
            => "(mul_plain ?x (padd ?p ?q))"),
        rewrite!("mul-plain-add-plain"; "(mul_plain (add_plain ?x ?q) ?p)"
            => "(add_plain (mul_plain ?x ?p) (pmul ?q ?p))"),
        rewrite!("mul-plain-sub-plain"; "(mul_plain (sub_plain ?x ?q) ?p)"
            => "(sub_plain (mul_plain ?x ?p) (pmul ?q ?p))"),
    ];
    v.extend(rewrite!("mul-plain-neg"; "(mul_plain (neg ?x) ?p)" <=> "(neg (mul_plain ?x ?p))"));
    let _ = b;
    v
}

fn is_zero(v: &'static str) -> impl Fn(&mut super::Graph, egg::Id, &egg::Subst) -> bool {
    let v = var(v);
    move |g, _, s| scalar_konst(g, s[v]) == Some(0.0)
}

#[cfg(test)]
mod tests {
    use crate::opt::rules::tests::runner;
    use egg::test_fn;

    fn rules() -> Vec<super::Rw> {
        crate::opt::rules::all()
    }

    test_fn! {
        two_plaintext_products_fold_into_one, rules(), runner = runner(),
        "(mul_plain (mul_plain x m) n)" => "(mul_plain x (pmul m n))"
        @check |r: egg::Runner<crate::opt::lang::Ckks, crate::opt::analysis::CkksAnalysis>| {
            // the start was two levels deep; the folded product is one
            let root = r.egraph.find(r.roots[0]);
            assert_eq!(r.egraph[root].data.depth, 1);
        }
    }
    test_fn! {
        scalar_factors_fold_to_a_constant, rules(), runner = runner(),
        "(mul_plain (mul_plain x 0.5) 0.25)" => "(mul_plain x 0.125)"
    }
    test_fn! {
        integer_scalars_cost_no_level, rules(), runner = runner(),
        "(mul_plain (mul_plain x 0.5) 6.0)" => "(mul_int x 3)"
        @check |r: egg::Runner<crate::opt::lang::Ckks, crate::opt::analysis::CkksAnalysis>| {
            let root = r.egraph.find(r.roots[0]);
            assert_eq!(r.egraph[root].data.depth, 0);
        }
    }
    test_fn! { mul_int_one_vanishes, rules(), runner = runner(), "(mul_int x 1)" => "x" }
    test_fn! {
        mul_ints_combine, rules(), runner = runner(),
        "(mul_int (mul_int x 3) -2)" => "(mul_int x -6)"
    }
    test_fn! {
        plaintext_sums_fold, rules(), runner = runner(),
        "(add_plain (add_plain x 0.5) 1.5)" => "(add_plain x 2.0)"
    }
    test_fn! {
        a_factor_moves_to_the_shallow_operand, rules(), runner = runner(),
        // 0.1·(g³ + 0.9·v) with 0.9·v shallower than g³: the 0.9 folds into 0.09 (f64)
        "(mul_plain (add (mul (mul g g) g) (mul_plain v 0.9)) 0.1)"
            => "(add (mul_plain (mul (mul g g) g) 0.1) (mul_plain v 0.09000000000000001))"
    }
    test_fn! {
        common_factors_come_out, rules(), runner = runner(),
        "(add (mul_plain a m) (mul_plain b m))" => "(mul_plain (add a b) m)"
    }
}
