//! The versioned binary file format of parameters, keys, plaintexts and ciphertexts.
//!
//! Every file is an envelope ([`envelope`]): magic, format version, object kind, a flag for
//! secret material, the fingerprint of the parameter set, the payload length, the payload
//! ([`objects`], written with the primitives of [`codec`]) and a BLAKE3 checksum of all that
//! precedes it. Loading checks each of these in turn and names what failed; it never panics
//! and never returns a partially valid object. Saving writes a temporary file and renames it,
//! so an interrupted save never destroys the previous file.

pub mod codec;
pub mod envelope;
pub mod objects;

pub use envelope::{FormatError, ObjectKind, FORMAT_VERSION, MAGIC};
pub use objects::{
    load, load_evaluation_keys, load_params, save, save_params, write_atomically, CiphertextGrid,
    Serializable,
};
