//! Why a run failed. Every error raised while executing names the instruction by its path, as
//! [`crate::plan::validate`] does (`body[5].loop[3] mul: …`).

use super::io::IoError;
use crate::circuits::bootstrapping::BootstrapError;
use crate::ckks::CkksError;
use crate::plan::validate::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("the plan was compiled for parameter set `{plan_name}` (fingerprint {plan}) but the backend runs `{backend_name}` (fingerprint {backend}); recompile the plan for these parameters or load the matching keys")]
    ParamsMismatch {
        plan_name: String,
        plan: String,
        backend_name: String,
        backend: String,
    },
    #[error("invalid plan: {0}")]
    Invalid(#[from] ValidationError),
    /// The executor cannot be set up for this plan (missing bootstrapper, bad slot count, …).
    #[error("{0}")]
    Setup(String),
    #[error("{at}: {source}")]
    Backend { at: String, source: CkksError },
    #[error("{at}: bootstrapping: {source}")]
    Bootstrap { at: String, source: BootstrapError },
    #[error("{at}: {source}")]
    Io { at: String, source: IoError },
    /// A run-time fact contradicts the plan: a grid or dimension that does not fit, a value
    /// that is not finite, a scale that is not canonical.
    #[error("{at}: {message}")]
    Run { at: String, message: String },
    #[error("{at}: the observer stopped the run: {source}")]
    Observer {
        at: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot resume: {0}")]
    Resume(String),
}

impl ExecError {
    /// The instruction path the error names, if it arose while executing one.
    pub fn at(&self) -> Option<&str> {
        match self {
            ExecError::Backend { at, .. }
            | ExecError::Bootstrap { at, .. }
            | ExecError::Io { at, .. }
            | ExecError::Run { at, .. }
            | ExecError::Observer { at, .. } => Some(at),
            _ => None,
        }
    }
}

/// Attaches an instruction path to lower-level errors.
pub(crate) trait At<T> {
    fn at(self, at: &str) -> Result<T, ExecError>;
}

impl<T> At<T> for Result<T, CkksError> {
    fn at(self, at: &str) -> Result<T, ExecError> {
        self.map_err(|source| ExecError::Backend {
            at: at.to_string(),
            source,
        })
    }
}

impl<T> At<T> for Result<T, BootstrapError> {
    fn at(self, at: &str) -> Result<T, ExecError> {
        self.map_err(|source| ExecError::Bootstrap {
            at: at.to_string(),
            source,
        })
    }
}

impl<T> At<T> for Result<T, IoError> {
    fn at(self, at: &str) -> Result<T, ExecError> {
        self.map_err(|source| ExecError::Io {
            at: at.to_string(),
            source,
        })
    }
}

pub(crate) fn run_err(at: &str, message: impl Into<String>) -> ExecError {
    ExecError::Run {
        at: at.to_string(),
        message: message.into(),
    }
}
