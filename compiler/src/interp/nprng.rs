//! numpy's `np.random.default_rng(seed)` (SeedSequence -> PCG64) and `Generator.permutation`,
//! so the interpreter draws the same mini-batch orders as the Python baselines in
//! `data/deit-fmnist/baseline.json` ("a fresh permutation every epoch from default_rng(0)").

const MULT: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

pub struct NumpyRng {
    state: u128,
    inc: u128,
    has_u32: bool,
    buf_u32: u32,
}

const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const POOL: usize = 4;

fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut v = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    v = v.wrapping_mul(*hash_const);
    v ^ (v >> 16)
}

fn mix(x: u32, y: u32) -> u32 {
    let r = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> 16)
}

/// `SeedSequence(seed).generate_state(4, uint64)` for a seed < 2^64.
fn seed_state(seed: u64) -> [u64; 4] {
    let entropy: Vec<u32> = if seed == 0 {
        vec![0]
    } else if seed >> 32 == 0 {
        vec![seed as u32]
    } else {
        vec![seed as u32, (seed >> 32) as u32]
    };
    let mut pool = [0u32; POOL];
    let mut hc = INIT_A;
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(*entropy.get(i).unwrap_or(&0), &mut hc);
    }
    for src in 0..POOL {
        for dst in 0..POOL {
            if src != dst {
                let h = hashmix(pool[src], &mut hc);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    for &e in entropy.iter().skip(POOL) {
        for p in pool.iter_mut() {
            let h = hashmix(e, &mut hc);
            *p = mix(*p, h);
        }
    }
    let mut hb = INIT_B;
    let mut words = [0u32; 8];
    for (i, w) in words.iter_mut().enumerate() {
        let mut v = pool[i % POOL] ^ hb;
        hb = hb.wrapping_mul(MULT_B);
        v = v.wrapping_mul(hb);
        *w = v ^ (v >> 16);
    }
    let mut out = [0u64; 4];
    for i in 0..4 {
        out[i] = words[2 * i] as u64 | ((words[2 * i + 1] as u64) << 32);
    }
    out
}

impl NumpyRng {
    /// `np.random.default_rng(seed)`.
    pub fn new(seed: u64) -> Self {
        let s = seed_state(seed);
        let initstate = ((s[0] as u128) << 64) | s[1] as u128;
        let initseq = ((s[2] as u128) << 64) | s[3] as u128;
        let mut r = NumpyRng {
            state: 0,
            inc: (initseq << 1) | 1,
            has_u32: false,
            buf_u32: 0,
        };
        r.step();
        r.state = r.state.wrapping_add(initstate);
        r.step();
        r
    }
    fn step(&mut self) {
        self.state = self.state.wrapping_mul(MULT).wrapping_add(self.inc);
    }
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let hi = (self.state >> 64) as u64;
        let lo = self.state as u64;
        (hi ^ lo).rotate_right((hi >> 58) as u32)
    }
    pub fn next_u32(&mut self) -> u32 {
        if self.has_u32 {
            self.has_u32 = false;
            return self.buf_u32;
        }
        let n = self.next_u64();
        self.has_u32 = true;
        self.buf_u32 = (n >> 32) as u32;
        n as u32
    }
    /// A standard normal by Box-Muller from two `random()` draws. Reproducible, but not
    /// numpy's `standard_normal` stream (numpy uses a ziggurat).
    pub fn standard_normal_box_muller(&mut self) -> f64 {
        let u1 = 1.0 - self.random(); // in (0, 1]
        let u2 = self.random();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    /// `Generator.random()`.
    pub fn random(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9007199254740992.0)
    }
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for s in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> s;
        }
        if max <= 0xffff_ffff {
            loop {
                let v = (self.next_u32() as u64) & mask;
                if v <= max {
                    return v;
                }
            }
        }
        loop {
            let v = self.next_u64() & mask;
            if v <= max {
                return v;
            }
        }
    }
    /// `Generator.permutation(n)`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.interval(i as u64) as usize;
            v.swap(i, j);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn matches_numpy_default_rng_0() {
        // np.random.default_rng(0).random() == 0.6369616873214543
        let mut r = NumpyRng::new(0);
        let x = r.random();
        assert!((x - 0.6369616873214543).abs() < 1e-16, "{x}");
    }
}
