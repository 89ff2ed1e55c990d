# Runs inside a "job": only the environment Slipway gives a job tells it where its credentials
# and AWS are. Nothing here names an endpoint, a region or a key.
import json
import sys
import time

import boto3
import botocore

mode = sys.argv[1]
sts = boto3.client("sts")
out = {"boto3": boto3.__version__}
if mode == "identity":
    out["arn"] = sts.get_caller_identity()["Arn"]
    out["sts_endpoint"] = sts.meta.endpoint_url
    sm = boto3.client("sagemaker")
    out["sagemaker_endpoint"] = sm.meta.endpoint_url
    sm.list_model_package_groups()
    out["list"] = "ok"
    try:
        sm.create_model_package_group(ModelPackageGroupName="not-allowed")
        out["create"] = "ok"
    except botocore.exceptions.ClientError as e:
        out["create"] = e.response["Error"]["Code"]
elif mode == "refresh":
    deadline = time.time() + float(sys.argv[2])
    keys, calls = [], 0
    while time.time() < deadline:
        sts.get_caller_identity()
        calls += 1
        key = sts._request_signer._credentials.get_frozen_credentials().access_key
        if key not in keys:
            keys.append(key)
        time.sleep(0.25)
    out.update(calls=calls, keys=len(keys))
print(json.dumps(out))
