//! Tree-walking evaluation of the checked program.

use super::data::DataSet;
use super::ops;
use crate::syntax::span::Span;
use crate::types::checked::*;
use crate::types::ty::{Dim, Range, Ty};
use ndarray::{ArrayD, Axis, IxDyn};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

#[derive(Clone, Debug)]
enum Value {
    T(Rc<ArrayD<f64>>),
    Tuple(Vec<Value>),
    Unit,
}

impl Value {
    fn t(a: ArrayD<f64>) -> Value {
        Value::T(Rc::new(a))
    }
    fn scalar(v: f64) -> Value {
        Value::t(ArrayD::from_elem(IxDyn(&[]), v))
    }
}

pub struct Options<'a> {
    pub exact: bool,
    pub seed: u64,
    /// called after each iteration of the outermost loop: (done, total)
    pub progress: Option<&'a dyn Fn(u64, u64)>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            exact: false,
            seed: 0,
            progress: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("input `{0}` is not in the data (tensors present: {1})")]
    MissingInput(String, String),
    #[error("input `{name}`: {msg}")]
    BadInput { name: String, msg: String },
    #[error("evaluation failed at byte {}..{} of file {}: {msg}", span.start, span.end, span.file)]
    Eval { span: Span, msg: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    pub accuracy: f64,
    pub loss: f64,
}

#[derive(Clone, Debug)]
pub struct OutputValue {
    pub name: String,
    /// one value per evaluation (per iteration for outputs inside loops)
    pub values: Vec<ArrayD<f64>>,
    pub scores: Vec<Score>,
}

/// A range annotation that the data did not satisfy.
#[derive(Clone, Debug)]
pub struct RangeViolation {
    pub span: Span,
    pub declared: Range,
    pub observed: Range,
    pub violations: u64,
    pub evaluations: u64,
    /// NaN or infinite elements seen (each such evaluation is a violation)
    pub non_finite: u64,
}

#[derive(Debug)]
pub struct RunResult {
    pub outputs: Vec<OutputValue>,
    pub range_checks: Vec<RangeViolation>,
    /// every output and carried value, with how often it was NaN or infinite
    pub non_finite: Vec<super::health::NonFinite>,
}

impl RunResult {
    pub fn output(&self, name: &str) -> Option<&OutputValue> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

struct Frame {
    locals: Vec<Option<Value>>,
    dims: HashMap<String, usize>,
}

struct Interp<'p, 'o> {
    prog: &'p CheckedProgram,
    opts: &'o Options<'o>,
    params: HashMap<&'p str, f64>,
    inputs: HashMap<String, Value>,
    rng: super::nprng::NumpyRng,
    outputs: Vec<OutputValue>,
    ranges: BTreeMap<(u32, u32, u32), RangeViolation>,
    finite: BTreeMap<(u32, u32, u32), super::health::NonFinite>,
    depth: usize,
}

fn err<T>(span: Span, msg: impl Into<String>) -> Result<T, RunError> {
    Err(RunError::Eval {
        span,
        msg: msg.into(),
    })
}

fn tensor(v: &Value, span: Span) -> Result<&Rc<ArrayD<f64>>, RunError> {
    match v {
        Value::T(t) => Ok(t),
        _ => err(span, "expected a tensor"),
    }
}

fn scalar_of(v: &Value, span: Span) -> Result<f64, RunError> {
    let t = tensor(v, span)?;
    if t.len() != 1 {
        return err(
            span,
            format!("expected a scalar, found shape {:?}", t.shape()),
        );
    }
    Ok(*t.iter().next().unwrap())
}

/// Bind the inputs from the data set, checking shapes against the declared types.
fn bind_inputs(
    prog: &CheckedProgram,
    data: &DataSet,
    dims: &mut HashMap<String, usize>,
) -> Result<HashMap<String, Value>, RunError> {
    let mut out = HashMap::new();
    for inp in &prog.inputs {
        let Some(t) = data.get(&inp.name) else {
            return Err(RunError::MissingInput(
                inp.name.clone(),
                data.keys().cloned().collect::<Vec<_>>().join(", "),
            ));
        };
        let Ty::Tensor(tt) = &inp.ty else { continue };
        let mut arr = t.data.clone();
        let declared = &tt.shape;
        // integer labels [n] for a declared one-hot [n, C]
        if t.integer && arr.ndim() + 1 == declared.len() && tt.elem == crate::types::ty::Elem::F64 {
            let Some(Dim::Const(c)) = declared.last() else {
                return Err(RunError::BadInput {
                    name: inp.name.clone(),
                    msg: "integer labels become one-hot only when the class dim is a constant"
                        .into(),
                });
            };
            let c = *c as usize;
            let n = arr.len();
            let mut oh = ArrayD::<f64>::zeros(IxDyn(&[n, c]));
            for (i, &v) in arr.iter().enumerate() {
                if v < 0.0 || v as usize >= c || v.fract() != 0.0 {
                    return Err(RunError::BadInput {
                        name: inp.name.clone(),
                        msg: format!("label {v} at row {i} is outside 0..{c}"),
                    });
                }
                oh[[i, v as usize]] = 1.0;
            }
            arr = oh;
        }
        if arr.ndim() != declared.len() {
            return Err(RunError::BadInput {
                name: inp.name.clone(),
                msg: format!(
                    "declared rank {} ({}), data has shape {:?}",
                    declared.len(),
                    inp.ty,
                    t.data.shape()
                ),
            });
        }
        for (axis, (d, &n)) in declared.iter().zip(arr.shape()).enumerate() {
            match d {
                Dim::Const(c) if *c as usize != n => {
                    return Err(RunError::BadInput {
                        name: inp.name.clone(),
                        msg: format!(
                            "axis {axis} should be {c}, data has {n} (shape {:?})",
                            t.data.shape()
                        ),
                    });
                }
                Dim::Sym(s) => match dims.get(s) {
                    Some(&prev) if prev != n => {
                        return Err(RunError::BadInput { name: inp.name.clone(), msg: format!("axis {axis} is `{s}` = {prev} from an earlier input, but the data has {n}") });
                    }
                    _ => {
                        dims.insert(s.clone(), n);
                    }
                },
                _ => {}
            }
        }
        if let Some(r) = tt.range {
            if let Some(bad) = arr.iter().find(|v| !(**v >= r.lo && **v <= r.hi)) {
                return Err(RunError::BadInput {
                    name: inp.name.clone(),
                    msg: format!("declared range {r} but the data contains {bad}"),
                });
            }
        }
        out.insert(inp.name.clone(), Value::t(arr));
    }
    Ok(out)
}

/// Run a checked program on data.
pub fn run(prog: &CheckedProgram, data: &DataSet, opts: &Options) -> Result<RunResult, RunError> {
    let mut dims = HashMap::new();
    let inputs = bind_inputs(prog, data, &mut dims)?;
    let mut it = Interp {
        prog,
        opts,
        params: prog
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.value))
            .collect(),
        inputs,
        rng: super::nprng::NumpyRng::new(opts.seed),
        outputs: prog
            .outputs
            .iter()
            .map(|o| OutputValue {
                name: o.name.clone(),
                values: vec![],
                scores: vec![],
            })
            .collect(),
        ranges: BTreeMap::new(),
        finite: BTreeMap::new(),
        depth: 0,
    };
    let mut frame = Frame {
        locals: vec![None; prog.locals.len()],
        dims,
    };
    for s in &prog.body {
        it.stmt(&mut frame, s)?;
    }
    let mut range_checks: Vec<RangeViolation> = it.ranges.into_values().collect();
    for v in range_checks.iter().filter(|v| v.violations > 0) {
        tracing::debug!(declared = %v.declared, observed = %v.observed, violations = v.violations, "range annotation violated");
    }
    range_checks.sort_by_key(|r| (r.span.file, r.span.start));
    Ok(RunResult {
        outputs: it.outputs,
        range_checks,
        non_finite: it.finite.into_values().collect(),
    })
}

impl<'p, 'o> Interp<'p, 'o> {
    /// Account one evaluation of an output or carried value for the NaN/infinity report.
    fn check_finite(&mut self, span: Span, what: &dyn Fn() -> String, v: &Value) {
        let key = (span.file, span.start, span.end);
        match v {
            Value::T(a) => self
                .finite
                .entry(key)
                .or_insert_with(|| super::health::NonFinite::new(span, what()))
                .record(a),
            Value::Tuple(vs) => {
                for v in vs {
                    self.check_finite(span, what, v);
                }
            }
            Value::Unit => {}
        }
    }

    fn stmt(&mut self, f: &mut Frame, s: &TStmt) -> Result<(), RunError> {
        match s {
            TStmt::Let { targets, value } => {
                let v = self.expr(f, value)?;
                if targets.len() == 1 && !matches!(value.ty, Ty::Tuple(_)) {
                    f.locals[targets[0] as usize] = Some(v);
                } else {
                    let Value::Tuple(vs) = v else {
                        return err(value.span, "expected a tuple");
                    };
                    for (t, v) in targets.iter().zip(vs) {
                        f.locals[*t as usize] = Some(v);
                    }
                }
                Ok(())
            }
            TStmt::Output {
                name,
                value,
                against,
                ..
            } => {
                let v = self.expr(f, value)?;
                let t = tensor(&v, value.span)?.clone();
                let score = match against {
                    Some(l) => {
                        let lv = self.expr(f, l)?;
                        let labels = tensor(&lv, l.span)?;
                        Some(score(&t, labels))
                    }
                    None => None,
                };
                self.check_finite(value.span, &|| format!("output `{name}`"), &v);
                if let Some(o) = self.outputs.iter_mut().find(|o| &o.name == name) {
                    o.values.push((*t).clone());
                    if let Some(s) = score {
                        o.scores.push(s);
                    }
                }
                Ok(())
            }
        }
    }

    fn block(&mut self, f: &mut Frame, b: &TBlock) -> Result<Value, RunError> {
        for s in &b.stmts {
            self.stmt(f, s)?;
        }
        match &b.tail {
            Some(t) => self.expr(f, t),
            None => Ok(Value::Unit),
        }
    }

    fn dim(&self, f: &Frame, d: &Dim, span: Span) -> Result<usize, RunError> {
        match d {
            Dim::Const(n) => Ok(*n as usize),
            Dim::Sym(s) => f
                .dims
                .get(s)
                .copied()
                .map_or_else(|| err(span, format!("dimension `{s}` is not bound")), Ok),
        }
    }

    fn expr(&mut self, f: &mut Frame, e: &TExpr) -> Result<Value, RunError> {
        let span = e.span;
        Ok(match &e.kind {
            TKind::Const(v) => Value::scalar(*v),
            TKind::Local(id) => match f.locals.get(*id as usize).and_then(|x| x.clone()) {
                Some(v) => v,
                None => return err(span, "variable read before it was set"),
            },
            TKind::Param(p) => Value::scalar(*self.params.get(p.as_str()).unwrap_or(&f64::NAN)),
            TKind::Input(n) => self
                .inputs
                .get(n)
                .cloned()
                .map_or_else(|| err(span, format!("input `{n}` not bound")), Ok)?,
            TKind::DimValue(d) => Value::scalar(self.dim(f, d, span)? as f64),
            TKind::Neg(a) => {
                let a = self.expr(f, a)?;
                Value::t(tensor(&a, span)?.mapv(|x| -x))
            }
            TKind::Bin(op, a, b) => {
                let x = self.expr(f, a)?;
                let y = self.expr(f, b)?;
                let (x, y) = (tensor(&x, a.span)?, tensor(&y, b.span)?);
                let Some(func) = ops::elementwise(*op) else {
                    return err(span, "internal: matmul as elementwise");
                };
                match ops::zip(x, y, func) {
                    Some(r) => Value::t(r),
                    None => {
                        return err(
                            span,
                            format!(
                                "shapes {:?} and {:?} do not broadcast",
                                x.shape(),
                                y.shape()
                            ),
                        )
                    }
                }
            }
            TKind::MatMul(a, b) => {
                let x = self.expr(f, a)?;
                let y = self.expr(f, b)?;
                let (x, y) = (tensor(&x, a.span)?, tensor(&y, b.span)?);
                match ops::matmul(x, y) {
                    Some(r) => Value::t(r),
                    None => {
                        return err(
                            span,
                            format!("cannot multiply shapes {:?} and {:?}", x.shape(), y.shape()),
                        )
                    }
                }
            }
            TKind::Transpose(a) => {
                let x = self.expr(f, a)?;
                let x = tensor(&x, span)?;
                Value::t(x.t().to_owned())
            }
            TKind::Approx(name, a) => {
                let x = self.expr(f, a)?;
                let x = tensor(&x, a.span)?;
                let def = &self.prog.approximations[name];
                match (self.opts.exact, def.exact) {
                    (true, Some(b)) => Value::t(x.mapv(|v| b.eval1(v))),
                    _ => Value::t(x.mapv(|v| def.eval(v))),
                }
            }
            TKind::Builtin(b, args) => {
                let mut vs = vec![];
                for a in args {
                    vs.push(self.expr(f, a)?);
                }
                self.builtin(*b, &vs, span)?
            }
            TKind::Call { func, args, .. } => {
                let mut vs = vec![];
                for a in args {
                    vs.push(self.expr(f, a)?);
                }
                let fun = &self.prog.functions[func];
                if self.opts.exact {
                    if let Some(b) = fun.exact {
                        let v = self.builtin(b, &vs[..1], span)?;
                        return Ok(v);
                    }
                }
                let mut frame = Frame {
                    locals: vec![None; fun.locals.len()],
                    dims: HashMap::new(),
                };
                for (p, v) in fun.params.iter().zip(vs) {
                    if let (Ty::Tensor(t), Value::T(a)) = (&fun.locals[*p as usize].ty, &v) {
                        for (d, &n) in t.shape.iter().zip(a.shape()) {
                            if let Dim::Sym(s) = d {
                                frame.dims.insert(s.clone(), n);
                            }
                        }
                    }
                    frame.locals[*p as usize] = Some(v);
                }
                self.depth += 1;
                let r = self.block(&mut frame, &fun.body);
                self.depth -= 1;
                r?
            }
            TKind::Index(a, items) => {
                let x = self.expr(f, a)?;
                let x = tensor(&x, a.span)?;
                let mut v = x.view();
                let mut axis = 0;
                for it in items {
                    match it {
                        TIndex::Full => axis += 1,
                        TIndex::Range(lo, hi) => {
                            if *hi > v.len_of(Axis(axis)) {
                                return err(
                                    span,
                                    format!(
                                        "slice {lo}:{hi} out of bounds for axis {axis} of size {}",
                                        v.len_of(Axis(axis))
                                    ),
                                );
                            }
                            v.slice_axis_inplace(Axis(axis), ndarray::Slice::from(*lo..*hi));
                            axis += 1;
                        }
                        TIndex::At(i) => {
                            if *i >= v.len_of(Axis(axis)) {
                                return err(
                                    span,
                                    format!("index {i} out of bounds for axis {axis}"),
                                );
                            }
                            v = v.index_axis_move(Axis(axis), *i);
                        }
                    }
                }
                Value::t(v.to_owned())
            }
            TKind::Tuple(es) => {
                let mut vs = vec![];
                for x in es {
                    vs.push(self.expr(f, x)?);
                }
                Value::Tuple(vs)
            }
            TKind::If(c, t, e2) => {
                let cv = self.expr(f, c)?;
                if scalar_of(&cv, c.span)? != 0.0 {
                    self.block(f, t)?
                } else {
                    self.block(f, e2)?
                }
            }
            TKind::Loop(l) => self.run_loop(f, l, span)?,
            TKind::Assume(a, r) => {
                let v = self.expr(f, a)?;
                let x = tensor(&v, a.span)?;
                let bad = x.iter().filter(|v| !v.is_finite()).count() as u64;
                let (lo, hi) = x
                    .iter()
                    .filter(|v| v.is_finite())
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                        (l.min(v), h.max(v))
                    });
                let key = (span.file, span.start, span.end);
                let tol = 1e-9 * (1.0 + r.max_abs());
                let rv = self.ranges.entry(key).or_insert(RangeViolation {
                    span,
                    declared: *r,
                    observed: Range::new(lo, hi),
                    violations: 0,
                    evaluations: 0,
                    non_finite: 0,
                });
                rv.evaluations += 1;
                if lo <= hi {
                    rv.observed = Range::new(rv.observed.lo.min(lo), rv.observed.hi.max(hi));
                }
                rv.non_finite += bad;
                if lo < r.lo - tol || hi > r.hi + tol || bad > 0 {
                    rv.violations += 1;
                }
                v
            }
        })
    }

    fn builtin(&mut self, b: Builtin, vs: &[Value], span: Span) -> Result<Value, RunError> {
        let arg = |i: usize| -> Result<&Rc<ArrayD<f64>>, RunError> {
            vs.get(i)
                .map_or_else(|| err(span, "missing argument"), |v| tensor(v, span))
        };
        Ok(match b {
            Builtin::Randn | Builtin::Uniform => {
                let mut nums = vec![];
                for v in vs {
                    nums.push(scalar_of(v, span)?);
                }
                let fixed = if b == Builtin::Randn { 1 } else { 3 };
                if nums.len() < fixed {
                    return err(span, "missing arguments of a random initialiser");
                }
                let shape: Vec<usize> = nums[fixed..].iter().map(|d| *d as usize).collect();
                let total = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                if total.is_none_or(|t| t > 1 << 32) {
                    return err(span, format!("tensor of shape {shape:?} is too large"));
                }
                let mut rng = super::nprng::NumpyRng::new(nums[0] as u64);
                let n = total.unwrap_or(0);
                let data: Vec<f64> = if b == Builtin::Randn {
                    (0..n).map(|_| rng.standard_normal_box_muller()).collect()
                } else {
                    let (lo, hi) = (nums[1], nums[2]);
                    (0..n).map(|_| lo + (hi - lo) * rng.random()).collect()
                };
                match ArrayD::from_shape_vec(IxDyn(&shape), data) {
                    Ok(a) => Value::t(a),
                    Err(e) => return err(span, e.to_string()),
                }
            }
            Builtin::Zeros | Builtin::Ones => {
                let mut shape = vec![];
                for v in vs {
                    shape.push(scalar_of(v, span)? as usize);
                }
                let total = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                if total.is_none_or(|t| t > 1 << 32) {
                    return err(span, format!("tensor of shape {shape:?} is too large"));
                }
                Value::t(ArrayD::from_elem(
                    IxDyn(&shape),
                    if b == Builtin::Zeros { 0.0 } else { 1.0 },
                ))
            }
            Builtin::Softmax | Builtin::RowMax | Builtin::RowSum | Builtin::Roll
                if arg(0)?.ndim() == 0 =>
            {
                return err(span, format!("`{}` needs a tensor of rank >= 1", b.name()));
            }
            Builtin::Softmax => Value::t(ops::softmax(arg(0)?)),
            Builtin::RowMax => Value::t(ops::row_reduce(arg(0)?, |l| {
                l.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            })),
            Builtin::RowSum => Value::t(ops::row_reduce(arg(0)?, |l| l.sum())),
            Builtin::Sum(a) => Value::t(arg(0)?.sum_axis(Axis(a))),
            Builtin::Mean(a) => {
                let x = arg(0)?;
                let n = x.len_of(Axis(a)).max(1) as f64;
                Value::t(x.sum_axis(Axis(a)) / n)
            }
            Builtin::Rows => Value::scalar(arg(0)?.shape().first().copied().unwrap_or(1) as f64),
            Builtin::Cols => Value::scalar(arg(0)?.shape().last().copied().unwrap_or(1) as f64),
            Builtin::Roll => {
                let k = scalar_of(&vs[1], span)?;
                Value::t(ops::roll(arg(0)?, k as i64))
            }
            Builtin::Log2Ceil => Value::scalar(scalar_of(&vs[0], span)?.max(1.0).log2().ceil()),
            e => Value::t(arg(0)?.mapv(|x| e.eval1(x))),
        })
    }

    fn run_loop(&mut self, f: &mut Frame, l: &TLoop, span: Span) -> Result<Value, RunError> {
        let mut state = vec![];
        for c in &l.carried {
            state.push(self.expr(f, &c.init)?);
        }
        let outermost = self.depth == 0;
        self.depth += 1;
        let step =
            |this: &mut Self, f: &mut Frame, state: &mut Vec<Value>| -> Result<(), RunError> {
                for (c, v) in l.carried.iter().zip(state.iter()) {
                    f.locals[c.local as usize] = Some(v.clone());
                }
                let r = this.block(f, &l.body)?;
                if l.carried.len() == 1 {
                    state[0] = r;
                } else if !l.carried.is_empty() {
                    let Value::Tuple(vs) = r else {
                        return err(span, "loop body did not give a tuple");
                    };
                    *state = vs;
                }
                for (c, v) in l.carried.iter().zip(state.iter()) {
                    this.check_finite(c.init.span, &|| format!("carried state `{}`", c.name), v);
                }
                Ok(())
            };
        match &l.kind {
            LoopKind::Range { var, lo, hi } => {
                let lo_v = self.expr(f, lo)?;
                let hi_v = self.expr(f, hi)?;
                let (a, b) = (
                    scalar_of(&lo_v, lo.span)? as i64,
                    scalar_of(&hi_v, hi.span)? as i64,
                );
                let total = (b - a).max(0) as u64;
                for i in a..b {
                    f.locals[*var as usize] = Some(Value::scalar(i as f64));
                    step(self, f, &mut state)?;
                    if outermost {
                        if let Some(p) = self.opts.progress {
                            p((i - a + 1) as u64, total);
                        }
                    }
                }
            }
            LoopKind::Batches {
                vars,
                sources,
                size,
                shuffle,
                batch_dim,
            } => {
                let mut srcs = vec![];
                for s in sources {
                    let v = self.expr(f, s)?;
                    srcs.push(tensor(&v, s.span)?.clone());
                }
                let sv = self.expr(f, size)?;
                let bs = scalar_of(&sv, size.span)?;
                if !(bs >= 1.0) {
                    return err(
                        size.span,
                        format!("batch size must be at least 1, found {bs}"),
                    );
                }
                let bs = bs as usize;
                let n = srcs.first().map(|s| s.shape()[0]).unwrap_or(0);
                // numpy's `default_rng(seed).permutation(n)`, a fresh one per loop entry
                let idx: Vec<usize> = if *shuffle {
                    self.rng.permutation(n)
                } else {
                    (0..n).collect()
                };
                let chunks: Vec<&[usize]> = idx.chunks(bs).collect();
                let total = chunks.len() as u64;
                for (ci, chunk) in chunks.into_iter().enumerate() {
                    for (v, s) in vars.iter().zip(&srcs) {
                        f.locals[*v as usize] = Some(Value::t(s.select(Axis(0), chunk)));
                    }
                    f.dims.insert(batch_dim.clone(), chunk.len());
                    step(self, f, &mut state)?;
                    if outermost {
                        if let Some(p) = self.opts.progress {
                            p(ci as u64 + 1, total);
                        }
                    }
                }
            }
        }
        self.depth -= 1;
        Ok(match state.len() {
            0 => Value::Unit,
            1 => state.pop().unwrap(),
            _ => Value::Tuple(state),
        })
    }
}

/// Accuracy (argmax) and mean cross-entropy of logits [n, c] against integer labels [n].
pub fn score(logits: &ArrayD<f64>, labels: &ArrayD<f64>) -> Score {
    let n = logits.shape()[0];
    if labels.ndim() == 2 {
        // binary: scores [n, 1] against 0/1 labels [n, 1]
        let mut correct = 0usize;
        let mut loss = 0.0;
        for (&z, &y) in logits.iter().zip(labels.iter()) {
            if (z > 0.0) == (y > 0.5) {
                correct += 1;
            }
            // log(1 + e^z) - y z, stably
            loss += z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z;
        }
        return Score {
            accuracy: correct as f64 / n.max(1) as f64,
            loss: loss / n.max(1) as f64,
        };
    }
    let mut correct = 0usize;
    let mut loss = 0.0;
    let labels: Vec<f64> = labels.iter().copied().collect();
    for (i, row) in logits.outer_iter().enumerate() {
        let y = labels.get(i).copied().unwrap_or(-1.0) as usize;
        let (mut best, mut bi) = (f64::NEG_INFINITY, 0);
        for (j, &v) in row.iter().enumerate() {
            if v > best {
                best = v;
                bi = j;
            }
        }
        if bi == y {
            correct += 1;
        }
        let lse = best + row.iter().map(|v| (v - best).exp()).sum::<f64>().ln();
        loss += lse - row.iter().nth(y).copied().unwrap_or(0.0);
    }
    Score {
        accuracy: correct as f64 / n.max(1) as f64,
        loss: loss / n.max(1) as f64,
    }
}
