//! The RNS basis of a parameter set: the primes of Q followed by those of P, each with its NTT
//! table, and the index helpers that say which limbs a polynomial at a given level holds.

use crate::ckks::math::{Modulus, NttTable};

/// All moduli of a parameter set, Q limbs first (`q_0 .. q_L`), then P limbs.
#[derive(Debug)]
pub struct RnsBasis {
    n: usize,
    tables: Vec<NttTable>,
    num_q: usize,
    num_p: usize,
}

impl RnsBasis {
    pub fn new(n: usize, q: &[u64], p: &[u64]) -> Self {
        use rayon::prelude::*;
        let tables = q
            .iter()
            .chain(p)
            .collect::<Vec<_>>()
            .par_iter()
            .map(|&&m| NttTable::new(n, Modulus::new(m)))
            .collect();
        RnsBasis {
            n,
            tables,
            num_q: q.len(),
            num_p: p.len(),
        }
    }

    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of Q primes (`L + 1`).
    pub fn num_q(&self) -> usize {
        self.num_q
    }

    /// Number of special primes P.
    pub fn num_p(&self) -> usize {
        self.num_p
    }

    /// Highest level `L`.
    pub fn max_level(&self) -> usize {
        self.num_q - 1
    }

    pub fn modulus(&self, idx: usize) -> &Modulus {
        self.tables[idx].modulus()
    }

    pub fn table(&self, idx: usize) -> &NttTable {
        &self.tables[idx]
    }

    /// Indices of the limbs of a Q-polynomial at `level`: `0..=level`.
    pub fn q_indices(&self, level: usize) -> Vec<usize> {
        (0..=level).collect()
    }

    /// Indices of the P limbs.
    pub fn p_indices(&self) -> Vec<usize> {
        (self.num_q..self.num_q + self.num_p).collect()
    }

    /// Indices of the limbs of a QP-polynomial at `level`: `0..=level` then the P limbs.
    pub fn qp_indices(&self, level: usize) -> Vec<usize> {
        let mut v = self.q_indices(level);
        v.extend(self.p_indices());
        v
    }

    /// `Π_{k ∈ set, k ≠ skip} q_k  mod q_target`: the punctured products (`Â_i`) behind base
    /// conversion and CRT reconstruction (`skip = None` for the full product).
    pub fn product_mod(&self, set: &[usize], skip: Option<usize>, target: usize) -> u64 {
        let mt = self.modulus(target);
        set.iter()
            .filter(|&&k| Some(k) != skip)
            .fold(1 % mt.value(), |acc, &k| {
                mt.mul(acc, mt.reduce(self.modulus(k).value()))
            })
    }

    /// Indices of a key polynomial stored over the whole of Q ∪ P.
    pub fn all_indices(&self) -> Vec<usize> {
        (0..self.num_q + self.num_p).collect()
    }
}
