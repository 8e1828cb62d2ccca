//! The envelope every blindtune file shares: header, payload, checksum.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "BLINDTNE"
//!      8     2  format version (u16 LE)
//!     10     1  object kind
//!     11     1  flags (bit 0: secret material)
//!     12    32  parameter fingerprint (zero for a parameter file)
//!     44     8  payload length (u64 LE)
//!     52     n  payload
//!   52+n    32  BLAKE3 of bytes [0, 52+n)
//! ```

use super::codec::Reader;

pub const MAGIC: &[u8; 8] = b"BLINDTNE";
pub const FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 52;
const CHECKSUM_LEN: usize = 32;
const FLAG_SECRET: u8 = 1;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Params = 1,
    SecretKey = 2,
    PublicKey = 3,
    EvaluationKeys = 4,
    Plaintext = 5,
    Ciphertext = 6,
    BootstrappingKeys = 7,
    /// What a cloud runtime receives: public key, evaluation keys, bootstrapping keys.
    EvaluationBundle = 8,
    /// A grid of ciphertexts (one block of a tensor each), e.g. one batch of an input.
    CiphertextGrid = 9,
    /// The state of a training run between two trips (the cloud's `train --checkpoint-every`):
    /// its registers' ciphertexts and public values, and where its inputs and outputs stand.
    Checkpoint = 10,
}

impl ObjectKind {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => ObjectKind::Params,
            2 => ObjectKind::SecretKey,
            3 => ObjectKind::PublicKey,
            4 => ObjectKind::EvaluationKeys,
            5 => ObjectKind::Plaintext,
            6 => ObjectKind::Ciphertext,
            7 => ObjectKind::BootstrappingKeys,
            8 => ObjectKind::EvaluationBundle,
            9 => ObjectKind::CiphertextGrid,
            10 => ObjectKind::Checkpoint,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Params => "parameter set",
            ObjectKind::SecretKey => "secret key",
            ObjectKind::PublicKey => "public key",
            ObjectKind::EvaluationKeys => "evaluation keys",
            ObjectKind::Plaintext => "plaintext",
            ObjectKind::Ciphertext => "ciphertext",
            ObjectKind::BootstrappingKeys => "bootstrapping keys",
            ObjectKind::EvaluationBundle => "evaluation bundle",
            ObjectKind::CiphertextGrid => "ciphertext grid",
            ObjectKind::Checkpoint => "training checkpoint",
        }
    }

    /// Whether objects of this kind are secret (only the data owner may hold them).
    pub fn is_secret(self) -> bool {
        matches!(self, ObjectKind::SecretKey)
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not a blindtune file (bad magic bytes)")]
    BadMagic,
    #[error("format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion { found: u16, supported: u16 },
    #[error("unknown object kind {0}")]
    UnknownKind(u8),
    #[error("expected a {expected} file but this is a {found} file")]
    WrongKind {
        expected: &'static str,
        found: &'static str,
    },
    #[error("refusing to load a secret key as evaluation material: the cloud side must never receive the secret key")]
    SecretKeyRefused,
    #[error(
        "the file belongs to another parameter set (fingerprint {found}, expected {expected})"
    )]
    ParameterMismatch { expected: String, found: String },
    #[error("truncated file: field `{field}` needs {needed} bytes at offset {offset} but only {available} remain")]
    Truncated {
        field: &'static str,
        needed: usize,
        available: usize,
        offset: usize,
    },
    #[error("checksum mismatch: the file is corrupted")]
    ChecksumMismatch,
    #[error("malformed field `{field}`: {reason}")]
    Malformed { field: &'static str, reason: String },
    #[error("{path}: {source}")]
    File {
        path: String,
        source: Box<FormatError>,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl FormatError {
    /// Attaches the file path.
    pub fn in_file(self, path: &std::path::Path) -> FormatError {
        FormatError::File {
            path: path.display().to_string(),
            source: Box::new(self),
        }
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter()
        .take(8)
        .map(|x| format!("{x:02x}"))
        .collect::<String>()
        + "…"
}

/// Wraps a payload in an envelope.
pub fn seal(kind: ObjectKind, fingerprint: [u8; 32], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(kind as u8);
    out.push(if kind.is_secret() { FLAG_SECRET } else { 0 });
    out.extend_from_slice(&fingerprint);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

/// An opened envelope.
pub struct Opened<'a> {
    pub kind: ObjectKind,
    pub fingerprint: [u8; 32],
    pub payload: &'a [u8],
}

/// Checks the envelope and returns its parts. `expected` is the kind the caller wants.
pub fn open(data: &[u8], expected: ObjectKind) -> Result<Opened<'_>, FormatError> {
    let mut r = Reader::new(data);
    if r.remaining() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
        return Err(FormatError::BadMagic);
    }
    r.take(MAGIC.len(), "magic")?;
    let version = u16::from_le_bytes(r.take(2, "format version")?.try_into().expect("2 bytes"));
    if version != FORMAT_VERSION {
        return Err(FormatError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let kind_byte = r.u8("object kind")?;
    let kind = ObjectKind::from_u8(kind_byte).ok_or(FormatError::UnknownKind(kind_byte))?;
    let flags = r.u8("flags")?;
    // A secret key is refused by every loader but its own, whatever else is wrong with it.
    if (kind.is_secret() || flags & FLAG_SECRET != 0) && !expected.is_secret() {
        return Err(FormatError::SecretKeyRefused);
    }
    if kind != expected {
        return Err(FormatError::WrongKind {
            expected: expected.name(),
            found: kind.name(),
        });
    }
    let fingerprint: [u8; 32] = r
        .take(32, "parameter fingerprint")?
        .try_into()
        .expect("32 bytes");
    let len = r.u64("payload length")?;
    let len = usize::try_from(len).map_err(|_| FormatError::Malformed {
        field: "payload length",
        reason: "too large".into(),
    })?;
    let payload = r.take(len, "payload")?;
    let end = r.position();
    let sum = r.take(CHECKSUM_LEN, "checksum")?;
    r.finish("file")?;
    if blake3::hash(&data[..end]).as_bytes() != sum {
        return Err(FormatError::ChecksumMismatch);
    }
    Ok(Opened {
        kind,
        fingerprint,
        payload,
    })
}
