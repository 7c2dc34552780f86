//! Confusion matrix of a classifier: a grid of counts, one row per actual and one column per
//! predicted class, sized so that the counts and class names stay readable.

use anyhow::ensure;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::{axis_font, font, label_font, render, shorten, text_width, title_font};

/// Beyond this, cells would be too small to read.
const MAX_CLASSES: usize = 60;

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

/// White through blue (as matplotlib's "Blues") by `share` in 0..=1.
fn shade(share: f64) -> RGBColor {
    let (light, dark) = ([247.0, 251.0, 255.0], [8.0, 48.0, 107.0]);
    let mix = |channel: usize| (light[channel] + (dark[channel] - light[channel]) * share) as u8;
    RGBColor(mix(0), mix(1), mix(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plots::tests::{names, png_size};

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
    fn degenerate_matrix_inputs() {
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
    }
}
