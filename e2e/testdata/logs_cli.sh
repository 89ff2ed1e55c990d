#!/bin/bash
# logs_cli.sh: CloudWatch Logs through the AWS CLI v2 (`aws logs`): groups and streams, a batch of
# events, get-log-events paged with its tokens in both directions until the token repeats,
# filter-log-events, describe-log-streams' orders, bad input answered with CloudWatch's codes,
# another account and an explicit Deny refused.
#
# Environment: as cli_story.sh (SLIPWAY_ENDPOINT, AWS_SHARED_CREDENTIALS_FILE, AWS, PYTHON,
# STORY_WORK). The checks run one after another: each CLI call costs seconds on a busy machine,
# so the script makes few. Each check prints "ok   …" or "FAIL …"; the last line is "N passed, N failed".
set -u
AWS=${AWS:-/usr/bin/aws}
PYTHON=${PYTHON:-/usr/bin/python3}
W=${STORY_WORK:-$(mktemp -d)}
REGION=us-east-1
: "${SLIPWAY_ENDPOINT:?SLIPWAY_ENDPOINT must be set}" "${AWS_SHARED_CREDENTIALS_FILE:?}"
: >"$W/passed"
: >"$W/failed"

aws_() {
	local profile=$1
	shift
	"$AWS" --endpoint-url "$SLIPWAY_ENDPOINT" --region "$REGION" --output json --profile "$profile" "$@"
}
pass() { echo "ok   $*"; echo x >>"$W/passed"; }
fail() { echo "FAIL $*"; echo x >>"$W/failed"; }

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

# must_fail DESC CODE CMD...: CMD must fail with the service error CODE (exit status 254).
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
	if ! grep -qF "An error occurred ($code)" "$err" || [ $rc -ne 254 ]; then
		fail "$desc: exit $rc, want 254 and error $code; stderr: $(cat "$err")"
		return 1
	fi
	pass "$desc ($code)"
}

expect() { if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi; }

# jv EXPR: a Python expression over d, the JSON document in OUT.
jv() {
	"$PYTHON" -c 'import json, sys
d = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$OUT" "$1"
}

G=/slipway/cli-story
ACCT=$(aws_ data-science sts get-caller-identity --query Account --output text)

must "create-log-group" aws_ data-science logs create-log-group --log-group-name "$G"
must_fail "create-log-group again" ResourceAlreadyExistsException aws_ data-science logs create-log-group --log-group-name "$G"
for s in train/algo-1 eval/algo-1; do
	must "create-log-stream $s" aws_ data-science logs create-log-stream --log-group-name "$G" --log-stream-name "$s"
done

# 25 events in one batch, a millisecond apart, ending a minute ago; every fifth an ERROR.
NOW=$(($(date +%s) * 1000))
"$PYTHON" - "$NOW" >"$W/events.json" <<'PY'
import json, sys
now = int(sys.argv[1])
evs = [{"timestamp": now - 60000 + i, "message": ("ERROR disk full at step %d" if i % 5 == 0 else "step %d ok") % i} for i in range(25)]
print(json.dumps(evs))
PY
must "put-log-events: 25 events" aws_ data-science logs put-log-events --log-group-name "$G" --log-stream-name train/algo-1 --log-events "file://$W/events.json"
expect "put-log-events: nothing rejected" "$(jv 'd.get("rejectedLogEventsInfo")')" "null"
must "put-log-events with a stale sequence token (ignored)" aws_ data-science logs put-log-events --log-group-name "$G" --log-stream-name eval/algo-1 \
	--sequence-token 49000000000000000000000000000000000000000000000000000000 --log-events "timestamp=$((NOW - 10000)),message=WARN mse 4.2"

# Forward from the head, 13 at a time, until get-log-events answers the token it was given.
got=() token="" pages=0
while :; do
	args=(--log-group-name "$G" --log-stream-name train/algo-1 --start-from-head --limit 13)
	[ -n "$token" ] && args+=(--next-token "$token")
	OUT=$(aws_ data-science logs get-log-events "${args[@]}") || { fail "get-log-events page $pages"; break; }
	pages=$((pages + 1))
	while IFS= read -r line; do [ -n "$line" ] && got+=("$line"); done < <(jv '"\n".join(e["message"] for e in d["events"])')
	next=$(jv 'd["nextForwardToken"]')
	[ "$next" == "$token" ] && break
	token=$next
	[ $pages -gt 5 ] && { fail "get-log-events: the forward token never repeats"; break; }
done
expect "get-log-events forward: pages until the token repeats" "$pages" 3
expect "get-log-events forward: every event once, in order" "${#got[@]} ${got[0]} | ${got[24]}" "25 ERROR disk full at step 0 | step 24 ok"

# Backward from the tail.
sizes=() token="" pages=0
while :; do
	args=(--log-group-name "$G" --log-stream-name train/algo-1 --limit 13)
	[ -n "$token" ] && args+=(--next-token "$token")
	OUT=$(aws_ data-science logs get-log-events "${args[@]}") || { fail "get-log-events backward page $pages"; break; }
	pages=$((pages + 1))
	[ $pages -eq 1 ] && first=$(jv 'd["events"][0]["message"]')
	sizes+=("$(jv 'len(d["events"])')")
	next=$(jv 'd["nextBackwardToken"]')
	[ "$next" == "$token" ] && break
	token=$next
	[ $pages -gt 5 ] && { fail "get-log-events: the backward token never repeats"; break; }
done
expect "get-log-events backward: page sizes" "${sizes[*]}" "13 12 0"
expect "get-log-events backward: the first page is the newest 13" "$first" "step 12 ok"

must "filter-log-events ?ERROR ?WARN across streams, 2 a page (the CLI follows nextToken)" aws_ data-science logs filter-log-events \
	--log-group-name "$G" --filter-pattern '?ERROR ?WARN' --page-size 2
expect "filter-log-events: the five ERRORs, then the WARN" "$(jv '[e["logStreamName"] + ": " + e["message"][:8] for e in d["events"]]')" \
	'["train/algo-1: ERROR di", "train/algo-1: ERROR di", "train/algo-1: ERROR di", "train/algo-1: ERROR di", "train/algo-1: ERROR di", "eval/algo-1: WARN mse"]'
must "filter-log-events by stream, phrase and exclusion" aws_ data-science logs filter-log-events --log-group-name "$G" --log-stream-names train/algo-1 \
	--filter-pattern '"disk full at step 2" -ok'
expect "filter-log-events phrase: step 20 only" "$(jv '[e["message"] for e in d["events"]]')" '["ERROR disk full at step 20"]'

must "describe-log-streams by last event, descending" aws_ data-science logs describe-log-streams --log-group-name "$G" --order-by LastEventTime --descending
expect "describe-log-streams by last event" "$(jv '[s["logStreamName"] for s in d["logStreams"]]')" '["eval/algo-1", "train/algo-1"]'
must "describe-log-streams by name, one a page" aws_ data-science logs describe-log-streams --log-group-name "$G" --page-size 1
expect "describe-log-streams by name through the paginator" "$(jv '[s["logStreamName"] for s in d["logStreams"]]')" '["eval/algo-1", "train/algo-1"]'

# Bad input: CloudWatch's codes, nothing stored.
must_fail "create-log-group with a colon" InvalidParameterException aws_ data-science logs create-log-group --log-group-name 'bad:name'
must_fail "put-log-events out of order" InvalidParameterException aws_ data-science logs put-log-events --log-group-name "$G" --log-stream-name eval/algo-1 \
	--log-events "timestamp=$NOW,message=b" "timestamp=$((NOW - 1)),message=a"
"$PYTHON" -c 'import json, sys; print(json.dumps([{"timestamp": int(sys.argv[1]), "message": "x" * 600000}] * 2))' "$NOW" >"$W/big.json"
must_fail "put-log-events over 1 MiB" InvalidParameterException aws_ data-science logs put-log-events --log-group-name "$G" --log-stream-name eval/algo-1 --log-events "file://$W/big.json"
must "get-log-events after the refusals" aws_ data-science logs get-log-events --log-group-identifier "arn:aws:logs:$REGION:$ACCT:log-group:$G" --log-stream-name eval/algo-1
expect "the refused batches stored nothing (read by the group's ARN)" "$(jv '[e["message"] for e in d["events"]]')" '["WARN mse 4.2"]'

# Another account: by ARN it is refused.
must_fail "staging reads data-science's group by ARN" AccessDeniedException aws_ staging logs get-log-events \
	--log-group-identifier "arn:aws:logs:$REGION:$ACCT:log-group:$G" --log-stream-name eval/algo-1

# An explicit Deny on one stream wins over AdministratorAccess. (The user is made with boto3: each
# CLI call costs seconds on a busy machine.)
OUT=$("$PYTHON" - "$G" <<'PY'
import boto3, json, os, sys
iam = boto3.Session(profile_name="data-science").client("iam", endpoint_url=os.environ["SLIPWAY_ENDPOINT"], region_name="us-east-1")
iam.create_user(UserName="logs-reader")
iam.attach_user_policy(UserName="logs-reader", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
iam.put_user_policy(UserName="logs-reader", PolicyName="deny-eval", PolicyDocument=json.dumps({"Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "logs:GetLogEvents", "Resource": "arn:aws:logs:*:*:log-group:%s:log-stream:eval/*" % sys.argv[1]}]}))
print(json.dumps(iam.create_access_key(UserName="logs-reader"), default=str))
PY
)
KEY=$(jv 'd["AccessKey"]["AccessKeyId"]') SECRET=$(jv 'd["AccessKey"]["SecretAccessKey"]')
must_fail "a user allowed everything but denied eval/*: get-log-events on eval/algo-1" AccessDeniedException \
	env AWS_ACCESS_KEY_ID="$KEY" AWS_SECRET_ACCESS_KEY="$SECRET" AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	"$AWS" --endpoint-url "$SLIPWAY_ENDPOINT" --region "$REGION" logs get-log-events --log-group-name "$G" --log-stream-name eval/algo-1

must "delete-log-group" aws_ data-science logs delete-log-group --log-group-name "$G"

p=$(wc -l <"$W/passed") f=$(wc -l <"$W/failed")
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
