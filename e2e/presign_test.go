package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestPresignedGetCallerIdentity checks query-string SigV4: a GetCallerIdentity URL presigned by
// aws-sdk-go-v2 (the way aws-iam-authenticator and Vault prove an identity to a third party) is
// answered by whoever holds it, as the signer; a tampered URL is refused.
func TestPresignedGetCallerIdentity(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := startServer(t)
	creds := readProfile(t, s.Creds, "staging")
	who, err := sts.NewFromConfig(sdkConfig(s.URL, creds)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	// X-Amz-Expires goes on the URL before signing, as aws-iam-authenticator does: the SDK's
	// signer leaves the expiry to the caller.
	expires := func(o *sts.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Build.Add(middleware.BuildMiddlewareFunc("PresignExpires", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if r, ok := in.Request.(*smithyhttp.Request); ok {
					q := r.URL.Query()
					q.Set("X-Amz-Expires", "60")
					r.URL.RawQuery = q.Encode()
				}
				return next.HandleBuild(ctx, in)
			}), middleware.After)
		})
	}
	req, err := sts.NewPresignClient(sts.NewFromConfig(sdkConfig(s.URL, creds), expires)).PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("PresignGetCallerIdentity: %v", err)
	}
	send := func(url string) (int, string) {
		r, err := http.NewRequestWithContext(ctx, req.Method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range req.SignedHeader {
			if !strings.EqualFold(k, "Host") {
				r.Header[k] = vs
			}
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	status, body := send(req.URL)
	if status != http.StatusOK || !strings.Contains(body, "<Arn>"+*who.Arn+"</Arn>") {
		t.Errorf("%s of the presigned URL answered %d:\n%s\nwant 200 naming %s", req.Method, status, body, *who.Arn)
	}
	tampered := strings.Replace(req.URL, "Action=GetCallerIdentity", "Action=GetCallerIdentity&Extra=1", 1)
	if status, body := send(tampered); status != http.StatusForbidden || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Errorf("a tampered presigned URL answered %d:\n%s\nwant 403 SignatureDoesNotMatch", status, body)
	}
}
