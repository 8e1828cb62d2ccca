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
//! # Stopping a loop early
//!
//! Between two trips of a loop (never after its last one) the executor asks
//! [`Observer::after_trip`] whether to go on ([`TripControl`]). On
//! [`TripControl::Break`] after trip `t` the loop ends there, exactly as if it had been declared
//! with `t + 1` trips: its results are the values trip `t` yielded and the run continues after
//! it (final outputs included). This is how the cloud stops training when the data owner's
//! validation says so. A run resumed at a trip boundary asks again before the next trip, so a
//! checkpoint taken before the decision resumes into the same decision. Loops that read batch
//! streams may stop only where the unread batches go nowhere (see `stop.rs`).
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
    /// Between two trips of a loop (after [`Observer::on_trip_end`], never after the last
    /// trip, and again when a run resumes at this boundary): whether the loop goes on. On
    /// [`TripControl::Break`] the loop ends as if it had `boundary.completed()` trips; the
    /// executor refuses the break (an error) when the loop reads a batch stream that
    /// something after it reads again. An error stops the run.
    fn after_trip(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<TripControl, Box<dyn std::error::Error + Send + Sync>> {
        let _ = boundary;
        Ok(TripControl::Continue)
    }
}

/// A borrowed observer watches as the observer itself.
impl<B: Backend, O: Observer<B> + ?Sized> Observer<B> for &mut O {
    fn on_trip(&mut self, path: &str, trip: u64, trips: u64) {
        (**self).on_trip(path, trip, trips)
    }
    fn on_op(&mut self, mnemonic: &'static str, elapsed: Duration) {
        (**self).on_op(mnemonic, elapsed)
    }
    fn on_trip_end(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        (**self).on_trip_end(boundary)
    }
    fn after_trip(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<TripControl, Box<dyn std::error::Error + Send + Sync>> {
        (**self).after_trip(boundary)
    }
}

/// An absent observer watches nothing.
impl<B: Backend, O: Observer<B>> Observer<B> for Option<O> {
    fn on_trip(&mut self, path: &str, trip: u64, trips: u64) {
        if let Some(o) = self {
            o.on_trip(path, trip, trips)
        }
    }
    fn on_op(&mut self, mnemonic: &'static str, elapsed: Duration) {
        if let Some(o) = self {
            o.on_op(mnemonic, elapsed)
        }
    }
    fn on_trip_end(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.as_mut().map_or(Ok(()), |o| o.on_trip_end(boundary))
    }
    fn after_trip(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<TripControl, Box<dyn std::error::Error + Send + Sync>> {
        self.as_mut()
            .map_or(Ok(TripControl::Continue), |o| o.after_trip(boundary))
    }
}

/// Two observers watching one run: each hook goes to the first, then to the second (the
/// first error wins); a loop stops when the first says so (the second is not asked) or when
/// the second does.
impl<B: Backend, P: Observer<B>, Q: Observer<B>> Observer<B> for (P, Q) {
    fn on_trip(&mut self, path: &str, trip: u64, trips: u64) {
        self.0.on_trip(path, trip, trips);
        self.1.on_trip(path, trip, trips);
    }
    fn on_op(&mut self, mnemonic: &'static str, elapsed: Duration) {
        self.0.on_op(mnemonic, elapsed);
        self.1.on_op(mnemonic, elapsed);
    }
    fn on_trip_end(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.on_trip_end(boundary)?;
        self.1.on_trip_end(boundary)
    }
    fn after_trip(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<TripControl, Box<dyn std::error::Error + Send + Sync>> {
        match self.0.after_trip(boundary)? {
            TripControl::Break => Ok(TripControl::Break),
            TripControl::Continue => self.1.after_trip(boundary),
        }
    }
}

/// Whether a loop goes on after a trip ([`Observer::after_trip`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TripControl {
    /// run the next trip
    #[default]
    Continue,
    /// end the loop now: its results are the values the trip just done yielded
    Break,
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
