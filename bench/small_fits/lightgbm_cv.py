"""The small-table training benchmark's LightGBM side (bench/small_fits.sh): the same 50
configurations as runtime/examples/gbm_cv.rs, 5-fold cross-validated one fit after another on
the same rows and folds, through LightGBM's Python API (a Dataset per fit, as AutoML builds one
per fold). Prints one JSON line: fits, seconds, mean validation RMSE.

Usage: python lightgbm_cv.py TABLE.csv LABEL [ROWS]
"""

import json
import sys
import time

import lightgbm
import numpy as np
import pandas as pd

FOLDS = 5


def configs():
    for leaves in [7, 15, 31, 63, 127]:
        for min_leaf in [5, 10, 20, 50, 100]:
            for rate in [0.05, 0.1]:
                yield {
                    "objective": "regression", "num_leaves": leaves, "max_depth": 8,
                    "min_data_in_leaf": min_leaf, "learning_rate": rate, "lambda_l2": 1.0,
                    "min_sum_hessian_in_leaf": 1e-3, "max_bin": 255, "seed": 1,
                    "num_threads": 2, "verbose": -1, "feature_pre_filter": False,
                }


def main():
    path, label = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    frame = pd.read_csv(path).head(rows)
    x = frame.drop(columns=[label]).to_numpy(dtype=float)
    y = frame[label].to_numpy(dtype=float)
    index = np.arange(len(y))
    folds = [(index[index % FOLDS != fold], index[index % FOLDS == fold]) for fold in range(FOLDS)]
    started = time.perf_counter()
    fits, squared, scored = 0, 0.0, 0
    for params in configs():
        for train, valid in folds:
            data = lightgbm.Dataset(x[train], y[train], params={"max_bin": 255, "verbose": -1})
            booster = lightgbm.train(params, data, num_boost_round=100)
            predictions = booster.predict(x[valid], num_threads=2)
            squared += float(((predictions - y[valid]) ** 2).sum())
            scored += len(valid)
            fits += 1
    seconds = time.perf_counter() - started
    print(json.dumps({"system": f"lightgbm {lightgbm.__version__} (Python API)", "rows": len(y),
                      "fits": fits, "seconds": seconds, "rmse": (squared / scored) ** 0.5}))


if __name__ == "__main__":
    main()
