//! # pedisim-report
//!
//! Figures of a dose result drawn straight to PNG, with no system libraries: a small
//! RGB [`canvas`] (anti-aliased lines and text from an embedded DejaVu Sans font, images
//! blitted with nearest-neighbour scaling, PNG encoding), and three figures:
//!
//! - [`dose_slices`]: three orthogonal slices (axial, coronal, sagittal) of a dose map
//!   over the phantom's density, with a viridis colour bar and isodose lines;
//! - [`dvh_plot`]: cumulative dose-volume histograms of several organs;
//! - [`series_plot`]: curves against time (tumour-growth trajectories), linear or log.
//!
//! The crate knows nothing of HDF5 or of files: callers hand it arrays and get a
//! [`Canvas`], which [`Canvas::encode_png`] turns into PNG bytes. `pedisim-driver`'s
//! `report` module reads a dose file and writes the figures (docs/report.md).
//!
//! ```
//! use pedisim_report::{dvh_plot, DvhCurve, DvhOptions};
//! let curve = DvhCurve {
//!     name: "liver".into(),
//!     dose: vec![0.0, 1.0, 2.0],
//!     volume_fraction: vec![1.0, 0.5, 0.0],
//! };
//! let fig = dvh_plot(&[curve], &DvhOptions::default()).unwrap();
//! let png: Vec<u8> = fig.encode_png().unwrap();
//! assert!(png.starts_with(b"\x89PNG"));
//! ```
#![deny(missing_docs)]

pub mod canvas;
pub mod colormap;
pub mod contour;
pub mod dvh;
pub mod series;
pub mod slices;
pub mod ticks;

pub use canvas::{Canvas, Rgb};
pub use dvh::{dvh_plot, DvhCurve, DvhOptions};
pub use series::{series_plot, Series, SeriesOptions};
pub use slices::{dose_slices, max_dose_voxel, DoseVolume, SliceOptions};

/// Errors of figure drawing, each saying what was wrong with the input.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The data or options handed to a figure are unusable (sizes, NaN, ranges).
    #[error("{0}")]
    Input(String),
    /// The embedded font could not be read.
    #[error("font: {0}")]
    Font(String),
    /// PNG encoding or decoding failed.
    #[error("PNG: {0}")]
    Png(String),
}
