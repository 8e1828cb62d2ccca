//! The e-graph optimizer keeps every program's meaning: a slot-vector evaluator (blockwise ops
//! on complex vectors, cyclic rotations, masks by their rules) runs the CKKS stage before and
//! after `opt::optimize` on seeded random inputs, and every observable value (outputs, loop
//! inits, yields, in order) must agree within 1e-9 relative. Loop bodies run one trip with
//! random carried values, so each straight-line block is checked on its own live-ins.

mod common;
use blindtune_compiler::ir::ckks::{self, CkksProgram, RegFacts};
use blindtune_compiler::ir::{layout, tensor};
use blindtune_compiler::opt::{self, OptOptions};
use blindtune_compiler::types;
use blindtune_runtime::plan::{
    BlockShape, GridDim, Inst, Mask, Op, PlainFn, PolySpec, Reg, RegInfo, RegKind, ScalarOp,
};
use num_complex::Complex64 as C;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::time::Duration;

#[derive(Clone, Debug)]
enum V {
    Scalar(f64),
    Grid {
        rows: usize,
        cols: usize,
        blocks: Vec<Vec<C>>,
    },
}

struct Eval<'p> {
    prog: &'p CkksProgram,
    seed: u64,
    vals: HashMap<Reg, V>,
    obs: Vec<(String, V)>,
    dims: HashMap<String, usize>,
}

fn rng_for(seed: u64, tag: &str) -> ChaCha8Rng {
    let mut h: u64 = seed ^ 0x9e37_79b9_7f4a_7c15;
    for b in tag.bytes() {
        h = h.wrapping_mul(0x100_0000_01b3).wrapping_add(b as u64);
    }
    ChaCha8Rng::seed_from_u64(h)
}

impl<'p> Eval<'p> {
    fn slots(&self) -> usize {
        self.prog.block.slots()
    }

    fn rows(&self, g: &GridDim) -> usize {
        match g {
            GridDim::Fixed(n) => *n,
            GridDim::Rows(name) => self
                .prog
                .assumed_dims
                .get(name)
                .map(|v| v.div_ceil(self.prog.block.s0).max(1))
                .unwrap_or(2)
                .min(3),
        }
    }

    /// Random blocks: secret (complex) values in a small box, so that the programs' polynomial
    /// and Goldschmidt steps stay in their domains; public ones in `[0.5, 1.5]` (away from 0,
    /// they are divided by).
    fn random(&self, info: &RegInfo, tag: &str, complex: bool) -> V {
        let mut rng = rng_for(self.seed, tag);
        let (lo, hi, amp) = if complex {
            (-1.0, 1.0, 0.05)
        } else {
            (0.5, 1.5, 1.0)
        };
        let (rows, cols) = (self.rows(&info.rows), info.cols);
        let n = self.slots();
        let blocks = (0..rows * cols)
            .map(|_| {
                (0..n)
                    .map(|_| {
                        let re = amp * rng.gen_range(lo..hi);
                        let im = if complex {
                            amp * rng.gen_range(-1.0..1.0)
                        } else {
                            0.0
                        };
                        C::new(re, im)
                    })
                    .collect()
            })
            .collect();
        V::Grid { rows, cols, blocks }
    }

    fn get(&self, r: Reg) -> &V {
        self.vals
            .get(&r)
            .unwrap_or_else(|| panic!("%{r} read before it is defined"))
    }

    fn grid1(&self, v: Vec<C>) -> V {
        V::Grid {
            rows: 1,
            cols: 1,
            blocks: vec![v],
        }
    }

    /// Blockwise binary operation with broadcasting (scalars broadcast to every slot).
    fn bin(&self, a: &V, b: &V, f: impl Fn(C, C) -> C) -> V {
        match (a, b) {
            (V::Scalar(x), V::Scalar(y)) => V::Scalar(f(C::new(*x, 0.0), C::new(*y, 0.0)).re),
            (V::Grid { rows, cols, blocks }, V::Scalar(y)) => V::Grid {
                rows: *rows,
                cols: *cols,
                blocks: blocks
                    .iter()
                    .map(|b| b.iter().map(|x| f(*x, C::new(*y, 0.0))).collect())
                    .collect(),
            },
            (V::Scalar(x), V::Grid { rows, cols, blocks }) => V::Grid {
                rows: *rows,
                cols: *cols,
                blocks: blocks
                    .iter()
                    .map(|b| b.iter().map(|y| f(C::new(*x, 0.0), *y)).collect())
                    .collect(),
            },
            (
                V::Grid {
                    rows: r1,
                    cols: c1,
                    blocks: b1,
                },
                V::Grid {
                    rows: r2,
                    cols: c2,
                    blocks: b2,
                },
            ) => {
                let (rows, cols) = (*r1.max(r2), *c1.max(c2));
                let at = |r: usize, c: usize, rr: usize, cc: usize, b: &Vec<Vec<C>>| {
                    b[(if rr == 1 { 0 } else { r }) * cc + if cc == 1 { 0 } else { c }].clone()
                };
                let mut blocks = Vec::new();
                for r in 0..rows {
                    for c in 0..cols {
                        let (x, y) = (at(r, c, *r1, *c1, b1), at(r, c, *r2, *c2, b2));
                        blocks.push(x.iter().zip(&y).map(|(x, y)| f(*x, *y)).collect());
                    }
                }
                V::Grid { rows, cols, blocks }
            }
        }
    }

    fn map(&self, a: &V, f: impl Fn(&[C]) -> Vec<C>) -> V {
        match a {
            V::Scalar(x) => V::Scalar(f(&[C::new(*x, 0.0)])[0].re),
            V::Grid { rows, cols, blocks } => V::Grid {
                rows: *rows,
                cols: *cols,
                blocks: blocks.iter().map(|b| f(b)).collect(),
            },
        }
    }

    fn rotate(&self, a: &V, k: i64) -> V {
        let n = self.slots() as i64;
        self.map(a, |b| {
            (0..n).map(|j| b[(j + k).rem_euclid(n) as usize]).collect()
        })
    }

    fn block(&mut self, insts: &[Inst]) {
        for inst in insts {
            self.inst(inst);
        }
    }

    fn inst(&mut self, inst: &Inst) {
        let set = |me: &mut Self, v: V| {
            me.vals.insert(inst.results[0], v);
        };
        let info = |me: &Self| me.prog.regs[inst.results[0] as usize].clone();
        match &inst.op {
            Op::Input { name } | Op::BatchInput { name, .. } => {
                let secret = info(self).kind == RegKind::Cipher;
                let v = self.random(&info(self), &format!("input {name}"), secret);
                set(self, v)
            }
            Op::Const(v) => set(self, V::Scalar(*v)),
            Op::DimValue(d) => {
                let v = *self.dims.entry(d.clone()).or_insert(100) as f64;
                set(self, V::Scalar(v))
            }
            Op::ScalarBin { op, a, b } | Op::PlainBin { op, a, b } => {
                let op = *op;
                let v = self.bin(self.get(*a), self.get(*b), move |x, y| match op {
                    ScalarOp::Add => x + y,
                    ScalarOp::Sub => x - y,
                    ScalarOp::Mul => x * y,
                    ScalarOp::Div => x / y,
                    ScalarOp::Pow => C::new(x.re.powf(y.re), 0.0),
                    ScalarOp::Min => C::new(x.re.min(y.re), 0.0),
                    ScalarOp::Max => C::new(x.re.max(y.re), 0.0),
                });
                set(self, v)
            }
            Op::Fill { value } => {
                let v = self.grid1(vec![C::new(*value, 0.0); self.slots()]);
                set(self, v)
            }
            Op::Mask(m) => {
                let v = self.grid1(m.slots(self.prog.block));
                set(self, v)
            }
            Op::RowMask { dim } => {
                let rows = *self.dims.entry(dim.clone()).or_insert(100);
                let b = self.prog.block;
                let v = (0..b.slots())
                    .map(|j| C::new(((j / b.s1) < rows) as u8 as f64, 0.0))
                    .collect();
                let v = self.grid1(v);
                set(self, v)
            }
            Op::PlainUnary { f, a } => {
                let f = *f;
                let v = self.map(self.get(*a), |b| {
                    b.iter()
                        .map(|x| match f {
                            PlainFn::Neg => -x,
                            PlainFn::Recip => 1.0 / x,
                            PlainFn::Sqrt => x.sqrt(),
                            PlainFn::Exp => x.exp(),
                            PlainFn::Log => x.ln(),
                            PlainFn::Abs => C::new(x.norm(), 0.0),
                        })
                        .collect()
                });
                set(self, v)
            }
            Op::Trivial { a } => {
                let v = match self.get(*a) {
                    V::Scalar(x) => self.grid1(vec![C::new(*x, 0.0); self.slots()]),
                    g => g.clone(),
                };
                set(self, v)
            }
            Op::Add { a, b } | Op::AddPlain { a, p: b } => {
                let v = self.bin(self.get(*a), self.get(*b), |x, y| x + y);
                set(self, v)
            }
            Op::Sub { a, b } => {
                let v = self.bin(self.get(*a), self.get(*b), |x, y| x - y);
                set(self, v)
            }
            Op::SubPlain { a, p, reverse } => {
                let r = *reverse;
                let v = self.bin(
                    self.get(*a),
                    self.get(*p),
                    move |x, y| if r { y - x } else { x - y },
                );
                set(self, v)
            }
            Op::Mul { a, b } | Op::MulPlain { a, p: b } => {
                let v = self.bin(self.get(*a), self.get(*b), |x, y| x * y);
                set(self, v)
            }
            Op::Neg { a } => {
                let v = self.map(self.get(*a), |b| b.iter().map(|x| -x).collect());
                set(self, v)
            }
            Op::MulInteger { a, k } => {
                let k = *k as f64;
                let v = self.map(self.get(*a), |b| b.iter().map(|x| x * k).collect());
                set(self, v)
            }
            Op::MulI { a } => {
                let v = self.map(self.get(*a), |b| b.iter().map(|x| x * C::i()).collect());
                set(self, v)
            }
            Op::Conjugate { a } => {
                let v = self.map(self.get(*a), |b| b.iter().map(|x| x.conj()).collect());
                set(self, v)
            }
            Op::Rotate { a, steps } => {
                let v = self.rotate(self.get(*a), *steps);
                set(self, v)
            }
            Op::RotateHoisted { a, steps } => {
                for (r, s) in inst.results.iter().zip(steps) {
                    let v = self.rotate(self.get(*a), *s);
                    self.vals.insert(*r, v);
                }
            }
            Op::LevelDown { a } | Op::Bootstrap { a } => {
                let v = self.get(*a).clone();
                set(self, v)
            }
            Op::Poly { a, poly } => {
                let poly = poly.clone();
                let v = self.map(self.get(*a), |b| {
                    b.iter().map(|x| poly_at(&poly, *x)).collect()
                });
                set(self, v)
            }
            Op::SumBlocks { a, axis } => {
                let V::Grid { rows, cols, blocks } = self.get(*a).clone() else {
                    panic!("sum_blocks of a scalar")
                };
                let n = self.slots();
                let (or, oc) = if *axis == 0 { (1, cols) } else { (rows, 1) };
                let mut out = vec![vec![C::new(0.0, 0.0); n]; or * oc];
                for r in 0..rows {
                    for c in 0..cols {
                        let o = if *axis == 0 { c } else { r };
                        for (x, y) in out[o].iter_mut().zip(&blocks[r * cols + c]) {
                            *x += y;
                        }
                    }
                }
                set(
                    self,
                    V::Grid {
                        rows: or,
                        cols: oc,
                        blocks: out,
                    },
                )
            }
            Op::SplitBlocks { a } => {
                let V::Grid { blocks, .. } = self.get(*a).clone() else {
                    panic!("split_blocks of a scalar")
                };
                for (&r, b) in inst.results.iter().zip(blocks) {
                    self.vals.insert(
                        r,
                        V::Grid {
                            rows: 1,
                            cols: 1,
                            blocks: vec![b],
                        },
                    );
                }
            }
            Op::JoinBlocks { parts } => {
                let blocks = parts
                    .iter()
                    .map(|p| match self.get(*p) {
                        V::Grid { blocks, .. } => blocks[0].clone(),
                        V::Scalar(_) => panic!("join_blocks of a scalar"),
                    })
                    .collect::<Vec<_>>();
                let cols = info(self).cols;
                set(
                    self,
                    V::Grid {
                        rows: blocks.len() / cols,
                        cols,
                        blocks,
                    },
                )
            }
            Op::Loop {
                args,
                inits,
                body,
                yields,
                ..
            } => {
                for (k, r) in inits.iter().enumerate() {
                    self.obs
                        .push((format!("loop init {k}"), self.get(*r).clone()));
                }
                // one trip on random carried values (the index is 0)
                self.vals.insert(args[0], V::Scalar(0.0));
                for (k, &a) in args.iter().enumerate().skip(1) {
                    let info = self.prog.regs[a as usize].clone();
                    let v = self.random(&info, &format!("carried %{a} {k}"), true);
                    self.vals.insert(a, v);
                }
                self.block(body);
                for (k, r) in yields.iter().enumerate() {
                    self.obs.push((format!("yield {k}"), self.get(*r).clone()));
                }
                for &r in &inst.results {
                    let info = self.prog.regs[r as usize].clone();
                    let v = self.random(&info, &format!("loop result %{r}"), true);
                    self.vals.insert(r, v);
                }
            }
            Op::Output { name, value } => {
                self.obs
                    .push((format!("output {name}"), self.get(*value).clone()));
            }
        }
    }
}

/// A polynomial at `x`; the Chebyshev argument is clamped to `[-1, 1]` (both programs run the
/// same evaluator, so clamping keeps the comparison meaningful where a series would explode).
fn poly_at(p: &PolySpec, x: C) -> C {
    match p {
        PolySpec::Chebyshev { coeffs, a, b } => {
            let t = (x * 2.0 - (a + b)) / (b - a);
            let t = C::new(t.re.clamp(-1.0, 1.0), t.im.clamp(-1.0, 1.0) * 0.1);
            let (mut t0, mut t1) = (C::new(1.0, 0.0), t);
            let mut acc = t0 * coeffs[0];
            for c in &coeffs[1..] {
                acc += t1 * *c;
                let t2 = t * t1 * 2.0 - t0;
                t0 = t1;
                t1 = t2;
            }
            acc
        }
        PolySpec::Power { coeffs } => coeffs
            .iter()
            .rev()
            .fold(C::new(0.0, 0.0), |acc, c| acc * x + *c),
    }
}

fn observe(prog: &CkksProgram, seed: u64) -> Vec<(String, V)> {
    let mut e = Eval {
        prog,
        seed,
        vals: HashMap::new(),
        obs: Vec::new(),
        dims: HashMap::new(),
    };
    e.block(&prog.body);
    e.obs
}

fn close(a: &V, b: &V) -> Result<(), String> {
    let flat = |v: &V| match v {
        V::Scalar(x) => vec![C::new(*x, 0.0)],
        V::Grid { blocks, .. } => blocks.concat(),
    };
    let (x, y) = (flat(a), flat(b));
    if x.len() != y.len() {
        return Err(format!("{} values against {}", x.len(), y.len()));
    }
    let scale = x.iter().map(|v| v.norm()).fold(1e-300, f64::max);
    for (i, (p, q)) in x.iter().zip(&y).enumerate() {
        let d = (p - q).norm();
        if d.is_nan() || d > 1e-9 * scale {
            return Err(format!("slot {i}: {p} against {q} (scale {scale:.3e})"));
        }
    }
    Ok(())
}

fn assert_same_meaning(before: &CkksProgram, after: &CkksProgram, seeds: &[u64], what: &str) {
    for &seed in seeds {
        let (a, b) = (observe(before, seed), observe(after, seed));
        assert_eq!(
            a.iter().map(|o| &o.0).collect::<Vec<_>>(),
            b.iter().map(|o| &o.0).collect::<Vec<_>>(),
            "{what}, seed {seed}: the observable values differ in order"
        );
        for ((name, x), (_, y)) in a.iter().zip(&b) {
            if let Err(e) = close(x, y) {
                panic!("{what}, seed {seed}: {name}: {e}");
            }
        }
    }
}

// ---- random straight-line programs ----------------------------------------------------------

fn random_program(seed: u64) -> CkksProgram {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let block = BlockShape { s0: 4, s1: 8 };
    let mut regs: Vec<RegInfo> = Vec::new();
    let mut body: Vec<Inst> = Vec::new();
    let reg = |regs: &mut Vec<RegInfo>, kind: RegKind, rows: usize| {
        regs.push(RegInfo {
            kind,
            rows: GridDim::Fixed(rows),
            cols: 1,
            level: None,
            name: None,
            tensor: None,
        });
        (regs.len() - 1) as Reg
    };
    // constants first: masks and scalars (some integers, some reciprocal pairs)
    let mut plains = Vec::new();
    for _ in 0..3 {
        let (lo, hi) = (rng.gen_range(0..4), rng.gen_range(4..8));
        let r = reg(&mut regs, RegKind::Plain, 1);
        body.push(Inst {
            results: vec![r],
            op: Op::Mask(Mask::Window {
                row_mod: 1,
                row_lo: 0,
                row_hi: 1,
                col_mod: 8,
                col_lo: lo,
                col_hi: hi,
            }),
        });
        plains.push(r);
    }
    let r = reg(&mut regs, RegKind::Plain, 1);
    body.push(Inst {
        results: vec![r],
        op: Op::Mask(Mask::Complex {
            re: 0.5,
            first: Box::new(Mask::Diagonal {
                a: 1,
                b: -1,
                offset: 1,
                modulus: 4,
                col_mod: 4,
                col_hi: 4,
            }),
            im: -0.5,
            second: Box::new(Mask::Diagonal {
                a: 1,
                b: -1,
                offset: 3,
                modulus: 4,
                col_mod: 4,
                col_hi: 4,
            }),
        }),
    });
    plains.push(r);
    for v in [0.5, 2.0, 3.0, 0.25, 4.0, 1.0 / 3.0, 0.9, 0.1] {
        let r = reg(&mut regs, RegKind::Scalar, 1);
        body.push(Inst {
            results: vec![r],
            op: Op::Const(v),
        });
        plains.push(r);
    }
    let mut cts = Vec::new();
    for (k, rows) in [1usize, 1, 2].iter().enumerate() {
        let r = reg(&mut regs, RegKind::Cipher, *rows);
        body.push(Inst {
            results: vec![r],
            op: Op::Input {
                name: format!("x{k}"),
            },
        });
        cts.push((r, *rows));
    }
    let n = rng.gen_range(12..40);
    for _ in 0..n {
        let (a, ra) = cts[rng.gen_range(0..cts.len())];
        // prefer recent values so chains form
        let (b, rb) = cts[cts.len() - 1 - rng.gen_range(0..cts.len().min(4))];
        let p = plains[rng.gen_range(0..plains.len())];
        let steps = [1i64, 2, 3, 8, 16, 31, 30, 24][rng.gen_range(0..8)];
        let rows = ra.max(rb);
        let (op, rows) = match rng.gen_range(0..13) {
            0 => (Op::Add { a, b }, rows),
            1 => (Op::Sub { a, b }, rows),
            2 if ra.max(rb) == 1 => (Op::Mul { a, b }, 1),
            3 | 4 => (Op::MulPlain { a, p }, ra),
            5 | 6 => (Op::Rotate { a, steps }, ra),
            7 => (Op::Conjugate { a }, ra),
            8 => (Op::MulI { a }, ra),
            9 => (
                Op::MulInteger {
                    a,
                    k: rng.gen_range(-2..4),
                },
                ra,
            ),
            10 => (Op::AddPlain { a, p }, ra),
            11 if ra == 2 => (Op::SumBlocks { a, axis: 0 }, 1),
            12 => (
                Op::SubPlain {
                    a,
                    p,
                    reverse: rng.gen(),
                },
                ra,
            ),
            _ => (Op::Neg { a }, ra),
        };
        if let Op::Rotate { .. } = op {
            if rng.gen_bool(0.3) {
                let rs = vec![
                    reg(&mut regs, RegKind::Cipher, ra),
                    reg(&mut regs, RegKind::Cipher, ra),
                ];
                body.push(Inst {
                    results: rs.clone(),
                    op: Op::RotateHoisted {
                        a,
                        steps: vec![steps, steps + 5],
                    },
                });
                cts.push((rs[0], ra));
                cts.push((rs[1], ra));
                continue;
            }
        }
        let r = reg(&mut regs, RegKind::Cipher, rows);
        body.push(Inst {
            results: vec![r],
            op,
        });
        cts.push((r, rows));
    }
    // a few outputs: the last values and a random one
    let outs: Vec<Reg> = cts
        .iter()
        .rev()
        .take(3)
        .map(|c| c.0)
        .chain([cts[rng.gen_range(3..cts.len())].0])
        .collect();
    for (k, r) in outs.into_iter().enumerate() {
        body.push(Inst {
            results: vec![],
            op: Op::Output {
                name: format!("out{k}"),
                value: r,
            },
        });
    }
    let facts = vec![RegFacts::default(); regs.len()];
    CkksProgram {
        slots: block.slots(),
        block,
        regs,
        facts,
        body,
        inputs: vec![],
        outputs: vec![],
        assumed_dims: Default::default(),
    }
}

fn opts() -> OptOptions {
    OptOptions {
        time_budget: Duration::from_secs(20),
        ..OptOptions::default()
    }
}

#[test]
fn random_blocks_keep_their_meaning() {
    let mut changed = 0;
    for seed in 0..40u64 {
        let p = random_program(seed);
        let (q, report) = opt::optimize(&p, &opts()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        if report.after != report.before {
            changed += 1;
        }
        assert_same_meaning(
            &p,
            &q,
            &[seed, seed + 1000],
            &format!("random program {seed}"),
        );
    }
    assert!(
        changed > 10,
        "the optimizer changed only {changed} of 40 programs"
    );
}

// ---- the real programs -----------------------------------------------------------------------

fn ckks_of(name: &str, slots: usize) -> CkksProgram {
    let c = types::check_file(&common::example_path(name), Default::default()).unwrap();
    let p = c.program.unwrap_or_else(|| panic!("{name} should check"));
    let t = tensor::lower(&p).unwrap();
    let l = layout::assign(&t, slots).unwrap();
    ckks::lower(&l).unwrap()
}

#[test]
fn hetal_head_fast_keeps_its_meaning_and_gets_cheaper() {
    let p = ckks_of("hetal_head_fast", 1 << 11);
    let (q, report) = opt::optimize(&p, &opts()).unwrap();
    println!("{report}");
    assert_same_meaning(&p, &q, &[7, 8], "hetal_head_fast at 2^11 slots");
    assert!(
        report.after.depth < report.before.depth
            || report.after.instructions < report.before.instructions
    );
    // registers that survive keep their facts; the outputs read the same registers
    for (k, f) in p.facts.iter().enumerate() {
        assert_eq!(&q.facts[k], f);
    }
    // ciphertexts made from public values read plaintexts (fills), as the lowering writes them
    fn trivials(insts: &[Inst], out: &mut Vec<Reg>) {
        for i in insts {
            match &i.op {
                Op::Trivial { a } => out.push(*a),
                Op::Loop { body, .. } => trivials(body, out),
                _ => {}
            }
        }
    }
    let mut ts = Vec::new();
    trivials(&q.body, &mut ts);
    assert!(!ts.is_empty());
    assert!(ts
        .iter()
        .all(|&a| q.regs[a as usize].kind == RegKind::Plain));
}

#[test]
fn hetal_head_keeps_its_meaning_and_gets_cheaper() {
    let p = ckks_of("hetal_head", 1 << 11);
    let (q, report) = opt::optimize(&p, &opts()).unwrap();
    println!("{report}");
    assert_same_meaning(&p, &q, &[11], "hetal_head at 2^11 slots");
    assert!(report.after.depth < report.before.depth);
}

#[test]
fn the_time_budget_bounds_the_call() {
    // the default budget (900 ms) on the larger program at the shipped slot count
    let p = ckks_of("hetal_head", 1 << 15);
    let (_, report) = opt::optimize(&p, &OptOptions::default()).unwrap();
    println!("{report}");
    assert!(
        report.elapsed < Duration::from_millis(1500),
        "{:?}",
        report.elapsed
    );
    // no time at all: every block is kept as written, and the program still means the same
    let p = ckks_of("hetal_head_fast", 1 << 11);
    let tight = OptOptions {
        time_budget: Duration::ZERO,
        ..OptOptions::default()
    };
    let (q, report) = opt::optimize(&p, &tight).unwrap();
    assert!(
        report.blocks.iter().all(|b| b.before == b.after),
        "{report}"
    );
    assert_same_meaning(&p, &q, &[3], "hetal_head_fast with no time");
}

// ---- small programs with a known best form -----------------------------------------------------

/// A top-level program: one secret input `%0` (1 × 1 grid), the given constants and
/// instructions (registers numbered in order after the input), outputs of `outs`.
fn small(consts: Vec<Op>, insts: Vec<Op>, outs: &[Reg]) -> CkksProgram {
    let block = BlockShape { s0: 4, s1: 8 };
    let mut regs = Vec::new();
    let mut body = Vec::new();
    let info = |kind| RegInfo {
        kind,
        rows: GridDim::Fixed(1),
        cols: 1,
        level: None,
        name: None,
        tensor: None,
    };
    regs.push(info(RegKind::Cipher));
    body.push(Inst {
        results: vec![0],
        op: Op::Input { name: "x".into() },
    });
    for op in consts.into_iter().chain(insts) {
        let kind = match op {
            Op::Const(_) => RegKind::Scalar,
            Op::Mask(_) | Op::Fill { .. } => RegKind::Plain,
            _ => RegKind::Cipher,
        };
        body.push(Inst {
            results: vec![regs.len() as Reg],
            op,
        });
        regs.push(info(kind));
    }
    for (k, &r) in outs.iter().enumerate() {
        body.push(Inst {
            results: vec![],
            op: Op::Output {
                name: format!("y{k}"),
                value: r,
            },
        });
    }
    let facts = vec![RegFacts::default(); regs.len()];
    CkksProgram {
        slots: block.slots(),
        block,
        regs,
        facts,
        body,
        inputs: vec![],
        outputs: vec![],
        assumed_dims: Default::default(),
    }
}

fn ops(p: &CkksProgram) -> Vec<&Op> {
    p.body.iter().map(|i| &i.op).collect()
}

#[test]
fn rotations_around_a_mask_become_one_with_a_rotated_mask() {
    let m = Mask::Window {
        row_mod: 1,
        row_lo: 0,
        row_hi: 1,
        col_mod: 8,
        col_lo: 1,
        col_hi: 6,
    };
    // %1 = mask; %2 = rot(x, 3); %3 = %2 · m; %4 = rot(%3, 5)
    let p = small(
        vec![Op::Mask(m)],
        vec![
            Op::Rotate { a: 0, steps: 3 },
            Op::MulPlain { a: 2, p: 1 },
            Op::Rotate { a: 3, steps: 5 },
        ],
        &[4],
    );
    let (q, report) = opt::optimize(&p, &opts()).unwrap();
    println!("{q}\n{report}");
    assert_eq!(report.after.rotations, 1);
    // either rot(x, 8)·rot(m, 5) or rot(x·rot(m, −3), 8): one rotation and a rotated mask
    assert!(ops(&q)
        .iter()
        .any(|o| matches!(o, Op::Mask(Mask::Rotated { .. }))));
    assert_same_meaning(&p, &q, &[1, 2], "rotated mask");
}

#[test]
fn rotations_of_one_value_are_hoisted_and_plaintext_products_fold() {
    // %1 = 0.5, %2 = 4.0 (an integer: no level), %3 = rot(x, 1), %4 = rot(x, 2),
    // %5 = %3 + %4, %6 = %5 · 0.5, %7 = %6 · 4.0
    let p = small(
        vec![Op::Const(0.5), Op::Const(4.0)],
        vec![
            Op::Rotate { a: 0, steps: 1 },
            Op::Rotate { a: 0, steps: 2 },
            Op::Add { a: 3, b: 4 },
            Op::MulPlain { a: 5, p: 1 },
            Op::MulPlain { a: 6, p: 2 },
        ],
        &[7],
    );
    let (q, report) = opt::optimize(&p, &opts()).unwrap();
    println!("{q}\n{report}");
    assert_eq!(report.before.depth, 2);
    assert_eq!(report.after.depth, 0, "0.5 · 4 = 2 is a mul_int");
    assert_eq!(report.after.plain_mults, 0);
    assert_eq!(report.after.hoisted_groups, 1);
    assert_same_meaning(&p, &q, &[4], "hoisting and folding");
}

#[test]
fn optimizing_is_deterministic() {
    let p = ckks_of("hetal_head", 1 << 11);
    let a = opt::optimize(&p, &opts()).unwrap().0.to_string();
    let b = opt::optimize(&p, &opts()).unwrap().0.to_string();
    assert_eq!(a, b);
    // and level-aware, with the same bootstrap sites
    let o = level_opts(&p);
    let (a, ra) = opt::optimize(&p, &o).unwrap();
    let (b, rb) = opt::optimize(&p, &o).unwrap();
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(ra.boot_hints, rb.boot_hints);
}

// ---- the e-graph scheduling levels ------------------------------------------------------------

/// n16-boot's shape: 9 levels after a bootstrap.
fn boot_target() -> blindtune_compiler::sched::Target {
    blindtune_compiler::sched::Target {
        max_level: 9,
        bootstrapping: true,
        default_bound: 1.0,
        lower_targets: false,
    }
}

/// Level-aware options against the skeleton's levels (or, where the skeleton cannot be
/// scheduled, every leaf at the top and every root needed at level 0).
fn level_opts(p: &CkksProgram) -> OptOptions {
    let target = boot_target();
    let (level, need) = blindtune_compiler::sched::skeleton_levels(p, &target)
        .unwrap_or_else(|_| (vec![None; p.regs.len()], vec![None; p.regs.len()]));
    let mut o = opts();
    o.levels = Some(opt::LevelInputs {
        top: target.max_level,
        level,
        need,
        boot_s: 26.5,
        default_bound: target.default_bound,
    });
    o
}

#[test]
fn level_aware_extraction_keeps_the_meaning_of_random_blocks() {
    let mut leveled = 0;
    for seed in 0..40u64 {
        let p = random_program(seed);
        let (q, report) =
            opt::optimize(&p, &level_opts(&p)).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        leveled += report
            .blocks
            .iter()
            .filter(|b| b.chosen == "level-dp")
            .count();
        assert_same_meaning(
            &p,
            &q,
            &[seed, seed + 1000],
            &format!("random program {seed}, level-aware"),
        );
    }
    assert!(
        leveled > 20,
        "the level-aware extraction wrote only {leveled} blocks of 40 programs"
    );
}

/// On the HETAL head the e-graph chooses bootstrap sites itself: the program keeps its meaning,
/// every chosen site is a register the placement may bootstrap (a whole tensor or the packed
/// state), and the placement grown from them schedules the program with no more bootstraps
/// than the lookahead placement of the same stage.
#[test]
fn level_aware_extraction_places_bootstraps_on_the_hetal_head() {
    let p = ckks_of("hetal_head_fast", 1 << 11);
    let p = opt::pack::pack_carried(&p, 1.0).map(|x| x.0).unwrap_or(p);
    let (q, report) = opt::optimize(&p, &level_opts(&p)).unwrap();
    assert_same_meaning(&p, &q, &[11, 12], "hetal_head_fast, level-aware");
    assert!(
        report.blocks.iter().any(|b| b.chosen == "level-dp"),
        "{report}"
    );
    assert!(!report.boot_hints.is_empty(), "no bootstrap chosen");
    for &r in &report.boot_hints {
        let f = &q.facts[r as usize];
        assert!(
            f.tensor.is_some() || f.packed,
            "%{r} is not a cut point: {f:?}"
        );
        assert_eq!(q.regs[r as usize].kind, RegKind::Cipher);
    }
    let target = boot_target();
    // the e-graph's sites stand: the lookahead neither adds nor removes one
    let placed =
        blindtune_compiler::sched::place::place_seeded(&q, &target, &report.boot_hints).unwrap();
    assert_eq!(
        placed, report.boot_hints,
        "sites after completion vs the e-graph's"
    );
    let seeded = blindtune_compiler::sched::schedule_seeded(&q, &target, &report.boot_hints)
        .expect("the seeded placement schedules");
    let plain = blindtune_compiler::sched::schedule(
        &p,
        &target,
        blindtune_compiler::sched::Strategy::Lookahead,
    )
    .unwrap();
    assert!(
        seeded.bootstraps <= plain.bootstraps,
        "{} bootstrap sites grown from the e-graph's vs {} by lookahead",
        seeded.bootstraps,
        plain.bootstraps
    );
}
