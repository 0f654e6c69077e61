#!/usr/bin/python3
"""Writes the XGBoost fixtures read by pkg/model's TestXGBoostFixtures.

    /usr/bin/python3 pkg/model/testdata/xgboost_fixtures.py

Needs Debian's python3-xgboost 1.7.4 (apt-get install python3-xgboost; it
imports under /usr/bin/python3, not a pyenv python3). For each model it trains
on Friedman #1-like data with some NaN inputs, it writes
xgboost_<name>.json (Booster.save_model, XGBoost's own JSON) and
xgboost_<name>_expected.json: test rows (null = NaN; among them rows sitting
exactly on split conditions and NaN rows) and Booster.predict's outputs as
float32 values.
"""

import json
import os
import sys

import numpy as np
import xgboost as xgb

OUT = os.path.dirname(os.path.abspath(__file__))
NF = 5


def data(rs, n):
    X = rs.uniform(0, 1, (n, NF))
    y = 10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2 + 10 * X[:, 3] + 5 * X[:, 4]
    y = y + rs.normal(size=n)
    X[rs.uniform(size=X.shape) < 0.08] = np.nan  # missing values: default directions
    return X, y


def split_rows(booster, rs, n):
    """Rows whose values sit exactly on split conditions (and just beside)."""
    conds = []
    for tree in booster.get_dump(dump_format="json"):
        stack = [json.loads(tree)]
        while stack:
            node = stack.pop()
            if "split" in node:
                conds.append((int(node["split"][1:]), node["split_condition"]))
                stack.extend(node["children"])
    X = rs.uniform(0, 1, (n, NF))
    for i in range(n):
        for _ in range(3):
            f, c = conds[rs.randint(len(conds))]
            c32 = np.float32(c)
            X[i, f] = [float(c32), float(np.nextafter(c32, np.float32(-1))), float(np.nextafter(c32, np.float32(2)))][i % 3]
    return X


def write(name, booster, params):
    rs = np.random.RandomState(7)
    X, _ = data(rs, 150)
    X = np.vstack([X, split_rows(booster, rs, 150), np.full((2, NF), np.nan)])
    pred = booster.predict(xgb.DMatrix(X, missing=np.nan, feature_names=booster.feature_names))
    inplace = booster.inplace_predict(X)
    assert np.array_equal(pred, inplace), "predict and inplace_predict differ"
    booster.save_model(os.path.join(OUT, f"xgboost_{name}.json"))
    rows = [[None if np.isnan(v) else float(v) for v in r] for r in X]
    with open(os.path.join(OUT, f"xgboost_{name}_expected.json"), "w") as f:
        json.dump({
            "xgboost_version": xgb.__version__,
            "params": params,
            "inputs": rows,
            "predictions": [float(v) for v in pred],  # float32 values, exactly
        }, f, separators=(",", ":"))
        f.write("\n")


def main():
    rs = np.random.RandomState(42)
    X, y = data(rs, 2000)
    names = [f"x{j}" for j in range(NF)]
    common = {"max_depth": 4, "eta": 0.3, "nthread": 1, "tree_method": "hist", "seed": 1}

    reg = dict(common, objective="reg:squarederror", base_score=14.0)
    write("regression", xgb.train(reg, xgb.DMatrix(X, label=y, feature_names=names), 40), reg)

    cls = dict(common, objective="binary:logistic", base_score=0.3)
    yb = (y > np.median(y)).astype(float)
    # No feature names: the model numbers its features f0..f4.
    write("binary", xgb.train(cls, xgb.DMatrix(X, label=yb), 30), cls)


if __name__ == "__main__":
    sys.exit(main())
