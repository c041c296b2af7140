//! pedisim's stylised phantom family (ORNL-type bodies of quadric solids).
//!
//! A stylised body is a list of *regions* (body parts, organs, bone tissues), each a solid
//! made of quadric primitives (ellipsoids, elliptic cylinders, truncated elliptic cones,
//! tori, boxes, half-spaces, with cutting planes and azimuthal wedges) combined by union,
//! subtraction and intersection ([`geometry`]). Bodies are described in TOML files in the
//! format `pedisim-stylised/1` (`data/phantoms/README.md`); the built-in base body
//! ([`ORNL_15Y_TOML`], [`ornl_15y`]) is compiled into the crate, so it needs no file at run
//! time. [`voxelise::voxelise`] turns a body into a [`crate::Phantom`] at any voxel size
//! with sub-voxel sampling, and [`voxelise::mass_report`] lists each region's mass.
//!
//! **Ages and sexes.** [`ages::paediatric_body`] builds the body for any age from newborn
//! to adult and either sex, optionally personalised (height, weight, torso measures), from
//! the family's base body ([`ages::BASE_TOML`]), with every organ at its ICRP 89 reference
//! mass; [`ages::regions_by_reference`] maps the ICRP 155 region names (the organ
//! vocabulary of the dosimetry code) to voxel labels. See `docs/phantoms.md`.
//!
//! **Frame.** The world frame of a stylised body is the ORNL/MIRD phantom frame, in
//! millimetres: **+x towards the phantom's left, +y towards its back (posterior), +z up
//! (cranial)**, origin at the centre of the base of the trunk (the top of the legs). This
//! is the DICOM patient frame (LPS). Description files give lengths in centimetres, as the
//! ORNL reports do.
//!
//! **Precedence.** Regions overlap: organs lie inside the trunk, bone tissues inside
//! bones. A point belongs to the *last* region, in file order, whose solid holds it; so the
//! trunk comes first, organs after it, and spongiosa after the cortical bone that encloses
//! it.
//!
//! **Labels.** Region `i` (1-based position in the file) has label `i` in voxelised
//! phantoms, for both sexes (regions of the other sex are left out, their labels unused);
//! label 0 is outside the body.
//!
//! This is pedisim's own family, not the ORNL phantoms: organ shapes and relative positions
//! follow the one ORNL-type body whose numbers are public (the GDML files of Geant4's
//! `advanced/human_phantom` example, which cite ORNL/TM-8381); see the provenance header of
//! `data/phantoms/ornl_15y.toml`. Its organ masses match the ORNL 15-year-old (the body ORNL
//! also uses for the adult female), not the ORNL adult male; hence its name.

pub mod ages;
pub mod body;
pub mod geometry;
pub mod voxelise;

pub use ages::{
    mass_groups, paediatric_body, paediatric_body_fit, reference_body_mass_kg, reference_height_cm,
    reference_mass_kg, regions_by_reference, BodySpec, FitReport, GroupFit,
};
pub use body::{Derive, DeriveKind, Region, Sex, StylisedBody};
pub use voxelise::{
    mass_report, region_volumes_cm3, resolved_volume_cm3, voxelise, Assignment, RegionMass,
    VoxeliseOptions, Voxelised,
};

use thiserror::Error;

/// The built-in base body description (TOML, format `pedisim-stylised/1`): the ORNL-type
/// body of Geant4's `human_phantom` GDML, whose dimensions are those of the ORNL
/// 15-year-old.
pub static ORNL_15Y_TOML: &str = include_str!("../../../../data/phantoms/ornl_15y.toml");

/// File name used for the built-in base body in error messages.
pub const ORNL_15Y_FILE: &str = "data/phantoms/ornl_15y.toml";

/// The built-in base body for `sex` (regions in precedence order, world frame in mm).
pub fn ornl_15y(sex: Sex) -> Result<StylisedBody, StylisedError> {
    StylisedBody::from_toml(ORNL_15Y_TOML, ORNL_15Y_FILE, sex)
}

/// Errors in a stylised body description or in a voxelisation request.
#[derive(Debug, Error, PartialEq)]
pub enum StylisedError {
    /// The text is not valid TOML or does not match the format's structure.
    #[error("{source_name}: {message}")]
    Toml {
        /// The file (or other source) name.
        source_name: String,
        /// The parser's message (it names the line and key).
        message: String,
    },
    /// A value that is present but invalid.
    #[error("{source_name}: {key}: {message}")]
    Invalid {
        /// The file (or other source) name.
        source_name: String,
        /// Where, e.g. `region[3] ('liver').part[0].semi_axes_cm[1]`.
        key: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A voxelisation parameter out of range.
    #[error("{key} = {value}: {expected}")]
    BadParameter {
        /// The parameter's name.
        key: String,
        /// Its value, formatted.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// Building the voxel phantom failed.
    #[error(transparent)]
    Phantom(#[from] crate::PhantomError),
}

impl From<pedisim_core::GridError> for StylisedError {
    fn from(e: pedisim_core::GridError) -> Self {
        StylisedError::Phantom(crate::PhantomError::Grid(e))
    }
}
