//! A small hand-built plan on the insecure N = 2^12 test set, and data for it.
//!
//! Inputs: `train_x` [N, 5] and `train_y` [N, 3] (one-hot from integer labels) streamed in
//! batches of 6 rows, shuffled, 2 entries, one order group; `test_x` [T, 5] whole;
//! `train_mean` [5] public; `test_y` [T] public but never read (stays with the owner).
//! Outputs echo the inputs back (`test_back` once, `xb`/`yb` per batch), so a test can play
//! the executor: read every input from a source and write it to a sink.
#![allow(dead_code)]

use std::collections::BTreeMap;

use blindtune_compiler::interp::data::{DataSet, Tensor};
use blindtune_runtime::backend::Backend;
use blindtune_runtime::ckks::galois::rotation_element;
use blindtune_runtime::ckks::keys::KeyManifest;
use blindtune_runtime::ckks::{presets, Params};
use blindtune_runtime::executor::io::{InputSource, OutputSink};
use blindtune_runtime::plan::*;
use ndarray::{ArrayD, IxDyn};

pub const N: usize = 20;
pub const T: usize = 11;
pub const D: usize = 5;
pub const C: usize = 3;
pub const BATCH: usize = 6;
pub const ENTRIES: u64 = 2;
pub const SEED: u64 = 7;

pub fn params() -> Params {
    Params::new_insecure_for_tests(presets::test_insecure()).unwrap()
}

fn reg(kind: RegKind, rows: GridDim, level: Option<usize>) -> RegInfo {
    RegInfo {
        kind,
        rows,
        cols: 1,
        level,
        name: None,
        tensor: None,
    }
}

fn inst(results: Vec<Reg>, op: Op) -> Inst {
    Inst { results, op }
}

/// The test plan (validated).
pub fn plan() -> Plan {
    let p = params();
    let named = |s: &str| DimSpec::Named(s.into());
    let stream = Some(StreamSpec {
        batch: BATCH,
        order: 0,
        shuffle: true,
        entries: ENTRIES,
    });
    let mut keys = KeyManifest {
        relinearization: true,
        galois_elements: vec![rotation_element(p.log_n(), 1)],
        max_levels: BTreeMap::new(),
    };
    keys.max_levels.insert(keys.galois_elements[0], 3);
    let plan = Plan {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        source: SourceInfo {
            name: "echo.bt".into(),
            blake3: "ab".repeat(32),
            params: BTreeMap::new(),
            mode: "optimized".into(),
        },
        params: p.name().into(),
        params_fingerprint: blindtune_client::params::fingerprint_hex(&p),
        insecure: true,
        block: BlockShape { s0: 8, s1: 16 },
        bootstrapping: false,
        max_level: p.max_level(),
        keys,
        inputs: vec![
            InputSpec {
                name: "train_x".into(),
                secret: true,
                shape: [named("N"), DimSpec::Fixed(D)],
                rank: 2,
                layout: Layout::ROW_MAJOR,
                level: Some(4),
                stream: stream.clone(),
            },
            InputSpec {
                name: "train_y".into(),
                secret: true,
                shape: [named("N"), DimSpec::Fixed(C)],
                rank: 2,
                layout: Layout::ROW_MAJOR,
                level: Some(4),
                stream,
            },
            InputSpec {
                name: "test_x".into(),
                secret: true,
                shape: [named("T"), DimSpec::Fixed(D)],
                rank: 2,
                layout: Layout::ROW_MAJOR,
                level: Some(5),
                stream: None,
            },
            InputSpec {
                name: "train_mean".into(),
                secret: false,
                shape: [DimSpec::Fixed(1), DimSpec::Fixed(D)],
                rank: 1,
                layout: Layout::ROW_MAJOR,
                level: None,
                stream: None,
            },
            InputSpec {
                name: "test_y".into(),
                secret: false,
                shape: [DimSpec::Fixed(1), named("T")],
                rank: 1,
                layout: Layout::ROW_MAJOR,
                level: None,
                stream: None,
            },
        ],
        outputs: vec![
            OutputSpec {
                name: "test_back".into(),
                shape: [named("T"), DimSpec::Fixed(D)],
                rank: 2,
                layout: Layout::ROW_MAJOR,
                repeated: false,
                against: None,
            },
            OutputSpec {
                name: "xb".into(),
                shape: [DimSpec::Fixed(BATCH), DimSpec::Fixed(D)],
                rank: 2,
                layout: Layout::ROW_MAJOR,
                repeated: true,
                against: None,
            },
            OutputSpec {
                name: "yb".into(),
                shape: [DimSpec::Fixed(BATCH), DimSpec::Fixed(C)],
                rank: 2,
                layout: Layout::ROW_MAJOR,
                repeated: true,
                against: None,
            },
        ],
        seed: SEED,
        regs: vec![
            reg(RegKind::Cipher, GridDim::Rows("T".into()), Some(5)),
            reg(RegKind::Plain, GridDim::Fixed(1), None),
            reg(RegKind::Scalar, GridDim::Fixed(1), None),
            reg(RegKind::Scalar, GridDim::Fixed(1), None),
            reg(RegKind::Cipher, GridDim::Fixed(1), Some(4)),
            reg(RegKind::Cipher, GridDim::Fixed(1), Some(4)),
        ],
        body: vec![
            inst(
                vec![0],
                Op::Input {
                    name: "test_x".into(),
                },
            ),
            inst(
                vec![1],
                Op::Input {
                    name: "train_mean".into(),
                },
            ),
            inst(
                vec![],
                Op::Output {
                    name: "test_back".into(),
                    value: 0,
                },
            ),
            inst(
                vec![],
                Op::Loop {
                    trips: Trips::Fixed(ENTRIES),
                    args: vec![2],
                    inits: vec![],
                    yields: vec![],
                    body: vec![inst(
                        vec![],
                        Op::Loop {
                            trips: Trips::Batches {
                                rows: "N".into(),
                                size: BATCH,
                            },
                            args: vec![3],
                            inits: vec![],
                            yields: vec![],
                            body: vec![
                                inst(
                                    vec![4],
                                    Op::BatchInput {
                                        name: "train_x".into(),
                                        dim: Some("b".into()),
                                    },
                                ),
                                inst(
                                    vec![5],
                                    Op::BatchInput {
                                        name: "train_y".into(),
                                        dim: Some("b".into()),
                                    },
                                ),
                                inst(
                                    vec![],
                                    Op::Output {
                                        name: "xb".into(),
                                        value: 4,
                                    },
                                ),
                                inst(
                                    vec![],
                                    Op::Output {
                                        name: "yb".into(),
                                        value: 5,
                                    },
                                ),
                            ],
                        },
                    )],
                },
            ),
        ],
        estimate: Estimate::default(),
    };
    plan.validate().unwrap_or_else(|e| panic!("test plan: {e}"));
    plan
}

fn tensor(shape: &[usize], data: Vec<f64>, integer: bool) -> Tensor {
    Tensor {
        data: ArrayD::from_shape_vec(IxDyn(shape), data).unwrap(),
        integer,
    }
}

/// Seeded data in [-1, 1] (labels in 0..C).
pub fn data(seed: u64) -> DataSet {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut ds = DataSet::new();
    ds.insert(
        "train_x".into(),
        tensor(
            &[N, D],
            (0..N * D).map(|_| next() * 2.0 - 1.0).collect(),
            false,
        ),
    );
    ds.insert(
        "train_y".into(),
        tensor(
            &[N],
            (0..N).map(|_| (next() * C as f64).floor()).collect(),
            true,
        ),
    );
    ds.insert(
        "test_x".into(),
        tensor(
            &[T, D],
            (0..T * D).map(|_| next() * 2.0 - 1.0).collect(),
            false,
        ),
    );
    ds.insert(
        "test_y".into(),
        tensor(
            &[T],
            (0..T).map(|_| (next() * C as f64).floor()).collect(),
            true,
        ),
    );
    ds.insert(
        "train_mean".into(),
        tensor(&[D], (0..D).map(|_| next()).collect(), false),
    );
    ds
}

/// Plays the executor of the test plan: reads every input in the plan's order and writes it
/// back as the matching output.
pub fn echo<B: Backend>(backend: &B, src: &mut impl InputSource<B>, sink: &mut impl OutputSink<B>) {
    let g = src.secret(backend, "test_x").unwrap();
    let (mean, shape) = src.public("train_mean").unwrap();
    assert_eq!(shape, [1, D]);
    assert_eq!(mean.len(), D);
    sink.output(backend, "test_back", &[], &g).unwrap();
    for e in 0..ENTRIES {
        for k in 0..N.div_ceil(BATCH) as u64 {
            let (x, rx) = src.next_batch(backend, "train_x").unwrap();
            let (y, ry) = src.next_batch(backend, "train_y").unwrap();
            assert_eq!(rx, ry);
            assert_eq!(rx, BATCH.min(N - k as usize * BATCH));
            sink.output(backend, "xb", &[e, k], &x).unwrap();
            sink.output(backend, "yb", &[e, k], &y).unwrap();
        }
    }
    assert_eq!(src.dim("N"), Some(N));
    assert_eq!(src.dim("T"), Some(T));
}

/// The rows of every batch, drawn directly from numpy's generator: entry by entry,
/// `default_rng(SEED).permutation(N)` chunked by `BATCH`.
pub fn numpy_batches() -> Vec<Vec<usize>> {
    let mut rng = blindtune_compiler::interp::nprng::NumpyRng::new(SEED);
    let mut out = Vec::new();
    for _ in 0..ENTRIES {
        let perm = rng.permutation(N);
        out.extend(perm.chunks(BATCH).map(|c| c.to_vec()));
    }
    out
}
