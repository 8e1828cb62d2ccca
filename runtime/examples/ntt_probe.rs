//! Runs 20 forward and inverse NTTs at N = 2^16: a fixed workload for instruction counting
//! (`valgrind --tool=callgrind`), which is repeatable on a loaded machine where timings are not.
use blindtune_runtime::ckks::math::{primes::generate_ntt_primes, Modulus, NttTable};

fn main() {
    let n = 1 << 16;
    let q = generate_ntt_primes(n, &[50], &[]).unwrap()[0];
    let t = NttTable::new(n, Modulus::new(q));
    let mut a: Vec<u64> = (0..n as u64).map(|i| (i * 0x9E37_79B9) % q).collect();
    for _ in 0..20 {
        t.forward(&mut a);
        t.inverse(&mut a);
    }
    println!("{}", a[12345]);
}
