//! Cumulative dose-volume histograms of several organs in one plot.

use crate::canvas::{Canvas, HAlign, VAlign, BLACK, WHITE};
use crate::colormap::TAB10;
use crate::ticks::{nice_step, nice_ticks, superscript, tick_labels};
use crate::{ReportError, Rgb};

/// One organ's cumulative dose-volume histogram: the fraction of the organ receiving at
/// least each dose level.
#[derive(Clone, Debug, PartialEq)]
pub struct DvhCurve {
    /// Organ name, for the legend.
    pub name: String,
    /// Dose levels, increasing, in the unit of [`DvhOptions::dose_unit`] (finite, >= 0).
    pub dose: Vec<f64>,
    /// Fraction of the organ (by mass) receiving at least each level \[1\], in \[0, 1\].
    pub volume_fraction: Vec<f64>,
}

/// Options of [`dvh_plot`].
#[derive(Clone, Debug, PartialEq)]
pub struct DvhOptions {
    /// Title at the top of the figure.
    pub title: String,
    /// Unit of the dose axis (e.g. "Gy per decay").
    pub dose_unit: String,
    /// Width of the plot area \[px\]. Default 720.
    pub plot_width_px: u32,
    /// Height of the plot area \[px\]. Default 460.
    pub plot_height_px: u32,
}

impl Default for DvhOptions {
    fn default() -> Self {
        DvhOptions {
            title: "Cumulative dose-volume histograms".into(),
            dose_unit: "Gy".into(),
            plot_width_px: 720,
            plot_height_px: 460,
        }
    }
}

/// Dash patterns (on, off) \[px\] cycled after the ten colours: solid, dashed, dotted.
const DASHES: [Option<(f32, f32)>; 3] = [None, Some((9.0, 5.0)), Some((2.5, 3.5))];

/// The colour and dash pattern of curve `k`: the ten [`TAB10`] colours solid, then
/// dashed, then dotted (30 distinct styles), then again with thicker lines.
pub fn curve_style(k: usize) -> (Rgb, Option<(f32, f32)>, f32) {
    let colour = TAB10[k % TAB10.len()];
    let dash = DASHES[(k / TAB10.len()) % DASHES.len()];
    let width = if k < TAB10.len() * DASHES.len() {
        1.8
    } else {
        3.0
    };
    (colour, dash, width)
}

fn input(msg: String) -> ReportError {
    ReportError::Input(msg)
}

/// Draws the cumulative DVH curves (dose on x from 0 to a nice value at or above the
/// largest dose, volume in % on y from 0 to 100) with grid lines at the ticks, axis
/// titles and a legend of the organ names beside the plot in the curves' styles
/// ([`curve_style`]), in as many columns as the names need.
///
/// # Errors
/// No curves, a curve without points, dose and fraction arrays of different lengths,
/// non-finite or negative doses, decreasing doses, fractions outside \[0, 1\] (each naming
/// the organ), or a plot area under 100 px.
pub fn dvh_plot(curves: &[DvhCurve], opts: &DvhOptions) -> Result<Canvas, ReportError> {
    if curves.is_empty() {
        return Err(input("no dose-volume histograms to plot".into()));
    }
    if opts.plot_width_px < 100
        || opts.plot_height_px < 100
        || opts.plot_width_px > 8000
        || opts.plot_height_px > 8000
    {
        return Err(input(format!(
            "plot area {} x {} px is not within 100..=8000 px",
            opts.plot_width_px, opts.plot_height_px
        )));
    }
    for cv in curves {
        let name = &cv.name;
        if cv.dose.is_empty() || cv.dose.len() != cv.volume_fraction.len() {
            return Err(input(format!(
                "DVH of {name}: {} dose levels and {} volume fractions (need equal, non-zero numbers)",
                cv.dose.len(),
                cv.volume_fraction.len()
            )));
        }
        if let Some(d) = cv.dose.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
            return Err(input(format!(
                "DVH of {name}: dose level {d} is not finite and >= 0"
            )));
        }
        if cv.dose.windows(2).any(|w| w[1] < w[0]) {
            return Err(input(format!("DVH of {name}: dose levels decrease")));
        }
        if let Some(v) = cv
            .volume_fraction
            .iter()
            .find(|v| !(v.is_finite() && (-1e-9..=1.0 + 1e-9).contains(*v)))
        {
            return Err(input(format!(
                "DVH of {name}: volume fraction {v} is not in [0, 1]"
            )));
        }
    }
    let d_max = curves
        .iter()
        .flat_map(|c| c.dose.iter())
        .fold(0.0f64, |m, d| m.max(*d));
    let x_hi = if d_max > 0.0 {
        let step = nice_step(0.0, d_max, 8);
        (d_max / step - 1e-9).ceil() * step
    } else {
        1.0
    };
    let (pw, ph) = (opts.plot_width_px as i64, opts.plot_height_px as i64);
    let (left, top, bottom) = (96i64, 64i64, 72i64);
    let names: Vec<&str> = curves.iter().map(|c| c.name.as_str()).collect();
    let legend = Legend::layout(&names, ph)?;
    let (columns, col_w) = (legend.columns, legend.col_w);
    let width = left + pw + 28 + columns as i64 * col_w + 16;
    let height = top + ph + bottom;
    if width > crate::canvas::MAX_EDGE_PX as i64 {
        return Err(input(format!(
            "{} curves need a legend {} px wide; too many to plot",
            curves.len(),
            columns as i64 * col_w
        )));
    }
    let mut c = Canvas::new(width as u32, height as u32, WHITE)?;
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
    let px = |d: f64| left as f32 + (d / x_hi * pw as f64) as f32;
    let py = |v: f64| top as f32 + ((1.0 - v) * ph as f64) as f32;
    // Grid and ticks.
    let xt = nice_ticks(0.0, x_hi, 8);
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
    let yt = nice_ticks(0.0, 100.0, 6);
    let (yl, _) = tick_labels(&yt);
    for (t, l) in yt.iter().zip(&yl) {
        let y = py(t / 100.0);
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
        format!("dose [{}]", opts.dose_unit)
    } else {
        format!("dose [{} × 10{}]", opts.dose_unit, superscript(xe))
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
        (left - 62) as f32,
        (top + ph / 2) as f32,
        "volume receiving at least the dose [%]",
        14.0,
        BLACK,
    )?;
    // Curves, then the frame over them.
    for (k, cv) in curves.iter().enumerate() {
        let (colour, dash, w) = curve_style(k);
        let pts: Vec<(f32, f32)> = cv
            .dose
            .iter()
            .zip(&cv.volume_fraction)
            .map(|(d, v)| (px(*d), py(v.clamp(0.0, 1.0))))
            .collect();
        if pts.len() == 1 {
            c.line(
                pts[0].0 - 2.0,
                pts[0].1,
                pts[0].0 + 2.0,
                pts[0].1,
                colour,
                w,
            );
        } else {
            c.polyline(&pts, colour, w, dash);
        }
    }
    c.stroke_rect(left, top, pw + 1, ph + 1, BLACK);
    legend.draw(&mut c, &names, left + pw + 28, top)?;
    Ok(c)
}

/// The legend beside a plot: the curves' names in their styles ([`curve_style`]), in as
/// many columns of rows 20 px high as the plot's height needs.
pub(crate) struct Legend {
    /// Rows per column.
    rows: usize,
    /// Number of columns.
    pub(crate) columns: usize,
    /// Width of a column \[px\].
    pub(crate) col_w: i64,
}

impl Legend {
    /// Row height \[px\].
    const ROW_H: i64 = 20;

    /// The layout of a legend of `names` beside a plot `plot_height_px` high.
    pub(crate) fn layout(names: &[&str], plot_height_px: i64) -> Result<Self, ReportError> {
        let rows = (plot_height_px / Self::ROW_H).max(1) as usize;
        let mut name_w = 0.0f32;
        for n in names {
            name_w = name_w.max(Canvas::text_width(n, 13.0)?);
        }
        Ok(Legend {
            rows,
            columns: names.len().div_ceil(rows),
            col_w: 44 + name_w.ceil() as i64 + 16,
        })
    }

    /// Draws the legend with its top-left corner at `(x0, top)` \[px\].
    pub(crate) fn draw(
        &self,
        c: &mut Canvas,
        names: &[&str],
        x0: i64,
        top: i64,
    ) -> Result<(), ReportError> {
        for (k, name) in names.iter().enumerate() {
            let (col, row) = ((k / self.rows) as i64, (k % self.rows) as i64);
            let x = x0 + col * self.col_w;
            let y = top + row * Self::ROW_H + Self::ROW_H / 2;
            let yc = y as f32 + 0.5; // a pixel centre, so that the line has its full colour
            let (colour, dash, w) = curve_style(k);
            c.polyline(&[(x as f32, yc), ((x + 34) as f32, yc)], colour, w, dash);
            c.text(
                (x + 42) as f32,
                y as f32,
                name,
                13.0,
                BLACK,
                HAlign::Left,
                VAlign::Middle,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(name: &str, d_max: f64) -> DvhCurve {
        let dose: Vec<f64> = (0..=100).map(|j| d_max * j as f64 / 100.0).collect();
        let volume_fraction = dose.iter().map(|d| 1.0 - (d / d_max).powi(2)).collect();
        DvhCurve {
            name: name.into(),
            dose,
            volume_fraction,
        }
    }

    #[test]
    fn plot_has_curves_in_their_colours_and_survives_png() {
        let curves = vec![curve("liver", 3.0e-13), curve("kidneys", 1.7e-13)];
        let opts = DvhOptions {
            dose_unit: "Gy per decay".into(),
            ..Default::default()
        };
        let fig = dvh_plot(&curves, &opts).unwrap();
        let back = Canvas::from_png(&fig.encode_png().unwrap()).unwrap();
        assert_eq!(back, fig);
        // Curve 0 at dose 1.5e-13 (x axis to 3e-13, a step of 5e-14): 75 %.
        let (left, top) = (96.0, 64.0);
        let x = left + 1.5e-13 / 3e-13 * 720.0;
        let y = top + 0.25 * 460.0;
        let near = |colour: Rgb| {
            (-2i64..=2).any(|dy| {
                (-2i64..=2).any(|dx| {
                    let p = back
                        .pixel((x as i64 + dx) as u32, (y as i64 + dy) as u32)
                        .unwrap();
                    (0..3).all(|k| (p[k] as i32 - colour[k] as i32).abs() < 40)
                })
            })
        };
        assert!(near(TAB10[0]), "curve 0 not at ({x}, {y})");
        // The legend has both colours.
        let has = |colour: Rgb| {
            (0..back.height())
                .any(|y| (96 + 720 + 20..back.width()).any(|x| back.pixel(x, y) == Some(colour)))
        };
        assert!(has(TAB10[0]) && has(TAB10[1]));
    }

    #[test]
    fn many_organs_get_distinct_styles_and_columns() {
        let curves: Vec<DvhCurve> = (0..45)
            .map(|k| curve(&format!("organ {k}"), 1.0 + k as f64))
            .collect();
        let fig = dvh_plot(&curves, &DvhOptions::default()).unwrap();
        assert!(fig.width() > 96 + 720 + 2 * 100);
        let styles: std::collections::HashSet<String> =
            (0..30).map(|k| format!("{:?}", curve_style(k))).collect();
        assert_eq!(styles.len(), 30);
    }

    #[test]
    fn bad_curves_are_errors_naming_the_organ() {
        let o = DvhOptions::default();
        assert!(dvh_plot(&[], &o).is_err());
        let mut c = curve("spleen", 1.0);
        c.volume_fraction[3] = 1.5;
        let e = dvh_plot(&[c], &o).unwrap_err().to_string();
        assert!(e.contains("spleen") && e.contains("1.5"), "{e}");
        let mut c = curve("spleen", 1.0);
        c.dose.pop();
        assert!(dvh_plot(&[c], &o).is_err());
        let mut c = curve("spleen", 1.0);
        c.dose[4] = f64::NAN;
        assert!(dvh_plot(&[c], &o).is_err());
        let mut c = curve("spleen", 1.0);
        c.dose.swap(2, 3);
        assert!(dvh_plot(&[c], &o).is_err());
        // All-zero doses plot on a 0..1 axis.
        let z = DvhCurve {
            name: "air".into(),
            dose: vec![0.0],
            volume_fraction: vec![1.0],
        };
        assert!(dvh_plot(&[z], &o).is_ok());
    }
}
