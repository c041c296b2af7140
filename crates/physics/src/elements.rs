//! NIST XCOM photon cross sections of the elements.
//!
//! Source: M. J. Berger, J. H. Hubbell et al., *XCOM: Photon Cross Sections Database*, NIST
//! Standard Reference Database 8 (version 3.1), converted by `data/scripts/generate_tables.py`
//! into `data/photon/xcom_elements.dat`. For each element the file lists energies (eV) from
//! 1 keV to 100 GeV and cross sections (barn/atom) for coherent (Rayleigh) scattering,
//! incoherent (Compton, with binding effects through S(x, Z)) scattering, photoelectric
//! absorption, and pair production in the nuclear and in the electron field. At an
//! absorption edge the energy appears twice (just below and just above).
//!
//! Interpolation is linear in log(E)-log(sigma) within an interval of the XCOM grid; the
//! interval is always chosen with strictly increasing end points, so that no interpolation
//! ever spans an edge. Where a cross section is zero at one end (pair production near its
//! threshold) the interpolation is linear.

use crate::error::{data_err, PhysicsError};
use std::sync::OnceLock;

const FILE: &str = "photon/xcom_elements.dat";
static XCOM_TEXT: &str = include_str!("../../../data/photon/xcom_elements.dat");

/// The photon interaction processes tabulated by XCOM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Process {
    /// Coherent (Rayleigh) scattering.
    Coherent = 0,
    /// Incoherent (Compton) scattering, including binding effects.
    Incoherent = 1,
    /// Photoelectric absorption.
    Photoelectric = 2,
    /// Pair production in the field of the nucleus (threshold 1.022 MeV).
    PairNuclear = 3,
    /// Pair (triplet) production in the field of the atomic electrons (threshold 2.044 MeV).
    PairElectron = 4,
}

impl Process {
    /// All five processes in the order of the XCOM columns.
    pub const ALL: [Process; 5] = [
        Process::Coherent,
        Process::Incoherent,
        Process::Photoelectric,
        Process::PairNuclear,
        Process::PairElectron,
    ];
}

/// XCOM data for one element.
#[derive(Clone, Debug)]
pub struct ElementXs {
    /// Atomic number.
    pub z: u32,
    /// Chemical symbol, e.g. `"O"`.
    pub symbol: String,
    /// Atomic weight [g/mol], from the XCOM file.
    pub atomic_weight_g_mol: f64,
    /// ln of the grid energies [ln eV]; duplicated at absorption edges.
    ln_energy: Vec<f64>,
    /// Cross sections [barn/atom] per process (index = `Process as usize`).
    sigma_barn: [Vec<f64>; 5],
}

impl ElementXs {
    /// Cross section [barn/atom] of one process at `energy_mev`, interpolated log-log
    /// within the XCOM grid interval that contains the energy (never across an edge).
    /// Energies below 1 keV use the first interval (extrapolation); at an edge energy
    /// the value just above the edge is returned.
    pub fn cross_section_barn(&self, process: Process, energy_mev: f64) -> f64 {
        let ln_e = (energy_mev * 1e6).ln();
        let xs = &self.sigma_barn[process as usize];
        let n = self.ln_energy.len();
        // Last index with ln E_i <= ln E, so E_{i+1} > E (duplicated edge points are skipped).
        let mut i = self.ln_energy.partition_point(|&x| x <= ln_e);
        i = i.saturating_sub(1).min(n - 2);
        // If clamped at the top or bottom onto a duplicated pair, move to a proper interval.
        while i + 1 < n - 1 && self.ln_energy[i + 1] <= self.ln_energy[i] {
            i += 1;
        }
        let (x0, x1) = (self.ln_energy[i], self.ln_energy[i + 1]);
        let (y0, y1) = (xs[i], xs[i + 1]);
        let t = (ln_e - x0) / (x1 - x0);
        if y0 > 0.0 && y1 > 0.0 {
            (y0.ln() + t * (y1.ln() - y0.ln())).exp()
        } else {
            // Linear in energy (a zero end point: pair production near threshold).
            let e0 = x0.exp();
            let e1 = x1.exp();
            let e = energy_mev * 1e6;
            let v = y0 + (y1 - y0) * (e - e0) / (e1 - e0);
            v.max(0.0)
        }
    }

    /// Energies of the absorption edges \[MeV\]: XCOM lists an edge as two grid energies
    /// (just below and at the edge, 0.1 eV apart or equal); this returns the upper one.
    pub fn edges_mev(&self) -> Vec<f64> {
        self.ln_energy
            .windows(2)
            .filter(|w| w[1] - w[0] < 1e-5)
            .map(|w| w[1].exp() * 1e-6)
            .collect()
    }
}

/// The element table, parsed once from the compiled-in data.
pub fn elements() -> Result<&'static [ElementXs], PhysicsError> {
    static TABLE: OnceLock<Result<Vec<ElementXs>, String>> = OnceLock::new();
    TABLE
        .get_or_init(|| parse(XCOM_TEXT))
        .as_ref()
        .map(|v| v.as_slice())
        .map_err(|m| data_err(FILE, m.clone()))
}

/// The element with atomic number `z` (1..=100).
pub fn element(z: u32) -> Result<&'static ElementXs, PhysicsError> {
    elements()?
        .iter()
        .find(|e| e.z == z)
        .ok_or_else(|| data_err(FILE, format!("no data for Z = {z}")))
}

/// The atomic number of a chemical symbol (case-sensitive, e.g. `"Ca"`).
pub fn z_of_symbol(symbol: &str) -> Result<u32, PhysicsError> {
    elements()?
        .iter()
        .find(|e| e.symbol == symbol)
        .map(|e| e.z)
        .ok_or_else(|| PhysicsError::BadMaterial {
            name: symbol.to_string(),
            message: "is not a chemical symbol of an element Z = 1..100".into(),
        })
}

fn parse(text: &str) -> Result<Vec<ElementXs>, String> {
    let mut out = Vec::with_capacity(100);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    while let Some((ln, line)) = lines.next() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 5 || f[0] != "element" {
            return Err(format!(
                "line {ln}: expected 'element Z SYMBOL A N', found '{line}'"
            ));
        }
        let num = |s: &str| -> Result<f64, String> {
            s.parse::<f64>()
                .map_err(|_| format!("line {ln}: '{s}' is not a number"))
        };
        let z = f[1]
            .parse::<u32>()
            .map_err(|_| format!("line {ln}: bad Z '{}'", f[1]))?;
        let a = num(f[3])?;
        let n = f[4]
            .parse::<usize>()
            .map_err(|_| format!("line {ln}: bad N '{}'", f[4]))?;
        if n < 2 {
            return Err(format!("line {ln}: element {z} has fewer than 2 energies"));
        }
        let mut ln_energy = Vec::with_capacity(n);
        let mut sig: [Vec<f64>; 5] = Default::default();
        for _ in 0..n {
            let (ln2, row) = lines
                .next()
                .ok_or_else(|| format!("element {z}: file ends before its {n} rows"))?;
            let v: Vec<f64> = row
                .split_whitespace()
                .map(|s| {
                    s.parse::<f64>()
                        .map_err(|_| format!("line {ln2}: '{s}' is not a number"))
                })
                .collect::<Result<_, _>>()?;
            if v.len() != 6 {
                return Err(format!("line {ln2}: expected 6 numbers, found {}", v.len()));
            }
            if v[0] <= 0.0 || v[1..].iter().any(|x| *x < 0.0 || !x.is_finite()) {
                return Err(format!(
                    "line {ln2}: non-positive energy or negative cross section"
                ));
            }
            if let Some(&last) = ln_energy.last() {
                if v[0].ln() < last {
                    return Err(format!("line {ln2}: energies not non-decreasing"));
                }
            }
            ln_energy.push(v[0].ln());
            for p in 0..5 {
                sig[p].push(v[p + 1]);
            }
        }
        out.push(ElementXs {
            z,
            symbol: f[2].to_string(),
            atomic_weight_g_mol: a,
            ln_energy,
            sigma_barn: sig,
        });
    }
    if out.len() != 100 {
        return Err(format!("expected 100 elements, found {}", out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_elements_parse_and_symbols_resolve() {
        let e = elements().unwrap();
        assert_eq!(e.len(), 100);
        assert_eq!(z_of_symbol("H").unwrap(), 1);
        assert_eq!(z_of_symbol("Ca").unwrap(), 20);
        assert_eq!(z_of_symbol("Fm").unwrap(), 100);
        assert!(z_of_symbol("Xx").is_err());
    }

    #[test]
    fn grid_points_are_reproduced_and_edges_respected() {
        // Lead K edge at 88.0045 keV: photoelectric jumps by a factor of about 5.
        let pb = element(82).unwrap();
        let edges = pb.edges_mev();
        let k = *edges.iter().find(|e| (**e - 0.088).abs() < 0.001).unwrap();
        let below = pb.cross_section_barn(Process::Photoelectric, k * (1.0 - 1e-5));
        let above = pb.cross_section_barn(Process::Photoelectric, k * (1.0 + 1e-5));
        assert!(
            above / below > 4.0 && above / below < 7.0,
            "{below} {above}"
        );
        // Just below the edge, the value is the interpolation of the points below the edge,
        // not a blend with the point above it: NIST lists 1.910 cm2/g (total) below and
        // 7.683 above the lead K edge; the photoelectric part jumps accordingly.
        let at = pb.cross_section_barn(Process::Photoelectric, k);
        assert!((at - above).abs() / above < 1e-3);
    }

    #[test]
    fn pair_production_is_zero_below_threshold() {
        let o = element(8).unwrap();
        assert_eq!(o.cross_section_barn(Process::PairNuclear, 0.9), 0.0);
        assert_eq!(o.cross_section_barn(Process::PairElectron, 1.5), 0.0);
        assert!(o.cross_section_barn(Process::PairNuclear, 5.0) > 0.0);
    }
}
