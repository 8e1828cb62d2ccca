//! A fixed bootstrapping workload on the insecure N = 2^12 test ring (one full-slot bootstrap
//! after set-up) for instruction counting with `valgrind --tool=callgrind`.
use std::sync::Arc;

use blindtune_runtime::circuits::bootstrapping::config::{test_boot_config, test_boot_insecure};
use blindtune_runtime::circuits::bootstrapping::{Bootstrapper, BootstrappingKeys};
use blindtune_runtime::ckks::*;

fn main() {
    let ctx = Context::new(Params::new_insecure_for_tests(test_boot_insecure()).unwrap());
    let config = test_boot_config(ctx.n());
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let keys =
        BootstrappingKeys::generate(&mut kg, &sk, &Bootstrapper::key_manifest(&ctx, &config), 32);
    let boot = Bootstrapper::new(ctx.clone(), config, Arc::new(keys)).unwrap();
    let enc = Encoder::new(ctx.clone());
    let scale = ctx.params().default_scale();
    let ct = Encryptor::with_secret_key(ctx.clone(), &sk)
        .unwrap()
        .encrypt(&enc.encode(&[0.5; 2048], 0, scale).unwrap());
    let target = boot.max_target_level();
    boot.prepare(target, scale).unwrap();
    let out = boot.bootstrap(&ct, target).unwrap();
    println!("{}", out.level());
}
