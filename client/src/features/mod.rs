//! Feature extraction with a frozen DeiT / ViT backbone from a timm safetensors checkpoint.
//!
//! - [`config`]: the `--config` JSON (architecture + input normalisation);
//! - [`checkpoint`]: loading and validating weights by timm tensor name;
//! - [`ops`]: matrix products (gemm), LayerNorm, GELU, softmax;
//! - [`deit`]: the forward pass;
//! - [`extract`]: batched, rayon-parallel extraction;
//! - [`images`]: images from a safetensors u8 tensor or a folder of PNGs, resized per the config;
//! - [`output`]: features and labels to safetensors (and .npy);
//! - [`pipeline`]: the whole `blindtune features` job;
//! - [`bench`]: images-per-second measurement.

pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod deit;
pub mod error;
pub mod extract;
pub mod images;
pub mod ops;
pub mod output;
pub mod pipeline;

pub use checkpoint::Weights;
pub use config::ModelConfig;
pub use deit::{DeiT, Intermediates, Scratch};
pub use error::{FeatureError, Result};
pub use extract::DEFAULT_BATCH;
pub use images::{ImageSet, Labels};
