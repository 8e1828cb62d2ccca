//! The interpreter: a register file, dimension scopes, the encoded-plaintext cache, and one
//! function per instruction family. See the module documentation of [`super`] for the rules.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use num_complex::Complex64;

use super::error::{run_err, At, ExecError};
use super::io::{Grid, InputSource, OutputSink};
use super::liveness::BlockLive;
use super::observer::{Checkpoint, LoopPos, Observer, RunReport, TripBoundary, TripControl};
use super::plain::{clean, slot_fn, slot_op};
use super::stop::stop_refused;
use super::value::{broadcasts, build, cols, is_rectangular, pick, rows, PlainGrid, RegValue};
use super::Executor;
use crate::backend::{Backend, CiphertextMeta};
use crate::circuits::polynomial::{ChebyshevSeries, PolynomialEvaluator, PowerSeries};
use crate::plan::layout::scatter;
use crate::plan::{DimSpec, GridDim, Inst, Op, PolySpec, Reg, Trips};

type Shape = (usize, usize);

/// Encodings of one plain register: `(level, scale bits, grid)`.
type Encodings<P> = Vec<(usize, u64, Arc<Grid<P>>)>;

pub(super) struct Machine<'r, 'p, B: Backend> {
    ex: &'r Executor<'p, B>,
    inputs: &'r mut dyn InputSource<B>,
    outputs: &'r mut dyn OutputSink<B>,
    observer: &'r mut dyn Observer<B>,
    regs: Vec<Option<RegValue<B>>>,
    live_cts: usize,
    /// dimension bindings: the top level, then one scope per trip in progress
    dims: Vec<BTreeMap<String, usize>>,
    position: Vec<LoopPos>,
    cache: HashMap<Reg, Encodings<B::Pt>>,
    resume_carried: Option<Vec<RegValue<B>>>,
    report: RunReport,
}

impl<'r, 'p, B: Backend> Machine<'r, 'p, B> {
    pub fn new(
        ex: &'r Executor<'p, B>,
        inputs: &'r mut dyn InputSource<B>,
        outputs: &'r mut dyn OutputSink<B>,
        observer: &'r mut dyn Observer<B>,
    ) -> Self {
        Machine {
            ex,
            inputs,
            outputs,
            observer,
            regs: (0..ex.plan.regs.len()).map(|_| None).collect(),
            live_cts: 0,
            dims: vec![BTreeMap::new()],
            position: Vec::new(),
            cache: HashMap::new(),
            resume_carried: None,
            report: RunReport::default(),
        }
    }

    pub fn run(mut self, from: Option<Checkpoint<B>>) -> Result<RunReport, ExecError> {
        let clock = Instant::now();
        let ex = self.ex;
        let position = match from {
            Some(c) => {
                self.restore(c)?;
                Some(std::mem::take(&mut self.position))
            }
            None => None,
        };
        self.block(&ex.plan.body, &ex.live, "body", position.as_deref())?;
        self.report.seconds = clock.elapsed().as_secs_f64();
        Ok(self.report)
    }

    // ------------------------------------------------------------------ resume

    /// Loads a checkpoint's registers and scopes after checking it against the plan; leaves
    /// its position in `self.position` for [`run`](Self::run) to take.
    fn restore(&mut self, c: Checkpoint<B>) -> Result<(), ExecError> {
        let plan = self.ex.plan;
        let bad = |m: String| ExecError::Resume(m);
        if c.plan != self.ex.plan_id {
            return Err(bad(format!(
                "the checkpoint belongs to plan {} but this is plan {}",
                c.plan, self.ex.plan_id
            )));
        }
        if c.position.is_empty() {
            return Err(bad("the checkpoint has no position".into()));
        }
        // Walk the position: every step must be a loop of its block.
        let mut insts = &plan.body;
        let mut carried_args = 0;
        for (d, pos) in c.position.iter().enumerate() {
            let Some(Inst {
                op: Op::Loop { args, body, .. },
                ..
            }) = insts.get(pos.inst)
            else {
                return Err(bad(format!(
                    "step {d} of the position (instruction {}) is not a loop of this plan",
                    pos.inst
                )));
            };
            carried_args = args.len() - 1;
            insts = body;
        }
        if c.carried.len() != carried_args {
            return Err(bad(format!(
                "{} carried values for a loop that carries {carried_args}",
                c.carried.len()
            )));
        }
        if c.dims.len() != c.position.len() {
            return Err(bad(format!(
                "{} dimension scopes for a position {} loops deep",
                c.dims.len(),
                c.position.len()
            )));
        }
        for (r, v) in c.regs {
            let Some(info) = plan.regs.get(r as usize) else {
                return Err(bad(format!("register r{r} does not exist in this plan")));
            };
            if info.kind != v.kind() {
                return Err(bad(format!(
                    "register r{r} is {:?} in the plan but {:?} in the checkpoint",
                    info.kind,
                    v.kind()
                )));
            }
            self.put(r, v);
        }
        self.dims = c.dims;
        self.resume_carried = Some(c.carried);
        self.position = c.position;
        Ok(())
    }

    // ------------------------------------------------------------------ registers

    fn put(&mut self, r: Reg, v: RegValue<B>) {
        self.live_cts += v.ciphertexts();
        if let Some(old) = self.regs[r as usize].replace(v) {
            self.live_cts -= old.ciphertexts();
        }
        self.report.peak_live_ciphertexts = self.report.peak_live_ciphertexts.max(self.live_cts);
    }

    fn take(&mut self, r: Reg) -> Option<RegValue<B>> {
        self.cache.remove(&r);
        let v = self.regs[r as usize].take();
        if let Some(v) = &v {
            self.live_cts -= v.ciphertexts();
        }
        v
    }

    fn kill(&mut self, rs: &[Reg]) {
        for &r in rs {
            self.take(r);
        }
    }

    fn get(&self, r: Reg, at: &str) -> Result<&RegValue<B>, ExecError> {
        self.regs[r as usize]
            .as_ref()
            .ok_or_else(|| run_err(at, format!("register r{r} holds no value here")))
    }

    fn cipher(&self, r: Reg, at: &str) -> Result<&Grid<B::Ct>, ExecError> {
        match self.get(r, at)? {
            RegValue::Cipher(g) => Ok(g),
            v => Err(run_err(
                at,
                format!("r{r} holds {:?}, not ciphertexts", v.kind()),
            )),
        }
    }

    fn level(&self, r: Reg) -> usize {
        self.ex.plan.regs[r as usize].level.unwrap_or(0)
    }

    fn name(&self, r: Reg) -> String {
        match &self.ex.plan.regs[r as usize].name {
            Some(n) => format!("r{r} (`{n}`)"),
            None => format!("r{r}"),
        }
    }

    /// Defines a ciphertext register after checking every block against the plan: the
    /// declared grid, level and slot count, and the canonical scale of that level (a result
    /// within round-off of it is given it exactly).
    fn define_cipher(&mut self, r: Reg, mut g: Grid<B::Ct>, at: &str) -> Result<(), ExecError> {
        let want = self.declared(r, at)?;
        if (rows(&g), cols(&g)) != want || !is_rectangular(&g) {
            return Err(run_err(
                at,
                format!(
                    "{} should be a {}×{} grid, the result is {}×{}",
                    self.name(r),
                    want.0,
                    want.1,
                    rows(&g),
                    cols(&g)
                ),
            ));
        }
        let level = self.level(r);
        let scale = self.ex.scales.at(level);
        let slots = self.ex.plan.block.slots();
        for ct in g.iter_mut().flatten() {
            if ct.level() != level || ct.slots() != slots {
                return Err(run_err(
                    at,
                    format!(
                        "{} is declared at level {level} with {slots} slots, the result has level {} and {} slots",
                        self.name(r),
                        ct.level(),
                        ct.slots()
                    ),
                ));
            }
            if !self.ex.scales.matches(level, ct.scale()) {
                return Err(run_err(
                    at,
                    format!(
                        "{} has scale {:e}, not the canonical scale {scale:e} of level {level}",
                        self.name(r),
                        ct.scale()
                    ),
                ));
            }
            ct.set_scale(scale);
        }
        self.put(r, RegValue::Cipher(g));
        Ok(())
    }

    /// Defines a plain register: zeroes its padding and refuses non-finite valid slots.
    fn define_plain(&mut self, r: Reg, mut g: PlainGrid, at: &str) -> Result<(), ExecError> {
        let info = &self.ex.plan.regs[r as usize];
        let tensor = match &info.tensor {
            Some((layout, [a, b])) => {
                Some((*layout, [self.dim_spec(a, at)?, self.dim_spec(b, at)?]))
            }
            None => None,
        };
        clean(&mut g, tensor, self.ex.plan.block)
            .map_err(|bad| run_err(at, format!("{}: {bad}", self.name(r))))?;
        self.put(r, RegValue::Plain(g));
        Ok(())
    }

    fn define_scalar(&mut self, r: Reg, v: f64, at: &str) -> Result<(), ExecError> {
        if !v.is_finite() {
            return Err(run_err(at, format!("{} = {v} is not finite", self.name(r))));
        }
        self.put(r, RegValue::Scalar(v));
        Ok(())
    }

    fn define(&mut self, r: Reg, v: RegValue<B>, at: &str) -> Result<(), ExecError> {
        match v {
            RegValue::Cipher(g) => self.define_cipher(r, g, at),
            RegValue::Plain(g) => self.define_plain(r, g, at),
            RegValue::Scalar(x) => self.define_scalar(r, x, at),
        }
    }

    // ------------------------------------------------------------------ dimensions

    fn dim(&self, name: &str) -> Option<usize> {
        self.dims
            .iter()
            .rev()
            .find_map(|s| s.get(name).copied())
            .or_else(|| self.inputs.dim(name))
    }

    fn need_dim(&self, name: &str, at: &str) -> Result<usize, ExecError> {
        self.dim(name).ok_or_else(|| {
            run_err(
                at,
                format!(
                    "dimension `{name}` is not bound (no input gives it and no batch binds it)"
                ),
            )
        })
    }

    fn dim_spec(&self, d: &DimSpec, at: &str) -> Result<usize, ExecError> {
        match d {
            DimSpec::Fixed(n) => Ok(*n),
            DimSpec::Named(name) => self.need_dim(name, at),
        }
    }

    fn grid_dim(&self, g: &GridDim, at: &str) -> Result<usize, ExecError> {
        match g {
            GridDim::Fixed(n) => Ok(*n),
            GridDim::Rows(name) => Ok(self
                .need_dim(name, at)?
                .div_ceil(self.ex.plan.block.s0)
                .max(1)),
        }
    }

    /// The declared grid of `r` under the current bindings.
    fn declared(&self, r: Reg, at: &str) -> Result<Shape, ExecError> {
        let info = &self.ex.plan.regs[r as usize];
        Ok((self.grid_dim(&info.rows, at)?, info.cols))
    }

    /// The result's declared grid, after checking that each operand broadcasts to it.
    fn broadcast_to(&self, out: Reg, operands: &[Shape], at: &str) -> Result<Shape, ExecError> {
        let shape = self.declared(out, at)?;
        for &s in operands {
            if !broadcasts(s, shape) {
                return Err(run_err(
                    at,
                    format!(
                        "a {}×{} operand does not broadcast to the {}×{} grid of {}",
                        s.0,
                        s.1,
                        shape.0,
                        shape.1,
                        self.name(out)
                    ),
                ));
            }
        }
        Ok(shape)
    }

    // ------------------------------------------------------------------ blocks and loops

    fn block(
        &mut self,
        insts: &[Inst],
        live: &BlockLive,
        path: &str,
        resume: Option<&[LoopPos]>,
    ) -> Result<(), ExecError> {
        let start = resume.map_or(0, |r| r[0].inst);
        for (k, inst) in insts.iter().enumerate().skip(start) {
            let mnemonic = inst.op.mnemonic();
            let at = format!("{path}[{k}] {mnemonic}");
            if matches!(inst.op, Op::Loop { .. }) {
                let here = if k == start { resume } else { None };
                self.run_loop(inst, k, live, path, &at, here)?;
            } else {
                let clock = Instant::now();
                let blocks = self.exec(inst, &at)?;
                let elapsed = clock.elapsed();
                self.report.record(mnemonic, blocks, elapsed);
                self.observer.on_op(mnemonic, elapsed);
            }
            self.kill(&live.kills[k]);
        }
        Ok(())
    }

    fn trip_count(&self, trips: &Trips, at: &str) -> Result<u64, ExecError> {
        match trips {
            Trips::Fixed(n) => Ok(*n),
            Trips::Batches { rows, size } => {
                if *size == 0 {
                    return Err(run_err(at, "batches of 0 rows"));
                }
                Ok(self.need_dim(rows, at)?.div_ceil(*size) as u64)
            }
        }
    }

    fn run_loop(
        &mut self,
        inst: &Inst,
        k: usize,
        parent: &BlockLive,
        path: &str,
        at: &str,
        resume: Option<&[LoopPos]>,
    ) -> Result<(), ExecError> {
        let Op::Loop {
            trips,
            args,
            inits,
            body,
            yields,
        } = &inst.op
        else {
            unreachable!("run_loop is called on loops")
        };
        let child = &parent.children[&k];
        let loop_path = format!("{path}[{k}]");
        let body_path = format!("{loop_path}.loop");
        let n = self.trip_count(trips, at)?;
        let once = |list: &[Reg], r: Reg| list.iter().filter(|&&x| x == r).count() == 1;
        let (start, mut carried, mut inner) = match resume {
            None => {
                // An initial value whose last use is this loop (and that the body does not
                // read) moves into the loop; others are copied.
                let mut v = Vec::with_capacity(inits.len());
                for &r in inits {
                    let movable = parent.kills[k].binary_search(&r).is_ok()
                        && !child.free_uses.contains(&r)
                        && once(inits, r);
                    v.push(if movable {
                        self.take(r)
                            .ok_or_else(|| run_err(at, format!("r{r} holds no value here")))?
                    } else {
                        self.get(r, at)?.clone()
                    });
                }
                (0, v, None)
            }
            Some([pos]) => {
                if pos.trip > n {
                    return Err(ExecError::Resume(format!(
                        "{loop_path} has {n} trips, the checkpoint is after {} of them",
                        pos.trip
                    )));
                }
                let c = self
                    .resume_carried
                    .take()
                    .ok_or_else(|| ExecError::Resume("no carried values".into()))?;
                // Passing this boundary again: the observer decides again whether to go on.
                if pos.trip > 0
                    && pos.trip < n
                    && self.stop_after(k, &loop_path, n, pos.trip, &c)?
                {
                    self.define_results(inst, c, &loop_path, at)?;
                    return Ok(());
                }
                (pos.trip, c, None)
            }
            Some([pos, rest @ ..]) => {
                if pos.trip >= n {
                    return Err(ExecError::Resume(format!(
                        "{loop_path} has {n} trips, the checkpoint is inside trip {}",
                        pos.trip
                    )));
                }
                (pos.trip, Vec::new(), Some(rest))
            }
            Some([]) => unreachable!("a position has at least one step"),
        };
        for trip in start..n {
            self.position.push(LoopPos { inst: k, trip });
            self.observer.on_trip(&loop_path, trip, n);
            let inner_resume = if trip == start { inner.take() } else { None };
            if inner_resume.is_none() {
                self.dims.push(BTreeMap::new());
                self.define(args[0], RegValue::Scalar(trip as f64), at)?;
                for (&a, v) in args[1..].iter().zip(carried.drain(..)) {
                    self.define(a, v, at)?;
                }
                self.kill(&child.unused_args);
            }
            self.block(body, child, &body_path, inner_resume)?;
            carried = Vec::with_capacity(yields.len());
            for &y in yields {
                let v = if child.defined.contains(&y) && once(yields, y) {
                    self.take(y)
                } else {
                    self.regs[y as usize].clone()
                };
                carried.push(v.ok_or_else(|| run_err(at, format!("yield r{y} holds no value")))?);
            }
            // Whatever the trip defined dies with it.
            for &r in &child.defined {
                self.take(r);
            }
            self.dims.pop();
            self.position.pop();
            *self.report.trips.entry(loop_path.clone()).or_default() += 1;
            self.position.push(LoopPos {
                inst: k,
                trip: trip + 1,
            });
            let boundary = TripBoundary {
                path: &loop_path,
                position: &self.position,
                trips: n,
                carried: &carried,
                regs: &self.regs,
                dims: &self.dims,
                plan_id: &self.ex.plan_id,
            };
            let verdict = self.observer.on_trip_end(&boundary);
            self.position.pop();
            verdict.map_err(|source| ExecError::Observer {
                at: format!("{loop_path} trip {trip}"),
                source,
            })?;
            if trip + 1 < n && self.stop_after(k, &loop_path, n, trip + 1, &carried)? {
                break;
            }
        }
        self.define_results(inst, carried, &loop_path, at)
    }

    /// A loop's results: the values its last trip yielded.
    fn define_results(
        &mut self,
        inst: &Inst,
        carried: Vec<RegValue<B>>,
        loop_path: &str,
        at: &str,
    ) -> Result<(), ExecError> {
        if carried.len() != inst.results.len() {
            return Err(ExecError::Resume(format!(
                "{loop_path}: {} carried values for {} results",
                carried.len(),
                inst.results.len()
            )));
        }
        for (&r, v) in inst.results.iter().zip(carried) {
            self.define(r, v, at)?;
        }
        Ok(())
    }

    /// Asks the observer, at the boundary after `done` of the `n` trips of the loop
    /// (instruction `k` of its block), whether the loop stops there; refuses a stop that
    /// would leave a batch stream's position wrong (see `stop.rs`).
    fn stop_after(
        &mut self,
        k: usize,
        loop_path: &str,
        n: u64,
        done: u64,
        carried: &[RegValue<B>],
    ) -> Result<bool, ExecError> {
        self.position.push(LoopPos {
            inst: k,
            trip: done,
        });
        let boundary = TripBoundary {
            path: loop_path,
            position: &self.position,
            trips: n,
            carried,
            regs: &self.regs,
            dims: &self.dims,
            plan_id: &self.ex.plan_id,
        };
        let control = self.observer.after_trip(&boundary);
        let refused = match control {
            Ok(TripControl::Break) => stop_refused(self.ex.plan, &self.position),
            _ => None,
        };
        self.position.pop();
        let at = format!("{loop_path} trip {}", done - 1);
        match control {
            Err(source) => Err(ExecError::Observer { at, source }),
            Ok(TripControl::Continue) => Ok(false),
            Ok(TripControl::Break) => match refused {
                Some(why) => Err(run_err(
                    &at,
                    format!(
                        "the observer asked to stop the loop here, but it cannot stop early: {why}"
                    ),
                )),
                None => {
                    tracing::info!(path = loop_path, trips = done, of = n, "loop stopped early");
                    Ok(true)
                }
            },
        }
    }

    // ------------------------------------------------------------------ instructions

    /// Executes one instruction (not a loop); returns the number of blocks it processed.
    fn exec(&mut self, inst: &Inst, at: &str) -> Result<u64, ExecError> {
        let ex = self.ex;
        let b = ex.backend;
        let out = inst.results.first().copied();
        let res = || out.expect("validated: one result");
        match &inst.op {
            Op::Input { name } => self.input(res(), name, at),
            Op::BatchInput { name, dim } => {
                let (grid, n) = self.inputs.next_batch(b, name).at(at)?;
                if n == 0 {
                    return Err(run_err(at, format!("input `{name}`: an empty batch")));
                }
                if let Some(d) = dim {
                    self.dims
                        .last_mut()
                        .expect("the top scope")
                        .insert(d.clone(), n);
                }
                self.secret_input(res(), name, grid, at)
            }
            Op::Const(v) => self.define_scalar(res(), *v, at).map(|_| 1),
            Op::DimValue(name) => {
                let v = self.need_dim(name, at)?;
                self.define_scalar(res(), v as f64, at).map(|_| 1)
            }
            Op::ScalarBin { op, a, b } => {
                let (x, y) = (self.scalar(*a, at)?, self.scalar(*b, at)?);
                self.define_scalar(res(), op.apply(x, y), at).map(|_| 1)
            }
            Op::Fill { value } => {
                let slots = ex.plan.block.slots();
                let g = vec![vec![vec![Complex64::new(*value, 0.0); slots]]];
                self.define_plain(res(), g, at).map(|_| 1)
            }
            Op::Mask(mask) => {
                let g = vec![vec![mask.slots(ex.plan.block)]];
                self.define_plain(res(), g, at).map(|_| 1)
            }
            Op::RowMask { dim } => {
                let n = self.need_dim(dim, at)?;
                let s1 = ex.plan.block.s1;
                let v = (0..ex.plan.block.slots())
                    .map(|j| Complex64::new(if j / s1 < n { 1.0 } else { 0.0 }, 0.0))
                    .collect();
                self.define_plain(res(), vec![vec![v]], at).map(|_| 1)
            }
            Op::PlainBin { op, a, b } => {
                let r = res();
                let (sa, sb) = (self.get(*a, at)?.shape(), self.get(*b, at)?.shape());
                let shape = self.broadcast_to(r, &[sa, sb], at)?;
                let (x, y) = (self.get(*a, at)?, self.get(*b, at)?);
                let slots = ex.plan.block.slots();
                let mut g = Vec::with_capacity(shape.0);
                for i in 0..shape.0 {
                    let mut row = Vec::with_capacity(shape.1);
                    for j in 0..shape.1 {
                        let mut v = Vec::with_capacity(slots);
                        for s in 0..slots {
                            let (p, q) = (slot_of(x, i, j, s), slot_of(y, i, j, s));
                            v.push(slot_op(*op, p, q).ok_or_else(|| {
                                run_err(at, format!("{op:?} of complex values ({p}, {q})"))
                            })?);
                        }
                        row.push(v);
                    }
                    g.push(row);
                }
                self.define_plain(r, g, at)
                    .map(|_| (shape.0 * shape.1) as u64)
            }
            Op::PlainUnary { f, a } => {
                let r = res();
                let RegValue::Plain(x) = self.get(*a, at)? else {
                    return Err(run_err(at, format!("r{a} is not a plain grid")));
                };
                let shape = self.broadcast_to(r, &[(rows(x), cols(x))], at)?;
                let mut g = Vec::with_capacity(shape.0);
                for i in 0..shape.0 {
                    let mut row = Vec::with_capacity(shape.1);
                    for j in 0..shape.1 {
                        let v = pick(x, i, j)
                            .iter()
                            .map(|&z| {
                                slot_fn(*f, z).ok_or_else(|| {
                                    run_err(at, format!("{f:?} of the complex value {z}"))
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        row.push(v);
                    }
                    g.push(row);
                }
                self.define_plain(r, g, at)
                    .map(|_| (shape.0 * shape.1) as u64)
            }
            Op::Trivial { a } => {
                let r = res();
                let level = self.level(r);
                let scale = ex.scales.at(level);
                let src = self.public_grid(*a, at)?;
                let shape = self.broadcast_to(r, &[(rows(&src), cols(&src))], at)?;
                let g = build(shape, |i, j| {
                    b.trivial(&b.encode(pick::<Vec<Complex64>>(&src, i, j), level, scale)?)
                })
                .at(at)?;
                self.define_cipher(r, g, at).map(|_| blocks(shape))
            }
            Op::Add { a, b: y } | Op::Sub { a, b: y } => {
                let sub = matches!(inst.op, Op::Sub { .. });
                self.binary(res(), *a, *y, at, |x, y| {
                    if sub {
                        b.sub(x, y)
                    } else {
                        b.add(x, y)
                    }
                })
            }
            Op::Mul { a, b: y } => self.binary(res(), *a, *y, at, |x, y| b.mul_relin_rescale(x, y)),
            Op::Neg { a } => self.unary(res(), *a, at, |x| b.neg(x)),
            Op::MulInteger { a, k } => self.unary(res(), *a, at, |x| b.mul_integer(x, *k)),
            Op::MulI { a } => self.unary(res(), *a, at, |x| b.mul_by_i(x)),
            Op::Conjugate { a } => self.unary(res(), *a, at, |x| b.conjugate(x)),
            Op::Rotate { a, steps } => self.unary(res(), *a, at, |x| b.rotate(x, *steps)),
            Op::RotateHoisted { a, steps } => {
                let x = self.cipher(*a, at)?;
                let shape = (rows(x), cols(x));
                let per_block = build(shape, |i, j| b.rotate_hoisted(&x[i][j], steps)).at(at)?;
                let mut grids: Vec<Grid<B::Ct>> = (0..steps.len())
                    .map(|_| (0..shape.0).map(|_| Vec::with_capacity(shape.1)).collect())
                    .collect();
                for (i, row) in per_block.into_iter().enumerate() {
                    for rotations in row {
                        for (t, ct) in rotations.into_iter().enumerate() {
                            grids[t][i].push(ct);
                        }
                    }
                }
                for (&r, g) in inst.results.iter().zip(grids) {
                    self.define_cipher(r, g, at)?;
                }
                Ok(blocks(shape))
            }
            Op::AddPlain { a, p } => self.with_plain(res(), *a, *p, false, at, |x, pt| match pt {
                Public::Pt(pt) => b.add_plain(x, pt),
                Public::Scalar(c) => b.add_const(x, c),
            }),
            Op::SubPlain { a, p, reverse } => {
                let reverse = *reverse;
                self.with_plain(res(), *a, *p, false, at, |x, pt| match (pt, reverse) {
                    (Public::Pt(pt), false) => b.sub_plain(x, pt),
                    (Public::Scalar(c), false) => b.add_const(x, -c),
                    (Public::Pt(pt), true) => b.add_plain(&b.neg(x)?, pt),
                    (Public::Scalar(c), true) => b.add_const(&b.neg(x)?, c),
                })
            }
            Op::MulPlain { a, p } => {
                let l = self.level(*a);
                let scale = ex.scales.mul_plain_scale(l);
                self.with_plain(res(), *a, *p, true, at, |x, pt| match pt {
                    Public::Pt(pt) => b.rescale(&b.mul_plain(x, pt)?),
                    Public::Scalar(c) => b.rescale(&b.mul_const_with_scale(x, c, scale)?),
                })
            }
            Op::LevelDown { a } => {
                let (from, to) = (self.level(*a), self.level(res()));
                let c = ex.scales.level_down_scale(from, to);
                self.unary(res(), *a, at, |x| {
                    let dropped;
                    let x = if from > to + 1 {
                        dropped = b.drop_to_level(x, to + 1)?;
                        &dropped
                    } else {
                        x
                    };
                    b.rescale(&b.mul_const_with_scale(x, 1.0, c)?)
                })
            }
            Op::Poly { a, poly } => {
                let r = res();
                let target = ex.scales.at(self.level(r));
                let pe = PolynomialEvaluator::new(b);
                match poly {
                    PolySpec::Chebyshev {
                        coeffs,
                        a: lo,
                        b: hi,
                    } => {
                        let series = ChebyshevSeries::new(coeffs.clone(), *lo, *hi);
                        self.unary(r, *a, at, |x| pe.evaluate_chebyshev(x, &series, target))
                    }
                    PolySpec::Power { coeffs } => {
                        let series = PowerSeries::new(coeffs.clone());
                        self.unary(r, *a, at, |x| pe.evaluate_power(x, &series, target))
                    }
                }
            }
            Op::Bootstrap { a } => {
                let r = res();
                let boot = ex.bootstrapper.ok_or_else(|| {
                    run_err(at, "no bootstrapper (checked when the executor was built)")
                })?;
                let target = self.level(r);
                let scale = ex.scales.at(target);
                let x = self.cipher(*a, at)?;
                let shape = self.broadcast_to(r, &[(rows(x), cols(x))], at)?;
                // One at a time: a bootstrap is parallel inside and large in memory.
                let mut g = Vec::with_capacity(shape.0);
                for i in 0..shape.0 {
                    let mut row = Vec::with_capacity(shape.1);
                    for j in 0..shape.1 {
                        row.push(
                            boot.bootstrap_to_scale(pick(x, i, j), target, scale)
                                .at(at)?,
                        );
                    }
                    g.push(row);
                }
                self.report.bootstraps += blocks(shape);
                self.define_cipher(r, g, at).map(|_| blocks(shape))
            }
            Op::SumBlocks { a, axis } => {
                let r = res();
                let x = self.cipher(*a, at)?;
                let (n, m) = (rows(x), cols(x));
                let shape = if *axis == 0 { (1, m) } else { (n, 1) };
                let want = self.declared(r, at)?;
                if want != shape {
                    return Err(run_err(
                        at,
                        format!(
                            "the sum of a {n}×{m} grid along axis {axis} is {}×{}, {} is declared {}×{}",
                            shape.0, shape.1, self.name(r), want.0, want.1
                        ),
                    ));
                }
                let g = build(shape, |i, j| {
                    let terms: Vec<&B::Ct> = if *axis == 0 {
                        (0..n).map(|k| &x[k][j]).collect()
                    } else {
                        (0..m).map(|k| &x[i][k]).collect()
                    };
                    let mut acc = terms[0].clone();
                    for t in &terms[1..] {
                        b.add_assign(&mut acc, t)?;
                    }
                    Ok::<_, crate::ckks::CkksError>(acc)
                })
                .at(at)?;
                self.define_cipher(r, g, at).map(|_| (n * m) as u64)
            }
            Op::SplitBlocks { a } => {
                let x = self.cipher(*a, at)?;
                let parts: Vec<B::Ct> = x.iter().flatten().cloned().collect();
                if parts.len() != inst.results.len() {
                    return Err(run_err(
                        at,
                        format!(
                            "split_blocks of a {}×{} grid into {} registers",
                            rows(x),
                            cols(x),
                            inst.results.len()
                        ),
                    ));
                }
                for (&r, ct) in inst.results.iter().zip(parts) {
                    self.define_cipher(r, vec![vec![ct]], at)?;
                }
                Ok(0)
            }
            Op::JoinBlocks { parts } => {
                let r = res();
                let (n, m) = self.declared(r, at)?;
                if parts.len() != n * m {
                    return Err(run_err(
                        at,
                        format!(
                            "join_blocks of {} parts into the {n}×{m} grid of {}",
                            parts.len(),
                            self.name(r)
                        ),
                    ));
                }
                let mut g: Grid<B::Ct> = Vec::with_capacity(n);
                for i in 0..n {
                    let mut row = Vec::with_capacity(m);
                    for &p in &parts[i * m..(i + 1) * m] {
                        let x = self.cipher(p, at)?;
                        if (rows(x), cols(x)) != (1, 1) {
                            return Err(run_err(
                                at,
                                format!("join_blocks part {} is not one block", self.name(p)),
                            ));
                        }
                        row.push(x[0][0].clone());
                    }
                    g.push(row);
                }
                self.define_cipher(r, g, at).map(|_| 0)
            }
            Op::Output { name, value } => {
                let trips: Vec<u64> = self.position.iter().map(|p| p.trip).collect();
                self.get(*value, at)?;
                // Field by field: the register is read while the sink is written.
                let blocks = match self.regs[*value as usize].as_ref().expect("checked") {
                    RegValue::Cipher(g) => {
                        self.outputs.output(b, name, &trips, g).at(at)?;
                        (rows(g) * cols(g)) as u64
                    }
                    _ => {
                        // Public outputs travel as trivial ciphertexts at level 0.
                        let src = self.public_grid(*value, at)?;
                        let scale = ex.scales.at(0);
                        let g = build((rows(&src), cols(&src)), |i, j| {
                            b.trivial(&b.encode(&src[i][j], 0, scale)?)
                        })
                        .at(at)?;
                        self.outputs.output(b, name, &trips, &g).at(at)?;
                        (rows(&g) * cols(&g)) as u64
                    }
                };
                self.report.outputs += 1;
                Ok(blocks)
            }
            Op::Loop { .. } => unreachable!("loops run in run_loop"),
        }
    }

    fn scalar(&self, r: Reg, at: &str) -> Result<f64, ExecError> {
        match self.get(r, at)? {
            RegValue::Scalar(v) => Ok(*v),
            v => Err(run_err(
                at,
                format!("r{r} holds {:?}, not a scalar", v.kind()),
            )),
        }
    }

    /// A public register as a plain grid (a scalar fills one block).
    fn public_grid(&self, r: Reg, at: &str) -> Result<PlainGrid, ExecError> {
        match self.get(r, at)? {
            RegValue::Plain(g) => Ok(g.clone()),
            RegValue::Scalar(v) => Ok(vec![vec![vec![
                Complex64::new(*v, 0.0);
                self.ex.plan.block.slots()
            ]]]),
            RegValue::Cipher(_) => Err(run_err(at, format!("r{r} is secret, not public"))),
        }
    }

    /// A whole input, secret or public.
    fn input(&mut self, r: Reg, name: &str, at: &str) -> Result<u64, ExecError> {
        let ex = self.ex;
        let spec = ex
            .plan
            .inputs
            .iter()
            .find(|i| i.name == name)
            .expect("validated: the input exists");
        if spec.secret {
            let grid = self.inputs.secret(ex.backend, name).at(at)?;
            return self.secret_input(r, name, grid, at);
        }
        let (data, [n, m]) = self.inputs.public(name).at(at)?;
        if data.len() != n * m {
            return Err(run_err(
                at,
                format!(
                    "public input `{name}`: {} values for a {n}×{m} tensor",
                    data.len()
                ),
            ));
        }
        for (axis, (d, got)) in spec.shape.iter().zip([n, m]).enumerate() {
            match d {
                DimSpec::Fixed(want) if *want != got => {
                    return Err(run_err(
                        at,
                        format!("public input `{name}` has {got} along axis {axis}, the plan expects {want}"),
                    ))
                }
                DimSpec::Named(dim) => match self.dim(dim) {
                    Some(want) if want != got => {
                        return Err(run_err(
                            at,
                            format!("public input `{name}` has {got} along axis {axis}, but `{dim}` = {want}"),
                        ))
                    }
                    Some(_) => {}
                    None => {
                        self.dims[0].insert(dim.clone(), got);
                    }
                },
                _ => {}
            }
        }
        if let Some(k) = data.iter().position(|v| !v.is_finite()) {
            return Err(run_err(
                at,
                format!(
                    "public input `{name}`: the value {} at element [{}, {}] is not finite",
                    data[k],
                    k / m.max(1),
                    k % m.max(1)
                ),
            ));
        }
        let g: PlainGrid = scatter(&data, n, m, spec.layout, ex.plan.block)
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|v| v.into_iter().map(|x| Complex64::new(x, 0.0)).collect())
                    .collect()
            })
            .collect();
        let shape = (rows(&g), cols(&g));
        let want = self.declared(r, at)?;
        if shape != want {
            return Err(run_err(
                at,
                format!(
                    "public input `{name}` lays out as {}×{} blocks, {} is declared {}×{}",
                    shape.0,
                    shape.1,
                    self.name(r),
                    want.0,
                    want.1
                ),
            ));
        }
        self.define_plain(r, g, at).map(|_| blocks(shape))
    }

    /// A secret grid from the data owner: its ciphertexts must be at the input's level and
    /// canonical scale (within 1e-9 relative, then given it exactly).
    fn secret_input(
        &mut self,
        r: Reg,
        name: &str,
        mut grid: Grid<B::Ct>,
        at: &str,
    ) -> Result<u64, ExecError> {
        let level = self.level(r);
        let scale = self.ex.scales.at(level);
        for ct in grid.iter_mut().flatten() {
            if ct.level() != level {
                return Err(run_err(
                    at,
                    format!("input `{name}` is encrypted at level {}, the plan reads it at level {level}", ct.level()),
                ));
            }
            if (ct.scale() / scale - 1.0).abs() > 1e-9 {
                return Err(run_err(
                    at,
                    format!(
                        "input `{name}` is encrypted at scale {:e}, not the canonical scale {scale:e} of level {level}",
                        ct.scale()
                    ),
                ));
            }
            ct.set_scale(scale);
        }
        let n = (rows(&grid) * cols(&grid)) as u64;
        self.define_cipher(r, grid, at)?;
        Ok(n)
    }

    /// The encodings of plain register `p` at `level` and `scale`, from the cache.
    fn encoded(
        &mut self,
        p: Reg,
        level: usize,
        scale: f64,
        at: &str,
    ) -> Result<Arc<Grid<B::Pt>>, ExecError> {
        if let Some((_, _, g)) = self.cache.get(&p).and_then(|v| {
            v.iter()
                .find(|(l, s, _)| *l == level && *s == scale.to_bits())
        }) {
            return Ok(g.clone());
        }
        let b = self.ex.backend;
        let RegValue::Plain(x) = self.get(p, at)? else {
            return Err(run_err(at, format!("r{p} is not a plain grid")));
        };
        let g =
            Arc::new(build((rows(x), cols(x)), |i, j| b.encode(&x[i][j], level, scale)).at(at)?);
        self.cache
            .entry(p)
            .or_default()
            .push((level, scale.to_bits(), g.clone()));
        Ok(g)
    }

    /// A blockwise operation of a ciphertext grid and a public operand: a plain grid encoded
    /// at the ciphertext's level (at `S_l`, or for a product at `mul_plain_scale`), or a
    /// scalar.
    fn with_plain(
        &mut self,
        r: Reg,
        a: Reg,
        p: Reg,
        product: bool,
        at: &str,
        f: impl Fn(&B::Ct, Public<'_, B>) -> Result<B::Ct, crate::ckks::CkksError> + Sync,
    ) -> Result<u64, ExecError> {
        let level = self.level(a);
        let scale = if product {
            self.ex.scales.mul_plain_scale(level)
        } else {
            self.ex.scales.at(level)
        };
        let pts = match self.get(p, at)? {
            RegValue::Plain(_) => Some(self.encoded(p, level, scale, at)?),
            _ => None,
        };
        let scalar = match self.get(p, at)? {
            RegValue::Scalar(v) => *v,
            _ => 0.0,
        };
        let x = self.cipher(a, at)?;
        let ps = pts.as_ref().map_or((1, 1), |g| (rows(g), cols(g)));
        let shape = self.broadcast_to(r, &[(rows(x), cols(x)), ps], at)?;
        let g = build(shape, |i, j| {
            let public = match &pts {
                Some(g) => Public::Pt(pick(g, i, j)),
                None => Public::Scalar(scalar),
            };
            f(pick(x, i, j), public)
        })
        .at(at)?;
        self.define_cipher(r, g, at).map(|_| blocks(shape))
    }

    fn unary(
        &mut self,
        r: Reg,
        a: Reg,
        at: &str,
        f: impl Fn(&B::Ct) -> Result<B::Ct, crate::ckks::CkksError> + Sync,
    ) -> Result<u64, ExecError> {
        let x = self.cipher(a, at)?;
        let shape = self.broadcast_to(r, &[(rows(x), cols(x))], at)?;
        let g = build(shape, |i, j| f(pick(x, i, j))).at(at)?;
        self.define_cipher(r, g, at).map(|_| blocks(shape))
    }

    fn binary(
        &mut self,
        r: Reg,
        a: Reg,
        c: Reg,
        at: &str,
        f: impl Fn(&B::Ct, &B::Ct) -> Result<B::Ct, crate::ckks::CkksError> + Sync,
    ) -> Result<u64, ExecError> {
        let (x, y) = (self.cipher(a, at)?, self.cipher(c, at)?);
        let shape = self.broadcast_to(r, &[(rows(x), cols(x)), (rows(y), cols(y))], at)?;
        let g = build(shape, |i, j| f(pick(x, i, j), pick(y, i, j))).at(at)?;
        self.define_cipher(r, g, at).map(|_| blocks(shape))
    }
}

/// The public operand of one block.
enum Public<'a, B: Backend> {
    Pt(&'a B::Pt),
    Scalar(f64),
}

fn blocks(shape: Shape) -> u64 {
    (shape.0 * shape.1) as u64
}

/// Slot `s` of block `(i, j)` of a public operand (broadcast), or the scalar.
fn slot_of<B: Backend>(v: &RegValue<B>, i: usize, j: usize, s: usize) -> Complex64 {
    match v {
        RegValue::Plain(g) => pick(g, i, j)[s],
        RegValue::Scalar(x) => Complex64::new(*x, 0.0),
        RegValue::Cipher(_) => unreachable!("validated: public operands"),
    }
}
