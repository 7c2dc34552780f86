#!/usr/bin/env python3
"""The Python sides of the training benchmark: the bench pipeline in pandas + scikit-learn or LightGBM.

Usage: python_train.py {sklearn,lightgbm} CSV

Same steps and settings as pipelines/bench_gbm.yaml: load the CSV, stratified 80/20 split
(seed 42), StandardScaler on the numeric columns and OneHotEncoder on the categorical ones
(fitted on train only), then 200 boosting rounds with no early stopping: scikit-learn's
HistGradientBoostingClassifier or LightGBM's LGBMClassifier; ROC AUC on the test set. Prints one
JSON object on stdout: {"roc_auc": ..., "seconds": {...}}.
Keep the settings in step with the pipeline (see the README beside this file).
"""

import json
import sys
import time

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

LABEL = "churned"
# Identifiers are not features (the pipeline's schema.identifiers.primary_key).
EXCLUDED = ["customer_id"]


def booster(library):
    """The gbm config of the pipeline in `library`: 200 rounds, learning rate 0.1, depth 5, at
    most 32 leaves grown best-first, L2 1.0, 255 bins (+ one for missing values), at least 20
    rows per leaf, no sampling, no early stopping, every core."""
    if library == "sklearn":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.1,
            max_depth=5,
            max_leaf_nodes=32,
            l2_regularization=1.0,
            max_bins=255,
            early_stopping=False,
            random_state=42,
        )
    if library == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(
            n_estimators=200,
            learning_rate=0.1,
            max_depth=5,
            num_leaves=32,
            reg_lambda=1.0,
            max_bin=255,
            min_child_samples=20,
            random_state=42,
            n_jobs=-1,
            verbose=-1,
        )
    sys.exit(f"unknown library {library!r}: sklearn or lightgbm")


def main():
    library, csv = sys.argv[1:]
    seconds = {}
    start = time.perf_counter()
    frame = pd.read_csv(csv)
    seconds["load"] = time.perf_counter() - start

    mark = time.perf_counter()
    y = frame[LABEL]
    x = frame.drop(columns=[LABEL, *EXCLUDED])
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=42
    )
    seconds["split"] = time.perf_counter() - mark

    categorical = [c for c in x.columns if x[c].dtype == object or str(x[c].dtype) in ("str", "string")]
    numeric = [c for c in x.columns if c not in categorical]
    model = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [
                        ("scale", StandardScaler(), numeric),
                        ("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
                    ]
                ),
            ),
            ("gbm", booster(library)),
        ]
    )
    mark = time.perf_counter()
    model.fit(x_train, y_train)
    seconds["fit"] = time.perf_counter() - mark

    mark = time.perf_counter()
    scores = model.predict_proba(x_test)[:, 1]
    auc = roc_auc_score(y_test, scores)
    seconds["evaluate"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - start
    print(
        json.dumps(
            {
                "roc_auc": auc,
                "train_rows": len(x_train),
                "test_rows": len(x_test),
                "features": len(numeric) + sum(x_train[c].nunique() for c in categorical),
                "seconds": {k: round(v, 3) for k, v in seconds.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
