//! The training checkpoint file (`model/checkpoint.bin`): everything a killed `train` run
//! needs to continue exactly where it stood at a trip boundary.
//!
//! It is a runtime envelope of kind [`ObjectKind::Checkpoint`] (magic, format version, kind,
//! the parameter fingerprint, payload length, BLAKE3 of the whole file; see
//! `blindtune_runtime::ckks::serialization::envelope`) around this payload:
//!
//! ```text
//! u32    layout version (CHECKPOINT_LAYOUT)
//! bytes  the run's state as JSON (u64 length, then UTF-8): plan id, dataset manifest hash,
//!        loop position, dimension scopes, batches consumed per streamed input, the outputs
//!        written so far (name, trips, file, size, BLAKE3), checkpoint interval, trips done
//! u32    carried values, then each value
//! u32    live registers, then each: u32 register number, value
//!
//! value: u8 tag, then
//!   1  ciphertext grid: the ciphertext-grid payload of `.ct` files (layout, rows, columns,
//!      each ciphertext: level, scale, slots, polynomials)
//!   2  public grid: u32 rows, u32 columns, each block: u32 slots, then (re, im) f64 pairs
//!   3  scalar: f64
//! ```
//!
//! Every number is stored bit for bit (ciphertext residues, scales, public slots), so a run
//! resumed from the file computes exactly what the uninterrupted run would have.
//! [`TrainCheckpoint::load`] checks the envelope (truncation, checksum, version, kind,
//! parameters), then that the checkpoint belongs to this plan and this dataset and that
//! every register fits the plan; each error names the file and the field at fault.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blindtune_runtime::backend::CpuBackend;
use blindtune_runtime::ckks::serialization::codec::{Reader, Writer};
use blindtune_runtime::ckks::serialization::{
    CiphertextGrid, FormatError, ObjectKind, Serializable,
};
use blindtune_runtime::ckks::Context;
use blindtune_runtime::executor::{Checkpoint, LoopPos, RegValue};
use blindtune_runtime::plan::{Op, Plan, Reg};
use num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};
use crate::files;
use crate::format::ModelOutput;

/// The checkpoint's file name in the model directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";
/// The payload layout this build writes and reads.
pub const CHECKPOINT_LAYOUT: u32 = 1;

const TAG_CIPHER: u8 = 1;
const TAG_PLAIN: u8 = 2;
const TAG_SCALAR: u8 = 3;

/// A training run's state at a trip boundary: the executor's [`Checkpoint`] and where the
/// input stream and the model directory stood.
#[derive(Debug)]
pub struct TrainCheckpoint {
    /// registers, carried values, loop position and dimension scopes
    pub state: Checkpoint<CpuBackend>,
    /// BLAKE3 of the dataset's `manifest.json`
    pub dataset: String,
    /// batches consumed per streamed input
    pub cursors: BTreeMap<String, usize>,
    /// the model directory's outputs, in the order they were written
    pub outputs: Vec<ModelOutput>,
    /// the interval (innermost trips) the run checkpoints at
    pub every: u64,
    /// innermost-loop trips done
    pub trips: u64,
}

/// The JSON part of the payload.
#[derive(Serialize, Deserialize)]
struct Meta {
    plan: String,
    dataset: String,
    position: Vec<LoopPos>,
    dims: Vec<BTreeMap<String, usize>>,
    cursors: BTreeMap<String, usize>,
    outputs: Vec<ModelOutput>,
    every: u64,
    trips: u64,
}

/// Where the checkpoint of the model directory `dir` is.
pub fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINT_FILE)
}

fn write_value(w: &mut Writer, v: &RegValue<CpuBackend>) {
    match v {
        RegValue::Cipher(g) => {
            w.u8(TAG_CIPHER);
            CiphertextGrid(g.clone()).write_payload(w);
        }
        RegValue::Plain(g) => {
            w.u8(TAG_PLAIN);
            w.u32(g.len() as u32);
            w.u32(g.first().map_or(0, Vec::len) as u32);
            for block in g.iter().flatten() {
                w.u32(block.len() as u32);
                for z in block {
                    w.f64(z.re);
                    w.f64(z.im);
                }
            }
        }
        RegValue::Scalar(x) => {
            w.u8(TAG_SCALAR);
            w.f64(*x);
        }
    }
}

fn read_value(ctx: &Context, r: &mut Reader<'_>) -> Result<RegValue<CpuBackend>, FormatError> {
    match r.u8("value tag")? {
        TAG_CIPHER => Ok(RegValue::Cipher(CiphertextGrid::read_payload(ctx, r)?.0)),
        TAG_PLAIN => {
            let rows = r.u32("public grid rows")? as usize;
            let cols = r.u32("public grid columns")? as usize;
            if rows == 0 || cols == 0 {
                return Err(FormatError::Malformed {
                    field: "public grid",
                    reason: format!("{rows}×{cols} blocks (both must be at least 1)"),
                });
            }
            // No allocation sized by a count: a forged one runs out of bytes instead.
            let mut grid = Vec::new();
            for _ in 0..rows {
                let mut row = Vec::new();
                for _ in 0..cols {
                    let slots = r.u32("public block slots")? as usize;
                    let raw = r.u64s(slots.saturating_mul(2), "public block")?;
                    row.push(
                        raw.chunks_exact(2)
                            .map(|c| Complex64::new(f64::from_bits(c[0]), f64::from_bits(c[1])))
                            .collect::<Vec<_>>(),
                    );
                }
                grid.push(row);
            }
            Ok(RegValue::Plain(grid))
        }
        TAG_SCALAR => Ok(RegValue::Scalar(r.f64("scalar")?)),
        t => Err(FormatError::Malformed {
            field: "value tag",
            reason: format!("{t} is not a ciphertext (1), public (2) or scalar (3) value"),
        }),
    }
}

impl Serializable for TrainCheckpoint {
    const KIND: ObjectKind = ObjectKind::Checkpoint;

    fn write_payload(&self, w: &mut Writer) {
        w.u32(CHECKPOINT_LAYOUT);
        let meta = Meta {
            plan: self.state.plan.clone(),
            dataset: self.dataset.clone(),
            position: self.state.position.clone(),
            dims: self.state.dims.clone(),
            cursors: self.cursors.clone(),
            outputs: self.outputs.clone(),
            every: self.every,
            trips: self.trips,
        };
        w.bytes(&serde_json::to_vec(&meta).expect("the checkpoint state serializes"));
        w.u32(self.state.carried.len() as u32);
        for v in &self.state.carried {
            write_value(w, v);
        }
        w.u32(self.state.regs.len() as u32);
        for (reg, v) in &self.state.regs {
            w.u32(*reg);
            write_value(w, v);
        }
    }

    fn read_payload(ctx: &Context, r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let layout = r.u32("checkpoint layout")?;
        if layout != CHECKPOINT_LAYOUT {
            return Err(FormatError::Malformed {
                field: "checkpoint layout",
                reason: format!(
                    "layout version {layout} is not supported (this build reads \
                     {CHECKPOINT_LAYOUT})"
                ),
            });
        }
        let meta: Meta = serde_json::from_slice(r.bytes("checkpoint state")?).map_err(|e| {
            FormatError::Malformed {
                field: "checkpoint state",
                reason: e.to_string(),
            }
        })?;
        let carried = (0..r.u32("carried values")?)
            .map(|_| read_value(ctx, r))
            .collect::<Result<Vec<_>, _>>()?;
        let regs = (0..r.u32("live registers")?)
            .map(|_| Ok((r.u32("register number")?, read_value(ctx, r)?)))
            .collect::<Result<Vec<_>, FormatError>>()?;
        Ok(TrainCheckpoint {
            state: Checkpoint {
                plan: meta.plan,
                position: meta.position,
                carried,
                regs,
                dims: meta.dims,
            },
            dataset: meta.dataset,
            cursors: meta.cursors,
            outputs: meta.outputs,
            every: meta.every,
            trips: meta.trips,
        })
    }
}

/// Why a value does not fit a register of the plan.
fn misfit(plan: &Plan, reg: Reg, v: &RegValue<CpuBackend>) -> Option<String> {
    let Some(info) = plan.regs.get(reg as usize) else {
        return Some(format!("the plan has {} registers", plan.regs.len()));
    };
    if info.kind != v.kind() {
        return Some(format!(
            "a {:?} value where the plan's register is {:?}",
            v.kind(),
            info.kind
        ));
    }
    let slots = plan.block.slots();
    match v {
        RegValue::Cipher(g) => g.iter().flatten().find_map(|ct| {
            if info.level.is_some_and(|l| l != ct.level()) {
                Some(format!(
                    "a ciphertext at level {} where the plan's register is at level {:?}",
                    ct.level(),
                    info.level
                ))
            } else if ct.slots() != slots {
                Some(format!(
                    "a ciphertext of {} slots where the plan's blocks have {slots}",
                    ct.slots()
                ))
            } else {
                None
            }
        }),
        RegValue::Plain(g) => g.iter().flatten().find_map(|b| {
            (b.len() != slots).then(|| {
                format!(
                    "a public block of {} slots where the plan's blocks have {slots}",
                    b.len()
                )
            })
        }),
        RegValue::Scalar(_) => None,
    }
}

impl TrainCheckpoint {
    /// Writes the checkpoint into the model directory `dir` atomically: a temporary file in
    /// `dir`, flushed to disk, renamed over [`CHECKPOINT_FILE`], then the directory flushed. A
    /// crash at any point leaves the previous checkpoint or this one, never a mix.
    pub fn save(&self, ctx: &Context, dir: &Path) -> Result<()> {
        files::write_atomic(&checkpoint_path(dir), &self.to_bytes(ctx))
    }

    /// Reads and checks the checkpoint at `path` for a run of `plan` (whose
    /// [`Executor::plan_id`](blindtune_runtime::executor::Executor::plan_id) is `plan_id`) on
    /// the dataset whose manifest hash is `dataset`. A missing file, a damaged one (truncated,
    /// corrupted, another version, kind or parameter set), or one of another plan or dataset is
    /// refused with an error naming the file and what is wrong.
    pub fn load(
        ctx: &Context,
        path: &Path,
        plan: &Plan,
        plan_id: &str,
        dataset: &str,
    ) -> Result<TrainCheckpoint> {
        let bytes = files::read(path)?;
        let c = TrainCheckpoint::from_bytes(ctx, &bytes).map_err(|e| e.in_file(path))?;
        let bad = |field: &str, message: String| ClientError::Checkpoint {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };
        if c.state.plan != plan_id {
            return Err(bad(
                "plan",
                format!(
                    "written by a run of plan {} but this plan is {plan_id}",
                    c.state.plan
                ),
            ));
        }
        if c.dataset != dataset {
            return Err(bad(
                "dataset",
                format!(
                    "written for the dataset whose manifest has BLAKE3 {} but this one has \
                     {dataset}",
                    c.dataset
                ),
            ));
        }
        if c.every == 0 {
            return Err(bad("every", "a checkpoint interval of 0 trips".into()));
        }
        if c.state.position.is_empty() {
            return Err(bad("position", "empty: not at a trip boundary".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (reg, v) in &c.state.regs {
            let field = format!("register r{reg}");
            if !seen.insert(*reg) {
                return Err(bad(&field, "saved twice".into()));
            }
            if let Some(why) = misfit(plan, *reg, v) {
                return Err(bad(&field, why));
            }
        }
        let args = loop_args(plan, &c.state.position)
            .ok_or_else(|| bad("position", "not a loop of this plan".into()))?;
        if args.len() != c.state.carried.len() + 1 {
            return Err(bad(
                "carried",
                format!(
                    "{} values for a loop that carries {}",
                    c.state.carried.len(),
                    args.len().saturating_sub(1)
                ),
            ));
        }
        for (k, (v, &reg)) in c.state.carried.iter().zip(&args[1..]).enumerate() {
            if let Some(why) = misfit(plan, reg, v) {
                return Err(bad(&format!("carried value {k}"), why));
            }
        }
        Ok(c)
    }
}

/// The registers of the loop a position ends in (trip counter first, then the carried
/// values), if every step of the position is a loop of the plan.
fn loop_args<'p>(plan: &'p Plan, position: &[LoopPos]) -> Option<&'p [Reg]> {
    let mut insts = &plan.body;
    let mut args: Option<&[Reg]> = None;
    for pos in position {
        match &insts.get(pos.inst)?.op {
            Op::Loop { args: a, body, .. } => {
                args = Some(a);
                insts = body;
            }
            _ => return None,
        }
    }
    args
}
