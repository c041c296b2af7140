//! Electron and positron physics for class II condensed-history transport.
//!
//! Everything here is per unit mass thickness (path lengths in g/cm^2, cross sections in
//! cm^2/g, stopping powers in MeV cm^2/g), so one table serves a material at any density.
//!
//! **Collision stopping power.** The Bethe formula as evaluated for ICRU Report 37 (and
//! NIST ESTAR): Rohrlich-Carlson functions F-/F+ for electrons/positrons, the material's
//! mean excitation energy I, and the Sternheimer density-effect correction computed by
//! Sternheimer's oscillator method (Sternheimer 1952; Sternheimer, Seltzer and Berger,
//! Phys. Rev. B 26 (1982) 6067), the method ESTAR uses: one oscillator per atomic subshell
//! with its occupation and binding energy (`data/electron/shells.dat`), binding energies
//! scaled by a common factor so that the oscillators reproduce ln I exactly. No shell
//! correction (nor does ESTAR apply one). Restricted stopping powers (energy transfers
//! below the delta-ray threshold) use the restricted Moller and Bhabha forms of ICRU 37 /
//! the EGS4 manual (Nelson, Hirayama and Rogers, SLAC-265, eqs. 2.13.x).
//!
//! **Bremsstrahlung.** The Bethe-Heitler cross section with the Thomas-Fermi screening
//! functions of Butcher and Messel as used by EGS4 (Phi1, Phi2 of the screening variable
//! delta = 136 m Z^(-1/3) k / (E E')), electron-electron bremsstrahlung through
//! Z(Z + xi(Z)) (Tsai 1974), without Coulomb correction (EGS4 applies it only above
//! 50 MeV). This Born-approximation model is the "Bethe-Heitler with corrections" option
//! of the design; its radiative stopping power for water is compared with ESTAR (which uses
//! the Seltzer-Berger tables) in the tests and in `docs/validation.md`. Radiative losses
//! are below 1 % of the total stopping power in tissue below 2 MeV.
//!
//! **Hard collisions.** Moller (electrons) and Bhabha (positrons) cross sections on free
//! electrons above the delta-ray threshold, sampled as in EGS4/Geant4; annihilation in
//! flight by Heitler's two-photon cross section.
//!
//! **Elastic scattering.** The screened Rutherford (Wentzel) cross section
//! dsigma/dOmega = Z(Z+1) r_e^2 / (beta^4 gamma^2) / (1 - cos(theta) + 2A)^2 with
//! Moliere's screening parameter A = (hbar / (2 p a))^2 (1.13 + 3.76 (alpha Z / beta)^2),
//! a = 0.88534 a0 Z^(-1/3): the single-scattering cross section whose Goudsmit-Saunderson
//! multiple-scattering distribution EGSnrc samples. For a compound the parameter is the
//! one that reproduces the compound's first transport cross section. The transport
//! kernel simulates it with a mixed scheme (hard events individually, soft ones condensed
//! with the exact first two angular moments), see [`ElasticModel`].

use crate::error::{data_err, PhysicsError};
use crate::material::Material;
use crate::photon::{EnergyGrid, EnergyIndex, E_MAX_MEV, N_ENERGY};
use pedisim_core::constants::{AVOGADRO_PER_MOL, CLASSICAL_ELECTRON_RADIUS_CM, ELECTRON_MASS_MEV};
use pedisim_core::rng::StreamRng;
use std::f64::consts::{LN_2, PI};
use std::sync::OnceLock;

const SHELL_FILE: &str = "electron/shells.dat";
static SHELL_TEXT: &str = include_str!("../../../data/electron/shells.dat");

/// Fine-structure constant.
const ALPHA: f64 = 1.0 / 137.035_999_084;
/// hbar c \[MeV cm\].
const HBAR_C_MEV_CM: f64 = 197.326_980_4e-13;
/// Bohr radius \[cm\].
const BOHR_RADIUS_CM: f64 = 0.529_177_210_9e-8;
/// Plasma energy constant: hbar omega_p \[eV\] = 28.816 sqrt(rho \[g/cm^3\] Z/A).
const PLASMA_EV: f64 = 28.816;
/// 2 pi r_e^2 m c^2 N_A \[MeV cm^2 / mol\] (times Z/A gives the Bethe prefactor).
fn bethe_k() -> f64 {
    2.0 * PI * CLASSICAL_ELECTRON_RADIUS_CM.powi(2) * ELECTRON_MASS_MEV * AVOGADRO_PER_MOL
}

/// Lowest electron cutoff accepted \[MeV\] (1 keV; the Bethe formula is unreliable below a
/// few keV, and ESTAR starts at 10 keV).
pub const MIN_CUTOFF_MEV: f64 = 1e-3;
/// Highest kinetic energy of the tables \[MeV\].
pub const MAX_ENERGY_MEV: f64 = E_MAX_MEV;

/// Occupied subshells of each element: `(occupation, binding energy [eV])`, index Z.
/// Subshells of one element: `(occupation, binding energy [eV])`.
type Shells = Vec<(f64, f64)>;

fn shells() -> Result<&'static [Shells], PhysicsError> {
    static SHELLS: OnceLock<Result<Vec<Shells>, String>> = OnceLock::new();
    SHELLS
        .get_or_init(|| {
            let mut out = vec![Vec::new(); 101];
            let mut current: Option<(usize, usize)> = None;
            for (n, line) in SHELL_TEXT.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let t: Vec<&str> = line.split_whitespace().collect();
                let bad = || format!("line {}: cannot read '{line}'", n + 1);
                if t[0] == "element" {
                    let z: usize = t.get(1).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                    let k: usize = t.get(2).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                    if z == 0 || z > 100 {
                        return Err(bad());
                    }
                    current = Some((z, k));
                } else {
                    let (z, k) = current.ok_or_else(bad)?;
                    let occ: f64 = t.get(1).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                    let e: f64 = t.get(2).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                    if !(occ > 0.0 && e > 0.0) || out[z].len() >= k {
                        return Err(bad());
                    }
                    out[z].push((occ, e));
                }
            }
            Ok(out)
        })
        .as_ref()
        .map(|v| v.as_slice())
        .map_err(|m| data_err(SHELL_FILE, m.clone()))
}

/// Sternheimer's density-effect model of one material at one density.
#[derive(Clone, Debug)]
pub struct DensityEffect {
    /// Oscillator strengths f_i (fractions of the electrons, sum 1).
    f: Vec<f64>,
    /// Squared dimensionless oscillator energies nu_i^2 = (rho_s E_i / hbar omega_p)^2.
    nu2: Vec<f64>,
    /// Squared l_i = nu_i^2 + 2/3 f_i.
    l2: Vec<f64>,
    /// Plasma energy hbar omega_p \[eV\].
    pub plasma_energy_ev: f64,
}

impl DensityEffect {
    /// Builds the oscillator model of a material of mass density `density_g_cm3`, with
    /// elemental mass fractions `elements` (Z, w), atomic weights from XCOM and mean
    /// excitation energy `i_ev`.
    pub fn new(
        elements: &[(u32, f64)],
        density_g_cm3: f64,
        i_ev: f64,
    ) -> Result<Self, PhysicsError> {
        let sh = shells()?;
        // Electrons per gram of each element, and the oscillators.
        let mut f = Vec::new();
        let mut e = Vec::new();
        let mut z_over_a = 0.0;
        for &(z, w) in elements {
            let a = crate::elements::element(z)?.atomic_weight_g_mol;
            z_over_a += w * z as f64 / a;
            let shells = &sh[z as usize];
            if shells.is_empty() {
                return Err(data_err(
                    SHELL_FILE,
                    format!("no atomic subshell data for Z = {z}"),
                ));
            }
            for &(occ, b) in shells {
                f.push(w * occ / a);
                e.push(b);
            }
        }
        let total: f64 = f.iter().sum();
        f.iter_mut().for_each(|x| *x /= total);
        let plasma = PLASMA_EV * (density_g_cm3 * z_over_a).sqrt();
        // Scale factor rho_s such that sum f ln(sqrt((rho_s E)^2 + 2/3 f Ep^2)) = ln I;
        // the left side increases with rho_s: bisection in ln rho_s.
        let ln_i = i_ev.ln();
        let g = |rs: f64| -> f64 {
            f.iter()
                .zip(&e)
                .map(|(&fi, &ei)| {
                    fi * 0.5 * ((rs * ei).powi(2) + 2.0 / 3.0 * fi * plasma * plasma).ln()
                })
                .sum::<f64>()
                - ln_i
        };
        let (mut lo, mut hi) = (-20.0f64, 20.0f64);
        if g(lo.exp()) > 0.0 || g(hi.exp()) < 0.0 {
            return Err(PhysicsError::BadMaterial {
                name: String::new(),
                message: format!("the mean excitation energy {i_ev} eV cannot be reproduced by the atomic oscillators"),
            });
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if g(mid.exp()) > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let rs = (0.5 * (lo + hi)).exp();
        let nu2: Vec<f64> = e.iter().map(|&ei| (rs * ei / plasma).powi(2)).collect();
        let l2 = nu2
            .iter()
            .zip(&f)
            .map(|(&n, &fi)| n + 2.0 / 3.0 * fi)
            .collect();
        Ok(Self {
            f,
            nu2,
            l2,
            plasma_energy_ev: plasma,
        })
    }

    /// The density-effect correction delta at `beta2` = (v/c)^2.
    pub fn delta(&self, beta2: f64) -> f64 {
        let lhs = 1.0 / beta2 - 1.0;
        let sum = |l2: f64| -> f64 {
            self.f
                .iter()
                .zip(&self.nu2)
                .map(|(&fi, &n)| fi / (n + l2))
                .sum()
        };
        // No positive root: below the threshold of the density effect (insulators).
        if sum(0.0) <= lhs {
            return 0.0;
        }
        // sum(l2) decreases in l2: bisection on ln l2.
        let (mut lo, mut hi) = (-40.0f64, 40.0f64);
        for _ in 0..64 {
            let mid = 0.5 * (lo + hi);
            if sum(mid.exp()) > lhs {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let l2 = (0.5 * (lo + hi)).exp();
        let d: f64 = self
            .f
            .iter()
            .zip(&self.l2)
            .map(|(&fi, &li2)| fi * (1.0 + l2 / li2).ln())
            .sum::<f64>()
            - l2 * (1.0 - beta2);
        d.max(0.0)
    }
}

/// Names the material in a material error raised without its name.
fn with_material(e: PhysicsError, name: &str) -> PhysicsError {
    match e {
        PhysicsError::BadMaterial { message, .. } => PhysicsError::BadMaterial {
            name: name.to_string(),
            message,
        },
        other => other,
    }
}

/// Electron or positron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charge {
    /// Electron (Moller hard collisions).
    Electron = 0,
    /// Positron (Bhabha hard collisions, annihilation in flight).
    Positron = 1,
}

/// (beta^2, gamma, tau = T/mc^2) of a kinetic energy.
fn kinematics(t_mev: f64) -> (f64, f64, f64) {
    let tau = t_mev / ELECTRON_MASS_MEV;
    let gamma = tau + 1.0;
    let beta2 = tau * (tau + 2.0) / (gamma * gamma);
    (beta2, gamma, tau)
}

/// Collision stopping power \[MeV cm^2/g\] of a material with electrons per gram
/// `z_over_a` \[mol/g\] (Z/A), mean excitation energy `i_ev`, density-effect model `de`, for
/// kinetic energy `t_mev`, counting only energy transfers below `cut_mev` (None:
/// unrestricted, i.e. the ICRU 37 / ESTAR collision stopping power).
pub fn collision_stopping_mev_cm2_g(
    charge: Charge,
    t_mev: f64,
    z_over_a: f64,
    i_ev: f64,
    de: &DensityEffect,
    cut_mev: Option<f64>,
) -> f64 {
    let (beta2, gamma, tau) = kinematics(t_mev);
    let i_m = i_ev * 1e-6 / ELECTRON_MASS_MEV;
    let delta = de.delta(beta2);
    let pre = bethe_k() * z_over_a / beta2;
    let max_transfer = match charge {
        Charge::Electron => 0.5 * tau,
        Charge::Positron => tau,
    };
    let d = cut_mev
        .map(|c| c / ELECTRON_MASS_MEV)
        .unwrap_or(f64::INFINITY);
    let l = if d >= max_transfer {
        // Unrestricted.
        let f = match charge {
            Charge::Electron => {
                1.0 - beta2 + (tau * tau / 8.0 - (2.0 * tau + 1.0) * LN_2) / (gamma * gamma)
            }
            Charge::Positron => {
                let y = 1.0 / (tau + 2.0);
                2.0 * LN_2 - beta2 / 12.0 * (23.0 + 14.0 * y + 10.0 * y * y + 4.0 * y * y * y)
            }
        };
        (tau * tau * (tau + 2.0) / (2.0 * i_m * i_m)).ln() + f
    } else {
        // Restricted to transfers below d (in units of mc^2).
        let f = match charge {
            Charge::Electron => {
                -1.0 - beta2
                    + ((tau - d) * d).ln()
                    + tau / (tau - d)
                    + (d * d / 2.0 + (2.0 * tau + 1.0) * (1.0 - d / tau).ln()) / (gamma * gamma)
            }
            Charge::Positron => {
                let y = 1.0 / (tau + 2.0);
                (tau * d).ln()
                    - beta2 / tau
                        * (tau + 2.0 * d
                            - 1.5 * d * d * y
                            - (d - d * d * d / 3.0) * y * y
                            - (d * d / 2.0 - tau * d * d * d / 3.0 + d.powi(4) / 4.0) * y.powi(3))
            }
        };
        (2.0 * (tau + 2.0) / (i_m * i_m)).ln() + f
    };
    (pre * (l - delta)).max(0.0)
}

/// The Butcher-Messel screening functions (Phi1, Phi2) of the screening variable delta.
fn screening(delta: f64) -> (f64, f64) {
    if delta <= 1.0 {
        (
            20.867 - 3.242 * delta + 0.625 * delta * delta,
            20.029 - 1.930 * delta - 0.086 * delta * delta,
        )
    } else {
        let p = 21.12 - 4.184 * (delta + 0.952).ln();
        (p, p)
    }
}

/// One element's contribution to bremsstrahlung: `(Z, atoms per gram * Z (Z + xi))`.
#[derive(Clone, Debug)]
struct BremsElement {
    z_third: f64,
    ln_z_third: f64,
    /// 4 alpha r_e^2 Z (Z + xi) n \[cm^2/g\].
    weight: f64,
}

/// k dsigma/dk \[cm^2/g\] of a mixture for photon energy `k` from an electron of kinetic
/// energy `t` (Bethe-Heitler with screening; 0 where the formula turns negative).
fn brems_k_dcs(els: &[BremsElement], t: f64, k: f64) -> f64 {
    let e0 = t + ELECTRON_MASS_MEV;
    let e1 = e0 - k;
    if e1 <= ELECTRON_MASS_MEV {
        return 0.0;
    }
    let r = e1 / e0;
    let mut s = 0.0;
    for el in els {
        let delta = 136.0 * ELECTRON_MASS_MEV / el.z_third * k / (e0 * e1);
        let (p1, p2) = screening(delta);
        let b =
            (1.0 + r * r) * (p1 / 4.0 - el.ln_z_third) - 2.0 / 3.0 * r * (p2 / 4.0 - el.ln_z_third);
        s += el.weight * b.max(0.0);
    }
    s
}

/// Gauss-Legendre nodes and weights on [0, 1] (32 points).
fn gauss32() -> &'static [(f64, f64)] {
    static G: OnceLock<Vec<(f64, f64)>> = OnceLock::new();
    G.get_or_init(|| {
        let n = 32;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            // Newton iteration on P_n from the Chebyshev guess.
            let mut x = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut dp = 0.0;
            for _ in 0..100 {
                let (mut p0, mut p1) = (1.0, x);
                for k in 2..=n {
                    let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                    p0 = p1;
                    p1 = p2;
                }
                dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
                let dx = p1 / dp;
                x -= dx;
                if dx.abs() < 1e-15 {
                    break;
                }
            }
            let w = 2.0 / ((1.0 - x * x) * dp * dp);
            out.push((0.5 * (1.0 - x), 0.5 * w));
        }
        out
    })
}

/// Integral of `f` over [a, b] by 32-point Gauss-Legendre on `pieces` equal sub-intervals.
fn integrate(a: f64, b: f64, pieces: usize, mut f: impl FnMut(f64) -> f64) -> f64 {
    let h = (b - a) / pieces as f64;
    let mut s = 0.0;
    for p in 0..pieces {
        let x0 = a + p as f64 * h;
        for &(x, w) in gauss32() {
            s += w * f(x0 + x * h);
        }
    }
    s * h
}

/// Settings of the electron physics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ElectronSettings {
    /// Kinetic-energy cutoff \[MeV\] (default 0.01): below it an electron deposits its
    /// energy where it is (a positron then annihilates at rest).
    pub cutoff_mev: f64,
    /// Delta-ray threshold \[MeV\]: energy transfers above it create delta electrons, those
    /// below are part of the continuous loss. Default: the cutoff.
    pub delta_threshold_mev: f64,
    /// Bremsstrahlung threshold \[MeV\]: photons above it are created, those below are part
    /// of the continuous loss. Default: the cutoff.
    pub brems_threshold_mev: f64,
    /// PENELOPE's C1 of the mixed elastic scheme (dimensionless): the hard elastic mean free
    /// path is at most this fraction of the first transport mean free path. Default
    /// [`C1_ELASTIC`].
    pub c1_elastic: f64,
    /// PENELOPE's C2 (dimensionless): the hard elastic mean free path is at most this
    /// fraction of E / S, the path over which the particle would lose its whole energy.
    /// Default [`C2_ENERGY`].
    pub c2_energy: f64,
}

/// Default of [`ElectronSettings::c1_elastic`]. PENELOPE allows up to 0.2; depth doses and
/// point kernels are unchanged within statistics from 0.01 to 0.2 (docs/validation.md 6b).
pub const C1_ELASTIC: f64 = 0.2;

/// Default of [`ElectronSettings::c2_energy`] (docs/validation.md 6b).
pub const C2_ENERGY: f64 = 0.1;

impl Default for ElectronSettings {
    fn default() -> Self {
        Self {
            cutoff_mev: 0.01,
            delta_threshold_mev: 0.01,
            brems_threshold_mev: 0.01,
            c1_elastic: C1_ELASTIC,
            c2_energy: C2_ENERGY,
        }
    }
}

/// What a condensed-history step reads at one grid point, in one cache line: residual
/// range \[g/cm^2\], hard elastic cross section \[cm^2/g\], total hard cross section
/// (elastic, delta ray, bremsstrahlung, annihilation) \[cm^2/g\], the soft angular integrals
/// Q1 and Q2 (dimensionless), the longest step \[g/cm^2\] and the majorant of the total hard
/// cross section over that step \[cm^2/g\].
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
struct StepRow([f64; 8]);

const ROW_RANGE: usize = 0;
const ROW_HARD_ELASTIC: usize = 1;
const ROW_HARD_TOTAL: usize = 2;
const ROW_Q1: usize = 3;
const ROW_Q2: usize = 4;
const ROW_STEP_MAX: usize = 5;
const ROW_MAJORANT: usize = 6;

/// Longest condensed-history step, in hard elastic mean free paths lambda_h at the step's
/// start energy (PENELOPE limits it likewise, so that the energy dependence of the hard
/// cross section over a step stays small).
pub const MAX_STEP_HARD_MFP: f64 = 2.0;

/// A direct index into a range table: `start[j]` is the last grid point whose range is at
/// most r_j = exp(`ln_r0` + j / `inv_step`), so that the grid interval of any range is found
/// from its logarithm in one or two comparisons (the cells are finer than the grid).
#[derive(Clone, Debug)]
struct RangeIndex {
    /// First grid point with a positive range (above the cutoff).
    first: usize,
    /// ln of the range at `first` \[ln(g/cm^2)\].
    ln_r0: f64,
    /// Cells per unit of ln(range).
    inv_step: f64,
    start: Vec<u16>,
    /// 1 / (r\[i+1\] - r\[i\]) \[cm^2/g\] for each grid interval (0 where the range does not
    /// grow).
    inv_dr: Vec<f64>,
}

/// Cells of a [`RangeIndex`].
const RANGE_INDEX_CELLS: usize = 8192;

impl RangeIndex {
    fn new(r: &[f64]) -> Self {
        let first = r.iter().position(|&x| x > 0.0).unwrap_or(r.len() - 1);
        let ln_r0 = r[first].ln();
        let span = (r[r.len() - 1].ln() - ln_r0).max(1e-9);
        let inv_step = (RANGE_INDEX_CELLS - 1) as f64 / span;
        let mut start = Vec::with_capacity(RANGE_INDEX_CELLS);
        let mut i = first;
        for j in 0..RANGE_INDEX_CELLS {
            let rj = (ln_r0 + j as f64 / inv_step).exp();
            while i + 1 < r.len() && r[i + 1] <= rj {
                i += 1;
            }
            start.push(i as u16);
        }
        let inv_dr = r
            .windows(2)
            .map(|w| {
                if w[1] > w[0] {
                    1.0 / (w[1] - w[0])
                } else {
                    0.0
                }
            })
            .collect();
        Self {
            first,
            ln_r0,
            inv_step,
            start,
            inv_dr,
        }
    }

    /// The first grid point whose range exceeds `r_g_cm2` (> 0); `r.len()` if none.
    #[inline]
    fn first_above(&self, r: &[f64], r_g_cm2: f64) -> usize {
        let t = (pedisim_core::fastmath::ln_positive(r_g_cm2) - self.ln_r0) * self.inv_step;
        // (Below the first cell, including a NaN: start from the first point.)
        let j = if t >= 0.0 {
            (t as i64 as usize).min(RANGE_INDEX_CELLS - 1)
        } else {
            0
        };
        let mut i = self.start[j] as usize;
        // r[i] <= r_j <= r_g_cm2 (up to the rounding of r_j): walk up to the interval.
        while i > self.first && r[i] > r_g_cm2 {
            i -= 1;
        }
        while i + 1 < r.len() && r[i + 1] <= r_g_cm2 {
            i += 1;
        }
        if r[i] > r_g_cm2 {
            i
        } else {
            i + 1
        }
    }
}

/// Per-material tables on the shared energy grid ([`EnergyGrid`], 1 keV..20 MeV).
#[derive(Clone, Debug)]
struct MaterialTables {
    /// The step quantities per charge (see [`StepRow`]).
    rows: [Vec<StepRow>; 2],
    /// Index of the range tables by logarithm of the range, per charge.
    range_index: [RangeIndex; 2],
    /// Restricted total (collision + radiative) stopping power \[MeV cm^2/g\], per charge.
    stopping: [Vec<f64>; 2],
    /// Range with the restricted stopping power from the cutoff \[g/cm^2\], per charge
    /// (0 at and below the cutoff).
    range: [Vec<f64>; 2],
    /// Hard collision (Moller / Bhabha) cross section \[cm^2/g\], per charge.
    sigma_delta: [Vec<f64>; 2],
    /// Hard bremsstrahlung cross section \[cm^2/g\].
    sigma_brems: Vec<f64>,
    /// Annihilation-in-flight cross section \[cm^2/g\].
    sigma_annihilation: Vec<f64>,
    /// Screened-Rutherford constant 2 pi n sum Z(Z+1) r_e^2 \[cm^2/g\] (divide by
    /// beta^4 gamma^2 for the energy's value).
    elastic_k: f64,
    /// Screening parameter A at each grid point.
    screening: Vec<f64>,
    brems: Vec<BremsElement>,
}

/// Electron and positron tables of a set of materials (index = material id, as in
/// [`crate::photon::PhotonTables`]).
#[derive(Clone, Debug)]
pub struct ElectronTables {
    grid: EnergyGrid,
    /// Kinetic energy of each grid point \[MeV\].
    energies: Vec<f64>,
    settings: ElectronSettings,
    /// None for vacuum.
    materials: Vec<Option<MaterialTables>>,
    names: Vec<String>,
}

/// The Wentzel elastic model at one energy in one material, for the mixed scheme.
#[derive(Clone, Copy, Debug)]
pub struct ElasticModel {
    /// 2 pi n sum Z(Z+1) r_e^2 / (beta^4 gamma^2) \[cm^2/g\].
    pub k_cm2_g: f64,
    /// Screening parameter A (dimensionless).
    pub screening: f64,
}

impl ElasticModel {
    /// Total elastic cross section \[cm^2/g\] (2 pi K / (2 A (1 + A)) with the 2 pi in K).
    pub fn total_cm2_g(&self) -> f64 {
        let a = self.screening;
        self.k_cm2_g / (2.0 * a * (1.0 + a))
    }

    /// First transport cross section \[cm^2/g\] (1 / lambda_1).
    pub fn transport_cm2_g(&self) -> f64 {
        let a = self.screening;
        self.k_cm2_g * (((1.0 + a) / a).ln() - 1.0 / (1.0 + a))
    }

    /// Cross section \[cm^2/g\] of hard events, those with u = 1 - cos(theta) > `u_cut`.
    pub fn hard_cm2_g(&self, u_cut: f64) -> f64 {
        let a2 = 2.0 * self.screening;
        self.k_cm2_g * (1.0 / (u_cut + a2) - 1.0 / (2.0 + a2)).max(0.0)
    }

    /// The cut u_c = 1 - cos(theta_c) whose hard cross section is `sigma_hard` \[cm^2/g\]
    /// (at most the total: then u_c = 0, every event is hard).
    pub fn cut_for_hard(&self, sigma_hard: f64) -> f64 {
        let a2 = 2.0 * self.screening;
        let inv = sigma_hard / self.k_cm2_g + 1.0 / (2.0 + a2);
        (1.0 / inv - a2).clamp(0.0, 2.0)
    }

    /// Soft transport coefficients \[cm^2/g\] below the cut: (1/lambda_1s, 1/lambda_2s), the
    /// rates of 1 - P1 and 1 - P2 of events with u < `u_cut`.
    pub fn soft_transport_cm2_g(&self, u_cut: f64) -> (f64, f64) {
        let a2 = 2.0 * self.screening;
        let lnr = ((u_cut + a2) / a2).ln();
        let i1 = lnr - u_cut / (u_cut + a2);
        let i2 = u_cut - 2.0 * a2 * lnr + a2 * u_cut / (u_cut + a2);
        let t1 = self.k_cm2_g * i1;
        let t2 = self.k_cm2_g * (3.0 * i1 - 1.5 * i2);
        (t1, t2.max(t1))
    }

    /// Samples the u = 1 - cos(theta) of a hard event (u > `u_cut`).
    pub fn sample_hard(&self, u_cut: f64, rng: &mut StreamRng) -> f64 {
        let a2 = 2.0 * self.screening;
        let (hi, lo) = (1.0 / (u_cut + a2), 1.0 / (2.0 + a2));
        let inv = hi - rng.uniform() * (hi - lo);
        (1.0 / inv - a2).clamp(u_cut, 2.0)
    }
}

/// The tabulated quantities a condensed-history step needs at one energy in one material
/// (see [`ElectronTables::at`]). The elastic quantities follow the mixed scheme of the
/// tables' [`ElectronSettings`]: hard elastic events are those deflecting by more than the
/// energy's cut angle, whose cross section is 1 / lambda_h(E) with PENELOPE's
/// lambda_h = max(lambda_el, min(C1 lambda_1, C2 E / S)).
#[derive(Clone, Copy, Debug)]
pub struct PointData {
    /// The energy's position on the grid (the argument of
    /// [`ElectronTables::hard_events`]).
    pub index: EnergyIndex,
    /// Residual range with the restricted stopping power \[g/cm^2\].
    pub range_g_cm2: f64,
    /// Hard elastic cross section 1 / lambda_h \[cm^2/g\].
    pub hard_elastic_cm2_g: f64,
    /// Total cross section of the hard events (elastic, delta ray, bremsstrahlung,
    /// annihilation in flight) \[cm^2/g\].
    pub hard_total_cm2_g: f64,
    /// Longest step from this energy \[g/cm^2\]: [`MAX_STEP_HARD_MFP`] hard elastic mean
    /// free paths, at most the residual range.
    pub step_max_g_cm2: f64,
    /// A majorant of [`PointData::hard_total_cm2_g`] over every energy a step of at most
    /// `step_max_g_cm2` passes through \[cm^2/g\] (for the delta-event sampling of the
    /// next hard event).
    pub majorant_cm2_g: f64,
    /// The soft angular integrals Q_k(E) = integral from the cutoff to E of
    /// dE' / (lambda_ks(E') S(E')), k = 1, 2 (dimensionless), where 1 / lambda_ks is the
    /// rate of 1 - P_k(cos theta) of the soft elastic events and S the restricted stopping
    /// power: over a step from E0 down to E1 the soft deflection has
    /// `<P_k(cos theta)>` = exp(-(Q_k(E0) - Q_k(E1))), exact for the energy loss along the
    /// step in the continuous-slowing-down approximation.
    pub soft_q: [f64; 2],
}

/// The hard events possible at one energy (see [`ElectronTables::hard_events`]).
#[derive(Clone, Copy, Debug)]
pub struct HardEvents {
    /// The elastic model at this energy.
    pub elastic: ElasticModel,
    /// Hard elastic cross section \[cm^2/g\]; the cut is
    /// `elastic.cut_for_hard(hard_elastic_cm2_g)`.
    pub hard_elastic_cm2_g: f64,
    /// Hard collision (delta-ray) cross section \[cm^2/g\].
    pub delta_cm2_g: f64,
    /// Hard bremsstrahlung cross section \[cm^2/g\].
    pub brems_cm2_g: f64,
    /// Annihilation-in-flight cross section \[cm^2/g\] (0 for electrons).
    pub annihilation_cm2_g: f64,
}

/// Samples cos(theta) of a soft deflection with first moment `mean_mu` = `<cos theta>` and
/// second Legendre moment `mean_p2` = `<P2(cos theta)>`, from the artificial distribution of
/// PENELOPE's mixed scheme (Baro et al., Nucl. Instrum. Meth. B 100 (1995) 31; PENELOPE
/// manual section 4.3): with u = (1 - cos)/2, uniform on (0, b) with probability a and on
/// (b, 1) otherwise, a and b fixed by the two moments.
pub fn sample_soft_deflection(mean_mu: f64, mean_p2: f64, rng: &mut StreamRng) -> f64 {
    let m1 = 0.5 * (1.0 - mean_mu);
    let mean_mu2 = (2.0 * mean_p2 + 1.0) / 3.0;
    let m2 = 0.25 * (1.0 - 2.0 * mean_mu + mean_mu2);
    if m1 <= 0.0 {
        return 1.0;
    }
    let b = ((2.0 * m1 - 3.0 * m2) / (1.0 - 2.0 * m1)).clamp(0.0, 1.0);
    let a = (1.0 - 2.0 * m1 + b).clamp(0.0, 1.0);
    let xi = rng.uniform();
    let u = if rng.uniform() < a {
        xi * b
    } else {
        b + xi * (1.0 - b)
    };
    1.0 - 2.0 * u
}

impl ElectronTables {
    /// Builds the tables of `materials` (a vacuum entry gets none). Errors if a material
    /// has no mean excitation energy or an element without subshell data, or if the
    /// settings are out of range.
    pub fn new(materials: &[Material], settings: ElectronSettings) -> Result<Self, PhysicsError> {
        let bad = |m: String| PhysicsError::BadMaterial {
            name: "electron settings".into(),
            message: m,
        };
        if !(settings.cutoff_mev >= MIN_CUTOFF_MEV && settings.cutoff_mev < 1.0) {
            return Err(bad(format!(
                "electron cutoff {} MeV: expected {MIN_CUTOFF_MEV} <= cutoff < 1 MeV",
                settings.cutoff_mev
            )));
        }
        if !(settings.delta_threshold_mev >= settings.cutoff_mev
            && settings.brems_threshold_mev >= MIN_CUTOFF_MEV
            && settings.delta_threshold_mev < 1.0
            && settings.brems_threshold_mev < 1.0)
        {
            return Err(bad(format!(
                "delta-ray threshold {} MeV and bremsstrahlung threshold {} MeV: expected the \
                 delta-ray threshold >= the cutoff and both between {MIN_CUTOFF_MEV} and 1 MeV",
                settings.delta_threshold_mev, settings.brems_threshold_mev
            )));
        }
        if !(settings.c1_elastic > 0.0
            && settings.c1_elastic <= 1.0
            && settings.c2_energy > 0.0
            && settings.c2_energy <= 1.0)
        {
            return Err(bad(format!(
                "mixed-scheme parameters C1 = {} and C2 = {}: expected both in (0, 1]",
                settings.c1_elastic, settings.c2_energy
            )));
        }
        let grid = EnergyGrid::default();
        let mut tables = Vec::with_capacity(materials.len());
        for m in materials {
            if m.is_vacuum() {
                tables.push(None);
                continue;
            }
            let i_ev = m
                .mean_excitation_ev
                .ok_or_else(|| PhysicsError::BadMaterial {
                    name: m.name.clone(),
                    message: "no mean excitation energy (key mean_excitation_ev, in eV): electron \
                          transport needs it for the stopping power"
                        .into(),
                })?;
            tables.push(Some(
                Self::material_tables(m, i_ev, &grid, &settings)
                    .map_err(|e| with_material(e, &m.name))?,
            ));
        }
        Ok(Self {
            energies: (0..N_ENERGY).map(|i| grid.energy_mev(i)).collect(),
            grid,
            settings,
            materials: tables,
            names: materials.iter().map(|m| m.name.clone()).collect(),
        })
    }

    fn material_tables(
        m: &Material,
        i_ev: f64,
        grid: &EnergyGrid,
        s: &ElectronSettings,
    ) -> Result<MaterialTables, PhysicsError> {
        let de = DensityEffect::new(&m.elements, m.density_g_cm3, i_ev)?;
        let (z_over_a, brems) = brems_elements(&m.elements)?;
        let mut elastic_k = 0.0;
        // For the compound screening parameter: each element's (Z, 2 pi n Z(Z+1) r_e^2).
        let mut atoms = Vec::new();
        for &(z, w) in &m.elements {
            let a = crate::elements::element(z)?.atomic_weight_g_mol;
            let n = w * AVOGADRO_PER_MOL / a; // atoms per gram
            let zf = z as f64;
            let kz = 2.0 * PI * n * zf * (zf + 1.0) * CLASSICAL_ELECTRON_RADIUS_CM.powi(2);
            elastic_k += kz;
            atoms.push((zf, kz));
        }
        let mut stopping = [vec![0.0; N_ENERGY], vec![0.0; N_ENERGY]];
        let mut sigma_delta = [vec![0.0; N_ENERGY], vec![0.0; N_ENERGY]];
        let mut sigma_brems = vec![0.0; N_ENERGY];
        let mut sigma_annihilation = vec![0.0; N_ENERGY];
        let mut screening = vec![0.0; N_ENERGY];
        let n_e = z_over_a * AVOGADRO_PER_MOL; // electrons per gram
                                               // Compound screening parameter: the A whose transport logarithm
                                               // ln((1+A)/A) - 1/(1+A) equals the K-weighted mean of the elements'.
        let screening_at = |t: f64| {
            let (beta2, _, _) = kinematics(t);
            let pc = (t * (t + 2.0 * ELECTRON_MASS_MEV)).sqrt();
            let target: f64 = atoms
                .iter()
                .map(|&(zf, kz)| {
                    let a_tf = 0.885_34 * BOHR_RADIUS_CM / zf.cbrt();
                    let chi = HBAR_C_MEV_CM / (2.0 * pc * a_tf);
                    let az = chi * chi * (1.13 + 3.76 * (ALPHA * zf).powi(2) / beta2);
                    kz * (((1.0 + az) / az).ln() - 1.0 / (1.0 + az))
                })
                .sum::<f64>()
                / elastic_k;
            let (mut lo, mut hi) = (-60.0f64, 5.0f64);
            for _ in 0..100 {
                let mid = 0.5 * (lo + hi);
                let a = mid.exp();
                if ((1.0 + a) / a).ln() - 1.0 / (1.0 + a) > target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            (0.5 * (lo + hi)).exp()
        };
        for i in 0..N_ENERGY {
            let t = grid.energy_mev(i);
            let rad_restricted = Self::radiative(&brems, t, Some(s.brems_threshold_mev));
            for c in [Charge::Electron, Charge::Positron] {
                let col = collision_stopping_mev_cm2_g(
                    c,
                    t,
                    z_over_a,
                    i_ev,
                    &de,
                    Some(s.delta_threshold_mev),
                );
                stopping[c as usize][i] = col + rad_restricted;
                sigma_delta[c as usize][i] = n_e * hard_collision_cm2(c, t, s.delta_threshold_mev);
            }
            sigma_brems[i] = if t > s.brems_threshold_mev {
                let (lo, hi) = (s.brems_threshold_mev.ln(), t.ln());
                integrate(lo, hi, 4, |lk| brems_k_dcs(&brems, t, lk.exp()))
            } else {
                0.0
            };
            sigma_annihilation[i] = n_e * annihilation_cm2(t);
            screening[i] = screening_at(t);
        }
        // The mixed elastic scheme at energy t with restricted stopping power `stop` and
        // screening parameter `a`: (hard elastic cross section, soft 1/lambda_1s, soft
        // 1/lambda_2s) \[cm^2/g\]. The hard mean free path is PENELOPE's
        // lambda_h = max(lambda_el, min(C1 lambda_1, C2 E / S)); the cut angle follows.
        let mixed = |t: f64, stop: f64, a: f64| {
            let (beta2, gamma, _) = kinematics(t);
            let el = ElasticModel {
                k_cm2_g: elastic_k / (beta2 * beta2 * gamma * gamma),
                screening: a,
            };
            let target = el
                .total_cm2_g()
                .min((el.transport_cm2_g() / s.c1_elastic).max(stop / (s.c2_energy * t)));
            let u = el.cut_for_hard(target);
            let (t1, t2) = el.soft_transport_cm2_g(u);
            (el.hard_cm2_g(u), t1, t2)
        };
        // Ranges (integral of dT / S) and the soft angular integrals (integral of
        // dT / lambda_ks / S, k = 1, 2) from the cutoff, by the trapezoidal rule in ln T on
        // the grid (steps of 0.5 % in energy, smooth integrands: relative error below 1e-5).
        let mut range = [vec![0.0; N_ENERGY], vec![0.0; N_ENERGY]];
        let mut rows = [
            vec![StepRow([0.0; 8]); N_ENERGY],
            vec![StepRow([0.0; 8]); N_ENERGY],
        ];
        for c in [Charge::Electron, Charge::Positron] {
            let sp = &stopping[c as usize];
            let at_cutoff = collision_stopping_mev_cm2_g(
                c,
                s.cutoff_mev,
                z_over_a,
                i_ev,
                &de,
                Some(s.delta_threshold_mev),
            ) + Self::radiative(&brems, s.cutoff_mev, Some(s.brems_threshold_mev));
            let (_, t1c, t2c) = mixed(s.cutoff_mev, at_cutoff, screening_at(s.cutoff_mev));
            let (r, row) = (&mut range[c as usize], &mut rows[c as usize]);
            let mut acc = [0.0; 3];
            let mut prev_t = s.cutoff_mev;
            let mut prev_f = [1.0, t1c, t2c].map(|x| x * s.cutoff_mev / at_cutoff);
            for i in 0..N_ENERGY {
                let t = grid.energy_mev(i);
                let (hard, t1, t2) = mixed(t, sp[i], screening[i]);
                if t > prev_t {
                    let f = [1.0, t1, t2].map(|x| x * t / sp[i]);
                    let dl = (t / prev_t).ln();
                    for k in 0..3 {
                        acc[k] += 0.5 * (f[k] + prev_f[k]) * dl;
                    }
                    prev_t = t;
                    prev_f = f;
                }
                r[i] = acc[0];
                let delta = sigma_delta[c as usize][i];
                let annihilation = if c == Charge::Positron {
                    sigma_annihilation[i]
                } else {
                    0.0
                };
                row[i] = StepRow([
                    acc[0],
                    hard,
                    hard + delta + sigma_brems[i] + annihilation,
                    acc[1],
                    acc[2],
                    acc[0].min(MAX_STEP_HARD_MFP / hard),
                    0.0,
                    0.0,
                ]);
            }
            // Majorant of the hard cross section over a longest step: the hard cross
            // section is interpolated linearly between grid points, so its largest value
            // over an energy interval is at a grid point. A step from E in (E_i, E_i+1)
            // ends above the lower of the end energies of the longest steps from E_i and
            // E_i+1 (range - longest step is interpolated linearly, and the range is
            // monotonic): the largest grid value from that end's interval up to E_i+1 is a
            // majorant for every energy of the interval, with no margin.
            let low_bin: Vec<usize> = row
                .iter()
                .map(|x| {
                    let end = x.0[ROW_RANGE] - x.0[ROW_STEP_MAX];
                    r.partition_point(|&y| y <= end).saturating_sub(1)
                })
                .collect();
            for i in 0..N_ENERGY {
                let hi = (i + 1).min(N_ENERGY - 1);
                let lo = low_bin[i].min(low_bin[hi]);
                let max = (lo..=hi)
                    .map(|k| row[k].0[ROW_HARD_TOTAL])
                    .fold(0.0, f64::max);
                row[i].0[ROW_MAJORANT] = max;
            }
        }
        Ok(MaterialTables {
            stopping,
            range_index: [RangeIndex::new(&range[0]), RangeIndex::new(&range[1])],
            range,
            rows,
            sigma_delta,
            sigma_brems,
            sigma_annihilation,
            elastic_k,
            screening,
            brems,
        })
    }

    /// Radiative stopping power \[MeV cm^2/g\] for photon energies below `cut` (None: all).
    fn radiative(els: &[BremsElement], t: f64, cut: Option<f64>) -> f64 {
        let top = cut.map_or(t, |c| c.min(t));
        integrate(0.0, top, 4, |k| brems_k_dcs(els, t, k))
    }

    /// The settings the tables were built with.
    pub fn settings(&self) -> &ElectronSettings {
        &self.settings
    }

    /// The energy grid (shared with the photon tables).
    pub fn grid(&self) -> &EnergyGrid {
        &self.grid
    }

    fn mat(&self, mat: usize) -> &MaterialTables {
        self.materials[mat]
            .as_ref()
            .expect("electron tables asked for vacuum")
    }

    /// True if material `mat` has tables (false for vacuum).
    pub fn has_material(&self, mat: usize) -> bool {
        self.materials.get(mat).is_some_and(|m| m.is_some())
    }

    fn lin(v: &[f64], idx: EnergyIndex) -> f64 {
        v[idx.bin] + idx.frac * (v[idx.bin + 1] - v[idx.bin])
    }

    /// Restricted stopping power \[MeV cm^2/g\] (collision below the delta-ray threshold plus
    /// radiative below the bremsstrahlung threshold).
    pub fn restricted_stopping_mev_cm2_g(&self, mat: usize, c: Charge, t_mev: f64) -> f64 {
        Self::lin(&self.mat(mat).stopping[c as usize], self.grid.index(t_mev))
    }

    /// Range \[g/cm^2\] from `t_mev` down to the cutoff with the restricted stopping power.
    pub fn range_g_cm2(&self, mat: usize, c: Charge, t_mev: f64) -> f64 {
        if t_mev <= self.settings.cutoff_mev {
            return 0.0;
        }
        Self::lin(&self.mat(mat).range[c as usize], self.grid.index(t_mev))
    }

    /// Kinetic energy \[MeV\] whose restricted range is `r_g_cm2` (the inverse of
    /// [`ElectronTables::range_g_cm2`]; the cutoff for r <= 0).
    pub fn energy_at_range(&self, mat: usize, c: Charge, r_g_cm2: f64) -> f64 {
        self.locate_range(mat, c, r_g_cm2).0
    }

    /// As [`ElectronTables::energy_at_range`], also returning the energy's grid position
    /// (the fraction linear in energy inside the interval, which differs from the
    /// logarithmic fraction of [`EnergyGrid::index`] by less than 1e-3 of the interval), so
    /// that [`ElectronTables::at_index`] needs no logarithm. The interval is found through
    /// an index by the logarithm of the range (no search).
    pub fn locate_range(&self, mat: usize, c: Charge, r_g_cm2: f64) -> (f64, EnergyIndex) {
        let m = self.mat(mat);
        let r = &m.range[c as usize];
        let cutoff = self.settings.cutoff_mev;
        if r_g_cm2 <= 0.0 {
            return (cutoff, self.grid.index(cutoff));
        }
        let index = &m.range_index[c as usize];
        let i = index.first_above(r, r_g_cm2);
        if i == 0 {
            return (cutoff, self.grid.index(cutoff));
        }
        if i >= r.len() {
            return (
                self.energies[N_ENERGY - 1],
                EnergyIndex {
                    bin: N_ENERGY - 2,
                    frac: 1.0,
                },
            );
        }
        let (e0, e1) = (self.energies[i - 1], self.energies[i]);
        let r0 = r[i - 1];
        if r0 <= 0.0 {
            // The interval containing the cutoff: interpolate from the cutoff.
            let f = r_g_cm2 / r[i];
            let e = cutoff + f * (e1 - cutoff);
            let frac = ((e - e0) / (e1 - e0)).clamp(0.0, 1.0);
            return (e, EnergyIndex { bin: i - 1, frac });
        }
        // Linear in energy between the grid points: the fraction of the interval is the
        // fraction of its range increment.
        let f = ((r_g_cm2 - r0) * index.inv_dr[i - 1]).clamp(0.0, 1.0);
        (
            e0 + f * (e1 - e0),
            EnergyIndex {
                bin: i - 1,
                frac: f,
            },
        )
    }

    /// Kinetic energy \[MeV\] after a path of `s_g_cm2` with continuous (restricted) loss
    /// from `t_mev`; at most the cutoff once the residual range is used up.
    pub fn energy_after(&self, mat: usize, c: Charge, t_mev: f64, s_g_cm2: f64) -> f64 {
        let r = self.range_g_cm2(mat, c, t_mev);
        if s_g_cm2 >= r {
            return self.settings.cutoff_mev.min(t_mev);
        }
        self.energy_at_range(mat, c, r - s_g_cm2).min(t_mev)
    }

    /// Cross sections \[cm^2/g\] of the hard inelastic events at `t_mev`: (delta ray,
    /// bremsstrahlung, annihilation in flight (0 for electrons)).
    pub fn hard_cm2_g(&self, mat: usize, c: Charge, t_mev: f64) -> (f64, f64, f64) {
        let m = self.mat(mat);
        let idx = self.grid.index(t_mev);
        (
            Self::lin(&m.sigma_delta[c as usize], idx),
            Self::lin(&m.sigma_brems, idx),
            if c == Charge::Positron {
                Self::lin(&m.sigma_annihilation, idx)
            } else {
                0.0
            },
        )
    }

    /// Everything a condensed-history step needs at one energy, with one grid lookup.
    #[inline]
    pub fn at(&self, mat: usize, c: Charge, t_mev: f64) -> PointData {
        self.at_index(mat, c, t_mev, self.grid.index(t_mev))
    }

    /// As [`ElectronTables::at`] with the energy's grid position already known (from
    /// [`ElectronTables::locate_range`]).
    #[inline]
    pub fn at_index(&self, mat: usize, c: Charge, t_mev: f64, idx: EnergyIndex) -> PointData {
        let rows = &self.mat(mat).rows[c as usize];
        let (lo, hi) = (&rows[idx.bin].0, &rows[idx.bin + 1].0);
        let f = idx.frac;
        let v = |k: usize| lo[k] + f * (hi[k] - lo[k]);
        PointData {
            index: idx,
            range_g_cm2: if t_mev <= self.settings.cutoff_mev {
                0.0
            } else {
                v(ROW_RANGE)
            },
            hard_elastic_cm2_g: v(ROW_HARD_ELASTIC),
            hard_total_cm2_g: v(ROW_HARD_TOTAL),
            step_max_g_cm2: v(ROW_STEP_MAX),
            majorant_cm2_g: v(ROW_MAJORANT),
            soft_q: [v(ROW_Q1), v(ROW_Q2)],
        }
    }

    /// The hard events at `t_mev` (grid position `idx`): their cross sections and the
    /// elastic model to sample a hard deflection from.
    pub fn hard_events(&self, mat: usize, c: Charge, t_mev: f64, idx: EnergyIndex) -> HardEvents {
        let m = self.mat(mat);
        let rows = &m.rows[c as usize];
        let (lo, hi) = (&rows[idx.bin].0, &rows[idx.bin + 1].0);
        let f = idx.frac;
        let v = |k: usize| lo[k] + f * (hi[k] - lo[k]);
        let (beta2, gamma, _) = kinematics(t_mev);
        HardEvents {
            elastic: ElasticModel {
                k_cm2_g: m.elastic_k / (beta2 * beta2 * gamma * gamma),
                screening: Self::lin(&m.screening, idx),
            },
            hard_elastic_cm2_g: v(ROW_HARD_ELASTIC),
            delta_cm2_g: Self::lin(&m.sigma_delta[c as usize], idx),
            brems_cm2_g: Self::lin(&m.sigma_brems, idx),
            annihilation_cm2_g: if c == Charge::Positron {
                Self::lin(&m.sigma_annihilation, idx)
            } else {
                0.0
            },
        }
    }

    /// The Wentzel elastic model of material `mat` at `t_mev`.
    pub fn elastic(&self, mat: usize, t_mev: f64) -> ElasticModel {
        let m = self.mat(mat);
        let (beta2, gamma, _) = kinematics(t_mev);
        ElasticModel {
            k_cm2_g: m.elastic_k / (beta2 * beta2 * gamma * gamma),
            screening: Self::lin(&m.screening, self.grid.index(t_mev)),
        }
    }

    /// Samples the energy \[MeV\] of a bremsstrahlung photon above the threshold from an
    /// electron of kinetic energy `t_mev` in material `mat` (1/k proposal, rejection with
    /// k dsigma/dk, which is largest at k -> 0).
    pub fn sample_brems(&self, mat: usize, t_mev: f64, rng: &mut StreamRng) -> f64 {
        let m = self.mat(mat);
        let kc = self.settings.brems_threshold_mev;
        if t_mev <= kc {
            return t_mev;
        }
        let bound = brems_k_dcs(&m.brems, t_mev, 0.0) * 1.0001;
        let ratio = t_mev / kc;
        for _ in 0..10_000 {
            let k = kc * ratio.powf(rng.uniform());
            if rng.uniform() * bound <= brems_k_dcs(&m.brems, t_mev, k) {
                return k;
            }
        }
        kc
    }

    /// Material names (as given to [`ElectronTables::new`]).
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// Hard collision cross section per target electron \[cm^2\] for transfers above `cut_mev`
/// (Moller for electrons, whose maximum transfer is T/2, Bhabha for positrons, up to T).
pub fn hard_collision_cm2(c: Charge, t_mev: f64, cut_mev: f64) -> f64 {
    let (beta2, gamma, _) = kinematics(t_mev);
    let xmin = cut_mev / t_mev;
    let pre = 2.0 * PI * ELECTRON_MASS_MEV * CLASSICAL_ELECTRON_RADIUS_CM.powi(2) / t_mev;
    match c {
        Charge::Electron => {
            let xmax = 0.5;
            if xmin >= xmax {
                return 0.0;
            }
            let gg = (2.0 * gamma - 1.0) / (gamma * gamma);
            pre * ((xmax - xmin)
                * (1.0 - gg + 1.0 / (xmin * xmax) + 1.0 / ((1.0 - xmin) * (1.0 - xmax)))
                - gg * (xmax * (1.0 - xmin) / (xmin * (1.0 - xmax))).ln())
                / beta2
        }
        Charge::Positron => {
            let xmax = 1.0;
            if xmin >= xmax {
                return 0.0;
            }
            let (b1, b2, b3, b4) = bhabha_b(gamma);
            pre * ((xmax - xmin)
                * (1.0 / (beta2 * xmin * xmax) + b2 - 0.5 * b3 * (xmin + xmax)
                    + b4 * (xmin * xmin + xmin * xmax + xmax * xmax) / 3.0)
                - b1 * (xmax / xmin).ln())
        }
    }
}

fn bhabha_b(gamma: f64) -> (f64, f64, f64, f64) {
    let y = 1.0 / (1.0 + gamma);
    let y2 = y * y;
    let y12 = 1.0 - 2.0 * y;
    let b1 = 2.0 - y2;
    let b2 = y12 * (3.0 + y2);
    let y122 = y12 * y12;
    let b4 = y122 * y12;
    let b3 = b4 + y122;
    (b1, b2, b3, b4)
}

/// Samples the kinetic energy \[MeV\] given to a delta electron above `cut_mev` by an
/// electron (Moller) or positron (Bhabha) of kinetic energy `t_mev` (EGS4 / Geant4
/// rejection schemes).
pub fn sample_delta(c: Charge, t_mev: f64, cut_mev: f64, rng: &mut StreamRng) -> f64 {
    let (beta2, gamma, _) = kinematics(t_mev);
    let xmin = cut_mev / t_mev;
    match c {
        Charge::Electron => {
            let xmax = 0.5;
            let gg = (2.0 * gamma - 1.0) / (gamma * gamma);
            let y = 1.0 - xmax;
            let grej = 1.0 - gg * xmax + xmax * xmax * (1.0 - gg + (1.0 - gg * y) / (y * y));
            loop {
                let q = rng.uniform();
                let x = xmin * xmax / (xmin * (1.0 - q) + xmax * q);
                let y = 1.0 - x;
                let z = 1.0 - gg * x + x * x * (1.0 - gg + (1.0 - gg * y) / (y * y));
                if grej * rng.uniform() <= z {
                    return x * t_mev;
                }
            }
        }
        Charge::Positron => {
            let xmax = 1.0;
            let (b1, b2, b3, b4) = bhabha_b(gamma);
            let y = xmax * xmax;
            let grej = 1.0 + (y * y * b4 - xmin * xmin * xmin * b3 + y * b2 - xmin * b1) * beta2;
            loop {
                let q = rng.uniform();
                let x = xmin * xmax / (xmin * (1.0 - q) + xmax * q);
                let y = x * x;
                let z = 1.0 + (y * y * b4 - x * y * b3 + y * b2 - x * b1) * beta2;
                if grej * rng.uniform() <= z {
                    return x * t_mev;
                }
            }
        }
    }
}

/// Polar-angle cosines after a collision on a free electron at rest in which a particle of
/// kinetic energy `t_mev` transfers `w_mev`: (scattered particle, delta electron).
pub fn delta_angles(t_mev: f64, w_mev: f64) -> (f64, f64) {
    let m2 = 2.0 * ELECTRON_MASS_MEV;
    let cd = (w_mev * (t_mev + m2) / (t_mev * (w_mev + m2)))
        .sqrt()
        .min(1.0);
    let tp = t_mev - w_mev;
    let cp = (tp * (t_mev + m2) / (t_mev * (tp + m2))).sqrt().min(1.0);
    (cp, cd)
}

/// Heitler's two-photon annihilation cross section per target electron \[cm^2\] for a
/// positron of kinetic energy `t_mev`.
pub fn annihilation_cm2(t_mev: f64) -> f64 {
    let tau = t_mev / ELECTRON_MASS_MEV;
    let gam = tau + 1.0;
    let bg2 = tau * (tau + 2.0);
    let bg = bg2.sqrt();
    PI * CLASSICAL_ELECTRON_RADIUS_CM.powi(2)
        * ((gam * gam + 4.0 * gam + 1.0) * (gam + bg).ln() - (gam + 3.0) * bg)
        / (bg2 * (gam + 1.0))
}

/// Samples annihilation in flight of a positron of kinetic energy `t_mev`: the energy
/// \[MeV\] of the first photon and the cosine of its angle to the positron direction (the
/// second photon takes the rest of the energy and momentum; Geant4's sampling of
/// Heitler's formula).
pub fn sample_annihilation_in_flight(t_mev: f64, rng: &mut StreamRng) -> (f64, f64) {
    let tau = t_mev / ELECTRON_MASS_MEV;
    let gam = tau + 1.0;
    let tau2 = tau + 2.0;
    let sqgrate = (tau / tau2).sqrt() * 0.5;
    let sqg2m1 = (tau * tau2).sqrt();
    let emin = 0.5 - sqgrate;
    let emax = 0.5 + sqgrate;
    let lq = (emax / emin).ln();
    let eps = loop {
        let eps = emin * (lq * rng.uniform()).exp();
        let g = 1.0 - eps + (2.0 * gam * eps - 1.0) / (eps * tau2 * tau2);
        if g >= rng.uniform() {
            break eps;
        }
    };
    let cost = ((eps * tau2 - 1.0) / (eps * sqg2m1)).clamp(-1.0, 1.0);
    (eps * (t_mev + 2.0 * ELECTRON_MASS_MEV), cost)
}

/// Samples the cosine of the photoelectron's angle to the photon direction (Sauter's
/// K-shell distribution; Geant4's G4SauterGavrilaAngularDistribution sampling) for a
/// photoelectron of kinetic energy `t_mev`.
pub fn sample_sauter(t_mev: f64, rng: &mut StreamRng) -> f64 {
    let tau = t_mev / ELECTRON_MASS_MEV;
    if tau > 50.0 {
        return 1.0;
    }
    let gamma = tau + 1.0;
    let beta = (tau * (tau + 2.0)).sqrt() / gamma;
    let a = (1.0 - beta) / beta;
    let ap2 = a + 2.0;
    let b = 0.5 * beta * gamma * (gamma - 1.0) * (gamma - 2.0);
    let grej = 2.0 * (1.0 + a * b) / a;
    loop {
        let q = rng.uniform();
        let z = 2.0 * a * (2.0 * q + ap2 * q.sqrt()) / (ap2 * ap2 - 4.0 * q);
        let g = (2.0 - z) * (1.0 / (a + z) + b);
        if g >= rng.uniform() * grej {
            return (1.0 - z).clamp(-1.0, 1.0);
        }
    }
}

/// Samples the cosine of a bremsstrahlung photon's angle to the electron direction for an
/// electron of kinetic energy `t_mev`: isotropic emission in the electron's rest frame
/// transformed to the laboratory (characteristic angle 1/gamma). An approximation: photon
/// angles barely matter for the absorbed dose.
pub fn sample_brems_angle(t_mev: f64, rng: &mut StreamRng) -> f64 {
    let (beta2, _, _) = kinematics(t_mev);
    let beta = beta2.sqrt();
    let c = 2.0 * rng.uniform() - 1.0;
    (c + beta) / (1.0 + beta * c)
}

/// The unrestricted stopping powers of one material, for validation against ESTAR and for
/// reports.
#[derive(Clone, Debug)]
pub struct StoppingPower {
    z_over_a: f64,
    i_ev: f64,
    de: DensityEffect,
    brems: Vec<BremsElement>,
}

impl StoppingPower {
    /// The model of material `m` at its nominal density. Errors if it has no mean
    /// excitation energy.
    pub fn new(m: &Material) -> Result<Self, PhysicsError> {
        let i_ev = m
            .mean_excitation_ev
            .ok_or_else(|| PhysicsError::BadMaterial {
                name: m.name.clone(),
                message: "no mean excitation energy (key mean_excitation_ev, in eV)".into(),
            })?;
        let de = DensityEffect::new(&m.elements, m.density_g_cm3, i_ev)
            .map_err(|e| with_material(e, &m.name))?;
        let (z_over_a, brems) = brems_elements(&m.elements)?;
        Ok(Self {
            z_over_a,
            i_ev,
            de,
            brems,
        })
    }

    /// Unrestricted collision stopping power \[MeV cm^2/g\] (ICRU 37 / ESTAR definition).
    pub fn collision_mev_cm2_g(&self, c: Charge, t_mev: f64) -> f64 {
        collision_stopping_mev_cm2_g(c, t_mev, self.z_over_a, self.i_ev, &self.de, None)
    }

    /// Radiative stopping power \[MeV cm^2/g\] of the bremsstrahlung model.
    pub fn radiative_mev_cm2_g(&self, t_mev: f64) -> f64 {
        ElectronTables::radiative(&self.brems, t_mev, None)
    }

    /// The density-effect correction delta at kinetic energy `t_mev`.
    pub fn density_effect(&self, t_mev: f64) -> f64 {
        self.de.delta(kinematics(t_mev).0)
    }

    /// CSDA range \[g/cm^2\] of an electron of kinetic energy `t_mev`: the integral of
    /// 1 / (total stopping power) from `from_mev` to `t_mev`.
    pub fn csda_range_g_cm2(&self, t_mev: f64, from_mev: f64) -> f64 {
        integrate(from_mev.ln(), t_mev.ln(), 16, |lt| {
            let t = lt.exp();
            t / (self.collision_mev_cm2_g(Charge::Electron, t) + self.radiative_mev_cm2_g(t))
        })
    }
}

/// Electrons per gram (as Z/A \[mol/g\]) and the bremsstrahlung weights of a mixture.
fn brems_elements(elements: &[(u32, f64)]) -> Result<(f64, Vec<BremsElement>), PhysicsError> {
    let mut z_over_a = 0.0;
    let mut brems = Vec::new();
    for &(z, w) in elements {
        let a = crate::elements::element(z)?.atomic_weight_g_mol;
        let zf = z as f64;
        z_over_a += w * zf / a;
        let z_third = zf.cbrt();
        let xi = (1440.0 / (z_third * z_third)).ln() / (183.0 / z_third).ln();
        brems.push(BremsElement {
            z_third,
            ln_z_third: z_third.ln(),
            weight: 4.0
                * ALPHA
                * CLASSICAL_ELECTRON_RADIUS_CM.powi(2)
                * zf
                * (zf + xi)
                * (w * AVOGADRO_PER_MOL / a),
        });
    }
    Ok((z_over_a, brems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::material::MaterialDb;

    static ESTAR: &str = include_str!("../../../data/reference/estar_water.txt");

    /// Rows of ESTAR water: (T, collision, radiative, total, CSDA range, delta).
    fn estar() -> Vec<[f64; 6]> {
        ESTAR
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let v: Vec<f64> = l.split_whitespace().map(|t| t.parse().unwrap()).collect();
                [v[0], v[1], v[2], v[3], v[4], v[6]]
            })
            .collect()
    }

    fn water() -> Material {
        MaterialDb::builtin().unwrap().get("water").unwrap().clone()
    }

    /// ESTAR water between 10 keV and 3 MeV (the validation range): collision
    /// stopping power within 1 %, CSDA range within 2 % (our integral starts at 1 keV).
    #[test]
    fn water_stopping_power_and_csda_range_match_estar() {
        let sp = StoppingPower::new(&water()).unwrap();
        let mut worst = (0.0f64, 0.0f64);
        for r in estar().iter().filter(|r| r[0] >= 0.01 && r[0] <= 3.0) {
            let col = sp.collision_mev_cm2_g(Charge::Electron, r[0]);
            let range = sp.csda_range_g_cm2(r[0], 1e-3);
            let (dc, dr) = ((col / r[1] - 1.0).abs(), (range / r[4] - 1.0).abs());
            assert!(dc < 0.01, "{} MeV: collision {col} vs ESTAR {}", r[0], r[1]);
            assert!(
                dr < 0.02,
                "{} MeV: CSDA range {range} vs ESTAR {}",
                r[0],
                r[4]
            );
            worst = (worst.0.max(dc), worst.1.max(dr));
        }
        // The largest deviations (0.71 % and 1.15 %, at 1.25 MeV and 12.5 keV) are recorded in
        // docs/validation.md.
        eprintln!(
            "largest deviations: collision {:.3} %, range {:.3} %",
            100.0 * worst.0,
            100.0 * worst.1
        );
    }

    /// The density-effect correction follows ESTAR's (same method, different valence
    /// binding energies): within 0.15 everywhere, 5 % of delta above 3 MeV.
    #[test]
    fn water_density_effect_matches_estar() {
        let sp = StoppingPower::new(&water()).unwrap();
        for r in estar().iter().filter(|r| r[0] <= 100.0) {
            let d = sp.density_effect(r[0]);
            assert!(
                (d - r[5]).abs() < 0.15,
                "{} MeV: delta {d} vs ESTAR {}",
                r[0],
                r[5]
            );
            if r[0] >= 3.0 {
                assert!(
                    (d / r[5] - 1.0).abs() < 0.1,
                    "{} MeV: delta {d} vs {}",
                    r[0],
                    r[5]
                );
            }
        }
    }

    /// Bethe-Heitler with screening against Seltzer-Berger (ESTAR) radiative stopping power:
    /// within 15 % from 1 to 10 MeV (the stated model tolerance; below 1 MeV the Born
    /// approximation underestimates, where radiative loss is under 0.7 % of the total).
    #[test]
    fn water_radiative_stopping_power_within_model_tolerance() {
        let sp = StoppingPower::new(&water()).unwrap();
        for r in estar().iter().filter(|r| r[0] >= 1.0 && r[0] <= 10.0) {
            let rad = sp.radiative_mev_cm2_g(r[0]);
            assert!(
                (rad / r[2] - 1.0).abs() < 0.15,
                "{} MeV: {rad} vs ESTAR {}",
                r[0],
                r[2]
            );
        }
        for r in estar().iter().filter(|r| r[0] < 1.0) {
            assert!(r[2] / r[3] < 0.007);
        }
    }

    #[test]
    fn restricted_tables_are_consistent() {
        let w = water();
        let t = ElectronTables::new(std::slice::from_ref(&w), ElectronSettings::default()).unwrap();
        let sp = StoppingPower::new(&w).unwrap();
        for &e in &[0.02, 0.1, 0.5, 1.0, 3.0, 10.0] {
            for c in [Charge::Electron, Charge::Positron] {
                let res = t.restricted_stopping_mev_cm2_g(0, c, e);
                let full = sp.collision_mev_cm2_g(c, e) + sp.radiative_mev_cm2_g(e);
                assert!(
                    res < full && res > 0.6 * full,
                    "{e} MeV {c:?}: {res} vs {full}"
                );
                // The range table inverts.
                let r = t.range_g_cm2(0, c, e);
                let back = t.energy_at_range(0, c, r);
                assert!((back / e - 1.0).abs() < 1e-3, "{e}: {back}");
                // The range index finds the interval a full search finds.
                let table = &t.mat(0).range[c as usize];
                for frac in [1.0, 0.999, 0.9, 0.5, 0.01, 1e-6] {
                    let (_, idx) = t.locate_range(0, c, frac * r);
                    let i = table.partition_point(|&x| x <= frac * r);
                    assert_eq!(idx.bin, i - 1, "{e} MeV {c:?} fraction {frac}");
                }
                // Every grid point's own range, and points between them.
                for i in 1..N_ENERGY - 1 {
                    for x in [table[i], 0.5 * (table[i] + table[i + 1])] {
                        if x > 0.0 {
                            let want = table.partition_point(|&y| y <= x);
                            let (_, idx) = t.locate_range(0, c, x);
                            assert_eq!(idx.bin, want - 1, "grid point {i}");
                        }
                    }
                }
                let half = t.energy_after(0, c, e, 0.5 * r);
                assert!(half < e && half > 0.01);
            }
        }
        // Below the delta-ray threshold's double, Moller has no hard collisions.
        assert_eq!(t.hard_cm2_g(0, Charge::Electron, 0.019).0, 0.0);
        assert!(t.hard_cm2_g(0, Charge::Positron, 0.019).0 > 0.0);
        // Energy loss with restricted stopping + hard events: the mean restricted loss plus
        // the mean hard transfers equal the unrestricted collision stopping power.
        for &e in &[0.1, 1.0, 5.0] {
            let res_col = collision_stopping_mev_cm2_g(
                Charge::Electron,
                e,
                sp.z_over_a,
                sp.i_ev,
                &sp.de,
                Some(0.01),
            );
            let n_e = sp.z_over_a * AVOGADRO_PER_MOL;
            // Mean hard transfer: integrate W dsigma/dW by differentiating the cross section.
            let hard = integrate(0.01, 0.5 * e, 64, |w| {
                let h = 1e-6 * w;
                let ds = (hard_collision_cm2(Charge::Electron, e, w - h)
                    - hard_collision_cm2(Charge::Electron, e, w + h))
                    / (2.0 * h);
                w * ds * n_e
            });
            let full = sp.collision_mev_cm2_g(Charge::Electron, e);
            assert!(
                ((res_col + hard) / full - 1.0).abs() < 2e-3,
                "{e}: {res_col} + {hard} vs {full}"
            );
        }
    }

    #[test]
    fn samplers_respect_kinematics_and_moments() {
        let mut rng = StreamRng::new(1, 9, 0);
        // Moller: transfers in [cut, T/2], Bhabha in [cut, T].
        for _ in 0..2000 {
            let w = sample_delta(Charge::Electron, 1.0, 0.01, &mut rng);
            assert!((0.01..=0.5).contains(&w));
            let w = sample_delta(Charge::Positron, 1.0, 0.01, &mut rng);
            assert!((0.01..=1.0).contains(&w));
        }
        // Mean Moller transfer against the cross section's own moment.
        let n = 200_000;
        let mean: f64 = (0..n)
            .map(|_| sample_delta(Charge::Electron, 1.0, 0.01, &mut rng))
            .sum::<f64>()
            / n as f64;
        let sigma = hard_collision_cm2(Charge::Electron, 1.0, 0.01);
        let first = integrate(0.01, 0.5, 64, |w| {
            let h = 1e-6 * w;
            w * (hard_collision_cm2(Charge::Electron, 1.0, w - h)
                - hard_collision_cm2(Charge::Electron, 1.0, w + h))
                / (2.0 * h)
        });
        let expect = first / sigma;
        // Standard error of the mean ~ 0.1 MeV / sqrt(n): 4 sigma.
        assert!(
            (mean - expect).abs() < 4.0 * 0.12 / (n as f64).sqrt() * 1.5,
            "{mean} vs {expect}"
        );
        // Delta and primary angles: momentum conservation along the primary direction.
        let (t, w) = (1.0, 0.3);
        let (cp, cd) = delta_angles(t, w);
        let p = |k: f64| (k * (k + 2.0 * ELECTRON_MASS_MEV)).sqrt();
        assert!((p(t - w) * cp + p(w) * cd - p(t)).abs() < 1e-12);
        // Annihilation in flight: photon energy within the kinematic limits.
        for _ in 0..1000 {
            let (k, c) = sample_annihilation_in_flight(0.5, &mut rng);
            assert!(k > 0.0 && k < 0.5 + 2.0 * ELECTRON_MASS_MEV && (-1.0..=1.0).contains(&c));
        }
        // Soft deflection: the sampled moments are the requested ones.
        let (m1, p2) = (0.9, 0.75);
        let n = 400_000;
        let (mut s1, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let mu = sample_soft_deflection(m1, p2, &mut rng);
            s1 += mu;
            s2 += 0.5 * (3.0 * mu * mu - 1.0);
        }
        assert!((s1 / n as f64 - m1).abs() < 2e-3, "{}", s1 / n as f64);
        assert!((s2 / n as f64 - p2).abs() < 3e-3, "{}", s2 / n as f64);
        // Brems photons between the threshold and T.
        let t = ElectronTables::new(&[water()], ElectronSettings::default()).unwrap();
        for _ in 0..1000 {
            let k = t.sample_brems(0, 2.0, &mut rng);
            assert!((0.01..=2.0).contains(&k));
        }
    }

    /// Positrons: the sampled Bhabha transfers have the mean that the Bhabha cross section
    /// implies (its first moment, by differentiating the hard cross section), and the two
    /// photons of annihilation in flight conserve energy and momentum (the sampled photon
    /// angle is consistent with the sampled energy sharing).
    #[test]
    fn positron_samplers_follow_bhabha_and_heitler_kinematics() {
        let mut rng = StreamRng::new(3, 9, 0);
        for t in [0.3, 2.0] {
            let cut = 0.01;
            let n = 200_000;
            let samples: Vec<f64> = (0..n)
                .map(|_| sample_delta(Charge::Positron, t, cut, &mut rng))
                .collect();
            let mean = samples.iter().sum::<f64>() / n as f64;
            let sd = (samples.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
            let sigma = hard_collision_cm2(Charge::Positron, t, cut);
            let first = integrate(cut, t, 64, |w| {
                let h = 1e-6 * w;
                w * (hard_collision_cm2(Charge::Positron, t, w - h)
                    - hard_collision_cm2(Charge::Positron, t, w + h))
                    / (2.0 * h)
            });
            let expect = first / sigma;
            assert!(
                (mean - expect).abs() < 4.0 * sd / (n as f64).sqrt(),
                "{t} MeV: {mean} vs {expect}"
            );
        }
        for t in [0.05, 0.5, 3.0] {
            for _ in 0..2000 {
                let (k1, cos1) = sample_annihilation_in_flight(t, &mut rng);
                let total = t + 2.0 * ELECTRON_MASS_MEV;
                let k2 = total - k1;
                let p = (t * (t + 2.0 * ELECTRON_MASS_MEV)).sqrt();
                // |p - k1| with the angle between them: must equal k2 (massless photon 2).
                let p2 = (p * p + k1 * k1 - 2.0 * p * k1 * cos1).max(0.0).sqrt();
                assert!(
                    (p2 - k2).abs() < 1e-9 * total,
                    "{t} MeV: |p - k1| = {p2}, k2 = {k2}"
                );
            }
        }
    }

    #[test]
    fn wentzel_cut_and_moments_are_consistent() {
        let t = ElectronTables::new(&[water()], ElectronSettings::default()).unwrap();
        let el = t.elastic(0, 1.0);
        let total = el.total_cm2_g();
        let u = el.cut_for_hard(0.1 * total);
        assert!((el.hard_cm2_g(u) / (0.1 * total) - 1.0).abs() < 1e-9);
        // Soft + hard first moments add up to the transport cross section.
        let (t1, _) = el.soft_transport_cm2_g(u);
        let mut rng = StreamRng::new(2, 9, 0);
        let n = 200_000;
        let hard_mean_u: f64 = (0..n).map(|_| el.sample_hard(u, &mut rng)).sum::<f64>() / n as f64;
        let t1_total = t1 + el.hard_cm2_g(u) * hard_mean_u;
        assert!(
            (t1_total / el.transport_cm2_g() - 1.0).abs() < 0.02,
            "{t1_total} vs {}",
            el.transport_cm2_g()
        );
        // Transport mean free path of 1 MeV electrons in water is of the order of 1 g/cm2
        // (ICRU 77 / PENELOPE: about 0.8 g/cm2 ... here the screened Rutherford value).
        let l1 = 1.0 / el.transport_cm2_g();
        assert!(l1 > 0.2 && l1 < 3.0, "{l1}");
    }

    #[test]
    fn material_without_i_value_is_refused() {
        let mut w = water();
        w.mean_excitation_ev = None;
        w.name = "my_water".into();
        let e = ElectronTables::new(&[w], ElectronSettings::default()).unwrap_err();
        assert!(
            e.to_string().contains("my_water") && e.to_string().contains("mean_excitation_ev"),
            "{e}"
        );
        let bad = ElectronSettings {
            cutoff_mev: 1e-4,
            ..Default::default()
        };
        assert!(ElectronTables::new(&[water()], bad).is_err());
    }

    #[test]
    #[ignore]
    fn print_water() {
        let db = MaterialDb::builtin().unwrap();
        let w = db.get("water").unwrap();
        for r in estar() {
            if r[0] > 10.0 {
                break;
            }
            let sp = StoppingPower::new(w).unwrap();
            let (c, rad, d) = (
                sp.collision_mev_cm2_g(Charge::Electron, r[0]),
                sp.radiative_mev_cm2_g(r[0]),
                sp.density_effect(r[0]),
            );
            let range = sp.csda_range_g_cm2(r[0], 1e-3);
            println!(
                "{:8.4} col {:7.4} ({:+.3}%) rad {:9.6} ({:+.1}%) delta {:.4}/{:.4} range {:.5} ({:+.2}%)",
                r[0], c, 100.0 * (c / r[1] - 1.0), rad, 100.0 * (rad / r[2] - 1.0), d, r[5], range, 100.0 * (range / r[4] - 1.0)
            );
        }
    }
}
