//! MIRD organ doses: `D(t) = Σ_s ã_s S(t <- s)`.
//!
//! With the time-integrated activity coefficient `ã_s` in hours (MBq h per MBq) and
//! `S` in Gy per decay, one MBq administered gives `ã_s × 3.6e9` decays in `s`, so the
//! absorbed dose per unit administered activity is
//! `D(t) [mGy/MBq] = 3.6e12 Σ_s ã_s [h] S(t <- s) [Gy/decay]`.
//!
//! **Uncertainty.** Each S-matrix column comes from its own Monte Carlo run, so the columns
//! are independent; within a column, entries of different targets are treated as
//! independent too (a target's dose only uses its own row). Relative uncertainties of `S`
//! and absolute uncertainties of `ã` add in quadrature:
//! `σ_D² = (3.6e12)² Σ_s [(ã_s S_ts r_ts)² + (σ_ã,s S_ts)²]`.
//!
//! **"Other organs and tissues".** A biokinetic source `Other` (the whole body minus the
//! named source regions) uses the S-matrix column `Other` if there is one. Otherwise it is
//! built by the remainder correction (MIRD Pamphlet 11 / Cloutier et al. 1973) from a
//! `Total-body` column and the masses:
//! `S(t <- Other) = (M_TB S(t <- TB) - Σ_named M_s S(t <- s)) / (M_TB - Σ_named M_s)`,
//! where the sum runs over all other source regions of the biokinetic model. Its
//! uncertainty is propagated from the terms in quadrature. With poor statistics the
//! difference can come out slightly negative for distant targets; it is kept as computed
//! (clamping would bias the sum), and its uncertainty covers it.

use std::collections::HashMap;

use crate::biokinetics::SourceTia;
use crate::regions::{OTHER, TOTAL_BODY};
use crate::{input_error, Result};

/// Decays per MBq h.
pub const DECAYS_PER_MBQ_H: f64 = 3.6e9;

/// mGy/MBq per (h × Gy/decay): `3.6e9 decays/(MBq h) × 1e3 mGy/Gy`.
pub const MGY_PER_MBQ_PER_H_GY_PER_DECAY: f64 = DECAYS_PER_MBQ_H * 1e3;

/// An S matrix S(target <- source) in Gy per decay with relative uncertainties.
#[derive(Debug, Clone, PartialEq)]
pub struct SMatrix {
    targets: Vec<String>,
    sources: Vec<String>,
    /// Row-major `[target][source]`, Gy per decay.
    values_gy_per_decay: Vec<f64>,
    /// Row-major relative standard uncertainties (fractions).
    relative_uncertainty: Vec<f64>,
}

impl SMatrix {
    /// Build from row-major (`[target][source]`) values in Gy per decay and relative
    /// standard uncertainties (fractions). Names must be unique; values finite and
    /// non-negative; uncertainties finite and non-negative.
    pub fn new(
        targets: Vec<String>,
        sources: Vec<String>,
        values_gy_per_decay: Vec<f64>,
        relative_uncertainty: Vec<f64>,
    ) -> Result<Self> {
        let ctx = "S matrix";
        let n = targets.len() * sources.len();
        if values_gy_per_decay.len() != n || relative_uncertainty.len() != n {
            return Err(input_error(
                ctx,
                format!(
                    "{} targets x {} sources need {n} values and uncertainties, got {} and {}",
                    targets.len(),
                    sources.len(),
                    values_gy_per_decay.len(),
                    relative_uncertainty.len()
                ),
            ));
        }
        for (kind, names) in [("target", &targets), ("source", &sources)] {
            for (i, a) in names.iter().enumerate() {
                if names[..i].contains(a) {
                    return Err(input_error(ctx, format!("{kind} '{a}' is given twice")));
                }
            }
        }
        for (i, (&v, &r)) in values_gy_per_decay
            .iter()
            .zip(&relative_uncertainty)
            .enumerate()
        {
            let (t, s) = (&targets[i / sources.len()], &sources[i % sources.len()]);
            if !(v.is_finite() && v >= 0.0) {
                return Err(input_error(
                    ctx,
                    format!("S({t} <- {s}) = {v} Gy/decay is negative or not finite"),
                ));
            }
            if !(r.is_finite() && r >= 0.0) {
                return Err(input_error(
                    ctx,
                    format!(
                        "relative uncertainty of S({t} <- {s}) = {r} is negative or not finite"
                    ),
                ));
            }
        }
        Ok(SMatrix {
            targets,
            sources,
            values_gy_per_decay,
            relative_uncertainty,
        })
    }

    /// Target names (rows).
    pub fn targets(&self) -> &[String] {
        &self.targets
    }

    /// Source names (columns).
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// `(S in Gy/decay, relative uncertainty)` of one entry.
    pub fn get(&self, target: &str, source: &str) -> Option<(f64, f64)> {
        let t = self.targets.iter().position(|x| x == target)?;
        let s = self.sources.iter().position(|x| x == source)?;
        let i = t * self.sources.len() + s;
        Some((self.values_gy_per_decay[i], self.relative_uncertainty[i]))
    }

    fn column(&self, source: &str) -> Option<Vec<(f64, f64)>> {
        let s = self.sources.iter().position(|x| x == source)?;
        Some(
            (0..self.targets.len())
                .map(|t| {
                    let i = t * self.sources.len() + s;
                    (self.values_gy_per_decay[i], self.relative_uncertainty[i])
                })
                .collect(),
        )
    }

    /// The remainder-corrected column S(t <- Other) as `(Gy/decay, absolute standard
    /// uncertainty in Gy/decay)` per target, from the `Total-body` column, the columns of
    /// `named_sources` and the masses in kg of the whole body (`total_body_mass_kg`) and of
    /// each named source (`source_masses_kg`).
    pub fn remainder_column(
        &self,
        named_sources: &[&str],
        source_masses_kg: &HashMap<String, f64>,
        total_body_mass_kg: f64,
    ) -> Result<Vec<(f64, f64)>> {
        let ctx = "remainder correction for source 'Other'";
        let tb = self.column(TOTAL_BODY).ok_or_else(|| {
            input_error(
                ctx,
                format!("the S matrix has neither an '{OTHER}' nor a '{TOTAL_BODY}' source column"),
            )
        })?;
        if !(total_body_mass_kg.is_finite() && total_body_mass_kg > 0.0) {
            return Err(input_error(
                ctx,
                format!("total-body mass {total_body_mass_kg} kg must be positive"),
            ));
        }
        let mut value: Vec<f64> = tb.iter().map(|&(v, _)| total_body_mass_kg * v).collect();
        let mut var: Vec<f64> = tb
            .iter()
            .map(|&(v, r)| (total_body_mass_kg * v * r).powi(2))
            .collect();
        let mut named_mass = 0.0;
        for &s in named_sources {
            let m = *source_masses_kg.get(s).ok_or_else(|| {
                input_error(ctx, format!("no mass given for source region '{s}'"))
            })?;
            if !(m.is_finite() && m >= 0.0) {
                return Err(input_error(
                    ctx,
                    format!("mass {m} kg of source region '{s}' is negative or not finite"),
                ));
            }
            let col = self.column(s).ok_or_else(|| {
                input_error(ctx, format!("the S matrix has no source column '{s}'"))
            })?;
            for (t, &(v, r)) in col.iter().enumerate() {
                value[t] -= m * v;
                var[t] += (m * v * r).powi(2);
            }
            named_mass += m;
        }
        let m_other = total_body_mass_kg - named_mass;
        if m_other <= 0.0 {
            return Err(input_error(
                ctx,
                format!("the named source regions weigh {named_mass} kg, not less than the total body ({total_body_mass_kg} kg)"),
            ));
        }
        Ok(value
            .iter()
            .zip(&var)
            .map(|(&v, &s2)| (v / m_other, s2.sqrt() / m_other))
            .collect())
    }
}

/// Absorbed dose of one target per unit administered activity.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganDose {
    /// Target region name.
    pub target: String,
    /// Absorbed dose per unit administered activity, mGy/MBq.
    pub dose_mgy_per_mbq: f64,
    /// Its standard uncertainty, mGy/MBq.
    pub uncertainty_mgy_per_mbq: f64,
}

/// Masses needed by the remainder correction.
#[derive(Debug, Clone, PartialEq)]
pub struct RemainderMasses {
    /// Whole-body mass of the phantom, kg.
    pub total_body_kg: f64,
    /// Mass of every named source region of the model, kg.
    pub sources_kg: HashMap<String, f64>,
}

/// Absorbed dose per unit administered activity (mGy/MBq) of every target of `s`, for
/// time-integrated activity coefficients `tia` (hours). A source `Other` uses the column
/// `Other` if present, otherwise the remainder correction with `masses` (then required).
/// Every other source must have an S-matrix column.
pub fn organ_doses(
    s: &SMatrix,
    tia: &[SourceTia],
    masses: Option<&RemainderMasses>,
) -> Result<Vec<OrganDose>> {
    let ctx = "MIRD organ doses";
    for (i, a) in tia.iter().enumerate() {
        if !(a.tia_h.is_finite()
            && a.tia_h >= 0.0
            && a.uncertainty_h.is_finite()
            && a.uncertainty_h >= 0.0)
        {
            return Err(input_error(
                ctx,
                format!(
                    "time-integrated activity of '{}' ({} h +/- {} h) is negative or not finite",
                    a.region, a.tia_h, a.uncertainty_h
                ),
            ));
        }
        if tia[..i].iter().any(|b| b.region == a.region) {
            return Err(input_error(
                ctx,
                format!("source region '{}' is given twice", a.region),
            ));
        }
    }
    let nt = s.targets.len();
    let mut dose = vec![0.0; nt];
    let mut var = vec![0.0; nt];
    for a in tia {
        // Column as (value, absolute uncertainty).
        let col: Vec<(f64, f64)> = match s.column(&a.region) {
            Some(c) => c.into_iter().map(|(v, r)| (v, v * r)).collect(),
            None if a.region == OTHER => {
                let m = masses.ok_or_else(|| {
                    input_error(ctx, format!("source '{OTHER}' has no S-matrix column and no masses were given for the remainder correction"))
                })?;
                let named: Vec<&str> = tia
                    .iter()
                    .filter(|b| b.region != OTHER)
                    .map(|b| b.region.as_str())
                    .collect();
                s.remainder_column(&named, &m.sources_kg, m.total_body_kg)?
            }
            None => {
                return Err(input_error(
                    ctx,
                    format!("the S matrix has no source column '{}'", a.region),
                ))
            }
        };
        for (t, &(v, sv)) in col.iter().enumerate() {
            dose[t] += a.tia_h * v;
            var[t] += (a.tia_h * sv).powi(2) + (a.uncertainty_h * v).powi(2);
        }
    }
    Ok(s.targets
        .iter()
        .enumerate()
        .map(|(t, name)| OrganDose {
            target: name.clone(),
            dose_mgy_per_mbq: MGY_PER_MBQ_PER_H_GY_PER_DECAY * dose[t],
            uncertainty_mgy_per_mbq: MGY_PER_MBQ_PER_H_GY_PER_DECAY * var[t].sqrt(),
        })
        .collect())
}
