package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway/internal/errs"
)

// s3TestModel is a subset of S3's botocore model (testdata/models/s3.json, made by models/gen).
func s3TestModel(t testing.TB) *Model {
	t.Helper()
	b, err := os.ReadFile("testdata/models/s3.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseModel("s3", b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRestXMLWithBoto3 serves a few S3 operations through the restXml codec and calls them with
// Debian's boto3: headers, URI labels, XML payloads in (tagging, multi-object delete with a
// flattened list), XML documents out, a blob payload both ways, and S3's error shape.
func TestRestXMLWithBoto3(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import boto3").CombinedOutput(); err != nil {
		t.Fatalf("%s with boto3 is required (apt-get install python3-boto3): %v\n%s", python, err, out)
	}
	modified := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var mu sync.Mutex
	seen := map[string]json.RawMessage{}
	var stored []byte
	record := func(r *Request) {
		mu.Lock()
		defer mu.Unlock()
		seen[r.Operation] = r.Input
	}
	svc := &Service{Name: "s3", Model: s3TestModel(t), Handlers: map[string]Handler{
		"CreateBucket": func(_ context.Context, r *Request) (any, error) {
			record(r)
			return map[string]any{"Location": "/ds-data"}, nil
		},
		"PutObject": func(_ context.Context, r *Request) (any, error) {
			record(r)
			if r.BodyStream == nil {
				return nil, errs.E(errs.Invalid, "PutObject's payload was not streamed")
			}
			b, err := io.ReadAll(r.BodyStream)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			stored = b
			mu.Unlock()
			return map[string]any{"ETag": `"etag-1"`}, nil
		},
		"GetObject": func(_ context.Context, r *Request) (any, error) {
			record(r)
			var in struct{ Key string }
			_ = json.Unmarshal(r.Input, &in)
			if in.Key == "missing" {
				return nil, errs.E(errs.NotFound, "The specified key does not exist.").WithCode("NoSuchKey")
			}
			mu.Lock()
			defer mu.Unlock()
			return map[string]any{"Body": stored, "ContentType": "text/csv", "ContentLength": len(stored), "LastModified": modified}, nil
		},
		"HeadObject": func(_ context.Context, r *Request) (any, error) {
			return nil, errs.E(errs.NotFound, "The specified key does not exist.").WithCode("NoSuchKey")
		},
		"ListObjectsV2": func(_ context.Context, r *Request) (any, error) {
			record(r)
			return map[string]any{"Name": "ds-data", "KeyCount": 1, "IsTruncated": false,
				"Contents": []map[string]any{{"Key": "abalone/train.csv", "Size": 6, "LastModified": modified}}}, nil
		},
		"PutBucketTagging": func(_ context.Context, r *Request) (any, error) {
			record(r)
			return struct{}{}, nil
		},
		"GetBucketTagging": func(_ context.Context, r *Request) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			var in struct {
				Tagging struct{ TagSet []map[string]string }
			}
			_ = json.Unmarshal(seen["PutBucketTagging"], &in)
			return map[string]any{"TagSet": in.Tagging.TagSet}, nil
		},
		"DeleteObjects": func(_ context.Context, r *Request) (any, error) {
			record(r)
			var in struct {
				Delete struct{ Objects []struct{ Key string } }
			}
			_ = json.Unmarshal(r.Input, &in)
			var deleted []map[string]string
			for _, o := range in.Delete.Objects {
				deleted = append(deleted, map[string]string{"Key": o.Key})
			}
			return map[string]any{"Deleted": deleted}, nil
		},
	}}
	srv := NewServer(Config{Services: []*Service{svc}, Auth: testKeys(time.Now()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry()})
	hs := httptest.NewServer(srv)
	defer hs.Close()

	cmd := exec.Command(python, "testdata/boto3_s3.py", hs.URL)
	cmd.Env = []string{"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME=" + t.TempDir()}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	var want map[string]any
	_ = json.Unmarshal([]byte(`{
		"create": "/ds-data",
		"put_etag": "\"etag-1\"",
		"get": {"Body": "1,2,3\n", "ContentType": "text/csv", "ContentLength": 6, "LastModified": "2026-03-04T05:06:07+00:00"},
		"list": {"KeyCount": 1, "IsTruncated": false, "Contents": [{"Key": "abalone/train.csv", "Size": 6, "LastModified": "2026-03-04T05:06:07+00:00"}]},
		"tags": [{"Key": "team", "Value": "ds"}, {"Key": "stage", "Value": "dev"}],
		"deleted": ["a", "b/c"],
		"missing": {"code": "NoSuchKey", "status": 404, "message": "The specified key does not exist."},
		"head_missing": {"code": "404", "status": 404}
	}`), &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("boto3 results (-want +got):\n%s", diff)
	}
	// What the handlers were given: URI labels, headers and the XML payloads decoded.
	mu.Lock()
	defer mu.Unlock()
	for op, wantIn := range map[string]string{
		"PutObject":     `{"Bucket":"ds-data","ContentType":"text/csv","Key":"abalone/train.csv"}`, // Body streamed
		"ListObjectsV2": `{"Bucket":"ds-data","EncodingType":"url","Prefix":"abalone/"}`,
		"DeleteObjects": `{"Bucket":"ds-data","Delete":{"Objects":[{"Key":"a"},{"Key":"b/c"}],"Quiet":false}}`,
	} {
		var g, w any
		_ = json.Unmarshal(seen[op], &g)
		_ = json.Unmarshal([]byte(wantIn), &w)
		// Checksum and MD5 headers vary with the client version; compare what this test chose.
		if m, ok := g.(map[string]any); ok {
			for k := range m {
				if strings.HasPrefix(k, "Checksum") || k == "ContentMD5" || k == "ContentLength" {
					delete(m, k)
				}
			}
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s input (-want +got):\n%s", op, diff)
		}
	}
}

// Malformed or hostile XML bodies are refused with S3's MalformedXML and change nothing.
func TestRestXMLRefusesBadDocuments(t *testing.T) {
	m := s3TestModel(t)
	shape := m.Shapes["Tagging"]
	for name, doc := range map[string]string{
		"not xml":        "tagging",
		"unclosed":       "<Tagging><TagSet>",
		"two roots":      "<Tagging/><Tagging/>",
		"doctype":        `<!DOCTYPE x [<!ENTITY a "b">]><Tagging/>`,
		"trailing text":  "<Tagging/>junk",
		"element inside": "<Tagging><TagSet><Tag><Key><b/></Key></Tag></TagSet></Tagging>",
		"unclosed deep":  "<Tagging>" + strings.Repeat("<a>", 100000),
	} {
		var ck checker
		v, err := decodeXMLDocument(&ck, []byte(doc), shape)
		if err == nil {
			t.Errorf("%s: decoded as %v, want an error", name, v)
		}
	}
	// Unknown elements, however deep, are skipped whole.
	var ck0 checker
	if _, err := decodeXMLDocument(&ck0, []byte("<Tagging>"+strings.Repeat("<a>", 1000)+strings.Repeat("</a>", 1000)+"</Tagging>"), shape); err != nil {
		t.Errorf("unknown deep elements: %v", err)
	}
	var ck checker
	v, err := decodeXMLDocument(&ck, []byte(`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`), shape)
	if err != nil || !cmp.Equal(v, map[string]any{"TagSet": []any{map[string]any{"Key": "k", "Value": "v"}}}) {
		t.Errorf("tagging = %v, %v", v, err)
	}
}

// FuzzDecodeXML: no XML body panics the decoder or escapes its depth bound.
func FuzzDecodeXML(f *testing.F) {
	m := s3TestModel(f)
	for _, seed := range []string{
		`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`,
		`<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet></Delete>`,
		`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`,
		`<x/>`, ``, `<`,
	} {
		f.Add(seed)
	}
	shapes := []*Shape{m.Shapes["Tagging"], m.Shapes["Delete"], m.Shapes["CreateBucketConfiguration"]}
	f.Fuzz(func(t *testing.T, doc string) {
		for _, s := range shapes {
			var ck checker
			_, _ = decodeXMLDocument(&ck, []byte(doc), s)
		}
	})
}
