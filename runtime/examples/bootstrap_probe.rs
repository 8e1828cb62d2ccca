//! A fixed bootstrapping workload (one full-slot bootstrap after set-up) for instruction
//! counting with `valgrind --tool=callgrind` on the insecure N = 2^12 test ring, or for
//! sampling with `perf record -p` at N = 2^16 (`PROBE_SET=n16-boot`): the probe prints
//! `READY <pid>` on stderr once keys and transforms are ready, waits `PROBE_WAIT` seconds
//! (default 0) for the profiler to attach, then bootstraps `PROBE_COUNT` times (default 1).
use std::sync::Arc;

use blindtune_runtime::circuits::bootstrapping::config::{
    n16_boot, test_boot_config, test_boot_insecure,
};
use blindtune_runtime::circuits::bootstrapping::{
    Bootstrapper, BootstrappingConfig, BootstrappingKeys,
};
use blindtune_runtime::ckks::*;

fn main() {
    blindtune_runtime::memory::retain_freed_memory();
    let set = std::env::var("PROBE_SET").unwrap_or_else(|_| "test-boot-insecure".into());
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let lit = if set == "n16-boot" {
        n16_boot()
    } else {
        test_boot_insecure()
    };
    let ctx = Context::new(Params::new_insecure_for_tests(lit).unwrap());
    let config = if set == "n16-boot" {
        BootstrappingConfig::full_slots(ctx.n())
    } else {
        test_boot_config(ctx.n())
    };
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let keys =
        BootstrappingKeys::generate(&mut kg, &sk, &Bootstrapper::key_manifest(&ctx, &config), 32);
    let boot = Bootstrapper::new(ctx.clone(), config, Arc::new(keys)).unwrap();
    let enc = Encoder::new(ctx.clone());
    let scale = ctx.params().default_scale();
    let ct = Encryptor::with_secret_key(ctx.clone(), &sk)
        .unwrap()
        .encrypt(&enc.encode(&vec![0.5; ctx.n() / 2], 0, scale).unwrap());
    let target = boot.max_target_level();
    boot.prepare(target, scale).unwrap();
    eprintln!("READY {}", std::process::id());
    std::thread::sleep(std::time::Duration::from_secs(env("PROBE_WAIT", 0)));
    for _ in 0..env("PROBE_COUNT", 1) {
        let out = boot.bootstrap(&ct, target).unwrap();
        println!("{}", out.level());
    }
}
