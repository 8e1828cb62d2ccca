//! Compiled plans run on the runtime: the executor runs each example's plan on the noise
//! simulator in deterministic mode (exact arithmetic; bootstrapping's own approximation stays)
//! and on the simulator with noise, and the outputs match the tensor-IR evaluator (equal to the
//! reference interpreter) within a stated bound in bits. Parameters: the insecure N = 2^12
//! test set with nine levels between bootstraps, as `n16-boot`.

mod common;
use common::data::random_inputs;

use blindtune_compiler::ir::tensor::{self, interp as tinterp};
use blindtune_compiler::pipeline::{compile, CompileOptions};
use blindtune_compiler::CheckedProgram;
use blindtune_runtime::backend::{Backend, SimBackend, SimOptions};
use blindtune_runtime::circuits::bootstrapping::Bootstrapper;
use blindtune_runtime::executor::{Executor, Grid, InputSource, IoError, OutputSink};
use blindtune_runtime::plan::layout::{gather, scatter};
use blindtune_runtime::plan::params::resolve;
use blindtune_runtime::plan::{DimSpec, GridDim, Plan};
use common::streams::{streams, Queues};
use ndarray::ArrayD;
use num_complex::Complex64;
use std::collections::{BTreeMap, HashMap};

struct Source<'a> {
    plan: &'a Plan,
    data: BTreeMap<String, (Vec<f64>, [usize; 2])>,
    queues: Queues,
    dims: HashMap<String, usize>,
    scales: Vec<f64>,
}

impl Source<'_> {
    fn encrypt(
        &self,
        sim: &SimBackend,
        blocks: Vec<Vec<Vec<f64>>>,
        level: usize,
        rows: usize,
    ) -> Grid<<SimBackend as Backend>::Ct> {
        let mut blocks = blocks;
        while blocks.len() < rows {
            let w = blocks[0].len();
            blocks.push(vec![vec![0.0; self.plan.block.slots()]; w]);
        }
        blocks
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|b| {
                        let v: Vec<Complex64> =
                            b.into_iter().map(|x| Complex64::new(x, 0.0)).collect();
                        sim.encrypt(&v, level, self.scales[level]).unwrap()
                    })
                    .collect()
            })
            .collect()
    }
}

impl InputSource<SimBackend> for Source<'_> {
    fn secret(
        &mut self,
        sim: &SimBackend,
        name: &str,
    ) -> Result<Grid<<SimBackend as Backend>::Ct>, IoError> {
        let spec = self.plan.inputs.iter().find(|i| i.name == name).unwrap();
        let (d, s) = &self.data[name];
        let blocks = scatter(d, s[0], s[1], spec.layout, self.plan.block);
        Ok(self.encrypt(sim, blocks, spec.level.unwrap(), 0))
    }
    fn public(&mut self, name: &str) -> Result<(Vec<f64>, [usize; 2]), IoError> {
        Ok(self.data[name].clone())
    }
    fn next_batch(
        &mut self,
        sim: &SimBackend,
        name: &str,
    ) -> Result<(Grid<<SimBackend as Backend>::Ct>, usize), IoError> {
        let spec = self.plan.inputs.iter().find(|i| i.name == name).unwrap();
        let (d, rows) = self.queues.get_mut(name).unwrap().pop_front().unwrap();
        let cols = self.data[name].1[1];
        let blocks = scatter(&d, rows, cols, spec.layout, self.plan.block);
        let batch = spec.stream.as_ref().unwrap().batch;
        let want = batch.div_ceil(self.plan.block.s0);
        Ok((self.encrypt(sim, blocks, spec.level.unwrap(), want), rows))
    }
    fn dim(&self, name: &str) -> Option<usize> {
        self.dims.get(name).copied()
    }
}

struct Sink<'a> {
    plan: &'a Plan,
    dims: HashMap<String, usize>,
    out: BTreeMap<String, Vec<Vec<f64>>>,
}

impl OutputSink<SimBackend> for Sink<'_> {
    fn output(
        &mut self,
        sim: &SimBackend,
        name: &str,
        _trips: &[u64],
        grid: &Grid<<SimBackend as Backend>::Ct>,
    ) -> Result<(), IoError> {
        let spec = self.plan.outputs.iter().find(|o| o.name == name).unwrap();
        let len = |d: &DimSpec| match d {
            DimSpec::Fixed(n) => *n,
            DimSpec::Named(s) => self.dims[s],
        };
        let blocks: Vec<Vec<Vec<f64>>> = grid
            .iter()
            .map(|row| {
                row.iter()
                    .map(|ct| sim.decrypt(ct).iter().map(|z| z.re).collect())
                    .collect()
            })
            .collect();
        let v = gather(
            &blocks,
            len(&spec.shape[0]),
            len(&spec.shape[1]),
            spec.layout,
            self.plan.block,
        );
        self.out.entry(name.to_string()).or_default().push(v);
        Ok(())
    }
}

fn checked(name: &str, overrides: &[(&str, f64)]) -> CheckedProgram {
    let path = common::example_path(name);
    let ov = overrides.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let c = blindtune_compiler::check_file(&path, ov).unwrap();
    let diags = c.rendered_diagnostics();
    c.program.unwrap_or_else(|| panic!("{name}: {diags}"))
}

/// Runs `name` compiled for `test-boot9-insecure` on the simulator; returns the worst absolute
/// error in bits (−log2) over all outputs.
fn run_on_sim(
    name: &str,
    overrides: &[(&str, f64)],
    dims: &[(&str, usize)],
    seed: u64,
    noise: bool,
) -> f64 {
    run_on_sim_with(name, overrides, dims, seed, noise, false)
}

fn run_on_sim_with(
    name: &str,
    overrides: &[(&str, f64)],
    dims: &[(&str, usize)],
    seed: u64,
    noise: bool,
    lower_bootstrap_targets: bool,
) -> f64 {
    let cp = checked(name, overrides);
    let opts = CompileOptions {
        params: Some("test-boot9-insecure".into()),
        allow_insecure: true,
        seed,
        lower_bootstrap_targets,
        ..Default::default()
    };
    let compiled = compile(&cp, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let plan = &compiled.plan;
    let dims: BTreeMap<&str, usize> = dims.iter().cloned().collect();
    let arrays: BTreeMap<String, ArrayD<f64>> = random_inputs(&cp, &dims, seed)
        .into_iter()
        .map(|(k, t)| (k, t.data))
        .collect();
    let tp = tensor::lower(&cp).unwrap();
    let want = tinterp::run(&tp, &arrays, seed).unwrap();
    let pp = resolve(&plan.params, true).unwrap();
    let sim = SimBackend::new(
        pp.params.clone(),
        SimOptions {
            inject_noise: noise,
            seed,
            ..SimOptions::default()
        },
    );
    let boot = Bootstrapper::with_backend(sim, pp.bootstrapping.clone().unwrap()).unwrap();
    let mut ex = Executor::new(plan, boot.backend(), Some(&boot)).unwrap();
    let data: BTreeMap<String, (Vec<f64>, [usize; 2])> = arrays
        .iter()
        .map(|(k, a)| {
            let s = match a.shape() {
                [c] => [1, *c],
                [r, c] => [*r, *c],
                _ => [1, 1],
            };
            (k.clone(), (a.iter().copied().collect(), s))
        })
        .collect();
    let mut dimv = HashMap::new();
    for spec in &plan.inputs {
        for (k, d) in spec.shape.iter().enumerate() {
            if let DimSpec::Named(n) = d {
                dimv.insert(n.clone(), data[&spec.name].1[k]);
            }
        }
    }
    let scales: Vec<f64> = (0..=plan.max_level).map(|l| ex.scales().at(l)).collect();
    let mut src = Source {
        plan,
        queues: streams(plan, &data),
        data,
        dims: dimv.clone(),
        scales,
    };
    let mut sink = Sink {
        plan,
        dims: dimv,
        out: BTreeMap::new(),
    };
    let report = ex
        .run(&mut src, &mut sink)
        .unwrap_or_else(|e| panic!("{name} seed {seed}: {e}"));
    let _ = GridDim::Fixed(1);
    let mut worst: f64 = 0.0;
    for (out, values) in &want {
        let got = &sink.out[out];
        assert_eq!(got.len(), values.len(), "{name}: output {out} count");
        for (g, w) in got.iter().zip(values) {
            for (a, b) in g.iter().zip(w.iter()) {
                assert!(a.is_finite(), "{name} seed {seed}: non-finite output");
                worst = worst.max((a - b).abs());
            }
        }
    }
    let bits = -worst.log2();
    eprintln!(
        "{name} seed {seed} noise {noise}: worst error 2^-{bits:.1} ({} bootstraps)",
        report.bootstraps
    );
    bits
}

#[test]
fn hetal_head_fast_plan_runs_on_the_exact_simulator() {
    let seed = blindtune_runtime::ckks::testing::next_seed();
    let bits = run_on_sim(
        "hetal_head_fast",
        &[("EPOCHS", 1.0), ("B", 64.0)],
        &[("N", 100), ("T", 30)],
        seed,
        false,
    );
    assert!(bits >= 12.0, "seed {seed}: {bits:.1} bits");
}

#[test]
fn logreg_plan_runs_on_the_noisy_simulator() {
    let seed = blindtune_runtime::ckks::testing::next_seed();
    let bits = run_on_sim(
        "logreg",
        &[("EPOCHS", 2.0), ("B", 64.0)],
        &[("N", 100), ("T", 30)],
        seed,
        true,
    );
    assert!(bits >= 10.0, "seed {seed}: {bits:.1} bits");
}

/// Bootstraps to lowered targets (`compile --lower-bootstrap-targets`): the simulator checks
/// every level and scale the plan declares, and the result keeps its precision.
#[test]
fn logreg_plan_with_lowered_bootstrap_targets_runs_on_the_noisy_simulator() {
    let seed = blindtune_runtime::ckks::testing::next_seed();
    let bits = run_on_sim_with(
        "logreg",
        &[("EPOCHS", 2.0), ("B", 64.0)],
        &[("N", 100), ("T", 30)],
        seed,
        true,
        true,
    );
    assert!(bits >= 10.0, "seed {seed}: {bits:.1} bits");
}
