//! Validation: a raw [`RunConfig`] becomes a [`Plan`] that can run, or an error that names
//! the file, the key or the voxel and what was expected. Nothing is simulated or written
//! before the whole plan is valid.

use crate::config::ElectronTransport;
use crate::config::RunConfig;
use crate::DriverError;
use pedisim_core::{GridGeometry, Vec3};
use pedisim_io::nifti_io;
use pedisim_phantom::builtin::{box_phantom, slab_phantom, sphere_phantom, Slab};
use pedisim_phantom::Phantom;
use pedisim_physics::electron::{ElectronSettings, MIN_CUTOFF_MEV};
use pedisim_physics::material::{Material, MaterialDb};
use pedisim_physics::nuclide::DecaySampler;
use pedisim_transport::kernel::{ChargedParticleModel, Settings};
use pedisim_transport::source::{Source, Spatial, Spectrum};
use std::path::{Path, PathBuf};

/// Lowest and highest source photon energy \[keV\].
pub const SOURCE_ENERGY_RANGE_KEV: (f64, f64) = (1.0, 10_000.0);
/// Smallest number of batches (the uncertainty needs enough independent estimates).
pub const MIN_BATCHES: u64 = 10;

/// A validated run, ready to execute.
pub struct Plan {
    /// The configuration with command-line overrides applied (written into the output).
    pub config: RunConfig,
    /// The configuration file.
    pub config_path: PathBuf,
    /// The phantom.
    pub phantom: Phantom,
    /// The phantom's materials, in the order of its material ids.
    pub materials: Vec<Material>,
    /// The source, in the grid frame.
    pub source: Source,
    /// Transport settings.
    pub settings: Settings,
    /// Rayleigh scattering on or off.
    pub rayleigh: bool,
    /// Electron physics settings when electrons are transported (condensed history);
    /// None for local deposition.
    pub electrons: Option<ElectronSettings>,
    /// Number of batches.
    pub batches: u64,
    /// Histories per batch (histories = batches x histories_per_batch).
    pub histories_per_batch: u64,
    /// Seed.
    pub seed: u64,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// HDF5 output path.
    pub output: PathBuf,
    /// Optional NIfTI dose output path.
    pub dose_nifti: Option<PathBuf>,
    /// Optional CSV of the dose-volume histograms.
    pub dvh_csv: Option<PathBuf>,
}

impl Plan {
    /// Total histories that will run.
    pub fn histories(&self) -> u64 {
        self.batches * self.histories_per_batch
    }
}

/// Command-line overrides of config keys.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--histories`.
    pub histories: Option<u64>,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--output`.
    pub output: Option<PathBuf>,
}

fn cfg_err(file: &Path, message: impl Into<String>) -> DriverError {
    DriverError::Config {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

/// Loads, overrides and validates a run configuration.
pub fn plan_from_file(path: &Path, ov: &Overrides) -> Result<Plan, DriverError> {
    let mut config = RunConfig::load(path)?;
    if let Some(h) = ov.histories {
        config.run.histories = h;
    }
    if let Some(t) = ov.threads {
        config.run.threads = t;
    }
    if let Some(s) = ov.seed {
        config.run.seed = s;
    }
    if let Some(o) = &ov.output {
        config.output.path = o.clone();
    }
    plan(config, path)
}

/// Resolves a path from the config relative to the config file's directory.
pub(crate) fn resolve(config_path: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        config_path.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// Validates a configuration (already loaded from `config_path`).
pub fn plan(config: RunConfig, config_path: &Path) -> Result<Plan, DriverError> {
    let f = config_path;
    let run = &config.run;
    if run.histories == 0 {
        return Err(cfg_err(
            f,
            "[run] histories = 0: expected at least 1 history",
        ));
    }
    if run.batches < MIN_BATCHES {
        return Err(cfg_err(
            f,
            format!("[run] batches = {}: expected at least {MIN_BATCHES} (independent batches for the uncertainty)", run.batches),
        ));
    }
    if run.threads > 4096 {
        return Err(cfg_err(
            f,
            format!(
                "[run] threads = {}: expected 0 (all cores) to 4096",
                run.threads
            ),
        ));
    }
    if !(run.checkpoint_minutes.is_finite() && run.checkpoint_minutes >= 0.0) {
        return Err(cfg_err(
            f,
            format!(
                "[run] checkpoint_minutes = {}: expected a number of minutes >= 0 (0 = only when interrupted)",
                run.checkpoint_minutes
            ),
        ));
    }
    let histories_per_batch = run.histories.div_ceil(run.batches);

    // Materials: built-in plus the config's.
    let mut db = MaterialDb::builtin().map_err(|e| cfg_err(f, e.to_string()))?;
    for (name, spec) in &config.materials {
        db.add(name, &spec.into())
            .map_err(|e| cfg_err(f, format!("[materials.{name}]: {e}")))?;
    }

    let phantom = build_phantom(&config.phantom, f, &mut db)?;
    let materials = phantom
        .materials
        .iter()
        .map(|m| db.get(m).cloned())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cfg_err(f, format!("[phantom]: {e}")))?;

    let cutoff_kev = config.physics.photon_cutoff_kev;
    if !(cutoff_kev.is_finite()
        && (0.0..=SOURCE_ENERGY_RANGE_KEV.1).contains(&cutoff_kev)
        && cutoff_kev >= 1.0)
    {
        return Err(cfg_err(
            f,
            format!("[physics] photon_cutoff_kev = {cutoff_kev}: expected a value from 1 keV (the start of the cross-section tables) to 10000 keV"),
        ));
    }
    let source = build_source(&config, f, &phantom)?;
    if let Spectrum::Mono { energy_mev } = source.spectrum {
        if energy_mev * 1e3 < cutoff_kev {
            return Err(cfg_err(
                f,
                format!("[source] energy_kev = {}: below the photon cutoff [physics] photon_cutoff_kev = {cutoff_kev}", energy_mev * 1e3),
            ));
        }
    }
    let electrons = match config.physics.electron_transport {
        ElectronTransport::Local => None,
        ElectronTransport::Condensed => {
            let kev = config.physics.electron_cutoff_kev;
            if !(kev.is_finite() && (MIN_CUTOFF_MEV * 1e3..1000.0).contains(&kev)) {
                return Err(cfg_err(
                    f,
                    format!("[physics] electron_cutoff_kev = {kev}: expected a value from 1 keV to below 1000 keV"),
                ));
            }
            let top_mev = max_source_energy_mev(&source);
            if kev * 1e-3 >= top_mev {
                return Err(cfg_err(
                    f,
                    format!(
                        "[physics] electron_cutoff_kev = {kev}: at or above the highest energy the source emits ({} keV), so no electron would be transported; lower it or set electron_transport = \"local\"",
                        top_mev * 1e3
                    ),
                ));
            }
            if let Some(m) = materials
                .iter()
                .find(|m| !m.is_vacuum() && m.mean_excitation_ev.is_none())
            {
                return Err(cfg_err(
                    f,
                    format!("material '{}': no mean excitation energy (mean_excitation_ev, in eV), which electron transport needs for the stopping power; add it or set [physics] electron_transport = \"local\"", m.name),
                ));
            }
            Some(ElectronSettings {
                cutoff_mev: kev * 1e-3,
                delta_threshold_mev: kev * 1e-3,
                brems_threshold_mev: kev * 1e-3,
                ..Default::default()
            })
        }
    };
    let output = config.output.path.clone();
    if output.as_os_str().is_empty() || output.is_dir() {
        return Err(cfg_err(
            f,
            format!("[output] path = {:?}: expected a file name", output),
        ));
    }
    if let Some(n) = &config.output.dose_nifti {
        let name = n.to_string_lossy();
        if n.is_dir() || !(name.ends_with(".nii") || name.ends_with(".nii.gz")) {
            return Err(cfg_err(
                f,
                format!("[output] dose_nifti = {name:?}: expected a file name ending in .nii or .nii.gz"),
            ));
        }
    }
    Ok(Plan {
        settings: Settings {
            photon_cutoff_mev: cutoff_kev * 1e-3,
            charged: if electrons.is_some() {
                ChargedParticleModel::CondensedHistory
            } else {
                ChargedParticleModel::LocalDeposition
            },
            ..Settings::default()
        },
        rayleigh: config.physics.rayleigh,
        electrons,
        batches: run.batches,
        histories_per_batch,
        seed: run.seed,
        threads: run.threads,
        dose_nifti: config.output.dose_nifti.clone(),
        dvh_csv: config.output.dvh_csv.clone(),
        output,
        config_path: config_path.to_path_buf(),
        phantom,
        materials,
        source,
        config,
    })
}

/// The highest kinetic energy \[MeV\] of any particle the source emits (photons included:
/// they set electrons in motion up to their energy).
fn max_source_energy_mev(source: &Source) -> f64 {
    match &source.spectrum {
        Spectrum::Mono { energy_mev } | Spectrum::MonoElectron { energy_mev } => *energy_mev,
        Spectrum::Nuclide(s) => s.max_energy_mev(),
    }
}

/// Rejects keys that do not apply to a kind.
fn only_keys(
    f: &Path,
    section: &str,
    kind: &str,
    present: &[(&str, bool)],
    allowed: &[&str],
) -> Result<(), DriverError> {
    for (k, is) in present {
        if *is && !allowed.contains(k) {
            return Err(cfg_err(
                f,
                format!("[{section}] {k}: this key does not apply to {section} kind '{kind}' (keys for it: kind, {})", allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

fn need<T: Clone>(
    f: &Path,
    section: &str,
    key: &str,
    kind: &str,
    v: &Option<T>,
) -> Result<T, DriverError> {
    v.clone().ok_or_else(|| {
        cfg_err(
            f,
            format!("[{section}] {key} is missing: {section} kind '{kind}' requires it"),
        )
    })
}

/// Builds the phantom of a `[phantom]` section of the configuration file `f`; the
/// `icrp110` and `ct` kinds add their materials to `db`. Shared by dose runs and growth
/// runs.
pub(crate) fn build_phantom(
    p: &crate::config::PhantomSection,
    f: &Path,
    db: &mut MaterialDb,
) -> Result<Phantom, DriverError> {
    let present = [
        ("material", p.material.is_some()),
        ("background", p.background.is_some()),
        ("size_mm", p.size_mm.is_some()),
        ("lateral_mm", p.lateral_mm.is_some()),
        ("voxel_mm", p.voxel_mm.is_some()),
        ("radius_mm", p.radius_mm.is_some()),
        ("centre_mm", p.centre_mm.is_some()),
        ("slabs", p.slabs.is_some()),
        ("labels", p.labels.is_some()),
        ("table", p.table.is_some()),
        ("density", p.density.is_some()),
        ("organ_ids", p.organ_ids.is_some()),
        ("organs", p.organs.is_some()),
        ("media", p.media.is_some()),
        ("dims", p.dims.is_some()),
        ("ct", p.ct.is_some()),
        ("calibration", p.calibration.is_some()),
    ];
    let kind = p.kind.as_str();
    match kind {
        "icrp110" => {
            only_keys(
                f,
                "phantom",
                kind,
                &present,
                &[
                    "organ_ids",
                    "organs",
                    "media",
                    "dims",
                    "voxel_mm",
                    "background",
                ],
            )?;
            let files = crate::phantom_formats::Icrp110Files {
                organ_ids: resolve(f, &need(f, "phantom", "organ_ids", kind, &p.organ_ids)?),
                organs: resolve(f, &need(f, "phantom", "organs", kind, &p.organs)?),
                media: resolve(f, &need(f, "phantom", "media", kind, &p.media)?),
                dims: need(f, "phantom", "dims", kind, &p.dims)?,
                voxel_mm: need(f, "phantom", "voxel_mm", kind, &p.voxel_mm)?,
                background: p.background.clone().unwrap_or_else(|| "vacuum".into()),
            };
            return crate::phantom_formats::load_icrp110(&files, db, f);
        }
        "ct" => {
            only_keys(f, "phantom", kind, &present, &["ct", "calibration"])?;
            let ct = resolve(f, &need(f, "phantom", "ct", kind, &p.ct)?);
            let cal = resolve(f, &need(f, "phantom", "calibration", kind, &p.calibration)?);
            return crate::phantom_formats::load_ct(&ct, &cal, db, f);
        }
        _ => {}
    }
    let db = &*db;
    let nominal = |m: &str| db.get(m).ok().map(|m| m.density_g_cm3);
    let check_material = |m: &str, key: &str| -> Result<(), DriverError> {
        db.get(m)
            .map(|_| ())
            .map_err(|e| cfg_err(f, format!("[phantom] {key}: {e}")))
    };
    let ph_err = |e: pedisim_phantom::PhantomError| cfg_err(f, format!("[phantom] {e}"));
    match kind {
        "box" => {
            only_keys(
                f,
                "phantom",
                kind,
                &present,
                &["material", "size_mm", "voxel_mm"],
            )?;
            let m = need(f, "phantom", "material", kind, &p.material)?;
            check_material(&m, "material")?;
            box_phantom(
                &m,
                need(f, "phantom", "size_mm", kind, &p.size_mm)?,
                need(f, "phantom", "voxel_mm", kind, &p.voxel_mm)?,
                nominal,
            )
            .map_err(ph_err)
        }
        "sphere" => {
            only_keys(
                f,
                "phantom",
                kind,
                &present,
                &[
                    "material",
                    "background",
                    "size_mm",
                    "voxel_mm",
                    "radius_mm",
                    "centre_mm",
                ],
            )?;
            let m = need(f, "phantom", "material", kind, &p.material)?;
            check_material(&m, "material")?;
            let bg = p.background.clone().unwrap_or_else(|| "vacuum".into());
            check_material(&bg, "background")?;
            sphere_phantom(
                &m,
                &bg,
                need(f, "phantom", "radius_mm", kind, &p.radius_mm)?,
                p.centre_mm.unwrap_or([0.0; 3]),
                need(f, "phantom", "size_mm", kind, &p.size_mm)?,
                need(f, "phantom", "voxel_mm", kind, &p.voxel_mm)?,
                nominal,
            )
            .map_err(ph_err)
        }
        "slabs" => {
            only_keys(
                f,
                "phantom",
                kind,
                &present,
                &["slabs", "lateral_mm", "voxel_mm"],
            )?;
            let specs = need(f, "phantom", "slabs", kind, &p.slabs)?;
            let mut slabs = Vec::new();
            for (i, s) in specs.iter().enumerate() {
                check_material(&s.material, &format!("slabs[{i}].material"))?;
                slabs.push(Slab {
                    material: s.material.clone(),
                    thickness_mm: s.thickness_mm,
                    name: s.name.clone().unwrap_or_else(|| s.material.clone()),
                });
            }
            slab_phantom(
                &slabs,
                need(f, "phantom", "lateral_mm", kind, &p.lateral_mm)?,
                need(f, "phantom", "voxel_mm", kind, &p.voxel_mm)?,
                nominal,
            )
            .map_err(ph_err)
        }
        "nifti" => {
            only_keys(
                f,
                "phantom",
                kind,
                &present,
                &["labels", "table", "density"],
            )?;
            let labels_path = resolve(f, &need(f, "phantom", "labels", kind, &p.labels)?);
            let table_path = resolve(f, &need(f, "phantom", "table", kind, &p.table)?);
            let density_path = p.density.as_ref().map(|d| resolve(f, d));
            crate::phantoms::load_label_phantom(
                &labels_path,
                &table_path,
                density_path.as_deref(),
                db,
                Some(f),
            )
            .map(|(phantom, _)| phantom)
        }
        other => Err(cfg_err(
            f,
            format!(
                "[phantom] kind = '{other}': expected one of 'box', 'sphere', 'slabs', 'nifti', 'icrp110', 'ct'"
            ),
        )),
    }
}

/// Checks that two grids coincide (dimensions, voxel sizes and placement within 1e-3 mm).
pub fn same_grid(a: &GridGeometry, b: &GridGeometry) -> Result<(), String> {
    if a.dims != b.dims {
        return Err(format!(
            "grid {:?} voxels, expected the phantom's {:?}",
            a.dims, b.dims
        ));
    }
    let close = |x: &[f64; 3], y: &[f64; 3]| x.iter().zip(y).all(|(p, q)| (p - q).abs() < 1e-3);
    if !close(&a.voxel_mm, &b.voxel_mm)
        || !close(&a.origin_mm, &b.origin_mm)
        || a.axis_sign != b.axis_sign
    {
        return Err(format!(
            "voxel size {:?} mm / origin {:?} mm / axis signs {:?}, expected the phantom's {:?} mm / {:?} mm / {:?}",
            a.voxel_mm, a.origin_mm, a.axis_sign, b.voxel_mm, b.origin_mm, b.axis_sign
        ));
    }
    Ok(())
}

fn build_source(config: &RunConfig, f: &Path, phantom: &Phantom) -> Result<Source, DriverError> {
    let s = &config.source;
    let grid = &phantom.grid;
    let kind = s.kind.as_str();
    let present = [
        ("position_mm", s.position_mm.is_some()),
        ("direction", s.direction.is_some()),
        ("field_mm", s.field_mm.is_some()),
        ("labels", s.labels.is_some()),
        ("map", s.map.is_some()),
    ];
    let spectrum = match (&s.energy_kev, &s.nuclide) {
        (Some(_), Some(_)) => {
            return Err(cfg_err(
                f,
                "[source] energy_kev and nuclide are both given: expected exactly one",
            ))
        }
        (None, None) => {
            return Err(cfg_err(
                f,
                "[source] neither energy_kev nor nuclide is given: expected exactly one",
            ))
        }
        (Some(e), None) => {
            let (lo, hi) = SOURCE_ENERGY_RANGE_KEV;
            if !(e.is_finite() && *e >= lo && *e <= hi) {
                return Err(cfg_err(
                    f,
                    format!(
                        "[source] energy_kev = {e}: expected a photon energy from {lo} to {hi} keV"
                    ),
                ));
            }
            Spectrum::Mono {
                energy_mev: e * 1e-3,
            }
        }
        (None, Some(n)) => Spectrum::Nuclide(Box::new(
            DecaySampler::new(n).map_err(|e| cfg_err(f, format!("[source] nuclide: {e}")))?,
        )),
    };
    let finite3 = |key: &str, v: [f64; 3]| -> Result<Vec3, DriverError> {
        if v.iter().all(|x| x.is_finite()) {
            Ok(Vec3::from_array(v))
        } else {
            Err(cfg_err(
                f,
                format!("[source] {key} = {v:?}: expected finite numbers"),
            ))
        }
    };
    let spatial = match kind {
        "point" => {
            only_keys(f, "source", kind, &present, &["position_mm"])?;
            let p = match s.position_mm {
                Some(p) => grid.world_to_grid(finite3("position_mm", p)?),
                None => Vec3::from_array(grid.extent_mm()) * 0.5,
            };
            Spatial::Point { position_mm: p }
        }
        "beam" => {
            only_keys(f, "source", kind, &present, &["position_mm", "direction", "field_mm"])?;
            if matches!(spectrum, Spectrum::Nuclide(_)) {
                return Err(cfg_err(f, "[source] nuclide: a beam source emits photons of one energy: expected energy_kev"));
            }
            let p = grid.world_to_grid(finite3("position_mm", need(f, "source", "position_mm", kind, &s.position_mm)?)?);
            let d = grid.direction_world_to_grid(finite3("direction", need(f, "source", "direction", kind, &s.direction)?)?);
            Spatial::beam(p, d, s.field_mm.unwrap_or([0.0, 0.0])).map_err(|e| cfg_err(f, format!("[source] {e}")))?
        }
        "uniform" => {
            only_keys(f, "source", kind, &present, &["labels"])?;
            let mut w = vec![0.0; grid.len()];
            let wanted = s.labels.clone();
            if let Some(ls) = &wanted {
                if ls.is_empty() {
                    return Err(cfg_err(f, "[source] labels = []: expected at least one label, or no key for the whole phantom"));
                }
                for l in ls {
                    if !phantom.table.iter().any(|e| e.value == *l) {
                        let known: Vec<String> = phantom.table.iter().map(|e| format!("{} ({})", e.value, e.name)).collect();
                        return Err(cfg_err(f, format!("[source] labels: label {l} is not in the phantom (labels: {})", known.join(", "))));
                    }
                }
            }
            for (i, wi) in w.iter_mut().enumerate() {
                if wanted.as_ref().is_none_or(|ls| ls.contains(&phantom.labels[i])) {
                    *wi = phantom.voxel_mass_kg(i);
                }
            }
            Spatial::voxels(&w, grid.dims, grid.voxel_mm)
                .map_err(|_| cfg_err(f, "[source] labels: the selected voxels have no mass (vacuum?): expected matter to hold the activity"))?
        }
        "activity_map" => {
            only_keys(f, "source", kind, &present, &["map"])?;
            let mp = resolve(f, &need(f, "source", "map", kind, &s.map)?);
            let v = nifti_io::read_scalar(&mp).map_err(|e| cfg_err(f, format!("[source] map: {e}")))?;
            same_grid(&v.grid, grid).map_err(|m| cfg_err(&mp, format!("activity map on another grid: {m}")))?;
            if let Some((i, x)) = v.data.iter().enumerate().find(|(_, x)| !(x.is_finite() && **x >= 0.0)) {
                let [ix, iy, iz] = grid.unflatten(i);
                return Err(cfg_err(&mp, format!("voxel ({ix}, {iy}, {iz}) has activity {x}: expected a finite value >= 0")));
            }
            if v.data.iter().all(|x| *x == 0.0) {
                return Err(cfg_err(&mp, "all voxels have zero activity: expected some activity"));
            }
            Spatial::voxels(&v.data, grid.dims, grid.voxel_mm).map_err(|e| cfg_err(&mp, e.to_string()))?
        }
        other => {
            return Err(cfg_err(
                f,
                format!("[source] kind = '{other}': expected one of 'point', 'beam', 'uniform', 'activity_map'"),
            ))
        }
    };
    Ok(Source::new(spatial, spectrum))
}
