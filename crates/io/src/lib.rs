//! # pedisim-io
//!
//! pedisim's file formats, documented in `docs/formats.md`:
//!
//! - [`nifti_io`]: NIfTI-1 (`.nii`, `.nii.gz`) input of label, activity and density maps,
//!   and output of float32 dose maps and label maps with the phantom's affine;
//! - [`h5`]: the versioned HDF5 output file of a dose run ([`h5::FORMAT_VERSION`]) and
//!   readers for it, and the voxel S-value file of `pedisim svalues`
//!   ([`h5::write_svalues`]).
//!
//! All volumes use the pedisim index convention of [`pedisim_core::grid`]: flat arrays with
//! x fastest, voxel `(ix, iy, iz)` at `ix + nx * (iy + ny * iz)`, seen as 3-D arrays of
//! shape `[nz, ny, nx]` in C order. Every writer writes a temporary file in the target's
//! directory and renames it into place, so an existing file is replaced only by a complete
//! one. Every error is an [`IoError`] that names the file.
#![deny(missing_docs)]

mod error;
pub mod h5;
pub mod nifti_io;
mod util;

pub use error::IoError;
