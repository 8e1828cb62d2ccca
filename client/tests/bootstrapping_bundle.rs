//! Keygen for a plan that bootstraps (the insecure N = 2^12 bootstrappable set): the bundle
//! carries bootstrapping keys whose evaluation keys cover the plan's and the bootstrapper's
//! needs, and the cloud builds a CPU backend that can bootstrap from `eval.bin` alone.

use std::collections::BTreeMap;

use blindtune_client::cloud::{cpu_backend, load_eval_bundle};
use blindtune_client::keyfiles::EVAL_BUNDLE_FILE;
use blindtune_client::owner::keygen;
use blindtune_client::params::{bootstrapping_config, fingerprint_hex, required_keys};
use blindtune_runtime::circuits::bootstrapping::config::test_boot_insecure;
use blindtune_runtime::circuits::bootstrapping::Bootstrapper;
use blindtune_runtime::ckks::keys::KeyManifest;
use blindtune_runtime::ckks::Params;
use blindtune_runtime::plan::*;

#[test]
fn bootstrapping_plans_get_bootstrapping_keys() {
    let p = Params::new_insecure_for_tests(test_boot_insecure()).unwrap();
    let plan = Plan {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        source: SourceInfo {
            name: "boot.bt".into(),
            blake3: "12".repeat(32),
            params: BTreeMap::new(),
            mode: "optimized".into(),
        },
        params: p.name().into(),
        params_fingerprint: fingerprint_hex(&p),
        insecure: true,
        block: BlockShape {
            s0: 16,
            s1: p.n() / 32,
        },
        bootstrapping: true,
        max_level: p.max_level(),
        keys: KeyManifest {
            relinearization: true,
            ..Default::default()
        },
        inputs: vec![],
        outputs: vec![],
        seed: 0,
        regs: vec![],
        body: vec![],
        estimate: Estimate::default(),
    };
    plan.validate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = keygen(&plan, dir.path()).unwrap();
    assert!(s.bootstrapping && s.relinearization && s.galois_keys > 0);
    let (ctx, bundle) = load_eval_bundle(&plan, &dir.path().join(EVAL_BUNDLE_FILE)).unwrap();
    let boot = bundle.bootstrapping.clone().expect("bootstrapping keys");
    assert!(bundle
        .evaluation
        .satisfies(&required_keys(&plan, ctx.params())));
    cpu_backend(&ctx, &bundle).unwrap();
    let config = bootstrapping_config(&plan, ctx.params()).unwrap();
    Bootstrapper::new(ctx.clone(), config, boot).expect("a bootstrapper from the bundle");
    // without bootstrapping in the plan, the same set gets no bootstrapping keys
    let plan = Plan {
        bootstrapping: false,
        ..plan
    };
    let dir = tempfile::tempdir().unwrap();
    assert!(!keygen(&plan, dir.path()).unwrap().bootstrapping);
}
