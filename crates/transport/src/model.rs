//! The transport view of a phantom: a compact medium index per voxel.

use crate::TransportError;
use pedisim_core::{GridGeometry, Vec3};
use pedisim_phantom::Phantom;
use std::collections::HashMap;

/// A medium: a material at one density.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Medium {
    /// Material id (index into the phantom's material list and the photon tables).
    pub material: u16,
    /// Mass density [g/cm^3].
    pub density_g_cm3: f32,
}

/// A voxel phantom as the kernel sees it: 2 bytes per voxel (a medium id), so that the
/// dependent memory read at each Woodcock step touches as little memory as possible.
#[derive(Clone, Debug)]
pub struct VoxelModel {
    /// The grid (world placement is only used to convert source positions).
    pub grid: GridGeometry,
    /// Medium id of each voxel (x fastest).
    pub medium: Vec<u16>,
    /// The media, indexed by medium id.
    pub media: Vec<Medium>,
    /// Number of materials (ids `0..n_materials`).
    pub n_materials: usize,
    pub(crate) inv_voxel_mm: [f64; 3],
    pub(crate) extent_mm: [f64; 3],
    /// Grid dimensions as floating-point numbers (voxel lookup without conversions).
    dims_f64: [f64; 3],
}

impl VoxelModel {
    /// Builds the model of a phantom. Errors if it has more than 2^32 - 1 voxels or more
    /// than 65535 distinct
    /// (material, density) pairs (a CT with a continuous density map: quantise it first).
    pub fn new(phantom: &Phantom) -> Result<Self, TransportError> {
        if phantom.grid.len() > u32::MAX as usize {
            return Err(TransportError::Model(format!(
                "the phantom has {} voxels; the kernel indexes voxels with 32 bits (at most {})",
                phantom.grid.len(),
                u32::MAX
            )));
        }
        let mut ids: HashMap<(u16, u32), u16> = HashMap::new();
        let mut media = Vec::new();
        // Read at a random voxel after every flight: backed by huge pages where the
        // system allows (pedisim_core::mem).
        let mut medium = pedisim_core::mem::with_capacity_huge(phantom.grid.len());
        // Neighbouring voxels mostly share their medium: remember the last one so that the
        // hash map is consulted only where the medium changes.
        let mut last: Option<((u16, u32), u16)> = None;
        for (&m, &rho) in phantom.material.iter().zip(&phantom.density_g_cm3) {
            let key = (m, rho.to_bits());
            if let Some((k, id)) = last {
                if k == key {
                    medium.push(id);
                    continue;
                }
            }
            let id = match ids.get(&key) {
                Some(&id) => id,
                None => {
                    if media.len() >= u16::MAX as usize {
                        return Err(TransportError::Model(
                            "the phantom has more than 65535 distinct (material, density) pairs; \
                             quantise its density map"
                                .into(),
                        ));
                    }
                    let id = media.len() as u16;
                    media.push(Medium {
                        material: m,
                        density_g_cm3: rho,
                    });
                    ids.insert(key, id);
                    id
                }
            };
            last = Some((key, id));
            medium.push(id);
        }
        let grid = phantom.grid.clone();
        Ok(Self {
            inv_voxel_mm: grid.voxel_mm.map(|v| 1.0 / v),
            dims_f64: grid.dims.map(|d| d as f64),
            extent_mm: grid.extent_mm(),
            grid,
            medium,
            media,
            n_materials: phantom.materials.len(),
        })
    }

    /// The voxel containing a grid-frame point \[mm\], or `None` outside the grid.
    #[inline(always)]
    pub fn voxel_at(&self, p: Vec3) -> Option<usize> {
        let fx = p.x * self.inv_voxel_mm[0];
        let fy = p.y * self.inv_voxel_mm[1];
        let fz = p.z * self.inv_voxel_mm[2];
        let [dx, dy, dz] = self.dims_f64;
        // Negative values and NaN fail these comparisons.
        if fx >= 0.0 && fy >= 0.0 && fz >= 0.0 && fx < dx && fy < dy && fz < dz {
            // SAFETY: each value is finite and in [0, n) with n < 2^32 (checked in `new`),
            // so truncation to u32 is exact and in range (the checked `as` cast would add
            // saturation code to the hottest line of the kernel).
            let (ix, iy, iz) = unsafe {
                (
                    fx.to_int_unchecked::<u32>() as usize,
                    fy.to_int_unchecked::<u32>() as usize,
                    fz.to_int_unchecked::<u32>() as usize,
                )
            };
            Some(ix + self.grid.dims[0] * (iy + self.grid.dims[1] * iz))
        } else {
            None
        }
    }

    /// Distance \[mm\] along `dir` from `p` (outside the grid) to where the ray enters the
    /// grid, or `None` if it never does.
    pub fn entry_distance(&self, p: Vec3, dir: Vec3) -> Option<f64> {
        let (pa, da) = (p.to_array(), dir.to_array());
        let (mut t0, mut t1) = (0.0f64, f64::INFINITY);
        for a in 0..3 {
            if da[a].abs() < 1e-300 {
                if pa[a] < 0.0 || pa[a] >= self.extent_mm[a] {
                    return None;
                }
            } else {
                let inv = 1.0 / da[a];
                let (mut ta, mut tb) = (-pa[a] * inv, (self.extent_mm[a] - pa[a]) * inv);
                if ta > tb {
                    std::mem::swap(&mut ta, &mut tb);
                }
                t0 = t0.max(ta);
                t1 = t1.min(tb);
            }
        }
        (t0 < t1).then_some(t0)
    }
}
