//! The history loop: Woodcock photon tracking, the charged-particle seam, batches.
//!
//! **Woodcock (delta) tracking.** At photon energy E the majorant
//! mu_max(E) = max over materials m of mu_m(E)/rho x (largest density of m in the phantom)
//! bounds the attenuation coefficient of every voxel. Flight distances are sampled with
//! mu_max; at the end of each flight the voxel's own coefficient mu is looked up and the
//! collision is real with probability mu/mu_max, otherwise it is virtual and the photon
//! flies on unchanged. This is exact (the distribution of real collision sites is that of
//! the heterogeneous medium) and never steps voxel by voxel. The majorant is tabulated at
//! the points of the physics energy grid and interpolated with the same weights as the
//! materials' coefficients, so it bounds them at every energy.
//!
//! **Counters.** Energy conservation holds per history: everything the source emits is
//! either deposited in a voxel (including what cutoffs deposit) or escapes the grid.

use crate::model::VoxelModel;
use crate::source::Source;
use crate::tally::{to_quanta, BatchStats, EnergyTally};
use crate::TransportError;
use pedisim_core::constants::ELECTRON_MASS_MEV;
use pedisim_core::rng::{domain, StreamRng};
use pedisim_core::Vec3;
use pedisim_physics::nuclide::Emission;
use pedisim_physics::photon::{Interaction, PhotonTables, N_ENERGY};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Transport settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Photon energy cutoff [MeV] (default 0.001 = 1 keV): a photon below it deposits its
    /// energy where it is.
    pub photon_cutoff_mev: f64,
    /// How electrons and positrons are treated.
    pub charged: ChargedParticleModel,
    /// Histories per work unit handed to a thread (default 2048). Does not change results.
    pub chunk_histories: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            photon_cutoff_mev: 1e-3,
            charged: ChargedParticleModel::LocalDeposition,
            chunk_histories: 2048,
        }
    }
}

/// The model of electrons and positrons: the seam where condensed-history transport
/// slots in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChargedParticleModel {
    /// Kinetic energy deposited in the voxel where the particle is created; a positron then
    /// annihilates at rest into two back-to-back 511 keV photons emitted isotropically.
    #[default]
    LocalDeposition,
}

/// Kinds of particle on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A photon.
    Photon,
    /// An electron.
    Electron,
    /// A positron.
    Positron,
    /// A heavy charged particle deposited locally (alpha).
    Heavy,
}

/// A particle waiting on the stack of a history.
#[derive(Clone, Copy, Debug)]
pub struct Particle {
    /// What it is.
    pub kind: Kind,
    /// Kinetic energy [MeV].
    pub energy_mev: f64,
    /// Position [mm], grid frame.
    pub position_mm: Vec3,
    /// Unit direction, grid frame.
    pub direction: Vec3,
    /// True for a source photon that has not interacted yet.
    pub primary: bool,
}

/// Run counters, all totals over the histories run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    /// Histories (source events) run.
    pub histories: u64,
    /// Energy emitted by the source [MeV]: kinetic energy of every primary particle plus
    /// 2 m_e c^2 for each primary positron (its annihilation photons).
    pub emitted_mev: f64,
    /// Energy deposited in the voxels [MeV] (including `cutoff_mev`).
    pub deposited_mev: f64,
    /// Energy carried out of the grid [MeV].
    pub escaped_mev: f64,
    /// Energy deposited by photons that fell below the cutoff [MeV].
    pub cutoff_mev: f64,
    /// Primary photons that left the grid without any real interaction.
    pub uncollided_escapes: u64,
    /// Primary photons emitted.
    pub primary_photons: u64,
    /// Woodcock flights (real and virtual).
    pub woodcock_steps: u64,
    /// Real photon interactions.
    pub real_interactions: u64,
}

impl Counters {
    /// Adds another set of counters.
    pub fn merge(&mut self, o: &Counters) {
        self.histories += o.histories;
        self.emitted_mev += o.emitted_mev;
        self.deposited_mev += o.deposited_mev;
        self.escaped_mev += o.escaped_mev;
        self.cutoff_mev += o.cutoff_mev;
        self.uncollided_escapes += o.uncollided_escapes;
        self.primary_photons += o.primary_photons;
        self.woodcock_steps += o.woodcock_steps;
        self.real_interactions += o.real_interactions;
    }
}

/// Progress and cancellation shared with the caller while a run is in progress.
#[derive(Debug, Default)]
pub struct Control {
    /// Histories finished so far (updated per chunk).
    pub histories_done: AtomicU64,
    /// Set to stop the run at the next chunk boundary.
    pub cancel: AtomicBool,
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Per-voxel batch statistics of the deposited energy.
    pub stats: BatchStats,
    /// Run counters.
    pub counters: Counters,
}

/// A configured simulation: model, physics, source and settings.
pub struct Simulation<'a> {
    model: &'a VoxelModel,
    tables: &'a PhotonTables,
    source: &'a Source,
    settings: Settings,
    /// Material id of each medium.
    medium_material: Vec<u16>,
    /// Density of each medium [g/cm^3].
    medium_density: Vec<f64>,
    /// Majorant at each grid point [1/mm].
    majorant_per_mm: Vec<f64>,
}

/// Scratch memory of one worker, reused across histories.
struct Scratch {
    stack: Vec<Particle>,
    mu_material_per_mm: Vec<f64>,
    /// Deposits `(voxel, quanta)` not yet added to the shared tally.
    deposits: Vec<(u32, u64)>,
}

/// Deposits buffered per worker before they are added to the shared tally.
const DEPOSIT_BUFFER: usize = 4096;

impl<'a> Simulation<'a> {
    /// Prepares a simulation (computes the majorant over the media present).
    pub fn new(
        model: &'a VoxelModel,
        tables: &'a PhotonTables,
        source: &'a Source,
        settings: Settings,
    ) -> Self {
        let medium_material: Vec<u16> = model.media.iter().map(|m| m.material).collect();
        let medium_density: Vec<f64> = model.media.iter().map(|m| m.density_g_cm3 as f64).collect();
        let mut max_rho = vec![0.0f64; tables.len()];
        for m in &model.media {
            let r = &mut max_rho[m.material as usize];
            *r = r.max(m.density_g_cm3 as f64);
        }
        let majorant_per_mm = (0..N_ENERGY)
            .map(|i| {
                (0..tables.len())
                    .map(|m| tables.total_at_grid_point(m, i) * max_rho[m] * 0.1)
                    .fold(0.0, f64::max)
            })
            .collect();
        Self {
            model,
            tables,
            source,
            settings,
            medium_material,
            medium_density,
            majorant_per_mm,
        }
    }

    /// Runs `batches` batches of `histories_per_batch` histories on the current rayon pool.
    /// History `i` of batch `b` has the global index `b * histories_per_batch + i` and draws
    /// from the stream `(seed, HISTORY, index)`, so the result does not depend on threads.
    pub fn run(
        &self,
        seed: u64,
        batches: u64,
        histories_per_batch: u64,
        control: &Control,
    ) -> Result<RunResult, TransportError> {
        let n = self.model.grid.len();
        self.run_with_stats(
            seed,
            batches,
            BatchStats::new(n, histories_per_batch),
            control,
        )
    }

    /// As [`Simulation::run`], folding into `stats` (which may carry voxel groups, see
    /// [`BatchStats::with_groups`]); its `histories_per_batch` sets the batch size.
    pub fn run_with_stats(
        &self,
        seed: u64,
        batches: u64,
        mut stats: BatchStats,
        control: &Control,
    ) -> Result<RunResult, TransportError> {
        let histories_per_batch = stats.histories_per_batch;
        if batches == 0 || histories_per_batch == 0 {
            return Err(TransportError::Parameters(
                "batches and histories per batch must be at least 1".into(),
            ));
        }
        let n = self.model.grid.len();
        if stats.sum_mev.len() != n {
            return Err(TransportError::Parameters(format!(
                "statistics for {} voxels, model has {n}",
                stats.sum_mev.len()
            )));
        }
        let mut tally = EnergyTally::new(n);
        let mut counters = Counters::default();
        for b in 0..batches {
            let c = self.run_batch_part(
                seed,
                b,
                histories_per_batch,
                0..histories_per_batch,
                &tally,
                control,
            )?;
            counters.merge(&c);
            stats.fold(&mut tally);
        }
        Ok(RunResult { stats, counters })
    }

    /// Runs the histories `range` (local indices within the batch) of batch `batch`,
    /// adding their energy to `tally`. Chunks are processed in parallel; their counters are
    /// merged in chunk order, so the returned counters are independent of scheduling.
    pub fn run_batch_part(
        &self,
        seed: u64,
        batch: u64,
        histories_per_batch: u64,
        range: std::ops::Range<u64>,
        tally: &EnergyTally,
        control: &Control,
    ) -> Result<Counters, TransportError> {
        let chunk = self.settings.chunk_histories.max(1);
        let n_chunks = (range.end - range.start).div_ceil(chunk);
        let parts: Vec<Option<Counters>> = (0..n_chunks)
            .into_par_iter()
            .map_init(
                || Scratch {
                    stack: Vec::with_capacity(64),
                    mu_material_per_mm: vec![0.0; self.tables.len()],
                    deposits: Vec::with_capacity(DEPOSIT_BUFFER),
                },
                |scratch, k| {
                    if control.cancel.load(Ordering::Relaxed) {
                        return None;
                    }
                    let lo = range.start + k * chunk;
                    let hi = (lo + chunk).min(range.end);
                    let mut c = Counters::default();
                    for i in lo..hi {
                        let index = batch * histories_per_batch + i;
                        self.history(seed, index, &mut c, scratch);
                        if scratch.deposits.len() > DEPOSIT_BUFFER - 256 {
                            tally.add_buffer(&scratch.deposits);
                            scratch.deposits.clear();
                        }
                    }
                    tally.add_buffer(&scratch.deposits);
                    scratch.deposits.clear();
                    control.histories_done.fetch_add(hi - lo, Ordering::Relaxed);
                    Some(c)
                },
            )
            .collect();
        let mut total = Counters::default();
        for p in parts {
            total.merge(&p.ok_or(TransportError::Cancelled)?);
        }
        Ok(total)
    }

    /// One history: the source event and every particle it leads to.
    fn history(
        &self,
        seed: u64,
        index: u64,
        c: &mut Counters,
        s: &mut Scratch,
    ) {
        let mut rng = StreamRng::new(seed, domain::HISTORY, index);
        c.histories += 1;
        let stack = &mut s.stack;
        self.source.emit(&mut rng, |e, pos, dir| {
            let (kind, energy_mev, extra) = match e {
                Emission::Photon(x) => (Kind::Photon, x, 0.0),
                Emission::Electron(x) => (Kind::Electron, x, 0.0),
                Emission::Positron(x) => (Kind::Positron, x, 2.0 * ELECTRON_MASS_MEV),
                Emission::Alpha(x) => (Kind::Heavy, x, 0.0),
            };
            c.emitted_mev += energy_mev + extra;
            if kind == Kind::Photon {
                c.primary_photons += 1;
            }
            stack.push(Particle {
                kind,
                energy_mev,
                position_mm: pos,
                direction: dir,
                primary: kind == Kind::Photon,
            });
        });
        while let Some(p) = s.stack.pop() {
            match p.kind {
                Kind::Photon => self.photon(p, &mut rng, c, s),
                _ => self.charged(p, &mut rng, c, s),
            }
        }
    }

    #[inline]
    fn deposit(deposits: &mut Vec<(u32, u64)>, c: &mut Counters, voxel: Option<usize>, e: f64) {
        match voxel {
            Some(v) => {
                deposits.push((v as u32, to_quanta(e)));
                c.deposited_mev += e;
            }
            None => c.escaped_mev += e,
        }
    }

    /// Electrons, positrons and heavy particles: local deposition (see
    /// [`ChargedParticleModel::LocalDeposition`]).
    fn charged(&self, p: Particle, rng: &mut StreamRng, c: &mut Counters, s: &mut Scratch) {
        match self.settings.charged {
            ChargedParticleModel::LocalDeposition => {
                let v = self.model.voxel_at(p.position_mm);
                if p.energy_mev > 0.0 {
                    Self::deposit(&mut s.deposits, c, v, p.energy_mev);
                }
                if p.kind == Kind::Positron {
                    self.annihilate(p.position_mm, rng, &mut s.stack);
                }
            }
        }
    }

    fn annihilate(&self, pos: Vec3, rng: &mut StreamRng, stack: &mut Vec<Particle>) {
        let d = Vec3::from_array(rng.isotropic());
        for dir in [d, -d] {
            stack.push(Particle {
                kind: Kind::Photon,
                energy_mev: ELECTRON_MASS_MEV,
                position_mm: pos,
                direction: dir,
                primary: false,
            });
        }
    }

    /// Woodcock tracking of one photon until it is absorbed, falls below the cutoff or
    /// escapes.
    fn photon(
        &self,
        p: Particle,
        rng: &mut StreamRng,
        c: &mut Counters,
        s: &mut Scratch,
    ) {
        let model = self.model;
        let mut pos = p.position_mm;
        let mut dir = p.direction;
        let mut e = p.energy_mev;
        let mut uncollided = p.primary;
        if model.voxel_at(pos).is_none() {
            match model.entry_distance(pos, dir) {
                Some(t) => pos = pos + dir * (t + 1e-9),
                None => {
                    c.escaped_mev += e;
                    if uncollided {
                        c.uncollided_escapes += 1;
                    }
                    return;
                }
            }
        }
        loop {
            if e < self.settings.photon_cutoff_mev {
                let v = model.voxel_at(pos);
                Self::deposit(&mut s.deposits, c, v, e);
                if v.is_some() {
                    c.cutoff_mev += e;
                }
                return;
            }
            let idx = self.tables.grid().index(e);
            let mu_max = self.majorant_per_mm[idx.bin]
                + idx.frac * (self.majorant_per_mm[idx.bin + 1] - self.majorant_per_mm[idx.bin]);
            for (m, mu) in s.mu_material_per_mm.iter_mut().enumerate() {
                *mu = self.tables.total_cm2_g(m, idx) * 0.1;
            }
            let inv_mu_max = 1.0 / mu_max;
            // Fly until a real collision.
            let (voxel, mat) = loop {
                c.woodcock_steps += 1;
                pos = pos + dir * (rng.exponential() * inv_mu_max);
                let Some(v) = model.voxel_at(pos) else {
                    c.escaped_mev += e;
                    if uncollided {
                        c.uncollided_escapes += 1;
                    }
                    return;
                };
                let med = model.medium[v] as usize;
                let mat = self.medium_material[med] as usize;
                let mu = s.mu_material_per_mm[mat] * self.medium_density[med];
                if rng.uniform() * mu_max < mu {
                    break (v, mat);
                }
            };
            c.real_interactions += 1;
            uncollided = false;
            match self.tables.interact(mat, e, idx, rng) {
                Interaction::Compton {
                    energy_mev,
                    cos_theta,
                    electron_mev,
                } => {
                    Self::deposit(&mut s.deposits, c, Some(voxel), electron_mev);
                    e = energy_mev;
                    let (cp, sp) = rng.azimuth();
                    dir = dir.rotate(cos_theta, cp, sp);
                }
                Interaction::Rayleigh { cos_theta } => {
                    let (cp, sp) = rng.azimuth();
                    dir = dir.rotate(cos_theta, cp, sp);
                }
                Interaction::Photoelectric { electron_mev } => {
                    Self::deposit(&mut s.deposits, c, Some(voxel), electron_mev);
                    return;
                }
                Interaction::Pair { kinetic_mev } => {
                    Self::deposit(&mut s.deposits, c, Some(voxel), kinetic_mev);
                    self.annihilate(pos, rng, &mut s.stack);
                    return;
                }
            }
        }
    }
}
