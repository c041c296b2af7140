//! Axis ticks at "nice" values (1, 2 or 5 times a power of ten) and their labels.

/// Tick values in `[lo, hi]` at a step of 1, 2 or 5 times a power of ten, chosen so that
/// there are at most `max_count` ticks (at least 2 for a non-empty range). A degenerate
/// or non-finite range gives at most one tick (`lo`, when finite).
pub fn nice_ticks(lo: f64, hi: f64, max_count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    if hi <= lo || max_count < 2 {
        return vec![lo];
    }
    let step = nice_step(lo, hi, max_count);
    let first = (lo / step - 1e-9).ceil();
    let last = (hi / step + 1e-9).floor();
    let mut ticks = Vec::new();
    let mut k = first;
    while k <= last && ticks.len() <= max_count {
        let v = k * step;
        ticks.push(if v == 0.0 { 0.0 } else { v });
        k += 1.0;
    }
    ticks
}

/// The tick step [`nice_ticks`] uses for `[lo, hi]`.
pub fn nice_step(lo: f64, hi: f64, max_count: usize) -> f64 {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let count = max_count.max(2) as f64;
    let raw = span / (count - 1.0);
    let mut e = raw.log10().floor();
    loop {
        for m in [1.0, 2.0, 5.0, 10.0] {
            let step = m * 10f64.powf(e);
            let n = (hi / step + 1e-9).floor() - (lo / step - 1e-9).ceil() + 1.0;
            if n <= count {
                return step;
            }
        }
        e += 1.0;
    }
}

/// The smallest "nice" number (1, 2 or 5 times a power of ten) at or above `x` (> 0);
/// 1 for anything else.
pub fn nice_ceil(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let e = x.log10().floor();
    for m in [1.0, 2.0, 5.0, 10.0] {
        let v = m * 10f64.powf(e);
        if v >= x * (1.0 - 1e-12) {
            return v;
        }
    }
    10f64.powf(e + 1.0)
}

/// Labels for `ticks` (as from [`nice_ticks`]) and a common power of ten: when the
/// largest magnitude is below 0.01 or at least 10 000, the labels are the ticks divided
/// by `10^exponent` and the axis title should say "x 10^exponent" ([`superscript`]);
/// otherwise `exponent` is 0. Labels carry just enough decimals to tell the ticks apart.
pub fn tick_labels(ticks: &[f64]) -> (Vec<String>, i32) {
    let max = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    if max == 0.0 || !max.is_finite() {
        return (ticks.iter().map(|t| format!("{t}")).collect(), 0);
    }
    let exponent = if !(1e-2..1e4).contains(&max) {
        max.log10().floor() as i32
    } else {
        0
    };
    let scale = 10f64.powi(exponent);
    let step = if ticks.len() >= 2 {
        (ticks[1] - ticks[0]).abs() / scale
    } else {
        max / scale
    };
    let decimals = if step > 0.0 {
        (-(step.log10() + 1e-9).floor()).clamp(0.0, 10.0) as usize
    } else {
        0
    };
    let labels = ticks
        .iter()
        .map(|t| {
            let s = format!("{:.*}", decimals, t / scale);
            if s.starts_with('-')
                && s.trim_start_matches('-')
                    .chars()
                    .all(|c| c == '0' || c == '.')
            {
                s.trim_start_matches('-').to_string()
            } else {
                s
            }
        })
        .collect();
    (labels, exponent)
}

/// `n` written with Unicode superscript digits and minus sign (e.g. -13 as "⁻¹³").
pub fn superscript(n: i32) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::new();
    if n < 0 {
        s.push('⁻');
    }
    for c in n.unsigned_abs().to_string().chars() {
        s.push(DIGITS[c.to_digit(10).unwrap_or(0) as usize]);
    }
    s
}

/// `v` with `digits` significant digits (at least 1), in plain notation for magnitudes in
/// \[0.001, 10 000) and as "m × 10ⁿ" otherwise (e.g. 3.21e-13 as "3.21 × 10⁻¹³").
pub fn format_significant(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = digits.max(1) as i32;
    let e = v.abs().log10().floor() as i32;
    if (-3..4).contains(&e) {
        let decimals = (digits - 1 - e).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        let m = v / 10f64.powi(e);
        // Rounding may carry the mantissa to 10.
        let (m, e) = if format!("{:.*}", (digits - 1) as usize, m.abs()).starts_with("10") {
            (m / 10.0, e + 1)
        } else {
            (m, e)
        };
        format!("{:.*} × 10{}", (digits - 1) as usize, m, superscript(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_inside() {
        assert_eq!(
            nice_ticks(0.0, 100.0, 6),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(nice_ticks(0.0, 1.0, 11).len(), 11);
        let t = nice_ticks(-87.3, 112.9, 7);
        assert_eq!(t, vec![-50.0, 0.0, 50.0, 100.0]);
        let t = nice_ticks(0.0, 3.7e-13, 6);
        assert_eq!(t.len(), 4);
        assert!((t[1] - 1e-13).abs() < 1e-25);
        for (lo, hi, n) in [
            (0.013, 0.95, 5),
            (-3.0, 1234.5, 8),
            (1e-9, 7e-9, 4),
            (2.0, 2.5, 6),
        ] {
            let t = nice_ticks(lo, hi, n);
            assert!(t.len() >= 2 && t.len() <= n, "{lo} {hi} {t:?}");
            assert!(t
                .iter()
                .all(|v| *v >= lo - 1e-12 * hi.abs() && *v <= hi * (1.0 + 1e-12)));
            let s = t[1] - t[0];
            let m = s / 10f64.powf(s.log10().floor());
            assert!([1.0, 2.0, 5.0].iter().any(|x| (m - x).abs() < 1e-6), "{s}");
        }
        assert_eq!(nice_ticks(5.0, 5.0, 5), vec![5.0]);
        assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
    }

    #[test]
    fn labels_and_exponents() {
        let (l, e) = tick_labels(&[0.0, 20.0, 40.0]);
        assert_eq!((l, e), (vec!["0".to_string(), "20".into(), "40".into()], 0));
        let (l, e) = tick_labels(&[0.0, 0.5, 1.0]);
        assert_eq!(
            (l, e),
            (vec!["0.0".to_string(), "0.5".into(), "1.0".into()], 0)
        );
        let (l, e) = tick_labels(&[0.0, 1e-13, 2e-13, 3e-13]);
        assert_eq!(e, -13);
        assert_eq!(l, vec!["0", "1", "2", "3"]);
        let (l, e) = tick_labels(&[0.0, 5e-14, 1e-13]);
        assert_eq!(e, -13);
        assert_eq!(l, vec!["0.0", "0.5", "1.0"]);
        assert_eq!(superscript(-13), "⁻¹³");
        assert_eq!(nice_ceil(3.2e-13), 5e-13);
        assert_eq!(nice_ceil(1.0), 1.0);
        assert_eq!(format_significant(3.214e-13, 3), "3.21 × 10⁻¹³");
        assert_eq!(format_significant(9.999e-13, 3), "1.00 × 10⁻¹²");
        assert_eq!(format_significant(12.345, 3), "12.3");
        assert_eq!(format_significant(0.0, 3), "0");
    }
}
