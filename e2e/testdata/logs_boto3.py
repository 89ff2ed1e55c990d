"""logs_boto3.py: CloudWatch Logs through boto3 (Debian's /usr/bin/python3): a job-log tailer
written the way the SageMaker SDK tails training logs (read with startFromHead until a page comes
back empty, then poll again with the last forward token), boto3's paginators, PutLogEvents'
rejected events and batch limits, and another account refused.

Environment: SLIPWAY_ENDPOINT, AWS_SHARED_CREDENTIALS_FILE (profiles data-science, staging).
Prints "ok   ..." or "FAIL ..." per check and "N passed, N failed" last; exits 1 on a failure.
"""
import os
import sys
import time

import boto3
import botocore.config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["SLIPWAY_ENDPOINT"]
passed = failed = 0


def check(desc, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + desc)
    else:
        failed += 1
        print("FAIL %s: %s" % (desc, detail))


def client(profile, validate=True):
    cfg = botocore.config.Config(retries={"max_attempts": 1}, parameter_validation=validate)
    return boto3.Session(profile_name=profile).client("logs", endpoint_url=ENDPOINT, region_name="us-east-1", config=cfg)


def code_of(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"]
    return "no error"


def tail(logs, group, stream, token=None):
    """Reads a stream onward from token until a page is empty; returns the messages and the
    token to go on from."""
    got = []
    while True:
        kw = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, startTime=0, startFromHead=True, **kw)
        got += [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
        if not page["events"]:
            return got, token


def main():
    ds = client("data-science")
    raw = client("data-science", validate=False)
    # Debian's botocore (1.29) still marks logGroupName required; the identifier goes past its check.
    staging_raw = client("staging", validate=False)
    account = boto3.Session(profile_name="data-science").client("sts", endpoint_url=ENDPOINT, region_name="us-east-1").get_caller_identity()["Account"]
    group, stream = "/aws/sagemaker/TrainingJobs", "boto3-job/algo-1-1764000000"
    ds.create_log_group(logGroupName=group)
    ds.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)

    batch = [{"timestamp": now - 60000 + i, "message": "[%d]#011train-rmse:%0.3f" % (i, 10.0 / (i + 1))} for i in range(30)]
    ds.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
    got, token = tail(ds, group, stream)
    check("tail: all 30 lines in order", got == [e["message"] for e in batch], got[:3])
    again, token2 = tail(ds, group, stream, token)
    check("tail: nothing new, the same token back", again == [] and token2 == token, (again, token, token2))
    ds.put_log_events(logGroupName=group, logStreamName=stream,
                      logEvents=[{"timestamp": now - 1000 + i, "message": "line \u00e9\u4e2d %d" % i} for i in range(5)])
    more, _ = tail(ds, group, stream, token)
    check("tail: the lines appended later, UTF-8 intact", more == ["line \u00e9\u4e2d %d" % i for i in range(5)], more)

    # Paginators boto3 ships: filter_log_events and describe_log_streams.
    for i in range(3):
        ds.create_log_stream(logGroupName=group, logStreamName="boto3-job/algo-%d-x" % (i + 2))
    pages = list(ds.get_paginator("filter_log_events").paginate(logGroupName=group, filterPattern="train-rmse", PaginationConfig={"PageSize": 7}))
    events = [e for p in pages for e in p["events"]]
    check("filter_log_events paginator: 30 matches over 5 pages", len(events) == 30 and len(pages) == 5, (len(events), len(pages)))
    check("filter_log_events: each has its stream and an id", all(e["logStreamName"] == stream and e["eventId"] for e in events), events[0])
    names = [s["logStreamName"] for p in ds.get_paginator("describe_log_streams").paginate(
        logGroupName=group, logStreamNamePrefix="boto3-job/", PaginationConfig={"PageSize": 1}) for s in p["logStreams"]]
    check("describe_log_streams paginator", names == sorted(names) and len(names) == 4, names)
    latest = ds.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True, limit=1)["logStreams"][0]
    check("describe_log_streams: the stream with the latest event first", latest["logStreamName"] == stream and latest["lastEventTimestamp"] == now - 1000 + 4, latest)

    # Rejected events: too old and too far ahead are reported; the rest is stored.
    r = ds.put_log_events(logGroupName=group, logStreamName="boto3-job/algo-2-x", logEvents=[
        {"timestamp": now - 15 * 86400 * 1000, "message": "too old"},
        {"timestamp": now, "message": "kept"},
        {"timestamp": now + 3 * 3600 * 1000, "message": "too new"}])
    info = r.get("rejectedLogEventsInfo", {})
    check("put_log_events: rejectedLogEventsInfo", info.get("tooOldLogEventEndIndex") == 1 and info.get("tooNewLogEventStartIndex") == 2, r)
    kept = ds.get_log_events(logGroupName=group, logStreamName="boto3-job/algo-2-x", startFromHead=True)["events"]
    check("put_log_events: only the event in range stored", [e["message"] for e in kept] == ["kept"], kept)

    # Bad input, sent past boto3's own validation: the server answers CloudWatch's codes.
    put = lambda evs, s="boto3-job/algo-3-x": raw.put_log_events(logGroupName=group, logStreamName=s, logEvents=evs)
    for desc, fn, kw, want in [
        ("empty message", put, {"evs": [{"timestamp": now, "message": ""}]}, "InvalidParameterException"),
        ("10,001 events", put, {"evs": [{"timestamp": now, "message": "x"}] * 10001}, "InvalidParameterException"),
        ("1 MiB batch", put, {"evs": [{"timestamp": now, "message": "x" * 524288}] * 2}, "InvalidParameterException"),
        ("no events", put, {"evs": []}, "InvalidParameterException"),
        ("stream name with '*'", put, {"evs": [{"timestamp": now, "message": "x"}], "s": "a*b"}, "InvalidParameterException"),
        ("group name too long", raw.create_log_group, {"logGroupName": "/" + "g" * 512}, "InvalidParameterException"),
        ("limit 0", raw.get_log_events, {"logGroupName": group, "logStreamName": stream, "limit": 0}, "InvalidParameterException"),
        ("group by name and identifier", raw.get_log_events, {"logGroupName": group, "logGroupIdentifier": group, "logStreamName": stream}, "InvalidParameterException"),
        ("a JSON filter pattern", raw.filter_log_events, {"logGroupName": group, "filterPattern": "{ $.level = 1 }"}, "InvalidParameterException"),
        ("a forged filter token", raw.filter_log_events, {"logGroupName": group, "nextToken": "x.y"}, "InvalidParameterException"),
        ("a missing group", raw.filter_log_events, {"logGroupName": "/nope"}, "ResourceNotFoundException"),
    ]:
        got = code_of(fn, **kw)
        check("bad input: %s -> %s" % (desc, want), got == want, got)
    left = ds.get_log_events(logGroupName=group, logStreamName="boto3-job/algo-3-x")["events"]
    check("bad input stored nothing", left == [], left)

    arn = "arn:aws:logs:us-east-1:%s:log-group:%s" % (account, group)
    for desc, fn, kw in [
        ("get_log_events", staging_raw.get_log_events, {"logGroupIdentifier": arn, "logStreamName": stream}),
        ("filter_log_events", staging_raw.filter_log_events, {"logGroupIdentifier": arn}),
        ("describe_log_streams", staging_raw.describe_log_streams, {"logGroupIdentifier": arn}),
    ]:
        got = code_of(fn, **kw)
        check("another account: %s by ARN -> AccessDeniedException" % desc, got == "AccessDeniedException", got)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
