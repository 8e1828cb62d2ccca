//! Homomorphic polynomial evaluation: level-aware baby-step giant-step (Paterson–Stockmeyer)
//! in the Chebyshev or monomial basis, with exact scale management.
//!
//! # Algorithm
//!
//! A polynomial of degree `d` is evaluated with the minimal depth `⌈log2(d + 1)⌉` (plus one
//! level for the change of variable `u = αx + β` when the interval is not `[-1, 1]`).
//!
//! * **Powers.** `T_i` (or `x^i`) is computed on demand at the highest level it can have,
//!   `top − ⌈log2 i⌉`: powers of two by `T_{2n} = 2T_n² − 1`, others by
//!   `T_{a+b} = 2T_aT_b − T_{a−b}` with `a` the largest power of two below `i`. Only the
//!   powers a non-zero coefficient needs are computed, so odd or even series skip half the
//!   baby steps.
//! * **Split.** A node `p` of degree `deg` whose terms cannot all be read off the baby steps
//!   `T_1 … T_{k−1}` (degree ≥ `k`, or a baby step lies too low for the node's level) is
//!   divided by the giant step `T_m`, `m` the largest power of two ≤ `deg`:
//!   `p = q·T_m + r` (Chebyshev division uses `T_{m+t} = 2T_tT_m − T_{m−t}`).
//! * **Leaves** are linear combinations `Σ c_i T_i` of baby steps.
//!
//! # Scales
//!
//! Target scales propagate top-down, so that every addition meets equal scales and the
//! output has exactly the requested scale, whatever the primes are. A node asked for level
//! `ℓ` and scale `S`:
//!
//! * leaf: every `T_i` is dropped to level `ℓ+1` and multiplied by `c_i` encoded at scale
//!   `S·q_{ℓ+1} / scale(T_i)`; all terms then have scale `S·q_{ℓ+1}`, the constant term is
//!   added at that scale, and one rescale by `q_{ℓ+1}` gives `S`;
//! * split: `q` is evaluated for level `ℓ+1` and scale `S·q_{ℓ+1} / scale(T_m)`, multiplied
//!   by `T_m` (scale `S·q_{ℓ+1}`) and rescaled to `S`; `r` is evaluated for `(ℓ, S)`.
//!
//! Power scales are `s_a·s_b/q`; when primes are far above the scales (mixed 50/60-bit
//! primes under a 2^45 scale) they would shrink level after level, so `T_b` is first
//! multiplied by an integer (no level) bringing `T_{a+b}` back near the input scale.
//!
//! # Limitations
//!
//! * A scale well *above* the primes (say 2^60 under 40-bit primes) makes power scales grow
//!   (`s²/q > s`); nothing can shrink a scale without a level, so keep the input scale at
//!   most about the size of the primes the powers consume (bootstrapping: scale ≈ prime).
//! * Precision for high degrees is bounded by conditioning: the rescale noise of `T_2`
//!   reaches `T_k` amplified by up to `k²/4` near `u = ±1`.
//!
//! The only scale the code sets by hand is after a rescale (or at the end), replacing a
//! float that differs from the intended value by a few ulps (checked < 1e-12 relative) with
//! that value, so that rounding in `f64` does not accumulate.

use std::collections::HashMap;

use num_complex::Complex64;

use super::chebyshev::ChebyshevSeries;
use super::power::PowerSeries;
use std::borrow::Cow;

use crate::backend::{Backend, CiphertextMeta};
use crate::ckks::CkksError;

/// Coefficients whose magnitude is at most this fraction of the largest one are treated as
/// zero (their total contribution is far below CKKS precision); this is what lets odd and
/// even functions, whose interpolants have round-off-sized opposite-parity coefficients,
/// skip those terms.
pub const NEGLIGIBLE_COEFF: f64 = 1.0 / (1u64 << 50) as f64;

/// Relative gap tolerated between a float-computed scale and the value it stands for
/// before it is replaced by that exact value.
const SCALE_SNAP: f64 = 1e-12;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Basis {
    Chebyshev,
    Monomial,
}

/// Evaluates polynomials on ciphertexts of any [`Backend`] (which must hold a
/// relinearization key).
#[derive(Debug)]
pub struct PolynomialEvaluator<'a, B: Backend> {
    eval: &'a B,
}

impl<B: Backend> Clone for PolynomialEvaluator<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<B: Backend> Copy for PolynomialEvaluator<'_, B> {}

/// `ct` at `level`: borrowed when it is there already, else dropped (an explicit modswitch).
fn at_level<'c, B: Backend>(
    ev: &B,
    ct: &'c B::Ct,
    level: usize,
) -> Result<Cow<'c, B::Ct>, CkksError> {
    if ct.level() == level {
        Ok(Cow::Borrowed(ct))
    } else {
        Ok(Cow::Owned(ev.drop_to_level(ct, level)?))
    }
}

/// `⌈log2(d + 1)⌉`: the bit length of `d`.
fn bit_len(d: usize) -> usize {
    (usize::BITS - d.leading_zeros()) as usize
}

/// `⌈log2 i⌉` for `i ≥ 1`.
fn ceil_log2(i: usize) -> usize {
    bit_len(i - 1)
}

/// Number of baby-step bits for a degree of bit length `log_degree` (Lattigo's
/// `OptimalSplit`: balances the baby steps against the giant-step products).
fn optimal_split(log_degree: usize) -> usize {
    let ld = log_degree as i64;
    let mut s = ld >> 1;
    let a = (1i64 << s) + (1i64 << (ld - s)) + ld - s - 3;
    let b = (1i64 << (s + 1)) + (1i64 << (ld - s - 1).max(0)) + ld - s - 4;
    if a > b {
        s += 1;
    }
    s.max(1) as usize
}

const ZERO: Complex64 = Complex64::new(0.0, 0.0);

/// Real coefficients as complex ones (the evaluator works over ℂ throughout).
fn complex(coeffs: &[f64]) -> Vec<Complex64> {
    coeffs.iter().map(|&c| Complex64::new(c, 0.0)).collect()
}

/// Copies `coeffs`, zeroing negligible ones and trimming trailing zeros.
fn clean(coeffs: &[Complex64]) -> Result<Vec<Complex64>, CkksError> {
    if let Some(index) = coeffs
        .iter()
        .position(|c| !(c.re.is_finite() && c.im.is_finite()))
    {
        return Err(CkksError::NonFiniteValue { index });
    }
    let max = coeffs.iter().fold(0f64, |m, c| m.max(c.norm()));
    let mut out: Vec<Complex64> = coeffs
        .iter()
        .map(|&c| {
            if c.norm() <= max * NEGLIGIBLE_COEFF {
                ZERO
            } else {
                c
            }
        })
        .collect();
    trim(&mut out);
    Ok(out)
}

fn trim(c: &mut Vec<Complex64>) {
    while c.len() > 1 && *c.last().unwrap() == ZERO {
        c.pop();
    }
    if c.is_empty() {
        c.push(ZERO);
    }
}

/// `p = q·X_m + r` in the given basis, for `m ≤ deg p < 2m`.
fn divide(p: &[Complex64], m: usize, basis: Basis) -> (Vec<Complex64>, Vec<Complex64>) {
    let d = p.len() - 1;
    debug_assert!(m <= d && d < 2 * m);
    let (mut q, mut r) = match basis {
        Basis::Monomial => (p[m..].to_vec(), p[..m].to_vec()),
        Basis::Chebyshev => {
            let mut q = vec![ZERO; d - m + 1];
            let mut r = p[..m].to_vec();
            q[0] = p[m];
            for t in 1..=d - m {
                // T_{m+t} = 2·T_t·T_m − T_{m−t}
                q[t] = 2.0 * p[m + t];
                r[m - t] -= p[m + t];
            }
            (q, r)
        }
    };
    trim(&mut q);
    trim(&mut r);
    (q, r)
}

/// Replaces the recorded scale (a float product/quotient) by the exact intended value.
fn snap<C: CiphertextMeta>(ct: &mut C, scale: f64) {
    let gap = (ct.scale() / scale - 1.0).abs();
    assert!(
        gap < SCALE_SNAP,
        "polynomial evaluator: scale {} drifted from intended {} (gap {gap:.2e})",
        ct.scale(),
        scale
    );
    ct.set_scale(scale);
}

/// A node's value: a plain constant (no ciphertext needed) or a ciphertext.
enum Value<C> {
    Const(Complex64),
    Ct(C),
}

/// Powers `X_i` of the input, computed on demand at the highest possible level.
struct PowerBasis<'e, B: Backend> {
    eval: &'e B,
    basis: Basis,
    top: usize,
    powers: HashMap<usize, B::Ct>,
}

impl<'e, B: Backend> PowerBasis<'e, B> {
    fn new(eval: &'e B, basis: Basis, x: B::Ct) -> Self {
        let top = x.level();
        let mut powers = HashMap::new();
        powers.insert(1, x);
        PowerBasis {
            eval,
            basis,
            top,
            powers,
        }
    }

    /// The level `X_i` has (or will have): `top − ⌈log2 i⌉`, or `None` if below level 0.
    fn level_of(&self, i: usize) -> Option<usize> {
        self.top.checked_sub(ceil_log2(i))
    }

    fn get(&mut self, i: usize) -> Result<&B::Ct, CkksError> {
        self.ensure(i)?;
        Ok(&self.powers[&i])
    }

    fn ensure(&mut self, i: usize) -> Result<(), CkksError> {
        if self.powers.contains_key(&i) {
            return Ok(());
        }
        assert!(i >= 2, "X_0 is the constant 1 and X_1 the input");
        if self.level_of(i).is_none() {
            return Err(CkksError::NoLevelLeft);
        }
        // a: the largest power of two below i (i/2 when i is a power of two).
        let a = if i.is_power_of_two() {
            i / 2
        } else {
            1 << (bit_len(i) - 1)
        };
        let b = i - a;
        self.ensure(a)?;
        self.ensure(b)?;
        let ev = self.eval;
        let (ta, tb) = (&self.powers[&a], &self.powers[&b]);
        let level = ta.level().min(tb.level());
        let q = ev.params().q()[level] as f64;
        // With primes far from the scales (e.g. mixed 50/60-bit primes under a 2^45 scale)
        // the power scales s_a·s_b/q would shrink geometrically and drown in the rounding
        // noise. Then multiply T_b first by the integer X = round(s_1·q / (s_a·s_b)) (no
        // level: an integer product), so that T_i lands near the input scale s_1. The
        // recorded scale s_b·X is exact since X is an integer.
        let reference = self.powers[&1].scale();
        let natural = ta.scale() * tb.scale() / q;
        // The product stays over Q ∪ P (relinearized without its ModDown) until one division
        // by P·q_ℓ does the ModDown and the rescale together.
        let ta = at_level(ev, ta, level)?;
        let mut prod = if natural < reference / 2.0 {
            let x = (reference / natural).round();
            let tb = ev.mul_const_with_scale(&ev.drop_to_level(tb, level)?, 1.0, x)?;
            ev.relinearize_extended(&ev.mul(&ta, &tb)?)?
        } else {
            let tb = at_level(ev, tb, level)?;
            ev.relinearize_extended(&ev.mul(&ta, &tb)?)?
        };
        if self.basis == Basis::Chebyshev {
            // T_{a+b} = 2·T_a·T_b − T_{a−b}, the subtraction done before the rescale.
            ev.mul_integer_extended(&mut prod, 2)?;
            if a == b {
                ev.add_const_extended(&mut prod, -1.0)?;
            } else {
                self.ensure(a - b)?;
                let low = ev.drop_to_level(&self.powers[&(a - b)], level)?;
                // Multiplying by 1 encoded at scale(prod)/scale(low) brings T_{a−b} to the
                // product's scale without a rescale (the integer round(ratio) differs from the
                // ratio by < 2^-40 relative: far below the noise).
                let low = ev.mul_const_with_scale(&low, 1.0, prod.scale() / low.scale())?;
                ev.sub_assign_extended(&mut prod, &ev.extend(&low)?)?;
            }
        }
        let intended = prod.scale() / ev.params().q()[prod.level()] as f64;
        let mut out = ev.mod_down_rescale(prod)?;
        snap(&mut out, intended);
        debug_assert_eq!(Some(out.level()), self.level_of(i));
        self.powers.insert(i, out);
        Ok(())
    }
}

/// The depth rule, independent of the backend (the compiler's depth analysis calls it).
impl PolynomialEvaluator<'static, crate::backend::CpuBackend> {
    /// Levels [`evaluate_chebyshev`](Self::evaluate_chebyshev) consumes: `⌈log2(d + 1)⌉`
    /// for the effective degree `d` (after dropping negligible coefficients, see
    /// [`NEGLIGIBLE_COEFF`]), plus one for the change of variable when `[a, b] ≠ [-1, 1]`
    /// and its slope `2 / (b − a)` is not an integer (an integer slope needs no rescale);
    /// zero for a constant series.
    pub fn depth_chebyshev(series: &ChebyshevSeries) -> usize {
        chebyshev_depth(series, &complex(&series.coeffs))
    }

    /// Levels [`evaluate_power`](Self::evaluate_power) consumes: `⌈log2(d + 1)⌉` for the
    /// effective degree `d`; zero for a constant series.
    pub fn depth_power(series: &PowerSeries) -> usize {
        bit_len(effective_degree(&complex(&series.coeffs)))
    }

    /// Levels [`evaluate_chebyshev_complex`](Self::evaluate_chebyshev_complex) consumes.
    pub fn depth_chebyshev_complex(
        re: &ChebyshevSeries,
        im: &ChebyshevSeries,
    ) -> Result<usize, CkksError> {
        Ok(chebyshev_depth(re, &combine(re, im)?))
    }
}

impl<'a, B: Backend> PolynomialEvaluator<'a, B> {
    pub fn new(eval: &'a B) -> Self {
        PolynomialEvaluator { eval }
    }

    /// Evaluates the Chebyshev series at `ct`, whose slots should lie in `[a, b]` (complex
    /// slots are fine: the polynomial extends to ℂ). The output has level
    /// `ct.level() − depth_chebyshev(series)` and scale exactly `target_scale`.
    pub fn evaluate_chebyshev(
        &self,
        ct: &B::Ct,
        series: &ChebyshevSeries,
        target_scale: f64,
    ) -> Result<B::Ct, CkksError> {
        self.chebyshev(ct, series, &complex(&series.coeffs), target_scale)
    }

    /// Evaluates `Σ_j (re_j + i·im_j)·T_j` at `ct`: two real series on the same interval
    /// combined into one with complex coefficients, for the cost of one (a leaf term costs a
    /// complex constant, a giant step one product). With `re ≈ cos` and `im ≈ sin` of the
    /// same argument this is `e^{iφ}`, whose square is `e^{2iφ}` in one product. The output
    /// has level `ct.level() − depth_chebyshev_complex(re, im)` and scale `target_scale`.
    pub fn evaluate_chebyshev_complex(
        &self,
        ct: &B::Ct,
        re: &ChebyshevSeries,
        im: &ChebyshevSeries,
        target_scale: f64,
    ) -> Result<B::Ct, CkksError> {
        self.chebyshev(ct, re, &combine(re, im)?, target_scale)
    }

    fn chebyshev(
        &self,
        ct: &B::Ct,
        interval: &ChebyshevSeries,
        coeffs: &[Complex64],
        target_scale: f64,
    ) -> Result<B::Ct, CkksError> {
        if !(interval.a.is_finite() && interval.b.is_finite() && interval.a < interval.b) {
            return Err(CkksError::NonFiniteValue { index: 0 });
        }
        let depth = chebyshev_depth(interval, coeffs);
        let coeffs = clean(coeffs)?;
        self.check(ct, depth, target_scale)?;
        if coeffs.len() == 1 {
            return self.constant(ct, coeffs[0], target_scale);
        }
        let x = if interval.is_standard_interval() {
            ct.clone()
        } else if let Some(k) = interval.integer_slope() {
            // u = k·x + β: an integer product and a constant, no rescale (no level)
            let (_, beta) = interval.change_of_variable();
            let ev = self.eval;
            ev.add_const(&ev.mul_integer(ct, k)?, beta)?
        } else {
            let (alpha, beta) = interval.change_of_variable();
            let ev = self.eval;
            let y = ev.add_const(&ev.mul_const(ct, alpha)?, beta)?;
            let mut u = ev.rescale(&y)?;
            snap(&mut u, ct.scale());
            u
        };
        self.run(
            x,
            &coeffs,
            Basis::Chebyshev,
            ct.level() - depth,
            target_scale,
        )
    }

    /// Evaluates the power series at `ct`. The output has level
    /// `ct.level() − depth_power(series)` and scale exactly `target_scale`.
    pub fn evaluate_power(
        &self,
        ct: &B::Ct,
        series: &PowerSeries,
        target_scale: f64,
    ) -> Result<B::Ct, CkksError> {
        let coeffs = clean(&complex(&series.coeffs))?;
        let depth = bit_len(effective_degree(&complex(&series.coeffs)));
        self.check(ct, depth, target_scale)?;
        if coeffs.len() == 1 {
            return self.constant(ct, coeffs[0], target_scale);
        }
        self.run(
            ct.clone(),
            &coeffs,
            Basis::Monomial,
            ct.level() - depth,
            target_scale,
        )
    }

    fn check(&self, ct: &B::Ct, depth: usize, target_scale: f64) -> Result<(), CkksError> {
        if !(target_scale.is_finite() && target_scale >= 1.0) {
            return Err(CkksError::InvalidScale {
                scale: target_scale,
            });
        }
        if ct.level() < depth {
            return Err(CkksError::NoLevelLeft);
        }
        Ok(())
    }

    /// A ciphertext of the constant `c` at `ct`'s level and scale `target_scale`.
    fn constant(&self, ct: &B::Ct, c: Complex64, target_scale: f64) -> Result<B::Ct, CkksError> {
        let zero = self
            .eval
            .mul_const_with_scale(ct, 0.0, target_scale / ct.scale())?;
        let mut out = self.eval.add_const_complex(&zero, c)?;
        snap(&mut out, target_scale);
        Ok(out)
    }

    fn run(
        &self,
        x: B::Ct,
        coeffs: &[Complex64],
        basis: Basis,
        level: usize,
        target_scale: f64,
    ) -> Result<B::Ct, CkksError> {
        let degree = coeffs.len() - 1;
        let k = 1usize << optimal_split(bit_len(degree));
        let mut powers = PowerBasis::new(self.eval, basis, x);
        let value = self.node(&mut powers, coeffs, level, target_scale, k)?;
        #[cfg(test)]
        POWERS_USED.with(|used| {
            let mut keys: Vec<usize> = powers.powers.keys().copied().collect();
            keys.sort_unstable();
            *used.borrow_mut() = keys;
        });
        match value {
            Value::Ct(mut out) => {
                snap(&mut out, target_scale);
                debug_assert_eq!(out.level(), level);
                Ok(out)
            }
            Value::Const(_) => unreachable!("a non-constant series gives a ciphertext"),
        }
    }

    /// Evaluates `p` (trimmed) for output level `level` and scale `scale`.
    fn node(
        &self,
        pb: &mut PowerBasis<B>,
        p: &[Complex64],
        level: usize,
        scale: f64,
        k: usize,
    ) -> Result<Value<B::Ct>, CkksError> {
        let deg = p.len() - 1;
        if deg == 0 {
            return Ok(Value::Const(p[0]));
        }
        if level >= pb.top {
            // Not reachable when the level comes from the reported depth.
            return Err(CkksError::NoLevelLeft);
        }
        let ev = self.eval;
        let q_next = ev.params().q()[level + 1] as f64;
        let leaf_fits =
            deg < k && (1..=deg).all(|i| p[i] == ZERO || pb.level_of(i).is_some_and(|l| l > level));
        if leaf_fits {
            // Σ c_i T_i at level ℓ+1 and scale S·q_{ℓ+1}, then one rescale.
            let before = scale * q_next;
            let used: Vec<usize> = (1..=deg).filter(|&i| p[i] != ZERO).collect();
            for &i in &used {
                pb.ensure(i)?;
            }
            let terms: Vec<(&B::Ct, Complex64, f64)> = used
                .iter()
                .map(|&i| {
                    let t = &pb.powers[&i];
                    (t, p[i], before / t.scale())
                })
                .collect();
            let mut acc = ev.linear_combination(&terms, level + 1)?;
            snap(&mut acc, before);
            if p[0] != ZERO {
                acc = ev.add_const_complex(&acc, p[0])?;
            }
            let mut out = ev.rescale(&acc)?;
            snap(&mut out, scale);
            return Ok(Value::Ct(out));
        }
        let m = 1usize << (bit_len(deg) - 1);
        match pb.level_of(m) {
            Some(l) if l > level => {}
            _ => return Err(CkksError::NoLevelLeft),
        }
        let (q, r) = divide(p, m, pb.basis);
        let tm = ev.drop_to_level(pb.get(m)?, level + 1)?;
        let before = scale * q_next;
        let q_scale = before / tm.scale();
        let mut out = match self.node(pb, &q, level + 1, q_scale, k)? {
            Value::Const(c) => {
                ev.rescale(&ev.linear_combination(&[(&tm, c, q_scale)], tm.level())?)?
            }
            Value::Ct(qc) => ev.mul_relin_rescale(&qc, &tm)?,
        };
        snap(&mut out, scale);
        match self.node(pb, &r, level, scale, k)? {
            Value::Const(c) => {
                if c != ZERO {
                    out = ev.add_const_complex(&out, c)?;
                }
            }
            Value::Ct(rc) => out = ev.add(&out, &rc)?,
        }
        Ok(Value::Ct(out))
    }
}

#[cfg(test)]
thread_local! {
    /// Indices of the powers the last evaluation on this thread computed.
    static POWERS_USED: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Depth of a Chebyshev evaluation of `coeffs` on `interval`'s interval.
fn chebyshev_depth(interval: &ChebyshevSeries, coeffs: &[Complex64]) -> usize {
    let d = effective_degree(coeffs);
    if d == 0 {
        0
    } else {
        bit_len(d)
            + usize::from(!interval.is_standard_interval() && interval.integer_slope().is_none())
    }
}

/// `re_j + i·im_j`, for two series on the same interval.
fn combine(re: &ChebyshevSeries, im: &ChebyshevSeries) -> Result<Vec<Complex64>, CkksError> {
    if re.a != im.a || re.b != im.b {
        return Err(CkksError::IntervalMismatch {
            a0: re.a,
            b0: re.b,
            a1: im.a,
            b1: im.b,
        });
    }
    let n = re.coeffs.len().max(im.coeffs.len());
    Ok((0..n)
        .map(|j| {
            Complex64::new(
                re.coeffs.get(j).copied().unwrap_or(0.0),
                im.coeffs.get(j).copied().unwrap_or(0.0),
            )
        })
        .collect())
}

/// Degree after dropping negligible coefficients.
fn effective_degree(coeffs: &[Complex64]) -> usize {
    clean(coeffs).map(|c| c.len() - 1).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chebyshev_division_is_exact() {
        let p: Vec<f64> = (0..13).map(|i| (i as f64 * 0.37).sin() + 0.1).collect();
        let (q, r) = divide(&complex(&p), 8, Basis::Chebyshev);
        let series = |c: &[Complex64], u: f64| {
            ChebyshevSeries::new(c.iter().map(|z| z.re).collect(), -1.0, 1.0).eval(u)
        };
        for j in 0..50 {
            let u = -1.0 + j as f64 / 25.0;
            let t8 = (8.0 * u.acos()).cos();
            let want = series(&complex(&p), u);
            let got = series(&q, u) * t8 + series(&r, u);
            assert!((want - got).abs() < 1e-12, "{want} vs {got}");
        }
    }

    #[test]
    fn odd_and_even_series_skip_opposite_powers() {
        use crate::ckks::{presets, Context, Encoder, Encryptor, KeyGenerator, Params};
        use std::sync::Arc;
        let ctx = Context::new(Params::new_insecure_for_tests(presets::test_insecure()).unwrap());
        let mut keygen = KeyGenerator::new(ctx.clone());
        let sk = keygen.gen_secret_key();
        let evk = keygen.gen_evaluation_keys(&sk, &keygen.manifest_for_rotations(&[], false));
        let eval = crate::backend::CpuBackend::new(ctx.clone(), Arc::new(evk)).unwrap();
        let enc = Encoder::new(ctx.clone());
        let mut encryptor = Encryptor::with_secret_key(ctx.clone(), &sk).unwrap();
        let scale = ctx.params().default_scale();
        let pt = enc.encode(&[0.3, -0.7], ctx.max_level(), scale).unwrap();
        let ct = encryptor.encrypt(&pt);
        let pe = PolynomialEvaluator::new(&eval);
        let used = || POWERS_USED.with(|u| u.borrow().clone());

        let odd = ChebyshevSeries::interpolate(f64::sin, -1.0, 1.0, 31);
        pe.evaluate_chebyshev(&ct, &odd, scale).unwrap();
        let powers = used();
        assert!(
            powers.iter().all(|&i| i % 2 == 1 || i.is_power_of_two()),
            "odd series computed {powers:?}"
        );
        let full = ChebyshevSeries::new((1..=32).map(|k| 1.0 / k as f64).collect(), -1.0, 1.0);
        pe.evaluate_chebyshev(&ct, &full, scale).unwrap();
        assert!(used().len() > powers.len(), "{:?} vs {powers:?}", used());

        let even = ChebyshevSeries::interpolate(f64::cos, -1.0, 1.0, 30);
        pe.evaluate_chebyshev(&ct, &even, scale).unwrap();
        let powers = used();
        assert!(
            powers.iter().all(|&i| i % 2 == 0 || i == 1),
            "even series computed {powers:?}"
        );
    }

    /// A change of variable with an integer slope costs no level and gives the same values.
    #[test]
    fn integer_slope_change_of_variable_is_free() {
        use crate::ckks::{presets, Context, Encoder, Encryptor, KeyGenerator, Params};
        use std::sync::Arc;
        let ctx = Context::new(Params::new_insecure_for_tests(presets::test_insecure()).unwrap());
        let mut keygen = KeyGenerator::new(ctx.clone());
        let sk = keygen.gen_secret_key();
        let evk = keygen.gen_evaluation_keys(&sk, &keygen.manifest_for_rotations(&[], false));
        let eval = crate::backend::CpuBackend::new(ctx.clone(), Arc::new(evk)).unwrap();
        let enc = Encoder::new(ctx.clone());
        let mut encryptor = Encryptor::with_secret_key(ctx.clone(), &sk).unwrap();
        let decryptor = crate::ckks::Decryptor::new(ctx.clone(), &sk).unwrap();
        let scale = ctx.params().default_scale();
        let pe = PolynomialEvaluator::new(&eval);
        // slopes 2 ([0.3, 1.3]), 1 ([0.1, 2.1]) and 2/3 ([-1, 2], not an integer)
        for (a, b, free) in [(0.3, 1.3, true), (0.1, 2.1, true), (-1.0, 2.0, false)] {
            let xs = [a + 0.05, (a + b) / 2.0, b - 0.01];
            let pt = enc.encode(&xs, ctx.max_level(), scale).unwrap();
            let ct = encryptor.encrypt(&pt);
            let series = ChebyshevSeries::interpolate(|x| (x * 1.7).exp() / 4.0, a, b, 15);
            assert_eq!(series.integer_slope().is_some(), free, "[{a}, {b}]");
            let depth = PolynomialEvaluator::depth_chebyshev(&series);
            assert_eq!(depth, 4 + usize::from(!free), "[{a}, {b}]");
            let out = pe.evaluate_chebyshev(&ct, &series, scale).unwrap();
            assert_eq!(out.level(), ct.level() - depth, "[{a}, {b}]");
            let got = enc.decode(&decryptor.decrypt(&out));
            for (i, &x) in xs.iter().enumerate() {
                let want = series.eval(x);
                assert!(
                    (got[i] - want).abs() < 1e-4,
                    "[{a}, {b}] at {x}: {} vs {want}",
                    got[i]
                );
            }
        }
    }

    #[test]
    fn split_and_depth_helpers() {
        assert_eq!(bit_len(0), 0);
        assert_eq!(bit_len(7), 3);
        assert_eq!(bit_len(8), 4);
        assert_eq!(ceil_log2(1), 0);
        assert_eq!(ceil_log2(5), 3);
        assert_eq!(ceil_log2(8), 3);
        for ld in 1..10 {
            let s = optimal_split(ld);
            assert!(s >= 1 && s <= ld.max(1), "{ld} -> {s}");
        }
    }
}
