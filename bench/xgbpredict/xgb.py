"""XGBoost side of bench/xgbpredict (run with Debian's /usr/bin/python3, XGBoost 1.7.4).

  xgb.py prepare DIR ROWS   trains a 100-tree depth-6 regression model on synthetic data (20 features, 5%
                            missing), writes DIR/model.json, DIR/X.f32 (ROWS rows, float32, row-major) and
                            XGBoost's predictions DIR/want.f32.
  xgb.py time DIR ROWS REPS times Booster.inplace_predict(X) with nthread=2 REPS times and prints the
                            best wall and CPU (all threads) times in seconds as JSON.
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb

FEATURES = 20


def synthetic(rows, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    y = X[:, 0] * 2 + np.sin(X[:, 1] * 3) + X[:, 2] * X[:, 3] + rng.normal(scale=0.1, size=rows)
    X[rng.random(X.shape) < 0.05] = np.nan
    return X, y


def prepare(d, rows):
    X, y = synthetic(20000, 1)
    bst = xgb.train({"objective": "reg:squarederror", "max_depth": 6, "eta": 0.1, "nthread": 1},
                    xgb.DMatrix(X, label=y), 100)
    bst.save_model(d + "/model.json")
    Xp, _ = synthetic(rows, 2)
    Xp.tofile(d + "/X.f32")
    bst.set_param({"nthread": 2})
    bst.inplace_predict(Xp).astype(np.float32).tofile(d + "/want.f32")


def timeit(d, rows, reps):
    bst = xgb.Booster(model_file=d + "/model.json")
    bst.set_param({"nthread": 2})
    X = np.fromfile(d + "/X.f32", dtype=np.float32).reshape(rows, FEATURES)
    bst.inplace_predict(X[:1000])
    best, best_cpu = float("inf"), float("inf")
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        bst.inplace_predict(X)
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    print(json.dumps({"seconds": best, "cpu_seconds": best_cpu}))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(sys.argv[3]))
    else:
        timeit(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
