//! Class II condensed-history transport of electrons and positrons in the voxel model.
//!
//! **Steps.** Each step starts at kinetic energy E in the medium of the current voxel. The
//! hard events (elastic deflections with 1 - cos(theta) above a cut, delta rays above the
//! delta-ray threshold, bremsstrahlung photons above its threshold, annihilation in flight)
//! are simulated one by one; everything softer is condensed into the step: a continuous
//! energy loss by the restricted stopping power (range tables) and one artificial angular
//! deflection whose first two moments are those of all soft elastic events along the step.
//!
//! **Mixed elastic scattering** (PENELOPE's scheme: Baro, Sempau, Fernandez-Varea and
//! Salvat, Nucl. Instrum. Meth. B 100 (1995) 31). The mean free path between hard elastic
//! events is lambda_h(E) = max(lambda_el, min(C1 lambda_1, C2 E / S)) with C1 and C2 from
//! the tables' settings (defaults [`pedisim_physics::electron::C1_ELASTIC`] and
//! [`pedisim_physics::electron::C2_ENERGY`]); the cut angle at each energy follows from it.
//! The soft deflection is applied at a
//! random point of the step (the "random hinge"), which reproduces the spatial spread of
//! the exact multiple-scattering solution to second order in the step length. Neither the
//! step nor the angular distribution depends on the voxel size: this is the voxel-size
//! independence the design asks for (tested by comparing a phantom with its 2x finer
//! version).
//!
//! **Energy dependence along a step.** The distance to the next hard event is sampled
//! with the largest of the hard cross sections at the step's start and end energies (a
//! majorant) and accepted at the event's energy with the ratio of the true cross section
//! (a delta-event scheme as in PENELOPE). The soft deflection's Legendre moments are
//! exp(-(Q_k(E0) - Q_k(E1))) with the tabulated integrals Q_k of the soft transport rates
//! over the energy loss (`PointData::soft_q`): exact along the step in the
//! continuous-slowing-down approximation, with no logarithm or exponential of the
//! screening parameter per step.
//!
//! **Boundaries.** A step walks through voxels; where a voxel of another medium (material
//! or density) begins, the step ends on the boundary (the energy loss is pro-rated on the
//! path travelled) and a new step starts in the new medium. Voxels of one medium are
//! crossed without stopping, so a homogeneous region is simulated the same however
//! finely it is voxelised.
//!
//! **Deposits.** The continuous loss of a step is deposited at the hinge (a uniformly
//! distributed point of the step); a particle falling below the cutoff deposits its
//! kinetic energy where it stops, and a positron then annihilates at rest.
//!
//! **Range rejection.** A particle whose residual range (the path length it would travel
//! with the restricted stopping power, longer than any straight distance it can cover) is
//! shorter than the distance to the nearest face of its voxel deposits its kinetic energy
//! in that voxel at once (a positron then annihilates at rest). This changes no voxel's
//! dose except through the bremsstrahlung such a particle would have radiated out of the
//! voxel: below 1 MeV in water less than 0.4 % of its energy (ESTAR radiation yield), a
//! fraction of a per cent of the electron dose.

use crate::kernel::{Counters, Kind, Lane, Particle, Simulation};
use pedisim_core::constants::ELECTRON_MASS_MEV;
use pedisim_core::fastmath::exp_neg;
use pedisim_core::Vec3;
use pedisim_physics::electron::{
    delta_angles, sample_annihilation_in_flight, sample_brems_angle, sample_delta,
    sample_soft_deflection, Charge, ElectronTables,
};

/// A small push \[mm\] past a voxel boundary so that the next lookup finds the new voxel.
const NUDGE_MM: f64 = 1e-7;

/// Why a walk along a straight segment stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// The whole segment lies in voxels of the start medium.
    Done,
    /// A voxel of another medium begins after the returned distance.
    Medium,
    /// The grid ends after the returned distance.
    Exit,
}

impl<'a> Simulation<'a> {
    /// Walks from `pos` along `dir` for at most `len_mm` through voxels of medium `med`:
    /// returns the distance travelled \[mm\] and why it stopped.
    fn walk(&self, pos: Vec3, dir: Vec3, len_mm: f64, med: u16) -> (f64, Stop) {
        let m = self.model();
        let end = pos + dir * len_mm;
        let Some(v0) = m.voxel_at(pos) else {
            return (0.0, Stop::Exit);
        };
        if m.voxel_at(end) == Some(v0) {
            return (len_mm, Stop::Done);
        }
        let dims = m.grid.dims;
        let vox = m.grid.voxel_mm;
        let p = pos.to_array();
        let d = dir.to_array();
        let mut idx = [
            v0 % dims[0],
            (v0 / dims[0]) % dims[1],
            v0 / (dims[0] * dims[1]),
        ];
        let mut t_max = [f64::INFINITY; 3];
        let mut t_delta = [f64::INFINITY; 3];
        for a in 0..3 {
            if d[a] > 0.0 {
                t_max[a] = ((idx[a] + 1) as f64 * vox[a] - p[a]) / d[a];
                t_delta[a] = vox[a] / d[a];
            } else if d[a] < 0.0 {
                t_max[a] = (idx[a] as f64 * vox[a] - p[a]) / d[a];
                t_delta[a] = -vox[a] / d[a];
            }
        }
        loop {
            let a = if t_max[0] <= t_max[1] && t_max[0] <= t_max[2] {
                0
            } else if t_max[1] <= t_max[2] {
                1
            } else {
                2
            };
            let t = t_max[a].max(0.0);
            if t >= len_mm {
                return (len_mm, Stop::Done);
            }
            if d[a] > 0.0 {
                idx[a] += 1;
                if idx[a] >= dims[a] {
                    return (t, Stop::Exit);
                }
            } else {
                if idx[a] == 0 {
                    return (t, Stop::Exit);
                }
                idx[a] -= 1;
            }
            let v = idx[0] + dims[0] * (idx[1] + dims[1] * idx[2]);
            if m.medium[v] != med {
                return (t, Stop::Medium);
            }
            t_max[a] += t_delta[a];
        }
    }

    /// Deposits energy of an electron or positron (also counted in `electron_deposited_mev`).
    #[inline]
    fn deposit_electron(
        deposits: &mut Vec<(u32, u64)>,
        c: &mut Counters,
        voxel: Option<usize>,
        e: f64,
    ) {
        if voxel.is_some() {
            c.electron_deposited_mev += e;
        }
        Self::deposit(deposits, c, voxel, e);
    }

    /// Distance \[mm\] from a grid-frame point inside the grid to the nearest face of its
    /// voxel.
    #[inline]
    pub(crate) fn distance_to_faces(m: &crate::model::VoxelModel, pos: Vec3) -> f64 {
        let p = pos.to_array();
        let mut d = f64::INFINITY;
        for (a, &x) in p.iter().enumerate() {
            let w = m.grid.voxel_mm[a];
            let f = x - (x * m.inv_voxel_mm[a]).floor() * w;
            d = d.min(f).min(w - f);
        }
        d
    }

    /// Energy leaving the grid with a charged particle (a positron takes its annihilation
    /// energy with it).
    fn escape(c: &mut Counters, kind: Kind, e: f64) {
        c.escaped_mev += e;
        if kind == Kind::Positron {
            c.escaped_mev += 2.0 * ELECTRON_MASS_MEV;
        }
    }

    /// Transports one electron or positron until it stops, escapes or annihilates in
    /// flight, pushing its secondaries on the lane's stack: with the code built for
    /// x86-64-v3 where the processor has it, as the photon kernel (`run_chunk`; the same
    /// numbers either way).
    pub(crate) fn condensed_history(
        &self,
        tables: &ElectronTables,
        p: Particle,
        lane: &mut Lane,
        c: &mut Counters,
        deposits: &mut Vec<(u32, u64)>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if !self.settings.baseline_isa && crate::kernel::has_x86_64_v3() {
            // SAFETY: the processor has every feature `condensed_history_v3` is compiled
            // for (checked at run time just above).
            return unsafe { self.condensed_history_v3(tables, p, lane, c, deposits) };
        }
        self.condensed_history_body(tables, p, lane, c, deposits);
    }

    crate::kernel::x86_64_v3! {
        /// [`Self::condensed_history_body`] compiled for the x86-64-v3 instruction set.
        fn condensed_history_v3(
            &self,
            tables: &ElectronTables,
            p: Particle,
            lane: &mut Lane,
            c: &mut Counters,
            deposits: &mut Vec<(u32, u64)>,
        ) {
            self.condensed_history_body(tables, p, lane, c, deposits);
        }
    }

    /// The transport of [`Self::condensed_history`], inlined into both of its builds.
    #[inline(always)]
    fn condensed_history_body(
        &self,
        tables: &ElectronTables,
        p: Particle,
        lane: &mut Lane,
        c: &mut Counters,
        deposits: &mut Vec<(u32, u64)>,
    ) {
        let charge = if p.kind == Kind::Positron {
            Charge::Positron
        } else {
            Charge::Electron
        };
        let settings = *tables.settings();
        let cutoff = settings.cutoff_mev;
        let m = self.model();
        let (mut pos, mut dir, mut e) = (p.position_mm, p.direction, p.energy_mev);
        // Outside the grid: enter it or escape.
        if m.voxel_at(pos).is_none() {
            match m.entry_distance(pos, dir) {
                Some(t) => pos += dir * (t + NUDGE_MM),
                None => return Self::escape(c, p.kind, e),
            }
        }
        loop {
            let Some(v) = m.voxel_at(pos) else {
                return Self::escape(c, p.kind, e);
            };
            let med = m.medium[v];
            let (mat, rho) = self.medium_of(med as usize);
            if e <= cutoff {
                Self::deposit_electron(deposits, c, Some(v), e);
                if p.kind == Kind::Positron {
                    Self::annihilate(pos, &mut lane.rng, &mut lane.stack);
                }
                return;
            }
            if rho <= 0.0 || !tables.has_material(mat) {
                // Vacuum: straight on to the next medium or out of the grid.
                let (t, stop) = self.walk(pos, dir, f64::INFINITY, med);
                if stop == Stop::Exit {
                    return Self::escape(c, p.kind, e);
                }
                pos += dir * (t + NUDGE_MM);
                continue;
            }
            // --- Range rejection: a particle whose residual range (a path length, longer than
            // any straight distance it can cover) ends inside its voxel stays there.
            let here = tables.at(mat, charge, e);
            let range = here.range_g_cm2;
            if range * 10.0 / rho < Self::distance_to_faces(m, pos) {
                Self::deposit_electron(deposits, c, Some(v), e);
                if p.kind == Kind::Positron {
                    Self::annihilate(pos, &mut lane.rng, &mut lane.stack);
                }
                return;
            }
            // --- The step, in g/cm^2: at most MAX_STEP_HARD_MFP hard mean free paths at the
            // start energy and the residual range; the next hard event by the delta-event
            // scheme with the tabulated majorant over the step's energies.
            c.electron_steps += 1;
            let s_max = here.step_max_g_cm2;
            let sigma_max = here.majorant_cm2_g;
            let t_hard = lane.rng.exponential() / sigma_max;
            let hard = t_hard < s_max;
            let s = if hard { t_hard } else { s_max };
            let (e1, idx1) = tables.locate_range(mat, charge, range - s);
            let e_end = e1.min(e);
            let end_point = tables.at_index(mat, charge, e_end, idx1);
            // Soft deflection: <P_k(cos theta)> = exp(-(Q_k(E0) - Q_k(E1))).
            let dq1 = (here.soft_q[0] - end_point.soft_q[0]).max(0.0);
            let dq2 = (here.soft_q[1] - end_point.soft_q[1]).max(dq1);
            let tau = lane.rng.uniform() * s;
            let mm_per_g_cm2 = 10.0 / rho;
            // --- First segment, to the hinge.
            let len1 = tau * mm_per_g_cm2;
            let (d1, stop1) = self.walk(pos, dir, len1, med);
            if stop1 != Stop::Done {
                let travelled = d1 / mm_per_g_cm2;
                let e_new = tables.energy_after(mat, charge, e, travelled);
                let loss_pos = pos + dir * (0.5 * d1);
                Self::deposit_electron(deposits, c, m.voxel_at(loss_pos).or(Some(v)), e - e_new);
                e = e_new;
                pos += dir * d1;
                if stop1 == Stop::Exit {
                    return Self::escape(c, p.kind, e);
                }
                pos += dir * NUDGE_MM;
                continue;
            }
            let hinge = pos + dir * d1;
            let hinge_voxel = m.voxel_at(hinge).or(Some(v));
            let mu = sample_soft_deflection(exp_neg(dq1), exp_neg(dq2), &mut lane.rng);
            let (cp, sp) = lane.rng.azimuth_table();
            dir = dir.rotate(mu, cp, sp);
            // --- Second segment, to the end of the step.
            let len2 = (s - tau) * mm_per_g_cm2;
            let (d2, stop2) = self.walk(hinge, dir, len2, med);
            if stop2 != Stop::Done {
                let travelled = tau + d2 / mm_per_g_cm2;
                let e_new = tables.energy_after(mat, charge, e, travelled);
                Self::deposit_electron(deposits, c, hinge_voxel, e - e_new);
                e = e_new;
                pos = hinge + dir * d2;
                if stop2 == Stop::Exit {
                    return Self::escape(c, p.kind, e);
                }
                pos += dir * NUDGE_MM;
                continue;
            }
            Self::deposit_electron(deposits, c, hinge_voxel, e - e_end);
            e = e_end;
            pos = hinge + dir * d2;
            if !hard || e <= cutoff {
                continue;
            }
            // --- A hard event (or a delta event of the majorant).
            let ev = tables.hard_events(mat, charge, e, end_point.index);
            let s_el = ev.hard_elastic_cm2_g;
            let (sd, sb, sa) = (ev.delta_cm2_g, ev.brems_cm2_g, ev.annihilation_cm2_g);
            debug_assert!(
                ev.hard_elastic_cm2_g + sd + sb + sa <= sigma_max * (1.0 + 1e-9),
                "majorant {sigma_max} below the hard cross section at {e} MeV"
            );
            let r = lane.rng.uniform() * sigma_max;
            if r < s_el {
                let u_cut = ev.elastic.cut_for_hard(s_el);
                let u = ev.elastic.sample_hard(u_cut, &mut lane.rng);
                let (cp, sp) = lane.rng.azimuth_table();
                dir = dir.rotate(1.0 - u, cp, sp);
            } else if r < s_el + sd {
                let w = sample_delta(charge, e, settings.delta_threshold_mev, &mut lane.rng);
                let (cos_p, cos_d) = delta_angles(e, w);
                let (cp, sp) = lane.rng.azimuth_table();
                let delta_dir = dir.rotate(cos_d, -cp, -sp);
                lane.stack.push(Particle {
                    kind: Kind::Electron,
                    energy_mev: w,
                    position_mm: pos,
                    direction: delta_dir,
                    primary: false,
                    brems: false,
                });
                dir = dir.rotate(cos_p, cp, sp);
                e -= w;
            } else if r < s_el + sd + sb {
                let k = tables.sample_brems(mat, e, &mut lane.rng);
                let cos = sample_brems_angle(e, &mut lane.rng);
                let (cp, sp) = lane.rng.azimuth_table();
                lane.stack.push(Particle {
                    kind: Kind::Photon,
                    energy_mev: k,
                    position_mm: pos,
                    direction: dir.rotate(cos, cp, sp),
                    primary: false,
                    brems: true,
                });
                e -= k;
            } else if r < s_el + sd + sb + sa {
                // Annihilation in flight: two photons share the positron's total energy.
                let (k1, cos) = sample_annihilation_in_flight(e, &mut lane.rng);
                let (cp, sp) = lane.rng.azimuth_table();
                let d1 = dir.rotate(cos, cp, sp);
                let p_pos = (e * (e + 2.0 * ELECTRON_MASS_MEV)).sqrt();
                let k2 = e + 2.0 * ELECTRON_MASS_MEV - k1;
                let d2 = (dir * p_pos - d1 * k1).normalized().unwrap_or(-d1);
                for (k, d) in [(k1, d1), (k2, d2)] {
                    lane.stack.push(Particle {
                        kind: Kind::Photon,
                        energy_mev: k,
                        position_mm: pos,
                        direction: d,
                        primary: false,
                        brems: false,
                    });
                }
                return;
            }
            // Otherwise a delta event of the majorant: nothing happens.
        }
    }
}
