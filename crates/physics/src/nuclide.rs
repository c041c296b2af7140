//! Radionuclide emission data (ICRP Publication 107) and per-decay sampling.
//!
//! Source: ICRP Publication 107, *Nuclear Decay Data for Dosimetric Calculations* (Eckerman
//! and Endo 2008), through the `icrp107-database` package, converted by
//! `data/scripts/generate_tables.py` into `data/nuclides/icrp107.toml`: discrete gamma and
//! X-ray lines, Auger and internal-conversion electrons, beta branches (mean energies and
//! yields) and the total beta spectrum, all per nuclear transformation.
//!
//! **Sampling a decay.** Each discrete line of yield Y (per decay) is emitted floor(Y) times
//! plus once more with probability Y - floor(Y), so that the mean number per decay is Y
//! exactly. Lines of yield below 2 % are grouped into groups of total yield at most 1: a
//! group fires with the probability of its total yield and then emits one of its lines
//! chosen in proportion to their yields. This keeps every line's mean exact while drawing a
//! few random numbers per decay instead of one per line (Tc-99m has over 100 lines). The
//! beta particle of a decay (probability = the total beta yield) takes its energy from the
//! tabulated total beta spectrum; a nuclide with both beta-minus and beta-plus branches uses
//! the mean energy of a branch chosen by yield instead (its tabulated spectrum mixes both).

use crate::error::{data_err, PhysicsError};
use pedisim_core::constants::ELECTRON_MASS_MEV;
use pedisim_core::rng::StreamRng;
use pedisim_core::AliasTable;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const FILE: &str = "nuclides/icrp107.toml";
static NUCLIDE_TEXT: &str = include_str!("../../../data/nuclides/icrp107.toml");

/// Emission data of one nuclide, per nuclear transformation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NuclideData {
    /// Physical half-life \[s\].
    pub half_life_s: f64,
    /// Gamma rays: `[energy_mev, yield_per_decay]`.
    pub gamma: Vec<[f64; 2]>,
    /// X-rays: `[energy_mev, yield_per_decay]`.
    pub xray: Vec<[f64; 2]>,
    /// Auger electrons: `[energy_mev, yield_per_decay]`.
    pub auger: Vec<[f64; 2]>,
    /// Internal-conversion electrons: `[energy_mev, yield_per_decay]`.
    pub internal_conversion: Vec<[f64; 2]>,
    /// Beta-minus branches: `[mean_energy_mev, yield_per_decay]`.
    pub beta_minus: Vec<[f64; 2]>,
    /// Beta-plus branches: `[mean_energy_mev, yield_per_decay]`.
    pub beta_plus: Vec<[f64; 2]>,
    /// Alpha particles: `[energy_mev, yield_per_decay]`.
    pub alpha: Vec<[f64; 2]>,
    /// Total beta spectrum: `[energy_mev, particles per MeV per decay]`.
    pub beta_spectrum: Vec<[f64; 2]>,
}

#[derive(Deserialize)]
struct NuclideFile {
    nuclide: BTreeMap<String, NuclideData>,
}

/// All nuclides with ICRP-107 data compiled into the program.
pub fn nuclide_table() -> Result<&'static BTreeMap<String, NuclideData>, PhysicsError> {
    static TABLE: OnceLock<Result<BTreeMap<String, NuclideData>, String>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            toml::from_str::<NuclideFile>(NUCLIDE_TEXT)
                .map(|f| f.nuclide)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|m| data_err(FILE, m.clone()))
}

/// The emission data of `name` (ICRP spelling, e.g. `"Tc-99m"`, `"F-18"`).
pub fn nuclide(name: &str) -> Result<&'static NuclideData, PhysicsError> {
    let t = nuclide_table()?;
    t.get(name).ok_or_else(|| PhysicsError::UnknownNuclide {
        name: name.to_string(),
        known: t.keys().cloned().collect::<Vec<_>>().join(", "),
    })
}

impl NuclideData {
    /// Mean photon energy emitted per decay \[MeV\]: gamma and X-ray lines plus the two
    /// 511 keV annihilation photons of each positron, as tabulated by ICRP-107.
    pub fn mean_photon_energy_mev(&self) -> f64 {
        let lines: f64 = self
            .gamma
            .iter()
            .chain(&self.xray)
            .map(|l| l[0] * l[1])
            .sum();
        let pos: f64 = self.beta_plus.iter().map(|b| b[1]).sum();
        lines + pos * 2.0 * ELECTRON_MASS_MEV
    }

    /// Mean kinetic energy of electrons and positrons per decay \[MeV\] (Auger, conversion
    /// electrons and beta branches).
    pub fn mean_electron_energy_mev(&self) -> f64 {
        self.auger
            .iter()
            .chain(&self.internal_conversion)
            .chain(&self.beta_minus)
            .chain(&self.beta_plus)
            .map(|l| l[0] * l[1])
            .sum()
    }
}

/// A particle emitted by a decay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Emission {
    /// A photon (gamma or X-ray) of this energy \[MeV\].
    Photon(f64),
    /// An electron (beta-minus, Auger or conversion) of this kinetic energy \[MeV\].
    Electron(f64),
    /// A positron of this kinetic energy \[MeV\]; it annihilates into two 511 keV photons.
    Positron(f64),
    /// An alpha particle of this kinetic energy \[MeV\] (deposited locally).
    Alpha(f64),
}

#[derive(Clone, Debug)]
struct Line {
    energy_mev: f64,
    whole: u32,
    frac: f64,
}

#[derive(Clone, Debug)]
struct Group {
    prob: f64,
    energies_mev: Vec<f64>,
    table: AliasTable,
}

/// Samples discrete lines with exact mean multiplicities (see the module documentation).
#[derive(Clone, Debug, Default)]
struct LineSampler {
    lines: Vec<Line>,
    groups: Vec<Group>,
}

/// Threshold under which a line joins a group.
const GROUP_YIELD: f64 = 0.02;

impl LineSampler {
    fn new(lines: &[[f64; 2]]) -> Self {
        let mut s = LineSampler::default();
        let mut small: Vec<[f64; 2]> = Vec::new();
        for l in lines.iter().filter(|l| l[1] > 0.0 && l[0] > 0.0) {
            if l[1] >= GROUP_YIELD {
                s.lines.push(Line {
                    energy_mev: l[0],
                    whole: l[1].floor() as u32,
                    frac: l[1] - l[1].floor(),
                });
            } else {
                small.push(*l);
            }
        }
        let mut cur: Vec<[f64; 2]> = Vec::new();
        let mut flush = |cur: &mut Vec<[f64; 2]>| {
            if cur.is_empty() {
                return;
            }
            let w: Vec<f64> = cur.iter().map(|l| l[1]).collect();
            s.groups.push(Group {
                prob: w.iter().sum(),
                energies_mev: cur.iter().map(|l| l[0]).collect(),
                table: AliasTable::new(&w).expect("positive yields"),
            });
            cur.clear();
        };
        let mut tot = 0.0;
        for l in small {
            if tot + l[1] > 1.0 {
                flush(&mut cur);
                tot = 0.0;
            }
            tot += l[1];
            cur.push(l);
        }
        flush(&mut cur);
        s
    }

    #[inline]
    fn sample(&self, rng: &mut StreamRng, mut emit: impl FnMut(f64)) {
        for l in &self.lines {
            for _ in 0..l.whole {
                emit(l.energy_mev);
            }
            if l.frac > 0.0 && rng.uniform() < l.frac {
                emit(l.energy_mev);
            }
        }
        for g in &self.groups {
            let u = rng.uniform();
            if u < g.prob {
                // Reuse the uniform: u / prob is uniform in [0, 1) given u < prob.
                emit(g.energies_mev[g.table.sample(u / g.prob)]);
            }
        }
    }
}

/// Samples energies from a tabulated spectrum (piecewise-linear density).
#[derive(Clone, Debug)]
struct SpectrumSampler {
    energy_mev: Vec<f64>,
    density: Vec<f64>,
    cumulative: Vec<f64>,
}

impl SpectrumSampler {
    fn new(points: &[[f64; 2]]) -> Option<Self> {
        if points.len() < 2 {
            return None;
        }
        let energy_mev: Vec<f64> = points.iter().map(|p| p[0]).collect();
        let density: Vec<f64> = points.iter().map(|p| p[1].max(0.0)).collect();
        let mut cumulative = vec![0.0; points.len()];
        for i in 1..points.len() {
            let de = energy_mev[i] - energy_mev[i - 1];
            cumulative[i] = cumulative[i - 1] + 0.5 * (density[i] + density[i - 1]) * de.max(0.0);
        }
        if cumulative[points.len() - 1] <= 0.0 {
            return None;
        }
        Some(Self {
            energy_mev,
            density,
            cumulative,
        })
    }

    fn total(&self) -> f64 {
        self.cumulative[self.cumulative.len() - 1]
    }

    fn mean_mev(&self) -> f64 {
        let mut m = 0.0;
        for i in 1..self.energy_mev.len() {
            let (e0, e1) = (self.energy_mev[i - 1], self.energy_mev[i]);
            let (p0, p1) = (self.density[i - 1], self.density[i]);
            // Integral of E p(E) for linear p over [e0, e1].
            let de = e1 - e0;
            m += de * (p0 * (2.0 * e0 + e1) + p1 * (e0 + 2.0 * e1)) / 6.0;
        }
        m / self.total()
    }

    #[inline]
    fn sample(&self, rng: &mut StreamRng) -> f64 {
        let target = rng.uniform() * self.total();
        let j = self
            .cumulative
            .partition_point(|&c| c <= target)
            .clamp(1, self.cumulative.len() - 1);
        let (e0, e1) = (self.energy_mev[j - 1], self.energy_mev[j]);
        let (p0, p1) = (self.density[j - 1], self.density[j]);
        let de = e1 - e0;
        let c = target - self.cumulative[j - 1];
        // Solve p0 t de + (p1 - p0) t^2 de / 2 = c for t in [0, 1].
        let a = 0.5 * (p1 - p0) * de;
        let b = p0 * de;
        let t = if a.abs() < 1e-12 * b.abs().max(1e-300) {
            if b > 0.0 {
                c / b
            } else {
                0.5
            }
        } else {
            let disc = (b * b + 4.0 * a * c).max(0.0);
            (2.0 * c) / (b + disc.sqrt())
        };
        e0 + t.clamp(0.0, 1.0) * de
    }
}

/// Samples the particles of one decay of a nuclide.
#[derive(Clone, Debug)]
pub struct DecaySampler {
    /// ICRP name of the nuclide.
    pub name: String,
    photons: LineSampler,
    electrons: LineSampler,
    alphas: LineSampler,
    beta_minus_yield: f64,
    beta_plus_yield: f64,
    spectrum: Option<SpectrumSampler>,
    beta_minus_branches: LineSampler,
    beta_plus_branches: LineSampler,
    max_energy_mev: f64,
}

impl DecaySampler {
    /// The sampler of nuclide `name`.
    pub fn new(name: &str) -> Result<Self, PhysicsError> {
        let d = nuclide(name)?;
        let photons: Vec<[f64; 2]> = d.gamma.iter().chain(&d.xray).copied().collect();
        let electrons: Vec<[f64; 2]> = d
            .auger
            .iter()
            .chain(&d.internal_conversion)
            .copied()
            .collect();
        let ym: f64 = d.beta_minus.iter().map(|b| b[1]).sum();
        let yp: f64 = d.beta_plus.iter().map(|b| b[1]).sum();
        let spectrum = if ym > 0.0 && yp > 0.0 {
            None
        } else {
            SpectrumSampler::new(&d.beta_spectrum)
        };
        let max_energy_mev = [
            &d.gamma,
            &d.xray,
            &d.auger,
            &d.internal_conversion,
            &d.beta_minus,
            &d.beta_plus,
            &d.beta_spectrum,
        ]
        .iter()
        .flat_map(|v| v.iter().map(|p| p[0]))
        .fold(0.0, f64::max);
        Ok(Self {
            max_energy_mev,
            name: name.to_string(),
            photons: LineSampler::new(&photons),
            electrons: LineSampler::new(&electrons),
            alphas: LineSampler::new(&d.alpha),
            beta_minus_yield: ym,
            beta_plus_yield: yp,
            spectrum,
            beta_minus_branches: LineSampler::new(&d.beta_minus),
            beta_plus_branches: LineSampler::new(&d.beta_plus),
        })
    }

    /// The highest energy \[MeV\] of any emission of the nuclide (line, beta branch or
    /// beta-spectrum point; alphas excluded).
    pub fn max_energy_mev(&self) -> f64 {
        self.max_energy_mev
    }

    /// Mean beta kinetic energy \[MeV\] per beta particle as this sampler draws it (from the
    /// spectrum when one is used).
    pub fn mean_beta_energy_mev(&self) -> Option<f64> {
        self.spectrum.as_ref().map(|s| s.mean_mev())
    }

    /// Samples one decay, calling `emit` for every particle.
    #[inline]
    pub fn sample(&self, rng: &mut StreamRng, mut emit: impl FnMut(Emission)) {
        self.photons.sample(rng, |e| emit(Emission::Photon(e)));
        self.electrons.sample(rng, |e| emit(Emission::Electron(e)));
        self.alphas.sample(rng, |e| emit(Emission::Alpha(e)));
        match &self.spectrum {
            Some(s) => {
                let y = self.beta_minus_yield + self.beta_plus_yield;
                if rng.uniform() < y {
                    let e = s.sample(rng);
                    if self.beta_plus_yield > 0.0 {
                        emit(Emission::Positron(e));
                    } else {
                        emit(Emission::Electron(e));
                    }
                }
            }
            None => {
                self.beta_minus_branches
                    .sample(rng, |e| emit(Emission::Electron(e)));
                self.beta_plus_branches
                    .sample(rng, |e| emit(Emission::Positron(e)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pedisim_core::rng::domain;

    #[test]
    fn required_nuclides_are_present() {
        for n in [
            "Tc-99m", "I-123", "I-131", "In-111", "Lu-177", "F-18", "Ga-68", "Y-90",
        ] {
            let d = nuclide(n).unwrap();
            assert!(d.half_life_s > 0.0, "{n}");
        }
        let e = nuclide("Xx-999").unwrap_err().to_string();
        assert!(e.contains("Xx-999") && e.contains("Tc-99m"));
    }

    #[test]
    fn tc99m_principal_gamma_is_icrp107() {
        // ICRP-107 (and ENSDF): gamma 2 of Tc-99m, 140.511 keV, 0.8906 per decay.
        let d = nuclide("Tc-99m").unwrap();
        let g = d.gamma.iter().max_by(|a, b| a[1].total_cmp(&b[1])).unwrap();
        assert!(
            (g[0] - 0.140511).abs() < 1e-6 && (g[1] - 0.8906).abs() < 1e-4,
            "{g:?}"
        );
        // F-18: one positron per 96.73 % of decays, so 0.9886 MeV of annihilation photons.
        let f = nuclide("F-18").unwrap();
        assert!((f.mean_photon_energy_mev() - 0.9673 * 1.021998).abs() < 1e-4);
    }

    /// Sampled mean energies per decay equal the tabulated means within 4 standard errors.
    #[test]
    fn sampled_means_match_tables() {
        for name in [
            "Tc-99m", "I-131", "F-18", "Y-90", "Lu-177", "Ga-68", "In-111", "I-123",
        ] {
            let d = nuclide(name).unwrap();
            let s = DecaySampler::new(name).unwrap();
            let n = 200_000;
            let (mut sp, mut sp2) = (0.0, 0.0);
            let mut r = StreamRng::new(11, domain::SETUP, 0);
            for _ in 0..n {
                let mut e = 0.0;
                s.sample(&mut r, |em| match em {
                    Emission::Photon(x) => e += x,
                    Emission::Positron(_) => e += 2.0 * ELECTRON_MASS_MEV,
                    _ => {}
                });
                sp += e;
                sp2 += e * e;
            }
            let nf = n as f64;
            let mean = sp / nf;
            let se = ((sp2 / nf - mean * mean) / nf).sqrt();
            let want = d.mean_photon_energy_mev();
            println!("photon energy per decay | {name} | ICRP-107 {want:.6} MeV | sampled {mean:.6} +- {se:.6} MeV | n = {n}");
            assert!(
                (mean - want).abs() <= 4.0 * se + 1e-9,
                "{name}: sampled {mean} +- {se}, ICRP-107 {want}"
            );
        }
    }
}
