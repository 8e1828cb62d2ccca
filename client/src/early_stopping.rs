//! The data owner's early-stopping rule over per-epoch validation scores: keep the best epoch
//! by a metric (loss: lower is better; accuracy: higher), and stop when `patience` epochs in a
//! row have not improved on it (0: stop at the first epoch that does not improve), or when
//! `max_epochs` epochs have been validated. An improvement must beat the best by more than
//! `min_delta`; a score that is not finite (a diverged run) never improves. Pure arithmetic on
//! scores: the decryption around it is `owner::validate`.

use serde::Serialize;

use crate::decision::Verdict;
use crate::evaluate::Score;

/// What an epoch is judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// mean cross-entropy, lower is better
    Loss,
    /// argmax accuracy, higher is better
    Accuracy,
}

impl Metric {
    pub fn of(self, s: &Score) -> f64 {
        match self {
            Metric::Loss => s.loss,
            Metric::Accuracy => s.accuracy,
        }
    }

    /// Whether `value` beats `best` by more than `min_delta`.
    fn improves(self, value: f64, best: f64, min_delta: f64) -> bool {
        value.is_finite()
            && match self {
                Metric::Loss => value < best - min_delta,
                Metric::Accuracy => value > best + min_delta,
            }
    }
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "loss" => Ok(Metric::Loss),
            "accuracy" => Ok(Metric::Accuracy),
            _ => Err(format!("unknown metric `{s}` (loss or accuracy)")),
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Metric::Loss => "loss",
            Metric::Accuracy => "accuracy",
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub metric: Metric,
    /// epochs in a row without improvement that are tolerated; the next one stops
    pub patience: u64,
    /// how much better than the best an epoch must be to count as an improvement
    pub min_delta: f64,
    /// stop once this many epochs have been validated
    pub max_epochs: Option<u64>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            metric: Metric::Loss,
            patience: 3,
            min_delta: 0.0,
            max_epochs: None,
        }
    }
}

/// The judgement of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// the epoch's value of the metric
    pub value: f64,
    /// it is the best so far
    pub improved: bool,
    /// the best epoch so far (its index among the epochs seen, from 0) and its value
    pub best: (usize, f64),
    /// epochs since the best one
    pub stale: u64,
    pub verdict: Verdict,
    /// why it stops (empty when it goes on)
    pub reason: String,
}

/// The rule's state over the epochs seen so far.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    policy: Policy,
    best: Option<(usize, f64)>,
    seen: usize,
}

impl EarlyStopping {
    pub fn new(policy: Policy) -> Self {
        EarlyStopping {
            policy,
            best: None,
            seen: 0,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Judges the next epoch's score.
    pub fn observe(&mut self, score: &Score) -> Step {
        let p = &self.policy;
        let index = self.seen;
        self.seen += 1;
        let value = p.metric.of(score);
        let improved = match self.best {
            None => value.is_finite(),
            Some((_, best)) => p.metric.improves(value, best, p.min_delta),
        };
        if improved {
            self.best = Some((index, value));
        }
        let best = self.best.unwrap_or((index, value));
        let stale = match self.best {
            Some((b, _)) => (index - b) as u64,
            None => index as u64 + 1,
        };
        let reason = if stale > p.patience {
            format!(
                "no improvement of the {} for {stale} epoch(s) (best {:.4} at epoch {}; patience {})",
                p.metric, best.1, best.0, p.patience
            )
        } else if p.max_epochs.is_some_and(|m| self.seen as u64 >= m) {
            format!("{} epoch(s) validated (the maximum)", self.seen)
        } else {
            String::new()
        };
        Step {
            value,
            improved,
            best,
            stale,
            verdict: if reason.is_empty() {
                Verdict::Continue
            } else {
                Verdict::Stop
            },
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(loss: f64, accuracy: f64) -> Score {
        Score {
            rows: 1,
            classes: 2,
            accuracy,
            loss,
            confusion: vec![vec![0; 2]; 2],
        }
    }

    fn verdicts(policy: Policy, losses: &[f64]) -> Vec<Verdict> {
        let mut es = EarlyStopping::new(policy);
        losses
            .iter()
            .map(|&l| es.observe(&score(l, 1.0 - l)).verdict)
            .collect()
    }

    #[test]
    fn patience_counts_epochs_without_improvement() {
        use Verdict::{Continue as C, Stop as S};
        let p = |patience| Policy {
            patience,
            ..Policy::default()
        };
        let losses = [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.76, 0.77];
        assert_eq!(verdicts(p(0), &losses), [C, C, S, S, C, S, S, S]);
        assert_eq!(verdicts(p(1), &losses), [C, C, C, S, C, C, S, S]);
        assert_eq!(verdicts(p(2), &losses), [C, C, C, C, C, C, C, S]);
        // min_delta: 0.9 is not 0.15 below 1.0, 0.8 is
        let with_delta = Policy {
            patience: 0,
            min_delta: 0.15,
            ..Policy::default()
        };
        assert_eq!(verdicts(with_delta, &[1.0, 0.9, 0.8]), [C, S, C]);
        // accuracy: higher is better
        let acc = Policy {
            metric: Metric::Accuracy,
            patience: 0,
            ..Policy::default()
        };
        let mut es = EarlyStopping::new(acc);
        assert_eq!(es.observe(&score(9.0, 0.5)).verdict, C);
        assert_eq!(es.observe(&score(9.0, 0.6)).verdict, C);
        let s = es.observe(&score(0.1, 0.6));
        assert_eq!((s.verdict, s.best, s.stale), (S, (1, 0.6), 1));
        assert!(s.reason.contains("accuracy"), "{}", s.reason);
        // a diverged epoch never improves; max_epochs stops regardless
        assert_eq!(verdicts(p(0), &[1.0, f64::NAN]), [C, S]);
        assert_eq!(verdicts(p(0), &[f64::NAN]), [S]);
        let capped = Policy {
            patience: 10,
            max_epochs: Some(2),
            ..Policy::default()
        };
        assert_eq!(verdicts(capped, &[1.0, 0.9, 0.8]), [C, S, S]);
    }
}
