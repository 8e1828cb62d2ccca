//! Key generation from a plan (data owner). Writes the key directory described in
//! [`crate::keyfiles`]: `secret.key` (created with mode 0600, never readable by others even
//! briefly), `public.key`, and the evaluation bundle `eval.bin` for the cloud: the public
//! key, relinearization and exactly the Galois keys of the plan's manifest (each held up to the
//! level the plan uses it at), plus bootstrapping keys when the plan bootstraps.
//!
//! The bundle and public key are written first and the secret key last; an existing
//! `secret.key` is never overwritten without `force` (data encrypted under it would become
//! undecryptable).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use blindtune_runtime::ckks::bundle::EvaluationBundle;
use blindtune_runtime::ckks::encapsulation::BootstrappingKeys;
use blindtune_runtime::ckks::serialization::{self, Serializable};
use blindtune_runtime::ckks::{Context, KeyGenerator, SecretKey};
use blindtune_runtime::plan::Plan;

use crate::error::{ClientError, Result};
use crate::files;
use crate::keyfiles::{EVAL_BUNDLE_FILE, PUBLIC_KEY_FILE, SECRET_KEY_FILE};
use crate::params::{bootstrapping_config, plan_context, required_keys};

#[derive(Clone, Debug, Default)]
pub struct KeygenOptions {
    /// replace an existing `secret.key`
    pub force: bool,
}

#[derive(Clone, Debug)]
pub struct KeyFile {
    pub path: PathBuf,
    pub bytes: u64,
}

#[derive(Clone, Debug)]
pub struct KeygenSummary {
    pub params: String,
    pub insecure: bool,
    pub secret_key: KeyFile,
    pub public_key: KeyFile,
    pub eval_bundle: KeyFile,
    pub relinearization: bool,
    pub galois_keys: usize,
    pub bootstrapping: bool,
    pub seconds: f64,
}

/// Generates the keys of `plan` into `out_dir`.
pub fn keygen(plan: &Plan, out_dir: &Path) -> Result<KeygenSummary> {
    keygen_with(plan, out_dir, &KeygenOptions::default())
}

/// Overwrites a buffer that held secret material.
fn wipe(mut bytes: Vec<u8>) {
    for b in bytes.iter_mut() {
        unsafe { std::ptr::write_volatile(b, 0) };
    }
}

pub fn keygen_with(plan: &Plan, out_dir: &Path, opts: &KeygenOptions) -> Result<KeygenSummary> {
    let start = Instant::now();
    let ctx = plan_context(plan)?;
    let secret_path = out_dir.join(SECRET_KEY_FILE);
    if secret_path.exists() && !opts.force {
        return Err(ClientError::Refused {
            path: secret_path,
            message: "a secret key is already there; replacing it would make everything \
                      encrypted under it undecryptable (use --force to replace it)"
                .into(),
        });
    }
    files::create_private_dir(out_dir)?;
    let params = ctx.params();
    let needs = required_keys(plan, params);
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk);
    tracing::info!(
        set = params.name(),
        galois = needs.galois_elements.len(),
        relin = needs.relinearization,
        bootstrapping = plan.bootstrapping,
        "generating evaluation keys"
    );
    let bundle = match bootstrapping_config(plan, params) {
        Some(config) => EvaluationBundle::with_bootstrapping(
            pk.clone(),
            BootstrappingKeys::generate(&mut kg, &sk, &needs, config.ephemeral_hamming_weight),
        ),
        None => EvaluationBundle::new(pk.clone(), kg.gen_evaluation_keys(&sk, &needs)),
    };
    let galois_keys = bundle.evaluation.manifest().galois_elements.len();
    let relinearization = bundle.evaluation.relinearization_key().is_some();
    let bootstrapping = bundle.bootstrapping.is_some();

    let write = |name: &str, bytes: &[u8]| -> Result<KeyFile> {
        let path = out_dir.join(name);
        files::write_atomic(&path, bytes)?;
        Ok(KeyFile {
            path,
            bytes: bytes.len() as u64,
        })
    };
    let eval_bundle = write(EVAL_BUNDLE_FILE, &bundle.to_bytes(&ctx))?;
    drop(bundle);
    let public_key = write(PUBLIC_KEY_FILE, &pk.to_bytes(&ctx))?;
    let secret_bytes = sk.to_bytes(&ctx);
    let written = files::write_private_atomic(&secret_path, &secret_bytes);
    let secret_len = secret_bytes.len() as u64;
    wipe(secret_bytes);
    written?;
    Ok(KeygenSummary {
        params: params.name().to_string(),
        insecure: !params.is_secure(),
        secret_key: KeyFile {
            path: secret_path,
            bytes: secret_len,
        },
        public_key,
        eval_bundle,
        relinearization,
        galois_keys,
        bootstrapping,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Loads `keys_dir/secret.key` for `plan` (its parameters and fingerprint). Warns when the
/// file is readable by others.
pub fn load_secret_key(plan: &Plan, keys_dir: &Path) -> Result<(Arc<Context>, SecretKey)> {
    let ctx = plan_context(plan)?;
    let path = keys_dir.join(SECRET_KEY_FILE);
    #[cfg(unix)]
    if let Ok(m) = std::fs::metadata(&path) {
        use std::os::unix::fs::PermissionsExt;
        if m.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                mode = format!("{:o}", m.permissions().mode() & 0o777),
                "the secret key is readable by others; chmod 600 it"
            );
        }
    }
    let sk: SecretKey = serialization::load(&ctx, &path)?;
    Ok((ctx, sk))
}
