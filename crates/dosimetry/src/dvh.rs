//! Mass-weighted cumulative dose-volume histograms.
//!
//! For an organ made of voxels with doses `d_i` and masses `m_i`, the cumulative DVH is
//! `V(D) = Σ_{d_i >= D} m_i / Σ m_i`: the mass fraction receiving at least `D`.
//!
//! `D_x` (e.g. D2, D50, D98) is the dose received by at least `x` % of the mass: sort the
//! voxels by decreasing dose and accumulate their mass fractions; `D_x` is the dose of the
//! voxel at which the accumulated fraction first reaches `x / 100`. (No interpolation
//! between voxels: `D_x` is always a dose some voxel has.) D_mean is the mass-weighted
//! mean, D_min and D_max the extremes over voxels with positive mass.
//!
//! Doses may be in any unit (Gy, mGy, mGy/MBq); the results are in the same unit.

use crate::{input_error, Result};

/// A cumulative DVH and its summary values (in the unit of the input doses).
#[derive(Debug, Clone, PartialEq)]
pub struct DoseVolumeHistogram {
    /// Distinct doses, increasing.
    pub doses: Vec<f64>,
    /// Mass fraction receiving at least the dose of the same index (from 1 down).
    pub fraction_at_least: Vec<f64>,
    /// Total mass of the organ, in the unit of the input masses.
    pub total_mass: f64,
    /// Mass-weighted mean dose.
    pub d_mean: f64,
    /// Minimum dose.
    pub d_min: f64,
    /// Maximum dose.
    pub d_max: f64,
    /// Median dose D50.
    pub d50: f64,
    /// Near-maximum dose D2.
    pub d2: f64,
    /// Near-minimum dose D98.
    pub d98: f64,
}

impl DoseVolumeHistogram {
    /// Mass fraction receiving at least `dose` (1 at or below D_min, 0 above D_max).
    pub fn fraction_at_least_dose(&self, dose: f64) -> f64 {
        // First index with doses[i] >= dose.
        let i = self.doses.partition_point(|&d| d < dose);
        if i == self.doses.len() {
            0.0
        } else {
            self.fraction_at_least[i]
        }
    }

    /// `D_x`: the dose received by at least `percent` % of the mass (0 < percent <= 100).
    pub fn dose_at_percent(&self, percent: f64) -> Result<f64> {
        if !(percent > 0.0 && percent <= 100.0) {
            return Err(input_error(
                "dose-volume histogram",
                format!("percentage {percent} is not in (0, 100]"),
            ));
        }
        let target = percent / 100.0;
        // fraction_at_least decreases with the index; find the largest dose whose
        // fraction is still >= target (with a rounding margin).
        let eps = 1e-12;
        let i = self
            .fraction_at_least
            .partition_point(|&f| f >= target - eps);
        Ok(self.doses[i.saturating_sub(1)])
    }
}

/// The cumulative DVH of an organ from the doses and masses of its voxels (same length;
/// doses finite and non-negative, masses finite and non-negative with a positive sum).
/// Voxels of zero mass are ignored. `label` (the organ) is used in errors.
pub fn cumulative_dvh(label: &str, doses: &[f64], masses: &[f64]) -> Result<DoseVolumeHistogram> {
    let ctx = format!("dose-volume histogram of '{label}'");
    if doses.len() != masses.len() {
        return Err(input_error(
            ctx,
            format!("{} doses for {} masses", doses.len(), masses.len()),
        ));
    }
    let mut v: Vec<(f64, f64)> = Vec::with_capacity(doses.len());
    for (i, (&d, &m)) in doses.iter().zip(masses).enumerate() {
        if !(d.is_finite() && d >= 0.0) {
            return Err(input_error(
                ctx,
                format!("dose {d} of voxel {i} is negative or not finite"),
            ));
        }
        if !(m.is_finite() && m >= 0.0) {
            return Err(input_error(
                ctx,
                format!("mass {m} of voxel {i} is negative or not finite"),
            ));
        }
        if m > 0.0 {
            v.push((d, m));
        }
    }
    let total: f64 = v.iter().map(|x| x.1).sum();
    if v.is_empty() || total <= 0.0 {
        return Err(input_error(
            ctx,
            "the organ has no voxel with positive mass",
        ));
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let d_mean = v.iter().map(|(d, m)| d * m).sum::<f64>() / total;
    // Distinct doses increasing; fraction at least = mass at or above / total.
    let mut doses_out = Vec::new();
    let mut frac = Vec::new();
    let mut above = total;
    let mut i = 0;
    while i < v.len() {
        let d = v[i].0;
        doses_out.push(d);
        frac.push((above / total).min(1.0));
        while i < v.len() && v[i].0 == d {
            above -= v[i].1;
            i += 1;
        }
    }
    let mut h = DoseVolumeHistogram {
        d_min: v[0].0,
        d_max: v[v.len() - 1].0,
        doses: doses_out,
        fraction_at_least: frac,
        total_mass: total,
        d_mean,
        d50: 0.0,
        d2: 0.0,
        d98: 0.0,
    };
    h.d50 = h.dose_at_percent(50.0)?;
    h.d2 = h.dose_at_percent(2.0)?;
    h.d98 = h.dose_at_percent(98.0)?;
    Ok(h)
}
