package awsapi

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slipway-ml/slipway/internal/awsapi/sigv4"
)

// rawCall is one hand-built HTTP request, signed (unless unsigned) with aws-sdk-go-v2's signer.
type rawCall struct {
	method   string
	path     string
	body     string
	header   map[string]string
	service  string // signing scope service
	region   string // signing scope region, default us-east-1
	at       time.Time
	akid     string
	secret   string
	token    string
	unsigned bool
	mutate   func(*http.Request)
}

func (env *testEnv) do(t *testing.T, c rawCall) (*http.Response, []byte) {
	t.Helper()
	if c.method == "" {
		c.method = "POST"
	}
	if c.path == "" {
		c.path = "/"
	}
	if c.akid == "" {
		c.akid, c.secret = testAKID, testSecret
	}
	if c.at.IsZero() {
		c.at = time.Now()
	}
	if c.region == "" {
		c.region = "us-east-1"
	}
	r, err := http.NewRequest(c.method, env.http.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	if !c.unsigned {
		creds := aws.Credentials{AccessKeyID: c.akid, SecretAccessKey: c.secret, SessionToken: c.token}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sigv4.HashHex([]byte(c.body)), c.service, c.region, c.at); err != nil {
			t.Fatal(err)
		}
	}
	if c.mutate != nil {
		c.mutate(r)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

type jsonErr struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

type queryErr struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func smJSON(op string) map[string]string {
	return map[string]string{"X-Amz-Target": "SageMaker." + op, "Content-Type": "application/x-amz-json-1.1"}
}

var form = map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

func TestJSONProtocolErrors(t *testing.T) {
	env := newTestEnv(t, nil, sagemakerHandlers())
	tests := []struct {
		name       string
		call       rawCall
		wantStatus int
		wantType   string
		wantMsg    string // substring
	}{
		{"unsigned", rawCall{body: `{}`, header: smJSON("DescribeModelPackageGroup"), unsigned: true}, 403, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"signed for another service", rawCall{body: `{"ModelPackageGroupName":"a"}`, header: smJSON("DescribeModelPackageGroup"), service: "iam"}, 403, "InvalidSignatureException", "Credential should be scoped to correct service: 'sagemaker'"},
		{"signed for another region", rawCall{body: `{"ModelPackageGroupName":"a"}`, header: smJSON("DescribeModelPackageGroup"), service: "sagemaker", region: "eu-west-1"}, 403, "InvalidSignatureException", "Credential should be scoped to a valid region: 'us-east-1'"},
		{"signature expired", rawCall{body: `{"ModelPackageGroupName":"a"}`, header: smJSON("DescribeModelPackageGroup"), service: "sagemaker", at: time.Now().Add(-20 * time.Minute)}, 403, "InvalidSignatureException", "Signature expired"},
		{"incomplete", rawCall{body: `{}`, header: map[string]string{"X-Amz-Target": "SageMaker.ListModelPackageGroups", "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sagemaker/aws4_request", "X-Amz-Date": "20260101T000000Z"}, unsigned: true}, 400, "IncompleteSignatureException", "requires 'Signature'"},
		{"unknown target prefix", rawCall{body: `{}`, header: map[string]string{"X-Amz-Target": "DynamoDB_20120810.ListTables"}, service: "dynamodb"}, 400, "UnknownOperationException", "DynamoDB_20120810.ListTables"},
		{"unknown operation", rawCall{body: `{}`, header: smJSON("CreateDomain"), service: "sagemaker"}, 400, "UnknownOperationException", "CreateDomain"},
		{"malformed JSON", rawCall{body: `{"ModelPackageGroupName":`, header: smJSON("DescribeModelPackageGroup"), service: "sagemaker"}, 400, "SerializationException", "not valid JSON"},
		{"wrong type", rawCall{body: `{"ModelPackageGroupName":5}`, header: smJSON("DescribeModelPackageGroup"), service: "sagemaker"}, 400, "SerializationException", "modelPackageGroupName"},
		{"two violations", rawCall{body: `{"MaxResults":0,"SortBy":"Size"}`, header: smJSON("ListModelPackageGroups"), service: "sagemaker"}, 400, "ValidationException",
			"2 validation errors detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; Value 'Size' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [Name, CreationTime]"},
		{"missing required", rawCall{body: `{}`, header: smJSON("DescribeModelPackageGroup"), service: "sagemaker"}, 400, "ValidationException",
			"1 validation error detected: Value null at 'modelPackageGroupName' failed to satisfy constraint: Member must not be null"},
		{"too large", rawCall{body: `{"ModelPackageGroupName":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}`, header: smJSON("DescribeModelPackageGroup"), service: "sagemaker"}, 413, "RequestEntityTooLarge", "must not exceed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.do(t, tc.call)
			var e jsonErr
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if resp.StatusCode != tc.wantStatus || e.Type != tc.wantType || !strings.Contains(e.Message, tc.wantMsg) {
				t.Errorf("got %d %s %q, want %d %s containing %q", resp.StatusCode, e.Type, e.Message, tc.wantStatus, tc.wantType, tc.wantMsg)
			}
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != tc.wantType {
				t.Errorf("X-Amzn-ErrorType = %q", got)
			}
			id := resp.Header.Get("X-Amzn-RequestId")
			if len(id) != 36 {
				t.Errorf("request id %q", id)
			}
			rec := env.audit.last()
			// Calls rejected before or by authentication have no account in the audit trail.
			authFailed := tc.wantStatus == 403 || tc.wantStatus == 413 || strings.Contains(tc.wantType, "Signature") || tc.name == "unknown target prefix"
			if rec.RequestID != id || rec.HTTPStatus != tc.wantStatus || rec.ErrorCode != tc.wantType || (rec.Account == "") != authFailed {
				t.Errorf("audit record %+v", rec)
			}
			if strings.Contains(string(body), testSecret) {
				t.Error("response leaks the secret")
			}
		})
	}
}

func TestQueryProtocolErrors(t *testing.T) {
	env := newTestEnv(t, nil, iamHandlers())
	tests := []struct {
		name       string
		call       rawCall
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"unsigned", rawCall{body: "Action=GetRole&Version=2010-05-08&RoleName=a", header: form, unsigned: true}, 403, "MissingAuthenticationToken", "missing Authentication Token"},
		{"wrong secret", rawCall{body: "Action=GetRole&Version=2010-05-08&RoleName=a", header: form, service: "iam", secret: "x", akid: testAKID}, 403, "SignatureDoesNotMatch", "does not match"},
		{"unknown key", rawCall{body: "Action=GetRole&Version=2010-05-08&RoleName=a", header: form, service: "iam", akid: "AKIDNOBODY", secret: "x"}, 403, "InvalidClientTokenId", "security token included in the request is invalid"},
		{"expired temporary key", rawCall{body: "Action=GetRole&Version=2010-05-08&RoleName=a", header: form, service: "iam", akid: expiredAKID, secret: tempSecret, token: tempToken}, 403, "ExpiredToken", "expired"},
		{"unknown action", rawCall{body: "Action=CreateGroup&Version=2010-05-08&GroupName=a", header: form, service: "iam"}, 400, "InvalidAction", "CreateGroup"},
		{"wrong version", rawCall{body: "Action=GetRole&Version=2011-06-15&RoleName=a", header: form, service: "iam"}, 400, "InvalidAction", "2011-06-15"},
		{"bad integer", rawCall{body: "Action=ListRoles&Version=2010-05-08&MaxItems=many", header: form, service: "iam"}, 400, "ValidationError", "'maxItems'"},
		{"out of range", rawCall{body: "Action=ListRoles&Version=2010-05-08&MaxItems=0", header: form, service: "iam"}, 400, "ValidationError",
			"1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"any region for global services", rawCall{body: "Action=GetRole&Version=2010-05-08&RoleName=nope", header: form, service: "iam", region: "eu-west-1"}, 404, "NoSuchEntity", "cannot be found"},
		{"service not served", rawCall{body: "Action=DescribeDBInstances&Version=2014-10-31", header: form, service: "rds"}, 400, "InvalidAction", "rds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.do(t, tc.call)
			var e queryErr
			if err := xml.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if resp.StatusCode != tc.wantStatus || e.Code != tc.wantCode || !strings.Contains(e.Message, tc.wantMsg) || e.Type != "Sender" {
				t.Errorf("got %d %s/%s %q, want %d %s containing %q", resp.StatusCode, e.Type, e.Code, e.Message, tc.wantStatus, tc.wantCode, tc.wantMsg)
			}
			if e.RequestID != resp.Header.Get("X-Amzn-RequestId") || e.RequestID == "" {
				t.Errorf("RequestId %q vs header %q", e.RequestID, resp.Header.Get("X-Amzn-RequestId"))
			}
		})
	}
}

func TestQueryGETAndPresigned(t *testing.T) {
	env := newTestEnv(t, nil, map[string]func(*Request) (any, error){
		"sts/GetCallerIdentity": func(r *Request) (any, error) {
			return map[string]string{"UserId": r.Caller.UserID, "Account": r.Caller.Account, "Arn": r.Caller.ARN}, nil
		},
	})
	r, _ := http.NewRequest("GET", env.http.URL+"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=300", nil)
	uri, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
		r, sigv4.HashHex(nil), "sts", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", uri, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out struct {
		Arn     string `xml:"GetCallerIdentityResult>Arn"`
		Account string `xml:"GetCallerIdentityResult>Account"`
	}
	if err := xml.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s: %v", resp.StatusCode, b, err)
	}
	if out.Arn != "arn:aws:iam::111122223333:user/alice" || out.Account != "111122223333" {
		t.Errorf("got %+v from %s", out, b)
	}
}

func TestMetrics(t *testing.T) {
	env := newTestEnv(t, nil, sagemakerHandlers())
	env.do(t, rawCall{body: `{"ModelPackageGroupName":"a"}`, header: smJSON("DescribeModelPackageGroup"), service: "sagemaker"})
	env.do(t, rawCall{body: `{"ModelPackageGroupName":"a"}`, header: smJSON("DescribeModelPackageGroup"), service: "sagemaker"})
	env.do(t, rawCall{body: `{}`, header: smJSON("DescribeModelPackageGroup"), unsigned: true})
	if got := testutil.ToFloat64(env.srv.metrics.requests.WithLabelValues("sagemaker", "DescribeModelPackageGroup", "200")); got != 2 {
		t.Errorf("200s = %v, want 2", got)
	}
	if got := testutil.ToFloat64(env.srv.metrics.requests.WithLabelValues("sagemaker", "DescribeModelPackageGroup", "403")); got != 1 {
		t.Errorf("403s = %v, want 1", got)
	}
	n, err := testutil.GatherAndCount(env.reg, "slipway_api_request_duration_seconds")
	if err != nil || n != 1 {
		t.Errorf("duration series = %d, %v", n, err)
	}
}

func TestHandlerPanicIsInternalFailure(t *testing.T) {
	env := newTestEnv(t, nil, map[string]func(*Request) (any, error){
		"sagemaker/ListModelPackageGroups": func(r *Request) (any, error) { panic("bug") },
	})
	resp, body := env.do(t, rawCall{body: `{}`, header: smJSON("ListModelPackageGroups"), service: "sagemaker"})
	if resp.StatusCode != 500 || !strings.Contains(string(body), "InternalFailure") || strings.Contains(string(body), "bug") {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
}

var _ = httptest.NewRecorder

func TestRuntimeSigningScope(t *testing.T) {
	env := newTestEnv(t, nil, map[string]func(*Request) (any, error){
		"sagemaker-runtime/InvokeEndpoint": func(r *Request) (any, error) { return map[string]any{"Body": r.Body}, nil },
	})
	tests := []struct {
		name       string
		service    string
		wantStatus int
		wantType   string
	}{
		{"signed as sagemaker", "sagemaker", 200, ""},
		{"signed as sagemaker-runtime", "sagemaker-runtime", 403, "InvalidSignatureException"},
		{"replayed from iam", "iam", 403, "InvalidSignatureException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.do(t, rawCall{path: "/endpoints/ep/invocations", body: "1,2", header: map[string]string{"Content-Type": "text/csv"}, service: tc.service})
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("X-Amzn-ErrorType") != tc.wantType {
				t.Errorf("got %d %q %s, want %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, tc.wantStatus, tc.wantType)
			}
			if tc.wantStatus == 200 && string(body) != "1,2" {
				t.Errorf("body %q", body)
			}
		})
	}
}
