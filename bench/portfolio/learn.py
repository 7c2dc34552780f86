#!/usr/bin/env python3
"""Learn automl's gradient boosting portfolio offline: greedy selection on learning tables.

Usage: python bench/portfolio/learn.py --mbt-example BIN [--data DIR] [--size N] [--pool N]

BIN is the release build of runtime/examples/portfolio_cv.rs (bench/portfolio.sh builds it).
DIR holds the learning tables written by tables.py (tables.json + one CSV each; none of them is
a table of bench/automl, so the benchmark measures the portfolio on tables it never saw).

1. The pool: the hand-made shapes automl had before (HAND_MADE) and --pool more drawn from a
   grid with a fixed seed.
2. Every shape is cross-validated on every table by BIN, exactly as automl cross-validates a
   candidate (5 folds, early stopping, AUC / log loss / RMSE). Results are cached per table
   and pool under DIR/../cv/.
3. A shape's regret on a table is how far its CV metric falls behind the table's best shape,
   in units of the spread between the best and the median shape (so every table weighs alike).
   Greedy selection (as in Auto-sklearn 2.0's portfolio): repeatedly add the shape that removes
   the most regret (the mean over tables of the best regret in the portfolio so far) per unit
   of fit time, relative to each table's median shape (--ignore-cost: the most regret).
Prints the selected order with the mean regret after each pick, the same curve for the
hand-made order and for portfolio.rs's current one, and the selection as the Rust arrays
FIRST (6) and SECOND (the rest).
Only the standard library is used.
"""

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PORTFOLIO_RS = ROOT / "runtime/src/adapters/automl/portfolio.rs"
FIRST = 6
# The regret of a shape far behind (more than this many best-to-median spreads) counts as this.
CAP = 10.0

RATES = [0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2]
LEAVES = [4, 7, 15, 31, 63, 127, 255]
MIN_LEAF = [3, 5, 10, 20, 30, 50, 100]
L2 = [0.0, 0.1, 1.0, 3.0, 5.0, 10.0, 30.0]
SUBSAMPLE = [0.6, 0.7, 0.8, 0.9, 1.0]
COLSAMPLE = [0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.0]


# The hand-made shapes automl had before its portfolio was learned (FIRST then SECOND), part of
# every pool: (learning_rate, max_leaves, max_depth, min_samples_leaf, l2, subsample,
# colsample_bynode, rounds, patience).
HAND_MADE = [
    [0.1, 31, 8, 20, 1.0, 1.0, 1.0, 1000, 30],
    [0.05, 15, 6, 40, 5.0, 0.8, 1.0, 2000, 50],
    [0.1, 63, 10, 10, 1.0, 0.8, 1.0, 1000, 30],
    [0.05, 7, 3, 50, 1.0, 1.0, 1.0, 2000, 50],
    [0.03, 31, 8, 30, 10.0, 0.7, 1.0, 3000, 80],
    [0.2, 127, 12, 5, 0.1, 1.0, 1.0, 500, 20],
    [0.05, 31, 8, 10, 1.0, 0.8, 0.7, 2000, 50],
    [0.02, 15, 6, 20, 3.0, 0.8, 0.8, 4000, 100],
    [0.1, 15, 5, 5, 0.0, 0.9, 0.5, 1000, 30],
    [0.05, 255, 16, 5, 10.0, 0.7, 0.6, 2000, 50],
    [0.03, 7, 4, 10, 1.0, 0.8, 0.8, 4000, 100],
    [0.1, 4, 2, 20, 1.0, 1.0, 1.0, 2000, 50],
    [0.01, 31, 8, 20, 1.0, 0.8, 0.8, 6000, 150],
    [0.05, 63, 10, 50, 30.0, 0.6, 0.5, 2000, 50],
    [0.08, 31, 12, 3, 3.0, 0.7, 0.7, 1500, 40],
    [0.15, 15, 6, 30, 10.0, 0.9, 0.9, 800, 25],
    [0.03, 127, 12, 15, 5.0, 0.6, 0.4, 3000, 80],
    [0.05, 31, 6, 100, 1.0, 0.8, 1.0, 2000, 50],
]


def current_shapes():
    """automl's shapes as portfolio.rs lists them now, FIRST then SECOND."""
    text = PORTFOLIO_RS.read_text()
    shapes = []
    for name in ("FIRST", "SECOND"):
        block = re.search(rf"const {name}: \[Shape; \d+\] = \[(.*?)\];", text, re.S).group(1)
        for row in re.findall(r"\(([^)]*)\)", block):
            values = [float(v) for v in row.split(",") if v.strip()]
            shapes.append([values[0], *map(int, values[1:4]), *values[4:7], *map(int, values[7:9])])
    return shapes


def drawn_shapes(count, seed=0):
    """`count` shapes from the grid: depth fits the leaves (with room to grow unevenly), rounds
    and early-stopping patience follow the learning rate as in the hand-made ones."""
    rng = random.Random(seed)
    shapes = []
    while len(shapes) < count:
        rate = rng.choice(RATES)
        leaves = rng.choice(LEAVES)
        depth = min(16, max(2, (leaves + 1).bit_length() - 1 + rng.choice([0, 2, 4])))
        rounds = int(min(6000, round(100 / rate)))
        patience = int(min(150, max(20, round(2.5 / rate + 5))))
        shape = [rate, leaves, depth, rng.choice(MIN_LEAF), rng.choice(L2), rng.choice(SUBSAMPLE),
                 rng.choice(COLSAMPLE), rounds, patience]
        if shape not in shapes:
            shapes.append(shape)
    return shapes


def cross_validate(binary, table, pool, cache):
    key = hashlib.sha256(json.dumps(pool).encode()).hexdigest()[:12]
    cached = cache / f"{table['name']}_{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    shapes = cache / f"shapes_{key}.json"
    shapes.write_text(json.dumps(pool))
    task = table["task"] + (f":{table['classes']}" if table["task"] == "multiclass" else "")
    csv = Path(table["csv"])
    print(f"== {table['name']}: {len(pool)} shapes ({table['rows']} rows)", file=sys.stderr)
    output = subprocess.run([binary, str(csv), task, str(shapes)], check=True,
                            capture_output=True, text=True).stdout
    rows = json.loads(output)
    cached.write_text(json.dumps(rows))
    return rows


def regrets(rows):
    """Each shape's regret on one table: behind the best, in units of best-to-median."""
    higher = rows[0]["metric"] == "AUC"
    scores = [row["score"] if higher else -row["score"] for row in rows]
    best, median = max(scores), statistics.median(scores)
    spread = max(best - median, 1e-9)
    return [min((best - score) / spread, CAP) for score in scores]


def relative_costs(results, tables, count):
    """Each shape's fit time relative to the table's median shape, averaged over tables."""
    out = [0.0] * count
    for table in tables:
        seconds = [row["fit_seconds"] or 0.0 for row in results[table["name"]]]
        median = max(statistics.median(seconds), 1e-6)
        for shape, value in enumerate(seconds):
            out[shape] += max(value, 1e-6) / median / len(tables)
    return out


def curve(order, table_regrets):
    """The mean over tables of the best regret among the first k shapes, for every k."""
    out, best = [], [CAP] * len(table_regrets)
    for shape in order:
        best = [min(b, r[shape]) for b, r in zip(best, table_regrets)]
        out.append(sum(best) / len(best))
    return out


def greedy(table_regrets, costs, size):
    """Greedy selection; with `costs`, by regret removed per unit of cost (so that the first
    shapes, the ones a small budget or a large table gets, are cheap as well as good)."""
    chosen, best = [], [CAP] * len(table_regrets)
    candidates = range(len(table_regrets[0]))
    for _ in range(size):
        def gain(shape):
            after = [min(b, r[shape]) for b, r in zip(best, table_regrets)]
            removed = sum(best) - sum(after)
            cost = costs[shape] if costs else 1.0
            # Ties (common once the portfolio is good) go to the better shape on average.
            return (-removed / cost, sum(r[shape] for r in table_regrets))
        pick = min((s for s in candidates if s not in chosen), key=gain)
        chosen.append(pick)
        best = [min(b, r[pick]) for b, r in zip(best, table_regrets)]
    return chosen


def rust(shape):
    rate, leaves, depth, leaf, l2, sub, col, rounds, patience = shape
    floats = [repr(float(v)) for v in (rate, l2, sub, col)]
    return (f"    ({floats[0]}, {leaves}, {depth}, {leaf}, {floats[1]}, {floats[2]}, {floats[3]}, "
            f"{rounds}, {patience}),")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbt-example", required=True, help="the portfolio_cv example binary")
    parser.add_argument("--data", default=str(Path.home() / ".cache/mbt/bench/portfolio/data"))
    parser.add_argument("--size", type=int, default=18, help="shapes to select (default 18)")
    parser.add_argument("--pool", type=int, default=120, help="shapes drawn beside the hand-made")
    parser.add_argument("--ignore-cost", action="store_true",
                        help="select by regret alone, not regret removed per unit of fit time")
    args = parser.parse_args()

    data = Path(args.data)
    tables = json.loads((data / "tables.json").read_text())
    for table in tables:
        table["csv"] = str(data / f"{table['name']}.csv")
    cache = data.parent / "cv"
    cache.mkdir(parents=True, exist_ok=True)
    current = current_shapes()
    pool = HAND_MADE + [s for s in drawn_shapes(args.pool) if s not in HAND_MADE]

    results = {t["name"]: cross_validate(args.mbt_example, t, pool, cache) for t in tables}
    table_regrets = [regrets(results[t["name"]]) for t in tables]
    cost_of = relative_costs(results, tables, len(pool))
    costs = None if args.ignore_cost else cost_of
    chosen = greedy(table_regrets, costs, args.size)
    learned = curve(chosen, table_regrets)
    hand = curve(range(len(HAND_MADE)), table_regrets)
    now = curve([pool.index(s) for s in current if s in pool], table_regrets)

    print(f"Portfolio learned on {len(tables)} tables ({', '.join(t['name'] for t in tables)}) "
          f"from a pool of {len(pool)} shapes ({len(HAND_MADE)} hand-made + "
          f"{len(pool) - len(HAND_MADE)} drawn), "
          f"{'by regret alone' if args.ignore_cost else 'by regret removed per unit of fit time'}. "
          "Mean regret over tables after k shapes (0 = every table's best shape of the pool, "
          "1 = its median), beside the hand-made order and portfolio.rs's current one:")
    print()
    print("| k | learned shape | relative fit time | learned | hand-made | portfolio.rs |")
    print("|---:|---|---:|---:|---:|---:|")
    for k, shape in enumerate(chosen):
        cells = [f"{c[k]:.3f}" if k < len(c) else "" for c in (learned, hand, now)]
        print(f"| {k + 1} | {pool[shape]} | {cost_of[shape]:.2f} | {' | '.join(cells)} |")
    print()
    print(f"const FIRST: [Shape; {FIRST}] = [")
    print("\n".join(rust(pool[i]) for i in chosen[:FIRST]))
    print("];")
    print(f"const SECOND: [Shape; {len(chosen) - FIRST}] = [")
    print("\n".join(rust(pool[i]) for i in chosen[FIRST:]))
    print("];")


if __name__ == "__main__":
    main()
