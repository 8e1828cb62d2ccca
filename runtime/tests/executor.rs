//! The plan executor on hand-built plans, against f64 references computed here: blockwise
//! arithmetic with broadcasting, masks, rotations (plain and hoisted), conjugation, `i`,
//! block sums, public inputs with padding, polynomials, level drops, rolled loops with a
//! bootstrap, batch loops binding a dimension, checkpoints, bounded liveness, and the errors
//! a run reports. N = 2^12 (insecure test sets); inputs are fresh and replayable
//! (`BLINDTUNE_TEST_SEED`, printed on failure). Bounds are in bits.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use blindtune_runtime::backend::meta::MetaCt;
use blindtune_runtime::backend::{Backend, CpuBackend, MetaBackend, SimBackend};
use blindtune_runtime::circuits::bootstrapping::config::{test_boot_config, test_boot_insecure};
use blindtune_runtime::circuits::bootstrapping::{Bootstrapper, BootstrappingKeys};
use blindtune_runtime::circuits::polynomial::{ChebyshevSeries, PowerSeries};
use blindtune_runtime::ckks::testing::{random_complex, random_real};
use blindtune_runtime::ckks::*;
use blindtune_runtime::executor::{
    fingerprint_hex, CanonicalScales, Checkpoint, ExecError, Executor, Grid, InputSource, IoError,
    LoopPos, NoObserver, Observer, OutputSink, TripBoundary, TripControl,
};
use blindtune_runtime::plan::layout::scatter;
use blindtune_runtime::plan::validate::poly_depth;
use blindtune_runtime::plan::*;
use num_complex::Complex64 as C;

type Blocks = Vec<Vec<Vec<C>>>;

// ---------------------------------------------------------------------------------- builder

/// Builds plans instruction by instruction; loops nest with `begin_loop`/`end_loop`.
struct Builder {
    plan: Plan,
    stack: Vec<Vec<Inst>>,
    loops: Vec<(Vec<Reg>, Vec<Reg>)>,
}

impl Builder {
    fn new(params: &Params, block: BlockShape, max_level: usize) -> Self {
        Builder {
            plan: Plan {
                format: FORMAT_NAME.into(),
                version: FORMAT_VERSION,
                source: SourceInfo {
                    name: "test.bt".into(),
                    blake3: String::new(),
                    params: BTreeMap::new(),
                    mode: "test".into(),
                },
                params: params.name().into(),
                params_fingerprint: fingerprint_hex(params),
                insecure: true,
                block,
                bootstrapping: false,
                max_level,
                keys: KeyManifest::default(),
                inputs: vec![],
                outputs: vec![],
                seed: 0,
                regs: vec![],
                body: vec![],
                estimate: Estimate::default(),
            },
            stack: vec![vec![]],
            loops: vec![],
        }
    }

    fn info(&mut self, info: RegInfo) -> Reg {
        self.plan.regs.push(info);
        (self.plan.regs.len() - 1) as Reg
    }

    fn reg(&mut self, kind: RegKind, rows: GridDim, cols: usize, level: Option<usize>) -> Reg {
        self.info(RegInfo {
            kind,
            rows,
            cols,
            level,
            name: None,
            tensor: None,
        })
    }

    fn emit(&mut self, results: Vec<Reg>, op: Op) {
        self.stack.last_mut().unwrap().push(Inst { results, op });
    }

    fn ct(&mut self, level: usize, (r, c): (usize, usize), op: Op) -> Reg {
        let reg = self.reg(RegKind::Cipher, GridDim::Fixed(r), c, Some(level));
        self.emit(vec![reg], op);
        reg
    }

    fn plain(&mut self, (r, c): (usize, usize), op: Op) -> Reg {
        let reg = self.reg(RegKind::Plain, GridDim::Fixed(r), c, None);
        self.emit(vec![reg], op);
        reg
    }

    fn scalar(&mut self, op: Op) -> Reg {
        let reg = self.reg(RegKind::Scalar, GridDim::Fixed(1), 1, None);
        self.emit(vec![reg], op);
        reg
    }

    fn secret(&mut self, name: &str, level: usize, shape: (usize, usize)) -> Reg {
        let b = self.plan.block;
        self.plan.inputs.push(InputSpec {
            name: name.into(),
            secret: true,
            shape: [
                DimSpec::Fixed(shape.0 * b.s0),
                DimSpec::Fixed(shape.1 * b.s1),
            ],
            rank: 2,
            layout: Layout::ROW_MAJOR,
            level: Some(level),
            stream: None,
        });
        self.ct(level, shape, Op::Input { name: name.into() })
    }

    /// A public `[rows, cols]` input laid out row-major; `tensor` tells the executor which
    /// slots of `results_of` registers are padding.
    fn public(&mut self, name: &str, dims: [usize; 2]) -> Reg {
        let b = self.plan.block;
        let tensor = (
            Layout::ROW_MAJOR,
            [DimSpec::Fixed(dims[0]), DimSpec::Fixed(dims[1])],
        );
        self.plan.inputs.push(InputSpec {
            name: name.into(),
            secret: false,
            shape: tensor.1.clone(),
            rank: 2,
            layout: Layout::ROW_MAJOR,
            level: None,
            stream: None,
        });
        let reg = self.info(RegInfo {
            kind: RegKind::Plain,
            rows: GridDim::Fixed(dims[0].div_ceil(b.s0)),
            cols: dims[1].div_ceil(b.s1),
            level: None,
            name: Some(name.into()),
            tensor: Some(tensor),
        });
        self.emit(vec![reg], Op::Input { name: name.into() });
        reg
    }

    fn output(&mut self, name: &str, value: Reg) {
        if !self.plan.outputs.iter().any(|o| o.name == name) {
            self.plan.outputs.push(OutputSpec {
                name: name.into(),
                shape: [DimSpec::Fixed(1), DimSpec::Fixed(1)],
                rank: 2,
                layout: Layout::ROW_MAJOR,
                repeated: !self.loops.is_empty(),
                against: None,
            });
        }
        self.emit(
            vec![],
            Op::Output {
                name: name.into(),
                value,
            },
        );
    }

    /// Opens a loop carrying `inits`; returns the index register and the carried arguments.
    fn begin_loop(&mut self, inits: &[Reg]) -> (Reg, Vec<Reg>) {
        let idx = self.reg(RegKind::Scalar, GridDim::Fixed(1), 1, None);
        let args: Vec<Reg> = inits
            .iter()
            .map(|&r| {
                let info = self.plan.regs[r as usize].clone();
                self.info(info)
            })
            .collect();
        let mut all = vec![idx];
        all.extend(&args);
        self.loops.push((all, inits.to_vec()));
        self.stack.push(vec![]);
        (idx, args)
    }

    fn end_loop(&mut self, trips: Trips, yields: &[Reg]) -> Vec<Reg> {
        let body = self.stack.pop().unwrap();
        let (args, inits) = self.loops.pop().unwrap();
        let results: Vec<Reg> = args[1..]
            .iter()
            .map(|&a| {
                let info = self.plan.regs[a as usize].clone();
                self.info(info)
            })
            .collect();
        self.emit(
            results.clone(),
            Op::Loop {
                trips,
                args,
                inits,
                body,
                yields: yields.to_vec(),
            },
        );
        results
    }

    fn finish(mut self) -> Plan {
        assert_eq!(self.stack.len(), 1, "an unclosed loop");
        self.plan.body = self.stack.pop().unwrap();
        self.plan.validate().expect("the test plan validates");
        self.plan
    }
}

// ---------------------------------------------------------------------------------- clients

/// The data owner's side of a backend: encryption and decryption of one block.
type EncryptFn<B> = Box<dyn FnMut(&B, &[C], usize, f64) -> <B as Backend>::Ct>;
type DecryptFn<B> = Box<dyn Fn(&B, &<B as Backend>::Ct) -> Vec<C>>;

/// Inputs from memory, encrypted at the plan's canonical scales.
struct MemInput<B: Backend> {
    encrypt: EncryptFn<B>,
    scales: CanonicalScales,
    secret: HashMap<String, (Blocks, usize)>,
    public: HashMap<String, (Vec<f64>, [usize; 2])>,
    batches: HashMap<String, VecDeque<(Blocks, usize, usize)>>,
    dims: HashMap<String, usize>,
}

impl<B: Backend> MemInput<B> {
    fn new(encrypt: EncryptFn<B>, scales: CanonicalScales) -> Self {
        MemInput {
            encrypt,
            scales,
            secret: HashMap::new(),
            public: HashMap::new(),
            batches: HashMap::new(),
            dims: HashMap::new(),
        }
    }

    fn grid(&mut self, b: &B, blocks: &Blocks, level: usize) -> Grid<B::Ct> {
        let scale = self.scales.at(level);
        blocks
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| (self.encrypt)(b, v, level, scale))
                    .collect()
            })
            .collect()
    }
}

impl<B: Backend> InputSource<B> for MemInput<B> {
    fn secret(&mut self, backend: &B, name: &str) -> Result<Grid<B::Ct>, IoError> {
        let (blocks, level) = self.secret.get(name).cloned().ok_or(IoError::Input {
            name: name.into(),
            message: "not in this dataset".into(),
        })?;
        Ok(self.grid(backend, &blocks, level))
    }
    fn public(&mut self, name: &str) -> Result<(Vec<f64>, [usize; 2]), IoError> {
        self.public.get(name).cloned().ok_or(IoError::Input {
            name: name.into(),
            message: "not in this dataset".into(),
        })
    }
    fn next_batch(&mut self, backend: &B, name: &str) -> Result<(Grid<B::Ct>, usize), IoError> {
        let (blocks, level, rows) = self
            .batches
            .get_mut(name)
            .and_then(VecDeque::pop_front)
            .ok_or(IoError::Input {
                name: name.into(),
                message: "no batch left".into(),
            })?;
        Ok((self.grid(backend, &blocks, level), rows))
    }
    fn dim(&self, name: &str) -> Option<usize> {
        self.dims.get(name).copied()
    }
}

/// Decrypted outputs by name and trip indices.
struct MemOutput<B: Backend> {
    decrypt: DecryptFn<B>,
    got: BTreeMap<(String, Vec<u64>), Blocks>,
}

impl<B: Backend> MemOutput<B> {
    fn new(decrypt: DecryptFn<B>) -> Self {
        MemOutput {
            decrypt,
            got: BTreeMap::new(),
        }
    }
    fn get(&self, name: &str, trips: &[u64]) -> &Blocks {
        self.got
            .get(&(name.to_string(), trips.to_vec()))
            .unwrap_or_else(|| panic!("no output {name} {trips:?}"))
    }
}

impl<B: Backend> OutputSink<B> for MemOutput<B> {
    fn output(
        &mut self,
        backend: &B,
        name: &str,
        trips: &[u64],
        grid: &Grid<B::Ct>,
    ) -> Result<(), IoError> {
        let d: Blocks = grid
            .iter()
            .map(|row| row.iter().map(|ct| (self.decrypt)(backend, ct)).collect())
            .collect();
        self.got.insert((name.to_string(), trips.to_vec()), d);
        Ok(())
    }
}

fn sim_client() -> (EncryptFn<SimBackend>, DecryptFn<SimBackend>) {
    (
        Box::new(|b: &SimBackend, z: &[C], l, s| b.encrypt(z, l, s).unwrap()),
        Box::new(|b: &SimBackend, ct| b.decrypt(ct)),
    )
}

fn meta_client(slots: usize) -> (EncryptFn<MetaBackend>, DecryptFn<MetaBackend>) {
    (
        Box::new(move |b: &MetaBackend, _: &[C], l, s| b.fresh(l, s, slots)),
        Box::new(|_: &MetaBackend, _: &MetaCt| vec![]),
    )
}

/// A CPU backend with the keys of `manifest` and its data owner.
struct Cpu {
    ctx: Arc<Context>,
    backend: CpuBackend,
    sk: SecretKey,
}

impl Cpu {
    fn new(literal: ParamsLiteral, rotations: &[i64]) -> Cpu {
        let ctx = Context::new(Params::new_insecure_for_tests(literal).unwrap());
        let mut kg = KeyGenerator::new(ctx.clone());
        let sk = kg.gen_secret_key();
        let evk = kg.gen_evaluation_keys(&sk, &kg.manifest_for_rotations(rotations, true));
        Cpu {
            backend: CpuBackend::new(ctx.clone(), Arc::new(evk)).unwrap(),
            ctx,
            sk,
        }
    }

    fn client(&self) -> (EncryptFn<CpuBackend>, DecryptFn<CpuBackend>) {
        let enc = Encoder::new(self.ctx.clone());
        let mut encryptor = Encryptor::with_secret_key(self.ctx.clone(), &self.sk).unwrap();
        let dec_enc = Encoder::new(self.ctx.clone());
        let decryptor = Decryptor::new(self.ctx.clone(), &self.sk).unwrap();
        (
            Box::new(move |_: &CpuBackend, z: &[C], l, s| {
                encryptor.encrypt(&enc.encode_complex(z, l, s).unwrap())
            }),
            Box::new(move |_: &CpuBackend, ct| dec_enc.decode_complex(&decryptor.decrypt(ct))),
        )
    }
}

// ---------------------------------------------------------------------------------- reference

fn map(x: &Blocks, f: impl Fn(C) -> C) -> Blocks {
    x.iter()
        .map(|r| {
            r.iter()
                .map(|v| v.iter().map(|&z| f(z)).collect())
                .collect()
        })
        .collect()
}

fn pick(x: &Blocks, i: usize, j: usize) -> &Vec<C> {
    let row = &x[if x.len() == 1 { 0 } else { i }];
    &row[if row.len() == 1 { 0 } else { j }]
}

/// Blockwise `f` with broadcasting of 1-block axes.
fn zip(x: &Blocks, y: &Blocks, f: impl Fn(C, C) -> C) -> Blocks {
    let (r, c) = (x.len().max(y.len()), x[0].len().max(y[0].len()));
    (0..r)
        .map(|i| {
            (0..c)
                .map(|j| {
                    pick(x, i, j)
                        .iter()
                        .zip(pick(y, i, j))
                        .map(|(&a, &b)| f(a, b))
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn rotate(x: &Blocks, k: i64) -> Blocks {
    x.iter()
        .map(|r| {
            r.iter()
                .map(|v| {
                    let n = v.len() as i64;
                    (0..n).map(|j| v[(j + k).rem_euclid(n) as usize]).collect()
                })
                .collect()
        })
        .collect()
}

fn sum_blocks(x: &Blocks, axis: usize) -> Blocks {
    let add = |a: &Vec<C>, b: &Vec<C>| a.iter().zip(b).map(|(p, q)| p + q).collect::<Vec<C>>();
    if axis == 0 {
        vec![(0..x[0].len())
            .map(|j| {
                x.iter()
                    .skip(1)
                    .fold(x[0][j].clone(), |acc, row| add(&acc, &row[j]))
            })
            .collect()]
    } else {
        x.iter()
            .map(|row| {
                vec![row
                    .iter()
                    .skip(1)
                    .fold(row[0].clone(), |acc, b| add(&acc, b))]
            })
            .collect()
    }
}

fn random_blocks(shape: (usize, usize), slots: usize, complex: bool) -> Blocks {
    (0..shape.0)
        .map(|_| {
            (0..shape.1)
                .map(|_| {
                    if complex {
                        random_complex(slots, 1.0)
                    } else {
                        random_real(slots, 1.0)
                            .into_iter()
                            .map(|x| C::new(x, 0.0))
                            .collect()
                    }
                })
                .collect()
        })
        .collect()
}

/// `-log2` of the largest slot error (60 when exact).
fn bits(want: &Blocks, got: &Blocks) -> f64 {
    assert_eq!(want.len(), got.len(), "grid rows");
    let mut err = 0f64;
    for (wr, gr) in want.iter().zip(got) {
        assert_eq!(wr.len(), gr.len(), "grid columns");
        for (w, g) in wr.iter().zip(gr) {
            for (a, b) in w.iter().zip(g) {
                err = err.max((a - b).norm());
            }
        }
    }
    (-err.log2()).min(60.0)
}

fn check(label: &str, want: &Blocks, got: &Blocks, min_bits: f64) {
    let b = bits(want, got);
    eprintln!("MEASURED {label}: {b:.1} bits");
    assert!(b >= min_bits, "{label}: {b:.1} bits < {min_bits}");
}

// ---------------------------------------------------------------------------------- (a)

const BLOCK: BlockShape = BlockShape { s0: 4, s1: 4 };
const ROTATIONS: [i64; 3] = [3, 1, -2];

fn window() -> Mask {
    Mask::Window {
        row_mod: 4,
        row_lo: 0,
        row_hi: 2,
        col_mod: 4,
        col_lo: 1,
        col_hi: 4,
    }
}

/// Elementwise ops, a mask, rotations (plain and hoisted), conjugation, `i`, block sums and a
/// public input with padding on a 2×2 grid; returns the plan and its f64 reference.
struct Elementwise {
    plan: Plan,
    x: Blocks,
    y: Blocks,
    p: (Vec<f64>, [usize; 2]),
}

fn elementwise_plan(params: &Params) -> Plan {
    let mut b = Builder::new(params, BLOCK, 5);
    let x = b.secret("x", 5, (2, 2));
    let y = b.secret("y", 5, (2, 1));
    let p = b.public("p", [7, 6]);
    let m = b.plain((1, 1), Op::Mask(window()));
    let half = b.scalar(Op::Const(0.5));
    let quarter = b.plain((1, 1), Op::Fill { value: 0.25 });
    let pb = b.plain(
        (1, 1),
        Op::PlainBin {
            op: ScalarOp::Mul,
            a: m,
            b: half,
        },
    );
    let z1 = b.ct(5, (2, 2), Op::Add { a: x, b: y });
    let z2 = b.ct(4, (2, 2), Op::MulPlain { a: z1, p: pb });
    let z3 = b.ct(4, (2, 2), Op::Rotate { a: z2, steps: 3 });
    let h1 = b.reg(RegKind::Cipher, GridDim::Fixed(2), 2, Some(4));
    let h2 = b.reg(RegKind::Cipher, GridDim::Fixed(2), 2, Some(4));
    b.emit(
        vec![h1, h2],
        Op::RotateHoisted {
            a: z2,
            steps: vec![1, -2],
        },
    );
    let z4 = b.ct(4, (2, 2), Op::Add { a: h1, b: h2 });
    let z5 = b.ct(4, (2, 2), Op::Sub { a: z4, b: z3 });
    let c = b.ct(4, (2, 2), Op::Conjugate { a: z5 });
    let mi = b.ct(4, (2, 2), Op::MulI { a: c });
    let z6 = b.ct(4, (2, 2), Op::AddPlain { a: mi, p: quarter });
    let z7 = b.ct(
        4,
        (2, 2),
        Op::SubPlain {
            a: z6,
            p: half,
            reverse: true,
        },
    );
    let z8 = b.ct(4, (2, 2), Op::MulInteger { a: z7, k: 3 });
    let neg = b.ct(4, (2, 2), Op::Neg { a: z8 });
    let xd = b.ct(4, (2, 2), Op::LevelDown { a: x });
    let w = b.ct(3, (2, 2), Op::Mul { a: neg, b: xd });
    let s0 = b.ct(3, (1, 2), Op::SumBlocks { a: w, axis: 0 });
    let s1 = b.ct(3, (2, 1), Op::SumBlocks { a: w, axis: 1 });
    let q = b.info(RegInfo {
        kind: RegKind::Plain,
        rows: GridDim::Fixed(2),
        cols: 2,
        level: None,
        name: Some("1/p".into()),
        tensor: Some((Layout::ROW_MAJOR, [DimSpec::Fixed(7), DimSpec::Fixed(6)])),
    });
    b.emit(
        vec![q],
        Op::PlainUnary {
            f: PlainFn::Recip,
            a: p,
        },
    );
    let z9 = b.ct(3, (2, 2), Op::AddPlain { a: w, p: q });
    b.output("w", w);
    b.output("s0", s0);
    b.output("s1", s1);
    b.output("z9", z9);
    b.finish()
}

impl Elementwise {
    fn new(params: &Params) -> Self {
        let p: Vec<f64> = random_real(42, 1.0)
            .into_iter()
            .map(|v| 1.5 + v / 2.0)
            .collect();
        Elementwise {
            plan: elementwise_plan(params),
            x: random_blocks((2, 2), BLOCK.slots(), true),
            y: random_blocks((2, 1), BLOCK.slots(), true),
            p: (p, [7, 6]),
        }
    }

    fn input<B: Backend>(&self, encrypt: EncryptFn<B>, scales: CanonicalScales) -> MemInput<B> {
        let mut inp = MemInput::new(encrypt, scales);
        inp.secret.insert("x".into(), (self.x.clone(), 5));
        inp.secret.insert("y".into(), (self.y.clone(), 5));
        inp.public.insert("p".into(), self.p.clone());
        inp
    }

    /// The outputs computed in f64.
    fn reference(&self) -> BTreeMap<&'static str, Blocks> {
        let mask: Vec<C> = window().slots(BLOCK);
        let pb: Blocks = vec![vec![mask.iter().map(|m| m * 0.5).collect()]];
        let z1 = zip(&self.x, &self.y, |a, b| a + b);
        let z2 = zip(&z1, &pb, |a, b| a * b);
        let z3 = rotate(&z2, 3);
        let z4 = zip(&rotate(&z2, 1), &rotate(&z2, -2), |a, b| a + b);
        let z5 = zip(&z4, &z3, |a, b| a - b);
        let i = C::new(0.0, 1.0);
        let z8 = map(&z5, |z| -((0.5 - (z.conj() * i + 0.25)) * 3.0));
        let w = zip(&z8, &self.x, |a, b| a * b);
        let (data, [r, c]) = &self.p;
        let q: Blocks = scatter(data, *r, *c, Layout::ROW_MAJOR, BLOCK)
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|v| {
                        v.into_iter()
                            .map(|x| C::new(if x == 0.0 { 0.0 } else { 1.0 / x }, 0.0))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        BTreeMap::from([
            ("s0", sum_blocks(&w, 0)),
            ("s1", sum_blocks(&w, 1)),
            ("z9", zip(&w, &q, |a, b| a + b)),
            ("w", w),
        ])
    }
}

fn test_params() -> Params {
    Params::new_insecure_for_tests(presets::test_insecure()).unwrap()
}

#[test]
fn elementwise_rotations_and_sums_on_the_simulator_and_the_cpu() {
    // Deterministic simulator: exact up to the encoding of constants.
    let params = test_params();
    let case = Elementwise::new(&params);
    let sim = SimBackend::exact(params.clone());
    let mut ex = Executor::new(&case.plan, &sim, None).unwrap();
    let (enc, dec) = sim_client();
    let mut inp = case.input(enc, ex.scales().clone());
    let mut out = MemOutput::new(dec);
    let report = ex.run(&mut inp, &mut out).unwrap();
    for (name, want) in case.reference() {
        check(&format!("sim {name}"), &want, out.get(name, &[]), 30.0);
    }
    assert_eq!(report.ops["rotate_hoisted"].blocks, 4);
    assert_eq!(report.outputs, 4);

    // CPU backend at the insecure N = 2^12 set.
    let cpu = Cpu::new(presets::test_insecure(), &ROTATIONS);
    let mut ex = Executor::new(&case.plan, &cpu.backend, None).unwrap();
    let (enc, dec) = cpu.client();
    let mut inp = case.input(enc, ex.scales().clone());
    let mut out = MemOutput::new(dec);
    let report = ex.run(&mut inp, &mut out).unwrap();
    for (name, want) in case.reference() {
        check(&format!("cpu {name}"), &want, out.get(name, &[]), 20.0);
    }
    eprintln!(
        "MEASURED elementwise plan on cpu: {:.3} s, peak {} live ciphertexts",
        report.seconds, report.peak_live_ciphertexts
    );
    // At the hoisted rotations: x (read again by level_down), z2, z3 and both rotations, 4
    // blocks each; everything dead before is gone (the plan defines 17 grids, 64 ciphertexts).
    assert_eq!(report.peak_live_ciphertexts, 20, "{report:?}");

    // The metadata backend checks every level and scale exactly as the CPU does: the
    // canonical-scale discipline never trips it.
    let meta = MetaBackend::with_keys(params.clone(), &cpu_manifest(&cpu));
    let mut ex = Executor::new(&case.plan, &meta, None).unwrap();
    let (enc, dec) = meta_client(BLOCK.slots());
    let mut inp = case.input(enc, ex.scales().clone());
    ex.run(&mut inp, &mut MemOutput::new(dec)).unwrap();
}

fn cpu_manifest(cpu: &Cpu) -> KeyManifest {
    KeyGenerator::new(cpu.ctx.clone()).manifest_for_rotations(&ROTATIONS, true)
}

// ---------------------------------------------------------------------------------- (b)

#[test]
fn chebyshev_power_and_level_down_on_the_cpu() {
    let cpu = Cpu::new(presets::test_insecure(), &[]);
    let params = cpu.ctx.params().clone();
    let f = |x: f64| (1.3 * x).tanh() + 0.2 * x * x;
    let series = ChebyshevSeries::interpolate(f, -1.5, 1.5, 7);
    let cheb = PolySpec::Chebyshev {
        coeffs: series.coeffs.clone(),
        a: -1.5,
        b: 1.5,
    };
    let power = PolySpec::Power {
        coeffs: vec![0.1, -0.5, 0.25, 0.3],
    };
    let (dc, dp) = (poly_depth(&cheb), poly_depth(&power));
    assert_eq!(
        (dc, dp),
        (4, 2),
        "degree 7 plus a change of variable; degree 3"
    );
    let mut b = Builder::new(&params, BLOCK, 5);
    let x = b.secret("x", 5, (1, 2));
    let pc = b.ct(5 - dc, (1, 2), Op::Poly { a: x, poly: cheb });
    let pp = b.ct(5 - dp, (1, 2), Op::Poly { a: x, poly: power });
    let xd = b.ct(5 - dc, (1, 2), Op::LevelDown { a: x });
    let w = b.ct(5 - dc - 1, (1, 2), Op::Mul { a: pc, b: xd });
    let pd = b.ct(0, (1, 2), Op::LevelDown { a: pp });
    b.output("cheb", pc);
    b.output("power", pd);
    b.output("w", w);
    let plan = b.finish();

    let xs = random_blocks((1, 2), BLOCK.slots(), false);
    let mut ex = Executor::new(&plan, &cpu.backend, None).unwrap();
    let (enc, dec) = cpu.client();
    let mut inp = MemInput::new(enc, ex.scales().clone());
    inp.secret.insert("x".into(), (xs.clone(), 5));
    let mut out = MemOutput::new(dec);
    ex.run(&mut inp, &mut out).unwrap();
    let ps = PowerSeries::new(vec![0.1, -0.5, 0.25, 0.3]);
    let want_c = map(&xs, |z| C::new(series.eval(z.re), 0.0));
    check("cpu chebyshev", &want_c, out.get("cheb", &[]), 20.0);
    check(
        "cpu power + level_down to 0",
        &map(&xs, |z| C::new(ps.eval(z.re), 0.0)),
        out.get("power", &[]),
        20.0,
    );
    check(
        "cpu chebyshev × level_down",
        &zip(&want_c, &xs, |a, b| a * b),
        out.get("w", &[]),
        20.0,
    );
}

// ---------------------------------------------------------------------------------- (c)

#[test]
fn rolled_loop_with_a_bootstrap_on_the_cpu() {
    let ctx = Context::new(Params::new_insecure_for_tests(test_boot_insecure()).unwrap());
    let config = test_boot_config(ctx.n()).with_slots(64);
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let manifest = Bootstrapper::key_manifest(&ctx, &config);
    let keys =
        BootstrappingKeys::generate(&mut kg, &sk, &manifest, config.ephemeral_hamming_weight);
    let boot = Bootstrapper::new(ctx.clone(), config, Arc::new(keys)).unwrap();
    let top = boot.max_target_level();
    assert_eq!(top, 2);
    let block = BlockShape { s0: 8, s1: 8 };

    // w ← (w² − 0.5)·x, bootstrapped back to the top at the end of every trip.
    let trips = 3;
    let mut b = Builder::new(ctx.params(), block, top);
    b.plan.bootstrapping = true;
    b.plan.keys = manifest.clone();
    let x = b.secret("x", 2, (1, 1));
    let w0 = b.secret("w", 2, (1, 1));
    let xl = b.ct(1, (1, 1), Op::LevelDown { a: x });
    let minus_half = b.scalar(Op::Const(-0.5));
    let (_, args) = b.begin_loop(&[w0]);
    let t = b.ct(
        1,
        (1, 1),
        Op::Mul {
            a: args[0],
            b: args[0],
        },
    );
    let u = b.ct(
        1,
        (1, 1),
        Op::AddPlain {
            a: t,
            p: minus_half,
        },
    );
    let v = b.ct(0, (1, 1), Op::Mul { a: u, b: xl });
    b.output("v", v);
    let bw = b.ct(top, (1, 1), Op::Bootstrap { a: v });
    let results = b.end_loop(Trips::Fixed(trips), &[bw]);
    b.output("final", results[0]);
    let plan = b.finish();

    let xs = random_blocks((1, 1), 64, false);
    let ws = random_blocks((1, 1), 64, false);
    let cpu = boot.backend();
    let mut ex = Executor::new(&plan, cpu, Some(&boot)).unwrap();
    let enc = Encoder::new(ctx.clone());
    let dec_enc = Encoder::new(ctx.clone());
    let mut encryptor = Encryptor::with_secret_key(ctx.clone(), &sk).unwrap();
    let decryptor = Decryptor::new(ctx.clone(), &sk).unwrap();
    let mut inp = MemInput::new(
        Box::new(move |_: &CpuBackend, z: &[C], l, s| {
            encryptor.encrypt(&enc.encode_complex(z, l, s).unwrap())
        }),
        ex.scales().clone(),
    );
    inp.secret.insert("x".into(), (xs.clone(), 2));
    inp.secret.insert("w".into(), (ws.clone(), 2));
    let mut out = MemOutput::new(Box::new(move |_: &CpuBackend, ct: &Ciphertext| {
        dec_enc.decode_complex(&decryptor.decrypt(ct))
    }));
    let report = ex.run(&mut inp, &mut out).unwrap();
    let mut w = ws;
    for trip in 0..trips {
        w = zip(&map(&w, |z| z * z - 0.5), &xs, |a, b| a * b);
        check(
            &format!("cpu loop trip {trip}"),
            &w,
            out.get("v", &[trip]),
            20.0,
        );
    }
    check(
        "cpu loop final (after bootstrap)",
        &w,
        out.get("final", &[]),
        20.0,
    );
    assert_eq!(report.bootstraps, trips);
    assert_eq!(report.trips["body[4]"], trips);
    eprintln!(
        "MEASURED loop of {trips} trips with a bootstrap each: {:.2} s ({:.2} s bootstrapping)",
        report.seconds, report.ops["bootstrap"].seconds
    );
}

// ---------------------------------------------------------------------------------- (d)

/// A batch loop over `N` rows in batches of 4: `acc += (b + trip)·x_batch`, `b` the batch's
/// row count bound by the batch; the mean `acc/N` after the loop. Zero weights start it
/// (a trivial encryption).
fn batch_plan(params: &Params) -> Plan {
    let mut b = Builder::new(params, BLOCK, 5);
    b.plan.inputs.push(InputSpec {
        name: "xb".into(),
        secret: true,
        shape: [DimSpec::Named("N".into()), DimSpec::Fixed(4)],
        rank: 2,
        layout: Layout::ROW_MAJOR,
        level: Some(5),
        stream: Some(StreamSpec {
            batch: 4,
            order: 0,
            shuffle: false,
            entries: 1,
        }),
    });
    let zero = b.plain((1, 1), Op::Fill { value: 0.0 });
    let acc0 = b.ct(4, (1, 1), Op::Trivial { a: zero });
    let (i, args) = b.begin_loop(&[acc0]);
    let xb = b.reg(RegKind::Cipher, GridDim::Rows("b".into()), 1, Some(5));
    b.emit(
        vec![xb],
        Op::BatchInput {
            name: "xb".into(),
            dim: Some("b".into()),
        },
    );
    let nb = b.scalar(Op::DimValue("b".into()));
    let k = b.scalar(Op::ScalarBin {
        op: ScalarOp::Add,
        a: nb,
        b: i,
    });
    let t = b.ct(4, (1, 1), Op::MulPlain { a: xb, p: k });
    let acc = b.ct(4, (1, 1), Op::Add { a: args[0], b: t });
    b.output("partial", acc);
    let r = b.end_loop(
        Trips::Batches {
            rows: "N".into(),
            size: 4,
        },
        &[acc],
    );
    let n = b.scalar(Op::DimValue("N".into()));
    let one = b.scalar(Op::Const(1.0));
    let inv = b.scalar(Op::ScalarBin {
        op: ScalarOp::Div,
        a: one,
        b: n,
    });
    let mean = b.ct(3, (1, 1), Op::MulPlain { a: r[0], p: inv });
    b.output("mean", mean);
    b.finish()
}

/// `rows` rows of 4 features per batch (padding rows zero, as the client encodes them).
fn batches(total: usize) -> Vec<(Blocks, usize)> {
    (0..total.div_ceil(4))
        .map(|k| {
            let rows = (total - 4 * k).min(4);
            let data = random_real(rows * 4, 1.0);
            let blocks = scatter(&data, rows, 4, Layout::ROW_MAJOR, BLOCK);
            let blocks: Blocks = blocks
                .into_iter()
                .map(|r| {
                    r.into_iter()
                        .map(|v| v.into_iter().map(|x| C::new(x, 0.0)).collect())
                        .collect()
                })
                .collect();
            (blocks, rows)
        })
        .collect()
}

fn batch_input<B: Backend>(
    encrypt: EncryptFn<B>,
    scales: CanonicalScales,
    batches: &[(Blocks, usize)],
    n: usize,
) -> MemInput<B> {
    let mut inp = MemInput::new(encrypt, scales);
    inp.dims.insert("N".into(), n);
    inp.batches.insert(
        "xb".into(),
        batches.iter().map(|(b, r)| (b.clone(), 5, *r)).collect(),
    );
    inp
}

/// Keeps the checkpoint taken after `after` trips of the loop at `path`.
struct Saver<B: Backend> {
    path: &'static str,
    after: u64,
    saved: Option<Checkpoint<B>>,
    trips_seen: Vec<(String, u64, u64)>,
}

impl<B: Backend> Observer<B> for Saver<B> {
    fn on_trip(&mut self, path: &str, trip: u64, trips: u64) {
        self.trips_seen.push((path.to_string(), trip, trips));
    }
    fn on_trip_end(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if boundary.path == self.path && boundary.completed() == self.after {
            assert!(boundary.is_outermost() && !boundary.is_last());
            self.saved = Some(boundary.checkpoint());
        }
        Ok(())
    }
}

#[test]
fn batch_loop_binds_dimensions_and_resumes_from_a_checkpoint() {
    let params = test_params();
    let plan = batch_plan(&params);
    let n = 10;
    let data = batches(n);
    let reference = |upto: usize| -> Blocks {
        let mut acc: Blocks = vec![vec![vec![C::new(0.0, 0.0); 16]]];
        for (k, (x, rows)) in data.iter().enumerate().take(upto) {
            acc = zip(&acc, x, |a, b| a + b * (*rows as f64 + k as f64));
        }
        acc
    };

    // Simulator, with an observer saving the state after 2 of the 3 trips.
    let sim = SimBackend::exact(params.clone());
    let mut ex = Executor::new(&plan, &sim, None).unwrap();
    let (enc, dec) = sim_client();
    let mut inp = batch_input(enc, ex.scales().clone(), &data, n);
    ex.check_inputs(&inp).unwrap();
    let mut out = MemOutput::new(dec);
    let mut saver = Saver {
        path: "body[2]",
        after: 2,
        saved: None,
        trips_seen: vec![],
    };
    let report = ex.run_with(&mut inp, &mut out, &mut saver).unwrap();
    assert_eq!(report.trips["body[2]"], 3);
    assert_eq!(
        saver.trips_seen,
        (0..3)
            .map(|t| ("body[2]".to_string(), t, 3))
            .collect::<Vec<_>>()
    );
    for trip in 0..3u64 {
        check(
            &format!("sim partial {trip}"),
            &reference(trip as usize + 1),
            out.get("partial", &[trip]),
            30.0,
        );
    }
    let mean = map(&reference(3), |z| z / n as f64);
    check("sim mean", &mean, out.get("mean", &[]), 30.0);

    // Resume after trip 2: the source hands out the third batch only; the rest of the run
    // is the uninterrupted one's, bit for bit.
    let checkpoint = saver.saved.expect("a checkpoint after trip 2");
    assert_eq!(checkpoint.position[0].trip, 2);
    assert_eq!(checkpoint.plan, ex.plan_id());
    // A checkpoint of another plan is refused.
    let mut foreign = checkpoint.clone();
    foreign.plan = "another plan".into();
    let (enc, dec) = sim_client();
    let err = ex
        .resume(
            &mut batch_input(enc, ex.scales().clone(), &data[2..], n),
            &mut MemOutput::new(dec),
            &mut NoObserver,
            foreign,
        )
        .unwrap_err();
    assert!(matches!(err, ExecError::Resume(_)), "{err}");
    let (enc, dec) = sim_client();
    let mut rest = batch_input(enc, ex.scales().clone(), &data[2..], n);
    let mut resumed = MemOutput::new(dec);
    ex.resume(&mut rest, &mut resumed, &mut NoObserver, checkpoint)
        .unwrap();
    assert_eq!(resumed.get("mean", &[]), out.get("mean", &[]));
    assert_eq!(resumed.get("partial", &[2]), out.get("partial", &[2]));
    assert!(!resumed.got.contains_key(&("partial".to_string(), vec![0])));

    // The CPU backend runs the same plan.
    let cpu = Cpu::new(presets::test_insecure(), &[]);
    let mut ex = Executor::new(&plan, &cpu.backend, None).unwrap();
    let (enc, dec) = cpu.client();
    let mut inp = batch_input(enc, ex.scales().clone(), &data, n);
    let mut out = MemOutput::new(dec);
    ex.run(&mut inp, &mut out).unwrap();
    check("cpu mean", &mean, out.get("mean", &[]), 20.0);

    // Without `N` the trip count is unknown: refused before the run.
    let (enc, _) = sim_client();
    let mut no_n = batch_input(enc, ex.scales().clone(), &data, n);
    no_n.dims.clear();
    let err = Executor::new(&plan, &sim, None)
        .unwrap()
        .check_inputs(&no_n)
        .unwrap_err();
    assert!(err.to_string().contains("`N`"), "{err}");
}

// ---------------------------------------------------------------------------------- early stop

/// Epochs over a batch stream, as a training program has them: an outer loop of `epochs` trips
/// around a batch loop over `N` rows in batches of 4 (`acc += b·x_batch`, `b` the batch's
/// rows), a repeated output per epoch and a final output after the epochs.
fn epochs_plan(params: &Params, epochs: u64) -> Plan {
    let mut b = Builder::new(params, BLOCK, 5);
    b.plan.inputs.push(InputSpec {
        name: "xb".into(),
        secret: true,
        shape: [DimSpec::Named("N".into()), DimSpec::Fixed(4)],
        rank: 2,
        layout: Layout::ROW_MAJOR,
        level: Some(5),
        stream: Some(StreamSpec {
            batch: 4,
            order: 0,
            shuffle: false,
            entries: epochs,
        }),
    });
    let zero = b.plain((1, 1), Op::Fill { value: 0.0 });
    let acc0 = b.ct(4, (1, 1), Op::Trivial { a: zero });
    let (_, outer) = b.begin_loop(&[acc0]);
    let (_, inner) = b.begin_loop(&[outer[0]]);
    let xb = b.reg(RegKind::Cipher, GridDim::Rows("b".into()), 1, Some(5));
    b.emit(
        vec![xb],
        Op::BatchInput {
            name: "xb".into(),
            dim: Some("b".into()),
        },
    );
    let nb = b.scalar(Op::DimValue("b".into()));
    let t = b.ct(4, (1, 1), Op::MulPlain { a: xb, p: nb });
    let acc = b.ct(4, (1, 1), Op::Add { a: inner[0], b: t });
    let r = b.end_loop(
        Trips::Batches {
            rows: "N".into(),
            size: 4,
        },
        &[acc],
    );
    let val = b.ct(4, (1, 1), Op::Rotate { a: r[0], steps: 1 });
    b.output("val", val);
    let f = b.end_loop(Trips::Fixed(epochs), &[r[0]]);
    b.output("final", f[0]);
    b.finish()
}

/// Stops the loop at `path` after `after` trips; records every boundary it is asked about.
struct Stopper {
    path: &'static str,
    after: u64,
    asked: Vec<(String, u64)>,
}

impl<B: Backend> Observer<B> for Stopper {
    fn after_trip(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<TripControl, Box<dyn std::error::Error + Send + Sync>> {
        assert!(!boundary.is_last(), "asked after the last trip");
        self.asked
            .push((boundary.path.to_string(), boundary.completed()));
        Ok(
            if boundary.path == self.path && boundary.completed() == self.after {
                TripControl::Break
            } else {
                TripControl::Continue
            },
        )
    }
}

#[test]
fn a_loop_stopped_after_k_trips_ends_as_if_it_had_k_trips() {
    let params = test_params();
    let sim = SimBackend::exact(params.clone());
    let n = 10; // 3 batches per epoch (4, 4 and 2 rows), the same ones each epoch
    let data = batches(n);
    let per_epoch: Vec<(Blocks, usize)> = (0..4).flat_map(|_| data.iter().cloned()).collect();
    let run = |plan: &Plan, observer: &mut dyn Observer<SimBackend>| {
        let mut ex = Executor::new(plan, &sim, None).unwrap();
        let (enc, dec) = sim_client();
        let mut inp = batch_input(enc, ex.scales().clone(), &per_epoch, n);
        let mut out = MemOutput::new(dec);
        let report = ex.run_with(&mut inp, &mut out, observer).unwrap();
        (out.got, report)
    };

    // EPOCHS = 4 stopped after 2 epochs = EPOCHS = 2, bit for bit (exact simulator).
    let (want, _) = run(&epochs_plan(&params, 2), &mut NoObserver);
    let mut stopper = Stopper {
        path: "body[2]",
        after: 2,
        asked: vec![],
    };
    let (got, report) = run(&epochs_plan(&params, 4), &mut stopper);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert_eq!(got, want);
    assert_eq!(report.trips["body[2]"], 2);
    assert_eq!(report.trips["body[2].loop[0]"], 6);
    // asked between trips only: inner boundaries 1, 2 per epoch, then outer boundary 1, 2
    let at = |path: &str, done: u64| (path.to_string(), done);
    let batch = "body[2].loop[0]";
    let expect = vec![
        at(batch, 1),
        at(batch, 2),
        at("body[2]", 1),
        at(batch, 1),
        at(batch, 2),
        at("body[2]", 2),
    ];
    assert_eq!(stopper.asked, expect);

    // A checkpoint taken at that boundary (before the decision) resumes into the decision
    // again: the resumed run stops there too and writes the final output of 2 epochs.
    let plan4 = epochs_plan(&params, 4);
    let mut ex = Executor::new(&plan4, &sim, None).unwrap();
    let mut saver = Saver {
        path: "body[2]",
        after: 2,
        saved: None,
        trips_seen: vec![],
    };
    let (enc, dec) = sim_client();
    let mut inp = batch_input(enc, ex.scales().clone(), &per_epoch, n);
    let mut full = MemOutput::new(dec);
    ex.run_with(&mut inp, &mut full, &mut saver).unwrap();
    assert_ne!(
        full.get("final", &[]),
        &want[&("final".to_string(), vec![])]
    );
    let checkpoint = saver.saved.expect("a checkpoint after 2 epochs");
    let (enc, dec) = sim_client();
    let mut rest = batch_input(enc, ex.scales().clone(), &per_epoch[6..], n);
    let mut resumed = MemOutput::new(dec);
    let mut stopper = Stopper {
        path: "body[2]",
        after: 2,
        asked: vec![],
    };
    // (a pair of observers: the first one never stops, so the second decides)
    ex.resume(
        &mut rest,
        &mut resumed,
        &mut (NoObserver, &mut stopper),
        checkpoint,
    )
    .unwrap();
    assert_eq!(stopper.asked, vec![("body[2]".to_string(), 2)]);
    assert_eq!(
        resumed.get("final", &[]),
        &want[&("final".to_string(), vec![])]
    );
    assert_eq!(
        rest.batches["xb"].len(),
        per_epoch.len() - 6,
        "no batch read"
    );

    // The batch loop cannot stop: the next epoch would read the batches it leaves.
    let mut ex = Executor::new(&plan4, &sim, None).unwrap();
    let (enc, dec) = sim_client();
    let mut inp = batch_input(enc, ex.scales().clone(), &per_epoch, n);
    let mut stopper = Stopper {
        path: "body[2].loop[0]",
        after: 1,
        asked: vec![],
    };
    let err = ex
        .run_with(&mut inp, &mut MemOutput::new(dec), &mut stopper)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("body[2].loop[0] trip 0:") && msg.contains("`xb`"),
        "{msg}"
    );
}

#[test]
fn live_ciphertexts_do_not_grow_with_the_trips() {
    let params = test_params();
    let sim = SimBackend::exact(params.clone());
    let peak = |trips: u64| {
        let mut b = Builder::new(&params, BLOCK, 5);
        let x = b.secret("x", 5, (2, 2));
        let (_, args) = b.begin_loop(&[x]);
        let r = b.ct(
            5,
            (2, 2),
            Op::Rotate {
                a: args[0],
                steps: 1,
            },
        );
        let s = b.ct(5, (2, 2), Op::Add { a: r, b: x });
        let t = b.ct(5, (2, 2), Op::Sub { a: s, b: args[0] });
        let out = b.end_loop(Trips::Fixed(trips), &[t]);
        b.output("y", out[0]);
        let plan = b.finish();
        let mut ex = Executor::new(&plan, &sim, None).unwrap();
        let (enc, dec) = sim_client();
        let mut inp = MemInput::new(enc, ex.scales().clone());
        let xs = random_blocks((2, 2), 16, true);
        inp.secret.insert("x".into(), (xs.clone(), 5));
        let mut out = MemOutput::new(dec);
        let report = ex.run(&mut inp, &mut out).unwrap();
        // y ← rot(y, 1) + x − y
        let mut y = xs.clone();
        for _ in 0..trips {
            y = zip(&zip(&rotate(&y, 1), &xs, |a, b| a + b), &y, |a, b| a - b);
        }
        check(&format!("sim loop of {trips}"), &y, out.get("y", &[]), 30.0);
        report.peak_live_ciphertexts
    };
    let (short, long) = (peak(2), peak(12));
    eprintln!("MEASURED peak live ciphertexts: {short} (2 trips), {long} (12 trips)");
    assert_eq!(short, long);
    // x, the carried value and at most two temporaries of 4 blocks each.
    assert!(long <= 16, "{long}");
}

// ---------------------------------------------------------------------------------- (e)

#[test]
fn errors_name_the_instruction_and_never_panic() {
    let params = test_params();
    let case = Elementwise::new(&params);

    // A plan compiled for other parameters.
    let other = Params::new_insecure_for_tests(test_boot_insecure()).unwrap();
    let sim_other = SimBackend::exact(other);
    let err = Executor::new(&case.plan, &sim_other, None)
        .err()
        .expect("refused");
    assert!(matches!(err, ExecError::ParamsMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("test-insecure") && msg.contains("test-boot-insecure"),
        "{msg}"
    );
    eprintln!("params mismatch: {msg}");

    let sim = SimBackend::exact(params.clone());
    let mut ex = Executor::new(&case.plan, &sim, None).unwrap();

    // A missing input.
    let (enc, dec) = sim_client();
    let mut inp = case.input(enc, ex.scales().clone());
    inp.secret.remove("y");
    let err = ex.run(&mut inp, &mut MemOutput::new(dec)).unwrap_err();
    assert_eq!(err.at(), Some("body[1] input"), "{err}");
    assert!(err.to_string().contains("`y`"), "{err}");
    eprintln!("missing input: {err}");

    // A zero in a valid element of p makes 1/p infinite there (padding is zeroed instead).
    let (enc, dec) = sim_client();
    let mut inp = case.input(enc, ex.scales().clone());
    inp.public.get_mut("p").unwrap().0[6 + 4] = 0.0; // element [1, 4]
    let err = ex.run(&mut inp, &mut MemOutput::new(dec)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("body[") && msg.contains("plain_unary") && msg.contains("element [1, 4]"),
        "{msg}"
    );
    eprintln!("non-finite: {msg}");

    // An input encrypted at another scale than the level's canonical one.
    let (_, dec) = sim_client();
    let mut inp = case.input(
        Box::new(|b: &SimBackend, z: &[C], l, s| b.encrypt(z, l, s * 2.0).unwrap()),
        ex.scales().clone(),
    );
    let err = ex.run(&mut inp, &mut MemOutput::new(dec)).unwrap_err();
    assert!(err.to_string().contains("canonical scale"), "{err}");

    // A plan that bootstraps needs a bootstrapper.
    let mut plan = case.plan.clone();
    plan.bootstrapping = true;
    plan.regs.push(RegInfo {
        kind: RegKind::Cipher,
        rows: GridDim::Fixed(2),
        cols: 2,
        level: Some(5),
        name: None,
        tensor: None,
    });
    let r = (plan.regs.len() - 1) as Reg;
    plan.body.push(Inst {
        results: vec![r],
        op: Op::Bootstrap { a: 0 },
    });
    let err = Executor::new(&plan, &sim, None).err().expect("refused");
    assert!(err.to_string().contains("bootstrapper"), "{err}");
}

#[test]
fn nested_loops_resume_from_an_inner_trip_boundary() {
    // outer (2 trips) carries w: a = w + x; inner (3 trips) carries v = a:
    // v ← rot(v, 1) + a; then w ← v_final − x.
    let params = test_params();
    let mut b = Builder::new(&params, BLOCK, 5);
    let x = b.secret("x", 5, (1, 2));
    let (_, outer) = b.begin_loop(&[x]);
    let a = b.ct(5, (1, 2), Op::Add { a: outer[0], b: x });
    let (_, inner) = b.begin_loop(&[a]);
    let r = b.ct(
        5,
        (1, 2),
        Op::Rotate {
            a: inner[0],
            steps: 1,
        },
    );
    let v = b.ct(5, (1, 2), Op::Add { a: r, b: a });
    b.output("v", v);
    let vf = b.end_loop(Trips::Fixed(3), &[v]);
    let w = b.ct(5, (1, 2), Op::Sub { a: vf[0], b: x });
    b.output("w", w);
    let wf = b.end_loop(Trips::Fixed(2), &[w]);
    b.output("final", wf[0]);
    let plan = b.finish();

    let sim = SimBackend::exact(params.clone());
    let mut ex = Executor::new(&plan, &sim, None).unwrap();
    let xs = random_blocks((1, 2), 16, true);
    let input = |ex: &Executor<SimBackend>| {
        let (enc, _) = sim_client();
        let mut inp = MemInput::new(enc, ex.scales().clone());
        inp.secret.insert("x".into(), (xs.clone(), 5));
        inp
    };
    let mut full = MemOutput::new(sim_client().1);
    let mut saver = Saver {
        path: "body[1].loop[1]",
        after: 1,
        saved: None,
        trips_seen: vec![],
    };
    // Keep the boundary of the inner loop's first trip in the outer loop's second trip.
    struct Second<'s>(&'s mut Saver<SimBackend>, u64);
    impl Observer<SimBackend> for Second<'_> {
        fn on_trip(&mut self, path: &str, trip: u64, trips: u64) {
            if path == "body[1]" {
                self.1 = trip;
            }
            self.0.on_trip(path, trip, trips);
        }
        fn on_trip_end(
            &mut self,
            boundary: &TripBoundary<'_, SimBackend>,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            if self.1 == 1 && boundary.path == self.0.path && boundary.completed() == 1 {
                assert!(!boundary.is_outermost());
                self.0.saved = Some(boundary.checkpoint());
            }
            Ok(())
        }
    }
    ex.run_with(&mut input(&ex), &mut full, &mut Second(&mut saver, 0))
        .unwrap();
    // f64 reference
    let mut wr = xs.clone();
    for _ in 0..2 {
        let a = zip(&wr, &xs, |p, q| p + q);
        let mut v = a.clone();
        for _ in 0..3 {
            v = zip(&rotate(&v, 1), &a, |p, q| p + q);
        }
        wr = zip(&v, &xs, |p, q| p - q);
    }
    check("sim nested loops", &wr, full.get("final", &[]), 30.0);

    let checkpoint = saver
        .saved
        .expect("a checkpoint inside the second outer trip");
    assert_eq!(
        checkpoint.position,
        vec![LoopPos { inst: 1, trip: 1 }, LoopPos { inst: 1, trip: 1 }]
    );
    let mut resumed = MemOutput::new(sim_client().1);
    ex.resume(&mut input(&ex), &mut resumed, &mut NoObserver, checkpoint)
        .unwrap();
    for key in [("v", vec![1, 2]), ("w", vec![1]), ("final", vec![])] {
        assert_eq!(
            resumed.get(key.0, &key.1),
            full.get(key.0, &key.1),
            "{key:?}"
        );
    }
    assert!(!resumed.got.contains_key(&("v".to_string(), vec![1, 0])));
    assert!(!resumed.got.contains_key(&("w".to_string(), vec![0])));
}
