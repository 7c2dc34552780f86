"""Custom data validators for the telecom-churn example.

Each validator takes a pandas DataFrame and the run context dict and returns
``(passed, message)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def check_label_distribution(df: pd.DataFrame, context: dict) -> tuple[bool, str]:
    label_col = context["schema"]["target"]["label_column"]
    positive_rate = df[label_col].mean()
    if positive_rate < 0.01 or positive_rate > 0.99:
        return False, f"Label imbalance extreme: {positive_rate:.4f}"
    return True, f"Label positive rate: {positive_rate:.4f}"
