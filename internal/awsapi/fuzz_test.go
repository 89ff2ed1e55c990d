package awsapi

import (
	"net/url"
	"testing"
)

// checkCanonical asserts what must hold for every accepted input: the canonical JSON validates
// again, unchanged (canonicalization is idempotent).
func checkCanonical(t *testing.T, svc *Service, op *Operation, canonical []byte) {
	t.Helper()
	v, err := decodeJSONValue(canonical)
	if err != nil {
		t.Fatalf("canonical output %q is not JSON: %v", canonical, err)
	}
	again, aerr := validateInput(svc, op, v)
	if aerr != nil {
		t.Fatalf("canonical output %q does not validate: %v", canonical, aerr)
	}
	if string(again) != string(canonical) {
		t.Fatalf("canonicalization is not idempotent:\n%s\n%s", canonical, again)
	}
}

func checkRejection(t *testing.T, aerr *apiError, codes ...string) {
	t.Helper()
	if aerr.Status != 400 || aerr.Message == "" {
		t.Fatalf("rejection %+v", aerr)
	}
	for _, c := range codes {
		if aerr.Code == c {
			return
		}
	}
	t.Fatalf("rejection code %q, want one of %v", aerr.Code, codes)
}

func FuzzJSONInput(f *testing.F) {
	for _, s := range []string{
		`{"ModelPackageGroupName":"g","ModelApprovalStatus":"Approved","InferenceSpecification":{"Containers":[{"Image":"x","Environment":{"A":"1"}}],"SupportedContentTypes":["text/csv"],"SupportedResponseMIMETypes":["text/csv"]}}`,
		`{"ModelPackageGroupName":"a b","Tags":[{"Key":"","Value":null}],"CustomerMetadataProperties":{"":"x"}}`,
		`{"ModelMetrics":{"ModelQuality":{"Statistics":{"ContentType":"application/json","S3Uri":"s3://b/k"}}},"CertifyForMarketplace":true}`,
		`{"SamplePayloadUrl":5,"Domain":[],"Task":{}}`,
		`[]`, `null`, `"x"`, `{"ClientToken":"` + "\xff" + `"}`, `{} {}`, ``,
	} {
		f.Add([]byte(s))
	}
	svc := testService(f, "sagemaker")
	op := svc.Model.Operations["CreateModelPackage"]
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := decodeJSONValue(body)
		if err != nil {
			return
		}
		canonical, aerr := validateInput(svc, op, v)
		if aerr != nil {
			checkRejection(t, aerr, "SerializationException", "ValidationException")
			return
		}
		checkCanonical(t, svc, op, canonical)
	})
}

func FuzzQueryInput(f *testing.F) {
	for _, s := range []string{
		"RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=3600&Tags.member.1.Key=a&Tags.member.1.Value=1",
		"RoleName=r&AssumeRolePolicyDocument=x&Tags=&MaxSessionDuration=x",
		"RoleName=&Tags.member.2.Key=a&Tags.member.1.Value=1&Description=%ff",
		"Tags.member.1.Key=a&Tags.member.1.Key=b&RoleName=a%20b",
		"PermissionsBoundary=arn:aws:iam::aws:policy/x&Path=/a/",
	} {
		f.Add(s)
	}
	svc := testService(f, "iam")
	op := svc.Model.Operations["CreateRole"]
	f.Fuzz(func(t *testing.T, form string) {
		vals, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		var c checker
		v := decodeQuery(&c, vals, op.Input)
		if c.typeErr != "" || len(c.violations) > 0 {
			return
		}
		canonical, aerr := validateInput(svc, op, v)
		if aerr != nil {
			checkRejection(t, aerr, "ValidationError")
			return
		}
		checkCanonical(t, svc, op, canonical)
	})
}

// FuzzCloudWatchInput decodes PutMetricData and PutMetricAlarm as both of CloudWatch's
// protocols carry them (awsQuery forms from old clients, awsJson1_0 from new ones): whatever
// the bytes, decoding either rejects them in CloudWatch's vocabulary or yields canonical input.
func FuzzCloudWatchInput(f *testing.F) {
	for _, s := range []string{
		"Namespace=App&MetricData.member.1.MetricName=m&MetricData.member.1.Value=1.5&MetricData.member.1.Dimensions.member.1.Name=a&MetricData.member.1.Dimensions.member.1.Value=b",
		"Namespace=App&MetricData.member.1.MetricName=m&MetricData.member.1.Values.member.1=1&MetricData.member.1.Counts.member.1=x&MetricData.member.1.Timestamp=2026-12-03T00:00:00Z",
		"AlarmName=a&Namespace=App&MetricName=m&Statistic=Sum&Period=60&EvaluationPeriods=1&Threshold=1e308&ComparisonOperator=GreaterThanThreshold",
		"AlarmName=&Period=-1&Threshold=NaN&Dimensions.member.1.Name=",
	} {
		f.Add(s, false)
	}
	for _, s := range []string{
		`{"Namespace":"App","MetricData":[{"MetricName":"m","Value":1,"Timestamp":1700000000,"StatisticValues":{"SampleCount":1,"Sum":1,"Minimum":1,"Maximum":1}}]}`,
		`{"AlarmName":"a","Namespace":"App","MetricName":"m","Statistic":"Sum","Period":60,"EvaluationPeriods":1,"Threshold":"x","ComparisonOperator":"GreaterThanThreshold"}`,
		`{"MetricData":[{"Dimensions":[{"Name":null}]}]}`, `[]`, `{"Namespace":1e999}`,
	} {
		f.Add(s, true)
	}
	svc := testService(f, "cloudwatch")
	f.Fuzz(func(t *testing.T, input string, isJSON bool) {
		for _, name := range []string{"PutMetricData", "PutMetricAlarm"} {
			op := svc.Model.Operations[name]
			var v any
			if isJSON {
				var err error
				if v, err = decodeJSONValue([]byte(input)); err != nil {
					continue
				}
			} else {
				vals, err := url.ParseQuery(input)
				if err != nil {
					continue
				}
				var c checker
				v = decodeQuery(&c, vals, op.Input)
				if c.typeErr != "" || len(c.violations) > 0 {
					continue
				}
			}
			canonical, aerr := validateInput(svc, op, v)
			if aerr != nil {
				checkRejection(t, aerr, "InvalidParameterValue", "SerializationException")
				continue
			}
			checkCanonical(t, svc, op, canonical)
		}
	})
}
