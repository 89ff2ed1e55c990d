# Calls a Slipway awsapi test server with boto3 (Debian's /usr/bin/python3) and prints one JSON
# object with what came back, for boto3_test.go to check. Usage: boto3_calls.py ENDPOINT
import json, sys, datetime
import boto3, botocore.exceptions
from botocore.config import Config

endpoint = sys.argv[1]
session = boto3.Session(aws_access_key_id="AKIDEXAMPLE",
                        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                        region_name="us-east-1")
cfg = Config(retries={"max_attempts": 1})
def client(name):
    return session.client(name, endpoint_url=endpoint, config=cfg)

out = {}
def err(fn):
    try:
        fn()
        return None
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"].get("Message"),
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}

sm = client("sagemaker")
out["create"] = sm.create_model_package_group(ModelPackageGroupName="churn", ModelPackageGroupDescription="d",
                                              Tags=[{"Key": "team", "Value": "ds"}])["ModelPackageGroupArn"]
d = sm.describe_model_package_group(ModelPackageGroupName="churn")
out["describe"] = {"CreationTime": d["CreationTime"].astimezone(datetime.timezone.utc).isoformat(),
                   "CreatedBy": d["CreatedBy"]["UserProfileName"], "Status": d["ModelPackageGroupStatus"]}
l = sm.list_model_package_groups(MaxResults=10, CreationTimeAfter=datetime.datetime(2026, 3, 4, 5, 6, 7, 250000, tzinfo=datetime.timezone.utc))
out["list"] = [s["ModelPackageGroupName"] for s in l["ModelPackageGroupSummaryList"]]
out["sm_validation"] = err(lambda: sm.describe_model_package_group(ModelPackageGroupName="a b"))
out["sm_missing"] = err(lambda: sm.describe_model_package_group(ModelPackageGroupName="missing"))

iam = client("iam")
r = iam.create_role(RoleName="Deployer", AssumeRolePolicyDocument='{"Version":"2012-10-17"}',
                    Tags=[{"Key": "a", "Value": "1"}])["Role"]
out["role"] = {"Arn": r["Arn"], "CreateDate": r["CreateDate"].astimezone(datetime.timezone.utc).isoformat(),
               "Tags": r["Tags"], "MaxSessionDuration": r["MaxSessionDuration"]}
out["roles"] = [x["RoleName"] for x in iam.list_roles()["Roles"]]
out["iam_missing"] = err(lambda: iam.get_role(RoleName="nope"))

sts = client("sts")
out["identity"] = {k: v for k, v in sts.get_caller_identity().items() if k != "ResponseMetadata"}

rt = client("sagemaker-runtime")
resp = rt.invoke_endpoint(EndpointName="my-ep", ContentType="text/csv", Body=b"1,2,3")
out["invoke"] = {"Body": resp["Body"].read().decode(), "ContentType": resp["ContentType"]}

print(json.dumps(out, sort_keys=True))
