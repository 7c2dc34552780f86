#!/usr/bin/env python3
"""Generate a synthetic MBT project for benchmarking `mbt check`.

Usage: generate_project.py DIR N [--data]

Writes DIR/pyproject.toml, profiles.yaml, includes/schema.yaml, lib/__init__.py,
lib/custom_validators.py, pipelines/_base.yaml (a shared base that includes the schema) and
N derived training pipelines pipelines/p0001.yaml ... (about 60 lines each), varied
deterministically (gbm, smartcore forests and logistic regressions, thresholds, metrics, ...).

Every generated pipeline is valid: `mbt check --project-dir DIR` reports 0 errors. With
`--data`, DIR/sample_data/ gets the tables the pipelines read (customers.csv and usage_0.csv ...
usage_6.csv, 5,000 rows each), so that `mbt check` also checks every column reference against
the data catalog; without it the catalog is unavailable (one warning) and columns are not checked.

The Rust benchmark compiler/benches/check.rs contains a byte-for-byte port of this generator
(`MBT_BENCH_DUMP=DIR cargo bench -p mbt-compiler --bench check` writes its project to DIR, so
the two can be compared with `diff -r`). Keep them in sync.
"""

import os
import sys

PROJECT = "bench_project"

PYPROJECT = """[project]
name = "bench_project"
version = "0.1.0"
description = "A generated MBT project for benchmarks"
"""

PROFILES = """# Where pipelines run.
bench_project:
  target: dev
  outputs:
    dev:
      executor:
        type: local
      storage:
        type: local
        config:
          base_path: ./local_artifacts
      data_connector:
        type: local_file
        config:
          data_path: ./sample_data
      model_registry:
        type: local
        config:
          base_path: ./local_registry
"""

SCHEMA = """# Shared schema, included by the base pipeline.
target:
  label_column: churned
  classes: [0, 1]
  positive_class: 1
identifiers:
  primary_key: customer_id
  partition_key: snapshot_date
ignored_columns: [notes]
"""

VALIDATORS = '''"""Custom validators, transforms and metrics used by the generated pipelines."""


def check_label_rate(df, context):
    label = context["schema"]["target"]["label_column"]
    rate = float(df[label].mean())
    if rate < 0.01 or rate > 0.99:
        return False, f"label rate is extreme: {rate:.4f}"
    return True, f"label rate: {rate:.4f}"


def add_tenure_ratio(df, context):
    df["tenure_ratio"] = df["tenure_months"] / (df["tenure_months"].max() + 1)
    return df


def top_decile_lift(y_true, y_score):
    order = sorted(range(len(y_score)), key=lambda i: -y_score[i])
    top = order[: max(1, len(order) // 10)]
    base = sum(y_true) / max(1, len(y_true))
    return (sum(y_true[i] for i in top) / len(top)) / base if base else 0.0
'''

BASE = """# The shared base: every generated pipeline derives from it.
schema_version: 1

project:
  owner: data_science
  problem_type: binary_classification
  tags: [bench]

training:
  data_source:
    label_table: customers
  schema: !include ../includes/schema.yaml
  split:
    test_size: 0.2
    stratify: true
    seed: 42
  evaluation:
    primary_metric: roc_auc
    additional_metrics: [accuracy, f1]
"""

FRAMEWORKS = ["gbm", "smartcore", "linear"]
ON_FAILURE = ["fail", "warn", "skip_row"]
SCALERS = ["standard_scaler", "min_max_scaler", "robust_scaler"]
ENCODINGS = ["one_hot", "ordinal"]
JOINS = ["left", "inner"]
TEST_SIZES = ["0.2", "0.25", "0.3", "0.15"]
CADENCES = ["daily", "weekly", "monthly", "hourly"]


def model_config(i):
    framework = FRAMEWORKS[i % 3]
    if framework == "gbm":
        return [
            "    framework: gbm",
            "    config:",
            f"      n_estimators: {50 + (i % 20) * 25}",
            f"      learning_rate: 0.0{1 + i % 9}",
            f"      max_depth: {3 + i % 8}",
            f"      subsample: 0.{6 + i % 4}",
            f"      early_stopping_rounds: {10 + i % 20}",
            "      validation_fraction: 0.1",
            f"      seed: {i}",
        ]
    if framework == "smartcore":
        return [
            "    framework: smartcore",
            "    config:",
            "      model: RandomForestClassifier",
            f"      n_estimators: {100 + (i % 10) * 50}",
            f"      max_depth: {4 + i % 12}",
            f"      min_samples_split: {2 + i % 5}",
            f"      min_samples_leaf: {1 + i % 4}",
            f"      seed: {i}",
        ]
    return [
        "    framework: smartcore",
        "    config:",
        "      model: LogisticRegression",
        f"      alpha: 0.{1 + i % 9}",
    ]


def pipeline(i, n):
    name = f"p{i:04d}"
    lines = [
        f"# Generated pipeline {i} of {n}.",
        "schema_version: 1",
        "base_pipeline: _base",
        "",
        "project:",
        f"  name: {name}",
        f"  tags: [bench, group_{i % 10}, {FRAMEWORKS[i % 3]}]",
        "",
        "deployment:",
        f"  cadence: {CADENCES[i % 4]}",
        "",
        "training:",
        "  data_source:",
        "    feature_tables:",
        "      - table: customers",
        f"      - table: usage_{i % 7}",
        "        join_key: customer_id",
        f"        join_type: {JOINS[i % 2]}",
        "  validation:",
        f"    on_failure: {ON_FAILURE[i % 3]}",
        "    checks:",
        "      - type: null_threshold",
        "        columns: [churned, tenure_months]",
        f"        max_null_pct: {(i * 7) % 5}.{(i * 3) % 10}",
        "      - type: value_range",
        "        column: tenure_months",
        "        min: 0",
        f"        max: {60 + i % 100}",
        "      - type: type_check",
        "        columns:",
        "          tenure_months: integer",
        "          monthly_charges: float",
        "      - type: custom",
        "        function: lib.custom_validators.check_label_rate",
        "  split:",
        f"    test_size: {TEST_SIZES[i % 4]}",
        f"    seed: {1000 + i}",
        "  transformations:",
        "    normalization:",
        f"      method: {SCALERS[i % 3]}",
        "    encoding:",
        f"      method: {ENCODINGS[i % 2]}",
        "    custom_transforms:",
        "      - lib.custom_validators.add_tenure_ratio",
        "  feature_selection:",
        "    methods:",
        "      - name: correlation",
        f"        threshold: 0.{80 + i % 19}",
        "      - name: gbm_importance",
        f"        threshold: 0.{90 + i % 9}",
        "  model_training:",
    ]
    lines += model_config(i)
    lines += [
        "  evaluation:",
        f"    generate_plots: {'true' if i % 2 == 0 else 'false'}",
        "    custom_metrics: [lib.custom_validators.top_decile_lift]",
    ]
    return name, "\n".join(lines) + "\n"


def project_files(n):
    """All files of the project as (relative path, text), in a fixed order."""
    files = [
        ("pyproject.toml", PYPROJECT),
        ("profiles.yaml", PROFILES),
        ("includes/schema.yaml", SCHEMA),
        ("lib/__init__.py", ""),
        ("lib/custom_validators.py", VALIDATORS),
        ("pipelines/_base.yaml", BASE),
    ]
    for i in range(1, n + 1):
        name, text = pipeline(i, n)
        files.append((f"pipelines/{name}.yaml", text))
    return files


ROWS = 5000


def data_files():
    """The tables the pipelines read, deterministic."""
    customers = ["customer_id,snapshot_date,tenure_months,monthly_charges,notes,churned"]
    for row in range(ROWS):
        customers.append(
            f"C{row:05d},2025-{1 + row % 12:02d}-01,{row % 72},{20 + (row * 37) % 100}.{row % 10}0,"
            f"{'vip' if row % 13 == 0 else ''},{1 if (row * 7) % 10 < 3 else 0}"
        )
    files = [("sample_data/customers.csv", "\n".join(customers) + "\n")]
    for k in range(7):
        usage = [f"customer_id,minutes_{k},sessions_{k}"]
        for row in range(ROWS):
            usage.append(f"C{row:05d},{(row * (k + 3)) % 900},{row % (k + 5)}")
        files.append((f"sample_data/usage_{k}.csv", "\n".join(usage) + "\n"))
    return files


def main(argv):
    with_data = "--data" in argv
    argv = [arg for arg in argv if arg != "--data"]
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    root, n = argv[1], int(argv[2])
    files = project_files(n) + (data_files() if with_data else [])
    for path, text in files:
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full) or ".", exist_ok=True)
        with open(full, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
