//! Evaluation metrics, computed from labels and scores (no model knowledge).

/// ROC AUC by the Mann-Whitney statistic, with average ranks for tied scores.
pub fn roc_auc(labels: &[f64], scores: &[f64]) -> Option<f64> {
    let positives = labels.iter().filter(|label| **label == 1.0).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && scores[order[end + 1]] == scores[order[start]] {
            end += 1;
        }
        let average_rank = (start + end) as f64 / 2.0 + 1.0;
        rank_sum += order[start..=end]
            .iter()
            .filter(|i| labels[**i] == 1.0)
            .count() as f64
            * average_rank;
        start = end + 1;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// Area under the precision-recall curve (average precision).
pub fn pr_auc(labels: &[f64], scores: &[f64]) -> Option<f64> {
    let positives = labels.iter().filter(|label| **label == 1.0).count() as f64;
    if positives == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let (mut true_positives, mut seen, mut area) = (0.0, 0.0, 0.0);
    for index in order {
        seen += 1.0;
        if labels[index] == 1.0 {
            true_positives += 1.0;
            area += true_positives / seen;
        }
    }
    Some(area / positives)
}

/// The ROC curve as (false positive rate, true positive rate) points, from (0, 0) to (1, 1), one
/// point per distinct score (tied scores move both rates at once, so the trapezoid area under
/// these points equals [`roc_auc`]). `None` unless both classes are present.
pub fn roc_points(labels: &[f64], scores: &[f64]) -> Option<Vec<(f64, f64)>> {
    let positives = labels.iter().filter(|label| **label == 1.0).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut points = vec![(0.0, 0.0)];
    points.extend(
        threshold_counts(labels, scores).map(|(true_positives, false_positives)| {
            (false_positives / negatives, true_positives / positives)
        }),
    );
    Some(points)
}

/// The precision-recall curve as (recall, precision) points, one per distinct score from the
/// highest down (tied scores enter together). `None` without positives.
pub fn pr_points(labels: &[f64], scores: &[f64]) -> Option<Vec<(f64, f64)>> {
    let positives = labels.iter().filter(|label| **label == 1.0).count() as f64;
    if positives == 0.0 {
        return None;
    }
    Some(
        threshold_counts(labels, scores)
            .map(|(true_positives, false_positives)| {
                (
                    true_positives / positives,
                    true_positives / (true_positives + false_positives),
                )
            })
            .collect(),
    )
}

/// Cumulative (true positives, false positives) when the threshold steps down through each
/// distinct score, highest first.
fn threshold_counts<'a>(
    labels: &'a [f64],
    scores: &'a [f64],
) -> impl Iterator<Item = (f64, f64)> + 'a {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let (mut true_positives, mut false_positives) = (0.0, 0.0);
    let mut start = 0;
    std::iter::from_fn(move || {
        if start == order.len() {
            return None;
        }
        let mut end = start;
        while end < order.len() && scores[order[end]].total_cmp(&scores[order[start]]).is_eq() {
            if labels[order[end]] == 1.0 {
                true_positives += 1.0;
            } else {
                false_positives += 1.0;
            }
            end += 1;
        }
        start = end;
        Some((true_positives, false_positives))
    })
}

/// Accuracy, precision, recall and F1 of thresholded binary predictions.
pub fn binary_counts(labels: &[f64], scores: &[f64], threshold: f64) -> (f64, f64, f64, f64) {
    let (mut tp, mut fp, mut tn, mut fn_) = (0.0, 0.0, 0.0, 0.0);
    for (label, score) in labels.iter().zip(scores) {
        match (*score >= threshold, *label == 1.0) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, false) => tn += 1.0,
            (false, true) => fn_ += 1.0,
        }
    }
    let accuracy = (tp + tn) / labels.len().max(1) as f64;
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (accuracy, precision, recall, f1)
}

/// Mean binary log loss, probabilities clipped away from 0 and 1.
pub fn log_loss(labels: &[f64], scores: &[f64]) -> f64 {
    let total: f64 = labels
        .iter()
        .zip(scores)
        .map(|(label, score)| {
            let p = score.clamp(1e-15, 1.0 - 1e-15);
            -(label * p.ln() + (1.0 - label) * (1.0 - p).ln())
        })
        .sum();
    total / labels.len().max(1) as f64
}

/// Multiclass metrics from row-major probabilities (`rows * classes`): (accuracy, macro F1,
/// log loss), the predicted class being the most probable (ties: the lowest index).
pub fn multiclass(labels: &[usize], probabilities: &[f64], classes: usize) -> (f64, f64, f64) {
    let predicted = argmax_rows(probabilities, classes);
    let n = labels.len().max(1) as f64;
    let correct = labels
        .iter()
        .zip(&predicted)
        .filter(|(a, b)| a == b)
        .count() as f64;
    let mut f1_sum = 0.0;
    for class in 0..classes {
        let tp = labels
            .iter()
            .zip(&predicted)
            .filter(|(a, b)| **a == class && **b == class)
            .count() as f64;
        let fp = labels
            .iter()
            .zip(&predicted)
            .filter(|(a, b)| **a != class && **b == class)
            .count() as f64;
        let fn_ = labels
            .iter()
            .zip(&predicted)
            .filter(|(a, b)| **a == class && **b != class)
            .count() as f64;
        if tp + fp + fn_ > 0.0 {
            f1_sum += 2.0 * tp / (2.0 * tp + fp + fn_);
        }
    }
    let loss: f64 = labels
        .iter()
        .enumerate()
        .map(|(row, label)| -probabilities[row * classes + label].clamp(1e-15, 1.0).ln())
        .sum();
    (correct / n, f1_sum / classes.max(1) as f64, loss / n)
}

/// The most probable class of each row of row-major probabilities.
pub fn argmax_rows(probabilities: &[f64], classes: usize) -> Vec<usize> {
    probabilities
        .chunks(classes.max(1))
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (class, p)| {
                    if *p > best.1 {
                        (class, *p)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect()
}

/// Regression metrics: (rmse, mae, r2, mape).
pub fn regression(targets: &[f64], predictions: &[f64]) -> (f64, f64, f64, f64) {
    let n = targets.len().max(1) as f64;
    let mean = targets.iter().sum::<f64>() / n;
    let (mut squared, mut absolute, mut total, mut percentage) = (0.0, 0.0, 0.0, 0.0);
    for (target, prediction) in targets.iter().zip(predictions) {
        let error = target - prediction;
        squared += error * error;
        absolute += error.abs();
        total += (target - mean).powi(2);
        if *target != 0.0 {
            percentage += (error / target).abs();
        }
    }
    let r2 = if total > 0.0 {
        1.0 - squared / total
    } else {
        0.0
    };
    ((squared / n).sqrt(), absolute / n, r2, percentage / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_random_and_tied_scores() {
        assert_eq!(
            roc_auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.2, 0.8, 0.9]),
            Some(1.0)
        );
        assert_eq!(
            roc_auc(&[0.0, 1.0, 0.0, 1.0], &[0.5, 0.5, 0.5, 0.5]),
            Some(0.5)
        );
        assert_eq!(roc_auc(&[1.0, 1.0], &[0.1, 0.2]), None);
        // One inversion out of four pairs.
        assert_eq!(
            roc_auc(&[0.0, 1.0, 0.0, 1.0], &[0.1, 0.3, 0.4, 0.9]),
            Some(0.75)
        );
    }

    #[test]
    fn curve_points_group_tied_scores() {
        let labels = [0.0, 1.0, 0.0, 1.0];
        assert_eq!(
            roc_points(&labels, &[0.1, 0.3, 0.4, 0.9]),
            Some(vec![
                (0.0, 0.0),
                (0.0, 0.5),
                (0.5, 0.5),
                (0.5, 1.0),
                (1.0, 1.0)
            ])
        );
        assert_eq!(
            roc_points(&labels, &[0.5; 4]),
            Some(vec![(0.0, 0.0), (1.0, 1.0)])
        );
        assert_eq!(roc_points(&[1.0, 1.0], &[0.1, 0.2]), None);
        assert_eq!(
            pr_points(&labels, &[0.1, 0.3, 0.4, 0.9]),
            Some(vec![(0.5, 1.0), (0.5, 0.5), (1.0, 2.0 / 3.0), (1.0, 0.5)])
        );
        assert_eq!(pr_points(&[0.0, 0.0], &[0.1, 0.2]), None);
    }

    #[test]
    fn thresholded_counts_and_regression() {
        let (accuracy, precision, recall, f1) =
            binary_counts(&[1.0, 0.0, 1.0, 0.0], &[0.9, 0.6, 0.4, 0.1], 0.5);
        assert_eq!((accuracy, precision, recall, f1), (0.5, 0.5, 0.5, 0.5));
        let (rmse, mae, r2, _) = regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!((rmse, mae, r2), (0.0, 0.0, 1.0));
        assert!(pr_auc(&[1.0, 0.0], &[0.9, 0.1]).unwrap() == 1.0);
    }

    #[test]
    fn multiclass_accuracy_macro_f1_and_log_loss() {
        // Rows predict 0, 1, 2, 2; truth 0, 1, 2, 1.
        let p = [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.1, 0.8, 0.2, 0.3, 0.5];
        let (accuracy, macro_f1, loss) = multiclass(&[0, 1, 2, 1], &p, 3);
        assert_eq!(accuracy, 0.75);
        // F1: class 0 = 1, class 1 = 2/3, class 2 = 2/3.
        assert!((macro_f1 - (1.0 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        let expected = -(0.8f64.ln() + 0.7f64.ln() + 0.8f64.ln() + 0.3f64.ln()) / 4.0;
        assert!((loss - expected).abs() < 1e-12);
        assert_eq!(argmax_rows(&[0.5, 0.5, 0.2, 0.8], 2), vec![0, 1]);
    }
}
