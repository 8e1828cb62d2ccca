//! The homomorphic special DFT of bootstrapping, factored into butterfly stages and collapsed
//! into a chosen number of levels.
//!
//! The encoder's decoding map is `z = B · BitRev · u` (butterflies `B` after a bit reversal).
//! CoeffsToSlots applies `B^{-1}` and leaves its output in bit-reversed order
//! (`B^{-1} z = BitRev · u`); EvalMod is slot-wise so the order does not matter;
//! SlotsToCoeffs applies `B`. Each butterfly stage has three non-zero diagonals; merging `k`
//! consecutive stages gives at most `2^{k+1} − 1` diagonals and costs one level.

use num_complex::Complex64;

use crate::circuits::linear_transform::DiagonalMatrix;

fn rotation_group(two_n: usize, count: usize) -> Vec<usize> {
    let mut g = 1usize;
    (0..count)
        .map(|_| {
            let r = g;
            g = g * 5 % two_n;
            r
        })
        .collect()
}

fn ksi(k: usize, two_n: usize) -> Complex64 {
    let a = 2.0 * std::f64::consts::PI * k as f64 / two_n as f64;
    Complex64::new(a.cos(), a.sin())
}

/// Butterfly stages of `B` for `slots` slots in a ring of degree `n`, in application order
/// (`len = 2, 4, …, slots`).
pub fn slots_to_coeffs_stages(n: usize, slots: usize) -> Vec<DiagonalMatrix> {
    let two_n = 2 * n;
    let rot = rotation_group(two_n, slots);
    let one = Complex64::new(1.0, 0.0);
    let mut stages = Vec::new();
    let mut len = 2;
    while len <= slots {
        let lenh = len / 2;
        let lenq = len * 4;
        let gap = two_n / lenq;
        let mut m = DiagonalMatrix::zero(slots);
        for i in (0..slots).step_by(len) {
            for j in 0..lenh {
                let w = ksi((rot[j] % lenq) * gap, two_n);
                // out[i+j] = in[i+j] + w·in[i+j+lenh]; out[i+j+lenh] = in[i+j] − w·in[i+j+lenh]
                m.add_entry(i + j, 0, one);
                m.add_entry(i + j, lenh, w);
                m.add_entry(i + j + lenh, slots - lenh, one);
                m.add_entry(i + j + lenh, 0, -w);
            }
        }
        stages.push(m);
        len *= 2;
    }
    stages
}

/// Butterfly stages of `B^{-1}` (without the final `1/slots`), in application order
/// (`len = slots, …, 4, 2`).
pub fn coeffs_to_slots_stages(n: usize, slots: usize) -> Vec<DiagonalMatrix> {
    let two_n = 2 * n;
    let rot = rotation_group(two_n, slots);
    let one = Complex64::new(1.0, 0.0);
    let mut stages = Vec::new();
    let mut len = slots;
    while len >= 2 {
        let lenh = len / 2;
        let lenq = len * 4;
        let gap = two_n / lenq;
        let mut m = DiagonalMatrix::zero(slots);
        for i in (0..slots).step_by(len) {
            for j in 0..lenh {
                let w = ksi((lenq - rot[j] % lenq) * gap, two_n);
                // out[i+j] = in[i+j] + in[i+j+lenh]; out[i+j+lenh] = w·(in[i+j] − in[i+j+lenh])
                m.add_entry(i + j, 0, one);
                m.add_entry(i + j, lenh, one);
                m.add_entry(i + j + lenh, slots - lenh, w);
                m.add_entry(i + j + lenh, 0, -w);
            }
        }
        stages.push(m);
        len /= 2;
    }
    stages
}

/// Merges consecutive stages into `groups` matrices (application order kept). Earlier groups
/// take the extra stages when the split is uneven.
pub fn collapse(stages: &[DiagonalMatrix], groups: usize) -> Vec<DiagonalMatrix> {
    assert!(groups >= 1 && !stages.is_empty());
    let groups = groups.min(stages.len());
    let base = stages.len() / groups;
    let extra = stages.len() % groups;
    let mut out = Vec::with_capacity(groups);
    let mut at = 0;
    for g in 0..groups {
        let size = base + usize::from(g < extra);
        let mut m = stages[at].clone();
        for s in &stages[at + 1..at + size] {
            m = s.mul(&m);
        }
        out.push(m);
        at += size;
    }
    out
}

/// Sparse packing (`2·slots ≤ N/2`): the last CoeffsToSlots factor `M` (`slots × slots`) as a
/// `2·slots` matrix that writes `M·x` to the first half and `−i·M·x` to the second, reading
/// the first half of its input (a `slots`-slot ciphertext is that vector repeated twice in
/// the `2·slots` view). Then `v + conj(v) = [2·Re(Mx), 2·Im(Mx)]`: all `2·slots` real
/// coefficients in one ciphertext, so EvalMod runs once instead of twice.
pub fn pack_real_imaginary(m: &DiagonalMatrix) -> DiagonalMatrix {
    let n = m.n();
    let two = 2 * n;
    let minus_i = Complex64::new(0.0, -1.0);
    let mut out = DiagonalMatrix::zero(two);
    for (&d, vals) in m.diagonals() {
        for (j, &v) in vals.iter().enumerate() {
            if v == Complex64::new(0.0, 0.0) {
                continue;
            }
            let col = (j + d) % n;
            out.add_entry(j, (col + two - j) % two, v);
            out.add_entry(j + n, (col + two - j - n) % two, minus_i * v);
        }
    }
    out
}

/// The inverse packing for SlotsToCoeffs: the first factor `S` (`slots × slots`) as a
/// `2·slots` matrix that reads the real values `[a, b]` as `a + i·b` and writes `S·(a + i·b)`
/// to both halves (the repeated layout of `slots`-slot packing).
pub fn unpack_real_imaginary(s: &DiagonalMatrix) -> DiagonalMatrix {
    let n = s.n();
    let two = 2 * n;
    let i_unit = Complex64::new(0.0, 1.0);
    let mut out = DiagonalMatrix::zero(two);
    for (&d, vals) in s.diagonals() {
        for (j, &v) in vals.iter().enumerate() {
            if v == Complex64::new(0.0, 0.0) {
                continue;
            }
            let col = (j + d) % n;
            for row in [j, j + n] {
                out.add_entry(row, (col + two - row) % two, v);
                out.add_entry(row, (col + n + two - row) % two, i_unit * v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::encoding::bit_reverse_in_place;
    use crate::ckks::params::{presets, Params};
    use crate::ckks::testing::random_complex;
    use crate::ckks::{Context, Encoder};

    fn max_err(a: &[Complex64], b: &[Complex64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).norm())
            .fold(0.0, f64::max)
    }

    #[test]
    fn factored_dft_matches_the_encoder_for_every_grouping() {
        let ctx = Context::new(Params::new_insecure_for_tests(presets::test_insecure()).unwrap());
        let enc = Encoder::new(ctx.clone());
        let n = ctx.n();
        for slots in [4usize, 64, n / 2] {
            let u = random_complex(slots, 1.0);
            // Decoding direction: B · BitRev · u == special FFT(u)
            let mut want = u.clone();
            enc.fft_special(&mut want);
            let mut br = u.clone();
            bit_reverse_in_place(&mut br);
            for groups in [1, 2, 3] {
                let mut v = br.clone();
                for m in collapse(&slots_to_coeffs_stages(n, slots), groups) {
                    v = m.apply(&v);
                }
                assert!(
                    max_err(&v, &want) < 1e-9,
                    "StC slots {slots} groups {groups}"
                );
            }
            // Encoding direction: B^{-1} z / slots == BitRev · inverse special FFT(z)
            let z = random_complex(slots, 1.0);
            let mut want = z.clone();
            enc.fft_special_inv(&mut want);
            bit_reverse_in_place(&mut want);
            for groups in [1, 2, 4] {
                let mut v = z.clone();
                for m in collapse(&coeffs_to_slots_stages(n, slots), groups) {
                    v = m.apply(&v);
                }
                v.iter_mut().for_each(|x| *x /= slots as f64);
                assert!(
                    max_err(&v, &want) < 1e-9,
                    "CtS slots {slots} groups {groups}"
                );
            }
        }
    }

    #[test]
    fn packing_puts_real_and_imaginary_parts_side_by_side() {
        let n = 1 << 10;
        let slots = 64;
        let m = collapse(&coeffs_to_slots_stages(n, slots), 2)
            .pop()
            .unwrap();
        let s = collapse(&slots_to_coeffs_stages(n, slots), 2).remove(0);
        let x = random_complex(slots, 1.0);
        let twice: Vec<Complex64> = x.iter().chain(&x).copied().collect();
        let mx = m.apply(&x);
        let v = pack_real_imaginary(&m).apply(&twice);
        let minus_i = Complex64::new(0.0, -1.0);
        for j in 0..slots {
            assert!((v[j] - mx[j]).norm() < 1e-9);
            assert!((v[j + slots] - minus_i * mx[j]).norm() < 1e-9);
            // v + conj(v) = [2 Re(Mx), 2 Im(Mx)]
            assert!(((v[j] + v[j].conj()).re - 2.0 * mx[j].re).abs() < 1e-9);
            assert!(((v[j + slots] + v[j + slots].conj()).re - 2.0 * mx[j].im).abs() < 1e-9);
        }
        let (a, b) = (random_complex(slots, 1.0), random_complex(slots, 1.0));
        let ab: Vec<Complex64> = a
            .iter()
            .chain(&b)
            .map(|z| Complex64::new(z.re, 0.0))
            .collect();
        let w: Vec<Complex64> = (0..slots)
            .map(|j| Complex64::new(a[j].re, b[j].re))
            .collect();
        let sw = s.apply(&w);
        let out = unpack_real_imaginary(&s).apply(&ab);
        for j in 0..slots {
            assert!((out[j] - sw[j]).norm() < 1e-9);
            assert!((out[j + slots] - sw[j]).norm() < 1e-9);
        }
    }

    #[test]
    fn collapsed_stages_stay_sparse() {
        let stages = coeffs_to_slots_stages(1 << 12, 1 << 11);
        let groups = collapse(&stages, 3);
        for g in &groups {
            assert!(
                g.num_diagonals() <= 2 * (1 << 4) - 1,
                "{}",
                g.num_diagonals()
            );
        }
    }
}
