//! The key directory `keygen` writes (`keys/`), and who may hold each file:
//!
//! | file | kind (envelope) | holder |
//! |---|---|---|
//! | `secret.key` | secret key (secret flag set), mode 0600 | the data owner only |
//! | `public.key` | public key | the data owner (`encrypt` reads it); harmless anywhere |
//! | `eval.bin` | evaluation bundle: public key, relinearization + the plan's Galois keys, bootstrapping keys | the cloud (`--eval-keys eval.bin`) |
//!
//! The cloud is given `eval.bin` alone, never the directory; its loader accepts only the
//! evaluation-bundle kind and refuses a file with the secret flag.

pub const SECRET_KEY_FILE: &str = "secret.key";
pub const PUBLIC_KEY_FILE: &str = "public.key";
pub const EVAL_BUNDLE_FILE: &str = "eval.bin";
