//! Off-lattice agent-based tumour growth with an oxygen field (PhysiCell-like).
//!
//! # Model
//!
//! - **Frame and units.** Cells live in the box \[0, L\]^3 (`L = domain_edge_um`), with
//!   lengths in micrometres, time in minutes and oxygen in mmHg. The box is the model's own
//!   frame; mapping it onto a phantom grid (an origin in millimetres) is the caller's.
//! - **Cells** are spheres with a volume, a state ([`CellState`]) and a unique id. Live
//!   cells follow PhysiCell's "live" cycle: one phase left at a division rate that rises
//!   linearly with oxygen from 0 at `o2_proliferation_threshold_mmhg` to
//!   `cycle_rate_per_min` at `o2_proliferation_saturation_mmhg`; a division halves the
//!   volume into two daughters placed `(1 - 2^(-1/3)) r` either side of the mother's centre
//!   along an isotropic direction; the volume then relaxes to its target at
//!   `volume_growth_rate_per_min`.
//! - **Death.** Apoptosis at a constant background rate (shrinking, removed after
//!   `apoptosis_duration_min`); necrosis at a rate rising linearly from 0 at
//!   `o2_necrosis_threshold_mmhg` to `necrosis_max_rate_per_min` at
//!   `o2_necrosis_max_mmhg` (swelling at `necrotic_swelling_rate_per_min`, lysis and
//!   removal at `relative_rupture_volume` times the volume at onset). Dead cells take up no
//!   oxygen and do not adhere; they still repel.
//! - **Radiation** ([`AgentModel::apply_fraction`]): each live cell survives a fraction
//!   with probability `S(d) = exp(-alpha d - beta d^2)`
//!   ([`crate::radiobiology::lq_survival`]) at the dose `d` at its centre; a killed cell
//!   dies by mitotic catastrophe (default: it dies at its next division attempt) or by
//!   immediate apoptosis, see [`RadiationDeath`]. A radiopharmaceutical's decaying dose
//!   rate ([`DoseRateCourse`], [`AgentModel::run_until_with_dose_rate`]) kills at every
//!   phenotype step with the exact LQ log kill with repair of that step's dose.
//! - **Mechanics** ([`mechanics`]): PhysiCell's potentials, overdamped (`v = F`, drag 1),
//!   forward Euler, neighbours from Verlet lists built on uniform bins and reused while no
//!   pair can have come into range unseen.
//! - **Oxygen** ([`oxygen`]): `dp/dt = D lap p - (lambda + s) p` on a grid covering the box,
//!   the outermost voxel layer held at the far field (Dirichlet), live cells binned as
//!   sinks `s = sum uptake V_cell / V_voxel` into the voxel holding their centre (as
//!   BioFVM), solved with Thomas solves per axis: by default quasi-steady (Douglas ADI
//!   iteration, one cycle per diffusion step), optionally by BioFVM's time-dependent
//!   backward-Euler LOD steps ([`OxygenScheme`]).
//!
//! # Time steps
//!
//! One [`AgentModel::step`] is a mechanics step. Each step first advances oxygen (by
//! `dt_mechanics_min / dt_diffusion_min` steps, or one step every `dt_diffusion_min /
//! dt_mechanics_min` mechanics steps), then the phenotype when due (every
//! `dt_phenotype_min`), then moves the cells. Defaults: oxygen every 6 min (right before
//! each phenotype step, its only reader), mechanics 0.5 min, phenotype 6 min (PhysiCell:
//! 0.01, 0.1, 6). Oxygen relaxes in ~0.1 min (1/uptake) while cells change over hours, so
//! one quasi-steady ADI cycle per phenotype step tracks the field (within 0.64 mmHg of the
//! exact steady state in a growing hypoxic spheroid, as with one cycle a minute) without
//! the splitting error of LOD time stepping (measured in `tests/agents_oxygen.rs`: 6 % of
//! the far field at 0.01 min in a strongly consuming sphere) at a small fraction of its
//! cost. The mechanics step is bounded by forward Euler's stability on the stiffest pairs
//! (newborn daughters: `dt < 0.9 min`); 0.5 min gives the same spheroid as 0.1 min (see
//! [`AgentParams::dt_mechanics_min`]) at a fifth
//! of the cost.
//!
//! # Determinism
//!
//! Every random number comes from `StreamRng::new(seed, domain::GROWTH, key)` with `key`
//! a SplitMix64 mix of (cell id, step index, purpose). Ids are assigned by a serial pass
//! in cell order (daughters get the next free id). Forces are gathered, sums over cells are
//! serial, so all state is bitwise identical for any number of rayon threads.
//!
//! # Example
//!
//! ```
//! use pedisim_growth::agents::{AgentModel, AgentParams};
//! let params = AgentParams { domain_edge_um: 300.0, initial_cells: 20, ..Default::default() };
//! let mut model = AgentModel::new(params, 7).unwrap();
//! let mut rows = Vec::new();
//! model.run_until(120.0, &mut |m: &AgentModel| rows.push(m.trajectory_row()));
//! assert_eq!(rows.len(), 2);
//! let killed = model.apply_fraction(&|_p: [f64; 3]| 2.0, 0.3, 0.03).killed;
//! assert!(killed > 0);
//! ```

mod dose_rate;
pub mod mechanics;
mod output;
pub mod oxygen;
mod params;

pub use dose_rate::{DoseRateCourse, DoseRateTally};
pub use output::{CellState, FieldSlice, FractionOutcome, Snapshot, TrajectoryRow};
pub use oxygen::OxygenField;
pub use params::{AgentError, AgentParams, OxygenScheme, RadiationDeath};

use mechanics::{CellLists, Mechanics};
use params::integer_ratio;
use pedisim_core::rng::{domain, splitmix64, StreamRng};
use rayon::prelude::*;

/// Purposes of random streams (the third component of a stream key).
mod purpose {
    /// Cycle, death and division draws of one phenotype step.
    pub const PHENOTYPE: u64 = 1;
    /// Survival draw of one radiation fraction.
    pub const RADIATION: u64 = 2;
    /// Survival draw of one phenotype step under a decaying dose rate
    /// ([`super::DoseRateCourse`]).
    pub const DOSE_RATE: u64 = 3;
}

/// The stream key of (cell id, step index, purpose).
#[inline]
fn stream_key(id: u64, step: u64, purpose: u64) -> u64 {
    splitmix64(splitmix64(splitmix64(purpose) ^ step) ^ id)
}

/// A cell to start from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InitialCell {
    /// Centre in the model frame \[um\].
    pub position_um: [f64; 3],
    /// Volume \[um^3\].
    pub volume_um3: f64,
}

/// What the phenotype step decided for one cell.
#[derive(Clone, Copy, Debug)]
enum Event {
    Keep,
    Remove,
    Divide([f64; 3]),
}

/// The agent-based model: cells (structure of arrays), the oxygen field and the clocks.
#[derive(Clone, Debug)]
pub struct AgentModel {
    params: AgentParams,
    seed: u64,
    // Cells, structure of arrays (index = slot, not id).
    ids: Vec<u64>,
    pos: Vec<[f64; 3]>,
    radius: Vec<f64>,
    volume: Vec<f64>,
    state: Vec<CellState>,
    doomed: Vec<bool>,
    /// Time in the current state \[min\] (apoptosis clock).
    age: Vec<f64>,
    /// Volume at the onset of necrosis \[um^3\] (rupture reference).
    onset_volume: Vec<f64>,
    adhesive: Vec<bool>,
    next_id: u64,
    necrosis_events: u64,
    // Clocks.
    mech_step: u64,
    pheno_step: u64,
    fractions: u64,
    diff_per_mech: u64,
    mech_per_diff: u64,
    mech_per_pheno: u64,
    mech_per_output: u64,
    // Fields and scratch.
    oxygen: OxygenField,
    lists: CellLists,
    events: Vec<Event>,
}

/// Radius of a sphere of volume `v` \[um\].
#[inline]
fn radius_of(v: f64) -> f64 {
    (v * (3.0 / (4.0 * std::f64::consts::PI))).cbrt()
}

impl AgentModel {
    /// A spheroid of `params.initial_cells` cells of the target volume, centred in the box:
    /// the lattice points of a simple cubic lattice of spacing `1.9 r` nearest to the
    /// centre (ties broken by lattice order). The oxygen field starts relaxed to its steady
    /// state for these cells.
    pub fn new(params: AgentParams, seed: u64) -> Result<Self, AgentError> {
        params.validate()?;
        let n = params.initial_cells;
        let r = radius_of(params.cell_volume_um3);
        let a = 1.9 * r;
        let c = 0.5 * params.domain_edge_um;
        let half = ((n as f64).cbrt() * 0.7).ceil() as i64 + 2;
        let mut pts: Vec<(f64, [f64; 3])> = Vec::new();
        for k in -half..=half {
            for j in -half..=half {
                for i in -half..=half {
                    let p = [i as f64 * a, j as f64 * a, k as f64 * a];
                    pts.push((p[0] * p[0] + p[1] * p[1] + p[2] * p[2], p));
                }
            }
        }
        // Stable sort: ties keep lattice order.
        pts.sort_by(|x, y| x.0.total_cmp(&y.0));
        let cells: Vec<InitialCell> = pts
            .iter()
            .take(n)
            .map(|(_, p)| InitialCell {
                position_um: [c + p[0], c + p[1], c + p[2]],
                volume_um3: params.cell_volume_um3,
            })
            .collect();
        Self::with_cells(params, seed, &cells)
    }

    /// A model starting from the given live cells (ids 0, 1, ... in the order given).
    pub fn with_cells(
        params: AgentParams,
        seed: u64,
        cells: &[InitialCell],
    ) -> Result<Self, AgentError> {
        params.validate()?;
        let l = params.domain_edge_um;
        for (index, c) in cells.iter().enumerate() {
            if !c
                .position_um
                .iter()
                .all(|&x| x.is_finite() && (0.0..=l).contains(&x))
            {
                return Err(AgentError::InvalidCell {
                    index,
                    reason: format!("position {:?} um outside the box [0, {l}]^3", c.position_um),
                });
            }
            if !(c.volume_um3.is_finite() && c.volume_um3 > 0.0) {
                return Err(AgentError::InvalidCell {
                    index,
                    reason: format!("volume {} um^3 is not > 0", c.volume_um3),
                });
            }
        }
        let nvox = ((l / params.oxygen_voxel_um) - 1e-9).ceil().max(3.0) as usize;
        let oxygen = OxygenField::new(
            [nvox; 3],
            l / nvox as f64,
            params.oxygen_diffusion_um2_per_min,
            params.oxygen_decay_per_min,
            params.oxygen_far_field_mmhg,
        );
        let (diff_per_mech, mech_per_diff) =
            match integer_ratio(params.dt_mechanics_min, params.dt_diffusion_min) {
                Some(m) => (m, 1),
                None => (
                    1,
                    integer_ratio(params.dt_diffusion_min, params.dt_mechanics_min)
                        .expect("validated"),
                ),
            };
        let mech_per_pheno =
            integer_ratio(params.dt_phenotype_min, params.dt_mechanics_min).expect("validated");
        let mech_per_output =
            integer_ratio(params.output_interval_min, params.dt_mechanics_min).expect("validated");
        let n = cells.len();
        let mut m = Self {
            seed,
            ids: (0..n as u64).collect(),
            pos: cells.iter().map(|c| c.position_um).collect(),
            radius: cells.iter().map(|c| radius_of(c.volume_um3)).collect(),
            volume: cells.iter().map(|c| c.volume_um3).collect(),
            state: vec![CellState::Live; n],
            doomed: vec![false; n],
            age: vec![0.0; n],
            onset_volume: vec![0.0; n],
            adhesive: vec![true; n],
            next_id: n as u64,
            necrosis_events: 0,
            mech_step: 0,
            pheno_step: 0,
            fractions: 0,
            diff_per_mech,
            mech_per_diff,
            mech_per_pheno,
            mech_per_output,
            oxygen,
            lists: CellLists::default(),
            events: Vec::new(),
            params,
        };
        m.bin_sinks();
        m.oxygen.solve_steady(1e-6, 500);
        Ok(m)
    }

    /// The parameters.
    pub fn params(&self) -> &AgentParams {
        &self.params
    }

    /// Simulated time \[min\].
    pub fn time_min(&self) -> f64 {
        self.mech_step as f64 * self.params.dt_mechanics_min
    }

    /// Number of mechanics steps taken.
    pub fn steps(&self) -> u64 {
        self.mech_step
    }

    /// Mechanics steps taken and neighbour lists built so far (the Verlet lists of
    /// [`mechanics`] are reused between builds), and the entries of the current lists
    /// (candidate neighbours summed over cells): diagnostics of the lists' reuse and size.
    pub fn neighbour_list_builds(&self) -> (u64, u64, usize) {
        self.lists.counts()
    }

    /// Number of cells (all states).
    pub fn cell_count(&self) -> usize {
        self.ids.len()
    }

    /// Cell ids, by slot.
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    /// Cell centres \[um\], by slot.
    pub fn positions_um(&self) -> &[[f64; 3]] {
        &self.pos
    }

    /// Cell volumes \[um^3\], by slot.
    pub fn volumes_um3(&self) -> &[f64] {
        &self.volume
    }

    /// Cell radii \[um\], by slot.
    pub fn radii_um(&self) -> &[f64] {
        &self.radius
    }

    /// Cell states, by slot.
    pub fn states(&self) -> &[CellState] {
        &self.state
    }

    /// Lethal radiation damage flags, by slot.
    pub fn doomed(&self) -> &[bool] {
        &self.doomed
    }

    /// The oxygen field.
    pub fn oxygen(&self) -> &OxygenField {
        &self.oxygen
    }

    /// Oxygen at the centre of each cell (the value of its voxel) \[mmHg\].
    pub fn oxygen_at_cells_mmhg(&self) -> Vec<f64> {
        self.pos
            .iter()
            .map(|&p| self.oxygen.values_mmhg()[self.oxygen.voxel_of(p)])
            .collect()
    }

    /// Bins live cells into the voxel sinks.
    fn bin_sinks(&mut self) {
        let h = self.oxygen.voxel_um();
        let k = self.params.oxygen_uptake_per_min / (h * h * h);
        let locate = self.oxygen.indexer();
        let sinks = self.oxygen.sinks_per_min_mut();
        sinks.iter_mut().for_each(|s| *s = 0.0);
        for i in 0..self.pos.len() {
            if self.state[i] == CellState::Live {
                sinks[locate.voxel_of(self.pos[i])] += k * self.volume[i];
            }
        }
    }

    /// Advances the model by one mechanics step (`dt_mechanics_min`).
    pub fn step(&mut self) {
        // Oxygen.
        if self.mech_step.is_multiple_of(self.mech_per_diff) {
            self.bin_sinks();
            for _ in 0..self.diff_per_mech {
                match self.params.oxygen_scheme {
                    OxygenScheme::QuasiSteady => {
                        self.oxygen.adi_cycle();
                    }
                    OxygenScheme::Lod => {
                        self.oxygen.step(self.params.dt_diffusion_min);
                    }
                }
            }
        }
        let m = Mechanics {
            repulsion_um_per_min: self.params.repulsion_um_per_min,
            adhesion_um_per_min: self.params.adhesion_um_per_min,
            relative_adhesion_distance: self.params.relative_adhesion_distance,
            domain_edge_um: self.params.domain_edge_um,
        };
        // Phenotype, then the cells stored in spatial order (locality for the mechanics).
        if self.mech_step.is_multiple_of(self.mech_per_pheno) {
            self.phenotype();
            self.pheno_step += 1;
            self.sort_cells(&m);
        }
        // Mechanics.
        self.lists.step(
            &m,
            self.params.dt_mechanics_min,
            &mut self.pos,
            &self.radius,
            &self.adhesive,
        );
        self.mech_step += 1;
    }

    /// Steps until `t_end_min`, calling `observer` after every `output_interval_min`.
    pub fn run_until(&mut self, t_end_min: f64, observer: &mut dyn FnMut(&AgentModel)) {
        let dt = self.params.dt_mechanics_min;
        while self.time_min() < t_end_min - 0.5 * dt {
            self.step();
            if self.mech_step.is_multiple_of(self.mech_per_output) {
                observer(self);
            }
        }
    }

    /// One phenotype step of `dt_phenotype_min`: volume change, death, division and
    /// removal, decided in parallel per cell from its own random stream and applied in a
    /// serial pass in slot order.
    fn phenotype(&mut self) {
        let p = &self.params;
        let dt = p.dt_phenotype_min;
        let seed = self.seed;
        let step = self.pheno_step;
        let oxygen = &self.oxygen;
        let o2 = oxygen.values_mmhg();
        let grow = (-p.volume_growth_rate_per_min * dt).exp();
        let shrink = (-p.apoptotic_shrink_rate_per_min * dt).exp();
        let swell = (p.necrotic_swelling_rate_per_min * dt).exp();
        let vt = p.cell_volume_um3;
        let n = self.ids.len();
        self.events.resize(n, Event::Keep);
        (
            &mut self.events,
            &mut self.volume,
            &mut self.state,
            &mut self.age,
            &mut self.onset_volume,
        )
            .into_par_iter()
            .zip((&self.ids, &self.pos, &self.doomed).into_par_iter())
            .with_min_len(256)
            .for_each(|((ev, v, st, age, onset), (&id, &x, &doomed))| {
                *ev = Event::Keep;
                *age += dt;
                match *st {
                    CellState::Live => {
                        *v = vt + (*v - vt) * grow;
                        let po2 = o2[oxygen.voxel_of(x)];
                        let necrosis = p.necrosis_max_rate_per_min
                            * ((p.o2_necrosis_threshold_mmhg - po2)
                                / (p.o2_necrosis_threshold_mmhg - p.o2_necrosis_max_mmhg))
                                .clamp(0.0, 1.0);
                        let apoptosis = p.apoptosis_rate_per_min;
                        let division = p.cycle_rate_per_min
                            * ((po2 - p.o2_proliferation_threshold_mmhg)
                                / (p.o2_proliferation_saturation_mmhg
                                    - p.o2_proliferation_threshold_mmhg))
                                .clamp(0.0, 1.0);
                        let mut rng = StreamRng::new(
                            seed,
                            domain::GROWTH,
                            stream_key(id, step, purpose::PHENOTYPE),
                        );
                        let death = necrosis + apoptosis;
                        if death > 0.0 && rng.uniform() < -(-death * dt).exp_m1() {
                            *age = 0.0;
                            if rng.uniform() * death < apoptosis {
                                *st = CellState::Apoptotic;
                            } else {
                                *st = CellState::Necrotic;
                                *onset = *v;
                            }
                        } else if division > 0.0 && rng.uniform() < -(-division * dt).exp_m1() {
                            if doomed {
                                // Mitotic catastrophe: death at the division attempt.
                                *st = CellState::Apoptotic;
                                *age = 0.0;
                            } else {
                                *ev = Event::Divide(rng.isotropic());
                            }
                        }
                    }
                    CellState::Apoptotic => {
                        *v *= shrink;
                        if *age >= p.apoptosis_duration_min - 1e-9 {
                            *ev = Event::Remove;
                        }
                    }
                    CellState::Necrotic => {
                        *v *= swell;
                        if *v >= p.relative_rupture_volume * *onset {
                            *ev = Event::Remove;
                        }
                    }
                }
            });

        // Serial pass: removals and divisions in slot order; daughters appended.
        let mut w = 0;
        let mut daughters: Vec<usize> = Vec::new();
        for i in 0..n {
            if self.state[i] == CellState::Necrotic && self.age[i] == 0.0 {
                self.necrosis_events += 1;
            }
            match self.events[i] {
                Event::Remove => continue,
                Event::Keep => {}
                Event::Divide(_) => daughters.push(w),
            }
            self.move_slot(i, w);
            self.events[w] = self.events[i];
            w += 1;
        }
        self.truncate(w);
        let shift = 1.0 - 0.5f64.cbrt();
        for &i in &daughters {
            let Event::Divide(dir) = self.events[i] else {
                unreachable!()
            };
            let off = shift * self.radius[i];
            let half = 0.5 * self.volume[i];
            let x = self.pos[i];
            let l = self.params.domain_edge_um;
            let plus = [0, 1, 2].map(|a| (x[a] + off * dir[a]).clamp(0.0, l));
            let minus = [0, 1, 2].map(|a| (x[a] - off * dir[a]).clamp(0.0, l));
            self.pos[i] = minus;
            self.volume[i] = half;
            self.age[i] = 0.0;
            self.ids.push(self.next_id);
            self.next_id += 1;
            self.pos.push(plus);
            self.volume.push(half);
            self.radius.push(0.0);
            self.state.push(CellState::Live);
            self.doomed.push(self.doomed[i]);
            self.age.push(0.0);
            self.onset_volume.push(0.0);
            self.adhesive.push(true);
        }
        let m = self.ids.len();
        self.events.resize(m, Event::Keep);
        for i in 0..m {
            self.radius[i] = radius_of(self.volume[i]);
            self.adhesive[i] = self.state[i] == CellState::Live;
        }
        // Cells were added, removed, moved between slots and resized.
        self.lists.invalidate();
    }

    /// Stores the cells in the order of the neighbour lists' bins (a stable counting sort
    /// of the current slots, so deterministic): cells close in space then lie close in
    /// memory. Ids are unchanged; slots change, and with them the order in which later
    /// daughters get their ids.
    fn sort_cells(&mut self, m: &Mechanics) {
        let order = self.lists.spatial_order(m, &self.pos, &self.radius);
        if order.iter().enumerate().all(|(k, &i)| k == i as usize) {
            return;
        }
        fn permute<T: Copy>(v: &mut Vec<T>, order: &[u32]) {
            *v = order.iter().map(|&i| v[i as usize]).collect();
        }
        permute(&mut self.ids, order);
        permute(&mut self.pos, order);
        permute(&mut self.radius, order);
        permute(&mut self.volume, order);
        permute(&mut self.state, order);
        permute(&mut self.doomed, order);
        permute(&mut self.age, order);
        permute(&mut self.onset_volume, order);
        permute(&mut self.adhesive, order);
    }

    fn move_slot(&mut self, from: usize, to: usize) {
        if from != to {
            self.ids[to] = self.ids[from];
            self.pos[to] = self.pos[from];
            self.radius[to] = self.radius[from];
            self.volume[to] = self.volume[from];
            self.state[to] = self.state[from];
            self.doomed[to] = self.doomed[from];
            self.age[to] = self.age[from];
            self.onset_volume[to] = self.onset_volume[from];
            self.adhesive[to] = self.adhesive[from];
        }
    }

    fn truncate(&mut self, n: usize) {
        self.ids.truncate(n);
        self.pos.truncate(n);
        self.radius.truncate(n);
        self.volume.truncate(n);
        self.state.truncate(n);
        self.doomed.truncate(n);
        self.age.truncate(n);
        self.onset_volume.truncate(n);
        self.adhesive.truncate(n);
    }

    /// One radiation fraction: every live cell not yet lethally damaged survives with
    /// probability `lq_survival(dose_gy_at(centre), alpha, beta)`; a killed cell is doomed
    /// (mitotic catastrophe) or becomes apoptotic, per `params.radiation_death`. Positions
    /// passed to `dose_gy_at` are in the model frame \[um\]; the dose is in Gy.
    pub fn apply_fraction(
        &mut self,
        dose_gy_at: &(dyn Fn([f64; 3]) -> f64 + Sync),
        alpha_per_gy: f64,
        beta_per_gy2: f64,
    ) -> FractionOutcome {
        let fraction = self.fractions;
        self.fractions += 1;
        self.irradiate(
            &|x| crate::radiobiology::lq_survival(dose_gy_at(x), alpha_per_gy, beta_per_gy2),
            fraction,
            purpose::RADIATION,
        )
    }

    /// Draws the survival of every live cell not yet lethally damaged, with probability
    /// `survival_at(centre)` (model frame \[um\]), from the cell's stream keyed by (seed,
    /// id, `index`, `purpose`), and applies the deaths per `params.radiation_death`: a
    /// killed cell is doomed (mitotic catastrophe) or becomes apoptotic.
    pub(crate) fn irradiate(
        &mut self,
        survival_at: &(dyn Fn([f64; 3]) -> f64 + Sync),
        index: u64,
        purpose: u64,
    ) -> FractionOutcome {
        let seed = self.seed;
        let mode = self.params.radiation_death;
        let hits: Vec<u8> = (&self.ids, &self.pos, &self.state, &self.doomed)
            .into_par_iter()
            .with_min_len(256)
            .map(|(&id, &x, &st, &doomed)| {
                if st != CellState::Live || doomed {
                    return 0u8;
                }
                let s = survival_at(x);
                let mut rng = StreamRng::new(seed, domain::GROWTH, stream_key(id, index, purpose));
                if rng.uniform() < s {
                    1
                } else {
                    2
                }
            })
            .collect();
        let mut out = FractionOutcome {
            exposed: 0,
            killed: 0,
        };
        for (i, &h) in hits.iter().enumerate() {
            if h == 0 {
                continue;
            }
            out.exposed += 1;
            if h == 2 {
                out.killed += 1;
                match mode {
                    RadiationDeath::MitoticCatastrophe => self.doomed[i] = true,
                    RadiationDeath::Apoptosis => {
                        self.state[i] = CellState::Apoptotic;
                        self.age[i] = 0.0;
                        self.adhesive[i] = false;
                    }
                }
            }
        }
        out
    }

    /// The trajectory row of the current state.
    pub fn trajectory_row(&self) -> TrajectoryRow {
        let n = self.ids.len();
        let (mut live, mut apoptotic, mut necrotic, mut hypoxic) = (0, 0, 0, 0);
        let o2 = self.oxygen.values_mmhg();
        for i in 0..n {
            match self.state[i] {
                CellState::Live => {
                    live += 1;
                    if o2[self.oxygen.voxel_of(self.pos[i])] < self.params.o2_hypoxic_threshold_mmhg
                    {
                        hypoxic += 1;
                    }
                }
                CellState::Apoptotic => apoptotic += 1,
                CellState::Necrotic => necrotic += 1,
            }
        }
        let mut c = [0.0; 3];
        for p in &self.pos {
            for a in 0..3 {
                c[a] += p[a];
            }
        }
        let (mut rg2, mut rmax2) = (0.0, 0.0f64);
        if n > 0 {
            c = c.map(|s| s / n as f64);
            for p in &self.pos {
                let d2 = (0..3).map(|a| (p[a] - c[a]).powi(2)).sum::<f64>();
                rg2 += d2;
                rmax2 = rmax2.max(d2);
            }
            rg2 /= n as f64;
        }
        TrajectoryRow {
            time_min: self.time_min(),
            live,
            apoptotic,
            necrotic,
            necrosis_events: self.necrosis_events,
            radius_um: (5.0 / 3.0 * rg2).sqrt(),
            max_radius_um: rmax2.sqrt(),
            hypoxic_fraction: if live > 0 {
                hypoxic as f64 / live as f64
            } else {
                0.0
            },
        }
    }

    /// A snapshot of all cells and of the oxygen plane through the domain centre.
    pub fn snapshot(&self) -> Snapshot {
        let [nx, ny, nz] = self.oxygen.dims();
        let k = nz / 2;
        let v = self.oxygen.values_mmhg();
        let start = self.oxygen.index(0, 0, k);
        Snapshot {
            time_min: self.time_min(),
            ids: self.ids.clone(),
            positions_um: self.pos.clone(),
            radii_um: self.radius.clone(),
            states: self.state.clone(),
            doomed: self.doomed.clone(),
            oxygen: FieldSlice {
                values_mmhg: v[start..start + nx * ny].to_vec(),
                dims: [nx, ny],
                spacing_um: self.oxygen.voxel_um(),
                origin_um: self.oxygen.centre_um(0, 0, k),
            },
        }
    }
}
