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
use crate::tally::{prefetch, to_quanta, BatchStats, EnergyTally};
use crate::TransportError;
use pedisim_core::constants::ELECTRON_MASS_MEV;
use pedisim_core::rng::{domain, StreamRng};
use pedisim_core::Vec3;
use pedisim_physics::electron::{sample_sauter, Charge, ElectronTables};
use pedisim_physics::nuclide::Emission;
use pedisim_physics::photon::{EnergyIndex, Interaction, PhotonTables, N_ENERGY};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Transport settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Photon energy cutoff \[MeV\] (default 0.001 = 1 keV): a photon below it deposits its
    /// energy where it is.
    pub photon_cutoff_mev: f64,
    /// How electrons and positrons are treated.
    pub charged: ChargedParticleModel,
    /// Histories per work unit handed to a thread (default 2048). Does not change results.
    pub chunk_histories: u64,
    /// Run the kernel built for the baseline x86-64 instruction set even on a processor
    /// with AVX2, FMA and BMI2, where a copy built for those runs by default (default
    /// false). Does not change results (a test compares the two); for that test and for
    /// timing the difference.
    pub baseline_isa: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            photon_cutoff_mev: 1e-3,
            charged: ChargedParticleModel::LocalDeposition,
            chunk_histories: 2048,
            baseline_isa: false,
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
    /// Class II condensed-history transport (see [`crate::electron`]) with the tables given
    /// to [`Simulation::with_electrons`].
    CondensedHistory,
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
    /// Kinetic energy \[MeV\].
    pub energy_mev: f64,
    /// Position \[mm\], grid frame.
    pub position_mm: Vec3,
    /// Unit direction, grid frame.
    pub direction: Vec3,
    /// True for a source photon that has not interacted yet.
    pub primary: bool,
    /// True for a bremsstrahlung photon (and the photons it becomes by scattering).
    pub brems: bool,
}

/// Run counters, all totals over the histories run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    /// Histories (source events) run.
    pub histories: u64,
    /// Energy emitted by the source \[MeV\]: kinetic energy of every primary particle plus
    /// 2 m_e c^2 for each primary positron (its annihilation photons).
    pub emitted_mev: f64,
    /// Energy deposited in the voxels \[MeV\] (including `cutoff_mev`).
    pub deposited_mev: f64,
    /// Energy carried out of the grid \[MeV\].
    pub escaped_mev: f64,
    /// Energy deposited by photons that fell below the cutoff \[MeV\].
    pub cutoff_mev: f64,
    /// Primary photons that left the grid without any real interaction.
    pub uncollided_escapes: u64,
    /// Primary photons emitted.
    pub primary_photons: u64,
    /// Woodcock flights (real and virtual).
    pub woodcock_steps: u64,
    /// Real photon interactions.
    pub real_interactions: u64,
    /// Condensed-history steps of electrons and positrons.
    pub electron_steps: u64,
    /// Energy deposited by electrons and positrons \[MeV\] (part of `deposited_mev`):
    /// their continuous losses and what they deposit when they stop (or, with local
    /// deposition, all their kinetic energy).
    pub electron_deposited_mev: f64,
    /// Energy carried out of the grid by bremsstrahlung photons and their scattered
    /// descendants \[MeV\] (part of `escaped_mev`).
    pub brems_escaped_mev: f64,
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
        self.electron_steps += o.electron_steps;
        self.electron_deposited_mev += o.electron_deposited_mev;
        self.brems_escaped_mev += o.brems_escaped_mev;
    }
}

/// Exact sums of [`Counters`] over work units (chunks of histories, MPI ranks).
///
/// Floating-point addition is not associative, so summing chunk counters in a different
/// grouping (for example chunks 0-3 on one rank and 4-7 on another) would change the last
/// bits of the energy totals. Each chunk's energies are therefore rounded once to integer
/// quanta of 2^-40 MeV (about 1e-12 MeV) and summed as integers: the totals are the same
/// bits however the chunks are grouped, and energy conservation still holds to about
/// 1e-12 MeV per chunk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterSum {
    histories: u64,
    emitted_q: u128,
    deposited_q: u128,
    escaped_q: u128,
    cutoff_q: u128,
    uncollided_escapes: u64,
    primary_photons: u64,
    woodcock_steps: u64,
    real_interactions: u64,
    electron_steps: u64,
    electron_deposited_q: u128,
    brems_escaped_q: u128,
}

/// Quanta per MeV of [`CounterSum`] energies (2^40).
const COUNTER_QUANTA_PER_MEV: f64 = (1u64 << 40) as f64;

fn counter_quanta(e_mev: f64) -> u128 {
    (e_mev * COUNTER_QUANTA_PER_MEV).round() as u128
}

impl CounterSum {
    /// Number of `u64` words of [`CounterSum::to_words`].
    pub const WORDS: usize = 18;

    /// Adds the counters of one work unit (rounded to quanta once).
    pub fn add(&mut self, c: &Counters) {
        self.merge(&CounterSum {
            histories: c.histories,
            emitted_q: counter_quanta(c.emitted_mev),
            deposited_q: counter_quanta(c.deposited_mev),
            escaped_q: counter_quanta(c.escaped_mev),
            cutoff_q: counter_quanta(c.cutoff_mev),
            uncollided_escapes: c.uncollided_escapes,
            primary_photons: c.primary_photons,
            woodcock_steps: c.woodcock_steps,
            real_interactions: c.real_interactions,
            electron_steps: c.electron_steps,
            electron_deposited_q: counter_quanta(c.electron_deposited_mev),
            brems_escaped_q: counter_quanta(c.brems_escaped_mev),
        });
    }

    /// Adds another sum (exact, associative and commutative).
    pub fn merge(&mut self, o: &CounterSum) {
        self.histories += o.histories;
        self.emitted_q += o.emitted_q;
        self.deposited_q += o.deposited_q;
        self.escaped_q += o.escaped_q;
        self.cutoff_q += o.cutoff_q;
        self.uncollided_escapes += o.uncollided_escapes;
        self.primary_photons += o.primary_photons;
        self.woodcock_steps += o.woodcock_steps;
        self.real_interactions += o.real_interactions;
        self.electron_steps += o.electron_steps;
        self.electron_deposited_q += o.electron_deposited_q;
        self.brems_escaped_q += o.brems_escaped_q;
    }

    /// The totals as [`Counters`] (energies in MeV).
    pub fn to_counters(&self) -> Counters {
        let mev = |q: u128| q as f64 / COUNTER_QUANTA_PER_MEV;
        Counters {
            histories: self.histories,
            emitted_mev: mev(self.emitted_q),
            deposited_mev: mev(self.deposited_q),
            escaped_mev: mev(self.escaped_q),
            cutoff_mev: mev(self.cutoff_q),
            uncollided_escapes: self.uncollided_escapes,
            primary_photons: self.primary_photons,
            woodcock_steps: self.woodcock_steps,
            real_interactions: self.real_interactions,
            electron_steps: self.electron_steps,
            electron_deposited_mev: mev(self.electron_deposited_q),
            brems_escaped_mev: mev(self.brems_escaped_q),
        }
    }

    /// The sum as plain words, for sending between processes (e.g. an MPI gather).
    pub fn to_words(&self) -> [u64; Self::WORDS] {
        let split = |q: u128| [(q >> 64) as u64, q as u64];
        let [e0, e1] = split(self.emitted_q);
        let [d0, d1] = split(self.deposited_q);
        let [s0, s1] = split(self.escaped_q);
        let [c0, c1] = split(self.cutoff_q);
        let [ed0, ed1] = split(self.electron_deposited_q);
        let [be0, be1] = split(self.brems_escaped_q);
        [
            self.histories,
            e0,
            e1,
            d0,
            d1,
            s0,
            s1,
            c0,
            c1,
            self.uncollided_escapes,
            self.primary_photons,
            self.woodcock_steps,
            self.real_interactions,
            self.electron_steps,
            ed0,
            ed1,
            be0,
            be1,
        ]
    }

    /// The inverse of [`CounterSum::to_words`].
    pub fn from_words(w: &[u64; Self::WORDS]) -> Self {
        let join = |hi: u64, lo: u64| ((hi as u128) << 64) | lo as u128;
        Self {
            histories: w[0],
            emitted_q: join(w[1], w[2]),
            deposited_q: join(w[3], w[4]),
            escaped_q: join(w[5], w[6]),
            cutoff_q: join(w[7], w[8]),
            uncollided_escapes: w[9],
            primary_photons: w[10],
            woodcock_steps: w[11],
            real_interactions: w[12],
            electron_steps: w[13],
            electron_deposited_q: join(w[14], w[15]),
            brems_escaped_q: join(w[16], w[17]),
        }
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
    pub(crate) settings: Settings,
    /// Material id of each medium.
    medium_material: Vec<u16>,
    /// Density of each medium [g/cm^3].
    medium_density: Vec<f64>,
    /// Majorant at each grid point [1/mm].
    majorant_per_mm: Vec<f64>,
    /// Electron tables (condensed history only).
    pub(crate) electrons: Option<&'a ElectronTables>,
}

/// Compiles the function it wraps for the x86-64-v3 instruction set (x86-64 only). Such a
/// function may be called only where [`has_x86_64_v3`] is true: the two name the same
/// features, here, and nowhere else.
macro_rules! x86_64_v3 {
    ($f:item) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(
            enable = "avx,avx2,bmi1,bmi2,fma,lzcnt,movbe,popcnt,sse3,ssse3,sse4.1,sse4.2"
        )]
        $f
    };
}
pub(crate) use x86_64_v3;

/// True if the processor has every feature of [`x86_64_v3`] (the standard library caches
/// the detection).
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_x86_64_v3() -> bool {
    use std::is_x86_feature_detected as has;
    has!("avx")
        && has!("avx2")
        && has!("bmi1")
        && has!("bmi2")
        && has!("fma")
        && has!("lzcnt")
        && has!("movbe")
        && has!("popcnt")
        && has!("sse3")
        && has!("ssse3")
        && has!("sse4.1")
        && has!("sse4.2")
}

/// Histories in flight per worker. While one history waits for the memory holding the
/// medium at the end of its flight, the worker advances the others (latency hiding).
pub const LANES: usize = 8;

/// Deposits buffered per worker before they are added to the shared tally.
const DEPOSIT_BUFFER: usize = 4096;

/// One history in flight: its random stream, its particle stack and the photon it is
/// tracking.
pub(crate) struct Lane {
    pub(crate) rng: StreamRng,
    pub(crate) stack: Vec<Particle>,
    /// True while a photon is between a flight and the resolution of its collision.
    flying: bool,
    pos: Vec3,
    dir: Vec3,
    energy_mev: f64,
    uncollided: bool,
    /// The photon in flight is bremsstrahlung (or a scattered descendant).
    brems: bool,
    idx: EnergyIndex,
    mu_max: f64,
    inv_mu_max: f64,
    /// The voxel at the end of the current flight (its medium line has been prefetched).
    voxel: usize,
    /// The energy \[MeV\] of the last photon taken from the stack whose energy-dependent
    /// quantities were computed (NaN before the first), and those quantities: a source
    /// line's photons reuse them instead of a logarithm, an interpolation and a division.
    popped_energy_mev: f64,
    popped_idx: EnergyIndex,
    popped_mu_max: f64,
    popped_inv_mu_max: f64,
}

impl Lane {
    fn new() -> Self {
        Self {
            rng: StreamRng::new(0, 0, 0),
            stack: Vec::with_capacity(64),
            flying: false,
            pos: Vec3::default(),
            dir: Vec3::default(),
            energy_mev: 0.0,
            uncollided: false,
            brems: false,
            idx: EnergyIndex { bin: 0, frac: 0.0 },
            mu_max: 0.0,
            inv_mu_max: 0.0,
            voxel: 0,
            popped_energy_mev: f64::NAN,
            popped_idx: EnergyIndex { bin: 0, frac: 0.0 },
            popped_mu_max: 0.0,
            popped_inv_mu_max: 0.0,
        }
    }
}

/// Scratch memory of one worker, reused across chunks.
struct Scratch {
    lanes: Vec<Lane>,
    /// Deposits `(voxel, quanta)` not yet added to the shared tally.
    deposits: Vec<(u32, u64)>,
}

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
            electrons: None,
        }
    }

    /// Gives the electron tables that [`ChargedParticleModel::CondensedHistory`] uses (built
    /// for the same materials, in the same order, as the photon tables).
    pub fn with_electrons(mut self, electrons: &'a ElectronTables) -> Result<Self, TransportError> {
        if electrons.names() != self.tables.names() {
            return Err(TransportError::Parameters(
                "the electron tables were built for other materials than the photon tables".into(),
            ));
        }
        self.electrons = Some(electrons);
        Ok(self)
    }

    /// The model's medium data used by the electron transport: (material id, density).
    #[inline]
    pub(crate) fn medium_of(&self, medium: usize) -> (usize, f64) {
        (
            self.medium_material[medium] as usize,
            self.medium_density[medium],
        )
    }

    /// The voxel model.
    pub(crate) fn model(&self) -> &VoxelModel {
        self.model
    }

    /// Histories per chunk (the unit of work handed to a thread; see
    /// [`Simulation::run_batch_part`]).
    pub fn chunk_histories(&self) -> u64 {
        self.settings.chunk_histories.max(1)
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
        if self.settings.charged == ChargedParticleModel::CondensedHistory
            && self.electrons.is_none()
        {
            return Err(TransportError::Parameters(
                "condensed-history electron transport needs electron tables \
                 (Simulation::with_electrons)"
                    .into(),
            ));
        }
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
        let mut counters = CounterSum::default();
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
        Ok(RunResult {
            stats,
            counters: counters.to_counters(),
        })
    }

    /// Runs the histories `range` (local indices within the batch) of batch `batch`,
    /// adding their energy to `tally`, and returns the exact sum of their counters.
    ///
    /// The range is cut into chunks of [`Settings::chunk_histories`] starting at
    /// `range.start`, processed in parallel. Splitting a batch between processes (MPI
    /// ranks) at multiples of the chunk size ([`Simulation::chunk_histories`]) therefore
    /// gives exactly the chunks of a single-process run, and the same tally and counters
    /// once the parts are summed.
    pub fn run_batch_part(
        &self,
        seed: u64,
        batch: u64,
        histories_per_batch: u64,
        range: std::ops::Range<u64>,
        tally: &EnergyTally,
        control: &Control,
    ) -> Result<CounterSum, TransportError> {
        let chunk = self.settings.chunk_histories.max(1);
        let n_chunks = (range.end - range.start).div_ceil(chunk);
        let parts: Vec<Option<Counters>> = (0..n_chunks)
            .into_par_iter()
            .map_init(
                || Scratch {
                    lanes: (0..LANES).map(|_| Lane::new()).collect(),
                    deposits: Vec::with_capacity(DEPOSIT_BUFFER),
                },
                |scratch, k| {
                    if control.cancel.load(Ordering::Relaxed) {
                        return None;
                    }
                    let lo = range.start + k * chunk;
                    let hi = (lo + chunk).min(range.end);
                    let c =
                        self.run_chunk(seed, batch * histories_per_batch, lo..hi, tally, scratch);
                    control.histories_done.fetch_add(hi - lo, Ordering::Relaxed);
                    Some(c)
                },
            )
            .collect();
        let mut total = CounterSum::default();
        for p in parts {
            total.add(&p.ok_or(TransportError::Cancelled)?);
        }
        Ok(total)
    }

    /// Runs the histories of one chunk (see [`Self::run_chunk_body`]) with the code built
    /// for the processor's instruction set: on x86-64 processors with AVX2, FMA and BMI2
    /// (the x86-64-v3 level: Intel since Haswell, AMD since Zen) a copy of the kernel
    /// compiled for them, else the baseline x86-64 build, unless
    /// [`Settings::baseline_isa`] asks for the baseline. Both copies compute the same
    /// numbers: Rust never fuses a multiplication and an addition into an FMA unless the
    /// code asks for it, and the mathematical functions are the same library calls, so
    /// the new instructions only shorten the code (three-operand AVX forms instead of
    /// register copies, BMI2 shifts).
    fn run_chunk(
        &self,
        seed: u64,
        batch_offset: u64,
        range: std::ops::Range<u64>,
        tally: &EnergyTally,
        s: &mut Scratch,
    ) -> Counters {
        #[cfg(target_arch = "x86_64")]
        if !self.settings.baseline_isa && has_x86_64_v3() {
            // SAFETY: the processor has every feature `run_chunk_v3` is compiled for
            // (checked at run time just above).
            return unsafe { self.run_chunk_v3(seed, batch_offset, range, tally, s) };
        }
        self.run_chunk_body(seed, batch_offset, range, tally, s)
    }

    x86_64_v3! {
        /// [`Self::run_chunk_body`] compiled for the x86-64-v3 instruction set.
        fn run_chunk_v3(
            &self,
            seed: u64,
            batch_offset: u64,
            range: std::ops::Range<u64>,
            tally: &EnergyTally,
            s: &mut Scratch,
        ) -> Counters {
            self.run_chunk_body(seed, batch_offset, range, tally, s)
        }
    }

    /// Runs the histories of one chunk, [`LANES`] at a time, round-robin: each turn of a
    /// lane ends right after it has sampled a flight and prefetched the medium of the voxel
    /// where the flight ends. Every history draws only from its own stream, so the
    /// interleaving changes no random decision. Inlined into both builds of `run_chunk`.
    #[inline(always)]
    fn run_chunk_body(
        &self,
        seed: u64,
        batch_offset: u64,
        range: std::ops::Range<u64>,
        tally: &EnergyTally,
        s: &mut Scratch,
    ) -> Counters {
        let mut c = Counters::default();
        let mut next = range.start;
        let mut live = [false; LANES];
        let Scratch { lanes, deposits } = s;
        for (l, lane) in lanes.iter_mut().enumerate() {
            if next < range.end {
                self.start_history(lane, seed, batch_offset + next, &mut c, deposits);
                next += 1;
                live[l] = true;
            }
        }
        while live.iter().any(|&x| x) {
            for (l, lane) in lanes.iter_mut().enumerate() {
                if !live[l] {
                    continue;
                }
                if !self.advance(lane, &mut c, deposits) {
                    // The lane's history is finished: start the next one.
                    if next < range.end {
                        self.start_history(lane, seed, batch_offset + next, &mut c, deposits);
                        next += 1;
                    } else {
                        live[l] = false;
                    }
                }
            }
            if deposits.len() > DEPOSIT_BUFFER - 64 * LANES {
                tally.add_buffer(deposits);
                deposits.clear();
            }
        }
        tally.add_buffer(deposits);
        deposits.clear();
        c
    }

    /// Starts history `index`: its stream and the primaries of its source event.
    ///
    /// What the stack would only pop to deposit where it was born, it deposits at once and
    /// draws no direction for: photons below the cutoff emitted inside the grid (a
    /// nuclide's sub-keV X-rays: 5.5 per decay of Tc-99m in ICRP-107) and, unless electrons
    /// are transported, electrons and heavy particles.
    #[inline(always)]
    fn start_history(
        &self,
        lane: &mut Lane,
        seed: u64,
        index: u64,
        c: &mut Counters,
        deposits: &mut Vec<(u32, u64)>,
    ) {
        lane.rng = StreamRng::new(seed, domain::HISTORY, index);
        lane.flying = false;
        c.histories += 1;
        let stack = &mut lane.stack;
        let cutoff_mev = self.settings.photon_cutoff_mev;
        // Deposited where it is born: as `set_energy` deposits a photon below the cutoff
        // (only inside the grid: from outside, the stack's path first finds where it
        // enters), and as `charged` deposits an electron or heavy particle it does not
        // transport.
        let at_birth = |e: Emission, pos: Vec3| match e {
            Emission::Photon(x) => x < cutoff_mev && self.model.voxel_at(pos).is_some(),
            Emission::Electron(_) => !self.transports(Kind::Electron),
            Emission::Alpha(_) => !self.transports(Kind::Heavy),
            Emission::Positron(_) => false,
        };
        self.source.emit(
            &mut lane.rng,
            |e, pos| !at_birth(e, pos),
            |e, pos, dir| {
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
                if at_birth(e, pos) {
                    let v = self.model.voxel_at(pos);
                    if kind == Kind::Photon {
                        Self::deposit_below_cutoff(deposits, c, v, energy_mev);
                    } else {
                        Self::deposit_charged_here(deposits, c, v, kind, energy_mev);
                    }
                    return;
                }
                stack.push(Particle {
                    kind,
                    energy_mev,
                    position_mm: pos,
                    direction: dir,
                    primary: kind == Kind::Photon,
                    brems: false,
                });
            },
        );
    }

    #[inline]
    pub(crate) fn deposit(
        deposits: &mut Vec<(u32, u64)>,
        c: &mut Counters,
        voxel: Option<usize>,
        e: f64,
    ) {
        match voxel {
            Some(v) => {
                deposits.push((v as u32, to_quanta(e)));
                c.deposited_mev += e;
            }
            None => c.escaped_mev += e,
        }
    }

    /// True if a charged particle of `kind` is transported by condensed history, false if
    /// it deposits its kinetic energy where it is (heavy particles always do).
    #[inline(always)]
    fn transports(&self, kind: Kind) -> bool {
        kind != Kind::Heavy
            && self.settings.charged == ChargedParticleModel::CondensedHistory
            && self.electrons.is_some()
    }

    /// A charged particle's kinetic energy deposited in voxel `v` (escaped if `None`),
    /// counted as electron energy unless the particle is heavy.
    #[inline(always)]
    fn deposit_charged_here(
        deposits: &mut Vec<(u32, u64)>,
        c: &mut Counters,
        v: Option<usize>,
        kind: Kind,
        energy_mev: f64,
    ) {
        if energy_mev > 0.0 {
            Self::deposit(deposits, c, v, energy_mev);
            if v.is_some() && kind != Kind::Heavy {
                c.electron_deposited_mev += energy_mev;
            }
        }
    }

    /// A photon below the cutoff deposited in voxel `v` (escaped if `None`).
    #[inline(always)]
    fn deposit_below_cutoff(
        deposits: &mut Vec<(u32, u64)>,
        c: &mut Counters,
        v: Option<usize>,
        energy_mev: f64,
    ) {
        Self::deposit(deposits, c, v, energy_mev);
        if v.is_some() {
            c.cutoff_mev += energy_mev;
        }
    }

    /// Electrons, positrons and heavy particles: local deposition (see
    /// [`ChargedParticleModel::LocalDeposition`]).
    fn charged(
        &self,
        p: Particle,
        lane: &mut Lane,
        c: &mut Counters,
        deposits: &mut Vec<(u32, u64)>,
    ) {
        if let (true, Some(tables)) = (self.transports(p.kind), self.electrons) {
            self.condensed_history(tables, p, lane, c, deposits);
            return;
        }
        let v = self.model.voxel_at(p.position_mm);
        Self::deposit_charged_here(deposits, c, v, p.kind, p.energy_mev);
        if p.kind == Kind::Positron {
            Self::annihilate(p.position_mm, &mut lane.rng, &mut lane.stack);
        }
    }

    /// Two back-to-back 511 keV photons, isotropic, at `pos`.
    pub(crate) fn annihilate(pos: Vec3, rng: &mut StreamRng, stack: &mut Vec<Particle>) {
        let d = Vec3::from_array(rng.isotropic_table());
        for dir in [d, -d] {
            stack.push(Particle {
                kind: Kind::Photon,
                energy_mev: ELECTRON_MASS_MEV,
                position_mm: pos,
                direction: dir,
                primary: false,
                brems: false,
            });
        }
    }

    /// An electron set in motion by a photon at the lane's position: transported at once if
    /// above the electron cutoff, else deposited in the photon's voxel.
    fn push_electron(
        &self,
        lane: &mut Lane,
        energy_mev: f64,
        dir: impl FnOnce(&mut Lane) -> Vec3,
        c: &mut Counters,
        deposits: &mut Vec<(u32, u64)>,
    ) {
        if energy_mev <= 0.0 {
            return;
        }
        // Below the cutoff, or unable to leave the voxel (range rejection, as in
        // `electron::condensed_history`, checked here to save the stack round trip).
        let stays = match self.electrons {
            None => true,
            Some(t) => {
                energy_mev <= t.settings().cutoff_mev || {
                    let (mat, rho) = self.medium_of(self.model.medium[lane.voxel] as usize);
                    t.range_g_cm2(mat, Charge::Electron, energy_mev) * 10.0 / rho
                        < Self::distance_to_faces(self.model, lane.pos)
                }
            }
        };
        if stays {
            Self::deposit(deposits, c, Some(lane.voxel), energy_mev);
            c.electron_deposited_mev += energy_mev;
        } else {
            let direction = dir(lane);
            lane.stack.push(Particle {
                kind: Kind::Electron,
                energy_mev,
                position_mm: lane.pos,
                direction,
                primary: false,
                brems: false,
            });
        }
    }

    /// Sets the energy-dependent quantities of the lane's photon; false if the photon fell
    /// below the cutoff (its energy is then deposited where it is).
    #[inline(always)]
    fn set_energy(
        &self,
        lane: &mut Lane,
        c: &mut Counters,
        deposits: &mut Vec<(u32, u64)>,
    ) -> bool {
        let e = lane.energy_mev;
        if e < self.settings.photon_cutoff_mev {
            Self::deposit_below_cutoff(deposits, c, self.model.voxel_at(lane.pos), e);
            return false;
        }
        let idx = self.tables.grid().index(e);
        let m = &self.majorant_per_mm;
        lane.idx = idx;
        lane.mu_max = m[idx.bin] + idx.frac * (m[idx.bin + 1] - m[idx.bin]);
        lane.inv_mu_max = 1.0 / lane.mu_max;
        true
    }

    /// Samples the lane photon's next flight. Returns false if it left the grid (escaped).
    #[inline(always)]
    fn fly(&self, lane: &mut Lane, c: &mut Counters) -> bool {
        c.woodcock_steps += 1;
        lane.pos += lane.dir * (lane.rng.exponential() * lane.inv_mu_max);
        match self.model.voxel_at(lane.pos) {
            Some(v) => {
                lane.voxel = v;
                prefetch(&self.model.medium[v]);
                true
            }
            None => {
                c.escaped_mev += lane.energy_mev;
                if lane.brems {
                    c.brems_escaped_mev += lane.energy_mev;
                }
                if lane.uncollided {
                    c.uncollided_escapes += 1;
                }
                false
            }
        }
    }

    /// Advances a lane until its photon has a new flight in the air (returns true) or its
    /// history is finished (returns false). Inlined into the lane loop of `run_chunk`: as
    /// a call (six or seven per history) its prologue reloaded a dozen fields of `self`
    /// into its frame every time, about 400 instructions per history (callgrind).
    #[inline(always)]
    fn advance(&self, lane: &mut Lane, c: &mut Counters, deposits: &mut Vec<(u32, u64)>) -> bool {
        loop {
            if lane.flying {
                // Resolve the collision at the end of the flight: real or virtual.
                let med = self.model.medium[lane.voxel] as usize;
                let mat = self.medium_material[med] as usize;
                let mu = self.tables.total_cm2_g(mat, lane.idx) * 0.1 * self.medium_density[med];
                // Where the voxel's coefficient is the majorant itself (the densest medium
                // of its material), the collision is real without a random test.
                if mu >= lane.mu_max || lane.rng.uniform() * lane.mu_max < mu {
                    c.real_interactions += 1;
                    lane.uncollided = false;
                    match self
                        .tables
                        .interact(mat, lane.energy_mev, lane.idx, &mut lane.rng)
                    {
                        Interaction::Compton {
                            energy_mev,
                            cos_theta,
                            electron_mev,
                        } => {
                            let (cp, sp) = lane.rng.azimuth_table();
                            let new_dir = lane.dir.rotate(cos_theta, cp, sp);
                            if self.electrons.is_some() {
                                // The electron takes the momentum the photon lost.
                                let dir = |l: &mut Lane| {
                                    (l.dir * l.energy_mev - new_dir * energy_mev)
                                        .normalized()
                                        .unwrap_or(l.dir)
                                };
                                self.push_electron(lane, electron_mev, dir, c, deposits);
                            } else {
                                Self::deposit(deposits, c, Some(lane.voxel), electron_mev);
                            }
                            lane.energy_mev = energy_mev;
                            lane.dir = new_dir;
                            if !self.set_energy(lane, c, deposits) {
                                lane.flying = false;
                                continue;
                            }
                        }
                        Interaction::Rayleigh { cos_theta } => {
                            let (cp, sp) = lane.rng.azimuth_table();
                            lane.dir = lane.dir.rotate(cos_theta, cp, sp);
                        }
                        Interaction::Photoelectric { electron_mev } => {
                            if self.electrons.is_some() {
                                let dir = |l: &mut Lane| {
                                    let cos = sample_sauter(electron_mev, &mut l.rng);
                                    let (cp, sp) = l.rng.azimuth_table();
                                    l.dir.rotate(cos, cp, sp)
                                };
                                self.push_electron(lane, electron_mev, dir, c, deposits);
                            } else {
                                Self::deposit(deposits, c, Some(lane.voxel), electron_mev);
                            }
                            lane.flying = false;
                            continue;
                        }
                        Interaction::Pair { kinetic_mev } => {
                            if self.electrons.is_some() {
                                // Energy shared uniformly, both along the photon direction.
                                let f = lane.rng.uniform();
                                let (pos, dir) = (lane.pos, lane.dir);
                                for (kind, e) in [
                                    (Kind::Electron, f * kinetic_mev),
                                    (Kind::Positron, (1.0 - f) * kinetic_mev),
                                ] {
                                    lane.stack.push(Particle {
                                        kind,
                                        energy_mev: e,
                                        position_mm: pos,
                                        direction: dir,
                                        primary: false,
                                        brems: false,
                                    });
                                }
                            } else {
                                Self::deposit(deposits, c, Some(lane.voxel), kinetic_mev);
                                Self::annihilate(lane.pos, &mut lane.rng, &mut lane.stack);
                            }
                            lane.flying = false;
                            continue;
                        }
                    }
                }
                if self.fly(lane, c) {
                    return true;
                }
                lane.flying = false;
            } else {
                let Some(p) = lane.stack.pop() else {
                    return false;
                };
                if p.kind != Kind::Photon {
                    self.charged(p, lane, c, deposits);
                    continue;
                }
                lane.pos = p.position_mm;
                lane.dir = p.direction;
                lane.energy_mev = p.energy_mev;
                lane.uncollided = p.primary;
                lane.brems = p.brems;
                if self.model.voxel_at(lane.pos).is_none() {
                    match self.model.entry_distance(lane.pos, lane.dir) {
                        Some(t) => lane.pos += lane.dir * (t + 1e-9),
                        None => {
                            c.escaped_mev += lane.energy_mev;
                            if lane.brems {
                                c.brems_escaped_mev += lane.energy_mev;
                            }
                            if lane.uncollided {
                                c.uncollided_escapes += 1;
                            }
                            continue;
                        }
                    }
                }
                if lane.energy_mev.to_bits() == lane.popped_energy_mev.to_bits() {
                    // The same energy as the last photon from the stack (a source line):
                    // the same quantities as set_energy would compute.
                    lane.idx = lane.popped_idx;
                    lane.mu_max = lane.popped_mu_max;
                    lane.inv_mu_max = lane.popped_inv_mu_max;
                } else {
                    if !self.set_energy(lane, c, deposits) {
                        continue;
                    }
                    lane.popped_energy_mev = lane.energy_mev;
                    lane.popped_idx = lane.idx;
                    lane.popped_mu_max = lane.mu_max;
                    lane.popped_inv_mu_max = lane.inv_mu_max;
                }
                if self.fly(lane, c) {
                    lane.flying = true;
                    return true;
                }
            }
        }
    }
}
