//! Numerical building blocks of the forward pass: matrix products through `gemm` (single-threaded;
//! parallelism is across images, with rayon, one level up), LayerNorm with f64 statistics, exact
//! GELU, and a row softmax. All operate in place on caller-owned buffers; nothing allocates.

use gemm::Parallelism;

/// A row-major-ish strided view description: element `(i, j)` is at `i * rs + j * cs`.
#[derive(Clone, Copy, Debug)]
pub struct Strides {
    pub rs: usize,
    pub cs: usize,
}

impl Strides {
    pub const fn row_major(cols: usize) -> Self {
        Strides { rs: cols, cs: 1 }
    }
    /// The transpose of a row-major matrix with `cols` columns (e.g. a PyTorch `[out, in]`
    /// weight read as `[in, out]`).
    pub const fn transposed(cols: usize) -> Self {
        Strides { rs: 1, cs: cols }
    }
    fn last(&self, rows: usize, cols: usize) -> usize {
        (rows - 1) * self.rs + (cols - 1) * self.cs
    }
}

/// `dst = (if accumulate { dst } else { 0 }) + scale * lhs · rhs` with `lhs` `[m, k]`, `rhs`
/// `[k, n]`, `dst` `[m, n]`, each with its own strides. Bounds are checked against the slices.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    ds: Strides,
    accumulate: bool,
    lhs: &[f32],
    ls: Strides,
    rhs: &[f32],
    rs: Strides,
    scale: f32,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(ds.last(m, n) < dst.len(), "matmul: dst too small");
    if k > 0 {
        assert!(ls.last(m, k) < lhs.len(), "matmul: lhs too small");
        assert!(rs.last(k, n) < rhs.len(), "matmul: rhs too small");
    }
    // SAFETY: every index the kernel touches is below the checked maxima above; dst does not
    // alias lhs or rhs (distinct borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            ds.cs as isize,
            ds.rs as isize,
            accumulate,
            lhs.as_ptr(),
            ls.cs as isize,
            ls.rs as isize,
            rhs.as_ptr(),
            rs.cs as isize,
            rs.rs as isize,
            1.0,
            scale,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// PyTorch `Linear`: `out[rows, out_dim] = x[rows, in_dim] · Wᵀ + b`, `W` `[out_dim, in_dim]`.
pub fn linear(x: &[f32], rows: usize, in_dim: usize, w: &[f32], b: &[f32], out: &mut [f32]) {
    let out_dim = b.len();
    debug_assert_eq!(w.len(), out_dim * in_dim);
    matmul(
        rows,
        out_dim,
        in_dim,
        out,
        Strides::row_major(out_dim),
        false,
        x,
        Strides::row_major(in_dim),
        w,
        Strides::transposed(in_dim),
        1.0,
    );
    for row in out[..rows * out_dim].chunks_exact_mut(out_dim) {
        for (o, &bb) in row.iter_mut().zip(b) {
            *o += bb;
        }
    }
}

/// LayerNorm over the last dimension (`w.len()`), statistics accumulated in f64, biased
/// variance as in PyTorch.
pub fn layer_norm(x: &[f32], w: &[f32], b: &[f32], eps: f64, out: &mut [f32]) {
    let d = w.len();
    for (xr, or) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let mean = xr.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
        let var = xr
            .iter()
            .map(|&v| {
                let c = v as f64 - mean;
                c * c
            })
            .sum::<f64>()
            / d as f64;
        let inv = 1.0 / (var + eps).sqrt();
        for i in 0..d {
            or[i] = (((xr[i] as f64 - mean) * inv) as f32) * w[i] + b[i];
        }
    }
}

/// Complementary error function, fractional error below 1.2e-7 everywhere (Chebyshev fit of
/// Press et al., Numerical Recipes 6.2), evaluated in f64.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// `erfc` in f32 with the same fit as [`erfc`] (fractional error of the fit 1.2e-7, plus f32
/// rounding): the hot loop of GELU, about twice as fast as the f64 version.
#[inline]
fn erfc_f32(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_204
                                + t * (1.488_515_9 + t * (-0.822_152_2 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Exact (erf) GELU in place: `x Φ(x) = x erfc(-x/√2) / 2`.
pub fn gelu_erf(x: &mut [f32]) {
    for v in x {
        *v = 0.5 * *v * erfc_f32(-*v * std::f32::consts::FRAC_1_SQRT_2);
    }
}

/// tanh-approximated GELU in place (PyTorch `approximate="tanh"`).
pub fn gelu_tanh(x: &mut [f32]) {
    const C: f64 = 0.797_884_560_802_865_4; // sqrt(2/pi)
    for v in x {
        let xv = *v as f64;
        *v = (0.5 * xv * (1.0 + (C * (xv + 0.044_715 * xv * xv * xv)).tanh())) as f32;
    }
}

/// Softmax of every row (length `n`) in place, max-subtracted, sum in f64.
pub fn softmax_rows(s: &mut [f32], n: usize) {
    for row in s.chunks_exact_mut(n) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f64;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v as f64;
        }
        let inv = (1.0 / sum) as f32;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_matches_reference_values() {
        // x * Phi(x), from Python's math.erfc.
        let cases = [
            (-6.0f32, -5.919_525_870_226_207e-9f64),
            (-3.0, -0.004_049_694_094_890_287),
            (-1.0, -0.158_655_253_931_457_07),
            (-0.1, -0.046_017_216_272_297_1),
            (0.0, 0.0),
            (0.5, 0.345_731_230_637_006_56),
            (1.0, 0.841_344_746_068_542_9),
            (2.0, 1.954_499_736_103_641_6),
            (4.0, 3.999_873_315_032_667_5),
        ];
        let mut xs: Vec<f32> = cases.iter().map(|c| c.0).collect();
        gelu_erf(&mut xs);
        for (got, (x, want)) in xs.iter().zip(cases) {
            let err = (*got as f64 - want).abs();
            assert!(
                err <= 1e-7 * (1.0 + want.abs()),
                "gelu({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn matmul_with_transposed_rhs_matches_naive() {
        let (m, k, n) = (5, 7, 3);
        let x: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.91).cos()).collect();
        let b = vec![0.5f32, -1.0, 2.0];
        let mut out = vec![0.0f32; m * n];
        linear(&x, m, k, &w, &b, &mut out);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum::<f32>() + b[j];
                assert!((out[i * n + j] - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn layer_norm_and_softmax_basics() {
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let mut y = [0.0f32; 4];
        layer_norm(&x, &[1.0; 4], &[0.0; 4], 0.0, &mut y);
        let s = 1.25f32.sqrt();
        for (a, b) in y.iter().zip([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]) {
            assert!((a - b).abs() < 1e-6);
        }
        let mut p = [1.0f32, 2.0, 3.0, 1000.0, 1000.0, 1000.0];
        softmax_rows(&mut p, 3);
        assert!((p[0] + p[1] + p[2] - 1.0).abs() < 1e-6);
        assert!((p[3] - 1.0 / 3.0).abs() < 1e-6);
    }
}
