//! The error type of every reader and writer in this crate.

use std::path::PathBuf;

/// An error while reading or writing a pedisim file.
///
/// Every variant names the file, and where relevant the HDF5 object (dataset, group or
/// attribute) or the voxel concerned, and says what was expected. The type is `Send + Sync`
/// so that it converts into `anyhow::Error`.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file (or, for a write, its directory) does not exist.
    #[error("{}: file not found{}", path.display(), if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
    NotFound {
        /// The file that was looked for.
        path: PathBuf,
        /// What was expected there (may be empty).
        detail: String,
    },

    /// An operating-system I/O error (open, create, rename, remove, sync).
    #[error("{}: {op} failed: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What was being done, e.g. "renaming the temporary file into place".
        op: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The NIfTI library failed to read or write the file.
    #[error("{}: NIfTI {op} failed: {source}", path.display())]
    Nifti {
        /// The NIfTI file.
        path: PathBuf,
        /// "read" or "write".
        op: &'static str,
        /// The underlying error.
        #[source]
        source: nifti::NiftiError,
    },

    /// The HDF5 library reported an error on an object of the file.
    #[error("{}: HDF5 error on `{object}` while {op}: {message}", path.display())]
    Hdf5 {
        /// The HDF5 file.
        path: PathBuf,
        /// The object (dataset, group or attribute path) concerned, "/" for the file itself.
        object: String,
        /// What was being done, e.g. "creating the dataset".
        op: String,
        /// The HDF5 library's message (its error stack, flattened).
        message: String,
    },

    /// A dataset, group or attribute that was asked for is not in the file.
    #[error("{}: {kind} `{object}` not found{}", path.display(), if available.is_empty() { String::new() } else { format!(" (present: {available})") })]
    MissingObject {
        /// The HDF5 file.
        path: PathBuf,
        /// "dataset", "group or dataset" or "attribute".
        kind: &'static str,
        /// Full name of the missing object (`/group/dataset`, or `/object@attribute`).
        object: String,
        /// The names that are present at that place, comma separated (may be empty).
        available: String,
    },

    /// An object has a type or a shape other than the one expected.
    #[error("{}: `{object}`: expected {expected}, found {found}", path.display())]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The object (dataset, attribute, NIfTI header field) concerned.
        object: String,
        /// What was expected, e.g. "a scalar numeric attribute".
        expected: String,
        /// What the file holds.
        found: String,
    },

    /// An input slice has the wrong number of elements; nothing has been written.
    #[error("{}: `{what}` has {got} elements, expected {expected}{}; nothing was written", path.display(), if context.is_empty() { String::new() } else { format!(" ({context})") })]
    Length {
        /// The file that was to be written.
        path: PathBuf,
        /// The input concerned, e.g. "dose_gy".
        what: String,
        /// The number of elements expected (the grid's voxel count, 3 for a vector, ...).
        expected: usize,
        /// The number of elements given.
        got: usize,
        /// Where the expected count comes from, e.g. "grid 3x4x5" (may be empty).
        context: String,
    },

    /// A voxel of a label map is not a non-negative integer that fits in `u32`.
    #[error("{}: voxel (ix, iy, iz) = ({}, {}, {}) of the label map has value {value}: expected a non-negative integer label <= {}", path.display(), voxel[0], voxel[1], voxel[2], u32::MAX)]
    BadLabel {
        /// The label map.
        path: PathBuf,
        /// The first offending voxel `(ix, iy, iz)`, in file order (x fastest).
        voxel: [usize; 3],
        /// Its value after scaling by `scl_slope` / `scl_inter`.
        value: f64,
    },

    /// The grid in the file (or the one given) is not a valid pedisim grid.
    #[error("{}: invalid voxel grid: {source}", path.display())]
    Grid {
        /// The file.
        path: PathBuf,
        /// The grid error (bad dimensions, bad voxel size, rotated affine).
        #[source]
        source: pedisim_core::GridError,
    },

    /// Anything else that is not what a pedisim file must be (bad extension, bad header
    /// field, reserved attribute name, ...); the message says what was expected.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        message: String,
    },
}

impl IoError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            IoError::NotFound { path, .. }
            | IoError::Io { path, .. }
            | IoError::Nifti { path, .. }
            | IoError::Hdf5 { path, .. }
            | IoError::MissingObject { path, .. }
            | IoError::WrongType { path, .. }
            | IoError::Length { path, .. }
            | IoError::BadLabel { path, .. }
            | IoError::Grid { path, .. }
            | IoError::Invalid { path, .. } => path,
        }
    }

    pub(crate) fn io(
        path: &std::path::Path,
        op: impl Into<String>,
        source: std::io::Error,
    ) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            return IoError::NotFound {
                path: path.to_path_buf(),
                detail: op.into(),
            };
        }
        IoError::Io {
            path: path.to_path_buf(),
            op: op.into(),
            source,
        }
    }

    pub(crate) fn invalid(path: &std::path::Path, message: impl Into<String>) -> Self {
        IoError::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
