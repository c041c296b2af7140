//! # pedisim-core
//!
//! The small vocabulary every other pedisim crate shares:
//!
//! - [`Vec3`]: a 3-vector of `f64` used for positions (millimetres) and unit directions;
//! - [`GridGeometry`]: the voxel-grid convention (index `ix + nx*(iy + ny*iz)`, x fastest),
//!   the mapping between the grid frame and the world frame (millimetres);
//! - [`rng`]: random streams that are a pure function of `(seed, domain, index)`, so that a
//!   history draws the same numbers whatever thread or MPI rank runs it;
//! - [`constants`]: physical constants (CODATA 2018) with their units in their names.
//!
//! ```
//! use pedisim_core::{GridGeometry, rng::StreamRng};
//! let g = GridGeometry::centred([10, 10, 10], [2.0, 2.0, 2.0]).unwrap();
//! assert_eq!(g.index(1, 0, 0), 1);
//! assert_eq!(g.index(0, 1, 0), 10);
//! let mut r = StreamRng::new(42, 0, 7);
//! let u = r.uniform();
//! assert!((0.0..1.0).contains(&u));
//! ```
#![deny(missing_docs)]

pub mod alias;
pub mod constants;
pub mod fastmath;
pub mod grid;
pub mod mem;
pub mod rng;
pub mod vec3;

pub use alias::{AliasError, AliasTable};
pub use grid::{GridError, GridGeometry};
pub use vec3::Vec3;

/// The version of pedisim (the workspace version), written into every output file.
pub const PEDISIM_VERSION: &str = env!("CARGO_PKG_VERSION");
