//! Iso-lines of a 2-D field by marching squares.

use crate::ReportError;

/// A straight piece of an iso-line: two points in grid coordinates, where sample
/// `(i, j)` (column i, row j) sits at `(i, j)`.
pub type Segment = [(f64, f64); 2];

/// The segments of the iso-line `value == level` of a field sampled on a regular grid
/// (`values[j * width + i]`, row by row), by marching squares with linear interpolation
/// along the cell edges. Samples at or above `level` are inside. In a saddle cell (two
/// diagonally opposite corners inside) the mean of the four corners decides whether the
/// inside corners connect. Cells with a NaN corner are skipped.
///
/// # Errors
/// `values.len() != width * height`, or a non-finite level.
pub fn marching_squares(
    values: &[f64],
    width: usize,
    height: usize,
    level: f64,
) -> Result<Vec<Segment>, ReportError> {
    if width.checked_mul(height) != Some(values.len()) {
        return Err(ReportError::Input(format!(
            "a {width} x {height} field needs {} values, not {}",
            width.saturating_mul(height),
            values.len()
        )));
    }
    if !level.is_finite() {
        return Err(ReportError::Input(format!(
            "iso-line level {level} is not finite"
        )));
    }
    let mut out = Vec::new();
    if width < 2 || height < 2 {
        return Ok(out);
    }
    let v = |i: usize, j: usize| values[j * width + i];
    let cross = |(x0, y0): (f64, f64), a: f64, (x1, y1): (f64, f64), b: f64| -> (f64, f64) {
        let t = if b != a {
            ((level - a) / (b - a)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        (x0 + t * (x1 - x0), y0 + t * (y1 - y0))
    };
    for j in 0..height - 1 {
        for i in 0..width - 1 {
            // Corners clockwise from the top left.
            let p = [
                (i as f64, j as f64),
                (i as f64 + 1.0, j as f64),
                (i as f64 + 1.0, j as f64 + 1.0),
                (i as f64, j as f64 + 1.0),
            ];
            let c = [v(i, j), v(i + 1, j), v(i + 1, j + 1), v(i, j + 1)];
            if c.iter().any(|x| x.is_nan()) {
                continue;
            }
            let inside = c.map(|x| x >= level);
            // Crossing on edge k (corner k to corner k+1): top, right, bottom, left.
            let mut edges: [Option<(f64, f64)>; 4] = [None; 4];
            for k in 0..4 {
                let l = (k + 1) % 4;
                if inside[k] != inside[l] {
                    edges[k] = Some(cross(p[k], c[k], p[l], c[l]));
                }
            }
            let found: Vec<(usize, (f64, f64))> = edges
                .iter()
                .enumerate()
                .filter_map(|(k, e)| e.map(|q| (k, q)))
                .collect();
            match found.len() {
                2 => out.push([found[0].1, found[1].1]),
                4 => {
                    let centre_inside = c.iter().sum::<f64>() / 4.0 >= level;
                    let [Some(top), Some(right), Some(bottom), Some(left)] = edges else {
                        continue;
                    };
                    if centre_inside == inside[0] {
                        // Corners 0 and 2 connect through the centre: cut off 1 and 3.
                        out.push([top, right]);
                        out.push([bottom, left]);
                    } else {
                        // Cut off corners 0 and 2.
                        out.push([left, top]);
                        out.push([right, bottom]);
                    }
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_of_a_distance_field() {
        let (n, r, c) = (61usize, 20.0, 30.3);
        let values: Vec<f64> = (0..n * n)
            .map(|k| {
                let (i, j) = ((k % n) as f64, (k / n) as f64);
                -((i - c).hypot(j - c + 0.2))
            })
            .collect();
        let segs = marching_squares(&values, n, n, -r).unwrap();
        let mut length = 0.0;
        for s in &segs {
            for p in s {
                let d = (p.0 - c).hypot(p.1 - c + 0.2);
                assert!((d - r).abs() < 0.02, "{p:?} at {d}");
            }
            length += (s[0].0 - s[1].0).hypot(s[0].1 - s[1].1);
        }
        // The inscribed polygon is a little shorter than the circle.
        let circ = 2.0 * std::f64::consts::PI * r;
        assert!(length < circ && length > 0.99 * circ, "{length} vs {circ}");
        // Every end point is shared by exactly two segments: a closed curve.
        let key = |p: (f64, f64)| ((p.0 * 1e6).round() as i64, (p.1 * 1e6).round() as i64);
        let mut count = std::collections::HashMap::new();
        for s in &segs {
            for p in s {
                *count.entry(key(*p)).or_insert(0) += 1;
            }
        }
        assert!(count.values().all(|&k| k == 2));
    }

    #[test]
    fn saddles_flat_fields_and_bad_input() {
        // Saddle: corners 0 and 2 high; the centre mean decides.
        let s = marching_squares(&[1.0, 0.0, 0.0, 1.0], 2, 2, 0.6).unwrap();
        assert_eq!(s.len(), 2);
        let s = marching_squares(&[1.0, 0.0, 0.0, 1.0], 2, 2, 0.4).unwrap();
        assert_eq!(s.len(), 2);
        assert!(marching_squares(&[1.0; 9], 3, 3, 0.5).unwrap().is_empty());
        assert!(marching_squares(&[1.0; 8], 3, 3, 0.5).is_err());
        assert!(marching_squares(&[1.0; 9], 3, 3, f64::NAN).is_err());
        assert!(marching_squares(&[f64::NAN; 9], 3, 3, 0.5)
            .unwrap()
            .is_empty());
    }
}
