//! Conjugation, multiplication by `i` and negation: involutions, their commutations, and
//! factoring one key switch (a conjugation) out of a sum.

use super::Rw;
use egg::rewrite;

pub fn rules() -> Vec<Rw> {
    let mut v = vec![
        rewrite!("conj-conj"; "(conj (conj ?x))" => "?x"),
        rewrite!("mul-i-mul-i"; "(mul_i (mul_i ?x))" => "(neg ?x)"),
        rewrite!("neg-neg"; "(neg (neg ?x))" => "?x"),
        // conj(i·x) = −i·conj(x)
        rewrite!("conj-mul-i"; "(conj (mul_i ?x))" => "(neg (mul_i (conj ?x)))"),
        rewrite!("conj-add-factor"; "(add (conj ?a) (conj ?b))" => "(conj (add ?a ?b))"),
        rewrite!("conj-sub-factor"; "(sub (conj ?a) (conj ?b))" => "(conj (sub ?a ?b))"),
        rewrite!("mul-i-add-factor"; "(add (mul_i ?a) (mul_i ?b))" => "(mul_i (add ?a ?b))"),
        rewrite!("add-neg"; "(add ?a (neg ?b))" => "(sub ?a ?b)"),
        rewrite!("sub-neg"; "(sub ?a (neg ?b))" => "(add ?a ?b)"),
        rewrite!("neg-sub"; "(neg (sub ?a ?b))" => "(sub ?b ?a)"),
        // a real scalar commutes with conjugation
        rewrite!("conj-mul-scalar"; "(conj (mul_plain ?x ?p))"
            => "(mul_plain (conj ?x) ?p)" if super::is_scalar("?p")),
    ];
    v.extend(rewrite!("conj-neg"; "(conj (neg ?x))" <=> "(neg (conj ?x))"));
    v.extend(rewrite!("mul-i-neg"; "(mul_i (neg ?x))" <=> "(neg (mul_i ?x))"));
    v.extend(rewrite!("conj-mul-int"; "(conj (mul_int ?x ?n))" <=> "(mul_int (conj ?x) ?n)"));
    v.extend(rewrite!("mul-i-mul-int"; "(mul_i (mul_int ?x ?n))" <=> "(mul_int (mul_i ?x) ?n)"));
    v
}

#[cfg(test)]
mod tests {
    use crate::opt::rules::tests::runner;
    use egg::test_fn;

    fn rules() -> Vec<super::Rw> {
        crate::opt::rules::all()
    }

    test_fn! { conj_conj_is_identity, rules(), runner = runner(), "(conj (conj x))" => "x" }
    test_fn! { mul_i_twice_negates, rules(), runner = runner(), "(mul_i (mul_i x))" => "(neg x)" }
    test_fn! {
        conj_of_mul_i, rules(), runner = runner(),
        "(conj (mul_i x))" => "(neg (mul_i (conj x)))"
    }
    test_fn! {
        conj_commutes_with_rot, rules(), runner = runner(),
        "(conj (rot x 12))" => "(rot (conj x) 12)"
    }
    test_fn! {
        one_conjugation_for_a_sum, rules(), runner = runner(),
        "(add (conj a) (conj b))" => "(conj (add a b))"
    }
    test_fn! {
        four_i_is_one, rules(), runner = runner(),
        "(mul_i (mul_i (mul_i (mul_i x))))" => "x"
    }
}
