// Package s3api serves the S3 API (restXml) of the artifact store. It translates wire shapes
// (botocore's s3 model) to package artifacts' calls and back; every rule, and every
// authorization decision, lives in artifacts.
package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
)

// API holds what the handlers need.
type API struct {
	Artifacts *artifacts.Service
}

// Service is the S3 service: its model, the artifact store's operations and S3's error codes.
func (a *API) Service() (*awsapi.Service, error) {
	return awsapi.NewService("s3", a.handlers(), errorCodes())
}

func (a *API) handlers() map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		"CreateBucket":            withBody(apicall.Handle(a.createBucket)),
		"HeadBucket":              apicall.Handle(a.headBucket),
		"ListBuckets":             apicall.Handle(a.listBuckets),
		"DeleteBucket":            apicall.Handle(a.deleteBucket),
		"GetBucketLocation":       apicall.Handle(a.getBucketLocation),
		"PutBucketPolicy":         withBody(apicall.Handle(a.putBucketPolicy)),
		"GetBucketPolicy":         apicall.Handle(a.getBucketPolicy),
		"DeleteBucketPolicy":      apicall.Handle(a.deleteBucketPolicy),
		"PutObject":               apicall.Handle(a.putObject),
		"GetObject":               apicall.Handle(a.getObject),
		"HeadObject":              apicall.Handle(a.headObject),
		"DeleteObject":            apicall.Handle(a.deleteObject),
		"DeleteObjects":           withBody(apicall.Handle(a.deleteObjects)),
		"CopyObject":              apicall.Handle(a.copyObject),
		"ListObjects":             apicall.Handle(a.listObjects),
		"ListObjectsV2":           apicall.Handle(a.listObjectsV2),
		"CreateMultipartUpload":   apicall.Handle(a.createUpload),
		"UploadPart":              apicall.Handle(a.uploadPart),
		"UploadPartCopy":          apicall.Handle(a.uploadPartCopy),
		"CompleteMultipartUpload": withBody(apicall.Handle(a.completeUpload)),
		"AbortMultipartUpload":    apicall.Handle(a.abortUpload),
		"ListParts":               apicall.Handle(a.listParts),
		"ListMultipartUploads":    apicall.Handle(a.listUploads),
		"PutObjectTagging":        withBody(apicall.Handle(a.putTagging)),
		"GetObjectTagging":        apicall.Handle(a.getTagging),
		"DeleteObjectTagging":     apicall.Handle(a.deleteTagging),
	}
}

// withBody verifies the digests a client declared for a buffered request body (Content-MD5,
// x-amz-checksum-*) before the operation runs: a body that does not match changes nothing.
func withBody(h awsapi.Handler) awsapi.Handler {
	return func(ctx context.Context, req *awsapi.Request) (any, error) {
		if v := req.Header.Get("Content-MD5"); v != "" {
			want, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(want) != md5.Size {
				return nil, errs.E(errs.Invalid, "The Content-MD5 you specified is not valid.").WithCode("InvalidDigest")
			}
			got := md5.Sum(req.Body)
			if !bytes.Equal(want, got[:]) {
				return nil, errs.E(errs.Invalid, "The Content-MD5 you specified did not match what we received.").WithCode("BadDigest")
			}
		}
		if err := artifacts.VerifyChecksums(req.Body, declaredChecksums(req)); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// declaredChecksums returns the x-amz-checksum-ALG headers of a request, by algorithm.
func declaredChecksums(req *awsapi.Request) map[string]string {
	var out map[string]string
	for k, vs := range req.Header {
		alg, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-checksum-")
		if !ok || len(vs) == 0 || alg == "algorithm" || alg == "type" || alg == "mode" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[strings.ToUpper(alg)] = vs[0]
	}
	return out
}

// ---- buckets -------------------------------------------------------------------------------

type bucketIn struct{ Bucket string }

type createBucketIn struct {
	Bucket                    string
	CreateBucketConfiguration *struct{ LocationConstraint string }
}

func (a *API) createBucket(ctx context.Context, req *awsapi.Request, in *createBucketIn) (any, error) {
	loc := ""
	if in.CreateBucketConfiguration != nil {
		loc = in.CreateBucketConfiguration.LocationConstraint
	}
	if _, err := a.Artifacts.CreateBucket(ctx, req.Caller, in.Bucket, loc); err != nil {
		return nil, err
	}
	return map[string]string{"Location": "/" + in.Bucket}, nil
}

func (a *API) headBucket(ctx context.Context, req *awsapi.Request, in *bucketIn) (any, error) {
	b, err := a.Artifacts.HeadBucket(ctx, req.Caller, in.Bucket)
	if err != nil {
		return nil, err
	}
	return map[string]string{"BucketRegion": b.Region}, nil
}

type bucketOut struct {
	Name         string
	CreationDate time.Time
	BucketRegion string `json:",omitempty"`
}

type ownerOut struct {
	ID          string
	DisplayName string `json:",omitempty"`
}

func (a *API) listBuckets(ctx context.Context, req *awsapi.Request, _ *struct{}) (any, error) {
	bs, err := a.Artifacts.ListBuckets(ctx, req.Caller)
	if err != nil {
		return nil, err
	}
	out := struct {
		Buckets []bucketOut
		Owner   ownerOut
	}{Buckets: []bucketOut{}, Owner: ownerOut{ID: req.Caller.Account, DisplayName: req.Caller.Account}}
	for _, b := range bs {
		out.Buckets = append(out.Buckets, bucketOut{Name: b.Name, CreationDate: b.CreatedAt, BucketRegion: b.Region})
	}
	return out, nil
}

func (a *API) deleteBucket(ctx context.Context, req *awsapi.Request, in *bucketIn) (any, error) {
	return nil, a.Artifacts.DeleteBucket(ctx, req.Caller, in.Bucket)
}

func (a *API) getBucketLocation(ctx context.Context, req *awsapi.Request, in *bucketIn) (any, error) {
	region, err := a.Artifacts.BucketLocation(ctx, req.Caller, in.Bucket)
	if err != nil {
		return nil, err
	}
	if region == "us-east-1" {
		region = "" // S3 names us-east-1 with an empty constraint
	}
	return map[string]string{"LocationConstraint": region}, nil
}

type policyIn struct {
	Bucket string
	Policy string
}

func (a *API) putBucketPolicy(ctx context.Context, req *awsapi.Request, in *policyIn) (any, error) {
	return nil, a.Artifacts.PutBucketPolicy(ctx, req.Caller, in.Bucket, in.Policy)
}

func (a *API) getBucketPolicy(ctx context.Context, req *awsapi.Request, in *bucketIn) (any, error) {
	p, err := a.Artifacts.GetBucketPolicy(ctx, req.Caller, in.Bucket)
	if err != nil {
		return nil, err
	}
	return map[string]string{"Policy": p}, nil
}

func (a *API) deleteBucketPolicy(ctx context.Context, req *awsapi.Request, in *bucketIn) (any, error) {
	return nil, a.Artifacts.DeleteBucketPolicy(ctx, req.Caller, in.Bucket)
}

// ---- tagging -------------------------------------------------------------------------------

type objectIn struct {
	Bucket, Key string
	VersionId   string
}

type tagWire struct {
	Key   string
	Value string
}

type taggingIn struct {
	Bucket, Key string
	Tagging     struct{ TagSet []tagWire }
}

func (a *API) putTagging(ctx context.Context, req *awsapi.Request, in *taggingIn) (any, error) {
	tags := map[string]string{}
	for _, t := range in.Tagging.TagSet {
		if _, dup := tags[t.Key]; dup {
			return nil, errs.E(errs.Invalid, "Cannot provide multiple Tags with the same key").WithCode("InvalidTag")
		}
		tags[t.Key] = t.Value
	}
	return nil, a.Artifacts.PutObjectTags(ctx, req.Caller, in.Bucket, in.Key, tags, false)
}

func (a *API) getTagging(ctx context.Context, req *awsapi.Request, in *objectIn) (any, error) {
	tags, err := a.Artifacts.GetObjectTags(ctx, req.Caller, in.Bucket, in.Key)
	if err != nil {
		return nil, err
	}
	out := struct{ TagSet []tagWire }{TagSet: []tagWire{}}
	for _, k := range sortedKeys(tags) {
		out.TagSet = append(out.TagSet, tagWire{Key: k, Value: tags[k]})
	}
	return out, nil
}

func (a *API) deleteTagging(ctx context.Context, req *awsapi.Request, in *objectIn) (any, error) {
	return nil, a.Artifacts.PutObjectTags(ctx, req.Caller, in.Bucket, in.Key, nil, true)
}

// urlEncode is encoding-type=url's encoding of keys and prefixes, as S3 writes it: form
// encoding (a space is "+"), except that "/" and "*" stay as they are and "~" is escaped.
// Clients decode it with unquote_plus (botocore) or url.QueryUnescape, which take either form.
func urlEncode(s string, on bool) string {
	if !on {
		return s
	}
	return urlEncoder.Replace(url.QueryEscape(s))
}

var urlEncoder = strings.NewReplacer("%2F", "/", "%2A", "*", "~", "%7E")
