//! A plaintext evaluator of plans on complex slot vectors: every ciphertext op exactly, no
//! noise, bootstraps and level drops the identity. It checks that the compiler's layouts,
//! kernels and schedule compute what the program means, independently of CKKS; the executor
//! on the simulator backend checks the rest.

#![allow(dead_code)]

use blindtune_runtime::circuits::polynomial::{ChebyshevSeries, PowerSeries};
use blindtune_runtime::plan::layout::{gather, scatter};
use blindtune_runtime::plan::{DimSpec, GridDim, Inst, Op, Plan, PolySpec, RegKind, Trips};
use num_complex::Complex64 as C;
use std::collections::{BTreeMap, HashMap, VecDeque};

#[derive(Clone, Debug)]
enum Val {
    Grid(Vec<Vec<Vec<C>>>),
    Scalar(f64),
}

pub struct SlotEval<'p> {
    plan: &'p Plan,
    regs: Vec<Option<Val>>,
    dims: HashMap<String, usize>,
    inputs: BTreeMap<String, (Vec<f64>, [usize; 2])>,
    queues: HashMap<String, VecDeque<(Vec<f64>, usize)>>,
    pub outputs: BTreeMap<String, Vec<Vec<f64>>>,
}

impl<'p> SlotEval<'p> {
    /// `inputs`: row-major tensors with their `[rows, cols]`.
    pub fn new(plan: &'p Plan, inputs: BTreeMap<String, (Vec<f64>, [usize; 2])>) -> Self {
        let mut dims = HashMap::new();
        for spec in &plan.inputs {
            if let Some((_, shape)) = inputs.get(&spec.name) {
                for (k, d) in spec.shape.iter().enumerate() {
                    if let DimSpec::Named(n) = d {
                        dims.insert(n.clone(), shape[k]);
                    }
                }
            }
        }
        let queues = super::streams::streams(plan, &inputs);
        SlotEval {
            plan,
            regs: vec![None; plan.regs.len()],
            dims,
            inputs,
            queues,
            outputs: BTreeMap::new(),
        }
    }

    pub fn run(&mut self) {
        let body = self.plan.body.clone();
        self.block(&body);
    }

    fn grid(&self, r: u32) -> &Vec<Vec<Vec<C>>> {
        match self.regs[r as usize]
            .as_ref()
            .unwrap_or_else(|| panic!("r{r} undefined"))
        {
            Val::Grid(g) => g,
            Val::Scalar(_) => panic!("r{r} is a scalar"),
        }
    }

    fn scalar(&self, r: u32) -> f64 {
        match self.regs[r as usize].as_ref().unwrap() {
            Val::Scalar(s) => *s,
            _ => panic!("r{r} is not a scalar"),
        }
    }

    fn operand_grid(&self, r: u32) -> Vec<Vec<Vec<C>>> {
        match self.regs[r as usize].as_ref().unwrap() {
            Val::Grid(g) => g.clone(),
            Val::Scalar(s) => vec![vec![vec![C::new(*s, 0.0); self.plan.block.slots()]]],
        }
    }

    fn zip(&self, a: u32, b: u32, f: impl Fn(C, C) -> C) -> Vec<Vec<Vec<C>>> {
        let (x, y) = (self.operand_grid(a), self.operand_grid(b));
        let rows = x.len().max(y.len());
        let cols = x[0].len().max(y[0].len());
        (0..rows)
            .map(|i| {
                (0..cols)
                    .map(|j| {
                        let u = &x[i.min(x.len() - 1)][j.min(x[0].len() - 1)];
                        let v = &y[i.min(y.len() - 1)][j.min(y[0].len() - 1)];
                        u.iter().zip(v).map(|(p, q)| f(*p, *q)).collect()
                    })
                    .collect()
            })
            .collect()
    }

    fn map(&self, a: u32, f: impl Fn(&[C]) -> Vec<C>) -> Vec<Vec<Vec<C>>> {
        self.grid(a)
            .iter()
            .map(|row| row.iter().map(|b| f(b)).collect())
            .collect()
    }

    fn set(&mut self, r: u32, v: Val) {
        self.regs[r as usize] = Some(v);
    }

    fn rot(v: &[C], k: i64) -> Vec<C> {
        let n = v.len() as i64;
        (0..n)
            .map(|j| v[((j + k).rem_euclid(n)) as usize])
            .collect()
    }

    fn block(&mut self, insts: &[Inst]) {
        for inst in insts {
            self.inst(inst);
        }
    }

    fn inst(&mut self, inst: &Inst) {
        let block = self.plan.block;
        let r0 = inst.results.first().copied();
        match &inst.op {
            Op::Input { name } => {
                let spec = self.plan.inputs.iter().find(|i| &i.name == name).unwrap();
                let (data, shape) = &self.inputs[name];
                let g = scatter(data, shape[0], shape[1], spec.layout, block);
                let g = g
                    .into_iter()
                    .map(|row| {
                        row.into_iter()
                            .map(|b| b.into_iter().map(|x| C::new(x, 0.0)).collect())
                            .collect()
                    })
                    .collect();
                self.set(r0.unwrap(), Val::Grid(g));
            }
            Op::BatchInput { name, dim } => {
                let spec = self.plan.inputs.iter().find(|i| &i.name == name).unwrap();
                let (data, rows) = self
                    .queues
                    .get_mut(name)
                    .unwrap()
                    .pop_front()
                    .expect("batches left");
                let cols = self.inputs[name].1[1];
                let mut g = scatter(&data, rows, cols, spec.layout, block);
                let want = match &self.plan.regs[r0.unwrap() as usize].rows {
                    GridDim::Fixed(n) => *n,
                    _ => g.len(),
                };
                while g.len() < want {
                    g.push(vec![vec![0.0; block.slots()]; g[0].len()]);
                }
                let g = g
                    .into_iter()
                    .map(|row| {
                        row.into_iter()
                            .map(|b| b.into_iter().map(|x| C::new(x, 0.0)).collect())
                            .collect()
                    })
                    .collect();
                if let Some(d) = dim {
                    self.dims.insert(d.clone(), rows);
                }
                self.set(r0.unwrap(), Val::Grid(g));
            }
            Op::Const(c) => self.set(r0.unwrap(), Val::Scalar(*c)),
            Op::DimValue(d) => {
                let v = *self
                    .dims
                    .get(d)
                    .unwrap_or_else(|| panic!("dim {d} unbound"));
                self.set(r0.unwrap(), Val::Scalar(v as f64))
            }
            Op::ScalarBin { op, a, b } => {
                let v = op.apply(self.scalar(*a), self.scalar(*b));
                self.set(r0.unwrap(), Val::Scalar(v))
            }
            Op::Fill { value } => self.set(
                r0.unwrap(),
                Val::Grid(vec![vec![vec![C::new(*value, 0.0); block.slots()]]]),
            ),
            Op::Mask(m) => self.set(r0.unwrap(), Val::Grid(vec![vec![m.slots(block)]])),
            Op::RowMask { dim } => {
                let n = self.dims[dim];
                let v = (0..block.slots())
                    .map(|j| C::new(((j / block.s1) < n) as u8 as f64, 0.0))
                    .collect();
                self.set(r0.unwrap(), Val::Grid(vec![vec![v]]))
            }
            Op::PlainBin { op, a, b } => {
                let op = *op;
                let mut g = self.zip(*a, *b, |x, y| C::new(op.apply(x.re, y.re), 0.0));
                // padding of public tensors is zeroed (as the executor does)
                if let Some((layout, shape)) = &self.plan.regs[r0.unwrap() as usize].tensor {
                    zero_padding(&mut g, layout, shape, &self.dims, block);
                }
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::PlainUnary { f, a } => {
                let f = *f;
                let mut g = self.map(*a, |b| {
                    b.iter().map(|x| C::new(f.apply(x.re), 0.0)).collect()
                });
                if let Some((layout, shape)) = &self.plan.regs[r0.unwrap() as usize].tensor {
                    zero_padding(&mut g, layout, shape, &self.dims, block);
                }
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::Trivial { a } => {
                let g = self.operand_grid(*a);
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::Add { a, b } | Op::AddPlain { a, p: b } => {
                let g = self.zip(*a, *b, |x, y| x + y);
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::Sub { a, b } => {
                let g = self.zip(*a, *b, |x, y| x - y);
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::SubPlain { a, p, reverse } => {
                let g = if *reverse {
                    self.zip(*a, *p, |x, y| y - x)
                } else {
                    self.zip(*a, *p, |x, y| x - y)
                };
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::Mul { a, b } | Op::MulPlain { a, p: b } => {
                let g = self.zip(*a, *b, |x, y| x * y);
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::Neg { a } => {
                let g = self.map(*a, |b| b.iter().map(|x| -x).collect());
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::MulInteger { a, k } => {
                let k = *k as f64;
                let g = self.map(*a, |b| b.iter().map(|x| x * k).collect());
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::MulI { a } => {
                let g = self.map(*a, |b| b.iter().map(|x| x * C::new(0.0, 1.0)).collect());
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::Conjugate { a } => {
                let g = self.map(*a, |b| b.iter().map(|x| x.conj()).collect());
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::Rotate { a, steps } => {
                let s = *steps;
                let g = self.map(*a, |b| Self::rot(b, s));
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::RotateHoisted { a, steps } => {
                for (k, &s) in steps.iter().enumerate() {
                    let g = self.map(*a, |b| Self::rot(b, s));
                    self.set(inst.results[k], Val::Grid(g));
                }
            }
            Op::LevelDown { a } | Op::Bootstrap { a } => {
                let g = self.grid(*a).clone();
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::Poly { a, poly } => {
                let poly = poly.clone();
                let g = self.map(*a, |b| {
                    b.iter()
                        .map(|x| match &poly {
                            PolySpec::Chebyshev { coeffs, a, b } => {
                                ChebyshevSeries::new(coeffs.clone(), *a, *b).eval_complex(*x)
                            }
                            PolySpec::Power { coeffs } => {
                                PowerSeries::new(coeffs.clone()).eval_complex(*x)
                            }
                        })
                        .collect()
                });
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::SumBlocks { a, axis } => {
                let g = self.grid(*a).clone();
                let out = if *axis == 0 {
                    let mut acc = g[0].clone();
                    for row in &g[1..] {
                        for (j, b) in row.iter().enumerate() {
                            for (x, y) in acc[j].iter_mut().zip(b) {
                                *x += y;
                            }
                        }
                    }
                    vec![acc]
                } else {
                    g.iter()
                        .map(|row| {
                            let mut acc = row[0].clone();
                            for b in &row[1..] {
                                for (x, y) in acc.iter_mut().zip(b) {
                                    *x += y;
                                }
                            }
                            vec![acc]
                        })
                        .collect()
                };
                self.set(r0.unwrap(), Val::Grid(out))
            }
            Op::SplitBlocks { a } => {
                let blocks: Vec<Vec<C>> = self.grid(*a).iter().flatten().cloned().collect();
                assert_eq!(blocks.len(), inst.results.len(), "split_blocks results");
                for (&r, b) in inst.results.iter().zip(blocks) {
                    self.set(r, Val::Grid(vec![vec![b]]));
                }
            }
            Op::JoinBlocks { parts } => {
                let cols = self.plan.regs[r0.unwrap() as usize].cols;
                let blocks: Vec<Vec<C>> = parts
                    .iter()
                    .map(|&p| {
                        let g = self.grid(p);
                        assert_eq!((g.len(), g[0].len()), (1, 1), "join_blocks part");
                        g[0][0].clone()
                    })
                    .collect();
                let g = blocks.chunks(cols).map(|c| c.to_vec()).collect();
                self.set(r0.unwrap(), Val::Grid(g))
            }
            Op::Loop {
                trips,
                args,
                inits,
                body,
                yields,
            } => {
                let n = match trips {
                    Trips::Fixed(n) => *n,
                    Trips::Batches { rows, size } => {
                        (self.dims[rows] as u64).div_ceil(*size as u64)
                    }
                };
                let mut carried: Vec<Val> = inits
                    .iter()
                    .map(|&i| self.regs[i as usize].clone().unwrap())
                    .collect();
                for t in 0..n {
                    self.set(args[0], Val::Scalar(t as f64));
                    for (k, v) in carried.iter().enumerate() {
                        self.set(args[k + 1], v.clone());
                    }
                    self.block(body);
                    carried = yields
                        .iter()
                        .map(|&y| self.regs[y as usize].clone().unwrap())
                        .collect();
                }
                for (k, v) in carried.into_iter().enumerate() {
                    self.set(inst.results[k], v);
                }
            }
            Op::Output { name, value } => {
                let spec = self.plan.outputs.iter().find(|o| &o.name == name).unwrap();
                let rows = match &spec.shape[0] {
                    DimSpec::Fixed(n) => *n,
                    DimSpec::Named(d) => self.dims[d],
                };
                let cols = match &spec.shape[1] {
                    DimSpec::Fixed(n) => *n,
                    DimSpec::Named(d) => self.dims[d],
                };
                let g: Vec<Vec<Vec<f64>>> = self
                    .operand_grid(*value)
                    .iter()
                    .map(|row| {
                        row.iter()
                            .map(|b| b.iter().map(|x| x.re).collect())
                            .collect()
                    })
                    .collect();
                let v = gather(&g, rows, cols, spec.layout, block);
                self.outputs.entry(name.clone()).or_default().push(v);
            }
        }
        let _ = RegKind::Cipher;
    }
}

fn zero_padding(
    g: &mut [Vec<Vec<C>>],
    layout: &blindtune_runtime::plan::Layout,
    shape: &[DimSpec; 2],
    dims: &HashMap<String, usize>,
    block: blindtune_runtime::plan::BlockShape,
) {
    let len = |d: &DimSpec| match d {
        DimSpec::Fixed(n) => Some(*n),
        DimSpec::Named(s) => dims.get(s).copied(),
    };
    let (Some(r), Some(c)) = (len(&shape[0]), len(&shape[1])) else {
        return;
    };
    for (bi, row) in g.iter_mut().enumerate() {
        for (bj, b) in row.iter_mut().enumerate() {
            for p in 0..block.s0 {
                for q in 0..block.s1 {
                    let ok = layout.rows.index(r, block.s0, bi, p).is_some()
                        && layout.cols.index(c, block.s1, bj, q).is_some();
                    if !ok || !b[p * block.s1 + q].re.is_finite() {
                        if !ok {
                            b[p * block.s1 + q] = C::new(0.0, 0.0);
                        }
                    }
                }
            }
        }
    }
}
