"""MBT's automl against H2O AutoML (through MBT) and scikit-learn defaults, on real tables.

Every MBT system goes through MBT's public interface: a generated project per dataset, `mbt run`
of a training pipeline on the train split, then a serving pipeline on the held-out rows; the
metric is computed here from the published predictions. scikit-learn's defaults
(LogisticRegression with scaling, RandomForest, HistGradientBoosting) train on the same train
split in this process. Prints a table (dataset, system, test AUC or RMSE, wall time, peak RSS)
and writes it as CSV.

Usage: python bench/automl/run.py --mbt PATH [--data DIR] [--out CSV] [--seed N]
         [--datasets a,b] [--systems automl20,automl60,h2o60,sklearn]
The bench/automl.sh wrapper builds mbt in release and picks the interpreter.
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

# (file, task, label, positive class); ../shared/data/README.md gives each one's provenance.
DATASETS = {
    "telco_churn": ("telco_churn.csv", "binary", "churn", "Yes"),
    "spambase": ("spambase.csv", "binary", "type", "spam"),
    "credit_g": ("credit_g.csv", "binary", "class", "bad"),
    "wine_quality": ("wine_quality.csv", "regression", "quality", None),
    "concrete": ("concrete.csv", "regression", "compressive_strength", None),
}

# MBT systems: (framework, config lines).
MBT_SYSTEMS = {
    "automl20": ("automl", ["max_runtime_secs: 20", "seed: 42"]),
    "automl60": ("automl", ["max_runtime_secs: 60", "seed: 42"]),
    "h2o60": ("h2o_automl", ["max_runtime_secs: 60", "seed: 42"]),
}

PROFILES = """bench-automl:
  target: dev
  outputs:
    dev:
      data_connector: {type: local_file, config: {data_path: ./data}}
      h2o: {nthreads: 2}
"""


def run_measured(command, env):
    """Runs `command`; (exit code, wall seconds, peak RSS in MB of it and its children)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(output.decode(errors="replace"))
    return code, wall, usage.ru_maxrss / 1024


def yaml_value(value):
    text = str(value)
    return f'"{text}"'


def training_yaml(name, task, label, classes, positive, framework, config):
    problem = "binary_classification" if task == "binary" else "regression"
    target = [f"      label_column: {label}"]
    if task == "binary":
        listed = ", ".join(yaml_value(c) for c in classes)
        target += [f"      classes: [{listed}]", f"      positive_class: {yaml_value(positive)}"]
    metric = "roc_auc" if task == "binary" else "rmse"
    config_lines = "\n".join(f"      {line}" for line in config)
    return f"""schema_version: 1
project:
  name: {name}
  problem_type: {problem}
training:
  data_source:
    label_table: train
  schema:
    target:
{chr(10).join(target)}
    identifiers:
      primary_key: row_id
  # MBT evaluates on a slice of the train split; the benchmark's metric is the served test set's.
  split:
    test_size: 0.1
    stratify: {"true" if task == "binary" else "false"}
    seed: 42
  model_training:
    framework: {framework}
    config:
{config_lines}
  evaluation:
    primary_metric: {metric}
"""


def serving_yaml(name, training, task):
    problem = "binary_classification" if task == "binary" else "regression"
    return f"""schema_version: 1
project:
  name: {name}
  problem_type: {problem}
serving:
  model_source:
    registry: local
    run_id: latest
    training_pipeline: {training}
  data_source:
    scoring_table: test
  output:
    table: {name}.csv
    columns:
      prediction: score
"""


def sklearn_side(train, test, task, label, positive):
    x_train, x_test = train.drop(columns=[label, "row_id"]), test.drop(columns=["row_id"])
    y_train = (train[label] == positive).astype(int) if task == "binary" else train[label]
    text = [c for c in x_train.columns if x_train[c].dtype == object]
    numbers = [c for c in x_train.columns if c not in text]
    scaled = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), numbers),
        ("cat", OneHotEncoder(handle_unknown="ignore"), text),
    ])
    ordinal = ColumnTransformer([
        ("num", SimpleImputer(), numbers),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), text),
    ])
    if task == "binary":
        models = {
            "sklearn_logistic": make_pipeline(scaled, LogisticRegression(max_iter=2000)),
            "sklearn_forest": make_pipeline(ordinal, RandomForestClassifier(random_state=0, n_jobs=2)),
            "sklearn_hgb": make_pipeline(ordinal, HistGradientBoostingClassifier(random_state=0)),
        }
    else:
        models = {
            "sklearn_ridge": make_pipeline(scaled, Ridge()),
            "sklearn_forest": make_pipeline(ordinal, RandomForestRegressor(random_state=0, n_jobs=2)),
            "sklearn_hgb": make_pipeline(ordinal, HistGradientBoostingRegressor(random_state=0)),
        }
    out = {}
    for name, model in models.items():
        started = time.perf_counter()
        model.fit(x_train, y_train)
        scores = model.predict_proba(x_test)[:, 1] if task == "binary" else model.predict(x_test)
        out[name] = (scores, time.perf_counter() - started)
    return out


def metric(task, truth, scores, positive):
    if task == "binary":
        return "auc", roc_auc_score((truth == positive).astype(int), scores)
    return "rmse", float(np.sqrt(mean_squared_error(truth, scores)))


def main():
    root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser()
    parser.add_argument("--mbt", required=True)
    parser.add_argument("--data", default=str(root.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(Path.home() / ".cache/mbt/bench/automl/results.csv"))
    parser.add_argument("--work", default=str(Path.home() / ".cache/mbt/bench/automl"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--systems", default="automl20,automl60,h2o60,sklearn")
    args = parser.parse_args()
    systems = args.systems.split(",")
    env = {**os.environ}
    rows = []
    for dataset in args.datasets.split(","):
        file, task, label, positive = DATASETS[dataset]
        frame = pd.read_csv(Path(args.data) / file)
        frame.insert(0, "row_id", [f"r{i}" for i in range(len(frame))])
        train, test = train_test_split(
            frame, test_size=0.2, random_state=args.seed,
            stratify=frame[label] if task == "binary" else None,
        )
        truth = test[label].to_numpy()
        project = Path(args.work) / dataset
        shutil.rmtree(project, ignore_errors=True)
        (project / "data").mkdir(parents=True)
        (project / "pipelines").mkdir()
        (project / "profiles.yaml").write_text(PROFILES)
        train.to_csv(project / "data/train.csv", index=False)
        test.drop(columns=[label]).to_csv(project / "data/test.csv", index=False)
        classes = sorted(frame[label].astype(str).unique()) if task == "binary" else None
        for system in systems:
            if system == "sklearn":
                for name, (scores, wall) in sklearn_side(train, test, task, label, positive).items():
                    kind, value = metric(task, truth, scores, positive)
                    rows.append([dataset, name, kind, value, wall, None])
                continue
            framework, config = MBT_SYSTEMS[system]
            if framework == "h2o_automl" and not os.environ.get("MBT_H2O_JAR"):
                print(f"skipping {system}: MBT_H2O_JAR is not set", file=sys.stderr)
                continue
            training, serving = f"train_{system}", f"serve_{system}"
            (project / f"pipelines/{training}.yaml").write_text(
                training_yaml(training, task, label, classes, positive, framework, config))
            (project / f"pipelines/{serving}.yaml").write_text(serving_yaml(serving, training, task))
            base = [args.mbt, "run", "--project-dir", str(project), "--select"]
            code, wall, rss = run_measured(base + [training], env)
            if code != 0:
                rows.append([dataset, system, "failed", float("nan"), wall, rss])
                continue
            code, _, _ = run_measured(base + [serving], env)
            served = pd.read_csv(project / f"predictions/{serving}.csv")
            scores = served.set_index("row_id").loc[test["row_id"], "score"].to_numpy()
            kind, value = metric(task, truth, scores, positive)
            rows.append([dataset, system, kind, value, wall, rss])
            print(f"{dataset:<14} {system:<16} {kind} {value:.4f}  {wall:.1f} s", file=sys.stderr)
    header = ["dataset", "system", "metric", "value", "wall_s", "peak_rss_mb"]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    print(f"{'dataset':<14} {'system':<18} {'metric':<6} {'value':>8} {'wall s':>8} {'RSS MB':>8}")
    for dataset, system, kind, value, wall, rss in rows:
        shown = "-" if rss is None else f"{rss:.0f}"
        print(f"{dataset:<14} {system:<18} {kind:<6} {value:>8.4f} {wall:>8.1f} {shown:>8}")
    print(f"(written to {args.out})")


if __name__ == "__main__":
    main()
