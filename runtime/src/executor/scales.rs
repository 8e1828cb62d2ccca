//! The scale discipline: one canonical scale per level, so that a plan schedules levels only.
//!
//! With `L` the plan's `max_level`, `S_L` is the parameter set's default scale and
//! `S_l = S_{l+1}² / q_{l+1}` below it. Every ciphertext register at level `l` holds scale
//! exactly `S_l`, and each instruction lands on the canonical scale of its result's level:
//!
//! | instruction | how |
//! |---|---|
//! | `mul` | `mul_relin_rescale` of two `S_l` operands: `S_l²/q_l = S_{l-1}` |
//! | `mul_plain` | plaintext (or constant) encoded at [`mul_plain_scale`](CanonicalScales::mul_plain_scale) `q_l·S_{l-1}/S_l`, then one rescale: `S_{l-1}` |
//! | `add_plain`, `sub_plain`, `trivial` | encoded at `S_l` |
//! | `level_down` `l → m` | drop to `m+1`, multiply by 1 encoded at [`level_down_scale`](CanonicalScales::level_down_scale) `q_{m+1}·S_m/S_l`, rescale: `S_m` |
//! | `poly` | the evaluator's exact target scale `S_{l-depth}` |
//! | `bootstrap` | `Bootstrapper::bootstrap_to_scale(.., S_target)` (the ratio is folded into SlotsToCoeffs: no level) |
//!
//! Additions and rotations keep the scale. The executor replaces a result's recorded scale by
//! the canonical value after each of these steps only when the two agree within floating
//! round-off (1e-12 relative); a larger gap is an error, never a silent fix-up.

use crate::ckks::Params;

/// Relative gap below which a recorded scale is the canonical one up to `f64` round-off.
pub const SNAP_TOLERANCE: f64 = 1e-12;

/// The canonical scale of every level `0..=max_level` of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct CanonicalScales {
    scales: Vec<f64>,
    q: Vec<f64>,
}

impl CanonicalScales {
    /// The scales of a plan whose highest level is `max_level` under `params`.
    pub fn new(params: &Params, max_level: usize) -> Result<Self, String> {
        if max_level > params.max_level() {
            return Err(format!(
                "the plan's maximum level {max_level} is above the parameter set's {}",
                params.max_level()
            ));
        }
        let q: Vec<f64> = params.q()[..=max_level].iter().map(|&x| x as f64).collect();
        let mut scales = vec![0.0; max_level + 1];
        scales[max_level] = params.default_scale();
        for l in (0..max_level).rev() {
            scales[l] = scales[l + 1] * scales[l + 1] / q[l + 1];
        }
        for (l, &s) in scales.iter().enumerate() {
            if !(s.is_finite() && s >= 1.0) {
                return Err(format!(
                    "the canonical scale of level {l} is {s:e}: the primes are too far from the scale"
                ));
            }
        }
        // At level 0 a ciphertext lives modulo q_0 alone: the message must fit well inside.
        if scales[0].log2() > q[0].log2() - 1.0 {
            return Err(format!(
                "the canonical scale of level 0 (2^{:.1}) does not fit below q_0 (2^{:.1})",
                scales[0].log2(),
                q[0].log2()
            ));
        }
        Ok(CanonicalScales { scales, q })
    }

    /// The highest level.
    pub fn max_level(&self) -> usize {
        self.scales.len() - 1
    }

    /// `S_level`.
    pub fn at(&self, level: usize) -> f64 {
        self.scales[level]
    }

    /// All scales, level 0 first.
    pub fn all(&self) -> &[f64] {
        &self.scales
    }

    /// The scale a plaintext or constant factor is encoded at for a product at `level`
    /// (≥ 1) followed by one rescale: `q_l·S_{l-1}/S_l` (which equals `S_l` up to round-off).
    pub fn mul_plain_scale(&self, level: usize) -> f64 {
        self.q[level] * self.scales[level - 1] / self.scales[level]
    }

    /// The scale of the constant 1 that takes a ciphertext from `from` (dropped to `to + 1`)
    /// to `to` with one rescale: `q_{to+1}·S_to/S_from`.
    pub fn level_down_scale(&self, from: usize, to: usize) -> f64 {
        self.q[to + 1] * self.scales[to] / self.scales[from]
    }

    /// Whether `got` is `S_level` up to round-off.
    pub fn matches(&self, level: usize, got: f64) -> bool {
        (got / self.scales[level] - 1.0).abs() <= SNAP_TOLERANCE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::presets;

    #[test]
    fn canonical_scales_follow_the_rescale_rule() {
        let params = Params::new_insecure_for_tests(presets::test_insecure()).unwrap();
        let s = CanonicalScales::new(&params, 4).unwrap();
        assert_eq!(s.at(4), params.default_scale());
        for l in 0..4 {
            let q = params.q()[l + 1] as f64;
            assert_eq!(s.at(l), s.at(l + 1) * s.at(l + 1) / q);
            assert!((s.at(l).log2() - 40.0).abs() < 0.01, "{}", s.at(l).log2());
        }
        // A product's plaintext scale is S_l up to round-off.
        assert!((s.mul_plain_scale(3) / s.at(3) - 1.0).abs() < 1e-12);
        // A level-down constant lands exactly on S_m after the rescale.
        let c = s.level_down_scale(4, 1);
        assert!((s.at(4) * c / params.q()[2] as f64 / s.at(1) - 1.0).abs() < 1e-12);
        assert!(CanonicalScales::new(&params, params.max_level() + 1).is_err());
    }
}
