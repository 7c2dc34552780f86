//! ROC and precision-recall curves of a binary classifier: the checks of the labels and scores,
//! the thinning of per-row curve points to what the image can show, and the legend both share.

use anyhow::{bail, ensure, Context};
use plotters::prelude::*;

use super::{axis_font, label_font, render, title_font, BASELINE_COLOR, MODEL_COLOR};
use crate::metrics;

/// Size of the ROC and precision-recall images.
const CURVE_SIZE: (u32, u32) = (720, 620);

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

/// The legend box of both curves, at `position`: the corner the curve leaves free.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plots::tests::{binary_sample, png_size};

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
    fn roc_and_pr_curves_are_pngs() {
        let (y, scores) = binary_sample();
        assert_eq!(png_size(&roc_curve(&y, &scores).unwrap()), CURVE_SIZE);
        assert_eq!(png_size(&pr_curve(&y, &scores).unwrap()), CURVE_SIZE);
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
}
