//! # pedisim-transport
//!
//! The Monte Carlo kernel: it transports the particles of a [`source::Source`] through a
//! [`model::VoxelModel`] with the physics of `pedisim-physics` and scores the energy they
//! deposit in a [`tally::EnergyTally`]. It knows nothing of files, configuration or MPI.
//!
//! - Photons are tracked by Woodcock (delta) tracking with an energy-dependent majorant
//!   over the media present ([`kernel`]), so a photon never walks voxel by voxel.
//! - Electrons and positrons set in motion go through a [`kernel::ChargedParticleModel`]:
//!   either local deposition where they are created (positrons then annihilate at rest
//!   into two 511 keV photons), or class II condensed-history transport ([`electron`]).
//! - One history is one source event (a decay, or one source photon). Its random stream is
//!   keyed by (seed, global history index), histories are grouped in batches for the
//!   uncertainty, and the voxel tally is a fixed-point integer accumulator, so results are
//!   bit-identical for any number of threads.
//!
//! ```
//! use pedisim_physics::{material::MaterialDb, photon::PhotonTables};
//! use pedisim_phantom::builtin::box_phantom;
//! use pedisim_transport::{kernel::{Simulation, Settings}, model::VoxelModel, source::{Source, Spatial, Spectrum}};
//! use pedisim_core::Vec3;
//! let db = MaterialDb::builtin().unwrap();
//! let ph = box_phantom("water", [100.0; 3], [5.0; 3], |m| db.get(m).ok().map(|m| m.density_g_cm3)).unwrap();
//! let mats: Vec<_> = ph.materials.iter().map(|m| db.get(m).unwrap().clone()).collect();
//! let tables = PhotonTables::new(&mats).unwrap();
//! let model = VoxelModel::new(&ph).unwrap();
//! let centre = Vec3::from_array(ph.grid.extent_mm()) * 0.5;
//! let src = Source::new(Spatial::Point { position_mm: centre }, Spectrum::Mono { energy_mev: 0.1405 });
//! let sim = Simulation::new(&model, &tables, &src, Settings::default());
//! let run = sim.run(7, 10, 200, &Default::default()).unwrap();
//! let c = &run.counters;
//! assert!((c.emitted_mev - c.deposited_mev - c.escaped_mev).abs() < 1e-9 * c.emitted_mev);
//! ```
#![deny(missing_docs)]

pub mod electron;
pub mod kernel;
pub mod model;
pub mod source;
pub mod tally;

/// Errors of the transport crate.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The phantom cannot be turned into a transport model.
    #[error("{0}")]
    Model(String),
    /// The source is inconsistent with the phantom.
    #[error("source: {0}")]
    Source(String),
    /// The run was cancelled (Ctrl-C, SIGTERM) before it finished.
    #[error("the run was cancelled before it finished")]
    Cancelled,
    /// Bad run parameters.
    #[error("{0}")]
    Parameters(String),
}
