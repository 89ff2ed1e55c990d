# Replays, with boto3, the requests the SageMaker Python SDK v2 (v2.230.0, the last v2 release
# without sagemaker-core) sends for Estimator (script mode and algorithm mode), SKLearnProcessor
# and Transformer — the SDK itself cannot be installed here (it needs PyPI). Each step names the
# SDK code it reproduces; the requests carry the members that code puts in them, in the shapes
# it builds them.
# Arguments: endpoint, role ARN.
import io
import json
import os
import sys
import tarfile
import tempfile
import time

import boto3

endpoint, role = sys.argv[1:3]
region = "us-east-1"
boto = boto3.session.Session(region_name=region)
sm = boto.client("sagemaker", endpoint_url=endpoint)
s3c = boto.client("s3", endpoint_url=endpoint)
s3r = boto.resource("s3", endpoint_url=endpoint)

# session.py Session.default_bucket / _create_s3_bucket_if_it_does_not_exist: the account from
# STS, then HeadBucket, and CreateBucket on a 404.
account = boto.client("sts", endpoint_url=endpoint).get_caller_identity()["Account"]
bucket = "sagemaker-%s-%s" % (region, account)
try:
    s3r.meta.client.head_bucket(Bucket=bucket)
    raise SystemExit("the default bucket exists before the SDK created it")
except s3c.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "404", e.response
s3r.create_bucket(Bucket=bucket)
s3r.meta.client.head_bucket(Bucket=bucket)

tmp = tempfile.mkdtemp()


def name_from_base(base):
    # utils.py name_from_base + sagemaker_timestamp: base, then the time to the millisecond.
    time.sleep(0.002)
    t = time.time()
    return "%s-%s-%03d" % (base, time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(t)), int(t * 1000) % 1000)


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def wait(kind, name):
    noun = {"training": "TrainingJob", "processing": "ProcessingJob", "transform": "TransformJob"}[kind]
    try:
        sm.get_waiter(kind + "_job_completed_or_stopped").wait(**{noun + "Name": name}, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    except Exception as e:  # the waiter fails on Failed; the description says why
        print(name, "waiter:", e)
    d = getattr(sm, "describe_%s_job" % kind)(**{noun + "Name": name})
    print(name, d[noun + "Status"], d.get("FailureReason", ""))
    return d


# The raw data, as a user's notebook puts it.
rows = ["%d,%.3f,%.3f" % (i % 2, i * 0.5, (i % 7) * 1.5) for i in range(60)]
s3c.put_object(Bucket=bucket, Key="raw/data.csv", Body=("label,a,b\n" + "\n".join(rows) + "\n").encode())

# ---- SKLearnProcessor(...).run(code="preprocess.py", inputs=[ProcessingInput(source=s3://…/raw,
# destination="/opt/ml/processing/input")], outputs=[ProcessingOutput(output_name="train",
# source="/opt/ml/processing/train")]).
# processing.py ScriptProcessor._upload_code: S3Uploader.upload to s3://<default bucket>/<job>/input/code/;
# _convert_code_and_add_to_inputs: the "code" input at /opt/ml/processing/input/code;
# _set_entrypoint: command + [that path]; ProcessingInput/Output._to_request_dict: AppManaged,
# S3Input with S3DataDistributionType and S3CompressionType; outputs default to
# s3://<bucket>/<job>/output/<output name>.
pjob = name_from_base("sagemaker-scikit-learn")
code = write("preprocess.py", """
import os
import pandas as pd
df = pd.read_csv("/opt/ml/processing/input/data.csv")
os.makedirs("/opt/ml/processing/train", exist_ok=True)
df.to_csv("/opt/ml/processing/train/train.csv", header=False, index=False)
print("rows", len(df))
""")
s3r.Object(bucket, pjob + "/input/code/preprocess.py").upload_file(code)
sm.create_processing_job(
    ProcessingJobName=pjob,
    ProcessingResources={"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}},
    AppSpecification={"ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                      "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/preprocess.py"]},
    RoleArn=role,
    ProcessingInputs=[
        {"InputName": "input-1", "AppManaged": False, "S3Input": {
            "S3Uri": "s3://%s/raw" % bucket, "LocalPath": "/opt/ml/processing/input", "S3DataType": "S3Prefix",
            "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}},
        {"InputName": "code", "AppManaged": False, "S3Input": {
            "S3Uri": "s3://%s/%s/input/code/preprocess.py" % (bucket, pjob), "LocalPath": "/opt/ml/processing/input/code",
            "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}},
    ],
    ProcessingOutputConfig={"Outputs": [{"OutputName": "train", "AppManaged": False, "S3Output": {
        "S3Uri": "s3://%s/%s/output/train" % (bucket, pjob), "LocalPath": "/opt/ml/processing/train", "S3UploadMode": "EndOfJob"}}]},
)
d = wait("processing", pjob)
assert d["ProcessingJobStatus"] == "Completed", d
train_uri = d["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
print("processing output", [o["Key"] for o in s3c.list_objects_v2(Bucket=bucket, Prefix=pjob + "/output/")["Contents"]])

# ---- SKLearn(entry_point="train.py", source_dir=<dir>, hyperparameters={"alpha": 0.5, "tag": "x"}).fit({"train": train_uri})
# estimator.py Framework._stage_user_code_in_s3 → fw_utils.tar_and_upload_dir: the source files at
# the root of sourcedir.tar.gz, uploaded to s3://<bucket>/<job>/source/sourcedir.tar.gz with
# ServerSideEncryption aws:kms (SessionSettings.encrypt_repacked_artifacts); _script_mode_hyperparam_update
# and EstimatorBase._json_encode_hyperparameters: every value json.dumps'ed; session.py
# _get_train_request: the members below (plus the debugger's and profiler's defaults).
tjob = name_from_base("sagemaker-scikit-learn")
src = os.path.join(tmp, "src")
os.makedirs(src)
with open(os.path.join(src, "train.py"), "w") as f:
    f.write("""
import argparse, json, os
import helper
p = argparse.ArgumentParser()
p.add_argument("--alpha", type=float)
p.add_argument("--tag", type=str)
p.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
args, _ = p.parse_known_args()
train = os.environ["SM_CHANNEL_TRAIN"]
n = sum(1 for name in os.listdir(train) for _ in open(os.path.join(train, name)))
hps = json.loads(os.environ["SM_HPS"])
with open(os.path.join(args.model_dir, "model.json"), "w") as out:
    json.dump({"alpha": args.alpha, "tag": args.tag, "rows": n, "hps": hps, "module": os.environ.get("SM_MODULE_NAME")}, out)
print("train-loss: %.4f" % helper.loss(args.alpha, n), flush=True)
""")
with open(os.path.join(src, "helper.py"), "w") as f:
    f.write("def loss(alpha, n):\n    return alpha / n\n")
tarball = os.path.join(tmp, "sourcedir.tar.gz")
with tarfile.open(tarball, mode="w:gz", dereference=True) as t:
    for name in ("train.py", "helper.py"):
        t.add(os.path.join(src, name), arcname=name)
s3r.Object(bucket, tjob + "/source/sourcedir.tar.gz").upload_file(tarball, ExtraArgs={"ServerSideEncryption": "aws:kms"})
hyperparameters = {"alpha": 0.5, "tag": "x",
                   "sagemaker_submit_directory": "s3://%s/%s/source/sourcedir.tar.gz" % (bucket, tjob),
                   "sagemaker_program": "train.py", "sagemaker_container_log_level": 20,
                   "sagemaker_job_name": tjob, "sagemaker_region": region}
sm.create_training_job(
    AlgorithmSpecification={"TrainingInputMode": "File",
                            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                            "MetricDefinitions": [{"Name": "train:loss", "Regex": "train-loss: ([0-9\\.]+)"}],
                            "EnableSageMakerMetricsTimeSeries": True},
    OutputDataConfig={"S3OutputPath": "s3://%s/" % bucket},
    TrainingJobName=tjob,
    StoppingCondition={"MaxRuntimeInSeconds": 86400},
    ResourceConfig={"VolumeSizeInGB": 30, "InstanceCount": 1, "InstanceType": "ml.m5.large"},
    RoleArn=role,
    InputDataConfig=[{"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": train_uri, "S3DataDistributionType": "FullyReplicated"}},
                      "ChannelName": "train"}],
    HyperParameters={k: json.dumps(v) for k, v in hyperparameters.items()},
    DebugHookConfig={"S3OutputPath": "s3://%s/" % bucket, "CollectionConfigurations": []},
    ProfilerConfig={"S3OutputPath": "s3://%s/" % bucket, "DisableProfiler": False},
)
d = wait("training", tjob)
assert d["TrainingJobStatus"] == "Completed", d
art = d["ModelArtifacts"]["S3ModelArtifacts"]
assert art == "s3://%s/%s/output/model.tar.gz" % (bucket, tjob), art
body = s3c.get_object(Bucket=bucket, Key=tjob + "/output/model.tar.gz")["Body"].read()
with tarfile.open(fileobj=io.BytesIO(body)) as t:
    model = json.load(t.extractfile("model.json"))
print("script mode model", model["alpha"], model["tag"], model["rows"], model["module"], model["hps"]["alpha"])
print("script mode metric", [(m["MetricName"], round(m["Value"], 4)) for m in d["FinalMetricDataList"]])

# fit(logs=True): session.py logs_for_job / _flush_log_streams lists the job's streams with
# orderBy LogStreamName and limit = the instance count, and pages on while "nextToken" is in the
# answer (without passing it: a nextToken on the last page would loop for ever); logs.py
# log_stream reads each stream with get_log_events(startTime, startFromHead=True) until an empty
# page.
cwl = boto.client("logs", endpoint_url=endpoint)
streams = cwl.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=tjob + "/",
                                   orderBy="LogStreamName", limit=min(1, 50))
assert "nextToken" not in streams, streams
names = [st["logStreamName"] for st in streams["logStreams"]]
assert len(names) == 1 and names[0].startswith(tjob + "/algo-1-"), names
lines, token_arg = [], {}
while True:
    page = cwl.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=names[0], startTime=0, startFromHead=True, **token_arg)
    if not page["events"]:
        break
    lines += [e["message"] for e in page["events"]]
    token_arg = {"nextToken": page["nextForwardToken"]}
print("script mode log", [l for l in lines if l.startswith("train-loss")])

# ---- Estimator(image_uris.retrieve("xgboost", region, "1.7-1"), hyperparameters=…).fit(…), then
# .transformer(...).transform(data, content_type="text/csv", split_type="Line", input_filter="$[1:]",
# join_source="Input", output_filter="$[0,-1]").
# Algorithm mode: hyperparameters are passed as strings by EstimatorBase.set_hyperparameters (no
# json.dumps for the generic Estimator). estimator.py create_model → session.create_model: ModelName,
# ExecutionRoleArn, PrimaryContainer {Image, Environment, ModelDataUrl}. transformer.py
# _TransformJob._format_inputs_to_input_config / _prepare_output_config / _prepare_resource_config /
# _prepare_data_processing → session._get_transform_request.
xjob = name_from_base("sagemaker-xgboost")
sm.create_training_job(
    AlgorithmSpecification={"TrainingInputMode": "File",
                            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
    OutputDataConfig={"S3OutputPath": "s3://%s/xgb" % bucket},
    TrainingJobName=xjob,
    StoppingCondition={"MaxRuntimeInSeconds": 86400},
    ResourceConfig={"VolumeSizeInGB": 30, "InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
    RoleArn=role,
    InputDataConfig=[{"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": train_uri, "S3DataDistributionType": "FullyReplicated"}},
                      "ContentType": "text/csv", "ChannelName": "train"}],
    HyperParameters={"objective": "binary:logistic", "num_round": "10", "max_depth": "3"},
    DebugHookConfig={"S3OutputPath": "s3://%s/xgb" % bucket, "CollectionConfigurations": []},
    ProfilerConfig={"S3OutputPath": "s3://%s/xgb" % bucket, "DisableProfiler": False},
)
d = wait("training", xjob)
assert d["TrainingJobStatus"] == "Completed", d
model_name = xjob
sm.create_model(ModelName=model_name, ExecutionRoleArn=role,
                PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                                  "Environment": {}, "ModelDataUrl": d["ModelArtifacts"]["S3ModelArtifacts"]})
batch = ["%d,%.3f,%.3f" % (i % 2, i * 0.5, (i % 7) * 1.5) for i in range(5)]
s3c.put_object(Bucket=bucket, Key="batch/in.csv", Body=("\n".join(batch) + "\n").encode())
xform = name_from_base("sagemaker-xgboost")
sm.create_transform_job(
    TransformJobName=xform, ModelName=model_name,
    TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://%s/batch" % bucket}},
                    "ContentType": "text/csv", "SplitType": "Line"},
    TransformOutput={"S3OutputPath": "s3://%s/batch-out" % bucket, "AssembleWith": "Line", "Accept": "text/csv"},
    TransformResources={"InstanceCount": 1, "InstanceType": "ml.m5.large"},
    BatchStrategy="MultiRecord",
    DataProcessing={"InputFilter": "$[1:]", "OutputFilter": "$[0,-1]", "JoinSource": "Input"},
)
d = wait("transform", xform)
assert d["TransformJobStatus"] == "Completed", d
out = s3c.get_object(Bucket=bucket, Key="batch-out/in.csv.out")["Body"].read().decode()
lines = [l for l in out.splitlines() if l]
print("transform lines", len(lines))
for l in lines:
    label, score = l.split(",")
    assert 0 <= float(score) <= 1, l
    print("transform row", label, "score in [0,1]")
print("SDK REPLAY OK")
