package serving

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"mime"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/inference"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Data capture: an endpoint configuration's DataCaptureConfig asks that a share of the
// invocations be recorded, input and/or output, as SageMaker's capture JSON Lines under
// DestinationS3Uri/EndpointName/VariantName/yyyy/mm/dd/hh/<uuid>.jsonl. An invocation appends its
// record to the capturer's local spool before it is answered (capture_spool.go); a background
// uploader writes the spool's segments to the destination as the variant's model execution role.

// CaptureConfig is a DataCaptureConfig, validated (ParseCaptureConfig).
type CaptureConfig struct {
	EnableCapture             bool
	InitialSamplingPercentage int
	DestinationS3Uri          string
	CaptureOptions            []CaptureOption
	CaptureContentTypeHeader  *ContentTypeHeader `json:",omitempty"`
	KmsKeyId                  string             `json:",omitempty"`

	bucket, prefix string
	input, output  bool
}

// CaptureOption is one CaptureOptions entry: CaptureMode Input or Output.
type CaptureOption struct{ CaptureMode string }

// ContentTypeHeader lists the content types captured as text (CSV or JSON); others are
// captured base64-encoded.
type ContentTypeHeader struct {
	CsvContentTypes  []string `json:",omitempty"`
	JsonContentTypes []string `json:",omitempty"`
}

// CaptureStatus is DescribeEndpoint's DataCaptureConfig.CaptureStatus.
func (c *CaptureConfig) CaptureStatus() string {
	if c.EnableCapture {
		return "Started"
	}
	return "Stopped"
}

// Bucket and Prefix are DestinationS3Uri's parts (the prefix without its trailing slash).
func (c *CaptureConfig) Bucket() string { return c.bucket }

// Prefix returns the key prefix of DestinationS3Uri.
func (c *CaptureConfig) Prefix() string { return c.prefix }

// ParseCaptureConfig reads and validates a DataCaptureConfig; nil raw gives nil.
func ParseCaptureConfig(raw json.RawMessage) (*CaptureConfig, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var wire struct {
		EnableCapture             *bool
		InitialSamplingPercentage *int
		DestinationS3Uri          string
		KmsKeyId                  string
		CaptureOptions            []CaptureOption
		CaptureContentTypeHeader  *ContentTypeHeader
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&wire); err != nil {
		return nil, invalid("DataCaptureConfig does not decode: %v", err)
	}
	c := &CaptureConfig{EnableCapture: true, DestinationS3Uri: wire.DestinationS3Uri, CaptureContentTypeHeader: wire.CaptureContentTypeHeader}
	if wire.EnableCapture != nil {
		c.EnableCapture = *wire.EnableCapture
	}
	if wire.KmsKeyId != "" {
		return nil, invalid("DataCaptureConfig.KmsKeyId is not supported: captured data is written with the artifact store's own encryption at rest; remove KmsKeyId")
	}
	if wire.InitialSamplingPercentage == nil {
		return nil, invalid("DataCaptureConfig.InitialSamplingPercentage is required (0 to 100)")
	}
	if p := *wire.InitialSamplingPercentage; p < 0 || p > 100 {
		return nil, invalid("DataCaptureConfig.InitialSamplingPercentage must be 0 to 100; it is %d", p)
	}
	c.InitialSamplingPercentage = *wire.InitialSamplingPercentage
	u, ok := strings.CutPrefix(wire.DestinationS3Uri, "s3://")
	if !ok || len(wire.DestinationS3Uri) > 512 {
		return nil, invalid("DataCaptureConfig.DestinationS3Uri must be an s3:// URI of at most 512 characters; it is %q", wire.DestinationS3Uri)
	}
	c.bucket, c.prefix, _ = strings.Cut(u, "/")
	c.prefix = strings.Trim(c.prefix, "/")
	if c.bucket == "" || strings.ContainsAny(c.bucket, " \\") {
		return nil, invalid("DataCaptureConfig.DestinationS3Uri %q names no bucket", wire.DestinationS3Uri)
	}
	if len(wire.CaptureOptions) < 1 || len(wire.CaptureOptions) > 2 {
		return nil, invalid("DataCaptureConfig.CaptureOptions must hold 1 or 2 entries; it holds %d", len(wire.CaptureOptions))
	}
	for _, o := range wire.CaptureOptions {
		switch o.CaptureMode {
		case "Input":
			c.input = true
		case "Output":
			c.output = true
		default:
			return nil, invalid("DataCaptureConfig.CaptureOptions: CaptureMode must be Input or Output; it is %q", o.CaptureMode)
		}
	}
	c.CaptureOptions = wire.CaptureOptions
	if h := c.CaptureContentTypeHeader; h != nil {
		if len(h.CsvContentTypes) > 10 || len(h.JsonContentTypes) > 10 {
			return nil, invalid("DataCaptureConfig.CaptureContentTypeHeader: at most 10 CsvContentTypes and 10 JsonContentTypes")
		}
		for _, t := range append(append([]string{}, h.CsvContentTypes...), h.JsonContentTypes...) {
			if t == "" || len(t) > 256 {
				return nil, invalid("DataCaptureConfig.CaptureContentTypeHeader: content type %q must be 1 to 256 characters", t)
			}
		}
	}
	return c, nil
}

// encoding is how a payload of content type ct is captured: CSV or JSON (the text itself) when
// CaptureContentTypeHeader lists its media type, BASE64 otherwise.
func (c *CaptureConfig) encoding(ct string) string {
	h := c.CaptureContentTypeHeader
	if h == nil {
		return "BASE64"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.TrimSpace(ct)
	}
	for _, t := range h.CsvContentTypes {
		if strings.EqualFold(t, mt) || strings.EqualFold(t, ct) {
			return "CSV"
		}
	}
	for _, t := range h.JsonContentTypes {
		if strings.EqualFold(t, mt) || strings.EqualFold(t, ct) {
			return "JSON"
		}
	}
	return "BASE64"
}

// capture is one sampled invocation of an endpoint's variant.
type capture struct {
	account, endpoint, variant, role string
	cfg                              *CaptureConfig
	at                               time.Time
	req                              inference.Request
	resp                             inference.Response
}

// dir is the key prefix of r's file: prefix/EndpointName/VariantName/yyyy/mm/dd/hh.
func (r *capture) dir() string {
	p := r.endpoint + "/" + r.variant + "/" + r.at.UTC().Format("2006/01/02/15")
	if r.cfg.prefix != "" {
		p = r.cfg.prefix + "/" + p
	}
	return p
}

type captureData struct {
	ObservedContentType string `json:"observedContentType"`
	Mode                string `json:"mode"`
	Data                string `json:"data"`
	Encoding            string `json:"encoding"`
}

func (r *capture) payload(mode, ct string, body []byte) *captureData {
	enc := r.cfg.encoding(ct)
	d := &captureData{ObservedContentType: ct, Mode: mode, Encoding: enc}
	if enc == "BASE64" {
		d.Data = base64.StdEncoding.EncodeToString(body)
	} else {
		d.Data = string(body)
	}
	return d
}

// encode appends r as one line of SageMaker's capture format.
func (r *capture) encode(w *bytes.Buffer) {
	var rec struct {
		CaptureData struct {
			EndpointInput  *captureData `json:"endpointInput,omitempty"`
			EndpointOutput *captureData `json:"endpointOutput,omitempty"`
		} `json:"captureData"`
		EventMetadata struct {
			EventID          string `json:"eventId"`
			InferenceID      string `json:"inferenceId,omitempty"`
			CustomAttributes string `json:"customAttributes,omitempty"`
			InferenceTime    string `json:"inferenceTime"`
		} `json:"eventMetadata"`
		EventVersion string `json:"eventVersion"`
	}
	if r.cfg.input {
		rec.CaptureData.EndpointInput = r.payload("INPUT", r.req.ContentType, r.req.Body)
	}
	if r.cfg.output {
		rec.CaptureData.EndpointOutput = r.payload("OUTPUT", r.resp.ContentType, r.resp.Body)
	}
	rec.EventMetadata.EventID = randid.UUID()
	rec.EventMetadata.InferenceID = r.req.InferenceID
	rec.EventMetadata.CustomAttributes = r.req.CustomAttributes
	rec.EventMetadata.InferenceTime = r.at.UTC().Format("2006-01-02T15:04:05.000Z")
	rec.EventVersion = "0"
	json.NewEncoder(w).Encode(&rec) // strings and structs only: cannot fail; ends with a newline
}

// captureState is what an endpoint's deployment captures, cached by the service per endpoint.
type captureState struct {
	config     string
	deployment int
	cfg        *CaptureConfig    // nil: nothing is captured
	roles      map[string]string // variant name → its model's execution role
}

// captureOf returns what endpoint e captures, read once per deployment.
func (s *Service) captureOf(ctx context.Context, e Endpoint) *captureState {
	if v, ok := s.captures.Load(e.ARN); ok {
		st := v.(*captureState)
		if st.config == e.ConfigName && st.deployment == e.Deployment {
			return st
		}
	}
	st := &captureState{config: e.ConfigName, deployment: e.Deployment}
	cfg, err := s.store.GetConfig(ctx, e.Account, e.ConfigName)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return st // not cached: the next invocation reads again
	}
	// A configuration deleted since the deployment captures nothing.
	st.cfg, err = ParseCaptureConfig(cfg.DataCapture)
	if err != nil || st.cfg == nil || !st.cfg.EnableCapture {
		st.cfg = nil
	} else {
		st.roles = map[string]string{}
		for _, v := range cfg.Variants {
			if m, err := s.store.GetModel(ctx, e.Account, v.ModelName); err == nil {
				st.roles[v.VariantName] = m.ExecutionRoleARN
			}
		}
	}
	s.captures.Store(e.ARN, st)
	return st
}

// capture records the invocation of e answered by variant, if e samples it: its record is in
// the spool (the page cache) when capture returns, so before the invocation is answered.
func (s *Service) capture(ctx context.Context, e Endpoint, variant string, req inference.Request, resp inference.Response) {
	if s.capturer == nil {
		return
	}
	st := s.captureOf(ctx, e)
	if st.cfg == nil || st.cfg.InitialSamplingPercentage == 0 || rand.IntN(100) >= st.cfg.InitialSamplingPercentage {
		return
	}
	// The record is encoded here, while the bodies are still the call's: nothing is kept.
	s.capturer.offer(&capture{account: e.Account, endpoint: e.Name, variant: variant, role: st.roles[variant], cfg: st.cfg, at: time.Now(),
		req: req, resp: resp})
}

// EndpointCapture returns the data capture of an endpoint as DescribeEndpoint shows it (nil:
// its configuration captures nothing). The endpoint must have been authorized already.
func (s *Service) EndpointCapture(ctx context.Context, e Endpoint) (*CaptureConfig, error) {
	cfg, err := s.store.GetConfig(ctx, e.Account, e.ConfigName)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseCaptureConfig(cfg.DataCapture)
}
