# Runs real jobs through the SageMaker API with boto3 (Debian's), as a data scientist would:
# an unmodified SageMaker-style scikit-learn preprocess.py that fetches its own input with
# boto3 (no endpoint in the script), an XGBoost 1.0-1 training job in algorithm mode, the
# classic pickle-loading evaluation of its model.tar.gz with the real xgboost, the job's logs,
# a role that may not read the input, Stop, and MaxRuntimeInSeconds.
# Arguments: endpoint, runner role ARN, no-read role ARN, bucket.
import io
import pickle
import sys
import tarfile
import time

import boto3
import numpy as np
import xgboost

endpoint, role, noread, bucket = sys.argv[1:5]
sm = boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1")
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")

s3.create_bucket(Bucket=bucket)
rng = np.random.default_rng(7)
X = rng.normal(size=(400, 4))
y = 3 * X[:, 0] - 2 * X[:, 1] + 0.5 * X[:, 2] + rng.normal(scale=0.1, size=400) + 10
raw = "a,b,c,d,target\n" + "\n".join(",".join(f"{v:.6f}" for v in list(r) + [t]) for r, t in zip(X, y)) + "\n"
s3.put_object(Bucket=bucket, Key="raw/data.csv", Body=raw.encode())

PREPROCESS = f'''
import os
import boto3
import pandas as pd
from sklearn.preprocessing import StandardScaler

base = "/opt/ml/processing"
os.makedirs(base + "/data", exist_ok=True)
boto3.resource("s3").Bucket("{bucket}").download_file("raw/data.csv", base + "/data/raw.csv")
df = pd.read_csv(base + "/data/raw.csv")
y = df.pop("target")
X = pd.DataFrame(StandardScaler().fit_transform(df), columns=df.columns)
full = pd.concat([y, X], axis=1)
n = int(len(full) * 0.8)
full[:n].to_csv(base + "/train/train.csv", header=False, index=False)
full[n:].to_csv(base + "/validation/validation.csv", header=False, index=False)
print("preprocessed", len(full), "rows")
'''
s3.put_object(Bucket=bucket, Key="code/preprocess.py", Body=PREPROCESS.encode())
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3"
XGB = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3"


def processing(name, entry, role_arn=role, inputs=(), outputs=(), max_runtime=600):
    sm.create_processing_job(
        ProcessingJobName=name, RoleArn=role_arn,
        AppSpecification={"ImageUri": SKLEARN, "ContainerEntrypoint": entry},
        ProcessingInputs=list(inputs),
        ProcessingOutputConfig={"Outputs": list(outputs)},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
        StoppingCondition={"MaxRuntimeInSeconds": max_runtime})


def out(name, path, uri):
    return {"OutputName": name, "S3Output": {"S3Uri": uri, "LocalPath": path, "S3UploadMode": "EndOfJob"}}


processing("prep", ["python3", "/opt/ml/processing/input/code/preprocess.py"],
           inputs=[{"InputName": "code", "S3Input": {"S3Uri": f"s3://{bucket}/code/preprocess.py",
                    "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
           outputs=[out("train", "/opt/ml/processing/train", f"s3://{bucket}/prepared/train"),
                    out("validation", "/opt/ml/processing/validation", f"s3://{bucket}/prepared/validation")])
try:
    sm.get_waiter("processing_job_completed_or_stopped").wait(ProcessingJobName="prep", WaiterConfig={"Delay": 1, "MaxAttempts": 300})
finally:
    d = sm.describe_processing_job(ProcessingJobName="prep")
    print("prep", d["ProcessingJobStatus"], d.get("FailureReason", ""), d.get("ExitMessage", ""))
    for st in logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix="prep/")["logStreams"]:
        for e in logs.get_log_events(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=st["logStreamName"], startFromHead=True)["events"]:
            print("  prep log:", e["message"])
assert d["ProcessingJobStatus"] == "Completed", d
keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="prepared/")["Contents"])
print("prepared", keys)

sm.create_training_job(
    TrainingJobName="train", RoleArn=role,
    AlgorithmSpecification={"TrainingImage": XGB, "TrainingInputMode": "File",
                            "MetricDefinitions": [{"Name": "validation:rmse", "Regex": "validation-rmse:([0-9\\.]+)"}]},
    HyperParameters={"objective": "reg:squarederror", "num_round": "50", "max_depth": "5", "eta": "0.2",
                     "gamma": "4", "min_child_weight": "6", "subsample": "0.7"},
    InputDataConfig=[{"ChannelName": c, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/prepared/{c}", "S3DataDistributionType": "FullyReplicated"}}}
        for c in ("train", "validation")],
    OutputDataConfig={"S3OutputPath": f"s3://{bucket}/models"},
    ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
    StoppingCondition={"MaxRuntimeInSeconds": 600})
sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="train", WaiterConfig={"Delay": 1, "MaxAttempts": 300})
d = sm.describe_training_job(TrainingJobName="train")
print("train", d["TrainingJobStatus"], d["SecondaryStatus"], d.get("FailureReason", ""))
assert d["TrainingJobStatus"] == "Completed", d
rmse = {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]}["validation:rmse"]
print("validation:rmse", rmse)
assert rmse < 1.5, rmse
print("transitions", [t["Status"] for t in d["SecondaryStatusTransitions"]])
art = d["ModelArtifacts"]["S3ModelArtifacts"]
assert art == f"s3://{bucket}/models/train/output/model.tar.gz", art

# The classic evaluate.py: untar, pickle.load the Booster, predict with the real xgboost.
body = s3.get_object(Bucket=bucket, Key="models/train/output/model.tar.gz")["Body"].read()
with tarfile.open(fileobj=io.BytesIO(body)) as tar:
    model = pickle.load(tar.extractfile("xgboost-model"))
val = np.loadtxt(io.BytesIO(s3.get_object(Bucket=bucket, Key="prepared/validation/validation.csv")["Body"].read()), delimiter=",")
pred = model.predict(xgboost.DMatrix(val[:, 1:]))
mse = float(np.mean((val[:, 0] - pred) ** 2))
print("evaluate mse", round(mse, 4))
assert abs(mse ** 0.5 - rmse) < 0.05, (mse ** 0.5, rmse)

streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="train/")["logStreams"]
ev = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]
print("log stream", streams[0]["logStreamName"].split("-")[0], "lines", len(ev) > 0)
assert any("#011train-rmse:" in e["message"] for e in ev), ev[:5]

# A role that may not read the input: the job fails and says why.
processing("noread", ["python3", "-c", "print(1)"], role_arn=noread,
           inputs=[{"InputName": "raw", "S3Input": {"S3Uri": f"s3://{bucket}/raw/", "LocalPath": "/opt/ml/processing/raw",
                    "S3DataType": "S3Prefix", "S3InputMode": "File"}}])
for _ in range(120):
    d = sm.describe_processing_job(ProcessingJobName="noread")
    if d["ProcessingJobStatus"] in ("Completed", "Failed", "Stopped"):
        break
    time.sleep(0.5)
print("noread", d["ProcessingJobStatus"], "AccessDenied" in d.get("FailureReason", ""))

# Stop, and the run-time limit.
processing("sleeper", ["python3", "-c", "import time; print('sleeping', flush=True); time.sleep(600)"])
for _ in range(120):
    if sm.describe_processing_job(ProcessingJobName="sleeper")["ProcessingJobStatus"] == "InProgress" and \
            logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix="sleeper/")["logStreams"]:
        break
    time.sleep(0.5)
sm.stop_processing_job(ProcessingJobName="sleeper")
processing("slow", ["python3", "-c", "import time; time.sleep(600)"], max_runtime=2)
for name in ("sleeper", "slow"):
    for _ in range(120):
        d = sm.describe_processing_job(ProcessingJobName=name)
        if d["ProcessingJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(0.5)
    print(name, d["ProcessingJobStatus"], d.get("ExitMessage", ""), d.get("FailureReason", ""))
