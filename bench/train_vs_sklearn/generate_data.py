#!/usr/bin/env python3
"""Generate the synthetic churn table of the training benchmark (deterministic, seeded).

Usage: generate_data.py [--rows N] [--seed S] [--cache-dir DIR]

Writes DIR/rows<N>_seed<S>_v<VERSION>/churn.csv (the `churn` table of the bench project) and
prints that folder on stdout. A folder that already holds the table is reused, so reruns skip
generation; the file is written to a temporary name and renamed, so an interrupted run leaves no
half-written table behind. DIR defaults to ~/.cache/mbt/bench.

The table: customer_id, 15 numeric columns (integers and floats; satisfaction_score has about
3% missing values), 4 categorical columns, and the binary label `churned` (about 25% positive).
The label is drawn from a logistic model with non-linear terms and interactions plus Gaussian
noise on the logit, so a gradient-boosted model reaches a test ROC AUC of about 0.85, well
below 1. Two numeric columns carry no signal. Needs numpy and pandas.
"""

import argparse
import os
import sys

import numpy as np
import pandas as pd

# Bump when the generated data changes, so cached tables of the old version are not reused.
VERSION = 1
TABLE = "churn"
# Sets the positive rate (about 25%).
INTERCEPT = -1.8


def generate(rows, seed):
    """The table as a pandas DataFrame."""
    rng = np.random.default_rng(seed)
    n = rows

    contract = rng.choice(
        ["month_to_month", "one_year", "two_year"], size=n, p=[0.55, 0.25, 0.20]
    )
    payment = rng.choice(
        ["electronic_check", "mailed_check", "bank_transfer", "credit_card"],
        size=n,
        p=[0.34, 0.22, 0.22, 0.22],
    )
    internet = rng.choice(["dsl", "fiber_optic", "none"], size=n, p=[0.35, 0.45, 0.20])
    region = rng.choice([f"region_{i:02d}" for i in range(12)], size=n)

    tenure = np.clip(rng.exponential(28.0, n), 0, 72).astype(np.int64)
    age = np.clip(rng.normal(45, 15, n), 18, 90).astype(np.int64)
    household_size = 1 + rng.poisson(1.3, n)
    base_charge = np.select(
        [internet == "fiber_optic", internet == "dsl"], [80.0, 55.0], default=25.0
    )
    monthly_charges = np.round(np.clip(base_charge + rng.normal(0, 15, n), 18, 150), 2)
    total_charges = np.round(monthly_charges * tenure + rng.normal(0, 30, n).clip(-25, None), 2)
    total_charges = np.maximum(total_charges, 0.0)
    support_calls = rng.poisson(1.2 + 0.02 * (monthly_charges - 60).clip(0), n)
    dropped_calls = rng.poisson(np.where(internet == "fiber_optic", 2.0, 0.8), n)
    avg_call_minutes = np.round(rng.gamma(2.0, 4.0, n), 2)
    data_usage_gb = np.round(
        rng.lognormal(np.where(internet == "none", 0.0, 2.5), 0.6, n), 3
    )
    days_since_payment = rng.integers(0, 60, n)
    late_payments = rng.poisson(np.where(payment == "electronic_check", 1.1, 0.5), n)
    num_devices = 1 + rng.poisson(1.0, n)
    discount_pct = np.round(rng.choice([0, 5, 10, 15, 20], size=n, p=[0.6, 0.15, 0.12, 0.08, 0.05]) + rng.uniform(0, 1, n), 2)
    satisfaction = np.round(np.clip(rng.normal(3.4 - 0.25 * support_calls, 1.0, n), 1, 5), 1)
    # Two columns without signal, as real feature tables have.
    noise_a = np.round(rng.normal(0, 1, n), 4)
    noise_b = rng.integers(0, 1000, n)

    logit = (
        INTERCEPT
        + np.select(
            [contract == "month_to_month", contract == "one_year"], [0.9, -0.4], default=-1.3
        )
        + np.where(payment == "electronic_check", 0.45, 0.0)
        + np.where(internet == "fiber_optic", 0.35, np.where(internet == "none", -0.5, 0.0))
        - 0.9 * np.log1p(tenure) / np.log(73) * 2.0
        + 0.018 * (monthly_charges - 65)
        + 0.22 * support_calls
        - 0.45 * (satisfaction - 3.0)
        + 0.12 * dropped_calls
        + 0.25 * late_payments
        + 0.9 * (days_since_payment > 45)
        - 0.012 * (age - 45) + 0.0006 * (age - 45) ** 2
        - 0.03 * discount_pct
        + 0.4 * ((contract == "month_to_month") & (tenure < 6))
        + 0.015 * np.minimum(data_usage_gb, 40) * (internet == "fiber_optic")
        + np.where(np.isin(region, ["region_03", "region_07"]), 0.3, 0.0)
        + rng.normal(0, 0.5, n)
    )
    churned = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))).astype(np.int64)

    # Missing values after the label is drawn: the signal stays, the feature is incomplete.
    satisfaction = np.where(rng.uniform(0, 1, n) < 0.03, np.nan, satisfaction)

    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1, dtype=np.int64),
            "tenure_months": tenure,
            "age": age,
            "household_size": household_size,
            "monthly_charges": monthly_charges,
            "total_charges": total_charges,
            "support_calls": support_calls,
            "dropped_calls": dropped_calls,
            "avg_call_minutes": avg_call_minutes,
            "data_usage_gb": data_usage_gb,
            "days_since_payment": days_since_payment,
            "late_payments_12m": late_payments,
            "num_devices": num_devices,
            "discount_pct": discount_pct,
            "satisfaction_score": satisfaction,
            "noise_a": noise_a,
            "noise_b": noise_b,
            "contract_type": contract,
            "payment_method": payment,
            "internet_service": internet,
            "region": region,
            "churned": churned,
        }
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows (default 1000000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--cache-dir",
        default=os.path.join(os.path.expanduser("~"), ".cache", "mbt", "bench"),
        help="where generated tables are kept (default ~/.cache/mbt/bench)",
    )
    args = parser.parse_args()
    if args.rows < 1000:
        sys.exit("error: --rows must be at least 1000")
    folder = os.path.join(args.cache_dir, f"rows{args.rows}_seed{args.seed}_v{VERSION}")
    path = os.path.join(folder, f"{TABLE}.csv")
    if os.path.isfile(path):
        print(f"== reusing {path}", file=sys.stderr)
    else:
        os.makedirs(folder, exist_ok=True)
        frame = generate(args.rows, args.seed)
        temporary = f"{path}.{os.getpid()}.tmp"
        frame.to_csv(temporary, index=False)
        os.replace(temporary, path)
        print(
            f"== generated {path} ({args.rows} rows, {frame['churned'].mean():.1%} positive,"
            f" {os.path.getsize(path) / 1e6:.0f} MB)",
            file=sys.stderr,
        )
    print(folder)


if __name__ == "__main__":
    main()
