//! Shared fixtures for the pedisim-io integration tests.
#![allow(dead_code)]

use pedisim_core::GridGeometry;
use pedisim_io::h5::{AttrValue, DoseOutput, OrganRow};

/// A 3x4x5 grid with a flipped y axis and an off-centre origin.
pub fn grid() -> GridGeometry {
    GridGeometry::new(
        [3, 4, 5],
        [2.0, 2.5, 3.0],
        [-10.0, 5.0, 7.5],
        [1.0, -1.0, 1.0],
    )
    .unwrap()
}

/// Owned per-voxel data and tables for a DoseOutput on `grid()`.
pub struct Sample {
    pub grid: GridGeometry,
    pub energy: Vec<f64>,
    pub dose: Vec<f64>,
    pub unc: Vec<f64>,
    pub labels: Vec<u32>,
    pub density: Vec<f64>,
    pub organs: Vec<OrganRow>,
    pub root: Vec<(String, AttrValue)>,
    pub summary: Vec<(String, AttrValue)>,
}

pub const HISTORIES: u64 = 1000;

impl Sample {
    pub fn new() -> Self {
        let grid = grid();
        let n = grid.len();
        // Distinct values per voxel; every 7th voxel got nothing.
        let energy: Vec<f64> = (0..n)
            .map(|i| {
                if i % 7 == 0 {
                    0.0
                } else {
                    0.125 * (i as f64 + 1.0)
                }
            })
            .collect();
        let density: Vec<f64> = (0..n).map(|i| 1.0 + 0.01 * i as f64).collect();
        let mass_kg = |i: usize| density[i] * grid.voxel_volume_cm3() * 1e-3;
        let dose: Vec<f64> = (0..n)
            .map(|i| energy[i] * 1.602_176_634e-13 / mass_kg(i))
            .collect();
        let unc: Vec<f64> = (0..n)
            .map(|i| {
                if energy[i] == 0.0 {
                    f64::NAN
                } else {
                    0.001 * (i as f64 + 1.0)
                }
            })
            .collect();
        let mut labels: Vec<u32> = (0..n).map(|i| (i % 4) as u32).collect();
        labels[n - 1] = 70_000; // needs more than 16 bits
        let organs = vec![
            OrganRow {
                label: 1,
                name: "liver".into(),
                material: "ICRU soft tissue".into(),
                mass_kg: 1.25,
                energy_deposit_mev: 3.5,
                dose_gy: 4.4e-13,
                relative_uncertainty: 0.02,
            },
            OrganRow {
                label: 2,
                name: "Knochenmark — rot".into(),
                material: "red marrow (ICRP 110)".into(),
                mass_kg: 0.5,
                energy_deposit_mev: 0.0,
                dose_gy: 0.0,
                relative_uncertainty: f64::NAN,
            },
            OrganRow {
                label: 70_000,
                name: "tumour".into(),
                material: "soft tissue".into(),
                mass_kg: 0.001,
                energy_deposit_mev: 7.5,
                dose_gy: 1.2e-9,
                relative_uncertainty: 0.5,
            },
        ];
        let deposited: f64 = energy.iter().sum::<f64>() * HISTORIES as f64;
        let escaped = 1234.5;
        let root = vec![
            (
                "pedisim_version".to_string(),
                AttrValue::Str("0.1.0".into()),
            ),
            ("seed".to_string(), AttrValue::U64(42)),
            ("histories".to_string(), AttrValue::U64(HISTORIES)),
            ("threads".to_string(), AttrValue::U64(2)),
            ("wall_seconds".to_string(), AttrValue::F64(1.5)),
            (
                "voxel_size_mm".to_string(),
                AttrValue::F64Array(grid.voxel_mm.to_vec()),
            ),
            (
                "origin_mm".to_string(),
                AttrValue::F64Array(grid.origin_mm.to_vec()),
            ),
            ("dims_xyz".to_string(), AttrValue::U64Array(vec![3, 4, 5])),
            (
                "config_toml".to_string(),
                AttrValue::Str("[run]\nseed = 42\nname = \"é\"\n".into()),
            ),
            ("offset".to_string(), AttrValue::I64(-3)),
            ("empty_list".to_string(), AttrValue::F64Array(vec![])),
        ];
        let summary = vec![
            (
                "emitted_energy_mev".to_string(),
                AttrValue::F64(deposited + escaped),
            ),
            (
                "deposited_energy_mev".to_string(),
                AttrValue::F64(deposited),
            ),
            ("escaped_energy_mev".to_string(), AttrValue::F64(escaped)),
            ("cutoff_energy_mev".to_string(), AttrValue::F64(12.0)),
            ("uncollided_escapes".to_string(), AttrValue::U64(17)),
        ];
        Sample {
            grid,
            energy,
            dose,
            unc,
            labels,
            density,
            organs,
            root,
            summary,
        }
    }

    pub fn output(&self) -> DoseOutput<'_> {
        DoseOutput {
            grid: &self.grid,
            energy_deposit_mev: &self.energy,
            dose_gy: &self.dose,
            relative_uncertainty: &self.unc,
            labels: &self.labels,
            density_g_cm3: &self.density,
            organs: &self.organs,
            root_attrs: &self.root,
            summary_attrs: &self.summary,
            tables: &[],
        }
    }
}

/// Equal, or both NaN.
pub fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Names of the files in `dir` that contain "tmp".
pub fn temp_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("tmp"))
        .collect()
}
