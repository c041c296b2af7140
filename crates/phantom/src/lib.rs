//! # pedisim-phantom
//!
//! Voxel phantoms: for every voxel of a [`GridGeometry`] an organ label, a material and a
//! mass density. A [`Phantom`] is built from a label map and a label table
//! ([`Phantom::from_labels`]), which is what every kind of phantom reduces to: the built-in
//! kinds ([`builtin::box_phantom`], [`builtin::sphere_phantom`], [`builtin::slab_phantom`])
//! make their label map in memory, NIfTI phantoms read it from a file (in the driver).
//!
//! The crate knows material *names* only; the physics of a material lives in
//! `pedisim-physics`. Voxel indexing follows `pedisim_core::grid` (x fastest).
//!
//! ```
//! use pedisim_phantom::builtin::box_phantom;
//! let p = box_phantom("water", [40.0, 40.0, 40.0], [2.0, 2.0, 2.0], |_| Some(1.0)).unwrap();
//! assert_eq!(p.grid.dims, [20, 20, 20]);
//! let masses = p.label_masses_kg();
//! assert!((masses[0].1 - 0.064).abs() < 1e-9); // 64 cm3 of water
//! ```
#![deny(missing_docs)]

pub mod builtin;
pub mod stylised;

use pedisim_core::GridGeometry;
use thiserror::Error;

/// One row of a label table: what an integer label in the label map stands for.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelEntry {
    /// The integer value in the label map.
    pub value: u32,
    /// Organ or region name, e.g. `"liver"`.
    pub name: String,
    /// Material name (defined in the material database).
    pub material: String,
    /// Mass density [g/cm^3] of this label; `None` means the material's nominal density.
    pub density_g_cm3: Option<f64>,
}

/// Errors in a phantom definition. Voxels are named by their indices `(ix, iy, iz)`.
#[derive(Debug, Error, PartialEq)]
pub enum PhantomError {
    /// The grid is invalid.
    #[error(transparent)]
    Grid(#[from] pedisim_core::GridError),
    /// A label in the map has no entry in the label table.
    #[error("voxel ({ix}, {iy}, {iz}) has label {label}, which is not in the label table (labels in the table: {known})")]
    UnknownLabel {
        /// Voxel x index.
        ix: usize,
        /// Voxel y index.
        iy: usize,
        /// Voxel z index.
        iz: usize,
        /// The label found.
        label: u32,
        /// Labels present in the table.
        known: String,
    },
    /// The label table has the same value twice.
    #[error("label {0} appears more than once in the label table")]
    DuplicateLabel(u32),
    /// An array does not have one value per voxel.
    #[error("{what} has {found} values but the grid {dims:?} has {expected} voxels")]
    WrongLength {
        /// Which array.
        what: String,
        /// Its length.
        found: usize,
        /// The number of voxels.
        expected: usize,
        /// The grid dimensions.
        dims: [usize; 3],
    },
    /// A density that is negative or not finite.
    #[error("{where_}: density {value} g/cm3 is invalid: expected a finite value >= 0")]
    BadDensity {
        /// Where (a voxel or a label).
        where_: String,
        /// The value.
        value: f64,
    },
    /// A material whose nominal density is unknown (an undefined material).
    #[error("label {label} ('{name}'): unknown material '{material}'")]
    UnknownMaterial {
        /// The label value.
        label: u32,
        /// The label's name.
        name: String,
        /// The material name.
        material: String,
    },
    /// More distinct materials than a voxel's material index can hold.
    #[error("the phantom uses {0} distinct materials; at most 65535 are supported")]
    TooManyMaterials(usize),
    /// A geometric parameter out of range.
    #[error("{key} = {value}: {expected}")]
    BadParameter {
        /// The parameter's name.
        key: String,
        /// Its value, formatted.
        value: String,
        /// What was expected.
        expected: String,
    },
}

/// A voxel phantom.
#[derive(Clone, Debug)]
pub struct Phantom {
    /// The voxel grid and its placement in the world frame.
    pub grid: GridGeometry,
    /// Organ label of each voxel (x fastest).
    pub labels: Vec<u32>,
    /// The distinct material names used, indexed by the material id.
    pub materials: Vec<String>,
    /// Material id of each voxel (index into `materials`).
    pub material: Vec<u16>,
    /// Mass density of each voxel [g/cm^3].
    pub density_g_cm3: Vec<f32>,
    /// The label table, sorted by label value (only labels used or listed).
    pub table: Vec<LabelEntry>,
}

impl Phantom {
    /// Builds a phantom from a label map and its table.
    ///
    /// Each voxel's density is, in order of precedence: the density map (if given), the
    /// label's `density_g_cm3`, the material's nominal density from `nominal_density`
    /// (which returns `None` for an unknown material). Every label in the map must be in
    /// the table; the error names the first voxel (in index order) whose label is not.
    pub fn from_labels(
        grid: GridGeometry,
        labels: Vec<u32>,
        mut table: Vec<LabelEntry>,
        density_map: Option<Vec<f64>>,
        nominal_density: impl Fn(&str) -> Option<f64>,
    ) -> Result<Self, PhantomError> {
        let n = grid.len();
        if labels.len() != n {
            return Err(PhantomError::WrongLength {
                what: "the label map".into(),
                found: labels.len(),
                expected: n,
                dims: grid.dims,
            });
        }
        if let Some(d) = &density_map {
            if d.len() != n {
                return Err(PhantomError::WrongLength {
                    what: "the density map".into(),
                    found: d.len(),
                    expected: n,
                    dims: grid.dims,
                });
            }
        }
        table.sort_by_key(|e| e.value);
        if let Some(w) = table.windows(2).find(|w| w[0].value == w[1].value) {
            return Err(PhantomError::DuplicateLabel(w[0].value));
        }
        let mut materials: Vec<String> = Vec::new();
        // Per table row: (material id, density).
        let mut row_props: Vec<(u16, f32)> = Vec::with_capacity(table.len());
        for e in &table {
            let nominal =
                nominal_density(&e.material).ok_or_else(|| PhantomError::UnknownMaterial {
                    label: e.value,
                    name: e.name.clone(),
                    material: e.material.clone(),
                })?;
            let rho = e.density_g_cm3.unwrap_or(nominal);
            if !(rho.is_finite() && rho >= 0.0) {
                return Err(PhantomError::BadDensity {
                    where_: format!("label {} ('{}')", e.value, e.name),
                    value: rho,
                });
            }
            let id = match materials.iter().position(|m| *m == e.material) {
                Some(i) => i,
                None => {
                    materials.push(e.material.clone());
                    materials.len() - 1
                }
            };
            if id > u16::MAX as usize - 1 {
                return Err(PhantomError::TooManyMaterials(id + 1));
            }
            row_props.push((id as u16, rho as f32));
        }
        // Dense lookup from label value to table row where the values are small.
        let max_label = table.last().map(|e| e.value).unwrap_or(0) as usize;
        let lookup: Vec<u32> = if max_label < 1 << 20 {
            let mut l = vec![u32::MAX; max_label + 1];
            for (i, e) in table.iter().enumerate() {
                l[e.value as usize] = i as u32;
            }
            l
        } else {
            Vec::new()
        };
        let row_of = |v: u32| -> Option<usize> {
            if lookup.is_empty() {
                table.binary_search_by_key(&v, |e| e.value).ok()
            } else {
                lookup
                    .get(v as usize)
                    .copied()
                    .filter(|&r| r != u32::MAX)
                    .map(|r| r as usize)
            }
        };
        let mut material = Vec::with_capacity(n);
        let mut density = Vec::with_capacity(n);
        for (i, &v) in labels.iter().enumerate() {
            let Some(r) = row_of(v) else {
                let [ix, iy, iz] = grid.unflatten(i);
                return Err(PhantomError::UnknownLabel {
                    ix,
                    iy,
                    iz,
                    label: v,
                    known: table
                        .iter()
                        .map(|e| e.value.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            let (m, rho) = row_props[r];
            material.push(m);
            density.push(rho);
        }
        if let Some(d) = density_map {
            for (i, &rho) in d.iter().enumerate() {
                if !(rho.is_finite() && rho >= 0.0) {
                    let [ix, iy, iz] = grid.unflatten(i);
                    return Err(PhantomError::BadDensity {
                        where_: format!("density map voxel ({ix}, {iy}, {iz})"),
                        value: rho,
                    });
                }
                density[i] = rho as f32;
            }
        }
        Ok(Self {
            grid,
            labels,
            materials,
            material,
            density_g_cm3: density,
            table,
        })
    }

    /// Mass of each voxel \[kg\].
    pub fn voxel_mass_kg(&self, i: usize) -> f64 {
        self.density_g_cm3[i] as f64 * self.grid.voxel_volume_cm3() * 1e-3
    }

    /// Mass per label \[kg\], in the order of the label table.
    pub fn label_masses_kg(&self) -> Vec<(u32, f64)> {
        let mut m = vec![0.0; self.table.len()];
        let idx = |v: u32| self.table.binary_search_by_key(&v, |e| e.value).ok();
        // Run-length over identical consecutive labels keeps this cheap for large grids.
        let mut last = (u32::MAX, usize::MAX);
        for (i, &v) in self.labels.iter().enumerate() {
            let r = if v == last.0 {
                last.1
            } else {
                let r = idx(v).expect("labels validated at construction");
                last = (v, r);
                r
            };
            m[r] += self.density_g_cm3[i] as f64;
        }
        let vol = self.grid.voxel_volume_cm3() * 1e-3;
        self.table
            .iter()
            .zip(m)
            .map(|(e, s)| (e.value, s * vol))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> GridGeometry {
        GridGeometry::centred([2, 2, 1], [10.0, 10.0, 10.0]).unwrap()
    }

    fn entry(v: u32, m: &str) -> LabelEntry {
        LabelEntry {
            value: v,
            name: format!("organ{v}"),
            material: m.into(),
            density_g_cm3: None,
        }
    }

    fn nominal(m: &str) -> Option<f64> {
        match m {
            "water" => Some(1.0),
            "bone" => Some(1.92),
            _ => None,
        }
    }

    #[test]
    fn densities_follow_precedence() {
        let mut t = vec![entry(1, "water"), entry(2, "bone")];
        t[1].density_g_cm3 = Some(1.5);
        let p = Phantom::from_labels(grid(), vec![1, 2, 2, 1], t.clone(), None, nominal).unwrap();
        assert_eq!(p.density_g_cm3, vec![1.0, 1.5, 1.5, 1.0]);
        assert_eq!(p.materials, vec!["water", "bone"]);
        assert_eq!(p.material, vec![0, 1, 1, 0]);
        let m = p.label_masses_kg();
        assert!((m[0].1 - 2.0e-3).abs() < 1e-12 && (m[1].1 - 3.0e-3).abs() < 1e-12);
        let p =
            Phantom::from_labels(grid(), vec![1, 2, 2, 1], t, Some(vec![0.5; 4]), nominal).unwrap();
        assert_eq!(p.density_g_cm3, vec![0.5; 4]);
    }

    #[test]
    fn unknown_label_names_the_voxel() {
        let e = Phantom::from_labels(
            grid(),
            vec![1, 1, 7, 1],
            vec![entry(1, "water")],
            None,
            nominal,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "voxel (0, 1, 0) has label 7, which is not in the label table (labels in the table: 1)"
        );
    }

    #[test]
    fn bad_inputs_are_rejected() {
        assert!(matches!(
            Phantom::from_labels(grid(), vec![1; 3], vec![entry(1, "water")], None, nominal),
            Err(PhantomError::WrongLength { .. })
        ));
        assert!(matches!(
            Phantom::from_labels(
                grid(),
                vec![1; 4],
                vec![entry(1, "water"), entry(1, "bone")],
                None,
                nominal
            ),
            Err(PhantomError::DuplicateLabel(1))
        ));
        assert!(matches!(
            Phantom::from_labels(grid(), vec![1; 4], vec![entry(1, "gold")], None, nominal),
            Err(PhantomError::UnknownMaterial { .. })
        ));
        assert!(matches!(
            Phantom::from_labels(
                grid(),
                vec![1; 4],
                vec![entry(1, "water")],
                Some(vec![1.0, f64::NAN, 1.0, 1.0]),
                nominal
            ),
            Err(PhantomError::BadDensity { .. })
        ));
    }
}
