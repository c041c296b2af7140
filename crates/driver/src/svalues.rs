//! Voxel S values (MIRD Pamphlet 17): the mean absorbed dose in each voxel of a cubic
//! kernel per decay uniformly distributed in its central voxel, in a homogeneous medium.
//!
//! **Geometry.** A kernel of `size` voxels per side (`size` odd, offsets
//! `-(size-1)/2 ..= (size-1)/2`) is scored in the middle of a homogeneous cube of
//! `2 size + 1` voxels per side of the same material, so that at least `(size+1)/2` voxels
//! (half a kernel) of medium surround the kernel on every side. Published kernels are
//! computed for an infinite medium; what the finite cube misses is radiation scattered
//! back from beyond its faces, which reaches the kernel's outer voxels only through
//! photons (electrons of the beta emitters of interest stop within a few voxels). This
//! matters for far-field values of photon emitters and not for the self and
//! first-neighbour values.
//!
//! **Source and transport.** Decays of the nuclide (ICRP-107, all emissions) are placed
//! uniformly in the central voxel and transported by the kernel
//! ([`pedisim_transport::kernel::Simulation`]) with condensed-history electrons (or local
//! deposition of electron energy), on a thread pool of the requested size; the result is
//! bit-identical for any number of threads.
//!
//! **Symmetry averaging.** The source and the medium are symmetric under the 48 rotations
//! and reflections of the cube, so voxels whose offsets `(|i|, |j|, |k|)` are permutations
//! of each other receive the same mean dose. The energy deposited in each such class is
//! tallied as one group of exact batch statistics
//! ([`pedisim_transport::tally::BatchStats::with_groups`]), and each voxel's S value is its
//! class's energy divided by the number of voxels in the class, with the class's relative
//! uncertainty. One more group collects everything deposited outside the kernel.
//!
//! **Units.** S \[mGy/(MBq s)\] = E \[MeV per decay\] x 1.602176634e-13 \[J/MeV\] / m \[kg\]
//! x 1e6 \[decays per MBq s\] x 1e3 \[mGy/Gy\], with m the voxel mass from the density and
//! the voxel volume.

use crate::config::ElectronTransport;
use crate::DriverError;
use pedisim_core::constants::JOULE_PER_MEV;
use pedisim_io::h5::{self, AttrValue, SValueOutput, SValueRow};
use pedisim_phantom::builtin::box_phantom;
use pedisim_physics::electron::{ElectronSettings, ElectronTables, MIN_CUTOFF_MEV};
use pedisim_physics::material::MaterialDb;
use pedisim_physics::nuclide::DecaySampler;
use pedisim_physics::photon::PhotonTables;
use pedisim_transport::kernel::{
    ChargedParticleModel, Control, Counters, RunResult, Settings, Simulation,
};
use pedisim_transport::model::VoxelModel;
use pedisim_transport::source::{Source, Spatial, Spectrum};
use pedisim_transport::tally::BatchStats;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Largest kernel size accepted \[voxels per side\] (the simulated cube then has 203^3
/// voxels, about 0.3 GB of tallies).
pub const MAX_SIZE: usize = 101;

/// mGy/(MBq s) per (J/kg per decay): 1e6 decays per MBq s times 1e3 mGy per Gy.
const MGY_PER_MBQ_S_PER_GY_PER_DECAY: f64 = 1e9;

/// What to compute: the options of `pedisim svalues`. Validation errors name the
/// command-line option (`--size`, `--nuclide`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct SValueSpec {
    /// Radionuclide, ICRP-107 name (`"Y-90"`, `"Lu-177"`, ...).
    pub nuclide: String,
    /// Material of the medium, by name in the material database (`data/materials.toml`).
    pub material: String,
    /// Mass density of the medium \[g/cm^3\]; `None` = the material's nominal density.
    pub density_g_cm3: Option<f64>,
    /// Voxel edge \[mm\] (cubic voxels).
    pub voxel_mm: f64,
    /// Voxels per side of the kernel: odd, from 1 to [`MAX_SIZE`].
    pub size: usize,
    /// Decays to simulate (rounded up to a multiple of `batches`).
    pub histories: u64,
    /// Independent batches for the uncertainty (at least [`crate::plan::MIN_BATCHES`]).
    pub batches: u64,
    /// Random seed.
    pub seed: u64,
    /// Worker threads; 0 = all cores. Does not change the result.
    pub threads: usize,
    /// Electron and positron kinetic-energy cutoff \[keV\], also the delta-ray and
    /// bremsstrahlung production threshold (condensed history only).
    pub electron_cutoff_kev: f64,
    /// Condensed-history transport or local deposition of electrons and positrons.
    pub electron_transport: ElectronTransport,
}

impl Default for SValueSpec {
    /// Y-90 in soft tissue (nominal density), 3 mm voxels, an 11^3 kernel, 10^6 decays in
    /// 10 batches, seed 1, all cores, condensed history with a 10 keV cutoff.
    fn default() -> Self {
        Self {
            nuclide: "Y-90".into(),
            material: "soft_tissue".into(),
            density_g_cm3: None,
            voxel_mm: 3.0,
            size: 11,
            histories: 1_000_000,
            batches: 10,
            seed: 1,
            threads: 0,
            electron_cutoff_kev: 10.0,
            electron_transport: ElectronTransport::Condensed,
        }
    }
}

/// A computed voxel S-value kernel.
#[derive(Clone, Debug)]
pub struct SValueKernel {
    /// What was asked for.
    pub spec: SValueSpec,
    /// Density of the medium used \[g/cm^3\].
    pub density_g_cm3: f64,
    /// Mass of one voxel \[kg\].
    pub voxel_mass_kg: f64,
    /// Voxels per side of the simulated cube (`2 size + 1`).
    pub medium_voxels: usize,
    /// S value of every kernel voxel \[mGy/(MBq s)\], `size^3` values, x fastest: offset
    /// `(i, j, k)` at `(i + h) + size ((j + h) + size (k + h))`, `h = (size-1)/2`
    /// (see [`SValueKernel::index`]).
    pub s_value_mgy_per_mbq_s: Vec<f64>,
    /// Relative 1-sigma uncertainty of each S value \[1\] (that of its symmetry class),
    /// same layout; NaN where nothing was deposited.
    pub relative_uncertainty: Vec<f64>,
    /// The octant `0 <= i, j, k <= h`, i slowest, k fastest.
    pub octant: Vec<SValueRow>,
    /// Mean energy deposited outside the kernel per decay \[MeV\].
    pub outside_energy_mev_per_decay: f64,
    /// Decays simulated (batches x histories per batch).
    pub histories: u64,
    /// Decays per batch.
    pub histories_per_batch: u64,
    /// Threads used.
    pub threads: usize,
    /// Wall time of the transport \[s\].
    pub wall_seconds: f64,
    /// Run counters (energies summed over all decays, MeV).
    pub counters: Counters,
}

impl SValueKernel {
    /// Half width of the kernel, `(size-1)/2` \[voxels\].
    pub fn half(&self) -> usize {
        (self.spec.size - 1) / 2
    }

    /// Flat index of offset `(i, j, k)` \[voxels\] in the kernel arrays, or `None` outside
    /// the kernel.
    pub fn index(&self, i: i64, j: i64, k: i64) -> Option<usize> {
        let h = self.half() as i64;
        let n = self.spec.size as i64;
        if [i, j, k].iter().any(|v| v.abs() > h) {
            return None;
        }
        Some(((i + h) + n * ((j + h) + n * (k + h))) as usize)
    }

    /// S value at offset `(i, j, k)` \[mGy/(MBq s)\] (NaN outside the kernel).
    pub fn s(&self, i: i64, j: i64, k: i64) -> f64 {
        self.index(i, j, k)
            .map_or(f64::NAN, |x| self.s_value_mgy_per_mbq_s[x])
    }

    /// Relative 1-sigma uncertainty of the S value at offset `(i, j, k)` \[1\] (NaN outside
    /// the kernel or where nothing was deposited).
    pub fn rel(&self, i: i64, j: i64, k: i64) -> f64 {
        self.index(i, j, k)
            .map_or(f64::NAN, |x| self.relative_uncertainty[x])
    }
}

fn opt_err(message: String) -> DriverError {
    DriverError::Other(message)
}

/// Everything [`compute`] needs, validated.
struct Prepared {
    density_g_cm3: f64,
    materials: Vec<pedisim_physics::material::Material>,
    sampler: DecaySampler,
    electrons: Option<ElectronSettings>,
    histories_per_batch: u64,
}

/// Checks a specification without simulating anything; the error names the option.
pub fn validate(spec: &SValueSpec) -> Result<(), DriverError> {
    prepare(spec).map(|_| ())
}

fn prepare(spec: &SValueSpec) -> Result<Prepared, DriverError> {
    if spec.size == 0 || spec.size.is_multiple_of(2) || spec.size > MAX_SIZE {
        return Err(opt_err(format!(
            "--size {}: expected an odd number of voxels per side from 1 to {MAX_SIZE} \
             (the kernel spans offsets -(size-1)/2 to (size-1)/2 around the source voxel)",
            spec.size
        )));
    }
    if !(spec.voxel_mm.is_finite() && spec.voxel_mm > 0.0) {
        return Err(opt_err(format!(
            "--voxel-mm {}: expected a positive voxel edge in mm",
            spec.voxel_mm
        )));
    }
    let db = MaterialDb::builtin()?;
    let material = db.get(&spec.material).map_err(|e| {
        opt_err(format!(
            "--material {}: {e} (`pedisim materials` lists them)",
            spec.material
        ))
    })?;
    if material.is_vacuum() {
        return Err(opt_err(format!(
            "--material {}: expected a material with matter in it",
            spec.material
        )));
    }
    let density_g_cm3 = match spec.density_g_cm3 {
        Some(d) if d.is_finite() && d > 0.0 => d,
        Some(d) => {
            return Err(opt_err(format!(
                "--density-g-cm3 {d}: expected a positive density in g/cm3"
            )))
        }
        None => material.density_g_cm3,
    };
    let sampler = DecaySampler::new(&spec.nuclide).map_err(|e| {
        opt_err(format!(
            "--nuclide {}: {e} (`pedisim nuclides` lists them)",
            spec.nuclide
        ))
    })?;
    if spec.batches < crate::plan::MIN_BATCHES {
        return Err(opt_err(format!(
            "--batches {}: expected at least {} (independent batches for the uncertainty)",
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
    let electrons = electron_settings(
        spec.electron_transport,
        spec.electron_cutoff_kev,
        &spec.nuclide,
        &sampler,
    )?;
    if electrons.is_some() && material.mean_excitation_ev.is_none() {
        return Err(opt_err(format!(
            "--material {}: no mean excitation energy (mean_excitation_ev), which \
             electron transport needs; use --electron-transport local",
            spec.material
        )));
    }
    Ok(Prepared {
        density_g_cm3,
        materials: vec![material.clone()],
        sampler,
        electrons,
        histories_per_batch: spec.histories.div_ceil(spec.batches),
    })
}

/// The electron settings of a command-line run: `None` for local deposition; for condensed
/// history, the cutoff (also the delta-ray and bremsstrahlung threshold) checked against
/// its range and against the highest energy the nuclide emits. Errors name the option.
pub(crate) fn electron_settings(
    transport: ElectronTransport,
    cutoff_kev: f64,
    nuclide: &str,
    sampler: &DecaySampler,
) -> Result<Option<ElectronSettings>, DriverError> {
    if transport == ElectronTransport::Local {
        return Ok(None);
    }
    let kev = cutoff_kev;
    if !(kev.is_finite() && (MIN_CUTOFF_MEV * 1e3..1000.0).contains(&kev)) {
        return Err(opt_err(format!(
            "--electron-cutoff-kev {kev}: expected a value from {} keV to below 1000 keV",
            MIN_CUTOFF_MEV * 1e3
        )));
    }
    let top_kev = sampler.max_energy_mev() * 1e3;
    if kev >= top_kev {
        return Err(opt_err(format!(
            "--electron-cutoff-kev {kev}: at or above the highest energy {nuclide} emits \
             ({top_kev} keV), so no electron would be transported; lower it or use \
             --electron-transport local"
        )));
    }
    Ok(Some(ElectronSettings {
        cutoff_mev: kev * 1e-3,
        delta_threshold_mev: kev * 1e-3,
        brems_threshold_mev: kev * 1e-3,
        ..Default::default()
    }))
}

/// Symmetry classes of the kernel voxels: offsets `(|i|, |j|, |k|)` sorted in decreasing
/// order, `h >= a >= b >= c >= 0`, numbered in lexicographic order. Returns the class of
/// each sorted triple (a lookup table over `(h+1)^3`, indexed `a (h+1)^2 + b (h+1) + c`)
/// and the number of classes.
fn classes(h: usize) -> (Vec<u32>, usize) {
    let m = h + 1;
    let mut lut = vec![u32::MAX; m * m * m];
    let mut n = 0u32;
    for a in 0..m {
        for b in 0..=a {
            for c in 0..=b {
                lut[(a * m + b) * m + c] = n;
                n += 1;
            }
        }
    }
    (lut, n as usize)
}

/// The class of offset `(i, j, k)` (absolute values), from the lookup table of
/// [`classes`].
fn class_of(lut: &[u32], m: usize, i: usize, j: usize, k: usize) -> u32 {
    let mut v = [i, j, k];
    v.sort_unstable_by(|x, y| y.cmp(x));
    lut[(v[0] * m + v[1]) * m + v[2]]
}

/// Computes a voxel S-value kernel (see the module documentation), calling
/// `progress(decays_done, decays_total)` about four times a second from the calling
/// thread. Setting `cancel` stops the transport at the next chunk of decays; the function
/// then returns [`pedisim_transport::TransportError::Cancelled`] (see
/// [`DriverError::is_cancelled`]).
pub fn compute(
    spec: &SValueSpec,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<SValueKernel, DriverError> {
    let p = prepare(spec)?;
    let n_side = 2 * spec.size + 1;
    let v = spec.voxel_mm;
    let density = p.density_g_cm3;
    let phantom = box_phantom(&spec.material, [v * n_side as f64; 3], [v; 3], |_| {
        Some(density)
    })
    .map_err(|e| opt_err(format!("building the {n_side}^3 voxel medium: {e}")))?;
    if phantom.grid.dims != [n_side; 3] {
        return Err(opt_err(format!(
            "internal error: medium of {:?} voxels, expected {n_side} per side",
            phantom.grid.dims
        )));
    }
    let centre = phantom.grid.index(spec.size, spec.size, spec.size);
    let mut weights = vec![0.0; phantom.grid.len()];
    weights[centre] = 1.0;
    let source = Source::new(
        Spatial::voxels(&weights, phantom.grid.dims, [v; 3])?,
        Spectrum::Nuclide(Box::new(p.sampler)),
    );
    let photon_tables = PhotonTables::new(&p.materials)?;
    let electron_tables = match p.electrons {
        Some(s) => Some(ElectronTables::new(&p.materials, s)?),
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
    let mut sim = Simulation::new(&model, &photon_tables, &source, settings);
    if let Some(e) = &electron_tables {
        sim = sim.with_electrons(e)?;
    }

    // Groups: symmetry classes inside the kernel, one more for the rest of the medium.
    let h = (spec.size - 1) / 2;
    let m = h + 1;
    let (lut, n_classes) = classes(h);
    let outside = n_classes as u32;
    let mut group_of = Vec::with_capacity(phantom.grid.len());
    for iz in 0..n_side {
        for iy in 0..n_side {
            for ix in 0..n_side {
                let off = [ix, iy, iz].map(|x| x.abs_diff(spec.size));
                group_of.push(if off.iter().all(|&o| o <= h) {
                    class_of(&lut, m, off[0], off[1], off[2])
                } else {
                    outside
                });
            }
        }
    }
    let mut class_voxels = vec![0u64; n_classes];
    for &g in &group_of {
        if g != outside {
            class_voxels[g as usize] += 1;
        }
    }
    let stats = BatchStats::new(phantom.grid.len(), p.histories_per_batch)
        .with_groups(group_of, n_classes + 1);

    let total = p.histories_per_batch * spec.batches;
    let t0 = Instant::now();
    let (result, threads) = run_on_threads(
        &sim,
        spec.seed,
        spec.batches,
        stats,
        spec.threads,
        total,
        progress,
        cancel,
    )?;
    let wall_seconds = t0.elapsed().as_secs_f64();
    progress(total, total);

    let stats = &result.stats;
    let histories = stats.histories();
    let n = histories as f64;
    let voxel_mass_kg = density * v * v * v * 1e-3 * 1e-3;
    let group_rel = stats.group_relative_uncertainty();
    let class_s: Vec<f64> = (0..n_classes)
        .map(|c| {
            let e_per_voxel = stats.group_sum_mev[c] / n / class_voxels[c] as f64;
            e_per_voxel * JOULE_PER_MEV / voxel_mass_kg * MGY_PER_MBQ_S_PER_GY_PER_DECAY
        })
        .collect();
    let size = spec.size;
    let mut s_value = Vec::with_capacity(size * size * size);
    let mut rel = Vec::with_capacity(size * size * size);
    for k in 0..size {
        for j in 0..size {
            for i in 0..size {
                let c = class_of(&lut, m, i.abs_diff(h), j.abs_diff(h), k.abs_diff(h)) as usize;
                s_value.push(class_s[c]);
                rel.push(group_rel[c]);
            }
        }
    }
    let mut octant = Vec::with_capacity(m * m * m);
    for i in 0..m {
        for j in 0..m {
            for k in 0..m {
                let c = class_of(&lut, m, i, j, k) as usize;
                octant.push(SValueRow {
                    i: i as u32,
                    j: j as u32,
                    k: k as u32,
                    s_mgy_per_mbq_s: class_s[c],
                    relative_uncertainty: group_rel[c],
                });
            }
        }
    }
    Ok(SValueKernel {
        spec: spec.clone(),
        density_g_cm3: density,
        voxel_mass_kg,
        medium_voxels: n_side,
        s_value_mgy_per_mbq_s: s_value,
        relative_uncertainty: rel,
        octant,
        outside_energy_mev_per_decay: stats.group_sum_mev[n_classes] / n,
        histories,
        histories_per_batch: p.histories_per_batch,
        threads,
        wall_seconds,
        counters: result.counters,
    })
}

/// Runs `batches` batches of a simulation on a pool of `threads` threads (0: one per
/// core), reporting progress (histories done out of `total`) every 250 ms from the calling
/// thread, and cancelling the run when `cancel` is set. Returns the result and the number
/// of threads used.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_on_threads(
    sim: &Simulation,
    seed: u64,
    batches: u64,
    stats: BatchStats,
    threads: usize,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<(RunResult, usize), DriverError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| opt_err(format!("cannot start {threads} threads: {e}")))?;
    let threads = pool.current_num_threads();
    let control = Control::default();
    let result = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        let (control, pool) = (&control, &pool);
        scope.spawn(move || {
            let r = pool.install(|| sim.run_with_stats(seed, batches, stats, control));
            let _ = tx.send(r);
        });
        loop {
            if cancel.load(Ordering::Relaxed) {
                control.cancel.store(true, Ordering::Relaxed);
            }
            progress(
                control.histories_done.load(Ordering::Relaxed).min(total),
                total,
            );
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(r) => break Ok(r),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(_) => break Err(()),
            }
        }
    })
    .map_err(|_| opt_err("the transport thread panicked".into()))??;
    Ok((result, threads))
}

fn transport_name(t: ElectronTransport) -> &'static str {
    match t {
        ElectronTransport::Condensed => "condensed",
        ElectronTransport::Local => "local",
    }
}

/// The CSV file that goes with an HDF5 output path: the same path with extension `.csv`.
pub fn default_csv_path(h5_path: &Path) -> PathBuf {
    h5_path.with_extension("csv")
}

/// Checks that the output files can be created (each names a file in an existing
/// directory, and the two differ), before anything is computed.
pub fn check_outputs(h5_path: &Path, csv_path: &Path) -> Result<(), DriverError> {
    for (opt, p) in [("-o", h5_path), ("--csv", csv_path)] {
        if p.as_os_str().is_empty() || p.is_dir() || p.file_name().is_none() {
            return Err(opt_err(format!(
                "{opt} {}: expected a file name",
                p.display()
            )));
        }
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(opt_err(format!(
                "{opt} {}: the directory {} does not exist; create it first",
                p.display(),
                dir.display()
            )));
        }
    }
    if h5_path == csv_path {
        return Err(opt_err(format!(
            "--csv {}: the same file as -o; expected a different file name",
            csv_path.display()
        )));
    }
    Ok(())
}

/// Writes the kernel to an HDF5 file (layout `pedisim-svalues` in `docs/formats.md`),
/// atomically. `command_line` is recorded as the root attribute `command_line`.
pub fn write_hdf5(k: &SValueKernel, path: &Path, command_line: &str) -> Result<(), DriverError> {
    let s = &k.spec;
    let c = &k.counters;
    let n = k.histories.max(1) as f64;
    let attrs: Vec<(String, AttrValue)> = vec![
        (
            "pedisim_version".into(),
            pedisim_core::PEDISIM_VERSION.into(),
        ),
        (
            "description".into(),
            format!(
                "voxel S values (MIRD Pamphlet 17) of {} in {} ({} g/cm3), {} mm cubic voxels, \
                 {}^3 kernel; decays uniform in the central voxel of a homogeneous cube of \
                 {}^3 voxels (a stand-in for an infinite medium); S values averaged over the \
                 48 symmetries of the cube",
                s.nuclide, s.material, k.density_g_cm3, s.voxel_mm, s.size, k.medium_voxels
            )
            .into(),
        ),
        ("nuclide".into(), s.nuclide.clone().into()),
        ("material".into(), s.material.clone().into()),
        ("density_g_cm3".into(), k.density_g_cm3.into()),
        ("voxel_mm".into(), s.voxel_mm.into()),
        ("voxel_mass_kg".into(), k.voxel_mass_kg.into()),
        ("size".into(), (s.size as u64).into()),
        ("medium_voxels".into(), (k.medium_voxels as u64).into()),
        ("histories".into(), k.histories.into()),
        ("batches".into(), s.batches.into()),
        ("histories_per_batch".into(), k.histories_per_batch.into()),
        ("seed".into(), s.seed.into()),
        (
            "electron_transport".into(),
            transport_name(s.electron_transport).into(),
        ),
        ("electron_cutoff_kev".into(), s.electron_cutoff_kev.into()),
        (
            "photon_cutoff_kev".into(),
            (Settings::default().photon_cutoff_mev * 1e3).into(),
        ),
        ("threads".into(), (k.threads as u64).into()),
        ("wall_seconds".into(), k.wall_seconds.into()),
        (
            "emitted_energy_mev_per_decay".into(),
            (c.emitted_mev / n).into(),
        ),
        (
            "deposited_energy_mev_per_decay".into(),
            (c.deposited_mev / n).into(),
        ),
        (
            "escaped_energy_mev_per_decay".into(),
            (c.escaped_mev / n).into(),
        ),
        (
            "outside_kernel_energy_mev_per_decay".into(),
            k.outside_energy_mev_per_decay.into(),
        ),
        ("units_s_value".into(), "mGy/(MBq s)".into()),
        ("units_voxel_mm".into(), "mm".into()),
        ("units_density".into(), "g/cm3".into()),
        ("units_energy".into(), "MeV per decay".into()),
        (
            "units_relative_uncertainty".into(),
            "1 (relative, 1 sigma)".into(),
        ),
        ("command_line".into(), command_line.into()),
    ];
    h5::write_svalues(
        path,
        &SValueOutput {
            size: s.size,
            s_value_mgy_per_mbq_s: &k.s_value_mgy_per_mbq_s,
            relative_uncertainty: &k.relative_uncertainty,
            octant: &k.octant,
            root_attrs: &attrs,
        },
    )?;
    Ok(())
}

/// The CSV text of the kernel: `#` comment lines (nuclide, material, density, voxel size,
/// histories, seed, version, units), a header line, then one line
/// `i,j,k,s_mgy_per_mbq_s,relative_uncertainty` per octant voxel (i slowest, k fastest).
pub fn csv_text(k: &SValueKernel) -> String {
    let s = &k.spec;
    let mut t = String::new();
    let mut line = |l: String| {
        t.push_str(&l);
        t.push('\n');
    };
    line(format!(
        "# pedisim {} voxel S values (MIRD 17), octant 0 <= i,j,k <= {}",
        pedisim_core::PEDISIM_VERSION,
        k.half()
    ));
    line(format!("# nuclide: {}", s.nuclide));
    line(format!("# material: {}", s.material));
    line(format!("# density_g_cm3: {}", k.density_g_cm3));
    line(format!("# voxel_mm: {}", s.voxel_mm));
    line(format!("# size: {}", s.size));
    line(format!(
        "# histories: {} ({} batches)",
        k.histories, s.batches
    ));
    line(format!("# seed: {}", s.seed));
    line(format!(
        "# electron_transport: {} (cutoff {} keV)",
        transport_name(s.electron_transport),
        s.electron_cutoff_kev
    ));
    line("# units: s_mgy_per_mbq_s in mGy/(MBq s); relative_uncertainty is 1 sigma (relative); i,j,k in voxels".into());
    line("i,j,k,s_mgy_per_mbq_s,relative_uncertainty".into());
    for r in &k.octant {
        line(format!(
            "{},{},{},{:.6e},{:.4e}",
            r.i, r.j, r.k, r.s_mgy_per_mbq_s, r.relative_uncertainty
        ));
    }
    t
}

/// Writes [`csv_text`] to `path` atomically (a temporary file in the same directory,
/// renamed into place).
pub fn write_csv(k: &SValueKernel, path: &Path) -> Result<(), DriverError> {
    crate::write_text_atomic(path, &csv_text(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(nuclide: &str) -> SValueSpec {
        SValueSpec {
            nuclide: nuclide.into(),
            size: 3,
            histories: 2000,
            batches: 10,
            threads: 1,
            ..SValueSpec::default()
        }
    }

    #[test]
    fn svalues_classes_cover_the_octant() {
        let (lut, n) = classes(2);
        assert_eq!(n, 10); // C(2 + 3, 3)
        assert_eq!(class_of(&lut, 3, 0, 0, 0), 0);
        assert_eq!(class_of(&lut, 3, 1, 0, 0), class_of(&lut, 3, 0, 0, 1));
        assert_eq!(class_of(&lut, 3, 2, 1, 0), class_of(&lut, 3, 0, 1, 2));
        assert_ne!(class_of(&lut, 3, 1, 1, 0), class_of(&lut, 3, 1, 0, 0));
    }

    #[test]
    fn svalues_reject_bad_options_naming_them() {
        let cancel = AtomicBool::new(false);
        for (spec, needle) in [
            (
                SValueSpec {
                    size: 4,
                    ..small("Y-90")
                },
                "--size 4",
            ),
            (
                SValueSpec {
                    size: 0,
                    ..small("Y-90")
                },
                "--size 0",
            ),
            (small("Xx-1"), "--nuclide Xx-1"),
            (
                SValueSpec {
                    material: "unobtainium".into(),
                    ..small("Y-90")
                },
                "--material unobtainium",
            ),
            (
                SValueSpec {
                    voxel_mm: 0.0,
                    ..small("Y-90")
                },
                "--voxel-mm 0",
            ),
            (
                SValueSpec {
                    density_g_cm3: Some(-1.0),
                    ..small("Y-90")
                },
                "--density-g-cm3 -1",
            ),
            (
                SValueSpec {
                    batches: 2,
                    ..small("Y-90")
                },
                "--batches 2",
            ),
            (
                SValueSpec {
                    electron_cutoff_kev: 5000.0,
                    ..small("Y-90")
                },
                "--electron-cutoff-kev 5000",
            ),
        ] {
            let e = compute(&spec, &mut |_, _| {}, &cancel).unwrap_err();
            assert!(e.to_string().contains(needle), "{needle}: {e}");
        }
    }

    #[test]
    fn svalues_are_symmetric_and_thread_independent() {
        let cancel = AtomicBool::new(false);
        let a = compute(&small("Lu-177"), &mut |_, _| {}, &cancel).unwrap();
        let b = compute(
            &SValueSpec {
                threads: 2,
                ..small("Lu-177")
            },
            &mut |_, _| {},
            &cancel,
        )
        .unwrap();
        assert_eq!(a.histories, 2000);
        assert_eq!(a.s_value_mgy_per_mbq_s, b.s_value_mgy_per_mbq_s);
        assert_eq!(a.counters, b.counters);
        assert_eq!(a.s(1, 0, 0), a.s(0, -1, 0));
        assert_eq!(a.s(1, 1, -1), a.s(-1, -1, 1));
        assert!(a.s(0, 0, 0) > a.s(1, 0, 0) && a.s(1, 0, 0) > a.s(1, 1, 0));
        assert_eq!(a.octant.len(), 8);
        assert_eq!(a.octant[0].s_mgy_per_mbq_s, a.s(0, 0, 0));
        // Energy balance: kernel plus outside equals the deposited energy per decay.
        let n = a.histories as f64;
        let inside: f64 = a.s_value_mgy_per_mbq_s.iter().sum::<f64>() * a.voxel_mass_kg
            / JOULE_PER_MEV
            / MGY_PER_MBQ_S_PER_GY_PER_DECAY;
        let total = inside + a.outside_energy_mev_per_decay;
        let dep = a.counters.deposited_mev / n;
        assert!((total - dep).abs() < 1e-6 * dep, "{total} {dep}");
    }
}
