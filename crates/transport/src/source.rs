//! Sources: where a history starts (the spatial part) and what it emits (the spectrum).
//!
//! Positions and directions here are in the grid frame (see `pedisim_core::grid`); the
//! driver converts world-frame input.

use crate::TransportError;
use pedisim_core::rng::StreamRng;
use pedisim_core::{AliasTable, Vec3};
use pedisim_physics::nuclide::{DecaySampler, Emission};

/// Where source particles start and in which direction they go.
#[derive(Clone, Debug)]
pub enum Spatial {
    /// An isotropic point source at `position_mm` (grid frame).
    Point {
        /// Position \[mm\], grid frame.
        position_mm: Vec3,
    },
    /// A parallel beam along `direction`, centred on `position_mm`: a pencil beam when
    /// `half_width_mm` is `[0, 0]`, otherwise a uniform rectangular field of
    /// `2*half_width_mm` across the axes `u` and `v` perpendicular to the direction.
    /// The start may be outside the grid.
    Beam {
        /// Centre of the field \[mm\], grid frame.
        position_mm: Vec3,
        /// Unit direction of the beam, grid frame.
        direction: Vec3,
        /// First axis of the field (unit, perpendicular to `direction`).
        u: Vec3,
        /// Second axis of the field (unit, perpendicular to `direction` and `u`).
        v: Vec3,
        /// Half widths of the field along `u` and `v` \[mm\].
        half_width_mm: [f64; 2],
    },
    /// Isotropic emission from voxels, chosen with probability proportional to a weight
    /// (activity, or mass for a uniform-per-mass source), uniformly inside the voxel.
    Voxels {
        /// Alias table over `voxels`.
        table: AliasTable,
        /// Flat indices of the voxels with non-zero weight.
        voxels: Vec<u32>,
        /// Grid dimensions and voxel size \[mm\], to place points inside voxels.
        dims: [usize; 3],
        /// Voxel size \[mm\].
        voxel_mm: [f64; 3],
    },
}

impl Spatial {
    /// A beam whose field axes are built from its direction.
    pub fn beam(
        position_mm: Vec3,
        direction: Vec3,
        field_mm: [f64; 2],
    ) -> Result<Self, TransportError> {
        let d = direction.normalized().ok_or_else(|| {
            TransportError::Source("beam direction is zero: expected a non-zero vector".into())
        })?;
        let helper = if d.x.abs() < 0.9 {
            Vec3::new(1.0, 0.0, 0.0)
        } else {
            Vec3::new(0.0, 1.0, 0.0)
        };
        let u = d.cross(helper).normalized().expect("non-parallel helper");
        let v = d.cross(u);
        if field_mm.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(TransportError::Source(format!(
                "field_mm = {field_mm:?}: expected two widths >= 0 mm"
            )));
        }
        Ok(Spatial::Beam {
            position_mm,
            direction: d,
            u,
            v,
            half_width_mm: [0.5 * field_mm[0], 0.5 * field_mm[1]],
        })
    }

    /// A voxel source from one weight per voxel (non-negative, finite, not all zero).
    pub fn voxels(
        weights: &[f64],
        dims: [usize; 3],
        voxel_mm: [f64; 3],
    ) -> Result<Self, TransportError> {
        let mut voxels = Vec::new();
        let mut w = Vec::new();
        for (i, &x) in weights.iter().enumerate() {
            if !(x.is_finite() && x >= 0.0) {
                return Err(TransportError::Source(format!(
                    "voxel {i}: weight {x} is not finite and >= 0"
                )));
            }
            if x > 0.0 {
                voxels.push(i as u32);
                w.push(x);
            }
        }
        let table = AliasTable::new(&w)
            .map_err(|e| TransportError::Source(format!("source weights: {e}")))?;
        Ok(Spatial::Voxels {
            table,
            voxels,
            dims,
            voxel_mm,
        })
    }

    /// Samples a start position and direction.
    #[inline(always)]
    pub fn sample(&self, rng: &mut StreamRng) -> (Vec3, Vec3) {
        match self {
            Spatial::Point { position_mm } => {
                (*position_mm, Vec3::from_array(rng.isotropic_table()))
            }
            Spatial::Beam {
                position_mm,
                direction,
                u,
                v,
                half_width_mm,
            } => {
                let mut p = *position_mm;
                if half_width_mm[0] > 0.0 || half_width_mm[1] > 0.0 {
                    let a = (2.0 * rng.uniform() - 1.0) * half_width_mm[0];
                    let b = (2.0 * rng.uniform() - 1.0) * half_width_mm[1];
                    p = p + *u * a + *v * b;
                }
                (p, *direction)
            }
            Spatial::Voxels {
                table,
                voxels,
                dims,
                voxel_mm,
            } => {
                let i = voxels[table.sample(rng.uniform())] as usize;
                let (nx, ny) = (dims[0], dims[1]);
                let (ix, iy, iz) = (i % nx, (i / nx) % ny, i / (nx * ny));
                let p = Vec3::new(
                    (ix as f64 + rng.uniform()) * voxel_mm[0],
                    (iy as f64 + rng.uniform()) * voxel_mm[1],
                    (iz as f64 + rng.uniform()) * voxel_mm[2],
                );
                (p, Vec3::from_array(rng.isotropic_table()))
            }
        }
    }
}

/// What one history emits.
#[derive(Clone, Debug)]
pub enum Spectrum {
    /// One photon of this energy \[MeV\].
    Mono {
        /// Photon energy \[MeV\].
        energy_mev: f64,
    },
    /// One electron of this kinetic energy \[MeV\] (beams and point kernels).
    MonoElectron {
        /// Electron kinetic energy \[MeV\].
        energy_mev: f64,
    },
    /// One decay of a radionuclide (ICRP-107 emissions).
    Nuclide(Box<DecaySampler>),
}

/// A source: spatial distribution and spectrum.
#[derive(Clone, Debug)]
pub struct Source {
    /// Where particles start.
    pub spatial: Spatial,
    /// What is emitted per history.
    pub spectrum: Spectrum,
}

impl Source {
    /// A source from its two parts.
    pub fn new(spatial: Spatial, spectrum: Spectrum) -> Self {
        Self { spatial, spectrum }
    }

    /// Samples one history's primaries. For a beam, every emitted particle shares the
    /// beam direction; otherwise the first gets the direction sampled with the position
    /// and each later one its own isotropic direction, drawn only where
    /// `needs_direction(emission, position)` says that it will be transported (a particle
    /// deposited where it is born gets the first one's direction, unused).
    #[inline(always)]
    pub fn emit(
        &self,
        rng: &mut StreamRng,
        needs_direction: impl Fn(Emission, Vec3) -> bool,
        mut out: impl FnMut(Emission, Vec3, Vec3),
    ) {
        let (pos, dir) = self.spatial.sample(rng);
        match &self.spectrum {
            Spectrum::Mono { energy_mev } => out(Emission::Photon(*energy_mev), pos, dir),
            Spectrum::MonoElectron { energy_mev } => out(Emission::Electron(*energy_mev), pos, dir),
            Spectrum::Nuclide(s) => {
                let mut first = true;
                // Collect first so the direction draws do not interleave with the decay's.
                let mut buf: [Option<Emission>; 64] = [None; 64];
                let mut n = 0;
                let mut extra: Vec<Emission> = Vec::new();
                s.sample(rng, |e| {
                    if n < buf.len() {
                        buf[n] = Some(e);
                        n += 1;
                    } else {
                        extra.push(e);
                    }
                });
                let isotropic = !matches!(self.spatial, Spatial::Beam { .. });
                for e in buf[..n].iter().flatten().copied().chain(extra) {
                    let d = if isotropic && !first && needs_direction(e, pos) {
                        Vec3::from_array(rng.isotropic_table())
                    } else {
                        dir
                    };
                    first = false;
                    out(e, pos, d);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pedisim_core::rng::domain;

    /// A Tc-99m decay (several emissions) sampled three times from the same stream: the
    /// emissions are the same whatever `needs_direction` says; where it says no, a later
    /// emission gets the first one's direction (nothing drawn), where it says yes, its own.
    #[test]
    fn directions_are_drawn_only_where_asked() {
        let src = Source::new(
            Spatial::Point {
                position_mm: Vec3::new(1.0, 2.0, 3.0),
            },
            Spectrum::Nuclide(Box::new(DecaySampler::new("Tc-99m").unwrap())),
        );
        let mut several = 0;
        for i in 0..200 {
            let sample = |ask: &dyn Fn(Emission) -> bool| {
                let mut out = Vec::new();
                let mut rng = StreamRng::new(3, domain::SETUP, i);
                src.emit(&mut rng, |e, _| ask(e), |e, _, d| out.push((e, d)));
                out
            };
            let none = sample(&|_| false);
            let all = sample(&|_| true);
            let photons = sample(&|e| matches!(e, Emission::Photon(x) if x >= 1e-3));
            let emissions = |v: &[(Emission, Vec3)]| v.iter().map(|p| p.0).collect::<Vec<_>>();
            assert_eq!(emissions(&none), emissions(&all));
            assert_eq!(emissions(&none), emissions(&photons));
            if none.len() < 2 {
                continue;
            }
            several += 1;
            let first = none[0].1;
            assert!(none.iter().all(|p| p.1 == first), "no draw asked");
            assert!(all[1..].iter().all(|p| p.1 != first), "a draw for each");
            for (k, p) in photons.iter().enumerate().skip(1) {
                let own = matches!(p.0, Emission::Photon(x) if x >= 1e-3);
                assert_eq!(p.1 != first, own, "emission {k} of decay {i}");
            }
        }
        assert!(several > 100, "{several} decays with several emissions");
    }
}
