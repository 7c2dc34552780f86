//! Horizontal bar charts with their values: feature importance (the most important features on
//! top) and an AutoML leaderboard (the best model on top).

use anyhow::{bail, ensure};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{axis_font, label_font, render, shorten, text_width, title_font, MODEL_COLOR};

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
    let title = if shown < names.len() {
        format!("Feature importance (top {shown} of {})", names.len())
    } else {
        "Feature importance".to_string()
    };
    bar_chart(&title, "Importance", &bars)
}

/// An AutoML leaderboard: each candidate's cross-validated score (`metric`), best on top, at
/// most `top` of them.
pub fn leaderboard(rows: &[(String, f64)], metric: &str, top: usize) -> anyhow::Result<Vec<u8>> {
    ensure!(!rows.is_empty(), "no models to plot");
    if let Some((name, value)) = rows.iter().find(|(_, value)| !value.is_finite()) {
        bail!("the score of model `{name}` is not a finite number ({value})");
    }
    let bars: Vec<(String, f64)> = rows
        .iter()
        .take(top.max(1))
        .map(|(name, value)| (shorten(name, 40), *value))
        .collect();
    let title = format!(
        "AutoML leaderboard ({} of {}, cross-validated {metric})",
        bars.len(),
        rows.len()
    );
    bar_chart(&title, metric, &bars)
}

/// Horizontal bars in the given order, the first on top, each with its value printed.
fn bar_chart(title: &str, axis: &str, bars: &[(String, f64)]) -> anyhow::Result<Vec<u8>> {
    let shown = bars.len();
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
            .x_desc(axis)
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

/// The value printed beside a bar, with fewer decimals the larger it is.
fn format_value(value: f64) -> String {
    match value.abs() {
        magnitude if magnitude >= 100.0 => format!("{value:.0}"),
        magnitude if magnitude >= 1.0 => format!("{value:.2}"),
        _ => format!("{value:.3}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plots::tests::{names, png_size};

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
    fn a_leaderboard_is_a_png_best_on_top() {
        let rows = vec![
            ("StackedEnsemble_1 (StackedEnsemble)".to_string(), 0.845),
            ("GLM_1 (GLM)".to_string(), 0.841),
            ("GBM_1 (GBM)".to_string(), 0.837),
        ];
        assert_eq!(png_size(&leaderboard(&rows, "AUC", 10).unwrap()).0, 900);
        assert_eq!(
            leaderboard(&[], "AUC", 10).unwrap_err().to_string(),
            "no models to plot"
        );
        let broken = vec![("GBM_1".to_string(), f64::NAN)];
        assert!(leaderboard(&broken, "AUC", 10).is_err());
    }

    #[test]
    fn degenerate_importance_inputs() {
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
}
