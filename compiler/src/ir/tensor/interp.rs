//! An f64 evaluator of the tensor IR, with the reference interpreter's kernels
//! ([`crate::interp::ops`]) and its batch order (numpy's `default_rng(seed).permutation`, one
//! per batch-loop entry). Approximations are evaluated as their polynomials. Its outputs must
//! equal the reference interpreter's (not `--exact`): that is what shows the lowering is right.

use super::ir::*;
use crate::interp::nprng::NumpyRng;
use crate::interp::ops;
use crate::types::checked::{Builtin, TIndex};
use crate::types::ty::Dim;
use ndarray::{ArrayD, Axis, IxDyn};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("input `{0}` is missing")]
    MissingInput(String),
    #[error("input `{name}`: {msg}")]
    BadInput { name: String, msg: String },
    #[error("in `{inst}`: {msg}")]
    Inst { inst: String, msg: String },
}

/// Every output's values in the order they were recorded (once per iteration inside loops).
pub type Outputs = BTreeMap<String, Vec<ArrayD<f64>>>;

/// Evaluate `p` on `inputs` (already one-hot where the program declares a matrix); `seed`
/// seeds the batch shuffles as the reference interpreter's `Options::seed`.
pub fn run(
    p: &TensorProgram,
    inputs: &BTreeMap<String, ArrayD<f64>>,
    seed: u64,
) -> Result<Outputs, EvalError> {
    let mut ev = Eval {
        p,
        vals: vec![None; p.values.len()],
        dims: HashMap::new(),
        params: p.params.iter().map(|x| (x.name.clone(), x.value)).collect(),
        inputs: HashMap::new(),
        rng: NumpyRng::new(seed),
        outputs: p.outputs.iter().map(|o| (o.name.clone(), vec![])).collect(),
    };
    for (name, v) in &p.inputs {
        let a = inputs
            .get(name)
            .ok_or_else(|| EvalError::MissingInput(name.clone()))?;
        let declared = &p.ty(*v).shape;
        if declared.len() != a.ndim() {
            return Err(EvalError::BadInput {
                name: name.clone(),
                msg: format!("rank {} declared, {} given", declared.len(), a.ndim()),
            });
        }
        for (d, &n) in declared.iter().zip(a.shape()) {
            let bad = match d {
                Dim::Const(c) => *c as usize != n,
                Dim::Sym(s) => *ev.dims.entry(s.clone()).or_insert(n) != n,
            };
            if bad {
                return Err(EvalError::BadInput {
                    name: name.clone(),
                    msg: format!("dim {d} does not match the data's {n}"),
                });
            }
        }
        ev.inputs.insert(name.clone(), Rc::new(a.clone()));
    }
    ev.region(&p.body)?;
    Ok(ev.outputs)
}

struct Eval<'a> {
    p: &'a TensorProgram,
    vals: Vec<Option<Rc<ArrayD<f64>>>>,
    dims: HashMap<String, usize>,
    params: HashMap<String, f64>,
    inputs: HashMap<String, Rc<ArrayD<f64>>>,
    rng: NumpyRng,
    outputs: Outputs,
}

fn scalar(v: f64) -> ArrayD<f64> {
    ArrayD::from_elem(IxDyn(&[]), v)
}

impl Eval<'_> {
    fn get(&self, v: ValueId) -> Result<Rc<ArrayD<f64>>, String> {
        self.vals
            .get(v as usize)
            .and_then(|x| x.clone())
            .ok_or_else(|| format!("%{v} has no value"))
    }
    fn scalar_of(&self, v: ValueId) -> Result<f64, String> {
        let a = self.get(v)?;
        if a.len() != 1 {
            return Err(format!("%{v} is not a scalar (shape {:?})", a.shape()));
        }
        Ok(*a.iter().next().unwrap())
    }
    fn dim(&self, d: &Dim) -> Result<usize, String> {
        match d {
            Dim::Const(n) => Ok(*n as usize),
            Dim::Sym(s) => self
                .dims
                .get(s)
                .copied()
                .ok_or_else(|| format!("dimension `{s}` is not bound")),
        }
    }
    fn set(&mut self, v: ValueId, a: ArrayD<f64>) {
        self.vals[v as usize] = Some(Rc::new(a));
    }

    fn region(&mut self, r: &Region) -> Result<Vec<Rc<ArrayD<f64>>>, EvalError> {
        for inst in &r.insts {
            self.inst(inst).map_err(|msg| EvalError::Inst {
                inst: super::print::inst_line(self.p, inst),
                msg,
            })?;
        }
        r.yields
            .iter()
            .map(|y| {
                self.get(*y).map_err(|msg| EvalError::Inst {
                    inst: "yield".into(),
                    msg,
                })
            })
            .collect()
    }

    /// Run a loop body with `iv` and `state`; returns the next state.
    fn iterate(
        &mut self,
        body: &Region,
        iv: f64,
        state: Vec<Rc<ArrayD<f64>>>,
    ) -> Result<Vec<Rc<ArrayD<f64>>>, String> {
        self.set(body.args[0], scalar(iv));
        for (a, s) in body.args[1..].iter().zip(state) {
            self.vals[*a as usize] = Some(s);
        }
        self.region(body).map_err(|e| e.to_string())
    }

    fn inst(&mut self, inst: &Inst) -> Result<(), String> {
        let r0 = inst.results.first().copied();
        let out = match &inst.op {
            Op::Const(c) => scalar(*c),
            Op::Param(n) => scalar(*self.params.get(n).ok_or(format!("no parameter `{n}`"))?),
            Op::Input(n) => (*self
                .inputs
                .get(n)
                .ok_or(format!("no input `{n}`"))?
                .as_ref())
            .clone(),
            Op::DimValue(d) => scalar(self.dim(d)? as f64),
            Op::Neg(a) => self.get(*a)?.mapv(|x| -x),
            Op::Bin(op, a, b) => {
                let func = ops::elementwise(*op)
                    .ok_or_else(|| "matmul as an elementwise op".to_string())?;
                let (x, y) = (self.get(*a)?, self.get(*b)?);
                ops::zip(&x, &y, func).ok_or_else(|| {
                    format!(
                        "shapes {:?} and {:?} do not broadcast",
                        x.shape(),
                        y.shape()
                    )
                })?
            }
            Op::Broadcast(a) => {
                let x = self.get(*a)?;
                let r = r0.ok_or("no result")?;
                let mut shape = vec![];
                for d in &self.p.ty(r).shape {
                    shape.push(self.dim(d)?);
                }
                x.broadcast(IxDyn(&shape))
                    .ok_or_else(|| format!("cannot broadcast {:?} to {shape:?}", x.shape()))?
                    .to_owned()
            }
            Op::MatMul(a, b) => {
                let (x, y) = (self.get(*a)?, self.get(*b)?);
                ops::matmul(&x, &y)
                    .ok_or_else(|| format!("cannot multiply {:?} by {:?}", x.shape(), y.shape()))?
            }
            Op::Transpose(a) => self.get(*a)?.t().to_owned(),
            Op::Builtin(b, args) => self.builtin(*b, args)?,
            Op::Approx(name, a) => {
                let def = self
                    .p
                    .approximations
                    .get(name)
                    .ok_or(format!("no approximation `{name}`"))?;
                self.get(*a)?.mapv(|v| def.eval(v))
            }
            Op::Slice(a, items) => {
                let x = self.get(*a)?;
                let mut v = x.view();
                let mut axis = 0;
                for it in items {
                    match it {
                        TIndex::Full => axis += 1,
                        TIndex::Range(lo, hi) => {
                            if *hi > v.len_of(Axis(axis)) || lo > hi {
                                return Err(format!("slice {lo}:{hi} out of bounds"));
                            }
                            v.slice_axis_inplace(Axis(axis), ndarray::Slice::from(*lo..*hi));
                            axis += 1;
                        }
                        TIndex::At(i) => {
                            if *i >= v.len_of(Axis(axis)) {
                                return Err(format!("index {i} out of bounds"));
                            }
                            v = v.index_axis_move(Axis(axis), *i);
                        }
                    }
                }
                v.to_owned()
            }
            Op::Assume(a, _) => (*self.get(*a)?).clone(),
            Op::BatchOrder { rows, shuffle } => {
                let n = self.dim(rows)?;
                let idx: Vec<usize> = if *shuffle {
                    self.rng.permutation(n)
                } else {
                    (0..n).collect()
                };
                ArrayD::from_shape_vec(IxDyn(&[n]), idx.into_iter().map(|i| i as f64).collect())
                    .map_err(|e| e.to_string())?
            }
            Op::BatchSlice {
                source,
                order,
                index,
                size,
            } => {
                let src = self.get(*source)?;
                let ord = self.get(*order)?;
                let (i, bs) = (
                    self.scalar_of(*index)? as usize,
                    self.scalar_of(*size)? as usize,
                );
                let n = ord.len();
                let lo = (i * bs).min(n);
                let hi = ((i + 1) * bs).min(n);
                let rows: Vec<usize> = ord
                    .iter()
                    .skip(lo)
                    .take(hi - lo)
                    .map(|v| *v as usize)
                    .collect();
                let r = r0.ok_or("no result")?;
                if let Some(Dim::Sym(s)) = self.p.ty(r).shape.first() {
                    self.dims.insert(s.clone(), rows.len());
                }
                src.select(Axis(0), &rows)
            }
            Op::Loop {
                kind, inits, body, ..
            } => {
                let mut state = vec![];
                for i in inits {
                    state.push(self.get(*i)?);
                }
                match kind {
                    LoopKind::Range { lo, hi } => {
                        let (a, b) = (self.scalar_of(*lo)? as i64, self.scalar_of(*hi)? as i64);
                        for i in a..b {
                            state = self.iterate(body, i as f64, state)?;
                        }
                    }
                    LoopKind::Batches { order, size, .. } => {
                        let n = self.get(*order)?.len();
                        let bs = self.scalar_of(*size)?;
                        if bs.is_nan() || bs < 1.0 {
                            return Err(format!("batch size must be at least 1, found {bs}"));
                        }
                        let trips = n.div_ceil(bs as usize);
                        for i in 0..trips {
                            state = self.iterate(body, i as f64, state)?;
                        }
                    }
                }
                for (r, s) in inst.results.iter().zip(state) {
                    self.vals[*r as usize] = Some(s);
                }
                return Ok(());
            }
            Op::If { cond, then, els } => {
                let c = self.scalar_of(*cond)?;
                let ys = self
                    .region(if c != 0.0 { then } else { els })
                    .map_err(|e| e.to_string())?;
                for (r, s) in inst.results.iter().zip(ys) {
                    self.vals[*r as usize] = Some(s);
                }
                return Ok(());
            }
            Op::Output { name, value, .. } => {
                let v = (*self.get(*value)?).clone();
                self.outputs.entry(name.clone()).or_default().push(v);
                return Ok(());
            }
        };
        let r = r0.ok_or("an instruction without a result")?;
        self.set(r, out);
        Ok(())
    }

    fn builtin(&mut self, b: Builtin, args: &[ValueId]) -> Result<ArrayD<f64>, String> {
        let arg = |i: usize| -> Result<Rc<ArrayD<f64>>, String> {
            self.get(*args.get(i).ok_or("missing argument")?)
        };
        let nums =
            || -> Result<Vec<f64>, String> { args.iter().map(|a| self.scalar_of(*a)).collect() };
        Ok(match b {
            Builtin::Randn | Builtin::Uniform => {
                let nums = nums()?;
                let fixed = if b == Builtin::Randn { 1 } else { 3 };
                if nums.len() < fixed {
                    return Err("missing arguments of a random initialiser".into());
                }
                let shape: Vec<usize> = nums[fixed..].iter().map(|d| *d as usize).collect();
                let n = shape
                    .iter()
                    .try_fold(1usize, |a, &d| a.checked_mul(d))
                    .filter(|t| *t <= 1 << 32)
                    .ok_or(format!("tensor of shape {shape:?} is too large"))?;
                let mut rng = NumpyRng::new(nums[0] as u64);
                let data: Vec<f64> = if b == Builtin::Randn {
                    (0..n).map(|_| rng.standard_normal_box_muller()).collect()
                } else {
                    let (lo, hi) = (nums[1], nums[2]);
                    (0..n).map(|_| lo + (hi - lo) * rng.random()).collect()
                };
                ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|e| e.to_string())?
            }
            Builtin::Zeros | Builtin::Ones => {
                let shape: Vec<usize> = nums()?.into_iter().map(|d| d as usize).collect();
                shape
                    .iter()
                    .try_fold(1usize, |a, &d| a.checked_mul(d))
                    .filter(|t| *t <= 1 << 32)
                    .ok_or(format!("tensor of shape {shape:?} is too large"))?;
                ArrayD::from_elem(IxDyn(&shape), if b == Builtin::Zeros { 0.0 } else { 1.0 })
            }
            Builtin::Softmax | Builtin::RowMax | Builtin::RowSum | Builtin::Roll
                if arg(0)?.ndim() == 0 =>
            {
                return Err(format!("`{}` needs a tensor of rank >= 1", b.name()))
            }
            Builtin::Softmax => ops::softmax(&*arg(0)?),
            Builtin::RowMax => ops::row_reduce(&*arg(0)?, |l| {
                l.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            }),
            Builtin::RowSum => ops::row_reduce(&*arg(0)?, |l| l.sum()),
            Builtin::Sum(a) => arg(0)?.sum_axis(Axis(a)),
            Builtin::Mean(a) => {
                let x = arg(0)?;
                let n = x.len_of(Axis(a)).max(1) as f64;
                x.sum_axis(Axis(a)) / n
            }
            Builtin::Rows => scalar(arg(0)?.shape().first().copied().unwrap_or(1) as f64),
            Builtin::Cols => scalar(arg(0)?.shape().last().copied().unwrap_or(1) as f64),
            Builtin::Roll => {
                let k = self.scalar_of(*args.get(1).ok_or("missing shift")?)?;
                ops::roll(&*arg(0)?, k as i64)
            }
            Builtin::Log2Ceil => scalar(
                self.scalar_of(*args.first().ok_or("missing argument")?)?
                    .max(1.0)
                    .log2()
                    .ceil(),
            ),
            e => arg(0)?.mapv(|x| e.eval1(x)),
        })
    }
}
