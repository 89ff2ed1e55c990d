"""Interoperability oracle for package xgboost, run by its tests with /usr/bin/python3 (Debian's XGBoost 1.7.4).

  interop.py train ABALONE_CSV OUTDIR   trains one small model per case with the real XGBoost, saves each as
                                        OUTDIR/<case>.json (and as UBJSON <case>.ubj, legacy binary <case>.bin), the input rows as OUTDIR/X.f32 / Xcat.f32 (float32,
                                        row-major, NaN = missing) and XGBoost's predictions as
                                        OUTDIR/<case>.{pred,margin,leaf}.f32; OUTDIR/cases.json lists the cases.
  interop.py predict-models DATA ROWS COLS MODEL.json...
                                        predicts DATA (float32 rows) with each MODEL.json into
                                        MODEL.{pred,margin,leaf}.
  interop.py predict OUTDIR SUFFIX [DATA ROWS COLS MODEL.json...]
                                        then as predict-models; before that it loads OUTDIR/<case>SUFFIX.json (models written by Go) and writes
                                        OUTDIR/<case>SUFFIX.{pred,margin,leaf}.f32.
"""
import json
import os
import sys
import warnings

try:
    import numpy as np
    import pandas as pd
    import xgboost as xgb
except ImportError as e:
    sys.exit("%s: %s (apt-get install python3-xgboost python3-pandas)" % (sys.executable, e))

warnings.filterwarnings("ignore")


def abalone(path):
    df = pd.read_csv(path)
    X = pd.get_dummies(df["sex"]).astype(np.float32)
    X = pd.concat([X, df.drop(columns=["sex", "rings"]).astype(np.float32)], axis=1).to_numpy(np.float32)
    rng = np.random.default_rng(7)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X[:1500], df["rings"].to_numpy(np.float32)[:1500]


def cases(y):
    rings_class = np.digitize(y, [8, 11]).astype(np.float32)  # three classes
    positive = (y > 9).astype(np.float32)
    return [
        ("squarederror", {"objective": "reg:squarederror", "max_depth": 5, "eta": 0.2, "gamma": 4,
                          "min_child_weight": 6, "subsample": 0.7}, y, 50),
        ("logistic", {"objective": "reg:logistic", "base_score": 0.3}, (y - 1) / 28, 8),
        ("pseudohuber", {"objective": "reg:pseudohubererror", "huber_slope": 2.5}, y, 8),
        ("absoluteerror", {"objective": "reg:absoluteerror"}, y, 8),
        ("binarylogistic", {"objective": "binary:logistic", "base_score": 0.4, "scale_pos_weight": 2}, positive, 8),
        ("logitraw", {"objective": "binary:logitraw", "base_score": 0.3}, positive, 8),
        ("hinge", {"objective": "binary:hinge"}, positive, 8),
        ("poisson", {"objective": "count:poisson", "base_score": 2.0, "max_delta_step": 0.3}, y, 8),
        ("gamma", {"objective": "reg:gamma"}, y, 8),
        ("tweedie", {"objective": "reg:tweedie", "tweedie_variance_power": 1.3}, y, 8),
        ("softmax", {"objective": "multi:softmax", "num_class": 3}, rings_class, 6),
        ("softprob", {"objective": "multi:softprob", "num_class": 3, "num_parallel_tree": 2, "subsample": 0.8,
                      "base_score": 0.2}, rings_class, 5),
        ("dart", {"booster": "dart", "objective": "reg:squarederror", "rate_drop": 0.3, "seed": 3}, y, 6),
        ("lossguide", {"objective": "reg:squarederror", "tree_method": "hist", "grow_policy": "lossguide",
                       "max_leaves": 11, "max_depth": 0}, y, 6),
    ]


def write_preds(bst, dm, prefix):
    bst.predict(dm).astype(np.float32).tofile(prefix + ".pred")
    bst.predict(dm, output_margin=True).astype(np.float32).tofile(prefix + ".margin")
    bst.predict(dm, pred_leaf=True).astype(np.float32).tofile(prefix + ".leaf")


def train(csv, out):
    X, y = abalone(csv)
    X.tofile(os.path.join(out, "X.f32"))
    dm = xgb.DMatrix(X, label=y)
    listed = []
    for name, params, label, rounds in cases(y):
        params = dict(params, seed=params.get("seed", 1), nthread=1)
        bst = xgb.train(params, xgb.DMatrix(X, label=label), rounds)
        bst.save_model(os.path.join(out, name + ".json"))
        bst.save_model(os.path.join(out, name + ".bin"))  # the legacy binary format
        bst.save_model(os.path.join(out, name + ".ubj"))
        write_preds(bst, dm, os.path.join(out, name))
        listed.append({"name": name, "data": "X.f32", "rows": X.shape[0], "cols": X.shape[1],
                       "objective": params["objective"], "binary": True})

    # A categorical model: feature 0 holds category codes 0..5 (some missing).
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 6, size=600).astype(np.float32)
    num = rng.normal(size=600).astype(np.float32)
    codes[rng.random(600) < 0.1] = np.nan
    target = np.where(np.isin(codes, [1, 4]), 3.0, 0.0) + num
    df = pd.DataFrame({"c": pd.Categorical(codes, categories=[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), "n": num})
    cat_dm = xgb.DMatrix(df, label=target, enable_categorical=True)
    bst = xgb.train({"tree_method": "hist", "max_cat_to_onehot": 1, "max_depth": 3, "nthread": 1}, cat_dm, 5)
    bst.save_model(os.path.join(out, "categorical.json"))
    bst.save_model(os.path.join(out, "categorical.ubj"))
    Xcat = np.stack([codes, num], axis=1).astype(np.float32)
    Xcat.tofile(os.path.join(out, "Xcat.f32"))
    write_preds(bst, cat_dm, os.path.join(out, "categorical"))
    listed.append({"name": "categorical", "data": "Xcat.f32", "rows": 600, "cols": 2,
                   "objective": "reg:squarederror"})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(listed, f)


def predict(out, suffix, *extra):
    with open(os.path.join(out, "cases.json")) as f:
        listed = json.load(f)
    for c in listed:
        X = np.fromfile(os.path.join(out, c["data"]), dtype=np.float32).reshape(c["rows"], c["cols"])
        bst = xgb.Booster(model_file=os.path.join(out, c["name"] + suffix + ".json"))
        if c["name"] == "categorical":
            df = pd.DataFrame({"c": pd.Categorical(X[:, 0], categories=[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
                               "n": X[:, 1]})
            dm = xgb.DMatrix(df, enable_categorical=True)
        else:
            dm = xgb.DMatrix(X)
        write_preds(bst, dm, os.path.join(out, c["name"] + suffix))
    if extra:
        predict_models(*extra)


def predict_models(data, rows, cols, *models):
    X = np.fromfile(data, dtype=np.float32).reshape(int(rows), int(cols))
    for model in models:
        write_preds(xgb.Booster(model_file=model), xgb.DMatrix(X), model[:-len(".json")])


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "predict-models":
        predict_models(*sys.argv[2:])
    else:
        predict(*sys.argv[2:])
