package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestFetchS3 fetches a script-mode source archive the way a job does: the SDK's default chain
// reads the credentials, region and AWS_ENDPOINT_URL from the environment, and the request is
// path-style. The S3 server is moto's (pyenv's moto_server), a client-side check nobody here wrote.
func TestFetchS3(t *testing.T) {
	moto, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server (pyenv's moto 5) is required: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(moto, "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(endpoint + "/moto-api/"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("moto_server did not start")
		}
	}
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("code")}); err != nil {
		t.Fatal(err)
	}
	body := []byte("source archive bytes")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("code"), Key: aws.String("job/source/sourcedir.tar.gz"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := fetchS3(ctx, "s3://code/job/source/sourcedir.tar.gz", &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), body) {
		t.Errorf("fetched %q", got.String())
	}
	if err := fetchS3(ctx, "s3://code/missing", &got); err == nil || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Errorf("missing key: %v", err)
	}
	if err := fetchS3(ctx, "s3://code", &got); err == nil {
		t.Error("a URI without a key was accepted")
	}
}
