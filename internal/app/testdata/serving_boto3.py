# Drives serving with boto3 as a data scientist and a deployer would: train an XGBoost model
# with the real library, upload it, create a model, an endpoint configuration and an endpoint,
# wait for it, invoke it, update it; share a model package with the staging account and deploy
# it there (refused before the grant, and under an explicit Deny); bad input of every kind.
# Arguments: endpoint, data-science key id, secret, staging key id, secret, staging account id.
import io
import json
import sys
import tarfile

import boto3
import botocore
import numpy as np
import xgboost as xgb

url, ds_id, ds_secret, st_id, st_secret, st_account = sys.argv[1:7]
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def clients(key, secret):
    s = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1")
    return {n: s.client(n, endpoint_url=url) for n in ("sagemaker", "sagemaker-runtime", "s3", "iam")}


def code(e):
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Message", "")


def expect_error(fn, want_code, want_status=None, want_text=""):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        c, st, msg = code(e)
        assert c == want_code and (want_status is None or st == want_status) and want_text in msg, (c, st, msg, want_code, want_status, want_text)
        return msg
    raise SystemExit("expected %s, the call succeeded" % want_code)


def role(iam, name, bucket_arn):
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="read-models", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": bucket_arn + "/*"}]}))
    return arn


def tarball(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ds, st = clients(ds_id, ds_secret), clients(st_id, st_secret)
sm, rt = ds["sagemaker"], ds["sagemaker-runtime"]

# A model trained by the real XGBoost, saved as SageMaker's XGBoost container writes it.
rng = np.random.default_rng(7)
X = rng.normal(size=(200, 4))
y = X[:, 0] * 3 + X[:, 1] ** 2 + rng.normal(scale=0.1, size=200)
booster = xgb.train({"max_depth": 3, "eta": 0.3, "objective": "reg:squarederror"}, xgb.DMatrix(X, label=y), num_boost_round=20)
raw = booster.save_raw(raw_format="json")
ds["s3"].create_bucket(Bucket="ds-models")
ds["s3"].put_object(Bucket="ds-models", Key="abalone/model.tar.gz", Body=tarball({"xgboost-model": bytes(raw)}))
ds["s3"].put_object(Bucket="ds-models", Key="broken/model.tar.gz", Body=b"this is not a tarball")
ds_role = role(ds["iam"], "ds-serving", "arn:aws:s3:::ds-models")
noread_role = ds["iam"].create_role(RoleName="ds-noread", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]

rows = X[:5]
want = booster.predict(xgb.DMatrix(rows))
csv = "\n".join(",".join(repr(float(v)) for v in r) for r in rows)

sm.create_model(ModelName="abalone-v1", ExecutionRoleArn=ds_role,
                PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://ds-models/abalone/model.tar.gz", "Environment": {"A": "1"}})
d = sm.describe_model(ModelName="abalone-v1")
assert d["PrimaryContainer"]["ModelDataUrl"] == "s3://ds-models/abalone/model.tar.gz" and d["ModelArn"].endswith(":model/abalone-v1"), d
expect_error(lambda: sm.create_model(ModelName="abalone-v1", ExecutionRoleArn=ds_role, PrimaryContainer={"Image": IMAGE}), "ValidationException", 400, "already existing")
expect_error(lambda: sm.create_model(ModelName="noread", ExecutionRoleArn=noread_role,
                                     PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://ds-models/abalone/model.tar.gz"}), "AccessDeniedException", 400, "may not read")
expect_error(lambda: sm.create_model(ModelName="missing", ExecutionRoleArn=ds_role,
                                     PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://ds-models/nothing/model.tar.gz"}), "ValidationException", 400, "Could not find model data")
sm.create_model(ModelName="broken", ExecutionRoleArn=ds_role, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://ds-models/broken/model.tar.gz"})
print("models", [m["ModelName"] for m in sm.list_models(SortBy="Name", SortOrder="Ascending")["Models"]])

sm.create_endpoint_config(EndpointConfigName="abalone-v1", ProductionVariants=[
    {"VariantName": "AllTraffic", "ModelName": "abalone-v1", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}])
expect_error(lambda: sm.create_endpoint_config(EndpointConfigName="nomodel", ProductionVariants=[
    {"VariantName": "AllTraffic", "ModelName": "nope", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]), "ValidationException", 400, "Could not find model")
sm.create_endpoint(EndpointName="abalone", EndpointConfigName="abalone-v1")
sm.get_waiter("endpoint_in_service").wait(EndpointName="abalone", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
d = sm.describe_endpoint(EndpointName="abalone")
v = d["ProductionVariants"][0]
assert d["EndpointStatus"] == "InService" and v["CurrentInstanceCount"] == 2 and v["CurrentWeight"] == 1.0, d
assert v["DeployedImages"][0]["SpecifiedImage"] == IMAGE, v
print("in service", d["EndpointStatus"], v["VariantName"], v["CurrentInstanceCount"])

r = rt.invoke_endpoint(EndpointName="abalone", ContentType="text/csv", Accept="application/json", Body=csv.encode(), CustomAttributes="c=1")
got = [p["score"] for p in json.loads(r["Body"].read())["predictions"]]
assert r["InvokedProductionVariant"] == "AllTraffic", r
diff = max(abs(a - b) for a, b in zip(got, want))
assert len(got) == 5 and diff <= 1e-5, (got, want)
print("invoked", r["InvokedProductionVariant"], "max diff %.1e" % diff)

expect_error(lambda: rt.invoke_endpoint(EndpointName="abalone", ContentType="text/csv", Body=b"1,2\n"), "ValidationError", 400)
expect_error(lambda: rt.invoke_endpoint(EndpointName="abalone", ContentType="image/png", Body=b"x"), "UnsupportedMediaType", 415, "text/csv")
expect_error(lambda: rt.invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body=b"1,2,3,4"), "ValidationError", 400, "not found")
expect_error(lambda: rt.invoke_endpoint(EndpointName="abalone", ContentType="text/csv", Body=b"1,2,3,4", TargetVariant="Other"), "ValidationError", 400, "Other")
print("bad input refused")

# Updates: more than ten rollback alarms and a canary sized as a linear step are refused by name;
# an update to a corrupt model leaves the old config serving.
expect_error(lambda: sm.update_endpoint(EndpointName="abalone", EndpointConfigName="abalone-v1", DeploymentConfig={"BlueGreenUpdatePolicy": {
    "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}},
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "errors-%d" % i} for i in range(11)]}}), "ValidationException", 400, "autoRollbackConfiguration.alarms")
expect_error(lambda: sm.update_endpoint(EndpointName="abalone", EndpointConfigName="abalone-v1", DeploymentConfig={"BlueGreenUpdatePolicy": {
    "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60, "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}), "ValidationException", 400, "LinearStepSize")
sm.create_endpoint_config(EndpointConfigName="broken", ProductionVariants=[
    {"VariantName": "AllTraffic", "ModelName": "broken", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
sm.update_endpoint(EndpointName="abalone", EndpointConfigName="broken")
sm.get_waiter("endpoint_in_service").wait(EndpointName="abalone", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
d = sm.describe_endpoint(EndpointName="abalone")
assert d["EndpointConfigName"] == "abalone-v1" and "not a valid model.tar.gz" in d.get("FailureReason", ""), d
r = rt.invoke_endpoint(EndpointName="abalone", ContentType="text/csv", Body=csv.encode())
print("failed update", d["EndpointStatus"], d["EndpointConfigName"], "|", d["FailureReason"][:40])

sm.create_endpoint_config(EndpointConfigName="abalone-v2", ProductionVariants=[
    {"VariantName": "Blue", "ModelName": "abalone-v1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large", "InitialVariantWeight": 1},
    {"VariantName": "Green", "ModelName": "abalone-v1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large", "InitialVariantWeight": 0}])
sm.update_endpoint(EndpointName="abalone", EndpointConfigName="abalone-v2",
                   DeploymentConfig={"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}}})
sm.get_waiter("endpoint_in_service").wait(EndpointName="abalone", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
d = sm.describe_endpoint(EndpointName="abalone")
assert d["EndpointConfigName"] == "abalone-v2" and "FailureReason" not in d, d
for _ in range(10):
    assert rt.invoke_endpoint(EndpointName="abalone", ContentType="text/csv", Body=csv.encode())["InvokedProductionVariant"] == "Blue"
sm.update_endpoint_weights_and_capacities(EndpointName="abalone", DesiredWeightsAndCapacities=[
    {"VariantName": "Blue", "DesiredWeight": 0}, {"VariantName": "Green", "DesiredWeight": 1}])
sm.get_waiter("endpoint_in_service").wait(EndpointName="abalone", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
for _ in range(10):
    assert rt.invoke_endpoint(EndpointName="abalone", ContentType="text/csv", Body=csv.encode())["InvokedProductionVariant"] == "Green"
print("weights", {v["VariantName"]: v["CurrentWeight"] for v in sm.describe_endpoint(EndpointName="abalone")["ProductionVariants"]})

# A creation from a corrupt artifact fails with the reason; the waiter says so.
sm.create_endpoint(EndpointName="broken", EndpointConfigName="broken")
try:
    sm.get_waiter("endpoint_in_service").wait(EndpointName="broken", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    raise SystemExit("the waiter succeeded on a broken endpoint")
except botocore.exceptions.WaiterError as e:
    assert "terminal failure state" in str(e), e
d = sm.describe_endpoint(EndpointName="broken")
print("broken", d["EndpointStatus"], "|", d["FailureReason"][:40])

# Cross-account: the staging account deploys the data-science account's model package.
sm.create_model_package_group(ModelPackageGroupName="abalone")
pkg = sm.create_model_package(ModelPackageGroupName="abalone", ModelApprovalStatus="Approved", InferenceSpecification={
    "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://ds-models/abalone/model.tar.gz"}],
    "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
st_sm, st_rt = st["sagemaker"], st["sagemaker-runtime"]
st_role = role(st["iam"], "staging-serving", "arn:aws:s3:::ds-models")
expect_error(lambda: st_sm.create_model(ModelName="abalone", ExecutionRoleArn=st_role, PrimaryContainer={"ModelPackageName": pkg}), "AccessDeniedException", 400)
print("denied before the grant")
group_arn = sm.describe_model_package_group(ModelPackageGroupName="abalone")["ModelPackageGroupArn"]
sm.put_model_package_group_policy(ModelPackageGroupName="abalone", ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % st_account}, "Action": ["sagemaker:DescribeModelPackage"],
     "Resource": group_arn.replace(":model-package-group/", ":model-package/") + "/*"}]}))
# The package's group grants it, but the staging role may not read the artifact yet.
expect_error(lambda: st_sm.create_model(ModelName="abalone", ExecutionRoleArn=st_role, PrimaryContainer={"ModelPackageName": pkg}), "AccessDeniedException", 400, "may not read")
ds["s3"].put_bucket_policy(Bucket="ds-models", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": st_role}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ds-models/abalone/*"}]}))
# An explicit Deny on the deployer wins over the grant.
st["iam"].create_user(UserName="deployer")
st["iam"].put_user_policy(UserName="deployer", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": "sagemaker:DescribeModelPackage", "Resource": "*"}]}))
k = st["iam"].create_access_key(UserName="deployer")["AccessKey"]
deployer = clients(k["AccessKeyId"], k["SecretAccessKey"])["sagemaker"]
expect_error(lambda: deployer.create_model(ModelName="abalone", ExecutionRoleArn=st_role, PrimaryContainer={"ModelPackageName": pkg}), "AccessDeniedException", 400)
print("explicit deny wins")
st_sm.create_model(ModelName="abalone", ExecutionRoleArn=st_role, PrimaryContainer={"ModelPackageName": pkg})
d = st_sm.describe_model(ModelName="abalone")
assert d["PrimaryContainer"]["ModelDataUrl"] == "s3://ds-models/abalone/model.tar.gz" and d["PrimaryContainer"]["ModelPackageName"] == pkg, d
st_sm.create_endpoint_config(EndpointConfigName="abalone", ProductionVariants=[
    {"VariantName": "AllTraffic", "ModelName": "abalone", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
st_sm.create_endpoint(EndpointName="abalone-staging", EndpointConfigName="abalone")
st_sm.get_waiter("endpoint_in_service").wait(EndpointName="abalone-staging", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
r = st_rt.invoke_endpoint(EndpointName="abalone-staging", ContentType="text/csv", Body=csv.encode())
got = [float(x) for x in r["Body"].read().decode().split()]
assert max(abs(a - b) for a, b in zip(got, want)) <= 1e-5, (got, want)
# The data-science account's endpoint is not the staging account's.
expect_error(lambda: st_rt.invoke_endpoint(EndpointName="broken", ContentType="text/csv", Body=b"1,2,3,4"), "ValidationError", 400, "not found")
print("staging serves the package", r["ContentType"])

sm.delete_endpoint(EndpointName="broken")
sm.get_waiter("endpoint_deleted").wait(EndpointName="broken", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
print("endpoints", [e["EndpointName"] for e in sm.list_endpoints(SortBy="Name", SortOrder="Ascending")["Endpoints"]])
