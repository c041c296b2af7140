//! The voxel-grid convention used everywhere in pedisim.
//!
//! **Index convention.** A grid has `nx * ny * nz` voxels stored in one flat array with x
//! fastest: the voxel `(ix, iy, iz)` is at `ix + nx * (iy + ny * iz)`. Seen as a 3-D array
//! (HDF5 datasets, `ndarray`), its shape is `[nz, ny, nx]` (C order).
//!
//! **Frames.** Positions given by users are in millimetres in the phantom's *world frame*:
//! the NIfTI affine for phantoms read from files, a frame centred on the phantom for built-in
//! phantoms. The transport kernel works in the *grid frame*: millimetres, axes along the
//! voxel indices, origin at the outer corner of voxel `(0, 0, 0)`, so voxel `(ix, iy, iz)`
//! covers `[ix*dx, (ix+1)*dx) x [iy*dy, (iy+1)*dy) x [iz*dz, (iz+1)*dz)`. Only axis-aligned
//! affines (a diagonal, possibly with negative entries, and a translation) are supported;
//! a rotated or sheared affine is rejected with an error.
//!
//! Outside the grid is vacuum: a particle that leaves it has escaped.

use crate::Vec3;
use std::fmt;

/// Errors in the definition of a voxel grid.
#[derive(Debug, Clone, PartialEq)]
pub enum GridError {
    /// A dimension is zero or the voxel count overflows.
    BadDimensions([usize; 3]),
    /// A voxel size is not a positive finite number \[mm\].
    BadVoxelSize([f64; 3]),
    /// The affine has off-diagonal terms (rotation or shear), which pedisim does not support.
    RotatedAffine,
}

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GridError::BadDimensions(d) => write!(
                f,
                "grid dimensions {d:?} are invalid: expected three positive voxel counts"
            ),
            GridError::BadVoxelSize(v) => write!(
                f,
                "voxel size {v:?} mm is invalid: expected three positive finite sizes in mm"
            ),
            GridError::RotatedAffine => write!(
                f,
                "the affine has rotation or shear terms: expected an axis-aligned grid \
                 (diagonal affine); resample the image to an axis-aligned grid first"
            ),
        }
    }
}

impl std::error::Error for GridError {}

/// A regular, axis-aligned voxel grid and its placement in the world frame.
#[derive(Clone, Debug, PartialEq)]
pub struct GridGeometry {
    /// Number of voxels along x, y, z.
    pub dims: [usize; 3],
    /// Voxel edge lengths along x, y, z \[mm\] (positive).
    pub voxel_mm: [f64; 3],
    /// World position of the centre of voxel (0, 0, 0) \[mm\].
    pub origin_mm: [f64; 3],
    /// Direction of increasing index along each axis in the world frame (+1 or -1).
    pub axis_sign: [f64; 3],
}

impl GridGeometry {
    /// A grid whose centre is at the world origin, axes along the world axes.
    pub fn centred(dims: [usize; 3], voxel_mm: [f64; 3]) -> Result<Self, GridError> {
        let origin_mm = [0, 1, 2].map(|a| -0.5 * (dims[a] as f64 - 1.0) * voxel_mm[a]);
        Self::new(dims, voxel_mm, origin_mm, [1.0; 3])
    }

    /// A grid with explicit placement; validates the dimensions and voxel sizes.
    pub fn new(
        dims: [usize; 3],
        voxel_mm: [f64; 3],
        origin_mm: [f64; 3],
        axis_sign: [f64; 3],
    ) -> Result<Self, GridError> {
        if dims.contains(&0)
            || dims[0]
                .checked_mul(dims[1])
                .and_then(|n| n.checked_mul(dims[2]))
                .is_none()
        {
            return Err(GridError::BadDimensions(dims));
        }
        if voxel_mm.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(GridError::BadVoxelSize(voxel_mm));
        }
        Ok(Self {
            dims,
            voxel_mm,
            origin_mm,
            axis_sign: axis_sign.map(|s| if s < 0.0 { -1.0 } else { 1.0 }),
        })
    }

    /// A grid from a 4x4 (or the top 3x4 of a) voxel-to-world affine in millimetres, the
    /// NIfTI sform/qform convention: `world = A * [i, j, k, 1]`.
    pub fn from_affine(dims: [usize; 3], affine: [[f64; 4]; 3]) -> Result<Self, GridError> {
        let mut voxel = [0.0; 3];
        let mut sign = [1.0; 3];
        for r in 0..3 {
            for c in 0..3 {
                if r != c && affine[r][c].abs() > 1e-6 * affine[c][c].abs().max(1e-12) {
                    return Err(GridError::RotatedAffine);
                }
            }
            voxel[r] = affine[r][r].abs();
            sign[r] = if affine[r][r] < 0.0 { -1.0 } else { 1.0 };
        }
        Self::new(
            dims,
            voxel,
            [affine[0][3], affine[1][3], affine[2][3]],
            sign,
        )
    }

    /// The voxel-to-world affine (4x4, millimetres), as written into NIfTI files.
    pub fn affine(&self) -> [[f64; 4]; 4] {
        let mut a = [[0.0; 4]; 4];
        for r in 0..3 {
            a[r][r] = self.axis_sign[r] * self.voxel_mm[r];
            a[r][3] = self.origin_mm[r];
        }
        a[3][3] = 1.0;
        a
    }

    /// Total number of voxels.
    #[inline]
    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    /// Always false for a valid grid (kept for API symmetry with `len`).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Flat index of voxel `(ix, iy, iz)`: `ix + nx * (iy + ny * iz)`.
    #[inline]
    pub fn index(&self, ix: usize, iy: usize, iz: usize) -> usize {
        ix + self.dims[0] * (iy + self.dims[1] * iz)
    }

    /// Voxel indices `(ix, iy, iz)` of a flat index.
    #[inline]
    pub fn unflatten(&self, i: usize) -> [usize; 3] {
        let nx = self.dims[0];
        let ny = self.dims[1];
        [i % nx, (i / nx) % ny, i / (nx * ny)]
    }

    /// Shape as a C-order 3-D array: `[nz, ny, nx]`.
    pub fn shape_zyx(&self) -> [usize; 3] {
        [self.dims[2], self.dims[1], self.dims[0]]
    }

    /// Volume of one voxel [cm^3].
    pub fn voxel_volume_cm3(&self) -> f64 {
        self.voxel_mm.iter().product::<f64>() * crate::constants::CM3_PER_MM3
    }

    /// Size of the whole grid along x, y, z \[mm\].
    pub fn extent_mm(&self) -> [f64; 3] {
        [0, 1, 2].map(|a| self.dims[a] as f64 * self.voxel_mm[a])
    }

    /// World position \[mm\] to grid-frame position \[mm\].
    pub fn world_to_grid(&self, p: Vec3) -> Vec3 {
        let w = p.to_array();
        Vec3::from_array(
            [0, 1, 2]
                .map(|a| self.axis_sign[a] * (w[a] - self.origin_mm[a]) + 0.5 * self.voxel_mm[a]),
        )
    }

    /// Grid-frame position \[mm\] to world position \[mm\].
    pub fn grid_to_world(&self, p: Vec3) -> Vec3 {
        let g = p.to_array();
        Vec3::from_array(
            [0, 1, 2]
                .map(|a| self.origin_mm[a] + self.axis_sign[a] * (g[a] - 0.5 * self.voxel_mm[a])),
        )
    }

    /// A world-frame direction expressed in the grid frame (axis flips only).
    pub fn direction_world_to_grid(&self, d: Vec3) -> Vec3 {
        Vec3::new(
            d.x * self.axis_sign[0],
            d.y * self.axis_sign[1],
            d.z * self.axis_sign[2],
        )
    }

    /// World position \[mm\] of the centre of voxel `(ix, iy, iz)`.
    pub fn voxel_centre_world(&self, ix: usize, iy: usize, iz: usize) -> Vec3 {
        let i = [ix, iy, iz];
        Vec3::from_array(
            [0, 1, 2]
                .map(|a| self.origin_mm[a] + self.axis_sign[a] * i[a] as f64 * self.voxel_mm[a]),
        )
    }

    /// The voxel containing a grid-frame position, or `None` outside the grid.
    #[inline]
    pub fn voxel_of_grid_point(&self, p: Vec3) -> Option<usize> {
        let ix = (p.x / self.voxel_mm[0]).floor();
        let iy = (p.y / self.voxel_mm[1]).floor();
        let iz = (p.z / self.voxel_mm[2]).floor();
        if ix < 0.0
            || iy < 0.0
            || iz < 0.0
            || ix >= self.dims[0] as f64
            || iy >= self.dims[1] as f64
            || iz >= self.dims[2] as f64
        {
            return None;
        }
        Some(self.index(ix as usize, iy as usize, iz as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_x_fastest() {
        let g = GridGeometry::centred([3, 4, 5], [1.0, 1.0, 1.0]).unwrap();
        assert_eq!(g.index(2, 3, 4), 2 + 3 * (3 + 4 * 4));
        assert_eq!(g.unflatten(g.index(2, 3, 4)), [2, 3, 4]);
        assert_eq!(g.shape_zyx(), [5, 4, 3]);
    }

    #[test]
    fn centred_frame_round_trips() {
        let g = GridGeometry::centred([10, 20, 30], [2.0, 1.0, 3.0]).unwrap();
        let c = g.grid_to_world(Vec3::from_array(g.extent_mm()) * 0.5);
        assert!(c.norm() < 1e-12);
        let p = Vec3::new(3.2, -7.1, 11.0);
        let back = g.grid_to_world(g.world_to_grid(p));
        assert!((back - p).norm() < 1e-12);
    }

    #[test]
    fn flipped_affine_maps_voxel_centres() {
        let aff = [
            [-2.0, 0.0, 0.0, 50.0],
            [0.0, 2.0, 0.0, -10.0],
            [0.0, 0.0, 3.0, 4.0],
        ];
        let g = GridGeometry::from_affine([4, 4, 4], aff).unwrap();
        let w = g.voxel_centre_world(1, 2, 3);
        assert_eq!(w.to_array(), [48.0, -6.0, 13.0]);
        let gp = g.world_to_grid(w);
        assert_eq!(g.voxel_of_grid_point(gp), Some(g.index(1, 2, 3)));
        assert_eq!(g.affine()[0][0], -2.0);
    }

    #[test]
    fn rotated_affine_is_rejected() {
        let aff = [
            [1.0, 0.5, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
        ];
        assert_eq!(
            GridGeometry::from_affine([2, 2, 2], aff),
            Err(GridError::RotatedAffine)
        );
    }

    #[test]
    fn bad_sizes_are_rejected() {
        assert!(GridGeometry::centred([0, 1, 1], [1.0; 3]).is_err());
        assert!(GridGeometry::centred([1, 1, 1], [1.0, -1.0, 1.0]).is_err());
        assert!(GridGeometry::centred([1, 1, 1], [1.0, f64::NAN, 1.0]).is_err());
    }
}
