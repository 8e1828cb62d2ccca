//! Bootstrapping configuration and the parameter sets built for it.

use crate::ckks::params::{ParamsLiteral, SecretDistribution};

/// How EvalMod approximates the reduction modulo `q_0`.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalModConfig {
    /// Bound `K` on `|I(X)|` after ModRaise: inputs lie in `[-K, K]` (in units of `q_0`).
    pub k: f64,
    /// Number of double-angle steps `r`.
    pub double_angle: usize,
    /// Degree of the Chebyshev interpolant of the scaled cosine.
    pub degree: usize,
}

impl Default for EvalModConfig {
    fn default() -> Self {
        EvalModConfig {
            k: 16.0,
            double_angle: 2,
            degree: 60,
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
    /// log2 of `q_0 / |m|` for a message of magnitude 1: before ModRaise the message is
    /// multiplied (exactly, by a power of two) up to this ratio, so EvalMod's errors shrink
    /// relative to it while the sine stays linear to ~`(2π·2^-ratio)²/6`. Inputs must satisfy
    /// `|z| ≤ 1` slot-wise, as in every CKKS bootstrapping.
    pub log_message_ratio: u32,
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
            log_message_ratio: 15,
        }
    }
}

/// Number of EvalMod levels the default configuration consumes (Chebyshev degree 60 → 6
/// levels, plus 2 double-angle steps). Measured: degree 44 with 3 double angles (9 levels)
/// gives the same precision, so the cheaper circuit is the default.
pub const DEFAULT_EVAL_MOD_LEVELS: usize = 8;

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
/// 10 user levels of 2^40, SlotsToCoeffs 3 × 40 bits, EvalMod 8 × 60 bits, CoeffsToSlots
/// 4 × 58 bits, P = 7 × 61 bits (above the largest 420-bit digit), dnum 4;
/// log QP ≈ 1719 ≤ 1747.
pub fn n16_boot() -> ParamsLiteral {
    ParamsLiteral {
        name: "n16-boot".into(),
        log_n: 16,
        log_q: bootstrapping_chain(
            60,
            &[40; 10],
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

/// The bootstrappable parameter sets, in the order `blindtune params` lists them.
pub fn presets() -> Vec<ParamsLiteral> {
    vec![test_boot_insecure(), n16_boot()]
}

/// The configuration matching [`test_boot_insecure`].
pub fn test_boot_config(n: usize) -> BootstrappingConfig {
    BootstrappingConfig {
        slots: n / 2,
        cts_levels: 3,
        stc_levels: 2,
        eval_mod: EvalModConfig::default(),
        ephemeral_hamming_weight: 32,
        log_message_ratio: 15,
    }
}
