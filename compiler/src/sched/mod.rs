//! Scheduling: the CKKS stage with levels, level drops and bootstraps made explicit.
//!
//! The scale discipline is the runtime executor's: a ciphertext at level `l` always has the
//! canonical scale of `l`, every product rescales at once (eager), so the level is the only
//! state to schedule. [`levels`] propagates levels through a program given a set of
//! bootstrapped registers and reports the first operation that runs out; [`place`] chooses the
//! set (bootstraps only at *cut points*: registers that stand for whole tensors, never at a
//! kernel's temporaries, and with the value brought into bootstrapping's `|z| ≤ 1` by a
//! power-of-two factor folded into the producing polynomial or plaintext product when it can
//! be); [`emit`] writes the scheduled program with `LevelDown`, `Bootstrap` and the scale
//! factors, computing each value at the level its uses demand ([`demand`]; not for the naive
//! strategy), so that operations run as low, and as cheaply, as the schedule allows.
//! Loop-carried ciphertexts enter every trip at the top level and the back edge is brought
//! back to it (HALO's type-matched loop headers), so loops stay rolled.
//!
//! Strategies ([`Strategy`]): `Naive` bootstraps a value when the next operation finds it out
//! of levels; `Lookahead` (the DaCapo-style baseline) weighs, at every point where levels run
//! out, each earlier cut point by completing the schedule from it and pricing the result
//! (bootstraps weighted by the trips of their loops, the level factors they need), and keeps
//! the cheapest.

pub mod compose;
pub mod demand;
pub mod emit;
pub mod levels;
pub mod place;

use crate::ir::ckks::{CkksProgram, RegFacts};
use blindtune_runtime::plan::{BlockShape, InputSpec, Inst, OutputSpec, RegInfo};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    Naive,
    Lookahead,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Naive => "naive",
            Strategy::Lookahead => "lookahead",
        }
    }
}

/// What the scheduler targets.
#[derive(Clone, Debug)]
pub struct Target {
    /// the top level: fresh encryptions and bootstrap outputs
    pub max_level: usize,
    pub bootstrapping: bool,
    /// magnitude assumed for values whose range the checker does not know
    pub default_bound: f64,
    /// bootstrap to the level the refreshed value's uses demand instead of the top (HALO's
    /// per-site target; off by default: each distinct target makes the runtime encode another
    /// SlotsToCoeffs, about 1.4 GiB at N = 2^16, for about 1 % of the time)
    pub lower_targets: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("cannot schedule {what}: {why}")]
pub struct SchedError {
    pub what: String,
    pub why: String,
}

/// The scheduled CKKS stage: every ciphertext register has its level.
#[derive(Clone, Debug)]
pub struct ScheduledProgram {
    pub slots: usize,
    pub block: BlockShape,
    pub regs: Vec<RegInfo>,
    pub facts: Vec<RegFacts>,
    pub body: Vec<Inst>,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    pub max_level: usize,
    pub bootstrapping: bool,
    pub strategy: Strategy,
    pub assumed_dims: BTreeMap<String, usize>,
    /// bootstraps placed (registers of the CKKS stage), for reports
    pub bootstraps: usize,
}

/// Schedules `prog`.
pub fn schedule(
    prog: &CkksProgram,
    target: &Target,
    strategy: Strategy,
) -> Result<ScheduledProgram, SchedError> {
    let chosen = place::place(prog, target, strategy)?;
    emit::emit(prog, target, &chosen, strategy)
}

/// A level per register (`None`: not a ciphertext, or never read).
pub type RegLevels = Vec<Option<usize>>;

/// The levels of a program under the lookahead placement (the skeleton a level-aware
/// extraction works against): per register, the level it is available at (after its
/// bootstrap, if placed) and the level its uses need it at (for a bootstrapped register, what
/// its refreshed copy is needed at). `None` for registers that are not ciphertexts or never read.
pub fn skeleton_levels(
    prog: &CkksProgram,
    target: &Target,
) -> Result<(RegLevels, RegLevels), SchedError> {
    let boots = place::place(prog, target, Strategy::Lookahead)?;
    let flat = levels::Flat::new(prog, target);
    let lv = levels::simulate_all(prog, target, &flat, &boots);
    let raw: Vec<usize> = lv.raw.iter().map(|&l| l.max(0) as usize).collect();
    let d = demand::demanded(prog, target.max_level, &flat, &boots, &raw);
    let n = prog.regs.len();
    let cipher = |r: usize| prog.regs[r].kind == blindtune_runtime::plan::RegKind::Cipher;
    let level = (0..n)
        .map(|r| cipher(r).then(|| lv.eff[r].max(0) as usize))
        .collect();
    let need = (0..n)
        .map(|r| {
            if boots.contains(&(r as blindtune_runtime::plan::Reg)) {
                d.after_boot[r]
            } else {
                d.want[r]
            }
        })
        .collect();
    Ok((level, need))
}

/// Schedules `prog` with a placement grown from `seeds` ([`place::place_seeded`]).
pub fn schedule_seeded(
    prog: &CkksProgram,
    target: &Target,
    seeds: &std::collections::BTreeSet<blindtune_runtime::plan::Reg>,
) -> Result<ScheduledProgram, SchedError> {
    let chosen = place::place_seeded(prog, target, seeds)?;
    emit::emit(prog, target, &chosen, Strategy::Lookahead)
}

impl std::fmt::Display for ScheduledProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = format!(
            "scheduled_program {{\n  block {}×{}  max level {}  strategy {}  bootstrap sites {}\n",
            self.block.s0,
            self.block.s1,
            self.max_level,
            self.strategy.name(),
            self.bootstraps
        );
        for i in &self.inputs {
            s += &format!("  input {}: level {:?}\n", i.name, i.level);
        }
        blindtune_runtime::plan::print::write_insts(&mut s, &self.regs, &self.body, 1);
        s += "}\n";
        f.write_str(&s)
    }
}
