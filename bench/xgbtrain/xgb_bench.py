"""The XGBoost side of bench/xgbtrain: train on PREFIX_train.{x,y}, print train seconds and test RMSE as JSON.

Run by `go run ./bench/xgbtrain` with /usr/bin/python3 (Debian's XGBoost 1.7.4).
"""
import argparse
import json
import time

import numpy as np
import xgboost as xgb

ap = argparse.ArgumentParser()
ap.add_argument("-worker")
ap.add_argument("-rounds", type=int)
ap.add_argument("-depth", type=int)
ap.add_argument("-nthread", type=int)
a = ap.parse_args()


def load(prefix):
    y = np.fromfile(prefix + ".y", dtype=np.float32)
    x = np.fromfile(prefix + ".x", dtype=np.float32).reshape(len(y), -1)
    return x, y


xtr, ytr = load(a.worker + "_train")
xte, yte = load(a.worker + "_test")
params = {"objective": "reg:squarederror", "tree_method": "hist", "max_depth": a.depth, "eta": 0.3,
          "max_bin": 256, "nthread": a.nthread}
dtrain = xgb.DMatrix(xtr, label=ytr, nthread=a.nthread)  # data loading, like reading a Dense: not timed
start, cpu0 = time.perf_counter(), time.process_time()
b = xgb.train(params, dtrain, a.rounds)
secs, cpu = time.perf_counter() - start, time.process_time() - cpu0
pred = b.predict(xgb.DMatrix(xte, nthread=a.nthread))
print(json.dumps({"train_seconds": secs, "cpu_seconds": cpu, "rmse": float(np.sqrt(np.mean((pred - yte) ** 2)))}))
