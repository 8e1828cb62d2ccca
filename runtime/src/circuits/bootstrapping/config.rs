//! Bootstrapping configuration and the parameter sets built for it.

use crate::ckks::params::{ParamsLiteral, SecretDistribution};

/// How EvalMod approximates the reduction modulo `q_0`.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalModConfig {
    /// Bound `K` on `|I(X)|` after ModRaise: inputs lie in `[-K, K]` (in units of `q_0`).
    pub k: f64,
    /// Number of double-angle steps `r`.
    pub double_angle: usize,
    /// Degree of the Chebyshev interpolant(s) of the scaled cosine (and sine).
    pub degree: usize,
    /// Cancel the cubic error of the sine with a second harmonic (one more level): the
    /// output is `Im(z·(8 − z))/6 = (8 sin θ − sin 2θ)/6 = θ + O(θ⁵)` for `z = e^{iθ}`,
    /// instead of `sin θ = θ + O(θ³)` (see [`super::eval_mod`]).
    pub harmonic_correction: bool,
}

impl Default for EvalModConfig {
    fn default() -> Self {
        EvalModConfig {
            k: 16.0,
            double_angle: 2,
            degree: 60,
            harmonic_correction: true,
        }
    }
}

/// Everything that shapes a bootstrapping circuit.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrappingConfig {
    /// Number of slots the bootstrapped ciphertexts use (a power of two ≤ N/2).
    pub slots: usize,
    /// Levels spent on CoeffsToSlots (butterfly stages collapsed into this many matrices).
    pub cts_levels: usize,
    /// Levels spent on SlotsToCoeffs.
    pub stc_levels: usize,
    pub eval_mod: EvalModConfig,
    /// Hamming weight of the ephemeral sparse secret used for ModRaise.
    pub ephemeral_hamming_weight: usize,
    /// log2 of `q_0 / Δ`: before ModRaise the message is multiplied (exactly, by a power of
    /// two) until its scale `Δ` is this far below `q_0`. Inputs must satisfy `|z| ≤ 1`
    /// slot-wise, as in every CKKS bootstrapping. See [`default_log_message_ratio`] for the
    /// trade-off.
    pub log_message_ratio: u32,
}

/// The default `log2(q_0/Δ)` for `slots` slots with the harmonic correction:
/// `⌈(27 − log2 slots)/2⌉`, at least 5 (6 for full slots at N = 2^16).
///
/// EvalMod sees the message's *coefficients* `x = m_j/q_0`. Its noise is fixed in absolute
/// terms, so the closer the coefficients are to `q_0` the better, until the harmonic
/// approximation's relative error `(2πx)⁴/30` takes over. For slot values of magnitude
/// about 1 with no structure, coefficients are about `Δ/√slots`, so the ratio can fall by
/// half a bit per doubling of the slot count.
///
/// Measured at N = 2^16, full slots, uniform complex inputs (min/mean bits): ratio 3:
/// 23.3/26.2, 5: 23.5/25.9, 6: 23.2/25.4, 7: 22.7/24.6 (the 2^40 output scale caps the mean
/// near 26). The price of a small ratio is paid by messages whose energy sits in few
/// coefficients: a constant vector `z = c` is the single coefficient `cΔ`, whose error is
/// `c·(2πc/2^ratio)⁴/30`: about 18 bits for `|c| ≈ 1` at ratio 6 but 14 at ratio 5.
/// Replicated packings (a block repeated across the slots) sit in between. Ratio 6 keeps
/// the worst case usable for half a bit of generic precision.
pub fn default_log_message_ratio(slots: usize) -> u32 {
    let log_slots = slots.max(1).trailing_zeros() as i64;
    ((27 - log_slots).max(0) as f64 / 2.0).ceil().max(5.0) as u32
}

impl BootstrappingConfig {
    /// Full-slot default for a ring of degree `n`.
    pub fn full_slots(n: usize) -> Self {
        BootstrappingConfig {
            slots: n / 2,
            cts_levels: 4,
            stc_levels: 3,
            eval_mod: EvalModConfig::default(),
            ephemeral_hamming_weight: 32,
            log_message_ratio: default_log_message_ratio(n / 2),
        }
    }

    /// The same configuration for `slots` slots, with the message ratio suited to them.
    pub fn with_slots(self, slots: usize) -> Self {
        BootstrappingConfig {
            slots,
            log_message_ratio: default_log_message_ratio(slots),
            ..self
        }
    }
}

/// Number of EvalMod levels the default configuration consumes: Chebyshev degree 60 → 6
/// levels, 2 double-angle steps, 1 for the harmonic correction. (Measured: degree 44 with 3
/// double angles gives the same precision for one more level.)
pub const DEFAULT_EVAL_MOD_LEVELS: usize = 9;

/// Builds a modulus chain for bootstrapping: `q_0`, the user levels, then the SlotsToCoeffs,
/// EvalMod and CoeffsToSlots primes (consumed top-down in the reverse order).
pub fn bootstrapping_chain(
    q0_bits: u32,
    user: &[u32],
    stc: &[u32],
    eval_mod: &[u32],
    cts: &[u32],
) -> Vec<u32> {
    let mut v = vec![q0_bits];
    v.extend_from_slice(user);
    v.extend_from_slice(stc);
    v.extend_from_slice(eval_mod);
    v.extend_from_slice(cts);
    v
}

/// 128-bit bootstrappable set at N = 2^16 with a dense ternary main secret: q_0 of 60 bits,
/// 9 user levels of 2^40, SlotsToCoeffs 3 × 40 bits, EvalMod 9 × 60 bits, CoeffsToSlots
/// 4 × 58 bits, P = 7 × 61 bits (above the largest 420-bit digit), dnum 4;
/// log QP ≈ 1739 ≤ 1747.
pub fn n16_boot() -> ParamsLiteral {
    ParamsLiteral {
        name: "n16-boot".into(),
        log_n: 16,
        log_q: bootstrapping_chain(
            60,
            &[40; 9],
            &[40; 3],
            &[60; DEFAULT_EVAL_MOD_LEVELS],
            &[58; 4],
        ),
        log_p: vec![61; 7],
        log_scale: 40,
        dnum: 4,
        secret: SecretDistribution::UniformTernary,
        sigma: 3.2,
    }
}

/// Small **insecure** bootstrappable set for tests: N = 2^12, 2 user levels, CtS 3, StC 2.
pub fn test_boot_insecure() -> ParamsLiteral {
    ParamsLiteral {
        name: "test-boot-insecure".into(),
        log_n: 12,
        log_q: bootstrapping_chain(
            60,
            &[40; 2],
            &[40; 2],
            &[60; DEFAULT_EVAL_MOD_LEVELS],
            &[60; 3],
        ),
        log_p: vec![61; 5],
        log_scale: 40,
        dnum: 4,
        secret: SecretDistribution::UniformTernary,
        sigma: 3.2,
    }
}

/// Small **insecure** bootstrappable set with the user levels of `n16-boot` (9): N = 2^12,
/// for end-to-end tests of compiled plans (HETAL's kernels need 3–4 levels between
/// bootstraps, which `test-boot-insecure` does not have).
pub fn test_boot9_insecure() -> ParamsLiteral {
    ParamsLiteral {
        name: "test-boot9-insecure".into(),
        log_n: 12,
        log_q: bootstrapping_chain(
            60,
            &[40; 9],
            &[40; 2],
            &[60; DEFAULT_EVAL_MOD_LEVELS],
            &[60; 3],
        ),
        log_p: vec![61; 7],
        log_scale: 40,
        dnum: 4,
        secret: SecretDistribution::UniformTernary,
        sigma: 3.2,
    }
}

/// The bootstrappable parameter sets, in the order `blindtune params` lists them.
pub fn presets() -> Vec<ParamsLiteral> {
    vec![test_boot_insecure(), test_boot9_insecure(), n16_boot()]
}

/// The shipped bootstrapping configuration of a bootstrappable set.
pub fn config_for(name: &str, n: usize) -> Option<BootstrappingConfig> {
    match name {
        "test-boot-insecure" | "test-boot9-insecure" => Some(test_boot_config(n)),
        "n16-boot" => Some(BootstrappingConfig::full_slots(n)),
        _ => None,
    }
}

/// The configuration matching [`test_boot_insecure`].
pub fn test_boot_config(n: usize) -> BootstrappingConfig {
    BootstrappingConfig {
        slots: n / 2,
        cts_levels: 3,
        stc_levels: 2,
        eval_mod: EvalModConfig::default(),
        ephemeral_hamming_weight: 32,
        log_message_ratio: default_log_message_ratio(n / 2),
    }
}
