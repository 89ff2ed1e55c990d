package blob_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/blob/blobtest"
	"github.com/slipway-ml/slipway/internal/errs"
)

// s3Env names the variable holding the blob store URL of a throwaway S3-compatible server
// (make test starts one with scripts/s3-throwaway.sh).
const s3Env = "SLIPWAY_TEST_S3"

// s3URL returns the URL of the test server with a fresh prefix of its own, whose blobs are
// deleted when the test ends. Without the server it fails the test: the S3 tests always run.
func s3URL(t *testing.T) string {
	t.Helper()
	raw := os.Getenv(s3Env)
	if raw == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which starts a throwaway S3-compatible server, "+
			"or export %s=$(scripts/s3-throwaway.sh start /tmp/s3)", s3Env, s3Env)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" {
		t.Fatalf("%s must be an s3:// blob store URL", s3Env)
	}
	var b [6]byte
	rand.Read(b[:])
	u.Path = "/test-" + hex.EncodeToString(b[:]) + "/blobs"
	return u.String()
}

func openS3(t *testing.T) blob.Store {
	t.Helper()
	s, err := blob.OpenURL(context.Background(), s3URL(t), "")
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		var keys []string
		s.List(ctx, "", func(key string, _ int64) error { keys = append(keys, key); return nil })
		for _, k := range keys {
			s.Delete(ctx, k)
		}
	})
	return s
}

func TestS3Conformance(t *testing.T) {
	blobtest.Run(t, openS3)
}

// TestS3IsolatedByPrefix checks that two stores on one bucket under different prefixes do not see
// each other's blobs, and that a store's prefix is the start of its objects' names.
func TestS3IsolatedByPrefix(t *testing.T) {
	a, b := openS3(t), openS3(t)
	ctx := context.Background()
	if _, err := a.Put(ctx, "k", strings.NewReader("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Size(ctx, "k"); !errs.Is(err, errs.NotFound) {
		t.Errorf("the other prefix sees k: %v", err)
	}
}

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	for _, raw := range []string{"", "file:"} {
		s, err := blob.OpenURL(ctx, raw, dataDir)
		if err != nil {
			t.Fatalf("OpenURL(%q): %v", raw, err)
		}
		if _, err := s.Put(ctx, "x", strings.NewReader("1")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dataDir, "blobs", "data", "fx")); err != nil {
			t.Errorf("OpenURL(%q) does not store under <dataDir>/blobs: %v", raw, err)
		}
	}
	elsewhere := t.TempDir()
	if _, err := blob.OpenURL(ctx, "file://"+elsewhere+"/store", ""); err != nil {
		t.Errorf("OpenURL(file:///dir): %v", err)
	} else if _, err := os.Stat(filepath.Join(elsewhere, "store", "data")); err != nil {
		t.Errorf("OpenURL(file:///dir) made no store there: %v", err)
	}

	good, err := url.Parse(s3URL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := good.Query()
	secret := q.Get("secret_key")
	with := func(edit func(u *url.URL, q url.Values)) string {
		u := *good
		q := u.Query()
		edit(&u, q)
		u.RawQuery = q.Encode()
		return u.String()
	}
	for _, tc := range []struct {
		name, url, dataDir string
		kind               errs.Kind
	}{
		{"local without a data dir", "", "", errs.Invalid},
		{"relative file", "file:relative/dir", dataDir, errs.Invalid},
		{"file with a host", "file://host/dir", dataDir, errs.Invalid},
		{"file with a query", "file:///tmp/x?a=b", dataDir, errs.Invalid},
		{"unknown scheme", "gs://bucket/p", dataDir, errs.Invalid},
		{"no scheme", "/just/a/path", dataDir, errs.Invalid},
		{"unparsable", "s3://bucket/%zz?secret_key=" + secret, dataDir, errs.Invalid},
		{"no bucket", "s3:///prefix", dataDir, errs.Invalid},
		{"unknown parameter", with(func(_ *url.URL, q url.Values) { q.Set("acess_key", "x") }), dataDir, errs.Invalid},
		{"repeated parameter", with(func(_ *url.URL, q url.Values) { q.Add("region", "eu-west-1") }), dataDir, errs.Invalid},
		{"access key alone", with(func(_ *url.URL, q url.Values) { q.Del("secret_key") }), dataDir, errs.Invalid},
		{"bad endpoint", with(func(_ *url.URL, q url.Values) { q.Set("endpoint", "ftp://x") }), dataDir, errs.Invalid},
		{"bad prefix", with(func(u *url.URL, _ url.Values) { u.Path = "/a/../b" }), dataDir, errs.Invalid},
		{"missing bucket", with(func(u *url.URL, _ url.Values) { u.Host = "no-such-bucket-here" }), dataDir, errs.Invalid},
		{"wrong secret", with(func(_ *url.URL, q url.Values) { q.Set("secret_key", "wrong") }), dataDir, errs.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := blob.OpenURL(ctx, tc.url, tc.dataDir)
			if !errs.Is(err, tc.kind) {
				t.Fatalf("OpenURL: got %v (kind %v), want kind %v", err, errs.KindOf(err), tc.kind)
			}
			if secret != "" && strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the secret key: %v", err)
			}
		})
	}
}
