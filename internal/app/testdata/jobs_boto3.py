# Drives the jobs API with boto3 as a data scientist's script would: create, describe, list,
# the completed-or-stopped waiter, stop. Arguments: endpoint, role ARN, job name prefix.
import sys

import boto3
import botocore

endpoint, role, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
sm = boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1")

name = prefix + "-train"
sm.create_training_job(
    TrainingJobName=name,
    RoleArn=role,
    AlgorithmSpecification={
        "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "validation:rmse", "Regex": "validation-rmse:([0-9\\.]+)"}],
    },
    HyperParameters={"num_round": "50", "max_depth": "5", "eta": "0.2"},
    InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": "s3://ds-data/abalone/train", "S3DataDistributionType": "FullyReplicated"}},
        "ContentType": "text/csv"}],
    OutputDataConfig={"S3OutputPath": "s3://ds-data/models"},
    ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
    StoppingCondition={"MaxRuntimeInSeconds": 3600},
    # What the SageMaker Python SDK adds; stored and echoed, not acted on.
    ProfilerConfig={"DisableProfiler": False, "S3OutputPath": "s3://ds-data/profiler"},
    DebugHookConfig={"S3OutputPath": "s3://ds-data/debug", "CollectionConfigurations": []},
    Environment={"MODE": "test"},
    RetryStrategy={"MaximumRetryAttempts": 1},
    CheckpointConfig={"S3Uri": "s3://ds-data/checkpoints"},
    EnableNetworkIsolation=False,
    Tags=[{"Key": "team", "Value": "ds"}],
)
d = sm.describe_training_job(TrainingJobName=name)
assert d["TrainingJobArn"].endswith(":training-job/" + name), d["TrainingJobArn"]
assert d["HyperParameters"]["num_round"] == "50", d["HyperParameters"]
assert d["ProfilerConfig"]["DisableProfiler"] is False, d.get("ProfilerConfig")
assert d["RetryStrategy"]["MaximumRetryAttempts"] == 1
assert d["Environment"] == {"MODE": "test"}
assert "Tags" not in d
print("created", d["TrainingJobStatus"], d["SecondaryStatus"])

# The job's input does not exist (and its role may not read it): the job fails, and the waiter says so.
try:
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    raise SystemExit("the waiter succeeded on a job whose input cannot be read")
except botocore.exceptions.WaiterError as e:
    assert "terminal failure state" in str(e), e
d = sm.describe_training_job(TrainingJobName=name)
print("ended", d["TrainingJobStatus"], d["SecondaryStatus"], "|", d["FailureReason"])
assert [t["Status"] for t in d["SecondaryStatusTransitions"]][-1] == "Failed"

try:
    sm.create_training_job(TrainingJobName=name, RoleArn=role,
        AlgorithmSpecification={"TrainingImage": "x", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://ds-data/models"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600})
    raise SystemExit("a duplicate name was accepted")
except sm.exceptions.ResourceInUse as e:
    print("duplicate", e.response["Error"]["Code"])

try:
    sm.stop_training_job(TrainingJobName=name)
    raise SystemExit("a failed job was stopped")
except botocore.exceptions.ClientError as e:
    print("stop", e.response["Error"]["Code"])

try:
    sm.describe_processing_job(ProcessingJobName=prefix + "-missing")
    raise SystemExit("a missing job was described")
except botocore.exceptions.ClientError as e:
    print("missing", e.response["Error"]["Code"])

pname = prefix + "-prep"
sm.create_processing_job(
    ProcessingJobName=pname, RoleArn=role,
    AppSpecification={"ImageUri": "257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3",
                      "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/preprocess.py"]},
    ProcessingInputs=[{"InputName": "code", "S3Input": {"S3Uri": "s3://ds-data/code/preprocess.py", "LocalPath": "/opt/ml/processing/input/code",
                                                       "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
    ProcessingOutputConfig={"Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": "s3://ds-data/prepared/train",
                                                                             "LocalPath": "/opt/ml/processing/train", "S3UploadMode": "EndOfJob"}}]},
    ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
    StoppingCondition={"MaxRuntimeInSeconds": 600},
)
page = sm.list_processing_jobs(NameContains=prefix, SortBy="Name", SortOrder="Ascending", MaxResults=1)
assert [s["ProcessingJobName"] for s in page["ProcessingJobSummaries"]] == [pname], page
names = [s["TrainingJobName"] for s in sm.get_paginator("list_training_jobs").paginate(NameContains=prefix).build_full_result()["TrainingJobSummaries"]]
assert names == [name], names
print("listed", len(names))
