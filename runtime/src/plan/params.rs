//! Resolving a plan's parameter set by name: the one place the compiler, key generation and
//! the executor turn `plan.params` into `Params` and a bootstrapping configuration.

use crate::circuits::bootstrapping::{config, BootstrappingConfig};
use crate::ckks::params::{presets, Params};

/// A parameter set a plan can name.
#[derive(Clone, Debug)]
pub struct PlanParams {
    pub params: Params,
    /// the shipped configuration when the set is bootstrappable
    pub bootstrapping: Option<BootstrappingConfig>,
    /// below the 128-bit bound (test sets only)
    pub insecure: bool,
}

/// Looks a set up among the shipped ones. Insecure sets (their names end in `-insecure`) are
/// refused unless `allow_insecure`.
pub fn resolve(name: &str, allow_insecure: bool) -> Result<PlanParams, String> {
    let literal = config::presets()
        .into_iter()
        .chain(presets::all())
        .find(|p| p.name == name)
        .ok_or_else(|| {
            let mut names: Vec<String> = config::presets()
                .into_iter()
                .chain(presets::all())
                .map(|p| p.name)
                .collect();
            names.dedup();
            format!(
                "unknown parameter set `{name}` (shipped: {})",
                names.join(", ")
            )
        })?;
    let insecure = name.ends_with("-insecure");
    if insecure && !allow_insecure {
        return Err(format!(
            "parameter set `{name}` is below the 128-bit security bound; it is for tests only (pass the explicit insecure option to use it)"
        ));
    }
    let params = if insecure {
        Params::new_insecure_for_tests(literal)
    } else {
        Params::new(literal)
    }
    .map_err(|e| format!("parameter set `{name}`: {e}"))?;
    let bootstrapping = config::config_for(name, params.n());
    Ok(PlanParams {
        params,
        bootstrapping,
        insecure,
    })
}

/// Hex of the parameters' fingerprint, as plans record it.
pub fn fingerprint_hex(params: &Params) -> String {
    params
        .fingerprint()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
