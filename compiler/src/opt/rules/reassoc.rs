//! Depth-reducing reassociation: a product (or a plaintext factor) moves onto the shallower
//! operands, and sums group their shallow operands together so that a later factor can
//! distribute over the shallow group alone. Each rule fires only when the depth analysis says
//! the deepest operand is strictly deeper, so none of them can grow a path.

use super::{deeper, Rw};
use egg::rewrite;

pub fn rules() -> Vec<Rw> {
    vec![
        rewrite!("mul-comm"; "(mul ?a ?b)" => "(mul ?b ?a)"),
        rewrite!("mul-assoc-depth"; "(mul (mul ?a ?b) ?c)" => "(mul ?a (mul ?b ?c))"
            if deeper("?a", "?b", "?c")),
        rewrite!("mul-plain-into-mul"; "(mul_plain (mul ?a ?b) ?p)" => "(mul ?a (mul_plain ?b ?p))"
            if deeper("?a", "?b", "?b")),
        rewrite!("add-assoc-depth"; "(add (add ?a ?b) ?c)" => "(add ?a (add ?b ?c))"
            if deeper("?a", "?b", "?c")),
        rewrite!("add-assoc-depth-rev"; "(add ?c (add ?a ?b))" => "(add ?a (add ?b ?c))"
            if deeper("?a", "?b", "?c")),
    ]
}

#[cfg(test)]
mod tests {
    use crate::opt::rules::tests::runner;
    use egg::test_fn;

    fn rules() -> Vec<super::Rw> {
        crate::opt::rules::all()
    }

    test_fn! {
        a_deep_factor_multiplies_last, rules(), runner = runner(),
        // ((a·a)·(a·a))·b·c: depth 4 as written, 3 with b·c formed beside a⁴
        "(mul (mul (mul (mul a a) (mul a a)) b) c)" => "(mul (mul (mul a a) (mul a a)) (mul b c))"
        @check |r: egg::Runner<crate::opt::lang::Ckks, crate::opt::analysis::CkksAnalysis>| {
            let root = r.egraph.find(r.roots[0]);
            assert_eq!(r.egraph[root].data.depth, 3);
        }
    }
    test_fn! {
        a_mask_lands_on_the_shallow_factor, rules(), runner = runner(),
        "(mul_plain (mul (mul a a) b) m)" => "(mul (mul a a) (mul_plain b m))"
        @check |r: egg::Runner<crate::opt::lang::Ckks, crate::opt::analysis::CkksAnalysis>| {
            let root = r.egraph.find(r.roots[0]);
            assert_eq!(r.egraph[root].data.depth, 2);
        }
    }
}
