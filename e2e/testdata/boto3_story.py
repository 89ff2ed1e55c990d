#!/usr/bin/python3
"""boto3_story.py: Slipway's registry, cross-account, SCP, STS, IAM and SigV4 story through boto3.

Run with Debian's /usr/bin/python3 (boto3 1.26) against a freshly started server:

    SLIPWAY_ENDPOINT=http://127.0.0.1:PORT AWS_SHARED_CREDENTIALS_FILE=DATA_DIR/credentials \
    AWS_CONFIG_FILE=/dev/null /usr/bin/python3 boto3_story.py

Credentials come from the credentials file through boto3.Session(profile_name=...), one profile per
account (data-science, staging, production). The last line printed is "N passed, N failed"; the
exit status is 1 when anything failed. Tests are independent of each other's order: each works on
resources of its own.
"""

import datetime
import json
import os
import re
import sys
import time
import unittest
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.auth import SigV4Auth, SIGV4_TIMESTAMP
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ENDPOINT = os.environ["SLIPWAY_ENDPOINT"]
REGION = "us-east-1"
# One attempt: a retried error would hide what the server answered first.
CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})
PROFILES = ("data-science", "staging", "production")

SPEC = {
    "Containers": [
        {
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "ModelDataUrl": "s3://sagemaker-us-east-1-abalone/model/abalone-xgboost/model.tar.gz",
        }
    ],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}
METRICS = {
    "ModelQuality": {
        "Statistics": {
            "ContentType": "application/json",
            "S3Uri": "s3://sagemaker-us-east-1-abalone/evaluation/evaluation.json",
        }
    }
}

# Filled once by setUpModule: profile -> {"Account", "Arn", "UserId"}.
WHO = {}
# Successful API calls made, for the audit check at the end ("every call is audited").
SUCCEEDED = [0]


def count_success(http_response=None, **kwargs):
    if http_response is not None and 200 <= http_response.status_code < 300:
        SUCCEEDED[0] += 1


def counted(s):
    s.events.register("after-call", count_success)
    return s


def session(profile):
    return counted(boto3.Session(profile_name=profile, region_name=REGION))


def client(profile, service):
    return session(profile).client(service, endpoint_url=ENDPOINT, config=CONFIG)


def client_from(creds, service):
    """A client built from explicit (possibly temporary) credentials."""
    return counted(boto3.Session()).client(
        service,
        region_name=REGION,
        endpoint_url=ENDPOINT,
        config=CONFIG,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
    )


def acct(profile):
    return WHO[profile]["Account"]


def group_arn(account, name):
    return "arn:aws:sagemaker:%s:%s:model-package-group/%s" % (REGION, account, name)


def package_arn(account, name, version):
    return "arn:aws:sagemaker:%s:%s:model-package/%s/%d" % (REGION, account, name, version)


def role_arn(account, name):
    return "arn:aws:iam::%s:role/%s" % (account, name)


def unique(prefix):
    return "%s-%d" % (prefix, time.time_ns() % 10**9)


def setUpModule():
    for p in PROFILES:
        WHO[p] = client(p, "sts").get_caller_identity()


class SkewedSigV4Auth(SigV4Auth):
    """SigV4Auth signing as if the clock were off by skew (botocore 1.29's add_auth, another time)."""

    def __init__(self, credentials, service, region, skew):
        super().__init__(credentials, service, region)
        self.skew = skew

    def add_auth(self, request):
        when = datetime.datetime.utcnow() + self.skew
        request.context["timestamp"] = when.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


def raw_sagemaker(profile, operation, body, skew=None, tamper=None):
    """Sends one signed SageMaker JSON request by hand; returns (status, parsed JSON body)."""
    frozen = session(profile).get_credentials().get_frozen_credentials()
    creds = Credentials(frozen.access_key, frozen.secret_key, frozen.token)
    data = json.dumps(body).encode()
    req = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=data,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker." + operation},
    )
    if skew is None:
        SigV4Auth(creds, "sagemaker", REGION).add_auth(req)
    else:
        SkewedSigV4Auth(creds, "sagemaker", REGION, skew).add_auth(req)
    prepared = req.prepare()
    payload = tamper(prepared.body) if tamper else prepared.body
    hreq = urllib.request.Request(prepared.url, data=payload, method="POST", headers=dict(prepared.headers.items()))
    try:
        with urllib.request.urlopen(hreq, timeout=30) as resp:
            SUCCEEDED[0] += 1
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, {"__raw": text.decode(errors="replace")}


def error_type(body):
    return body.get("__type", body.get("code", "")).split("#")[-1]


class StoryCase(unittest.TestCase):
    maxDiff = None

    def assertCode(self, code, fn, *args, **kwargs):
        """fn(*args, **kwargs) must raise a ClientError with the given error code."""
        try:
            out = fn(*args, **kwargs)
        except ClientError as e:
            got = e.response["Error"]["Code"]
            self.assertEqual(got, code, "%s: error %s (%s), want %s" % (fn.__name__, got, e.response["Error"].get("Message"), code))
            return e
        if isinstance(out, dict):
            out = {k: v for k, v in out.items() if k != "ResponseMetadata"}
        self.fail("%s succeeded, want error %s; it answered %.300s" % (fn.__name__, code, out))

    def new_group(self, profile, name, versions=0):
        sm = client(profile, "sagemaker")
        sm.create_model_package_group(ModelPackageGroupName=name, ModelPackageGroupDescription="e2e " + name)
        arns = []
        for _ in range(versions):
            arns.append(
                sm.create_model_package(
                    ModelPackageGroupName=name, InferenceSpecification=SPEC, ModelMetrics=METRICS
                )["ModelPackageArn"]
            )
        return arns


class Identity(StoryCase):
    def test_each_profile_is_the_admin_of_its_own_account(self):
        accounts = set()
        for p in PROFILES:
            who = WHO[p]
            self.assertRegex(who["Account"], r"^\d{12}$", p)
            self.assertRegex(who["Arn"], r"^arn:aws:iam::%s:user/.+" % who["Account"], p)
            self.assertRegex(who["UserId"], r"^AIDA[A-Z0-9]{12,}$", p)
            accounts.add(who["Account"])
        self.assertEqual(len(accounts), 3, "the three profiles must be three accounts: %s" % WHO)

    def test_credentials_file_has_one_profile_per_account(self):
        import configparser

        cp = configparser.ConfigParser()
        cp.read(os.environ["AWS_SHARED_CREDENTIALS_FILE"])
        self.assertEqual(sorted(cp.sections()), sorted(PROFILES))
        for p in PROFILES:
            self.assertRegex(cp[p]["aws_access_key_id"], r"^AKIA[A-Z0-9]{16}$", p)
            self.assertGreaterEqual(len(cp[p]["aws_secret_access_key"]), 40, p)


class Registry(StoryCase):
    @classmethod
    def setUpClass(cls):
        cls.sm = client("data-science", "sagemaker")
        cls.sm.create_model_package_group(ModelPackageGroupName="abalone", ModelPackageGroupDescription="abalone rings")
        cls.arns = [
            cls.sm.create_model_package(
                ModelPackageGroupName="abalone",
                ModelPackageDescription="run %d" % v,
                InferenceSpecification=SPEC,
                ModelMetrics=METRICS,
            )["ModelPackageArn"]
            for v in (1, 2, 3)
        ]

    def test_versions_are_numbered_from_one(self):
        ds = acct("data-science")
        self.assertEqual(self.arns, [package_arn(ds, "abalone", v) for v in (1, 2, 3)])
        got = self.sm.list_model_packages(ModelPackageGroupName="abalone")["ModelPackageSummaryList"]
        self.assertEqual(sorted(p["ModelPackageVersion"] for p in got), [1, 2, 3])
        for p in got:
            self.assertEqual(p["ModelPackageGroupName"], "abalone")
            self.assertEqual(p["ModelPackageStatus"], "Completed")
            self.assertIsInstance(p["CreationTime"], datetime.datetime)

    def test_describe_returns_what_was_registered(self):
        d = self.sm.describe_model_package(ModelPackageName=self.arns[0])
        self.assertEqual(d["ModelPackageVersion"], 1)
        self.assertEqual(d["ModelPackageDescription"], "run 1")
        self.assertEqual(d["ModelApprovalStatus"], "PendingManualApproval")
        c = d["InferenceSpecification"]["Containers"][0]
        self.assertEqual((c["Image"], c["ModelDataUrl"]), (SPEC["Containers"][0]["Image"], SPEC["Containers"][0]["ModelDataUrl"]))
        self.assertEqual(d["InferenceSpecification"]["SupportedContentTypes"], ["text/csv"])
        self.assertEqual(d["InferenceSpecification"]["SupportedResponseMIMETypes"], ["text/csv"])
        self.assertEqual(d["ModelMetrics"], METRICS)

    def test_approve_records_who_and_why(self):
        out = self.sm.update_model_package(
            ModelPackageArn=self.arns[2], ModelApprovalStatus="Approved", ApprovalDescription="mse 4.1 <= 6.0"
        )
        self.assertEqual(out["ModelPackageArn"], self.arns[2])
        d = self.sm.describe_model_package(ModelPackageName=self.arns[2])
        self.assertEqual(d["ModelApprovalStatus"], "Approved")
        self.assertEqual(d["ApprovalDescription"], "mse 4.1 <= 6.0")
        self.assertIn("LastModifiedBy", d)
        self.assertGreaterEqual(d["LastModifiedTime"], d["CreationTime"])
        # boto3 1.26's model predates UserContext.IamIdentity; read the wire document for it.
        status, raw = raw_sagemaker("data-science", "DescribeModelPackage", {"ModelPackageName": self.arns[2]})
        self.assertEqual(status, 200, raw)
        self.assertEqual(raw.get("LastModifiedBy", {}).get("IamIdentity", {}).get("Arn"), WHO["data-science"]["Arn"], raw.get("LastModifiedBy"))
        # only the approved one is listed under the Approved filter
        got = self.sm.list_model_packages(ModelPackageGroupName="abalone", ModelApprovalStatus="Approved")
        self.assertEqual([p["ModelPackageArn"] for p in got["ModelPackageSummaryList"]], [self.arns[2]])

    def test_describe_group(self):
        g = self.sm.describe_model_package_group(ModelPackageGroupName="abalone")
        self.assertEqual(g["ModelPackageGroupArn"], group_arn(acct("data-science"), "abalone"))
        self.assertEqual(g["ModelPackageGroupStatus"], "Completed")
        self.assertEqual(g["ModelPackageGroupDescription"], "abalone rings")
        names = [s["ModelPackageGroupName"] for s in self.sm.list_model_package_groups()["ModelPackageGroupSummaryList"]]
        self.assertIn("abalone", names)

    def test_bad_input_is_a_validation_exception(self):
        sm = self.sm
        self.assertCode("ValidationException", sm.create_model_package_group, ModelPackageGroupName="bad name!")
        self.assertCode(
            "ValidationException", sm.update_model_package, ModelPackageArn=self.arns[1], ModelApprovalStatus="Maybe"
        )
        self.assertCode(
            "ValidationException", sm.describe_model_package, ModelPackageName=package_arn(acct("data-science"), "abalone", 99)
        )
        self.assertCode("ValidationException", sm.list_model_packages, ModelPackageGroupName="abalone", MaxResults=101)
        # nothing was created by the refused calls
        names = [s["ModelPackageGroupName"] for s in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]]
        self.assertNotIn("bad name!", names)
        self.assertEqual(sm.describe_model_package(ModelPackageName=self.arns[1])["ModelApprovalStatus"], "PendingManualApproval")


class CrossAccount(StoryCase):
    def test_group_policy_grants_staging_read_only(self):
        ds, staging = acct("data-science"), acct("staging")
        name = unique("shared")
        arns = self.new_group("data-science", name, versions=2)
        st = client("staging", "sagemaker")
        prod = client("production", "sagemaker")

        self.assertCode("AccessDeniedException", st.describe_model_package, ModelPackageName=arns[0])
        self.assertCode("AccessDeniedException", st.list_model_packages, ModelPackageGroupName=group_arn(ds, name))

        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    # ListModelPackages is granted on the group too: AWS's documented example grants
                    # it on model-package/GROUP/* only, and Slipway authorizes it on the group ARN.
                    "Sid": "StagingReadsTheGroup",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::%s:root" % staging},
                    "Action": ["sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages"],
                    "Resource": group_arn(ds, name),
                },
                {
                    "Sid": "StagingReadsTheVersions",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::%s:root" % staging},
                    "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                    "Resource": "arn:aws:sagemaker:%s:%s:model-package/%s/*" % (REGION, ds, name),
                },
            ],
        }
        sm = client("data-science", "sagemaker")
        sm.put_model_package_group_policy(ModelPackageGroupName=name, ResourcePolicy=json.dumps(policy))
        got = json.loads(sm.get_model_package_group_policy(ModelPackageGroupName=name)["ResourcePolicy"])
        self.assertEqual(got, policy)

        self.assertEqual(st.describe_model_package(ModelPackageName=arns[1])["ModelPackageArn"], arns[1])
        self.assertEqual(st.describe_model_package_group(ModelPackageGroupName=group_arn(ds, name))["ModelPackageGroupName"], name)
        listed = st.list_model_packages(ModelPackageGroupName=group_arn(ds, name))["ModelPackageSummaryList"]
        self.assertEqual(sorted(p["ModelPackageArn"] for p in listed), sorted(arns))
        # read, not write
        self.assertCode(
            "AccessDeniedException", st.update_model_package, ModelPackageArn=arns[0], ModelApprovalStatus="Approved"
        )
        self.assertEqual(sm.describe_model_package(ModelPackageName=arns[0])["ModelApprovalStatus"], "PendingManualApproval")
        # production is not in the policy
        self.assertCode("AccessDeniedException", prod.describe_model_package, ModelPackageName=arns[0])

        sm.delete_model_package_group_policy(ModelPackageGroupName=name)
        self.assertCode("AccessDeniedException", st.describe_model_package, ModelPackageName=arns[0])


class Organizations(StoryCase):
    def orgs(self, profile="data-science"):
        return client(profile, "organizations")

    def ou_ids(self):
        o = self.orgs()
        root = o.list_roots()["Roots"][0]["Id"]
        ous = o.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
        return root, {u["Name"]: u["Id"] for u in ous}

    def test_structure(self):
        o = self.orgs()
        org = o.describe_organization()["Organization"]
        self.assertEqual(org["MasterAccountId"], acct("data-science"))
        self.assertRegex(org["Id"], r"^o-[a-z0-9]{10,32}$")
        accounts = {a["Name"]: a["Id"] for a in o.list_accounts()["Accounts"]}
        self.assertEqual(accounts, {p: acct(p) for p in PROFILES})
        root, ous = self.ou_ids()
        self.assertRegex(root, r"^r-[0-9a-z]{4,32}$")
        self.assertEqual(sorted(ous), ["production", "staging"])
        for p in ("staging", "production"):
            parents = o.list_parents(ChildId=acct(p))["Parents"]
            self.assertEqual(parents, [{"Id": ous[p], "Type": "ORGANIZATIONAL_UNIT"}])
            self.assertEqual(o.describe_account(AccountId=acct(p))["Account"]["Name"], p)
        e = self.assertCode("AccountNotFoundException", o.describe_account, AccountId="000000000000")
        self.assertIsInstance(e, o.exceptions.AccountNotFoundException)

    def test_members_see_but_cannot_manage_the_organization(self):
        st = self.orgs("staging")
        self.assertEqual(st.describe_organization()["Organization"]["MasterAccountId"], acct("data-science"))
        self.assertCode("AccessDeniedException", st.list_accounts)
        self.assertCode(
            "AccessDeniedException", st.create_policy, Name="x", Description="x", Type="SERVICE_CONTROL_POLICY",
            Content='{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}',
        )

    def test_scp_bounds_production_only(self):
        o = self.orgs()
        root, ous = self.ou_ids()
        roots = o.list_roots()["Roots"]
        if {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"} not in roots[0].get("PolicyTypes", []):
            o.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
        name = unique("own")
        prod_arn = self.new_group("production", name, versions=1)[0]
        stag_arn = self.new_group("staging", name, versions=1)[0]
        scp = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "sagemaker:UpdateModelPackage", "Resource": "*"}],
        }
        pol = o.create_policy(
            Name=unique("deny-updates"), Description="no model updates in production",
            Type="SERVICE_CONTROL_POLICY", Content=json.dumps(scp),
        )["Policy"]["PolicySummary"]
        self.assertRegex(pol["Id"], r"^p-[0-9a-zA-Z_]{8,128}$")
        o.attach_policy(PolicyId=pol["Id"], TargetId=ous["production"])
        prod = client("production", "sagemaker")
        try:
            targets = o.list_targets_for_policy(PolicyId=pol["Id"])["Targets"]
            self.assertEqual([t["TargetId"] for t in targets], [ous["production"]])
            self.assertCode("AccessDeniedException", prod.update_model_package, ModelPackageArn=prod_arn, ModelApprovalStatus="Approved")
            # the SCP denies one action; everything else is still allowed
            self.assertEqual(prod.describe_model_package(ModelPackageName=prod_arn)["ModelApprovalStatus"], "PendingManualApproval")
            client("staging", "sagemaker").update_model_package(ModelPackageArn=stag_arn, ModelApprovalStatus="Approved")
        finally:
            o.detach_policy(PolicyId=pol["Id"], TargetId=ous["production"])
        prod.update_model_package(ModelPackageArn=prod_arn, ModelApprovalStatus="Approved")


class STS(StoryCase):
    def assume(self, profile, account, role, session_name="e2e-boto3", **kw):
        return client(profile, "sts").assume_role(
            RoleArn=role_arn(account, role), RoleSessionName=session_name, **kw
        )

    def test_management_assumes_the_member_role(self):
        staging = acct("staging")
        role = client("staging", "iam").get_role(RoleName="OrganizationAccountAccessRole")["Role"]
        self.assertEqual(role["Arn"], role_arn(staging, "OrganizationAccountAccessRole"))
        principals = []
        for st in role["AssumeRolePolicyDocument"]["Statement"]:
            p = st.get("Principal", {}).get("AWS", [])
            principals += p if isinstance(p, list) else [p]
        self.assertIn("arn:aws:iam::%s:root" % acct("data-science"), principals)
        out = self.assume("data-science", staging, "OrganizationAccountAccessRole")
        creds = out["Credentials"]
        self.assertRegex(creds["AccessKeyId"], r"^ASIA[A-Z0-9]{12,}$")
        self.assertGreater(creds["Expiration"], datetime.datetime.now(datetime.timezone.utc))
        want = "arn:aws:sts::%s:assumed-role/OrganizationAccountAccessRole/e2e-boto3" % staging
        self.assertEqual(out["AssumedRoleUser"]["Arn"], want)
        who = client_from(creds, "sts").get_caller_identity()
        self.assertEqual((who["Account"], who["Arn"]), (staging, want))
        # the role acts in staging: what it creates, staging's admin sees
        name = unique("via-role")
        client_from(creds, "sagemaker").create_model_package_group(ModelPackageGroupName=name)
        g = client("staging", "sagemaker").describe_model_package_group(ModelPackageGroupName=name)
        self.assertEqual(g["ModelPackageGroupArn"], group_arn(staging, name))

    def test_untrusted_assume_role_is_denied(self):
        self.assertCode("AccessDenied", self.assume, "staging", acct("production"), "OrganizationAccountAccessRole")
        self.assertCode("AccessDenied", self.assume, "production", acct("staging"), "OrganizationAccountAccessRole")

    def test_duration_longer_than_the_role_allows(self):
        self.assertCode(
            "ValidationError", self.assume, "data-science", acct("staging"), "OrganizationAccountAccessRole",
            DurationSeconds=7200,
        )

    def test_external_id_condition_in_the_trust_policy(self):
        ds, staging = acct("data-science"), acct("staging")
        name = unique("vendor")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::%s:root" % staging},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "abalone-7f3c"}},
                }
            ],
        }
        client("data-science", "iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        self.assertCode("AccessDenied", self.assume, "staging", ds, name)
        self.assertCode("AccessDenied", self.assume, "staging", ds, name, ExternalId="wrong-id")
        out = self.assume("staging", ds, name, ExternalId="abalone-7f3c")
        self.assertEqual(out["AssumedRoleUser"]["Arn"], "arn:aws:sts::%s:assumed-role/%s/e2e-boto3" % (ds, name))

    def test_session_policy_narrows_the_session(self):
        staging = acct("staging")
        narrow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:List*", "Resource": "*"}]}
        creds = self.assume("data-science", staging, "OrganizationAccountAccessRole", Policy=json.dumps(narrow))["Credentials"]
        sm = client_from(creds, "sagemaker")
        sm.list_model_package_groups()
        name = unique("narrow")
        self.assertCode("AccessDeniedException", sm.create_model_package_group, ModelPackageGroupName=name)
        self.assertCode("ValidationException", client("staging", "sagemaker").describe_model_package_group, ModelPackageGroupName=name)

    def test_forged_session_token(self):
        creds = dict(self.assume("data-science", acct("staging"), "OrganizationAccountAccessRole")["Credentials"])
        creds["SessionToken"] = creds["SessionToken"][:-8] + "AAAAAAAA"
        self.assertCode("InvalidClientTokenId", client_from(creds, "sts").get_caller_identity)
        del creds["SessionToken"]
        self.assertCode("InvalidClientTokenId", client_from(creds, "sts").get_caller_identity)


class IAM(StoryCase):
    def test_role_lifecycle(self):
        iam = client("data-science", "iam")
        name = unique("deployer")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % acct("staging")}, "Action": "sts:AssumeRole"}
            ],
        }
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description="e2e")["Role"]
        self.assertEqual(role["Arn"], role_arn(acct("data-science"), name))
        self.assertRegex(role["RoleId"], r"^AROA[A-Z0-9]{12,}$")
        e = self.assertCode("EntityAlreadyExists", iam.create_role, RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        self.assertIsInstance(e, iam.exceptions.EntityAlreadyExistsException)

        got = iam.get_role(RoleName=name)["Role"]
        self.assertEqual(got["AssumeRolePolicyDocument"], trust)
        self.assertEqual(got["Description"], "e2e")
        perm = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sagemaker:DescribeModelPackage", "Resource": "*"}],
        }
        iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(perm))
        self.assertEqual(iam.get_role_policy(RoleName=name, PolicyName="read")["PolicyDocument"], perm)
        self.assertEqual(iam.list_role_policies(RoleName=name)["PolicyNames"], ["read"])
        self.assertIn(name, [r["RoleName"] for r in iam.list_roles()["Roles"]])

        # staging (trusted) can assume it; production cannot
        out = client("staging", "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="e2e-s")
        self.assertEqual(out["AssumedRoleUser"]["Arn"], "arn:aws:sts::%s:assumed-role/%s/e2e-s" % (acct("data-science"), name))
        self.assertCode("AccessDenied", client("production", "sts").assume_role, RoleArn=role["Arn"], RoleSessionName="e2e-s")

        self.assertCode("DeleteConflict", iam.delete_role, RoleName=name)
        iam.delete_role_policy(RoleName=name, PolicyName="read")
        iam.delete_role(RoleName=name)
        e = self.assertCode("NoSuchEntity", iam.get_role, RoleName=name)
        self.assertIsInstance(e, iam.exceptions.NoSuchEntityException)

    def test_malformed_policies_are_refused(self):
        iam = client("data-science", "iam")
        name = unique("strict")
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            ),
        )
        bad = {
            "not JSON": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow"',
            "no Effect": '{"Version":"2012-10-17","Statement":[{"Action":"s3:GetObject","Resource":"*"}]}',
            "Effect Maybe": '{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:GetObject","Resource":"*"}]}',
            "no Resource": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}',
            "unknown Version": '{"Version":"2013-01-01","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}',
            "action without service": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}',
        }
        for why, doc in bad.items():
            with self.subTest(why):
                e = self.assertCode("MalformedPolicyDocument", iam.put_role_policy, RoleName=name, PolicyName="p", PolicyDocument=doc)
                self.assertIsInstance(e, iam.exceptions.MalformedPolicyDocumentException)
        self.assertEqual(iam.list_role_policies(RoleName=name)["PolicyNames"], [])
        # a trust policy names a principal and no resource
        self.assertCode(
            "MalformedPolicyDocument", iam.create_role, RoleName=unique("bad-trust"),
            AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Resource":"*"}]}',
        )

    def test_a_new_user_can_do_only_what_its_policies_allow(self):
        iam = client("data-science", "iam")
        user = unique("analyst")
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        self.assertRegex(key["AccessKeyId"], r"^AKIA[A-Z0-9]{16}$")
        creds = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
        who = client_from(creds, "sts").get_caller_identity()
        self.assertEqual(who["Arn"], "arn:aws:iam::%s:user/%s" % (acct("data-science"), user))
        sm = client_from(creds, "sagemaker")
        self.assertCode("AccessDeniedException", sm.list_model_package_groups)
        iam.put_user_policy(
            UserName=user, PolicyName="list",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:List*", "Resource": "*"}]}),
        )
        sm.list_model_package_groups()
        self.assertCode("AccessDeniedException", sm.create_model_package_group, ModelPackageGroupName=unique("nope"))
        # an explicit deny beats the allow
        iam.put_user_policy(
            UserName=user, PolicyName="deny",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sagemaker:ListModelPackageGroups", "Resource": "*"}]}),
        )
        self.assertCode("AccessDeniedException", sm.list_model_package_groups)
        # a deleted key stops working
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        self.assertCode("InvalidClientTokenId", client_from(creds, "sts").get_caller_identity)


    def test_resource_tag_conditions(self):
        iam = client("data-science", "iam")
        sm = client("data-science", "sagemaker")
        tagged, plain = unique("tagged"), unique("plain")
        sm.create_model_package_group(ModelPackageGroupName=tagged, Tags=[{"Key": "stage", "Value": "frozen"}])
        sm.create_model_package_group(ModelPackageGroupName=plain)
        user = unique("reader")
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        iam.put_user_policy(
            UserName=user, PolicyName="read-unfrozen",
            PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sagemaker:DescribeModelPackageGroup", "Resource": "*"},
                    {
                        "Effect": "Deny", "Action": "sagemaker:DescribeModelPackageGroup", "Resource": "*",
                        "Condition": {"StringEquals": {"aws:ResourceTag/stage": "frozen"}},
                    },
                ],
            }),
        )
        reader = client_from({"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}, "sagemaker")
        self.assertEqual(reader.describe_model_package_group(ModelPackageGroupName=plain)["ModelPackageGroupName"], plain)
        self.assertCode("AccessDeniedException", reader.describe_model_package_group, ModelPackageGroupName=tagged)


class Pagination(StoryCase):
    N = 250

    @classmethod
    def setUpClass(cls):
        cls.sm = client("data-science", "sagemaker")
        cls.sm.create_model_package_group(ModelPackageGroupName="paged")
        start = time.time()
        for i in range(cls.N):
            cls.sm.create_model_package(ModelPackageGroupName="paged", ModelPackageDescription="v%d" % (i + 1))
        print("created %d versions in %.1f s" % (cls.N, time.time() - start), flush=True)

    def versions(self, pages):
        return [p["ModelPackageVersion"] for page in pages for p in page["ModelPackageSummaryList"]]

    def test_paginator_page_size(self):
        pages = list(
            self.sm.get_paginator("list_model_packages").paginate(
                ModelPackageGroupName="paged", PaginationConfig={"PageSize": 100}
            )
        )
        self.assertEqual([len(p["ModelPackageSummaryList"]) for p in pages], [100, 100, 50])
        self.assertEqual(sorted(self.versions(pages)), list(range(1, self.N + 1)))
        self.assertNotIn("NextToken", pages[-1])

    def test_paginator_max_items_and_resume(self):
        pg = self.sm.get_paginator("list_model_packages")
        first = pg.paginate(ModelPackageGroupName="paged", PaginationConfig={"PageSize": 50, "MaxItems": 120}).build_full_result()
        self.assertEqual(len(first["ModelPackageSummaryList"]), 120)
        self.assertIn("NextToken", first)
        rest = pg.paginate(
            ModelPackageGroupName="paged", PaginationConfig={"PageSize": 50, "StartingToken": first["NextToken"]}
        ).build_full_result()
        got = self.versions([first, rest])
        self.assertEqual(len(got), self.N)
        self.assertEqual(sorted(got), list(range(1, self.N + 1)))

    def test_sort_order(self):
        pg = self.sm.get_paginator("list_model_packages")
        for order, want in (("Ascending", list(range(1, self.N + 1))), ("Descending", list(range(self.N, 0, -1)))):
            with self.subTest(order):
                pages = pg.paginate(
                    ModelPackageGroupName="paged", SortBy="CreationTime", SortOrder=order, PaginationConfig={"PageSize": 70}
                )
                self.assertEqual(self.versions(pages), want)

    def test_list_groups_paginator(self):
        names = {s["ModelPackageGroupName"] for s in self.sm.list_model_package_groups(MaxResults=100)["ModelPackageGroupSummaryList"]}
        pages = list(self.sm.get_paginator("list_model_package_groups").paginate(PaginationConfig={"PageSize": 1}))
        got = [s["ModelPackageGroupName"] for p in pages for s in p["ModelPackageGroupSummaryList"]]
        self.assertEqual(len(got), len(set(got)), "a group listed twice: %s" % got)
        self.assertEqual(set(got), names)
        self.assertTrue(all(len(p["ModelPackageGroupSummaryList"]) <= 1 for p in pages))


class Signatures(StoryCase):
    def with_secret(self, service, secret, key=None):
        frozen = session("data-science").get_credentials().get_frozen_credentials()
        return client_from({"AccessKeyId": key or frozen.access_key, "SecretAccessKey": secret}, service)

    def test_wrong_secret(self):
        wrong = "A" * 40
        self.assertCode("InvalidSignatureException", self.with_secret("sagemaker", wrong).list_model_package_groups)
        self.assertCode("SignatureDoesNotMatch", self.with_secret("sts", wrong).get_caller_identity)
        self.assertCode("SignatureDoesNotMatch", self.with_secret("iam", wrong).list_roles)

    def test_credential_scope_names_the_served_region(self):
        frozen = session("data-science").get_credentials().get_frozen_credentials()
        sm = counted(boto3.Session()).client(
            "sagemaker", region_name="eu-west-1", endpoint_url=ENDPOINT, config=CONFIG,
            aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key,
        )
        self.assertCode("InvalidSignatureException", sm.list_model_package_groups)

    def test_unknown_access_key(self):
        self.assertCode(
            "UnrecognizedClientException", self.with_secret("sagemaker", "A" * 40, key="AKIAAAAAAAAAAAAAAAAA").list_model_package_groups
        )
        self.assertCode("InvalidClientTokenId", self.with_secret("sts", "A" * 40, key="AKIAAAAAAAAAAAAAAAAA").get_caller_identity)

    def test_raw_signing_works(self):
        status, body = raw_sagemaker("data-science", "ListModelPackageGroups", {})
        self.assertEqual(status, 200, body)
        self.assertIn("ModelPackageGroupSummaryList", body)

    def test_skewed_clock(self):
        for skew in (datetime.timedelta(minutes=-20), datetime.timedelta(minutes=20)):
            with self.subTest(skew=str(skew)):
                status, body = raw_sagemaker("data-science", "ListModelPackageGroups", {}, skew=skew)
                self.assertEqual((status, error_type(body)), (403, "InvalidSignatureException"), body)
        # a few minutes off is within AWS's 15-minute allowance
        status, body = raw_sagemaker("data-science", "ListModelPackageGroups", {}, skew=datetime.timedelta(minutes=-4))
        self.assertEqual(status, 200, body)

    def test_tampered_body(self):
        status, body = raw_sagemaker(
            "data-science", "CreateModelPackageGroup", {"ModelPackageGroupName": "signed"},
            tamper=lambda b: b.replace(b"signed", b"forged"),
        )
        self.assertEqual((status, error_type(body)), (403, "InvalidSignatureException"), body)
        self.assertCode(
            "ValidationException", client("data-science", "sagemaker").describe_model_package_group, ModelPackageGroupName="forged"
        )


class Result(unittest.TextTestResult):
    def startTest(self, test):
        self._t0 = time.time()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.stream.writeln("    (%.2f s)" % (time.time() - self._t0))


def main():
    start = time.time()
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=Result)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - len(result.failures) - len(result.errors) - len(result.skipped) - len(result.unexpectedSuccesses)
    print("boto3 %s, botocore %s; story took %.1f s" % (boto3.__version__, botocore.__version__, time.time() - start))
    print("successful API calls: %d" % SUCCEEDED[0])
    print("%d passed, %d failed" % (max(passed, 0), failed))
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
