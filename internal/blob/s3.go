package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/slipway-ml/slipway/internal/errs"
)

// S3Options configure the S3 backend.
type S3Options struct {
	Bucket string
	Prefix string // prepended to every key (a '/' is added when missing); "" for the bucket's root
	// Endpoint is the base URL of an S3-compatible service, e.g. http://127.0.0.1:7070; requests
	// then use path-style addressing. "" means AWS S3 (or the endpoint the AWS configuration
	// names).
	Endpoint string
	Region   string // "" takes the region from the AWS configuration, else us-east-1
	// AccessKey and SecretKey, when set, are the credentials; otherwise they come from the AWS
	// SDK's default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, the shared
	// files (~/.aws/credentials and config, AWS_PROFILE), web identity, the container
	// credentials endpoint, and EC2 instance metadata.
	AccessKey string
	SecretKey string
}

// S3 is the backend on an S3-compatible service. A Put is a single PutObject or, for large
// bodies, a multipart upload through the SDK's transfer manager; both become visible only
// whole, and a failed multipart upload is aborted.
type S3 struct {
	client   *s3.Client
	uploader *manager.Uploader
	bucket   string
	prefix   string
}

var _ Store = (*S3)(nil)

// s3Params are the query parameters an s3:// URL may carry.
var s3Params = map[string]bool{"endpoint": true, "region": true, "access_key": true, "secret_key": true}

// openS3URL opens s3://bucket/prefix?endpoint=…&region=…&access_key=…&secret_key=….
func openS3URL(ctx context.Context, u *url.URL) (*S3, error) {
	o, err := parseS3URL(u)
	if err != nil {
		return nil, err
	}
	return OpenS3(ctx, o)
}

// parseS3URL reads the options of an s3:// URL, checking them as OpenS3 does.
func parseS3URL(u *url.URL) (S3Options, error) {
	if u.Host == "" {
		return S3Options{}, errs.E(errs.Invalid, "s3: blob store URL names no bucket; want s3://bucket/prefix")
	}
	if u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return S3Options{}, errs.E(errs.Invalid, "s3: blob store URL takes no user, opaque part or fragment; want s3://bucket/prefix?…")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return S3Options{}, errs.E(errs.Invalid, "s3: blob store URL has a malformed query")
	}
	for name, vals := range q {
		if !s3Params[name] {
			return S3Options{}, errs.E(errs.Invalid, "s3: blob store URL has unknown parameter %q; known: endpoint, region, access_key, secret_key", name)
		}
		if len(vals) != 1 {
			return S3Options{}, errs.E(errs.Invalid, "s3: blob store URL repeats parameter %q", name)
		}
	}
	o := S3Options{
		Bucket:    u.Host,
		Prefix:    strings.TrimPrefix(u.Path, "/"),
		Endpoint:  q.Get("endpoint"),
		Region:    q.Get("region"),
		AccessKey: q.Get("access_key"),
		SecretKey: q.Get("secret_key"),
	}
	_, err = o.check()
	return o, err
}

// check checks the options and returns the prefix of the store's object names ("" or ending
// in '/').
func (o S3Options) check() (string, error) {
	if o.Bucket == "" {
		return "", errs.E(errs.Invalid, "s3 blob store: no bucket")
	}
	prefix := strings.Trim(o.Prefix, "/")
	if prefix != "" {
		if err := ValidKey(prefix); err != nil {
			return "", errs.E(errs.Invalid, "s3 blob store: bad prefix", err)
		}
		prefix += "/"
	}
	if o.Endpoint != "" {
		e, err := url.Parse(o.Endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return "", errs.E(errs.Invalid, "s3 blob store: the endpoint is not an http(s) URL")
		}
	}
	if (o.AccessKey == "") != (o.SecretKey == "") {
		return "", errs.E(errs.Invalid, "s3 blob store: access_key and secret_key go together")
	}
	return prefix, nil
}

// OpenS3 opens the S3 backend and checks that the bucket can be reached.
func OpenS3(ctx context.Context, o S3Options) (*S3, error) {
	prefix, err := o.check()
	if err != nil {
		return nil, err
	}
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, errs.E(errs.Invalid, "s3 blob store: cannot load the AWS configuration", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
		// Checksums only where the API requires them: S3-compatible services differ in their
		// support of the SDK's default trailing checksums, and SigV4 already covers the payload.
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	s := &S3{client: client, uploader: manager.NewUploader(client), bucket: o.Bucket, prefix: prefix}
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(o.Bucket)}); err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == 404 {
			return nil, errs.E(errs.Invalid, "s3 blob store: bucket %q does not exist", o.Bucket, err)
		}
		return nil, errs.E(errs.Unavailable, "s3 blob store: cannot reach bucket %q", o.Bucket, err)
	}
	return s, nil
}

// object is the name of key's object: the prefix, then the key's stored name.
func (s *S3) object(key string) *string { return aws.String(s.prefix + storedName(key)) }

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := ValidKey(key); err != nil {
		return 0, err
	}
	body, size := io.Reader(nil), int64(-1)
	if f, ok := r.(*os.File); ok {
		// The rest of a regular file is a section the uploader reads its parts from in
		// parallel, without copying them into buffers first.
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil && off <= fi.Size() {
				size = fi.Size() - off
				body = io.NewSectionReader(f, off, size)
			}
		}
	}
	cr := &countingReader{r: ctxReader{ctx, r}}
	if body == nil {
		body = cr
	}
	_, err := s.uploader.Upload(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    s.object(key),
		Body:   body,
	})
	if err != nil {
		return 0, s3Err(err, "cannot store blob %q", key)
	}
	if size >= 0 {
		// Leave the file where reading it would have.
		f := r.(*os.File)
		if _, err := f.Seek(size, io.SeekCurrent); err != nil {
			return 0, errs.E(errs.Internal, "blob %q is stored, but its source file cannot seek", key, err)
		}
		return size, nil
	}
	return cr.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open implements Store, with a ranged GET.
func (s *S3) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, errs.E(errs.Invalid, "blob range offset %d is negative", off)
	}
	if n == 0 {
		return s.emptyAt(ctx, key, off)
	}
	if n > math.MaxInt64-off {
		n = -1 // to the end, whatever its size
	}
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: s.object(key)}
	switch {
	case off == 0 && n < 0:
	case n < 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	default:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		if errorCode(err) == "InvalidRange" {
			// The range starts at or after the end: empty at the end, an error past it.
			return s.emptyAt(ctx, key, off)
		}
		return nil, s3Err(err, "cannot read blob %q", key)
	}
	return out.Body, nil
}

// emptyAt is an empty read at off, which must not be past the end of the blob.
func (s *S3) emptyAt(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	size, err := s.Size(ctx, key)
	if err != nil {
		return nil, err
	}
	if off > size {
		return nil, errs.E(errs.Invalid, "blob range offset %d is past the end of blob %q (%d bytes)", off, key, size)
	}
	return io.NopCloser(bytes.NewReader(nil)), nil
}

// Size implements Store.
func (s *S3) Size(ctx context.Context, key string) (int64, error) {
	if err := ValidKey(key); err != nil {
		return 0, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: s.object(key)})
	if err != nil {
		return 0, s3Err(err, "cannot read blob %q", key)
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: s.object(key)})
	if err != nil && !isNotFound(err) {
		return s3Err(err, "cannot delete blob %q", key)
	}
	return nil
}

// List implements Store: each stored directory is one ListObjectsV2 with the '/' delimiter.
func (s *S3) List(ctx context.Context, prefix string, fn func(key string, size int64) error) error {
	return list(ctx, prefix, s.level, fn)
}

func (s *S3) level(ctx context.Context, dir string) ([]entry, error) {
	var entries []entry
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket:    aws.String(s.bucket),
		Prefix:    aws.String(s.prefix + dir),
		Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, errs.E(s3Kind(err), "cannot list blobs", err)
		}
		for _, o := range page.Contents {
			if name, ok := strings.CutPrefix(aws.ToString(o.Key), s.prefix+dir); ok && name != "" {
				entries = append(entries, entry{name: name, size: aws.ToInt64(o.Size)})
			}
		}
		for _, cp := range page.CommonPrefixes {
			name, ok := strings.CutPrefix(aws.ToString(cp.Prefix), s.prefix+dir)
			if name, isDir := strings.CutSuffix(name, "/"); ok && isDir && name != "" {
				entries = append(entries, entry{name: name, isDir: true})
			}
		}
	}
	return entries, nil
}

// s3Err classifies an error of the S3 client about a blob: a missing object is NotFound, a
// kind the cause already has (a reader's error) stays, and the rest is the service being
// unavailable.
func s3Err(err error, msg, key string) error {
	if isNotFound(err) {
		return errs.E(errs.NotFound, "blob %q does not exist", key)
	}
	return errs.E(s3Kind(err), msg, key, err)
}

func s3Kind(err error) errs.Kind {
	switch {
	case errs.KindOf(err) != errs.Other:
		return errs.KindOf(err)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return errs.Other
	}
	return errs.Unavailable
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound reports whether err says the object (not the bucket) does not exist. A HEAD
// answers a bare 404 with no code.
func isNotFound(err error) bool {
	switch errorCode(err) {
	case "NoSuchKey", "NotFound":
		return true
	case "":
		var re *awshttp.ResponseError
		return errors.As(err, &re) && re.HTTPStatusCode() == 404
	}
	return false
}
