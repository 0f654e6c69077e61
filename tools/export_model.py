#!/usr/bin/env python3
"""Export a fitted scikit-learn regressor to an mlsvc model file (JSON).

    python3 tools/export_model.py MODEL.joblib -o MODEL.json \
        [--name "My Model"] [--metric-name r2 --metric-value 0.91] \
        [--feature-names a,b,c]

Supported estimators (single output only):
  linear:        LinearRegression, Ridge, RidgeCV, Lasso, LassoCV, ElasticNet, ElasticNetCV
  tree_ensemble: DecisionTreeRegressor, RandomForestRegressor, ExtraTreesRegressor,
                 GradientBoostingRegressor (init "zero" or a constant DummyRegressor)

Anything else exits with status 2 and a message naming the estimator class.
The output is read by pkg/model (Go), which reproduces scikit-learn's predict:
tree ensembles bit for bit, linear models to float rounding.

Loading a .joblib file runs Python code from that file (pickle): export only
models you trust.

CatBoost and XGBoost models need no export: the service reads their own JSON.
  CatBoost: model.save_model("m.json", format="json") (oblivious trees, float
            features).
  XGBoost:  booster.save_model("m.json") (or XGBRegressor/XGBClassifier
            .get_booster().save_model("m.json")); the file name must end in
            .json. Booster "gbtree", objective reg:squarederror or
            binary:logistic, numerical features; feature names come from the
            model (DMatrix feature_names or a pandas DataFrame's columns) or
            are f0, f1, ... Predictions equal XGBoost's Booster.predict
            (float32) bit for bit; binary:logistic predicts the probability.

Needs scikit-learn and joblib (Debian: apt-get install python3-sklearn
python3-joblib). If the python3 found first on PATH lacks them (a pyenv or venv
Python), the script re-runs itself with /usr/bin/python3.
"""

import argparse
import json
import math
import os
import sys

FORMAT_VERSION = 1

LINEAR = (
    "LinearRegression",
    "Ridge",
    "RidgeCV",
    "Lasso",
    "LassoCV",
    "ElasticNet",
    "ElasticNetCV",
)
AVERAGED_TREES = ("DecisionTreeRegressor", "RandomForestRegressor", "ExtraTreesRegressor")
BOOSTED_TREES = ("GradientBoostingRegressor",)
SUPPORTED = LINEAR + AVERAGED_TREES + BOOSTED_TREES


class ExportError(Exception):
    """A model that cannot be exported; the message is for the user."""


def _import_sklearn():
    try:
        import joblib  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        system = "/usr/bin/python3"
        if os.path.exists(system) and os.path.realpath(sys.executable) != os.path.realpath(system) \
                and not os.environ.get("MLSVC_EXPORT_REEXEC"):
            os.environ["MLSVC_EXPORT_REEXEC"] = "1"
            os.execv(system, [system] + sys.argv)
        sys.exit("export_model.py: scikit-learn and joblib are required "
                 "(apt-get install python3-sklearn python3-joblib)")


def _finite(values, what):
    for v in values:
        if not math.isfinite(v):
            raise ExportError(f"{what} contains a non-finite value ({v})")
    return values


def _floats(array):
    return [float(v) for v in array]


def _ints(array):
    return [int(v) for v in array]


def _class_name(est):
    return type(est).__name__


def _feature_names(est, override):
    n = int(getattr(est, "n_features_in_", 0))
    if n <= 0:
        raise ExportError(f"{_class_name(est)} is not fitted (no n_features_in_)")
    if override:
        names = [s.strip() for s in override.split(",")]
        if len(names) != n:
            raise ExportError(f"--feature-names has {len(names)} names, the model has {n} features")
    elif getattr(est, "feature_names_in_", None) is not None:
        names = [str(s) for s in est.feature_names_in_]
    else:
        names = [f"feature_{i}" for i in range(n)]
    if len(set(names)) != len(names) or any(not s for s in names):
        raise ExportError("feature names must be non-empty and unique")
    return names


def _tree(tree_est, n_features):
    """One fitted tree as the arrays sklearn keeps in tree_."""
    t = tree_est.tree_
    if t.n_outputs != 1:
        raise ExportError("multi-output trees are not supported")
    if t.value.shape[2] != 1:
        raise ExportError("classification trees are not supported")
    feature = _ints(t.feature)
    left = _ints(t.children_left)
    if any(l != -1 and not 0 <= f < n_features for f, l in zip(feature, left)):
        raise ExportError("a tree splits on a feature index out of range")
    return {
        "children_left": left,
        "children_right": _ints(t.children_right),
        "feature": feature,
        "threshold": _finite(_floats(t.threshold), "a tree threshold"),
        "value": _finite(_floats(t.value[:, 0, 0]), "a tree value"),
    }


def export(est, name=None, metric_name=None, metric_value=None, feature_names=None, description=None):
    """Return the mlsvc model document (a dict) for a fitted estimator."""
    import sklearn

    cls = _class_name(est)
    if cls not in SUPPORTED:
        raise ExportError(
            f"unsupported estimator {cls} (from {type(est).__module__}); supported: {', '.join(SUPPORTED)}")
    names = _feature_names(est, feature_names)
    doc = {"format": None, "format_version": FORMAT_VERSION}
    if name:
        doc["name"] = name
    if description:
        doc["description"] = description
    doc.update({
        "library": "scikit-learn",
        "library_version": sklearn.__version__,
        "estimator": cls,
        "feature_names": names,
    })
    if metric_name is not None or metric_value is not None:
        if metric_name is None or metric_value is None:
            raise ExportError("--metric-name and --metric-value go together")
        value = float(metric_value)
        if not math.isfinite(value):
            raise ExportError("--metric-value must be a finite number")
        doc["quality"] = {"metric": metric_name, "value": value}

    if cls in LINEAR:
        coef = est.coef_
        if getattr(coef, "ndim", 1) != 1:
            if coef.ndim == 2 and coef.shape[0] == 1:
                coef = coef[0]
            else:
                raise ExportError(f"{cls} with {coef.shape[0]} outputs: only single-output models are supported")
        intercept = est.intercept_
        if getattr(intercept, "ndim", 0) == 1 and len(intercept) == 1:
            intercept = intercept[0]
        elif getattr(intercept, "ndim", 0) != 0:
            raise ExportError(f"{cls} with several intercepts: only single-output models are supported")
        doc["format"] = "linear"
        doc["coef"] = _finite(_floats(coef), "coef_")
        doc["intercept"] = _finite([float(intercept)], "intercept_")[0]
        return doc

    doc["format"] = "tree_ensemble"
    if getattr(est, "n_outputs_", 1) != 1:
        raise ExportError(f"{cls} with {est.n_outputs_} outputs: only single-output models are supported")
    n = len(names)
    if cls == "DecisionTreeRegressor":
        doc["combine"] = "mean"
        doc["trees"] = [_tree(est, n)]
    elif cls in AVERAGED_TREES:
        doc["combine"] = "mean"
        doc["trees"] = [_tree(t, n) for t in est.estimators_]
    else:  # GradientBoostingRegressor: raw = init + Σ learning_rate · tree
        init = est.init_
        if isinstance(init, str) and init == "zero":
            init_value = 0.0
        elif _class_name(init) == "DummyRegressor":
            init_value = float(init.constant_.reshape(-1)[0])
        else:
            raise ExportError(f"GradientBoostingRegressor with init estimator {_class_name(init)}: "
                              "only init='zero' or the default constant (DummyRegressor) is supported")
        doc["combine"] = "boosting"
        doc["init"] = _finite([init_value], "init")[0]
        doc["learning_rate"] = float(est.learning_rate)
        doc["trees"] = [_tree(stage[0], n) for stage in est.estimators_]
    return doc


def dumps(doc):
    """Deterministic compact JSON with floats written exactly (shortest repr)."""
    return json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Export a scikit-learn regressor (.joblib) to an mlsvc model file.")
    parser.add_argument("model", help="fitted estimator saved with joblib.dump")
    parser.add_argument("-o", "--output", required=True, help="output .json path ('-' for stdout)")
    parser.add_argument("--name", help="display name recorded in the file")
    parser.add_argument("--description", help="free text recorded in the file")
    parser.add_argument("--metric-name", help="held-out quality metric, e.g. r2")
    parser.add_argument("--metric-value", type=float, help="its value, e.g. 0.91")
    parser.add_argument("--feature-names", help="comma-separated input names (default: the model's "
                        "feature_names_in_, else feature_0..feature_N-1)")
    args = parser.parse_args(argv)

    _import_sklearn()
    import joblib

    try:
        est = joblib.load(args.model)
    except Exception as exc:  # a bad file can raise anything while unpickling
        sys.exit(f"export_model.py: cannot load {args.model}: {exc}")
    try:
        doc = export(est, args.name, args.metric_name, args.metric_value, args.feature_names, args.description)
    except ExportError as exc:
        print(f"export_model.py: {exc}", file=sys.stderr)
        return 2
    text = dumps(doc)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
