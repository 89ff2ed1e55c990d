// Package slipwayclient calls Slipway's own API operations — the few the AWS SDKs do not know,
// served beside the AWS operations they extend (see internal/awsapi/sagemakerapi/explain.go) —
// as signed awsJson1_1 requests, with an aws-sdk-go-v2 configuration's endpoint and credentials.
package slipwayclient

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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client calls Slipway's operations.
type Client struct {
	cfg  aws.Config
	http *http.Client
}

// New returns a client of cfg's BaseEndpoint, region and credentials.
func New(cfg aws.Config) *Client {
	return &Client{cfg: cfg, http: &http.Client{Timeout: time.Minute}}
}

// Error is an error answered by the server, in the awsJson1_1 error shape.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// call sends operation of service (its target prefix and signing name) with input and decodes
// the answer into out.
func (c *Client) call(ctx context.Context, target, signingName, operation string, input, out any) error {
	if c.cfg.BaseEndpoint == nil || *c.cfg.BaseEndpoint == "" {
		return fmt.Errorf("no endpoint: Slipway's operations need the server's URL")
	}
	body, err := json.Marshal(input)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(*c.cfg.BaseEndpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target+"."+operation)
	if c.cfg.Credentials == nil {
		return fmt.Errorf("no credentials")
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("cannot get credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingName, c.cfg.Region, time.Now()); err != nil {
		return fmt.Errorf("cannot sign the request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
			Msg     string `json:"Message"`
		}
		_ = json.Unmarshal(raw, &e)
		code := e.Type
		if i := strings.LastIndex(code, "#"); i >= 0 {
			code = code[i+1:]
		}
		return &Error{Status: resp.StatusCode, Code: code, Message: e.Message + e.Msg}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// Difference is one argument path where a step's cache arguments differ, each side's value
// as JSON text ("" when the side lacks the member).
type Difference struct {
	Path   string
	Before string `json:",omitempty"`
	After  string `json:",omitempty"`
}

// CacheExplanation is SlipwayExplainPipelineStepCache's answer.
type CacheExplanation struct {
	PipelineExecutionArn string
	StepName             string
	// CacheKey is empty when caching is not enabled for the step.
	CacheKey       string `json:",omitempty"`
	CacheHitResult *struct {
		SourcePipelineExecutionArn string
	} `json:",omitempty"`
	// ComparedPipelineExecutionArn is the earlier execution compared with ("" when none).
	ComparedPipelineExecutionArn string `json:",omitempty"`
	ComparedCacheKey             string `json:",omitempty"`
	Expired                      bool
	Differences                  []Difference
}

// ExplainPipelineStepCache asks why a step of an execution hit or missed the step cache.
func (c *Client) ExplainPipelineStepCache(ctx context.Context, executionARN, step string) (CacheExplanation, error) {
	var out CacheExplanation
	err := c.call(ctx, "SageMaker", "sagemaker", "SlipwayExplainPipelineStepCache",
		map[string]string{"PipelineExecutionArn": executionARN, "StepName": step}, &out)
	return out, err
}
