//! Errors of the workflow around a plan (key generation, encrypted datasets, decryption,
//! evaluation, plots). Each names the file, input or output it is about.

use std::path::{Path, PathBuf};

use blindtune_runtime::ckks::serialization::FormatError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A key, ciphertext or bundle file that does not load (the message names the file).
    #[error("{0}")]
    Format(#[from] FormatError),
    /// The plan cannot be used as asked (parameters, fingerprint, inconsistent streams).
    #[error("plan: {0}")]
    Plan(String),
    /// A data file that does not fit the plan's inputs.
    #[error("{path}: {message}")]
    Data { path: PathBuf, message: String },
    #[error("input `{name}`: {message}")]
    Input { name: String, message: String },
    #[error("output `{name}`: {message}")]
    Output { name: String, message: String },
    /// A `manifest.json` (or a file it lists) that is missing, malformed, corrupted or made
    /// for another plan.
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
    /// Refusing to overwrite something valuable (a secret key, a dataset).
    #[error("{path}: {message}")]
    Refused { path: PathBuf, message: String },
    #[error("{0}")]
    Ckks(#[from] blindtune_runtime::ckks::CkksError),
    /// An early-stopping decision file that is malformed, or that did not come in time.
    #[error("{path}: {message}")]
    Decision { path: PathBuf, message: String },
    /// A training checkpoint that is missing, damaged, or does not belong to this run (the
    /// field at fault: `plan`, `dataset`, `register r7`, …).
    #[error("{path}: checkpoint field `{field}`: {message}")]
    Checkpoint {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("plot {path}: {message}")]
    Plot { path: PathBuf, message: String },
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// `map_err` helper: an I/O error on `path`.
pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl ClientError {
    pub(crate) fn manifest(path: &Path, message: impl Into<String>) -> Self {
        ClientError::Manifest {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
    pub(crate) fn input(name: &str, message: impl Into<String>) -> Self {
        ClientError::Input {
            name: name.to_string(),
            message: message.into(),
        }
    }
}
