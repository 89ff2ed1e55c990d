package app_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// --- S3 --------------------------------------------------------------------------------------

// bucket makes an empty bucket.
func (e *authzEnv) bucket() map[string]string {
	name := e.name("authz-b")
	_, err := e.admin.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	e.must(err)
	return map[string]string{"Bucket": name}
}

// object makes a bucket holding one object.
func (e *authzEnv) object() map[string]string {
	v := e.bucket()
	v["Key"] = "dir/obj.txt"
	_, err := e.admin.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(v["Bucket"]), Key: aws.String(v["Key"]),
		Body: strings.NewReader("hello"), Tagging: aws.String("k=v")})
	e.must(err)
	return v
}

// copyPair makes a source object and names a new target key in another bucket.
func (e *authzEnv) copyPair() map[string]string {
	src := e.object()
	v := e.bucket()
	v["Key"] = "copy.txt"
	v["SourceBucket"], v["SourceKey"] = src["Bucket"], src["Key"]
	return v
}

// upload starts a multipart upload (with one part when part is set).
func (e *authzEnv) upload(part bool) map[string]string {
	v := e.bucket()
	v["Key"] = "mp.bin"
	out, err := e.admin.s3.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String(v["Bucket"]), Key: aws.String(v["Key"])})
	e.must(err)
	v["UploadId"] = *out.UploadId
	if part {
		p, err := e.admin.s3.UploadPart(context.Background(), &s3.UploadPartInput{Bucket: aws.String(v["Bucket"]), Key: aws.String(v["Key"]),
			UploadId: out.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part one"))})
		e.must(err)
		v["ETag"] = *p.ETag
	}
	return v
}

func bucketPolicy(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*"}]}`
}

func (e *authzEnv) bucketWithPolicy() map[string]string {
	v := e.bucket()
	_, err := e.admin.s3.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(v["Bucket"]), Policy: aws.String(bucketPolicy(v["Bucket"]))})
	e.must(err)
	return v
}

func s3Cases() map[string]opCase {
	b := func(v map[string]string) *string { return aws.String(v["Bucket"]) }
	k := func(v map[string]string) *string { return aws.String(v["Key"]) }
	up := func(v map[string]string) *string { return aws.String(v["UploadId"]) }
	src := func(v map[string]string) *string { return aws.String(v["SourceBucket"] + "/" + v["SourceKey"]) }
	none := func(*authzEnv) map[string]string { return map[string]string{} }
	newKey := func(e *authzEnv) map[string]string { v := e.bucket(); v["Key"] = "new.txt"; return v }
	return map[string]opCase{
		"CreateBucket": {func(e *authzEnv) map[string]string { return map[string]string{"Bucket": e.name("authz-new")} },
			func(ctx context.Context, e *authzEnv, v map[string]string) error {
				_, err := e.actor.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b(v)})
				return err
			}},
		"HeadBucket": {(*authzEnv).bucket, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b(v)})
			return headError(err)
		}},
		"ListBuckets": {none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}},
		"DeleteBucket": {(*authzEnv).bucket, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b(v)})
			return err
		}},
		"GetBucketLocation": {(*authzEnv).bucket, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b(v)})
			return err
		}},
		"PutBucketPolicy": {(*authzEnv).bucket, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b(v), Policy: aws.String(bucketPolicy(v["Bucket"]))})
			return err
		}},
		"GetBucketPolicy": {(*authzEnv).bucketWithPolicy, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b(v)})
			return err
		}},
		"DeleteBucketPolicy": {(*authzEnv).bucketWithPolicy, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b(v)})
			return err
		}},
		"ListObjects": {(*authzEnv).object, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b(v)})
			return err
		}},
		"ListObjectsV2": {(*authzEnv).object, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b(v)})
			return err
		}},
		"ListMultipartUploads": {func(e *authzEnv) map[string]string { return e.upload(false) }, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b(v)})
			return err
		}},
		"PutObject": {newKey, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: b(v), Key: k(v), Body: strings.NewReader("x")})
			return err
		}},
		"GetObject": {(*authzEnv).object, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			out, err := e.actor.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: b(v), Key: k(v)})
			if err == nil {
				out.Body.Close()
			}
			return err
		}},
		"HeadObject": {(*authzEnv).object, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b(v), Key: k(v)})
			return headError(err)
		}},
		"DeleteObject": {(*authzEnv).object, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b(v), Key: k(v)})
			return err
		}},
		"DeleteObjects": {(*authzEnv).object, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			out, err := e.actor.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b(v), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: k(v)}}}})
			if err == nil && len(out.Errors) > 0 {
				return fmt.Errorf("%s: %s", aws.ToString(out.Errors[0].Code), aws.ToString(out.Errors[0].Message))
			}
			return err
		}},
		"CopyObject": {(*authzEnv).copyPair, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b(v), Key: k(v), CopySource: src(v)})
			return err
		}},
		"CreateMultipartUpload": {newKey, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b(v), Key: k(v)})
			return err
		}},
		"UploadPart": {func(e *authzEnv) map[string]string { return e.upload(false) }, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: b(v), Key: k(v), UploadId: up(v), PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("p"))})
			return err
		}},
		"UploadPartCopy": {func(e *authzEnv) map[string]string {
			v := e.upload(false)
			s := e.object()
			v["SourceBucket"], v["SourceKey"] = s["Bucket"], s["Key"]
			return v
		}, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b(v), Key: k(v), UploadId: up(v), PartNumber: aws.Int32(1), CopySource: src(v)})
			return err
		}},
		"CompleteMultipartUpload": {func(e *authzEnv) map[string]string { return e.upload(true) }, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b(v), Key: k(v), UploadId: up(v),
				MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(v["ETag"])}}}})
			return err
		}},
		"AbortMultipartUpload": {func(e *authzEnv) map[string]string { return e.upload(true) }, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b(v), Key: k(v), UploadId: up(v)})
			return err
		}},
		"ListParts": {func(e *authzEnv) map[string]string { return e.upload(true) }, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: b(v), Key: k(v), UploadId: up(v)})
			return err
		}},
		"PutObjectTagging": {(*authzEnv).object, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b(v), Key: k(v),
				Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}})
			return err
		}},
		"GetObjectTagging": {(*authzEnv).object, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b(v), Key: k(v)})
			return err
		}},
		"DeleteObjectTagging": {(*authzEnv).object, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.s3.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: b(v), Key: k(v)})
			return err
		}},
	}
}

// headError names a HEAD's 403 as S3 means it: a HEAD answer has no body, so SDKs see only the
// status ("Forbidden").
func headError(err error) error {
	if code(err) == "Forbidden" {
		return fmt.Errorf("AccessDenied (a HEAD's 403): %v", err)
	}
	return err
}
