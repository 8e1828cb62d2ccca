//! Reading and writing plans: JSON (readable) and a compact binary form (magic, version,
//! length, postcard payload, BLAKE3). Both refuse other formats and versions with a message
//! saying which, and both validate before returning.

use super::{Plan, FORMAT_NAME, FORMAT_VERSION};
use std::path::Path;

const MAGIC: &[u8; 8] = b"BTPLAN\0\x01";

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not a blindtune plan: {0}")]
    NotAPlan(String),
    #[error("plan format version {found} is not supported by this build (it reads version {supported}); recompile the program with this blindtune")]
    Version { found: u32, supported: u32 },
    #[error("malformed plan: {0}")]
    Malformed(String),
    #[error("the binary plan's checksum does not match: the file is corrupted or truncated")]
    Checksum,
    #[error("invalid plan: {0}")]
    Invalid(String),
}

/// A decoding error; the nesting bound's message when that is what stopped it.
fn malformed(e: String) -> PlanError {
    if super::ops::nesting::take_exceeded() {
        PlanError::Malformed(format!(
            "loops nested deeper than {} ({e})",
            super::ops::MAX_LOOP_DEPTH
        ))
    } else {
        PlanError::Malformed(e)
    }
}

fn check_header(format: &str, version: u32) -> Result<(), PlanError> {
    if format != FORMAT_NAME {
        return Err(PlanError::NotAPlan(format!(
            "its format field is {format:?}, not {FORMAT_NAME:?}"
        )));
    }
    if version != FORMAT_VERSION {
        return Err(PlanError::Version {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    Ok(())
}

impl Plan {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan always serializes")
    }

    /// Parses and validates a JSON plan. The format name and version are read first, so a
    /// plan from another version is refused by name even if its fields changed.
    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        #[derive(serde::Deserialize)]
        struct Header {
            format: Option<String>,
            version: Option<u32>,
        }
        let h: Header = serde_json::from_str(text)
            .map_err(|e| PlanError::NotAPlan(format!("not a JSON object ({e})")))?;
        let (Some(format), Some(version)) = (h.format, h.version) else {
            return Err(PlanError::NotAPlan(
                "no `format` and `version` fields".into(),
            ));
        };
        check_header(&format, version)?;
        super::ops::nesting::take_exceeded();
        let plan: Plan = serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
        plan.validate()
            .map_err(|e| PlanError::Invalid(e.to_string()))?;
        Ok(plan)
    }

    pub fn to_binary(&self) -> Vec<u8> {
        let payload = postcard::to_allocvec(self).expect("a plan always serializes");
        let mut out = Vec::with_capacity(payload.len() + 52);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(blake3::hash(&payload).as_bytes());
        out
    }

    pub fn from_binary(bytes: &[u8]) -> Result<Plan, PlanError> {
        if bytes.len() < 20 || &bytes[..8] != MAGIC {
            return Err(PlanError::NotAPlan("no blindtune plan header".into()));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        check_header(FORMAT_NAME, version)?;
        let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
        let rest = &bytes[20..];
        if (rest.len() as u64) != len.saturating_add(32) {
            return Err(PlanError::Malformed(format!(
                "the payload should be {len} bytes plus a 32-byte checksum, found {} bytes",
                rest.len()
            )));
        }
        let (payload, sum) = rest.split_at(len as usize);
        if blake3::hash(payload).as_bytes() != sum {
            return Err(PlanError::Checksum);
        }
        super::ops::nesting::take_exceeded();
        let plan: Plan = postcard::from_bytes(payload).map_err(|e| malformed(e.to_string()))?;
        check_header(&plan.format, plan.version)?;
        plan.validate()
            .map_err(|e| PlanError::Invalid(e.to_string()))?;
        Ok(plan)
    }

    /// Loads a plan, JSON or binary by content.
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let bytes = std::fs::read(path).map_err(|e| PlanError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let plan = if bytes.starts_with(MAGIC) {
            Plan::from_binary(&bytes)
        } else {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| PlanError::NotAPlan("neither a binary plan nor UTF-8 JSON".into()))?;
            Plan::from_json(text)
        };
        plan.map_err(|e| match e {
            PlanError::Io { .. } => e,
            other => PlanError::Io {
                path: path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, other.to_string()),
            },
        })
    }

    /// Writes JSON for a `.json` path, binary otherwise, atomically.
    pub fn save(&self, path: &Path) -> Result<(), PlanError> {
        let bytes = if path.extension().is_some_and(|e| e == "json") {
            self.to_json().into_bytes()
        } else {
            self.to_binary()
        };
        crate::ckks::serialization::write_atomically(path, &bytes).map_err(|e| PlanError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })
    }
}
