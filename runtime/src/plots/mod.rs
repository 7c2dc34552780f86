//! Evaluation plots (`generate_plots: true`): ROC and precision-recall curves, a confusion matrix,
//! feature importance and AutoML leaderboards, rendered with plotters into PNG bytes.
//!
//! Every function is pure: it returns the encoded PNG and writes no file (the evaluate step
//! stores the bytes as artifacts), and the same input gives byte-identical output. Text is drawn
//! with a font embedded in the binary (DejaVu Sans, see `runtime/assets/README.md`) and
//! rasterized by `ab_glyph` (pure Rust), so no system font library (fontconfig, freetype) or
//! installed font is needed. This module must not read or write files or know about steps.
//!
//! Each kind of plot has its own submodule (`curves`, `confusion`, `importance`); `canvas` is the
//! drawing surface with the embedded font and `encode` turns its pixels into PNG bytes. What the
//! plots share stays here: the colours, the text styles and `render`, which runs one drawing
//! from a blank canvas to the encoded file.

use plotters::coord::Shift;
use plotters::prelude::*;

mod canvas;
mod confusion;
mod curves;
mod encode;
mod importance;

pub use confusion::confusion_matrix;
pub use curves::{pr_curve, roc_curve};
pub use importance::{feature_importance, leaderboard};

use canvas::{embedded_font, text_size, Canvas, FONT_FAMILY};

const MODEL_COLOR: RGBColor = RGBColor(31, 119, 180);
const BASELINE_COLOR: RGBColor = RGBColor(120, 120, 120);

/// Draws on a white RGB canvas of `size` and encodes it as PNG.
fn render(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<Canvas<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<u8>> {
    embedded_font();
    let mut pixels = vec![255u8; size.0 as usize * size.1 as usize * 3];
    {
        let canvas = Canvas::new(&mut pixels, size);
        let root = canvas.into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    encode::encode_png(&pixels, size)
}

/// `text` cut to `limit` characters, the last one an ellipsis when it is cut.
fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut short: String = text.chars().take(limit - 1).collect();
    short.push('…');
    short
}

/// Width in pixels of `text` on one line in `style`.
fn text_width(text: &str, style: &TextStyle<'_>) -> i32 {
    text_size(text, style.font.get_size()).0
}

/// The embedded font at `size` pixels (registered first: plotters looks fonts up by family).
fn font(size: f64) -> TextStyle<'static> {
    embedded_font();
    (FONT_FAMILY, size).into_font().into()
}

/// Plot titles.
fn title_font() -> TextStyle<'static> {
    font(24.0)
}

/// Axis descriptions.
fn axis_font() -> TextStyle<'static> {
    font(17.0)
}

/// Tick labels, legends, class and feature names.
fn label_font() -> TextStyle<'static> {
    font(14.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the PNG signature and returns the width and height of the IHDR chunk, after a full
    /// decode proves the stream is valid.
    pub(super) fn png_size(bytes: &[u8]) -> (u32, u32) {
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

    /// Labels and positive-class scores of 500 rows, the same on every call.
    pub(super) fn binary_sample() -> (Vec<f64>, Vec<f64>) {
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

    /// `count` class (or feature) names: `class_0`, `class_1` and so on.
    pub(super) fn names(count: usize) -> Vec<String> {
        (0..count).map(|index| format!("class_{index}")).collect()
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
