//! `pedisim report`: PNG figures of a dose file (docs/report.md).
//!
//! [`report`] reads a dose file (docs/formats.md section 2, layout 1.x) and writes into
//! the output directory:
//!
//! - [`SLICES_PNG`] (`dose_slices.png`): the axial, coronal and sagittal slices of
//!   `/dose/dose_gy` through one voxel (the voxel of maximum dose unless chosen) over
//!   `/phantom/density_g_cm3`, with a colour bar and isodose lines at 10, 30, 50, 70 and
//!   90 % of the maximum ([`pedisim_report::dose_slices`]);
//! - [`DVH_PNG`] (`dvh.png`): the cumulative dose-volume histograms of the organs
//!   ([`pedisim_report::dvh_plot`]): every label of `/organs` with mass except label 0
//!   and labels named or made of air or vacuum. The curves are those of `/dvh` (layout
//!   1.5); files without `/dvh` (older layouts) get them computed from the voxel doses
//!   and masses (density x voxel volume), 101 levels from 0 to each organ's maximum as
//!   the writer does. With no such organ (e.g. a phantom of air and label 0 only), no DVH
//!   figure is written.
//!
//! A growth result (docs/formats.md section 11, `format_name = "pedisim-growth"`) gets
//! instead ([`growth_report`]):
//!
//! - [`GROWTH_CELLS_PNG`] (`growth_cells.png`): the number of tumour cells (agent model:
//!   live, apoptotic and necrotic cells) against time on a logarithmic axis, with grey lines at the external-beam fractions and the
//!   radiopharmaceutical's administration;
//! - [`GROWTH_RADIUS_PNG`] (`growth_radius.png`): the equivalent radius of the detectable
//!   tumour against time, with the same markers;
//! - `growth_snapshot_dayT.png` (continuum model only) for every snapshot time T with cells: the three
//!   orthogonal slices of the cell density through the voxel of largest initial density,
//!   over the tissues the tumour may invade (grey: the diffusion coefficient), with
//!   contours at the detection threshold and at 80 % of the largest density.
//!
//! Each PNG is written to a temporary file in the output directory and renamed into
//! place, so a reader never sees a partial figure.

use crate::DriverError;
use pedisim_io::h5;
use pedisim_io::IoError;
use pedisim_report::{dose_slices, dvh_plot, DoseVolume, DvhCurve, DvhOptions, SliceOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File name of the dose-slice figure in the output directory.
pub const SLICES_PNG: &str = "dose_slices.png";

/// File name of the dose-volume histogram figure in the output directory.
pub const DVH_PNG: &str = "dvh.png";

/// File name of the figure of the tumour cell number against time (growth results).
pub const GROWTH_CELLS_PNG: &str = "growth_cells.png";

/// File name of the figure of the tumour's equivalent radius against time (growth results).
pub const GROWTH_RADIUS_PNG: &str = "growth_radius.png";

/// Dose levels per organ of the DVH curves computed when a file has no `/dvh` group (as
/// [`crate::DVH_POINTS`]).
const CURVE_POINTS: usize = crate::DVH_POINTS;

fn bad(file: &Path, message: impl Into<String>) -> DriverError {
    DriverError::Config {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

/// Reads `result_h5` (a pedisim dose file, layout 1.x) and writes [`SLICES_PNG`] and
/// [`DVH_PNG`] into `out_dir` (created if missing), returning the paths written in that
/// order. `slice_at` chooses the voxel `[ix, iy, iz]` the slices go through (default: the
/// voxel of maximum dose).
///
/// # Errors
/// A missing file, dataset or attribute (naming the file and the object), a
/// `format_version` whose major version is not 1, datasets whose shape disagrees with
/// `dims_xyz`, invalid values (negative or non-finite dose or density), `slice_at`
/// outside the grid, an unusable `/dvh` table, or a directory or file that cannot be
/// written.
pub fn report(
    result_h5: &Path,
    out_dir: &Path,
    slice_at: Option<[usize; 3]>,
) -> Result<Vec<PathBuf>, DriverError> {
    let file = result_h5;
    match h5::read_attr_string(file, "/", "format_name") {
        Ok(name) if name == crate::growth::GROWTH_FORMAT_NAME => {
            return growth_report(file, out_dir)
        }
        _ => {}
    }
    let version = h5::read_attr_string(file, "/", "format_version")?;
    if version.split('.').next() != Some("1") {
        return Err(bad(
            file,
            format!(
                "root attribute format_version is \"{version}\"; this pedisim reads dose files of layout 1.x"
            ),
        ));
    }
    let dims = read_dims(file)?;
    let voxel_mm = read_vec3(file, "voxel_size_mm")?;
    let origin_mm = read_vec3(file, "origin_mm")?;
    let axis_sign = match read_vec3(file, "axis_sign") {
        Ok(s) => s,
        // Files of the first layouts have no axis_sign: their axes were all +1.
        Err(DriverError::Io(IoError::MissingObject { .. })) => [1.0; 3],
        Err(e) => return Err(e),
    };
    let shape = vec![dims[2], dims[1], dims[0]];
    let (dose, s) = h5::read_f64_dataset(file, "/dose/dose_gy")?;
    check_shape(file, "/dose/dose_gy", &s, &shape)?;
    let (density, s) = h5::read_f64_dataset(file, "/phantom/density_g_cm3")?;
    check_shape(file, "/phantom/density_g_cm3", &s, &shape)?;
    let (labels, s) = h5::read_u32_dataset(file, "/phantom/labels")?;
    check_shape(file, "/phantom/labels", &s, &shape)?;
    let unit = h5::read_attr_string(file, "/dose/dose_gy", "units")
        .unwrap_or_else(|_| "Gy per history".to_string());
    let organs = h5::read_organs(file)?;
    let name_of = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());

    // Dose in air (label 0, air or vacuum labels) is not drawn: its mass is tiny and its
    // dose per history noisy, and it would set the colour scale and the slice position.
    let air: std::collections::HashSet<u32> = organs
        .iter()
        .filter(|o| o.label == 0 || is_air_or_vacuum(&o.name, &o.material))
        .map(|o| o.label)
        .collect();
    let shown: Vec<f64> = dose
        .iter()
        .zip(&labels)
        .map(|(&d, l)| if air.contains(l) { 0.0 } else { d })
        .collect();
    let volume = DoseVolume {
        dims_xyz: dims,
        voxel_size_mm: voxel_mm,
        origin_mm,
        axis_sign,
        dose: &shown,
        density_g_cm3: &density,
    };
    let slice_opts = SliceOptions {
        at_voxel: slice_at,
        title: format!("Absorbed dose: {name_of}"),
        dose_unit: unit.clone(),
        ..Default::default()
    };
    let slices = dose_slices(&volume, &slice_opts).map_err(|e| bad(file, e.to_string()))?;

    // Organs for the DVH: with mass, not label 0, not air or vacuum.
    let wanted: Vec<&h5::OrganRow> = organs
        .iter()
        .filter(|o| o.label != 0 && o.mass_kg > 0.0 && !is_air_or_vacuum(&o.name, &o.material))
        .collect();
    let curves = match read_dvh_group(file)? {
        Some(by_label) => wanted
            .iter()
            .filter_map(|o| {
                by_label.get(&(o.label as u64)).map(|(d, v)| DvhCurve {
                    name: o.name.clone(),
                    dose: d.clone(),
                    volume_fraction: v.clone(),
                })
            })
            .collect::<Vec<_>>(),
        None => computed_curves(file, &wanted, &labels, &dose, &density, voxel_mm)?,
    };
    let mut written = Vec::new();
    std::fs::create_dir_all(out_dir)
        .map_err(|e| bad(out_dir, format!("cannot create the output directory: {e}")))?;
    let png = slices.encode_png().map_err(|e| bad(file, e.to_string()))?;
    let path = out_dir.join(SLICES_PNG);
    write_bytes_atomic(&path, &png)?;
    written.push(path);
    if !curves.is_empty() {
        let opts = DvhOptions {
            title: format!("Cumulative dose-volume histograms: {name_of}"),
            dose_unit: unit,
            ..Default::default()
        };
        let fig = dvh_plot(&curves, &opts).map_err(|e| bad(file, e.to_string()))?;
        let png = fig.encode_png().map_err(|e| bad(file, e.to_string()))?;
        let path = out_dir.join(DVH_PNG);
        write_bytes_atomic(&path, &png)?;
        written.push(path);
    }
    Ok(written)
}

/// True for an organ named, or made of, air or vacuum (a whole word of the name or the
/// material, any case): the surroundings, not tissue.
fn is_air_or_vacuum(name: &str, material: &str) -> bool {
    [name, material].iter().any(|s| {
        s.split(|c: char| !c.is_alphanumeric())
            .any(|w| w.eq_ignore_ascii_case("air") || w.eq_ignore_ascii_case("vacuum"))
    })
}

pub(crate) fn read_dims(file: &Path) -> Result<[usize; 3], DriverError> {
    let v = h5::read_attr_f64_array(file, "/", "dims_xyz")?;
    if v.len() != 3
        || v.iter()
            .any(|x| !(x.is_finite() && *x >= 1.0 && x.fract() == 0.0))
    {
        return Err(bad(
            file,
            format!(
                "root attribute dims_xyz is {v:?}; expected three positive integers [nx, ny, nz]"
            ),
        ));
    }
    Ok([v[0] as usize, v[1] as usize, v[2] as usize])
}

pub(crate) fn read_vec3(file: &Path, name: &str) -> Result<[f64; 3], DriverError> {
    let v = h5::read_attr_f64_array(file, "/", name)?;
    if v.len() != 3 || v.iter().any(|x| !x.is_finite()) {
        return Err(bad(
            file,
            format!("root attribute {name} is {v:?}; expected three finite numbers (x, y, z)"),
        ));
    }
    Ok([v[0], v[1], v[2]])
}

fn check_shape(file: &Path, name: &str, got: &[usize], want: &[usize]) -> Result<(), DriverError> {
    if got != want {
        return Err(bad(
            file,
            format!("dataset {name} has shape {got:?}; dims_xyz asks for [nz, ny, nx] = {want:?}"),
        ));
    }
    Ok(())
}

/// The `/dvh` curves by label, or None when the file has no `/dvh` group.
#[allow(clippy::type_complexity)]
fn read_dvh_group(file: &Path) -> Result<Option<BTreeMap<u64, (Vec<f64>, Vec<f64>)>>, DriverError> {
    let labels = match h5::read_u64_dataset(file, "/dvh/label") {
        Ok(l) => l,
        Err(IoError::MissingObject { object, .. }) if object.starts_with("/dvh") => {
            return Ok(None)
        }
        Err(e) => return Err(e.into()),
    };
    let (dose, _) = h5::read_f64_dataset(file, "/dvh/dose_gy")?;
    let (fraction, _) = h5::read_f64_dataset(file, "/dvh/volume_fraction")?;
    if dose.len() != labels.len() || fraction.len() != labels.len() {
        return Err(bad(
            file,
            format!(
                "/dvh has {} labels, {} doses and {} volume fractions (need equal lengths)",
                labels.len(),
                dose.len(),
                fraction.len()
            ),
        ));
    }
    let mut by_label: BTreeMap<u64, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for i in 0..labels.len() {
        let e = by_label.entry(labels[i]).or_default();
        e.0.push(dose[i]);
        e.1.push(fraction[i]);
    }
    Ok(Some(by_label))
}

/// DVH curves from the voxel doses and masses, for files without `/dvh`.
fn computed_curves(
    file: &Path,
    organs: &[&h5::OrganRow],
    labels: &[u32],
    dose: &[f64],
    density: &[f64],
    voxel_mm: [f64; 3],
) -> Result<Vec<DvhCurve>, DriverError> {
    let voxel_kg = voxel_mm[0] * voxel_mm[1] * voxel_mm[2] * 1e-3 * 1e-3; // mm3 -> cm3, g -> kg
    let mut voxels: BTreeMap<u32, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        let m = density[i] * voxel_kg;
        if m > 0.0 {
            let e = voxels.entry(*l).or_default();
            e.0.push(dose[i]);
            e.1.push(m);
        }
    }
    let mut curves = Vec::new();
    for o in organs {
        let Some((d, m)) = voxels.get(&o.label) else {
            continue;
        };
        let h = pedisim_dosimetry::dvh::cumulative_dvh(&o.name, d, m)
            .map_err(|e| bad(file, e.to_string()))?;
        let levels: Vec<f64> = (0..CURVE_POINTS)
            .map(|j| h.d_max * j as f64 / (CURVE_POINTS - 1) as f64)
            .collect();
        let volume_fraction = levels
            .iter()
            .map(|l| h.fraction_at_least_dose(*l))
            .collect();
        curves.push(DvhCurve {
            name: o.name.clone(),
            dose: levels,
            volume_fraction,
        });
    }
    Ok(curves)
}

/// Writes `bytes` to `<path>.tmp-<pid>`, syncs it and renames it over `path`; on error the
/// temporary file is removed and an existing file is left as it was.
fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), DriverError> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        bad(path, format!("cannot write the figure: {e}"))
    })
}

/// One curve figure of a growth result: file name, named curves, y title, logarithmic y.
type Figure<'a> = (&'a str, Vec<(&'a str, Vec<f64>)>, &'a str, bool);

/// Writes the figures of a growth result (module documentation) into `out_dir` and
/// returns their paths: the cell-number and radius curves, then one slice figure per
/// snapshot with cells.
///
/// # Errors
/// A missing dataset or attribute (naming the file and the object), a layout whose major
/// version is not 1, datasets whose shapes disagree with `dims_xyz`, or a directory or
/// file that cannot be written.
pub fn growth_report(file: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, DriverError> {
    let version = h5::read_attr_string(file, "/", "growth_format_version")?;
    if version.split('.').next() != Some("1") {
        return Err(bad(
            file,
            format!("root attribute growth_format_version is \"{version}\"; this pedisim reads growth files of layout 1.x"),
        ));
    }
    let name_of = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let (t, _) = h5::read_f64_dataset(file, "/trajectory/time_day")?;
    let agents = h5::read_attr_string(file, "/", "model")?.starts_with("agents");
    let mut markers =
        h5::read_attr_f64_array(file, "/", "external_fraction_times_day").unwrap_or_default();
    if let Ok(s) = h5::read_attr_f64(file, "/", "radiopharmaceutical_start_day") {
        markers.push(s);
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| bad(out_dir, format!("cannot create the output directory: {e}")))?;
    let mut written = Vec::new();
    let read = |name: &str| h5::read_f64_dataset(file, name).map(|(v, _)| v);
    let figures: Vec<Figure> = if agents {
        vec![
            (
                GROWTH_CELLS_PNG,
                vec![
                    ("live", read("/trajectory/live_cells")?),
                    ("apoptotic", read("/trajectory/apoptotic_cells")?),
                    ("necrotic", read("/trajectory/necrotic_cells")?),
                ],
                "number of cells",
                true,
            ),
            (
                GROWTH_RADIUS_PNG,
                vec![("radius", read("/trajectory/radius_um")?)],
                "tumour radius sqrt(5/3) R_g [um]",
                false,
            ),
        ]
    } else {
        vec![
            (
                GROWTH_CELLS_PNG,
                vec![("tumour cells", read("/trajectory/total_cells")?)],
                "number of tumour cells",
                true,
            ),
            (
                GROWTH_RADIUS_PNG,
                vec![(
                    "equivalent radius",
                    read("/trajectory/equivalent_radius_mm")?,
                )],
                "equivalent radius of the detectable tumour [mm]",
                false,
            ),
        ]
    };
    for (png_name, curves, y_title, log_y) in figures {
        let series: Vec<pedisim_report::Series> = curves
            .into_iter()
            .filter(|(_, y)| !log_y || y.iter().any(|v| *v > 0.0))
            .map(|(name, y)| pedisim_report::Series {
                name: name.into(),
                x: t.clone(),
                y,
            })
            .collect();
        if series.is_empty() {
            continue;
        }
        let opts = pedisim_report::SeriesOptions {
            title: format!("Tumour growth: {name_of}"),
            y_title: y_title.into(),
            log_y,
            markers_x: markers.clone(),
            ..Default::default()
        };
        let fig =
            pedisim_report::series_plot(&series, &opts).map_err(|e| bad(file, e.to_string()))?;
        let path = out_dir.join(png_name);
        write_bytes_atomic(
            &path,
            &fig.encode_png().map_err(|e| bad(file, e.to_string()))?,
        )?;
        written.push(path);
    }
    if agents {
        return Ok(written);
    }
    let dims = read_dims(file)?;
    let voxel_mm = read_vec3(file, "voxel_size_mm")?;
    let origin_mm = read_vec3(file, "origin_mm")?;
    let axis_sign = read_vec3(file, "axis_sign")?;
    // Snapshot slices through the voxel of largest initial density.
    let n = dims[0] * dims[1] * dims[2];
    let (snap_t, _) = h5::read_f64_dataset(file, "/snapshots/time_day")?;
    let (density, shape) = h5::read_f64_dataset(file, "/snapshots/density_cells_per_mm3")?;
    check_shape(
        file,
        "/snapshots/density_cells_per_mm3",
        &shape,
        &[snap_t.len(), dims[2], dims[1], dims[0]],
    )?;
    let (diffusion, s) = h5::read_f64_dataset(file, "/grid/diffusion_mm2_per_day")?;
    check_shape(
        file,
        "/grid/diffusion_mm2_per_day",
        &s,
        &[dims[2], dims[1], dims[0]],
    )?;
    let threshold = h5::read_attr_f64(file, "/", "detection_threshold_cells_per_mm3")?;
    let at = density.get(..n).and_then(|first| {
        first
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| {
                [
                    i % dims[0],
                    (i / dims[0]) % dims[1],
                    i / (dims[0] * dims[1]),
                ]
            })
    });
    for (k, day) in snap_t.iter().enumerate() {
        let field = &density[k * n..(k + 1) * n];
        let max = field.iter().copied().fold(0.0, f64::max);
        if max <= 0.0 {
            continue;
        }
        let volume = DoseVolume {
            dims_xyz: dims,
            voxel_size_mm: voxel_mm,
            origin_mm,
            axis_sign,
            dose: field,
            density_g_cm3: &diffusion,
        };
        let mut levels = vec![80.0];
        let thr_pct = 100.0 * threshold / max;
        if thr_pct > 0.0 && thr_pct < 100.0 {
            levels.insert(0, thr_pct);
        }
        let opts = SliceOptions {
            at_voxel: at,
            title: format!("Tumour cell density, day {day}: {name_of}"),
            dose_unit: "cells/mm3".into(),
            isodose_percent: levels,
            quantity: "cell density".into(),
            background: ("diffusion coefficient".into(), "mm²/day".into()),
            ..Default::default()
        };
        let fig = dose_slices(&volume, &opts).map_err(|e| bad(file, e.to_string()))?;
        let path = out_dir.join(format!("growth_snapshot_day{day}.png"));
        write_bytes_atomic(
            &path,
            &fig.encode_png().map_err(|e| bad(file, e.to_string()))?,
        )?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn air_and_vacuum_are_recognised_as_words() {
        assert!(is_air_or_vacuum("Air", "ICRU soft tissue"));
        assert!(is_air_or_vacuum("outside", "air (dry, near sea level)"));
        assert!(is_air_or_vacuum("world", "vacuum"));
        assert!(!is_air_or_vacuum("hair", "soft tissue"));
        assert!(!is_air_or_vacuum("airways", "soft tissue"));
    }
}
