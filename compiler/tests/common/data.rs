//! Seeded random inputs for a checked program: values in each input's declared range (or
//! [-1, 1]), one-hot `*_y` matrices, integer labels, positive `*_std`.

#![allow(dead_code)]

use blindtune_compiler::interp;
use blindtune_compiler::types::ty::{Dim, Elem};
use blindtune_compiler::CheckedProgram;
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

pub fn random_inputs(
    p: &CheckedProgram,
    dims: &BTreeMap<&str, usize>,
    seed: u64,
) -> interp::DataSet {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = BTreeMap::new();
    for inp in &p.inputs {
        let t = inp.ty.tensor().expect("tensor input");
        let shape: Vec<usize> = t
            .shape
            .iter()
            .map(|d| match d {
                Dim::Const(n) => *n as usize,
                Dim::Sym(s) => *dims.get(s.as_str()).unwrap_or(&3),
            })
            .collect();
        let n: usize = shape.iter().product();
        let (lo, hi) = t.range.map(|r| (r.lo, r.hi)).unwrap_or((-1.0, 1.0));
        let mut data: Vec<f64> = (0..n).map(|_| rng.gen_range(lo..=hi)).collect();
        if t.elem == Elem::I64 {
            let c = 10;
            data = (0..n).map(|_| rng.gen_range(0..c) as f64).collect();
        } else if inp.name.ends_with("_y") && shape.len() == 2 {
            let c = shape[1];
            data = vec![0.0; n];
            for row in 0..shape[0] {
                data[row * c + rng.gen_range(0..c)] = 1.0;
            }
        } else if inp.name.ends_with("_std") {
            data = (0..n).map(|_| rng.gen_range(0.5..2.0)).collect();
        }
        out.insert(
            inp.name.clone(),
            interp::Tensor {
                data: ArrayD::from_shape_vec(IxDyn(&shape), data).unwrap(),
                integer: false,
            },
        );
    }
    out
}
