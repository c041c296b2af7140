//! Reproducible random streams.
//!
//! Every random number in pedisim comes from a stream that is a pure function of
//! `(seed, domain, index)`: the run's seed, what the stream is for (a [`domain`] constant),
//! and the index of the thing that draws from it (a history, a cell, a time step). No
//! generator belongs to a thread, so results do not depend on how work is scheduled over
//! threads or MPI ranks.
//!
//! The generator is xoshiro256++ (Blackman and Vigna 2019, via `rand_xoshiro`), seeded by
//! a SplitMix64 hash of the key. Streams of different keys are statistically independent
//! for all practical purposes (the key hash is a bijective 64-bit mixer applied in a chain).

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Stream domains: what a random stream is used for. Distinct domains never share streams.
pub mod domain {
    /// One Monte Carlo history (a decay or a source particle), indexed by its global number.
    pub const HISTORY: u64 = 1;
    /// Set-up sampling that is not part of a history (e.g. test sampling of distributions).
    pub const SETUP: u64 = 2;
    /// Tumour-growth model: one agent or grid cell per index.
    pub const GROWTH: u64 = 3;
}

/// SplitMix64 finaliser (Steele, Lea and Flood 2014): a bijective 64-bit mixer.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random stream keyed by `(seed, domain, index)`.
#[derive(Clone, Debug)]
pub struct StreamRng {
    inner: Xoshiro256PlusPlus,
}

impl StreamRng {
    /// The stream for `(seed, domain, index)`.
    #[inline]
    pub fn new(seed: u64, domain: u64, index: u64) -> Self {
        let key = splitmix64(seed ^ splitmix64(domain ^ splitmix64(index)));
        Self {
            inner: Xoshiro256PlusPlus::seed_from_u64(key),
        }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform number in [0, 1) with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.inner.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Two independent uniform numbers in [0, 1) with 32 random bits each, from one 64-bit
    /// draw (for decisions that need no more resolution: an azimuth, a table bin).
    #[inline]
    pub fn uniform_pair(&mut self) -> (f64, f64) {
        const SCALE: f64 = 1.0 / (1u64 << 32) as f64;
        let bits = self.inner.next_u64();
        (
            (bits >> 32) as f64 * SCALE,
            (bits & 0xffff_ffff) as f64 * SCALE,
        )
    }

    /// A uniform number in (0, 1]: safe as the argument of `ln`.
    #[inline]
    pub fn uniform_open0(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// An exponentially distributed number with unit mean, by the ziggurat method of
    /// Marsaglia and Tsang (2000) with 256 layers: one 64-bit draw and a multiplication in
    /// 98.9 % of calls, no logarithm (see [`ziggurat`]).
    #[inline(always)]
    pub fn exponential(&mut self) -> f64 {
        let z = ziggurat::tables();
        let bits = self.inner.next_u64();
        let i = (bits & 0xff) as usize;
        // 52 random bits for the position in the layer, independent of the 8 layer bits.
        let u = (bits >> 12) as f64 * (1.0 / (1u64 << 52) as f64);
        let x = u * z.x[i];
        if x < z.x[i + 1] {
            return x;
        }
        self.exponential_edge(i, x)
    }

    /// The rest of [`Self::exponential`] after a draw `x` in layer `i` fell outside the
    /// layer's inner rectangle (1.1 % of calls): the tail, or the wedge test, then new
    /// draws as in the first. Out of line, so that the common path inlines small.
    #[cold]
    #[inline(never)]
    fn exponential_edge(&mut self, mut i: usize, mut x: f64) -> f64 {
        let z = ziggurat::tables();
        loop {
            if i == 0 {
                // The tail beyond r: r + Exp(1) by memorylessness.
                return ziggurat::R - self.uniform_open0().ln();
            }
            if z.f[i + 1] + (z.f[i] - z.f[i + 1]) * self.uniform() < (-x).exp() {
                return x;
            }
            let bits = self.inner.next_u64();
            i = (bits & 0xff) as usize;
            let u = (bits >> 12) as f64 * (1.0 / (1u64 << 52) as f64);
            x = u * z.x[i];
            if x < z.x[i + 1] {
                return x;
            }
        }
    }

    /// A uniformly distributed azimuth, returned as `(cos phi, sin phi)`. Uses rejection
    /// from the unit disc (no trigonometric call; acceptance pi/4), one 64-bit draw per
    /// trial (32 bits per coordinate).
    #[inline]
    pub fn azimuth(&mut self) -> (f64, f64) {
        loop {
            let (ua, ub) = self.uniform_pair();
            let a = 2.0 * ua - 1.0;
            let b = 2.0 * ub - 1.0;
            let r2 = a * a + b * b;
            if r2 <= 1.0 && r2 > 1e-300 {
                let inv = 1.0 / r2;
                return ((a * a - b * b) * inv, 2.0 * a * b * inv);
            }
        }
    }

    /// A uniformly distributed azimuth phi, returned as `(cos phi, sin phi)`, from one
    /// 64-bit draw without rejection, division or trigonometric call: phi = 2 pi (i/256 +
    /// j/65536) + delta, with i and j the top two bytes of the draw and delta uniform in
    /// [0, 2 pi/65536) from the next 37 bits. cos and sin of the two table angles come from
    /// tables ([`azimuth_tables`]) and are combined with those of delta (its series to
    /// delta^4, exact to rounding for delta < 1e-4) by the angle-addition formulas. The
    /// result is on the unit circle to about 1e-16. Used by photon transport; the
    /// rejection sampler [`Self::azimuth`] stays for the other users of the streams.
    #[inline(always)]
    pub fn azimuth_table(&mut self) -> (f64, f64) {
        const STEP: f64 = std::f64::consts::TAU / 65536.0;
        let t = azimuth_tables::tables();
        let bits = self.inner.next_u64();
        let (ca, sa) = t.coarse[(bits >> 56) as usize];
        let (cb, sb) = t.fine[((bits >> 48) & 0xff) as usize];
        let d = ((bits >> 11) & ((1 << 37) - 1)) as f64 * (STEP / (1u64 << 37) as f64);
        let d2 = d * d;
        let cd = 1.0 - d2 * (0.5 - d2 * (1.0 / 24.0));
        let sd = d * (1.0 - d2 * (1.0 / 6.0));
        let (c1, s1) = (ca * cb - sa * sb, sa * cb + ca * sb);
        (c1 * cd - s1 * sd, s1 * cd + c1 * sd)
    }

    /// An isotropic unit direction `[u, v, w]`.
    #[inline]
    pub fn isotropic(&mut self) -> [f64; 3] {
        self.isotropic_with(Self::azimuth)
    }

    /// An isotropic unit direction `[u, v, w]` with the azimuth of
    /// [`Self::azimuth_table`] (the photon and electron transport's version).
    #[inline(always)]
    pub fn isotropic_table(&mut self) -> [f64; 3] {
        self.isotropic_with(Self::azimuth_table)
    }

    /// w uniform in [-1, 1), then the azimuth `(cos phi, sin phi)` from `azimuth`.
    #[inline(always)]
    fn isotropic_with(&mut self, azimuth: impl FnOnce(&mut Self) -> (f64, f64)) -> [f64; 3] {
        let w = 2.0 * self.uniform() - 1.0;
        let s = (1.0 - w * w).max(0.0).sqrt();
        let (c, sn) = azimuth(self);
        [s * c, s * sn, w]
    }
}

/// Tables of [`StreamRng::azimuth_table`]: cos and sin of 2 pi k/256 (coarse) and of
/// 2 pi k/65536 (fine) for k = 0..256, computed once with the library's `sin_cos`.
pub mod azimuth_tables {
    use std::sync::LazyLock;

    /// `(cos, sin)` of the coarse and fine angles.
    pub struct Tables {
        /// Angles 2 pi k / 256.
        pub coarse: [(f64, f64); 256],
        /// Angles 2 pi k / 65536.
        pub fine: [(f64, f64); 256],
    }

    static TABLES: LazyLock<Tables> = LazyLock::new(|| {
        let tau = std::f64::consts::TAU;
        let mut coarse = [(0.0, 0.0); 256];
        let mut fine = [(0.0, 0.0); 256];
        for k in 0..256 {
            let (s, c) = (tau * k as f64 / 256.0).sin_cos();
            coarse[k] = (c, s);
            let (s, c) = (tau * k as f64 / 65536.0).sin_cos();
            fine[k] = (c, s);
        }
        Tables { coarse, fine }
    });

    /// The tables (computed once).
    #[inline(always)]
    pub fn tables() -> &'static Tables {
        &TABLES
    }
}

/// Tables of the exponential ziggurat (Marsaglia and Tsang, "The ziggurat method for
/// generating random variables", J. Stat. Softw. 5(8), 2000), 256 layers of equal area.
pub mod ziggurat {
    use std::sync::LazyLock;

    /// Start of the tail (right edge of the base layer).
    pub const R: f64 = 7.697_117_470_131_05;
    /// Area of each layer.
    pub const V: f64 = 3.949_659_822_581_572e-3;

    /// Layer edges `x` (descending, `x[256] = 0`) and `f = exp(-x)`.
    pub struct Tables {
        /// Outer edges of the layers; `x[0] = V / exp(-R)` is the base layer's virtual width.
        pub x: [f64; 257],
        /// exp(-x).
        pub f: [f64; 257],
    }

    static TABLES: LazyLock<Tables> = LazyLock::new(|| {
        let mut x = [0.0; 257];
        let mut f = [0.0; 257];
        x[0] = V / (-R).exp();
        x[1] = R;
        for i in 2..256 {
            x[i] = -(V / x[i - 1] + (-x[i - 1]).exp()).ln();
        }
        x[256] = 0.0;
        for i in 0..257 {
            f[i] = (-x[i]).exp();
        }
        Tables { x, f }
    });

    /// The tables (computed once).
    #[inline(always)]
    pub fn tables() -> &'static Tables {
        &TABLES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chi-square of 1e6 ziggurat samples against the exponential distribution in 50 bins of
    /// equal probability (the 99.9 % quantile for 49 degrees of freedom is 85.4), plus mean
    /// and variance within 4 standard errors.
    #[test]
    fn ziggurat_exponential_is_exponential() {
        let mut r = StreamRng::new(5, domain::SETUP, 1);
        let n = 1_000_000;
        let bins = 50;
        let mut h = vec![0usize; bins];
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let x = r.exponential();
            assert!(x >= 0.0 && x.is_finite());
            s += x;
            s2 += x * x;
            // CDF 1 - exp(-x) in equal-probability bins.
            let b = ((1.0 - (-x).exp()) * bins as f64) as usize;
            h[b.min(bins - 1)] += 1;
        }
        let nf = n as f64;
        let e = nf / bins as f64;
        let chi2: f64 = h.iter().map(|&o| (o as f64 - e).powi(2) / e).sum();
        assert!(chi2 < 85.4, "chi2 {chi2}");
        let mean = s / nf;
        let var = s2 / nf - mean * mean;
        assert!((mean - 1.0).abs() < 4.0 / nf.sqrt(), "{mean}");
        // Var of x^2 for Exp(1) is 20, so the sample variance has standard error ~ sqrt(8/n).
        assert!((var - 1.0).abs() < 4.0 * (8.0 / nf).sqrt(), "{var}");
    }

    #[test]
    fn streams_are_pure_functions_of_their_key() {
        let mut a = StreamRng::new(1, domain::HISTORY, 99);
        let mut b = StreamRng::new(1, domain::HISTORY, 99);
        let mut c = StreamRng::new(1, domain::HISTORY, 100);
        let xa: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn uniform_mean_and_azimuth_are_unbiased() {
        let mut r = StreamRng::new(7, domain::SETUP, 0);
        let n = 200_000;
        let (mut s, mut sc, mut ss, mut sc2) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..n {
            s += r.uniform();
            let (c, sn) = r.azimuth();
            assert!((c * c + sn * sn - 1.0).abs() < 1e-12);
            sc += c;
            ss += sn;
            sc2 += c * c;
        }
        let n = n as f64;
        // Standard errors: uniform 0.289/sqrt(n), cos and sin 0.707/sqrt(n), cos^2 0.354/sqrt(n).
        assert!((s / n - 0.5).abs() < 4.0 * 0.289 / n.sqrt());
        assert!((sc / n).abs() < 4.0 * 0.707 / n.sqrt());
        assert!((ss / n).abs() < 4.0 * 0.707 / n.sqrt());
        assert!((sc2 / n - 0.5).abs() < 4.0 * 0.354 / n.sqrt());
    }

    #[test]
    fn table_azimuth_is_the_cosine_and_sine_of_its_draw() {
        // phi = 2 pi (top 16 bits / 65536) + delta from the next 37 bits, against the
        // library's sin_cos of that angle, over every coarse and fine table entry.
        let mut r = StreamRng::new(11, domain::SETUP, 3);
        let step = std::f64::consts::TAU / 65536.0;
        for _ in 0..300_000 {
            let bits = r.clone().next_u64();
            let delta = ((bits >> 11) & ((1 << 37) - 1)) as f64 * (step / (1u64 << 37) as f64);
            let phi = (bits >> 48) as f64 * step + delta;
            let (s_ref, c_ref) = phi.sin_cos();
            let (c, s) = r.azimuth_table();
            assert!(
                (c - c_ref).abs() < 2e-15 && (s - s_ref).abs() < 2e-15,
                "{phi}"
            );
            assert!((c * c + s * s - 1.0).abs() < 1e-15);
        }
    }

    /// Chi-square of 1e6 table azimuths in 64 equal bins of phi (the 99.9 % quantile for
    /// 63 degrees of freedom is 103.4), and the resolution: no two of 100 000 draws alike
    /// (an azimuth quantised to the 65 536 table angles would repeat about 75 000 times).
    #[test]
    fn table_azimuth_is_uniform_and_continuous() {
        let mut r = StreamRng::new(12, domain::SETUP, 4);
        let (n, bins) = (1_000_000, 64);
        let mut h = vec![0usize; bins];
        for _ in 0..n {
            let (c, s) = r.azimuth_table();
            let phi = s.atan2(c).rem_euclid(std::f64::consts::TAU);
            h[((phi / std::f64::consts::TAU * bins as f64) as usize).min(bins - 1)] += 1;
        }
        let e = n as f64 / bins as f64;
        let chi2: f64 = h.iter().map(|&k| (k as f64 - e).powi(2) / e).sum();
        assert!(chi2 < 103.4, "chi2 {chi2}");
        let mut v: Vec<u64> = (0..100_000)
            .map(|_| r.azimuth_table().0.to_bits())
            .collect();
        v.sort_unstable();
        v.dedup();
        assert!(v.len() > 99_990, "{} distinct", v.len());
    }

    #[test]
    fn table_isotropic_directions_are_isotropic() {
        let mut r = StreamRng::new(13, domain::SETUP, 5);
        let n = 200_000;
        let mut m = [0.0f64; 3];
        for _ in 0..n {
            let d = r.isotropic_table();
            assert!((d[0] * d[0] + d[1] * d[1] + d[2] * d[2] - 1.0).abs() < 1e-12);
            for k in 0..3 {
                m[k] += d[k];
            }
        }
        // Each component has mean 0 and standard deviation 1/sqrt(3).
        for k in 0..3 {
            assert!(
                (m[k] / n as f64).abs() < 4.0 * 0.577 / (n as f64).sqrt(),
                "{m:?}"
            );
        }
    }
}
