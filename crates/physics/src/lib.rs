//! # pedisim-physics
//!
//! The physics data and interaction models of pedisim's Monte Carlo kernel, independent of
//! geometry, files and configuration:
//!
//! - [`elements`]: NIST XCOM photon cross sections per element (Z = 1..100), interpolated
//!   log-log and never across an absorption edge;
//! - [`scattering`]: EPDL97 incoherent scattering functions S(x, Z) and atomic form factors
//!   F(x, Z);
//! - [`material`]: materials as mass fractions of elements, from `data/materials.toml`
//!   (ICRU-44 / ICRP-110 tissues) plus user additions;
//! - [`photon`]: per-material tables on a fine logarithmic energy grid and the samplers of
//!   Compton (Klein-Nishina x S), Rayleigh (Thomson x F^2), photoelectric and pair events;
//! - [`electron`]: electron and positron stopping powers (Bethe with the Sternheimer density
//!   effect), ranges, Moller/Bhabha, bremsstrahlung, annihilation and Wentzel elastic models
//!   for condensed-history transport;
//! - [`nuclide`]: ICRP Publication 107 emission data and a per-decay emission sampler.
//!
//! All tables are compiled into the library from the repository's `data/` folder, so the
//! program runs offline and independently of its working directory.
//!
//! ```
//! use pedisim_physics::material::MaterialDb;
//! use pedisim_physics::photon::PhotonTables;
//! let db = MaterialDb::builtin().unwrap();
//! let water = db.get("water").unwrap();
//! let tables = PhotonTables::new(&[water.clone()]).unwrap();
//! // NIST XCOM: mu/rho of water at 100 keV is 0.1707 cm2/g.
//! let mu = tables.mass_attenuation_cm2_g(0, 0.1);
//! assert!((mu - 0.1707).abs() < 0.0005);
//! ```
#![deny(missing_docs)]

pub mod electron;
pub mod elements;
pub mod error;
pub mod material;
pub mod nuclide;
pub mod photon;
pub mod scattering;

pub use error::PhysicsError;
