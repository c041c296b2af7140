//! The pedisim HDF5 output file: writer and readers.
//!
//! The layout (version [`FORMAT_VERSION`]) is documented in `docs/formats.md`:
//!
//! ```text
//! /                       root attributes: format_version, hdf5_library_version, dims_xyz,
//!                         voxel_size_mm, origin_mm, axis_sign, + the caller's (seed, ...)
//! /dose/energy_deposit_mev   f64 [nz, ny, nx]  MeV per history
//! /dose/dose_gy              f64 [nz, ny, nx]  Gy per history
//! /dose/relative_uncertainty f64 [nz, ny, nx]  1 sigma, NaN where nothing was deposited
//! /phantom/labels            u32 [nz, ny, nx]
//! /phantom/density_g_cm3     f64 [nz, ny, nx]  g/cm3
//! /organs/{label, name, material, mass_kg, energy_deposit_mev, dose_gy,
//!          relative_uncertainty}   1-D columns, one row per organ
//! /summary                group whose attributes are the run totals
//! ```
//!
//! The 3-D datasets are chunked (a few z-slices, at most 1 MiB a chunk) and compressed
//! (shuffle + gzip level 4). Strings are variable-length UTF-8. The file is written with
//! the library's default (oldest) format bounds, readable by HDF5 1.10 tools and h5py.
//!
//! [`write_svalues`] writes the voxel S-value file of `pedisim svalues` (its own layout,
//! [`SVALUES_FORMAT_VERSION`], `docs/formats.md` section 8).
//!
//! The HDF5 crate serialises all library calls through one global lock: call these
//! functions from one thread, after gathering the data.

use crate::util::{appended_temp, remove_quietly, rename_into_place};
use crate::IoError;
use hdf5::types::{IntSize, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Attribute, File, Group, H5Type, Location};
use pedisim_core::GridGeometry;
use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;

/// Current HDF5 layout version, written as the root attribute `format_version`.
///
/// Bumped on any layout change (see the versioning policy in `docs/formats.md`): the minor
/// number for additions that old readers can ignore, the major number for renames,
/// removals or changes of meaning, type or units.
pub const FORMAT_VERSION: &str = "1.5";

/// Largest chunk of a 3-D dataset \[bytes\].
const CHUNK_BYTES: usize = 1 << 20;

/// Gzip level of the 3-D datasets.
const GZIP_LEVEL: u8 = 4;

/// One row of the organ table (`/organs`): a label of the phantom and its tallies.
#[derive(Clone, Debug, PartialEq)]
pub struct OrganRow {
    /// The label value in `/phantom/labels`.
    pub label: u32,
    /// Organ name, e.g. "liver" (any UTF-8 without NUL characters).
    pub name: String,
    /// Name of the material assigned to the label, e.g. "ICRU soft tissue".
    pub material: String,
    /// Mass of the voxels with this label \[kg\].
    pub mass_kg: f64,
    /// Energy deposited in the organ per history \[MeV\].
    pub energy_deposit_mev: f64,
    /// Mean absorbed dose in the organ per history \[Gy\].
    pub dose_gy: f64,
    /// Relative statistical uncertainty (1 sigma) of the organ dose \[1\]; NaN if nothing
    /// was deposited.
    pub relative_uncertainty: f64,
}

/// The value of an HDF5 attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    /// A scalar `f64` (HDF5 `H5T_IEEE_F64LE`).
    F64(f64),
    /// A scalar `u64` (HDF5 `H5T_STD_U64LE`).
    U64(u64),
    /// A scalar `i64` (HDF5 `H5T_STD_I64LE`).
    I64(i64),
    /// A variable-length UTF-8 string (h5py reads it as `str`); must not contain NUL.
    Str(String),
    /// A 1-D array of `f64`, e.g. `voxel_size_mm`.
    F64Array(Vec<f64>),
    /// A 1-D array of `u64`, e.g. `dims_xyz`.
    U64Array(Vec<u64>),
}

impl From<f64> for AttrValue {
    fn from(v: f64) -> Self {
        AttrValue::F64(v)
    }
}
impl From<u64> for AttrValue {
    fn from(v: u64) -> Self {
        AttrValue::U64(v)
    }
}
impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue::I64(v)
    }
}
impl From<&str> for AttrValue {
    fn from(v: &str) -> Self {
        AttrValue::Str(v.to_string())
    }
}
impl From<String> for AttrValue {
    fn from(v: String) -> Self {
        AttrValue::Str(v)
    }
}
impl From<Vec<f64>> for AttrValue {
    fn from(v: Vec<f64>) -> Self {
        AttrValue::F64Array(v)
    }
}
impl From<[f64; 3]> for AttrValue {
    fn from(v: [f64; 3]) -> Self {
        AttrValue::F64Array(v.to_vec())
    }
}
impl From<Vec<u64>> for AttrValue {
    fn from(v: Vec<u64>) -> Self {
        AttrValue::U64Array(v)
    }
}

/// Everything a dose run writes.
///
/// All per-voxel slices have `grid.len()` elements, x fastest (voxel `(ix, iy, iz)` at
/// `ix + nx * (iy + ny * iz)`); they are stored as `[nz, ny, nx]` datasets. All tallies are
/// per history (per decay).
#[derive(Clone, Copy, Debug)]
pub struct DoseOutput<'a> {
    /// The voxel grid of the phantom (dimensions, voxel size, placement).
    pub grid: &'a GridGeometry,
    /// Energy deposited in each voxel per history \[MeV\].
    pub energy_deposit_mev: &'a [f64],
    /// Absorbed dose in each voxel per history \[Gy\].
    pub dose_gy: &'a [f64],
    /// Relative statistical uncertainty (1 sigma) of each voxel's tally \[1\]; NaN where
    /// nothing was deposited.
    pub relative_uncertainty: &'a [f64],
    /// Label (organ) of each voxel.
    pub labels: &'a [u32],
    /// Mass density of each voxel \[g/cm3\].
    pub density_g_cm3: &'a [f64],
    /// The organ table, one row per label.
    pub organs: &'a [OrganRow],
    /// Root attributes. `format_version`, `hdf5_library_version`, `dims_xyz`,
    /// `voxel_size_mm`, `origin_mm` and `axis_sign` are written by the writer from the grid;
    /// `dims_xyz`, `voxel_size_mm` and `origin_mm` may also be given here, and must then
    /// agree with the grid. The caller gives `pedisim_version`, `seed`, `histories`,
    /// `threads`, `wall_seconds`, `config_toml`, ...
    pub root_attrs: &'a [(String, AttrValue)],
    /// Attributes of the `/summary` group: run totals such as `emitted_energy_mev`,
    /// `deposited_energy_mev`, `escaped_energy_mev`, `cutoff_energy_mev` (MeV, summed over
    /// all histories) and `uncollided_escapes` (count). `description` is reserved.
    pub summary_attrs: &'a [(String, AttrValue)],
    /// Further tables, each a group of columns (e.g. `/dvh`); their names must differ from
    /// the layout's groups (`dose`, `phantom`, `organs`, `summary`).
    pub tables: &'a [TableGroup<'a>],
}

/// Units and description of each 3-D dataset, in layout order.
const DOSE_DATASETS: [(&str, &str, &str); 3] = [
    (
        "energy_deposit_mev",
        "MeV per history",
        "energy deposited in each voxel, mean per history (per decay)",
    ),
    (
        "dose_gy",
        "Gy per history",
        "absorbed dose in each voxel, mean per history (per decay)",
    ),
    (
        "relative_uncertainty",
        "1 (relative, 1 sigma)",
        "relative standard error (1 sigma) of the voxel energy deposit; NaN where nothing was deposited",
    ),
];

/// Root attributes written by the writer itself, which the caller must not give.
const RESERVED_ROOT: [&str; 3] = ["format_version", "hdf5_library_version", "axis_sign"];

/// Writes the dose output file atomically.
///
/// Everything is validated first (slice lengths, attribute names and values, strings): an
/// invalid input is an error before anything is created. The file is then written to
/// `<path>.tmp-<pid>` in the same directory and renamed over `path`. On any error the
/// temporary file is removed and an existing file at `path` is untouched.
pub fn write_dose(path: &Path, out: &DoseOutput) -> Result<(), IoError> {
    let root_attrs = validate(path, out)?;
    let tmp = appended_temp(path)?;
    let result =
        write_file(&tmp, path, out, &root_attrs).and_then(|()| rename_into_place(&tmp, path));
    if result.is_err() {
        remove_quietly(&tmp);
    }
    result
}

/// Checks every input before the file is touched; returns the root attributes to write
/// (the grid's, then the caller's minus those that duplicate the grid's).
fn validate(path: &Path, out: &DoseOutput) -> Result<Vec<(String, AttrValue)>, IoError> {
    let g = out.grid;
    let n = g.len();
    let context = format!("grid {}x{}x{} voxels", g.dims[0], g.dims[1], g.dims[2]);
    let lens = [
        ("energy_deposit_mev", out.energy_deposit_mev.len()),
        ("dose_gy", out.dose_gy.len()),
        ("relative_uncertainty", out.relative_uncertainty.len()),
        ("labels", out.labels.len()),
        ("density_g_cm3", out.density_g_cm3.len()),
    ];
    for (what, got) in lens {
        if got != n {
            return Err(IoError::Length {
                path: path.to_path_buf(),
                what: what.into(),
                expected: n,
                got,
                context,
            });
        }
    }
    let mut organ_labels = HashSet::new();
    for row in out.organs {
        if !organ_labels.insert(row.label) {
            return Err(IoError::invalid(
                path,
                format!(
                    "organ label {} appears twice in the organ table: expected one row per label",
                    row.label
                ),
            ));
        }
        for (field, s) in [("name", &row.name), ("material", &row.material)] {
            if s.contains('\0') {
                return Err(IoError::invalid(
                    path,
                    format!(
                        "organ label {}: {field} {s:?} contains a NUL character: expected \
                         a string without NUL",
                        row.label
                    ),
                ));
            }
        }
    }
    let grid_attrs: Vec<(String, AttrValue)> = vec![
        (
            "dims_xyz".into(),
            AttrValue::U64Array(g.dims.iter().map(|&d| d as u64).collect()),
        ),
        (
            "voxel_size_mm".into(),
            AttrValue::F64Array(g.voxel_mm.to_vec()),
        ),
        (
            "origin_mm".into(),
            AttrValue::F64Array(g.origin_mm.to_vec()),
        ),
    ];
    check_attr_list(path, "/", out.root_attrs, &RESERVED_ROOT)?;
    check_attr_list(path, "/summary", out.summary_attrs, &["description"])?;
    let mut attrs = vec![
        (
            "format_version".to_string(),
            AttrValue::Str(FORMAT_VERSION.into()),
        ),
        (
            "hdf5_library_version".to_string(),
            AttrValue::Str(library_version()),
        ),
    ];
    attrs.extend(grid_attrs.iter().cloned());
    attrs.push((
        "axis_sign".into(),
        AttrValue::F64Array(g.axis_sign.to_vec()),
    ));
    for (name, value) in out.root_attrs {
        if let Some((_, expected)) = grid_attrs.iter().find(|(k, _)| k == name) {
            if !same_value(value, expected) {
                return Err(IoError::invalid(
                    path,
                    format!(
                        "root attribute `{name}` = {value:?} disagrees with the grid: \
                         expected {expected:?} (it may be left out: the writer writes it)"
                    ),
                ));
            }
            continue;
        }
        attrs.push((name.clone(), value.clone()));
    }
    Ok(attrs)
}

/// Names unique, non-empty, not reserved; string values without NUL.
fn check_attr_list(
    path: &Path,
    object: &str,
    attrs: &[(String, AttrValue)],
    reserved: &[&str],
) -> Result<(), IoError> {
    let mut seen = HashSet::new();
    for (name, value) in attrs {
        let problem = if name.is_empty() || name.contains('\0') || name.contains('/') {
            Some("expected a non-empty name without '/' or NUL".to_string())
        } else if reserved.contains(&name.as_str()) {
            Some("this name is reserved: the writer writes it itself".to_string())
        } else if !seen.insert(name.as_str()) {
            Some("it is given twice: expected unique names".to_string())
        } else if matches!(value, AttrValue::Str(s) if s.contains('\0')) {
            Some("its string value contains a NUL character".to_string())
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(IoError::invalid(
                path,
                format!("attribute {name:?} of `{object}`: {p}"),
            ));
        }
    }
    Ok(())
}

/// Whether a caller's attribute equals the grid-derived one (f64 to 1e-9 relative).
fn same_value(given: &AttrValue, expected: &AttrValue) -> bool {
    match (given, expected) {
        (AttrValue::F64Array(a), AttrValue::F64Array(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0))
        }
        (AttrValue::U64Array(a), AttrValue::U64Array(b)) => a == b,
        _ => false,
    }
}

/// An HDF5 error mapper naming the file, the object and the operation.
fn h5err<'a>(path: &'a Path, object: &'a str, op: &'a str) -> impl Fn(hdf5::Error) -> IoError + 'a {
    move |e| IoError::Hdf5 {
        path: path.to_path_buf(),
        object: object.to_string(),
        op: op.to_string(),
        message: e.to_string(),
    }
}

/// Chunk shape of a `[nz, ny, nx]` dataset of `elem` bytes: whole z-slices up to
/// [`CHUNK_BYTES`], or parts of one slice when a slice is larger.
pub(crate) fn chunk_shape(shape: [usize; 3], elem: usize) -> [usize; 3] {
    let [nz, ny, nx] = shape;
    let slice = ny * nx * elem;
    let row = nx * elem;
    if slice <= CHUNK_BYTES {
        [(CHUNK_BYTES / slice).clamp(1, nz), ny, nx]
    } else if row <= CHUNK_BYTES {
        [1, (CHUNK_BYTES / row).clamp(1, ny), nx]
    } else {
        [1, 1, (CHUNK_BYTES / elem).clamp(1, nx)]
    }
}

/// Writes the whole file at `tmp` (error messages name `path`, the final name).
fn write_file(
    tmp: &Path,
    path: &Path,
    out: &DoseOutput,
    root_attrs: &[(String, AttrValue)],
) -> Result<(), IoError> {
    let file = File::create(tmp).map_err(h5err(path, "/", "creating the temporary file"))?;
    {
        write_attrs(path, &file, "/", root_attrs)?;
        let shape = out.grid.shape_zyx();

        let dose = file
            .create_group("dose")
            .map_err(h5err(path, "/dose", "creating the group"))?;
        write_str_attr(
            path,
            &dose,
            "/dose",
            "description",
            "Monte Carlo tallies per voxel, arrays [nz, ny, nx] (x fastest), per history",
        )?;
        let data = [
            out.energy_deposit_mev,
            out.dose_gy,
            out.relative_uncertainty,
        ];
        for ((name, units, description), values) in DOSE_DATASETS.iter().zip(data) {
            write_volume(
                path,
                &dose,
                "/dose",
                name,
                values,
                shape,
                units,
                description,
            )?;
        }

        let phantom =
            file.create_group("phantom")
                .map_err(h5err(path, "/phantom", "creating the group"))?;
        write_str_attr(
            path,
            &phantom,
            "/phantom",
            "description",
            "the voxel phantom the run used, arrays [nz, ny, nx] (x fastest)",
        )?;
        write_volume(
            path,
            &phantom,
            "/phantom",
            "labels",
            out.labels,
            shape,
            "1",
            "label (organ) of each voxel; see /organs",
        )?;
        write_volume(
            path,
            &phantom,
            "/phantom",
            "density_g_cm3",
            out.density_g_cm3,
            shape,
            "g/cm3",
            "mass density of each voxel",
        )?;

        write_organs(path, &file, out.organs)?;

        let summary =
            file.create_group("summary")
                .map_err(h5err(path, "/summary", "creating the group"))?;
        write_str_attr(
            path,
            &summary,
            "/summary",
            "description",
            "run totals over all histories: energies in MeV summed over all histories \
             (not per history), counters as counts",
        )?;
        write_attrs(path, &summary, "/summary", out.summary_attrs)?;
        for g in out.tables {
            if ["dose", "phantom", "organs", "summary"].contains(&g.name) {
                return Err(IoError::invalid(
                    path,
                    format!("table `/{}` would replace a group of the layout", g.name),
                ));
            }
            write_table_group(path, &file, g)?;
        }
        file.flush()
            .map_err(h5err(path, "/", "flushing the file"))?;
    }
    file.close().map_err(h5err(path, "/", "closing the file"))
}

/// Writes one chunked, compressed 3-D dataset with its `units` and `description`.
fn write_volume<T: H5Type>(
    path: &Path,
    group: &Group,
    group_name: &str,
    name: &str,
    values: &[T],
    shape: [usize; 3],
    units: &str,
    description: &str,
) -> Result<(), IoError> {
    let object = format!("{group_name}/{name}");
    let view = ndarray::ArrayView3::from_shape(shape, values).map_err(|e| {
        IoError::invalid(
            path,
            format!("`{object}`: internal shape error {shape:?}: {e}"),
        )
    })?;
    let chunk = chunk_shape(shape, std::mem::size_of::<T>());
    let ds = group
        .new_dataset_builder()
        .with_data(view)
        .chunk(chunk)
        .shuffle()
        .deflate(GZIP_LEVEL)
        .create(name)
        .map_err(h5err(path, &object, "creating the dataset"))?;
    write_str_attr(path, &ds, &object, "units", units)?;
    write_str_attr(path, &ds, &object, "description", description)
}

/// Writes the organ table as 1-D columns of `/organs`.
fn write_organs(path: &Path, file: &File, organs: &[OrganRow]) -> Result<(), IoError> {
    let group =
        file.create_group("organs")
            .map_err(h5err(path, "/organs", "creating the group"))?;
    write_str_attr(
        path,
        &group,
        "/organs",
        "description",
        "organ table: 1-D columns of equal length, one row per label",
    )?;
    let labels: Vec<u32> = organs.iter().map(|o| o.label).collect();
    write_column(
        path,
        &group,
        "label",
        &labels,
        "1",
        "label value in /phantom/labels",
    )?;
    for (name, get, description) in [
        (
            "name",
            (|o: &OrganRow| &o.name) as fn(&OrganRow) -> &String,
            "organ name",
        ),
        (
            "material",
            |o: &OrganRow| &o.material,
            "material assigned to the label",
        ),
    ] {
        let values = organs
            .iter()
            .map(|o| {
                VarLenUnicode::from_str(get(o)).map_err(|e| {
                    IoError::invalid(path, format!("organ label {}: {name}: {e}", o.label))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        write_column(path, &group, name, &values, "text", description)?;
    }
    for (name, get, units, description) in [
        (
            "mass_kg",
            (|o: &OrganRow| o.mass_kg) as fn(&OrganRow) -> f64,
            "kg",
            "mass of the voxels with this label",
        ),
        (
            "energy_deposit_mev",
            |o: &OrganRow| o.energy_deposit_mev,
            "MeV per history",
            "energy deposited in the organ, mean per history (per decay)",
        ),
        (
            "dose_gy",
            |o: &OrganRow| o.dose_gy,
            "Gy per history",
            "mean absorbed dose in the organ, per history (per decay)",
        ),
        (
            "relative_uncertainty",
            |o: &OrganRow| o.relative_uncertainty,
            "1 (relative, 1 sigma)",
            "relative standard error (1 sigma) of the organ dose; NaN where nothing was deposited",
        ),
    ] {
        let values: Vec<f64> = organs.iter().map(get).collect();
        write_column(path, &group, name, &values, units, description)?;
    }
    Ok(())
}

fn write_column<T: H5Type>(
    path: &Path,
    group: &Group,
    name: &str,
    values: &[T],
    units: &str,
    description: &str,
) -> Result<(), IoError> {
    // The table's group: /organs in a dose file, /runs in a campaign index.
    let object = format!("{}/{name}", group.name());
    let ds = group
        .new_dataset_builder()
        .with_data(values)
        .create(name)
        .map_err(h5err(path, &object, "creating the dataset"))?;
    write_str_attr(path, &ds, &object, "units", units)?;
    write_str_attr(path, &ds, &object, "description", description)
}

fn write_str_attr(
    path: &Path,
    loc: &Location,
    object: &str,
    name: &str,
    value: &str,
) -> Result<(), IoError> {
    write_attr(path, loc, object, name, &AttrValue::Str(value.to_string()))
}

fn write_attrs(
    path: &Path,
    loc: &Location,
    object: &str,
    attrs: &[(String, AttrValue)],
) -> Result<(), IoError> {
    for (name, value) in attrs {
        write_attr(path, loc, object, name, value)?;
    }
    Ok(())
}

fn write_attr(
    path: &Path,
    loc: &Location,
    object: &str,
    name: &str,
    value: &AttrValue,
) -> Result<(), IoError> {
    let full = attr_object(object, name);
    let err = h5err(path, &full, "writing the attribute");
    match value {
        AttrValue::F64(v) => loc
            .new_attr::<f64>()
            .shape(())
            .create(name)
            .and_then(|a| a.write_scalar(v)),
        AttrValue::U64(v) => loc
            .new_attr::<u64>()
            .shape(())
            .create(name)
            .and_then(|a| a.write_scalar(v)),
        AttrValue::I64(v) => loc
            .new_attr::<i64>()
            .shape(())
            .create(name)
            .and_then(|a| a.write_scalar(v)),
        AttrValue::Str(s) => {
            let v = VarLenUnicode::from_str(s)
                .map_err(|e| IoError::invalid(path, format!("attribute `{full}`: {e}")))?;
            loc.new_attr::<VarLenUnicode>()
                .shape(())
                .create(name)
                .and_then(|a| a.write_scalar(&v))
        }
        AttrValue::F64Array(v) => loc
            .new_attr_builder()
            .with_data(v.as_slice())
            .create(name)
            .map(|_| ()),
        AttrValue::U64Array(v) => loc
            .new_attr_builder()
            .with_data(v.as_slice())
            .create(name)
            .map(|_| ()),
    }
    .map_err(err)
}

/// `object@name`, the way errors name an attribute.
fn attr_object(object: &str, name: &str) -> String {
    format!("{object}@{name}")
}

// ---------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------

fn open(path: &Path) -> Result<File, IoError> {
    if !path.is_file() {
        return Err(IoError::NotFound {
            path: path.to_path_buf(),
            detail: "expected an HDF5 file".into(),
        });
    }
    File::open(path).map_err(h5err(path, "/", "opening the file"))
}

/// The names of the members of the group that would hold `name`, for error messages.
fn siblings(file: &File, name: &str) -> String {
    let trimmed = name.trim_end_matches('/');
    let parent = match trimmed.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &trimmed[..i],
    };
    file.group(parent)
        .and_then(|g| g.member_names())
        .map(|m| m.join(", "))
        .unwrap_or_default()
}

fn dataset(path: &Path, file: &File, name: &str) -> Result<hdf5::Dataset, IoError> {
    let missing = || IoError::MissingObject {
        path: path.to_path_buf(),
        kind: "dataset",
        object: name.to_string(),
        available: siblings(file, name),
    };
    if !link_exists(file, name) {
        return Err(missing());
    }
    file.dataset(name).map_err(|_| missing())
}

/// Whether every component of `name` exists (H5Lexists needs the parents to exist).
fn link_exists(file: &File, name: &str) -> bool {
    let mut prefix = String::new();
    for part in name.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        if !file.link_exists(&prefix) {
            return false;
        }
    }
    !prefix.is_empty()
}

fn shape_and_type(
    path: &Path,
    ds: &hdf5::Dataset,
    name: &str,
) -> Result<(Vec<usize>, TypeDescriptor), IoError> {
    let desc = ds.dtype().and_then(|t| t.to_descriptor()).map_err(h5err(
        path,
        name,
        "reading the datatype",
    ))?;
    Ok((ds.shape(), desc))
}

/// Reads a whole numeric dataset as `f64`, flattened in C order (last index fastest),
/// with its shape (`[nz, ny, nx]` for the voxel datasets).
///
/// `name` is the full path of the dataset, e.g. `/dose/dose_gy`. Integer datasets are
/// converted to `f64`.
pub fn read_f64_dataset(path: &Path, name: &str) -> Result<(Vec<f64>, Vec<usize>), IoError> {
    let file = open(path)?;
    let ds = dataset(path, &file, name)?;
    let (shape, desc) = shape_and_type(path, &ds, name)?;
    if !matches!(
        desc,
        TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)
    ) {
        return Err(IoError::WrongType {
            path: path.to_path_buf(),
            object: name.into(),
            expected: "a numeric dataset".into(),
            found: format!("datatype {desc}"),
        });
    }
    let data = ds
        .read_raw::<f64>()
        .map_err(h5err(path, name, "reading the dataset"))?;
    Ok((data, shape))
}

/// Reads a whole unsigned-integer dataset (e.g. `/phantom/labels`, `/organs/label`) as
/// `u32`, flattened in C order, with its shape. Signed datasets are accepted when every
/// value is in `0..=u32::MAX`.
pub fn read_u32_dataset(path: &Path, name: &str) -> Result<(Vec<u32>, Vec<usize>), IoError> {
    let file = open(path)?;
    let ds = dataset(path, &file, name)?;
    let (shape, desc) = shape_and_type(path, &ds, name)?;
    let wrong = |found: String| IoError::WrongType {
        path: path.to_path_buf(),
        object: name.into(),
        expected: "an integer dataset with values in 0..=4294967295".into(),
        found,
    };
    let data = match desc {
        TypeDescriptor::Unsigned(IntSize::U1 | IntSize::U2 | IntSize::U4) => {
            ds.read_raw::<u32>()
                .map_err(h5err(path, name, "reading the dataset"))?
        }
        TypeDescriptor::Unsigned(_) | TypeDescriptor::Integer(_) => {
            let wide = ds
                .read_raw::<i64>()
                .map_err(h5err(path, name, "reading the dataset"))?;
            if let Some(v) = wide.iter().find(|&&v| v < 0 || v > u32::MAX as i64) {
                return Err(wrong(format!("the value {v}")));
            }
            wide.into_iter().map(|v| v as u32).collect()
        }
        other => return Err(wrong(format!("datatype {other}"))),
    };
    Ok((data, shape))
}

/// Reads a 1-D string dataset (e.g. `/organs/name`), variable-length UTF-8 or ASCII.
pub fn read_string_dataset(path: &Path, name: &str) -> Result<Vec<String>, IoError> {
    let file = open(path)?;
    let ds = dataset(path, &file, name)?;
    let (_, desc) = shape_and_type(path, &ds, name)?;
    let err = h5err(path, name, "reading the dataset");
    match desc {
        TypeDescriptor::VarLenUnicode => Ok(ds
            .read_raw::<VarLenUnicode>()
            .map_err(err)?
            .iter()
            .map(|s| s.as_str().to_string())
            .collect()),
        TypeDescriptor::VarLenAscii => Ok(ds
            .read_raw::<VarLenAscii>()
            .map_err(err)?
            .iter()
            .map(|s| s.as_str().to_string())
            .collect()),
        other => Err(IoError::WrongType {
            path: path.to_path_buf(),
            object: name.into(),
            expected: "a variable-length string dataset".into(),
            found: format!("datatype {other}"),
        }),
    }
}

/// Reads the organ table `/organs` back into rows.
///
/// # Errors
/// A missing column, or columns of different lengths, is an error naming the column.
pub fn read_organs(path: &Path) -> Result<Vec<OrganRow>, IoError> {
    let (labels, _) = read_u32_dataset(path, "/organs/label")?;
    let names = read_string_dataset(path, "/organs/name")?;
    let materials = read_string_dataset(path, "/organs/material")?;
    let mut columns = Vec::new();
    for c in [
        "mass_kg",
        "energy_deposit_mev",
        "dose_gy",
        "relative_uncertainty",
    ] {
        let name = format!("/organs/{c}");
        let (v, _) = read_f64_dataset(path, &name)?;
        columns.push((name, v));
    }
    let n = labels.len();
    let lens = [
        ("/organs/name".to_string(), names.len()),
        ("/organs/material".to_string(), materials.len()),
    ]
    .into_iter()
    .chain(columns.iter().map(|(k, v)| (k.clone(), v.len())));
    for (name, len) in lens {
        if len != n {
            return Err(IoError::WrongType {
                path: path.to_path_buf(),
                object: name,
                expected: format!("{n} rows (as /organs/label)"),
                found: format!("{len} rows"),
            });
        }
    }
    Ok((0..n)
        .map(|i| OrganRow {
            label: labels[i],
            name: names[i].clone(),
            material: materials[i].clone(),
            mass_kg: columns[0].1[i],
            energy_deposit_mev: columns[1].1[i],
            dose_gy: columns[2].1[i],
            relative_uncertainty: columns[3].1[i],
        })
        .collect())
}

/// Opens attribute `name` of `object` ("/" for the root, or a group or dataset path).
fn open_attr(path: &Path, file: &File, object: &str, name: &str) -> Result<Attribute, IoError> {
    let full = attr_object(object, name);
    let find = |loc: &Location| -> Result<Attribute, IoError> {
        let names = loc
            .attr_names()
            .map_err(h5err(path, object, "listing the attributes"))?;
        if !names.iter().any(|n| n == name) {
            return Err(IoError::MissingObject {
                path: path.to_path_buf(),
                kind: "attribute",
                object: full.clone(),
                available: names.join(", "),
            });
        }
        loc.attr(name)
            .map_err(h5err(path, &full, "opening the attribute"))
    };
    if object.trim_matches('/').is_empty() {
        return find(file);
    }
    if !link_exists(file, object) {
        return Err(IoError::MissingObject {
            path: path.to_path_buf(),
            kind: "group or dataset",
            object: object.to_string(),
            available: siblings(file, object),
        });
    }
    if let Ok(g) = file.group(object) {
        return find(&g);
    }
    let ds = file
        .dataset(object)
        .map_err(h5err(path, object, "opening the object"))?;
    find(&ds)
}

/// The attribute's type, after checking that it is a scalar.
fn scalar_type(path: &Path, attr: &Attribute, full: &str) -> Result<TypeDescriptor, IoError> {
    let shape = attr.shape();
    if !shape.is_empty() {
        return Err(IoError::WrongType {
            path: path.to_path_buf(),
            object: full.into(),
            expected: "a scalar attribute".into(),
            found: format!("an array of shape {shape:?}"),
        });
    }
    attr.dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(h5err(path, full, "reading the datatype"))
}

/// Reads a scalar numeric attribute of the root (`object = "/"`) or of a group or dataset
/// (e.g. `"/summary"`) as `f64`. Integer attributes are converted.
pub fn read_attr_f64(path: &Path, object: &str, name: &str) -> Result<f64, IoError> {
    let file = open(path)?;
    let attr = open_attr(path, &file, object, name)?;
    let full = attr_object(object, name);
    let desc = scalar_type(path, &attr, &full)?;
    if !matches!(
        desc,
        TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)
    ) {
        return Err(IoError::WrongType {
            path: path.to_path_buf(),
            object: full,
            expected: "a numeric attribute".into(),
            found: format!("datatype {desc}"),
        });
    }
    attr.read_scalar::<f64>()
        .map_err(h5err(path, &full, "reading the attribute"))
}

/// Reads a scalar non-negative integer attribute as `u64` (signed integer attributes are
/// accepted when non-negative; floats are rejected).
pub fn read_attr_u64(path: &Path, object: &str, name: &str) -> Result<u64, IoError> {
    let file = open(path)?;
    let attr = open_attr(path, &file, object, name)?;
    let full = attr_object(object, name);
    let desc = scalar_type(path, &attr, &full)?;
    let err = h5err(path, &full, "reading the attribute");
    match desc {
        TypeDescriptor::Unsigned(_) => attr.read_scalar::<u64>().map_err(err),
        TypeDescriptor::Integer(_) => {
            let v = attr.read_scalar::<i64>().map_err(err)?;
            u64::try_from(v).map_err(|_| IoError::WrongType {
                path: path.to_path_buf(),
                object: full.clone(),
                expected: "a non-negative integer".into(),
                found: format!("{v}"),
            })
        }
        other => Err(IoError::WrongType {
            path: path.to_path_buf(),
            object: full.clone(),
            expected: "an integer attribute".into(),
            found: format!("datatype {other}"),
        }),
    }
}

/// Reads a scalar variable-length string attribute (UTF-8 or ASCII).
pub fn read_attr_string(path: &Path, object: &str, name: &str) -> Result<String, IoError> {
    let file = open(path)?;
    let attr = open_attr(path, &file, object, name)?;
    let full = attr_object(object, name);
    let desc = scalar_type(path, &attr, &full)?;
    let err = h5err(path, &full, "reading the attribute");
    match desc {
        TypeDescriptor::VarLenUnicode => attr
            .read_scalar::<VarLenUnicode>()
            .map(|s| s.as_str().to_string())
            .map_err(err),
        TypeDescriptor::VarLenAscii => attr
            .read_scalar::<VarLenAscii>()
            .map(|s| s.as_str().to_string())
            .map_err(err),
        other => Err(IoError::WrongType {
            path: path.to_path_buf(),
            object: full.clone(),
            expected: "a variable-length string attribute".into(),
            found: format!("datatype {other}"),
        }),
    }
}

/// Reads a 1-D numeric array attribute (e.g. `voxel_size_mm`, `dims_xyz`) as `f64`.
pub fn read_attr_f64_array(path: &Path, object: &str, name: &str) -> Result<Vec<f64>, IoError> {
    let file = open(path)?;
    let attr = open_attr(path, &file, object, name)?;
    let full = attr_object(object, name);
    let desc = attr.dtype().and_then(|t| t.to_descriptor()).map_err(h5err(
        path,
        &full,
        "reading the datatype",
    ))?;
    let shape = attr.shape();
    if shape.len() != 1
        || !matches!(
            desc,
            TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)
        )
    {
        return Err(IoError::WrongType {
            path: path.to_path_buf(),
            object: full,
            expected: "a 1-D numeric array attribute".into(),
            found: format!("datatype {desc}, shape {shape:?}"),
        });
    }
    attr.read_raw::<f64>()
        .map_err(h5err(path, &full, "reading the attribute"))
}

/// The HDF5 C library version linked, e.g. "1.10.8" (written into every file as the root
/// attribute `hdf5_library_version`).
pub fn library_version() -> String {
    let (major, minor, micro) = hdf5::library_version();
    format!("{major}.{minor}.{micro}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_whole_slices_up_to_one_mib() {
        assert_eq!(chunk_shape([5, 4, 3], 8), [5, 4, 3]);
        // 128 x 128 f64 slices are 128 KiB: 8 of them per chunk.
        assert_eq!(chunk_shape([300, 128, 128], 8), [8, 128, 128]);
        // 512 x 512 f64 slices are 2 MiB: parts of a slice.
        assert_eq!(chunk_shape([300, 512, 512], 8), [1, 256, 512]);
        assert_eq!(chunk_shape([2, 3, 1 << 20], 8), [1, 1, 1 << 17]);
        for shape in [[1, 1, 1], [7, 1000, 3], [1, 1, 5000000]] {
            let c = chunk_shape(shape, 4);
            assert!(c.iter().zip(shape).all(|(c, s)| *c >= 1 && *c <= s));
            assert!(c.iter().product::<usize>() * 4 <= CHUNK_BYTES);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Campaign index
// ---------------------------------------------------------------------------------------

/// Layout version of the campaign index file (`campaign.h5`), `"MAJOR.MINOR"`.
pub const CAMPAIGN_FORMAT_VERSION: &str = "1.0";

/// One run of a campaign as recorded in the campaign index.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignRunRow {
    /// Run identifier, e.g. `run-00007`.
    pub id: String,
    /// The run's parameters in words (`source.nuclide=Tc-99m phantom.radius_mm=40`).
    pub label: String,
    /// `pending`, `done` or `failed`.
    pub status: String,
    /// The run's dose file, relative to the campaign index's directory.
    pub file: String,
    /// Fingerprint of the run's resolved configuration (16 hex digits).
    pub config_fingerprint: String,
    /// Histories run (0 unless done).
    pub histories: u64,
    /// Wall time of the run's transport \[s\] (NaN unless done).
    pub wall_seconds: f64,
    /// The error of a failed run (empty otherwise).
    pub error: String,
    /// FNV-1a 64-bit digest of the bytes of a done run's dose file (empty otherwise).
    pub checksum: String,
}

/// Writes (atomically: temporary file, then rename) a campaign index: root attributes
/// `attrs` plus `campaign_format_version`; a group `/runs` of equal-length 1-D columns
/// (one row per run: `id`, `label`, `status`, `file`, `config_fingerprint`, `error`,
/// `checksum` strings, `histories` u64, `wall_seconds` f64); and a group `/run` holding, for each run
/// whose status is `done`, an HDF5 external link `/run/<id>` to the root of its dose file
/// (resolved relative to the index file's directory), so that `f["run/run-00007/dose/dose_gy"]`
/// reads a run's dose map through the index.
pub fn write_campaign_index(
    path: &Path,
    attrs: &[(String, AttrValue)],
    runs: &[CampaignRunRow],
) -> Result<(), IoError> {
    write_campaign_index_with(path, attrs, runs, &[], &[])
}

/// [`write_campaign_index`] with more content: groups of columns `groups` (written like
/// a [`TableFile`]'s) and 2-D datasets `matrices`, each `(group, matrix)` in the named
/// group (one of `groups`; `""` for the root). Used for the trajectories of a growth
/// campaign (`docs/campaign.md`, "Growth campaigns").
pub fn write_campaign_index_with(
    path: &Path,
    attrs: &[(String, AttrValue)],
    runs: &[CampaignRunRow],
    groups: &[TableGroup],
    matrices: &[(&str, Matrix)],
) -> Result<(), IoError> {
    for (g, m) in matrices {
        if m.values.len() != m.shape[0] * m.shape[1] {
            return Err(IoError::invalid(
                path,
                format!(
                    "`{g}/{}` has {} values: expected {} x {}",
                    m.name,
                    m.values.len(),
                    m.shape[0],
                    m.shape[1]
                ),
            ));
        }
        if !g.is_empty() && !groups.iter().any(|t| t.name == *g) {
            return Err(IoError::invalid(
                path,
                format!("matrix `{}` is in group `{g}`, which is not given", m.name),
            ));
        }
    }
    let tmp = appended_temp(path)?;
    let result = write_campaign_file(&tmp, path, attrs, runs, groups, matrices)
        .and_then(|()| rename_into_place(&tmp, path));
    if result.is_err() {
        remove_quietly(&tmp);
    }
    result
}

fn write_campaign_file(
    tmp: &Path,
    path: &Path,
    attrs: &[(String, AttrValue)],
    runs: &[CampaignRunRow],
    groups: &[TableGroup],
    matrices: &[(&str, Matrix)],
) -> Result<(), IoError> {
    let file = File::create(tmp).map_err(h5err(path, "/", "creating the file"))?;
    write_str_attr(
        path,
        &file,
        "/",
        "campaign_format_version",
        CAMPAIGN_FORMAT_VERSION,
    )?;
    write_attrs(path, &file, "/", attrs)?;
    let group = file
        .create_group("runs")
        .map_err(h5err(path, "/runs", "creating the group"))?;
    write_str_attr(
        path,
        &group,
        "/runs",
        "description",
        "campaign run table: 1-D columns of equal length, one row per run, in expansion order",
    )?;
    type Get = fn(&CampaignRunRow) -> &String;
    let text: [(&str, Get, &str); 7] = [
        ("id", |r| &r.id, "run identifier"),
        ("label", |r| &r.label, "the run's parameters"),
        ("status", |r| &r.status, "pending, done or failed"),
        (
            "file",
            |r| &r.file,
            "the run's dose file, relative to this file",
        ),
        (
            "config_fingerprint",
            |r| &r.config_fingerprint,
            "FNV-1a 64-bit digest of the run's resolved configuration",
        ),
        (
            "error",
            |r| &r.error,
            "error of a failed run, empty otherwise",
        ),
        (
            "checksum",
            |r| &r.checksum,
            "FNV-1a 64-bit digest of the done run's dose file bytes",
        ),
    ];
    for (name, get, description) in text {
        let values = runs
            .iter()
            .map(|r| {
                VarLenUnicode::from_str(get(r))
                    .map_err(|e| IoError::invalid(path, format!("run {}: {name}: {e}", r.id)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        write_column(path, &group, name, &values, "text", description)?;
    }
    let histories: Vec<u64> = runs.iter().map(|r| r.histories).collect();
    write_column(path, &group, "histories", &histories, "1", "histories run")?;
    let wall: Vec<f64> = runs.iter().map(|r| r.wall_seconds).collect();
    write_column(
        path,
        &group,
        "wall_seconds",
        &wall,
        "s",
        "wall time of the run's transport; NaN unless done",
    )?;
    let links = file
        .create_group("run")
        .map_err(h5err(path, "/run", "creating the group"))?;
    for r in runs.iter().filter(|r| r.status == "done") {
        links.link_external(&r.file, "/", &r.id).map_err(h5err(
            path,
            &format!("/run/{}", r.id),
            "creating the external link",
        ))?;
    }
    for g in groups {
        write_table_group(path, &file, g)?;
    }
    for (g, m) in matrices {
        let group = file
            .group(if g.is_empty() { "/" } else { g })
            .map_err(h5err(path, g, "opening the group"))?;
        write_matrix(path, &group, &format!("{g}/{}", m.name), m)?;
    }
    Ok(())
}

/// Writes the 2-D dataset `m` (with its `units` and `description`) into `group`; `object`
/// is its full name for error messages.
fn write_matrix(path: &Path, group: &hdf5::Group, object: &str, m: &Matrix) -> Result<(), IoError> {
    let view = ndarray::ArrayView2::from_shape(m.shape, m.values)
        .map_err(|e| IoError::invalid(path, format!("`{object}`: internal shape error: {e}")))?;
    let ds = group
        .new_dataset_builder()
        .with_data(view)
        .create(m.name)
        .map_err(h5err(path, object, "creating the dataset"))?;
    write_str_attr(path, &ds, object, "units", m.units)?;
    write_str_attr(path, &ds, object, "description", m.description)
}

/// Version of the checkpoint layout written by [`write_checkpoint`].
pub const CHECKPOINT_FORMAT_VERSION: &str = "1.1";

/// Writes a checkpoint of a run in progress: root attributes `attrs` (plus
/// `checkpoint_format_version`) and 1-D datasets, `f64` (`f64_arrays`, e.g. the per-voxel
/// batch sums) and `u64` (`u64_arrays`, e.g. exact counter words), stored uncompressed so
/// that they read back bit for bit. Written to a temporary file and renamed into place: a
/// checkpoint is complete or absent. Layout in `docs/formats.md`.
pub fn write_checkpoint(
    path: &Path,
    attrs: &[(String, AttrValue)],
    f64_arrays: &[(&str, &[f64])],
    u64_arrays: &[(&str, &[u64])],
) -> Result<(), IoError> {
    let tmp = appended_temp(path)?;
    let result = (|| {
        let file = File::create(&tmp).map_err(h5err(path, "/", "creating the file"))?;
        write_str_attr(
            path,
            &file,
            "/",
            "checkpoint_format_version",
            CHECKPOINT_FORMAT_VERSION,
        )?;
        write_attrs(path, &file, "/", attrs)?;
        for (name, data) in f64_arrays {
            file.new_dataset_builder()
                .with_data(*data)
                .create(*name)
                .map_err(h5err(path, name, "writing the dataset"))?;
        }
        for (name, data) in u64_arrays {
            file.new_dataset_builder()
                .with_data(*data)
                .create(*name)
                .map_err(h5err(path, name, "writing the dataset"))?;
        }
        file.close().map_err(h5err(path, "/", "closing the file"))
    })()
    .and_then(|()| rename_into_place(&tmp, path));
    if result.is_err() {
        remove_quietly(&tmp);
    }
    result
}

/// Reads a whole 1-D unsigned 64-bit dataset (e.g. a checkpoint's counter words).
pub fn read_u64_dataset(path: &Path, name: &str) -> Result<Vec<u64>, IoError> {
    let file = open(path)?;
    let ds = dataset(path, &file, name)?;
    let (_, desc) = shape_and_type(path, &ds, name)?;
    if !matches!(desc, TypeDescriptor::Unsigned(IntSize::U8)) {
        return Err(IoError::WrongType {
            path: path.to_path_buf(),
            object: name.into(),
            expected: "an unsigned 64-bit integer dataset".into(),
            found: format!("datatype {desc}"),
        });
    }
    ds.read_raw::<u64>()
        .map_err(h5err(path, name, "reading the dataset"))
}

// ---------------------------------------------------------------------------------------
// Voxel S-value kernel
// ---------------------------------------------------------------------------------------

/// Layout version of the voxel S-value file written by [`write_svalues`] (root attribute
/// `svalues_format_version`), `"MAJOR.MINOR"`.
pub const SVALUES_FORMAT_VERSION: &str = "1.0";

/// Format name of the voxel S-value file (root attribute `format_name`).
pub const SVALUES_FORMAT_NAME: &str = "pedisim-svalues";

/// One row of the octant table (`/octant`) of a voxel S-value file: a target voxel at
/// integer offsets `(i, j, k)` from the source voxel, `0 <= i, j, k <= (size-1)/2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SValueRow {
    /// Offset along x \[voxels\].
    pub i: u32,
    /// Offset along y \[voxels\].
    pub j: u32,
    /// Offset along z \[voxels\].
    pub k: u32,
    /// Voxel S value \[mGy/(MBq s)\]: mean absorbed dose in the target voxel per decay in
    /// the source voxel, per MBq s of cumulated activity.
    pub s_mgy_per_mbq_s: f64,
    /// Relative statistical uncertainty (1 sigma) of the S value \[1\]; NaN where nothing
    /// was deposited.
    pub relative_uncertainty: f64,
}

/// Everything a voxel S-value file holds.
#[derive(Clone, Copy, Debug)]
pub struct SValueOutput<'a> {
    /// Voxels per side of the kernel (odd); offsets run from `-(size-1)/2` to
    /// `(size-1)/2`.
    pub size: usize,
    /// S value of every voxel of the kernel cube \[mGy/(MBq s)\], `size^3` values, x
    /// fastest: offset `(i, j, k)` at `(i + h) + size * ((j + h) + size * (k + h))` with
    /// `h = (size-1)/2`; stored as a `[size, size, size]` dataset indexed `[k, j, i]`.
    pub s_value_mgy_per_mbq_s: &'a [f64],
    /// Relative statistical uncertainty (1 sigma) of each S value \[1\], same layout; NaN
    /// where nothing was deposited.
    pub relative_uncertainty: &'a [f64],
    /// The octant table, `((size+1)/2)^3` rows.
    pub octant: &'a [SValueRow],
    /// Root attributes given by the caller (nuclide, material, density, histories, ...).
    /// `format_name` and `svalues_format_version` are written by the writer and must not
    /// be given.
    pub root_attrs: &'a [(String, AttrValue)],
}

/// Writes a voxel S-value file atomically (temporary file in the same directory, renamed
/// into place; on error the temporary file is removed and an existing file is untouched).
///
/// Layout (documented in `docs/formats.md`): root attributes `format_name`
/// (`"pedisim-svalues"`), `svalues_format_version` and the caller's; datasets
/// `/s_value_mgy_per_mbq_s` and `/relative_uncertainty` (f64, `[size, size, size]`, with
/// `units` and `description` attributes); group `/octant` with 1-D columns `i`, `j`, `k`
/// (u32), `s_value_mgy_per_mbq_s` and `relative_uncertainty` (f64). Inputs are checked
/// before anything is created.
pub fn write_svalues(path: &Path, out: &SValueOutput) -> Result<(), IoError> {
    let n = out.size;
    if n == 0 || n.is_multiple_of(2) {
        return Err(IoError::invalid(
            path,
            format!("S-value kernel size {n}: expected an odd number of voxels >= 1"),
        ));
    }
    let cube = n * n * n;
    for (what, len) in [
        ("s_value_mgy_per_mbq_s", out.s_value_mgy_per_mbq_s.len()),
        ("relative_uncertainty", out.relative_uncertainty.len()),
    ] {
        if len != cube {
            return Err(IoError::invalid(
                path,
                format!("`/{what}` has {len} values: expected {cube} ({n}^3)"),
            ));
        }
    }
    let h = (n - 1) / 2;
    let rows = (h + 1).pow(3);
    if out.octant.len() != rows {
        return Err(IoError::invalid(
            path,
            format!(
                "the octant table has {} rows: expected {rows} (({h} + 1)^3)",
                out.octant.len()
            ),
        ));
    }
    let mut names = HashSet::new();
    for (name, _) in out.root_attrs {
        if name == "format_name" || name == "svalues_format_version" {
            return Err(IoError::invalid(
                path,
                format!("root attribute `{name}` is written by the writer; do not give it"),
            ));
        }
        if !names.insert(name.as_str()) {
            return Err(IoError::invalid(
                path,
                format!("root attribute `{name}` given twice"),
            ));
        }
    }
    let tmp = appended_temp(path)?;
    let result = write_svalues_file(&tmp, path, out).and_then(|()| rename_into_place(&tmp, path));
    if result.is_err() {
        remove_quietly(&tmp);
    }
    result
}

fn write_svalues_file(tmp: &Path, path: &Path, out: &SValueOutput) -> Result<(), IoError> {
    let file = File::create(tmp).map_err(h5err(path, "/", "creating the temporary file"))?;
    {
        write_str_attr(path, &file, "/", "format_name", SVALUES_FORMAT_NAME)?;
        write_str_attr(
            path,
            &file,
            "/",
            "svalues_format_version",
            SVALUES_FORMAT_VERSION,
        )?;
        write_attrs(path, &file, "/", out.root_attrs)?;
        let n = out.size;
        write_volume(
            path,
            &file,
            "",
            "s_value_mgy_per_mbq_s",
            out.s_value_mgy_per_mbq_s,
            [n, n, n],
            "mGy/(MBq s)",
            "voxel S value: mean absorbed dose in the target voxel per unit cumulated \
             activity in the central (source) voxel; array [k, j, i] over offsets \
             -(size-1)/2..(size-1)/2 (x fastest)",
        )?;
        write_volume(
            path,
            &file,
            "",
            "relative_uncertainty",
            out.relative_uncertainty,
            [n, n, n],
            "1 (relative, 1 sigma)",
            "relative standard error (1 sigma) of the S value, from batch statistics of its \
             symmetry class; NaN where nothing was deposited",
        )?;
        let group =
            file.create_group("octant")
                .map_err(h5err(path, "/octant", "creating the group"))?;
        write_str_attr(
            path,
            &group,
            "/octant",
            "description",
            "S values of the octant 0 <= i, j, k <= (size-1)/2: 1-D columns of equal \
             length, one row per voxel, i slowest and k fastest",
        )?;
        type Index = fn(&SValueRow) -> u32;
        let index: [(&str, Index, &str); 3] = [
            ("i", |r| r.i, "offset of the target voxel along x"),
            ("j", |r| r.j, "offset of the target voxel along y"),
            ("k", |r| r.k, "offset of the target voxel along z"),
        ];
        for (name, get, description) in index {
            let values: Vec<u32> = out.octant.iter().map(get).collect();
            write_column(path, &group, name, &values, "voxels", description)?;
        }
        let s: Vec<f64> = out.octant.iter().map(|r| r.s_mgy_per_mbq_s).collect();
        write_column(
            path,
            &group,
            "s_value_mgy_per_mbq_s",
            &s,
            "mGy/(MBq s)",
            "voxel S value of the target voxel (i, j, k)",
        )?;
        let rel: Vec<f64> = out.octant.iter().map(|r| r.relative_uncertainty).collect();
        write_column(
            path,
            &group,
            "relative_uncertainty",
            &rel,
            "1 (relative, 1 sigma)",
            "relative standard error (1 sigma) of the S value; NaN where nothing was deposited",
        )?;
        file.flush()
            .map_err(h5err(path, "/", "flushing the file"))?;
    }
    file.close().map_err(h5err(path, "/", "closing the file"))
}

// ---------------------------------------------------------------------------------------
// Table files (S matrices, organ-dose results)
// ---------------------------------------------------------------------------------------

/// The values of one column of a [`TableGroup`].
#[derive(Clone, Debug)]
pub enum ColumnValues<'a> {
    /// Real numbers.
    F64(&'a [f64]),
    /// Counts.
    U64(&'a [u64]),
    /// Text (names).
    Str(&'a [String]),
}

impl ColumnValues<'_> {
    fn len(&self) -> usize {
        match self {
            Self::F64(v) => v.len(),
            Self::U64(v) => v.len(),
            Self::Str(v) => v.len(),
        }
    }
}

/// One column: a 1-D dataset with `units` and `description` attributes.
#[derive(Clone, Debug)]
pub struct Column<'a> {
    /// Dataset name.
    pub name: &'a str,
    /// Values.
    pub values: ColumnValues<'a>,
    /// Units (`"1"` for dimensionless, `"text"` for names).
    pub units: &'a str,
    /// What the column holds.
    pub description: &'a str,
}

/// A group of columns of equal length (one row per item).
#[derive(Clone, Debug)]
pub struct TableGroup<'a> {
    /// Group name (`"targets"` for `/targets`).
    pub name: &'a str,
    /// What a row is.
    pub description: &'a str,
    /// The columns.
    pub columns: Vec<Column<'a>>,
}

/// A 2-D real dataset at the root, row major (`values[r * cols + c]`).
#[derive(Clone, Debug)]
pub struct Matrix<'a> {
    /// Dataset name.
    pub name: &'a str,
    /// Values, `rows * cols`.
    pub values: &'a [f64],
    /// `[rows, cols]`.
    pub shape: [usize; 2],
    /// Units.
    pub units: &'a str,
    /// What the matrix holds (and what its axes are).
    pub description: &'a str,
}

/// The values of a [`Volume`].
#[derive(Clone, Debug)]
pub enum VolumeValues<'a> {
    /// Single-precision reals (fields stored for inspection, e.g. growth snapshots).
    F32(&'a [f32]),
    /// Double-precision reals.
    F64(&'a [f64]),
    /// Labels.
    U32(&'a [u32]),
}

impl VolumeValues<'_> {
    fn len(&self) -> usize {
        match self {
            Self::F32(v) => v.len(),
            Self::F64(v) => v.len(),
            Self::U32(v) => v.len(),
        }
    }
}

/// A chunked, compressed (shuffle + gzip) dataset of 3 or 4 dimensions, C order: a voxel
/// field `[nz, ny, nx]`, or a series of them `[n, nz, ny, nx]` (one chunk never spans two
/// members of the series).
#[derive(Clone, Debug)]
pub struct Volume<'a> {
    /// Group holding the dataset: `""` for the root, else the name of one of the file's
    /// [`TableGroup`]s (which may have no columns), which gives the group its description.
    pub group: &'a str,
    /// Dataset name.
    pub name: &'a str,
    /// Shape, slowest axis first.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub values: VolumeValues<'a>,
    /// Units.
    pub units: &'a str,
    /// What the dataset holds (and what its axes are).
    pub description: &'a str,
}

/// A file of tables: root attributes (`format_name`, a format-version attribute, the
/// caller's), groups of columns, 2-D datasets and voxel volumes. Used for S matrices,
/// organ-dose results and growth results (layouts in `docs/formats.md`).
#[derive(Clone, Debug)]
pub struct TableFile<'a> {
    /// Value of the root attribute `format_name`.
    pub format_name: &'a str,
    /// Name and value of the format-version root attribute.
    pub format_version: (&'a str, &'a str),
    /// The caller's root attributes.
    pub root_attrs: &'a [(String, AttrValue)],
    /// Groups of columns.
    pub groups: Vec<TableGroup<'a>>,
    /// 2-D datasets at the root.
    pub matrices: Vec<Matrix<'a>>,
    /// Voxel volumes (3-D or 4-D).
    pub volumes: Vec<Volume<'a>>,
}

/// Writes a [`TableFile`] atomically (temporary file in the same directory, renamed into
/// place; on error the temporary file is removed and an existing file is untouched).
/// Errors for columns of unequal length in a group, a matrix whose values do not fill its
/// shape, or a root attribute given twice or named like the writer's own.
pub fn write_table_file(path: &Path, t: &TableFile) -> Result<(), IoError> {
    let mut names = HashSet::new();
    for (name, _) in t.root_attrs {
        if name == "format_name" || name == t.format_version.0 {
            return Err(IoError::invalid(
                path,
                format!("root attribute `{name}` is written by the writer; do not give it"),
            ));
        }
        if !names.insert(name.as_str()) {
            return Err(IoError::invalid(
                path,
                format!("root attribute `{name}` given twice"),
            ));
        }
    }
    for m in &t.matrices {
        if m.values.len() != m.shape[0] * m.shape[1] {
            return Err(IoError::invalid(
                path,
                format!(
                    "`/{}` has {} values: expected {} x {}",
                    m.name,
                    m.values.len(),
                    m.shape[0],
                    m.shape[1]
                ),
            ));
        }
    }
    for v in &t.volumes {
        if !v.group.is_empty() && !t.groups.iter().any(|g| g.name == v.group) {
            return Err(IoError::invalid(
                path,
                format!(
                    "volume `{}` is in group `{}`, which is not one of the file's table groups",
                    v.name, v.group
                ),
            ));
        }
        let n: usize = v.shape.iter().product();
        if !(3..=4).contains(&v.shape.len()) || n != v.values.len() {
            return Err(IoError::invalid(
                path,
                format!(
                    "`{}/{}` has {} values and shape {:?}: expected 3 or 4 dimensions whose product is the number of values",
                    v.group,
                    v.name,
                    v.values.len(),
                    v.shape
                ),
            ));
        }
    }
    let tmp = appended_temp(path)?;
    let result = write_table_file_to(&tmp, path, t).and_then(|()| rename_into_place(&tmp, path));
    if result.is_err() {
        remove_quietly(&tmp);
    }
    result
}

/// Writes one group of equal-length columns.
fn write_table_group(path: &Path, file: &File, g: &TableGroup) -> Result<(), IoError> {
    let object = format!("/{}", g.name);
    if let Some(first) = g.columns.first() {
        let n = first.values.len();
        if let Some(c) = g.columns.iter().find(|c| c.values.len() != n) {
            return Err(IoError::invalid(
                path,
                format!(
                    "`{object}/{}` has {} rows: expected {n} like `{object}/{}`",
                    c.name,
                    c.values.len(),
                    first.name
                ),
            ));
        }
    }
    let group = file
        .create_group(g.name)
        .map_err(h5err(path, &object, "creating the group"))?;
    write_str_attr(path, &group, &object, "description", g.description)?;
    for c in &g.columns {
        match &c.values {
            ColumnValues::F64(v) => write_column(path, &group, c.name, v, c.units, c.description)?,
            ColumnValues::U64(v) => write_column(path, &group, c.name, v, c.units, c.description)?,
            ColumnValues::Str(v) => {
                let values = v
                    .iter()
                    .map(|s| {
                        VarLenUnicode::from_str(s).map_err(|e| {
                            IoError::invalid(path, format!("`{object}/{}`: {e}", c.name))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                write_column(path, &group, c.name, &values, c.units, c.description)?
            }
        }
    }
    Ok(())
}

fn write_table_file_to(tmp: &Path, path: &Path, t: &TableFile) -> Result<(), IoError> {
    let file = File::create(tmp).map_err(h5err(path, "/", "creating the temporary file"))?;
    write_str_attr(path, &file, "/", "format_name", t.format_name)?;
    write_str_attr(path, &file, "/", t.format_version.0, t.format_version.1)?;
    write_attrs(path, &file, "/", t.root_attrs)?;
    for g in &t.groups {
        write_table_group(path, &file, g)?;
    }
    for m in &t.matrices {
        write_matrix(path, &file, &format!("/{}", m.name), m)?;
    }
    for v in &t.volumes {
        let group = file
            .group(if v.group.is_empty() { "/" } else { v.group })
            .map_err(h5err(path, v.group, "opening the group"))?;
        match &v.values {
            VolumeValues::F32(x) => write_nd(path, &group, v, x)?,
            VolumeValues::F64(x) => write_nd(path, &group, v, x)?,
            VolumeValues::U32(x) => write_nd(path, &group, v, x)?,
        }
    }
    file.close()
        .map_err(h5err(path, "/", "closing the temporary file"))
}

/// Writes one [`Volume`] (3-D or 4-D), chunked like the dose volumes (a 4-D series per
/// member) and compressed.
fn write_nd<T: H5Type>(
    path: &Path,
    group: &Group,
    v: &Volume,
    values: &[T],
) -> Result<(), IoError> {
    let object = format!("{}/{}", v.group, v.name);
    let view = ndarray::ArrayViewD::from_shape(ndarray::IxDyn(&v.shape), values).map_err(|e| {
        IoError::invalid(
            path,
            format!("`{object}`: internal shape error {:?}: {e}", v.shape),
        )
    })?;
    let d = v.shape.len();
    let inner = chunk_shape(
        [v.shape[d - 3], v.shape[d - 2], v.shape[d - 1]],
        std::mem::size_of::<T>(),
    );
    let chunk: Vec<usize> = if d == 4 {
        vec![1, inner[0], inner[1], inner[2]]
    } else {
        inner.to_vec()
    };
    let ds = group
        .new_dataset_builder()
        .with_data(view)
        .chunk(chunk)
        .shuffle()
        .deflate(GZIP_LEVEL)
        .create(v.name)
        .map_err(h5err(path, &object, "creating the dataset"))?;
    write_str_attr(path, &ds, &object, "units", v.units)?;
    write_str_attr(path, &ds, &object, "description", v.description)
}

/// Reads a 2-D real dataset: (values row major, `[rows, cols]`).
pub fn read_matrix(path: &Path, name: &str) -> Result<(Vec<f64>, [usize; 2]), IoError> {
    let (v, shape) = read_f64_dataset(path, name)?;
    if shape.len() != 2 {
        return Err(IoError::invalid(
            path,
            format!("`{name}` has shape {shape:?}: expected a 2-D dataset"),
        ));
    }
    Ok((v, [shape[0], shape[1]]))
}
