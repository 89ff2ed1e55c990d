"""Checks models written by Slipway against Debian's XGBoost 1.7.4 (called by pickle_test.go).

usage: pickle_interop.py DIR
DIR holds test.csv (features only), model.json, model.pickle, model.bin and pred.f32 (our predictions).
Writes xgb_saved.bin (XGBoost's own save_model of model.json, no extension) and prints nothing on success.
"""
import pickle
import sys

import numpy as np
import xgboost

d = sys.argv[1]
X = np.loadtxt(f"{d}/test.csv", delimiter=",", ndmin=2)
want = np.fromfile(f"{d}/pred.f32", dtype="<f4")
m = xgboost.DMatrix(X)

with open(f"{d}/model.pickle", "rb") as f:
    booster = pickle.load(f)
assert type(booster) is xgboost.Booster, type(booster)
got = booster.predict(m)
assert np.abs(got - want).max() <= 1e-5, ("pickle", np.abs(got - want).max())
assert booster.best_ntree_limit > 0

b = xgboost.Booster()
b.load_model(f"{d}/model.bin")
got = b.predict(m)
assert np.abs(got - want).max() <= 1e-5, ("binary", np.abs(got - want).max())

j = xgboost.Booster()
j.load_model(f"{d}/model.json")
j.save_model(f"{d}/xgb_saved.bin")
# A pickle XGBoost itself writes, for the reader.
with open(f"{d}/xgb.pickle", "wb") as f:
    pickle.dump(j, f, protocol=int(sys.argv[2]) if len(sys.argv) > 2 else 4)
with open(f"{d}/xgb5.pickle", "wb") as f:
    pickle.dump(j, f, protocol=5)
