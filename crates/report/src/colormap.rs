//! Perceptually uniform colour map for doses.
//!
//! [`viridis`] is matplotlib's default colour map *viridis* (Stéfan van der Walt and
//! Nathaniel Smith, 2015, released under CC0; matplotlib `lib/matplotlib/_cm_listed.py`),
//! approximated by linear interpolation in sRGB between nine control points: the table
//! sampled at t = 0, 1/8, ..., 1, the values R's `viridisLite::viridis(9)` gives
//! (`#440154`, `#472D7B`, `#3B528B`, `#2C728E`, `#21908C`, `#27AD81`, `#5DC863`,
//! `#AADC32`, `#FDE725`). Lightness rises monotonically from dark violet (t = 0) to
//! yellow (t = 1), so the map reads correctly in grey scale and for the common
//! colour-vision deficiencies (unlike a rainbow map).

use crate::canvas::Rgb;

/// The nine viridis control points at t = k/8, k = 0..=8.
pub const VIRIDIS_CONTROL_POINTS: [Rgb; 9] = [
    [0x44, 0x01, 0x54],
    [0x47, 0x2D, 0x7B],
    [0x3B, 0x52, 0x8B],
    [0x2C, 0x72, 0x8E],
    [0x21, 0x90, 0x8C],
    [0x27, 0xAD, 0x81],
    [0x5D, 0xC8, 0x63],
    [0xAA, 0xDC, 0x32],
    [0xFD, 0xE7, 0x25],
];

/// The viridis colour of `t` in \[0, 1\] (clamped; NaN gives the colour of 0).
pub fn viridis(t: f64) -> Rgb {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let n = VIRIDIS_CONTROL_POINTS.len() - 1;
    let x = t * n as f64;
    let k = (x.floor() as usize).min(n - 1);
    let f = x - k as f64;
    let (a, b) = (VIRIDIS_CONTROL_POINTS[k], VIRIDIS_CONTROL_POINTS[k + 1]);
    let mut c = [0u8; 3];
    for i in 0..3 {
        c[i] = (a[i] as f64 + f * (b[i] as f64 - a[i] as f64)).round() as u8;
    }
    c
}

/// Ten distinct colours for curves (matplotlib's `tab10`, the Tableau 10 palette), in
/// order: blue, orange, green, red, purple, brown, pink, grey, olive, cyan.
pub const TAB10: [Rgb; 10] = [
    [0x1f, 0x77, 0xb4],
    [0xff, 0x7f, 0x0e],
    [0x2c, 0xa0, 0x2c],
    [0xd6, 0x27, 0x28],
    [0x94, 0x67, 0xbd],
    [0x8c, 0x56, 0x4b],
    [0xe3, 0x77, 0xc2],
    [0x7f, 0x7f, 0x7f],
    [0xbc, 0xbd, 0x22],
    [0x17, 0xbe, 0xcf],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_midpoint() {
        assert_eq!(viridis(0.0), [0x44, 0x01, 0x54]);
        assert_eq!(viridis(1.0), [0xFD, 0xE7, 0x25]);
        assert_eq!(viridis(0.5), [0x21, 0x90, 0x8C]);
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        // matplotlib's table at index 64 of 256 (t = 0.251): 0.229739, 0.322361, 0.545706.
        let c = viridis(64.0 / 255.0);
        for (got, want) in c.iter().zip([0.229739, 0.322361, 0.545706]) {
            assert!((*got as f64 - want * 255.0).abs() <= 2.0, "{c:?}");
        }
    }

    #[test]
    fn lightness_increases() {
        // Rec. 709 luma as a proxy for lightness.
        let luma = |c: Rgb| 0.2126 * c[0] as f64 + 0.7152 * c[1] as f64 + 0.0722 * c[2] as f64;
        let mut prev = -1.0;
        for k in 0..=100 {
            let l = luma(viridis(k as f64 / 100.0));
            assert!(l >= prev - 0.5, "t = {}", k as f64 / 100.0);
            prev = l;
        }
    }
}
