//! Slot-wise linear maps stored by their non-zero diagonals.
//!
//! `diag_k[i] = M[i][(i + k) mod n]`, so that `M·v = Σ_k diag_k ⊙ rot_k(v)` where `rot_k`
//! rotates left by `k`. Products of such matrices stay sparse when the factors are (as for the
//! butterfly stages of the special FFT), which is what level collapsing relies on.

use std::collections::BTreeMap;

use num_complex::Complex64;

/// An `n × n` complex matrix given by its non-zero diagonals.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagonalMatrix {
    n: usize,
    diags: BTreeMap<usize, Vec<Complex64>>,
}

impl DiagonalMatrix {
    pub fn zero(n: usize) -> Self {
        DiagonalMatrix {
            n,
            diags: BTreeMap::new(),
        }
    }

    pub fn identity(n: usize) -> Self {
        let mut m = Self::zero(n);
        m.diags.insert(0, vec![Complex64::new(1.0, 0.0); n]);
        m
    }

    /// Builds from a dense row-major matrix (tests and small transforms).
    pub fn from_dense(rows: &[Vec<Complex64>]) -> Self {
        let n = rows.len();
        let mut m = Self::zero(n);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), n, "matrix must be square");
            for (j, &v) in row.iter().enumerate() {
                if v != Complex64::new(0.0, 0.0) {
                    m.add_entry(i, (j + n - i) % n, v);
                }
            }
        }
        m
    }

    pub fn n(&self) -> usize {
        self.n
    }

    /// Adds `v` to entry `(row, row + k)`.
    pub fn add_entry(&mut self, row: usize, k: usize, v: Complex64) {
        let n = self.n;
        self.diags
            .entry(k % n)
            .or_insert_with(|| vec![Complex64::new(0.0, 0.0); n])[row] += v;
    }

    pub fn diagonals(&self) -> &BTreeMap<usize, Vec<Complex64>> {
        &self.diags
    }

    pub fn num_diagonals(&self) -> usize {
        self.diags.len()
    }

    /// `self · other` (apply `other` first).
    pub fn mul(&self, other: &DiagonalMatrix) -> DiagonalMatrix {
        assert_eq!(self.n, other.n);
        let n = self.n;
        let mut out = DiagonalMatrix::zero(n);
        for (&a, da) in &self.diags {
            for (&b, db) in &other.diags {
                let k = (a + b) % n;
                let d = out
                    .diags
                    .entry(k)
                    .or_insert_with(|| vec![Complex64::new(0.0, 0.0); n]);
                for i in 0..n {
                    d[i] += da[i] * db[(i + a) % n];
                }
            }
        }
        out.diags.retain(|_, d| d.iter().any(|v| v.norm() > 1e-300));
        out
    }

    /// Multiplies every entry by `c`.
    pub fn scale(&mut self, c: Complex64) {
        for d in self.diags.values_mut() {
            d.iter_mut().for_each(|v| *v *= c);
        }
    }

    /// `M·v` in plaintext (the reference the encrypted evaluation is checked against).
    pub fn apply(&self, v: &[Complex64]) -> Vec<Complex64> {
        let n = self.n;
        let mut out = vec![Complex64::new(0.0, 0.0); n];
        for (&k, d) in &self.diags {
            for i in 0..n {
                out[i] += d[i] * v[(i + k) % n];
            }
        }
        out
    }
}
