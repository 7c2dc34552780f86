"""MBT's scikit-learn worker: `python -c WORKER train|predict DIR`.

DIR holds spec.json and x.parquet (columns x0..xN, float, NaN for missing) and, to train,
y.parquet (column y); to predict, model.pkl. Training writes model.pkl and out.json
(scikit-learn version, feature importances); predicting writes out.parquet (column p, row-major
class probabilities for multiclass) and out.json (the scikit-learn version). A missing package
exits 3 with an `MBT-SKLEARN: ` line on stderr.
"""

import json
import os
import pickle
import sys

mode, workdir = sys.argv[1], sys.argv[2]
try:
    import numpy as np
    import pandas as pd
    import pyarrow  # noqa: F401  (pandas reads Parquet with it)
    import sklearn
    from sklearn import ensemble, linear_model
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
except ImportError as error:
    print(f"MBT-SKLEARN: {error}", file=sys.stderr)
    sys.exit(3)

with open(f"{workdir}/spec.json", encoding="utf-8") as handle:
    spec = json.load(handle)
x = pd.read_parquet(f"{workdir}/x.parquet").to_numpy(dtype=float)

ESTIMATORS = {
    "RandomForestClassifier": ensemble.RandomForestClassifier,
    "LogisticRegression": linear_model.LogisticRegression,
    "GradientBoostingClassifier": ensemble.GradientBoostingClassifier,
    "HistGradientBoostingClassifier": ensemble.HistGradientBoostingClassifier,
    "RandomForestRegressor": ensemble.RandomForestRegressor,
    "GradientBoostingRegressor": ensemble.GradientBoostingRegressor,
    "HistGradientBoostingRegressor": ensemble.HistGradientBoostingRegressor,
    "Ridge": linear_model.Ridge,
    "LinearRegression": linear_model.LinearRegression,
}
# Estimators that take missing values themselves; the others get the training median.
TAKE_MISSING = {"HistGradientBoostingClassifier", "HistGradientBoostingRegressor"}
LINEAR = {"LogisticRegression", "Ridge", "LinearRegression"}


def estimator(name, params):
    model = ESTIMATORS[name](**params)
    steps = []
    if name not in TAKE_MISSING:
        steps.append(SimpleImputer(strategy="median", keep_empty_features=True))
    if name in LINEAR:
        steps.append(StandardScaler())
    return make_pipeline(*steps, model) if steps else model


def importances(fitted, width):
    model = fitted.steps[-1][1] if hasattr(fitted, "steps") else fitted
    if hasattr(model, "feature_importances_"):
        values = np.asarray(model.feature_importances_, dtype=float)
    elif hasattr(model, "coef_"):
        values = np.abs(np.asarray(model.coef_, dtype=float)).reshape(-1, width).sum(axis=0)
    else:
        values = np.ones(width)
    total = values.sum()
    return (values / total if total > 0 else np.full(width, 1.0 / max(width, 1))).tolist()


if mode == "train":
    y = pd.read_parquet(f"{workdir}/y.parquet")["y"].to_numpy()
    if spec["task"] != "regression":
        y = y.astype(int)
    model = estimator(spec["model"], spec["params"])
    model.fit(x, y)
    with open(f"{workdir}/model.pkl", "wb") as handle:
        pickle.dump(model, handle, protocol=4)
    out = {"sklearn_version": sklearn.__version__, "importances": importances(model, x.shape[1])}
    with open(f"{workdir}/out.json", "w", encoding="utf-8") as handle:
        json.dump(out, handle)
else:
    with open(f"{workdir}/model.pkl", "rb") as handle:
        model = pickle.load(handle)
    if spec["task"] == "regression":
        p = np.asarray(model.predict(x), dtype=float)
    else:
        proba = np.asarray(model.predict_proba(x), dtype=float)
        classes = int(spec["classes"])
        full = np.zeros((x.shape[0], classes))
        for column, label in enumerate(model.classes_):
            full[:, int(label)] = proba[:, column]
        p = full[:, 1] if spec["task"] == "binary" else full.reshape(-1)
    pd.DataFrame({"p": p}).to_parquet(f"{workdir}/out.parquet")
    with open(f"{workdir}/out.json", "w", encoding="utf-8") as handle:
        json.dump({"sklearn_version": sklearn.__version__}, handle)

# Leave without interpreter finalization (Arrow's thread pools can abort it under load).
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
