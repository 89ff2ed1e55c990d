package awsapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/slipway-ml/slipway/internal/awsapi/sigv4"
)

// streamingCall signs a request whose body is sent aws-chunked in mode: the headers with
// aws-sdk-go-v2's signer, the chunks with its StreamSigner. mutate, if not nil, changes the wire
// body after signing.
func streamingCall(t *testing.T, url, service, contentType, mode string, payload []byte, chunk int, mutate func([]byte) []byte) *http.Request {
	t.Helper()
	return streamingCallMethod(t, "POST", url, service, contentType, mode, payload, chunk, mutate)
}

// streamingCallMethod is streamingCall with the HTTP method given.
func streamingCallMethod(t *testing.T, method, url, service, contentType, mode string, payload []byte, chunk int, mutate func([]byte) []byte) *http.Request {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	now := time.Now().UTC()
	wire := func(ss *v4.StreamSigner) []byte {
		var b bytes.Buffer
		rest := payload
		for {
			n := min(chunk, len(rest))
			fmt.Fprintf(&b, "%x", n)
			if mode == sigv4.StreamingSignedPayload {
				sig := make([]byte, 32)
				if ss != nil {
					var err error
					if sig, err = ss.GetSignature(context.Background(), nil, rest[:n], now); err != nil {
						t.Fatal(err)
					}
				}
				b.WriteString(";chunk-signature=" + hex.EncodeToString(sig))
			}
			b.WriteString("\r\n")
			if n == 0 {
				break
			}
			b.Write(rest[:n])
			b.WriteString("\r\n")
			rest = rest[n:]
		}
		if mode == sigv4.StreamingUnsignedPayloadTrailer {
			h := crc32.ChecksumIEEE(payload)
			b.WriteString("x-amz-checksum-crc32:" + base64.StdEncoding.EncodeToString([]byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)}) + "\r\n")
		}
		b.WriteString("\r\n")
		return b.Bytes()
	}
	r, err := http.NewRequest(method, url, bytes.NewReader(wire(nil)))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Content-Sha256", mode)
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(payload)))
	if mode == sigv4.StreamingUnsignedPayloadTrailer {
		r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, mode, service, "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	a, err := sigv4.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := hex.DecodeString(a.Signature)
	body := wire(v4.NewStreamSigner(creds, service, "us-east-1", seed))
	if mutate != nil {
		body = mutate(body)
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return r
}

// TestStreamingPayload sends aws-chunked bodies to a payload operation (InvokeEndpoint): a good
// body reaches the handler decoded; a bad one is refused in the protocol's error shape and the
// handler never runs.
func TestStreamingPayload(t *testing.T) {
	payload := []byte(strings.Repeat("1,2,3\n", 3000))
	flip := func(w []byte) []byte { w[bytes.Index(w, []byte("\r\n"))+10] ^= 1; return w }
	tests := []struct {
		name       string
		mode       string
		mutate     func([]byte) []byte
		wantStatus int
		wantType   string
	}{
		{"signed chunks", sigv4.StreamingSignedPayload, nil, 200, ""},
		{"unsigned with crc32 trailer", sigv4.StreamingUnsignedPayloadTrailer, nil, 200, ""},
		{"signed: flipped data byte", sigv4.StreamingSignedPayload, flip, 403, "InvalidSignatureException"},
		// Content-Length is signed, so a shorter body fails the header signature; break the framing instead.
		{"signed: chunk longer than its size", sigv4.StreamingSignedPayload, func(w []byte) []byte {
			copy(w[bytes.Index(w, []byte("\r\n"))+2+4096:], "..")
			return w
		}, 400, "IncompleteBody"},
		{"signed: shorter body", sigv4.StreamingSignedPayload, func(w []byte) []byte { return w[:len(w)-100] }, 403, "InvalidSignatureException"},
		{"trailer: flipped data byte", sigv4.StreamingUnsignedPayloadTrailer, flip, 400, "BadDigest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var called bool
			env := newTestEnv(t, nil, map[string]func(*Request) (any, error){
				"sagemaker-runtime/InvokeEndpoint": func(r *Request) (any, error) {
					called = true
					return map[string]any{"Body": r.Body}, nil
				},
			})
			r := streamingCall(t, env.http.URL+"/endpoints/ep/invocations", "sagemaker", "text/csv", tc.mode, payload, 4096, tc.mutate)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("X-Amzn-ErrorType") != tc.wantType {
				t.Fatalf("got %d %q %s, want %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, tc.wantStatus, tc.wantType)
			}
			if tc.wantStatus == 200 && !bytes.Equal(body, payload) {
				t.Errorf("the handler saw %d bytes, want the %d decoded", len(body), len(payload))
			}
			if tc.wantStatus != 200 && called {
				t.Error("the handler ran for a body that failed verification")
			}
		})
	}
}

// TestStreamingQuery: a query API reads its form from the body before the signature is verified,
// so it refuses an aws-chunked body rather than act on a form read from the encoding.
func TestStreamingQuery(t *testing.T) {
	var called bool
	env := newTestEnv(t, nil, map[string]func(*Request) (any, error){
		"sts/GetCallerIdentity": func(r *Request) (any, error) { called = true; return map[string]string{}, nil },
	})
	r := streamingCall(t, env.http.URL+"/", "sts", "application/x-www-form-urlencoded", sigv4.StreamingUnsignedPayloadTrailer,
		[]byte("Action=GetCallerIdentity&Version=2011-06-15"), 4096, nil)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>InvalidRequest</Code>") || called {
		t.Errorf("got %d %s (handler ran: %v), want 400 InvalidRequest", resp.StatusCode, body, called)
	}
}
