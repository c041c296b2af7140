//! Three orthogonal slices of a dose map over the phantom's density.
//!
//! **Orientation.** The grid's `axis_sign` and `origin_mm` place each voxel in the world
//! frame (docs/formats.md section 1.2), and each panel is laid out by world direction,
//! whatever the index order of the grid:
//!
//! | panel    | seen from          | image right is | image down is |
//! |----------|--------------------|----------------|---------------|
//! | axial    | the feet           | world -x       | world -y      |
//! | coronal  | the front          | world -x       | world -z      |
//! | sagittal | the patient's left | world -y       | world -z      |
//!
//! In the RAS world frame pedisim writes for patient phantoms (+x towards the patient's
//! right, +y anterior, +z superior) this is the radiological convention: the patient's
//! right on the image left, anterior at the top of the axial slice, head at the top of the
//! coronal and sagittal slices, and the face on the left of the sagittal slice. The tick
//! labels are world coordinates in mm, so they decrease to the right where the image runs
//! against a world axis.
//!
//! **Aspect.** Every panel has the same scale in pixels per mm along both axes, so
//! anisotropic voxels keep the phantom's true proportions.

use crate::canvas::{Canvas, HAlign, RgbaImage, VAlign, BLACK, WHITE};
use crate::colormap::viridis;
use crate::contour::marching_squares;
use crate::ticks::{format_significant, nice_ticks, superscript, tick_labels};
use crate::ReportError;

/// A dose map and the phantom's density on one voxel grid.
#[derive(Clone, Copy, Debug)]
pub struct DoseVolume<'a> {
    /// Voxels along x, y, z (`[nx, ny, nz]`).
    pub dims_xyz: [usize; 3],
    /// Voxel edge lengths `[dx, dy, dz]` \[mm\] (positive).
    pub voxel_size_mm: [f64; 3],
    /// World position of the centre of voxel (0, 0, 0) \[mm\].
    pub origin_mm: [f64; 3],
    /// World direction (+1 or -1) of increasing index along x, y, z.
    pub axis_sign: [f64; 3],
    /// Dose of each voxel, x fastest (`ix + nx * (iy + ny * iz)`), in the caller's unit
    /// ([`SliceOptions::dose_unit`]); finite and >= 0.
    pub dose: &'a [f64],
    /// Mass density of each voxel \[g/cm³\], same order; finite and >= 0. Drawn as the
    /// grey background (black at 0, light grey at the largest density).
    pub density_g_cm3: &'a [f64],
}

/// Options of [`dose_slices`].
#[derive(Clone, Debug, PartialEq)]
pub struct SliceOptions {
    /// The voxel `[ix, iy, iz]` the three slices go through; None: the voxel of maximum
    /// dose ([`max_dose_voxel`]).
    pub at_voxel: Option<[usize; 3]>,
    /// Title at the top of the figure.
    pub title: String,
    /// Unit of the dose values, for the colour bar (e.g. "Gy per decay").
    pub dose_unit: String,
    /// Dose is coloured only where it is at least this fraction of the maximum dose
    /// (transparent below); in \[0, 1). Default 0.01.
    pub threshold_fraction: f64,
    /// Isodose levels in per cent of the maximum dose, each in (0, 100]. Default 10, 30,
    /// 50, 70, 90.
    pub isodose_percent: Vec<f64>,
    /// Width available for the three panels together \[px\]. Default 1400.
    pub panels_width_px: u32,
    /// Height of the tallest panel at most \[px\]. Default 520.
    pub panel_height_px: u32,
    /// Name of the mapped quantity in the captions. Default "dose" (its contours are then
    /// called isodose lines).
    pub quantity: String,
    /// Name and unit of the grey background field in the caption. Default "density",
    /// "g/cm³".
    pub background: (String, String),
}

impl Default for SliceOptions {
    fn default() -> Self {
        SliceOptions {
            at_voxel: None,
            title: "Absorbed dose".into(),
            dose_unit: "Gy".into(),
            threshold_fraction: 0.01,
            isodose_percent: vec![10.0, 30.0, 50.0, 70.0, 90.0],
            panels_width_px: 1400,
            panel_height_px: 520,
            quantity: "dose".into(),
            background: ("density".into(), "g/cm³".into()),
        }
    }
}

/// Colour of the isodose lines (drawn over a thin black outline).
pub const ISODOSE_COLOR: [u8; 3] = WHITE;

/// Grey level of the largest density in the background (0 is black).
pub const DENSITY_GREY_MAX: u8 = 180;

/// Opacity of the dose colour over the density background.
pub const DOSE_ALPHA: f32 = 0.75;

fn input(msg: String) -> ReportError {
    ReportError::Input(msg)
}

fn check(vol: &DoseVolume) -> Result<usize, ReportError> {
    let [nx, ny, nz] = vol.dims_xyz;
    let n = nx
        .checked_mul(ny)
        .and_then(|v| v.checked_mul(nz))
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            input(format!(
                "grid of {nx} x {ny} x {nz} voxels is empty or too large"
            ))
        })?;
    for (what, len) in [
        ("dose", vol.dose.len()),
        ("density", vol.density_g_cm3.len()),
    ] {
        if len != n {
            return Err(input(format!(
                "the {what} array has {len} values; the {nx} x {ny} x {nz} grid needs {n}"
            )));
        }
    }
    for k in 0..3 {
        let v = vol.voxel_size_mm[k];
        if !(v.is_finite() && v > 0.0) {
            return Err(input(format!(
                "voxel size {v} mm along axis {k} is not positive"
            )));
        }
        if !(vol.axis_sign[k] == 1.0 || vol.axis_sign[k] == -1.0) {
            return Err(input(format!(
                "axis sign {} along axis {k} is neither +1 nor -1",
                vol.axis_sign[k]
            )));
        }
        if !vol.origin_mm[k].is_finite() {
            return Err(input(format!(
                "origin {} mm is not finite",
                vol.origin_mm[k]
            )));
        }
    }
    for (what, a) in [("dose", vol.dose), ("density", vol.density_g_cm3)] {
        if let Some(i) = a.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(input(format!(
                "{what} of voxel {:?} is {} (expected finite and >= 0)",
                unflat(i, vol.dims_xyz),
                a[i]
            )));
        }
    }
    Ok(n)
}

fn unflat(i: usize, [nx, ny, _]: [usize; 3]) -> [usize; 3] {
    [i % nx, (i / nx) % ny, i / (nx * ny)]
}

/// The voxel `[ix, iy, iz]` of maximum dose (the first in flat order on ties; voxel
/// (0, 0, 0) for an all-zero map).
///
/// # Errors
/// As [`dose_slices`] for an inconsistent volume.
pub fn max_dose_voxel(vol: &DoseVolume) -> Result<[usize; 3], ReportError> {
    check(vol)?;
    let mut best = 0;
    for (i, d) in vol.dose.iter().enumerate() {
        if *d > vol.dose[best] {
            best = i;
        }
    }
    Ok(unflat(best, vol.dims_xyz))
}

/// One panel: its horizontal and vertical grid axes and the fixed one.
struct Plane {
    name: &'static str,
    seen_from: &'static str,
    h: usize,
    v: usize,
    fixed: usize,
}

const PLANES: [Plane; 3] = [
    Plane {
        name: "axial",
        seen_from: "from the feet",
        h: 0,
        v: 1,
        fixed: 2,
    },
    Plane {
        name: "coronal",
        seen_from: "from the front",
        h: 0,
        v: 2,
        fixed: 1,
    },
    Plane {
        name: "sagittal",
        seen_from: "from the left",
        h: 1,
        v: 2,
        fixed: 0,
    },
];

const AXIS_NAMES: [&str; 3] = ["x", "y", "z"];

/// Grid index of image column (or row) `c` of `n` along an axis whose image direction
/// is world-negative: the index runs forward when the axis itself points to -world.
fn index_of(c: usize, n: usize, sign: f64) -> usize {
    if sign < 0.0 {
        c
    } else {
        n - 1 - c
    }
}

/// Continuous image position (in voxels from the image edge) of world coordinate `w`.
fn image_pos(w: f64, n: usize, origin: f64, vox: f64, sign: f64) -> f64 {
    let i = (w - origin) / (sign * vox); // voxel-centre index
    let c = if sign < 0.0 { i } else { n as f64 - 1.0 - i };
    c + 0.5
}

/// Draws the three orthogonal slices (axial, coronal, sagittal) of `vol` through
/// `opts.at_voxel` (default: the voxel of maximum dose) side by side, each with the
/// density as a grey background, the dose in the viridis colour map (at
/// [`DOSE_ALPHA`]) where it is at least `threshold_fraction` of the maximum dose of the
/// whole volume, isodose lines at `isodose_percent` of that maximum (marching squares on
/// the slice, through the voxel centres), tick labels in world mm, a colour bar from 0 to
/// the maximum in `opts.dose_unit` with the isodose levels marked, and a title. The
/// orientation of the panels is in the module documentation.
///
/// # Errors
/// An empty grid, arrays of the wrong length, non-positive voxel sizes, axis signs other
/// than ±1, negative or non-finite dose or density (naming the voxel), a slice voxel
/// outside the grid, or options out of range.
pub fn dose_slices(vol: &DoseVolume, opts: &SliceOptions) -> Result<Canvas, ReportError> {
    check(vol)?;
    let dims = vol.dims_xyz;
    let at = match opts.at_voxel {
        Some(a) => {
            if (0..3).any(|k| a[k] >= dims[k]) {
                return Err(input(format!(
                    "slice voxel {a:?} is outside the {} x {} x {} grid",
                    dims[0], dims[1], dims[2]
                )));
            }
            a
        }
        None => max_dose_voxel(vol)?,
    };
    if !(opts.threshold_fraction.is_finite() && (0.0..1.0).contains(&opts.threshold_fraction)) {
        return Err(input(format!(
            "dose threshold fraction {} is not in [0, 1)",
            opts.threshold_fraction
        )));
    }
    if let Some(p) = opts
        .isodose_percent
        .iter()
        .find(|p| !(p.is_finite() && **p > 0.0 && **p <= 100.0))
    {
        return Err(input(format!("isodose level {p} % is not in (0, 100]")));
    }
    if opts.panels_width_px < 30 || opts.panel_height_px < 30 {
        return Err(input(format!(
            "panel size {} x {} px is too small (30 px at least)",
            opts.panels_width_px, opts.panel_height_px
        )));
    }
    let d_max = vol.dose.iter().fold(0.0f64, |m, d| m.max(*d));
    let rho_max = vol.density_g_cm3.iter().fold(0.0f64, |m, d| m.max(*d));
    let vox = vol.voxel_size_mm;
    let ext = [
        dims[0] as f64 * vox[0],
        dims[1] as f64 * vox[1],
        dims[2] as f64 * vox[2],
    ];
    // One scale [px/mm] for all panels.
    let scale = (opts.panels_width_px as f64 / (2.0 * ext[0] + ext[1]))
        .min(opts.panel_height_px as f64 / ext[1].max(ext[2]));
    let size = |axis: usize| ((ext[axis] * scale).round() as i64).max(1);
    let world = |axis: usize, i: f64| vol.origin_mm[axis] + vol.axis_sign[axis] * vox[axis] * i;

    let (left, gap, top) = (88i64, 96i64, 96i64);
    let panel_w: Vec<i64> = PLANES.iter().map(|p| size(p.h)).collect();
    let panel_h: Vec<i64> = PLANES.iter().map(|p| size(p.v)).collect();
    let row_h = panel_h.iter().copied().max().unwrap_or(1).max(120);
    let bar_gap = 64i64;
    let bar_w = 22i64;
    let right = 150i64;
    let width = left + panel_w.iter().sum::<i64>() + 2 * gap + bar_gap + bar_w + right;
    let height = top + row_h + 104;
    let mut c = Canvas::new(
        width.clamp(1, crate::canvas::MAX_EDGE_PX as i64) as u32,
        height.clamp(1, crate::canvas::MAX_EDGE_PX as i64) as u32,
        WHITE,
    )?;

    // Title and subtitle.
    c.text(
        left as f32,
        30.0,
        &opts.title,
        21.0,
        BLACK,
        HAlign::Left,
        VAlign::Baseline,
    )?;
    let centre = [
        world(0, at[0] as f64),
        world(1, at[1] as f64),
        world(2, at[2] as f64),
    ];
    let subtitle = format!(
        "slices through voxel ({}, {}, {}) at ({:.1}, {:.1}, {:.1}) mm; maximum {} {} {}",
        at[0],
        at[1],
        at[2],
        centre[0],
        centre[1],
        centre[2],
        opts.quantity,
        format_significant(d_max, 3),
        opts.dose_unit
    );
    c.text(
        left as f32,
        54.0,
        &subtitle,
        14.0,
        BLACK,
        HAlign::Left,
        VAlign::Baseline,
    )?;

    let mut x0 = left;
    for (k, plane) in PLANES.iter().enumerate() {
        let (pw, ph) = (panel_w[k], panel_h[k]);
        let (nh, nv) = (dims[plane.h], dims[plane.v]);
        let (sh, sv) = (vol.axis_sign[plane.h], vol.axis_sign[plane.v]);
        // The slice in image order, and its composited colours.
        let mut field = vec![0.0; nh * nv];
        let mut img = RgbaImage::new(nh, nv)?;
        for r in 0..nv {
            for col in 0..nh {
                let mut idx = at;
                idx[plane.h] = index_of(col, nh, sh);
                idx[plane.v] = index_of(r, nv, sv);
                let flat = idx[0] + dims[0] * (idx[1] + dims[1] * idx[2]);
                let d = vol.dose[flat];
                field[r * nh + col] = d;
                let g = if rho_max > 0.0 {
                    (vol.density_g_cm3[flat] / rho_max * DENSITY_GREY_MAX as f64).round() as u8
                } else {
                    0
                };
                let mut rgb = [g, g, g];
                if d_max > 0.0 && d >= opts.threshold_fraction * d_max && d > 0.0 {
                    let col_d = viridis(d / d_max);
                    for ch in 0..3 {
                        rgb[ch] = (rgb[ch] as f32 * (1.0 - DOSE_ALPHA)
                            + col_d[ch] as f32 * DOSE_ALPHA)
                            .round() as u8;
                    }
                }
                img.pixels[r * nh + col] = [rgb[0], rgb[1], rgb[2], 255];
            }
        }
        c.blit(&img, x0, top, pw as u32, ph as u32);
        // Isodose lines through the voxel centres.
        if d_max > 0.0 {
            let (fx, fy) = (pw as f64 / nh as f64, ph as f64 / nv as f64);
            for p in &opts.isodose_percent {
                let segs = marching_squares(&field, nh, nv, p / 100.0 * d_max)?;
                let to_px = |(a, b): (f64, f64)| {
                    (
                        (x0 as f64 + (a + 0.5) * fx) as f32,
                        (top as f64 + (b + 0.5) * fy) as f32,
                    )
                };
                for pass in [(BLACK, 2.6f32), (ISODOSE_COLOR, 1.2f32)] {
                    for s in &segs {
                        let (a, b) = (to_px(s[0]), to_px(s[1]));
                        c.line(a.0, a.1, b.0, b.1, pass.0, pass.1);
                    }
                }
            }
        }
        c.stroke_rect(x0 - 1, top - 1, pw + 2, ph + 2, BLACK);
        // Panel title.
        let fixed_w = world(plane.fixed, at[plane.fixed] as f64);
        c.text(
            x0 as f32,
            (top - 10) as f32,
            &format!(
                "{} ({}), {} = {:.1} mm",
                plane.name, plane.seen_from, AXIS_NAMES[plane.fixed], fixed_w
            ),
            14.0,
            BLACK,
            HAlign::Left,
            VAlign::Baseline,
        )?;
        // Horizontal axis: world coordinate along plane.h.
        let axis_ticks = |axis: usize, n: usize, len_px: i64| {
            let (a, b) = (world(axis, -0.5), world(axis, n as f64 - 0.5));
            let ticks = nice_ticks(a.min(b), a.max(b), ((len_px / 70) as usize).clamp(2, 8));
            let (labels, e) = tick_labels(&ticks);
            let pos: Vec<f64> = ticks
                .iter()
                .map(|w| {
                    image_pos(*w, n, vol.origin_mm[axis], vox[axis], vol.axis_sign[axis])
                        * len_px as f64
                        / n as f64
                })
                .collect();
            (pos, labels, e)
        };
        let (pos, labels, e) = axis_ticks(plane.h, nh, pw);
        for (p, l) in pos.iter().zip(&labels) {
            let x = x0 as f32 + *p as f32;
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
        let scale_note = |e: i32| {
            if e == 0 {
                String::new()
            } else {
                format!(" × 10{}", superscript(e))
            }
        };
        c.text(
            (x0 + pw / 2) as f32,
            (top + ph + 44) as f32,
            &format!("{} [mm{}]", AXIS_NAMES[plane.h], scale_note(e)),
            13.0,
            BLACK,
            HAlign::Center,
            VAlign::Baseline,
        )?;
        let (pos, labels, e) = axis_ticks(plane.v, nv, ph);
        for (p, l) in pos.iter().zip(&labels) {
            let y = top as f32 + *p as f32;
            c.line((x0 - 5) as f32, y, x0 as f32, y, BLACK, 1.0);
            c.text(
                (x0 - 8) as f32,
                y,
                l,
                12.0,
                BLACK,
                HAlign::Right,
                VAlign::Middle,
            )?;
        }
        c.text_vertical(
            (x0 - 68) as f32,
            (top + ph / 2) as f32,
            &format!("{} [mm{}]", AXIS_NAMES[plane.v], scale_note(e)),
            13.0,
            BLACK,
        )?;
        x0 += pw + gap;
    }

    // Colour bar from 0 (bottom) to the maximum dose (top).
    let bx = x0 - gap + bar_gap;
    let bh = row_h;
    for j in 0..bh {
        let t = if bh > 1 {
            1.0 - j as f64 / (bh - 1) as f64
        } else {
            1.0
        };
        c.fill_rect(bx, top + j, bar_w, 1, viridis(t));
    }
    c.stroke_rect(bx - 1, top - 1, bar_w + 2, bh + 2, BLACK);
    let bar_y = |f: f64| top as f32 + ((1.0 - f) * (bh - 1) as f64) as f32 + 0.5;
    let (hi, unit_note) = if d_max > 0.0 {
        (d_max, String::new())
    } else {
        (1.0, " (no dose deposited)".to_string())
    };
    let ticks = nice_ticks(0.0, hi, 6);
    let (labels, e) = tick_labels(&ticks);
    for (t, l) in ticks.iter().zip(&labels) {
        let y = bar_y(t / hi);
        c.line(
            (bx + bar_w) as f32,
            y,
            (bx + bar_w + 5) as f32,
            y,
            BLACK,
            1.0,
        );
        c.text(
            (bx + bar_w + 8) as f32,
            y,
            l,
            12.0,
            BLACK,
            HAlign::Left,
            VAlign::Middle,
        )?;
    }
    let unit = if e == 0 {
        format!("{}{}", opts.dose_unit, unit_note)
    } else {
        format!("{} (× 10{}){}", opts.dose_unit, superscript(e), unit_note)
    };
    c.text_vertical(
        (bx + bar_w + 70) as f32,
        (top + bh / 2) as f32,
        &unit,
        13.0,
        BLACK,
    )?;
    if d_max > 0.0 {
        for p in &opts.isodose_percent {
            let y = bar_y(p / 100.0);
            c.line(bx as f32, y, (bx + bar_w) as f32, y, BLACK, 2.6);
            c.line(bx as f32, y, (bx + bar_w) as f32, y, ISODOSE_COLOR, 1.2);
            c.text(
                (bx - 6) as f32,
                y,
                &format!("{} %", format_significant(*p, 3)),
                11.0,
                BLACK,
                HAlign::Right,
                VAlign::Middle,
            )?;
        }
    }
    // Legend line.
    let levels: Vec<String> = opts
        .isodose_percent
        .iter()
        .map(|p| format_significant(*p, 3))
        .collect();
    let q = &opts.quantity;
    let contours = if q == "dose" {
        "isodose"
    } else {
        "contours at"
    };
    let legend = format!(
        "white lines: {contours} {} % of the maximum {q}; colour where {q} ≥ {} % of the maximum; grey: {} 0 to {} {}",
        levels.join(", "),
        format_significant(opts.threshold_fraction * 100.0, 2),
        opts.background.0,
        format_significant(rho_max, 3),
        opts.background.1
    );
    c.text(
        left as f32,
        (height - 14) as f32,
        &legend,
        13.0,
        BLACK,
        HAlign::Left,
        VAlign::Baseline,
    )?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::Rgb;

    struct Grid {
        dims: [usize; 3],
        vox: [f64; 3],
        dose: Vec<f64>,
        density: Vec<f64>,
    }

    /// A Gaussian dose (sigma 8 mm, peak 1 at voxel (20, 20, 10)) in a 41 x 41 x 21 grid
    /// of 2 x 2 x 4 mm voxels, uniform density 1.
    fn gaussian() -> Grid {
        let dims = [41, 41, 21];
        let vox = [2.0, 2.0, 4.0];
        let n = dims[0] * dims[1] * dims[2];
        let dose = (0..n)
            .map(|i| {
                let [x, y, z] = unflat(i, dims);
                let r2 = ((x as f64 - 20.0) * vox[0]).powi(2)
                    + ((y as f64 - 20.0) * vox[1]).powi(2)
                    + ((z as f64 - 10.0) * vox[2]).powi(2);
                (-r2 / (2.0 * 64.0)).exp()
            })
            .collect();
        Grid {
            dims,
            vox,
            dose,
            density: vec![1.0; n],
        }
    }

    fn vol<'a>(g: &'a Grid, sign: [f64; 3]) -> DoseVolume<'a> {
        DoseVolume {
            dims_xyz: g.dims,
            voxel_size_mm: g.vox,
            origin_mm: [-40.0, -40.0, -40.0],
            axis_sign: sign,
            dose: &g.dose,
            density_g_cm3: &g.density,
        }
    }

    /// Layout of the test figure, as `dose_slices` computes it: scale [px/mm], panel
    /// widths and heights, left edge, top edge.
    fn layout(g: &Grid, o: &SliceOptions) -> (f64, [i64; 3], [i64; 3]) {
        let ext = [0, 1, 2].map(|k| g.dims[k] as f64 * g.vox[k]);
        let s = (o.panels_width_px as f64 / (2.0 * ext[0] + ext[1]))
            .min(o.panel_height_px as f64 / ext[1].max(ext[2]));
        let size = |a: usize| (ext[a] * s).round() as i64;
        (s, [size(0), size(0), size(1)], [size(1), size(2), size(2)])
    }

    fn is_white(p: Rgb) -> bool {
        p.iter().all(|c| *c >= 235)
    }

    #[test]
    fn gaussian_isodose_colour_bar_and_png() {
        let g = gaussian();
        let o = SliceOptions {
            dose_unit: "Gy per decay".into(),
            ..Default::default()
        };
        let v = vol(&g, [1.0, 1.0, 1.0]);
        assert_eq!(max_dose_voxel(&v).unwrap(), [20, 20, 10]);
        let fig = dose_slices(&v, &o).unwrap();
        let back = Canvas::from_png(&fig.encode_png().unwrap()).unwrap();
        assert_eq!((back.width(), back.height()), (fig.width(), fig.height()));
        assert_eq!(back, fig);
        let (_, pw, ph) = layout(&g, &o);
        let (left, top) = (88i64, 96i64);
        // The 50 % isodose crosses the centre row of the axial slice at 9.42 mm from the
        // centre, on the voxel-centre interpolation at ix = 24.716: image column
        // 40 - 24.716 (image right is world -x) and the mirror point at ix = 15.284.
        let row_y = top as f64 + 20.5 * ph[0] as f64 / 41.0;
        for ix in [24.716, 15.284] {
            let col = 40.0 - ix;
            let x = left as f64 + (col + 0.5) * pw[0] as f64 / 41.0;
            let found = (-1i64..=1).any(|dy| {
                (-1i64..=1).any(|dx| {
                    is_white(
                        back.pixel((x as i64 + dx) as u32, (row_y as i64 + dy) as u32)
                            .unwrap(),
                    )
                })
            });
            assert!(found, "no isodose pixel near ({x:.1}, {row_y:.1})");
        }
        // The peak is coloured with the top of the map over the grey background.
        let cx = left as f64 + 20.5 * pw[0] as f64 / 41.0;
        let p = back.pixel(cx as u32, (row_y + 1.0) as u32).unwrap();
        let top_colour = viridis(1.0);
        let grey = (DENSITY_GREY_MAX as f32 * (1.0 - DOSE_ALPHA)) as i32;
        for k in 0..3 {
            let want = grey + (top_colour[k] as f32 * DOSE_ALPHA) as i32;
            assert!((p[k] as i32 - want).abs() <= 8, "peak pixel {p:?}");
        }
        // Far from the peak (dose < 1 %): plain grey.
        let p = back.pixel((left + 3) as u32, (top + 3) as u32).unwrap();
        assert_eq!(p, [DENSITY_GREY_MAX; 3]);
        // Colour bar: viridis(1) on its top row, viridis(0) on its bottom row, found
        // right of the third panel.
        let bar_x0 = (left + pw.iter().sum::<i64>() + 2 * 96) as u32;
        let row_h = ph.iter().copied().max().unwrap().max(120);
        let find = |y: i64, colour: Rgb| {
            (bar_x0..back.width())
                .filter(|x| back.pixel(*x, y as u32) == Some(colour))
                .count()
        };
        assert!(find(top, viridis(1.0)) >= 15);
        assert!(find(top + row_h - 1, viridis(0.0)) >= 15);
    }

    #[test]
    fn orientation_follows_the_axis_signs() {
        // A hot spot at high ix: world +x with axis_sign +1, so on the image left of the
        // axial and coronal panels; with axis_sign -1 it moves to the right.
        let dims = [20, 10, 10];
        let n = 2000;
        let mut dose = vec![0.0; n];
        dose[18 + 20 * (5 + 10 * 5)] = 1.0;
        let g = Grid {
            dims,
            vox: [3.0, 3.0, 3.0],
            dose,
            density: vec![1.0; n],
        };
        let o = SliceOptions::default();
        let (_, pw, ph) = layout(&g, &o);
        let (left, top) = (88i64, 96i64);
        let coloured = |fig: &Canvas, col: f64| {
            let x = left as f64 + (col + 0.5) * pw[0] as f64 / 20.0;
            let y = top as f64 + (10.0 - 1.0 - 5.0 + 0.5) * ph[0] as f64 / 10.0;
            let p = fig.pixel(x as u32, y as u32).unwrap();
            !(p[0] == p[1] && p[1] == p[2])
        };
        let plus = dose_slices(&vol(&g, [1.0, 1.0, 1.0]), &o).unwrap();
        assert!(coloured(&plus, 1.0) && !coloured(&plus, 18.0));
        let minus = dose_slices(&vol(&g, [-1.0, 1.0, 1.0]), &o).unwrap();
        assert!(coloured(&minus, 18.0) && !coloured(&minus, 1.0));
    }

    #[test]
    fn bad_volumes_and_options_are_errors() {
        let g = gaussian();
        let o = SliceOptions::default();
        let mut v = vol(&g, [1.0, 1.0, 1.0]);
        let short = vec![0.0; 5];
        v.dose = &short;
        assert!(dose_slices(&v, &o)
            .unwrap_err()
            .to_string()
            .contains("dose array"));
        let mut bad = g.dose.clone();
        bad[1] = f64::NAN;
        let mut v = vol(&g, [1.0, 1.0, 1.0]);
        v.dose = &bad;
        let e = dose_slices(&v, &o).unwrap_err().to_string();
        assert!(e.contains("[1, 0, 0]"), "{e}");
        let v = vol(&g, [1.0, 0.5, 1.0]);
        assert!(dose_slices(&v, &o).is_err());
        let v = vol(&g, [1.0, 1.0, 1.0]);
        let at = SliceOptions {
            at_voxel: Some([41, 0, 0]),
            ..Default::default()
        };
        assert!(dose_slices(&v, &at)
            .unwrap_err()
            .to_string()
            .contains("outside"));
        let iso = SliceOptions {
            isodose_percent: vec![0.0],
            ..Default::default()
        };
        assert!(dose_slices(&v, &iso).is_err());
        // An all-zero dose draws the anatomy alone.
        let zero = vec![0.0; g.dose.len()];
        let mut v = vol(&g, [1.0, 1.0, 1.0]);
        v.dose = &zero;
        assert!(dose_slices(&v, &o).is_ok());
        // A single voxel works.
        let one = [2.0];
        let rho = [1.0];
        let v = DoseVolume {
            dims_xyz: [1, 1, 1],
            voxel_size_mm: [1.0, 1.0, 1.0],
            origin_mm: [0.0; 3],
            axis_sign: [1.0; 3],
            dose: &one,
            density_g_cm3: &rho,
        };
        assert!(dose_slices(&v, &o).is_ok());
    }
}
