//! Chebyshev series on an interval `[a, b]`: interpolation at Chebyshev nodes and the
//! plaintext (f64) reference evaluation by Clenshaw's recurrence.

use num_complex::Complex64;

/// `f(x) ≈ Σ_k coeffs[k] · T_k(u)` with `u = (2x − a − b) / (b − a)` mapping `[a, b]` onto
/// `[-1, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ChebyshevSeries {
    pub coeffs: Vec<f64>,
    pub a: f64,
    pub b: f64,
}

impl ChebyshevSeries {
    /// A series from explicit coefficients on `[a, b]`.
    pub fn new(coeffs: Vec<f64>, a: f64, b: f64) -> Self {
        ChebyshevSeries { coeffs, a, b }
    }

    /// Interpolates `f` at the `degree + 1` Chebyshev nodes of the first kind on `[a, b]`
    /// (near-minimax: the error is within a factor `2 + (2/π) log(degree + 1)` of the best
    /// polynomial of that degree).
    ///
    /// The nodes come in symmetric pairs `±u_j`, and the discrete cosine transform is
    /// computed from the even and odd parts of each pair, so a function that is exactly odd
    /// (or even) in floating point on a symmetric interval gets exactly zero even (odd)
    /// coefficients, which the homomorphic evaluator then skips.
    pub fn interpolate(f: impl Fn(f64) -> f64, a: f64, b: f64, degree: usize) -> Self {
        assert!(a < b, "interval [{a}, {b}] is empty");
        let n = degree + 1;
        let half_width = (b - a) / 2.0;
        let mid = (a + b) / 2.0;
        // u_j = cos(π(j + 1/2)/n), with u_{n-1-j} = -u_j set exactly (not recomputed), so
        // that an odd or even f sees exactly symmetric points.
        let node = |j: usize| {
            if 2 * j + 1 > n {
                -(std::f64::consts::PI * ((n - 1 - j) as f64 + 0.5) / n as f64).cos()
            } else if 2 * j + 1 == n {
                0.0
            } else {
                (std::f64::consts::PI * (j as f64 + 0.5) / n as f64).cos()
            }
        };
        let values: Vec<f64> = (0..n).map(|j| f(mid + half_width * node(j))).collect();
        // u_{n-1-j} = -u_j: pair the nodes so parity is exact.
        let pairs = n / 2;
        let even: Vec<f64> = (0..pairs).map(|j| values[j] + values[n - 1 - j]).collect();
        let odd: Vec<f64> = (0..pairs).map(|j| values[j] - values[n - 1 - j]).collect();
        let coeffs = (0..n)
            .map(|k| {
                let mut s = 0.0;
                let parts = if k % 2 == 0 { &even } else { &odd };
                for (j, &v) in parts.iter().enumerate() {
                    let angle = std::f64::consts::PI * (k * (2 * j + 1)) as f64 / (2 * n) as f64;
                    s += v * angle.cos();
                }
                if n % 2 == 1 && k % 2 == 0 {
                    // middle node u = 0: cos(π k / 2) = ±1 for even k
                    let sign = if (k / 2) % 2 == 0 { 1.0 } else { -1.0 };
                    s += values[pairs] * sign;
                }
                let c = 2.0 * s / n as f64;
                if k == 0 {
                    c / 2.0
                } else {
                    c
                }
            })
            .collect();
        ChebyshevSeries { coeffs, a, b }
    }

    /// The nominal degree, `coeffs.len() - 1` (zero for an empty series).
    pub fn degree(&self) -> usize {
        self.coeffs.len().saturating_sub(1)
    }

    /// Whether the series is on `[-1, 1]` exactly (no change of variable needed).
    pub fn is_standard_interval(&self) -> bool {
        self.a == -1.0 && self.b == 1.0
    }

    /// `Some(k)` when the slope `α = 2 / (b − a)` of the change of variable is the integer `k`
    /// (to 1e-12 relative): then `u = k·x + β` needs no rescale, so costs no level.
    pub fn integer_slope(&self) -> Option<i64> {
        let alpha = 2.0 / (self.b - self.a);
        let k = alpha.round();
        if alpha.is_finite()
            && (1.0..=(1u64 << 20) as f64).contains(&k)
            && (alpha - k).abs() <= 1e-12 * k
        {
            Some(k as i64)
        } else {
            None
        }
    }

    /// Maps `x ∈ [a, b]` to `u ∈ [-1, 1]`: returns `(α, β)` with `u = α x + β`.
    pub fn change_of_variable(&self) -> (f64, f64) {
        let alpha = 2.0 / (self.b - self.a);
        let beta = -(self.a + self.b) / (self.b - self.a);
        (alpha, beta)
    }

    /// Clenshaw evaluation at `x` (plaintext reference).
    pub fn eval(&self, x: f64) -> f64 {
        Self::eval_coeffs(&self.coeffs, self.a, self.b, x)
    }

    /// [`eval`](Self::eval) without building a series: `Σ coeffs[k] T_k(u)` at the `u` of `x`
    /// on `[a, b]` (the compiler's interpreter evaluates its approximations with it).
    pub fn eval_coeffs(coeffs: &[f64], a: f64, b: f64, x: f64) -> f64 {
        let alpha = 2.0 / (b - a);
        let beta = -(a + b) / (b - a);
        let u = alpha * x + beta;
        let (mut b1, mut b2) = (0.0, 0.0);
        for &c in coeffs.iter().skip(1).rev() {
            let b0 = c + 2.0 * u * b1 - b2;
            b2 = b1;
            b1 = b0;
        }
        coeffs.first().copied().unwrap_or(0.0) + u * b1 - b2
    }

    /// Clenshaw evaluation at a complex point (the slots of a ciphertext may be complex; the
    /// polynomial with real coefficients extends to ℂ).
    pub fn eval_complex(&self, x: Complex64) -> Complex64 {
        let (alpha, beta) = self.change_of_variable();
        let u = x * alpha + beta;
        let zero = Complex64::new(0.0, 0.0);
        let (mut b1, mut b2) = (zero, zero);
        for &c in self.coeffs.iter().skip(1).rev() {
            let b0 = u * b1 * 2.0 - b2 + c;
            b2 = b1;
            b1 = b0;
        }
        u * b1 - b2 + self.coeffs.first().copied().unwrap_or(0.0)
    }

    /// `max |f(x) − p(x)|` over `samples` equispaced points of `[a, b]` (both ends included)
    /// and the Chebyshev nodes of the series' degree (where the error of an interpolant
    /// vanishes, so they only matter for a series that is not an interpolant).
    pub fn max_error(&self, f: impl Fn(f64) -> f64, samples: usize) -> f64 {
        let samples = samples.max(2);
        let step = (self.b - self.a) / (samples - 1) as f64;
        (0..samples)
            .map(|i| {
                let x = if i + 1 == samples {
                    self.b
                } else {
                    self.a + step * i as f64
                };
                (f(x) - self.eval(x)).abs()
            })
            .fold(0.0, f64::max)
    }
}
