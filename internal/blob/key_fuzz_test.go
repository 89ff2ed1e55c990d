package blob

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
)

// FuzzValidKey checks the promise of ValidKey: an accepted key stores under a name strictly
// inside the store's root, that name decodes back to the key, and no other key shares it.
func FuzzValidKey(f *testing.F) {
	for _, seed := range []string{"a", "a/b/c", "..", "a/../b", "/abs", "a//b", "a/", ".", "d", "f", "da/fb", "x\x00y", "\xff", "ü/é", "a\\..\\b", "...", strings.Repeat("z", 300)} {
		f.Add(seed)
	}
	root := filepath.Join("/", "root", "blobs", "data")
	f.Fuzz(func(t *testing.T, key string) {
		if ValidKey(key) != nil {
			if err := validPrefix(key); err == nil && strings.Contains(key, "\x00") {
				t.Fatalf("prefix %q with a NUL accepted", key)
			}
			return
		}
		if err := validPrefix(key); err != nil {
			t.Fatalf("valid key %q is not a valid prefix: %v", key, err)
		}
		name := storedName(key)
		p := filepath.Join(root, filepath.FromSlash(name))
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
			t.Fatalf("key %q stores at %s, outside %s", key, p, root)
		}
		if filepath.ToSlash(rel) != name {
			t.Fatalf("key %q: stored name %q is not clean (%q)", key, name, rel)
		}
		segs := strings.Split(name, "/")
		var back []string
		for i, seg := range segs {
			if len(seg) > 255 {
				t.Fatalf("key %q: stored segment of %d bytes", key, len(seg))
			}
			tag := dirTag
			if i == len(segs)-1 {
				tag = fileTag
			}
			if !strings.HasPrefix(seg, tag) {
				t.Fatalf("key %q: stored segment %q lacks tag %q", key, seg, tag)
			}
			back = append(back, seg[len(tag):])
		}
		if got := strings.Join(back, "/"); got != key {
			t.Fatalf("key %q decodes back as %q", key, got)
		}
	})
}

// FuzzParseS3URL checks that any s3:// URL either parses into options OpenS3 accepts (a bucket,
// a clean prefix, an http(s) endpoint, both keys or neither) or is refused as Invalid.
func FuzzParseS3URL(f *testing.F) {
	for _, seed := range []string{
		"s3://b", "s3://b/p/q?endpoint=http://127.0.0.1:1&region=us-east-1&access_key=a&secret_key=s",
		"s3:///p", "s3://b/../x", "s3://b?x=1", "s3://u@b/p", "s3://b/p?region=a&region=b", "s3://b?endpoint=ftp://h",
		"s3://b#frag", "s3://b/%00", "s3://b?access_key=a",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "s3" {
			return
		}
		o, err := parseS3URL(u)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("%q: error of kind %v, want Invalid: %v", raw, errs.KindOf(err), err)
			}
			return
		}
		prefix, err := o.check()
		if err != nil || o.Bucket == "" {
			t.Fatalf("%q: parsed into options that do not check: %+v, %v", raw, o, err)
		}
		if prefix != "" && (ValidKey(strings.TrimSuffix(prefix, "/")) != nil || !strings.HasSuffix(prefix, "/")) {
			t.Fatalf("%q: bad prefix %q", raw, prefix)
		}
		if o.Endpoint != "" && !strings.HasPrefix(o.Endpoint, "http") {
			t.Fatalf("%q: endpoint %q", raw, o.Endpoint)
		}
	})
}
