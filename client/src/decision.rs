//! The early-stopping decision files: how the data owner tells the cloud, after each epoch,
//! whether training goes on (HETAL's encrypted validation).
//!
//! After each trip of the loop around a repeated output scored `against` labels (an epoch),
//! the cloud has written that trip's encrypted validation logits into the model directory;
//! the owner decrypts and scores them (`blindtune validate`) and writes
//! `model/decisions/epoch-00003.json` (nested loops: `epoch-00001-00003.json`, the trips of
//! the enclosing loops first):
//!
//! ```json
//! {"format": "blindtune-decision", "version": 1, "epoch": 3, "trips": [3], "decision": "stop"}
//! ```
//!
//! `epoch` is the trip of the validation loop just done (from 0) and `trips` the trips of every
//! enclosing loop (the same indices as the output's file `val_logits/t00003.ct`). The file
//! carries the one bit the cloud needs and nothing else: the scores stay with the owner.
//! Files are written atomically (temporary file, fsync, rename), so a reader sees a whole file
//! or none; a file that is present but malformed is an error naming it, never a guess.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};
use crate::files;

pub const DECISION_FORMAT: &str = "blindtune-decision";
pub const DECISION_VERSION: u32 = 1;
/// The directory of the decision files, inside the model directory.
pub const DECISIONS_DIR: &str = "decisions";

/// Whether the cloud runs the next epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Continue,
    Stop,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Continue => "continue",
            Verdict::Stop => "stop",
        })
    }
}

/// One decision file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub format: String,
    pub version: u32,
    /// the trip of the validation loop just done, from 0
    pub epoch: u64,
    /// the trips of the enclosing loops, then `epoch`
    pub trips: Vec<u64>,
    pub decision: Verdict,
}

impl Decision {
    pub fn new(trips: &[u64], decision: Verdict) -> Decision {
        Decision {
            format: DECISION_FORMAT.into(),
            version: DECISION_VERSION,
            epoch: trips.last().copied().unwrap_or(0),
            trips: trips.to_vec(),
            decision,
        }
    }
}

/// Where the decision after the trip `trips` (the enclosing loops' trips, then the epoch) goes
/// in `model_dir`.
pub fn decision_path(model_dir: &Path, trips: &[u64]) -> PathBuf {
    let t: Vec<String> = trips.iter().map(|t| format!("{t:05}")).collect();
    model_dir
        .join(DECISIONS_DIR)
        .join(format!("epoch-{}.json", t.join("-")))
}

/// Reads the decision after `trips`: `None` when the file is not there yet; an error naming the
/// file when it is there but unreadable, malformed, of another format or version, or for
/// another epoch.
pub fn read_decision(model_dir: &Path, trips: &[u64]) -> Result<Option<Decision>> {
    let path = decision_path(model_dir, trips);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ClientError::Io { path, source }),
    };
    let bad = |m: String| ClientError::Decision {
        path: path.clone(),
        message: m,
    };
    let d: Decision = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "not a decision file ({e}); expected {{\"format\": \"{DECISION_FORMAT}\", \
             \"version\": {DECISION_VERSION}, \"epoch\": N, \"trips\": [..], \"decision\": \
             \"continue\" | \"stop\"}}"
        ))
    })?;
    if d.format != DECISION_FORMAT {
        return Err(bad(format!(
            "format `{}`, expected `{DECISION_FORMAT}`",
            d.format
        )));
    }
    if d.version != DECISION_VERSION {
        return Err(bad(format!(
            "version {}, this build reads version {DECISION_VERSION}",
            d.version
        )));
    }
    if d.trips != trips || Some(&d.epoch) != trips.last() {
        return Err(bad(format!(
            "it is the decision for epoch {} (trips {:?}) but its name is that of trips {trips:?}",
            d.epoch, d.trips
        )));
    }
    Ok(Some(d))
}

/// Writes a decision atomically (temporary file, fsync, rename), creating the decisions
/// directory.
pub fn write_decision(model_dir: &Path, decision: &Decision) -> Result<PathBuf> {
    let path = decision_path(model_dir, &decision.trips);
    let dir = model_dir.join(DECISIONS_DIR);
    std::fs::create_dir_all(&dir).map_err(crate::error::io_err(&dir))?;
    let json = serde_json::to_string_pretty(decision).expect("a decision serializes");
    files::write_atomic(&path, json.as_bytes())?;
    files::sync_dir(&dir);
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_round_trip_and_malformed_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path();
        assert_eq!(read_decision(m, &[3]).unwrap(), None);
        let d = Decision::new(&[3], Verdict::Stop);
        let p = write_decision(m, &d).unwrap();
        assert!(p.ends_with("decisions/epoch-00003.json"), "{}", p.display());
        assert_eq!(read_decision(m, &[3]).unwrap(), Some(d));
        assert_eq!(
            decision_path(m, &[1, 2]).file_name().unwrap(),
            "epoch-00001-00002.json"
        );

        let cases: &[(&str, &str)] = &[
            ("{\"epoch\": 3", "not a decision file"),
            ("{\"format\":\"blindtune-decision\",\"version\":1,\"epoch\":3,\"trips\":[3],\"decision\":\"maybe\"}", "not a decision file"),
            ("{\"format\":\"other\",\"version\":1,\"epoch\":3,\"trips\":[3],\"decision\":\"stop\"}", "format `other`"),
            ("{\"format\":\"blindtune-decision\",\"version\":9,\"epoch\":3,\"trips\":[3],\"decision\":\"stop\"}", "version 9"),
            ("{\"format\":\"blindtune-decision\",\"version\":1,\"epoch\":2,\"trips\":[2],\"decision\":\"stop\"}", "for epoch 2"),
            ("{\"format\":\"blindtune-decision\",\"version\":1,\"epoch\":3,\"trips\":[3],\"decision\":\"stop\",\"score\":0.9}", "unknown field"),
        ];
        for (text, want) in cases {
            std::fs::write(decision_path(m, &[3]), text).unwrap();
            let e = read_decision(m, &[3]).unwrap_err().to_string();
            assert!(e.contains("epoch-00003.json"), "names the file: {e}");
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
