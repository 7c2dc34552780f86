"""Custom evaluation metrics for the telecom-churn example, in plain Python."""

from __future__ import annotations

import math
from collections.abc import Iterable


def lift_at_decile(y_true: Iterable[float], y_score: Iterable[float]) -> float:
    """Lift in the top 10% of scores: their positive rate over the overall rate.

    ``y_true`` holds 0/1 labels and ``y_score`` the predicted scores, in the same
    order; any iterable works (lists, NumPy arrays, pandas Series). The top
    decile is the ``ceil(n / 10)`` highest scores; ties keep input order. A lift
    of 1.0 means the model ranks no better than random; 0.0 is returned when
    there are no positives at all, because lift is then undefined.

    Raises ValueError when the inputs are empty or differ in length.
    """
    labels = [float(label) for label in y_true]
    scores = [float(score) for score in y_score]
    if len(labels) != len(scores):
        raise ValueError(f"y_true has {len(labels)} values but y_score has {len(scores)}")
    if not labels:
        raise ValueError("lift_at_decile needs at least one example")

    overall_rate = sum(labels) / len(labels)
    if overall_rate == 0.0:
        return 0.0

    top_count = math.ceil(len(labels) / 10)
    ranked = sorted(range(len(scores)), key=lambda index: scores[index], reverse=True)
    top_rate = sum(labels[index] for index in ranked[:top_count]) / top_count
    return top_rate / overall_rate
