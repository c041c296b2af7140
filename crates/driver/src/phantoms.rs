//! `pedisim phantom`: built-in paediatric phantoms written as NIfTI label maps with their
//! label tables, and a description (dimensions, organ masses) of any label-map phantom.
//!
//! **Files.** A phantom on disk is a NIfTI label map (`.nii` or `.nii.gz`) plus a label
//! table in TOML (`[[label]]` entries with `value`, `name`, `material`, optional
//! `density_g_cm3` and optional `regions`, the ICRP Publication 155 region names the label
//! stands for, which organ dosimetry uses). `pedisim phantom generate -o child.nii.gz`
//! writes the table beside the map as `child.labels.toml` ([`table_path_for`]); `pedisim
//! phantom info child.nii.gz` and a run's `[phantom] kind = "nifti"` read that pair.
//!
//! **Frame.** Stylised bodies are built in the ORNL/MIRD frame (+x to the phantom's left,
//! +y posterior, +z cranial: DICOM LPS). NIfTI's world frame is RAS (+x to the right, +y
//! anterior): the written affine flips x and y ([`lps_to_ras`]), so the map opens with the
//! correct orientation in any viewer and source positions in a run's config are RAS
//! millimetres of that affine.

use crate::config::{LabelSpec, LabelTableFile};
use crate::DriverError;
use pedisim_core::GridGeometry;
use pedisim_io::nifti_io;
pub use pedisim_phantom::stylised::ages::BodySpec;
pub use pedisim_phantom::stylised::Sex;
use pedisim_phantom::stylised::{self, StylisedBody, VoxeliseOptions};
use pedisim_phantom::{LabelEntry, Phantom};
use pedisim_physics::material::MaterialDb;
use std::path::{Path, PathBuf};

/// Sub-samples per voxel edge used by `phantom generate` (k^3 points per voxel decide
/// its label and partial volumes).
pub const GENERATE_SUBSAMPLES: usize = 4;

/// One label of a phantom with its size.
#[derive(Clone, Debug, PartialEq)]
pub struct OrganMass {
    /// Label value in the map.
    pub label: u32,
    /// Organ or region name.
    pub name: String,
    /// Material name.
    pub material: String,
    /// Number of voxels with this label.
    pub voxels: usize,
    /// Volume \[cm^3\].
    pub volume_cm3: f64,
    /// Mass \[kg\] (voxel volumes times their densities).
    pub mass_kg: f64,
}

/// A description of a label-map phantom.
#[derive(Clone, Debug)]
pub struct PhantomInfo {
    /// The grid (dimensions, voxel size, placement).
    pub grid: GridGeometry,
    /// Every label of the table, in table order, with its voxel count, volume and mass.
    pub organs: Vec<OrganMass>,
    /// Total body mass \[kg\]: the mass of every label except 0 (outside the body) and
    /// except labels of air or vacuum.
    pub body_mass_kg: f64,
}

/// The label-table path that belongs to a label map: `child.nii.gz` -> `child.labels.toml`.
pub fn table_path_for(labels: &Path) -> PathBuf {
    let name = labels
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".nii.gz")
        .or_else(|| name.strip_suffix(".nii"))
        .unwrap_or(&name);
    labels.with_file_name(format!("{stem}.labels.toml"))
}

/// The RAS grid of a grid built in the LPS frame: the same voxels, with x and y of the
/// origin negated and the index directions reversed.
pub fn lps_to_ras(g: &GridGeometry) -> GridGeometry {
    GridGeometry {
        dims: g.dims,
        voxel_mm: g.voxel_mm,
        origin_mm: [-g.origin_mm[0], -g.origin_mm[1], g.origin_mm[2]],
        axis_sign: [-g.axis_sign[0], -g.axis_sign[1], g.axis_sign[2]],
    }
}

fn err(file: &Path, message: impl Into<String>) -> DriverError {
    DriverError::Config {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

/// Reads a label map and its label table into a phantom, checking every material against
/// `db`. Errors name the file and, for the table, the entry; with `config` (the run
/// configuration that names the files) errors reading the map, the table or the density
/// map name that file and its `[phantom]` key instead.
pub fn load_label_phantom(
    labels: &Path,
    table: &Path,
    density: Option<&Path>,
    db: &MaterialDb,
    config: Option<&Path>,
) -> Result<(Phantom, LabelTableFile), DriverError> {
    let at = |key: &str, file: &Path, e: String| match config {
        Some(c) => err(c, format!("[phantom] {key}: {e}")),
        None => err(file, e),
    };
    let vol = nifti_io::read_labels(labels).map_err(|e| at("labels", labels, e.to_string()))?;
    let file: LabelTableFile = crate::config::load_toml(table).map_err(|e| match config {
        Some(c) => err(c, format!("[phantom] table: {e}")),
        None => e,
    })?;
    let mut entries = Vec::with_capacity(file.label.len());
    for (i, l) in file.label.iter().enumerate() {
        if let Err(e) = db.get(&l.material) {
            return Err(err(
                table,
                format!(
                    "[[label]] #{} (value {}, '{}'): material: {e}",
                    i + 1,
                    l.value,
                    l.name
                ),
            ));
        }
        entries.push(LabelEntry {
            value: l.value,
            name: l.name.clone(),
            material: l.material.clone(),
            density_g_cm3: l.density_g_cm3,
        });
    }
    let density = match density {
        Some(dp) => {
            let dv = nifti_io::read_scalar(dp).map_err(|e| at("density", dp, e.to_string()))?;
            crate::plan::same_grid(&dv.grid, &vol.grid)
                .map_err(|m| err(dp, format!("density map: {m}")))?;
            Some(dv.data)
        }
        None => None,
    };
    let nominal = |m: &str| db.get(m).ok().map(|m| m.density_g_cm3);
    let phantom = Phantom::from_labels(vol.grid, vol.data, entries, density, nominal)
        .map_err(|e| err(labels, format!("{e} (label table {})", table.display())))?;
    Ok((phantom, file))
}

/// Voxel counts, volumes and masses of every label of a phantom.
pub fn describe(phantom: &Phantom) -> PhantomInfo {
    let n_labels = phantom.table.len();
    let mut voxels = vec![0usize; n_labels];
    let mut mass = vec![0.0f64; n_labels];
    let index: std::collections::HashMap<u32, usize> = phantom
        .table
        .iter()
        .enumerate()
        .map(|(k, e)| (e.value, k))
        .collect();
    for (i, l) in phantom.labels.iter().enumerate() {
        if let Some(&k) = index.get(l) {
            voxels[k] += 1;
            mass[k] += phantom.voxel_mass_kg(i);
        }
    }
    let voxel_cm3 = phantom.grid.voxel_mm.iter().product::<f64>() * 1e-3;
    let organs: Vec<OrganMass> = phantom
        .table
        .iter()
        .enumerate()
        .map(|(k, e)| OrganMass {
            label: e.value,
            name: e.name.clone(),
            material: e.material.clone(),
            voxels: voxels[k],
            volume_cm3: voxels[k] as f64 * voxel_cm3,
            mass_kg: mass[k],
        })
        .collect();
    let body_mass_kg = organs
        .iter()
        .filter(|o| o.label != 0 && o.material != "air" && o.material != "vacuum")
        .map(|o| o.mass_kg)
        .sum();
    PhantomInfo {
        grid: phantom.grid.clone(),
        organs,
        body_mass_kg,
    }
}

/// Reads a phantom's label map (and its table: `table`, or the file beside the map named
/// by [`table_path_for`]) and describes it.
pub fn info(
    labels: &Path,
    table: Option<&Path>,
    db: &MaterialDb,
) -> Result<PhantomInfo, DriverError> {
    let table = table
        .map(Path::to_path_buf)
        .unwrap_or_else(|| table_path_for(labels));
    if !table.exists() {
        return Err(err(
            labels,
            format!(
                "no label table: expected {} beside the label map (written by pedisim phantom \
                 generate), or name one with --table",
                table.display()
            ),
        ));
    }
    let (phantom, _) = load_label_phantom(labels, &table, None, db, None)?;
    Ok(describe(&phantom))
}

/// What `pedisim phantom generate` builds.
#[derive(Clone, Debug)]
pub struct GenerateSpec {
    /// Who the phantom is for: age, sex and the optional personal measures.
    pub body: BodySpec,
    /// Cubic voxel edge \[mm\].
    pub voxel_mm: f64,
    /// Output label map (`.nii` or `.nii.gz`); the table goes beside it.
    pub output: PathBuf,
}

/// The label table of a voxelised stylised body: one entry for outside the body (label 0,
/// air) and one per region present, with its ICRP 155 region names.
pub fn label_table(body: &StylisedBody, phantom: &Phantom) -> LabelTableFile {
    let mut label = Vec::with_capacity(phantom.table.len());
    for e in &phantom.table {
        let regions = body
            .regions
            .iter()
            .find(|r| r.label == e.value)
            .map(|r| r.reference.clone())
            .unwrap_or_default();
        label.push(LabelSpec {
            value: e.value,
            name: e.name.clone(),
            material: e.material.clone(),
            density_g_cm3: e.density_g_cm3,
            regions,
        });
    }
    LabelTableFile { label }
}

/// Voxelises `body` and writes its label map (RAS affine) and label table; returns the
/// phantom's description. `header` lines go at the top of the table as comments.
pub fn write_body(
    body: &StylisedBody,
    voxel_mm: f64,
    output: &Path,
    header: &[String],
    db: &MaterialDb,
) -> Result<PhantomInfo, DriverError> {
    let name = output.to_string_lossy();
    if !(name.ends_with(".nii") || name.ends_with(".nii.gz")) {
        return Err(err(
            output,
            "expected an output file name ending in .nii or .nii.gz",
        ));
    }
    let mut opts = VoxeliseOptions::cubic(voxel_mm);
    opts.subsamples = GENERATE_SUBSAMPLES;
    let nominal = |m: &str| db.get(m).ok().map(|m| m.density_g_cm3);
    let v = stylised::voxelise(body, &opts, nominal)
        .map_err(|e| err(output, format!("cannot voxelise the phantom: {e}")))?;
    let mut phantom = v.phantom;
    let table = label_table(body, &phantom);
    phantom.grid = lps_to_ras(&phantom.grid);
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(output, format!("cannot create the directory: {e}")))?;
    }
    let table_path = table_path_for(output);
    let mut text = String::new();
    for h in header {
        text.push_str(&format!("# {h}\n"));
    }
    text.push_str(&format!(
        "# label map: {} (NIfTI, RAS affine); voxels of {voxel_mm} mm\n\n",
        output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    text.push_str(
        &toml::to_string(&table).map_err(|e| err(&table_path, format!("cannot encode: {e}")))?,
    );
    // The table first, the map last: a map on disk always has its table.
    crate::write_text_atomic(&table_path, &text)?;
    nifti_io::write_labels(output, &phantom.grid, &phantom.labels)
        .map_err(|e| err(output, e.to_string()))?;
    Ok(describe(&phantom))
}

/// `pedisim phantom generate`: the body of the built-in paediatric family for the spec
/// (`stylised::ages::paediatric_body`), voxelised and written.
pub fn generate(spec: &GenerateSpec, db: &MaterialDb) -> Result<PhantomInfo, DriverError> {
    if !(spec.voxel_mm.is_finite() && spec.voxel_mm >= 0.1 && spec.voxel_mm <= 50.0) {
        return Err(err(
            &spec.output,
            format!(
                "--voxel-mm {}: expected a voxel edge from 0.1 to 50 mm",
                spec.voxel_mm
            ),
        ));
    }
    let b = &spec.body;
    let body = stylised::ages::paediatric_body(b).map_err(|e| DriverError::Config {
        file: PathBuf::from("(command line)"),
        message: e.to_string(),
    })?;
    let opt =
        |v: Option<f64>, unit: &str| v.map_or("reference".to_string(), |x| format!("{x} {unit}"));
    let header = vec![
        format!(
            "pedisim {} phantom generate: {}",
            pedisim_core::PEDISIM_VERSION,
            body.name
        ),
        format!(
            "age {} y, sex {:?}, height {}, weight {}, torso AP {}, torso lateral {}",
            b.age_y,
            b.sex,
            opt(b.height_cm, "cm"),
            opt(b.weight_kg, "kg"),
            opt(b.torso_ap_cm, "cm"),
            opt(b.torso_lateral_cm, "cm")
        ),
        "pedisim's own stylised family (ORNL-type shapes, organ masses fitted to ICRP 89 \
         reference masses for the age and sex; docs/phantoms.md)"
            .into(),
        "label table: value, organ name, material, density (g/cm3), ICRP 155 regions".into(),
    ];
    write_body(&body, spec.voxel_mm, &spec.output, &header, db)
}
