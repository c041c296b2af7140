//! NIfTI-1 input and output (`.nii` and `.nii.gz`).
//!
//! Volumes are returned flattened with x fastest (the NIfTI on-disk order, and the pedisim
//! index convention `ix + nx * (iy + ny * iz)`), with their placement as a
//! [`GridGeometry`]: the voxel-to-world affine in millimetres, taken from the sform if
//! `sform_code > 0`, else from the qform if `qform_code > 0`, else from `pixdim` with the
//! origin at 0. Spatial units other than millimetres (metres, micrometres) are converted to
//! millimetres; "unknown" units are taken as millimetres. Only axis-aligned affines
//! (possibly with flipped axes) are accepted, as [`GridGeometry::from_affine`] requires.
//!
//! Writers put the grid's affine into both the sform and the qform (both with code 1,
//! "scanner anatomical"), set `pixdim` to the voxel size and `xyzt_units` to millimetres,
//! and write to a temporary file in the target directory that is then renamed into place,
//! so that a reader never sees a half-written file.

use crate::util::{remove_quietly, rename_into_place, sibling_temp};
use crate::IoError;
use nifti::{
    writer::WriterOptions, Endianness, InMemNiftiObject, NiftiHeader, NiftiObject, NiftiType,
    ReaderOptions,
};
use pedisim_core::GridGeometry;
use std::path::{Path, PathBuf};

/// A 3-D volume read from NIfTI.
#[derive(Clone, Debug, PartialEq)]
pub struct Volume<T> {
    /// The voxel grid and its placement in the world frame (millimetres), from the sform if
    /// `sform_code > 0`, else the qform if `qform_code > 0`, else `pixdim` with origin 0.
    pub grid: GridGeometry,
    /// The voxel values, `grid.len()` of them, flattened x fastest: voxel `(ix, iy, iz)` is
    /// at `ix + nx * (iy + ny * iz)`.
    pub data: Vec<T>,
}

/// Reads an integer label map (`.nii` or `.nii.gz`).
///
/// Any integer datatype is accepted, and float datatypes whose values are all integral and
/// non-negative. `scl_slope` / `scl_inter` are applied when the slope is non-zero and the
/// pair is not (1, 0). A 4-D (or higher) image is accepted when all dimensions past the
/// third are 1; otherwise the image must be 3-D.
///
/// # Errors
/// [`IoError::BadLabel`] names the first voxel `(ix, iy, iz)` (x fastest) whose value is
/// negative, not integral, NaN, or larger than `u32::MAX`; other variants name the file and
/// what was expected (missing file, unsupported datatype or dimensionality, rotated affine).
pub fn read_labels(path: &Path) -> Result<Volume<u32>, IoError> {
    let raw = read_raw(path)?;
    let to_voxel = |i: usize| raw.grid.unflatten(i);
    let bad = |i: usize, value: f64| IoError::BadLabel {
        path: path.to_path_buf(),
        voxel: to_voxel(i),
        value,
    };
    let data: Vec<u32> = match raw.scaling {
        None if raw.kind == Kind::Int => {
            let mut out = Vec::with_capacity(raw.len);
            for i in 0..raw.len {
                let v = raw.int_at(i);
                if v < 0 || v > u32::MAX as i128 {
                    return Err(bad(i, v as f64));
                }
                out.push(v as u32);
            }
            out
        }
        _ => {
            let mut out = Vec::with_capacity(raw.len);
            for i in 0..raw.len {
                let v = raw.scaled_at(i);
                if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64) {
                    return Err(bad(i, v));
                }
                out.push(v as u32);
            }
            out
        }
    };
    Ok(Volume {
        grid: raw.grid,
        data,
    })
}

/// Reads a real-valued map (activity, density, ...) from `.nii` or `.nii.gz`.
///
/// Any integer or float datatype is accepted; values are scaled by `scl_slope` /
/// `scl_inter` (when the slope is non-zero) and returned as `f64` in the file's units. NaN
/// values are returned as they are: the caller validates. Same dimensionality rules as
/// [`read_labels`].
pub fn read_scalar(path: &Path) -> Result<Volume<f64>, IoError> {
    let raw = read_raw(path)?;
    let data = (0..raw.len).map(|i| raw.scaled_at(i)).collect();
    Ok(Volume {
        grid: raw.grid,
        data,
    })
}

/// Writes a float32 map (e.g. a dose map) with the grid's affine.
///
/// `data` has `grid.len()` values, x fastest; they are rounded to `f32`. The header has
/// `sform_code = qform_code = 1` (scanner), `pixdim` = voxel size, `xyzt_units` = mm, and
/// `descrip` (truncated to 79 bytes at a character boundary), e.g. "pedisim dose_gy per
/// decay". The file is compressed when the name ends in `.nii.gz`; the name must end in
/// `.nii` or `.nii.gz`. It is written to a temporary file in the same directory and renamed
/// into place; on error the temporary file is removed and an existing file is untouched.
pub fn write_f32(
    path: &Path,
    grid: &GridGeometry,
    data: &[f64],
    descrip: &str,
) -> Result<(), IoError> {
    check_len(path, grid, data.len(), "data")?;
    let values: Vec<f32> = data.iter().map(|&v| v as f32).collect();
    write_array(path, grid, Values::F32(values), descrip)
}

/// Writes an integer label map with the grid's affine, same conventions as [`write_f32`].
///
/// The datatype is `uint16` when the largest label is below 65536, else `int32`; a label
/// above `i32::MAX` is an error (NIfTI readers commonly lack `uint32`).
pub fn write_labels(path: &Path, grid: &GridGeometry, data: &[u32]) -> Result<(), IoError> {
    check_len(path, grid, data.len(), "labels")?;
    let max = data.iter().copied().max().unwrap_or(0);
    if max < 65536 {
        let values: Vec<u16> = data.iter().map(|&v| v as u16).collect();
        write_array(path, grid, Values::U16(values), "pedisim labels")
    } else if max <= i32::MAX as u32 {
        let values: Vec<i32> = data.iter().map(|&v| v as i32).collect();
        write_array(path, grid, Values::I32(values), "pedisim labels")
    } else {
        Err(IoError::invalid(
            path,
            format!(
                "label {max} is larger than {}: expected labels that fit in int32",
                i32::MAX
            ),
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Int,
    Float,
}

/// The decoded header and raw voxel bytes of a NIfTI file.
struct Raw {
    grid: GridGeometry,
    len: usize,
    bytes: Vec<u8>,
    datatype: NiftiType,
    kind: Kind,
    little: bool,
    /// `(slope, inter)` when scaling applies (slope != 0 and not (1, 0)).
    scaling: Option<(f64, f64)>,
}

macro_rules! decode {
    ($self:ident, $i:ident, $t:ty) => {{
        const N: usize = std::mem::size_of::<$t>();
        let b: [u8; N] = $self.bytes[$i * N..($i + 1) * N].try_into().unwrap();
        if $self.little {
            <$t>::from_le_bytes(b)
        } else {
            <$t>::from_be_bytes(b)
        }
    }};
}

impl Raw {
    /// Exact integer value of voxel `i` (integer datatypes only).
    fn int_at(&self, i: usize) -> i128 {
        match self.datatype {
            NiftiType::Uint8 => self.bytes[i] as i128,
            NiftiType::Int8 => self.bytes[i] as i8 as i128,
            NiftiType::Uint16 => decode!(self, i, u16) as i128,
            NiftiType::Int16 => decode!(self, i, i16) as i128,
            NiftiType::Uint32 => decode!(self, i, u32) as i128,
            NiftiType::Int32 => decode!(self, i, i32) as i128,
            NiftiType::Uint64 => decode!(self, i, u64) as i128,
            NiftiType::Int64 => decode!(self, i, i64) as i128,
            _ => unreachable!("int_at on a float datatype"),
        }
    }

    /// Unscaled value of voxel `i` as f64.
    fn value_at(&self, i: usize) -> f64 {
        match self.datatype {
            NiftiType::Float32 => decode!(self, i, f32) as f64,
            NiftiType::Float64 => decode!(self, i, f64),
            _ => self.int_at(i) as f64,
        }
    }

    /// Value of voxel `i` after `scl_slope` / `scl_inter`.
    fn scaled_at(&self, i: usize) -> f64 {
        let v = self.value_at(i);
        match self.scaling {
            Some((slope, inter)) => v * slope + inter,
            None => v,
        }
    }
}

fn read_raw(path: &Path) -> Result<Raw, IoError> {
    if !path.is_file() {
        return Err(IoError::NotFound {
            path: path.to_path_buf(),
            detail: "expected a NIfTI-1 image (.nii or .nii.gz)".into(),
        });
    }
    let obj: InMemNiftiObject =
        ReaderOptions::new()
            .read_file(path)
            .map_err(|source| match source {
                nifti::NiftiError::Io(e) => IoError::io(path, "reading the NIfTI file", e),
                source => IoError::Nifti {
                    path: path.to_path_buf(),
                    op: "read",
                    source,
                },
            })?;
    let header = obj.header().clone();
    let dims = spatial_dims(path, &header)?;
    let grid = grid_from_header(path, &header, dims)?;
    let datatype = header.data_type().map_err(|source| IoError::Nifti {
        path: path.to_path_buf(),
        op: "read",
        source,
    })?;
    let kind = match datatype {
        NiftiType::Uint8
        | NiftiType::Int8
        | NiftiType::Uint16
        | NiftiType::Int16
        | NiftiType::Uint32
        | NiftiType::Int32
        | NiftiType::Uint64
        | NiftiType::Int64 => Kind::Int,
        NiftiType::Float32 | NiftiType::Float64 => Kind::Float,
        other => {
            return Err(IoError::WrongType {
                path: path.to_path_buf(),
                object: "header datatype".into(),
                expected: "an integer or float32/float64 datatype".into(),
                found: format!("{other:?} (code {})", header.datatype),
            })
        }
    };
    let bytes = obj.into_volume().into_raw_data();
    let len = grid.len();
    if bytes.len() != len * datatype.size_of() {
        return Err(IoError::invalid(
            path,
            format!(
                "the image holds {} bytes of voxel data, expected {} ({} voxels of {} bytes)",
                bytes.len(),
                len * datatype.size_of(),
                len,
                datatype.size_of()
            ),
        ));
    }
    let slope = header.scl_slope as f64;
    let inter = header.scl_inter as f64;
    let scaling = if slope != 0.0 && slope.is_finite() && !(slope == 1.0 && inter == 0.0) {
        if !inter.is_finite() {
            return Err(IoError::invalid(
                path,
                format!("scl_inter is {inter}: expected a finite number"),
            ));
        }
        Some((slope, inter))
    } else {
        None
    };
    Ok(Raw {
        grid,
        len,
        bytes,
        datatype,
        kind,
        little: header.endianness == Endianness::Little,
        scaling,
    })
}

/// `[nx, ny, nz]` from the header: 3-D, or more dimensions that are all 1 past the third.
fn spatial_dims(path: &Path, header: &NiftiHeader) -> Result<[usize; 3], IoError> {
    let dim = header.dim().map_err(|source| IoError::Nifti {
        path: path.to_path_buf(),
        op: "read",
        source,
    })?;
    let shape: Vec<usize> = dim.iter().map(|&d| d as usize).collect();
    if shape.len() < 3 || shape[3..].iter().any(|&d| d != 1) {
        return Err(IoError::WrongType {
            path: path.to_path_buf(),
            object: "header dim".into(),
            expected: "a 3-D image (or 4-D with a single time point)".into(),
            found: format!("a {}-D image of shape {shape:?}", shape.len()),
        });
    }
    Ok([shape[0], shape[1], shape[2]])
}

/// Millimetres per file spatial unit (`xyzt_units & 7`): unknown is taken as mm.
fn mm_per_unit(path: &Path, header: &NiftiHeader) -> Result<f64, IoError> {
    match header.xyzt_units & 0x07 {
        0 | 2 => Ok(1.0),
        1 => Ok(1000.0),
        3 => Ok(0.001),
        code => Err(IoError::WrongType {
            path: path.to_path_buf(),
            object: "header xyzt_units".into(),
            expected: "a spatial unit code 0 (unknown, taken as mm), 1 (m), 2 (mm) or 3 (um)"
                .into(),
            found: format!("code {code}"),
        }),
    }
}

fn grid_from_header(
    path: &Path,
    header: &NiftiHeader,
    dims: [usize; 3],
) -> Result<GridGeometry, IoError> {
    let unit = mm_per_unit(path, header)?;
    let mut affine = [[0.0f64; 4]; 3];
    if header.sform_code > 0 {
        for (r, row) in [header.srow_x, header.srow_y, header.srow_z]
            .iter()
            .enumerate()
        {
            for c in 0..4 {
                affine[r][c] = row[c] as f64;
            }
        }
    } else if header.qform_code > 0 {
        let pix = pixdim(path, header)?;
        let qfac = if header.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let r = quaternion_matrix(
            header.quatern_b as f64,
            header.quatern_c as f64,
            header.quatern_d as f64,
        );
        let scale = [pix[0], pix[1], pix[2] * qfac];
        for row in 0..3 {
            for col in 0..3 {
                affine[row][col] = r[row][col] * scale[col];
            }
        }
        affine[0][3] = header.quatern_x as f64;
        affine[1][3] = header.quatern_y as f64;
        affine[2][3] = header.quatern_z as f64;
    } else {
        let pix = pixdim(path, header)?;
        for a in 0..3 {
            affine[a][a] = pix[a];
        }
    }
    for row in affine.iter_mut() {
        for v in row.iter_mut() {
            *v *= unit;
        }
    }
    if affine.iter().flatten().any(|v| !v.is_finite()) {
        return Err(IoError::invalid(
            path,
            format!("the voxel-to-world affine {affine:?} has non-finite entries"),
        ));
    }
    GridGeometry::from_affine(dims, affine).map_err(|source| IoError::Grid {
        path: path.to_path_buf(),
        source,
    })
}

fn pixdim(path: &Path, header: &NiftiHeader) -> Result<[f64; 3], IoError> {
    let p = [1, 2, 3].map(|i| (header.pixdim[i] as f64).abs());
    if p.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(IoError::invalid(
            path,
            format!(
                "pixdim[1..4] = {:?}: expected three positive voxel sizes",
                &header.pixdim[1..4]
            ),
        ));
    }
    Ok(p)
}

/// The NIfTI-1 rotation matrix of the quaternion (a, b, c, d), a from the unit norm.
fn quaternion_matrix(b: f64, c: f64, d: f64) -> [[f64; 3]; 3] {
    let mut a = 1.0 - (b * b + c * c + d * d);
    let (mut b, mut c, mut d) = (b, c, d);
    if a < 1e-7 {
        // Special case of the standard: a 180-degree rotation, (b, c, d) renormalised.
        let n = (b * b + c * c + d * d).sqrt();
        b /= n;
        c /= n;
        d /= n;
        a = 0.0;
    } else {
        a = a.sqrt();
    }
    [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - c * c - b * b,
        ],
    ]
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

fn check_len(path: &Path, grid: &GridGeometry, got: usize, what: &str) -> Result<(), IoError> {
    if got != grid.len() {
        return Err(IoError::Length {
            path: path.to_path_buf(),
            what: what.into(),
            expected: grid.len(),
            got,
            context: format!(
                "grid {}x{}x{} voxels",
                grid.dims[0], grid.dims[1], grid.dims[2]
            ),
        });
    }
    Ok(())
}

/// Whether the file name asks for compression; error unless it ends in .nii or .nii.gz.
fn compressed(path: &Path) -> Result<bool, IoError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if name.ends_with(".nii.gz") {
        Ok(true)
    } else if name.ends_with(".nii") {
        Ok(false)
    } else {
        Err(IoError::invalid(
            path,
            "expected a file name ending in .nii or .nii.gz",
        ))
    }
}

/// The header for a grid: affine into sform and qform (code 1), pixdim, units mm.
fn header_for(path: &Path, grid: &GridGeometry, descrip: &str) -> Result<NiftiHeader, IoError> {
    const MAX_DIM: usize = i16::MAX as usize;
    if grid.dims.iter().any(|&d| d > MAX_DIM) {
        return Err(IoError::invalid(
            path,
            format!(
                "grid dimensions {:?}: NIfTI-1 allows at most {MAX_DIM} voxels per axis",
                grid.dims
            ),
        ));
    }
    let a = grid.affine();
    let s = grid.axis_sign;
    // qform: R = diag(s) made proper by qfac on the third column.
    let qfac = if s[0] * s[1] * s[2] < 0.0 { -1.0 } else { 1.0 };
    let r = [s[0], s[1], s[2] * qfac];
    // A diagonal proper rotation is the identity or a half turn about one axis.
    let (qb, qc, qd) = match (r[0] > 0.0, r[1] > 0.0, r[2] > 0.0) {
        (true, true, true) => (0.0, 0.0, 0.0),
        (true, false, false) => (1.0, 0.0, 0.0),
        (false, true, false) => (0.0, 1.0, 0.0),
        (false, false, true) => (0.0, 0.0, 1.0),
        _ => unreachable!("diag(r) has determinant +1"),
    };
    let mut descrip_bytes = Vec::with_capacity(80);
    let mut end = descrip.len().min(79);
    while !descrip.is_char_boundary(end) {
        end -= 1;
    }
    descrip_bytes.extend_from_slice(&descrip.as_bytes()[..end]);
    descrip_bytes.retain(|&b| b != 0);
    descrip_bytes.resize(80, 0);
    Ok(NiftiHeader {
        dim: [
            3,
            grid.dims[0] as u16,
            grid.dims[1] as u16,
            grid.dims[2] as u16,
            1,
            1,
            1,
            1,
        ],
        pixdim: [
            qfac as f32,
            grid.voxel_mm[0] as f32,
            grid.voxel_mm[1] as f32,
            grid.voxel_mm[2] as f32,
            1.0,
            1.0,
            1.0,
            1.0,
        ],
        xyzt_units: 2, // NIFTI_UNITS_MM, time unknown
        scl_slope: 1.0,
        scl_inter: 0.0,
        descrip: descrip_bytes,
        qform_code: 1,
        sform_code: 1,
        quatern_b: qb,
        quatern_c: qc,
        quatern_d: qd,
        quatern_x: a[0][3] as f32,
        quatern_y: a[1][3] as f32,
        quatern_z: a[2][3] as f32,
        srow_x: a[0].map(|v| v as f32),
        srow_y: a[1].map(|v| v as f32),
        srow_z: a[2].map(|v| v as f32),
        ..NiftiHeader::default()
    })
}

/// Voxel values to write, x fastest, in one of the datatypes pedisim writes.
enum Values {
    F32(Vec<f32>),
    U16(Vec<u16>),
    I32(Vec<i32>),
}

/// Writes `values` (x fastest) through a temporary file renamed into place.
fn write_array(
    path: &Path,
    grid: &GridGeometry,
    values: Values,
    descrip: &str,
) -> Result<(), IoError> {
    let gz = compressed(path)?;
    let header = header_for(path, grid, descrip)?;
    // The nifti writer rewrites the extension of the name it is given: use a temporary
    // name whose only dots are the .nii / .nii.gz suffix.
    let tmp: PathBuf = sibling_temp(path, if gz { ".nii.gz" } else { ".nii" })?;
    let [nx, ny, nz] = grid.dims;
    let result =
        (|| {
            use ndarray::ShapeBuilder;
            // x fastest in memory = Fortran order of an [nx, ny, nz] array.
            let shape = (nx, ny, nz).f();
            let shape_err = |e: ndarray::ShapeError| {
                IoError::invalid(
                    path,
                    format!("internal shape error for {:?}: {e}", grid.dims),
                )
            };
            let options = WriterOptions::new(&tmp).reference_header(&header);
            match &values {
                Values::F32(v) => options
                    .write_nifti(&ndarray::ArrayView3::from_shape(shape, v).map_err(shape_err)?),
                Values::U16(v) => options
                    .write_nifti(&ndarray::ArrayView3::from_shape(shape, v).map_err(shape_err)?),
                Values::I32(v) => options
                    .write_nifti(&ndarray::ArrayView3::from_shape(shape, v).map_err(shape_err)?),
            }
            .map_err(|source| match source {
                nifti::NiftiError::Io(e) => IoError::io(&tmp, "writing the NIfTI file", e),
                source => IoError::Nifti {
                    path: path.to_path_buf(),
                    op: "write",
                    source,
                },
            })?;
            rename_into_place(&tmp, path)
        })();
    if result.is_err() {
        remove_quietly(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qform_encodes_every_axis_flip() {
        let p = Path::new("test.nii");
        for bits in 0..8 {
            let sign = [0, 1, 2].map(|a| if bits & (1 << a) != 0 { -1.0 } else { 1.0 });
            let grid =
                GridGeometry::new([2, 3, 4], [1.0, 2.0, 3.0], [5.0, -6.0, 7.0], sign).unwrap();
            let mut h = header_for(p, &grid, "x").unwrap();
            let from_sform = grid_from_header(p, &h, grid.dims).unwrap();
            h.sform_code = 0;
            let from_qform = grid_from_header(p, &h, grid.dims).unwrap();
            for g in [&from_sform, &from_qform] {
                assert_eq!(g.axis_sign, grid.axis_sign, "signs {sign:?}");
                assert_eq!(g.voxel_mm, grid.voxel_mm);
                assert_eq!(g.origin_mm, grid.origin_mm);
            }
            h.qform_code = 0;
            let from_pixdim = grid_from_header(p, &h, grid.dims).unwrap();
            assert_eq!(from_pixdim.axis_sign, [1.0; 3]);
            assert_eq!(from_pixdim.origin_mm, [0.0; 3]);
        }
    }

    #[test]
    fn units_are_converted_to_mm() {
        let p = Path::new("test.nii");
        let grid = GridGeometry::new([2, 2, 2], [1.0; 3], [1.0, 2.0, 3.0], [1.0; 3]).unwrap();
        let mut h = header_for(p, &grid, "").unwrap();
        h.xyzt_units = 1; // metres
        let g = grid_from_header(p, &h, grid.dims).unwrap();
        assert_eq!(g.voxel_mm, [1000.0; 3]);
        assert_eq!(g.origin_mm, [1000.0, 2000.0, 3000.0]);
        h.xyzt_units = 5;
        assert!(grid_from_header(p, &h, grid.dims).is_err());
    }

    #[test]
    fn description_is_truncated_at_a_character_boundary() {
        let grid = GridGeometry::centred([1, 1, 1], [1.0; 3]).unwrap();
        let long = "é".repeat(60); // 120 bytes
        let h = header_for(Path::new("t.nii"), &grid, &long).unwrap();
        assert_eq!(h.descrip.len(), 80);
        let end = h.descrip.iter().position(|&b| b == 0).unwrap();
        assert_eq!(end, 78);
        assert!(std::str::from_utf8(&h.descrip[..end]).is_ok());
    }
}
