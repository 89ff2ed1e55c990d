package s3api

import (
	"context"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

// checksumsIn are the x-amz-checksum-* members of an input.
type checksumsIn struct {
	ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 string
	ChecksumAlgorithm                                                              string
}

func (c checksumsIn) declared() map[string]string {
	out := map[string]string{}
	for alg, v := range map[string]string{"CRC32": c.ChecksumCRC32, "CRC32C": c.ChecksumCRC32C, "CRC64NVME": c.ChecksumCRC64NVME, "SHA1": c.ChecksumSHA1, "SHA256": c.ChecksumSHA256} {
		if v != "" {
			out[alg] = v
		}
	}
	return out
}

// checksumsOut are the checksum members of an output.
type checksumsOut struct {
	ChecksumCRC32     string `json:",omitempty"`
	ChecksumCRC32C    string `json:",omitempty"`
	ChecksumCRC64NVME string `json:",omitempty"`
	ChecksumSHA1      string `json:",omitempty"`
	ChecksumSHA256    string `json:",omitempty"`
	ChecksumType      string `json:",omitempty"`
}

func checksumsOf(m map[string]string, typ string) checksumsOut {
	if len(m) == 0 {
		return checksumsOut{}
	}
	return checksumsOut{ChecksumCRC32: m["CRC32"], ChecksumCRC32C: m["CRC32C"], ChecksumCRC64NVME: m["CRC64NVME"],
		ChecksumSHA1: m["SHA1"], ChecksumSHA256: m["SHA256"], ChecksumType: typ}
}

// trailerAlgorithm names the checksum an aws-chunked body carries in its trailer.
func trailerAlgorithm(req *awsapi.Request) string {
	t := strings.ToLower(strings.TrimSpace(req.Header.Get("X-Amz-Trailer")))
	if alg, ok := strings.CutPrefix(t, "x-amz-checksum-"); ok {
		return strings.ToUpper(alg)
	}
	return ""
}

// storedEncoding drops aws-chunked, the transfer framing, from a Content-Encoding.
func storedEncoding(v string) string {
	var keep []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}

type putObjectIn struct {
	Bucket, Key string
	checksumsIn
	CacheControl, ContentDisposition, ContentEncoding, ContentLanguage, ContentType string
	ContentLength                                                                   *int64
	ContentMD5                                                                      string
	Expires                                                                         *time.Time
	Metadata                                                                        map[string]string
	Tagging                                                                         *string
	IfMatch, IfNoneMatch                                                            string
}

type putObjectOut struct {
	ETag string
	checksumsOut
}

func expiresText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (a *API) putObject(ctx context.Context, req *awsapi.Request, in *putObjectIn) (any, error) {
	body := req.BodyStream
	if body == nil {
		body = strings.NewReader(string(req.Body))
	}
	pi := artifacts.PutInput{
		Bucket: in.Bucket, Key: in.Key, Body: body, ContentType: in.ContentType, Metadata: in.Metadata,
		ContentEncoding: storedEncoding(in.ContentEncoding), ContentDisposition: in.ContentDisposition,
		ContentLanguage: in.ContentLanguage, CacheControl: in.CacheControl, Expires: expiresText(in.Expires),
		ContentMD5: in.ContentMD5, Checksums: in.declared(), ChecksumAlgorithm: in.ChecksumAlgorithm,
		IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch,
	}
	if req.BodyStream != nil && !strings.HasPrefix(req.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		pi.ContentLength = in.ContentLength
	}
	if t := trailerAlgorithm(req); t != "" && pi.ChecksumAlgorithm == "" {
		pi.ChecksumAlgorithm = t
	}
	if in.Tagging != nil {
		tags, err := artifacts.ParseTagging(*in.Tagging)
		if err != nil {
			return nil, err
		}
		pi.Tags = tags
	}
	info, err := a.Artifacts.PutObject(ctx, req.Caller, pi)
	if err != nil {
		return nil, err
	}
	return putObjectOut{ETag: info.ETag, checksumsOut: checksumsOf(info.Checksums, info.ChecksumType)}, nil
}

type getObjectIn struct {
	Bucket, Key                                                               string
	IfMatch, IfNoneMatch                                                      string
	IfModifiedSince, IfUnmodifiedSince                                        *time.Time
	Range                                                                     string
	ChecksumMode                                                              string
	PartNumber                                                                int
	ResponseCacheControl, ResponseContentDisposition, ResponseContentEncoding string
	ResponseContentLanguage, ResponseContentType                              string
	ResponseExpires                                                           *time.Time
}

func (in *getObjectIn) conditions() artifacts.Conditions {
	c := artifacts.Conditions{IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch}
	if in.IfModifiedSince != nil {
		c.IfModifiedSince = *in.IfModifiedSince
	}
	if in.IfUnmodifiedSince != nil {
		c.IfUnmodifiedSince = *in.IfUnmodifiedSince
	}
	return c
}

// objectOut is GetObject's and HeadObject's output.
type objectOut struct {
	Body               io.Reader `json:",omitempty"`
	AcceptRanges       string
	ContentLength      int64
	ContentType        string
	ETag               string
	LastModified       time.Time
	ContentRange       string            `json:",omitempty"`
	ContentEncoding    string            `json:",omitempty"`
	ContentDisposition string            `json:",omitempty"`
	ContentLanguage    string            `json:",omitempty"`
	CacheControl       string            `json:",omitempty"`
	Expires            string            `json:",omitempty"`
	Metadata           map[string]string `json:",omitempty"`
	TagCount           int               `json:",omitempty"`
	PartsCount         int               `json:",omitempty"`
	checksumsOut
	status int
}

// HTTPStatus makes a ranged answer 206 Partial Content.
func (o objectOut) HTTPStatus() int { return o.status }

func objectWire(info artifacts.ObjectInfo, in *getObjectIn) objectOut {
	out := objectOut{
		AcceptRanges: "bytes", ContentLength: info.Size, ContentType: info.ContentType, ETag: info.ETag,
		LastModified: info.LastModified, ContentEncoding: info.ContentEncoding, ContentDisposition: info.ContentDisposition,
		ContentLanguage: info.ContentLanguage, CacheControl: info.CacheControl, Expires: info.Expires,
		Metadata: info.Metadata, TagCount: info.TagCount, PartsCount: info.PartsCount,
	}
	if info.ContentRange != "" {
		out.ContentRange, out.status = info.ContentRange, 206
		var first, last, size int64
		if _, err := sscanRange(info.ContentRange, &first, &last, &size); err == nil {
			out.ContentLength = last - first + 1
		}
	}
	if strings.EqualFold(in.ChecksumMode, "ENABLED") {
		out.checksumsOut = checksumsOf(info.Checksums, info.ChecksumType)
	}
	// response-* parameters override the stored headers (S3 requires a signed request;
	// every request here is signed).
	for _, o := range []struct {
		v   string
		dst *string
	}{{in.ResponseCacheControl, &out.CacheControl}, {in.ResponseContentDisposition, &out.ContentDisposition},
		{in.ResponseContentEncoding, &out.ContentEncoding}, {in.ResponseContentLanguage, &out.ContentLanguage},
		{in.ResponseContentType, &out.ContentType}} {
		if o.v != "" {
			*o.dst = o.v
		}
	}
	if in.ResponseExpires != nil {
		out.Expires = in.ResponseExpires.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")
	}
	return out
}

func (a *API) getObject(ctx context.Context, req *awsapi.Request, in *getObjectIn) (any, error) {
	info, r, err := a.Artifacts.Get(ctx, req.Caller, artifacts.GetInput{
		Bucket: in.Bucket, Key: in.Key, Range: artifacts.ParseRange(in.Range), PartNumber: in.PartNumber, Conditions: in.conditions(),
	})
	if err != nil {
		return nil, err
	}
	out := objectWire(info, in)
	out.Body = r
	return out, nil
}

func (a *API) headObject(ctx context.Context, req *awsapi.Request, in *getObjectIn) (any, error) {
	info, err := a.Artifacts.Head(ctx, req.Caller, artifacts.GetInput{
		Bucket: in.Bucket, Key: in.Key, Range: artifacts.ParseRange(in.Range), PartNumber: in.PartNumber, Conditions: in.conditions(),
	})
	if err != nil {
		return nil, err
	}
	return objectWire(info, in), nil
}

func (a *API) deleteObject(ctx context.Context, req *awsapi.Request, in *objectIn) (any, error) {
	return nil, a.Artifacts.DeleteObject(ctx, req.Caller, in.Bucket, in.Key)
}

type deleteObjectsIn struct {
	Bucket string
	Delete struct {
		Objects []struct{ Key string }
		Quiet   bool
	}
}

type deletedOut struct{ Key string }

type deleteErrorOut struct {
	Key, Code, Message string
}

func (a *API) deleteObjects(ctx context.Context, req *awsapi.Request, in *deleteObjectsIn) (any, error) {
	keys := make([]string, 0, len(in.Delete.Objects))
	for _, o := range in.Delete.Objects {
		keys = append(keys, o.Key)
	}
	if len(keys) == 0 {
		return nil, errs.E(errs.Invalid, "The XML you provided was not well-formed or did not validate against our published schema").WithCode("MalformedXML")
	}
	res, err := a.Artifacts.DeleteObjects(ctx, req.Caller, in.Bucket, keys)
	if err != nil {
		return nil, err
	}
	out := struct {
		Deleted []deletedOut     `json:",omitempty"`
		Errors  []deleteErrorOut `json:",omitempty"`
	}{}
	for _, r := range res {
		if r.Code != "" {
			out.Errors = append(out.Errors, deleteErrorOut{Key: r.Key, Code: r.Code, Message: r.Message})
		} else if !in.Delete.Quiet {
			out.Deleted = append(out.Deleted, deletedOut{Key: r.Key})
		}
	}
	return out, nil
}

// copySource parses x-amz-copy-source: [/]BUCKET/KEY[?versionId=…], URL-encoded.
func copySource(v string) (bucket, key string, err error) {
	v, _, _ = strings.Cut(v, "?versionId=")
	v = strings.TrimPrefix(v, "/")
	b, k, ok := strings.Cut(v, "/")
	if ok {
		bucket, err = url.PathUnescape(b)
		if err == nil {
			key, err = url.PathUnescape(k)
		}
	}
	if !ok || err != nil || bucket == "" || key == "" {
		return "", "", errs.E(errs.Invalid, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey").WithCode("InvalidArgument")
	}
	return bucket, key, nil
}

type copyObjectIn struct {
	Bucket, Key                                                                     string
	CopySource                                                                      string
	CopySourceIfMatch, CopySourceIfNoneMatch                                        string
	CopySourceIfModifiedSince, CopySourceIfUnmodifiedSince                          *time.Time
	MetadataDirective, TaggingDirective                                             string
	CacheControl, ContentDisposition, ContentEncoding, ContentLanguage, ContentType string
	Expires                                                                         *time.Time
	Metadata                                                                        map[string]string
	Tagging                                                                         *string
	ChecksumAlgorithm                                                               string
}

func sourceConditions(ifMatch, ifNoneMatch string, mod, unmod *time.Time) artifacts.Conditions {
	c := artifacts.Conditions{IfMatch: ifMatch, IfNoneMatch: ifNoneMatch}
	if mod != nil {
		c.IfModifiedSince = *mod
	}
	if unmod != nil {
		c.IfUnmodifiedSince = *unmod
	}
	return c
}

type copyResultOut struct {
	ETag         string
	LastModified time.Time
	checksumsOut
}

func (a *API) copyObject(ctx context.Context, req *awsapi.Request, in *copyObjectIn) (any, error) {
	sb, sk, err := copySource(in.CopySource)
	if err != nil {
		return nil, err
	}
	ci := artifacts.CopyInput{
		Bucket: in.Bucket, Key: in.Key, SourceBucket: sb, SourceKey: sk,
		SourceConditions:  sourceConditions(in.CopySourceIfMatch, in.CopySourceIfNoneMatch, in.CopySourceIfModifiedSince, in.CopySourceIfUnmodifiedSince),
		ChecksumAlgorithm: in.ChecksumAlgorithm,
	}
	switch in.MetadataDirective {
	case "", "COPY":
	case "REPLACE":
		ci.ReplaceMetadata = true
		ci.ContentType, ci.Metadata = in.ContentType, in.Metadata
		ci.ContentEncoding, ci.ContentDisposition = storedEncoding(in.ContentEncoding), in.ContentDisposition
		ci.ContentLanguage, ci.CacheControl, ci.Expires = in.ContentLanguage, in.CacheControl, expiresText(in.Expires)
	default:
		return nil, errs.E(errs.Invalid, "Unknown metadata directive.").WithCode("InvalidArgument")
	}
	switch in.TaggingDirective {
	case "", "COPY":
	case "REPLACE":
		ci.ReplaceTags, ci.Tags = true, map[string]string{}
		if in.Tagging != nil {
			tags, err := artifacts.ParseTagging(*in.Tagging)
			if err != nil {
				return nil, err
			}
			ci.Tags = tags
		}
	default:
		return nil, errs.E(errs.Invalid, "Unknown tagging directive.").WithCode("InvalidArgument")
	}
	info, err := a.Artifacts.CopyObject(ctx, req.Caller, ci)
	if err != nil {
		return nil, err
	}
	return map[string]any{"CopyObjectResult": copyResultOut{ETag: info.ETag, LastModified: info.LastModified,
		checksumsOut: checksumsOf(info.Checksums, info.ChecksumType)}}, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
