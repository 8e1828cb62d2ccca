//! A fixed key-switching workload (relinearization key switches at the top level; set and count
//! from `PROBE_SET`, default `n14`, and `PROBE_COUNT`, default 12) for instruction counting with
//! `valgrind --tool=callgrind`.
use blindtune_runtime::ckks::keyswitch;
use blindtune_runtime::ckks::*;

fn main() {
    let set = std::env::var("PROBE_SET").unwrap_or_else(|_| "n14".into());
    let count: usize = std::env::var("PROBE_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(12);
    let ctx = Context::new(Params::new(presets::by_name(&set).expect("known set")).unwrap());
    let mut kg = KeyGenerator::new(ctx.clone());
    let sk = kg.gen_secret_key();
    let evk = kg.gen_evaluation_keys(
        &sk,
        &KeyManifest {
            relinearization: true,
            galois_elements: vec![],
            max_levels: Default::default(),
        },
    );
    let key = evk.relinearization_key().unwrap().switching_key();
    let level = ctx.max_level();
    let basis = ctx.basis();
    let d = sampling::Sampler::new().uniform_poly(basis, &basis.q_indices(level));
    let mut acc = 0u64;
    for _ in 0..count {
        let (a, b) = keyswitch::switch_key(&ctx, level, &d, key);
        acc ^= a.data()[7] ^ b.data()[11];
    }
    println!("{acc}");
}
