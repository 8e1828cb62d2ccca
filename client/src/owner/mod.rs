//! The data owner's functions that touch the secret key: key generation ([`keys::keygen`]),
//! loading `secret.key` ([`keys::load_secret_key`]), decryption ([`decrypt`]) and encrypted
//! validation with early-stopping decisions ([`validate`]).
//!
//! **Roles invariant.** Nothing in [`crate::cloud`] imports this module (checked by
//! `client/tests/roles.rs`), and no cloud command links to these functions: the cloud holds
//! `eval.bin` only and cannot open a secret key by construction.

pub mod decrypt;
pub mod keys;
pub mod validate;

pub use decrypt::{decrypt, decrypt_model, DecryptSummary, ModelDecryptor};
pub use keys::{keygen, keygen_with, load_secret_key, KeyFile, KeygenOptions, KeygenSummary};
pub use validate::{validate, EpochRow, ValidateOptions, Validation};
