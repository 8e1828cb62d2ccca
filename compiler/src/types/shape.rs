//! Shape rules: numpy-style broadcasting, matrix products, and unification of a function
//! signature's symbolic dims with the argument shapes at a call.

use super::ty::{shape_text, Dim};
use std::collections::BTreeMap;

/// Broadcast two shapes (trailing axes aligned; a dim of 1 stretches).
pub fn broadcast(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, String> {
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let da = if i + a.len() >= n {
            Some(&a[i + a.len() - n])
        } else {
            None
        };
        let db = if i + b.len() >= n {
            Some(&b[i + b.len() - n])
        } else {
            None
        };
        let d = match (da, db) {
            (Some(x), None) | (None, Some(x)) => x.clone(),
            (Some(x), Some(y)) if x == y => x.clone(),
            (Some(Dim::Const(1)), Some(y)) => y.clone(),
            (Some(x), Some(Dim::Const(1))) => x.clone(),
            (Some(x), Some(y)) => {
                return Err(format!(
                    "{} and {} do not broadcast: axis {i} is {x} vs {y}",
                    shape_text(a),
                    shape_text(b)
                ));
            }
            (None, None) => unreachable!("one side always has the axis"),
        };
        out.push(d);
    }
    Ok(out)
}

/// `a @ b` for rank 1 or 2 operands.
pub fn matmul(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, String> {
    let (m, k1) = match a.len() {
        1 => (None, &a[0]),
        2 => (Some(a[0].clone()), &a[1]),
        _ => {
            return Err(format!(
                "the left operand of `@` must be a vector or matrix, found shape {}",
                shape_text(a)
            ))
        }
    };
    let (k2, n) = match b.len() {
        1 => (&b[0], None),
        2 => (&b[0], Some(b[1].clone())),
        _ => {
            return Err(format!(
                "the right operand of `@` must be a vector or matrix, found shape {}",
                shape_text(b)
            ))
        }
    };
    if k1 != k2 {
        return Err(format!(
            "inner dimensions differ: {} @ {} ({k1} vs {k2})",
            shape_text(a),
            shape_text(b)
        ));
    }
    Ok(m.into_iter().chain(n).collect())
}

/// Match a declared dim (with generic symbols in `generics`) against an actual dim.
pub fn unify_dim(
    declared: &Dim,
    actual: &Dim,
    generics: &[String],
    binding: &mut BTreeMap<String, Dim>,
) -> Result<(), String> {
    match declared {
        Dim::Sym(s) if generics.contains(s) => match binding.get(s) {
            Some(prev) if prev != actual => Err(format!(
                "`{s}` is {prev} from an earlier argument but {actual} here"
            )),
            Some(_) => Ok(()),
            None => {
                binding.insert(s.clone(), actual.clone());
                Ok(())
            }
        },
        d if d == actual => Ok(()),
        d => Err(format!("expected {d}, found {actual}")),
    }
}

pub fn substitute(shape: &[Dim], binding: &BTreeMap<String, Dim>) -> Vec<Dim> {
    shape
        .iter()
        .map(|d| match d {
            Dim::Sym(s) => binding.get(s).cloned().unwrap_or_else(|| d.clone()),
            c => c.clone(),
        })
        .collect()
}
