"""Oracle for the trainer's interoperability test, run with /usr/bin/python3 (Debian's XGBoost 1.7.4).

  train_oracle.py data OUTDIR      writes sklearn's bundled breast-cancer and digits data sets (no download)
                                   as OUTDIR/{cancer,digits}_{train,valid,test}.csv, label first, 70/15/15.
  train_oracle.py compare OUTDIR   for every case in OUTDIR/cases.json: loads the model Go trained
                                   (OUTDIR/<case>.json) and writes XGBoost's predictions from it on the test
                                   split to OUTDIR/<case>.ours.f32; trains XGBoost itself with the same
                                   hyperparameters (tree_method=hist; instance weights from the case's
                                   "weights" file, one per training row, if any) and writes its predictions to
                                   OUTDIR/<case>.theirs.f32 (float32, row-major).
"""
import json
import os
import sys
import warnings

import numpy as np
import xgboost as xgb

warnings.filterwarnings("ignore")


def write_splits(out, name, X, y):
    rng = np.random.RandomState(0)
    idx = rng.permutation(len(y))
    a = np.column_stack([y[idx], X[idx]]).astype(np.float32)
    n1, n2 = len(y) * 70 // 100, len(y) * 85 // 100
    for part, rows in (("train", a[:n1]), ("valid", a[n1:n2]), ("test", a[n2:])):
        np.savetxt(os.path.join(out, f"{name}_{part}.csv"), rows, delimiter=",", fmt="%.9g")


def load(path):
    a = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
    return xgb.DMatrix(a[:, 1:], label=a[:, 0], missing=np.nan)


def main():
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "data":
        from sklearn.datasets import load_breast_cancer, load_digits
        write_splits(out, "cancer", *load_breast_cancer(return_X_y=True))
        write_splits(out, "digits", *load_digits(return_X_y=True))
        return
    with open(os.path.join(out, "cases.json")) as f:
        cases = json.load(f)
    for c in cases:
        test = load(os.path.join(out, c["data"] + "_test.csv"))
        ours = xgb.Booster(model_file=os.path.join(out, c["name"] + ".json"))
        ours.predict(test).astype(np.float32).tofile(os.path.join(out, c["name"] + ".ours.f32"))
        params = dict(c["params"])
        rounds = int(params.pop("num_round"))
        if "eval_metric" in params:
            params["eval_metric"] = params["eval_metric"].split(",")
        params.update(tree_method="hist", nthread=2)
        train = load(os.path.join(out, c["data"] + "_train.csv"))
        if c.get("weights"):
            train.set_weight(np.loadtxt(os.path.join(out, c["weights"]), dtype=np.float32))
        valid = load(os.path.join(out, c["data"] + "_valid.csv"))
        theirs = xgb.train(params, train, rounds, evals=[(train, "train"), (valid, "validation")], verbose_eval=False)
        theirs.predict(test).astype(np.float32).tofile(os.path.join(out, c["name"] + ".theirs.f32"))


main()
