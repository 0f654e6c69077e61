#!/usr/bin/env python3
"""Train the three published models and write them to catalog/.

    python3 tools/train_models.py [--out models]

Deterministic: the same scikit-learn/numpy versions produce byte-identical files
(developed with Debian 12's python3-sklearn 1.2.1 and numpy 1.24.2).

Data set ("mlsvc synthetic credit portfolio", generated here, seed 20240601):
6,000 loan applications, 80 % for training and 20 % held out for the quality metric.

  feature_0  debt-to-income ratio             uniform(0, 1)
  feature_1  credit utilisation               uniform(0, 1)
  feature_2  years of credit history          uniform(0, 30)
  feature_3  annual income, thousands of $    lognormal(mean log 4.0, sigma 0.45), about 20-200
  feature_4  market volatility index          uniform(10, 40)

Target: expected annual loss rate of the loan, in % of the amount lent:

  y = 2.0
      + 6.0 * feature_0 ** 2                          debt burden accelerates losses
      + 4.0 * max(feature_1 - 0.6, 0) / 0.4           utilisation above 60 % is a red flag
      - 1.5 * log1p(feature_2) / log1p(30)            a long history lowers risk, less and less
      - 1.2 * log(feature_3 / 55)                     income lowers risk (log scale)
      + 0.08 * (feature_4 - 25) * (feature_0 > 0.5)   volatility hurts only the highly indebted
      + normal(0, 0.35)                               noise

All three models predict this same target; they differ in algorithm and quality
(held-out R², recorded in each file), which is why a better model costs more:

  catalog/lr.json  "Risk Assessment Model"    scikit-learn LinearRegression     (format "linear")
  catalog/rf.json  "Return Prediction Model"  scikit-learn RandomForestRegressor,
                                             100 trees, max_depth 8            (format "tree_ensemble")
  catalog/cb.json  "Premium Analysis Model"   gradient-boosted oblivious trees in CatBoost's
                                             JSON format (see below)

CatBoost cannot be installed on the build machines, so cb.json is made by the
small symmetric-tree (oblivious) gradient booster below (numpy only): RMSE loss,
boost from the average, 64 quantile borders per feature (float32, like CatBoost),
depth 6, 300 iterations, learning rate 0.1, L2 leaf regularisation 3, greedy
level-wise choice of one split per level. It writes exactly the structure of
CatBoost's save_model(path, format="json") (features_info, oblivious_trees,
scale_and_bias, model_info), so the Go runtime reads it with the same code as a
real CatBoost export. To use real CatBoost instead:

    from catboost import CatBoostRegressor
    model = CatBoostRegressor(depth=6, iterations=300, learning_rate=0.1, loss_function="RMSE")
    model.fit(X_train_df, y_train)   # a DataFrame with columns feature_0 ... feature_4
    model.save_model("catalog/cb.json", format="json")

and add the mlsvc metadata keys to its "model_info" (see write_catboost_json and
catalog/README.md).

Also written: catalog/sample_data.csv (20 new rows, header feature_0..feature_4)
and catalog/sample_expected.csv (those rows with each model's prediction as
computed here by scikit-learn / the numpy evaluator; pkg/model's tests check that
Go gives the same numbers).
"""

import argparse
import csv
import json
import os
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
sys.dont_write_bytecode = True  # no tools/__pycache__ in the working tree

import export_model  # noqa: E402  (tools/export_model.py: the same exporter users run)

SEED = 20240601
N_ROWS = 6000
N_SAMPLE = 20
FEATURES = [f"feature_{i}" for i in range(5)]


def make_data(rng, n):
    import numpy as np
    X = np.column_stack([
        rng.uniform(0.0, 1.0, n),
        rng.uniform(0.0, 1.0, n),
        rng.uniform(0.0, 30.0, n),
        rng.lognormal(4.0, 0.45, n),
        rng.uniform(10.0, 40.0, n),
    ])
    return X


def target(X, rng):
    import numpy as np
    f0, f1, f2, f3, f4 = X.T
    y = (2.0
         + 6.0 * f0 ** 2
         + 4.0 * np.maximum(f1 - 0.6, 0.0) / 0.4
         - 1.5 * np.log1p(f2) / np.log1p(30.0)
         - 1.2 * np.log(f3 / 55.0)
         + 0.08 * (f4 - 25.0) * (f0 > 0.5))
    return y + rng.normal(0.0, 0.35, len(y))


def r2(y, pred):
    import numpy as np
    return float(1.0 - np.sum((y - pred) ** 2) / np.sum((y - np.mean(y)) ** 2))


# ---------------------------------------------------------------------------
# A small oblivious-tree gradient booster that writes CatBoost's JSON format.

class ObliviousBooster:
    def __init__(self, depth=6, iterations=300, learning_rate=0.1, l2_leaf_reg=3.0, border_count=64):
        self.depth = depth
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.l2 = l2_leaf_reg
        self.border_count = border_count

    def _borders(self, col):
        """Quantile borders, as float32, strictly between distinct data values."""
        import numpy as np
        x = np.unique(col.astype(np.float32))
        qs = np.quantile(x.astype(np.float64), np.linspace(0, 1, self.border_count + 2)[1:-1])
        b = np.unique(qs.astype(np.float32))
        return b[(b > x[0]) & (b < x[-1])]

    @staticmethod
    def _bins(X32, borders):
        """bins[:, f] = number of borders below the value, so value > borders[k] <=> bin > k."""
        import numpy as np
        return np.column_stack([np.searchsorted(b, X32[:, f], side="left") for f, b in enumerate(borders)])

    def fit(self, X, y):
        import numpy as np
        X32 = X.astype(np.float32)
        self.borders = [self._borders(X32[:, f]) for f in range(X.shape[1])]
        bins = self._bins(X32, self.borders)
        self.bias = float(np.mean(y))
        pred = np.full(len(y), self.bias)
        self.trees = []
        for _ in range(self.iterations):
            resid = y - pred
            leaf = np.zeros(len(y), dtype=np.int64)
            splits = []
            for d in range(self.depth):
                best = None
                n_leaves = 1 << d
                for f, b in enumerate(self.borders):
                    nb = len(b) + 1
                    key = leaf * nb + bins[:, f]
                    s = np.bincount(key, weights=resid, minlength=n_leaves * nb).reshape(n_leaves, nb)
                    c = np.bincount(key, minlength=n_leaves * nb).reshape(n_leaves, nb).astype(np.float64)
                    # Left part (bin <= k) for border k: cumulative sums over bins 0..k.
                    sl, cl = np.cumsum(s, axis=1)[:, :-1], np.cumsum(c, axis=1)[:, :-1]
                    sr, cr = s.sum(axis=1, keepdims=True) - sl, c.sum(axis=1, keepdims=True) - cl
                    gain = (sl ** 2 / (cl + self.l2) + sr ** 2 / (cr + self.l2)).sum(axis=0)
                    if len(gain) == 0:
                        continue
                    k = int(np.argmax(gain))
                    if best is None or gain[k] > best[0]:
                        best = (gain[k], f, k)
                _, f, k = best
                splits.append((f, k))
                leaf |= (bins[:, f] > k).astype(np.int64) << d
            n_leaves = 1 << self.depth
            s = np.bincount(leaf, weights=resid, minlength=n_leaves)
            c = np.bincount(leaf, minlength=n_leaves).astype(np.float64)
            values = self.learning_rate * s / (c + self.l2)
            self.trees.append((splits, values, c))
            pred = pred + values[leaf]
        return self

    def predict(self, X):
        """Evaluate like CatBoost: float32(x) > float32(border), leaf sums in tree order."""
        import numpy as np
        X32 = X.astype(np.float32)
        total = np.zeros(len(X))
        for splits, values, _ in self.trees:
            leaf = np.zeros(len(X), dtype=np.int64)
            for d, (f, k) in enumerate(splits):
                leaf |= (X32[:, f] > self.borders[f][k]).astype(np.int64) << d
            total = total + values[leaf]
        return 1.0 * total + self.bias

    def catboost_json(self, model_info):
        """The model in CatBoost's save_model(format="json") structure."""
        # CatBoost lists only the borders the trees use; split_index numbers
        # them across features in feature order.
        used = [sorted({k for splits, _, _ in self.trees for f, k in splits if f == ff})
                for ff in range(len(self.borders))]
        index, n = {}, 0
        for f, ks in enumerate(used):
            for k in ks:
                index[(f, k)] = n
                n += 1
        features = [{
            "borders": [float(self.borders[f][k]) for k in used[f]],
            "feature_id": FEATURES[f],
            "feature_index": f,
            "flat_feature_index": f,
            "has_nans": False,
            "nan_value_treatment": "AsIs",
        } for f in range(len(self.borders))]
        trees = [{
            "leaf_values": [float(v) for v in values],
            "leaf_weights": [float(c) for c in counts],
            "splits": [{
                "border": float(self.borders[f][k]),
                "float_feature_index": f,
                "split_index": index[(f, k)],
                "split_type": "FloatFeature",
            } for f, k in splits],
        } for splits, values, counts in self.trees]
        return {
            "features_info": {"float_features": features},
            "model_info": model_info,
            "oblivious_trees": trees,
            "scale_and_bias": [1, [self.bias]],
        }


def write_catboost_json(path, booster, quality):
    import numpy as np
    model_info = {
        # mlsvc metadata, read by pkg/model (CatBoost keeps user metadata as
        # string values in model_info).
        "mlsvc_name": "Premium Analysis Model",
        "mlsvc_metric": "r2",
        "mlsvc_metric_value": f"{quality:.4f}",
        "mlsvc_library": "numpy (tools/train_models.py oblivious booster)",
        "mlsvc_library_version": np.__version__,
        "params": {
            "loss_function": {"type": "RMSE"},
            "boosting_options": {"iterations": booster.iterations, "learning_rate": booster.learning_rate,
                                 "boost_from_average": True},
            "tree_learner_options": {"depth": booster.depth, "l2_leaf_reg": booster.l2,
                                     "grow_policy": "SymmetricTree"},
            "data_processing_options": {"float_features_binarization": {"border_count": booster.border_count,
                                                                         "border_type": "Quantiles"}},
        },
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump(booster.catboost_json(model_info), out, separators=(",", ":"), allow_nan=False)
        out.write("\n")


def write_envelope(path, est, name, description, quality):
    doc = export_model.export(est, name=name, metric_name="r2", metric_value=round(quality, 4),
                              feature_names=",".join(FEATURES), description=description)
    with open(path, "w", encoding="utf-8") as out:
        out.write(export_model.dumps(doc))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(TOOLS), "catalog"))
    args = parser.parse_args()
    export_model._import_sklearn()
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression

    rng = np.random.RandomState(SEED)
    X = make_data(rng, N_ROWS)
    y = target(X, rng)
    n_train = int(0.8 * N_ROWS)
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    sample = np.round(make_data(rng, N_SAMPLE), 4)

    what = "expected annual loss rate (% of the amount lent) of a loan, from the mlsvc synthetic credit portfolio"
    lr = LinearRegression().fit(Xtr, ytr)
    rf = RandomForestRegressor(n_estimators=100, max_depth=8, min_samples_leaf=3, random_state=0).fit(Xtr, ytr)
    cb = ObliviousBooster().fit(Xtr, ytr)
    scores = {"lr": r2(yte, lr.predict(Xte)), "rf": r2(yte, rf.predict(Xte)), "cb": r2(yte, cb.predict(Xte))}

    os.makedirs(args.out, exist_ok=True)
    write_envelope(os.path.join(args.out, "lr.json"), lr, "Risk Assessment Model",
                   "Linear regression: " + what, scores["lr"])
    write_envelope(os.path.join(args.out, "rf.json"), rf, "Return Prediction Model",
                   "Random forest (100 trees, depth 8): " + what, scores["rf"])
    write_catboost_json(os.path.join(args.out, "cb.json"), cb, scores["cb"])

    with open(os.path.join(args.out, "sample_data.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FEATURES)
        w.writerows([[repr(float(v)) for v in row] for row in sample])
    preds = {"lr": lr.predict(sample), "rf": rf.predict(sample), "cb": cb.predict(sample)}
    with open(os.path.join(args.out, "sample_expected.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FEATURES + ["lr", "rf", "cb"])
        for i, row in enumerate(sample):
            w.writerow([repr(float(v)) for v in row] + [repr(float(preds[k][i])) for k in ("lr", "rf", "cb")])

    for k, v in scores.items():
        size = os.path.getsize(os.path.join(args.out, k + ".json"))
        print(f"{k}.json  held-out R2 {v:.4f}  {size} bytes")


if __name__ == "__main__":
    main()
