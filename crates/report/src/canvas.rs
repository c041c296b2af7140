//! A small RGB raster canvas: filled rectangles, anti-aliased lines and text, images
//! blitted with nearest-neighbour scaling, and PNG encoding and decoding.
//!
//! Coordinates are in pixels, `x` to the right and `y` downwards; pixel `(i, j)` covers
//! `[i, i+1) x [j, j+1)`, so its centre is at `(i + 0.5, j + 0.5)`.

use crate::ReportError;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

/// An sRGB colour, 8 bits per channel.
pub type Rgb = [u8; 3];

/// Black.
pub const BLACK: Rgb = [0, 0, 0];
/// White.
pub const WHITE: Rgb = [255, 255, 255];

/// Largest canvas edge accepted \[px\].
pub const MAX_EDGE_PX: u32 = 16_384;

/// DejaVu Sans (Bitstream Vera licence, `data/fonts/LICENSE-DejaVu.txt`), compiled in so
/// that drawing text needs no system fonts.
static FONT_TTF: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/fonts/DejaVuSans.ttf"
));

fn font() -> Result<FontRef<'static>, ReportError> {
    FontRef::try_from_slice(FONT_TTF)
        .map_err(|e| ReportError::Font(format!("the embedded DejaVu Sans font: {e}")))
}

/// Horizontal placement of text relative to the anchor point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HAlign {
    /// The text starts at the anchor.
    Left,
    /// The text is centred on the anchor.
    Center,
    /// The text ends at the anchor.
    Right,
}

/// Vertical placement of text relative to the anchor point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VAlign {
    /// The top of the line (the font's ascent) is at the anchor.
    Top,
    /// The middle of the line box is at the anchor.
    Middle,
    /// The baseline is at the anchor.
    Baseline,
    /// The bottom of the line (the font's descent) is at the anchor.
    Bottom,
}

/// An RGBA image to blit onto a canvas; alpha 0 is transparent, 255 opaque.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbaImage {
    /// Width \[px\].
    pub width: usize,
    /// Height \[px\].
    pub height: usize,
    /// Pixels, row by row from the top, `width * height` of them.
    pub pixels: Vec<[u8; 4]>,
}

impl RgbaImage {
    /// A fully transparent image (errors on a zero edge).
    pub fn new(width: usize, height: usize) -> Result<Self, ReportError> {
        if width == 0 || height == 0 {
            return Err(ReportError::Input(format!(
                "an image needs a positive size, not {width} x {height} pixels"
            )));
        }
        Ok(RgbaImage {
            width,
            height,
            pixels: vec![[0; 4]; width * height],
        })
    }
}

/// Text rasterised into a coverage mask: `width x height` values in 0..=1, row by row,
/// with the baseline `baseline` pixels below the top.
struct TextMask {
    width: usize,
    height: usize,
    baseline: f32,
    coverage: Vec<f32>,
}

fn rasterize(text: &str, size_px: f32) -> Result<TextMask, ReportError> {
    if !(size_px.is_finite() && size_px > 0.0 && size_px <= 1000.0) {
        return Err(ReportError::Input(format!(
            "text size {size_px} px is not in (0, 1000]"
        )));
    }
    let font = font()?;
    let scaled = font.as_scaled(PxScale::from(size_px));
    let ascent = scaled.ascent();
    let descent = scaled.descent(); // negative
    let mut glyphs = Vec::new();
    let mut pen = 0.0f32;
    let mut prev = None;
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        if let Some(p) = prev {
            pen += scaled.kern(p, id);
        }
        let g = id.with_scale_and_position(size_px, ab_glyph::point(pen, ascent));
        pen += scaled.h_advance(id);
        prev = Some(id);
        glyphs.push(g);
    }
    let width = pen.ceil().max(1.0) as usize + 2;
    let height = (ascent - descent).ceil().max(1.0) as usize + 1;
    let mut coverage = vec![0.0f32; width * height];
    for g in glyphs {
        if let Some(og) = font.outline_glyph(g) {
            let b = og.px_bounds();
            og.draw(|x, y, c| {
                let px = b.min.x as i64 + x as i64;
                let py = b.min.y as i64 + y as i64;
                if px >= 0 && py >= 0 && (px as usize) < width && (py as usize) < height {
                    let k = py as usize * width + px as usize;
                    coverage[k] = (coverage[k] + c).min(1.0);
                }
            });
        }
    }
    Ok(TextMask {
        width,
        height,
        baseline: ascent,
        coverage,
    })
}

/// An RGB raster image to draw figures on.
#[derive(Clone, Debug, PartialEq)]
pub struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<Rgb>,
}

impl Canvas {
    /// A canvas filled with `background`; each edge must be in `1..=MAX_EDGE_PX`.
    pub fn new(width: u32, height: u32, background: Rgb) -> Result<Self, ReportError> {
        for (what, v) in [("width", width), ("height", height)] {
            if v == 0 || v > MAX_EDGE_PX {
                return Err(ReportError::Input(format!(
                    "canvas {what} {v} px is not in 1..={MAX_EDGE_PX}"
                )));
            }
        }
        Ok(Canvas {
            width,
            height,
            pixels: vec![background; width as usize * height as usize],
        })
    }

    /// Width \[px\].
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height \[px\].
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The colour of pixel `(x, y)`, or None outside the canvas.
    pub fn pixel(&self, x: u32, y: u32) -> Option<Rgb> {
        (x < self.width && y < self.height)
            .then(|| self.pixels[y as usize * self.width as usize + x as usize])
    }

    /// Mixes `color` into pixel `(x, y)` with opacity `alpha` (0..=1); outside the canvas
    /// nothing happens.
    pub fn blend(&mut self, x: i64, y: i64, color: Rgb, alpha: f32) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        let a = if alpha.is_nan() {
            0.0
        } else {
            alpha.clamp(0.0, 1.0)
        };
        if a <= 0.0 {
            return;
        }
        let p = &mut self.pixels[y as usize * self.width as usize + x as usize];
        for k in 0..3 {
            p[k] = (p[k] as f32 * (1.0 - a) + color[k] as f32 * a).round() as u8;
        }
    }

    /// Fills the rectangle with top-left corner `(x, y)` and size `w x h` \[px\]
    /// (clipped to the canvas).
    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Rgb) {
        let x0 = x.max(0);
        let y0 = y.max(0);
        let x1 = x.saturating_add(w).min(self.width as i64);
        let y1 = y.saturating_add(h).min(self.height as i64);
        for j in y0..y1 {
            for i in x0..x1 {
                self.pixels[j as usize * self.width as usize + i as usize] = color;
            }
        }
    }

    /// Draws the outline of a rectangle, one pixel wide, inside `(x, y, w, h)`.
    pub fn stroke_rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Rgb) {
        self.fill_rect(x, y, w, 1, color);
        self.fill_rect(x, y + h - 1, w, 1, color);
        self.fill_rect(x, y, 1, h, color);
        self.fill_rect(x + w - 1, y, 1, h, color);
    }

    /// Draws an anti-aliased straight line from `(x0, y0)` to `(x1, y1)` \[px\] of
    /// `width` px; non-finite coordinates draw nothing.
    pub fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, color: Rgb, width: f32) {
        if ![x0, y0, x1, y1, width].iter().all(|v| v.is_finite()) || width <= 0.0 {
            return;
        }
        let half = width / 2.0;
        let pad = half + 1.0;
        let (lx, hx) = (x0.min(x1) - pad, x0.max(x1) + pad);
        let (ly, hy) = (y0.min(y1) - pad, y0.max(y1) + pad);
        let (lx, hx) = (
            lx.max(-1.0).floor() as i64,
            hx.min(self.width as f32).ceil() as i64,
        );
        let (ly, hy) = (
            ly.max(-1.0).floor() as i64,
            hy.min(self.height as f32).ceil() as i64,
        );
        let (dx, dy) = (x1 - x0, y1 - y0);
        let len2 = dx * dx + dy * dy;
        for j in ly..=hy {
            for i in lx..=hx {
                let (px, py) = (i as f32 + 0.5, j as f32 + 0.5);
                let t = if len2 > 0.0 {
                    (((px - x0) * dx + (py - y0) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (cx, cy) = (x0 + t * dx - px, y0 + t * dy - py);
                let d = (cx * cx + cy * cy).sqrt();
                let cover = (half + 0.5 - d).clamp(0.0, 1.0);
                if cover > 0.0 {
                    self.blend(i, j, color, cover);
                }
            }
        }
    }

    /// Draws a polyline through `points` \[px\]; with `dash = Some((on, off))` \[px\] it is
    /// dashed, the pattern running on along the whole line.
    pub fn polyline(
        &mut self,
        points: &[(f32, f32)],
        color: Rgb,
        width: f32,
        dash: Option<(f32, f32)>,
    ) {
        let Some((on, off)) = dash.filter(|(a, b)| *a > 0.0 && *b >= 0.0) else {
            for w in points.windows(2) {
                self.line(w[0].0, w[0].1, w[1].0, w[1].1, color, width);
            }
            return;
        };
        let period = on + off;
        let mut phase = 0.0f32; // distance along the pattern
        for w in points.windows(2) {
            let (x0, y0, x1, y1) = (w[0].0, w[0].1, w[1].0, w[1].1);
            let len = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
            if !len.is_finite() || len == 0.0 {
                continue;
            }
            let mut s = 0.0f32;
            while s < len {
                let in_pattern = phase % period;
                let (drawing, left) = if in_pattern < on {
                    (true, on - in_pattern)
                } else {
                    (false, period - in_pattern)
                };
                let step = left.min(len - s).max(1e-3);
                if drawing {
                    let (a, b) = (s / len, (s + step) / len);
                    self.line(
                        x0 + a * (x1 - x0),
                        y0 + a * (y1 - y0),
                        x0 + b * (x1 - x0),
                        y0 + b * (y1 - y0),
                        color,
                        width,
                    );
                }
                s += step;
                phase += step;
            }
        }
    }

    /// Width of `text` at `size_px` \[px\].
    pub fn text_width(text: &str, size_px: f32) -> Result<f32, ReportError> {
        let font = font()?;
        let scaled = font.as_scaled(PxScale::from(size_px));
        let mut w = 0.0;
        let mut prev = None;
        for ch in text.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(p) = prev {
                w += scaled.kern(p, id);
            }
            w += scaled.h_advance(id);
            prev = Some(id);
        }
        Ok(w)
    }

    /// Draws `text` horizontally with anti-aliasing, placed at `(x, y)` \[px\] by
    /// `h` and `v`. Errors only for an unusable size.
    pub fn text(
        &mut self,
        x: f32,
        y: f32,
        text: &str,
        size_px: f32,
        color: Rgb,
        h: HAlign,
        v: VAlign,
    ) -> Result<(), ReportError> {
        let m = rasterize(text, size_px)?;
        let text_w = Self::text_width(text, size_px)?;
        let left = match h {
            HAlign::Left => x,
            HAlign::Center => x - text_w / 2.0,
            HAlign::Right => x - text_w,
        };
        let line_h = m.height as f32 - 1.0;
        let top = match v {
            VAlign::Top => y,
            VAlign::Middle => y - line_h / 2.0,
            VAlign::Baseline => y - m.baseline,
            VAlign::Bottom => y - line_h,
        };
        let (ox, oy) = (left.round() as i64, top.round() as i64);
        for j in 0..m.height {
            for i in 0..m.width {
                let c = m.coverage[j * m.width + i];
                if c > 0.0 {
                    self.blend(ox + i as i64, oy + j as i64, color, c);
                }
            }
        }
        Ok(())
    }

    /// Draws `text` rotated 90 degrees anticlockwise (read from bottom to top), centred
    /// on `(x, y)` \[px\]: for vertical axis labels.
    pub fn text_vertical(
        &mut self,
        x: f32,
        y: f32,
        text: &str,
        size_px: f32,
        color: Rgb,
    ) -> Result<(), ReportError> {
        let m = rasterize(text, size_px)?;
        let text_w = Self::text_width(text, size_px)?;
        // Mask pixel (i, j) goes to (j, W - 1 - i) of the rotated mask.
        let ox = (x - (m.height as f32 - 1.0) / 2.0).round() as i64;
        let oy = (y - text_w / 2.0).round() as i64 - (m.width as f32 - text_w).round() as i64;
        for j in 0..m.height {
            for i in 0..m.width {
                let c = m.coverage[j * m.width + i];
                if c > 0.0 {
                    self.blend(ox + j as i64, oy + (m.width - 1 - i) as i64, color, c);
                }
            }
        }
        Ok(())
    }

    /// Draws `img` scaled to the rectangle with top-left corner `(x, y)` and size `w x h`
    /// \[px\] by nearest-neighbour sampling, blending with each pixel's alpha.
    pub fn blit(&mut self, img: &RgbaImage, x: i64, y: i64, w: u32, h: u32) {
        if img.width == 0 || img.height == 0 || img.pixels.len() != img.width * img.height {
            return;
        }
        for tj in 0..h as usize {
            let sj = (tj * img.height / h as usize).min(img.height - 1);
            for ti in 0..w as usize {
                let si = (ti * img.width / w as usize).min(img.width - 1);
                let p = img.pixels[sj * img.width + si];
                if p[3] > 0 {
                    self.blend(
                        x + ti as i64,
                        y + tj as i64,
                        [p[0], p[1], p[2]],
                        p[3] as f32 / 255.0,
                    );
                }
            }
        }
    }

    /// Encodes the canvas as an 8-bit RGB PNG.
    pub fn encode_png(&self) -> Result<Vec<u8>, ReportError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc
                .write_header()
                .map_err(|e| ReportError::Png(e.to_string()))?;
            let data: Vec<u8> = self.pixels.iter().flatten().copied().collect();
            writer
                .write_image_data(&data)
                .map_err(|e| ReportError::Png(e.to_string()))?;
            writer
                .finish()
                .map_err(|e| ReportError::Png(e.to_string()))?;
        }
        Ok(out)
    }

    /// Decodes an 8-bit RGB or RGBA PNG (alpha is dropped), e.g. to check a written
    /// figure.
    pub fn from_png(bytes: &[u8]) -> Result<Canvas, ReportError> {
        let perr = |e: png::DecodingError| ReportError::Png(e.to_string());
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .map_err(perr)?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| ReportError::Png("the image is too large".into()))?;
        let mut buf = vec![0u8; size];
        let info = reader.next_frame(&mut buf).map_err(perr)?;
        let channels = match (info.color_type, info.bit_depth) {
            (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
            (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
            (c, d) => {
                return Err(ReportError::Png(format!(
                    "expected an 8-bit RGB or RGBA image, found {c:?} with {d:?}"
                )))
            }
        };
        let mut canvas = Canvas::new(info.width, info.height, BLACK)?;
        for j in 0..info.height as usize {
            let row = &buf[j * info.line_size..];
            for i in 0..info.width as usize {
                let p = &row[i * channels..i * channels + 3];
                canvas.pixels[j * info.width as usize + i] = [p[0], p[1], p[2]];
            }
        }
        Ok(canvas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_keeps_size_and_pixels() {
        let mut c = Canvas::new(40, 30, WHITE).unwrap();
        c.fill_rect(5, 6, 10, 4, [200, 10, 20]);
        c.line(0.0, 20.5, 40.0, 20.5, [0, 0, 255], 1.0);
        let back = Canvas::from_png(&c.encode_png().unwrap()).unwrap();
        assert_eq!((back.width(), back.height()), (40, 30));
        assert_eq!(back.pixel(5, 6), Some([200, 10, 20]));
        assert_eq!(back.pixel(14, 9), Some([200, 10, 20]));
        assert_eq!(back.pixel(15, 9), Some(WHITE));
        assert_eq!(back.pixel(20, 20), Some([0, 0, 255]));
        assert_eq!(back, c);
    }

    #[test]
    fn text_is_drawn_inside_its_box() {
        let mut c = Canvas::new(120, 40, WHITE).unwrap();
        c.text(
            10.0,
            30.0,
            "Gy 10%",
            16.0,
            BLACK,
            HAlign::Left,
            VAlign::Baseline,
        )
        .unwrap();
        let w = Canvas::text_width("Gy 10%", 16.0).unwrap();
        assert!(w > 30.0 && w < 80.0, "{w}");
        let mut dark = 0;
        for y in 0..40 {
            for x in 0..120 {
                let p = c.pixel(x, y).unwrap();
                if p[0] < 128 {
                    dark += 1;
                    assert!(
                        (9..=(12 + w as u32)).contains(&x) && (14..=35).contains(&y),
                        "({x},{y})"
                    );
                }
            }
        }
        assert!(dark > 40);
        // Rotated text stays inside its column.
        let mut v = Canvas::new(40, 120, WHITE).unwrap();
        v.text_vertical(20.0, 60.0, "dose", 14.0, BLACK).unwrap();
        for y in 0..120 {
            for x in 0..40 {
                if v.pixel(x, y).unwrap()[0] < 128 {
                    assert!(
                        (10..=30).contains(&x) && (25..=95).contains(&y),
                        "({x},{y})"
                    );
                }
            }
        }
        assert!(c
            .text(0.0, 0.0, "x", f32::NAN, BLACK, HAlign::Left, VAlign::Top)
            .is_err());
    }

    #[test]
    fn blit_scales_by_nearest_neighbour() {
        let mut img = RgbaImage::new(2, 1).unwrap();
        img.pixels = vec![[255, 0, 0, 255], [0, 0, 255, 0]];
        let mut c = Canvas::new(10, 10, WHITE).unwrap();
        c.blit(&img, 0, 0, 10, 10);
        assert_eq!(c.pixel(4, 9), Some([255, 0, 0]));
        assert_eq!(c.pixel(5, 0), Some(WHITE)); // transparent half
        assert!(Canvas::new(0, 5, WHITE).is_err());
        assert!(RgbaImage::new(0, 1).is_err());
    }
}
