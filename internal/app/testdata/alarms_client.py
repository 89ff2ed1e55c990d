"""Drives CloudWatch through boto3 (whichever this interpreter has) against Slipway.

argv: endpoint, alarm name, namespace. Prints one JSON object: the boto3 version, the alarm's
state after its metric breaches, the error codes of bad calls, and what the metric reads give.
"""
import datetime
import json
import sys
import time

import boto3
import botocore

endpoint, name, ns = sys.argv[1:4]
cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
out = {"boto3": boto3.__version__, "errors": {}}


def code(fn, **kw):
    try:
        fn(**kw)
        return ""
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]


dims = [{"Name": "Service", "Value": "api"}]
cw.put_metric_alarm(AlarmName=name, Namespace=ns, MetricName="Errors", Dimensions=dims, Statistic="Sum",
                    Period=60, EvaluationPeriods=1, Threshold=2, ComparisonOperator="GreaterThanThreshold",
                    TreatMissingData="notBreaching")
# The evaluator's first look (no data, not breaching: OK) before the breach, so the events are
# OK then ALARM however late the evaluator runs under load.
deadline = time.time() + 20
while time.time() < deadline and cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] != "OK":
    time.sleep(0.1)
cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Errors", "Dimensions": dims, "Value": 5},
                                             {"MetricName": "Errors", "Dimensions": dims, "Values": [1, 2], "Counts": [1, 2]}])
deadline = time.time() + 20
state = ""
while time.time() < deadline:
    state = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]
    if state == "ALARM":
        break
    time.sleep(0.2)
out["state"] = state
now = datetime.datetime.now(datetime.timezone.utc)
st = cw.get_metric_statistics(Namespace=ns, MetricName="Errors", Dimensions=dims, StartTime=now - datetime.timedelta(minutes=5),
                              EndTime=now + datetime.timedelta(minutes=1), Period=3600, Statistics=["Sum", "SampleCount", "Maximum"])
out["stats"] = [{k: p[k] for k in ("Sum", "SampleCount", "Maximum")} for p in st["Datapoints"]]
md = cw.get_metric_data(StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=1), MetricDataQueries=[
    {"Id": "e", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Errors", "Dimensions": dims}, "Period": 3600, "Stat": "Average"}}])
out["average"] = md["MetricDataResults"][0]["Values"]
out["metrics"] = [m["MetricName"] for m in cw.list_metrics(Namespace=ns)["Metrics"]]
out["history"] = sorted({h["HistoryItemType"] for h in cw.describe_alarm_history(AlarmName=name)["AlarmHistoryItems"]})
out["errors"]["reserved"] = code(cw.put_metric_data, Namespace="AWS/SageMaker", MetricData=[{"MetricName": "Invocations", "Value": 1}])
out["errors"]["period"] = code(cw.put_metric_alarm, AlarmName=name + "-bad", Namespace=ns, MetricName="Errors", Statistic="Sum",
                               Period=7, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
out["errors"]["missing"] = code(cw.delete_alarms, AlarmNames=[name, name + "-nope"])
out["errors"]["state"] = code(cw.set_alarm_state, AlarmName=name, StateValue="BROKEN", StateReason="x")
out["after"] = [a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=name)["MetricAlarms"]]
print(json.dumps(out))
