package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// v2Call sends a request of the Open Inference Protocol to the server of c, signed (SigV4,
// service "sagemaker") with c's credentials unless unsigned; it returns the status and body.
func v2Call(ctx context.Context, c clients, method, path string, body []byte, unsigned bool) (int, []byte, error) {
	status, b, _, err := v2Do(ctx, c, method, path, body, unsigned)
	return status, b, err
}

// v2Do is v2Call that also returns the AWS error type of a refusal (X-Amzn-ErrorType).
func v2Do(ctx context.Context, c clients, method, path string, body []byte, unsigned bool) (int, []byte, string, error) {
	o := c.rt.Options()
	req, err := http.NewRequestWithContext(ctx, method, aws.ToString(o.BaseEndpoint)+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !unsigned {
		creds, err := o.Credentials.Retrieve(ctx)
		if err != nil {
			return 0, nil, "", err
		}
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sagemaker", "us-east-1", time.Now()); err != nil {
			return 0, nil, "", err
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	typ, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Errortype"), ":")
	return resp.StatusCode, b, typ, err
}

// v2Infer is the authorization case of V2Infer: two rows through the linear model.
func v2Infer(ctx context.Context, c clients, endpoint string) error {
	status, b, typ, err := v2Do(ctx, c, "POST", "/v2/models/"+endpoint+"/infer",
		[]byte(`{"id":"r1","inputs":[{"name":"input-0","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]}]}`), false)
	if err != nil {
		return err
	}
	if status != 200 {
		return &v2Error{status, string(b), typ}
	}
	var out struct {
		ID        string
		ModelName string `json:"model_name"`
		Outputs   []struct {
			Name  string
			Shape []int
			Data  []float64
		}
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Outputs) != 1 || fmt.Sprint(out.Outputs[0].Data) != "[6 12]" {
		return fmt.Errorf("V2 infer answered %s (%v), want predictions 6 and 12", b, err)
	}
	return nil
}

// v2Error is a refusal seen through the protocol; an AWS refusal keeps its code in the body.
type v2Error struct {
	status    int
	body, typ string
}

func (e *v2Error) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }

// ErrorCode lets the authorization tests read a refusal's AWS error code.
func (e *v2Error) ErrorCode() string             { return e.typ }
func (e *v2Error) ErrorMessage() string          { return e.body }
func (e *v2Error) ErrorFault() smithy.ErrorFault { return smithy.FaultUnknown }

func v2Get(ctx context.Context, c clients, path string) error {
	status, b, typ, err := v2Do(ctx, c, "GET", path, nil, false)
	if err == nil && status != 200 {
		err = &v2Error{status, string(b), typ}
	}
	return err
}

// TestServingOpenInferenceProtocol: an endpoint answers the Open Inference Protocol (KServe V2)
// on the same server, signed as InvokeEndpoint is: infer, model readiness and metadata; the
// server's health unsigned; the model's refusals in the protocol's shape; an unsigned call,
// another account and a missing endpoint refused.
func TestServingOpenInferenceProtocol(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	v := e.endpoint()
	name := v["EndpointName"]
	if err := v2Infer(ctx, e.admin, name); err != nil {
		t.Fatal(err)
	}
	status, b, err := v2Call(ctx, e.admin, "GET", "/v2/models/"+name+"/ready", nil, false)
	if err != nil || status != 200 || string(b) != `{"ready":true}` {
		t.Errorf("ready: %d %s %v", status, b, err)
	}
	status, b, err = v2Call(ctx, e.admin, "GET", "/v2/models/"+name, nil, false)
	var md struct {
		Name     string
		Platform string
		Inputs   []struct{ Name, Datatype string }
	}
	if err != nil || status != 200 || json.Unmarshal(b, &md) != nil || md.Name != name || md.Platform != "slipway/linear" || len(md.Inputs) != 1 {
		t.Errorf("metadata: %d %s %v", status, b, err)
	}
	for _, p := range []string{"/v2/health/live", "/v2/health/ready"} {
		resp, err := http.Get(s.url + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s: %v %v", p, resp, err)
		} else {
			resp.Body.Close()
		}
	}

	// Bad tensors: 400 in the protocol's shape, naming what is wrong.
	for body, want := range map[string]string{
		`{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`:    "expects 2",
		`{"inputs":[{"name":"x","shape":[1,2],"datatype":"BYTES","data":["a","b"]}]}`: "BYTES",
		`{"inputs":[]}`: "",
		`not json`:      "",
	} {
		status, b, err := v2Call(ctx, e.admin, "POST", "/v2/models/"+name+"/infer", []byte(body), false)
		var er struct{ Error string }
		if err != nil || status != 400 || json.Unmarshal(b, &er) != nil || er.Error == "" || !strings.Contains(er.Error, want) {
			t.Errorf("infer %s: %d %s %v, want 400 {\"error\": ...%s...}", body, status, b, err, want)
		}
	}

	// Unsigned, another account, a missing endpoint: refused, the AWS way.
	if status, b, _ := v2Call(ctx, e.admin, "POST", "/v2/models/"+name+"/infer", []byte(`{"inputs":[]}`), true); status != 403 {
		t.Errorf("unsigned infer: %d %s", status, b)
	}
	other := clientsOf(s.cfg("staging"))
	if err := v2Infer(ctx, other, name); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("another account's infer: %v", err)
	}
	if status, b, _ := v2Call(ctx, e.admin, "GET", "/v2/models/nope/ready", nil, false); status != 400 {
		t.Errorf("ready of a missing endpoint: %d %s", status, b)
	}
}
