//! RNS-CKKS, laid out by concept and layered as in Lattigo:
//!
//! * [`math`]: word arithmetic (moduli, Barrett/Shoup), prime generation, the NTT.
//! * [`rns`]: the RNS basis, base conversion, CRT reconstruction, RNS polynomials.
//! * [`params`], [`context`]: parameter sets as data, and the tables they imply.
//! * [`encoding`], [`sampling`]: the canonical embedding, CSPRNG sampling.
//! * [`keys`], [`keygen`]: key material by role, key generation.
//! * [`encryption`]: encryption and decryption.
//! * [`keyswitch`], [`evaluator`], [`galois`]: hybrid key switching and homomorphic evaluation.
//! * [`extended`]: ciphertexts kept over `Q ∪ P` between key switches (double hoisting).
//! * [`serialization`]: the versioned binary file format.
//! * [`bundle`]: the evaluation bundle, the one key file a cloud runtime receives.

pub mod bundle;
pub mod ciphertext;
pub mod context;
pub mod embedding;
pub mod encapsulation;
pub mod encoding;
pub mod encryption;
pub mod error;
pub mod evaluator;
pub mod extended;
pub mod galois;
pub mod keygen;
pub mod keys;
pub mod keyswitch;
pub mod math;
pub mod params;
pub mod plaintext;
pub mod rns;
pub mod sampling;
pub mod serialization;
pub mod testing;

pub use ciphertext::Ciphertext;
pub use context::Context;
pub use encoding::Encoder;
pub use encryption::{Decryptor, Encryptor};
pub use error::CkksError;
pub use evaluator::Evaluator;
pub use extended::{ExtendedCiphertext, ExtendedPlaintext};
pub use keygen::KeyGenerator;
pub use keys::{
    EvaluationKeys, GaloisKey, KeyManifest, PublicKey, RelinearizationKey, SecretKey, SwitchingKey,
};
pub use params::{presets, Params, ParamsError, ParamsLiteral, SecretDistribution};
pub use plaintext::Plaintext;
