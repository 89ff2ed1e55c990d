#!/usr/bin/python3
"""story_boto3.py: the whole multi-account deployment story through boto3.

Run with Debian's /usr/bin/python3 (boto3 1.26) against a freshly started server whose
organization has a staging OU (accounts staging, staging-2) and a production OU (production):

    SLIPWAY_ENDPOINT=http://127.0.0.1:PORT AWS_SHARED_CREDENTIALS_FILE=DATA_DIR/credentials \
    AWS_CONFIG_FILE=/dev/null ABALONE=abalone.csv /usr/bin/python3 story_boto3.py

The platform team (the data-science admin) makes a data scientist (a user denied
codepipeline:PutApprovalResult), a deployment operator (a role) and a project from the built-in
template multi-account-deployment. The data scientist uploads the data, runs the model-build
pipeline and approves the version it registered; the approval starts the deploy pipeline,
which deploys to both staging accounts and waits for a manual approval. The data scientist's
approval is refused; the operator's is accepted; production is deployed and answers an
invocation through sagemaker-runtime. Every step is a check; the last line printed is
"N passed, N failed" and the exit status is 1 when anything failed (the story stops at the
first failure: each step needs the one before).
"""

import json
import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["SLIPWAY_ENDPOINT"]
REGION = "us-east-1"
CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})
PROJECT = "abalone"
passed = 0


def client(session, service):
    return session.client(service, endpoint_url=ENDPOINT, region_name=REGION, config=CONFIG)


def keys_session(key_id, secret, token=None):
    return boto3.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=token)


def check(what, ok, detail=""):
    global passed
    if not ok:
        print("FAIL %s %s" % (what, detail))
        print("%d passed, 1 failed" % passed)
        sys.exit(1)
    passed += 1
    print("ok   %s %s" % (what, detail))


def wait(what, probe, timeout=180, every=0.1):
    """Calls probe until it returns something true; fails the story after timeout seconds."""
    deadline = time.time() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.time() > deadline:
            check(what, False, "timed out after %d s" % timeout)
        time.sleep(every)


def main():
    admin = boto3.Session(profile_name="data-science")
    ds_account = client(admin, "sts").get_caller_identity()["Account"]
    orgs = client(admin, "organizations")
    root = orgs.list_roots()["Roots"][0]["Id"]
    ous = {ou["Name"]: ou["Id"] for ou in orgs.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]}
    check("the organization has staging and production OUs", "staging" in ous and "production" in ous, json.dumps(ous))
    staging = [a["Name"] for a in orgs.list_accounts_for_parent(ParentId=ous["staging"])["Accounts"]]
    check("the staging OU holds two accounts", sorted(staging) == ["staging", "staging-2"], str(staging))

    # The people.
    iam = client(admin, "iam")
    iam.create_user(UserName="data-scientist")
    iam.put_user_policy(UserName="data-scientist", PolicyName="data-scientist", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["sagemaker:*", "s3:*", "codepipeline:Get*", "codepipeline:List*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "codepipeline:PutApprovalResult", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="data-scientist")["AccessKey"]
    scientist = keys_session(key["AccessKeyId"], key["SecretAccessKey"])
    iam.create_role(RoleName="deployment-operator", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % ds_account}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName="deployment-operator", PolicyName="approve", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["codepipeline:PutApprovalResult", "codepipeline:Get*", "codepipeline:List*"], "Resource": "*"}]}))
    creds = client(admin, "sts").assume_role(RoleArn="arn:aws:iam::%s:role/deployment-operator" % ds_account, RoleSessionName="operator")["Credentials"]
    operator = keys_session(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    check("the data scientist and the deployment operator exist", True)

    # The project.
    sm_admin = client(admin, "sagemaker")
    project = sm_admin.create_project(ProjectName=PROJECT, ServiceCatalogProvisioningDetails={
        "ProductId": "multi-account-deployment",
        "ProvisioningParameters": [
            {"Key": "StagingOrganizationalUnitIds", "Value": ous["staging"]},
            {"Key": "ProductionOrganizationalUnitIds", "Value": ous["production"]}]})

    def project_done():
        p = sm_admin.describe_project(ProjectName=PROJECT)
        if p["ProjectStatus"] == "CreateFailed":
            check("create-project", False, json.dumps(p.get("ServiceCatalogProvisionedProductDetails", {})))
        return p["ProjectStatus"] == "CreateCompleted"

    wait("the project is created", project_done)
    check("create-project from multi-account-deployment", True, project["ProjectArn"])
    bucket = "sagemaker-project-" + project["ProjectId"]
    build_pipe, deploy_pipe = PROJECT + "-model-build", "sagemaker-" + PROJECT + "-deploy"

    # The data scientist builds and approves a model.
    s3 = client(scientist, "s3")
    with open(os.environ["ABALONE"], "rb") as f:
        s3.put_object(Bucket=bucket, Key="data/abalone.csv", Body=f.read())
    sm = client(scientist, "sagemaker")
    arn = sm.start_pipeline_execution(PipelineName=build_pipe, ClientRequestToken="story-boto3-" + "0" * 24)["PipelineExecutionArn"]

    def build_done():
        x = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        if x["PipelineExecutionStatus"] in ("Failed", "Stopped"):
            check("the model-build pipeline", False, x.get("FailureReason", x["PipelineExecutionStatus"]))
        return x["PipelineExecutionStatus"] == "Succeeded"

    wait("the model-build pipeline succeeds", build_done)
    versions = sm.list_model_packages(ModelPackageGroupName=PROJECT, SortBy="CreationTime", SortOrder="Descending")["ModelPackageSummaryList"]
    check("the pipeline registered a version PendingManualApproval", len(versions) == 1 and versions[0]["ModelApprovalStatus"] == "PendingManualApproval",
          versions[0]["ModelPackageArn"] if versions else "")
    version = versions[0]["ModelPackageArn"]
    cp = client(scientist, "codepipeline")
    before = {x["pipelineExecutionId"] for x in cp.list_pipeline_executions(pipelineName=deploy_pipe)["pipelineExecutionSummaries"]}
    sm.update_model_package(ModelPackageArn=version, ModelApprovalStatus="Approved", ApprovalDescription="mse under the threshold")

    def new_execution():
        for x in cp.list_pipeline_executions(pipelineName=deploy_pipe)["pipelineExecutionSummaries"]:
            if x["pipelineExecutionId"] not in before:
                return x["pipelineExecutionId"]
        return None

    execution = wait("the approval starts the deploy pipeline", new_execution, timeout=60)
    check("the approval started the deploy pipeline", True, execution)

    def status():
        st = cp.get_pipeline_execution(pipelineName=deploy_pipe, pipelineExecutionId=execution)["pipelineExecution"]["status"]
        if st in ("Failed", "Stopped", "Superseded"):
            check("the deploy pipeline's execution", False, st)
        return st

    def pending_approval():
        status()
        for stage in cp.get_pipeline_state(name=deploy_pipe)["stageStates"]:
            if stage["stageName"] != "ApproveDeployment" or stage.get("latestExecution", {}).get("pipelineExecutionId") != execution:
                continue
            for action in stage["actionStates"]:
                latest = action.get("latestExecution", {})
                if latest.get("status") == "InProgress" and latest.get("token"):
                    return latest["token"]
        return None

    token = wait("the deploy pipeline reaches the manual approval", pending_approval)
    check("staging deployed and tested; the approval waits", True)
    for name in ("staging", "staging-2"):
        ep = client(boto3.Session(profile_name=name), "sagemaker").describe_endpoint(EndpointName=PROJECT + "-staging")
        check("the staging endpoint is InService in " + name, ep["EndpointStatus"] == "InService", ep["EndpointStatus"])

    # Separation of duties: the operator approves production, the data scientist may not.
    result = {"summary": "staging passes; promote", "status": "Approved"}
    try:
        cp.put_approval_result(pipelineName=deploy_pipe, stageName="ApproveDeployment", actionName="ApproveDeployment", result=result, token=token)
        check("the data scientist's approval is refused", False, "it was accepted")
    except ClientError as e:
        check("the data scientist's approval is refused", e.response["Error"]["Code"] == "AccessDeniedException", e.response["Error"]["Code"])
    client(operator, "codepipeline").put_approval_result(pipelineName=deploy_pipe, stageName="ApproveDeployment", actionName="ApproveDeployment",
                                                         result=result, token=token)
    check("the operator approves production", True)
    wait("the deploy pipeline's execution succeeds", lambda: status() == "Succeeded")
    check("the deploy pipeline's execution Succeeded", True, execution)

    # Production answers.
    production = boto3.Session(profile_name="production")
    ep = client(production, "sagemaker").describe_endpoint(EndpointName=PROJECT + "-prod")
    check("the production endpoint is InService", ep["EndpointStatus"] == "InService", ep["EndpointStatus"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="model-build/").get("Contents", []) if o["Key"].endswith("test.csv")]
    check("the model-build pipeline wrote a test split", len(keys) > 0)
    row = s3.get_object(Bucket=bucket, Key=sorted(keys)[0])["Body"].read().decode().splitlines()[0]
    label, features = row.split(",", 1)
    out = client(production, "sagemaker-runtime").invoke_endpoint(EndpointName=PROJECT + "-prod", ContentType="text/csv", Accept="text/csv",
                                                                  Body=features.encode())
    prediction = out["Body"].read().decode().strip()
    try:
        float(prediction.split(",")[0])
        ok = True
    except ValueError:
        ok = False
    check("production predicts", ok, "%s rings (the abalone had %s)" % (prediction, label))
    print("%d passed, 0 failed" % passed)


if __name__ == "__main__":
    try:
        main()
    except ClientError as e:
        print("ERROR %s" % e)
        print("%d passed, 1 failed" % passed)
        sys.exit(1)
