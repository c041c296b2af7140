//! Errors of the physics crate.

use thiserror::Error;

/// An error in physics data or in a physics request.
#[derive(Debug, Error)]
pub enum PhysicsError {
    /// A compiled-in data table could not be parsed (a corrupt `data/` file at build time).
    #[error("physics data file {file}: {message}")]
    Data {
        /// The data file, relative to the repository's `data/`.
        file: String,
        /// What was wrong.
        message: String,
    },
    /// A material name that is not defined.
    #[error("unknown material '{name}': expected one of {known}")]
    UnknownMaterial {
        /// The name asked for.
        name: String,
        /// The defined names, comma-separated.
        known: String,
    },
    /// A material definition that is invalid.
    #[error("material '{name}': {message}")]
    BadMaterial {
        /// The material.
        name: String,
        /// What was wrong.
        message: String,
    },
    /// A nuclide without emission data.
    #[error("unknown nuclide '{name}': no ICRP-107 emission data in data/nuclides/icrp107.toml; expected one of {known}")]
    UnknownNuclide {
        /// The name asked for.
        name: String,
        /// The nuclides with data, comma-separated.
        known: String,
    },
    /// An energy outside the range of the tables.
    #[error(
        "photon energy {energy_mev} MeV is outside the supported range {min_mev}..{max_mev} MeV"
    )]
    EnergyOutOfRange {
        /// The energy asked for \[MeV\].
        energy_mev: f64,
        /// Lowest supported energy \[MeV\].
        min_mev: f64,
        /// Highest supported energy \[MeV\].
        max_mev: f64,
    },
}

pub(crate) fn data_err(file: &str, message: impl Into<String>) -> PhysicsError {
    PhysicsError::Data {
        file: file.to_string(),
        message: message.into(),
    }
}
