//! Run configuration: the raw TOML form (as close to the file as possible, unknown keys
//! rejected) and its loading with file context. Validation into a runnable plan is in
//! [`crate::plan`]. Every key is documented with its unit and default in `docs/config.md`.

use crate::DriverError;
use pedisim_physics::material::MaterialSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A whole run configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// `[run]`: history count, batches, seed, threads.
    #[serde(default)]
    pub run: RunSection,
    /// `[phantom]`: the voxel phantom.
    pub phantom: PhantomSection,
    /// `[source]`: the radiation source.
    pub source: SourceSection,
    /// `[physics]`: transport physics options.
    #[serde(default)]
    pub physics: PhysicsSection,
    /// `[output]`: where results go.
    #[serde(default)]
    pub output: OutputSection,
    /// `[materials.NAME]`: materials added to (or overriding) the built-in ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub materials: BTreeMap<String, MaterialSpecSer>,
}

/// A material definition in a config (same keys as `data/materials.toml`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialSpecSer {
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Nominal density [g/cm^3].
    pub density_g_cm3: f64,
    /// Mean excitation energy \[eV\].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_excitation_ev: Option<f64>,
    /// Source of the composition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Mass fractions by element symbol.
    pub composition: BTreeMap<String, f64>,
}

impl From<&MaterialSpecSer> for MaterialSpec {
    fn from(m: &MaterialSpecSer) -> Self {
        MaterialSpec {
            description: m.description.clone(),
            density_g_cm3: m.density_g_cm3,
            mean_excitation_ev: m.mean_excitation_ev,
            source: m.source.clone(),
            composition: m.composition.clone(),
        }
    }
}

/// `[run]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Number of histories (decays or source photons); default 1 000 000. Rounded up to a
    /// multiple of `batches`.
    #[serde(default = "default_histories")]
    pub histories: u64,
    /// Number of independent batches for the uncertainty; default 10, at least 10.
    #[serde(default = "default_batches")]
    pub batches: u64,
    /// Seed of all random streams; default 1.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Worker threads; 0 (default) = one per available core.
    #[serde(default)]
    pub threads: usize,
    /// Minutes between checkpoints of a run in progress (after a whole batch); default
    /// 30; 0 = only when interrupted. A run always checkpoints when it is interrupted
    /// (SIGTERM, Ctrl-C) and continues from its checkpoint when started again.
    #[serde(default = "default_checkpoint_minutes")]
    pub checkpoint_minutes: f64,
}

impl Default for RunSection {
    fn default() -> Self {
        Self {
            histories: default_histories(),
            batches: default_batches(),
            seed: default_seed(),
            threads: 0,
            checkpoint_minutes: default_checkpoint_minutes(),
        }
    }
}

fn default_histories() -> u64 {
    1_000_000
}
fn default_batches() -> u64 {
    10
}
fn default_seed() -> u64 {
    1
}
fn default_checkpoint_minutes() -> f64 {
    30.0
}

/// `[phantom]`: which keys apply depends on `kind`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PhantomSection {
    /// `"box"`, `"sphere"`, `"slabs"`, `"nifti"`, `"icrp110"` or `"ct"`.
    pub kind: String,
    /// Material of the box or the sphere (box, sphere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub material: Option<String>,
    /// Material around the sphere (sphere), or of organ ID 0 when the organs file does not
    /// list it (icrp110); default `"vacuum"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// Grid size \[mm\] along x, y, z (box, sphere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_mm: Option<[f64; 3]>,
    /// Lateral size \[mm\] along x, y (slabs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lateral_mm: Option<[f64; 2]>,
    /// Voxel size \[mm\] along x, y, z (built-in kinds; icrp110: columns, rows, slices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voxel_mm: Option<[f64; 3]>,
    /// Sphere radius \[mm\] (sphere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_mm: Option<f64>,
    /// Sphere centre \[mm\], world frame; default the grid centre (sphere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub centre_mm: Option<[f64; 3]>,
    /// Layers along +z (slabs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slabs: Option<Vec<SlabSpec>>,
    /// Label map, NIfTI (nifti).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    /// Label table, TOML (nifti).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<PathBuf>,
    /// Optional density map [g/cm^3], NIfTI on the label map's grid (nifti).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub density: Option<PathBuf>,
    /// Organ-ID array of an ICRP 110/143 reference phantom, ASCII integers (icrp110).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organ_ids: Option<PathBuf>,
    /// `*_organs.dat`: organ ID, name, medium number, density \[g/cm^3\] (icrp110).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organs: Option<PathBuf>,
    /// `*_media.dat`: medium number, name, elemental mass fractions in % (icrp110).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<PathBuf>,
    /// Voxel counts of the organ-ID array: columns, rows, slices (icrp110).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dims: Option<[usize; 3]>,
    /// CT image in Hounsfield units, NIfTI (ct).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ct: Option<PathBuf>,
    /// HU-to-material-and-density calibration, TOML (ct).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<PathBuf>,
}

/// One layer of a slab phantom.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlabSpec {
    /// Material of the layer.
    pub material: String,
    /// Thickness \[mm\].
    pub thickness_mm: f64,
    /// Name of the layer; default the material name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `[source]`: which keys apply depends on `kind`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// `"point"`, `"beam"`, `"uniform"` or `"activity_map"`.
    pub kind: String,
    /// Photon energy \[keV\] of a monoenergetic source (exclusive with `nuclide`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_kev: Option<f64>,
    /// Radionuclide, ICRP-107 name, e.g. `"Tc-99m"` (exclusive with `energy_kev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nuclide: Option<String>,
    /// Position \[mm\], world frame (point: the source; beam: the field centre). Default the
    /// phantom centre for a point source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_mm: Option<[f64; 3]>,
    /// Beam direction (world frame, need not be normalised) (beam).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<[f64; 3]>,
    /// Field size \[mm\] across the beam; absent or [0, 0] = pencil beam (beam).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_mm: Option<[f64; 2]>,
    /// Labels holding the activity, uniform per unit mass; absent = the whole phantom
    /// (uniform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<u32>>,
    /// Activity map, NIfTI on the phantom's grid, non-negative (activity_map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<PathBuf>,
}

/// `[physics]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PhysicsSection {
    /// Photon energy cutoff \[keV\]; default 1.
    #[serde(default = "default_cutoff")]
    pub photon_cutoff_kev: f64,
    /// Rayleigh (coherent) scattering on or off; default true.
    #[serde(default = "default_true")]
    pub rayleigh: bool,
    /// Electrons and positrons: `"condensed"` (class II condensed-history transport, the
    /// default) or `"local"` (kinetic energy deposited where they are created; faster, and
    /// adequate when the voxels are much larger than the electron ranges).
    #[serde(default)]
    pub electron_transport: ElectronTransport,
    /// Electron and positron kinetic-energy cutoff \[keV\], also the delta-ray and
    /// bremsstrahlung production threshold; default 10. Below it a charged particle
    /// deposits its energy where it is.
    #[serde(default = "default_electron_cutoff")]
    pub electron_cutoff_kev: f64,
}

/// How electrons and positrons are treated (`[physics] electron_transport`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ElectronTransport {
    /// Class II condensed-history transport.
    #[default]
    Condensed,
    /// Local deposition where they are created.
    Local,
}

impl Default for PhysicsSection {
    fn default() -> Self {
        Self {
            photon_cutoff_kev: default_cutoff(),
            rayleigh: true,
            electron_transport: ElectronTransport::default(),
            electron_cutoff_kev: default_electron_cutoff(),
        }
    }
}

fn default_electron_cutoff() -> f64 {
    10.0
}

fn default_cutoff() -> f64 {
    1.0
}
fn default_true() -> bool {
    true
}

/// `[output]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// HDF5 result file; default `pedisim-dose.h5` (relative to the working directory).
    #[serde(default = "default_output")]
    pub path: PathBuf,
    /// Optional NIfTI dose map (Gy per history, float32, with the phantom's affine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose_nifti: Option<PathBuf>,
    /// Optional CSV of the cumulative dose-volume histograms of every label (the same
    /// curves as `/dvh` in the HDF5 file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dvh_csv: Option<PathBuf>,
}

impl Default for OutputSection {
    fn default() -> Self {
        Self {
            path: default_output(),
            dose_nifti: None,
            dvh_csv: None,
        }
    }
}

fn default_output() -> PathBuf {
    PathBuf::from("pedisim-dose.h5")
}

/// A label table file: `[\[label\]]` entries.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabelTableFile {
    /// The entries.
    pub label: Vec<LabelSpec>,
}

/// One `[\[label\]]` entry of a label table.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSpec {
    /// Integer value in the label map.
    pub value: u32,
    /// Organ or region name.
    pub name: String,
    /// Material name.
    pub material: String,
    /// Density [g/cm^3]; default the material's nominal density.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub density_g_cm3: Option<f64>,
    /// The ICRP Publication 155 source/target region names this label stands for (e.g.
    /// `["Liver"]`, `["UB-cont"]`), used by organ dosimetry to map labels to organs; empty
    /// when unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
}

/// Reads and parses a TOML file of type `T`, with errors naming the file (and the key and
/// line, as reported by the TOML parser).
pub fn load_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, DriverError> {
    let text = std::fs::read_to_string(path).map_err(|e| DriverError::Config {
        file: path.to_path_buf(),
        message: format!("cannot read the file: {e}"),
    })?;
    toml::from_str(&text).map_err(|e| {
        let section = e
            .span()
            .and_then(|sp| section_at(&text, sp.start))
            .map(|s| format!("in [{s}]: "))
            .unwrap_or_default();
        DriverError::Config {
            file: path.to_path_buf(),
            message: format!("{section}{}", e.to_string().trim_end()),
        }
    })
}

/// The name of the TOML table (`[name]` or `[\[name\]]` header) that encloses byte `offset`.
fn section_at(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset.min(text.len()))?;
    before.lines().rev().find_map(|l| {
        let t = l.trim();
        if t.starts_with('[') && !t.starts_with("[[") {
            t.strip_prefix('[')?
                .split(']')
                .next()
                .map(|s| s.trim().to_string())
        } else if t.starts_with("[[") {
            t.strip_prefix("[[")?
                .split("]]")
                .next()
                .map(|s| s.trim().to_string())
        } else {
            None
        }
    })
}

impl RunConfig {
    /// Loads a run configuration file.
    pub fn load(path: &Path) -> Result<Self, DriverError> {
        load_toml(path)
    }

    /// The configuration as TOML text (after command-line overrides): stored in every
    /// output file so that the run can be repeated.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# could not serialise: {e}"))
    }
}
