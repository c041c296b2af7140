//! Proliferation-invasion (Fisher-KPP) model of the tumour cell density on a voxel grid.
//!
//! The tumour cell density `c(x, t)` (cells/mm^3) obeys
//!
//! ```text
//! dc/dt = div(D(x) grad c) + rho c (1 - c/K) - k(x, t) c
//! ```
//!
//! with tissue-dependent diffusion `D(x)` (mm^2/day), net proliferation rate `rho` (1/day),
//! carrying capacity `K` (cells/mm^3) and the cell-kill rate `k` of a continuous
//! (radiopharmaceutical) irradiation; acute external-beam fractions multiply `c` by their
//! LQ surviving fraction at the fraction's time.
//!
//! **Domain and boundaries.** `D` is given per voxel; a voxel with `D = 0` is outside the
//! tissue the tumour can invade: it holds no cells and no flux crosses its faces. The flux
//! across the face between two voxels uses the harmonic mean of their `D` (the standard
//! finite-volume choice for a discontinuous coefficient: the flux is continuous across a
//! tissue interface), so the boundary of the invadable tissue and the grid's outer faces
//! are zero-flux boundaries and the total cell number changes only by proliferation and
//! kill.
//!
//! **Scheme.** One time step `dt` is the symmetric (Strang) composition
//!
//! ```text
//! K(dt/2) R(dt/2) [Dx(dt/2) Dy(dt/2) Dz(dt) Dy(dt/2) Dx(dt/2)] R(dt/2) K(dt/2)
//! ```
//!
//! of the continuous kill `K` (exact: the time integrals of the LQ kill rate are closed
//! forms per voxel), the logistic reaction `R` (exact solution of `dc/dt = rho c (1 - c/K)`)
//! and a locally one-dimensional (LOD) diffusion step whose 1-D parts are theta schemes
//! (Crank-Nicolson by default, or backward Euler) solved exactly by the Thomas algorithm.
//! Every part is unconditionally stable and keeps the density non-negative for backward
//! Euler (an M-matrix); Crank-Nicolson keeps it non-negative while `D dt / h^2 <= 1`
//! (the usual clinical steps of a day on millimetre grids are within this) and may show
//! small damped oscillations at a sharp front beyond. With Crank-Nicolson the scheme is
//! second order in time (symmetric composition of second-order parts) and second order in
//! space (the three-point flux-difference stencil); backward Euler makes it first order in
//! time. The tests measure both orders on the travelling front.

use crate::radiobiology::DecayingDoseRate;
use rayon::prelude::*;

/// Errors of the continuum model's inputs.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ContinuumError {
    /// A parameter is out of range; the message names it and what was expected.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> ContinuumError {
    ContinuumError::Invalid(msg.into())
}

/// The time discretisation of the diffusion sub-steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffusionScheme {
    /// Crank-Nicolson (theta = 1/2): second order in time.
    CrankNicolson,
    /// Backward Euler (theta = 1): first order, L-stable (no oscillation at any step).
    BackwardEuler,
}

impl DiffusionScheme {
    fn theta(self) -> f64 {
        match self {
            Self::CrankNicolson => 0.5,
            Self::BackwardEuler => 1.0,
        }
    }
}

/// Parameters of the proliferation-invasion model.
#[derive(Clone, Debug, PartialEq)]
pub struct ContinuumParams {
    /// Net proliferation rate `rho` (1/day).
    pub rho_per_day: f64,
    /// Carrying capacity `K` (cells/mm^3).
    pub carrying_capacity_cells_per_mm3: f64,
    /// Time step (days).
    pub dt_day: f64,
    /// Time discretisation of the diffusion.
    pub scheme: DiffusionScheme,
}

impl ContinuumParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ContinuumError> {
        if !(self.rho_per_day.is_finite() && self.rho_per_day >= 0.0) {
            return Err(invalid(format!(
                "rho_per_day = {}: expected a finite proliferation rate >= 0 (1/day)",
                self.rho_per_day
            )));
        }
        if !(self.carrying_capacity_cells_per_mm3.is_finite()
            && self.carrying_capacity_cells_per_mm3 > 0.0)
        {
            return Err(invalid(format!(
                "carrying_capacity_cells_per_mm3 = {}: expected a finite value > 0",
                self.carrying_capacity_cells_per_mm3
            )));
        }
        if !(self.dt_day.is_finite() && self.dt_day > 0.0) {
            return Err(invalid(format!(
                "dt_day = {}: expected a finite time step > 0 (days)",
                self.dt_day
            )));
        }
        Ok(())
    }
}

/// Linear-quadratic parameters of the tumour cells.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LqParams {
    /// `alpha` (1/Gy).
    pub alpha_per_gy: f64,
    /// `beta` (1/Gy^2).
    pub beta_per_gy2: f64,
    /// Repair rate of sublethal damage `mu = ln 2 / T_repair` (1/day); used for continuous
    /// irradiation only (fractions are taken as acute and fully repaired in between).
    pub repair_per_day: f64,
}

/// One course of treatment acting on the density.
#[derive(Clone, Debug, PartialEq)]
pub enum Course {
    /// External-beam fractions: at each time in `times_day` every voxel receives its dose
    /// from `dose_gy` (one fraction) acutely; the density is multiplied by the LQ
    /// surviving fraction.
    Fractions {
        /// Fraction times (days from the start of the simulation), increasing.
        times_day: Vec<f64>,
        /// Dose of one fraction per voxel (Gy).
        dose_gy: Vec<f64>,
        /// Radiosensitivity.
        lq: LqParams,
    },
    /// Radiopharmaceutical therapy: from `start_day`, voxel `i` is irradiated at
    /// `R_i(t) = total_dose_gy[i] * lambda * exp(-lambda (t - start))`, so that it receives
    /// `total_dose_gy[i]` in all; kill by the LQ model with repair (Lea-Catcheside).
    DecayingDoseRate {
        /// Administration time (days from the start of the simulation).
        start_day: f64,
        /// Dose delivered to completion per voxel (Gy).
        total_dose_gy: Vec<f64>,
        /// Effective decay rate `lambda` of the dose rate (1/day).
        decay_per_day: f64,
        /// Radiosensitivity.
        lq: LqParams,
    },
}

impl Course {
    fn validate(&self, voxels: usize, index: usize) -> Result<(), ContinuumError> {
        let check_lq = |lq: &LqParams| {
            for (name, v) in [
                ("alpha_per_gy", lq.alpha_per_gy),
                ("beta_per_gy2", lq.beta_per_gy2),
                ("repair_per_day", lq.repair_per_day),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(invalid(format!(
                        "treatment course {index}: {name} = {v}: expected a finite value >= 0"
                    )));
                }
            }
            Ok(())
        };
        let check_dose = |d: &[f64], what: &str| {
            if d.len() != voxels {
                return Err(invalid(format!(
                    "treatment course {index}: {what} has {} voxels: expected {voxels} (the grid)",
                    d.len()
                )));
            }
            if let Some(i) = d.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(invalid(format!(
                    "treatment course {index}: {what} at voxel {i} is {}: expected a finite dose >= 0 Gy",
                    d[i]
                )));
            }
            Ok(())
        };
        match self {
            Course::Fractions {
                times_day,
                dose_gy,
                lq,
            } => {
                check_lq(lq)?;
                check_dose(dose_gy, "the fraction dose map")?;
                if times_day.iter().any(|t| !t.is_finite() || *t < 0.0)
                    || times_day.windows(2).any(|w| w[1] <= w[0])
                {
                    return Err(invalid(format!(
                        "treatment course {index}: fraction times {times_day:?}: expected increasing times >= 0 (days)"
                    )));
                }
            }
            Course::DecayingDoseRate {
                start_day,
                total_dose_gy,
                decay_per_day,
                lq,
            } => {
                check_lq(lq)?;
                check_dose(total_dose_gy, "the total dose map")?;
                if !(start_day.is_finite() && *start_day >= 0.0) {
                    return Err(invalid(format!(
                        "treatment course {index}: start_day = {start_day}: expected a time >= 0 (days)"
                    )));
                }
                if !(decay_per_day.is_finite() && *decay_per_day > 0.0) {
                    return Err(invalid(format!(
                        "treatment course {index}: decay_per_day = {decay_per_day}: expected an effective decay rate > 0 (1/day)"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Whole-tumour observables at one time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observables {
    /// Time (days from the start).
    pub time_day: f64,
    /// Total number of tumour cells (integral of the density).
    pub total_cells: f64,
    /// Volume (mm^3) of the voxels whose density is at or above the detection threshold.
    pub detectable_volume_mm3: f64,
    /// Radius (mm) of the sphere of the detectable volume, `(3 V / 4 pi)^(1/3)`.
    pub equivalent_radius_mm: f64,
    /// Largest density (cells/mm^3).
    pub max_density_cells_per_mm3: f64,
}

/// The proliferation-invasion model on a grid: state and operators.
#[derive(Clone, Debug)]
pub struct ContinuumModel {
    dims: [usize; 3],
    voxel_mm: [f64; 3],
    params: ContinuumParams,
    /// Per voxel: whether the tumour may live there (`D > 0`).
    invadable: Vec<bool>,
    /// Face conductances `D_face / h^2` (1/day) of the face between a voxel and its +x,
    /// +y, +z neighbour (0 on the grid's last layer and next to non-invadable voxels); the
    /// +x ones stored per z-plane transposed (index `x * ny + y` within the plane).
    w: [Vec<f64>; 3],
    density: Vec<f64>,
    time_day: f64,
    courses: Vec<Course>,
}

/// The lanes of a block of z-columns: per z-plane, the lanes' densities and the
/// conductances of their +z faces.
type LaneBlock<'a> = (Vec<&'a mut [f64]>, Vec<&'a [f64]>);

/// Lanes solved together in the y and z sweeps: their Thomas scratch (2 x 8 bytes x
/// lanes x line length) stays in the core's cache for lines of a few hundred voxels.
const LANE_BLOCK: usize = 128;

/// Voxels per unit of work in reductions (fixed, so that sums do not depend on threads).
const REDUCE_CHUNK: usize = 1 << 14;

impl ContinuumModel {
    /// Builds the model on a grid of `dims` voxels of `voxel_mm` edges with the diffusion
    /// coefficient of every voxel (`diffusion_mm2_per_day`, x fastest; 0 outside the
    /// invadable tissue). The density starts at zero.
    pub fn new(
        dims: [usize; 3],
        voxel_mm: [f64; 3],
        diffusion_mm2_per_day: &[f64],
        params: ContinuumParams,
    ) -> Result<Self, ContinuumError> {
        params.validate()?;
        let n = dims[0] * dims[1] * dims[2];
        if n == 0 {
            return Err(invalid(format!(
                "grid {dims:?}: expected at least one voxel"
            )));
        }
        if voxel_mm.iter().any(|h| !(h.is_finite() && *h > 0.0)) {
            return Err(invalid(format!(
                "voxel size {voxel_mm:?} mm: expected positive edges"
            )));
        }
        if diffusion_mm2_per_day.len() != n {
            return Err(invalid(format!(
                "diffusion map has {} voxels: expected {n} ({}x{}x{})",
                diffusion_mm2_per_day.len(),
                dims[0],
                dims[1],
                dims[2]
            )));
        }
        if let Some(i) = diffusion_mm2_per_day
            .iter()
            .position(|d| !(d.is_finite() && *d >= 0.0))
        {
            return Err(invalid(format!(
                "diffusion coefficient at voxel {i} is {}: expected a finite value >= 0 mm^2/day",
                diffusion_mm2_per_day[i]
            )));
        }
        let invadable: Vec<bool> = diffusion_mm2_per_day.iter().map(|d| *d > 0.0).collect();
        let strides = [1, dims[0], dims[0] * dims[1]];
        let w = std::array::from_fn(|axis| {
            let h2 = voxel_mm[axis] * voxel_mm[axis];
            (0..n)
                .into_par_iter()
                .with_min_len(4096)
                .map(|i| {
                    let coord = (i / strides[axis]) % dims[axis];
                    if coord + 1 == dims[axis] {
                        return 0.0;
                    }
                    let (a, b) = (
                        diffusion_mm2_per_day[i],
                        diffusion_mm2_per_day[i + strides[axis]],
                    );
                    if a > 0.0 && b > 0.0 {
                        2.0 * a * b / (a + b) / h2
                    } else {
                        0.0
                    }
                })
                .collect()
        });
        // The x conductances are kept per z-plane transposed (x slowest), the layout of the
        // x sweep's lanes.
        let [nx, ny, _] = dims;
        let mut w: [Vec<f64>; 3] = w;
        let mut wt = vec![0.0; n];
        for (src, dst) in w[0].chunks(nx * ny).zip(wt.chunks_mut(nx * ny)) {
            for y in 0..ny {
                for x in 0..nx {
                    dst[x * ny + y] = src[y * nx + x];
                }
            }
        }
        w[0] = wt;
        Ok(Self {
            dims,
            voxel_mm,
            params,
            invadable,
            w,
            density: vec![0.0; n],
            time_day: 0.0,
            courses: Vec::new(),
        })
    }

    /// Grid dimensions `[nx, ny, nz]`.
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    /// Voxel edges (mm).
    pub fn voxel_mm(&self) -> [f64; 3] {
        self.voxel_mm
    }

    /// The model's parameters.
    pub fn params(&self) -> &ContinuumParams {
        &self.params
    }

    /// Current time (days from the start).
    pub fn time_day(&self) -> f64 {
        self.time_day
    }

    /// The density (cells/mm^3) per voxel, x fastest.
    pub fn density(&self) -> &[f64] {
        &self.density
    }

    /// Whether voxel `i` is in the invadable tissue (`D > 0`).
    pub fn is_invadable(&self, i: usize) -> bool {
        self.invadable[i]
    }

    /// Sets the density (cells/mm^3, x fastest). Errors for a wrong length, a negative or
    /// non-finite value, or cells in a voxel outside the invadable tissue.
    pub fn set_density(&mut self, density: Vec<f64>) -> Result<(), ContinuumError> {
        if density.len() != self.density.len() {
            return Err(invalid(format!(
                "initial density has {} voxels: expected {}",
                density.len(),
                self.density.len()
            )));
        }
        for (i, c) in density.iter().enumerate() {
            if !(c.is_finite() && *c >= 0.0) {
                return Err(invalid(format!(
                    "initial density at voxel {i} is {c}: expected a finite value >= 0 cells/mm^3"
                )));
            }
            if *c > 0.0 && !self.invadable[i] {
                return Err(invalid(format!(
                    "initial density at voxel {i} ({}) is {c} cells/mm^3 but the voxel is outside the invadable tissue (diffusion coefficient 0)",
                    self.voxel_label(i)
                )));
            }
        }
        self.density = density;
        Ok(())
    }

    fn voxel_label(&self, i: usize) -> String {
        let [nx, ny, _] = self.dims;
        format!("ix {}, iy {}, iz {}", i % nx, (i / nx) % ny, i / (nx * ny))
    }

    /// Adds the courses of treatment. Errors name the course and what is wrong.
    pub fn set_treatment(&mut self, courses: Vec<Course>) -> Result<(), ContinuumError> {
        for (k, c) in courses.iter().enumerate() {
            c.validate(self.density.len(), k)?;
        }
        self.courses = courses;
        Ok(())
    }

    /// Advances the model to `t_end_day` in steps of at most `dt_day`, shortened so that
    /// every external-beam fraction falls on a step boundary (a fraction at time `t` acts
    /// after the step ending at `t`).
    pub fn advance_to(&mut self, t_end_day: f64) {
        // Relative tolerance for treating two times as equal (fraction on a boundary).
        let eps = 1e-9 * self.params.dt_day;
        while self.time_day < t_end_day - eps {
            let mut t1 = (self.time_day + self.params.dt_day).min(t_end_day);
            if let Some(tf) = self.next_fraction_after(self.time_day + eps) {
                if tf < t1 - eps {
                    t1 = tf;
                }
            }
            // Snap to the target or fraction time exactly when close.
            if (t_end_day - t1).abs() <= eps {
                t1 = t_end_day;
            }
            self.step_to(t1);
        }
    }

    fn next_fraction_after(&self, t: f64) -> Option<f64> {
        self.courses
            .iter()
            .filter_map(|c| match c {
                Course::Fractions { times_day, .. } => times_day.iter().copied().find(|tf| *tf > t),
                _ => None,
            })
            .reduce(f64::min)
    }

    /// One step from the current time to `t1_day`, then the fractions due at `t1_day`.
    ///
    /// With Crank-Nicolson the first step of the simulation is replaced by two
    /// backward-Euler half steps (Rannacher 1984 start-up): Crank-Nicolson does not damp
    /// the high-frequency content of a sharp initial tumour edge when `D dt / h^2 > 1`,
    /// which would cost its second order and may leave small oscillations; the two
    /// L-stable half steps damp it at a local error of second order, so the scheme stays
    /// second order.
    fn step_to(&mut self, t1_day: f64) {
        let t0 = self.time_day;
        if t0 == 0.0 {
            // Fractions at exactly t = 0 act before the first step.
            self.apply_fractions_at(0.0);
            if self.params.scheme == DiffusionScheme::CrankNicolson {
                let tm = 0.5 * t1_day;
                self.symmetric_step(0.0, tm, 1.0);
                self.symmetric_step(tm, t1_day, 1.0);
                self.time_day = t1_day;
                self.apply_fractions_at(t1_day);
                return;
            }
        }
        self.symmetric_step(t0, t1_day, self.params.scheme.theta());
        self.time_day = t1_day;
        self.apply_fractions_at(t1_day);
    }

    /// The symmetric composition of kill, reaction and LOD diffusion from `t0` to `t1`
    /// with the diffusion's theta.
    fn symmetric_step(&mut self, t0: f64, t1_day: f64, theta: f64) {
        let dt = t1_day - t0;
        let tm = t0 + 0.5 * dt;
        self.continuous_kill(t0, tm);
        self.logistic(0.5 * dt);
        self.diffuse_x(0.5 * dt, theta);
        self.diffuse_y(0.5 * dt, theta);
        self.diffuse_z(dt, theta);
        self.diffuse_y(0.5 * dt, theta);
        self.diffuse_x(0.5 * dt, theta);
        self.logistic(0.5 * dt);
        self.continuous_kill(tm, t1_day);
    }

    fn apply_fractions_at(&mut self, t_day: f64) {
        let eps = 1e-9 * self.params.dt_day;
        let density = &mut self.density;
        for c in &self.courses {
            if let Course::Fractions {
                times_day,
                dose_gy,
                lq,
            } = c
            {
                let due = times_day
                    .iter()
                    .filter(|tf| (**tf - t_day).abs() <= eps)
                    .count();
                for _ in 0..due {
                    density
                        .par_iter_mut()
                        .zip(dose_gy.par_iter())
                        .with_min_len(4096)
                        .for_each(|(c, d)| {
                            *c *= crate::radiobiology::lq_survival(
                                *d,
                                lq.alpha_per_gy,
                                lq.beta_per_gy2,
                            );
                        });
                }
            }
        }
    }

    /// Multiplies the density by the surviving fraction of the continuous irradiation
    /// between `t0` and `t1` (days).
    fn continuous_kill(&mut self, t0: f64, t1: f64) {
        let density = &mut self.density;
        for c in &self.courses {
            if let Course::DecayingDoseRate {
                start_day,
                total_dose_gy,
                decay_per_day,
                lq,
            } = c
            {
                let (a, b) = (t0.max(*start_day) - start_day, t1 - start_day);
                if b <= a {
                    continue;
                }
                // Unit initial rate: dose and quadratic integral scale as R0 and R0^2.
                let unit = DecayingDoseRate {
                    initial_gy_per_day: 1.0,
                    decay_per_day: *decay_per_day,
                };
                let lin = lq.alpha_per_gy * unit.dose_between_gy(a, b);
                let quad =
                    2.0 * lq.beta_per_gy2 * unit.quadratic_integral_gy2(a, b, lq.repair_per_day);
                let lambda = *decay_per_day;
                density
                    .par_iter_mut()
                    .zip(total_dose_gy.par_iter())
                    .with_min_len(4096)
                    .for_each(|(c, d)| {
                        let r0 = d * lambda;
                        *c *= (-(lin * r0 + quad * r0 * r0)).exp();
                    });
            }
        }
    }

    /// Exact logistic growth over `h` days.
    fn logistic(&mut self, h: f64) {
        let k = self.params.carrying_capacity_cells_per_mm3;
        let e = (self.params.rho_per_day * h).exp();
        self.density
            .par_iter_mut()
            .with_min_len(4096)
            .for_each(|c| *c = k * *c * e / (k + *c * (e - 1.0)));
    }

    fn diffuse_x(&mut self, h: f64, theta: f64) {
        let [nx, ny, _] = self.dims;
        if nx < 2 {
            return;
        }
        let plane = nx * ny;
        // Each z-plane is transposed into a scratch buffer (x slowest), so that the lines
        // along x become lanes solved together like the other axes' lines, and back.
        self.density
            .par_chunks_mut(plane)
            .zip(self.w[0].par_chunks(plane))
            .for_each_init(
                || {
                    (
                        vec![0.0; plane],
                        vec![0.0; plane],
                        vec![0.0; plane],
                        vec![0.0; ny],
                    )
                },
                |(t, cp, dp, zeros), (u, w_t)| {
                    for y in 0..ny {
                        for x in 0..nx {
                            t[x * ny + y] = u[y * nx + x];
                        }
                    }
                    let mut lines: Vec<&mut [f64]> = t.chunks_mut(ny).collect();
                    let wl: Vec<&[f64]> = w_t.chunks(ny).collect();
                    thomas_lanes(&mut lines, &wl, h, theta, cp, dp, zeros);
                    for x in 0..nx {
                        for y in 0..ny {
                            u[y * nx + x] = t[x * ny + y];
                        }
                    }
                },
            );
    }

    fn diffuse_y(&mut self, h: f64, theta: f64) {
        let [nx, ny, _] = self.dims;
        if ny < 2 {
            return;
        }
        let plane = nx * ny;
        self.density
            .par_chunks_mut(plane)
            .zip(self.w[1].par_chunks(plane))
            .for_each_init(
                || (vec![0.0; plane], vec![0.0; plane], vec![0.0; nx]),
                |(cp, dp, zeros), (u, w)| {
                    // Blocks of LANE_BLOCK columns, so that the scratch stays in cache.
                    let blocks = nx.div_ceil(LANE_BLOCK);
                    let mut groups: Vec<LaneBlock> = (0..blocks)
                        .map(|_| (Vec::with_capacity(ny), Vec::with_capacity(ny)))
                        .collect();
                    for (row, wrow) in u.chunks_mut(nx).zip(w.chunks(nx)) {
                        for (j, (a, b)) in row
                            .chunks_mut(LANE_BLOCK)
                            .zip(wrow.chunks(LANE_BLOCK))
                            .enumerate()
                        {
                            groups[j].0.push(a);
                            groups[j].1.push(b);
                        }
                    }
                    for (mut lines, wl) in groups {
                        thomas_lanes(&mut lines, &wl, h, theta, cp, dp, zeros);
                    }
                },
            );
    }

    fn diffuse_z(&mut self, h: f64, theta: f64) {
        let [nx, ny, nz] = self.dims;
        if nz < 2 {
            return;
        }
        let plane = nx * ny;
        // Columns are grouped in blocks of `width` lanes; every block holds its lanes of
        // every z-plane and is solved independently (the same arithmetic whatever the
        // blocking, so the result does not depend on the thread count).
        let width = LANE_BLOCK.min(plane);
        let blocks = plane.div_ceil(width);
        let mut groups: Vec<LaneBlock> = (0..blocks)
            .map(|_| (Vec::with_capacity(nz), Vec::with_capacity(nz)))
            .collect();
        for (u_plane, w_plane) in self.density.chunks_mut(plane).zip(self.w[2].chunks(plane)) {
            for (j, (u, w)) in u_plane
                .chunks_mut(width)
                .zip(w_plane.chunks(width))
                .enumerate()
            {
                groups[j].0.push(u);
                groups[j].1.push(w);
            }
        }
        groups.into_par_iter().for_each_init(
            || {
                (
                    vec![0.0; width * nz],
                    vec![0.0; width * nz],
                    vec![0.0; width],
                )
            },
            |(cp, dp, zeros), (mut lines, wl)| {
                thomas_lanes(&mut lines, &wl, h, theta, cp, dp, zeros)
            },
        );
    }

    /// Observables with detection threshold `threshold_cells_per_mm3`.
    pub fn observables(&self, threshold_cells_per_mm3: f64) -> Observables {
        let partial: Vec<(f64, usize, f64)> = self
            .density
            .par_chunks(REDUCE_CHUNK)
            .map(|chunk| {
                let mut s = 0.0;
                let mut n = 0usize;
                let mut m: f64 = 0.0;
                for c in chunk {
                    s += c;
                    if *c >= threshold_cells_per_mm3 {
                        n += 1;
                    }
                    m = m.max(*c);
                }
                (s, n, m)
            })
            .collect();
        let vox = self.voxel_mm[0] * self.voxel_mm[1] * self.voxel_mm[2];
        let (mut s, mut n, mut m) = (0.0, 0usize, 0.0f64);
        for (ps, pn, pm) in partial {
            s += ps;
            n += pn;
            m = m.max(pm);
        }
        let volume = n as f64 * vox;
        Observables {
            time_day: self.time_day,
            total_cells: s * vox,
            detectable_volume_mm3: volume,
            equivalent_radius_mm: (3.0 * volume / (4.0 * std::f64::consts::PI)).cbrt(),
            max_density_cells_per_mm3: m,
        }
    }
}

/// Theta-scheme step over `h` days of the 1-D operator `(L u)_k = w_k (u_{k+1} - u_k) -
/// w_{k-1} (u_k - u_{k-1})` (zero flux at both ends) on many independent lines solved
/// together by the Thomas algorithm: `lines[k]` holds element `k` of every lane (so the
/// inner loops run over contiguous lanes and vectorise), and `w[k][j]` is the conductance
/// between elements `k` and `k+1` of lane `j`. `cp` and `dp` are scratch of at least
/// `lines.len() * lanes` values, `zeros` at least `lanes` zeros. Every lane goes through
/// the same operations whatever the other lanes, so results do not depend on how lines
/// are grouped.
fn thomas_lanes(
    lines: &mut [&mut [f64]],
    w: &[&[f64]],
    h: f64,
    theta: f64,
    cp: &mut [f64],
    dp: &mut [f64],
    zeros: &[f64],
) {
    let n = lines.len();
    let lanes = lines[0].len();
    let zeros = &zeros[..lanes];
    let (ti, te) = (theta * h, (1.0 - theta) * h);
    for k in 0..n {
        let (cp_prev, cp_rest) = cp.split_at_mut(k * lanes);
        let (dp_prev, dp_rest) = dp.split_at_mut(k * lanes);
        let cpk = &mut cp_rest[..lanes];
        let dpk = &mut dp_rest[..lanes];
        let (pc, pd) = if k > 0 {
            (&cp_prev[(k - 1) * lanes..], &dp_prev[(k - 1) * lanes..])
        } else {
            (zeros, zeros)
        };
        let (pc, pd) = (&pc[..lanes], &pd[..lanes]);
        let (before, rest) = lines.split_at_mut(k);
        let (cur, after) = rest.split_first_mut().expect("k < n");
        let uk: &[f64] = &cur[..lanes];
        // At the ends the missing neighbour has a zero conductance; any finite value
        // stands in for it.
        let um: &[f64] = if k > 0 { &before[k - 1][..lanes] } else { uk };
        let up: &[f64] = if k + 1 < n { &after[0][..lanes] } else { uk };
        let wm: &[f64] = if k > 0 { &w[k - 1][..lanes] } else { zeros };
        let wp: &[f64] = if k + 1 < n { &w[k][..lanes] } else { zeros };
        for j in 0..lanes {
            let lap = wp[j] * (up[j] - uk[j]) - wm[j] * (uk[j] - um[j]);
            let rhs = uk[j] + te * lap;
            let a = -ti * wm[j];
            let c = -ti * wp[j];
            let b = 1.0 + ti * (wm[j] + wp[j]);
            let inv = 1.0 / (b - a * pc[j]);
            cpk[j] = c * inv;
            dpk[j] = (rhs - a * pd[j]) * inv;
        }
    }
    // Back substitution: u_{n-1} = dp_{n-1}; u_k = dp_k - cp_k u_{k+1}.
    lines[n - 1][..lanes].copy_from_slice(&dp[(n - 1) * lanes..n * lanes]);
    for k in (0..n - 1).rev() {
        let (head, tail) = lines.split_at_mut(k + 1);
        let next = &tail[0][..lanes];
        let cur = &mut head[k][..lanes];
        let (cpk, dpk) = (
            &cp[k * lanes..(k + 1) * lanes],
            &dp[k * lanes..(k + 1) * lanes],
        );
        for j in 0..lanes {
            cur[j] = dpk[j] - cpk[j] * next[j];
        }
    }
}
