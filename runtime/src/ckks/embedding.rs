//! The canonical embedding in floating point: the "special" FFT over the rotation group
//! `5^j mod 2N` that maps the `N/2` complex coefficients `u` of a message polynomial
//! `u_re(X) + X^{N/2}·u_im(X)` to its slots and back. No modular arithmetic: the encoder uses
//! it before rounding to residues, and the noise simulator uses it to move a message between
//! slots and coefficients (ModRaise).

use num_complex::Complex64;

/// Twiddles and rotation group for one ring degree `N`.
#[derive(Debug, Clone)]
pub struct Embedding {
    n: usize,
    /// `exp(2πi k / 2N)` for `k ∈ [0, 2N]`.
    ksi: Vec<Complex64>,
    /// `5^j mod 2N` for `j < N/2`.
    rot_group: Vec<usize>,
}

/// Permutes `v` into bit-reversed index order (length a power of two).
pub fn bit_reverse_in_place<T>(v: &mut [T]) {
    let n = v.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            v.swap(i, j);
        }
    }
}

impl Embedding {
    /// The embedding of `Z[X]/(X^N + 1)`, `N` a power of two.
    pub fn new(n: usize) -> Self {
        let m = 2 * n;
        let ksi = (0..=m)
            .map(|k| {
                let angle = 2.0 * std::f64::consts::PI * k as f64 / m as f64;
                Complex64::new(angle.cos(), angle.sin())
            })
            .collect();
        let mut rot_group = Vec::with_capacity(n / 2);
        let mut g = 1usize;
        for _ in 0..n / 2 {
            rot_group.push(g);
            g = g * 5 % m;
        }
        Embedding { n, ksi, rot_group }
    }

    /// The ring degree `N`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// `5^j mod 2N` for `j < N/2`: slot `j` is the message evaluated at `ζ^{5^j}`.
    pub fn rotation_group(&self) -> &[usize] {
        &self.rot_group
    }

    /// The special FFT (coefficient vector → slots, the decoding direction), in place.
    pub fn fft_special(&self, vals: &mut [Complex64]) {
        let size = vals.len();
        let m = 2 * self.n;
        bit_reverse_in_place(vals);
        let mut len = 2;
        while len <= size {
            let lenh = len >> 1;
            let lenq = len << 2;
            let gap = m / lenq;
            for i in (0..size).step_by(len) {
                for j in 0..lenh {
                    let idx = (self.rot_group[j] % lenq) * gap;
                    let u = vals[i + j];
                    let v = vals[i + j + lenh] * self.ksi[idx];
                    vals[i + j] = u + v;
                    vals[i + j + lenh] = u - v;
                }
            }
            len <<= 1;
        }
    }

    /// The inverse special FFT (slots → coefficient vector, the encoding direction), in place.
    pub fn fft_special_inv(&self, vals: &mut [Complex64]) {
        let size = vals.len();
        let m = 2 * self.n;
        let mut len = size;
        while len >= 2 {
            let lenh = len >> 1;
            let lenq = len << 2;
            let gap = m / lenq;
            for i in (0..size).step_by(len) {
                for j in 0..lenh {
                    let idx = (lenq - (self.rot_group[j] % lenq)) * gap;
                    let u = vals[i + j] + vals[i + j + lenh];
                    let v = (vals[i + j] - vals[i + j + lenh]) * self.ksi[idx];
                    vals[i + j] = u;
                    vals[i + j + lenh] = v;
                }
            }
            len >>= 1;
        }
        bit_reverse_in_place(vals);
        let inv = 1.0 / size as f64;
        vals.iter_mut().for_each(|v| *v *= inv);
    }
}
