//! Criterion benches of the hot kernels: one NTT limb, base conversion, and a full hybrid
//! key switch at N = 2^16 with the shipped `n16` parameters (single thread).

use std::sync::Arc;

use blindtune_runtime::ckks::keyswitch;
use blindtune_runtime::ckks::math::{primes::generate_ntt_primes, Modulus, NttTable};
use blindtune_runtime::ckks::rns::Poly;
use blindtune_runtime::ckks::*;
use criterion::{criterion_group, criterion_main, Criterion};

fn ntt(c: &mut Criterion) {
    for log_n in [14u32, 16] {
        let n = 1usize << log_n;
        let q = generate_ntt_primes(n, &[50], &[]).unwrap()[0];
        let t = NttTable::new(n, Modulus::new(q));
        let mut a: Vec<u64> = (0..n as u64).map(|i| (i * 0x9E37_79B9) % q).collect();
        c.bench_function(&format!("ntt_forward_2^{log_n}"), |b| {
            b.iter(|| t.forward(&mut a))
        });
        c.bench_function(&format!("ntt_inverse_2^{log_n}"), |b| {
            b.iter(|| t.inverse(&mut a))
        });
    }
}

fn key_switch(c: &mut Criterion) {
    // Single thread: the global pool gets one worker (criterion's closures are not Send).
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global();
    {
        let ctx: Arc<Context> = Context::new(Params::new(presets::n16()).unwrap());
        let mut kg = KeyGenerator::new(ctx.clone());
        let sk = kg.gen_secret_key();
        let rlk = kg.gen_evaluation_keys(
            &sk,
            &KeyManifest {
                relinearization: true,
                galois_elements: vec![],
                max_levels: Default::default(),
            },
        );
        let key = rlk.relinearization_key().unwrap();
        let level = ctx.max_level();
        let basis = ctx.basis();
        let mut sampler = sampling::Sampler::new();
        let d: Poly = sampler.uniform_poly(basis, &basis.q_indices(level));
        let mut group = c.benchmark_group("n16_keyswitch_1thread");
        group.sample_size(10);
        group.bench_function("decompose", |b| {
            b.iter(|| keyswitch::decompose(&ctx, level, &d))
        });
        let dec = keyswitch::decompose(&ctx, level, &d);
        let sw = relin_switching_key(key);
        group.bench_function("inner_product", |b| {
            b.iter(|| keyswitch::inner_product(&ctx, &dec, sw, None))
        });
        let (bb, _) = keyswitch::inner_product(&ctx, &dec, sw, None);
        group.bench_function("mod_down", |b| {
            b.iter(|| keyswitch::mod_down(&ctx, level, bb.clone()))
        });
        group.bench_function("switch_key", |b| {
            b.iter(|| keyswitch::switch_key(&ctx, level, &d, sw))
        });
        group.finish();
    }
}

fn relin_switching_key(k: &RelinearizationKey) -> &SwitchingKey {
    k.switching_key()
}

criterion_group!(benches, ntt, key_switch);
criterion_main!(benches);
