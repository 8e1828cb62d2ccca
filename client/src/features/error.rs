//! The one error type of feature extraction. Every variant names what it is about: the file, the
//! config field, or the checkpoint tensor (by its timm name).

use std::path::PathBuf;

/// Errors of loading a config, a checkpoint or images, and of writing features.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid safetensors.
    #[error("{path}: not a valid safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },
    /// The config JSON is malformed or inconsistent; `field` names the offending field.
    #[error("config: field `{field}`: {message}")]
    Config { field: String, message: String },
    /// A tensor the config requires is absent from the checkpoint.
    #[error("checkpoint: missing tensor `{name}` (expected shape {expected:?}{why})")]
    MissingTensor {
        name: String,
        expected: Vec<usize>,
        why: String,
    },
    /// A checkpoint tensor has a shape other than the config implies.
    #[error("checkpoint: tensor `{name}` has shape {found:?}, expected {expected:?} ({why})")]
    WrongShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
        why: String,
    },
    /// A checkpoint tensor is stored in a dtype the loader does not read.
    #[error("checkpoint: tensor `{name}` has dtype {dtype}; supported are F32, F16, BF16 and F64")]
    UnsupportedDtype { name: String, dtype: String },
    /// The checkpoint contradicts the config in a way that is not a plain shape mismatch
    /// (e.g. a `dist_token` the config does not declare, or more blocks than `depth`).
    #[error("checkpoint: tensor `{name}`: {message}")]
    ConfigMismatch { name: String, message: String },
    /// A checkpoint tensor holds NaN or infinity.
    #[error("checkpoint: tensor `{name}` has a non-finite value at flat index {index}")]
    NonFinite { name: String, index: usize },
    /// The images (safetensors tensor or PNG folder) are unusable.
    #[error("images {path}: {message}")]
    Images { path: PathBuf, message: String },
    /// A PNG file could not be decoded.
    #[error("{path}: PNG decoding failed: {message}")]
    Png { path: PathBuf, message: String },
    /// The features could not be written.
    #[error("writing {path}: {message}")]
    Output { path: PathBuf, message: String },
}

pub type Result<T, E = FeatureError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FeatureError {
    let path = path.into();
    move |source| FeatureError::Io { path, source }
}
