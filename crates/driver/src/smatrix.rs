//! `pedisim smatrix`: the MIRD S matrix of a label-map phantom for a radionuclide,
//! S(target <- source) in Gy per decay, one Monte Carlo run per source region.
//!
//! **Regions.** Source and target regions are named as in the phantom's label table: the
//! ICRP Publication 155 region names of each label's `regions` (the vocabulary of the
//! biokinetic models and of the ICRP 103 tissue mapping), or the label's own `name` for a
//! label without `regions`. A label listing several regions belongs to each of them.
//! Label 0 and labels of air or vacuum are neither sources nor targets. The source
//! `Total-body` (activity uniform per unit mass over every target label) is added for the
//! remainder correction of organ dosimetry (`pedisim_dosimetry::mird`).
//!
//! **Runs.** For each source region, decays of the nuclide (ICRP-107, all emissions) are
//! placed uniformly per unit mass in its voxels and transported with the run's physics
//! (condensed-history electrons by default). The energy deposited in each label is summed
//! per batch; a target region's S value is the energy in its labels divided by their mass.
//! Uncertainties: relative standard error from the batches, per label, combined in
//! quadrature over a region's labels. Each source uses its own random stream (the seed
//! and the source's position in the list), so the matrix does not depend on the thread
//! count, and adding a source leaves the others unchanged.

use crate::config::ElectronTransport;
use crate::phantoms::load_label_phantom;
use crate::svalues::run_on_threads;
use crate::DriverError;
use pedisim_core::constants::JOULE_PER_MEV;
use pedisim_io::h5::{self, AttrValue, Column, ColumnValues, Matrix, TableFile, TableGroup};
use pedisim_phantom::Phantom;
use pedisim_physics::electron::ElectronTables;
use pedisim_physics::material::MaterialDb;
use pedisim_physics::nuclide::DecaySampler;
use pedisim_physics::photon::PhotonTables;
use pedisim_transport::kernel::{ChargedParticleModel, Counters, Settings, Simulation};
use pedisim_transport::model::VoxelModel;
use pedisim_transport::source::{Source, Spatial, Spectrum};
use pedisim_transport::tally::BatchStats;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Name of the whole-body source region.
pub const TOTAL_BODY: &str = "Total-body";

/// Layout version of S-matrix files (`docs/formats.md` section 9).
pub const SMATRIX_FORMAT_VERSION: &str = "1.0";

/// What to compute: the options of `pedisim smatrix`.
#[derive(Clone, Debug)]
pub struct SMatrixSpec {
    /// The phantom's label map (`.nii` or `.nii.gz`).
    pub labels: PathBuf,
    /// Its label table (`None`: the file beside the map, see
    /// [`crate::phantoms::table_path_for`]).
    pub table: Option<PathBuf>,
    /// Radionuclide, ICRP-107 name.
    pub nuclide: String,
    /// Source regions (`None`: every region of the phantom, then `Total-body`).
    pub sources: Option<Vec<String>>,
    /// Decays per source region (rounded up to a multiple of `batches`).
    pub histories: u64,
    /// Independent batches for the uncertainty.
    pub batches: u64,
    /// Random seed.
    pub seed: u64,
    /// Worker threads; 0 = all cores. Does not change the result.
    pub threads: usize,
    /// Electron and positron cutoff \[keV\] (condensed history).
    pub electron_cutoff_kev: f64,
    /// Condensed history or local deposition.
    pub electron_transport: ElectronTransport,
}

/// A computed S matrix.
#[derive(Clone, Debug)]
pub struct SMatrix {
    /// Target region names.
    pub targets: Vec<String>,
    /// Mass of each target region \[kg\].
    pub target_mass_kg: Vec<f64>,
    /// Source region names.
    pub sources: Vec<String>,
    /// Mass of each source region \[kg\].
    pub source_mass_kg: Vec<f64>,
    /// S(target <- source) \[Gy per decay\], `targets x sources`, row major.
    pub s_gy_per_decay: Vec<f64>,
    /// Relative standard error (1 sigma) of each S value \[1\]; NaN where nothing was
    /// deposited.
    pub relative_uncertainty: Vec<f64>,
    /// Decays simulated per source.
    pub histories_per_source: u64,
    /// Threads used.
    pub threads: usize,
    /// Wall time of the transport \[s\].
    pub wall_seconds: f64,
    /// Counters summed over all sources.
    pub counters: Counters,
    /// The label-table file used.
    pub table: PathBuf,
}

fn opt_err(message: String) -> DriverError {
    DriverError::Config {
        file: PathBuf::from("(command line)"),
        message,
    }
}

/// Region name -> labels, for a phantom's table (see the module documentation).
pub fn regions_of(
    phantom: &Phantom,
    table: &crate::config::LabelTableFile,
) -> BTreeMap<String, Vec<u32>> {
    let mut map: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for l in &table.label {
        if l.value == 0 || l.material == "air" || l.material == "vacuum" {
            continue;
        }
        if !phantom.table.iter().any(|e| e.value == l.value) {
            continue;
        }
        let names = if l.regions.is_empty() {
            std::slice::from_ref(&l.name)
        } else {
            &l.regions[..]
        };
        for n in names {
            map.entry(n.clone()).or_default().push(l.value);
        }
    }
    map
}

/// Stream seed of source `k`: distinct per source, independent of the thread count.
fn source_seed(seed: u64, k: usize) -> u64 {
    seed ^ (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Computes the S matrix. `progress(done, total)` reports decays over all sources.
pub fn compute(
    spec: &SMatrixSpec,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<SMatrix, DriverError> {
    if spec.batches < crate::plan::MIN_BATCHES {
        return Err(opt_err(format!(
            "--batches {}: expected at least {}",
            spec.batches,
            crate::plan::MIN_BATCHES
        )));
    }
    if spec.histories < spec.batches {
        return Err(opt_err(format!(
            "--histories {}: expected at least one decay per batch (--batches {})",
            spec.histories, spec.batches
        )));
    }
    let sampler = DecaySampler::new(&spec.nuclide).map_err(|e| {
        opt_err(format!(
            "--nuclide {}: {e} (`pedisim nuclides` lists them)",
            spec.nuclide
        ))
    })?;
    let db = MaterialDb::builtin()?;
    let table_path = spec
        .table
        .clone()
        .unwrap_or_else(|| crate::phantoms::table_path_for(&spec.labels));
    let (phantom, table) = load_label_phantom(&spec.labels, &table_path, None, &db, None)?;
    let regions = regions_of(&phantom, &table);
    if regions.is_empty() {
        return Err(DriverError::Config {
            file: table_path.clone(),
            message: "no region with matter in the label table (every label is 0, air or vacuum)"
                .into(),
        });
    }
    // Targets: every region. Sources: the requested ones, or every region and Total-body.
    let targets: Vec<String> = regions.keys().cloned().collect();
    let sources: Vec<String> = match &spec.sources {
        Some(list) => {
            if list.is_empty() {
                return Err(opt_err(
                    "--sources: expected at least one source region".into(),
                ));
            }
            for s in list {
                if s != TOTAL_BODY && !regions.contains_key(s) {
                    return Err(opt_err(format!(
                        "--sources: region '{s}' is not in the phantom (label table {}); its \
                         regions: {}, and {TOTAL_BODY}",
                        table_path.display(),
                        targets.join(", ")
                    )));
                }
            }
            list.clone()
        }
        None => targets
            .iter()
            .cloned()
            .chain([TOTAL_BODY.to_string()])
            .collect(),
    };
    let materials = phantom
        .materials
        .iter()
        .map(|m| db.get(m).cloned())
        .collect::<Result<Vec<_>, _>>()?;
    let electrons = crate::svalues::electron_settings(
        spec.electron_transport,
        spec.electron_cutoff_kev,
        &spec.nuclide,
        &sampler,
    )?;
    if electrons.is_some() {
        if let Some(m) = materials
            .iter()
            .find(|m| !m.is_vacuum() && m.mean_excitation_ev.is_none())
        {
            return Err(opt_err(format!(
                "material '{}' of the phantom has no mean excitation energy, which \
                 electron transport needs; use --electron-transport local",
                m.name
            )));
        }
    }
    let photon_tables = PhotonTables::new(&materials)?;
    let electron_tables = match electrons {
        Some(s) => Some(ElectronTables::new(&materials, s)?),
        None => None,
    };
    let model = VoxelModel::new(&phantom)?;
    let settings = Settings {
        charged: if electron_tables.is_some() {
            ChargedParticleModel::CondensedHistory
        } else {
            ChargedParticleModel::LocalDeposition
        },
        ..Settings::default()
    };

    // Groups: one per table entry (label), one more for voxels of no listed label.
    let label_index: BTreeMap<u32, usize> = phantom
        .table
        .iter()
        .enumerate()
        .map(|(k, e)| (e.value, k))
        .collect();
    let n_labels = phantom.table.len();
    let group_of: Vec<u32> = phantom
        .labels
        .iter()
        .map(|l| label_index.get(l).map_or(n_labels as u32, |&k| k as u32))
        .collect();
    let mut label_mass = vec![0.0; n_labels + 1];
    for (i, &g) in group_of.iter().enumerate() {
        label_mass[g as usize] += phantom.voxel_mass_kg(i);
    }
    let region_labels: Vec<Vec<usize>> = targets
        .iter()
        .map(|t| regions[t].iter().map(|l| label_index[l]).collect())
        .collect();
    let target_mass_kg: Vec<f64> = region_labels
        .iter()
        .map(|ls| ls.iter().map(|&k| label_mass[k]).sum())
        .collect();
    let body_labels: Vec<u32> = regions.values().flatten().copied().collect();
    let source_labels = |s: &str| -> Vec<u32> {
        if s == TOTAL_BODY {
            body_labels.clone()
        } else {
            regions[s].clone()
        }
    };

    let hpb = spec.histories.div_ceil(spec.batches);
    let total = hpb * spec.batches * sources.len() as u64;
    let (nt, ns) = (targets.len(), sources.len());
    let mut s_gy = vec![0.0; nt * ns];
    let mut rel = vec![0.0; nt * ns];
    let mut source_mass_kg = Vec::with_capacity(ns);
    let mut counters = Counters::default();
    let mut threads_used = 1;
    let t0 = Instant::now();
    for (k, s) in sources.iter().enumerate() {
        let mut in_source = vec![false; n_labels + 1];
        for l in source_labels(s) {
            in_source[label_index[&l]] = true;
        }
        let mut w = vec![0.0; phantom.grid.len()];
        for (i, wi) in w.iter_mut().enumerate() {
            if in_source[group_of[i] as usize] {
                *wi = phantom.voxel_mass_kg(i);
            }
        }
        let mass: f64 = w.iter().sum();
        source_mass_kg.push(mass);
        let spatial = Spatial::voxels(&w, phantom.grid.dims, phantom.grid.voxel_mm)
            .map_err(|_| opt_err(format!("source region '{s}' has no mass in the phantom")))?;
        let source = Source::new(spatial, Spectrum::Nuclide(Box::new(sampler.clone())));
        let mut sim = Simulation::new(&model, &photon_tables, &source, settings.clone());
        if let Some(e) = &electron_tables {
            sim = sim.with_electrons(e)?;
        }
        let stats =
            BatchStats::new(phantom.grid.len(), hpb).with_groups(group_of.clone(), n_labels + 1);
        let done_before = hpb * spec.batches * k as u64;
        let mut report = |d: u64, _t: u64| progress(done_before + d, total);
        let (result, threads) = run_on_threads(
            &sim,
            source_seed(spec.seed, k),
            spec.batches,
            stats,
            spec.threads,
            hpb * spec.batches,
            &mut report,
            cancel,
        )?;
        threads_used = threads;
        if result.stats.batches < spec.batches {
            return Err(opt_err("interrupted: no S matrix written".into()));
        }
        let n = result.stats.histories() as f64;
        let group_rel = result.stats.group_relative_uncertainty();
        for (t, ls) in region_labels.iter().enumerate() {
            let e_mev: f64 = ls
                .iter()
                .map(|&g| result.stats.group_sum_mev[g])
                .sum::<f64>()
                / n;
            let var: f64 = ls
                .iter()
                .map(|&g| {
                    let e = result.stats.group_sum_mev[g] / n;
                    let r = group_rel[g];
                    if r.is_finite() {
                        (e * r).powi(2)
                    } else {
                        0.0
                    }
                })
                .sum();
            let m = target_mass_kg[t];
            s_gy[t * ns + k] = if m > 0.0 {
                e_mev * JOULE_PER_MEV / m
            } else {
                0.0
            };
            rel[t * ns + k] = if e_mev > 0.0 {
                var.sqrt() / e_mev
            } else {
                f64::NAN
            };
        }
        counters.merge(&result.counters);
    }
    progress(total, total);
    Ok(SMatrix {
        targets,
        target_mass_kg,
        sources,
        source_mass_kg,
        s_gy_per_decay: s_gy,
        relative_uncertainty: rel,
        histories_per_source: hpb * spec.batches,
        threads: threads_used,
        wall_seconds: t0.elapsed().as_secs_f64(),
        counters,
        table: table_path,
    })
}

/// Writes an S matrix to HDF5 (`docs/formats.md` section 9), atomically.
pub fn write_hdf5(
    m: &SMatrix,
    spec: &SMatrixSpec,
    path: &Path,
    command_line: &str,
) -> Result<(), DriverError> {
    let root_attrs: Vec<(String, AttrValue)> = vec![
        (
            "pedisim_version".into(),
            AttrValue::Str(pedisim_core::PEDISIM_VERSION.into()),
        ),
        ("command_line".into(), AttrValue::Str(command_line.into())),
        ("nuclide".into(), AttrValue::Str(spec.nuclide.clone())),
        (
            "phantom_labels".into(),
            AttrValue::Str(spec.labels.display().to_string()),
        ),
        (
            "phantom_table".into(),
            AttrValue::Str(m.table.display().to_string()),
        ),
        (
            "histories_per_source".into(),
            AttrValue::U64(m.histories_per_source),
        ),
        ("batches".into(), AttrValue::U64(spec.batches)),
        ("seed".into(), AttrValue::U64(spec.seed)),
        ("threads".into(), AttrValue::U64(m.threads as u64)),
        ("wall_seconds".into(), AttrValue::F64(m.wall_seconds)),
        (
            "electron_transport".into(),
            AttrValue::Str(
                match spec.electron_transport {
                    ElectronTransport::Condensed => "condensed",
                    ElectronTransport::Local => "local",
                }
                .into(),
            ),
        ),
        (
            "electron_cutoff_kev".into(),
            AttrValue::F64(spec.electron_cutoff_kev),
        ),
        (
            "emitted_energy_mev".into(),
            AttrValue::F64(m.counters.emitted_mev),
        ),
        (
            "deposited_energy_mev".into(),
            AttrValue::F64(m.counters.deposited_mev),
        ),
        (
            "escaped_energy_mev".into(),
            AttrValue::F64(m.counters.escaped_mev),
        ),
    ];
    let (nt, ns) = (m.targets.len(), m.sources.len());
    let file = TableFile {
        format_name: "pedisim-smatrix",
        format_version: ("smatrix_format_version", SMATRIX_FORMAT_VERSION),
        root_attrs: &root_attrs,
        groups: vec![
            TableGroup {
                name: "targets",
                description: "target regions: one row per row of /s_gy_per_decay",
                columns: vec![
                    Column {
                        name: "name",
                        values: ColumnValues::Str(&m.targets),
                        units: "text",
                        description: "region name (ICRP 155 region or label name)",
                    },
                    Column {
                        name: "mass_kg",
                        values: ColumnValues::F64(&m.target_mass_kg),
                        units: "kg",
                        description: "mass of the region's voxels",
                    },
                ],
            },
            TableGroup {
                name: "sources",
                description: "source regions: one row per column of /s_gy_per_decay",
                columns: vec![
                    Column {
                        name: "name",
                        values: ColumnValues::Str(&m.sources),
                        units: "text",
                        description: "region name (ICRP 155 region, label name, or Total-body)",
                    },
                    Column {
                        name: "mass_kg",
                        values: ColumnValues::F64(&m.source_mass_kg),
                        units: "kg",
                        description: "mass over which the activity is uniform",
                    },
                ],
            },
        ],
        matrices: vec![
            Matrix {
                name: "s_gy_per_decay",
                values: &m.s_gy_per_decay,
                shape: [nt, ns],
                units: "Gy per decay",
                description: "S(target <- source): mean absorbed dose in the target region per \
                              decay in the source region; [target, source]",
            },
            Matrix {
                name: "relative_uncertainty",
                values: &m.relative_uncertainty,
                shape: [nt, ns],
                units: "1 (relative, 1 sigma)",
                description: "relative standard error of each S value (batch statistics); NaN \
                              where nothing was deposited",
            },
        ],
        volumes: Vec::new(),
    };
    h5::write_table_file(path, &file)?;
    Ok(())
}

/// The S matrix as CSV: one row per (target, source) pair.
pub fn csv_text(m: &SMatrix, nuclide: &str) -> String {
    let mut s = format!(
        "# pedisim {} S matrix, nuclide {nuclide}, {} decays per source\n\
         target,source,s_gy_per_decay,relative_uncertainty,target_mass_kg\n",
        pedisim_core::PEDISIM_VERSION,
        m.histories_per_source
    );
    let ns = m.sources.len();
    for (t, target) in m.targets.iter().enumerate() {
        for (k, source) in m.sources.iter().enumerate() {
            s.push_str(&format!(
                "{target},{source},{:.6e},{:.4e},{:.6e}\n",
                m.s_gy_per_decay[t * ns + k],
                m.relative_uncertainty[t * ns + k],
                m.target_mass_kg[t]
            ));
        }
    }
    s
}
