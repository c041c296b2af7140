//! Organ-level dosimetry mathematics for pedisim.
//!
//! This crate knows nothing of Monte Carlo transport, files other than its own embedded
//! data, or the driver's configuration. It turns
//!
//! * a **biokinetic model** ([`biokinetics::BiokineticModel`], read from the embedded
//!   library [`library::Library::builtin`] or from a user file in the same format) into
//!   time-integrated activity coefficients per source region, in hours
//!   (MBq h per MBq administered), analytically;
//! * **measured activities** at a few time points (organ totals or voxel values) into
//!   time-integrated activities by the trapezoidal rule plus a tail ([`measured`]);
//! * an **S matrix** S(target <- source) in Gy per decay and the time-integrated activity
//!   coefficients into **absorbed doses per unit administered activity** in mGy/MBq with
//!   propagated uncertainty ([`mird`]);
//! * target-region doses of a male and a female phantom into the sex-averaged **effective
//!   dose** of ICRP Publication 103 in mSv/MBq ([`effective`]);
//! * voxel doses and masses of an organ into a mass-weighted cumulative **dose-volume
//!   histogram** with D_mean, D_min, D_max, D50, D2 and D98 ([`dvh`]).
//!
//! Region names are the ICRP Publication 133/155 source-region names
//! ([`regions::ICRP155_SOURCE_REGIONS`], e.g. `"Liver"`, `"UB-cont"`, `"R-marrow"`), plus
//! [`regions::OTHER`] for "other organs and tissues" (the whole body minus the named source
//! regions of a model) and [`regions::TOTAL_BODY`] for an S-matrix column of activity spread
//! uniformly over the whole body.
//!
//! Units are in the names: `_h` hours, `_mbq` megabecquerel, `_mbq_h` MBq h,
//! `_gy_per_decay` Gy per nuclear transformation, `_mgy_per_mbq` mGy per MBq administered,
//! `_msv_per_mbq` mSv per MBq administered, `_kg` kilograms. Uncertainties are one standard
//! deviation; "relative" ones are fractions (0.01 = 1 %).
//!
//! The method and its assumptions are described in the crate's `README.md`.

pub mod biokinetics;
pub mod dvh;
pub mod effective;
pub mod library;
pub mod measured;
pub mod mird;
pub mod regions;

mod math;

pub use biokinetics::{BiokineticModel, SourceTia};
pub use library::{Library, Radiopharmaceutical};

/// Every error this crate reports. Each names the radiopharmaceutical, organ, region,
/// tissue or time point concerned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DosimetryError {
    /// The fractional uptakes of a biokinetic model add up to more than 1.
    #[error("radiopharmaceutical '{radiopharmaceutical}': the fractional uptakes of the source regions add up to {sum}, more than 1")]
    FractionsExceedOne {
        /// Radiopharmaceutical (or model) name.
        radiopharmaceutical: String,
        /// The sum of the fractions.
        sum: f64,
    },
    /// A number of a biokinetic model is out of its range.
    #[error("radiopharmaceutical '{radiopharmaceutical}', {item}: {message}")]
    InvalidModel {
        /// Radiopharmaceutical (or model) name.
        radiopharmaceutical: String,
        /// Where in the model (source region, component, bladder).
        item: String,
        /// What is wrong.
        message: String,
    },
    /// A region name that is neither an ICRP 155 source region nor `Other`.
    #[error("radiopharmaceutical '{radiopharmaceutical}': unknown source region '{region}' (use the ICRP 133/155 source-region names, e.g. 'Liver', 'UB-cont', or 'Other')")]
    UnknownRegion {
        /// Radiopharmaceutical (or model) name.
        radiopharmaceutical: String,
        /// The unknown name.
        region: String,
    },
    /// The library has no entry of that name.
    #[error("no radiopharmaceutical '{name}' in the library (known: {known})")]
    UnknownRadiopharmaceutical {
        /// The name asked for.
        name: String,
        /// The names the library has, comma-separated.
        known: String,
    },
    /// The library entry has no biokinetic model.
    #[error("radiopharmaceutical '{radiopharmaceutical}' has no biokinetic model in the library: {reason}; give a model file in the same format, or measured activities")]
    ModelUnavailable {
        /// Radiopharmaceutical name.
        radiopharmaceutical: String,
        /// Why (from the library's `missing` note).
        reason: String,
    },
    /// A library or model file could not be parsed.
    #[error("{origin}: {message}")]
    Parse {
        /// The file (or "built-in library").
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// Measured time points are not strictly increasing, or are negative or not finite.
    #[error("{label}: time point {index} ({time_h} h) {message}")]
    TimePoints {
        /// The organ, voxel or series.
        label: String,
        /// Index of the offending time point (0-based).
        index: usize,
        /// Its time in hours.
        time_h: f64,
        /// What is wrong.
        message: String,
    },
    /// A measured activity is negative or not finite.
    #[error("{label}: activity {activity_mbq} MBq at time point {index} ({time_h} h) is negative or not finite")]
    NegativeActivity {
        /// The organ, voxel or series.
        label: String,
        /// Index of the time point (0-based).
        index: usize,
        /// Its time in hours.
        time_h: f64,
        /// The offending value.
        activity_mbq: f64,
    },
    /// The mono-exponential tail fit could not be made.
    #[error("{label}: the mono-exponential tail fit over the last {points} time points failed: {message}")]
    TailFit {
        /// The organ, voxel or series.
        label: String,
        /// Number of points used.
        points: usize,
        /// Why.
        message: String,
    },
    /// Inconsistent or invalid input to a calculation (lengths, missing S-matrix columns,
    /// masses, doses).
    #[error("{context}: {message}")]
    Input {
        /// What was being computed, and for which item.
        context: String,
        /// What is wrong.
        message: String,
    },
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, DosimetryError>;

pub(crate) fn input_error(
    context: impl Into<String>,
    message: impl Into<String>,
) -> DosimetryError {
    DosimetryError::Input {
        context: context.into(),
        message: message.into(),
    }
}
