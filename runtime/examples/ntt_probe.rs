//! Runs 20 forward and inverse NTTs at N = 2^16 (`NTT_REPS` to change): a fixed workload for
//! instruction counting (`valgrind --tool=callgrind`), which is repeatable on a loaded machine
//! where timings are not; with a large `NTT_REPS` it also prints the time per pair.
use blindtune_runtime::ckks::math::{primes::generate_ntt_primes, Modulus, NttTable};

fn main() {
    let n = 1 << 16;
    let q = generate_ntt_primes(n, &[50], &[]).unwrap()[0];
    let t = NttTable::new(n, Modulus::new(q));
    let mut a: Vec<u64> = (0..n as u64).map(|i| (i * 0x9E37_79B9) % q).collect();
    let reps: usize = std::env::var("NTT_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let start = std::time::Instant::now();
    for _ in 0..reps {
        t.forward(&mut a);
        t.inverse(&mut a);
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / reps as f64;
    println!("{} ({per:.0} µs per forward+inverse)", a[12345]);
}
