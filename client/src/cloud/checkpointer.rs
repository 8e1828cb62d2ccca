//! [`Checkpointer`]: the observer of a `train` run that writes a [`TrainCheckpoint`] into the
//! model directory every K trips of the innermost loops, around another observer (the
//! progress bars) that sees every event as before.
//!
//! It reads the input stream's position and the outputs written so far from the source and
//! the sink, which the executor shares with it through `RefCell`s (the executor borrows them
//! only inside its calls, never across a trip boundary).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration;

use blindtune_runtime::backend::CpuBackend;
use blindtune_runtime::ckks::Context;
use blindtune_runtime::executor::{Observer, TripBoundary, TripControl};
use blindtune_runtime::plan::{Inst, Op, Plan};

use super::checkpoint::TrainCheckpoint;
use super::{EncryptedDirSource, ModelDirSink};

pub struct Checkpointer<'a> {
    inner: &'a mut dyn Observer<CpuBackend>,
    ctx: &'a Context,
    source: &'a RefCell<EncryptedDirSource>,
    sink: &'a RefCell<ModelDirSink>,
    every: u64,
    trips: u64,
    innermost: BTreeSet<String>,
    written: u64,
}

/// The paths (`body[4].loop[0]`, as [`TripBoundary::path`] gives them) of the loops of a
/// block that contain no loop.
fn innermost_loops(insts: &[Inst], path: &str, out: &mut BTreeSet<String>) {
    for (k, inst) in insts.iter().enumerate() {
        if let Op::Loop { body, .. } = &inst.op {
            let loop_path = format!("{path}[{k}]");
            if body.iter().any(|i| matches!(i.op, Op::Loop { .. })) {
                innermost_loops(body, &format!("{loop_path}.loop"), out);
            } else {
                out.insert(loop_path);
            }
        }
    }
}

impl<'a> Checkpointer<'a> {
    /// Checkpoints a run of `plan` every `every` (≥ 1) innermost trips, counting from `trips`
    /// already done (0, or a resumed checkpoint's count), forwarding every event to `inner`.
    pub fn new(
        plan: &Plan,
        ctx: &'a Context,
        source: &'a RefCell<EncryptedDirSource>,
        sink: &'a RefCell<ModelDirSink>,
        inner: &'a mut dyn Observer<CpuBackend>,
        every: u64,
        trips: u64,
    ) -> Checkpointer<'a> {
        let mut innermost = BTreeSet::new();
        innermost_loops(&plan.body, "body", &mut innermost);
        Checkpointer {
            inner,
            ctx,
            source,
            sink,
            every: every.max(1),
            trips,
            innermost,
            written: 0,
        }
    }

    /// Checkpoints written by this run.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl Observer<CpuBackend> for Checkpointer<'_> {
    fn on_trip(&mut self, path: &str, trip: u64, trips: u64) {
        self.inner.on_trip(path, trip, trips);
    }

    fn on_op(&mut self, mnemonic: &'static str, elapsed: Duration) {
        self.inner.on_op(mnemonic, elapsed);
    }

    fn after_trip(
        &mut self,
        boundary: &TripBoundary<'_, CpuBackend>,
    ) -> Result<TripControl, Box<dyn std::error::Error + Send + Sync>> {
        self.inner.after_trip(boundary)
    }

    fn on_trip_end(
        &mut self,
        boundary: &TripBoundary<'_, CpuBackend>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.inner.on_trip_end(boundary)?;
        if !self.innermost.contains(boundary.path) {
            return Ok(());
        }
        self.trips += 1;
        if !self.trips.is_multiple_of(self.every) {
            return Ok(());
        }
        let source = self.source.borrow();
        let sink = self.sink.borrow();
        let checkpoint = TrainCheckpoint {
            state: boundary.checkpoint(),
            dataset: source.manifest_blake3().to_string(),
            cursors: source.cursors().clone(),
            outputs: sink.manifest().outputs.clone(),
            every: self.every,
            trips: self.trips,
        };
        checkpoint.save(self.ctx, sink.dir())?;
        self.written += 1;
        tracing::debug!(trips = self.trips, at = boundary.path, "checkpoint written");
        Ok(())
    }
}
