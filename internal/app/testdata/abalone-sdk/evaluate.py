"""Evaluates the trained model the way the SageMaker Projects model-build pipeline's evaluation
step does, through the same interface: the training job's model.tar.gz holds a pickled XGBoost
Booster named xgboost-model; the test CSV has the label first; the report is
/opt/ml/processing/evaluation/evaluation.json with regression_metrics.mse {value,
standard_deviation}. Written for Slipway's tests; it is not the template's file."""
import json
import os
import pickle
import tarfile

import numpy as np
import pandas as pd
import xgboost

ROOT = "/opt/ml/processing"


def main():
    with tarfile.open(f"{ROOT}/model/model.tar.gz") as archive:
        archive.extractall(path=".")
    with open("xgboost-model", "rb") as f:
        booster = pickle.load(f)

    test = pd.read_csv(f"{ROOT}/test/test.csv", header=None).to_numpy()
    truth, features = test[:, 0], test[:, 1:]
    errors = truth - booster.predict(xgboost.DMatrix(features))
    report = {"regression_metrics": {"mse": {"value": float(np.mean(errors ** 2)), "standard_deviation": float(np.std(errors))}}}

    os.makedirs(f"{ROOT}/evaluation", exist_ok=True)
    with open(f"{ROOT}/evaluation/evaluation.json", "w") as f:
        json.dump(report, f)
    print("mse", report["regression_metrics"]["mse"]["value"])


if __name__ == "__main__":
    main()
