//! Watching a run: progress (trips, instruction times), the report, and checkpoints.
//!
//! # Checkpoints
//!
//! After every trip of every loop the executor calls [`Observer::on_trip_end`] with a
//! [`TripBoundary`]: the loop, how many trips are done, the carried values that enter the next
//! trip, and the registers of the enclosing blocks that are still live. That is the whole
//! state of the run at that point (the encoded-plaintext cache is only a cache), so
//! [`TripBoundary::checkpoint`] copies it into a [`Checkpoint`] and
//! [`super::Executor::resume`] continues from it: it skips the instructions before the loop,
//! starts the loop at the next trip with the saved carried values, and runs to the end exactly
//! as the uninterrupted run would (tested). A boundary of an inner loop works the same way
//! (the enclosing trips are resumed in the middle).
//!
//! What the executor does not hold is the input stream's position: on resume, the
//! [`super::InputSource`] must hand out the batches that follow those the checkpointed run
//! consumed (the CLI's encrypted batch files are indexed, so it skips them), and the outputs
//! recorded before the checkpoint are not written again. The cloud's `train` keeps both in its
//! checkpoint file with this state (`blindtune_client::cloud::checkpoint`), reading them from
//! a source and a sink it shares with the executor through `RefCell`s ([`super::io`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::value::RegValue;
use crate::backend::Backend;
use crate::plan::Reg;

/// Hooks called during a run; every method has a default that does nothing.
pub trait Observer<B: Backend> {
    /// Before trip `trip` (from 0) of the `trips` of the loop at `path` (`body[3]`,
    /// `body[3].loop[1]`).
    fn on_trip(&mut self, path: &str, trip: u64, trips: u64) {
        let _ = (path, trip, trips);
    }
    /// After each instruction other than a loop, with its mnemonic and wall time.
    fn on_op(&mut self, mnemonic: &'static str, elapsed: Duration) {
        let _ = (mnemonic, elapsed);
    }
    /// After each trip of each loop (the last one included). An error stops the run
    /// ([`super::ExecError::Observer`]).
    fn on_trip_end(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let _ = boundary;
        Ok(())
    }
}

/// The observer that watches nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl<B: Backend> Observer<B> for NoObserver {}

/// A loop instruction on the way to a point of the run: its index in its block and a trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LoopPos {
    pub inst: usize,
    pub trip: u64,
}

/// The state between two trips of a loop.
pub struct TripBoundary<'a, B: Backend> {
    /// the loop's path (`body[3]`)
    pub path: &'a str,
    /// the loops from the top-level body down to this one: for the enclosing loops the trip in
    /// progress, for this loop the number of trips done (the next trip to run)
    pub position: &'a [LoopPos],
    /// this loop's trip count
    pub trips: u64,
    /// the carried values entering the next trip (after the last trip: the loop's results)
    pub carried: &'a [RegValue<B>],
    pub(crate) regs: &'a [Option<RegValue<B>>],
    pub(crate) dims: &'a [BTreeMap<String, usize>],
    pub(crate) plan_id: &'a str,
}

impl<B: Backend> TripBoundary<'_, B> {
    /// Trips of this loop done so far.
    pub fn completed(&self) -> u64 {
        self.position.last().map_or(0, |p| p.trip)
    }

    /// Whether this was the loop's last trip.
    pub fn is_last(&self) -> bool {
        self.completed() >= self.trips
    }

    /// Whether this loop is in the top-level body (an outermost loop).
    pub fn is_outermost(&self) -> bool {
        self.position.len() == 1
    }

    /// Ciphertexts a checkpoint here would hold.
    pub fn live_ciphertexts(&self) -> usize {
        self.carried
            .iter()
            .map(RegValue::ciphertexts)
            .sum::<usize>()
            + self
                .regs
                .iter()
                .flatten()
                .map(RegValue::ciphertexts)
                .sum::<usize>()
    }

    /// A copy of the state at this boundary, to resume from.
    pub fn checkpoint(&self) -> Checkpoint<B> {
        Checkpoint {
            plan: self.plan_id.to_string(),
            position: self.position.to_vec(),
            carried: self.carried.to_vec(),
            regs: self
                .regs
                .iter()
                .enumerate()
                .filter_map(|(r, v)| v.as_ref().map(|v| (r as Reg, v.clone())))
                .collect(),
            dims: self.dims.to_vec(),
        }
    }
}

/// The state of a run at a trip boundary ([`TripBoundary::checkpoint`]); the CLI serializes
/// its ciphertexts with the ciphertext file format and the rest as it likes.
pub struct Checkpoint<B: Backend> {
    /// the plan it belongs to ([`super::Executor::plan_id`]); another plan refuses it
    pub plan: String,
    /// see [`TripBoundary::position`]
    pub position: Vec<LoopPos>,
    /// the carried values entering the next trip of the innermost loop of `position`
    pub carried: Vec<RegValue<B>>,
    /// every other live register (values of the enclosing blocks)
    pub regs: Vec<(Reg, RegValue<B>)>,
    /// dimension bindings of the enclosing scopes (the top level, then each trip in progress)
    pub dims: Vec<BTreeMap<String, usize>>,
}

impl<B: Backend> Clone for Checkpoint<B> {
    fn clone(&self) -> Self {
        Checkpoint {
            plan: self.plan.clone(),
            position: self.position.clone(),
            carried: self.carried.clone(),
            regs: self.regs.clone(),
            dims: self.dims.clone(),
        }
    }
}

impl<B: Backend> std::fmt::Debug for Checkpoint<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("plan", &self.plan)
            .field("position", &self.position)
            .field("carried", &self.carried)
            .field("regs", &self.regs)
            .field("dims", &self.dims)
            .finish()
    }
}

/// Count and time of one kind of instruction.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OpStat {
    /// instructions executed
    pub count: u64,
    /// blocks they processed (ciphertexts, or slot vectors for public instructions)
    pub blocks: u64,
    pub seconds: f64,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunReport {
    /// per instruction mnemonic (loops excluded)
    pub ops: BTreeMap<String, OpStat>,
    /// ciphertexts bootstrapped
    pub bootstraps: u64,
    /// trips run, per loop path
    pub trips: BTreeMap<String, u64>,
    /// output values written
    pub outputs: u64,
    /// the largest number of ciphertexts held in registers at once
    pub peak_live_ciphertexts: usize,
    /// wall time of the whole run
    pub seconds: f64,
}

impl RunReport {
    pub(crate) fn record(&mut self, mnemonic: &str, blocks: u64, elapsed: Duration) {
        let s = self.ops.entry(mnemonic.to_string()).or_default();
        s.count += 1;
        s.blocks += blocks;
        s.seconds += elapsed.as_secs_f64();
    }
}
