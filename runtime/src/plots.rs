//! Evaluation plots (`generate_plots: true`): ROC and precision-recall curves, a confusion matrix
//! and feature importance, rendered with plotters into PNG bytes.
//!
//! Every function is pure: it returns the encoded PNG and writes no file (the evaluate step
//! stores the bytes as artifacts), and the same input gives byte-identical output. Text is drawn
//! with a font embedded in the binary (DejaVu Sans, see `runtime/assets/README.md`) and
//! rasterized by `ab_glyph` (pure Rust), so no system font library (fontconfig, freetype) or
//! installed font is needed. This module must not read or write files or know about steps.

use std::io::Write;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use anyhow::{bail, ensure, Context};
use plotters::backend::BitMapBackend as Bitmap;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;
// Not `BackendStyle` by name: its methods would clash with plotters' `Color` on colors.
use plotters_backend::{BackendColor, BackendCoord, DrawingErrorKind};

use crate::metrics;

/// ROC curve of binary labels (0 or 1) against positive-class probabilities, with the chance
/// diagonal and the AUC in the title. Both classes must be present.
pub fn roc_curve(y: &[f64], scores: &[f64]) -> anyhow::Result<Vec<u8>> {
    check_binary(y, scores)?;
    let points =
        metrics::roc_points(y, scores).context("a roc curve needs both classes in the labels")?;
    let auc =
        metrics::roc_auc(y, scores).context("a roc curve needs both classes in the labels")?;
    let points = thin(points);
    render(CURVE_SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("ROC curve (AUC = {auc:.3})"), title_font())
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("False positive rate")
            .y_desc("True positive rate")
            .axis_desc_style(axis_font())
            .label_style(label_font())
            .light_line_style(WHITE)
            .draw()?;
        chart.draw_series(AreaSeries::new(
            points.iter().copied(),
            0.0,
            MODEL_COLOR.mix(0.12),
        ))?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                MODEL_COLOR.stroke_width(2),
            ))?
            .label(format!("model (n = {})", y.len()))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], MODEL_COLOR.stroke_width(2)));
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                6,
                4,
                BASELINE_COLOR.stroke_width(1),
            ))?
            .label("chance (AUC = 0.5)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BASELINE_COLOR));
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

/// Precision-recall curve of binary labels (0 or 1) against positive-class probabilities, drawn
/// as steps, with the average precision in the title and the positive rate as the baseline.
/// Positives must be present.
pub fn pr_curve(y: &[f64], scores: &[f64]) -> anyhow::Result<Vec<u8>> {
    check_binary(y, scores)?;
    let points =
        metrics::pr_points(y, scores).context("a precision-recall curve needs positives")?;
    let average_precision =
        metrics::pr_auc(y, scores).context("a precision-recall curve needs positives")?;
    let positive_rate = y.iter().filter(|label| **label == 1.0).count() as f64 / y.len() as f64;
    // Steps as average precision counts them: each threshold's precision holds from the previous
    // recall up to its own.
    let mut steps = Vec::with_capacity(2 * points.len());
    let mut previous_recall = 0.0;
    for (recall, precision) in thin(points) {
        steps.push((previous_recall, precision));
        steps.push((recall, precision));
        previous_recall = recall;
    }
    render(CURVE_SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Precision-recall curve (AP = {average_precision:.3})"),
                title_font(),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0, 0.0..1.02)?;
        chart
            .configure_mesh()
            .x_desc("Recall")
            .y_desc("Precision")
            .axis_desc_style(axis_font())
            .label_style(label_font())
            .light_line_style(WHITE)
            .draw()?;
        chart
            .draw_series(LineSeries::new(steps, MODEL_COLOR.stroke_width(2)))?
            .label(format!("model (n = {})", y.len()))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], MODEL_COLOR.stroke_width(2)));
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, positive_rate), (1.0, positive_rate)],
                6,
                4,
                BASELINE_COLOR.stroke_width(1),
            ))?
            .label(format!("baseline (positive rate = {positive_rate:.3})"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BASELINE_COLOR));
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)
    })
}

/// Confusion matrix: `counts[actual][predicted]`, one row and one column per label in the same
/// order. Each cell prints its count and is shaded by its share of the actual class, so rare
/// classes stay readable.
pub fn confusion_matrix(labels: &[String], counts: &[Vec<u64>]) -> anyhow::Result<Vec<u8>> {
    let classes = labels.len();
    ensure!(classes > 0, "a confusion matrix needs at least one class");
    ensure!(
        classes <= MAX_CLASSES,
        "too many classes for a confusion matrix plot ({classes}; at most {MAX_CLASSES})"
    );
    ensure!(
        counts.len() == classes && counts.iter().all(|row| row.len() == classes),
        "the confusion matrix must be {classes} x {classes}, one row and column per label"
    );
    let names: Vec<String> = labels.iter().map(|label| shorten(label, 16)).collect();
    let cell = (640 / classes as u32).clamp(32, 160) as i32;
    let side = cell * classes as i32;
    let label_style = label_font();
    let widest = names
        .iter()
        .map(|name| text_width(name, &label_style))
        .max()
        .unwrap_or(0);
    // Column labels stay horizontal when they fit in a cell and are turned upright otherwise.
    let upright_columns = widest > cell - 6;
    let left = 40 + widest + 12;
    let top = 80;
    let bottom = 20 + if upright_columns { widest } else { 16 } + 36;
    let size = ((left + side + 30) as u32, (top + side + bottom) as u32);
    render(size, |root| {
        let width = size.0 as i32;
        root.draw(&Text::new(
            "Confusion matrix",
            (width / 2, 24),
            title_font().pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        root.draw(&Text::new(
            "rows: actual, columns: predicted; shade: share of the actual class",
            (width / 2, 52),
            label_font().pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        for (row, row_counts) in counts.iter().enumerate() {
            let total: u64 = row_counts.iter().sum();
            for (column, count) in row_counts.iter().enumerate() {
                let share = if total == 0 {
                    0.0
                } else {
                    *count as f64 / total as f64
                };
                let x = left + column as i32 * cell;
                let y = top + row as i32 * cell;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    shade(share).filled(),
                ))?;
                let text = count.to_string();
                let mut font_size = (f64::from(cell) * 0.42).min(22.0);
                let mut style = font(font_size);
                while text_width(&text, &style) > cell - 4 && font_size > 7.0 {
                    font_size -= 1.0;
                    style = font(font_size);
                }
                let color = if share > 0.5 { WHITE } else { BLACK };
                root.draw(&Text::new(
                    text,
                    (x + cell / 2, y + cell / 2),
                    style
                        .color(&color)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
        root.draw(&Rectangle::new(
            [(left, top), (left + side, top + side)],
            BLACK.stroke_width(1),
        ))?;
        for (index, name) in names.iter().enumerate() {
            let middle = index as i32 * cell + cell / 2;
            root.draw(&Text::new(
                name.as_str(),
                (left - 8, top + middle),
                label_style.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            let column_style = if upright_columns {
                label_style
                    .transform(FontTransform::Rotate270)
                    .pos(Pos::new(HPos::Right, VPos::Center))
            } else {
                label_style.pos(Pos::new(HPos::Center, VPos::Top))
            };
            root.draw(&Text::new(
                name.as_str(),
                (left + middle, top + side + 8),
                column_style,
            ))?;
        }
        let column_labels = if upright_columns { widest } else { 16 };
        root.draw(&Text::new(
            "Predicted",
            (left + side / 2, top + side + 20 + column_labels + 10),
            axis_font().pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        root.draw(&Text::new(
            "Actual",
            (16, top + side / 2),
            axis_font()
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        Ok(())
    })
}

/// Horizontal bars of the `top` most important features, most important first (ties keep the
/// input order).
pub fn feature_importance(
    names: &[String],
    importance: &[f64],
    top: usize,
) -> anyhow::Result<Vec<u8>> {
    ensure!(
        names.len() == importance.len(),
        "{} feature names for {} importance values",
        names.len(),
        importance.len()
    );
    ensure!(!names.is_empty(), "no features to plot");
    ensure!(top > 0, "the number of features to plot must be at least 1");
    if let Some(index) = importance.iter().position(|value| !value.is_finite()) {
        bail!(
            "the importance of feature `{}` is not a finite number ({})",
            names[index],
            importance[index]
        );
    }
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|a, b| importance[*b].total_cmp(&importance[*a]).then(a.cmp(b)));
    order.truncate(top);
    let shown = order.len();
    let bars: Vec<(String, f64)> = order
        .iter()
        .map(|index| (shorten(&names[*index], 32), importance[*index]))
        .collect();
    let largest = bars.iter().map(|(_, value)| *value).fold(0.0, f64::max);
    let smallest = bars.iter().map(|(_, value)| *value).fold(0.0, f64::min);
    let (low, high) = if largest == smallest {
        (0.0, 1.0)
    } else {
        // Room at the ends for the printed values.
        let pad = (largest - smallest) * 0.15;
        (
            if smallest < 0.0 { smallest - pad } else { 0.0 },
            if largest > 0.0 { largest + pad } else { 0.0 },
        )
    };
    let label_style = label_font();
    let widest = bars
        .iter()
        .map(|(name, _)| text_width(name, &label_style))
        .max()
        .unwrap_or(0);
    let height = (170 + 26 * shown as u32).max(240);
    let title = if shown < names.len() {
        format!("Feature importance (top {shown} of {})", names.len())
    } else {
        "Feature importance".to_string()
    };
    render((900, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, title_font())
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size((widest + 16) as u32)
            .build_cartesian_2d(
                low..high,
                // Slot `s` spans 2s..2s + 2 with its label at the middle, 2s + 1 (integers,
                // because plotters formats key points of integer axes only).
                (0..2 * shown as i32).with_key_points(
                    (0..shown as i32)
                        .map(|slot| 2 * slot + 1)
                        .collect::<Vec<_>>(),
                ),
            )?;
        // Bar `rank` (0 = most important) fills slot `shown - 1 - rank` (from the bottom), so
        // the most important is on top.
        let slot_of = |rank: usize| (shown - 1 - rank) as i32;
        let name_of = |middle: &i32| {
            usize::try_from(middle / 2)
                .ok()
                .and_then(|slot| bars.get(shown.checked_sub(1 + slot)?))
                .map(|(name, _)| name.clone())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_label_formatter(&name_of)
            .x_desc("Importance")
            .axis_desc_style(axis_font())
            .label_style(label_font())
            .draw()?;
        // Bars at most 22 pixels thick, so a short list does not turn into slabs.
        let slot_pixels = chart.plotting_area().dim_in_pixel().1 / shown as u32;
        let gap = (slot_pixels.saturating_sub(22) / 2).max(4);
        chart.draw_series(bars.iter().enumerate().map(|(rank, (_, value))| {
            let slot = slot_of(rank);
            let mut bar = Rectangle::new(
                [(0.0, 2 * slot), (*value, 2 * slot + 2)],
                MODEL_COLOR.filled(),
            );
            bar.set_margin(gap, gap, 0, 0);
            bar
        }))?;
        let value_style = label_font();
        chart.draw_series(bars.iter().enumerate().map(|(rank, (_, value))| {
            let anchor = if *value < 0.0 {
                HPos::Right
            } else {
                HPos::Left
            };
            Text::new(
                format!(" {} ", format_value(*value)),
                (*value, 2 * slot_of(rank) + 1),
                value_style.pos(Pos::new(anchor, VPos::Center)),
            )
        }))?;
        Ok(())
    })
}

/// Size of the ROC and precision-recall images.
const CURVE_SIZE: (u32, u32) = (720, 620);
/// Beyond this, cells would be too small to read.
const MAX_CLASSES: usize = 60;
/// The family the embedded font is registered under; plotters' default for labels.
const FONT_FAMILY: &str = "sans-serif";
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const MODEL_COLOR: RGBColor = RGBColor(31, 119, 180);
const BASELINE_COLOR: RGBColor = RGBColor(120, 120, 120);

/// The embedded font, parsed once per process. It is also registered with plotters (whose font
/// table is global) so that plotters' own text measurements use the same metrics.
fn embedded_font() -> &'static FontRef<'static> {
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
struct Canvas<'a> {
    bitmap: Bitmap<'a>,
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
fn text_size(text: &str, size: f64) -> (i32, i32) {
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

/// Draws on a white RGB canvas of `size` and encodes it as PNG.
fn render(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<Canvas<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<u8>> {
    embedded_font();
    let mut pixels = vec![255u8; size.0 as usize * size.1 as usize * 3];
    {
        let canvas = Canvas {
            bitmap: Bitmap::with_buffer(&mut pixels, size),
        };
        let root = canvas.into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    encode_png(&pixels, size)
}

/// Encodes 8-bit RGB pixels as PNG: signature, IHDR, one IDAT (each row with filter type Sub,
/// zlib-compressed) and IEND. No ancillary chunks (no time stamp), so the bytes depend only on
/// the pixels.
fn encode_png(pixels: &[u8], (width, height): (u32, u32)) -> anyhow::Result<Vec<u8>> {
    let row_bytes = width as usize * 3;
    assert_eq!(
        pixels.len(),
        row_bytes * height as usize,
        "pixel buffer size"
    );
    let mut filtered = Vec::with_capacity((row_bytes + 1) * height as usize);
    for row in pixels.chunks_exact(row_bytes) {
        // Sub: each byte minus the same channel of the pixel to its left; flat areas become
        // zeros, which deflate compresses well.
        filtered.push(1);
        filtered.extend_from_slice(&row[..3]);
        filtered.extend(
            row[3..]
                .iter()
                .zip(row)
                .map(|(byte, left)| byte.wrapping_sub(*left)),
        );
    }
    let mut compressor =
        flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    compressor
        .write_all(&filtered)
        .context("cannot compress the plot")?;
    let compressed = compressor.finish().context("cannot compress the plot")?;
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = Vec::with_capacity(compressed.len() + 64);
    png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    for (kind, data) in [
        (b"IHDR", &header[..]),
        (b"IDAT", &compressed[..]),
        (b"IEND", &[]),
    ] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc32(&[&kind[..], data]).to_be_bytes());
    }
    Ok(png)
}

/// CRC-32 (ISO-HDLC, as PNG chunks use) over the concatenated `parts`.
fn crc32(parts: &[&[u8]]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut index = 0;
        while index < 256 {
            let mut value = index as u32;
            let mut bit = 0;
            while bit < 8 {
                value = if value & 1 == 1 {
                    0xEDB8_8320 ^ (value >> 1)
                } else {
                    value >> 1
                };
                bit += 1;
            }
            table[index] = value;
            index += 1;
        }
        table
    };
    let mut crc = u32::MAX;
    for byte in parts.iter().flat_map(|part| part.iter()) {
        crc = TABLE[((crc ^ u32::from(*byte)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .margin(12)
        .label_font(label_font())
        .background_style(WHITE.mix(0.9))
        .border_style(BASELINE_COLOR)
        .draw()
        .map_err(|error| anyhow::anyhow!("cannot draw the legend: {error}"))
}

/// Labels must be 0 or 1 and scores finite, one per row.
fn check_binary(y: &[f64], scores: &[f64]) -> anyhow::Result<()> {
    ensure!(
        y.len() == scores.len(),
        "{} labels for {} scores",
        y.len(),
        scores.len()
    );
    ensure!(!y.is_empty(), "no rows to plot");
    if let Some(label) = y.iter().find(|label| **label != 0.0 && **label != 1.0) {
        bail!("binary labels must be 0 or 1, found {label}");
    }
    let not_finite = scores.iter().filter(|score| !score.is_finite()).count();
    ensure!(
        not_finite == 0,
        "{not_finite} of {} scores are not finite numbers",
        scores.len()
    );
    Ok(())
}

/// Drops points closer than a thousandth of the axis to the last one kept (a large test set has
/// a point per row, far more than the pixels), always keeping the first and the last.
fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let Some(last) = points.last().copied() else {
        return points;
    };
    let mut kept: Vec<(f64, f64)> = Vec::with_capacity(points.len().min(4096));
    for point in points {
        match kept.last() {
            Some(previous)
                if (point.0 - previous.0).abs() < 1e-3 && (point.1 - previous.1).abs() < 1e-3 => {}
            _ => kept.push(point),
        }
    }
    if kept.last() != Some(&last) {
        kept.push(last);
    }
    kept
}

/// White through blue (as matplotlib's "Blues") by `share` in 0..=1.
fn shade(share: f64) -> RGBColor {
    let (light, dark) = ([247.0, 251.0, 255.0], [8.0, 48.0, 107.0]);
    let mix = |channel: usize| (light[channel] + (dark[channel] - light[channel]) * share) as u8;
    RGBColor(mix(0), mix(1), mix(2))
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut short: String = text.chars().take(limit - 1).collect();
    short.push('…');
    short
}

fn format_value(value: f64) -> String {
    match value.abs() {
        magnitude if magnitude >= 100.0 => format!("{value:.0}"),
        magnitude if magnitude >= 1.0 => format!("{value:.2}"),
        _ => format!("{value:.3}"),
    }
}

fn text_width(text: &str, style: &TextStyle<'_>) -> i32 {
    text_size(text, style.font.get_size()).0
}

/// The embedded font at `size` pixels (registered first: plotters looks fonts up by family).
fn font(size: f64) -> TextStyle<'static> {
    embedded_font();
    (FONT_FAMILY, size).into_font().into()
}

fn title_font() -> TextStyle<'static> {
    font(24.0)
}

fn axis_font() -> TextStyle<'static> {
    font(17.0)
}

fn label_font() -> TextStyle<'static> {
    font(14.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the PNG signature and returns the width and height of the IHDR chunk, after a full
    /// decode proves the stream is valid.
    fn png_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[12..16], b"IHDR");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (width, height));
        (width, height)
    }

    #[test]
    fn thinning_keeps_the_ends_and_visible_moves() {
        let points: Vec<(f64, f64)> = (0..=100_000)
            .map(|step| (step as f64 / 100_000.0, step as f64 / 100_000.0))
            .collect();
        let kept = thin(points);
        assert_eq!(kept.first(), Some(&(0.0, 0.0)));
        assert_eq!(kept.last(), Some(&(1.0, 1.0)));
        assert!(kept.len() <= 1002, "{} points kept", kept.len());
        assert_eq!(
            thin(vec![(0.0, 0.0), (0.5, 0.0)]),
            vec![(0.0, 0.0), (0.5, 0.0)]
        );
        assert_eq!(thin(Vec::new()), Vec::new());
    }

    #[test]
    fn png_encoding_round_trips() {
        // The CRC-32 check value of the standard.
        assert_eq!(crc32(&[b"1234", b"56789"]), 0xCBF4_3926);
        let (width, height) = (5u32, 3u32);
        let pixels: Vec<u8> = (0..width * height * 3)
            .map(|byte| (byte * 37 % 256) as u8)
            .collect();
        let bytes = encode_png(&pixels, (width, height)).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
            .read_info()
            .unwrap();
        let mut decoded = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut decoded).unwrap();
        assert_eq!((info.width, info.height), (width, height));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(decoded, pixels);
    }

    fn binary_sample() -> (Vec<f64>, Vec<f64>) {
        // A fixed pseudo-random sample where positives score higher on average.
        let mut state = 42u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..500)
            .map(|_| {
                let label = if next() < 0.3 { 1.0 } else { 0.0 };
                let score = (0.35 * label + 0.65 * next()).min(1.0);
                (label, score)
            })
            .unzip()
    }

    fn names(count: usize) -> Vec<String> {
        (0..count).map(|index| format!("class_{index}")).collect()
    }

    #[test]
    fn roc_and_pr_curves_are_pngs() {
        let (y, scores) = binary_sample();
        assert_eq!(png_size(&roc_curve(&y, &scores).unwrap()), CURVE_SIZE);
        assert_eq!(png_size(&pr_curve(&y, &scores).unwrap()), CURVE_SIZE);
    }

    #[test]
    fn confusion_matrix_is_a_png_from_2_to_20_classes() {
        for classes in [2, 3, 10, 20] {
            let counts: Vec<Vec<u64>> = (0..classes)
                .map(|row| {
                    (0..classes)
                        .map(|column| {
                            if row == column {
                                900
                            } else {
                                (row + column) as u64
                            }
                        })
                        .collect()
                })
                .collect();
            let (width, height) = png_size(&confusion_matrix(&names(classes), &counts).unwrap());
            assert!(width >= 300 && height >= 300, "{classes}: {width}x{height}");
        }
    }

    #[test]
    fn feature_importance_is_a_png() {
        let importance = [0.05, 0.4, 0.0, 0.25, 0.3];
        let bytes = feature_importance(&names(5), &importance, 3).unwrap();
        assert_eq!(png_size(&bytes).0, 900);
        png_size(&feature_importance(&names(5), &importance, 1).unwrap());
        // Negative values (e.g. permutation importance) and all-zero values still draw.
        png_size(&feature_importance(&names(2), &[-0.1, 0.2], 10).unwrap());
        png_size(&feature_importance(&names(2), &[0.0, 0.0], 10).unwrap());
    }

    #[test]
    fn same_input_gives_identical_bytes() {
        let (y, scores) = binary_sample();
        assert_eq!(
            roc_curve(&y, &scores).unwrap(),
            roc_curve(&y, &scores).unwrap()
        );
        assert_eq!(
            pr_curve(&y, &scores).unwrap(),
            pr_curve(&y, &scores).unwrap()
        );
        let counts = vec![vec![50, 3], vec![7, 40]];
        assert_eq!(
            confusion_matrix(&names(2), &counts).unwrap(),
            confusion_matrix(&names(2), &counts).unwrap()
        );
        let importance = [0.1, 0.5, 0.4];
        assert_eq!(
            feature_importance(&names(3), &importance, 5).unwrap(),
            feature_importance(&names(3), &importance, 5).unwrap()
        );
    }

    #[test]
    fn text_is_drawn_with_the_embedded_font() {
        let size = (200, 60);
        let bytes = render(size, |root| {
            root.draw(&Text::new("AUC 0.85", (10, 10), font(30.0)))?;
            Ok(())
        })
        .unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        let inked = pixels.chunks(3).filter(|pixel| pixel[0] < 128).count();
        assert!(inked > 100, "only {inked} dark pixels");
        assert!(text_width("AUC 0.85", &font(30.0)) > 60);
    }

    #[test]
    fn degenerate_binary_inputs() {
        // All scores equal: the curves collapse to the diagonal and one step, but still draw.
        let y = [0.0, 1.0, 0.0, 1.0];
        png_size(&roc_curve(&y, &[0.5; 4]).unwrap());
        png_size(&pr_curve(&y, &[0.5; 4]).unwrap());
        // One class only: no ROC curve; a PR curve without positives neither.
        let error = roc_curve(&[1.0, 1.0], &[0.2, 0.9]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a roc curve needs both classes in the labels"
        );
        png_size(&pr_curve(&[1.0, 1.0], &[0.2, 0.9]).unwrap());
        let error = pr_curve(&[0.0, 0.0], &[0.2, 0.9]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a precision-recall curve needs positives"
        );
        // Empty, mismatched, non-binary and non-finite inputs.
        assert_eq!(
            roc_curve(&[], &[]).unwrap_err().to_string(),
            "no rows to plot"
        );
        assert_eq!(
            pr_curve(&[0.0], &[0.1, 0.2]).unwrap_err().to_string(),
            "1 labels for 2 scores"
        );
        assert_eq!(
            roc_curve(&[0.0, 2.0], &[0.1, 0.2]).unwrap_err().to_string(),
            "binary labels must be 0 or 1, found 2"
        );
        assert_eq!(
            roc_curve(&[0.0, 1.0, 1.0], &[0.1, f64::NAN, f64::INFINITY])
                .unwrap_err()
                .to_string(),
            "2 of 3 scores are not finite numbers"
        );
    }

    #[test]
    fn degenerate_matrix_and_importance_inputs() {
        assert!(confusion_matrix(&[], &[]).is_err());
        assert_eq!(
            confusion_matrix(&names(2), &[vec![1, 2]])
                .unwrap_err()
                .to_string(),
            "the confusion matrix must be 2 x 2, one row and column per label"
        );
        // Empty rows (a class never seen in the test set) and huge counts still draw.
        png_size(
            &confusion_matrix(&names(3), &[vec![0; 3], vec![0, 12_345_678, 1], vec![0; 3]])
                .unwrap(),
        );
        assert!(confusion_matrix(&names(61), &vec![vec![0; 61]; 61]).is_err());
        assert_eq!(
            feature_importance(&[], &[], 5).unwrap_err().to_string(),
            "no features to plot"
        );
        assert!(feature_importance(&names(2), &[0.1], 5).is_err());
        assert!(feature_importance(&names(2), &[0.1, 0.2], 0).is_err());
        assert_eq!(
            feature_importance(&names(2), &[0.1, f64::NAN], 5)
                .unwrap_err()
                .to_string(),
            "the importance of feature `class_1` is not a finite number (NaN)"
        );
    }

    /// With `MBT_PLOT_SAMPLES=DIR`, writes one sample of each plot to DIR for a human to look
    /// at; without it, does nothing (unit tests write no files).
    #[test]
    fn write_samples_when_asked() {
        let Some(directory) = std::env::var_os("MBT_PLOT_SAMPLES") else {
            return;
        };
        let directory = std::path::PathBuf::from(directory);
        std::fs::create_dir_all(&directory).unwrap();
        let (y, scores) = binary_sample();
        let mut counts = vec![vec![0u64; 12]; 12];
        for (row, row_counts) in counts.iter_mut().enumerate() {
            for (column, count) in row_counts.iter_mut().enumerate() {
                *count = if row == column {
                    300 + 17 * row as u64
                } else {
                    ((row * 7 + column * 3) % 23) as u64
                };
            }
        }
        let mut class_names = names(12);
        class_names[3] = "a rather long class name".to_string();
        let feature_names: Vec<String> = (0..25)
            .map(|index| format!("feature_{index}_{}", "x".repeat(index % 7)))
            .collect();
        let importance: Vec<f64> = (0..25)
            .map(|index| 1.0 / (1.0 + index as f64 * 0.7))
            .collect();
        let samples = [
            ("roc.png", roc_curve(&y, &scores).unwrap()),
            ("pr.png", pr_curve(&y, &scores).unwrap()),
            (
                "confusion_binary.png",
                confusion_matrix(&names(2), &[vec![310, 40], vec![35, 115]]).unwrap(),
            ),
            (
                "confusion_12.png",
                confusion_matrix(&class_names, &counts).unwrap(),
            ),
            (
                "confusion_20.png",
                confusion_matrix(&names(20), &vec![vec![5; 20]; 20]).unwrap(),
            ),
            (
                "importance.png",
                feature_importance(&feature_names, &importance, 20).unwrap(),
            ),
            (
                "importance_top1.png",
                feature_importance(&feature_names, &importance, 1).unwrap(),
            ),
        ];
        for (name, bytes) in samples {
            std::fs::write(directory.join(name), bytes).unwrap();
        }
    }
}
