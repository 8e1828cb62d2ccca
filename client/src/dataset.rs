//! The plan's inputs bound to the data owner's tensors: loading (`.safetensors`, or
//! `NAME=FILE.npy`), shape checks against each [`InputSpec`] with named dimensions bound
//! consistently (`N` is `train_x`'s rows and must be `train_y`'s too), integer labels turned
//! one-hot as the interpreter does, and the batch order of streamed inputs.
//!
//! Batch order: every order group draws from one numpy generator `default_rng(plan.seed)`,
//! one `permutation(rows)` per loop entry in entry order (no draw when the stream is not
//! shuffled); batch `k` of an entry is rows `perm[k·B .. min((k+1)·B, rows)]`, so the last
//! batch may be shorter. Every input of a group sees the same permutations (each cursor runs
//! its own copy of the generator from the same seed, which draws the same sequence).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use blindtune_compiler::interp::data::{load_npy, load_safetensors, DataSet};
use blindtune_compiler::interp::nprng::NumpyRng;
use blindtune_runtime::ckks::Params;
use blindtune_runtime::plan::{DimSpec, InputSpec, Op, Plan};

use crate::error::{ClientError, Result};

/// The scale a fresh ciphertext at `level` must have: the executor's canonical scale of that
/// level for a plan whose top level is `max_level` (`S_top = Δ`, `S_l = S_{l+1}²/q_{l+1}`),
/// so that every product rescales to the next level's scale exactly.
pub fn encryption_scale(params: &Params, max_level: usize, level: usize) -> f64 {
    blindtune_runtime::executor::CanonicalScales::new(params, max_level)
        .map(|s| s.at(level))
        .unwrap_or_else(|_| params.default_scale())
}

/// Loads `--data` arguments: `FILE.safetensors` (every tensor by name) or `NAME=FILE.npy`.
/// A later argument's tensor replaces an earlier one of the same name (with a warning).
pub fn load_data(args: &[String]) -> Result<DataSet> {
    let mut ds = DataSet::new();
    for a in args {
        let more = if let Some((name, file)) = a.split_once('=') {
            let t = load_npy(Path::new(file)).map_err(|e| ClientError::Data {
                path: file.into(),
                message: e.to_string(),
            })?;
            DataSet::from([(name.to_string(), t)])
        } else if a.ends_with(".npy") {
            return Err(ClientError::Data {
                path: a.into(),
                message: "name the input of a .npy file as NAME=FILE.npy".into(),
            });
        } else {
            load_safetensors(Path::new(a)).map_err(|e| ClientError::Data {
                path: a.into(),
                message: e.to_string(),
            })?
        };
        for (name, t) in more {
            if ds.insert(name.clone(), t).is_some() {
                tracing::warn!(input = %name, file = %a, "given twice; the later one is used");
            }
        }
    }
    Ok(ds)
}

/// The inputs the plan's body reads (`input` and `batch_input` instructions, in loops too).
/// Inputs a plan declares but never reads (the labels an output is scored `against`) stay
/// with the data owner.
pub fn read_inputs(plan: &Plan) -> BTreeSet<String> {
    fn walk(insts: &[blindtune_runtime::plan::Inst], out: &mut BTreeSet<String>) {
        for i in insts {
            match &i.op {
                Op::Input { name } | Op::BatchInput { name, .. } => {
                    out.insert(name.clone());
                }
                Op::Loop { body, .. } => walk(body, out),
                _ => {}
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&plan.body, &mut out);
    out
}

/// One input's tensor as the plan sees it: row-major `[rows, cols]`.
#[derive(Clone, Debug)]
pub struct BoundInput {
    pub spec: InputSpec,
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl BoundInput {
    /// Rows `idx` of the tensor, row-major `[idx.len(), cols]`.
    pub fn select_rows(&self, idx: &[usize]) -> Vec<f64> {
        let mut out = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            out.extend_from_slice(&self.data[i * self.cols..(i + 1) * self.cols]);
        }
        out
    }
}

/// The inputs bound to data, and the named dimensions the data fixed.
#[derive(Clone, Debug, Default)]
pub struct BoundData {
    pub dims: BTreeMap<String, usize>,
    /// in the plan's order; only the inputs the plan reads
    pub inputs: Vec<BoundInput>,
    /// declared inputs the body never reads (kept by the data owner)
    pub kept: Vec<String>,
}

impl BoundData {
    pub fn get(&self, name: &str) -> Option<&BoundInput> {
        self.inputs.iter().find(|i| i.spec.name == name)
    }
}

/// `[rows, cols]` of a tensor of rank 0, 1 or 2.
fn as_matrix(shape: &[usize]) -> Option<[usize; 2]> {
    match shape {
        [] => Some([1, 1]),
        [c] => Some([1, *c]),
        [r, c] => Some([*r, *c]),
        _ => None,
    }
}

/// Binds every input the plan reads to its tensor in `data`, checking ranks and shapes.
pub fn bind(plan: &Plan, data: &DataSet) -> Result<BoundData> {
    let read = read_inputs(plan);
    let mut dims: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BoundData::default();
    for spec in &plan.inputs {
        if !read.contains(&spec.name) {
            out.kept.push(spec.name.clone());
            continue;
        }
        let name = &spec.name;
        let t = data.get(name).ok_or_else(|| {
            ClientError::input(
                name,
                format!(
                    "not in the data (it has {})",
                    data.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        let mut shape = t.data.shape().to_vec();
        let mut values: Vec<f64> = t.data.iter().copied().collect();
        // integer labels [n] for a declared one-hot [n, C] (as the interpreter reads them)
        if t.integer && spec.rank == 2 && shape.len() == 1 {
            let DimSpec::Fixed(c) = spec.shape[1] else {
                return Err(ClientError::input(
                    name,
                    "integer labels become one-hot only when the class dim is a constant",
                ));
            };
            let n = shape[0];
            let mut oh = vec![0.0; n * c];
            for (i, &v) in values.iter().enumerate() {
                if v < 0.0 || v.fract() != 0.0 || v as usize >= c {
                    return Err(ClientError::input(
                        name,
                        format!("label {v} at row {i} is outside 0..{c}"),
                    ));
                }
                oh[i * c + v as usize] = 1.0;
            }
            values = oh;
            shape = vec![n, c];
        }
        if shape.len() != spec.rank {
            return Err(ClientError::input(
                name,
                format!(
                    "the program declares rank {}, the data has shape {:?}",
                    spec.rank,
                    t.data.shape()
                ),
            ));
        }
        let [rows, cols] = as_matrix(&shape).ok_or_else(|| {
            ClientError::input(name, format!("rank {} is not supported", shape.len()))
        })?;
        for (axis, (d, n)) in spec.shape.iter().zip([rows, cols]).enumerate() {
            match d {
                DimSpec::Fixed(c) if *c != n => {
                    return Err(ClientError::input(
                        name,
                        format!(
                            "axis {axis} should be {c}, the data has {n} (shape {:?})",
                            t.data.shape()
                        ),
                    ))
                }
                DimSpec::Named(s) => match dims.get(s) {
                    Some(&prev) if prev != n => {
                        return Err(ClientError::input(
                            name,
                            format!(
                                "axis {axis} is `{s}` = {prev} from an earlier input, but the \
                                 data has {n}"
                            ),
                        ))
                    }
                    _ => {
                        dims.insert(s.clone(), n);
                    }
                },
                _ => {}
            }
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(ClientError::input(
                name,
                format!("value {} at flat index {i} is not finite", values[i]),
            ));
        }
        for (axis, len) in [(0, rows), (1, cols)] {
            let l = spec.layout.axis(axis);
            let s = plan.block.extent(axis);
            // a streamed input's rows are laid out per batch
            let len = if axis == 0 {
                spec.stream.as_ref().map_or(len, |st| st.batch.min(len))
            } else {
                len
            };
            if !l.admits(len, s) {
                return Err(ClientError::input(
                    name,
                    format!("layout {l} cannot hold an axis of {len} in blocks of {s}"),
                ));
            }
        }
        out.inputs.push(BoundInput {
            spec: spec.clone(),
            rows,
            cols,
            data: values,
        });
    }
    check_streams(&out)?;
    out.dims = dims;
    Ok(out)
}

/// Inputs of one order group must agree on rows, batch size, shuffling and entries.
fn check_streams(b: &BoundData) -> Result<()> {
    let mut groups: BTreeMap<usize, (&str, usize, usize, bool, u64)> = BTreeMap::new();
    for i in &b.inputs {
        let Some(st) = &i.spec.stream else { continue };
        if st.batch == 0 {
            return Err(ClientError::input(&i.spec.name, "batch size 0"));
        }
        let key = (i.rows, st.batch, st.shuffle, st.entries);
        match groups.get(&st.order) {
            Some(&(first, rows, batch, shuffle, entries))
                if (rows, batch, shuffle, entries) != key =>
            {
                return Err(ClientError::Plan(format!(
                    "inputs `{first}` and `{}` share order group {} but differ: rows {rows} vs {}, \
                     batch {batch} vs {}, shuffle {shuffle} vs {}, entries {entries} vs {}",
                    i.spec.name, st.order, key.0, key.1, key.2, key.3
                )))
            }
            Some(_) => {}
            None => {
                groups.insert(st.order, (&i.spec.name, key.0, key.1, key.2, key.3));
            }
        }
    }
    Ok(())
}

/// One batch of a stream: its loop entry, its index in the entry and its source rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub entry: u64,
    pub index: usize,
    pub rows: Vec<usize>,
}

/// The batches of a streamed input, in the order the plan consumes them.
pub struct BatchCursor {
    rng: Option<NumpyRng>,
    rows: usize,
    batch: usize,
    entries: u64,
    entry: u64,
    index: usize,
    perm: Vec<usize>,
}

impl BatchCursor {
    /// The cursor of a stream of `rows` rows in batches of `batch`, `entries` loop entries,
    /// shuffled from `seed` or in order.
    pub fn new(seed: u64, rows: usize, batch: usize, shuffle: bool, entries: u64) -> Self {
        BatchCursor {
            rng: shuffle.then(|| NumpyRng::new(seed)),
            rows,
            batch: batch.max(1),
            entries,
            entry: 0,
            index: 0,
            perm: Vec::new(),
        }
    }

    /// Batches per loop entry: `ceil(rows / batch)`.
    pub fn batches_per_entry(&self) -> usize {
        self.rows.div_ceil(self.batch)
    }

    /// Batches over the whole run.
    pub fn total(&self) -> u64 {
        self.entries * self.batches_per_entry() as u64
    }

    /// The rows of one whole entry: the next permutation (or `0..rows`).
    fn start_entry(&mut self) {
        self.perm = match &mut self.rng {
            Some(r) => r.permutation(self.rows),
            None => (0..self.rows).collect(),
        };
        self.index = 0;
    }
}

impl Iterator for BatchCursor {
    type Item = Batch;
    fn next(&mut self) -> Option<Batch> {
        if self.entry >= self.entries || self.rows == 0 {
            return None;
        }
        if self.index == 0 {
            self.start_entry();
        }
        let lo = self.index * self.batch;
        let hi = (lo + self.batch).min(self.rows);
        let b = Batch {
            entry: self.entry,
            index: self.index,
            rows: self.perm[lo..hi].to_vec(),
        };
        self.index += 1;
        if hi == self.rows {
            self.index = 0;
            self.entry += 1;
        }
        Some(b)
    }
}

/// The cursor of a bound streamed input.
pub fn cursor(plan: &Plan, input: &BoundInput) -> Option<BatchCursor> {
    let st = input.spec.stream.as_ref()?;
    Some(BatchCursor::new(
        plan.seed, input.rows, st.batch, st.shuffle, st.entries,
    ))
}

/// `[rows, cols]` of a declared shape under the bound dimensions.
pub fn resolve_shape(shape: &[DimSpec; 2], dims: &BTreeMap<String, usize>) -> Option<[usize; 2]> {
    let r = |d: &DimSpec| match d {
        DimSpec::Fixed(n) => Some(*n),
        DimSpec::Named(s) => dims.get(s).copied(),
    };
    Some([r(&shape[0])?, r(&shape[1])?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};
    use ndarray_npy::WriteNpyExt;

    #[test]
    fn npy_inputs_are_named_and_bare_npy_is_refused() {
        let dir = std::env::temp_dir().join(format!("bt-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.npy");
        ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])
            .unwrap()
            .write_npy(std::fs::File::create(&f).unwrap())
            .unwrap();
        let ds = load_data(&[format!("train_x={}", f.display())]).unwrap();
        assert_eq!(ds["train_x"].data.shape(), &[2, 3]);
        assert!(!ds["train_x"].integer);
        let err = load_data(&[f.display().to_string()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("NAME=FILE.npy"), "{err}");
        let err = load_data(&[format!("y={}", dir.join("missing.npy").display())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.npy"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cursor_counts_short_last_batches() {
        let c = BatchCursor::new(0, 10, 4, true, 3);
        assert_eq!(c.batches_per_entry(), 3);
        assert_eq!(c.total(), 9);
        let sizes: Vec<usize> = c.map(|b| b.rows.len()).collect();
        assert_eq!(sizes, vec![4, 4, 2, 4, 4, 2, 4, 4, 2]);
        assert_eq!(BatchCursor::new(0, 0, 4, true, 3).count(), 0);
    }
}
