"""Custom transforms for the telecom-churn example.

Each transform takes a pandas DataFrame and the run context dict and returns a
DataFrame. They never modify the input frame in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# Upper bounds (inclusive, in months) and labels for add_tenure_bucket.
TENURE_BUCKETS = ((12, "0-12m"), (24, "13-24m"), (48, "25-48m"))
LONGEST_TENURE_BUCKET = "49m+"


def compute_rfm(df: pd.DataFrame, context: dict) -> pd.DataFrame:
    """Compute recency, frequency, monetary features.

    The Telco data is one row per customer with no transaction history, so the
    classic RFM inputs (last purchase date, order count, order amounts) are
    approximated from the billing columns:

    - recency: ``tenure``, the months since the customer signed up.
    - frequency: ``tenure``, the number of monthly bills the customer has paid.
    - monetary: ``total_charges``, the lifetime amount billed. New customers
      (tenure 0) have no total yet; for them it is ``monthly_charges * tenure``,
      which is 0.

    ``context`` is accepted for the hook interface and not used.

    Adds columns: recency, frequency, monetary
    """
    import pandas as pd

    result = df.copy()
    tenure = pd.to_numeric(result["tenure"], errors="coerce")
    total_charges = pd.to_numeric(result["total_charges"], errors="coerce")
    monthly_charges = pd.to_numeric(result["monthly_charges"], errors="coerce")
    result["recency"] = tenure
    result["frequency"] = tenure
    result["monetary"] = total_charges.fillna(monthly_charges * tenure)
    return result


def add_tenure_bucket(df: pd.DataFrame, context: dict) -> pd.DataFrame:
    """Add a categorical ``tenure_bucket`` column: 0-12m, 13-24m, 25-48m or 49m+.

    A missing tenure gives a missing bucket. ``context`` is accepted for the hook
    interface and not used.

    Adds columns: tenure_bucket
    """
    result = df.copy()
    result["tenure_bucket"] = result["tenure"].map(_tenure_bucket)
    return result


def _tenure_bucket(tenure: object) -> str | None:
    try:
        months = float(tenure)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if months != months:  # NaN
        return None
    for upper_bound, label in TENURE_BUCKETS:
        if months <= upper_bound:
            return label
    return LONGEST_TENURE_BUCKET
