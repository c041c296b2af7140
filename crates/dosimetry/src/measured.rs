//! Time-integrated activity from measured activities (organ totals or voxel values) at a
//! few time points, e.g. the 4 SPECT/CT time points of a therapy study.
//!
//! The integral from administration to infinity is split in three parts:
//!
//! 1. **0 .. t1** (before the first measurement), by [`InitialSegment`]:
//!    [`InitialSegment::LinearFromZero`] assumes the activity rose linearly from 0 at
//!    administration to A1 at t1 (area `A1 t1 / 2`; organs that take the tracer up);
//!    [`InitialSegment::ConstantFromFirst`] assumes A1 held from administration (area
//!    `A1 t1`; regions that are full at once, e.g. blood). Both are approximations; put the
//!    first measurement early to keep this part small.
//! 2. **t1 .. tn**, the trapezoidal rule on the measured points. For a decreasing convex
//!    curve (an exponential) it overestimates; for an exponential sampled at `t_i` the
//!    error of one interval is `h (A_i + A_{i+1}) / 2 - (A_i - A_{i+1}) / λ`.
//! 3. **tn .. infinity**, the tail, by [`TailModel`]: [`TailModel::PhysicalDecay`]
//!    (`An / λp`: no biological removal after the last point, an upper bound), or
//!    [`TailModel::FittedMonoExponential`]: a least-squares straight line through
//!    `ln A` of the last `points` measurements gives `λeff`; the tail is `An / λeff` (from
//!    the last *measured* value, so the curve is continuous). A fit whose effective
//!    half-life is longer than the physical one (`λeff < λp`, biologically impossible,
//!    e.g. noise or late uptake) falls back to physical decay. A fit that cannot be made
//!    (a non-positive activity among the points used) is an error or falls back, by
//!    [`FitFailure`].

use crate::{DosimetryError, Result};

/// Assumption for the interval from administration to the first measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialSegment {
    /// Linear rise from 0 at administration to the first measured activity.
    LinearFromZero,
    /// The first measured activity held constant back to administration.
    ConstantFromFirst,
}

/// Model of the activity after the last measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailModel {
    /// Physical decay only from the last measured activity.
    PhysicalDecay,
    /// Mono-exponential fitted to `ln A` of the last `points` measurements (2 or more).
    FittedMonoExponential {
        /// Number of final time points used by the fit (>= 2).
        points: usize,
    },
}

/// What to do when the tail fit cannot be made (a non-positive activity among the fitted
/// points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitFailure {
    /// Report [`DosimetryError::TailFit`].
    Error,
    /// Use physical decay for the tail (and count it, for voxel series).
    PhysicalDecay,
}

/// Options of the integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegrationOptions {
    /// Assumption before the first time point.
    pub initial: InitialSegment,
    /// Tail after the last time point.
    pub tail: TailModel,
    /// Handling of a failed tail fit.
    pub on_fit_failure: FitFailure,
}

impl Default for IntegrationOptions {
    /// Linear rise from 0, fitted mono-exponential tail over the last 2 points, failure
    /// is an error.
    fn default() -> Self {
        IntegrationOptions {
            initial: InitialSegment::LinearFromZero,
            tail: TailModel::FittedMonoExponential { points: 2 },
            on_fit_failure: FitFailure::Error,
        }
    }
}

/// Which tail was used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TailUsed {
    /// Physical decay, as asked.
    Physical,
    /// The fitted mono-exponential.
    Fitted,
    /// Physical decay because the fitted effective half-life was longer than the physical.
    PhysicalBecauseFitTooSlow,
    /// Physical decay because the fit could not be made ([`FitFailure::PhysicalDecay`]).
    PhysicalBecauseFitFailed,
}

/// The integral of one time-activity series.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeActivityIntegral {
    /// Total time-integrated activity in MBq h (divide by the administered activity in
    /// MBq for the coefficient in hours).
    pub tia_mbq_h: f64,
    /// Part from administration to the first time point, MBq h.
    pub initial_mbq_h: f64,
    /// Trapezoidal part between the first and last time points, MBq h.
    pub trapezoid_mbq_h: f64,
    /// Tail after the last time point, MBq h.
    pub tail_mbq_h: f64,
    /// Effective half-life used for the tail, hours.
    pub tail_half_life_h: f64,
    /// Which tail was used.
    pub tail_used: TailUsed,
}

fn check_times(label: &str, times_h: &[f64]) -> Result<()> {
    if times_h.is_empty() {
        return Err(crate::input_error(label, "no time point"));
    }
    for (i, &t) in times_h.iter().enumerate() {
        let bad = |m: &str| DosimetryError::TimePoints {
            label: label.to_string(),
            index: i,
            time_h: t,
            message: m.to_string(),
        };
        if !t.is_finite() {
            return Err(bad("is not finite"));
        }
        if i == 0 && t <= 0.0 {
            return Err(bad("must be after administration (> 0 h)"));
        }
        if i > 0 && t <= times_h[i - 1] {
            return Err(bad(&format!(
                "is not after the previous time point ({} h): time points must be strictly increasing",
                times_h[i - 1]
            )));
        }
    }
    Ok(())
}

fn check_half_life(label: &str, physical_half_life_h: f64) -> Result<f64> {
    if physical_half_life_h.is_finite() && physical_half_life_h > 0.0 {
        Ok(std::f64::consts::LN_2 / physical_half_life_h)
    } else {
        Err(crate::input_error(
            label,
            format!("physical half-life {physical_half_life_h} h must be positive and finite"),
        ))
    }
}

fn check_options(label: &str, n: usize, opts: &IntegrationOptions) -> Result<()> {
    if let TailModel::FittedMonoExponential { points } = opts.tail {
        if points < 2 || points > n {
            return Err(crate::input_error(
                label,
                format!("the tail fit needs between 2 and {n} points (the number of time points), not {points}"),
            ));
        }
    }
    Ok(())
}

/// Integrate one organ's (or region's) measured activities `activities_mbq` at
/// `times_h` (hours after administration, strictly increasing, first > 0) for a
/// radionuclide of physical half-life `physical_half_life_h`. `label` (the organ) is used
/// in errors.
pub fn integrate_time_activity(
    label: &str,
    times_h: &[f64],
    activities_mbq: &[f64],
    physical_half_life_h: f64,
    opts: &IntegrationOptions,
) -> Result<TimeActivityIntegral> {
    check_times(label, times_h)?;
    let lp = check_half_life(label, physical_half_life_h)?;
    if activities_mbq.len() != times_h.len() {
        return Err(crate::input_error(
            label,
            format!(
                "{} activities for {} time points",
                activities_mbq.len(),
                times_h.len()
            ),
        ));
    }
    check_options(label, times_h.len(), opts)?;
    for (i, &a) in activities_mbq.iter().enumerate() {
        if !(a.is_finite() && a >= 0.0) {
            return Err(DosimetryError::NegativeActivity {
                label: label.to_string(),
                index: i,
                time_h: times_h[i],
                activity_mbq: a,
            });
        }
    }
    integrate_checked(label, times_h, activities_mbq, lp, opts)
}

fn integrate_checked(
    label: &str,
    t: &[f64],
    a: &[f64],
    lp: f64,
    opts: &IntegrationOptions,
) -> Result<TimeActivityIntegral> {
    let initial = match opts.initial {
        InitialSegment::LinearFromZero => 0.5 * a[0] * t[0],
        InitialSegment::ConstantFromFirst => a[0] * t[0],
    };
    let mut trapezoid = 0.0;
    for i in 1..t.len() {
        trapezoid += 0.5 * (a[i] + a[i - 1]) * (t[i] - t[i - 1]);
    }
    let last = a[a.len() - 1];
    let (lambda, used) = match opts.tail {
        TailModel::PhysicalDecay => (lp, TailUsed::Physical),
        TailModel::FittedMonoExponential { points } => {
            match fit_rate(&t[t.len() - points..], &a[a.len() - points..]) {
                Ok(l) if l >= lp => (l, TailUsed::Fitted),
                Ok(_) => (lp, TailUsed::PhysicalBecauseFitTooSlow),
                Err(message) => match opts.on_fit_failure {
                    FitFailure::Error => {
                        return Err(DosimetryError::TailFit {
                            label: label.to_string(),
                            points,
                            message,
                        })
                    }
                    FitFailure::PhysicalDecay => (lp, TailUsed::PhysicalBecauseFitFailed),
                },
            }
        }
    };
    let tail = last / lambda;
    Ok(TimeActivityIntegral {
        tia_mbq_h: initial + trapezoid + tail,
        initial_mbq_h: initial,
        trapezoid_mbq_h: trapezoid,
        tail_mbq_h: tail,
        tail_half_life_h: std::f64::consts::LN_2 / lambda,
        tail_used: used,
    })
}

/// Least-squares slope of ln a against t, returned as a decay rate (1/h, may be <= 0).
fn fit_rate(t: &[f64], a: &[f64]) -> std::result::Result<f64, String> {
    if let Some((i, v)) = a.iter().enumerate().find(|(_, &v)| v <= 0.0) {
        return Err(format!(
            "activity {v} MBq at {} h (fitted point {}) is not positive, so ln A is undefined",
            t[i],
            i + 1
        ));
    }
    let n = t.len() as f64;
    let tm = t.iter().sum::<f64>() / n;
    let y: Vec<f64> = a.iter().map(|v| v.ln()).collect();
    let ym = y.iter().sum::<f64>() / n;
    let mut sxy = 0.0;
    let mut sxx = 0.0;
    for i in 0..t.len() {
        sxy += (t[i] - tm) * (y[i] - ym);
        sxx += (t[i] - tm) * (t[i] - tm);
    }
    let slope = sxy / sxx;
    if slope.is_finite() {
        Ok(-slope)
    } else {
        Err("the fitted slope is not finite".into())
    }
}

/// Result of integrating voxel time series.
#[derive(Debug, Clone, PartialEq)]
pub struct VoxelIntegral {
    /// Time-integrated activity of each voxel, MBq h.
    pub tia_mbq_h: Vec<f64>,
    /// Number of voxels whose tail fit failed and used physical decay instead.
    pub fit_failures: usize,
    /// Number of voxels whose fitted effective half-life exceeded the physical one.
    pub fits_too_slow: usize,
}

/// Integrate co-registered activity maps: `frames_mbq[k][v]` is the activity of voxel `v`
/// at `times_h[k]` (all frames the same length). Each voxel is integrated as
/// [`integrate_time_activity`] does; errors name the voxel index and time point.
pub fn integrate_voxel_series(
    times_h: &[f64],
    frames_mbq: &[&[f64]],
    physical_half_life_h: f64,
    opts: &IntegrationOptions,
) -> Result<VoxelIntegral> {
    let label = "voxel activity series";
    check_times(label, times_h)?;
    let lp = check_half_life(label, physical_half_life_h)?;
    if frames_mbq.len() != times_h.len() {
        return Err(crate::input_error(
            label,
            format!(
                "{} frames for {} time points",
                frames_mbq.len(),
                times_h.len()
            ),
        ));
    }
    check_options(label, times_h.len(), opts)?;
    let nvox = frames_mbq[0].len();
    for (k, f) in frames_mbq.iter().enumerate() {
        if f.len() != nvox {
            return Err(crate::input_error(
                label,
                format!(
                    "frame {k} ({} h) has {} voxels, frame 0 has {nvox}",
                    times_h[k],
                    f.len()
                ),
            ));
        }
    }
    let mut out = VoxelIntegral {
        tia_mbq_h: Vec::with_capacity(nvox),
        fit_failures: 0,
        fits_too_slow: 0,
    };
    let mut series = vec![0.0; times_h.len()];
    for v in 0..nvox {
        for (k, f) in frames_mbq.iter().enumerate() {
            let a = f[v];
            if !(a.is_finite() && a >= 0.0) {
                return Err(DosimetryError::NegativeActivity {
                    label: format!("voxel {v}"),
                    index: k,
                    time_h: times_h[k],
                    activity_mbq: a,
                });
            }
            series[k] = a;
        }
        let r = integrate_checked(&format!("voxel {v}"), times_h, &series, lp, opts)?;
        match r.tail_used {
            TailUsed::PhysicalBecauseFitFailed => out.fit_failures += 1,
            TailUsed::PhysicalBecauseFitTooSlow => out.fits_too_slow += 1,
            _ => {}
        }
        out.tia_mbq_h.push(r.tia_mbq_h);
    }
    Ok(out)
}
