package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/errs"
)

// TestServerSweepsOrphanedBlobs: the server's sweep runtime deletes a blob a crash left behind
// (older than artifacts.OrphanAge, no object refers to it) and keeps the objects' blobs.
func TestServerSweepsOrphanedBlobs(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := s.s3("data-science")
	_, err := ds.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("sweep-data")})
	mustOK(t, err)
	_, err = ds.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sweep-data"), Key: aws.String("kept"), Body: strings.NewReader("kept")})
	mustOK(t, err)
	orphan := "objects/" + time.Now().Add(-artifacts.OrphanAge-time.Hour).UTC().Format("20060102T150405Z") + "-00000000-0000-4000-8000-000000000000"
	_, err = s.app.Blobs.Put(ctx, orphan, strings.NewReader("left by a crash"))
	mustOK(t, err)

	var due bool
	for _, rt := range s.app.Runtimes.Runtimes() {
		if rt.Kind() == "artifacts-orphans" {
			mustOK(t, rt.Enqueue(ctx, "sweep"))
			due = true
		}
	}
	if !due {
		t.Fatal("the server has no orphan sweep runtime")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.app.Blobs.Size(ctx, orphan); errs.Is(err, errs.NotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the orphaned blob is still there after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err := ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sweep-data"), Key: aws.String("kept")})
	mustOK(t, err)
	out.Body.Close()
}
