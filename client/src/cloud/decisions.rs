//! [`AwaitDecisions`]: the cloud's side of early stopping (`train --early-stopping`). After
//! each epoch (a trip of the loop around the plan's repeated output scored `against` labels,
//! [`validation_loop`]) but the last, the run waits for the data owner's decision file in the
//! model directory ([`crate::decision`]), polling until a timeout, and ends the epoch loop on
//! `stop` ([`TripControl::Break`]: the final outputs are then those of the epochs run). The
//! cloud learns one bit per epoch and never sees a score.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use blindtune_runtime::backend::Backend;
use blindtune_runtime::executor::{Observer, TripBoundary, TripControl};
use blindtune_runtime::plan::{Inst, Op, Plan};

use crate::decision::{decision_path, read_decision, Verdict};
use crate::error::{ClientError, Result};

/// The loop whose trips are the epochs the owner validates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationLoop {
    /// the loop's path (`body[7]`), as the executor names it
    pub path: String,
    /// the repeated outputs scored `against` labels inside it
    pub outputs: Vec<String>,
}

/// `(output name, path of its innermost enclosing loop)` of every output in `insts`.
fn outputs_in(
    insts: &[Inst],
    block: &str,
    enclosing: Option<&str>,
    out: &mut Vec<(String, String)>,
) {
    for (k, inst) in insts.iter().enumerate() {
        match &inst.op {
            Op::Output { name, .. } => {
                if let Some(l) = enclosing {
                    out.push((name.clone(), l.to_string()));
                }
            }
            Op::Loop { body, .. } => {
                let path = format!("{block}[{k}]");
                outputs_in(body, &format!("{path}.loop"), Some(&path), out);
            }
            _ => {}
        }
    }
}

/// The loop around the plan's validation outputs (repeated outputs with `against`): there must
/// be at least one, and all in the same loop.
pub fn validation_loop(plan: &Plan) -> Result<ValidationLoop> {
    let scored: Vec<&str> = plan
        .outputs
        .iter()
        .filter(|o| o.repeated && o.against.is_some())
        .map(|o| o.name.as_str())
        .collect();
    let mut found = Vec::new();
    outputs_in(&plan.body, "body", None, &mut found);
    found.retain(|(name, _)| scored.contains(&name.as_str()));
    let Some((_, path)) = found.first().cloned() else {
        return Err(ClientError::Plan(
            "early stopping needs a validation output: a repeated output scored against \
             labels inside the epoch loop (`output val_logits = … against test_y;`), and the \
             plan has none"
                .into(),
        ));
    };
    if let Some((name, other)) = found.iter().find(|(_, p)| *p != path) {
        return Err(ClientError::Plan(format!(
            "early stopping needs the validation outputs in one loop, but `{}` is in {path} and \
             `{name}` in {other}",
            found[0].0
        )));
    }
    let mut outputs: Vec<String> = found.into_iter().map(|(n, _)| n).collect();
    outputs.dedup();
    Ok(ValidationLoop { path, outputs })
}

/// Waits for the owner's decision after each epoch; an observer of the executor.
pub struct AwaitDecisions {
    model_dir: PathBuf,
    validation: ValidationLoop,
    timeout: Duration,
    poll: Duration,
    /// the trips after which the owner said stop, once it has
    pub stopped_after: Option<Vec<u64>>,
}

impl AwaitDecisions {
    /// Decisions for `plan`'s validation loop, read from `model_dir/decisions/`, each awaited
    /// at most `timeout`.
    pub fn new(plan: &Plan, model_dir: &Path, timeout: Duration) -> Result<Self> {
        Ok(AwaitDecisions {
            model_dir: model_dir.to_path_buf(),
            validation: validation_loop(plan)?,
            timeout,
            poll: Duration::from_millis(100),
            stopped_after: None,
        })
    }

    pub fn validation(&self) -> &ValidationLoop {
        &self.validation
    }

    /// Checks for the decision file this often (default 100 ms).
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Waits for the decision after the epoch `trips` (the enclosing loops' trips, then the
    /// epoch): a malformed file is an error at once, a missing one after the timeout.
    pub fn wait(&self, trips: &[u64]) -> Result<Verdict> {
        let start = Instant::now();
        let path = decision_path(&self.model_dir, trips);
        let mut logged = false;
        loop {
            if let Some(d) = read_decision(&self.model_dir, trips)? {
                tracing::info!(file = %path.display(), decision = %d.decision, "decision read");
                return Ok(d.decision);
            }
            let waited = start.elapsed();
            if waited >= self.timeout {
                return Err(ClientError::Decision {
                    path,
                    message: format!(
                        "no early-stopping decision for epoch {} after {:.0} s (the data holder \
                         writes it with `blindtune validate`; raise --decision-timeout to wait \
                         longer)",
                        trips.last().copied().unwrap_or(0),
                        waited.as_secs_f64()
                    ),
                });
            }
            if !logged {
                tracing::info!(file = %path.display(), "waiting for the decision file");
                logged = true;
            }
            std::thread::sleep(self.poll.min(self.timeout - waited));
        }
    }
}

impl<B: Backend> Observer<B> for AwaitDecisions {
    fn after_trip(
        &mut self,
        boundary: &TripBoundary<'_, B>,
    ) -> Result<TripControl, Box<dyn std::error::Error + Send + Sync>> {
        if boundary.path != self.validation.path {
            return Ok(TripControl::Continue);
        }
        // The trips of the epoch just done, as its outputs are indexed.
        let mut trips: Vec<u64> = boundary.position.iter().map(|p| p.trip).collect();
        if let Some(last) = trips.last_mut() {
            *last = last.saturating_sub(1);
        }
        match self.wait(&trips)? {
            Verdict::Continue => Ok(TripControl::Continue),
            Verdict::Stop => {
                self.stopped_after = Some(trips);
                Ok(TripControl::Break)
            }
        }
    }
}
