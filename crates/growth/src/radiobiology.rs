//! The linear-quadratic (LQ) model of cell survival and the biologically effective dose.
//!
//! - Acute dose `d` (one fraction, delivered in a time short against repair):
//!   surviving fraction `S = exp(-alpha d - beta d^2)`.
//! - `n` well-separated fractions of `d` (complete repair between fractions):
//!   `-ln S = n (alpha d + beta d^2)`, `BED = n d (1 + d / (alpha/beta))`.
//! - Continuous irradiation at dose rate `R(t)` with mono-exponential repair of sublethal
//!   damage (repair rate `mu = ln 2 / T_repair`): `-ln S = alpha D + beta G D^2`, with the
//!   Lea-Catcheside dose-protraction factor
//!   `G = (2 / D^2) int_0^T R(t) int_0^t R(t') exp(-mu (t - t')) dt' dt`.
//!   For a radiopharmaceutical, `R(t) = R0 exp(-lambda t)` (`lambda` the effective decay
//!   rate); delivered to completion `G = lambda / (lambda + mu)` (Dale 1985) and
//!   `BED = D (1 + G D / (alpha/beta))`.
//!
//! References: R.G. Dale, Br. J. Radiol. 58 (1985) 515 (BED of exponentially decaying
//! dose rates); D.E. Lea and D.G. Catcheside, J. Genet. 44 (1942) 216; J.F. Fowler,
//! Br. J. Radiol. 62 (1989) 679 (the LQ formula and BED of fractionated treatment).
//!
//! Units: doses in Gy, `alpha` in 1/Gy, `beta` in 1/Gy^2, times in days, rates in 1/day.

/// Surviving fraction of an acute dose: `exp(-alpha d - beta d^2)`.
#[inline]
pub fn lq_survival(dose_gy: f64, alpha_per_gy: f64, beta_per_gy2: f64) -> f64 {
    (-(alpha_per_gy * dose_gy + beta_per_gy2 * dose_gy * dose_gy)).exp()
}

/// Biologically effective dose (Gy) of `n_fractions` well-separated fractions of
/// `dose_per_fraction_gy`: `n d (1 + d / (alpha/beta))`.
pub fn bed_fractionated_gy(n_fractions: u32, dose_per_fraction_gy: f64, alpha_beta_gy: f64) -> f64 {
    let d = dose_per_fraction_gy;
    f64::from(n_fractions) * d * (1.0 + d / alpha_beta_gy)
}

/// Lea-Catcheside factor `G` (dimensionless) of a dose rate decaying as `exp(-lambda t)`
/// delivered from t = 0 to `duration_day` (`f64::INFINITY` for complete delivery), with
/// repair rate `mu`. `G = 1` for an acute dose, `lambda / (lambda + mu)` for complete
/// delivery.
pub fn lea_catcheside_exponential(
    decay_per_day: f64,
    repair_per_day: f64,
    duration_day: f64,
) -> f64 {
    let rate = DecayingDoseRate {
        initial_gy_per_day: 1.0,
        decay_per_day,
    };
    if duration_day.is_infinite() {
        return decay_per_day / (decay_per_day + repair_per_day);
    }
    let d = rate.dose_between_gy(0.0, duration_day);
    2.0 * rate.quadratic_integral_gy2(0.0, duration_day, repair_per_day) / (d * d)
}

/// Biologically effective dose (Gy) of a total dose `total_dose_gy` delivered to
/// completion by a dose rate decaying with `decay_per_day`, with repair rate
/// `repair_per_day`: `D (1 + G D / (alpha/beta))`, `G = lambda / (lambda + mu)`.
pub fn bed_exponential_gy(
    total_dose_gy: f64,
    decay_per_day: f64,
    repair_per_day: f64,
    alpha_beta_gy: f64,
) -> f64 {
    let g = lea_catcheside_exponential(decay_per_day, repair_per_day, f64::INFINITY);
    total_dose_gy * (1.0 + g * total_dose_gy / alpha_beta_gy)
}

/// Repair rate (1/day) of sublethal damage with half-time `repair_half_time_h` (hours).
pub fn repair_rate_per_day(repair_half_time_h: f64) -> f64 {
    std::f64::consts::LN_2 * 24.0 / repair_half_time_h
}

/// A dose rate `R(t) = R0 exp(-lambda t)` (t in days from the administration), the dose
/// rate of a radiopharmaceutical with effective decay rate `lambda` in one voxel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecayingDoseRate {
    /// Dose rate at t = 0, `R0` (Gy/day).
    pub initial_gy_per_day: f64,
    /// Effective decay rate `lambda` (1/day): physical decay plus biological clearance.
    pub decay_per_day: f64,
}

impl DecayingDoseRate {
    /// The dose rate with total dose `total_dose_gy` delivered to completion:
    /// `R0 = lambda D`.
    pub fn from_total_dose(total_dose_gy: f64, decay_per_day: f64) -> Self {
        Self {
            initial_gy_per_day: total_dose_gy * decay_per_day,
            decay_per_day,
        }
    }

    /// Dose rate (Gy/day) at `t_day`.
    pub fn rate_gy_per_day(&self, t_day: f64) -> f64 {
        self.initial_gy_per_day * (-self.decay_per_day * t_day).exp()
    }

    /// Dose (Gy) delivered between `t0_day` and `t1_day`.
    pub fn dose_between_gy(&self, t0_day: f64, t1_day: f64) -> f64 {
        let l = self.decay_per_day;
        self.initial_gy_per_day
            * (-l * t0_day).exp()
            * (t1_day - t0_day)
            * phi(l * (t1_day - t0_day))
    }

    /// Unrepaired sublethal dose `q(t) = int_0^t R(t') exp(-mu (t - t')) dt'` (Gy) at
    /// `t_day` for repair rate `repair_per_day`.
    pub fn unrepaired_gy(&self, t_day: f64, repair_per_day: f64) -> f64 {
        // q(t) = R0 (exp(-lambda t) - exp(-mu t)) / (mu - lambda)
        //      = R0 t exp(-lambda t) phi((mu - lambda) t), exact also for mu = lambda.
        let l = self.decay_per_day;
        self.initial_gy_per_day * t_day * (-l * t_day).exp() * phi((repair_per_day - l) * t_day)
    }

    /// `int_{t0}^{t1} R(t) q(t) dt` (Gy^2), the quadratic-term integral: the increment of
    /// `-ln S` over the interval is `alpha * dose + 2 beta * this`. Computed by 8-point
    /// Gauss-Legendre quadrature on sub-intervals no longer than `0.5 / max(lambda, mu)`
    /// (relative error below 1e-13; the integrand is an entire function).
    pub fn quadratic_integral_gy2(&self, t0_day: f64, t1_day: f64, repair_per_day: f64) -> f64 {
        let span = t1_day - t0_day;
        if span <= 0.0 {
            return 0.0;
        }
        let scale = self
            .decay_per_day
            .abs()
            .max(repair_per_day.abs())
            .max(1e-300);
        let pieces = ((span * scale / 0.5).ceil() as usize).clamp(1, 1 << 20);
        let h = span / pieces as f64;
        let mut sum = 0.0;
        for p in 0..pieces {
            let a = t0_day + h * p as f64;
            let mid = a + 0.5 * h;
            for (x, w) in GL8_NODES.iter().zip(GL8_WEIGHTS.iter()) {
                for s in [-1.0, 1.0] {
                    let t = mid + s * x * 0.5 * h;
                    sum += w
                        * 0.5
                        * h
                        * self.rate_gy_per_day(t)
                        * self.unrepaired_gy(t, repair_per_day);
                }
            }
        }
        sum
    }

    /// Increment of `-ln S` (the LQ log cell kill) between `t0_day` and `t1_day` under
    /// continuous irradiation: `alpha int R dt + 2 beta int R q dt`.
    pub fn log_kill_between(
        &self,
        t0_day: f64,
        t1_day: f64,
        alpha_per_gy: f64,
        beta_per_gy2: f64,
        repair_per_day: f64,
    ) -> f64 {
        alpha_per_gy * self.dose_between_gy(t0_day, t1_day)
            + 2.0 * beta_per_gy2 * self.quadratic_integral_gy2(t0_day, t1_day, repair_per_day)
    }
}

/// `(1 - exp(-x)) / x`, with its limit 1 at x = 0; accurate for all x.
#[inline]
fn phi(x: f64) -> f64 {
    if x.abs() < 1e-8 {
        1.0 - 0.5 * x
    } else {
        -(-x).exp_m1() / x
    }
}

/// Positive nodes of the 8-point Gauss-Legendre rule on `[-1, 1]`.
const GL8_NODES: [f64; 4] = [
    0.183_434_642_495_649_8,
    0.525_532_409_916_329,
    0.796_666_477_413_626_7,
    0.960_289_856_497_536_3,
];
/// Weights of the nodes in [`GL8_NODES`] (each used for `+x` and `-x`).
const GL8_WEIGHTS: [f64; 4] = [
    0.362_683_783_378_362,
    0.313_706_645_877_887_3,
    0.222_381_034_453_374_5,
    0.101_228_536_290_376_3,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn gauss_legendre_rule_is_exact_to_degree_15() {
        // int_{-1}^{1} x^k dx = 2/(k+1) for even k, 0 for odd k.
        for k in 0..=15 {
            let mut s = 0.0;
            for (x, w) in GL8_NODES.iter().zip(GL8_WEIGHTS.iter()) {
                s += w * (x.powi(k) + (-x).powi(k));
            }
            let exact = if k % 2 == 0 {
                2.0 / (k as f64 + 1.0)
            } else {
                0.0
            };
            assert!((s - exact).abs() < 1e-14, "degree {k}: {s} vs {exact}");
        }
    }

    #[test]
    fn lq_and_fractionated_bed_match_the_formulas() {
        // One 2 Gy fraction, alpha 0.3 /Gy, beta 0.03 /Gy^2: S = exp(-0.72).
        assert!(rel(lq_survival(2.0, 0.3, 0.03), (-0.72f64).exp()) < 1e-15);
        // 30 x 2 Gy, alpha/beta 10 Gy: BED = 60 (1 + 0.2) = 72 Gy.
        assert!(rel(bed_fractionated_gy(30, 2.0, 10.0), 72.0) < 1e-15);
        // BED is -ln S / alpha for n fractions.
        let (a, b) = (0.3, 0.03);
        let log_s = 30.0 * -lq_survival(2.0, a, b).ln();
        assert!(rel(log_s / a, bed_fractionated_gy(30, 2.0, a / b)) < 1e-13);
    }

    #[test]
    fn closed_form_integrals_match_their_definitions() {
        // The unrepaired dose q(t) solves dq/dt = R - mu q, q(0) = 0; check by a fine
        // midpoint integration, including lambda == mu.
        for (l, mu) in [(0.1, 16.6), (2.0, 2.0), (3.0, 0.5)] {
            let r = DecayingDoseRate {
                initial_gy_per_day: 5.0,
                decay_per_day: l,
            };
            let (n, t) = (200_000, 3.0);
            let h = t / n as f64;
            let (mut q, mut dose, mut quad) = (0.0, 0.0, 0.0);
            for i in 0..n {
                let tm = (i as f64 + 0.5) * h;
                // exact propagation of q over the step with R at the midpoint
                let rm = r.rate_gy_per_day(tm);
                let q_mid = q * (-mu * 0.5 * h).exp() + rm * 0.5 * h * phi(mu * 0.5 * h);
                quad += rm * q_mid * h;
                dose += rm * h;
                q = q * (-mu * h).exp() + rm * h * phi(mu * h);
            }
            assert!(rel(r.dose_between_gy(0.0, t), dose) < 1e-9);
            assert!(rel(r.unrepaired_gy(t, mu), q) < 1e-8, "q {l} {mu}");
            assert!(
                rel(r.quadratic_integral_gy2(0.0, t, mu), quad) < 1e-8,
                "quadratic {l} {mu}"
            );
        }
    }

    #[test]
    fn lea_catcheside_factor_of_complete_delivery_is_dale_1985() {
        // Lu-177 (T1/2 6.65 d, no clearance) with 1.5 h repair half-time.
        let l = std::f64::consts::LN_2 / 6.647;
        let mu = repair_rate_per_day(1.5);
        let g_inf = lea_catcheside_exponential(l, mu, f64::INFINITY);
        assert!(rel(g_inf, l / (l + mu)) < 1e-15);
        // The finite-duration factor tends to it (40 half-lives).
        let g_long = lea_catcheside_exponential(l, mu, 40.0 * 6.647);
        assert!(rel(g_long, g_inf) < 1e-9, "{g_long} vs {g_inf}");
        // An instantaneous delivery (lambda >> mu) has G -> 1; very slow delivery -> 0.
        assert!(lea_catcheside_exponential(1e6, 1.0, f64::INFINITY) > 0.999_99);
        assert!(lea_catcheside_exponential(1e-3, 10.0, f64::INFINITY) < 1e-3);
        // BED: D (1 + G D / (alpha/beta)).
        let bed = bed_exponential_gy(20.0, l, mu, 10.0);
        assert!(rel(bed, 20.0 * (1.0 + g_inf * 2.0)) < 1e-15);
        // The summed log kill over many intervals equals alpha D + beta G D^2.
        let r = DecayingDoseRate::from_total_dose(20.0, l);
        let (a, b) = (0.3, 0.03);
        let mut kill = 0.0;
        let mut t = 0.0;
        while t < 60.0 * 6.647 {
            kill += r.log_kill_between(t, t + 0.7, a, b, mu);
            t += 0.7;
        }
        let expected = a * 20.0 + b * g_inf * 400.0;
        assert!(rel(kill, expected) < 1e-9, "{kill} vs {expected}");
    }
}
