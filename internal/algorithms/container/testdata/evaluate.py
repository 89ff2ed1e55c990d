"""The classic SageMaker evaluation step, as its users write it (our own rendition): unpack the
model.tar.gz the training job produced, unpickle the Booster, predict the test set, and write the
mean squared error to evaluation.json. Only the paths are arguments here.

usage: evaluate.py MODEL_TAR_GZ TEST_CSV EVALUATION_JSON
"""
import json
import pickle
import sys
import tarfile

import numpy as np
import pandas as pd
import xgboost
from sklearn.metrics import mean_squared_error

model_tar, test_csv, out = sys.argv[1:4]
with tarfile.open(model_tar) as tar:
    tar.extractall(path=".")
model = pickle.load(open("xgboost-model", "rb"))

df = pd.read_csv(test_csv, header=None)
y_test = df.iloc[:, 0].to_numpy()
df.drop(df.columns[0], axis=1, inplace=True)
predictions = model.predict(xgboost.DMatrix(df.values))

mse = mean_squared_error(y_test, predictions)
std = np.std(y_test - predictions)
with open(out, "w") as f:
    json.dump({"regression_metrics": {"mse": {"value": mse, "standard_deviation": std}}}, f)
