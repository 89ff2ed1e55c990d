#!/bin/bash
# cli_story.sh: Slipway's model registry, cross-account, SCP, STS and IAM story through the AWS CLI v2.
#
# Environment:
#   SLIPWAY_ENDPOINT              http://127.0.0.1:PORT of a freshly started server
#   AWS_SHARED_CREDENTIALS_FILE   the server's DATA_DIR/credentials (profiles data-science, staging, production)
#   AWS_CONFIG_FILE=/dev/null, AWS_EC2_METADATA_DISABLED=true
#   AWS (default /usr/bin/aws), PYTHON (default /usr/bin/python3, with boto3), STORY_WORK (scratch dir)
#
# Each check prints "ok   …" or "FAIL …"; the last line is "N passed, N failed"; the exit status is 1
# when anything failed. The CLI costs ~1-3 s per call on a busy 2-core machine, so independent parts
# of the story run as concurrent jobs and the 250 versions for the pagination check are created
# with boto3; the listing itself goes through the CLI's paginator.
set -u
AWS=${AWS:-/usr/bin/aws}
PYTHON=${PYTHON:-/usr/bin/python3}
W=${STORY_WORK:-$(mktemp -d)}
HERE=$(cd "$(dirname "$0")" && pwd)
REGION=us-east-1
: "${SLIPWAY_ENDPOINT:?SLIPWAY_ENDPOINT must be set}" "${AWS_SHARED_CREDENTIALS_FILE:?}"
: >"$W/passed"
: >"$W/failed"
START=$(date +%s)

# aws_ PROFILE ARGS...: the AWS CLI against Slipway as PROFILE's admin.
aws_() {
	local profile=$1
	shift
	"$AWS" --endpoint-url "$SLIPWAY_ENDPOINT" --region "$REGION" --output json --profile "$profile" "$@"
}

pass() {
	echo "ok   $*"
	echo x >>"$W/passed"
}
fail() {
	echo "FAIL $*"
	echo x >>"$W/failed"
}

# must DESC CMD...: CMD must succeed; its stdout is left in OUT.
must() {
	local desc=$1
	shift
	local err
	err=$(mktemp "$W/stderr.XXXXXX")
	OUT=$("$@" 2>"$err")
	local rc=$?
	if [ $rc -ne 0 ]; then
		fail "$desc: exit $rc: $(cat "$err")"
		return 1
	fi
	pass "$desc"
}

# must_fail DESC CODE CMD...: CMD must fail the way the CLI v2 reports a service error: exit status
# 254 and "An error occurred (CODE)" on stderr.
must_fail() {
	local desc=$1 code=$2
	shift 2
	local err
	err=$(mktemp "$W/stderr.XXXXXX")
	OUT=$("$@" 2>"$err")
	local rc=$?
	if [ $rc -eq 0 ]; then
		fail "$desc: succeeded, want error $code; stdout: $OUT"
		return 1
	fi
	if ! grep -qF "An error occurred ($code)" "$err"; then
		fail "$desc: exit $rc, want error $code; stderr: $(cat "$err")"
		return 1
	fi
	if [ $rc -ne 254 ]; then
		fail "$desc: exit $rc, want 254 (the CLI's status for a service error); stderr: $(cat "$err")"
		return 1
	fi
	pass "$desc ($code)"
}

# expect DESC GOT WANT
expect() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# expect_match DESC GOT ERE
expect_match() {
	if [[ $2 =~ $3 ]]; then pass "$1"; else fail "$1: got '$2', want a match of /$3/"; fi
}

# jv EXPR: evaluates the Python expression EXPR over d, the JSON document in OUT; strings print
# bare, everything else as JSON.
jv() {
	"$PYTHON" -c 'import json, sys
d = json.loads(sys.argv[1]) if sys.argv[1].strip() else None
try:
    v = eval(sys.argv[2])
except Exception as e:
    v = "<%s: %s>" % (type(e).__name__, e)
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))' "$OUT" "$1"
}

# job NAME CMD...: runs CMD in the background with its output in $W/job.NAME.
JOBS=()
job() {
	local name=$1
	shift
	JOBS+=("$name")
	"$@" >"$W/job.$name" 2>&1 &
}
# wait_jobs: waits for every job and prints their output in start order.
wait_jobs() {
	wait
	local j
	for j in "${JOBS[@]}"; do
		echo "--- $j"
		cat "$W/job.$j"
	done
	JOBS=()
}

summary() {
	local p f
	p=$(wc -l <"$W/passed")
	f=$(wc -l <"$W/failed")
	echo "cli story took $(($(date +%s) - START)) s"
	echo "$p passed, $f failed"
	[ "$f" -eq 0 ]
	exit $?
}

# ---------------------------------------------------------------------------------------------
# Phase 0: who is who. Every profile is the admin user of its own 12-digit account.

identity() {
	local p=$1
	must "sts get-caller-identity --profile $p" aws_ "$p" sts get-caller-identity || return
	local acct arn
	acct=$(jv 'd["Account"]')
	arn=$(jv 'd["Arn"]')
	expect_match "$p: Account is a 12-digit id" "$acct" '^[0-9]{12}$'
	expect_match "$p: Arn is an IAM user of that account" "$arn" "^arn:aws:iam::$acct:user/.+"
	expect_match "$p: UserId is an IAM user id" "$(jv 'd["UserId"]')" '^AIDA[A-Z0-9]{12,}$'
	echo "$acct $arn" >"$W/id.$p"
}
for p in data-science staging production; do
	job "identity-$p" identity "$p"
done
wait_jobs
if ! read -r DS DS_ARN <"$W/id.data-science" || ! read -r STAGING STAGING_ARN <"$W/id.staging" ||
	! read -r PROD PROD_ARN <"$W/id.production"; then
	fail "cannot continue without the three accounts' identities"
	summary
fi
expect "the three accounts are distinct" "$(printf '%s\n' "$DS" "$STAGING" "$PROD" | sort -u | wc -l)" 3
echo "accounts: data-science=$DS staging=$STAGING production=$PROD"

GROUP_ARN=arn:aws:sagemaker:$REGION:$DS:model-package-group/abalone
PKG_ARN=arn:aws:sagemaker:$REGION:$DS:model-package/abalone

# ---------------------------------------------------------------------------------------------
# Phase 1: independent parts of the story, concurrently.

# The registry: a group with three versions, one approved, shared with staging by a group policy.
registry_story() {
	must "data-science: create-model-package-group abalone" \
		aws_ data-science sagemaker create-model-package-group --model-package-group-name abalone \
		--model-package-group-description "Abalone ring-count regressors" || return
	expect "create-model-package-group returns the group ARN" "$(jv 'd["ModelPackageGroupArn"]')" "$GROUP_ARN"
	local v
	for v in 1 2 3; do
		must "data-science: create-model-package abalone (version $v)" \
			aws_ data-science sagemaker create-model-package --model-package-group-name abalone \
			--model-package-description "abalone xgboost run $v" \
			--inference-specification "file://$HERE/spec.json" \
			--model-metrics "file://$HERE/metrics.json" || return
		expect "version $v's ARN" "$(jv 'd["ModelPackageArn"]')" "$PKG_ARN/$v"
	done
	must "data-science: list-model-packages abalone" \
		aws_ data-science sagemaker list-model-packages --model-package-group-name abalone
	expect "versions listed" "$(jv 'sorted(p["ModelPackageVersion"] for p in d["ModelPackageSummaryList"])')" "[1, 2, 3]"
	expect "new versions wait for manual approval" \
		"$(jv 'sorted(set(p["ModelApprovalStatus"] for p in d["ModelPackageSummaryList"]))')" '["PendingManualApproval"]'

	must "data-science: update-model-package version 3 to Approved" \
		aws_ data-science sagemaker update-model-package --model-package-arn "$PKG_ARN/3" \
		--model-approval-status Approved --approval-description "mse 4.1 <= 6.0 on the test split"
	expect "update-model-package returns the package ARN" "$(jv 'd["ModelPackageArn"]')" "$PKG_ARN/3"
	must "data-science: describe-model-package version 3" \
		aws_ data-science sagemaker describe-model-package --model-package-name "$PKG_ARN/3"
	expect "describe: ModelApprovalStatus" "$(jv 'd["ModelApprovalStatus"]')" Approved
	expect "describe: ApprovalDescription" "$(jv 'd["ApprovalDescription"]')" "mse 4.1 <= 6.0 on the test split"
	expect "describe: LastModifiedBy is present" "$(jv '"LastModifiedBy" in d')" true
	expect "describe: LastModifiedTime >= CreationTime" "$(jv 'd["LastModifiedTime"] >= d["CreationTime"]')" true
	expect "describe: ModelPackageGroupName" "$(jv 'd["ModelPackageGroupName"]')" abalone
	expect "describe: ModelPackageVersion" "$(jv 'd["ModelPackageVersion"]')" 3
	expect "describe: ModelPackageStatus" "$(jv 'd["ModelPackageStatus"]')" Completed
	# AWS may add members (ImageDigest); what was sent must come back unchanged.
	expect "describe: the InferenceSpecification sent comes back" \
		"$(jv '[d["InferenceSpecification"]["Containers"][0][k] for k in ("Image", "ModelDataUrl")] + [d["InferenceSpecification"][k] for k in ("SupportedContentTypes", "SupportedResponseMIMETypes")]')" \
		"$(OUT=$(cat "$HERE/spec.json") jv '[d["Containers"][0][k] for k in ("Image", "ModelDataUrl")] + [d[k] for k in ("SupportedContentTypes", "SupportedResponseMIMETypes")]')"
	expect "describe: ModelMetrics round-trips" "$(jv 'd["ModelMetrics"]')" "$(OUT=$(cat "$HERE/metrics.json") jv 'd')"

	must_fail "staging: describe-model-package of data-science's package without a group policy" \
		AccessDeniedException aws_ staging sagemaker describe-model-package --model-package-name "$PKG_ARN/3"

	cat >"$W/group-policy.json" <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "StagingReadsTheGroup",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::$STAGING:root"},
      "Action": "sagemaker:DescribeModelPackageGroup",
      "Resource": "$GROUP_ARN"
    },
    {
      "Sid": "StagingReadsTheVersions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::$STAGING:root"},
      "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
      "Resource": "$PKG_ARN/*"
    }
  ]
}
EOF
	must "data-science: put-model-package-group-policy granting staging read access" \
		aws_ data-science sagemaker put-model-package-group-policy --model-package-group-name abalone \
		--resource-policy "file://$W/group-policy.json" || return
	must "staging: describe-model-package of data-science's package with the group policy" \
		aws_ staging sagemaker describe-model-package --model-package-name "$PKG_ARN/3"
	expect "staging sees the approved version" "$(jv '[d["ModelPackageArn"], d["ModelApprovalStatus"]]')" \
		"[\"$PKG_ARN/3\", \"Approved\"]"
	must_fail "production: describe-model-package of data-science's package (not in the policy)" \
		AccessDeniedException aws_ production sagemaker describe-model-package --model-package-name "$PKG_ARN/3"
}

# Organizations: an SCP that denies sagemaker:UpdateModelPackage, attached to the production OU.
scp_story() {
	must "data-science: organizations list-roots" aws_ data-science organizations list-roots || return
	local root
	root=$(jv 'd["Roots"][0]["Id"]')
	expect_match "the root id" "$root" '^r-[0-9a-z]{4,32}$'
	if [ "$(jv '[t["Status"] for t in d["Roots"][0].get("PolicyTypes", []) if t["Type"] == "SERVICE_CONTROL_POLICY"]')" != '["ENABLED"]' ]; then
		must "data-science: organizations enable-policy-type SERVICE_CONTROL_POLICY" \
			aws_ data-science organizations enable-policy-type --root-id "$root" --policy-type SERVICE_CONTROL_POLICY
	fi
	must "data-science: organizations list-organizational-units-for-parent" \
		aws_ data-science organizations list-organizational-units-for-parent --parent-id "$root" || return
	local ou
	ou=$(jv '[u["Id"] for u in d["OrganizationalUnits"] if u["Name"] == "production"][0]')
	expect_match "the production OU id" "$ou" '^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$'
	expect "the OUs are staging and production" "$(jv 'sorted(u["Name"] for u in d["OrganizationalUnits"])')" \
		'["production", "staging"]'
	cat >"$W/scp.json" <<'EOF'
{"Version":"2012-10-17","Statement":[{"Sid":"NoModelPackageUpdates","Effect":"Deny","Action":"sagemaker:UpdateModelPackage","Resource":"*"}]}
EOF
	must "data-science: organizations create-policy (SCP)" \
		aws_ data-science organizations create-policy --name deny-model-package-updates \
		--description "Production models change only through the deploy pipeline" \
		--type SERVICE_CONTROL_POLICY --content "file://$W/scp.json" || return
	local pid
	pid=$(jv 'd["Policy"]["PolicySummary"]["Id"]')
	expect_match "the policy id" "$pid" '^p-[0-9a-zA-Z_]{8,128}$'
	must "data-science: organizations attach-policy to the production OU" \
		aws_ data-science organizations attach-policy --policy-id "$pid" --target-id "$ou"
}

# Each member account registers a model of its own (used after the SCP is attached).
own_group() {
	local p=$1
	must "$p: create-model-package-group $p-models" \
		aws_ "$p" sagemaker create-model-package-group --model-package-group-name "$p-models" || return
	must "$p: create-model-package $p-models" \
		aws_ "$p" sagemaker create-model-package --model-package-group-name "$p-models" \
		--inference-specification "file://$HERE/spec.json"
}

# STS: the management account assumes the member role it is trusted by; staging cannot assume
# production's.
sts_story() {
	must "data-science: assume-role OrganizationAccountAccessRole in staging" \
		aws_ data-science sts assume-role --role-arn "arn:aws:iam::$STAGING:role/OrganizationAccountAccessRole" \
		--role-session-name e2e-cli || return
	local ak sk tok
	ak=$(jv 'd["Credentials"]["AccessKeyId"]')
	sk=$(jv 'd["Credentials"]["SecretAccessKey"]')
	tok=$(jv 'd["Credentials"]["SessionToken"]')
	expect_match "temporary access key id" "$ak" '^ASIA[A-Z0-9]{12,}$'
	expect "AssumedRoleUser.Arn" "$(jv 'd["AssumedRoleUser"]["Arn"]')" \
		"arn:aws:sts::$STAGING:assumed-role/OrganizationAccountAccessRole/e2e-cli"
	must "get-caller-identity with the temporary credentials" \
		env AWS_ACCESS_KEY_ID="$ak" AWS_SECRET_ACCESS_KEY="$sk" AWS_SESSION_TOKEN="$tok" \
		"$AWS" --endpoint-url "$SLIPWAY_ENDPOINT" --region "$REGION" --output json sts get-caller-identity
	expect "the temporary credentials act as the assumed role" "$(jv '[d["Account"], d["Arn"]]')" \
		"[\"$STAGING\", \"arn:aws:sts::$STAGING:assumed-role/OrganizationAccountAccessRole/e2e-cli\"]"
	must_fail "staging: assume-role into production (not trusted)" AccessDenied \
		aws_ staging sts assume-role --role-arn "arn:aws:iam::$PROD:role/OrganizationAccountAccessRole" \
		--role-session-name e2e-cli
}

# IAM: a role trusted by staging, with an inline policy; a malformed policy is refused.
iam_story() {
	cat >"$W/trust.json" <<EOF
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::$STAGING:root"},"Action":"sts:AssumeRole"}]}
EOF
	cat >"$W/read-registry.json" <<EOF
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:DescribeModelPackage","sagemaker:ListModelPackages"],"Resource":"$PKG_ARN/*"}]}
EOF
	must "data-science: iam create-role model-reader" \
		aws_ data-science iam create-role --role-name model-reader --description "read the abalone registry" \
		--assume-role-policy-document "file://$W/trust.json" || return
	expect "create-role: Arn" "$(jv 'd["Role"]["Arn"]')" "arn:aws:iam::$DS:role/model-reader"
	expect_match "create-role: RoleId" "$(jv 'd["Role"]["RoleId"]')" '^AROA[A-Z0-9]{12,}$'
	must "data-science: iam put-role-policy" \
		aws_ data-science iam put-role-policy --role-name model-reader --policy-name read-registry \
		--policy-document "file://$W/read-registry.json"
	must "data-science: iam get-role" aws_ data-science iam get-role --role-name model-reader
	expect "get-role: the trust policy round-trips" "$(jv 'd["Role"]["AssumeRolePolicyDocument"]')" \
		"$(OUT=$(cat "$W/trust.json") jv 'd')"
	must "data-science: iam list-roles" aws_ data-science iam list-roles
	expect "list-roles shows the role" "$(jv '[r["Arn"] for r in d["Roles"] if r["RoleName"] == "model-reader"]')" \
		"[\"arn:aws:iam::$DS:role/model-reader\"]"
	must "staging: assume-role model-reader in data-science (trusted)" \
		aws_ staging sts assume-role --role-arn "arn:aws:iam::$DS:role/model-reader" --role-session-name e2e-cli
	expect "assumed model-reader" "$(jv 'd["AssumedRoleUser"]["Arn"]')" \
		"arn:aws:sts::$DS:assumed-role/model-reader/e2e-cli"
	must_fail "data-science: iam put-role-policy with a malformed document" MalformedPolicyDocument \
		aws_ data-science iam put-role-policy --role-name model-reader --policy-name broken \
		--policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:*"'
}

# Bad input and unsigned requests.
edge_story() {
	must_fail "create-model-package-group 'bad name!'" ValidationException \
		aws_ data-science sagemaker create-model-package-group --model-package-group-name 'bad name!'
	local code
	code=$(curl -sS -o "$W/unsigned.json" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: SageMaker.ListModelPackageGroups' \
		--data '{}' "$SLIPWAY_ENDPOINT/")
	expect "unsigned request: HTTP status" "$code" 403
	OUT=$(cat "$W/unsigned.json")
	expect "unsigned request: a JSON error naming the missing token" \
		"$(jv 'd["__type"].split("#")[-1]')" MissingAuthenticationTokenException
	expect "unsigned request: the error has a message" "$(jv 'bool(d.get("message") or d.get("Message"))')" true
}

# Pagination: 250 versions (created with boto3; 250 CLI processes would take minutes), listed with
# the CLI's automatic pagination and with --max-items/--starting-token.
pagination_story() {
	if ! "$PYTHON" - <<'EOF'; then
import os, boto3
sm = boto3.Session(profile_name="data-science").client(
    "sagemaker", region_name="us-east-1", endpoint_url=os.environ["SLIPWAY_ENDPOINT"])
sm.create_model_package_group(ModelPackageGroupName="paged")
for i in range(250):
    sm.create_model_package(ModelPackageGroupName="paged", ModelPackageDescription="v%d" % (i + 1))
EOF
		fail "boto3 could not create 250 versions in group paged"
		return
	fi
	pass "created 250 versions in group paged (boto3)"
	must "list-model-packages paged (automatic pagination)" \
		aws_ data-science sagemaker list-model-packages --model-package-group-name paged || return
	expect "all 250 versions, each once" \
		"$(jv 'sorted(p["ModelPackageVersion"] for p in d["ModelPackageSummaryList"]) == list(range(1, 251))')" true
	expect "no NextToken after the last page" "$(jv '"NextToken" in d')" false
	# --page-size 40 makes the CLI cut the third page at 20 items and resume inside it, so the
	# server's NextToken must be reusable.
	must "list-model-packages paged --max-items 100 --page-size 40" \
		aws_ data-science sagemaker list-model-packages --model-package-group-name paged \
		--max-items 100 --page-size 40 || return
	local first token
	first=$(jv '[p["ModelPackageVersion"] for p in d["ModelPackageSummaryList"]]')
	token=$(jv 'd.get("NextToken", "")')
	expect "--max-items 100 returns 100" "$(jv 'len(d["ModelPackageSummaryList"])')" 100
	if [ -z "$token" ]; then
		fail "--max-items 100 returned no NextToken"
		return
	fi
	must "list-model-packages paged --starting-token" \
		aws_ data-science sagemaker list-model-packages --model-package-group-name paged \
		--starting-token "$token" --max-items 200 --page-size 40 || return
	expect "--starting-token returns the other 150" "$(jv 'len(d["ModelPackageSummaryList"])')" 150
	expect "the two pages together hold 1..250 once each" \
		"$(jv "sorted($first + [p['ModelPackageVersion'] for p in d['ModelPackageSummaryList']]) == list(range(1, 251))")" true
}

job registry registry_story
job scp scp_story
job staging-own-group own_group staging
job production-own-group own_group production
job sts sts_story
job iam iam_story
job edge edge_story
job pagination pagination_story
wait_jobs

# ---------------------------------------------------------------------------------------------
# Phase 2: the SCP bounds production's admin, and only production's.

scp_denies_production() {
	must_fail "production: update-model-package on its own package under the SCP" AccessDeniedException \
		aws_ production sagemaker update-model-package \
		--model-package-arn "arn:aws:sagemaker:$REGION:$PROD:model-package/production-models/1" \
		--model-approval-status Approved
}
scp_spares_staging() {
	must "staging: update-model-package on its own package (no SCP on staging)" \
		aws_ staging sagemaker update-model-package \
		--model-package-arn "arn:aws:sagemaker:$REGION:$STAGING:model-package/staging-models/1" \
		--model-approval-status Approved
}
job scp-production scp_denies_production
job scp-staging scp_spares_staging
wait_jobs

summary
