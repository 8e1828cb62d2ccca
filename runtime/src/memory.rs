//! Process-wide memory behaviour for executables built on the runtime.
//!
//! CKKS values are large (a ciphertext at N = 2^16 with 26 limbs is 26 MiB) and short-lived.
//! With glibc's defaults, freeing one at the top of the heap shrinks the heap (`brk`) and the
//! next allocation faults every page back in, which the kernel zeroes first: at N = 2^16 a
//! bootstrap spent about 15% of its time in page faults and page clearing (measured with
//! `perf` on `examples/bootstrap_probe`). Executables call [`retain_freed_memory`] once at
//! start-up so that freed blocks are reused instead. Peak memory is unchanged: what is kept
//! is what was already in use at some point.

/// Keeps freed blocks up to 32 MiB on the heap and never trims it, with one arena for all
/// threads (glibc's per-thread arenas are made of 64 MiB heaps that are unmapped when they
/// empty, which brought the page faults back for work on rayon's threads). glibc on Linux;
/// a no-op elsewhere. Safe to call more than once.
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator tunables; these values are in range
        // (32 MiB is glibc's largest mmap threshold on 64-bit targets).
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        }
    }
}
