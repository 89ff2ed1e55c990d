"""Prepares the abalone data the way the SageMaker Projects model-build pipeline's processing step
does, through the same interface: --input-data names the CSV in S3 (fetched here with boto3, as
the scikit-learn image's scripts do), and train/validation/test CSVs (label first, no header) are
written under /opt/ml/processing. Written for Slipway's tests; it is not the template's file."""
import argparse
import os

import boto3
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight", "shell_weight"]
ROOT = "/opt/ml/processing"


def fetch(uri, dest):
    bucket, _, key = uri[len("s3://"):].partition("/")
    boto3.client("s3").download_file(bucket, key, dest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input-data", required=True)
    uri = ap.parse_args().input_data

    os.makedirs(f"{ROOT}/data", exist_ok=True)
    local = f"{ROOT}/data/input.csv"
    fetch(uri, local)
    frame = pd.read_csv(local, header=None, names=["sex"] + NUMERIC + ["rings"])
    os.remove(local)

    features = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
        (make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")), ["sex"]),
    )
    labels = frame.pop("rings").to_numpy(dtype=float)[:, None]
    rows = np.hstack([labels, features.fit_transform(frame)])
    np.random.default_rng().shuffle(rows)

    n = len(rows)
    parts = {"train": rows[: int(0.7 * n)], "validation": rows[int(0.7 * n): int(0.85 * n)], "test": rows[int(0.85 * n):]}
    for name, part in parts.items():
        os.makedirs(f"{ROOT}/{name}", exist_ok=True)
        pd.DataFrame(part).to_csv(f"{ROOT}/{name}/{name}.csv", header=False, index=False)
        print(f"{name}: {len(part)} rows")


if __name__ == "__main__":
    main()
