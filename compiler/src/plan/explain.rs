//! `blindtune explain`: what a plan needs and costs, read off the plan alone.
//!
//! For a loaded [`Plan`]: its parameters and security, block shape, inputs and outputs (layouts,
//! levels, streams), then per block (the top level and every loop body) the operation counts by
//! kind and by level, rotations, key switches and ciphertext products (from the counted trace
//! of each instruction: the same [`Pricer`] the compiler prices with, so a polynomial's
//! products and key switches are the evaluator's), the bootstraps per trip with their target
//! levels and slot counts, and the estimated time per trip (`plan.estimate`); the keys (every
//! Galois element of `plan.keys` with its level and size, the relinearization key, the
//! bootstrapping keys), and the peak of live ciphertexts with their bytes.
//!
//! Counts are per ciphertext *block*: an instruction on a grid of `R × C` blocks counts
//! `R·C` (a grid whose rows depend on the data takes the dimension the estimate assumed), a
//! `rotate_hoisted` of `k` steps counts `k` rotations (one decomposition), `sum_blocks` counts
//! its additions, as the compiler's estimate does. Counts of a block exclude its nested loops.
//!
//! Sizes: a ciphertext at level `l` is `2·(l+1)·N·8` bytes; a switching key held up to level
//! `l` has `d(l) = ⌈(l+1)/α⌉` digits (`α` limbs a digit, `Context::digits`), each a pair of
//! polynomials over the `l+1` Q limbs and every P limb: `2·d(l)·(l+1+|P|)·N·8` bytes in memory.
//! Key files store the uniform halves as 32-byte seeds (`SwitchingKey::stored_bytes`), so the
//! file size is `d(l)·(l+1+|P|)·N·8 + 32·d(l)` (envelopes add a few hundred bytes). Both are
//! reported.
//!
//! [`explain`] gathers an [`Explanation`] (serializable: `--json`), [`Explanation::text`]
//! renders it, [`dot`] writes the instruction dataflow as Graphviz (loops as clusters).

use super::price::Pricer;
use blindtune_runtime::circuits::bootstrapping::bootstrapper::key_manifest_for;
use blindtune_runtime::circuits::bootstrapping::EvalMod;
use blindtune_runtime::ckks::galois::{conjugation_element, rotation_element};
use blindtune_runtime::ckks::keys::{KeyManifest, RELINEARIZATION_ENTRY};
use blindtune_runtime::ckks::params::{max_log_qp_128, Params};
use blindtune_runtime::plan::params::{fingerprint_hex, resolve};
use blindtune_runtime::plan::{DimSpec, GridDim, Inst, Op, Plan, RegInfo, RegKind, Trips};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

/// The size the estimate assumes for a named dimension it was not told (the compiler's rule).
const DEFAULT_DIM: usize = 1024;

#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub format: String,
    pub version: u32,
    pub source: SourceSummary,
    pub params: ParamsSummary,
    pub block: BlockShapeSummary,
    pub assumed_dims: BTreeMap<String, usize>,
    pub inputs: Vec<InputSummary>,
    pub outputs: Vec<OutputSummary>,
    /// the top level first, then every loop body in program order
    pub blocks: Vec<BlockSummary>,
    pub keys: KeySummary,
    pub estimate: EstimateSummary,
    pub memory: MemorySummary,
}

#[derive(Clone, Debug, Serialize)]
pub struct SourceSummary {
    pub name: String,
    pub mode: String,
    pub blake3: String,
    pub params: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ParamsSummary {
    pub name: String,
    pub fingerprint: String,
    /// the plan's fingerprint is the one this build computes for the named set
    pub fingerprint_matches: bool,
    pub log_n: u32,
    pub n: usize,
    pub slots: usize,
    /// Q limbs (`max_level + 1`) and P limbs
    pub q_limbs: usize,
    pub p_limbs: usize,
    pub dnum: usize,
    /// limbs per key-switching digit
    pub alpha: usize,
    pub log_scale: u32,
    pub log_q: f64,
    pub log_qp: f64,
    /// the 128-bit bound on log2(QP) at this ring degree (HE standard)
    pub log_qp_bound_128: Option<u32>,
    pub secure_128: bool,
    /// the plan says it was compiled for a test set below the bound
    pub insecure: bool,
    /// the parameter set's top level
    pub max_level: usize,
    /// the plan's top level: fresh ciphertexts and bootstrap outputs
    pub plan_max_level: usize,
    pub bootstrapping: Option<BootstrappingSummary>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BootstrappingSummary {
    pub slots: usize,
    /// levels a bootstrap consumes above its output: CoeffsToSlots, EvalMod, SlotsToCoeffs
    pub cts_levels: usize,
    pub eval_mod_levels: usize,
    pub stc_levels: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct BlockShapeSummary {
    pub s0: usize,
    pub s1: usize,
    pub slots: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct InputSummary {
    pub name: String,
    pub secret: bool,
    pub shape: [String; 2],
    pub rank: usize,
    pub layout: String,
    /// block rows × block columns
    pub grid: String,
    pub level: Option<usize>,
    pub stream: Option<StreamSummary>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StreamSummary {
    pub batch: usize,
    pub order: usize,
    pub shuffle: bool,
    pub entries: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutputSummary {
    pub name: String,
    pub shape: [String; 2],
    pub rank: usize,
    pub layout: String,
    pub repeated: bool,
    pub against: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BlockSummary {
    /// the estimate's name of the block (`top`, `top/loop12`, `top/loop12/loop0`)
    pub name: String,
    /// the prefix of its instructions' paths in errors and validation (`body`,
    /// `body[12].loop`, `body[12].loop[0].loop`)
    pub at: String,
    /// loop nesting depth (top: 0)
    pub depth: usize,
    /// `None` for the top level
    pub trips: Option<String>,
    /// trips at the assumed dimensions
    pub trips_assumed: f64,
    /// how many times the body runs over the whole run (the product of the enclosing trips)
    pub runs: f64,
    /// the batch loop: its trips read a streamed batch
    pub batch_loop: bool,
    /// instructions directly in the block (nested loops count one each)
    pub instructions: usize,
    /// ciphertext operations by mnemonic, per trip, counted per block of the grid
    pub ops: BTreeMap<String, u64>,
    /// level → mnemonic → count: the level each operation runs at (its first ciphertext
    /// operand's; sources, trivial encryptions and bootstraps: their result's)
    pub by_level: BTreeMap<usize, BTreeMap<String, u64>>,
    /// `rotate` plus every step of `rotate_hoisted`
    pub rotations: u64,
    /// ciphertext × ciphertext products, those inside polynomials included
    pub products: u64,
    /// key switches outside bootstraps (rotations, relinearizations, conjugations, and those
    /// inside polynomials)
    pub key_switches: u64,
    /// decompositions (ModUp) outside bootstraps: hoisted rotations share one
    pub decompositions: u64,
    pub bootstraps_per_trip: u64,
    pub bootstraps: Vec<BootstrapSummary>,
    /// key switches inside the bootstraps of one trip
    pub bootstrap_key_switches: u64,
    /// estimated milliseconds per trip (nested loops included); the top level: one run of it
    /// alone
    pub ms_per_trip: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct BootstrapSummary {
    pub target_level: usize,
    pub input_level: usize,
    pub slots: usize,
    /// ciphertext blocks bootstrapped per trip at these levels
    pub count: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct KeySummary {
    pub relinearization: Option<KeyEntry>,
    /// every Galois key the owner generates: the plan's manifest with the bootstrapping keys
    pub galois: Vec<GaloisEntry>,
    /// the keys the program's own instructions use (no bootstrap), at the levels they use them
    pub program: KeyTotals,
    /// the bootstrapping manifest of the parameter set (relinearization, conjugation, the
    /// transforms' rotations) and the two encapsulation keys
    pub bootstrapping: Option<BootstrappingKeys>,
    /// everything: what `keygen` makes for this plan
    pub total: KeyTotals,
}

#[derive(Clone, Debug, Serialize)]
pub struct KeyEntry {
    pub max_level: usize,
    pub digits: usize,
    pub bytes_memory: u64,
    pub bytes_file: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct GaloisEntry {
    pub element: u64,
    /// the rotation (slot `j` ← slot `j + steps`, the amount of smallest magnitude), or none
    /// for the conjugation
    pub rotation: Option<i64>,
    pub conjugation: bool,
    pub key: KeyEntry,
    /// used by the program's instructions and/or by bootstrapping
    pub program: bool,
    pub bootstrap: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct KeyTotals {
    pub relinearization: bool,
    pub galois_keys: usize,
    pub bytes_memory: u64,
    pub bytes_file: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BootstrappingKeys {
    pub evaluation: KeyTotals,
    /// dense→sparse (one digit over `q_0·p_0`, both halves stored) and sparse→dense (a full
    /// switching key at the top level)
    pub encapsulation_bytes_memory: u64,
    pub encapsulation_bytes_file: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct EstimateSummary {
    pub total_ms: f64,
    /// the thread count of the cost table (the plan's own estimate is for one thread)
    pub threads: usize,
    /// a shipped cost table priced the plan (without one every time is zero)
    pub priced: bool,
    pub per_trip_ms: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MemorySummary {
    /// the compiler's figure: ciphertext registers live at once (`plan.estimate`)
    pub peak_live_registers: usize,
    /// the same liveness counted in ciphertext blocks, and their bytes at their levels
    pub peak_live_blocks: u64,
    pub peak_live_bytes: u64,
    /// one ciphertext at the plan's top level
    pub ciphertext_bytes_top: u64,
}

/// Bytes of a ciphertext at `level`.
pub fn ciphertext_bytes(n: usize, level: usize) -> u64 {
    2 * (level as u64 + 1) * n as u64 * 8
}

/// Digits of a switching key held up to `level` (`Context::digits`).
pub fn key_digits(params: &Params, level: usize) -> usize {
    (level + 1).div_ceil(params.alpha())
}

/// A switching key held up to `level`: (bytes in memory, bytes in a key file).
pub fn switching_key_bytes(params: &Params, level: usize) -> (u64, u64) {
    let d = key_digits(params, level) as u64;
    let poly = (level as u64 + 1 + params.p().len() as u64) * params.n() as u64 * 8;
    (2 * d * poly, d * poly + 32 * d)
}

fn key_entry(params: &Params, level: usize) -> KeyEntry {
    let (m, f) = switching_key_bytes(params, level);
    KeyEntry {
        max_level: level,
        digits: key_digits(params, level),
        bytes_memory: m,
        bytes_file: f,
    }
}

fn totals(params: &Params, m: &KeyManifest) -> KeyTotals {
    let top = params.max_level();
    let mut t = KeyTotals {
        relinearization: m.relinearization,
        galois_keys: m.galois_elements.len(),
        ..Default::default()
    };
    let mut add = |l: usize| {
        let (a, b) = switching_key_bytes(params, l);
        t.bytes_memory += a;
        t.bytes_file += b;
    };
    if m.relinearization {
        add(m.max_level(RELINEARIZATION_ENTRY, top));
    }
    for &g in &m.galois_elements {
        add(m.max_level(g, top));
    }
    t
}

fn dim(d: &DimSpec) -> String {
    match d {
        DimSpec::Fixed(n) => n.to_string(),
        DimSpec::Named(s) => s.clone(),
    }
}

struct Walker<'a> {
    plan: &'a Plan,
    pricer: Pricer,
    dims: BTreeMap<String, usize>,
    blocks: Vec<BlockSummary>,
    program_keys: KeyManifest,
}

impl Walker<'_> {
    fn dim_value(&self, d: &str) -> usize {
        self.dims.get(d).copied().unwrap_or(DEFAULT_DIM)
    }

    fn grid(&self, info: &RegInfo) -> u64 {
        let rows = match &info.rows {
            GridDim::Fixed(n) => *n as u64,
            GridDim::Rows(d) => (self.dim_value(d) as u64)
                .div_ceil(self.plan.block.s0 as u64)
                .max(1),
        };
        rows * info.cols as u64
    }

    fn trips(&self, t: &Trips) -> (String, f64) {
        match t {
            Trips::Fixed(n) => (n.to_string(), *n as f64),
            Trips::Batches { rows, size } => {
                let v = self.dim_value(rows).div_ceil(*size).max(1);
                (
                    format!("⌈{rows}/{size}⌉ ({v} at {rows} = {})", self.dim_value(rows)),
                    v as f64,
                )
            }
        }
    }

    fn level(&self, r: u32) -> Option<usize> {
        self.plan.regs.get(r as usize).and_then(|i| i.level)
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &mut self,
        insts: &[Inst],
        name: String,
        at: String,
        depth: usize,
        trips: Option<(String, f64)>,
        runs: f64,
    ) {
        let me = self.blocks.len();
        let batch_loop = insts.iter().any(|i| matches!(i.op, Op::BatchInput { .. }));
        self.blocks.push(BlockSummary {
            ms_per_trip: if depth == 0 {
                None
            } else {
                self.plan.estimate.per_trip_ms.get(&name).copied()
            },
            name: name.clone(),
            at: at.clone(),
            depth,
            trips_assumed: trips.as_ref().map_or(1.0, |t| t.1),
            trips: trips.map(|t| t.0),
            runs,
            batch_loop,
            instructions: insts.len(),
            ops: BTreeMap::new(),
            by_level: BTreeMap::new(),
            rotations: 0,
            products: 0,
            key_switches: 0,
            decompositions: 0,
            bootstraps_per_trip: 0,
            bootstraps: Vec::new(),
            bootstrap_key_switches: 0,
        });
        let mut boots: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        for (k, inst) in insts.iter().enumerate() {
            if let Op::Loop { trips, body, .. } = &inst.op {
                let t = self.trips(trips);
                let n = t.1;
                self.walk(
                    body,
                    format!("{name}/loop{k}"),
                    format!("{at}[{k}].loop"),
                    depth + 1,
                    Some(t),
                    runs * n,
                );
                continue;
            }
            let Some(out) = inst
                .results
                .first()
                .and_then(|&r| self.plan.regs.get(r as usize))
            else {
                continue;
            };
            if out.kind != RegKind::Cipher {
                continue;
            }
            let w = match &inst.op {
                Op::SumBlocks { a, .. } => self
                    .plan
                    .regs
                    .get(*a as usize)
                    .map_or(0, |i| self.grid(i).saturating_sub(self.grid(out))),
                _ => self.grid(out),
            };
            let first_ct = inst.op.operands().into_iter().find(|&o| {
                self.plan
                    .regs
                    .get(o as usize)
                    .is_some_and(|i| i.kind == RegKind::Cipher)
            });
            let level = match &inst.op {
                Op::Bootstrap { .. } => out.level,
                _ => first_ct.and_then(|o| self.level(o)).or(out.level),
            }
            .unwrap_or(0);
            let mnemonic = inst.op.mnemonic().to_string();
            let count = match &inst.op {
                Op::RotateHoisted { steps, .. } => w * steps.len() as u64,
                _ => w,
            };
            let priced = self.pricer.price_full(&inst.op, &self.plan.regs, out.level);
            let b = &mut self.blocks[me];
            *b.ops.entry(mnemonic.clone()).or_default() += count;
            *b.by_level
                .entry(level)
                .or_default()
                .entry(mnemonic)
                .or_default() += count;
            if matches!(inst.op, Op::Rotate { .. } | Op::RotateHoisted { .. }) {
                b.rotations += count;
            }
            if let Op::Bootstrap { a } = &inst.op {
                let from = self.level(*a).unwrap_or(0);
                *boots.entry((out.level.unwrap_or(0), from)).or_default() += w;
                let b = &mut self.blocks[me];
                b.bootstraps_per_trip += w;
                b.bootstrap_key_switches += w * priced.key_switches as u64;
            } else {
                let b = &mut self.blocks[me];
                b.products += w * priced.products as u64;
                b.key_switches += w * priced.key_switches as u64;
                b.decompositions += w * priced.decompositions as u64;
                self.program_keys.union(&priced.keys);
            }
        }
        let slots = self.plan.block.slots();
        self.blocks[me].bootstraps = boots
            .into_iter()
            .map(|((t, f), c)| BootstrapSummary {
                target_level: t,
                input_level: f,
                slots,
                count: c,
            })
            .collect();
    }
}

/// Peak of live ciphertexts as the compiler's estimate counts them (a register lives from its
/// definition to its last use in its block; values of enclosing blocks stay live), weighted by
/// blocks and by bytes.
fn peak_live(plan: &Plan, dims: &BTreeMap<String, usize>) -> (u64, u64) {
    let n = 1usize << plan_log_n(plan);
    let weight = |r: u32| -> (u64, u64) {
        let Some(i) = plan.regs.get(r as usize) else {
            return (0, 0);
        };
        if i.kind != RegKind::Cipher {
            return (0, 0);
        }
        let rows = match &i.rows {
            GridDim::Fixed(n) => *n as u64,
            GridDim::Rows(d) => (dims.get(d).copied().unwrap_or(DEFAULT_DIM) as u64)
                .div_ceil(plan.block.s0 as u64)
                .max(1),
        };
        let blocks = rows * i.cols as u64;
        (blocks, blocks * ciphertext_bytes(n, i.level.unwrap_or(0)))
    };
    fn block(insts: &[Inst], outer: (u64, u64), weight: &dyn Fn(u32) -> (u64, u64)) -> (u64, u64) {
        let mut last: BTreeMap<u32, usize> = BTreeMap::new();
        for (k, inst) in insts.iter().enumerate() {
            let mut ops = inst.op.operands();
            if let Op::Loop { yields, .. } = &inst.op {
                ops.extend(yields);
            }
            for o in ops {
                last.insert(o, k);
            }
        }
        let mut dying: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
        for (&r, &k) in &last {
            dying.entry(k).or_default().push(r);
        }
        let mut live = (0u64, 0u64);
        let mut peak = outer;
        for (k, inst) in insts.iter().enumerate() {
            if let Op::Loop { body, .. } = &inst.op {
                let inner = block(body, (outer.0 + live.0, outer.1 + live.1), weight);
                peak = (peak.0.max(inner.0), peak.1.max(inner.1));
            }
            for &r in &inst.results {
                let w = weight(r);
                live = (live.0 + w.0, live.1 + w.1);
            }
            peak = (peak.0.max(outer.0 + live.0), peak.1.max(outer.1 + live.1));
            for &r in dying.get(&k).into_iter().flatten() {
                if inst.results.contains(&r) {
                    continue;
                }
                let w = weight(r);
                live = (live.0.saturating_sub(w.0), live.1.saturating_sub(w.1));
            }
        }
        peak
    }
    block(&plan.body, (0, 0), &weight)
}

fn plan_log_n(plan: &Plan) -> u32 {
    (2 * plan.block.slots()).trailing_zeros()
}

/// [`explain`] with the estimate re-priced for `threads` by the cost table shipped for that
/// count ([`super::estimate_for_threads`]); an error names the counts that have one.
pub fn explain_at(plan: &Plan, threads: usize) -> Result<Explanation, String> {
    if threads == 1 {
        return explain(plan);
    }
    let est = super::estimate_for_threads(plan, threads).ok_or_else(|| {
        let have: Vec<String> = (1..=256)
            .filter(|&t| blindtune_runtime::backend::cost::shipped_table(&plan.params, t).is_some())
            .map(|t| t.to_string())
            .collect();
        format!(
            "no cost table ships for `{}` on {threads} threads (tables for: {})",
            plan.params,
            have.join(", ")
        )
    })?;
    let mut p = plan.clone();
    p.estimate = est;
    let mut e = explain(&p)?;
    e.estimate.threads = threads;
    Ok(e)
}

/// Explains `plan`. Fails only when its parameter set is unknown to this build.
pub fn explain(plan: &Plan) -> Result<Explanation, String> {
    let pp = resolve(&plan.params, true)?;
    let params = &pp.params;
    let n = params.n();
    let boot_manifest = pp
        .bootstrapping
        .as_ref()
        .filter(|_| plan.bootstrapping)
        .map(|c| key_manifest_for(params, c));
    let mut dims = plan.estimate.assumed_dims.clone();
    for i in &plan.inputs {
        for d in &i.shape {
            if let DimSpec::Named(s) = d {
                dims.entry(s.clone()).or_insert(DEFAULT_DIM);
            }
        }
    }
    let mut w = Walker {
        plan,
        pricer: Pricer::new(params, pp.bootstrapping.as_ref(), None),
        dims: dims.clone(),
        blocks: Vec::new(),
        program_keys: KeyManifest::default(),
    };
    w.walk(&plan.body, "top".into(), "body".into(), 0, None, 1.0);
    let blocks = std::mem::take(&mut w.blocks);
    let program_keys = w.program_keys.clone();

    let mut all = plan.keys.clone();
    if let Some(b) = &boot_manifest {
        all.union(b);
    }
    let top = params.max_level();
    let conj = conjugation_element(params.log_n());
    let mut rot_of: HashMap<u64, i64> = HashMap::new();
    for s in 0..(n / 2) as i64 {
        rot_of
            .entry(rotation_element(params.log_n(), s))
            .or_insert(s);
    }
    let galois = all
        .galois_elements
        .iter()
        .map(|&g| GaloisEntry {
            element: g,
            rotation: rot_of.get(&g).map(|&s| {
                if s > n as i64 / 4 {
                    s - n as i64 / 2
                } else {
                    s
                }
            }),
            conjugation: g == conj,
            key: key_entry(params, all.max_level(g, top)),
            program: program_keys.galois_elements.contains(&g),
            bootstrap: boot_manifest
                .as_ref()
                .is_some_and(|b| b.galois_elements.contains(&g)),
        })
        .collect();
    let encapsulation = boot_manifest.as_ref().map(|_| {
        // dense→sparse: b and a over the two limbs q_0, p_0; sparse→dense: a full key
        let enc = 2 * 2 * n as u64 * 8;
        let (m, f) = switching_key_bytes(params, top);
        (enc + m, enc + f)
    });
    let mut total = totals(params, &all);
    if let Some((m, f)) = encapsulation {
        total.bytes_memory += m;
        total.bytes_file += f;
    }
    let keys = KeySummary {
        relinearization: all
            .relinearization
            .then(|| key_entry(params, all.max_level(RELINEARIZATION_ENTRY, top))),
        galois,
        program: totals(params, &program_keys),
        bootstrapping: boot_manifest.as_ref().map(|b| {
            let (m, f) = encapsulation.unwrap_or((0, 0));
            BootstrappingKeys {
                evaluation: totals(params, b),
                encapsulation_bytes_memory: m,
                encapsulation_bytes_file: f,
            }
        }),
        total,
    };

    let (peak_blocks, peak_bytes) = peak_live(plan, &dims);
    let bootstrapping = pp
        .bootstrapping
        .as_ref()
        .filter(|_| plan.bootstrapping)
        .map(|c| BootstrappingSummary {
            slots: c.slots,
            cts_levels: c.cts_levels,
            eval_mod_levels: EvalMod::new(c.eval_mod.clone()).depth(),
            stc_levels: c.stc_levels,
        });
    let layout = |l: &blindtune_runtime::plan::Layout| l.to_string();
    let grid = |shape: &[DimSpec; 2], l: &blindtune_runtime::plan::Layout| {
        let axis = |k: usize| match (&shape[k], l.axis(k)) {
            (_, a) if a != blindtune_runtime::plan::AxisLayout::Blocked => "1".to_string(),
            (DimSpec::Fixed(len), _) => len.div_ceil(plan.block.extent(k)).max(1).to_string(),
            (DimSpec::Named(d), _) => format!("⌈{d}/{}⌉", plan.block.extent(k)),
        };
        format!("{}×{}", axis(0), axis(1))
    };
    Ok(Explanation {
        format: plan.format.clone(),
        version: plan.version,
        source: SourceSummary {
            name: plan.source.name.clone(),
            mode: plan.source.mode.clone(),
            blake3: plan.source.blake3.clone(),
            params: plan.source.params.clone(),
        },
        params: ParamsSummary {
            name: plan.params.clone(),
            fingerprint: plan.params_fingerprint.clone(),
            fingerprint_matches: fingerprint_hex(params) == plan.params_fingerprint,
            log_n: params.log_n(),
            n,
            slots: n / 2,
            q_limbs: params.q().len(),
            p_limbs: params.p().len(),
            dnum: params.dnum(),
            alpha: params.alpha(),
            log_scale: params.literal().log_scale,
            log_q: params.log_q(),
            log_qp: params.log_qp(),
            log_qp_bound_128: max_log_qp_128(params.log_n()),
            secure_128: params.is_secure(),
            insecure: plan.insecure,
            max_level: params.max_level(),
            plan_max_level: plan.max_level,
            bootstrapping,
        },
        block: BlockShapeSummary {
            s0: plan.block.s0,
            s1: plan.block.s1,
            slots: plan.block.slots(),
        },
        assumed_dims: dims,
        inputs: plan
            .inputs
            .iter()
            .map(|i| InputSummary {
                name: i.name.clone(),
                secret: i.secret,
                shape: [dim(&i.shape[0]), dim(&i.shape[1])],
                rank: i.rank,
                layout: layout(&i.layout),
                grid: grid(&i.shape, &i.layout),
                level: i.level,
                stream: i.stream.as_ref().map(|s| StreamSummary {
                    batch: s.batch,
                    order: s.order,
                    shuffle: s.shuffle,
                    entries: s.entries,
                }),
            })
            .collect(),
        outputs: plan
            .outputs
            .iter()
            .map(|o| OutputSummary {
                name: o.name.clone(),
                shape: [dim(&o.shape[0]), dim(&o.shape[1])],
                rank: o.rank,
                layout: layout(&o.layout),
                repeated: o.repeated,
                against: o.against.clone(),
            })
            .collect(),
        blocks,
        keys,
        estimate: EstimateSummary {
            total_ms: plan.estimate.total_ms,
            threads: 1,
            priced: plan.estimate.total_ms > 0.0,
            per_trip_ms: plan.estimate.per_trip_ms.clone(),
        },
        memory: MemorySummary {
            peak_live_registers: plan.estimate.peak_live_ciphertexts,
            peak_live_blocks: peak_blocks,
            peak_live_bytes: peak_bytes,
            ciphertext_bytes_top: ciphertext_bytes(n, plan.max_level),
        },
    })
}

/// `1.5 GiB`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn secs(ms: f64) -> String {
    if ms >= 1e3 {
        format!("{:.1} s", ms / 1e3)
    } else {
        format!("{ms:.1} ms")
    }
}

fn numeric(s: &str) -> bool {
    (s.len() > 1 && s.starts_with('-')) || s.starts_with(|c: char| c.is_ascii_digit() || c == '@')
}

/// A plain-text table: columns whose cells are all numbers are right-aligned, others left.
fn table(out: &mut String, indent: &str, rows: &[Vec<String>]) {
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let right: Vec<bool> = (0..cols)
        .map(|c| {
            c > 0
                && rows
                    .iter()
                    .skip(1)
                    .filter_map(|r| r.get(c))
                    .all(|s| numeric(s) || s == "-" || s == ".")
                && rows
                    .iter()
                    .skip(1)
                    .filter_map(|r| r.get(c))
                    .any(|s| numeric(s))
        })
        .collect();
    for r in rows {
        let mut line = indent.to_string();
        for (c, cell) in r.iter().enumerate() {
            let pad = " ".repeat(width[c] - cell.chars().count());
            if c > 0 {
                line += "  ";
            }
            if right[c] {
                line += &pad;
                line += cell;
            } else {
                line += cell;
                line += &pad;
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

impl Explanation {
    /// The readable report.
    pub fn text(&self) -> String {
        let mut o = String::new();
        let p = &self.params;
        let s = &self.source;
        let _ = writeln!(
            o,
            "plan of {} ({} v{}, {} mode)",
            s.name, self.format, self.version, s.mode
        );
        if !s.params.is_empty() {
            let kv: Vec<String> = s.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(o, "  params: {}", kv.join(", "));
        }
        let _ = writeln!(o, "  source blake3 {}", s.blake3);
        let _ = writeln!(o);
        let _ = writeln!(o, "parameters: {}", p.name);
        let _ = writeln!(
            o,
            "  N = 2^{} ({} slots), {} Q limbs (top level {}), {} P limbs, dnum {} (α = {} limbs a digit), scale 2^{}",
            p.log_n, p.slots, p.q_limbs, p.max_level, p.p_limbs, p.dnum, p.alpha, p.log_scale
        );
        let security = if p.secure_128 {
            "128-bit secure".to_string()
        } else {
            "BELOW the 128-bit bound (test set, insecure)".to_string()
        };
        let _ = writeln!(
            o,
            "  log2 Q = {:.1}, log2 QP = {:.1} (128-bit bound {}): {security}",
            p.log_q,
            p.log_qp,
            p.log_qp_bound_128
                .map_or("unknown".to_string(), |b| b.to_string())
        );
        let _ = writeln!(
            o,
            "  fingerprint {}{}",
            p.fingerprint,
            if p.fingerprint_matches {
                ""
            } else {
                " (differs from this build's: the plan will not run)"
            }
        );
        match &p.bootstrapping {
            Some(b) => {
                let _ = writeln!(
                    o,
                    "  bootstrapping: {} slots, {} + {} + {} levels (CoeffsToSlots, EvalMod, SlotsToCoeffs); plan levels 0..={}",
                    b.slots, b.cts_levels, b.eval_mod_levels, b.stc_levels, p.plan_max_level
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "  no bootstrapping; plan levels 0..={}",
                    p.plan_max_level
                );
            }
        }
        let _ = writeln!(
            o,
            "block: {} × {} ({} slots)",
            self.block.s0, self.block.s1, self.block.slots
        );
        if !self.assumed_dims.is_empty() {
            let kv: Vec<String> = self
                .assumed_dims
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            let _ = writeln!(o, "assumed dimensions: {}", kv.join(", "));
        }

        let _ = writeln!(o, "\ninputs:");
        let mut rows = vec![vec![
            "name".to_string(),
            "kind".into(),
            "shape".into(),
            "layout".into(),
            "grid".into(),
            "level".into(),
            "stream".into(),
        ]];
        for i in &self.inputs {
            rows.push(vec![
                i.name.clone(),
                if i.secret { "secret" } else { "public" }.into(),
                format!("[{}, {}]", i.shape[0], i.shape[1]),
                i.layout.clone(),
                i.grid.clone(),
                i.level.map_or("-".into(), |l| l.to_string()),
                i.stream.as_ref().map_or("-".into(), |s| {
                    format!(
                        "batch {}, order {}, {}, {} entries",
                        s.batch,
                        s.order,
                        if s.shuffle { "shuffled" } else { "in order" },
                        s.entries
                    )
                }),
            ]);
        }
        table(&mut o, "  ", &rows);
        let _ = writeln!(o, "outputs:");
        let mut rows = vec![vec![
            "name".to_string(),
            "shape".into(),
            "layout".into(),
            "written".into(),
            "against".into(),
        ]];
        for x in &self.outputs {
            rows.push(vec![
                x.name.clone(),
                format!("[{}, {}]", x.shape[0], x.shape[1]),
                x.layout.clone(),
                if x.repeated { "every trip" } else { "once" }.into(),
                x.against.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        table(&mut o, "  ", &rows);

        for b in &self.blocks {
            let _ = writeln!(o);
            match &b.trips {
                None => {
                    let _ = writeln!(
                        o,
                        "top level ({}): {} instructions, runs once",
                        b.at, b.instructions
                    );
                }
                Some(t) => {
                    let _ = writeln!(
                        o,
                        "{}loop {} ({}): trips {}{}, {} instructions, {} trips over the run",
                        "  ".repeat(b.depth - 1),
                        b.name,
                        b.at,
                        t,
                        if b.batch_loop { " (batch loop)" } else { "" },
                        b.instructions,
                        b.runs
                    );
                }
            }
            let ind = "  ".repeat(b.depth + 1);
            if b.ops.is_empty() {
                let _ = writeln!(o, "{ind}no ciphertext operations");
            } else {
                let levels: Vec<usize> = b.by_level.keys().rev().copied().collect();
                let mut head = vec!["op (per trip)".to_string(), "total".into()];
                head.extend(levels.iter().map(|l| format!("@{l}")));
                let mut rows = vec![head];
                for (kind, total) in &b.ops {
                    let mut r = vec![kind.clone(), total.to_string()];
                    for l in &levels {
                        r.push(
                            b.by_level[l]
                                .get(kind)
                                .map_or(".".into(), |c| c.to_string()),
                        );
                    }
                    rows.push(r);
                }
                table(&mut o, &ind, &rows);
                let _ = writeln!(
                    o,
                    "{ind}rotations {}, ct×ct products {} (polynomials included), key switches {}, decompositions {}",
                    b.rotations, b.products, b.key_switches, b.decompositions
                );
            }
            if b.bootstraps.is_empty() {
                let _ = writeln!(o, "{ind}bootstraps per trip: 0");
            } else {
                let list: Vec<String> = b
                    .bootstraps
                    .iter()
                    .map(|x| {
                        format!(
                            "{} from level {} to {} ({} slots)",
                            x.count, x.input_level, x.target_level, x.slots
                        )
                    })
                    .collect();
                let _ = writeln!(
                    o,
                    "{ind}bootstraps per trip: {}: {} ({} key switches)",
                    b.bootstraps_per_trip,
                    list.join(", "),
                    b.bootstrap_key_switches
                );
            }
            if let Some(ms) = b.ms_per_trip {
                let _ = writeln!(
                    o,
                    "{ind}estimated {} per trip (nested loops included), {} over the run",
                    secs(ms),
                    secs(ms * b.runs)
                );
            }
        }

        let k = &self.keys;
        let _ = writeln!(
            o,
            "\nkeys (bytes in memory / in a key file with seeded uniform halves):"
        );
        if let Some(r) = &k.relinearization {
            let _ = writeln!(
                o,
                "  relinearization: level {}, {} digits, {} / {}",
                r.max_level,
                r.digits,
                human_bytes(r.bytes_memory),
                human_bytes(r.bytes_file)
            );
        }
        let _ = writeln!(
            o,
            "  Galois keys: {} ({} used by the program's instructions, {} by bootstrapping)",
            k.galois.len(),
            k.galois.iter().filter(|g| g.program).count(),
            k.galois.iter().filter(|g| g.bootstrap).count()
        );
        let mut rows = vec![vec![
            "element".to_string(),
            "rotation".into(),
            "level".into(),
            "digits".into(),
            "memory".into(),
            "file".into(),
            "used by".into(),
        ]];
        for g in &k.galois {
            rows.push(vec![
                g.element.to_string(),
                if g.conjugation {
                    "conjugate".into()
                } else {
                    g.rotation.map_or("?".into(), |r| r.to_string())
                },
                g.key.max_level.to_string(),
                g.key.digits.to_string(),
                human_bytes(g.key.bytes_memory),
                human_bytes(g.key.bytes_file),
                match (g.program, g.bootstrap) {
                    (true, true) => "program, bootstrap",
                    (true, false) => "program",
                    (false, true) => "bootstrap",
                    (false, false) => "-",
                }
                .into(),
            ]);
        }
        if !k.galois.is_empty() {
            table(&mut o, "    ", &rows);
        }
        let t = |x: &KeyTotals| {
            format!(
                "{} Galois keys{}: {} / {}",
                x.galois_keys,
                if x.relinearization {
                    " + relinearization"
                } else {
                    ""
                },
                human_bytes(x.bytes_memory),
                human_bytes(x.bytes_file)
            )
        };
        let _ = writeln!(o, "  the program's instructions alone: {}", t(&k.program));
        if let Some(b) = &k.bootstrapping {
            let _ = writeln!(
                o,
                "  bootstrapping: {}; encapsulation keys {} / {}",
                t(&b.evaluation),
                human_bytes(b.encapsulation_bytes_memory),
                human_bytes(b.encapsulation_bytes_file)
            );
        }
        let _ = writeln!(o, "  total (what keygen makes): {}", t(&k.total));

        let e = &self.estimate;
        let _ = writeln!(o);
        if e.priced {
            let _ = writeln!(
                o,
                "estimated time: {} in all at the assumed dimensions ({} thread{})",
                secs(e.total_ms),
                e.threads,
                if e.threads == 1 { "" } else { "s" }
            );
            for b in self.blocks.iter().filter(|b| b.ms_per_trip.is_some()) {
                let ms = b.ms_per_trip.unwrap_or(0.0);
                let _ = writeln!(
                    o,
                    "  {}: {} per trip × {} trips = {}",
                    b.name,
                    secs(ms),
                    b.runs,
                    secs(ms * b.runs)
                );
            }
        } else {
            let _ = writeln!(
                o,
                "estimated time: none (no shipped cost table for `{}`)",
                self.params.name
            );
        }
        let m = &self.memory;
        let _ = writeln!(
            o,
            "peak live ciphertexts: {} registers, {} blocks, {} (one ciphertext at level {}: {})",
            m.peak_live_registers,
            m.peak_live_blocks,
            human_bytes(m.peak_live_bytes),
            self.params.plan_max_level,
            human_bytes(m.ciphertext_bytes_top)
        );
        o
    }

    /// The block whose figures the comparison tables use: the innermost batch loop (the
    /// first, if several), or the top level.
    pub fn batch_block(&self) -> &BlockSummary {
        self.blocks
            .iter()
            .filter(|b| b.batch_loop)
            .max_by_key(|b| b.depth)
            .unwrap_or(&self.blocks[0])
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The instruction dataflow as Graphviz: one node per instruction, an edge from the definition
/// of each operand, loops as clusters with their region arguments (`^`) and back edges from
/// their yields (dashed).
pub fn dot(plan: &Plan) -> String {
    struct D<'p> {
        plan: &'p Plan,
        out: String,
        def: HashMap<u32, String>,
        edges: BTreeSet<(String, String, bool)>,
        next: usize,
    }
    impl D<'_> {
        fn reg(&self, r: u32) -> String {
            let info = self.plan.regs.get(r as usize);
            let name = info
                .and_then(|i| i.name.as_ref())
                .map(|n| format!("%{r}.{n}"))
                .unwrap_or_else(|| format!("%{r}"));
            match info.and_then(|i| i.level) {
                Some(l) => format!("{name}@{l}"),
                None => name,
            }
        }
        fn node(&mut self, label: &str, style: &str, pad: &str) -> String {
            let id = format!("n{}", self.next);
            self.next += 1;
            let _ = writeln!(self.out, "{pad}{id} [label=\"{}\"{style}];", esc(label));
            id
        }
        fn use_(&mut self, r: u32, to: &str, back: bool) {
            if let Some(from) = self.def.get(&r) {
                self.edges.insert((from.clone(), to.to_string(), back));
            }
        }
        fn block(&mut self, insts: &[Inst], at: &str, depth: usize) {
            let pad = "  ".repeat(depth + 1);
            for (k, inst) in insts.iter().enumerate() {
                let path = format!("{at}[{k}]");
                if let Op::Loop {
                    trips,
                    args,
                    inits,
                    body,
                    yields,
                } = &inst.op
                {
                    let trips = match trips {
                        Trips::Fixed(n) => format!("{n} trips"),
                        Trips::Batches { rows, size } => format!("batches of {size} over {rows}"),
                    };
                    let _ = writeln!(self.out, "{pad}subgraph cluster_{} {{", self.next);
                    let _ = writeln!(
                        self.out,
                        "{pad}  label=\"{} loop: {}\"; style=rounded;",
                        esc(&path),
                        esc(&trips)
                    );
                    let names: Vec<String> = args.iter().map(|&a| self.reg(a)).collect();
                    let head = self.node(
                        &format!("^({})", names.join(", ")),
                        ", shape=ellipse",
                        &format!("{pad}  "),
                    );
                    for &i in inits {
                        self.use_(i, &head, false);
                    }
                    for &a in args {
                        self.def.insert(a, head.clone());
                    }
                    self.block(body, &format!("{path}.loop"), depth + 1);
                    let names: Vec<String> = inst.results.iter().map(|&r| self.reg(r)).collect();
                    let tail = self.node(
                        &format!("yield → {}", names.join(", ")),
                        ", shape=ellipse",
                        &format!("{pad}  "),
                    );
                    for &y in yields {
                        self.use_(y, &tail, false);
                    }
                    self.edges.insert((tail.clone(), head.clone(), true));
                    let _ = writeln!(self.out, "{pad}}}");
                    for &r in &inst.results {
                        self.def.insert(r, tail.clone());
                    }
                    continue;
                }
                let lhs: Vec<String> = inst.results.iter().map(|&r| self.reg(r)).collect();
                let detail = match &inst.op {
                    Op::Input { name } | Op::BatchInput { name, .. } => format!(" {name}"),
                    Op::Rotate { steps, .. } => format!(" {steps}"),
                    Op::RotateHoisted { steps, .. } => format!(" {steps:?}"),
                    Op::Const(c) => format!(" {c}"),
                    Op::Fill { value } => format!(" {value}"),
                    Op::Output { name, .. } => format!(" {name}"),
                    _ => String::new(),
                };
                let label = if lhs.is_empty() {
                    format!("{} {}{detail}", path, inst.op.mnemonic())
                } else {
                    format!(
                        "{} = {}{detail}\\n{path}",
                        lhs.join(", "),
                        inst.op.mnemonic()
                    )
                };
                let style = match &inst.op {
                    Op::Bootstrap { .. } => ", style=filled, fillcolor=\"#f4b183\"",
                    Op::Mul { .. } | Op::Poly { .. } => ", style=filled, fillcolor=\"#c5e0b4\"",
                    Op::Rotate { .. } | Op::RotateHoisted { .. } | Op::Conjugate { .. } => {
                        ", style=filled, fillcolor=\"#bdd7ee\""
                    }
                    Op::Input { .. } | Op::BatchInput { .. } | Op::Output { .. } => ", shape=note",
                    _ => "",
                };
                // `\n` in the label is Graphviz's line break: keep it unescaped
                let id = format!("n{}", self.next);
                self.next += 1;
                let _ = writeln!(
                    self.out,
                    "{pad}{id} [label=\"{}\"{style}];",
                    esc(&label).replace("\\\\n", "\\n")
                );
                for o in inst.op.operands() {
                    self.use_(o, &id, false);
                }
                for &r in &inst.results {
                    self.def.insert(r, id.clone());
                }
            }
        }
    }
    let mut d = D {
        plan,
        out: String::new(),
        def: HashMap::new(),
        edges: BTreeSet::new(),
        next: 0,
    };
    let _ = writeln!(d.out, "digraph plan {{");
    let _ = writeln!(
        d.out,
        "  label=\"{} ({} mode, {})\"; labelloc=t; rankdir=TB;",
        esc(&plan.source.name),
        esc(&plan.source.mode),
        esc(&plan.params)
    );
    let _ = writeln!(
        d.out,
        "  node [shape=box, fontname=\"monospace\", fontsize=10];"
    );
    d.block(&plan.body, "body", 0);
    let edges = std::mem::take(&mut d.edges);
    for (a, b, back) in edges {
        if back {
            let _ = writeln!(d.out, "  {a} -> {b} [style=dashed, constraint=false];");
        } else {
            let _ = writeln!(d.out, "  {a} -> {b};");
        }
    }
    let _ = writeln!(d.out, "}}");
    d.out
}
