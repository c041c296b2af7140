//! Numerically stable pieces of the closed-form integrals.

/// `E(k, t) = (1 - exp(-k t)) / k`, the integral of `exp(-k s)` over `0..t`, for `k >= 0`
/// and `t >= 0`; `t` may be infinite (then `1 / k`; infinite when `k = 0`).
pub(crate) fn e_integral(k: f64, t: f64) -> f64 {
    if t.is_infinite() {
        return 1.0 / k;
    }
    let x = k * t;
    if x.abs() < 1e-8 {
        // 1 - x/2 + x^2/6
        t * (1.0 - 0.5 * x + x * x / 6.0)
    } else {
        -(-x).exp_m1() / k
    }
}

/// dE/dk at `k`, for finite `t`.
fn e_integral_dk(k: f64, t: f64) -> f64 {
    let x = k * t;
    if x.abs() < 1e-4 {
        // d/dk [t (1 - kt/2 + k^2 t^2/6 - k^3 t^3/24)] = t^2 (-1/2 + x/3 - x^2/8)
        t * t * (-0.5 + x / 3.0 - x * x / 8.0)
    } else {
        let em = (-x).exp();
        (t * em * k - (1.0 - em)) / (k * k)
    }
}

/// Divided difference `(E(k1, t) - E(k2, t)) / (k2 - k1)` for `k1, k2 >= 0`, stable when
/// `k1` and `k2` are close (then `-dE/dk`). `t` may be infinite (then `1 / (k1 k2)`).
///
/// It is `∫_0^t ∫_0^s exp(-k2 u) exp(-k1 (s - u)) du ds`: the time integral of a
/// compartment with removal rate `k1` fed by a unit-integral inflow `k2 exp(-k2 s)`,
/// divided by `k2`.
pub(crate) fn divided_difference(k1: f64, k2: f64, t: f64) -> f64 {
    if t.is_infinite() {
        return 1.0 / (k1 * k2);
    }
    let d = k2 - k1;
    if (d * t).abs() < 1e-6 {
        -e_integral_dk(0.5 * (k1 + k2), t)
    } else {
        (e_integral(k1, t) - e_integral(k2, t)) / d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_integral_matches_closed_form() {
        for &(k, t) in &[(0.1, 3.0), (2.0, 0.5), (1e-12, 4.0), (0.0, 2.0)] {
            // Closed form; for tiny k t its two-term series (the closed form cancels).
            let exact = if k * t < 1e-6 {
                t * (1.0 - 0.5 * k * t)
            } else {
                (1.0 - f64::exp(-k * t)) / k
            };
            assert!((e_integral(k, t) - exact).abs() <= 1e-12 * exact.max(1.0));
        }
        assert_eq!(e_integral(0.5, f64::INFINITY), 2.0);
    }

    #[test]
    fn divided_difference_is_continuous_at_equal_rates() {
        let t = 3.5;
        let k = 0.3;
        let near = divided_difference(k, k * (1.0 + 1e-9), t);
        let apart = divided_difference(k, k * 1.001, t);
        let at = divided_difference(k, k, t);
        assert!((near - at).abs() < 1e-9 * at);
        assert!((apart - at).abs() < 1e-2 * at);
        // Exact for equal rates: ∫_0^t s exp(-k s) ds
        let exact = (1.0 - (1.0 + k * t) * f64::exp(-k * t)) / (k * k);
        assert!((at - exact).abs() < 1e-9 * exact, "{at} {exact}");
        assert!((divided_difference(0.2, 0.7, f64::INFINITY) - 1.0 / 0.14).abs() < 1e-12);
    }
}
