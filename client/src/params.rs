//! A plan's parameter set: found by its shipped name, pinned by its fingerprint. The insecure
//! test sets are only built for a plan that says it is insecure.

use std::sync::Arc;

use blindtune_runtime::circuits::bootstrapping::bootstrapper::key_manifest_for;
use blindtune_runtime::circuits::bootstrapping::config as boot_config;
use blindtune_runtime::circuits::bootstrapping::BootstrappingConfig;
use blindtune_runtime::ckks::{presets, Context, KeyManifest, Params, ParamsError, ParamsLiteral};
use blindtune_runtime::plan::Plan;

use crate::error::{ClientError, Result};
use crate::files::hex;

/// Every shipped parameter set by name: the leveled ones and the bootstrappable ones.
fn shipped(name: &str) -> Option<ParamsLiteral> {
    presets::by_name(name).or_else(|| boot_config::presets().into_iter().find(|p| p.name == name))
}

/// The parameters of `plan`: its named set, checked against its fingerprint. A set below the
/// 128-bit bound is built only if the plan is marked `insecure`.
pub fn plan_params(plan: &Plan) -> Result<Params> {
    let literal = shipped(&plan.params).ok_or_else(|| {
        let mut names: Vec<String> = presets::all().into_iter().map(|p| p.name).collect();
        names.extend(boot_config::presets().into_iter().map(|p| p.name));
        ClientError::Plan(format!(
            "unknown parameter set `{}` (this build ships {})",
            plan.params,
            names.join(", ")
        ))
    })?;
    let params = match Params::new(literal.clone()) {
        Ok(p) => {
            if plan.insecure {
                tracing::warn!(set = %plan.params, "the plan is marked insecure but its parameter set is secure");
            }
            p
        }
        Err(ParamsError::Insecure { .. }) if plan.insecure => {
            tracing::warn!(set = %plan.params, "INSECURE test parameters: the keys protect nothing");
            Params::new_insecure_for_tests(literal).map_err(|e| ClientError::Plan(e.to_string()))?
        }
        Err(ParamsError::Insecure { .. }) => {
            return Err(ClientError::Plan(format!(
                "parameter set `{}` is below the 128-bit security bound and the plan is not \
                 marked insecure; refusing to generate keys or encrypt with it",
                plan.params
            )))
        }
        Err(e) => return Err(ClientError::Plan(e.to_string())),
    };
    let fingerprint = hex(&params.fingerprint());
    if !fingerprint.eq_ignore_ascii_case(plan.params_fingerprint.trim()) {
        return Err(ClientError::Plan(format!(
            "parameter set `{}` of this build has fingerprint {fingerprint}, but the plan was \
             compiled for {}: recompile the program with this blindtune",
            plan.params, plan.params_fingerprint
        )));
    }
    Ok(params)
}

/// The plan's parameters and their precomputed context.
pub fn plan_context(plan: &Plan) -> Result<Arc<Context>> {
    Ok(Context::new(plan_params(plan)?))
}

/// The bootstrapping configuration shipped with the plan's parameter set (`None` when the plan
/// does not bootstrap).
pub fn bootstrapping_config(plan: &Plan, params: &Params) -> Option<BootstrappingConfig> {
    plan.bootstrapping.then(|| {
        if params.name() == boot_config::test_boot_insecure().name {
            boot_config::test_boot_config(params.n())
        } else {
            BootstrappingConfig::full_slots(params.n())
        }
    })
}

/// Every evaluation key the plan needs: its manifest, plus the bootstrapper's keys when it
/// bootstraps (already in the plan's manifest if the compiler put them there; the union is
/// then the plan's manifest).
pub fn required_keys(plan: &Plan, params: &Params) -> KeyManifest {
    let mut keys = plan.keys.clone();
    if let Some(config) = bootstrapping_config(plan, params) {
        keys.union(&key_manifest_for(params, &config));
    }
    keys
}

/// The fingerprint of `params` as plans write it (lowercase hex).
pub fn fingerprint_hex(params: &Params) -> String {
    hex(&params.fingerprint())
}
