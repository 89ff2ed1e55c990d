package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/serving"
)

// EndpointQuery is what an endpoint page's query asks: the charts' window and how many
// data capture samples to show.
type EndpointQuery struct {
	Minutes int // 5 to maxChartMinutes, default 60
	Samples int // 0 to 50, default 10
}

// ParseEndpointQuery reads an endpoint page's query: minutes=N&samples=N.
func ParseEndpointQuery(v url.Values) (EndpointQuery, error) {
	q := EndpointQuery{Minutes: 60, Samples: 10}
	if s := v.Get("minutes"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 5 || n > maxChartMinutes {
			return q, errs.E(errs.Invalid, "minutes must be a number from 5 to %d", maxChartMinutes).WithCode("ValidationException")
		}
		q.Minutes = n
	}
	if s := v.Get("samples"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 50 {
			return q, errs.E(errs.Invalid, "samples must be a number from 0 to 50").WithCode("ValidationException")
		}
		q.Samples = n
	}
	return q, nil
}

// variantCharts are a variant's charts over the window, with the window's totals.
type variantCharts struct {
	Variant                           string
	Invocations, Errors4xx, Errors5xx int64
	ModelAverage                      time.Duration
	Traffic, Latency                  template.HTML
}

// endpointCharts draws each variant's invocations and errors, and its model latency (mean
// and maximum), a point a minute.
func endpointCharts(vs []variantMinutes) []variantCharts {
	var out []variantCharts
	for _, v := range vs {
		vc := variantCharts{Variant: v.Variant}
		if vc.Variant == "" {
			vc.Variant = "(no variant reached)"
		}
		n := len(v.Minutes)
		inv, e4, e5, avg, mx := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		var modelSum time.Duration
		for i, m := range v.Minutes {
			inv[i], e4[i], e5[i] = float64(m.Invocations), float64(m.Errors4xx), float64(m.Errors5xx)
			avg[i], mx[i] = float64(m.ModelAverage())/float64(time.Millisecond), float64(m.ModelMax)/float64(time.Millisecond)
			vc.Invocations += m.Invocations
			vc.Errors4xx += m.Errors4xx
			vc.Errors5xx += m.Errors5xx
			modelSum += m.ModelSum
		}
		if vc.Invocations > 0 {
			vc.ModelAverage = modelSum / time.Duration(vc.Invocations)
		}
		var from, to time.Time
		if n > 0 {
			from, to = v.Minutes[0].Start, v.Minutes[n-1].Start
		}
		vc.Traffic = seriesChart("invocations and errors a minute", from, to, "", []chartLine{{"invocations", inv}, {"5xx", e5}, {"4xx", e4}})
		vc.Latency = seriesChart("model latency", from, to, "ms", []chartLine{{"mean", avg}, {"max", mx}})
		out = append(out, vc)
	}
	return out
}

type chartLine struct {
	Name   string
	Values []float64
}

// seriesChart draws lines over time (a value a minute from `from` to `to`) from zero to
// the largest value, with a legend. Its text is numbers, times and the names given here
// (escaped all the same).
func seriesChart(label string, from, to time.Time, unit string, lines []chartLine) template.HTML {
	const w, h, left, right, top, bottom = 320.0, 120.0, 34.0, 6.0, 14.0, 16.0
	hi := 0.0
	n := 0
	for _, l := range lines {
		n = max(n, len(l.Values))
		for _, v := range l.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				hi = math.Max(hi, v)
			}
		}
	}
	if n == 0 {
		return ""
	}
	if hi == 0 {
		hi = 1
	}
	x := func(i int) float64 {
		if n == 1 {
			return left + (w-left-right)/2
		}
		return left + float64(i)*(w-left-right)/float64(n-1)
	}
	y := func(v float64) float64 { return h - bottom - v/hi*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="series" viewBox="0 0 %g %g" role="img" aria-label="%s">`, w, h, template.HTMLEscapeString(label))
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="currentColor" stroke-width=".5"/>`, left, h-bottom, w-right, h-bottom)
	for li, l := range lines {
		fmt.Fprintf(&b, `<polyline class="l%d" points="`, li%3)
		for i, v := range l.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = 0
			}
			fmt.Fprintf(&b, "%.1f,%.1f ", x(i), y(v))
		}
		b.WriteString(`"/>`)
		fmt.Fprintf(&b, `<text class="l%d" x="%g" y="10">%s</text>`, li%3, left+float64(li)*70, template.HTMLEscapeString(l.Name))
	}
	fmt.Fprintf(&b, `<text x="0" y="%g">%.4g%s</text><text x="0" y="%g">0</text>`, top+4, hi, template.HTMLEscapeString(unit), h-bottom)
	fmt.Fprintf(&b, `<text x="%g" y="%g">%s</text><text x="%g" y="%g" text-anchor="end">%s</text></svg>`,
		left, h-3, from.UTC().Format("15:04"), w-right, h-3, to.UTC().Format("15:04"))
	return template.HTML(b.String())
}

// CapturePayload is a captured request or response as the page shows it.
type CapturePayload struct {
	ContentType string
	Encoding    string
	Text        string // the data as text (decoded from base64 when it is UTF-8), cut at 2,000 characters
	Bytes       int    // the data's size
	Binary      bool   // not text: Text is empty
}

// CaptureSample is one captured invocation (a line of SageMaker's capture JSON Lines).
type CaptureSample struct {
	EventID, InferenceID, InferenceTime string
	Variant                             string
	Input, Output                       *CapturePayload
}

// maxCaptureText bounds the text of a payload a page shows.
const maxCaptureText = 2000

// ParseCapture reads a data capture file (JSON Lines: captureData.endpointInput/Output,
// eventMetadata) into samples, in file order; lines that are not capture records are
// skipped. It reads at most max samples.
func ParseCapture(body []byte, max int) []CaptureSample {
	type data struct {
		ObservedContentType string `json:"observedContentType"`
		Data                string `json:"data"`
		Encoding            string `json:"encoding"`
	}
	var out []CaptureSample
	for len(body) > 0 && len(out) < max {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		var rec struct {
			CaptureData struct {
				EndpointInput  *data `json:"endpointInput"`
				EndpointOutput *data `json:"endpointOutput"`
			} `json:"captureData"`
			EventMetadata struct {
				EventID       string `json:"eventId"`
				InferenceID   string `json:"inferenceId"`
				InferenceTime string `json:"inferenceTime"`
			} `json:"eventMetadata"`
		}
		if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &rec) != nil {
			continue
		}
		in, outp := rec.CaptureData.EndpointInput, rec.CaptureData.EndpointOutput
		if in == nil && outp == nil {
			continue
		}
		payload := func(d *data) *CapturePayload {
			if d == nil {
				return nil
			}
			p := &CapturePayload{ContentType: cut(d.ObservedContentType, 200), Encoding: cut(d.Encoding, 20)}
			raw := []byte(d.Data)
			if strings.EqualFold(d.Encoding, "BASE64") {
				dec, err := base64.StdEncoding.DecodeString(d.Data)
				if err != nil {
					p.Binary, p.Bytes = true, len(d.Data)
					return p
				}
				raw = dec
			}
			p.Bytes = len(raw)
			if !utf8.Valid(raw) {
				p.Binary = true
				return p
			}
			p.Text = cut(string(raw), maxCaptureText)
			return p
		}
		out = append(out, CaptureSample{EventID: cut(rec.EventMetadata.EventID, 100), InferenceID: cut(rec.EventMetadata.InferenceID, 100),
			InferenceTime: cut(rec.EventMetadata.InferenceTime, 40), Input: payload(in), Output: payload(outp)})
	}
	return out
}

// cut shortens s to at most n bytes, on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// Bounds of the data capture a page reads.
const (
	maxCaptureListPages = 5
	maxCaptureFiles     = 5
	maxCaptureFileBytes = 4 << 20
)

// captureSamples reads the newest n captured invocations of an endpoint whose configuration
// captures data, as the signed-in principal: s3:ListBucket on the destination under
// PREFIX/ENDPOINT/ (at most 5 pages of keys), s3:GetObject on the newest files.
func (c *Console) captureSamples(r *http.Request, s *session, endpoint string, cfg *serving.CaptureConfig, n int) ([]CaptureSample, error) {
	prefix := endpoint + "/"
	if cfg.Prefix() != "" {
		prefix = cfg.Prefix() + "/" + prefix
	}
	var objects []artifacts.ObjectInfo
	token := ""
	for page := 0; page < maxCaptureListPages; page++ {
		var out artifacts.ListOutput
		err := c.call(r.Context(), r, s, "s3", "ListObjectsV2", func(ctx context.Context, call identity.Call) error {
			var err error
			out, err = c.cfg.Artifacts.ListObjects(ctx, call.Caller, artifacts.ListInput{Bucket: cfg.Bucket(), Prefix: prefix, ContinuationToken: token})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, o := range out.Objects {
			if strings.HasSuffix(o.Key, ".jsonl") {
				objects = append(objects, o)
			}
		}
		if !out.IsTruncated || out.NextContinuationToken == "" {
			break
		}
		token = out.NextContinuationToken
	}
	sort.Slice(objects, func(i, j int) bool {
		if !objects[i].LastModified.Equal(objects[j].LastModified) {
			return objects[i].LastModified.After(objects[j].LastModified)
		}
		return objects[i].Key > objects[j].Key
	})
	var samples []CaptureSample
	for i, o := range objects {
		if i >= maxCaptureFiles || len(samples) >= n {
			break
		}
		var body []byte
		err := c.call(r.Context(), r, s, "s3", "GetObject", func(ctx context.Context, call identity.Call) error {
			_, rc, err := c.cfg.Artifacts.GetObject(ctx, call.Caller, cfg.Bucket(), o.Key, nil)
			if err != nil {
				return err
			}
			defer rc.Close()
			body, err = io.ReadAll(io.LimitReader(rc, maxCaptureFileBytes))
			return err
		})
		if err != nil {
			return samples, err
		}
		// The key is PREFIX/ENDPOINT/VARIANT/yyyy/mm/dd/hh/ID.jsonl.
		variant, _, _ := strings.Cut(strings.TrimPrefix(o.Key, prefix), "/")
		file := ParseCapture(body, 10000)
		for j := len(file) - 1; j >= 0 && len(samples) < n; j-- { // newest first
			file[j].Variant = variant
			samples = append(samples, file[j])
		}
	}
	return samples, nil
}
