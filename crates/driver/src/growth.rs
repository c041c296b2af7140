//! Tumour-growth runs (`pedisim grow CONFIG.toml`): the configuration, its validation into
//! a [`GrowthPlan`], the run, and the HDF5 result (growth layout 1.0, `docs/formats.md`
//! §11).
//!
//! The tumour lives on a phantom's voxel grid (the `[phantom]` section of a dose run,
//! optionally refined by an integer factor), so a dose map written by `pedisim run` on the
//! same phantom is a treatment: external-beam fractions scaled to a prescription, or a
//! radiopharmaceutical's decaying dose rate for an administered activity. The models are
//! in `pedisim-growth`; this module reads files, checks them and writes results.

use crate::config::{load_toml, MaterialSpecSer, PhantomSection};
use crate::plan::{build_phantom, resolve, same_grid};
use crate::DriverError;
use pedisim_core::{GridGeometry, Vec3};
use pedisim_growth::continuum::{
    ContinuumModel, ContinuumParams, Course, DiffusionScheme, LqParams, Observables,
};
use pedisim_growth::radiobiology::{lea_catcheside_exponential, repair_rate_per_day};
use pedisim_io::h5::{
    self, AttrValue, Column, ColumnValues, TableFile, TableGroup, Volume, VolumeValues,
};
use pedisim_phantom::Phantom;
use pedisim_physics::material::MaterialDb;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Name of the growth result format (root attribute `format_name`).
pub const GROWTH_FORMAT_NAME: &str = "pedisim-growth";
/// Layout version of the growth result (root attribute `growth_format_version`).
pub const GROWTH_FORMAT_VERSION: &str = "1.1";
/// Largest refinement factor of the phantom grid.
pub const MAX_REFINE: usize = 8;

/// A growth configuration file (`docs/config.md`, "Tumour growth").
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GrowthConfig {
    /// `[run]`: seed and threads.
    #[serde(default)]
    pub run: GrowthRunSection,
    /// `[model]`: which model.
    pub model: ModelSection,
    /// `[phantom]`: the grid and its tissues, as in a dose run.
    pub phantom: PhantomSection,
    /// `[materials.NAME]`: materials added to the built-in ones (for the phantom).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub materials: BTreeMap<String, MaterialSpecSer>,
    /// `[continuum]`: the proliferation-invasion model (`model.kind = "continuum"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuum: Option<ContinuumSection>,
    /// `[treatment]`: optional radiotherapy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treatment: Option<TreatmentSection>,
    /// `[output]`: where results go.
    #[serde(default)]
    pub output: GrowthOutputSection,
}

/// `[run]` of a growth configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GrowthRunSection {
    /// Master random seed (recorded; the continuum model is deterministic and draws none).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Worker threads; 0 = all cores. Results do not depend on it.
    #[serde(default)]
    pub threads: usize,
}

impl Default for GrowthRunSection {
    fn default() -> Self {
        Self {
            seed: default_seed(),
            threads: 0,
        }
    }
}

fn default_seed() -> u64 {
    1
}

/// `[model]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// `"continuum"` (proliferation-invasion).
    pub kind: String,
}

/// `[continuum]`: parameters of the proliferation-invasion model.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContinuumSection {
    /// Net proliferation rate rho (1/day).
    pub rho_per_day: f64,
    /// Carrying capacity K (cells/mm^3).
    pub carrying_capacity_cells_per_mm3: f64,
    /// Time step (days).
    pub dt_day: f64,
    /// `"crank-nicolson"` (default, second order) or `"backward-euler"`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Simulated time (days).
    pub end_day: f64,
    /// Interval of the trajectory rows (days); default the time step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_interval_day: Option<f64>,
    /// Times of the density snapshots (days); default `[0, end_day]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_days: Option<Vec<f64>>,
    /// Detection threshold as a fraction of K (the visible tumour is where the density is
    /// at least this); default 0.16, the T2-weighted MRI threshold of the
    /// proliferation-invasion literature (0.80 for T1-gadolinium).
    #[serde(default = "default_detection")]
    pub detection_threshold_fraction: f64,
    /// Each phantom voxel is cut into `refine^3` voxels for the tumour (default 1).
    #[serde(default = "default_refine")]
    pub refine: usize,
    /// Diffusion coefficient (mm^2/day) by organ name of the phantom's label table; the
    /// tumour does not enter tissues not listed.
    pub diffusion_mm2_per_day: BTreeMap<String, f64>,
    /// The initial tumour.
    pub initial: InitialTumour,
}

fn default_scheme() -> String {
    "crank-nicolson".into()
}
fn default_detection() -> f64 {
    0.16
}
fn default_refine() -> usize {
    1
}

/// `[continuum.initial]`: a sphere of uniform density (partial voxels in proportion).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InitialTumour {
    /// Centre (mm, the phantom's world frame).
    pub centre_mm: [f64; 3],
    /// Radius (mm).
    pub radius_mm: f64,
    /// Density inside, as a fraction of K.
    pub density_fraction: f64,
}

/// `[treatment]`: radiosensitivity and the courses.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TreatmentSection {
    /// LQ alpha (1/Gy).
    pub alpha_per_gy: f64,
    /// alpha/beta (Gy).
    pub alpha_beta_gy: f64,
    /// Half-time of sublethal-damage repair (hours); needed for a radiopharmaceutical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair_half_time_h: Option<f64>,
    /// `[treatment.external]`: external-beam fractions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalSection>,
    /// `[treatment.radiopharmaceutical]`: a radiopharmaceutical therapy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radiopharmaceutical: Option<RadiopharmaceuticalSection>,
}

/// `[treatment.external]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSection {
    /// A dose file of `pedisim run` on the same phantom: its dose map shapes every fraction.
    pub dose_file: PathBuf,
    /// Prescribed dose per fraction (Gy) at the reference.
    pub dose_per_fraction_gy: f64,
    /// Reference point (mm, world frame): the prescription is the dose in its voxel;
    /// default the voxel of maximum dose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_point_mm: Option<[f64; 3]>,
    /// Fraction times (days), or else the schedule below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times_day: Option<Vec<f64>>,
    /// Day of the first fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_day: Option<f64>,
    /// Number of fractions, one a day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fractions: Option<u32>,
    /// Treatment days per week from the first (default 5: weekends off; 7: every day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fractions_per_week: Option<u32>,
}

/// `[treatment.radiopharmaceutical]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RadiopharmaceuticalSection {
    /// A dose file of `pedisim run` with a nuclide source (dose per decay) distributed like
    /// the radiopharmaceutical (e.g. an `activity_map` source), on the same phantom.
    pub dose_file: PathBuf,
    /// Administration time (days).
    pub start_day: f64,
    /// Activity (MBq) distributed like the dose file's source at the administration time:
    /// the administered activity times the fraction taken up by that distribution.
    pub activity_mbq: f64,
    /// Effective half-life of the activity in the tissue (hours): physical decay and
    /// biological clearance together.
    pub effective_half_life_h: f64,
}

/// `[output]` of a growth run.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GrowthOutputSection {
    /// HDF5 result.
    #[serde(default = "default_output")]
    pub path: PathBuf,
    /// Optional CSV copy of the trajectory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<PathBuf>,
}

impl Default for GrowthOutputSection {
    fn default() -> Self {
        Self {
            path: default_output(),
            csv: None,
        }
    }
}

fn default_output() -> PathBuf {
    "growth.h5".into()
}

/// Command-line overrides of a growth configuration.
#[derive(Clone, Debug, Default)]
pub struct GrowthOverrides {
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--output`.
    pub output: Option<PathBuf>,
}

/// A validated growth run.
pub struct GrowthPlan {
    /// The configuration after overrides (written into the result).
    pub config: GrowthConfig,
    /// The configuration file.
    pub config_path: PathBuf,
    /// The model grid (the phantom's, refined).
    pub grid: GridGeometry,
    /// Label of every model voxel (x fastest).
    pub labels: Vec<u32>,
    /// Diffusion coefficient of every model voxel (mm^2/day).
    pub diffusion_mm2_per_day: Vec<f64>,
    /// Initial density (cells/mm^3).
    pub initial_density: Vec<f64>,
    /// Model parameters.
    pub params: ContinuumParams,
    /// Treatment courses, on the model grid.
    pub courses: Vec<Course>,
    /// Facts about the treatment recorded in the result (name, value).
    pub treatment_attrs: Vec<(String, AttrValue)>,
    /// Times of the trajectory rows (days), increasing, from 0 to the end.
    pub output_days: Vec<f64>,
    /// Times of the snapshots (days), increasing.
    pub snapshot_days: Vec<f64>,
    /// Detection threshold (cells/mm^3).
    pub threshold_cells_per_mm3: f64,
    /// HDF5 output.
    pub output: PathBuf,
    /// Optional CSV output.
    pub csv: Option<PathBuf>,
}

/// Attributes recorded in the result (name, value).
pub(crate) type Attrs = Vec<(String, AttrValue)>;

pub(crate) fn err(f: &Path, message: impl Into<String>) -> DriverError {
    DriverError::Config {
        file: f.to_path_buf(),
        message: message.into(),
    }
}

pub(crate) fn positive(f: &Path, key: &str, v: f64, what: &str) -> Result<f64, DriverError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(err(f, format!("{key} = {v}: expected {what} > 0")))
    }
}

/// Loads a growth configuration, applies the overrides and validates it: the phantom is
/// built, every tissue named in the diffusion table is looked up in it, dose files are
/// read and checked against the phantom's grid. Nothing is simulated.
pub fn growth_plan_from_file(path: &Path, ov: &GrowthOverrides) -> Result<GrowthPlan, DriverError> {
    let mut config: GrowthConfig = load_toml(path)?;
    ov.apply(&mut config.run, &mut config.output);
    growth_plan(config, path)
}

impl GrowthOverrides {
    /// Applies the overrides to a configuration's `[run]` and `[output]`.
    pub(crate) fn apply(&self, run: &mut GrowthRunSection, output: &mut GrowthOutputSection) {
        if let Some(t) = self.threads {
            run.threads = t;
        }
        if let Some(s) = self.seed {
            run.seed = s;
        }
        if let Some(o) = &self.output {
            output.path = o.clone();
        }
    }
}

/// The worker pool of a growth run: `threads` workers (0 = one per core), and their number.
pub(crate) fn worker_pool(threads: usize) -> Result<(rayon::ThreadPool, usize), DriverError> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| DriverError::Other(format!("cannot start {threads} worker threads: {e}")))?;
    Ok((pool, threads))
}

/// The provenance attributes every growth result starts with: version, model, seed,
/// threads, the configuration (file and TOML as run) and the wall time.
pub(crate) fn provenance_attrs<C: Serialize>(
    model: &str,
    seed: u64,
    threads: usize,
    config_path: &Path,
    config: &C,
    wall_seconds: f64,
) -> Result<Attrs, DriverError> {
    let toml = toml::to_string(config)
        .map_err(|e| DriverError::Other(format!("cannot serialise the configuration: {e}")))?;
    Ok(vec![
        ("pedisim_version".into(), env!("CARGO_PKG_VERSION").into()),
        ("model".into(), model.into()),
        ("seed".into(), seed.into()),
        ("threads".into(), (threads as u64).into()),
        (
            "config_file".into(),
            config_path.display().to_string().into(),
        ),
        ("config_toml".into(), toml.into()),
        ("wall_seconds".into(), wall_seconds.into()),
    ])
}

/// Checks the header shared by both growth models' configurations: `[model] kind` must be
/// `expected` (the other model has its own plan: [`crate::growth_agents::agents_plan`] for
/// `"agents"`, [`growth_plan`] for `"continuum"`; `pedisim grow` and `pedisim campaign`
/// choose by the kind) and `[run] threads` at most 4096. Errors name the file `f`.
pub(crate) fn check_model_and_threads(
    f: &Path,
    kind: &str,
    expected: &str,
    threads: usize,
) -> Result<(), DriverError> {
    if kind != expected {
        return Err(err(
            f,
            format!("[model] kind = \"{kind}\": expected \"{expected}\""),
        ));
    }
    if threads > 4096 {
        return Err(err(
            f,
            format!("[run] threads = {threads}: expected 0 (all cores) to 4096"),
        ));
    }
    Ok(())
}

/// Validates a growth configuration read from `config_path` (see
/// [`growth_plan_from_file`]).
pub fn growth_plan(config: GrowthConfig, config_path: &Path) -> Result<GrowthPlan, DriverError> {
    let f = config_path;
    check_model_and_threads(f, &config.model.kind, "continuum", config.run.threads)?;
    let c = config.continuum.as_ref().ok_or_else(|| {
        err(
            f,
            "[continuum] is missing: model kind \"continuum\" requires it",
        )
    })?;
    let scheme = match c.scheme.as_str() {
        "crank-nicolson" => DiffusionScheme::CrankNicolson,
        "backward-euler" => DiffusionScheme::BackwardEuler,
        other => {
            return Err(err(
                f,
                format!(
                    "[continuum] scheme = \"{other}\": expected \"crank-nicolson\" or \"backward-euler\""
                ),
            ))
        }
    };
    let params = ContinuumParams {
        rho_per_day: c.rho_per_day,
        carrying_capacity_cells_per_mm3: c.carrying_capacity_cells_per_mm3,
        dt_day: c.dt_day,
        scheme,
    };
    params
        .validate()
        .map_err(|e| err(f, format!("[continuum] {e}")))?;
    let end = positive(
        f,
        "[continuum] end_day",
        c.end_day,
        "a simulated time in days",
    )?;
    let interval = match c.output_interval_day {
        Some(v) => positive(
            f,
            "[continuum] output_interval_day",
            v,
            "an interval in days",
        )?,
        None => c.dt_day,
    };
    if !(c.detection_threshold_fraction > 0.0 && c.detection_threshold_fraction <= 1.0) {
        return Err(err(
            f,
            format!(
                "[continuum] detection_threshold_fraction = {}: expected a fraction of the carrying capacity in (0, 1]",
                c.detection_threshold_fraction
            ),
        ));
    }
    if !(1..=MAX_REFINE).contains(&c.refine) {
        return Err(err(
            f,
            format!(
                "[continuum] refine = {}: expected an integer from 1 to {MAX_REFINE}",
                c.refine
            ),
        ));
    }
    let snapshot_days = c.snapshot_days.clone().unwrap_or_else(|| vec![0.0, end]);
    if snapshot_days
        .iter()
        .any(|t| !(t.is_finite() && *t >= 0.0 && *t <= end))
        || snapshot_days.windows(2).any(|w| w[1] <= w[0])
    {
        return Err(err(
            f,
            format!(
                "[continuum] snapshot_days = {snapshot_days:?}: expected increasing times from 0 to end_day = {end}"
            ),
        ));
    }
    let mut output_days: Vec<f64> = Vec::new();
    let mut k = 0u64;
    loop {
        let t = k as f64 * interval;
        if t >= end - 1e-9 * interval {
            break;
        }
        output_days.push(t);
        k += 1;
    }
    output_days.push(end);

    // Phantom and the model grid.
    let mut db = MaterialDb::builtin().map_err(|e| err(f, e.to_string()))?;
    for (name, spec) in &config.materials {
        db.add(name, &spec.into())
            .map_err(|e| err(f, format!("[materials.{name}]: {e}")))?;
    }
    let phantom = build_phantom(&config.phantom, f, &mut db)?;
    let d_by_label = diffusion_by_label(f, &phantom, &c.diffusion_mm2_per_day)?;
    let grid = refined_grid(&phantom.grid, c.refine).map_err(|e| err(f, e))?;
    let labels = refine_map(&phantom.labels, phantom.grid.dims, c.refine);
    let diffusion: Vec<f64> = labels
        .iter()
        .map(|l| d_by_label.get(l).copied().unwrap_or(0.0))
        .collect();
    let initial_density = initial_sphere(
        f,
        &grid,
        &diffusion,
        &c.initial,
        c.carrying_capacity_cells_per_mm3,
    )?;

    let (courses, treatment_attrs) = match &config.treatment {
        Some(t) => treatment_courses(f, t, &phantom, c.refine)?,
        None => (
            Vec::new(),
            vec![("treatment".into(), AttrValue::Str("none".into()))],
        ),
    };
    let output = config.output.path.clone();
    let csv = config.output.csv.clone();
    Ok(GrowthPlan {
        threshold_cells_per_mm3: c.detection_threshold_fraction * c.carrying_capacity_cells_per_mm3,
        config,
        config_path: config_path.to_path_buf(),
        grid,
        labels,
        diffusion_mm2_per_day: diffusion,
        initial_density,
        params,
        courses,
        treatment_attrs,
        output_days,
        snapshot_days,
        output,
        csv,
    })
}

/// The diffusion coefficient of every label, from the table by organ name. Errors for a
/// name the phantom lacks or a negative or non-finite value.
fn diffusion_by_label(
    f: &Path,
    phantom: &Phantom,
    table: &BTreeMap<String, f64>,
) -> Result<BTreeMap<u32, f64>, DriverError> {
    if table.is_empty() {
        return Err(err(
            f,
            "[continuum.diffusion_mm2_per_day] is empty: expected the diffusion coefficient of at least one tissue of the phantom",
        ));
    }
    let mut out = BTreeMap::new();
    for (name, d) in table {
        if !(d.is_finite() && *d >= 0.0) {
            return Err(err(
                f,
                format!("[continuum.diffusion_mm2_per_day] \"{name}\" = {d}: expected a coefficient >= 0 mm^2/day"),
            ));
        }
        let entries: Vec<_> = phantom.table.iter().filter(|e| e.name == *name).collect();
        if entries.is_empty() {
            let names: Vec<&str> = phantom.table.iter().map(|e| e.name.as_str()).collect();
            return Err(err(
                f,
                format!(
                    "[continuum.diffusion_mm2_per_day] \"{name}\": the phantom has no organ of that name; its organs are {names:?}"
                ),
            ));
        }
        for e in entries {
            out.insert(e.value, *d);
        }
    }
    Ok(out)
}

/// The phantom grid with every voxel cut into `refine^3`, same world placement.
fn refined_grid(g: &GridGeometry, refine: usize) -> Result<GridGeometry, String> {
    let r = refine as f64;
    let voxel = g.voxel_mm.map(|v| v / r);
    let origin = [0, 1, 2]
        .map(|a| g.origin_mm[a] + g.axis_sign[a] * (-0.5 * g.voxel_mm[a] + 0.5 * voxel[a]));
    GridGeometry::new(g.dims.map(|d| d * refine), voxel, origin, g.axis_sign)
        .map_err(|e| e.to_string())
}

/// A per-voxel map on the grid refined by `refine` (every fine voxel takes its parent's
/// value).
fn refine_map<T: Copy>(values: &[T], dims: [usize; 3], refine: usize) -> Vec<T> {
    if refine == 1 {
        return values.to_vec();
    }
    let [nx, ny, nz] = dims;
    let (fx, fy, fz) = (nx * refine, ny * refine, nz * refine);
    let mut out = Vec::with_capacity(fx * fy * fz);
    for k in 0..fz {
        for j in 0..fy {
            for i in 0..fx {
                out.push(values[i / refine + nx * (j / refine + ny * (k / refine))]);
            }
        }
    }
    out
}

/// The initial density: `density_fraction * K` times the fraction of each voxel inside the
/// sphere (4^3 sub-samples per voxel), in invadable voxels only.
fn initial_sphere(
    f: &Path,
    grid: &GridGeometry,
    diffusion: &[f64],
    s: &InitialTumour,
    k: f64,
) -> Result<Vec<f64>, DriverError> {
    positive(
        f,
        "[continuum.initial] radius_mm",
        s.radius_mm,
        "a radius in mm",
    )?;
    if !(s.density_fraction > 0.0 && s.density_fraction <= 1.0) {
        return Err(err(
            f,
            format!(
                "[continuum.initial] density_fraction = {}: expected a fraction of the carrying capacity in (0, 1]",
                s.density_fraction
            ),
        ));
    }
    if s.centre_mm.iter().any(|v| !v.is_finite()) {
        return Err(err(
            f,
            format!(
                "[continuum.initial] centre_mm = {:?}: expected finite coordinates",
                s.centre_mm
            ),
        ));
    }
    let c = grid.world_to_grid(Vec3::new(s.centre_mm[0], s.centre_mm[1], s.centre_mm[2]));
    let c = [c.x, c.y, c.z];
    let [nx, ny, nz] = grid.dims;
    let h = grid.voxel_mm;
    let r2 = s.radius_mm * s.radius_mm;
    const SUB: usize = 4;
    let mut density = vec![0.0; grid.len()];
    let range = |a: usize, n: usize| {
        let lo = ((c[a] - s.radius_mm) / h[a]).floor().max(0.0) as usize;
        let hi = (((c[a] + s.radius_mm) / h[a]).ceil().max(0.0) as usize).min(n);
        lo..hi
    };
    let mut inside_total = 0.0;
    let mut outside_tissue = 0.0;
    for iz in range(2, nz) {
        for iy in range(1, ny) {
            for ix in range(0, nx) {
                let mut hits = 0usize;
                for sz in 0..SUB {
                    for sy in 0..SUB {
                        for sx in 0..SUB {
                            let p = [
                                (ix as f64 + (sx as f64 + 0.5) / SUB as f64) * h[0] - c[0],
                                (iy as f64 + (sy as f64 + 0.5) / SUB as f64) * h[1] - c[1],
                                (iz as f64 + (sz as f64 + 0.5) / SUB as f64) * h[2] - c[2],
                            ];
                            if p[0] * p[0] + p[1] * p[1] + p[2] * p[2] <= r2 {
                                hits += 1;
                            }
                        }
                    }
                }
                if hits == 0 {
                    continue;
                }
                let frac = hits as f64 / (SUB * SUB * SUB) as f64;
                let i = grid.index(ix, iy, iz);
                inside_total += frac;
                if diffusion[i] > 0.0 {
                    density[i] = frac * s.density_fraction * k;
                } else {
                    outside_tissue += frac;
                }
            }
        }
    }
    if inside_total == 0.0 || outside_tissue >= inside_total {
        return Err(err(
            f,
            format!(
                "[continuum.initial] the sphere at {:?} mm (radius {} mm) lies {}: expected it in a tissue listed in [continuum.diffusion_mm2_per_day]",
                s.centre_mm,
                s.radius_mm,
                if inside_total == 0.0 { "outside the grid" } else { "mostly outside the invadable tissues" }
            ),
        ));
    }
    Ok(density)
}

/// Reads `/dose/dose_gy` of a dose file and checks its grid against the phantom's.
fn read_dose_map(
    f: &Path,
    key: &str,
    file: &Path,
    phantom: &Phantom,
) -> Result<Vec<f64>, DriverError> {
    let dims = crate::report::read_dims(file)?;
    let voxel = crate::report::read_vec3(file, "voxel_size_mm")?;
    let origin = crate::report::read_vec3(file, "origin_mm")?;
    let sign = crate::report::read_vec3(file, "axis_sign").unwrap_or([1.0; 3]);
    let g = GridGeometry::new(dims, voxel, origin, sign)
        .map_err(|e| err(file, format!("grid of the dose file: {e}")))?;
    same_grid(&g, &phantom.grid).map_err(|m| {
        err(
            f,
            format!(
                "{key} = {}: its {m} (the dose must be computed on the growth run's phantom)",
                file.display()
            ),
        )
    })?;
    // The dose must say what it is: Gy per history (one decay or one source photon).
    let units = match h5::read_attr_string(file, "/dose/dose_gy", "units") {
        Ok(u) => Some(u),
        Err(pedisim_io::IoError::MissingObject { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    if units.as_deref() != Some("Gy per history") {
        let found = units.map_or("no `units` attribute".to_string(), |u| {
            format!("units \"{u}\"")
        });
        return Err(err(
            f,
            format!(
                "{key} = {}: /dose/dose_gy has {found}: expected \"Gy per history\" (a dose file of pedisim run)",
                file.display()
            ),
        ));
    }
    let (dose, _) = h5::read_f64_dataset(file, "/dose/dose_gy")?;
    if dose.len() != phantom.grid.len() {
        return Err(err(
            file,
            format!(
                "/dose/dose_gy has {} values: expected {}",
                dose.len(),
                phantom.grid.len()
            ),
        ));
    }
    if let Some(i) = dose.iter().position(|d| !(d.is_finite() && *d >= 0.0)) {
        return Err(err(
            file,
            format!(
                "/dose/dose_gy at voxel {i} is {}: expected a finite dose >= 0",
                dose[i]
            ),
        ));
    }
    Ok(dose)
}

/// Builds the treatment courses on the model grid and the attributes that describe them.
pub(crate) fn treatment_courses(
    f: &Path,
    t: &TreatmentSection,
    phantom: &Phantom,
    refine: usize,
) -> Result<(Vec<Course>, Attrs), DriverError> {
    positive(
        f,
        "[treatment] alpha_per_gy",
        t.alpha_per_gy,
        "a radiosensitivity in 1/Gy",
    )?;
    positive(
        f,
        "[treatment] alpha_beta_gy",
        t.alpha_beta_gy,
        "an alpha/beta ratio in Gy",
    )?;
    let beta = t.alpha_per_gy / t.alpha_beta_gy;
    let repair_per_day = match t.repair_half_time_h {
        Some(h) => repair_rate_per_day(positive(
            f,
            "[treatment] repair_half_time_h",
            h,
            "a half-time in hours",
        )?),
        None => 0.0,
    };
    let lq = LqParams {
        alpha_per_gy: t.alpha_per_gy,
        beta_per_gy2: beta,
        repair_per_day,
    };
    let mut attrs: Vec<(String, AttrValue)> = vec![
        ("alpha_per_gy".into(), t.alpha_per_gy.into()),
        ("beta_per_gy2".into(), beta.into()),
    ];
    let mut courses = Vec::new();
    let mut described = Vec::new();
    if t.external.is_none() && t.radiopharmaceutical.is_none() {
        return Err(err(
            f,
            "[treatment] has neither [treatment.external] nor [treatment.radiopharmaceutical]: expected at least one course",
        ));
    }
    if let Some(e) = &t.external {
        let times = fraction_times(f, e)?;
        let file = resolve(f, &e.dose_file);
        let dose = read_dose_map(f, "[treatment.external] dose_file", &file, phantom)?;
        positive(
            f,
            "[treatment.external] dose_per_fraction_gy",
            e.dose_per_fraction_gy,
            "a dose in Gy",
        )?;
        let (reference, how) = match e.reference_point_mm {
            Some(p) => {
                let g = phantom.grid.world_to_grid(Vec3::new(p[0], p[1], p[2]));
                let i = phantom.grid.voxel_of_grid_point(g).ok_or_else(|| {
                    err(f, format!("[treatment.external] reference_point_mm = {p:?} is outside the phantom's grid"))
                })?;
                (
                    dose[i],
                    format!("dose at the reference point {p:?} mm (voxel {i})"),
                )
            }
            None => (
                dose.iter().copied().fold(0.0, f64::max),
                "maximum of the dose map".to_string(),
            ),
        };
        if reference <= 0.0 {
            return Err(err(
                f,
                format!("[treatment.external] the dose file's {how} is 0: the prescription cannot be scaled to it"),
            ));
        }
        let scale = e.dose_per_fraction_gy / reference;
        described.push(format!(
            "{} external-beam fractions of {} Gy ({how})",
            times.len(),
            e.dose_per_fraction_gy
        ));
        attrs.push((
            "external_dose_file".into(),
            file.display().to_string().into(),
        ));
        attrs.push(("external_fractions".into(), (times.len() as u64).into()));
        attrs.push(("external_fraction_times_day".into(), times.clone().into()));
        attrs.push((
            "external_dose_per_fraction_gy".into(),
            e.dose_per_fraction_gy.into(),
        ));
        attrs.push(("external_prescription_reference".into(), how.into()));
        attrs.push(("external_scale_gy_per_gy_per_history".into(), scale.into()));
        let fraction_dose: Vec<f64> = dose.iter().map(|d| d * scale).collect();
        courses.push(Course::Fractions {
            times_day: times,
            dose_gy: refine_map(&fraction_dose, phantom.grid.dims, refine),
            lq,
        });
    }
    if let Some(r) = &t.radiopharmaceutical {
        if t.repair_half_time_h.is_none() {
            return Err(err(
                f,
                "[treatment] repair_half_time_h is missing: a radiopharmaceutical course needs the repair half-time of sublethal damage (hours)",
            ));
        }
        let file = resolve(f, &r.dose_file);
        let dose = read_dose_map(
            f,
            "[treatment.radiopharmaceutical] dose_file",
            &file,
            phantom,
        )?;
        let nuclide = dose_file_nuclide(&file)?.ok_or_else(|| {
            err(
                f,
                format!(
                    "[treatment.radiopharmaceutical] dose_file = {}: its run has no nuclide source, so its dose is not per decay",
                    file.display()
                ),
            )
        })?;
        if !(r.start_day.is_finite() && r.start_day >= 0.0) {
            return Err(err(
                f,
                format!(
                    "[treatment.radiopharmaceutical] start_day = {}: expected a time >= 0 (days)",
                    r.start_day
                ),
            ));
        }
        let mbq = positive(
            f,
            "[treatment.radiopharmaceutical] activity_mbq",
            r.activity_mbq,
            "an activity in MBq",
        )?;
        let t_eff_h = positive(
            f,
            "[treatment.radiopharmaceutical] effective_half_life_h",
            r.effective_half_life_h,
            "a half-life in hours",
        )?;
        // Decays to completion: A0 tau = A0 T_eff / ln 2.
        let decays = mbq * 1e6 * t_eff_h * 3600.0 / std::f64::consts::LN_2;
        let lambda = std::f64::consts::LN_2 * 24.0 / t_eff_h;
        let total: Vec<f64> = dose.iter().map(|d| d * decays).collect();
        let g = lea_catcheside_exponential(lambda, repair_per_day, f64::INFINITY);
        let max_total = total.iter().copied().fold(0.0, f64::max);
        described.push(format!(
            "{nuclide} therapy of {mbq} MBq on day {} (effective half-life {t_eff_h} h, largest voxel dose {max_total:.3} Gy)",
            r.start_day
        ));
        attrs.push((
            "radiopharmaceutical_dose_file".into(),
            file.display().to_string().into(),
        ));
        attrs.push(("radiopharmaceutical_nuclide".into(), nuclide.into()));
        attrs.push(("radiopharmaceutical_start_day".into(), r.start_day.into()));
        attrs.push(("radiopharmaceutical_activity_mbq".into(), mbq.into()));
        attrs.push((
            "radiopharmaceutical_effective_half_life_h".into(),
            t_eff_h.into(),
        ));
        attrs.push(("radiopharmaceutical_decays".into(), decays.into()));
        attrs.push(("radiopharmaceutical_lea_catcheside_g".into(), g.into()));
        attrs.push((
            "repair_half_time_h".into(),
            t.repair_half_time_h.unwrap_or(0.0).into(),
        ));
        courses.push(Course::DecayingDoseRate {
            start_day: r.start_day,
            total_dose_gy: refine_map(&total, phantom.grid.dims, refine),
            decay_per_day: lambda,
            lq,
        });
    }
    attrs.insert(0, ("treatment".into(), described.join("; ").into()));
    Ok((courses, attrs))
}

/// The nuclide of a dose file's run (`[source] nuclide` of its `config_toml`), if any.
fn dose_file_nuclide(file: &Path) -> Result<Option<String>, DriverError> {
    let text = h5::read_attr_string(file, "/", "config_toml")?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| err(file, format!("root attribute config_toml is not TOML: {e}")))?;
    Ok(table
        .get("source")
        .and_then(|s| s.get("nuclide"))
        .and_then(|n| n.as_str())
        .map(str::to_string))
}

/// The fraction times of an external course: `times_day`, or `fractions` daily from
/// `start_day` on `fractions_per_week` days a week.
fn fraction_times(f: &Path, e: &ExternalSection) -> Result<Vec<f64>, DriverError> {
    let key = "[treatment.external]";
    match (&e.times_day, e.start_day, e.fractions) {
        (Some(t), None, None) => {
            if t.is_empty()
                || t.iter().any(|x| !(x.is_finite() && *x >= 0.0))
                || t.windows(2).any(|w| w[1] <= w[0])
            {
                return Err(err(f, format!("{key} times_day = {t:?}: expected increasing times >= 0 (days)")));
            }
            if e.fractions_per_week.is_some() {
                return Err(err(f, format!("{key} fractions_per_week goes with start_day and fractions, not with times_day")));
            }
            Ok(t.clone())
        }
        (None, Some(start), Some(n)) => {
            if !(start.is_finite() && start >= 0.0) {
                return Err(err(f, format!("{key} start_day = {start}: expected a time >= 0 (days)")));
            }
            if n == 0 {
                return Err(err(f, format!("{key} fractions = 0: expected at least one")));
            }
            let per_week = e.fractions_per_week.unwrap_or(5);
            if !(1..=7).contains(&per_week) {
                return Err(err(f, format!("{key} fractions_per_week = {per_week}: expected 1 to 7")));
            }
            Ok((0u64..)
                .filter(|d| d % 7 < u64::from(per_week))
                .take(n as usize)
                .map(|d| start + d as f64)
                .collect())
        }
        _ => Err(err(
            f,
            format!("{key}: expected either times_day, or start_day and fractions (with optional fractions_per_week)"),
        )),
    }
}

/// What a finished growth run reports.
#[derive(Clone, Debug)]
pub struct GrowthOutcome {
    /// The HDF5 file written.
    pub output: PathBuf,
    /// The trajectory.
    pub trajectory: Vec<Observables>,
    /// Wall time of the simulation (s).
    pub wall_seconds: f64,
    /// Voxel updates per second (voxels x time steps / wall time).
    pub voxel_updates_per_second: f64,
    /// Threads used.
    pub threads: usize,
}

/// Runs a validated growth plan on a pool of `threads` workers, calling `progress(t_day,
/// end_day)` at every trajectory row, and writes the results atomically. Setting `cancel`
/// stops the run at the next row; nothing is written then.
pub fn run_growth(
    plan: &GrowthPlan,
    progress: &mut dyn FnMut(f64, f64),
    cancel: &AtomicBool,
) -> Result<GrowthOutcome, DriverError> {
    let (pool, threads) = worker_pool(plan.config.run.threads)?;
    let f = &plan.config_path;
    let mut model = ContinuumModel::new(
        plan.grid.dims,
        plan.grid.voxel_mm,
        &plan.diffusion_mm2_per_day,
        plan.params.clone(),
    )
    .map_err(|e| err(f, e.to_string()))?;
    model
        .set_density(plan.initial_density.clone())
        .map_err(|e| err(f, e.to_string()))?;
    model
        .set_treatment(plan.courses.clone())
        .map_err(|e| err(f, e.to_string()))?;
    let end = *plan.output_days.last().expect("the end is an output time");
    let mut times: Vec<f64> = plan
        .output_days
        .iter()
        .chain(&plan.snapshot_days)
        .copied()
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * plan.params.dt_day);
    let start = Instant::now();
    let mut trajectory = Vec::new();
    let mut snapshots: Vec<(f64, Vec<f32>)> = Vec::new();
    let n = plan.grid.len() as f64;
    let mut steps = 0.0;
    for t in &times {
        if cancel.load(Ordering::Relaxed) {
            return Err(DriverError::Transport(
                pedisim_transport::TransportError::Cancelled,
            ));
        }
        let before = model.time_day();
        pool.install(|| model.advance_to(*t));
        steps += ((t - before) / plan.params.dt_day).ceil();
        let close = |x: &f64| (x - t).abs() <= 1e-9 * plan.params.dt_day;
        if plan.output_days.iter().any(close) {
            trajectory.push(pool.install(|| model.observables(plan.threshold_cells_per_mm3)));
            progress(*t, end);
        }
        if plan.snapshot_days.iter().any(close) {
            snapshots.push((*t, model.density().iter().map(|c| *c as f32).collect()));
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let rate = if wall > 0.0 { n * steps / wall } else { 0.0 };
    write_growth(plan, &trajectory, &snapshots, wall, rate, threads)?;
    Ok(GrowthOutcome {
        output: plan.output.clone(),
        trajectory,
        wall_seconds: wall,
        voxel_updates_per_second: rate,
        threads,
    })
}

/// A group of columns as CSV: a header line of the column names, one line per row
/// (reals in Rust's shortest round-trip notation). The CSV copies of growth trajectories
/// are written from the same group as the HDF5 `/trajectory`, so the two cannot differ.
pub(crate) fn table_csv(group: &TableGroup) -> String {
    let names: Vec<&str> = group.columns.iter().map(|c| c.name).collect();
    let mut s = names.join(",");
    s.push('\n');
    let rows = group.columns.first().map_or(0, |c| match &c.values {
        ColumnValues::F64(v) => v.len(),
        ColumnValues::U64(v) => v.len(),
        ColumnValues::Str(v) => v.len(),
    });
    for r in 0..rows {
        let cells: Vec<String> = group
            .columns
            .iter()
            .map(|c| match &c.values {
                ColumnValues::F64(v) => v[r].to_string(),
                ColumnValues::U64(v) => v[r].to_string(),
                ColumnValues::Str(v) => v[r].clone(),
            })
            .collect();
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

/// Writes a growth result's HDF5 file, then (if asked) the CSV copy of its `/trajectory`
/// group: the CSV's presence marks a complete result for campaigns.
pub(crate) fn write_result(
    output: &Path,
    csv: Option<&Path>,
    file: &TableFile,
) -> Result<(), DriverError> {
    h5::write_table_file(output, file)?;
    if let Some(csv) = csv {
        let trajectory = file
            .groups
            .iter()
            .find(|g| g.name == "trajectory")
            .expect("growth results have a trajectory");
        crate::write_text_atomic(csv, &table_csv(trajectory))?;
    }
    Ok(())
}

fn write_growth(
    plan: &GrowthPlan,
    rows: &[Observables],
    snapshots: &[(f64, Vec<f32>)],
    wall: f64,
    rate: f64,
    threads: usize,
) -> Result<(), DriverError> {
    let g = &plan.grid;
    let c = plan.config.continuum.as_ref().expect("validated");
    let mut attrs = provenance_attrs(
        "continuum (proliferation-invasion, Fisher-KPP)",
        plan.config.run.seed,
        threads,
        &plan.config_path,
        &plan.config,
        wall,
    )?;
    attrs.extend::<Attrs>(vec![
        ("voxel_updates_per_second".into(), rate.into()),
        (
            "dims_xyz".into(),
            g.dims.iter().map(|d| *d as u64).collect::<Vec<_>>().into(),
        ),
        ("voxel_size_mm".into(), g.voxel_mm.into()),
        ("origin_mm".into(), g.origin_mm.into()),
        ("axis_sign".into(), g.axis_sign.into()),
        ("refine".into(), (c.refine as u64).into()),
        ("rho_per_day".into(), plan.params.rho_per_day.into()),
        (
            "carrying_capacity_cells_per_mm3".into(),
            plan.params.carrying_capacity_cells_per_mm3.into(),
        ),
        ("dt_day".into(), plan.params.dt_day.into()),
        ("scheme".into(), c.scheme.clone().into()),
        ("end_day".into(), c.end_day.into()),
        (
            "detection_threshold_cells_per_mm3".into(),
            plan.threshold_cells_per_mm3.into(),
        ),
    ]);
    attrs.extend(plan.treatment_attrs.iter().cloned());
    let col = |f: fn(&Observables) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let (t, cells, vol, rad, maxd) = (
        col(|r| r.time_day),
        col(|r| r.total_cells),
        col(|r| r.detectable_volume_mm3),
        col(|r| r.equivalent_radius_mm),
        col(|r| r.max_density_cells_per_mm3),
    );
    let snap_t: Vec<f64> = snapshots.iter().map(|s| s.0).collect();
    let mut snap_values = Vec::with_capacity(snapshots.len() * g.len());
    for s in snapshots {
        snap_values.extend_from_slice(&s.1);
    }
    let d32: Vec<f32> = plan
        .diffusion_mm2_per_day
        .iter()
        .map(|d| *d as f32)
        .collect();
    let zyx = [g.dims[2], g.dims[1], g.dims[0]];
    let course_maps: Vec<(&str, Vec<f32>, &str)> = plan
        .courses
        .iter()
        .map(|c| match c {
            Course::Fractions { dose_gy, .. } => (
                "fraction_dose_gy",
                dose_gy.iter().map(|d| *d as f32).collect(),
                "absorbed dose of one external-beam fraction in each voxel",
            ),
            Course::DecayingDoseRate { total_dose_gy, .. } => (
                "radiopharmaceutical_total_dose_gy",
                total_dose_gy.iter().map(|d| *d as f32).collect(),
                "absorbed dose delivered to completion by the radiopharmaceutical in each voxel",
            ),
        })
        .collect();
    let mut volumes = vec![
        Volume {
            group: "snapshots",
            name: "density_cells_per_mm3",
            shape: vec![snapshots.len(), zyx[0], zyx[1], zyx[2]],
            values: VolumeValues::F32(&snap_values),
            units: "cells/mm3",
            description: "tumour cell density at each snapshot time: [snapshot, nz, ny, nx]",
        },
        Volume {
            group: "grid",
            name: "labels",
            shape: zyx.to_vec(),
            values: VolumeValues::U32(&plan.labels),
            units: "1",
            description: "phantom label of each voxel of the model grid",
        },
        Volume {
            group: "grid",
            name: "diffusion_mm2_per_day",
            shape: zyx.to_vec(),
            values: VolumeValues::F32(&d32),
            units: "mm2/day",
            description: "diffusion coefficient of each voxel (0: not invadable)",
        },
    ];
    for (name, values, description) in &course_maps {
        volumes.push(Volume {
            group: "treatment",
            name,
            shape: zyx.to_vec(),
            values: VolumeValues::F32(values),
            units: "Gy",
            description,
        });
    }
    let mut groups = vec![
        TableGroup {
            name: "trajectory",
            description: "whole-tumour observables at each output time",
            columns: vec![
                Column {
                    name: "time_day",
                    values: ColumnValues::F64(&t),
                    units: "day",
                    description: "time from the start of the simulation",
                },
                Column {
                    name: "total_cells",
                    values: ColumnValues::F64(&cells),
                    units: "cells",
                    description: "number of tumour cells (integral of the density)",
                },
                Column {
                    name: "detectable_volume_mm3",
                    values: ColumnValues::F64(&vol),
                    units: "mm3",
                    description: "volume where the density is at least the detection threshold",
                },
                Column {
                    name: "equivalent_radius_mm",
                    values: ColumnValues::F64(&rad),
                    units: "mm",
                    description: "radius of the sphere of the detectable volume",
                },
                Column {
                    name: "max_density_cells_per_mm3",
                    values: ColumnValues::F64(&maxd),
                    units: "cells/mm3",
                    description: "largest density",
                },
            ],
        },
        TableGroup {
            name: "snapshots",
            description: "tumour cell density fields",
            columns: vec![Column {
                name: "time_day",
                values: ColumnValues::F64(&snap_t),
                units: "day",
                description: "time of each snapshot",
            }],
        },
        TableGroup {
            name: "grid",
            description: "the model grid: labels and diffusion coefficients",
            columns: vec![],
        },
    ];
    if !course_maps.is_empty() {
        groups.push(TableGroup {
            name: "treatment",
            description: "dose maps of the treatment courses on the model grid",
            columns: vec![],
        });
    }
    let file = TableFile {
        format_name: GROWTH_FORMAT_NAME,
        format_version: ("growth_format_version", GROWTH_FORMAT_VERSION),
        root_attrs: &attrs,
        groups,
        matrices: vec![],
        volumes,
    };
    write_result(&plan.output, plan.csv.as_deref(), &file)?;
    Ok(())
}
