//! CKKS parameter sets as data, with the 128-bit security check.
//!
//! A [`ParamsLiteral`] is plain data (bit sizes, ring degree, digits, secret distribution);
//! [`Params::new`] turns it into concrete primes and refuses anything whose `log2(QP)` is
//! above the 128-bit bound for its ring degree. Test-only insecure sets must go through the
//! explicitly named [`Params::new_insecure_for_tests`].

use serde::{Deserialize, Serialize};

use super::math::primes::{generate_ntt_primes, PrimeError};

/// Distribution of the secret key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretDistribution {
    /// Coefficients uniform in {-1, 0, 1}.
    UniformTernary,
    /// Exactly `h` coefficients in {-1, 1}, the rest zero.
    SparseTernary { hamming_weight: usize },
}

/// A parameter set as data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamsLiteral {
    /// Short name, e.g. `n16`.
    pub name: String,
    /// log2 of the ring degree N.
    pub log_n: u32,
    /// Bit sizes of the Q primes, `q_0` first.
    pub log_q: Vec<u32>,
    /// Bit sizes of the special primes P used by hybrid key switching.
    pub log_p: Vec<u32>,
    /// log2 of the default encoding scale Δ.
    pub log_scale: u32,
    /// Number of key-switching digits (dnum).
    pub dnum: usize,
    pub secret: SecretDistribution,
    /// Standard deviation of the discrete Gaussian error.
    pub sigma: f64,
}

/// 128-bit classical security bounds on log2(QP) for a uniform ternary secret
/// (HomomorphicEncryption.org standard; OpenFHE's extension to 2^16 and 2^17).
pub fn max_log_qp_128(log_n: u32) -> Option<u32> {
    Some(match log_n {
        10 => 27,
        11 => 54,
        12 => 109,
        13 => 218,
        14 => 438,
        15 => 881,
        16 => 1747,
        17 => 3523,
        _ => return None,
    })
}

/// Errors when building parameters.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamsError {
    #[error("parameter set `{name}`: log2(QP) = {log_qp:.1} exceeds the 128-bit security bound of {bound} bits for N = 2^{log_n}; lower the modulus or raise N (an insecure set is only available through Params::new_insecure_for_tests)")]
    Insecure {
        name: String,
        log_qp: f64,
        bound: u32,
        log_n: u32,
    },
    #[error("parameter set `{name}`: no 128-bit security bound is known for N = 2^{log_n}")]
    UnknownSecurity { name: String, log_n: u32 },
    #[error("parameter set `{name}`: a sparse main secret (h = {h}) has no security estimate here; use a uniform ternary secret")]
    SparseMainSecret { name: String, h: usize },
    #[error("parameter set `{name}`: field `{field}`: {reason}")]
    Invalid {
        name: String,
        field: &'static str,
        reason: String,
    },
    #[error("parameter set `{name}`: {source}")]
    Primes { name: String, source: PrimeError },
}

/// Concrete parameters: the literal plus its generated primes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    literal: ParamsLiteral,
    q: Vec<u64>,
    p: Vec<u64>,
    secure: bool,
}

impl Params {
    /// Builds a parameter set, refusing anything below 128-bit security.
    pub fn new(literal: ParamsLiteral) -> Result<Self, ParamsError> {
        Self::build(literal, true)
    }

    /// Builds a parameter set **without** the security check. For tests and experiments only:
    /// keys made with it protect nothing.
    pub fn new_insecure_for_tests(literal: ParamsLiteral) -> Result<Self, ParamsError> {
        Self::build(literal, false)
    }

    /// Rebuilds parameters from explicit primes (deserialization), re-running every check.
    pub fn from_primes(
        literal: ParamsLiteral,
        q: Vec<u64>,
        p: Vec<u64>,
        secure: bool,
    ) -> Result<Self, ParamsError> {
        let built = Self::build(literal, secure)?;
        if built.q != q || built.p != p {
            return Err(ParamsError::Invalid {
                name: built.literal.name.clone(),
                field: "primes",
                reason: "the stored primes are not those the literal generates".into(),
            });
        }
        Ok(built)
    }

    fn build(literal: ParamsLiteral, secure: bool) -> Result<Self, ParamsError> {
        let name = literal.name.clone();
        let invalid = |field: &'static str, reason: String| ParamsError::Invalid {
            name: name.clone(),
            field,
            reason,
        };
        if !(3..=17).contains(&literal.log_n) {
            return Err(invalid(
                "log_n",
                format!("{} is outside 3..=17", literal.log_n),
            ));
        }
        if literal.log_q.is_empty() {
            return Err(invalid("log_q", "at least one Q prime is needed".into()));
        }
        if literal.log_p.is_empty() && literal.dnum != literal.log_q.len() {
            return Err(invalid(
                "log_p",
                "hybrid key switching needs at least one special prime P".into(),
            ));
        }
        if literal.dnum == 0 || literal.dnum > literal.log_q.len() {
            return Err(invalid(
                "dnum",
                format!("{} must be in 1..={}", literal.dnum, literal.log_q.len()),
            ));
        }
        if literal.log_scale == 0 || literal.log_scale > 60 {
            return Err(invalid(
                "log_scale",
                format!("{} must be in 1..=60", literal.log_scale),
            ));
        }
        if !(literal.sigma > 0.0 && literal.sigma < 100.0) {
            return Err(invalid(
                "sigma",
                format!("{} must be in (0, 100)", literal.sigma),
            ));
        }
        let n = 1usize << literal.log_n;
        if let SecretDistribution::SparseTernary { hamming_weight } = literal.secret {
            if hamming_weight == 0 || hamming_weight > n {
                return Err(invalid(
                    "secret",
                    format!("Hamming weight {hamming_weight} must be in 1..={n}"),
                ));
            }
        }
        // P must exceed every digit's product for key switching to keep its noise small.
        let alpha = literal.log_q.len().div_ceil(literal.dnum);
        let max_digit_bits: u32 = literal
            .log_q
            .chunks(alpha)
            .map(|c| c.iter().sum::<u32>())
            .max()
            .unwrap_or(0);
        let p_bits: u32 = literal.log_p.iter().sum();
        if p_bits + 1 < max_digit_bits {
            return Err(invalid(
                "log_p",
                format!("P has {p_bits} bits but a key-switching digit has up to {max_digit_bits}; add special primes or raise dnum"),
            ));
        }
        let all_bits: Vec<u32> = literal
            .log_q
            .iter()
            .chain(&literal.log_p)
            .copied()
            .collect();
        let primes =
            generate_ntt_primes(n, &all_bits, &[]).map_err(|source| ParamsError::Primes {
                name: name.clone(),
                source,
            })?;
        let (q, p) = primes.split_at(literal.log_q.len());
        let params = Params {
            literal,
            q: q.to_vec(),
            p: p.to_vec(),
            secure,
        };
        if secure {
            if let SecretDistribution::SparseTernary { hamming_weight } = params.literal.secret {
                return Err(ParamsError::SparseMainSecret {
                    name,
                    h: hamming_weight,
                });
            }
            let bound =
                max_log_qp_128(params.literal.log_n).ok_or(ParamsError::UnknownSecurity {
                    name: name.clone(),
                    log_n: params.literal.log_n,
                })?;
            let log_qp = params.log_qp();
            if log_qp > bound as f64 {
                return Err(ParamsError::Insecure {
                    name,
                    log_qp,
                    bound,
                    log_n: params.literal.log_n,
                });
            }
        }
        Ok(params)
    }

    pub fn literal(&self) -> &ParamsLiteral {
        &self.literal
    }
    pub fn name(&self) -> &str {
        &self.literal.name
    }
    pub fn n(&self) -> usize {
        1 << self.literal.log_n
    }
    pub fn log_n(&self) -> u32 {
        self.literal.log_n
    }
    /// Number of complex slots with full packing, N/2.
    pub fn max_slots(&self) -> usize {
        self.n() / 2
    }
    pub fn q(&self) -> &[u64] {
        &self.q
    }
    pub fn p(&self) -> &[u64] {
        &self.p
    }
    /// Highest level L (number of Q primes minus one).
    pub fn max_level(&self) -> usize {
        self.q.len() - 1
    }
    pub fn dnum(&self) -> usize {
        self.literal.dnum
    }
    /// Q limbs per key-switching digit.
    pub fn alpha(&self) -> usize {
        self.q.len().div_ceil(self.literal.dnum)
    }
    pub fn default_scale(&self) -> f64 {
        2f64.powi(self.literal.log_scale as i32)
    }
    pub fn sigma(&self) -> f64 {
        self.literal.sigma
    }
    pub fn secret_distribution(&self) -> SecretDistribution {
        self.literal.secret
    }
    /// Whether the set passed the 128-bit security check.
    pub fn is_secure(&self) -> bool {
        self.secure
    }
    pub fn log_q(&self) -> f64 {
        self.q.iter().map(|&x| (x as f64).log2()).sum()
    }
    pub fn log_qp(&self) -> f64 {
        self.log_q() + self.p.iter().map(|&x| (x as f64).log2()).sum::<f64>()
    }

    /// A 32-byte fingerprint of everything that determines compatibility of keys and
    /// ciphertexts: ring degree, primes, scale, digits, secret distribution and error.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(b"blindtune-params-v1");
        h.update(&self.literal.log_n.to_le_bytes());
        for x in self.q.iter().chain(&self.p) {
            h.update(&x.to_le_bytes());
        }
        h.update(&(self.q.len() as u64).to_le_bytes());
        h.update(&self.literal.log_scale.to_le_bytes());
        h.update(&(self.literal.dnum as u64).to_le_bytes());
        match self.literal.secret {
            SecretDistribution::UniformTernary => h.update(&[0u8]),
            SecretDistribution::SparseTernary { hamming_weight } => h
                .update(&[1u8])
                .update(&(hamming_weight as u64).to_le_bytes()),
        };
        h.update(&self.literal.sigma.to_le_bytes());
        *h.finalize().as_bytes()
    }
}

/// The shipped parameter sets.
pub mod presets {
    use super::*;

    /// Fast **insecure** set for unit tests: N = 2^12, 6 Q primes, 2 P primes.
    pub fn test_insecure() -> ParamsLiteral {
        ParamsLiteral {
            name: "test-insecure".into(),
            log_n: 12,
            log_q: vec![55, 40, 40, 40, 40, 40],
            log_p: vec![61, 61],
            log_scale: 40,
            dnum: 3,
            secret: SecretDistribution::UniformTernary,
            sigma: 3.2,
        }
    }

    /// 128-bit leveled set: N = 2^14, 8 Q primes (7 levels of 2^40), log QP = 435.
    pub fn n14() -> ParamsLiteral {
        ParamsLiteral {
            name: "n14".into(),
            log_n: 14,
            log_q: vec![55, 40, 40, 40, 40, 40, 40, 40],
            log_p: vec![50, 50],
            log_scale: 40,
            dnum: 4,
            secret: SecretDistribution::UniformTernary,
            sigma: 3.2,
        }
    }

    /// 128-bit set: N = 2^16, 25 Q primes (24 levels of 2^40), 6 special primes of 61 bits,
    /// dnum 4 (7 limbs a digit, at most 300 bits, so P/Q_j ≈ 2^66 makes key-switching noise
    /// negligible next to rounding), log QP ≈ 1386, leaving ≈ 360 bits below the 1747-bit bound.
    pub fn n16() -> ParamsLiteral {
        let mut log_q = vec![60];
        log_q.extend(std::iter::repeat_n(40, 24));
        ParamsLiteral {
            name: "n16".into(),
            log_n: 16,
            log_q,
            log_p: vec![61; 6],
            log_scale: 40,
            dnum: 4,
            secret: SecretDistribution::UniformTernary,
            sigma: 3.2,
        }
    }

    /// All shipped sets, in the order `blindtune params` lists them.
    pub fn all() -> Vec<ParamsLiteral> {
        vec![test_insecure(), n14(), n16()]
    }

    /// Looks a shipped set up by name.
    pub fn by_name(name: &str) -> Option<ParamsLiteral> {
        all().into_iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_presets_pass_and_test_set_is_refused() {
        for lit in [presets::n14(), presets::n16()] {
            let p = Params::new(lit.clone()).unwrap_or_else(|e| panic!("{e}"));
            assert!(p.log_qp() <= max_log_qp_128(lit.log_n).unwrap() as f64);
        }
        assert!(matches!(
            Params::new(presets::test_insecure()),
            Err(ParamsError::Insecure { .. })
        ));
        assert!(Params::new_insecure_for_tests(presets::test_insecure()).is_ok());
    }

    #[test]
    fn refuses_above_bound_and_sparse_secret() {
        let mut lit = presets::n14();
        lit.log_p = vec![60, 60];
        assert!(matches!(
            Params::new(lit),
            Err(ParamsError::Insecure { .. })
        ));
        let mut lit = presets::n14();
        lit.secret = SecretDistribution::SparseTernary { hamming_weight: 64 };
        assert!(matches!(
            Params::new(lit),
            Err(ParamsError::SparseMainSecret { .. })
        ));
    }

    #[test]
    fn refuses_too_small_p() {
        let mut lit = presets::n14();
        lit.log_p = vec![30];
        let err = Params::new(lit).unwrap_err();
        assert!(err.to_string().contains("log_p"), "{err}");
    }

    #[test]
    fn fingerprint_distinguishes_sets() {
        let a = Params::new(presets::n14()).unwrap();
        let b = Params::new_insecure_for_tests(presets::test_insecure()).unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.fingerprint(),
            Params::new(presets::n14()).unwrap().fingerprint()
        );
    }
}
