#!/usr/bin/env python3
"""Whether automl's time budget holds on a table large for it (bench/automl_budget.sh).

Usage: run.py --mbt BIN --data DIR [--budgets 1,2,3,5,10] [--out CSV]

Writes a project under ~/.cache/mbt/bench/automl_budget/ that reads DIR's `churn` table (from
bench/train_vs_sklearn/generate_data.py) and trains `framework: automl` on it once per budget
(`max_runtime_secs`), then prints a table: the budget, train_model's wall time (the step's
`duration_s` in run_results.json) and its ratio to the budget (the issue's bound: 1.10), the
rows automl cross-validated (all, or the sample its warning names), how many candidates it
evaluated, the test ROC AUC of evaluate and the whole run's peak RSS. Needs only the standard
library.
"""

import argparse
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

PROFILES = """bench-automl-budget:
  target: dev
  outputs:
    dev:
      data_connector:
        type: local_file
        config:
          data_path: "{{ env_var('MBT_BENCH_DATA_DIR', './data') }}"
"""

PIPELINE = """schema_version: 1
project:
  name: {name}
  problem_type: binary_classification
training:
  data_source:
    label_table: churn
  schema:
    target:
      label_column: churned
    identifiers:
      primary_key: customer_id
  model_training:
    framework: automl
    config:
      max_runtime_secs: {budget}
      seed: 42
  evaluation:
    primary_metric: roc_auc
"""

SAMPLE = re.compile(r"automl trains on a sample of (\d+) of the (\d+) rows")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbt", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--budgets", default="1,2,3,5,10")
    parser.add_argument("--out")
    args = parser.parse_args()
    project = Path.home() / ".cache/mbt/bench/automl_budget"
    (project / "pipelines").mkdir(parents=True, exist_ok=True)
    (project / "profiles.yaml").write_text(PROFILES)
    env = dict(os.environ, MBT_BENCH_DATA_DIR=args.data)
    rows = []
    for budget in [int(b) for b in args.budgets.split(",")]:
        name = f"automl_budget_{budget}"
        (project / "pipelines" / f"{name}.yaml").write_text(
            PIPELINE.format(name=name, budget=budget)
        )
        # Waited for with wait4 for the run's peak RSS (this script is small: a child's peak
        # counts its pages from before exec).
        process = subprocess.Popen(
            [args.mbt, "run", "--select", name],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        process.returncode = code  # reaped by wait4: Popen must not wait for it again
        if code != 0:
            sys.exit(f"mbt run --select {name} failed:\n{output}")
        results = json.loads((project / "target" / name / "run_results.json").read_text())
        step = results["steps"]["train_model"]
        seconds = step["duration_s"]
        trained = int(step["metrics"]["train_rows"])
        sample = next(filter(None, (SAMPLE.search(w) for w in step["warnings"])), None)
        board = re.search(r"leaderboard \((\d+) of (\d+)", output)
        rows.append(
            {
                "train_rows": trained,
                "budget_s": budget,
                "train_model_s": round(seconds, 2),
                "ratio": round(seconds / budget, 3),
                "rows_searched": int(sample.group(1)) if sample else trained,
                "candidates": int(board.group(2)) if board else 0,
                "test_auc": round(results["metrics"]["roc_auc"], 4),
                "run_peak_rss_mb": round(usage.ru_maxrss / 1024),
            }
        )
        print(f"budget {budget} s: train_model {seconds:.2f} s", file=sys.stderr)
    header = list(rows[0])
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for row in rows:
        print(" | ".join(str(row[key]) for key in header))
    if args.out:
        with open(args.out, "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
