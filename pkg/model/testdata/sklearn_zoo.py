"""Train small scikit-learn models for pkg/model's exporter tests.

    python3 sklearn_zoo.py OUTDIR

Writes OUTDIR/<name>.joblib for every estimator, and OUTDIR/expected.json:
{"inputs": [[...]], "models": {"<name>": {"exact": bool, "predictions": [...]}},
 "unsupported": {"<name>": "<class name>"}}. The inputs include rows with one
feature set exactly to a split threshold (which float32 rounding sends either
way), so tree models are checked where the float32 cast matters.
"""

import json
import sys

import joblib
import numpy as np
from sklearn.datasets import make_friedman1
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import (ExtraTreesRegressor, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import (ElasticNet, ElasticNetCV, Lasso, LassoCV,
                                  LinearRegression, Ridge, RidgeCV)
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor


def main(out):
    X, y = make_friedman1(n_samples=600, n_features=6, noise=0.5, random_state=7)
    X[:, 5] *= 1e4  # a feature on another scale
    Xt, _ = make_friedman1(n_samples=150, n_features=6, noise=0.5, random_state=8)
    Xt[:, 5] *= 1e4

    models = {
        "linear_regression": (LinearRegression(), False),
        "ridge": (Ridge(alpha=0.5), False),
        "ridge_cv": (RidgeCV(), False),
        "lasso": (Lasso(alpha=0.01), False),
        "lasso_cv": (LassoCV(cv=3), False),
        "elastic_net": (ElasticNet(alpha=0.01, l1_ratio=0.3), False),
        "elastic_net_cv": (ElasticNetCV(cv=3), False),
        "decision_tree": (DecisionTreeRegressor(random_state=0), True),
        "random_forest_deep": (RandomForestRegressor(n_estimators=12, random_state=0), True),
        "extra_trees": (ExtraTreesRegressor(n_estimators=15, max_depth=9, random_state=0), True),
        "gradient_boosting": (GradientBoostingRegressor(n_estimators=40, max_depth=3, random_state=0), True),
        "gradient_boosting_huber": (GradientBoostingRegressor(loss="huber", n_estimators=25, learning_rate=0.2,
                                                              subsample=0.8, random_state=0), True),
        "gradient_boosting_zero": (GradientBoostingRegressor(init="zero", n_estimators=20, random_state=0), True),
        "gradient_boosting_dummy_median": (GradientBoostingRegressor(init=DummyRegressor(strategy="median"),
                                                                     n_estimators=20, random_state=0), True),
    }
    # Rows on thresholds: for test row k, set the feature of a split on its path
    # in the first tree-based model to exactly that split's threshold.
    edge = []
    forest = models["random_forest_deep"][0].fit(X, y)
    for k in range(60):
        tree = forest.estimators_[k % len(forest.estimators_)].tree_
        row = Xt[k].copy()
        node, depth = 0, 0
        target = k % 5
        while tree.children_left[node] != -1:
            if depth == target:
                row[tree.feature[node]] = tree.threshold[node]
                break
            go_left = np.float32(row[tree.feature[node]]) <= tree.threshold[node]
            node = tree.children_left[node] if go_left else tree.children_right[node]
            depth += 1
        edge.append(row)
    inputs = np.vstack([Xt, np.array(edge)])

    expected = {"inputs": inputs.tolist(), "models": {}, "unsupported": {}}
    for name, (est, exact) in models.items():
        est.fit(X, y)
        joblib.dump(est, f"{out}/{name}.joblib")
        expected["models"][name] = {"exact": exact, "predictions": est.predict(inputs).tolist()}

    unsupported = {
        "knn": KNeighborsRegressor().fit(X, y),
        "pipeline": make_pipeline(StandardScaler(), LinearRegression()).fit(X, y),
        "classifier": RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y > y.mean()),
    }
    for name, est in unsupported.items():
        joblib.dump(est, f"{out}/{name}.joblib")
        expected["unsupported"][name] = type(est).__name__
    # Supported class, unsupported shape: two outputs.
    joblib.dump(LinearRegression().fit(X, np.c_[y, y]), f"{out}/multi_output.joblib")
    expected["unsupported"]["multi_output"] = "outputs"

    with open(f"{out}/expected.json", "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main(sys.argv[1])
