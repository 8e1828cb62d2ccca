//! Data-owner tools of blindtune.
//!
//! Today this is the feature extractor ([`features`]): a frozen DeiT / ViT backbone, read from a
//! timm checkpoint in safetensors format, turns the data owner's images into the feature vectors
//! that are then encrypted under CKKS. Key generation, encryption and decryption come later.

pub mod features;
