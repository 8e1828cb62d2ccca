//! Rotation algebra: rotations compose modulo the slot count, vanish at 0, commute with the
//! slotwise unary operations and block sums, factor out of sums, and move through plaintext
//! products by rotating the plaintext (a new compile-time plaintext, `rotp`).

use super::{add_rot, compute, num, rotatable, var, Rw};
use crate::opt::lang::Ckks;
use egg::rewrite;

pub fn rules() -> Vec<Rw> {
    let (x, a, b, k, p) = (var("?x"), var("?a"), var("?b"), var("?k"), var("?p"));
    let mut v = vec![
        rewrite!("rot-zero"; "(rot ?x 0)" => "?x"),
        rewrite!("rot-rot"; "(rot (rot ?x ?a) ?b)" => {
            compute(move |g, s| {
                let steps = num(g, s[a])? + num(g, s[b])?;
                Some(add_rot(g, s[x], steps))
            })
        }),
        rewrite!("rot-add-factor"; "(add (rot ?a ?k) (rot ?b ?k))" => "(rot (add ?a ?b) ?k)"),
        rewrite!("rot-sub-factor"; "(sub (rot ?a ?k) (rot ?b ?k))" => "(rot (sub ?a ?b) ?k)"),
        // rot(x·p, k) = rot(x, k)·rot(p, k), and back: a mask moves under a rotation
        rewrite!("rot-mul-plain"; "(rot (mul_plain ?x ?p) ?k)"
            => "(mul_plain (rot ?x ?k) (rotp ?p ?k))" if rotatable("?p")),
        rewrite!("mul-plain-rot"; "(mul_plain (rot ?x ?k) ?p)" => {
            compute(move |g, s| {
                let back = g.add(Ckks::Num((-num(g, s[k])?).rem_euclid(g.analysis.slots())));
                let q = g.add(Ckks::RotP([s[p], back]));
                let m = g.add(Ckks::MulPlain([s[x], q]));
                let k = s[k];
                Some(g.add(Ckks::Rot([m, k])))
            })
        } if rotatable("?p")),
        rewrite!("rot-add-plain"; "(rot (add_plain ?x ?p) ?k)"
            => "(add_plain (rot ?x ?k) (rotp ?p ?k))" if rotatable("?p")),
        rewrite!("rotp-zero"; "(rotp ?p 0)" => "?p"),
        rewrite!("rotp-scalar"; "(rotp ?p ?k)" => "?p" if super::is_scalar("?p")),
    ];
    v.extend(rewrite!("rot-neg"; "(rot (neg ?x) ?k)" <=> "(neg (rot ?x ?k))"));
    v.extend(rewrite!("rot-conj"; "(rot (conj ?x) ?k)" <=> "(conj (rot ?x ?k))"));
    v.extend(rewrite!("rot-mul-i"; "(rot (mul_i ?x) ?k)" <=> "(mul_i (rot ?x ?k))"));
    v.extend(rewrite!("rot-mul-int"; "(rot (mul_int ?x ?n) ?k)" <=> "(mul_int (rot ?x ?k) ?n)"));
    v.extend(rewrite!("rot-sum-blocks"; "(rot (sum_blocks ?ax ?x) ?k)" <=> "(sum_blocks ?ax (rot ?x ?k))"));
    v
}

#[cfg(test)]
mod tests {
    use crate::opt::rules::tests::runner;
    use egg::test_fn;

    fn rules() -> Vec<super::Rw> {
        crate::opt::rules::all()
    }

    test_fn! { rot_rot_composes, rules(), runner = runner(), "(rot (rot x 3) 5)" => "(rot x 8)" }
    test_fn! { rot_wraps_modulo_slots, rules(), runner = runner(), "(rot (rot x 32767) 1)" => "x" }
    test_fn! { rot_zero_vanishes, rules(), runner = runner(), "(rot x 0)" => "x" }
    test_fn! {
        rot_factors_out_of_sums, rules(), runner = runner(),
        "(add (rot a 4) (rot b 4))" => "(rot (add a b) 4)"
    }
    test_fn! {
        rot_distributes_over_neg, rules(), runner = runner(),
        "(rot (neg x) 7)" => "(neg (rot x 7))"
    }
    test_fn! {
        rot_moves_through_a_mask_product, rules(), runner = runner(),
        "(rot (mul_plain x m) 5)" => "(mul_plain (rot x 5) (rotp m 5))"
    }
    test_fn! {
        // a rotation, a mask, a rotation: one rotation with the mask rotated back
        rotations_around_a_mask_merge, rules(), runner = runner(),
        "(rot (mul_plain (rot x 3) m) 5)" => "(mul_plain (rot x 8) (rotp m 5))"
    }
    test_fn! {
        scalars_do_not_rotate, rules(), runner = runner(),
        "(rot (mul_plain x s) 9)" => "(mul_plain (rot x 9) s)"
    }
    test_fn! {
        rot_commutes_with_block_sums, rules(), runner = runner(),
        "(rot (sum_blocks 1 x) 2)" => "(sum_blocks 1 (rot x 2))"
    }
}
