//! Batch streams of a plan's streamed inputs, as the data owner encrypts them: one numpy
//! permutation per loop entry per order group (from one generator seeded by the plan), the
//! rows of each batch in that order.

#![allow(dead_code)]

use blindtune_compiler::interp::nprng::NumpyRng;
use blindtune_runtime::plan::{InputSpec, Plan};
use std::collections::{BTreeMap, HashMap, VecDeque};

pub type Queues = HashMap<String, VecDeque<(Vec<f64>, usize)>>;

pub fn streams(plan: &Plan, inputs: &BTreeMap<String, (Vec<f64>, [usize; 2])>) -> Queues {
    let mut queues = Queues::new();
    let mut rng = NumpyRng::new(plan.seed);
    let mut orders: BTreeMap<usize, Vec<&InputSpec>> = BTreeMap::new();
    for spec in &plan.inputs {
        if let Some(st) = &spec.stream {
            orders.entry(st.order).or_default().push(spec);
        }
    }
    for (_, specs) in orders {
        let st = specs[0].stream.clone().unwrap();
        let rows = inputs[&specs[0].name].1[0];
        for _ in 0..st.entries {
            let perm: Vec<usize> = if st.shuffle {
                rng.permutation(rows)
            } else {
                (0..rows).collect()
            };
            for chunk in perm.chunks(st.batch) {
                for spec in &specs {
                    let (data, shape) = &inputs[&spec.name];
                    let cols = shape[1];
                    let mut b = Vec::with_capacity(chunk.len() * cols);
                    for &r in chunk {
                        b.extend_from_slice(&data[r * cols..(r + 1) * cols]);
                    }
                    queues
                        .entry(spec.name.clone())
                        .or_default()
                        .push_back((b, chunk.len()));
                }
            }
        }
    }
    queues
}
