//! Built-in phantoms, in a world frame centred on the phantom.
//!
//! The number of voxels along an axis is `round(size_mm / voxel_mm)` (at least 1), so the
//! phantom's actual extent is that number times the voxel size. A voxel belongs to a solid
//! (sphere, slab) when its centre does.

use crate::{LabelEntry, Phantom, PhantomError};
use pedisim_core::GridGeometry;

fn dims_of(size_mm: [f64; 3], voxel_mm: [f64; 3]) -> Result<[usize; 3], PhantomError> {
    let mut d = [0; 3];
    for a in 0..3 {
        for (key, v) in [("size_mm", size_mm[a]), ("voxel_mm", voxel_mm[a])] {
            if !(v.is_finite() && v > 0.0) {
                return Err(PhantomError::BadParameter {
                    key: format!("{key}[{a}]"),
                    value: v.to_string(),
                    expected: "expected a positive length in mm".into(),
                });
            }
        }
        let n = (size_mm[a] / voxel_mm[a]).round();
        if n > 1e5 {
            return Err(PhantomError::BadParameter {
                key: format!("size_mm[{a}] / voxel_mm[{a}]"),
                value: n.to_string(),
                expected: "expected at most 100000 voxels along an axis".into(),
            });
        }
        d[a] = (n as usize).max(1);
    }
    Ok(d)
}

fn entry(value: u32, name: &str, material: &str) -> LabelEntry {
    LabelEntry {
        value,
        name: name.into(),
        material: material.into(),
        density_g_cm3: None,
    }
}

/// A homogeneous box of `material` (label 1, named after the material).
pub fn box_phantom(
    material: &str,
    size_mm: [f64; 3],
    voxel_mm: [f64; 3],
    nominal_density: impl Fn(&str) -> Option<f64>,
) -> Result<Phantom, PhantomError> {
    let grid = GridGeometry::centred(dims_of(size_mm, voxel_mm)?, voxel_mm)?;
    let n = grid.len();
    Phantom::from_labels(
        grid,
        vec![1; n],
        vec![entry(1, material, material)],
        None,
        nominal_density,
    )
}

/// A sphere of `material` (label 1, "sphere") of `radius_mm` centred at `centre_mm` (world
/// frame) in a grid of `background` (label 0, "background"; e.g. `"vacuum"` or `"air"`).
pub fn sphere_phantom(
    material: &str,
    background: &str,
    radius_mm: f64,
    centre_mm: [f64; 3],
    size_mm: [f64; 3],
    voxel_mm: [f64; 3],
    nominal_density: impl Fn(&str) -> Option<f64>,
) -> Result<Phantom, PhantomError> {
    if !(radius_mm.is_finite() && radius_mm > 0.0) {
        return Err(PhantomError::BadParameter {
            key: "radius_mm".into(),
            value: radius_mm.to_string(),
            expected: "expected a positive radius in mm".into(),
        });
    }
    let grid = GridGeometry::centred(dims_of(size_mm, voxel_mm)?, voxel_mm)?;
    let [nx, ny, nz] = grid.dims;
    let mut labels = Vec::with_capacity(grid.len());
    let r2 = radius_mm * radius_mm;
    for iz in 0..nz {
        for iy in 0..ny {
            for ix in 0..nx {
                let c = grid.voxel_centre_world(ix, iy, iz).to_array();
                let d2: f64 = (0..3).map(|a| (c[a] - centre_mm[a]).powi(2)).sum();
                labels.push(u32::from(d2 <= r2));
            }
        }
    }
    Phantom::from_labels(
        grid,
        labels,
        vec![
            entry(0, "background", background),
            entry(1, "sphere", material),
        ],
        None,
        nominal_density,
    )
}

/// One layer of a slab phantom.
#[derive(Clone, Debug, PartialEq)]
pub struct Slab {
    /// Material of the layer.
    pub material: String,
    /// Thickness along z \[mm\].
    pub thickness_mm: f64,
    /// Name of the layer (its label's name).
    pub name: String,
}

/// Layers stacked along +z (the first at the lowest z), labels 1, 2, ... in order, each
/// `lateral_mm = [wx, wy]` wide. The grid's z extent is the total thickness rounded to
/// whole voxels; a voxel belongs to the layer that contains its centre.
pub fn slab_phantom(
    slabs: &[Slab],
    lateral_mm: [f64; 2],
    voxel_mm: [f64; 3],
    nominal_density: impl Fn(&str) -> Option<f64>,
) -> Result<Phantom, PhantomError> {
    if slabs.is_empty() {
        return Err(PhantomError::BadParameter {
            key: "slabs".into(),
            value: "[]".into(),
            expected: "expected at least one slab".into(),
        });
    }
    for (i, s) in slabs.iter().enumerate() {
        if !(s.thickness_mm.is_finite() && s.thickness_mm > 0.0) {
            return Err(PhantomError::BadParameter {
                key: format!("slabs[{i}].thickness_mm"),
                value: s.thickness_mm.to_string(),
                expected: "expected a positive thickness in mm".into(),
            });
        }
    }
    let total: f64 = slabs.iter().map(|s| s.thickness_mm).sum();
    let grid = GridGeometry::centred(
        dims_of([lateral_mm[0], lateral_mm[1], total], voxel_mm)?,
        voxel_mm,
    )?;
    let [nx, ny, nz] = grid.dims;
    // Layer boundaries in the grid frame (z from 0 at the bottom face of the grid),
    // centred so the stack is centred like the grid.
    let z0 = 0.5 * (grid.extent_mm()[2] - total);
    let mut bounds = Vec::with_capacity(slabs.len());
    let mut acc = z0;
    for s in slabs {
        acc += s.thickness_mm;
        bounds.push(acc);
    }
    let mut labels = Vec::with_capacity(grid.len());
    for iz in 0..nz {
        let zc = (iz as f64 + 0.5) * voxel_mm[2];
        let layer = bounds
            .iter()
            .position(|&b| zc < b)
            .unwrap_or(slabs.len() - 1);
        labels.extend(std::iter::repeat_n(layer as u32 + 1, nx * ny));
    }
    let table = slabs
        .iter()
        .enumerate()
        .map(|(i, s)| entry(i as u32 + 1, &s.name, &s.material))
        .collect();
    Phantom::from_labels(grid, labels, table, None, nominal_density)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nominal(m: &str) -> Option<f64> {
        match m {
            "water" => Some(1.0),
            "vacuum" => Some(0.0),
            "cortical_bone" => Some(1.92),
            _ => None,
        }
    }

    #[test]
    fn sphere_volume_converges() {
        let p = sphere_phantom(
            "water", "vacuum", 20.0, [0.0; 3], [60.0; 3], [1.0; 3], nominal,
        )
        .unwrap();
        let m = p.label_masses_kg();
        let exact = 4.0 / 3.0 * std::f64::consts::PI * 8.0 * 1e-3; // 8 cm3 * 4/3 pi, kg
        assert!((m[1].1 - exact).abs() / exact < 0.01, "{} {exact}", m[1].1);
        assert_eq!(m[0].1, 0.0);
    }

    #[test]
    fn slabs_stack_along_z() {
        let s = vec![
            Slab {
                material: "water".into(),
                thickness_mm: 10.0,
                name: "a".into(),
            },
            Slab {
                material: "cortical_bone".into(),
                thickness_mm: 20.0,
                name: "b".into(),
            },
        ];
        let p = slab_phantom(&s, [10.0, 10.0], [5.0; 3], nominal).unwrap();
        assert_eq!(p.grid.dims, [2, 2, 6]);
        let col: Vec<u32> = (0..6).map(|iz| p.labels[p.grid.index(0, 0, iz)]).collect();
        assert_eq!(col, vec![1, 1, 2, 2, 2, 2]);
    }

    #[test]
    fn zero_size_is_an_error_naming_the_key() {
        let e = box_phantom("water", [10.0, 0.0, 10.0], [1.0; 3], nominal).unwrap_err();
        assert!(e.to_string().contains("size_mm[1]"), "{e}");
    }
}
