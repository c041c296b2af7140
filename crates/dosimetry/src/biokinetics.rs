//! Descriptive biokinetic models (ICRP Publication 53/128 style) and their
//! time-integrated activity coefficients, solved analytically.
//!
//! A model lists source regions, each with a fractional uptake `F` of the administered
//! activity, an optional uptake half-time and a retention made of exponential components
//! `a_j` with biological half-times `T_j` (infinite for no biological removal). The
//! activity in the region per unit administered activity is, with the physical decay
//! constant `λp`,
//!
//! * instantaneous uptake: `q(t) = F Σ_j a_j exp(-(λ_j + λp) t)`;
//! * first-order uptake with half-time `T_u` (rate `λ_u = ln 2 / T_u`) from an unlimited
//!   pool, feeding every retention component:
//!   `q(t) = F Σ_j a_j λ_u / (λ_u - λ_j) (exp(-λ_j t) - exp(-λ_u t)) exp(-λp t)`.
//!
//! The urinary bladder is filled by a cumulative urinary excretion
//! `U(t) = f_u Σ_k b_k (1 - exp(-μ_k t))` (an excretion fraction `f_u` of the administered
//! activity with components `b_k`, half-times `ln 2 / μ_k`; a half-time of 0 means
//! immediate excretion) and emptied completely at each void: the first at `t_1`, then every
//! `Δ` hours. Between voids the contents decay physically. The integral over every
//! interval is exact, and the infinite sum of intervals is a geometric series, so the
//! bladder's time-integrated activity coefficient is exact as well (no time stepping).

use serde::Deserialize;

use crate::math::{divided_difference, e_integral};
use crate::regions::{is_source_region, URINARY_BLADDER_CONTENTS};
use crate::{DosimetryError, Result};

/// One exponential component of a retention or excretion function.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExponentialComponent {
    /// Fraction `a` of the region's uptake (or of the excretion) in this component
    /// (dimensionless, 0..=1; the fractions of one region add up to 1).
    pub fraction: f64,
    /// Biological half-time in hours; `inf` for no biological removal (retention only by
    /// physical decay); for urinary excretion `0` means immediate excretion.
    pub half_time_h: f64,
}

/// A source region of a model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceOrgan {
    /// ICRP 155 source-region name, or `Other`.
    pub region: String,
    /// Fractional uptake `F` of the administered activity (dimensionless, 0..=1).
    pub fraction: f64,
    /// Uptake half-time in hours; absent for instantaneous uptake.
    #[serde(default)]
    pub uptake_half_time_h: Option<f64>,
    /// Retention components.
    #[serde(rename = "component")]
    pub components: Vec<ExponentialComponent>,
    /// Where the numbers come from (publication, table).
    pub source: String,
}

/// Bladder voiding: complete voids at `first_void_h`, then every `interval_h` hours.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voiding {
    /// Time of the first void after administration, in hours (> 0).
    pub first_void_h: f64,
    /// Interval between later voids, in hours (> 0).
    pub interval_h: f64,
}

/// Urinary excretion into the bladder contents (`UB-cont`) with a voiding model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrinaryExcretion {
    /// Fraction `f_u` of the administered activity excreted in urine (0..=1), before
    /// physical decay.
    pub fraction: f64,
    /// Components of the cumulative excretion.
    #[serde(rename = "component")]
    pub components: Vec<ExponentialComponent>,
    /// The voiding schedule.
    pub voiding: Voiding,
    /// Where the numbers come from.
    pub source: String,
}

/// A biokinetic model: source regions and, optionally, urinary excretion.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BiokineticModel {
    /// The source regions.
    #[serde(rename = "source")]
    pub sources: Vec<SourceOrgan>,
    /// Urinary excretion with a bladder voiding model (source region `UB-cont`).
    #[serde(default)]
    pub urinary_bladder: Option<UrinaryExcretion>,
}

/// Time-integrated activity coefficient of one source region.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceTia {
    /// Source-region name (ICRP 155, or `Other`).
    pub region: String,
    /// Time-integrated activity per unit administered activity, in MBq h per MBq (hours).
    pub tia_h: f64,
    /// Its standard uncertainty in hours (0 for a reference model).
    pub uncertainty_h: f64,
}

const COMPONENT_SUM_TOLERANCE: f64 = 1e-3;

fn rate_per_h(half_time_h: f64) -> f64 {
    if half_time_h.is_infinite() {
        0.0
    } else {
        std::f64::consts::LN_2 / half_time_h
    }
}

impl BiokineticModel {
    /// Parse a model from TOML (the `[model]` table of a library entry, without the
    /// `model.` prefix); `origin` names the file in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| DosimetryError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })
    }

    /// Check the model: known region names, each at most once; fractions in 0..=1 and the
    /// uptakes adding up to at most 1; component fractions adding up to 1; half-times
    /// positive (or infinite); a sane voiding schedule. `name` is used in the errors.
    pub fn validate(&self, name: &str) -> Result<()> {
        let invalid = |item: String, message: String| DosimetryError::InvalidModel {
            radiopharmaceutical: name.to_string(),
            item,
            message,
        };
        if self.sources.is_empty() && self.urinary_bladder.is_none() {
            return Err(invalid("model".into(), "has no source region".into()));
        }
        let mut seen: Vec<&str> = Vec::new();
        let mut sum = 0.0;
        for s in &self.sources {
            if !is_source_region(&s.region) {
                return Err(DosimetryError::UnknownRegion {
                    radiopharmaceutical: name.to_string(),
                    region: s.region.clone(),
                });
            }
            let dup = seen.contains(&s.region.as_str())
                || (s.region == URINARY_BLADDER_CONTENTS && self.urinary_bladder.is_some());
            if dup {
                return Err(invalid(
                    format!("source region '{}'", s.region),
                    "is given more than once (the urinary bladder model also fills UB-cont)".into(),
                ));
            }
            seen.push(&s.region);
            let item = format!("source region '{}'", s.region);
            if !(s.fraction.is_finite() && (0.0..=1.0).contains(&s.fraction)) {
                return Err(invalid(
                    item,
                    format!("fraction {} is not in 0..=1", s.fraction),
                ));
            }
            sum += s.fraction;
            if let Some(tu) = s.uptake_half_time_h {
                if !(tu.is_finite() && tu > 0.0) {
                    return Err(invalid(
                        item,
                        format!("uptake half-time {tu} h must be positive and finite"),
                    ));
                }
            }
            check_components(&s.components, &item, false, &invalid)?;
        }
        if sum > 1.0 + 1e-9 {
            return Err(DosimetryError::FractionsExceedOne {
                radiopharmaceutical: name.to_string(),
                sum,
            });
        }
        if let Some(u) = &self.urinary_bladder {
            let item = "urinary bladder".to_string();
            if !(u.fraction.is_finite() && (0.0..=1.0).contains(&u.fraction)) {
                return Err(invalid(
                    item,
                    format!("excretion fraction {} is not in 0..=1", u.fraction),
                ));
            }
            check_components(&u.components, &item, true, &invalid)?;
            let v = &u.voiding;
            if !(v.first_void_h.is_finite() && v.first_void_h > 0.0) {
                return Err(invalid(
                    item,
                    format!(
                        "first void at {} h must be positive and finite",
                        v.first_void_h
                    ),
                ));
            }
            if !(v.interval_h.is_finite() && v.interval_h > 0.0) {
                return Err(invalid(
                    item,
                    format!(
                        "voiding interval {} h must be positive and finite",
                        v.interval_h
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Time-integrated activity coefficients (hours) of every source region, integrated
    /// from administration to `until_h` (`None`: to infinity), for a radionuclide of
    /// physical half-life `physical_half_life_h`. The model is validated first (`name` is
    /// used in errors). The urinary bladder contents appear as `UB-cont`.
    pub fn time_integrated_activity(
        &self,
        name: &str,
        physical_half_life_h: f64,
        until_h: Option<f64>,
    ) -> Result<Vec<SourceTia>> {
        self.validate(name)?;
        if !(physical_half_life_h.is_finite() && physical_half_life_h > 0.0) {
            return Err(DosimetryError::InvalidModel {
                radiopharmaceutical: name.to_string(),
                item: "physical half-life".into(),
                message: format!("{physical_half_life_h} h must be positive and finite"),
            });
        }
        let t_end = match until_h {
            None => f64::INFINITY,
            Some(t) if t.is_finite() && t >= 0.0 => t,
            Some(t) => {
                return Err(DosimetryError::InvalidModel {
                    radiopharmaceutical: name.to_string(),
                    item: "integration end".into(),
                    message: format!("{t} h must be non-negative and finite"),
                })
            }
        };
        let lp = rate_per_h(physical_half_life_h);
        let mut out = Vec::with_capacity(self.sources.len() + 1);
        for s in &self.sources {
            out.push(SourceTia {
                region: s.region.clone(),
                tia_h: organ_tia_h(s, lp, t_end),
                uncertainty_h: 0.0,
            });
        }
        if let Some(u) = &self.urinary_bladder {
            out.push(SourceTia {
                region: URINARY_BLADDER_CONTENTS.to_string(),
                tia_h: bladder_tia_h(u, lp, t_end),
                uncertainty_h: 0.0,
            });
        }
        Ok(out)
    }
}

fn check_components(
    components: &[ExponentialComponent],
    item: &str,
    excretion: bool,
    invalid: &dyn Fn(String, String) -> DosimetryError,
) -> Result<()> {
    if components.is_empty() {
        return Err(invalid(item.to_string(), "has no component".into()));
    }
    let mut sum = 0.0;
    for (i, c) in components.iter().enumerate() {
        let citem = format!("{item}, component {}", i + 1);
        if !(c.fraction.is_finite() && (0.0..=1.0).contains(&c.fraction)) {
            return Err(invalid(
                citem,
                format!("fraction {} is not in 0..=1", c.fraction),
            ));
        }
        let ok = if excretion {
            c.half_time_h >= 0.0 && !c.half_time_h.is_nan()
        } else {
            c.half_time_h > 0.0 && !c.half_time_h.is_nan()
        };
        if !ok {
            return Err(invalid(
                citem,
                format!(
                    "half-time {} h must be {} (or inf)",
                    c.half_time_h,
                    if excretion {
                        "non-negative"
                    } else {
                        "positive"
                    }
                ),
            ));
        }
        sum += c.fraction;
    }
    if (sum - 1.0).abs() > COMPONENT_SUM_TOLERANCE {
        return Err(invalid(
            item.to_string(),
            format!("component fractions add up to {sum}, not 1"),
        ));
    }
    Ok(())
}

/// ∫_0^T q(t) dt for one source region (per unit administered activity).
fn organ_tia_h(s: &SourceOrgan, lp: f64, t_end: f64) -> f64 {
    let mut total = 0.0;
    for c in &s.components {
        let lj = rate_per_h(c.half_time_h);
        let part = match s.uptake_half_time_h {
            None => e_integral(lj + lp, t_end),
            Some(tu) => {
                let lu = rate_per_h(tu);
                // λu/(λu-λj) [E(λj+λp) - E(λu+λp)] = λu · DD(λj+λp, λu+λp)
                lu * divided_difference(lj + lp, lu + lp, t_end)
            }
        };
        total += c.fraction * part;
    }
    s.fraction * total
}

/// ∫_0^T of the bladder contents (per unit administered activity).
fn bladder_tia_h(u: &UrinaryExcretion, lp: f64, t_end: f64) -> f64 {
    let t1 = u.voiding.first_void_h;
    let dt = u.voiding.interval_h;
    let mut total = 0.0;
    for c in &u.components {
        let amount = u.fraction * c.fraction;
        if amount == 0.0 {
            continue;
        }
        if c.half_time_h == 0.0 {
            // Immediate excretion: the contents decay until the first void.
            total += amount * e_integral(lp, t_end.min(t1));
            continue;
        }
        let mu = rate_per_h(c.half_time_h);
        if mu == 0.0 {
            continue; // infinite half-time: nothing is ever excreted
        }
        // One interval starting at T0 (contents empty) and lasting S contributes
        // amount · μ e^{-μ T0} · DD(λp, μ, S).
        let first = t_end.min(t1);
        let mut sum = divided_difference(lp, mu, first);
        if t_end > t1 {
            if t_end.is_infinite() {
                // Σ_{k>=0} e^{-μ (t1 + kΔ)} DD(λp, μ, Δ)
                let ratio = -(-mu * dt).exp_m1(); // 1 - e^{-μΔ}
                sum += (-mu * t1).exp() / ratio * divided_difference(lp, mu, dt);
            } else {
                let mut start = t1;
                while start < t_end {
                    let len = (t_end - start).min(dt);
                    sum += (-mu * start).exp() * divided_difference(lp, mu, len);
                    start += dt;
                }
            }
        }
        total += amount * mu * sum;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mono(region: &str, f: f64, t_h: f64) -> SourceOrgan {
        SourceOrgan {
            region: region.into(),
            fraction: f,
            uptake_half_time_h: None,
            components: vec![ExponentialComponent {
                fraction: 1.0,
                half_time_h: t_h,
            }],
            source: "test".into(),
        }
    }

    #[test]
    fn mono_exponential_closed_form() {
        let tp = 6.0;
        let tb = 2.0;
        let teff = tp * tb / (tp + tb);
        let m = BiokineticModel {
            sources: vec![mono("Liver", 0.3, tb)],
            urinary_bladder: None,
        };
        let r = m.time_integrated_activity("t", tp, None).unwrap();
        let expected = 0.3 * teff / std::f64::consts::LN_2;
        assert!((r[0].tia_h - expected).abs() < 1e-12 * expected);
    }

    #[test]
    fn uptake_and_retention_integral() {
        // Brute-force quadrature of q(t) for an uptake model.
        let s = SourceOrgan {
            uptake_half_time_h: Some(1.0),
            ..mono("Kidneys", 0.4, 10.0)
        };
        let lp = std::f64::consts::LN_2 / 6.0;
        let (lu, lj) = (std::f64::consts::LN_2, std::f64::consts::LN_2 / 10.0);
        let q =
            |t: f64| 0.4 * lu / (lu - lj) * ((-lj * t).exp() - (-lu * t).exp()) * (-lp * t).exp();
        let n = 400_000;
        let h = 200.0 / n as f64;
        let mut num = 0.5 * (q(0.0) + q(200.0));
        for i in 1..n {
            num += q(i as f64 * h);
        }
        num *= h;
        let a = organ_tia_h(&s, lp, 200.0);
        assert!((a - num).abs() < 1e-8, "{a} {num}");
    }
}
