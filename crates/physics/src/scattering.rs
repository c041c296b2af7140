//! Incoherent scattering functions S(x, Z) and atomic form factors F(x, Z).
//!
//! Source: the EPDL97-based tables of xraylib (`SF_Compt`, `FF_Rayl`; Hubbell et al. 1975,
//! Cullen et al. 1997), tabulated by `data/scripts/generate_tables.py` into
//! `data/photon/scattering_functions.dat` on one grid of the momentum-transfer variable
//! `x = sin(theta/2) / lambda` [1/Angstrom]: x = 0 and 400 points log-spaced from 1e-3 to 1e3.
//! Values between grid points are interpolated linearly in x (the grid is fine enough that
//! this changes the sampled distributions by far less than their statistical resolution).

use crate::error::{data_err, PhysicsError};
use std::sync::OnceLock;

const FILE: &str = "photon/scattering_functions.dat";
static SF_TEXT: &str = include_str!("../../../data/photon/scattering_functions.dat");

/// S(x, Z) and F(x, Z) for Z = 1..100 on a common x grid.
#[derive(Debug)]
pub struct ScatteringFunctions {
    /// The x grid [1/Angstrom], increasing, starting at 0.
    pub x_grid: Vec<f64>,
    /// `s[z-1][i]`: incoherent scattering function S(x_i, Z) (dimensionless, tends to Z).
    pub s: Vec<Vec<f64>>,
    /// `f[z-1][i]`: atomic form factor F(x_i, Z) (dimensionless, Z at x = 0).
    pub f: Vec<Vec<f64>>,
}

/// The scattering-function table, parsed once from the compiled-in data.
pub fn scattering_functions() -> Result<&'static ScatteringFunctions, PhysicsError> {
    static TABLE: OnceLock<Result<ScatteringFunctions, String>> = OnceLock::new();
    TABLE
        .get_or_init(|| parse(SF_TEXT))
        .as_ref()
        .map_err(|m| data_err(FILE, m.clone()))
}

fn parse(text: &str) -> Result<ScatteringFunctions, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let nums = |ln: usize, l: &str| -> Result<Vec<f64>, String> {
        l.split_whitespace()
            .map(|s| {
                s.parse::<f64>()
                    .map_err(|_| format!("line {ln}: '{s}' is not a number"))
            })
            .collect()
    };
    let (ln, head) = lines.next().ok_or("empty file")?;
    let h: Vec<&str> = head.split_whitespace().collect();
    if h.len() != 2 || h[0] != "x_grid" {
        return Err(format!("line {ln}: expected 'x_grid N'"));
    }
    let n: usize = h[1].parse().map_err(|_| format!("line {ln}: bad N"))?;
    let (ln, gl) = lines.next().ok_or("missing x grid")?;
    let x_grid = nums(ln, gl)?;
    if x_grid.len() != n || x_grid[0] != 0.0 || x_grid.windows(2).any(|w| w[1] <= w[0]) {
        return Err(format!(
            "line {ln}: expected {n} increasing x values starting at 0"
        ));
    }
    let mut s = vec![Vec::new(); 100];
    let mut f = vec![Vec::new(); 100];
    while let Some((ln, hl)) = lines.next() {
        let h: Vec<&str> = hl.split_whitespace().collect();
        if h.len() != 2 {
            return Err(format!("line {ln}: expected 'S Z' or 'F Z'"));
        }
        let z: usize = h[1].parse().map_err(|_| format!("line {ln}: bad Z"))?;
        if !(1..=100).contains(&z) {
            return Err(format!("line {ln}: Z = {z} out of 1..100"));
        }
        let (ln2, vl) = lines.next().ok_or(format!("line {ln}: values missing"))?;
        let v = nums(ln2, vl)?;
        if v.len() != n {
            return Err(format!(
                "line {ln2}: expected {n} values, found {}",
                v.len()
            ));
        }
        match h[0] {
            "S" => s[z - 1] = v,
            "F" => f[z - 1] = v,
            other => return Err(format!("line {ln}: unknown table '{other}'")),
        }
    }
    if let Some(z) = (0..100).find(|&i| s[i].is_empty() || f[i].is_empty()) {
        return Err(format!("no S or F table for Z = {}", z + 1));
    }
    Ok(ScatteringFunctions { x_grid, s, f })
}

impl ScatteringFunctions {
    /// Linear interpolation of a tabulated function at `x` [1/Angstrom]; beyond the grid
    /// the last value is returned.
    pub fn interpolate(&self, table: &[f64], x: f64) -> f64 {
        let g = &self.x_grid;
        if x <= 0.0 {
            return table[0];
        }
        if x >= g[g.len() - 1] {
            return table[table.len() - 1];
        }
        let i = g.partition_point(|&v| v <= x) - 1;
        let t = (x - g[i]) / (g[i + 1] - g[i]);
        table[i] + t * (table[i + 1] - table[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_physical() {
        let t = scattering_functions().unwrap();
        for z in [1usize, 8, 20, 53, 82] {
            let s = &t.s[z - 1];
            let f = &t.f[z - 1];
            assert_eq!(s[0], 0.0);
            assert!((f[0] - z as f64).abs() < 1e-6 * z as f64);
            assert!((s[s.len() - 1] - z as f64).abs() < 0.01 * z as f64);
            assert!(f[f.len() - 1] < 0.01 * z as f64);
        }
    }
}
