"""Interoperability oracle for package inference, run by its tests with /usr/bin/python3 (Debian's XGBoost 1.7.4).

  xgb_models.py models ABALONE_CSV OUTDIR
      trains small models with the real XGBoost as SageMaker's XGBoost containers would, and saves each as
      OUTDIR/<case>.pkl (pickle.dump of the Booster, images before 1.3-1), <case>.bin (save_model's legacy
      binary format, images 1.3-1 and later), <case>.json and <case>.ubj; the test rows as OUTDIR/X.csv
      (features only, an empty cell for a missing value) and XGBoost's predictions as OUTDIR/<case>.pred
      (one line per row, values comma-separated, 9 significant digits); OUTDIR/cases.json lists the cases.
  xgb_models.py bench ABALONE_CSV OUTDIR ROWS REPEAT
      trains the benchmark's model (100 trees of depth 6 on abalone) into OUTDIR/bench.json, writes ROWS rows
      as OUTDIR/bench.csv, and prints, in seconds, the median over REPEAT runs of XGBoost's own
      Booster.predict on those rows (DMatrix built beforehand), of DMatrix construction plus predict, and of
      inplace_predict, all threads.
"""
import json
import os
import pickle
import sys
import time
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
    return X, df["rings"].to_numpy(np.float32)


def train(X, y, params, rounds, names=None):
    d = xgb.DMatrix(X, label=y, feature_names=names)
    params = dict(params, nthread=1, seed=1)
    return xgb.train(params, d, rounds)


def models(src, out):
    X, y = abalone(src)
    rng = np.random.default_rng(11)
    Xtest = X[3000:3200].copy()
    Xtest[rng.random(Xtest.shape) < 0.1] = np.nan  # missing values take the default direction
    Xtrain, ytrain = X[:3000], y[:3000]
    names = ["sex_f", "sex_i", "sex_m", "length", "diameter", "height", "whole", "shucked", "viscera", "shell"]
    cases = [
        ("regression", {"objective": "reg:squarederror", "max_depth": 5, "eta": 0.2, "gamma": 4,
                        "min_child_weight": 6, "subsample": 0.7}, ytrain, 50, None),
        ("binary", {"objective": "binary:logistic", "max_depth": 4}, (ytrain > 9).astype(np.float32), 20, names),
        ("softprob", {"objective": "multi:softprob", "num_class": 3, "max_depth": 3},
         np.digitize(ytrain, [8, 11]).astype(np.float32), 10, None),
    ]
    listed = []
    for name, params, label, rounds, fnames in cases:
        bst = train(Xtrain, label, params, rounds, fnames)
        with open(os.path.join(out, name + ".pkl"), "wb") as f:
            pickle.dump(bst, f)
        bst.save_model(os.path.join(out, name + ".bin"))
        bst.save_model(os.path.join(out, name + ".json"))
        bst.save_model(os.path.join(out, name + ".ubj"))
        pred = bst.predict(xgb.DMatrix(Xtest, feature_names=fnames))
        pred = pred.reshape(len(Xtest), -1)
        with open(os.path.join(out, name + ".pred"), "w") as f:
            for row in pred:
                f.write(",".join("%.9g" % v for v in row) + "\n")
        listed.append({"name": name, "outputs": pred.shape[1], "feature_names": fnames or []})
    with open(os.path.join(out, "X.csv"), "w") as f:
        for row in Xtest:
            f.write(",".join("" if np.isnan(v) else "%.9g" % v for v in row) + "\n")
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(listed, f)


def bench(src, out, rows, repeat):
    X, y = abalone(src)
    bst = train(X, y, {"objective": "reg:squarederror", "max_depth": 6, "eta": 0.3}, 100)
    bst.save_model(os.path.join(out, "bench.json"))
    Xb = np.resize(X, (rows, X.shape[1])).astype(np.float32)
    with open(os.path.join(out, "bench.csv"), "w") as f:
        for row in Xb:
            f.write(",".join("%.9g" % v for v in row) + "\n")
    bst.set_param({"nthread": os.cpu_count()})

    def median(f, setup=lambda: None):
        f(setup())
        ts = []
        for _ in range(repeat):
            arg = setup()
            t = time.perf_counter()
            f(arg)
            ts.append(time.perf_counter() - t)
        return sorted(ts)[len(ts) // 2]

    # A fresh DMatrix for each predict: XGBoost caches the predictions of a DMatrix it has seen.
    print("predict %.6f" % median(lambda dm: bst.predict(dm), lambda: xgb.DMatrix(Xb)))
    print("dmatrix+predict %.6f" % median(lambda _: bst.predict(xgb.DMatrix(Xb))))
    print("inplace_predict %.6f" % median(lambda _: bst.inplace_predict(Xb)))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "models":
        models(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "bench":
        bench(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
