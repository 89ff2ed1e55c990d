"""Loads a model saved in XGBoost's binary format with Booster().load_model and prints its
predictions of the features-only CSV, one per line.

usage: load_binary.py MODEL CSV
"""
import sys

import numpy as np
import xgboost

b = xgboost.Booster()
b.load_model(sys.argv[1])
X = np.loadtxt(sys.argv[2], delimiter=",", ndmin=2)
for v in b.predict(xgboost.DMatrix(X)):
    print(repr(float(v)))
