package s3api

import (
	"context"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

type createUploadIn struct {
	Bucket, Key                                                                     string
	CacheControl, ContentDisposition, ContentEncoding, ContentLanguage, ContentType string
	Expires                                                                         *time.Time
	Metadata                                                                        map[string]string
	Tagging                                                                         *string
	ChecksumAlgorithm, ChecksumType                                                 string
}

func (a *API) createUpload(ctx context.Context, req *awsapi.Request, in *createUploadIn) (any, error) {
	t := artifacts.Object{
		ContentType: in.ContentType, ContentEncoding: storedEncoding(in.ContentEncoding), ContentDisposition: in.ContentDisposition,
		ContentLanguage: in.ContentLanguage, CacheControl: in.CacheControl, Expires: expiresText(in.Expires),
		Metadata: in.Metadata, ChecksumType: in.ChecksumType,
	}
	if in.Tagging != nil {
		tags, err := artifacts.ParseTagging(*in.Tagging)
		if err != nil {
			return nil, err
		}
		t.Tags = tags
	}
	u, err := a.Artifacts.CreateUpload(ctx, req.Caller, in.Bucket, in.Key, t, in.ChecksumAlgorithm)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Bucket": in.Bucket, "Key": in.Key, "UploadId": u.ID}
	for alg := range u.Template.Checksums {
		out["ChecksumAlgorithm"], out["ChecksumType"] = alg, u.Template.ChecksumType
	}
	return out, nil
}

type uploadPartIn struct {
	Bucket, Key, UploadId string
	PartNumber            int
	checksumsIn
	ContentLength *int64
	ContentMD5    string
}

type uploadPartOut struct {
	ETag string
	checksumsOut
}

func (a *API) uploadPart(ctx context.Context, req *awsapi.Request, in *uploadPartIn) (any, error) {
	pi := artifacts.PartInput{
		Bucket: in.Bucket, Key: in.Key, UploadID: in.UploadId, Number: in.PartNumber, Body: req.BodyStream,
		ContentMD5: in.ContentMD5, Checksums: in.declared(), ChecksumAlgorithm: in.ChecksumAlgorithm,
	}
	if pi.Body == nil {
		pi.Body = strings.NewReader(string(req.Body))
	}
	if !strings.HasPrefix(req.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		pi.ContentLength = in.ContentLength
	}
	if t := trailerAlgorithm(req); t != "" && pi.ChecksumAlgorithm == "" {
		pi.ChecksumAlgorithm = t
	}
	p, err := a.Artifacts.UploadPart(ctx, req.Caller, pi)
	if err != nil {
		return nil, err
	}
	return uploadPartOut{ETag: p.ETag, checksumsOut: checksumsOf(p.Checksums, "")}, nil
}

type uploadPartCopyIn struct {
	Bucket, Key, UploadId                                  string
	PartNumber                                             int
	CopySource, CopySourceRange                            string
	CopySourceIfMatch, CopySourceIfNoneMatch               string
	CopySourceIfModifiedSince, CopySourceIfUnmodifiedSince *time.Time
}

func (a *API) uploadPartCopy(ctx context.Context, req *awsapi.Request, in *uploadPartCopyIn) (any, error) {
	sb, sk, err := copySource(in.CopySource)
	if err != nil {
		return nil, err
	}
	ci := artifacts.CopyPartInput{
		Bucket: in.Bucket, Key: in.Key, UploadID: in.UploadId, Number: in.PartNumber, SourceBucket: sb, SourceKey: sk,
		SourceConditions: sourceConditions(in.CopySourceIfMatch, in.CopySourceIfNoneMatch, in.CopySourceIfModifiedSince, in.CopySourceIfUnmodifiedSince),
	}
	if in.CopySourceRange != "" {
		ci.SourceRange = artifacts.ParseRange(in.CopySourceRange)
		if ci.SourceRange == nil || ci.SourceRange.Suffix > 0 || ci.SourceRange.Last < 0 {
			return nil, errs.E(errs.Invalid, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy").WithCode("InvalidArgument")
		}
	}
	p, err := a.Artifacts.UploadPartCopy(ctx, req.Caller, ci)
	if err != nil {
		return nil, err
	}
	return map[string]any{"CopyPartResult": copyResultOut{ETag: p.ETag, LastModified: p.ModifiedAt, checksumsOut: checksumsOf(p.Checksums, "")}}, nil
}

type completeIn struct {
	Bucket, Key, UploadId string
	checksumsIn
	MultipartUpload struct {
		Parts []struct {
			PartNumber int
			ETag       string
			checksumsIn
		}
	}
}

func (a *API) completeUpload(ctx context.Context, req *awsapi.Request, in *completeIn) (any, error) {
	list := make([]artifacts.CompletedPart, 0, len(in.MultipartUpload.Parts))
	for _, p := range in.MultipartUpload.Parts {
		list = append(list, artifacts.CompletedPart{Number: p.PartNumber, ETag: p.ETag, Checksums: p.declared()})
	}
	info, err := a.Artifacts.CompleteUpload(ctx, req.Caller, in.Bucket, in.Key, in.UploadId, list, in.declared())
	if err != nil {
		return nil, err
	}
	return struct {
		Location, Bucket, Key, ETag string
		checksumsOut
	}{Location: "/" + in.Bucket + "/" + in.Key, Bucket: in.Bucket, Key: in.Key, ETag: info.ETag,
		checksumsOut: checksumsOf(info.Checksums, info.ChecksumType)}, nil
}

type uploadIn struct {
	Bucket, Key, UploadId string
	MaxParts              *int
	PartNumberMarker      int
}

func (a *API) abortUpload(ctx context.Context, req *awsapi.Request, in *uploadIn) (any, error) {
	return nil, a.Artifacts.AbortUpload(ctx, req.Caller, in.Bucket, in.Key, in.UploadId)
}

type partOut struct {
	PartNumber   int
	LastModified time.Time
	ETag         string
	Size         int64
	checksumsOut
}

type initiatorOut struct{ ID, DisplayName string }

func (a *API) listParts(ctx context.Context, req *awsapi.Request, in *uploadIn) (any, error) {
	max := 1000
	if in.MaxParts != nil {
		max = *in.MaxParts
	}
	u, parts, truncated, err := a.Artifacts.ListParts(ctx, req.Caller, in.Bucket, in.Key, in.UploadId, in.PartNumberMarker, max)
	if err != nil {
		return nil, err
	}
	out := struct {
		Bucket, Key, UploadId string
		PartNumberMarker      int
		NextPartNumberMarker  int `json:",omitempty"`
		MaxParts              int
		IsTruncated           bool
		Parts                 []partOut
		Initiator             initiatorOut
		Owner                 ownerOut
		StorageClass          string
		ChecksumAlgorithm     string `json:",omitempty"`
		ChecksumType          string `json:",omitempty"`
	}{Bucket: in.Bucket, Key: in.Key, UploadId: in.UploadId, PartNumberMarker: in.PartNumberMarker, MaxParts: max,
		IsTruncated: truncated, Parts: []partOut{}, Initiator: initiatorOut{ID: u.Initiator, DisplayName: u.Initiator},
		Owner: ownerOut{ID: u.Owner, DisplayName: u.Owner}, StorageClass: "STANDARD"}
	for alg := range u.Template.Checksums {
		out.ChecksumAlgorithm, out.ChecksumType = alg, u.Template.ChecksumType
	}
	for _, p := range parts {
		out.Parts = append(out.Parts, partOut{PartNumber: p.Number, LastModified: p.ModifiedAt, ETag: p.ETag, Size: p.Blob.Size,
			checksumsOut: checksumsOf(p.Checksums, "")})
		out.NextPartNumberMarker = p.Number
	}
	return out, nil
}

type listUploadsIn struct {
	Bucket, Prefix, Delimiter, KeyMarker, UploadIdMarker, EncodingType string
	MaxUploads                                                         *int
}

type uploadOut struct {
	UploadId, Key string
	Initiated     time.Time
	StorageClass  string
	Owner         ownerOut
	Initiator     initiatorOut
}

func (a *API) listUploads(ctx context.Context, req *awsapi.Request, in *listUploadsIn) (any, error) {
	max := 1000
	if in.MaxUploads != nil {
		max = *in.MaxUploads
	}
	us, truncated, err := a.Artifacts.ListUploads(ctx, req.Caller, in.Bucket, in.Prefix, in.KeyMarker, in.UploadIdMarker, max)
	if err != nil {
		return nil, err
	}
	url := in.EncodingType == "url"
	out := struct {
		Bucket, KeyMarker, UploadIdMarker string
		NextKeyMarker                     string `json:",omitempty"`
		NextUploadIdMarker                string `json:",omitempty"`
		Prefix                            string `json:",omitempty"`
		EncodingType                      string `json:",omitempty"`
		MaxUploads                        int
		IsTruncated                       bool
		Uploads                           []uploadOut
	}{Bucket: in.Bucket, KeyMarker: urlEncode(in.KeyMarker, url), UploadIdMarker: in.UploadIdMarker, Prefix: urlEncode(in.Prefix, url),
		EncodingType: in.EncodingType, MaxUploads: max, IsTruncated: truncated, Uploads: []uploadOut{}}
	for _, u := range us {
		out.Uploads = append(out.Uploads, uploadOut{UploadId: u.ID, Key: urlEncode(u.Key, url), Initiated: u.Initiated, StorageClass: "STANDARD",
			Owner: ownerOut{ID: u.Owner, DisplayName: u.Owner}, Initiator: initiatorOut{ID: u.Initiator, DisplayName: u.Initiator}})
		out.NextKeyMarker, out.NextUploadIdMarker = urlEncode(u.Key, url), u.ID
	}
	return out, nil
}
