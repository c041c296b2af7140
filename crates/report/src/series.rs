//! Curves of quantities against time (tumour-growth trajectories), linear or logarithmic
//! in y, one plot per figure.

use crate::canvas::{Canvas, HAlign, VAlign, BLACK, WHITE};
use crate::dvh::{curve_style, Legend};
use crate::ticks::{nice_step, nice_ticks, superscript, tick_labels};
use crate::{ReportError, Rgb};

/// One curve: `y` against `x`, named for the legend.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Abscissae (e.g. time in days), increasing, finite.
    pub x: Vec<f64>,
    /// Ordinates, finite (and > 0 where the y axis is logarithmic; other points are left
    /// out of the curve).
    pub y: Vec<f64>,
}

/// Options of [`series_plot`].
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesOptions {
    /// Title at the top of the figure.
    pub title: String,
    /// Title of the x axis, with its unit (e.g. "time \[day\]").
    pub x_title: String,
    /// Title of the y axis, with its unit.
    pub y_title: String,
    /// Logarithmic y axis (decades).
    pub log_y: bool,
    /// Vertical marker lines at these x values (e.g. treatment times), drawn in grey.
    pub markers_x: Vec<f64>,
    /// Width of the plot area \[px\]. Default 720.
    pub plot_width_px: u32,
    /// Height of the plot area \[px\]. Default 400.
    pub plot_height_px: u32,
}

impl Default for SeriesOptions {
    fn default() -> Self {
        SeriesOptions {
            title: String::new(),
            x_title: "time [day]".into(),
            y_title: String::new(),
            log_y: false,
            markers_x: Vec::new(),
            plot_width_px: 720,
            plot_height_px: 400,
        }
    }
}

fn input(msg: String) -> ReportError {
    ReportError::Input(msg)
}

/// Draws the curves with grid lines at the ticks, axis titles, optional vertical markers
/// and a legend beside the plot (styles of [`curve_style`]). The x axis spans the data;
/// a linear y axis runs from 0 (or the smallest value if negative) to a nice value above
/// the largest; a logarithmic one spans whole decades around the positive values.
///
/// # Errors
/// No curves, a curve without points or with arrays of different lengths, non-finite
/// values, decreasing x (each naming the curve), no positive value on a logarithmic axis,
/// or a plot area outside 100..=8000 px.
pub fn series_plot(series: &[Series], opts: &SeriesOptions) -> Result<Canvas, ReportError> {
    if series.is_empty() {
        return Err(input("no curves to plot".into()));
    }
    if !(100..=8000).contains(&opts.plot_width_px) || !(100..=8000).contains(&opts.plot_height_px) {
        return Err(input(format!(
            "plot area {} x {} px is not within 100..=8000 px",
            opts.plot_width_px, opts.plot_height_px
        )));
    }
    for s in series {
        if s.x.is_empty() || s.x.len() != s.y.len() {
            return Err(input(format!(
                "curve {}: {} x values and {} y values (need equal, non-zero numbers)",
                s.name,
                s.x.len(),
                s.y.len()
            )));
        }
        if s.x.iter().chain(&s.y).any(|v| !v.is_finite()) {
            return Err(input(format!("curve {}: a value is not finite", s.name)));
        }
        if s.x.windows(2).any(|w| w[1] < w[0]) {
            return Err(input(format!("curve {}: x decreases", s.name)));
        }
    }
    let all_x = series.iter().flat_map(|s| s.x.iter().copied());
    let (x_lo, x_hi) = all_x.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let (x_lo, x_hi) = if x_hi > x_lo {
        (x_lo, x_hi)
    } else {
        (x_lo - 0.5, x_lo + 0.5)
    };
    let ys = || series.iter().flat_map(|s| s.y.iter().copied());
    // y range: in decades (log) or from min(0, y_min) to a nice maximum (linear).
    let (y_lo, y_hi) = if opts.log_y {
        let pos: Vec<f64> = ys().filter(|y| *y > 0.0).collect();
        if pos.is_empty() {
            return Err(input(
                "logarithmic y axis: no positive value to plot".into(),
            ));
        }
        let lo = pos
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .log10()
            .floor();
        let hi = pos
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
            .log10()
            .ceil();
        (lo, if hi > lo { hi } else { lo + 1.0 })
    } else {
        let lo = ys().fold(0.0f64, f64::min);
        let hi = ys().fold(0.0f64, f64::max);
        let nice = |v: f64| {
            if v == 0.0 {
                0.0
            } else {
                let step = nice_step(0.0, v.abs(), 6);
                (v.abs() / step - 1e-9).ceil() * step * v.signum()
            }
        };
        let (lo, hi) = (nice(lo), nice(hi));
        if hi > lo {
            (lo, hi)
        } else {
            (lo, lo + 1.0)
        }
    };
    let (pw, ph) = (opts.plot_width_px as i64, opts.plot_height_px as i64);
    let (left, top, bottom) = (96i64, 64i64, 72i64);
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let legend = Legend::layout(&names, ph)?;
    let (columns, col_w) = (legend.columns, legend.col_w);
    let width = left + pw + 28 + columns as i64 * col_w + 16;
    if width > crate::canvas::MAX_EDGE_PX as i64 {
        return Err(input(format!("{} curves: too many to plot", series.len())));
    }
    let mut c = Canvas::new(width as u32, (top + ph + bottom) as u32, WHITE)?;
    c.text(
        left as f32,
        32.0,
        &opts.title,
        21.0,
        BLACK,
        HAlign::Left,
        VAlign::Baseline,
    )?;
    let grid: Rgb = [225, 225, 225];
    let px = |x: f64| left as f32 + ((x - x_lo) / (x_hi - x_lo) * pw as f64) as f32;
    let py = |y: f64| {
        let t = if opts.log_y { y.log10() } else { y };
        top as f32 + ((y_hi - t) / (y_hi - y_lo) * ph as f64) as f32
    };
    let xt = nice_ticks(x_lo, x_hi, 8);
    let (xl, xe) = tick_labels(&xt);
    for (t, l) in xt.iter().zip(&xl) {
        let x = px(*t);
        c.line(x, top as f32, x, (top + ph) as f32, grid, 1.0);
        c.line(x, (top + ph) as f32, x, (top + ph + 5) as f32, BLACK, 1.0);
        c.text(
            x,
            (top + ph + 8) as f32,
            l,
            12.0,
            BLACK,
            HAlign::Center,
            VAlign::Top,
        )?;
    }
    let (y_ticks, y_labels): (Vec<f64>, Vec<String>) = if opts.log_y {
        let step = ((y_hi - y_lo) / 8.0).ceil().max(1.0);
        let mut d = y_lo;
        let mut t = Vec::new();
        while d <= y_hi + 1e-9 {
            t.push(10f64.powf(d));
            d += step;
        }
        let l = t
            .iter()
            .map(|v| format!("10{}", superscript(v.log10().round() as i32)))
            .collect();
        (t, l)
    } else {
        let t = nice_ticks(y_lo, y_hi, 6);
        let (l, e) = tick_labels(&t);
        let l = if e == 0 {
            l
        } else {
            l.into_iter()
                .map(|s| format!("{s}×10{}", superscript(e)))
                .collect()
        };
        (t, l)
    };
    for (t, l) in y_ticks.iter().zip(&y_labels) {
        let y = py(*t);
        c.line(left as f32, y, (left + pw) as f32, y, grid, 1.0);
        c.line((left - 5) as f32, y, left as f32, y, BLACK, 1.0);
        c.text(
            (left - 8) as f32,
            y,
            l,
            12.0,
            BLACK,
            HAlign::Right,
            VAlign::Middle,
        )?;
    }
    let x_title = if xe == 0 {
        opts.x_title.clone()
    } else {
        format!("{} × 10{}", opts.x_title, superscript(xe))
    };
    c.text(
        (left + pw / 2) as f32,
        (top + ph + 50) as f32,
        &x_title,
        14.0,
        BLACK,
        HAlign::Center,
        VAlign::Baseline,
    )?;
    c.text_vertical(
        (left - 70) as f32,
        (top + ph / 2) as f32,
        &opts.y_title,
        14.0,
        BLACK,
    )?;
    for m in &opts.markers_x {
        if *m >= x_lo && *m <= x_hi {
            let x = px(*m);
            c.line(x, top as f32, x, (top + ph) as f32, [150, 150, 150], 1.0);
        }
    }
    for (k, s) in series.iter().enumerate() {
        let (colour, dash, w) = curve_style(k);
        let pts: Vec<(f32, f32)> =
            s.x.iter()
                .zip(&s.y)
                .filter(|(_, y)| !opts.log_y || **y > 0.0)
                .map(|(x, y)| (px(*x), py(*y)))
                .collect();
        match pts.len() {
            0 => {}
            1 => c.line(
                pts[0].0 - 2.0,
                pts[0].1,
                pts[0].0 + 2.0,
                pts[0].1,
                colour,
                w,
            ),
            _ => c.polyline(&pts, colour, w, dash),
        }
    }
    c.stroke_rect(left, top, pw + 1, ph + 1, BLACK);
    legend.draw(&mut c, &names, left + pw + 28, top)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_growth_is_a_straight_line_on_a_log_axis() {
        // y = 10^(t/10) from t = 0 to 30: decades 0..3, so y = 10^1.5 at t = 15 sits
        // half-way up the plot, in the middle of the x axis.
        let x: Vec<f64> = (0..=30).map(f64::from).collect();
        let y = x.iter().map(|t| 10f64.powf(t / 10.0)).collect();
        let s = Series {
            name: "cells".into(),
            x,
            y,
        };
        let opts = SeriesOptions {
            log_y: true,
            markers_x: vec![10.0],
            ..Default::default()
        };
        let fig = series_plot(&[s], &opts).unwrap();
        let back = Canvas::from_png(&fig.encode_png().unwrap()).unwrap();
        let (cx, cy) = (96 + 360, 64 + 200);
        let colour = curve_style(0).0;
        let near = (-2i64..=2).any(|dy| {
            (-2i64..=2).any(|dx| {
                let p = back.pixel((cx + dx) as u32, (cy + dy) as u32).unwrap();
                (0..3).all(|k| (p[k] as i32 - colour[k] as i32).abs() < 40)
            })
        });
        assert!(near, "the curve passes through the centre of the plot");
    }

    #[test]
    fn bad_series_are_rejected_naming_the_curve() {
        let opts = SeriesOptions::default();
        let bad = Series {
            name: "radius".into(),
            x: vec![0.0, 1.0],
            y: vec![1.0],
        };
        assert!(series_plot(&[bad], &opts)
            .unwrap_err()
            .to_string()
            .contains("radius"));
        let back = Series {
            name: "r".into(),
            x: vec![1.0, 0.0],
            y: vec![1.0, 2.0],
        };
        assert!(series_plot(&[back], &opts)
            .unwrap_err()
            .to_string()
            .contains("decreases"));
        let zero = Series {
            name: "z".into(),
            x: vec![0.0],
            y: vec![0.0],
        };
        let log = SeriesOptions {
            log_y: true,
            ..Default::default()
        };
        assert!(series_plot(&[zero], &log).is_err());
        assert!(series_plot(&[], &opts).is_err());
    }
}
