//! Oxygen on a uniform grid: diffusion, first-order decay and cell uptake, solved by the
//! Douglas alternating-direction implicit (ADI) scheme in delta form with Thomas solves per
//! axis.
//!
//! The equation is `dp/dt = D lap(p) - (lambda + s(x)) p` with `p` the oxygen partial
//! pressure \[mmHg\], `D` \[um^2/min\], `lambda` the background decay \[1/min\] and `s` the
//! uptake of the cells binned into each voxel \[1/min\]. Space is discretised by the 7-point
//! finite-volume Laplacian on cubic voxels of edge `h`; voxels may be *fixed* (Dirichlet:
//! their value never changes; by default the outermost layer, at the far-field value, as in
//! BioFVM); free voxels on the box faces have zero flux through the face.
//!
//! Two implicit schemes share the Thomas solves per axis, with `A = A_x + A_y + A_z`,
//! `A_a = D d_aa - (lambda + s)/3` (the reaction split equally over the axes, as BioFVM):
//!
//! - [`OxygenField::step`], the model's time step: backward-Euler locally one-dimensional
//!   (LOD) splitting as in BioFVM (Ghaffarizadeh, Friedman and Macklin, Bioinformatics
//!   32(8): 1256, 2016): `p^{n+1} = (I - dt A_z)^-1 (I - dt A_y)^-1 (I - dt A_x)^-1 p^n`.
//!   Unconditionally stable, positivity preserving, first order in time; it damps every
//!   mode, and its steady state differs from the exact one by the splitting terms
//!   `dt (A_x A_y + ...) p`, which vanish linearly with `dt`.
//! - [`OxygenField::step_douglas`] and [`OxygenField::solve_steady`]: the Douglas-Gunn
//!   (1964) delta form, `(I - dt A_x)(I - dt A_y)(I - dt A_z) d = dt A p^n`,
//!   `p^{n+1} = p^n + d`, whose fixed point is exactly the discrete steady state `A p = 0`
//!   for any `dt`; cycling `dt` over a geometric sequence that spans the spectrum of `A`
//!   makes it a fast steady-state solver (ADI iteration with Wachspress-like parameters),
//!   used for the initial field of a model and as the reference of the splitting error.
//!
//! Each factor is a tridiagonal, diagonally dominant M-matrix solved by the Thomas
//! algorithm: x lines and y lines parallel over z planes (the y sweep vectorised over x),
//! the z sweep parallel over blocks of 64 neighbouring lanes of every plane (vectorised
//! over the lanes, the block's factors in cache). A Douglas step makes two passes over the
//! grid: per z plane the residual and the x and y sweeps, then per block of lanes the z
//! sweep and the update. The result does not depend on the number of threads.

use rayon::prelude::*;

/// An oxygen field on `n[0] x n[1] x n[2]` cubic voxels of edge `voxel_um`, voxel `(i, j,
/// k)` at linear index `i + n0 (j + n1 k)` (x fastest) and centred at `((i + 1/2) h, (j +
/// 1/2) h, (k + 1/2) h)` in the model frame \[um\].
#[derive(Clone, Debug)]
pub struct OxygenField {
    n: [usize; 3],
    voxel_um: f64,
    diffusion_um2_per_min: f64,
    decay_per_min: f64,
    values_mmhg: Vec<f64>,
    fixed: Vec<bool>,
    /// 0.0 on fixed voxels, 1.0 on free ones (branch-free Thomas rows).
    free: Vec<f64>,
    sink_per_min: Vec<f64>,
    /// `free` and `sink_per_min` with each z plane transposed (y fastest), for the x
    /// sweeps; refreshed before a step when `transposed` is false.
    free_t: Vec<f64>,
    sink_t: Vec<f64>,
    transposed: bool,
    delta: Vec<f64>,
}

impl OxygenField {
    /// A field at `initial_mmhg` everywhere, the outermost voxel layer fixed (Dirichlet) at
    /// that value, no cell uptake. Needs at least 3 voxels per axis.
    pub fn new(
        n: [usize; 3],
        voxel_um: f64,
        diffusion_um2_per_min: f64,
        decay_per_min: f64,
        initial_mmhg: f64,
    ) -> Self {
        assert!(n.iter().all(|&m| m >= 3), "at least 3 voxels per axis");
        let len = n[0] * n[1] * n[2];
        let mut fixed = vec![false; len];
        for k in 0..n[2] {
            for j in 0..n[1] {
                for i in 0..n[0] {
                    if i == 0 || j == 0 || k == 0 || i == n[0] - 1 || j == n[1] - 1 || k == n[2] - 1
                    {
                        fixed[i + n[0] * (j + n[1] * k)] = true;
                    }
                }
            }
        }
        Self {
            n,
            voxel_um,
            diffusion_um2_per_min,
            decay_per_min,
            values_mmhg: vec![initial_mmhg; len],
            free: fixed.iter().map(|&f| if f { 0.0 } else { 1.0 }).collect(),
            fixed,
            sink_per_min: vec![0.0; len],
            free_t: vec![0.0; len],
            sink_t: vec![0.0; len],
            transposed: false,
            delta: vec![0.0; len],
        }
    }

    /// Voxels per axis.
    pub fn dims(&self) -> [usize; 3] {
        self.n
    }

    /// Voxel edge \[um\].
    pub fn voxel_um(&self) -> f64 {
        self.voxel_um
    }

    /// Linear index of voxel `(i, j, k)`.
    #[inline]
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        i + self.n[0] * (j + self.n[1] * k)
    }

    /// Centre of voxel `(i, j, k)` in the model frame \[um\].
    pub fn centre_um(&self, i: usize, j: usize, k: usize) -> [f64; 3] {
        let h = self.voxel_um;
        [
            (i as f64 + 0.5) * h,
            (j as f64 + 0.5) * h,
            (k as f64 + 0.5) * h,
        ]
    }

    /// Linear index of the voxel containing `pos_um` (positions outside the grid are
    /// clamped to the nearest boundary voxel).
    #[inline]
    pub fn voxel_of(&self, pos_um: [f64; 3]) -> usize {
        self.indexer().voxel_of(pos_um)
    }

    /// A copy of the position-to-voxel map (to locate voxels while the field is borrowed
    /// mutably).
    #[inline]
    pub fn indexer(&self) -> VoxelIndexer {
        VoxelIndexer {
            n: self.n,
            inv_voxel_per_um: 1.0 / self.voxel_um,
        }
    }

    /// Oxygen partial pressure per voxel \[mmHg\] (x fastest).
    pub fn values_mmhg(&self) -> &[f64] {
        &self.values_mmhg
    }

    /// Mutable oxygen partial pressure per voxel \[mmHg\] (to set an initial condition).
    pub fn values_mmhg_mut(&mut self) -> &mut [f64] {
        &mut self.values_mmhg
    }

    /// Cell uptake coefficient per voxel \[1/min\], added to the decay rate.
    pub fn sinks_per_min_mut(&mut self) -> &mut [f64] {
        self.transposed = false;
        &mut self.sink_per_min
    }

    /// Cell uptake coefficient per voxel \[1/min\].
    pub fn sinks_per_min(&self) -> &[f64] {
        &self.sink_per_min
    }

    /// Whether each voxel is fixed (Dirichlet).
    pub fn fixed(&self) -> &[bool] {
        &self.fixed
    }

    /// Fixes voxel `index` at `value_mmhg` (Dirichlet) or frees it (`None`).
    pub fn set_fixed(&mut self, index: usize, value_mmhg: Option<f64>) {
        self.transposed = false;
        match value_mmhg {
            Some(v) => {
                self.fixed[index] = true;
                self.free[index] = 0.0;
                self.values_mmhg[index] = v;
            }
            None => {
                self.fixed[index] = false;
                self.free[index] = 1.0;
            }
        }
    }

    /// Transposes each z plane of the free flags and the sinks (y fastest) once after they
    /// changed, for the x sweeps of the following steps.
    fn refresh_transposes(&mut self) {
        if self.transposed {
            return;
        }
        let [nx, ny, _] = self.n;
        let plane = nx * ny;
        for (src, dst) in [
            (&self.free, &mut self.free_t),
            (&self.sink_per_min, &mut self.sink_t),
        ] {
            dst.par_chunks_mut(plane)
                .zip(src.par_chunks(plane))
                .for_each(|(t, a)| {
                    for j in 0..ny {
                        for i in 0..nx {
                            t[j + ny * i] = a[i + nx * j];
                        }
                    }
                });
        }
        self.transposed = true;
    }

    /// One backward-Euler LOD step of `dt_min` (BioFVM's scheme); returns the largest
    /// absolute change of a voxel \[mmHg\].
    pub fn step(&mut self, dt_min: f64) -> f64 {
        self.delta.copy_from_slice(&self.values_mmhg);
        let coef = Coef {
            r: self.diffusion_um2_per_min * dt_min / (self.voxel_um * self.voxel_um),
            lambda: self.decay_per_min,
            dt3: dt_min / 3.0,
        };
        self.refresh_transposes();
        let (free, sink) = (&self.free, &self.sink_per_min);
        let (free_t, sink_t) = (&self.free_t, &self.sink_t);
        let plane = self.n[0] * self.n[1];
        self.values_mmhg
            .par_chunks_mut(plane)
            .enumerate()
            .for_each_init(
                || vec![0.0; 2 * plane],
                |buf, (k, d)| {
                    let coefs =
                        [free, sink, free_t, sink_t].map(|a| &a[k * plane..(k + 1) * plane]);
                    coef.xy_sweeps(d, buf, coefs, self.n)
                },
            );
        coef.z_sweep(&mut self.values_mmhg, None, free, sink, self.n);
        self.values_mmhg
            .iter()
            .zip(&self.delta)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
    }

    /// One Douglas ADI step of `dt_min`; returns the largest absolute change of a voxel
    /// \[mmHg\].
    pub fn step_douglas(&mut self, dt_min: f64) -> f64 {
        let [nx, ny, nz] = self.n;
        let plane = nx * ny;
        let lambda = self.decay_per_min;
        let coef = Coef {
            r: self.diffusion_um2_per_min * dt_min / (self.voxel_um * self.voxel_um),
            lambda,
            dt3: dt_min / 3.0,
        };
        self.refresh_transposes();
        let (free, sink) = (&self.free, &self.sink_per_min);
        let (free_t, sink_t) = (&self.free_t, &self.sink_t);
        let n = self.n;

        // Per z plane, while it is in cache: the residual dt * A p^n (zero on fixed
        // voxels), then the x and y sweeps on it.
        {
            let u = &self.values_mmhg;
            let d_over_h2 = self.diffusion_um2_per_min / (self.voxel_um * self.voxel_um);
            self.delta.par_chunks_mut(plane).enumerate().for_each_init(
                || vec![0.0; 2 * plane],
                |buf, (k, out)| {
                    let pk = plane * k;
                    // Zero flux through box faces: a missing neighbour mirrors the
                    // voxel itself (a missing row or plane is the voxel's own).
                    let zm = if k > 0 { pk - plane } else { pk };
                    let zp = if k + 1 < nz { pk + plane } else { pk };
                    for j in 0..ny {
                        let r0 = nx * j;
                        let ym = if j > 0 { r0 - nx } else { r0 };
                        let yp = if j + 1 < ny { r0 + nx } else { r0 };
                        let row = |off: usize| &u[off..off + nx];
                        let c = row(pk + r0);
                        let (ym, yp) = (row(pk + ym), row(pk + yp));
                        let (zm, zp) = (row(zm + r0), row(zp + r0));
                        let fr = &free[pk + r0..pk + r0 + nx];
                        let sk = &sink[pk + r0..pk + r0 + nx];
                        let o = &mut out[r0..r0 + nx];
                        let res = |i: usize, xm: f64, xp: f64| -> f64 {
                            let ci = c[i];
                            let lap = xm + xp + ym[i] + yp[i] + zm[i] + zp[i] - 6.0 * ci;
                            let val = dt_min * (d_over_h2 * lap - (lambda + sk[i]) * ci);
                            // Zero on fixed voxels (a select: vectorisable).
                            if fr[i] == 0.0 {
                                0.0
                            } else {
                                val
                            }
                        };
                        o[0] = res(0, c[0], c[1.min(nx - 1)]);
                        for i in 1..nx - 1 {
                            o[i] = res(i, c[i - 1], c[i + 1]);
                        }
                        o[nx - 1] = res(nx - 1, c[nx - 2], c[nx - 1]);
                    }
                    let coefs = [free, sink, free_t, sink_t].map(|a| &a[pk..pk + plane]);
                    coef.xy_sweeps(out, buf, coefs, n);
                },
            );
        }

        // The z sweep, each block of lanes adding its solution to p^n while in cache; the
        // maximum is exact, so it does not depend on the split.
        coef.z_sweep(&mut self.delta, Some(&mut self.values_mmhg), free, sink, n)
    }

    /// Steps of `dt_min` (LOD) until the largest change of a step falls below `tol_mmhg`
    /// or `max_steps` were taken; returns the number of steps taken.
    pub fn relax(&mut self, dt_min: f64, tol_mmhg: f64, max_steps: usize) -> usize {
        for s in 0..max_steps {
            if self.step(dt_min) < tol_mmhg {
                return s + 1;
            }
        }
        max_steps
    }

    /// The discrete steady state `A p = 0` by Douglas ADI iteration with cycled steps:
    /// per cycle, pseudo-time steps `dt_j = 1/(2 kappa_j)` for a geometric sequence of
    /// per-axis eigenvalues `kappa_j` from the smallest (`D (pi/L)^2 + lambda/3`) to the
    /// largest (`4 D/h^2 + (lambda + max s)/3`), ratio at most 16, so that every error mode
    /// is damped by a factor of at most ~0.8 in each cycle. Stops when a whole cycle
    /// changes no voxel by more than `tol_mmhg` or after `max_cycles`; returns the number
    /// of cycles.
    pub fn solve_steady(&mut self, tol_mmhg: f64, max_cycles: usize) -> usize {
        for c in 0..max_cycles {
            if self.adi_cycle() < tol_mmhg {
                return c + 1;
            }
        }
        max_cycles
    }

    /// One cycle of the Douglas ADI iteration of [`Self::solve_steady`]; returns the
    /// largest change of a voxel in any of its steps \[mmHg\].
    pub fn adi_cycle(&mut self) -> f64 {
        let h2 = self.voxel_um * self.voxel_um;
        let d = self.diffusion_um2_per_min;
        let smax = self
            .sink_per_min
            .par_iter()
            .with_min_len(1 << 16)
            .copied()
            .reduce(|| 0.0, f64::max);
        let lmax = self.n.iter().copied().max().unwrap_or(1) as f64 * self.voxel_um;
        let k_min = d * (std::f64::consts::PI / lmax).powi(2) + self.decay_per_min / 3.0;
        let k_max = 4.0 * d / h2 + (self.decay_per_min + smax) / 3.0;
        let m = ((k_max / k_min).ln() / 16f64.ln()).ceil().max(1.0) as usize + 1;
        let q = (k_max / k_min).powf(1.0 / (m - 1) as f64);
        let mut change = 0.0f64;
        for j in 0..m {
            let kappa = k_max / q.powi(j as i32);
            change = change.max(self.step_douglas(0.5 / kappa));
        }
        change
    }
}

/// Lanes per block of the parallel z sweep (64 lanes: 512 B per row, a block of a 64^3
/// grid with its factors in 64 KiB).
const Z_LANES: usize = 64;

/// Maps positions in the model frame to voxel indices of an [`OxygenField`].
#[derive(Clone, Copy, Debug)]
pub struct VoxelIndexer {
    n: [usize; 3],
    inv_voxel_per_um: f64,
}

impl VoxelIndexer {
    /// Linear index of the voxel containing `pos_um` \[um\] (clamped to the grid).
    #[inline]
    pub fn voxel_of(&self, pos_um: [f64; 3]) -> usize {
        let c = |a: usize| -> usize {
            let f = (pos_um[a] * self.inv_voxel_per_um).floor();
            if f <= 0.0 {
                0
            } else {
                (f as usize).min(self.n[a] - 1)
            }
        };
        c(0) + self.n[0] * (c(1) + self.n[1] * c(2))
    }
}

/// Coefficients of the one-dimensional factors `I - dt A_a`.
struct Coef {
    /// `D dt / h^2`.
    r: f64,
    /// Background decay \[1/min\].
    lambda: f64,
    /// `dt / 3` \[min\].
    dt3: f64,
}

impl Coef {
    /// The x and y factors on one z plane `d`: `d <- (I - dt A_y)^-1 (I - dt A_x)^-1 d`,
    /// with that plane's free flags and sinks, as stored and transposed (`[free, sink,
    /// free_t, sink_t]`). The plane is transposed into `buf` (at least 2 planes of
    /// scratch) so that the x lines are solved together, vectorised over y; the y lines
    /// are then solved together, vectorised over x.
    fn xy_sweeps(&self, d: &mut [f64], buf: &mut [f64], coefs: [&[f64]; 4], n: [usize; 3]) {
        let [nx, ny, _] = n;
        let plane = nx * ny;
        let [fr, sk, frt, skt] = coefs;
        let (dt, rest) = buf.split_at_mut(plane);
        let cpt = &mut rest[..plane];
        for j in 0..ny {
            for i in 0..nx {
                dt[j + ny * i] = d[i + nx * j];
            }
        }
        self.thomas(dt, cpt, frt, skt, nx, ny, ny);
        for j in 0..ny {
            for i in 0..nx {
                d[i + nx * j] = dt[j + ny * i];
            }
        }
        self.thomas(d, cpt, fr, sk, ny, nx, nx);
    }

    /// The z factor on the whole grid, `d <- (I - dt A_z)^-1 d`, parallel over blocks of
    /// lanes: block `b` holds lanes `b*Z_LANES..` of every plane (a column block of `nz`
    /// rows), solved by itself with its factors in a small scratch that stays in cache.
    /// Each lane's arithmetic is that of a whole-plane sweep, so the result does not depend
    /// on the blocking or the number of threads. With `add_to`, each block then adds its
    /// solution to `add_to` while it is in cache, and the largest absolute value of the
    /// solution is returned (0 without).
    fn z_sweep(
        &self,
        d: &mut [f64],
        add_to: Option<&mut [f64]>,
        free: &[f64],
        sink: &[f64],
        n: [usize; 3],
    ) -> f64 {
        let [nx, ny, nz] = n;
        let plane = nx * ny;
        let nblocks = plane.div_ceil(Z_LANES);
        // Per block: its rows of `d`, and its rows of `add_to` (none without).
        type Rows<'a> = Vec<&'a mut [f64]>;
        let mut blocks: Vec<(Rows, Rows)> = (0..nblocks)
            .map(|_| (Vec::with_capacity(nz), Vec::new()))
            .collect();
        for p in d.chunks_mut(plane) {
            for (b, c) in p.chunks_mut(Z_LANES).enumerate() {
                blocks[b].0.push(c);
            }
        }
        if let Some(u) = add_to {
            for p in u.chunks_mut(plane) {
                for (b, c) in p.chunks_mut(Z_LANES).enumerate() {
                    blocks[b].1.push(c);
                }
            }
        }
        let largest = blocks
            .into_par_iter()
            .enumerate()
            .map_init(
                || vec![0.0; Z_LANES * nz],
                |cp, (b, (mut rows, mut sums))| {
                    self.thomas_rows(&mut rows, cp, free, sink, b * Z_LANES, plane);
                    let mut m = 0.0f64;
                    for (u, d) in sums.iter_mut().zip(&rows) {
                        for (u, d) in u.iter_mut().zip(d.iter()) {
                            *u += d;
                            // A plain comparison (one `maxpd`; f64::max's NaN handling
                            // costs four instructions more).
                            let a = d.abs();
                            m = if a > m { a } else { m };
                        }
                    }
                    m
                },
            )
            .reduce(|| 0.0, f64::max);
        largest
    }

    /// Solves `(I - dt A_a) x = d` in place for `width` independent lines whose elements
    /// are `stride` apart (`len` elements each; lane `w` of element `i` at `i * stride +
    /// w` in all slices). Row of a free voxel: `-r x_{i-1} + (1 + dt (lambda + s)/3 + r m)
    /// x_i - r x_{i+1}` with `m` its number of neighbours on the line (zero flux at the
    /// ends); row of a fixed voxel (`free = 0`): `x_i = d_i`. Branch-free in the lanes.
    #[inline]
    fn thomas(
        &self,
        d: &mut [f64],
        cp: &mut [f64],
        free: &[f64],
        sink: &[f64],
        len: usize,
        stride: usize,
        width: usize,
    ) {
        let r = self.r;
        let (lambda, dt3) = (self.lambda, self.dt3);
        for i in 0..len {
            let cnt = ((i > 0) as u8 + (i + 1 < len) as u8) as f64;
            let up = if i + 1 < len { r } else { 0.0 };
            let row = i * stride;
            let fr = &free[row..row + width];
            let sk = &sink[row..row + width];
            let (d_head, d_tail) = d.split_at_mut(row);
            let (cp_head, cp_tail) = cp.split_at_mut(row);
            let d_cur = &mut d_tail[..width];
            let cp_cur = &mut cp_tail[..width];
            if i == 0 {
                for w in 0..width {
                    let b = 1.0 + fr[w] * (dt3 * (lambda + sk[w]) + r * cnt);
                    let inv = 1.0 / b;
                    cp_cur[w] = -up * fr[w] * inv;
                    d_cur[w] *= inv;
                }
            } else {
                let prev = row - stride;
                let d_prev = &d_head[prev..prev + width];
                let cp_prev = &cp_head[prev..prev + width];
                for w in 0..width {
                    let a = r * fr[w];
                    let b = 1.0 + fr[w] * (dt3 * (lambda + sk[w]) + r * cnt);
                    let inv = 1.0 / (b + a * cp_prev[w]);
                    cp_cur[w] = -up * fr[w] * inv;
                    d_cur[w] = (d_cur[w] + a * d_prev[w]) * inv;
                }
            }
        }
        for i in (0..len.saturating_sub(1)).rev() {
            let row = i * stride;
            let (d_head, d_tail) = d.split_at_mut(row + stride);
            let d_next = &d_tail[..width];
            let d_cur = &mut d_head[row..row + width];
            let cp_cur = &cp[row..row + width];
            for w in 0..width {
                d_cur[w] -= cp_cur[w] * d_next[w];
            }
        }
    }

    /// [`Self::thomas`] for the lines held by `rows` (row `i` = element `i` of every line,
    /// `rows[i].len()` lanes), whose free flags and sinks start at `w0 + i * stride` in
    /// `free` and `sink`; `cp` is scratch of at least `rows.len() * rows[0].len()`. Same
    /// arithmetic per lane as [`Self::thomas`].
    fn thomas_rows(
        &self,
        rows: &mut [&mut [f64]],
        cp: &mut [f64],
        free: &[f64],
        sink: &[f64],
        w0: usize,
        stride: usize,
    ) {
        let len = rows.len();
        if len == 0 {
            return;
        }
        let width = rows[0].len();
        let r = self.r;
        let (lambda, dt3) = (self.lambda, self.dt3);
        for i in 0..len {
            let cnt = ((i > 0) as u8 + (i + 1 < len) as u8) as f64;
            let up = if i + 1 < len { r } else { 0.0 };
            let g = w0 + i * stride;
            let fr = &free[g..g + width];
            let sk = &sink[g..g + width];
            let (rows_head, rows_tail) = rows.split_at_mut(i);
            let d_cur = &mut rows_tail[0][..width];
            let (cp_head, cp_tail) = cp.split_at_mut(i * width);
            let cp_cur = &mut cp_tail[..width];
            if i == 0 {
                for w in 0..width {
                    let b = 1.0 + fr[w] * (dt3 * (lambda + sk[w]) + r * cnt);
                    let inv = 1.0 / b;
                    cp_cur[w] = -up * fr[w] * inv;
                    d_cur[w] *= inv;
                }
            } else {
                let d_prev = &rows_head[i - 1][..width];
                let cp_prev = &cp_head[(i - 1) * width..i * width];
                for w in 0..width {
                    let a = r * fr[w];
                    let b = 1.0 + fr[w] * (dt3 * (lambda + sk[w]) + r * cnt);
                    let inv = 1.0 / (b + a * cp_prev[w]);
                    cp_cur[w] = -up * fr[w] * inv;
                    d_cur[w] = (d_cur[w] + a * d_prev[w]) * inv;
                }
            }
        }
        for i in (0..len - 1).rev() {
            let (rows_head, rows_tail) = rows.split_at_mut(i + 1);
            let d_next = &rows_tail[0][..width];
            let d_cur = &mut rows_head[i][..width];
            let cp_cur = &cp[i * width..(i + 1) * width];
            for w in 0..width {
                d_cur[w] -= cp_cur[w] * d_next[w];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Changing the sinks or the fixed voxels between steps takes effect in the next step's
    /// x sweeps (their transposed copies are refreshed): a field stepped, then changed, then
    /// stepped again equals, bit for bit, a fresh field given the same state and stepped
    /// once. Each change alone, with both schemes.
    #[test]
    fn changes_between_steps_reach_the_sweeps() {
        let n = [7, 6, 5];
        let make = || OxygenField::new(n, 20.0, 1.0e5, 0.1, 38.0);
        for douglas in [false, true] {
            for change_sink in [false, true] {
                let step = |f: &mut OxygenField| {
                    if douglas {
                        f.step_douglas(0.7);
                    } else {
                        f.step(0.7);
                    }
                };
                let mut a = make();
                let c = a.index(3, 3, 2);
                a.sinks_per_min_mut()[c] = 4.0;
                step(&mut a);
                step(&mut a);
                let v = a.index(4, 3, 2);
                if change_sink {
                    a.sinks_per_min_mut()[v] = 9.0;
                } else {
                    a.set_fixed(v, Some(5.0));
                }
                let mut b = make();
                b.values_mmhg_mut().copy_from_slice(a.values_mmhg());
                b.sinks_per_min_mut().copy_from_slice(a.sinks_per_min());
                if !change_sink {
                    b.set_fixed(v, Some(5.0));
                }
                step(&mut a);
                step(&mut b);
                assert!(
                    a.values_mmhg()
                        .iter()
                        .zip(b.values_mmhg())
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "douglas = {douglas}, sink changed = {change_sink}"
                );
            }
        }
    }
}
