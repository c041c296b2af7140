//! Solids of the stylised phantoms: quadric primitives with cutting planes, their boolean
//! combinations, point-in-solid tests, exact intersections with lines parallel to the x axis,
//! analytic volumes and bounding boxes.
//!
//! Every primitive has a *local frame* in which its shape is written (the axis of a
//! cylinder, cone or torus is the local `w` = z axis) and a [`Placement`] that maps local to
//! world coordinates: `world = R * local + centre`. All lengths are in millimetres.
//!
//! A [`Part`] is a base primitive, minus the union of its `subtract` primitives, intersected
//! with each of its `intersect` primitives; a [`Solid`] is the union of its parts.

use std::f64::consts::PI;

/// A point or vector `[x, y, z]` (mm for points).
pub type P3 = [f64; 3];

fn sub(a: P3, b: P3) -> P3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn add(a: P3, b: P3) -> P3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn dot(a: P3, b: P3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// A proper rotation, applied actively: a vector `v` of the local frame is `m * v` in the
/// parent frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rotation {
    /// The rotation matrix, row-major.
    pub m: [[f64; 3]; 3],
}

impl Rotation {
    /// No rotation.
    pub const IDENTITY: Rotation = Rotation {
        m: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    };

    /// `Rz(az) * Ry(ay) * Rx(ax)` from angles `[ax, ay, az]` in degrees: the solid is turned
    /// about the fixed x axis by `ax`, then about the fixed y axis by `ay`, then about the
    /// fixed z axis by `az` (right-handed, counter-clockwise seen from the positive axis).
    /// This is the matrix GDML builds for the `rotation` of a boolean solid's second part.
    pub fn from_xyz_deg(angles_deg: [f64; 3]) -> Self {
        let [ax, ay, az] = angles_deg.map(f64::to_radians);
        let (sx, cx) = ax.sin_cos();
        let (sy, cy) = ay.sin_cos();
        let (sz, cz) = az.sin_cos();
        let rx = [[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]];
        let ry = [[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]];
        let rz = [[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]];
        Rotation {
            m: matmul(rz, matmul(ry, rx)),
        }
    }

    /// `self * other`: first `other`, then `self`.
    pub fn then_after(&self, other: &Rotation) -> Rotation {
        Rotation {
            m: matmul(self.m, other.m),
        }
    }

    /// `m * v`.
    pub fn apply(&self, v: P3) -> P3 {
        let m = &self.m;
        [dot(m[0], v), dot(m[1], v), dot(m[2], v)]
    }

    /// `m^T * v` (the inverse rotation).
    pub fn apply_inverse(&self, v: P3) -> P3 {
        let m = &self.m;
        [
            m[0][0] * v[0] + m[1][0] * v[1] + m[2][0] * v[2],
            m[0][1] * v[0] + m[1][1] * v[1] + m[2][1] * v[2],
            m[0][2] * v[0] + m[1][2] * v[1] + m[2][2] * v[2],
        ]
    }
}

fn matmul(a: [[f64; 3]; 3], b: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut r = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            r[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    r
}

/// Where a local frame sits: `world = rotation * local + centre_mm`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// World position of the local origin \[mm\].
    pub centre_mm: P3,
    /// Orientation of the local axes.
    pub rotation: Rotation,
}

impl Placement {
    /// Local coordinates \[mm\] of a world point \[mm\].
    pub fn to_local(&self, p_mm: P3) -> P3 {
        self.rotation.apply_inverse(sub(p_mm, self.centre_mm))
    }

    /// World coordinates \[mm\] of a local point \[mm\].
    pub fn to_world(&self, q_mm: P3) -> P3 {
        add(self.rotation.apply(q_mm), self.centre_mm)
    }

    /// The placement of a frame given in this frame's local coordinates.
    pub fn compose(&self, child: &Placement) -> Placement {
        Placement {
            centre_mm: self.to_world(child.centre_mm),
            rotation: self.rotation.then_after(&child.rotation),
        }
    }
}

/// The shape of a primitive in its local frame `(u, v, w)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// `(u/a)^2 + (v/b)^2 + (w/c)^2 <= 1`.
    Ellipsoid {
        /// Semi-axes `[a, b, c]` \[mm\].
        semi_axes_mm: P3,
    },
    /// `(u/a)^2 + (v/b)^2 <= 1`, `|w| <= h`.
    EllipticCylinder {
        /// Semi-axes `[a, b]` of the cross-section \[mm\].
        semi_axes_mm: [f64; 2],
        /// Half length `h` along w \[mm\].
        half_length_mm: f64,
    },
    /// A truncated elliptic cone with similar cross-sections: `(u/(a s))^2 + (v/(b s))^2 <= 1`,
    /// `|w| <= h`, where `s = 1 + (top_scale - 1) (w + h) / (2 h)` is 1 at the base
    /// (`w = -h`) and `top_scale` at the top (`w = +h`).
    EllipticCone {
        /// Semi-axes `[a, b]` of the base (`w = -h`) \[mm\].
        base_semi_axes_mm: [f64; 2],
        /// Ratio of the top semi-axes to the base semi-axes (> 0).
        top_scale: f64,
        /// Half length `h` along w \[mm\].
        half_length_mm: f64,
    },
    /// A ring torus about the w axis: `(sqrt(u^2 + v^2) - R)^2 + w^2 <= r^2`, `R >= r`.
    Torus {
        /// Distance `R` from the axis to the centre of the tube \[mm\].
        major_radius_mm: f64,
        /// Radius `r` of the tube \[mm\].
        minor_radius_mm: f64,
    },
    /// `|u| <= hx`, `|v| <= hy`, `|w| <= hz`.
    Box {
        /// Half sizes `[hx, hy, hz]` \[mm\].
        half_sizes_mm: P3,
    },
    /// The half-space `n . q <= 0` (the local origin lies on its boundary plane).
    HalfSpace {
        /// Outward unit normal `n` in the local frame.
        normal: P3,
    },
}

/// Cuts applied to a primitive in its local frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cuts {
    /// Keep `w >= z_min_mm`.
    pub z_min_mm: Option<f64>,
    /// Keep `w <= z_max_mm`.
    pub z_max_mm: Option<f64>,
    /// Keep the wedge of azimuths `phi` (from +u towards +v) in `[start, start + span]`,
    /// `(start_rad, span_rad)` with `0 < span < 2 pi`.
    pub phi_rad: Option<(f64, f64)>,
}

/// A shape with its cuts and placement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Primitive {
    /// The shape in the local frame.
    pub shape: Shape,
    /// Cutting planes in the local frame.
    pub cuts: Cuts,
    /// Local-to-world placement.
    pub placement: Placement,
}

/// An axis-aligned box `[min, max]` \[mm\].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aabb {
    /// Lower corner \[mm\].
    pub min_mm: P3,
    /// Upper corner \[mm\].
    pub max_mm: P3,
}

impl Aabb {
    /// The smallest box holding both.
    pub fn union(&self, o: &Aabb) -> Aabb {
        Aabb {
            min_mm: [0, 1, 2].map(|a| self.min_mm[a].min(o.min_mm[a])),
            max_mm: [0, 1, 2].map(|a| self.max_mm[a].max(o.max_mm[a])),
        }
    }

    /// The overlap of both (may be empty: some `min > max`).
    pub fn intersection(&self, o: &Aabb) -> Aabb {
        Aabb {
            min_mm: [0, 1, 2].map(|a| self.min_mm[a].max(o.min_mm[a])),
            max_mm: [0, 1, 2].map(|a| self.max_mm[a].min(o.max_mm[a])),
        }
    }

    /// Whether the box holds the point.
    pub fn contains(&self, p_mm: P3) -> bool {
        (0..3).all(|a| p_mm[a] >= self.min_mm[a] && p_mm[a] <= self.max_mm[a])
    }

    /// Whether the box holds the line `y = y_mm, z = z_mm` (parallel to x) somewhere.
    pub fn meets_x_line(&self, y_mm: f64, z_mm: f64) -> bool {
        y_mm >= self.min_mm[1]
            && y_mm <= self.max_mm[1]
            && z_mm >= self.min_mm[2]
            && z_mm <= self.max_mm[2]
    }
}

/// A sorted list of disjoint closed intervals `[a, b]` of a line parameter (mm).
pub type Intervals = Vec<(f64, f64)>;

/// `a ∩ b` for sorted disjoint interval lists.
pub fn intersect_intervals(a: &[(f64, f64)], b: &[(f64, f64)]) -> Intervals {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        if lo < hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// `a \ b` for sorted disjoint interval lists.
pub fn subtract_intervals(a: &[(f64, f64)], b: &[(f64, f64)]) -> Intervals {
    let mut out = Vec::new();
    let mut j = 0;
    for &(a0, a1) in a {
        let mut lo = a0;
        while j < b.len() && b[j].1 <= lo {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].0 < a1 {
            if b[k].0 > lo {
                out.push((lo, b[k].0));
            }
            lo = lo.max(b[k].1);
            k += 1;
        }
        if lo < a1 {
            out.push((lo, a1));
        }
    }
    out
}

/// `a ∪ b` for sorted disjoint interval lists.
pub fn union_intervals(a: &[(f64, f64)], b: &[(f64, f64)]) -> Intervals {
    let mut all: Vec<(f64, f64)> = a.iter().chain(b.iter()).copied().collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut out: Intervals = Vec::with_capacity(all.len());
    for (lo, hi) in all {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// The parameters `t` in `[lo, hi]` where `alpha t^2 + beta t + gamma <= 0`.
fn quadratic_le0(alpha: f64, beta: f64, gamma: f64, lo: f64, hi: f64) -> Intervals {
    let clip = |a: f64, b: f64, out: &mut Intervals| {
        let (a, b) = (a.max(lo), b.min(hi));
        if a < b {
            out.push((a, b));
        }
    };
    let mut out = Vec::new();
    if alpha == 0.0 {
        return linear_le0(beta, gamma, lo, hi);
    }
    let disc = beta * beta - 4.0 * alpha * gamma;
    if disc < 0.0 {
        // No real roots: the sign is that of alpha everywhere.
        if alpha < 0.0 {
            clip(lo, hi, &mut out);
        }
        return out;
    }
    let sq = disc.sqrt();
    let q = -0.5 * (beta + if beta >= 0.0 { sq } else { -sq });
    let (mut r1, mut r2) = if q == 0.0 {
        (0.0, 0.0)
    } else {
        (q / alpha, gamma / q)
    };
    if r1 > r2 {
        std::mem::swap(&mut r1, &mut r2);
    }
    if alpha > 0.0 {
        clip(r1, r2, &mut out);
    } else {
        clip(f64::NEG_INFINITY, r1, &mut out);
        clip(r2, f64::INFINITY, &mut out);
    }
    out
}

/// The parameters `t` in `[lo, hi]` where `beta t + gamma <= 0`.
fn linear_le0(beta: f64, gamma: f64, lo: f64, hi: f64) -> Intervals {
    let (a, b) = if beta == 0.0 {
        if gamma <= 0.0 {
            (lo, hi)
        } else {
            return Vec::new();
        }
    } else if beta > 0.0 {
        (lo, hi.min(-gamma / beta))
    } else {
        (lo.max(-gamma / beta), hi)
    };
    if a < b {
        vec![(a, b)]
    } else {
        Vec::new()
    }
}

/// A line `q(t) = q0 + t d` in a primitive's local frame.
#[derive(Clone, Copy)]
struct Line {
    q0: P3,
    d: P3,
}

impl Line {
    fn at(&self, t: f64) -> P3 {
        [0, 1, 2].map(|a| self.q0[a] + t * self.d[a])
    }
}

impl Shape {
    /// Bounding box in the local frame, before cuts.
    fn local_box(&self) -> Option<(P3, P3)> {
        let half = match *self {
            Shape::Ellipsoid { semi_axes_mm } => semi_axes_mm,
            Shape::EllipticCylinder {
                semi_axes_mm: [a, b],
                half_length_mm: h,
            } => [a, b, h],
            Shape::EllipticCone {
                base_semi_axes_mm: [a, b],
                top_scale,
                half_length_mm: h,
            } => {
                let s = top_scale.max(1.0);
                [a * s, b * s, h]
            }
            Shape::Torus {
                major_radius_mm: r0,
                minor_radius_mm: r,
            } => [r0 + r, r0 + r, r],
            Shape::Box { half_sizes_mm } => half_sizes_mm,
            Shape::HalfSpace { .. } => return None,
        };
        Some((half.map(|h| -h), half))
    }

    fn contains_local(&self, q: P3) -> bool {
        let [u, v, w] = q;
        match *self {
            Shape::Ellipsoid {
                semi_axes_mm: [a, b, c],
            } => (u / a).powi(2) + (v / b).powi(2) + (w / c).powi(2) <= 1.0,
            Shape::EllipticCylinder {
                semi_axes_mm: [a, b],
                half_length_mm: h,
            } => w.abs() <= h && (u / a).powi(2) + (v / b).powi(2) <= 1.0,
            Shape::EllipticCone {
                base_semi_axes_mm: [a, b],
                top_scale,
                half_length_mm: h,
            } => {
                let s = 1.0 + (top_scale - 1.0) * (w + h) / (2.0 * h);
                w.abs() <= h && (u / a).powi(2) + (v / b).powi(2) <= s * s
            }
            Shape::Torus {
                major_radius_mm: r0,
                minor_radius_mm: r,
            } => ((u * u + v * v).sqrt() - r0).powi(2) + w * w <= r * r,
            Shape::Box {
                half_sizes_mm: [hx, hy, hz],
            } => u.abs() <= hx && v.abs() <= hy && w.abs() <= hz,
            Shape::HalfSpace { normal } => dot(normal, q) <= 0.0,
        }
    }

    /// Parameters along `line` within `[lo, hi]` inside the shape.
    fn line_intervals(&self, line: &Line, lo: f64, hi: f64) -> Intervals {
        let Line { q0, d } = *line;
        // Quadratic form sum_i k_i q_i^2 along the line.
        let quad = |k: P3| -> (f64, f64, f64) {
            let mut al = 0.0;
            let mut be = 0.0;
            let mut ga = 0.0;
            for i in 0..3 {
                al += k[i] * d[i] * d[i];
                be += 2.0 * k[i] * q0[i] * d[i];
                ga += k[i] * q0[i] * q0[i];
            }
            (al, be, ga)
        };
        // |w| <= h as two linear constraints.
        let slab = |axis: usize, h: f64, set: Intervals| -> Intervals {
            let s = intersect_intervals(&set, &linear_le0(d[axis], q0[axis] - h, lo, hi));
            intersect_intervals(&s, &linear_le0(-d[axis], -q0[axis] - h, lo, hi))
        };
        match *self {
            Shape::Ellipsoid {
                semi_axes_mm: [a, b, c],
            } => {
                let (al, be, ga) = quad([1.0 / (a * a), 1.0 / (b * b), 1.0 / (c * c)]);
                quadratic_le0(al, be, ga - 1.0, lo, hi)
            }
            Shape::EllipticCylinder {
                semi_axes_mm: [a, b],
                half_length_mm: h,
            } => {
                let (al, be, ga) = quad([1.0 / (a * a), 1.0 / (b * b), 0.0]);
                slab(2, h, quadratic_le0(al, be, ga - 1.0, lo, hi))
            }
            Shape::EllipticCone {
                base_semi_axes_mm: [a, b],
                top_scale,
                half_length_mm: h,
            } => {
                // s(t) = s0 + s1 t; constraint: quad - s^2 <= 0.
                let kappa = (top_scale - 1.0) / (2.0 * h);
                let s0 = 1.0 + kappa * (q0[2] + h);
                let s1 = kappa * d[2];
                let (al, be, ga) = quad([1.0 / (a * a), 1.0 / (b * b), 0.0]);
                slab(
                    2,
                    h,
                    quadratic_le0(al - s1 * s1, be - 2.0 * s0 * s1, ga - s0 * s0, lo, hi),
                )
            }
            Shape::Box {
                half_sizes_mm: [hx, hy, hz],
            } => {
                let s = slab(0, hx, vec![(lo, hi)]);
                let s = slab(1, hy, s);
                slab(2, hz, s)
            }
            Shape::HalfSpace { normal } => linear_le0(dot(normal, d), dot(normal, q0), lo, hi),
            Shape::Torus {
                major_radius_mm: r0,
                minor_radius_mm: r,
            } => {
                // Clip to the torus' bounding box, then find the sign changes of the implicit
                // function on a fine step (r / 32) and refine them by bisection.
                let s = slab(0, r0 + r, vec![(lo, hi)]);
                let s = slab(1, r0 + r, s);
                let s = slab(2, r, s);
                let Some(&(a, b)) = s.first() else {
                    return Vec::new();
                };
                let f = |t: f64| {
                    let [u, v, w] = line.at(t);
                    ((u * u + v * v).sqrt() - r0).powi(2) + w * w - r * r
                };
                let n = (((b - a) / (r / 32.0)).ceil() as usize).max(1);
                let step = (b - a) / n as f64;
                let mut out = Vec::new();
                let mut t_prev = a;
                let mut f_prev = f(a);
                let mut start = if f_prev <= 0.0 { Some(a) } else { None };
                for i in 1..=n {
                    let t = if i == n { b } else { a + step * i as f64 };
                    let ft = f(t);
                    if (f_prev <= 0.0) != (ft <= 0.0) {
                        // Bisection for the crossing between t_prev and t.
                        let (mut x0, mut x1) = (t_prev, t);
                        for _ in 0..60 {
                            let xm = 0.5 * (x0 + x1);
                            if (f(xm) <= 0.0) == (f_prev <= 0.0) {
                                x0 = xm;
                            } else {
                                x1 = xm;
                            }
                            if x1 - x0 < 1e-9 {
                                break;
                            }
                        }
                        let tc = 0.5 * (x0 + x1);
                        if let Some(s0) = start.take() {
                            if tc > s0 {
                                out.push((s0, tc));
                            }
                        } else {
                            start = Some(tc);
                        }
                    }
                    t_prev = t;
                    f_prev = ft;
                }
                if let Some(s0) = start {
                    if b > s0 {
                        out.push((s0, b));
                    }
                }
                out
            }
        }
    }

    /// Volume of the shape between local `w = z0` and `w = z1` (clipped to the shape's own
    /// extent) \[mm^3\]; `None` for a half-space.
    fn volume_between(&self, z0: f64, z1: f64) -> Option<f64> {
        let clip = |h: f64| (z0.max(-h), z1.min(h));
        let v = match *self {
            Shape::Ellipsoid {
                semi_axes_mm: [a, b, c],
            } => {
                let (lo, hi) = clip(c);
                if hi <= lo {
                    0.0
                } else {
                    PI * a * b * ((hi - lo) - (hi.powi(3) - lo.powi(3)) / (3.0 * c * c))
                }
            }
            Shape::EllipticCylinder {
                semi_axes_mm: [a, b],
                half_length_mm: h,
            } => {
                let (lo, hi) = clip(h);
                PI * a * b * (hi - lo).max(0.0)
            }
            Shape::EllipticCone {
                base_semi_axes_mm: [a, b],
                top_scale,
                half_length_mm: h,
            } => {
                let (lo, hi) = clip(h);
                if hi <= lo {
                    0.0
                } else {
                    let kappa = (top_scale - 1.0) / (2.0 * h);
                    let s = |w: f64| 1.0 + kappa * (w + h);
                    let integral = if kappa.abs() < 1e-15 {
                        hi - lo
                    } else {
                        (s(hi).powi(3) - s(lo).powi(3)) / (3.0 * kappa)
                    };
                    PI * a * b * integral
                }
            }
            Shape::Torus {
                major_radius_mm: r0,
                minor_radius_mm: r,
            } => {
                // Slice area at height w: pi ((R + x)^2 - (R - x)^2) = 4 pi R x, x = sqrt(r^2 - w^2).
                // Integral of sqrt(r^2 - w^2) is (w x + r^2 asin(w / r)) / 2.
                let (lo, hi) = clip(r);
                if hi <= lo {
                    0.0
                } else {
                    let g = |w: f64| {
                        0.5 * (w * (r * r - w * w).max(0.0).sqrt()
                            + r * r * (w / r).clamp(-1.0, 1.0).asin())
                    };
                    4.0 * PI * r0 * (g(hi) - g(lo))
                }
            }
            Shape::Box {
                half_sizes_mm: [hx, hy, hz],
            } => {
                let (lo, hi) = clip(hz);
                4.0 * hx * hy * (hi - lo).max(0.0)
            }
            Shape::HalfSpace { .. } => return None,
        };
        Some(v)
    }

    /// Whether the cross-sections are circles (or the shape is a torus), so that a wedge of
    /// span `phi` holds the fraction `phi / 2 pi` of the volume.
    fn rotationally_symmetric(&self) -> bool {
        match *self {
            Shape::Ellipsoid {
                semi_axes_mm: [a, b, _],
            } => a == b,
            Shape::EllipticCylinder {
                semi_axes_mm: [a, b],
                ..
            } => a == b,
            Shape::EllipticCone {
                base_semi_axes_mm: [a, b],
                ..
            } => a == b,
            Shape::Torus { .. } => true,
            Shape::Box { .. } | Shape::HalfSpace { .. } => false,
        }
    }

    /// Whether the shape is symmetric under `u -> -u` and `v -> -v` (so a wedge bounded by
    /// the u and v axes holds a whole number of equal quadrants).
    fn quadrant_symmetric(&self) -> bool {
        !matches!(self, Shape::HalfSpace { .. })
    }
}

impl Primitive {
    /// Whether the world point \[mm\] is inside (boundary included).
    pub fn contains(&self, p_mm: P3) -> bool {
        let q = self.placement.to_local(p_mm);
        if let Some(z0) = self.cuts.z_min_mm {
            if q[2] < z0 {
                return false;
            }
        }
        if let Some(z1) = self.cuts.z_max_mm {
            if q[2] > z1 {
                return false;
            }
        }
        if let Some((start, span)) = self.cuts.phi_rad {
            let phi = (q[1].atan2(q[0]) - start).rem_euclid(2.0 * PI);
            if phi > span {
                return false;
            }
        }
        self.shape.contains_local(q)
    }

    /// The parts of the world line `y = y_mm, z = z_mm`, `x` in `[x_lo, x_hi]`, inside the
    /// primitive, as x intervals \[mm\].
    pub fn x_intervals(&self, y_mm: f64, z_mm: f64, x_lo: f64, x_hi: f64) -> Intervals {
        let pl = &self.placement;
        let line = Line {
            q0: pl.to_local([0.0, y_mm, z_mm]),
            d: pl.rotation.apply_inverse([1.0, 0.0, 0.0]),
        };
        let mut set = match (self.shape, self.cuts.phi_rad) {
            // A torus sector: search the torus only inside the wedge (its intersections
            // are found by stepping, the wedge's in closed form).
            (Shape::Torus { .. }, Some((start, span))) if span <= PI => {
                let mut out = Vec::new();
                for (a, b) in wedge(&line, start, span, x_lo, x_hi) {
                    out.extend(self.shape.line_intervals(&line, a, b));
                }
                out
            }
            _ => self.shape.line_intervals(&line, x_lo, x_hi),
        };
        if let Some(z0) = self.cuts.z_min_mm {
            set = intersect_intervals(&set, &linear_le0(-line.d[2], z0 - line.q0[2], x_lo, x_hi));
        }
        if let Some(z1) = self.cuts.z_max_mm {
            set = intersect_intervals(&set, &linear_le0(line.d[2], line.q0[2] - z1, x_lo, x_hi));
        }
        if let Some((start, span)) = self.cuts.phi_rad {
            if span <= PI {
                set = intersect_intervals(&set, &wedge(&line, start, span, x_lo, x_hi));
            } else {
                // The complement of the wedge that covers the rest of the turn.
                let rest = wedge(&line, start + span, 2.0 * PI - span, x_lo, x_hi);
                set = subtract_intervals(&set, &rest);
            }
        }
        set
    }

    /// Analytic volume \[mm^3\] where a closed form exists: every shape except the
    /// half-space, with z cuts, and with an azimuthal wedge where the shape is rotationally
    /// symmetric or the wedge is bounded by the local u and v axes.
    pub fn analytic_volume_mm3(&self) -> Option<f64> {
        let z0 = self.cuts.z_min_mm.unwrap_or(f64::NEG_INFINITY);
        let z1 = self.cuts.z_max_mm.unwrap_or(f64::INFINITY);
        let v = self.shape.volume_between(z0, z1)?;
        match self.cuts.phi_rad {
            None => Some(v),
            Some((start, span)) => {
                let quarter = |x: f64| {
                    let k = x / (0.5 * PI);
                    (k - k.round()).abs() < 1e-12
                };
                if self.shape.rotationally_symmetric()
                    || (self.shape.quadrant_symmetric() && quarter(start) && quarter(span))
                {
                    Some(v * span / (2.0 * PI))
                } else {
                    None
                }
            }
        }
    }

    /// World-frame bounding box (conservative); `None` when unbounded (a half-space).
    pub fn bounding_box(&self) -> Option<Aabb> {
        let (mut lo, mut hi) = self.shape.local_box()?;
        if let Some(z0) = self.cuts.z_min_mm {
            lo[2] = lo[2].max(z0);
        }
        if let Some(z1) = self.cuts.z_max_mm {
            hi[2] = hi[2].min(z1);
        }
        let mut b = Aabb {
            min_mm: [f64::INFINITY; 3],
            max_mm: [f64::NEG_INFINITY; 3],
        };
        for c in 0..8 {
            let q = [0, 1, 2].map(|a| if c >> a & 1 == 1 { hi[a] } else { lo[a] });
            let p = self.placement.to_world(q);
            for a in 0..3 {
                b.min_mm[a] = b.min_mm[a].min(p[a]);
                b.max_mm[a] = b.max_mm[a].max(p[a]);
            }
        }
        Some(b)
    }
}

/// The parameters where the line lies in the wedge `phi in [start, start + span]`,
/// `span <= pi`: on the left of the ray at `start` and on the right of the ray at the end.
fn wedge(line: &Line, start: f64, span: f64, lo: f64, hi: f64) -> Intervals {
    let (s0, c0) = start.sin_cos();
    let (s1, c1) = (start + span).sin_cos();
    let Line { q0, d } = *line;
    // Left of e0: c0 v - s0 u >= 0, i.e. -(c0 v - s0 u) <= 0.
    let a = linear_le0(-(c0 * d[1] - s0 * d[0]), -(c0 * q0[1] - s0 * q0[0]), lo, hi);
    // Right of e1: u s1 - v c1 >= 0.
    let b = linear_le0(-(s1 * d[0] - c1 * d[1]), -(s1 * q0[0] - c1 * q0[1]), lo, hi);
    intersect_intervals(&a, &b)
}

/// A base primitive minus its `subtract` primitives, within all its `intersect` primitives.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The base primitive.
    pub base: Primitive,
    /// Primitives removed from the base.
    pub subtract: Vec<Primitive>,
    /// Primitives the part must also lie in.
    pub intersect: Vec<Primitive>,
}

impl Part {
    /// Whether the world point \[mm\] is inside.
    pub fn contains(&self, p_mm: P3) -> bool {
        self.base.contains(p_mm)
            && self.intersect.iter().all(|s| s.contains(p_mm))
            && !self.subtract.iter().any(|s| s.contains(p_mm))
    }

    /// x intervals \[mm\] of the world line `y = y_mm, z = z_mm` inside the part.
    pub fn x_intervals(&self, y_mm: f64, z_mm: f64, x_lo: f64, x_hi: f64) -> Intervals {
        let mut set = self.base.x_intervals(y_mm, z_mm, x_lo, x_hi);
        for s in &self.intersect {
            if set.is_empty() {
                break;
            }
            set = intersect_intervals(&set, &s.x_intervals(y_mm, z_mm, x_lo, x_hi));
        }
        for s in &self.subtract {
            if set.is_empty() {
                break;
            }
            set = subtract_intervals(&set, &s.x_intervals(y_mm, z_mm, x_lo, x_hi));
        }
        set
    }

    /// World bounding box; `None` when unbounded.
    pub fn bounding_box(&self) -> Option<Aabb> {
        let mut b = self.base.bounding_box();
        for s in &self.intersect {
            if let Some(sb) = s.bounding_box() {
                b = Some(match b {
                    Some(b) => b.intersection(&sb),
                    None => sb,
                });
            }
        }
        b
    }

    /// Analytic volume \[mm^3\] of a part without booleans (see
    /// [`Primitive::analytic_volume_mm3`]); `None` when it has any.
    pub fn analytic_volume_mm3(&self) -> Option<f64> {
        if self.subtract.is_empty() && self.intersect.is_empty() {
            self.base.analytic_volume_mm3()
        } else {
            None
        }
    }
}

/// A union of parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Solid {
    /// The parts; a point is in the solid when it is in any part.
    pub parts: Vec<Part>,
}

impl Solid {
    /// Whether the world point \[mm\] is inside.
    pub fn contains(&self, p_mm: P3) -> bool {
        self.parts.iter().any(|p| p.contains(p_mm))
    }

    /// x intervals \[mm\] of the world line `y = y_mm, z = z_mm` inside the solid.
    pub fn x_intervals(&self, y_mm: f64, z_mm: f64, x_lo: f64, x_hi: f64) -> Intervals {
        let mut set = Vec::new();
        for p in &self.parts {
            if let Some(b) = p.bounding_box() {
                if !b.meets_x_line(y_mm, z_mm) {
                    continue;
                }
            }
            let s = p.x_intervals(y_mm, z_mm, x_lo, x_hi);
            set = if set.is_empty() {
                s
            } else {
                union_intervals(&set, &s)
            };
        }
        set
    }

    /// World bounding box; `None` when some part is unbounded or there are no parts.
    pub fn bounding_box(&self) -> Option<Aabb> {
        let mut it = self.parts.iter();
        let mut b = it.next()?.bounding_box()?;
        for p in it {
            b = b.union(&p.bounding_box()?);
        }
        Some(b)
    }

    /// Analytic volume \[mm^3\] of a solid of one part without booleans; `None` otherwise
    /// (parts may overlap, so their volumes do not simply add).
    pub fn analytic_volume_mm3(&self) -> Option<f64> {
        match self.parts.as_slice() {
            [p] => p.analytic_volume_mm3(),
            _ => None,
        }
    }
}

/// A diagonal affine map of world points: `p' = to_mm + scale * (p - from_mm)` (component
/// by component). With equal scales it is a similarity (organ scaling about a centre);
/// with unequal ones it stretches a body part along the world axes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AxisMap {
    /// The fixed point before the map \[mm\].
    pub from_mm: P3,
    /// Where `from_mm` goes \[mm\].
    pub to_mm: P3,
    /// Scale factors along world x, y, z (positive).
    pub scale: P3,
}

impl AxisMap {
    /// Isotropic scaling by `k` about `centre_mm`.
    pub fn about(centre_mm: P3, k: f64) -> Self {
        Self {
            from_mm: centre_mm,
            to_mm: centre_mm,
            scale: [k; 3],
        }
    }

    /// The image of a world point \[mm\].
    pub fn point(&self, p_mm: P3) -> P3 {
        [0, 1, 2].map(|a| self.to_mm[a] + self.scale[a] * (p_mm[a] - self.from_mm[a]))
    }

    /// Stretch factor along a world unit vector.
    fn stretch(&self, d: P3) -> f64 {
        let s = self.scale;
        ((s[0] * d[0]).powi(2) + (s[1] * d[1]).powi(2) + (s[2] * d[2]).powi(2)).sqrt()
    }
}

impl Primitive {
    /// The primitive under `map`. The centre is mapped exactly and the orientation kept;
    /// each local length is multiplied by the map's stretch along the world direction of
    /// its local axis (exact for a similarity and for solids whose local axes are world
    /// axes; an approximation for rotated solids under an anisotropic map). Half-space
    /// normals are mapped exactly (as covectors); azimuthal cuts are kept.
    pub fn mapped(&self, map: &AxisMap) -> Primitive {
        let r = &self.placement.rotation;
        let s = [0, 1, 2].map(|i| {
            let mut e = [0.0; 3];
            e[i] = 1.0;
            map.stretch(r.apply(e))
        });
        let shape = match self.shape {
            Shape::Ellipsoid { semi_axes_mm } => Shape::Ellipsoid {
                semi_axes_mm: [0, 1, 2].map(|i| semi_axes_mm[i] * s[i]),
            },
            Shape::EllipticCylinder {
                semi_axes_mm: [a, b],
                half_length_mm,
            } => Shape::EllipticCylinder {
                semi_axes_mm: [a * s[0], b * s[1]],
                half_length_mm: half_length_mm * s[2],
            },
            Shape::EllipticCone {
                base_semi_axes_mm: [a, b],
                top_scale,
                half_length_mm,
            } => Shape::EllipticCone {
                base_semi_axes_mm: [a * s[0], b * s[1]],
                top_scale,
                half_length_mm: half_length_mm * s[2],
            },
            Shape::Torus {
                major_radius_mm,
                minor_radius_mm,
            } => {
                let major = major_radius_mm * 0.5 * (s[0] + s[1]);
                let minor = (minor_radius_mm * (s[0] * s[1] * s[2]).cbrt()).min(major);
                Shape::Torus {
                    major_radius_mm: major,
                    minor_radius_mm: minor,
                }
            }
            Shape::Box { half_sizes_mm } => Shape::Box {
                half_sizes_mm: [0, 1, 2].map(|i| half_sizes_mm[i] * s[i]),
            },
            Shape::HalfSpace { normal } => {
                // World normal n_w = R n; under p' = S p it becomes S^-1 n_w.
                let nw = r.apply(normal);
                let nw2 = [0, 1, 2].map(|a| nw[a] / map.scale[a]);
                let nl = r.apply_inverse(nw2);
                let len = dot(nl, nl).sqrt();
                Shape::HalfSpace {
                    normal: nl.map(|x| x / len),
                }
            }
        };
        Primitive {
            shape,
            cuts: Cuts {
                z_min_mm: self.cuts.z_min_mm.map(|z| z * s[2]),
                z_max_mm: self.cuts.z_max_mm.map(|z| z * s[2]),
                phi_rad: self.cuts.phi_rad,
            },
            placement: Placement {
                centre_mm: map.point(self.placement.centre_mm),
                rotation: self.placement.rotation,
            },
        }
    }

    /// The primitive with its surface moved inwards by `t_mm` (outwards for a negative
    /// value): semi-axes, a torus' minor radius and box half sizes reduced by `t_mm`;
    /// cylinder and cone half lengths too when `ends` is set (otherwise the ends stay
    /// open, as for a tube continued by the next part). Cuts and half-spaces are kept.
    /// `None` when a length would not stay positive. Reducing semi-axes by `t` is the
    /// usual stylised-phantom approximation of an inner surface at depth `t` (exact for
    /// spheres and circular cylinders).
    pub fn offset(&self, t_mm: f64, ends: bool) -> Option<Primitive> {
        let ok = |x: f64| if x > 0.0 { Some(x) } else { None };
        let shape = match self.shape {
            Shape::Ellipsoid { semi_axes_mm } => Shape::Ellipsoid {
                semi_axes_mm: [
                    ok(semi_axes_mm[0] - t_mm)?,
                    ok(semi_axes_mm[1] - t_mm)?,
                    ok(semi_axes_mm[2] - t_mm)?,
                ],
            },
            Shape::EllipticCylinder {
                semi_axes_mm: [a, b],
                half_length_mm: h,
            } => Shape::EllipticCylinder {
                semi_axes_mm: [ok(a - t_mm)?, ok(b - t_mm)?],
                half_length_mm: if ends { ok(h - t_mm)? } else { h },
            },
            Shape::EllipticCone {
                base_semi_axes_mm: [a, b],
                top_scale,
                half_length_mm: h,
            } => Shape::EllipticCone {
                base_semi_axes_mm: [ok(a - t_mm)?, ok(b - t_mm)?],
                top_scale,
                half_length_mm: if ends { ok(h - t_mm)? } else { h },
            },
            Shape::Torus {
                major_radius_mm,
                minor_radius_mm,
            } => Shape::Torus {
                major_radius_mm,
                minor_radius_mm: ok(minor_radius_mm - t_mm)?.min(major_radius_mm),
            },
            Shape::Box { half_sizes_mm } => Shape::Box {
                half_sizes_mm: [
                    ok(half_sizes_mm[0] - t_mm)?,
                    ok(half_sizes_mm[1] - t_mm)?,
                    ok(half_sizes_mm[2] - t_mm)?,
                ],
            },
            Shape::HalfSpace { .. } => self.shape,
        };
        Some(Primitive { shape, ..*self })
    }

    /// Whether the primitive is a cut (a box or a half-space) rather than a rounded solid:
    /// cuts stay where they are when a wall is derived; rounded subtracted solids are
    /// cavities whose surface moves with the wall.
    pub fn is_cut(&self) -> bool {
        matches!(self.shape, Shape::Box { .. } | Shape::HalfSpace { .. })
    }
}

impl Part {
    /// The part under `map` (each primitive mapped, see [`Primitive::mapped`]).
    pub fn mapped(&self, map: &AxisMap) -> Part {
        Part {
            base: self.base.mapped(map),
            subtract: self.subtract.iter().map(|p| p.mapped(map)).collect(),
            intersect: self.intersect.iter().map(|p| p.mapped(map)).collect(),
        }
    }

    /// The inner part of a wall of thickness `t_mm`: the base and the rounded intersect
    /// solids moved inwards by `t_mm`, the rounded subtracted solids (cavities) outwards;
    /// cuts kept. `None` when nothing of the base would remain.
    pub fn core(&self, t_mm: f64, ends: bool) -> Option<Part> {
        let base = self.base.offset(t_mm, ends)?;
        let mut subtract = Vec::with_capacity(self.subtract.len());
        for s in &self.subtract {
            subtract.push(if s.is_cut() {
                *s
            } else {
                s.offset(-t_mm, ends)?
            });
        }
        let mut intersect = Vec::with_capacity(self.intersect.len());
        for s in &self.intersect {
            intersect.push(if s.is_cut() {
                *s
            } else {
                s.offset(t_mm, ends)?
            });
        }
        Some(Part {
            base,
            subtract,
            intersect,
        })
    }
}

impl Solid {
    /// The solid under `map`.
    pub fn mapped(&self, map: &AxisMap) -> Solid {
        Solid {
            parts: self.parts.iter().map(|p| p.mapped(map)).collect(),
        }
    }

    /// Volume \[mm^3\] of the solid alone, integrated on lines parallel to x at the
    /// centres of a `step_mm x step_mm` grid over its bounding box (exact along each line).
    /// `None` for an unbounded solid.
    pub fn integrated_volume_mm3(&self, step_mm: f64) -> Option<f64> {
        let b = self.bounding_box()?;
        let ny = ((b.max_mm[1] - b.min_mm[1]) / step_mm).ceil().max(1.0) as usize;
        let nz = ((b.max_mm[2] - b.min_mm[2]) / step_mm).ceil().max(1.0) as usize;
        let dy = (b.max_mm[1] - b.min_mm[1]) / ny as f64;
        let dz = (b.max_mm[2] - b.min_mm[2]) / nz as f64;
        let mut v = 0.0;
        for iz in 0..nz {
            let z = b.min_mm[2] + (iz as f64 + 0.5) * dz;
            for iy in 0..ny {
                let y = b.min_mm[1] + (iy as f64 + 0.5) * dy;
                for (a, c) in self.x_intervals(y, z, b.min_mm[0] - 1.0, b.max_mm[0] + 1.0) {
                    v += c - a;
                }
            }
        }
        Some(v * dy * dz)
    }
}
