//! The drawing surface of the plots: plotters' bitmap backend over an RGB pixel buffer, with
//! text laid out and rasterized by us from the embedded font.
//!
//! The font lives here because the canvas is what measures and draws text; the text styles
//! that name it are in the parent module.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::backend::BitMapBackend as Bitmap;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
// Not `BackendStyle` by name: its methods would clash with plotters' `Color` on colors.
use plotters_backend::{BackendColor, BackendCoord, DrawingErrorKind};

/// The family the embedded font is registered under; plotters' default for labels.
pub(super) const FONT_FAMILY: &str = "sans-serif";
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The embedded font, parsed once per process. It is also registered with plotters (whose font
/// table is global) so that plotters' own text measurements use the same metrics.
pub(super) fn embedded_font() -> &'static FontRef<'static> {
    static PARSED: OnceLock<FontRef<'static>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let Ok(font) = FontRef::try_from_slice(FONT) else {
            panic!("the embedded font is not a valid TrueType font");
        };
        if plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("plotters refused the embedded font");
        }
        font
    })
}

/// The bitmap backend with text drawn by us. plotters 0.3.7's `ab_glyph` text drops each glyph's
/// left side bearing, so letters collide ("cl" reads as "d"); everything else is delegated.
pub(super) struct Canvas<'a> {
    bitmap: Bitmap<'a>,
}

impl<'a> Canvas<'a> {
    /// A canvas over `pixels`, 8-bit RGB rows of `size` (width, height).
    pub(super) fn new(pixels: &'a mut [u8], size: (u32, u32)) -> Self {
        Canvas {
            bitmap: Bitmap::with_buffer(pixels, size),
        }
    }
}

impl DrawingBackend for Canvas<'_> {
    type ErrorType = <Bitmap<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.bitmap.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_pixel(point, color)
    }

    fn draw_line<S: plotters_backend::BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_line(from, to, style)
    }

    fn draw_rect<S: plotters_backend::BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn blit_bitmap(
        &mut self,
        position: BackendCoord,
        size: (u32, u32),
        source: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.blit_bitmap(position, size, source)
    }

    fn estimate_text_size<TStyle: plotters_backend::BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let (width, height) = text_size(text, style.size());
        Ok((width as u32, height as u32))
    }

    /// Lays the glyphs out on one line (advances and kerning), places the box by the anchor,
    /// turns it by the transform and blends each glyph's coverage into the bitmap.
    fn draw_text<TStyle: plotters_backend::BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        position: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let font = embedded_font().as_scaled(PxScale::from(style.size() as f32));
        let (width, height) = text_size(text, style.size());
        let anchor = style.anchor();
        let left = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Center => -width / 2,
            HPos::Right => -width,
        };
        let top = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let mut pixels = Vec::new();
        let mut pen = 0.0;
        let mut previous = None;
        for character in text.chars() {
            let glyph_id = font.glyph_id(character);
            if let Some(previous) = previous {
                pen += font.kern(previous, glyph_id);
            }
            previous = Some(glyph_id);
            let glyph =
                glyph_id.with_scale_and_position(font.scale(), ab_glyph::point(pen, font.ascent()));
            pen += font.h_advance(glyph_id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            outline.draw(|x, y, coverage| {
                let x = bounds.min.x as i32 + x as i32 + left;
                let y = bounds.min.y as i32 + y as i32 + top;
                let (x, y) = transform.transform(x, y);
                pixels.push(((position.0 + x, position.1 + y), coverage));
            });
        }
        for (point, coverage) in pixels {
            let blended = BackendColor {
                alpha: color.alpha * f64::from(coverage),
                rgb: color.rgb,
            };
            self.bitmap.draw_pixel(point, blended)?;
        }
        Ok(())
    }
}

/// Width and height in pixels of `text` on one line at `size` (the line box: ascent to descent).
pub(super) fn text_size(text: &str, size: f64) -> (i32, i32) {
    let font = embedded_font().as_scaled(PxScale::from(size as f32));
    let mut width = 0.0;
    let mut previous = None;
    for character in text.chars() {
        let glyph_id = font.glyph_id(character);
        if let Some(previous) = previous {
            width += font.kern(previous, glyph_id);
        }
        width += font.h_advance(glyph_id);
        previous = Some(glyph_id);
    }
    (
        width.ceil() as i32,
        (font.ascent() - font.descent()).ceil() as i32,
    )
}
