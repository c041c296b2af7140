//! pedisim tumour growth on the phantoms' voxel grid.
//!
//! Two model families share the grid convention of `pedisim-core` (x fastest, sizes in
//! millimetres) so that an absorbed-dose map from the transport kernel is a treatment:
//!
//! - [`agents`]: off-lattice agent-based model (PhysiCell-like): cells with an oxygen-
//!   dependent cycle, apoptosis, necrosis, centre-based mechanics and LQ radiation death,
//!   with an oxygen diffusion-consumption field solved by Douglas ADI (micrometres, minutes).
//! - [`continuum`]: proliferation-invasion (Fisher-KPP) reaction-diffusion of the tumour
//!   cell density with tissue-dependent diffusion, solved by Strang splitting of an exact
//!   logistic reaction step and a locally one-dimensional (LOD) implicit diffusion step.
//! - [`radiobiology`]: the linear-quadratic model: survival of a fraction, biologically
//!   effective dose (BED) of fractionated and of exponentially decaying dose-rate
//!   (radiopharmaceutical) treatment with the Lea-Catcheside factor.
//!
//! The crate knows nothing of files: configurations, HDF5 and NIfTI belong to the driver.
//! Time is in days, lengths in millimetres, doses in Gy, cell densities in cells per mm^3
//! unless a name says otherwise.

pub mod agents;
pub mod continuum;
pub mod radiobiology;
