package awsapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func testService(t testing.TB, name string) *Service {
	t.Helper()
	svc := &Service{Name: name, Model: mustModel(t, name), Errors: serviceErrors[name]}
	NewServer(Config{Services: []*Service{svc}, Auth: &testAuth{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}) // fills the error index
	return svc
}

func TestEncodeOutputs(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		service, op, golden string
		out                 any
	}{
		{"sagemaker", "DescribeModelPackage", "sagemaker-DescribeModelPackage.json", map[string]any{
			"ModelPackageName": "g", "ModelPackageGroupName": "g", "ModelPackageVersion": 3,
			"ModelPackageArn": "arn:aws:sagemaker:us-east-1:111122223333:model-package/g/3",
			"CreationTime":    when, "LastModifiedTime": when.Add(1500 * time.Millisecond),
			"ModelPackageStatus": "Completed", "ModelApprovalStatus": "Approved",
			"ModelPackageStatusDetails": map[string]any{"ValidationStatuses": []any{}},
			"InferenceSpecification": map[string]any{
				"Containers":            []map[string]any{{"Image": "xgb", "ModelDataUrl": "s3://b/m.tar.gz", "Environment": map[string]string{"B": "2", "A": "1"}}},
				"SupportedContentTypes": []string{"text/csv"}, "SupportedResponseMIMETypes": []string{"text/csv"},
			},
			"CustomerMetadataProperties": map[string]string{"k": "v"},
			"NotInTheModel":              "dropped", "ApprovalDescription": nil,
		}},
		{"iam", "GetRole", "iam-GetRole.xml", map[string]any{"Role": map[string]any{
			"Path": "/", "RoleName": "R&D", "RoleId": "AROA1", "Arn": "arn:aws:iam::111122223333:role/R&D", "CreateDate": when,
			"AssumeRolePolicyDocument": "%7B%7D", "MaxSessionDuration": 3600,
			"Tags":         []map[string]string{{"Key": "a", "Value": "<1>"}},
			"RoleLastUsed": map[string]any{"LastUsedDate": when.Add(time.Millisecond * 250), "Region": "us-east-1"},
		}}},
		{"iam", "ListRolePolicies", "iam-ListRolePolicies.xml", map[string]any{"PolicyNames": []string{"p1", "p2"}, "IsTruncated": false}},
		{"iam", "DeleteRole", "iam-DeleteRole.xml", nil},
		{"sts", "GetCallerIdentity", "sts-GetCallerIdentity.xml", map[string]string{"Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/a", "UserId": "AIDA"}},
		{"organizations", "ListRoots", "organizations-ListRoots.json", map[string]any{"Roots": []map[string]any{{"Id": "r-ab12", "Name": "Root",
			"PolicyTypes": []map[string]string{{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			svc := testService(t, tc.service)
			op := svc.Model.Operations[tc.op]
			enc := &encoder{fields: &fieldCache{}}
			tree := enc.resolve(reflect.ValueOf(tc.out))
			var buf bytes.Buffer
			switch svc.Model.Protocol {
			case ProtocolJSON:
				enc.json(&buf, tree, op.Output, nil)
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, buf.Bytes(), "", "  "); err != nil {
					t.Fatalf("invalid JSON %s: %v", buf.Bytes(), err)
				}
				buf = pretty
				buf.WriteByte('\n')
			case ProtocolQuery:
				enc.writeQueryResponse(&buf, svc.Model, op, tree, "req-1")
			}
			if enc.err != nil {
				t.Fatal(enc.err)
			}
			golden(t, tc.golden, buf.Bytes())
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	var buf bytes.Buffer
	writeQueryError(&buf, "https://iam.amazonaws.com/doc/2010-05-08/", &apiError{Code: "NoSuchEntity", Status: 404, Message: "The role <x> cannot be found."}, "req-1")
	golden(t, "query-error.xml", buf.Bytes())
	buf.Reset()
	writeQueryError(&buf, "", &apiError{Code: "ServiceFailure", Status: 500, Message: "oops"}, "req-2")
	if !strings.Contains(buf.String(), "<Type>Receiver</Type>") {
		t.Errorf("a 500 should be a Receiver fault: %s", buf.String())
	}
}

func TestDecodeQuery(t *testing.T) {
	tests := []struct {
		service, op, form, want string
	}{
		{"iam", "CreateRole", "Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=3600&Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=b&Tags.member.2.Value=",
			`{"AssumeRolePolicyDocument":"{}","MaxSessionDuration":3600,"RoleName":"r","Tags":[{"Key":"a","Value":"1"},{"Key":"b","Value":""}]}`},
		{"iam", "ListRoles", "MaxItems=10&Marker=m&PathPrefix=/", `{"Marker":"m","MaxItems":10,"PathPrefix":"/"}`},
		{"iam", "CreatePolicy", "PolicyName=p&PolicyDocument=%7B%7D&Tags=", `{"PolicyDocument":"{}","PolicyName":"p","Tags":[]}`},
		{"sts", "AssumeRole", "RoleArn=arn:aws:iam::111122223333:role/R&RoleSessionName=s1&PolicyArns.member.1.arn=arn:aws:iam::aws:policy/ReadOnlyAccess&DurationSeconds=900",
			`{"DurationSeconds":900,"PolicyArns":[{"arn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}],"RoleArn":"arn:aws:iam::111122223333:role/R","RoleSessionName":"s1"}`},
	}
	for _, tc := range tests {
		t.Run(tc.op, func(t *testing.T) {
			svc := testService(t, tc.service)
			op := svc.Model.Operations[tc.op]
			vals, err := url.ParseQuery(tc.form)
			if err != nil {
				t.Fatal(err)
			}
			var c checker
			v := decodeQuery(&c, vals, op.Input)
			if c.typeErr != "" || len(c.violations) > 0 {
				t.Fatalf("decode: %q %v", c.typeErr, c.violations)
			}
			got, aerr := validateInput(svc, op, v)
			if aerr != nil {
				t.Fatal(aerr)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestValidationMessages(t *testing.T) {
	tests := []struct {
		service, op, body string
		wantCode, wantMsg string
	}{
		{"sagemaker", "CreateModelPackageGroup", `{"ModelPackageGroupName":"` + strings.Repeat("a", 64) + `"}`, "ValidationException",
			"2 validation errors detected: Value '" + strings.Repeat("a", 64) + "' at 'modelPackageGroupName' failed to satisfy constraint: Member must have length less than or equal to 63; " +
				"Value '" + strings.Repeat("a", 64) + "' at 'modelPackageGroupName' failed to satisfy constraint: Member must be 1 to 63 letters, digits and hyphens, starting and ending with a letter or digit (regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})"},
		{"sagemaker", "CreateModelPackageGroup", `{"ModelPackageGroupName":"ok","Tags":[{"Key":"","Value":"v"}]}`, "ValidationException",
			"1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"sagemaker", "ListModelPackages", `{"ModelApprovalStatus":"Maybe","MaxResults":101}`, "ValidationException",
			"2 validation errors detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100; Value 'Maybe' at 'modelApprovalStatus' failed to satisfy constraint: Member must satisfy enum value set: [Approved, Rejected, PendingManualApproval]"},
		{"sagemaker", "ListModelPackages", `{"CreationTimeAfter":"yesterday"}`, "SerializationException", "Expected a timestamp at 'creationTimeAfter' but found a string"},
		{"sagemaker", "ListModelPackages", `{"MaxResults":1.5}`, "SerializationException", "Expected an integer at 'maxResults' but found a number"},
		{"sagemaker", "ListModelPackages", `[]`, "SerializationException", "Expected a structure at '' but found a list"},
		{"organizations", "DescribeAccount", `{"AccountId":"12"}`, "InvalidInputException",
			"1 validation error detected: Value '12' at 'accountId' failed to satisfy constraint: Member must be an account id: 12 digits (regular expression pattern: ^\\d{12}$)"},
	}
	for _, tc := range tests {
		t.Run(tc.wantMsg[:20], func(t *testing.T) {
			svc := testService(t, tc.service)
			op := svc.Model.Operations[tc.op]
			v, err := decodeJSONValue([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			_, aerr := validateInput(svc, op, v)
			if aerr == nil {
				t.Fatal("no error")
			}
			if aerr.Code != tc.wantCode || aerr.Message != tc.wantMsg || aerr.Status != 400 {
				t.Errorf("got %d %s %q\nwant %s %q", aerr.Status, aerr.Code, aerr.Message, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

func TestCanonicalTimestamps(t *testing.T) {
	svc := testService(t, "sagemaker")
	op := svc.Model.Operations["ListModelPackages"]
	for in, want := range map[string]string{
		`1767323045`:                  `"2026-01-02T03:04:05Z"`,
		`1767323045.5`:                `"2026-01-02T03:04:05.5Z"`,
		`"2026-01-02T03:04:05Z"`:      `"2026-01-02T03:04:05Z"`,
		`"2026-01-02T04:04:05+01:00"`: `"2026-01-02T03:04:05Z"`,
	} {
		v, err := decodeJSONValue([]byte(`{"CreationTimeAfter":` + in + `}`))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		got, aerr := validateInput(svc, op, v)
		if aerr != nil {
			t.Fatalf("%s: %v", in, aerr)
		}
		if w := `{"CreationTimeAfter":` + want + `}`; string(got) != w {
			t.Errorf("%s: got %s, want %s", in, got, w)
		}
	}
}

func TestRESTRouting(t *testing.T) {
	m := mustModel(t, "sagemaker-runtime")
	op := m.Operations["InvokeEndpoint"]
	tests := []struct {
		path  string
		match bool
		name  string
	}{
		{"/endpoints/my-ep/invocations", true, "my-ep"},
		{"/endpoints/my%2Dep/invocations", true, "my-ep"},
		{"/endpoints//invocations", false, ""},
		{"/endpoints/a/b/invocations", false, ""},
		{"/endpoints/a/invocations/extra", false, ""},
		{"/", false, ""},
	}
	for _, tc := range tests {
		labels, ok := op.matchPath(tc.path)
		if ok != tc.match || ok && labels["EndpointName"] != tc.name {
			t.Errorf("matchPath(%q) = %v, %v; want %v %q", tc.path, labels, ok, tc.match, tc.name)
		}
	}
	// Header bindings and the blob payload decode into canonical input.
	r := httptest.NewRequest("POST", "/endpoints/ep/invocations", strings.NewReader("a,b"))
	r.Header.Set("Content-Type", "text/csv")
	r.Header.Set("X-Amzn-SageMaker-Target-Variant", "v1")
	var c checker
	v, err := decodeREST(&c, op, map[string]string{"EndpointName": "ep"}, r, []byte("a,b"), false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"EndpointName": "ep", "ContentType": "text/csv", "TargetVariant": "v1", "Body": "YSxi"}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	// The output's header members become headers and the blob payload the body.
	h := http.Header{}
	enc := &encoder{fields: &fieldCache{}}
	body, ct := enc.rest(h, op, reflect.ValueOf(map[string]any{"Body": "eCx5", "ContentType": "text/csv", "CustomAttributes": "c=1"}))
	if string(body) != "x,y" || ct != "application/octet-stream" || h.Get("Content-Type") != "text/csv" || h.Get("X-Amzn-SageMaker-Custom-Attributes") != "c=1" {
		t.Errorf("writeREST = %q %q %v", body, ct, h)
	}
}

func TestModelsLoad(t *testing.T) {
	want := map[string]int{"sagemaker": 63, "iam": 32, "sts": 2, "organizations": 18, "sagemaker-runtime": 1, "events": 31, "cloudformation": 31, "codepipeline": 15, "codebuild": 9, "cloudwatch": 10}
	for name, n := range want {
		m := mustModel(t, name)
		if len(m.Operations) != n {
			t.Errorf("%s: %d operations, want %d", name, len(m.Operations), n)
		}
		if len(m.SkippedPatterns) > 0 {
			t.Logf("%s: %d patterns not enforced: %v", name, len(m.SkippedPatterns), m.SkippedPatterns)
		}
		if len(m.RelaxedPatterns) > 0 {
			t.Logf("%s: %d patterns enforced in a relaxed form: %v", name, len(m.RelaxedPatterns), m.RelaxedPatterns)
		}
	}
	if _, err := LoadModel("nope"); err == nil {
		t.Error("LoadModel(nope) succeeded")
	}
}

func TestWriteStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "<a&b>", "tab\tnl\ncr\r\x00\x1f", "é ሴ 😀", "bad\xffutf8", "\u2028\u2029"} {
		var buf bytes.Buffer
		writeString(&buf, s)
		want, _ := json.Marshal(s)
		if buf.String() != string(want) {
			t.Errorf("writeString(%q) = %s, want %s", s, buf.String(), want)
		}
	}
}
