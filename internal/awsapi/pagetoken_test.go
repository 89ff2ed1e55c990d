package awsapi

import (
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
)

func TestPageTokens(t *testing.T) {
	type cursor struct {
		After string
		N     int
	}
	p := NewPageTokens([]byte("server key"))
	tok, err := p.Encode("sagemaker/ListModelPackages/111122223333", cursor{"pkg-9", 10})
	if err != nil {
		t.Fatal(err)
	}
	var got cursor
	if err := p.Decode("sagemaker/ListModelPackages/111122223333", tok, &got); err != nil || got != (cursor{"pkg-9", 10}) {
		t.Fatalf("Decode = %+v, %v", got, err)
	}
	body, mac, _ := strings.Cut(tok, ".")
	forged, err := NewPageTokens([]byte("other key")).Encode("sagemaker/ListModelPackages/111122223333", cursor{"pkg-0", 10})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, scope, token string
	}{
		{"other scope", "sagemaker/ListModelPackages/444455556666", tok},
		{"other key", "sagemaker/ListModelPackages/111122223333", forged},
		{"edited cursor", "sagemaker/ListModelPackages/111122223333", "eyJBZnRlciI6InBrZy0wIiwiTiI6MTB9." + mac},
		{"no mac", "sagemaker/ListModelPackages/111122223333", body},
		{"garbage", "sagemaker/ListModelPackages/111122223333", "!!!.???"},
		{"empty", "sagemaker/ListModelPackages/111122223333", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c cursor
			err := p.Decode(tc.scope, tc.token, &c)
			if !errs.Is(err, errs.Invalid) || errs.Message(err) != "The pagination token is invalid." {
				t.Errorf("Decode = %v, want an Invalid error", err)
			}
		})
	}
}

func FuzzPageTokenDecode(f *testing.F) {
	p := NewPageTokens([]byte("k"))
	good, err := p.Encode("s", map[string]int{"n": 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("")
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, tok string) {
		var v map[string]int
		// Only the token made with the key decodes (base64 may spell it in more than one way),
		// so whatever decodes must be its cursor: anything else is a forgery.
		if err := p.Decode("s", tok, &v); err == nil && (len(v) != 1 || v["n"] != 1) {
			t.Fatalf("accepted forged token %q as %v", tok, v)
		}
	})
}
