//! `validate` (data owner): HETAL's encrypted validation. Each epoch's validation logits (the
//! repeated output scored `against` labels) are decrypted as the cloud writes them into the
//! model directory, scored against the labels that never left the owner
//! ([`crate::evaluate::score_logits`]), judged by the early-stopping rule
//! ([`crate::early_stopping`]) and answered with a decision file the cloud reads before the
//! next epoch ([`crate::decision`]). One pass handles every epoch there is; `watch` keeps
//! polling until the run writes its final outputs or the rule says stop.
//!
//! A decision already on disk is kept (the cloud may have acted on it) and counts as the
//! epoch's verdict; validating again therefore never contradicts the cloud.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use blindtune_compiler::interp::data::DataSet;
use blindtune_runtime::plan::Plan;
use serde::Serialize;

use crate::decision::{read_decision, write_decision, Decision, Verdict};
use crate::early_stopping::{EarlyStopping, Policy, Step};
use crate::error::{ClientError, Result};
use crate::evaluate::{labels_of, score_logits, Score};
use crate::format::{ModelManifest, MANIFEST_FILE};
use crate::owner::decrypt::ModelDecryptor;
use crate::owner::keys::load_secret_key;

#[derive(Clone, Debug)]
pub struct ValidateOptions {
    /// the validation output (default: the plan's only repeated output with `against`)
    pub output: Option<String>,
    pub policy: Policy,
    /// keep polling for new epochs until the run finishes or the rule says stop
    pub watch: bool,
    /// how often `watch` looks for new epochs
    pub poll: Duration,
    /// `watch` gives up when nothing new arrives for this long
    pub timeout: Option<Duration>,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            output: None,
            policy: Policy::default(),
            watch: false,
            poll: Duration::from_millis(200),
            timeout: None,
        }
    }
}

/// One validated epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochRow {
    /// the enclosing loops' trips, then the epoch
    pub trips: Vec<u64>,
    pub score: Score,
    /// the early-stopping rule's judgement
    pub step: Step,
    /// the decision the cloud reads (the one on disk if there already was one)
    pub decision: Verdict,
    /// the decision file was already there (not written by this run)
    pub kept: bool,
}

/// What a validation pass saw.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Validation {
    pub output: String,
    pub against: String,
    pub rows: Vec<EpochRow>,
    /// the run has written its final outputs
    pub finished: bool,
    /// the epoch after which training stops, once decided
    pub stopped_after: Option<Vec<u64>>,
}

impl Validation {
    /// The best epoch so far by the rule's metric.
    pub fn best(&self) -> Option<&EpochRow> {
        let (i, _) = self.rows.last()?.step.best;
        self.rows.get(i)
    }
}

/// Validates the epochs in `model_dir` for `plan` with the secret key in `keys_dir` and the
/// labels in `labels` (the tensor the output is scored against); `on_row` sees each epoch as
/// it is decided.
pub fn validate(
    plan: &Plan,
    keys_dir: &Path,
    model_dir: &Path,
    labels: &DataSet,
    opts: &ValidateOptions,
    on_row: &mut dyn FnMut(&EpochRow),
) -> Result<Validation> {
    let spec = match &opts.output {
        Some(name) => plan
            .outputs
            .iter()
            .find(|o| &o.name == name)
            .ok_or_else(|| ClientError::Plan(format!("the plan has no output `{name}`")))?,
        None => {
            let scored: Vec<_> = plan
                .outputs
                .iter()
                .filter(|o| o.repeated && o.against.is_some())
                .collect();
            match scored.as_slice() {
                [one] => *one,
                [] => {
                    return Err(ClientError::Plan(
                        "the plan has no validation output (a repeated output scored against \
                         labels: `output val_logits = … against test_y;` in the epoch loop)"
                            .into(),
                    ))
                }
                many => {
                    return Err(ClientError::Plan(format!(
                        "the plan has several validation outputs ({}); choose one with --output",
                        many.iter()
                            .map(|o| format!("`{}`", o.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            }
        }
    };
    let against = match (&spec.against, spec.repeated) {
        (Some(a), true) => a.clone(),
        _ => {
            return Err(ClientError::Plan(format!(
                "output `{}` is not a validation output (repeated, scored against labels)",
                spec.name
            )))
        }
    };
    let label_tensor = labels.get(&against).ok_or_else(|| ClientError::Plan(format!(
        "output `{}` is scored against `{against}`, which the labels given do not have (they have {})",
        spec.name,
        labels.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
    )))?;
    let (ctx, sk) = load_secret_key(plan, keys_dir)?;
    let dec = ModelDecryptor::new(&ctx, &sk)?;
    let mut rule = EarlyStopping::new(opts.policy.clone());
    let mut v = Validation {
        output: spec.name.clone(),
        against: against.clone(),
        rows: Vec::new(),
        finished: false,
        stopped_after: None,
    };
    let mut done: BTreeSet<Vec<u64>> = BTreeSet::new();
    let manifest_path = model_dir.join(MANIFEST_FILE);
    let mut last_news = Instant::now();
    loop {
        if manifest_path.exists() || !opts.watch {
            let manifest = ModelManifest::load(model_dir)?;
            manifest.check(plan, model_dir)?;
            for o in manifest.outputs.iter().filter(|o| o.name == spec.name) {
                if !done.insert(o.trips.clone()) {
                    continue;
                }
                last_news = Instant::now();
                let t = dec.value(plan, &manifest, model_dir, o)?;
                let [rows, classes] = t.matrix();
                let y = labels_of(label_tensor, classes)
                    .map_err(|m| ClientError::Plan(format!("labels `{against}`: {m}")))?;
                if y.len() != rows {
                    return Err(ClientError::Plan(format!(
                        "`{against}` has {} labels for the {rows} rows of `{}`",
                        y.len(),
                        spec.name
                    )));
                }
                let score = score_logits(&t.data, rows, classes, &y);
                let step = rule.observe(&score);
                let (decision, kept) = match read_decision(model_dir, &o.trips)? {
                    Some(d) => (d.decision, true),
                    None => {
                        write_decision(model_dir, &Decision::new(&o.trips, step.verdict))?;
                        (step.verdict, false)
                    }
                };
                let row = EpochRow {
                    trips: o.trips.clone(),
                    score,
                    step,
                    decision,
                    kept,
                };
                on_row(&row);
                v.rows.push(row);
                if decision == Verdict::Stop {
                    v.stopped_after = Some(o.trips.clone());
                    break;
                }
            }
            v.finished = plan.outputs.iter().filter(|o| !o.repeated).all(|o| {
                manifest
                    .outputs
                    .iter()
                    .any(|m| m.name == o.name && m.trips.is_empty())
            });
        }
        if !opts.watch || v.finished || v.stopped_after.is_some() {
            return Ok(v);
        }
        if let Some(t) = opts.timeout {
            if last_news.elapsed() >= t {
                return Err(ClientError::Manifest {
                    path: manifest_path,
                    message: format!(
                        "validate --watch: no new epoch of `{}` for {:.0} s (is the cloud \
                         running with --early-stopping?)",
                        spec.name,
                        t.as_secs_f64()
                    ),
                });
            }
        }
        std::thread::sleep(opts.poll);
    }
}
