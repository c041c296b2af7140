//! A minimal 3-vector for positions \[mm\] and unit directions.

use std::ops::{Add, AddAssign, Mul, Neg, Sub};

/// A 3-vector of `f64`: a position in millimetres or a dimensionless direction.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Vec3 {
    /// x component.
    pub x: f64,
    /// y component.
    pub y: f64,
    /// z component.
    pub z: f64,
}

impl Vec3 {
    /// Builds a vector from its components.
    #[inline]
    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Self { x, y, z }
    }

    /// Builds a vector from an array `[x, y, z]`.
    #[inline]
    pub const fn from_array(a: [f64; 3]) -> Self {
        Self::new(a[0], a[1], a[2])
    }

    /// The components as an array `[x, y, z]`.
    #[inline]
    pub const fn to_array(self) -> [f64; 3] {
        [self.x, self.y, self.z]
    }

    /// Scalar product.
    #[inline]
    pub fn dot(self, o: Self) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }

    /// Vector product.
    #[inline]
    pub fn cross(self, o: Self) -> Self {
        Self::new(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }

    /// Euclidean norm.
    #[inline]
    pub fn norm(self) -> f64 {
        self.dot(self).sqrt()
    }

    /// The vector scaled to unit length; `None` for a zero or non-finite vector.
    pub fn normalized(self) -> Option<Self> {
        let n = self.norm();
        if n > 0.0 && n.is_finite() {
            Some(self * (1.0 / n))
        } else {
            None
        }
    }

    /// Rotates the unit direction `self` by the polar angle with cosine `cos_theta` and the
    /// azimuth given by `(cos_phi, sin_phi)`, the usual scattering rotation of Monte Carlo
    /// transport codes (e.g. EGSnrc's `uphi`). The result is a unit vector.
    #[inline]
    pub fn rotate(self, cos_theta: f64, cos_phi: f64, sin_phi: f64) -> Self {
        let sin2_theta = (1.0 - cos_theta * cos_theta).max(0.0);
        let (u, v, w) = (self.x, self.y, self.z);
        let rho2 = u * u + v * v;
        if rho2 > 1e-20 {
            // a = sin(theta) / rho and rho sin(theta) = a rho^2, from one square root.
            let a = (sin2_theta / rho2).sqrt();
            Self::new(
                u * cos_theta + a * (u * w * cos_phi - v * sin_phi),
                v * cos_theta + a * (v * w * cos_phi + u * sin_phi),
                w * cos_theta - a * rho2 * cos_phi,
            )
        } else {
            let sin_theta = sin2_theta.sqrt();
            let s = if w >= 0.0 { 1.0 } else { -1.0 };
            Self::new(sin_theta * cos_phi, sin_theta * sin_phi, s * cos_theta)
        }
    }
}

impl Add for Vec3 {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        Self::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}

impl AddAssign for Vec3 {
    #[inline]
    fn add_assign(&mut self, o: Self) {
        self.x += o.x;
        self.y += o.y;
        self.z += o.z;
    }
}

impl Sub for Vec3 {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        Self::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}

impl Mul<f64> for Vec3 {
    type Output = Self;
    #[inline]
    fn mul(self, s: f64) -> Self {
        Self::new(self.x * s, self.y * s, self.z * s)
    }
}

impl Neg for Vec3 {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Self::new(-self.x, -self.y, -self.z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_unit_length_and_polar_angle() {
        let dirs = [
            Vec3::new(0.0, 0.0, 1.0),
            Vec3::new(0.0, 0.0, -1.0),
            Vec3::new(0.6, 0.0, 0.8),
            Vec3::new(0.3, -0.4, (1.0f64 - 0.25).sqrt()),
        ];
        for d in dirs {
            for &(ct, phi) in &[(0.3, 0.2), (-0.9, 2.5), (1.0, 0.0), (-1.0, 1.0)] {
                let r = d.rotate(ct, f64::cos(phi), f64::sin(phi));
                assert!((r.norm() - 1.0).abs() < 1e-12);
                assert!((r.dot(d) - ct).abs() < 1e-12, "{d:?} {ct} -> {r:?}");
            }
        }
    }
}
