//! Centre-based cell mechanics: PhysiCell's repulsion and adhesion potentials, overdamped
//! motion by forward Euler, and neighbour search on a uniform grid of cell lists rebuilt by
//! a counting sort every mechanics step.
//!
//! Force on cell i from cell j at distance `d` (Ghaffarizadeh et al. 2018, eqs. in S1
//! Text), with drag coefficient 1 so that forces are velocities \[um/min\]:
//!
//! - repulsion for `d < R = r_i + r_j`: `c_rep (1 - d/R)^2` away from j;
//! - adhesion between two live cells for `d < R_A = rel_adh (r_i + r_j)`:
//!   `c_adh (1 - d/R_A)^2` towards j.
//!
//! The velocity of a cell is the sum over its neighbours, gathered by the cell itself in a
//! fixed order (bins in index order, cells in each bin in index order), never scattered,
//! so the result is bitwise the same for any number of threads.

use rayon::prelude::*;

/// Scratch of the neighbour search, kept between steps (no allocation once warm).
#[derive(Clone, Debug, Default)]
pub(crate) struct CellLists {
    /// Bin of each cell.
    bin_of: Vec<u32>,
    /// First sorted index of each bin; `nbins + 1` entries.
    bin_start: Vec<u32>,
    /// Cell index of each sorted slot.
    order: Vec<u32>,
    /// Sorted slot of each cell.
    rank: Vec<u32>,
    /// Sorted `[x, y, z, r]` \[um\].
    spos: Vec<[f64; 4]>,
    /// Sorted x, y, z and radius in single precision \[um\], for the neighbour filter.
    fpos: [Vec<f32>; 4],
    /// Sorted "adhesive" flags (live cells).
    sadh: Vec<bool>,
    /// Velocity per sorted slot \[um/min\].
    vel: Vec<[f64; 3]>,
    /// Next free slot of each bin during the counting sort.
    cursor: Vec<u32>,
}

/// Candidate slots tested per pass of the neighbour filter.
const HIT_BUF: usize = 64;

/// Mechanical constants of one step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mechanics {
    pub repulsion_um_per_min: f64,
    pub adhesion_um_per_min: f64,
    pub relative_adhesion_distance: f64,
    pub domain_edge_um: f64,
}

impl CellLists {
    /// Moves every cell by `dt_min` times its velocity; positions are clamped to the
    /// domain box.
    pub(crate) fn step(
        &mut self,
        m: &Mechanics,
        dt_min: f64,
        pos: &mut [[f64; 3]],
        radius: &[f64],
        adhesive: &[bool],
    ) {
        let n = pos.len();
        if n == 0 {
            return;
        }
        let r_max = radius.iter().fold(0.0f64, |a, &b| a.max(b));
        let cutoff = m.relative_adhesion_distance * 2.0 * r_max;
        let l = m.domain_edge_um;
        // At most 200^3 bins (32 MB of bin starts): in a box far larger than the cells'
        // interaction range bins only grow, which costs speed, never correctness.
        let nb = ((l / cutoff).floor() as usize).clamp(1, 200);
        let inv_bin = nb as f64 / l;
        let nbins = nb * nb * nb;

        // Counting sort of the cells by bin (stable, serial: O(n), deterministic).
        self.bin_of.resize(n, 0);
        self.bin_of
            .par_iter_mut()
            .zip(pos.par_iter())
            .for_each(|(b, p)| {
                let c = |x: f64| -> usize { ((x * inv_bin) as usize).min(nb - 1) };
                *b = (c(p[0]) + nb * (c(p[1]) + nb * c(p[2]))) as u32;
            });
        self.bin_start.clear();
        self.bin_start.resize(nbins + 1, 0);
        for &b in &self.bin_of {
            self.bin_start[b as usize + 1] += 1;
        }
        for b in 0..nbins {
            self.bin_start[b + 1] += self.bin_start[b];
        }
        self.order.resize(n, 0);
        self.rank.resize(n, 0);
        {
            self.cursor.clear();
            self.cursor.extend_from_slice(&self.bin_start[..nbins]);
            for (i, &b) in self.bin_of.iter().enumerate() {
                let s = &mut self.cursor[b as usize];
                self.order[*s as usize] = i as u32;
                self.rank[i] = *s;
                *s += 1;
            }
        }
        self.spos.resize(n, [0.0; 4]);
        self.sadh.resize(n, false);
        {
            let order = &self.order;
            self.spos
                .par_iter_mut()
                .zip(self.sadh.par_iter_mut())
                .enumerate()
                .with_min_len(1024)
                .for_each(|(k, (s, a))| {
                    let i = order[k] as usize;
                    *s = [pos[i][0], pos[i][1], pos[i][2], radius[i]];
                    *a = adhesive[i];
                });
            for (a, f) in self.fpos.iter_mut().enumerate() {
                f.resize(n, 0.0);
                f.par_iter_mut()
                    .zip(self.spos.par_iter())
                    .with_min_len(4096)
                    .for_each(|(f, s)| *f = s[a] as f32);
            }
        }

        // Gather the velocity of every sorted slot.
        self.vel.resize(n, [0.0; 3]);
        let spos = &self.spos;
        let sadh = &self.sadh;
        let bin_start = &self.bin_start;
        let order = &self.order;
        let bin_of = &self.bin_of;
        let c_rep = m.repulsion_um_per_min;
        let c_adh = m.adhesion_um_per_min;
        let rel_adh = m.relative_adhesion_distance;
        let [fx, fy, fz, fr] = &self.fpos;
        // Conservative single-precision range: a pair within range in double precision
        // passes the filter (coordinates below 2 L are rounded by at most L 2^-23 each; the
        // filter allows 0.1 % of the range plus 8 such errors), and the exact
        // double-precision test is applied to the pairs that pass.
        let slack_um = (8.0 * l * f64::from(f32::EPSILON)) as f32;
        let rel_adh_f = (rel_adh * 1.001) as f32;
        self.vel
            .par_iter_mut()
            .with_min_len(256)
            .enumerate()
            .for_each(|(k, v)| {
                let b = bin_of[order[k] as usize] as usize;
                let bx = b % nb;
                let by = (b / nb) % nb;
                let bz = b / (nb * nb);
                let [xi, yi, zi, ri] = spos[k];
                let ai = sadh[k];
                let (x0, x1) = (bx.saturating_sub(1), (bx + 1).min(nb - 1));
                let mut acc = [0.0f64; 3];
                // Candidates of one row of bins are a contiguous run of sorted slots: a
                // branch-free single-precision pass keeps a superset of those within
                // interaction range, then the exact test and the forces of the kept pairs
                // run in slot order, as a single pass would (bitwise the same sums).
                let mut hits = [0u32; HIT_BUF];
                for z in bz.saturating_sub(1)..=(bz + 1).min(nb - 1) {
                    for y in by.saturating_sub(1)..=(by + 1).min(nb - 1) {
                        let row = nb * (y + nb * z);
                        let mut s = bin_start[row + x0] as usize;
                        let e = bin_start[row + x1 + 1] as usize;
                        while s < e {
                            let chunk_end = e.min(s + HIT_BUF);
                            let mut keep = [0u8; HIT_BUF];
                            let keep = &mut keep[..chunk_end - s];
                            let (xi_f, yi_f, zi_f, ri_f) =
                                (xi as f32, yi as f32, zi as f32, ri as f32);
                            // Vectorisable filter (single precision, no branches).
                            for ((((kp, &xj), &yj), &zj), &rj) in keep
                                .iter_mut()
                                .zip(&fx[s..chunk_end])
                                .zip(&fy[s..chunk_end])
                                .zip(&fz[s..chunk_end])
                                .zip(&fr[s..chunk_end])
                            {
                                let dx = xi_f - xj;
                                let dy = yi_f - yj;
                                let dz = zi_f - zj;
                                let d2 = dx * dx + dy * dy + dz * dz;
                                let lim = rel_adh_f * (ri_f + rj) + slack_um;
                                *kp = (d2 < lim * lim) as u8;
                            }
                            let mut nh = 0usize;
                            for (t, &kp) in keep.iter().enumerate() {
                                hits[nh] = (s + t) as u32;
                                nh += kp as usize;
                            }
                            for &q in &hits[..nh] {
                                let q = q as usize;
                                let [xj, yj, zj, rj] = spos[q];
                                let dx = xi - xj;
                                let dy = yi - yj;
                                let dz = zi - zj;
                                let d2 = dx * dx + dy * dy + dz * dz;
                                let rsum = ri + rj;
                                let ra = rel_adh * rsum;
                                if !(d2 < ra * ra && d2 > 1e-24) {
                                    // Outside the range (the filter is conservative), or
                                    // the cell itself.
                                    continue;
                                }
                                let d = d2.sqrt();
                                // Branch-free, bitwise equal to adding the repulsion only
                                // inside contact and the adhesion only between adhesive
                                // cells (both terms are then exactly 0).
                                let t_rep = (1.0 - d / rsum).max(0.0);
                                let mut f = 0.0 + c_rep * t_rep * t_rep;
                                let t_adh = 1.0 - d / ra;
                                let both = (ai & sadh[q]) as u8 as f64;
                                f -= c_adh * t_adh * t_adh * both;
                                let s = f / d;
                                acc[0] += s * dx;
                                acc[1] += s * dy;
                                acc[2] += s * dz;
                            }
                            s = chunk_end;
                        }
                    }
                }
                *v = acc;
            });

        let vel = &self.vel;
        let rank = &self.rank;
        pos.par_iter_mut().enumerate().for_each(|(i, p)| {
            let v = vel[rank[i] as usize];
            for a in 0..3 {
                p[a] = (p[a] + dt_min * v[a]).clamp(0.0, l);
            }
        });
    }
}
