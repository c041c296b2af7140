//! Continuous irradiation of the cells by an exponentially decaying dose rate: a
//! radiopharmaceutical therapy ([`DoseRateCourse`]).
//!
//! From the administration at `start_min` a point `p` of the model frame that receives the
//! dose `D(p)` to completion is irradiated at the rate `R(t) = D(p) lambda
//! exp(-lambda (t - start))`. Its cumulative LQ log kill with mono-exponential repair of
//! sublethal damage (Lea-Catcheside) is
//! `L(t, p) = alpha int R dt + 2 beta int R(t) q(t) dt` (`q` the unrepaired dose), computed by
//! the exact integrals of [`crate::radiobiology::DecayingDoseRate`], the same as the
//! continuum model's.
//!
//! [`AgentModel::run_until_with_dose_rate`] applies it at every phenotype step: the step
//! starting at `t0` covers `[t0, t1]` with `t1 = t0 + dt_phenotype_min` (the interval over
//! which its cycle and death rates act), and every live cell not yet lethally damaged,
//! with its centre at `p`, survives it with probability `exp(-(L(t1, p) - L(t0, p)))`.
//! Survival over successive steps multiplies, so a cell present from the administration
//! to `t` survives with probability `exp(-L(t, p))`, for any step. A killed cell dies as
//! after a fraction ([`super::RadiationDeath`]). Each draw comes from the cell's own stream
//! keyed by (seed, cell id, phenotype step, purpose), so results do not depend on the
//! thread count.

use super::{purpose, AgentError, AgentModel, FractionOutcome};
use crate::radiobiology::DecayingDoseRate;

/// Minutes in a day: the model's clock is in minutes, the dose rate's in days.
const MINUTES_PER_DAY: f64 = 1440.0;

/// A radiopharmaceutical course as the cells see it: an exponentially decaying dose rate
/// from `start_min`, with the dose to completion given at every point of the model frame.
#[derive(Clone, Copy)]
pub struct DoseRateCourse<'a> {
    /// Administration time, in model time \[min\] (>= 0).
    pub start_min: f64,
    /// Effective decay rate `lambda` of the dose rate \[1/day\]: physical decay and
    /// biological clearance together (`ln 2 / T_eff`).
    pub decay_per_day: f64,
    /// LQ `alpha` \[1/Gy\].
    pub alpha_per_gy: f64,
    /// LQ `beta` \[1/Gy^2\].
    pub beta_per_gy2: f64,
    /// Repair rate of sublethal damage `mu = ln 2 / T_repair` \[1/day\].
    pub repair_per_day: f64,
    /// Absorbed dose delivered to completion \[Gy\] at a point of the model frame \[um\]
    /// (the box `[0, L]^3`); finite and >= 0.
    pub total_dose_gy_at: &'a (dyn Fn([f64; 3]) -> f64 + Sync),
}

impl std::fmt::Debug for DoseRateCourse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DoseRateCourse")
            .field("start_min", &self.start_min)
            .field("decay_per_day", &self.decay_per_day)
            .field("alpha_per_gy", &self.alpha_per_gy)
            .field("beta_per_gy2", &self.beta_per_gy2)
            .field("repair_per_day", &self.repair_per_day)
            .finish_non_exhaustive()
    }
}

impl DoseRateCourse<'_> {
    /// Checks the course's constants: a start time >= 0, a decay rate > 0, `alpha`,
    /// `beta` and the repair rate finite and >= 0.
    pub fn validate(&self) -> Result<(), AgentError> {
        let bad = |name: &'static str, value: f64, expected: &'static str| {
            Err(AgentError::InvalidParameter {
                name,
                value,
                expected,
            })
        };
        if !(self.start_min.is_finite() && self.start_min >= 0.0) {
            return bad("start_min", self.start_min, "a time >= 0 (min)");
        }
        if !(self.decay_per_day.is_finite() && self.decay_per_day > 0.0) {
            return bad(
                "decay_per_day",
                self.decay_per_day,
                "an effective decay rate > 0 (1/day)",
            );
        }
        for (name, v) in [
            ("alpha_per_gy", self.alpha_per_gy),
            ("beta_per_gy2", self.beta_per_gy2),
            ("repair_per_day", self.repair_per_day),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(name, v, "a finite value >= 0");
            }
        }
        Ok(())
    }

    /// The dose rate at a point that receives `total_dose_gy` to completion, on the time
    /// axis of the administration \[day\].
    fn rate(&self, total_dose_gy: f64) -> DecayingDoseRate {
        DecayingDoseRate::from_total_dose(total_dose_gy, self.decay_per_day)
    }

    /// Days since the administration at model time `t_min`, 0 before it.
    fn since_start_day(&self, t_min: f64) -> f64 {
        ((t_min - self.start_min) / MINUTES_PER_DAY).max(0.0)
    }

    /// Dose \[Gy\] delivered from the administration to model time `t_min` at a point that
    /// receives `total_dose_gy` to completion.
    pub fn dose_delivered_gy(&self, total_dose_gy: f64, t_min: f64) -> f64 {
        self.rate(total_dose_gy)
            .dose_between_gy(0.0, self.since_start_day(t_min))
    }

    /// Cumulative LQ log kill `L(t, p) = -ln S` (dimensionless) from the administration to
    /// model time `t_min` at a point that receives `total_dose_gy` to completion
    /// ([`DecayingDoseRate::log_kill_between`]).
    pub fn log_kill(&self, total_dose_gy: f64, t_min: f64) -> f64 {
        self.rate(total_dose_gy).log_kill_between(
            0.0,
            self.since_start_day(t_min),
            self.alpha_per_gy,
            self.beta_per_gy2,
            self.repair_per_day,
        )
    }

    /// The coefficients `(a, b)` of the log kill `a r0 + b r0^2` between model times
    /// `t0_min` and `t1_min` of a point whose initial dose rate is `r0` \[Gy/day\]: the
    /// dose integral scales as `r0` and the quadratic integral as `r0^2`, so the exact
    /// integrals of the unit rate serve every cell.
    fn step_coefficients(&self, t0_min: f64, t1_min: f64) -> (f64, f64) {
        let (a, b) = (self.since_start_day(t0_min), self.since_start_day(t1_min));
        if b <= a {
            return (0.0, 0.0);
        }
        let unit = DecayingDoseRate {
            initial_gy_per_day: 1.0,
            decay_per_day: self.decay_per_day,
        };
        (
            self.alpha_per_gy * unit.dose_between_gy(a, b),
            2.0 * self.beta_per_gy2 * unit.quadratic_integral_gy2(a, b, self.repair_per_day),
        )
    }
}

/// Cells killed by a decaying dose rate, cumulative over the calls of
/// [`AgentModel::run_until_with_dose_rate`] that share it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DoseRateTally {
    /// Phenotype steps in which dose was delivered.
    pub steps: u64,
    /// Sum over those steps of the live cells not yet lethally damaged (cell-steps
    /// exposed).
    pub exposed_cell_steps: u64,
    /// Cells lethally hit (each cell at most once).
    pub killed: u64,
}

impl AgentModel {
    /// Like [`AgentModel::run_until`], with the decaying dose rate `course` (if any)
    /// applied at every phenotype step: before the step starting at `t0` every live cell
    /// not yet lethally damaged survives the dose delivered over `[t0, t0 +
    /// dt_phenotype_min]` with probability `exp(-(L(t1, p) - L(t0, p)))` at its centre
    /// `p` (module documentation). `tally` accumulates the cells killed; `observer` is
    /// called after every `output_interval_min` with the model and the tally. Without a
    /// course the steps are exactly those of [`AgentModel::run_until`].
    pub fn run_until_with_dose_rate(
        &mut self,
        t_end_min: f64,
        course: Option<&DoseRateCourse<'_>>,
        tally: &mut DoseRateTally,
        observer: &mut dyn FnMut(&AgentModel, &DoseRateTally),
    ) -> Result<(), AgentError> {
        if let Some(c) = course {
            c.validate()?;
        }
        let dt = self.params.dt_mechanics_min;
        while self.time_min() < t_end_min - 0.5 * dt {
            if let Some(c) = course {
                if self.mech_step.is_multiple_of(self.mech_per_pheno) {
                    let t0 = self.time_min();
                    let out = self.apply_dose_rate(c, t0, t0 + self.params.dt_phenotype_min);
                    if out.exposed > 0 {
                        tally.steps += 1;
                        tally.exposed_cell_steps += out.exposed as u64;
                        tally.killed += out.killed as u64;
                    }
                }
            }
            self.step();
            if self.mech_step.is_multiple_of(self.mech_per_output) {
                observer(self, tally);
            }
        }
        Ok(())
    }

    /// The kill of the dose delivered between `t0_min` and `t1_min` (model time): every
    /// live cell not yet lethally damaged survives with `exp(-(L(t1) - L(t0)))` at its
    /// centre; killed cells die per `params.radiation_death`. Keyed by the phenotype step
    /// about to run, so it is called at most once per phenotype step. `exposed` counts
    /// the cells at risk only when dose is delivered in the interval.
    fn apply_dose_rate(
        &mut self,
        course: &DoseRateCourse<'_>,
        t0_min: f64,
        t1_min: f64,
    ) -> FractionOutcome {
        if course.since_start_day(t1_min) <= course.since_start_day(t0_min) {
            // The interval ends before the administration: no dose, no draw.
            return FractionOutcome {
                exposed: 0,
                killed: 0,
            };
        }
        let (lin, quad) = course.step_coefficients(t0_min, t1_min);
        let step = self.pheno_step;
        let lambda = course.decay_per_day;
        let dose_at = course.total_dose_gy_at;
        self.irradiate(
            &|x| {
                // Initial dose rate r0 = D lambda of this cell's point.
                let r0 = dose_at(x) * lambda;
                (-(lin * r0 + quad * r0 * r0)).exp()
            },
            step,
            purpose::DOSE_RATE,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::AgentParams;

    /// The per-step coefficients telescope to the cumulative log kill: summed over the
    /// steps of a run with a mid-step administration they equal `L(t_end)` (to rounding),
    /// and nothing is delivered before the administration.
    #[test]
    fn step_coefficients_telescope_to_the_cumulative_log_kill() {
        let course = DoseRateCourse {
            start_min: 100.0,
            decay_per_day: std::f64::consts::LN_2 * 24.0 / 6.0,
            alpha_per_gy: 0.2,
            beta_per_gy2: 0.05,
            repair_per_day: crate::radiobiology::repair_rate_per_day(1.5),
            total_dose_gy_at: &|_| 4.0,
        };
        let r0 = 4.0 * course.decay_per_day;
        let mut sum = 0.0;
        let mut t = 0.0;
        while t < 1440.0 {
            let (a, b) = course.step_coefficients(t, t + 6.0);
            if t + 6.0 <= 100.0 {
                assert_eq!((a, b), (0.0, 0.0), "dose before the administration");
            }
            sum += a * r0 + b * r0 * r0;
            t += 6.0;
        }
        let total = course.log_kill(4.0, 1440.0);
        assert!((sum - total).abs() < 1e-12 * total, "{sum} vs {total}");
        assert_eq!(course.log_kill(4.0, 50.0), 0.0);
        // A bad constant is refused, naming it.
        let bad = DoseRateCourse {
            decay_per_day: 0.0,
            ..course
        };
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("decay_per_day"), "{e}");
        let mut m = AgentModel::new(
            AgentParams {
                domain_edge_um: 200.0,
                initial_cells: 5,
                ..Default::default()
            },
            1,
        )
        .unwrap();
        let mut tally = DoseRateTally::default();
        assert!(m
            .run_until_with_dose_rate(6.0, Some(&bad), &mut tally, &mut |_, _| {})
            .is_err());
    }
}
