package artifacts

import (
	"context"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// PutInput is what PutObject stores.
type PutInput struct {
	Bucket, Key string
	Body        io.Reader
	ContentType string
	Metadata    map[string]string

	ContentEncoding, ContentDisposition, ContentLanguage, CacheControl, Expires string
	// ContentLength, when set, is the size the client announced.
	ContentLength *int64
	// ContentMD5 (base64) and Checksums (base64 by algorithm) are what the client declared;
	// ChecksumAlgorithm names an algorithm to compute (and store) even without a value, as
	// when the value comes in an aws-chunked trailer the transport verifies.
	ContentMD5        string
	Checksums         map[string]string
	ChecksumAlgorithm string
	// Tags, when not nil, are the object's tags (x-amz-tagging).
	Tags map[string]string
	// IfMatch and IfNoneMatch make the write conditional ("*" for IfNoneMatch: only if absent).
	IfMatch, IfNoneMatch string
}

// objectKeys are the condition keys of a call on an existing object: its tags.
func objectKeys(o *Object) map[string][]string {
	if o == nil || len(o.Tags) == 0 {
		return nil
	}
	keys := make(map[string][]string, len(o.Tags))
	for k, v := range o.Tags {
		keys["s3:ExistingObjectTag/"+k] = []string{v}
	}
	return keys
}

func requestTagKeys(tags map[string]string) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	keys := map[string][]string{}
	var names []string
	for k, v := range tags {
		keys["s3:RequestObjectTag/"+k] = []string{v}
		names = append(names, k)
	}
	keys["s3:RequestObjectTagKeys"] = names
	return keys
}

// CheckTags enforces S3's limits on object tags.
func CheckTags(tags map[string]string) error {
	if len(tags) > 10 {
		return errs.E(errs.Invalid, "Object tags cannot be greater than 10").WithCode("BadRequest")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return errs.E(errs.Invalid, "The TagKey you have provided is invalid (1 to 128 characters; values up to 256)").WithCode("InvalidTag")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errs.E(errs.Invalid, "Your TagKey cannot be prefixed with aws:").WithCode("InvalidTag")
		}
	}
	return nil
}

// ParseTagging reads the x-amz-tagging header (URL query encoded).
func ParseTagging(h string) (map[string]string, error) {
	q, err := url.ParseQuery(h)
	if err != nil {
		return nil, errs.E(errs.Invalid, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.").WithCode("InvalidArgument")
	}
	tags := map[string]string{}
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, errs.E(errs.Invalid, "Cannot provide multiple Tags with the same key").WithCode("InvalidTag")
		}
		tags[k] = vs[0]
	}
	return tags, CheckTags(tags)
}

// algorithmsOf lists the checksums a write computes: the declared ones and the named one.
func algorithmsOf(declared map[string]string, named string) ([]string, error) {
	algs := sortedAlgs(declared)
	for _, a := range algs {
		if _, err := ChecksumAlgorithm(a); err != nil {
			return nil, err
		}
	}
	if named != "" {
		a, err := ChecksumAlgorithm(named)
		if err != nil {
			return nil, err
		}
		if _, dup := declared[a]; !dup {
			algs = append(algs, a)
		}
	}
	return algs, nil
}

// PutObject stores an object. The payload is read to its end and verified before anything
// commits.
func (s *Service) PutObject(ctx context.Context, caller identity.Caller, in PutInput) (ObjectInfo, error) {
	if err := CheckKey(in.Key); err != nil {
		return ObjectInfo{}, err
	}
	b, err := s.bucket(ctx, in.Bucket)
	if err != nil {
		return ObjectInfo{}, err
	}
	res := arn.S3Object(in.Bucket, in.Key)
	if err := s.authorize(ctx, caller, "PutObject", b, res, requestTagKeys(in.Tags)); err != nil {
		return ObjectInfo{}, err
	}
	if in.Tags != nil {
		if err := CheckTags(in.Tags); err != nil {
			return ObjectInfo{}, err
		}
		if len(in.Tags) > 0 {
			if err := s.authorize(ctx, caller, "PutObjectTagging", b, res, requestTagKeys(in.Tags)); err != nil {
				return ObjectInfo{}, err
			}
		}
	}
	algs, err := algorithmsOf(in.Checksums, in.ChecksumAlgorithm)
	if err != nil {
		return ObjectInfo{}, err
	}
	body := in.Body
	if body == nil {
		body = strings.NewReader("")
	}
	blob, d, err := s.writeBlob(ctx, body, algs)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := d.verify(in.ContentMD5, in.Checksums, in.ContentLength); err != nil {
		s.dropBlobs(blob)
		return ObjectInfo{}, err
	}
	o := Object{
		Bucket: in.Bucket, Key: in.Key, Size: blob.Size, ETag: d.etag(), ContentType: in.ContentType,
		ContentEncoding: in.ContentEncoding, ContentDisposition: in.ContentDisposition, ContentLanguage: in.ContentLanguage,
		CacheControl: in.CacheControl, Expires: in.Expires, Metadata: in.Metadata, Checksums: d.checksums(),
		Tags: in.Tags, Blobs: []Blob{blob}, Owner: caller.Account,
	}
	if len(o.Checksums) > 0 {
		o.ChecksumType = "FULL_OBJECT"
	}
	if o.ContentType == "" {
		o.ContentType = "binary/octet-stream"
	}
	if err := s.commitObject(ctx, &o, in.IfMatch, in.IfNoneMatch); err != nil {
		s.dropBlobs(blob)
		return ObjectInfo{}, err
	}
	return o.info(), nil
}

// commitObject writes o's row (setting its modification time), replacing what the key held,
// and then drops the replaced blobs.
func (s *Service) commitObject(ctx context.Context, o *Object, ifMatch, ifNoneMatch string) error {
	var replaced []Blob
	err := s.store.Update(ctx, func(tx Tx) error {
		replaced = nil
		o.ModifiedAt = s.now().UTC().Truncate(time.Millisecond)
		old, err := tx.LockObject(ctx, o.Bucket, o.Key)
		exists := err == nil
		if err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
		if ifNoneMatch != "" && exists && (ifNoneMatch == "*" || etagIn(old.ETag, ifNoneMatch)) {
			return preconditionFailed()
		}
		if ifMatch != "" && (!exists || !etagIn(old.ETag, ifMatch)) {
			if !exists {
				return noSuchKey()
			}
			return preconditionFailed()
		}
		if err := tx.PutObject(ctx, *o); err != nil {
			return err
		}
		if exists {
			replaced = old.Blobs
		}
		return nil
	})
	if errs.Is(err, errs.NotFound) && errs.CodeOf(err) == "" {
		return noSuchBucket(o.Bucket)
	}
	if err != nil {
		return err
	}
	s.dropBlobs(replaced...)
	return nil
}

func preconditionFailed() error {
	return errs.E(errs.Invalid, "At least one of the pre-conditions you specified did not hold").WithCode("PreconditionFailed")
}

// etagIn reports whether etag is among a comma-separated list of entity tags (or "*").
func etagIn(etag, list string) bool {
	want := strings.Trim(etag, `"`)
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || strings.Trim(t, `"`) == want {
			return true
		}
	}
	return false
}

// Conditions are GetObject's and HeadObject's preconditions.
type Conditions struct {
	IfMatch, IfNoneMatch               string
	IfModifiedSince, IfUnmodifiedSince time.Time
}

// check applies them in RFC 9110's order, as S3 does.
func (c Conditions) check(o Object) error {
	mod := o.ModifiedAt.Truncate(time.Second)
	if c.IfMatch != "" {
		if !etagIn(o.ETag, c.IfMatch) {
			return preconditionFailed()
		}
	} else if !c.IfUnmodifiedSince.IsZero() && mod.After(c.IfUnmodifiedSince) {
		return preconditionFailed()
	}
	if c.IfNoneMatch != "" {
		if etagIn(o.ETag, c.IfNoneMatch) {
			return notModified()
		}
	} else if !c.IfModifiedSince.IsZero() && !mod.After(c.IfModifiedSince) {
		return notModified()
	}
	return nil
}

func notModified() error {
	return errs.E(errs.Invalid, "Not Modified").WithCode("NotModified")
}

// GetInput is a read of an object.
type GetInput struct {
	Bucket, Key string
	Range       *Range
	// PartNumber (> 0) reads one part of an object a multipart upload made (part 1 of any
	// other object is all of it); it excludes Range.
	PartNumber int
	Conditions Conditions
}

// partRange resolves in.PartNumber to a byte range of o, as S3 does: the part's bytes, or
// InvalidPartNumber past the last part.
func (in *GetInput) partRange(o Object) error {
	if in.PartNumber == 0 {
		return nil
	}
	if in.Range != nil {
		return errs.E(errs.Invalid, "Cannot specify both Range header and partNumber query parameter").WithCode("InvalidRequest")
	}
	if err := checkPartNumber(in.PartNumber); err != nil {
		return err
	}
	parts := o.Blobs
	if o.info().PartsCount == 0 {
		parts = []Blob{{Size: o.Size}} // a simple object is one part
	}
	if in.PartNumber > len(parts) {
		return errs.E(errs.Invalid, "The requested partnumber is not satisfiable").WithCode("InvalidPartNumber")
	}
	var off int64
	for _, b := range parts[:in.PartNumber-1] {
		off += b.Size
	}
	size := parts[in.PartNumber-1].Size
	if size == 0 {
		return nil // an empty object: all of it
	}
	in.Range = &Range{First: off, Last: off + size - 1}
	return nil
}

// object loads an object for a read authorized under action.
func (s *Service) object(ctx context.Context, caller identity.Caller, action, bucket, key string) (Bucket, Object, error) {
	if err := CheckKey(key); err != nil {
		return Bucket{}, Object{}, err
	}
	b, err := s.bucket(ctx, bucket)
	if err != nil {
		return b, Object{}, err
	}
	o, err := s.store.GetObject(ctx, bucket, key)
	var found *Object
	if err == nil {
		found = &o
	} else if !errs.Is(err, errs.NotFound) {
		return b, o, err
	}
	if err := s.authorize(ctx, caller, action, b, arn.S3Object(bucket, key), objectKeys(found)); err != nil {
		return b, o, err
	}
	if found == nil {
		return b, o, noSuchKey()
	}
	return b, o, nil
}

// GetObject reads an object, or the part of it rng names (nil: all of it).
func (s *Service) GetObject(ctx context.Context, caller identity.Caller, bucket, key string, rng *Range) (ObjectInfo, io.ReadCloser, error) {
	return s.Get(ctx, caller, GetInput{Bucket: bucket, Key: key, Range: rng})
}

// Get reads an object under conditions.
func (s *Service) Get(ctx context.Context, caller identity.Caller, in GetInput) (ObjectInfo, io.ReadCloser, error) {
	_, o, err := s.object(ctx, caller, "GetObject", in.Bucket, in.Key)
	if err != nil {
		return ObjectInfo{}, nil, err
	}
	if err := in.Conditions.check(o); err != nil {
		return o.info(), nil, err
	}
	if err := in.partRange(o); err != nil {
		return ObjectInfo{}, nil, err
	}
	off, n, err := in.Range.resolve(o.Size)
	if err != nil {
		if o.Size == 0 && in.Range != nil {
			// S3 answers a range of an empty object with the whole (empty) object.
			in.Range, off, n = nil, 0, 0
		} else {
			return ObjectInfo{}, nil, err
		}
	}
	info := o.info()
	if in.Range != nil {
		info.ContentRange = "bytes " + itoa(off) + "-" + itoa(off+n-1) + "/" + itoa(o.Size)
		info.Checksums = nil // the object's checksums are not the range's
	}
	return info, s.open(ctx, o.Blobs, off, n), nil
}

// Head describes an object under conditions.
func (s *Service) Head(ctx context.Context, caller identity.Caller, in GetInput) (ObjectInfo, error) {
	_, o, err := s.object(ctx, caller, "GetObject", in.Bucket, in.Key)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := in.Conditions.check(o); err != nil {
		return ObjectInfo{}, err
	}
	if err := in.partRange(o); err != nil {
		return ObjectInfo{}, err
	}
	info := o.info()
	if in.Range != nil {
		off, n, err := in.Range.resolve(o.Size)
		if err != nil {
			return ObjectInfo{}, err
		}
		info.ContentRange = "bytes " + itoa(off) + "-" + itoa(off+n-1) + "/" + itoa(o.Size)
	}
	return info, nil
}

// DeleteObject deletes an object; a missing one is not an error, as in S3.
func (s *Service) DeleteObject(ctx context.Context, caller identity.Caller, bucket, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	b, err := s.bucket(ctx, bucket)
	if err != nil {
		return err
	}
	return s.deleteObject(ctx, caller, b, key)
}

func (s *Service) deleteObject(ctx context.Context, caller identity.Caller, b Bucket, key string) error {
	if err := s.authorize(ctx, caller, "DeleteObject", b, arn.S3Object(b.Name, key), nil); err != nil {
		return err
	}
	var dropped []Blob
	err := s.store.Update(ctx, func(tx Tx) error {
		dropped = nil
		old, err := tx.LockObject(ctx, b.Name, key)
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteObject(ctx, b.Name, key); err != nil {
			return err
		}
		dropped = old.Blobs
		return nil
	})
	if err != nil {
		return err
	}
	s.dropBlobs(dropped...)
	return nil
}

// DeleteResult is the outcome of one key of DeleteObjects.
type DeleteResult struct {
	Key     string
	Code    string // "" when deleted
	Message string
}

// DeleteObjects deletes keys one by one, each authorized on its own.
func (s *Service) DeleteObjects(ctx context.Context, caller identity.Caller, bucket string, keys []string) ([]DeleteResult, error) {
	b, err := s.bucket(ctx, bucket)
	if err != nil {
		return nil, err
	}
	if len(keys) > 1000 {
		return nil, errs.E(errs.Invalid, "The XML you provided was not well-formed or did not validate against our published schema: at most 1000 keys").WithCode("MalformedXML")
	}
	out := make([]DeleteResult, 0, len(keys))
	for _, k := range keys {
		err := CheckKey(k)
		if err == nil {
			err = s.deleteObject(ctx, caller, b, k)
		}
		r := DeleteResult{Key: k}
		if err != nil {
			if errs.KindOf(err) == errs.Internal || errs.KindOf(err) == errs.Other {
				return nil, err
			}
			r.Code, r.Message = errs.CodeOf(err), errs.Message(err)
			if r.Code == "" {
				r.Code = "AccessDenied"
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// CopyInput is a CopyObject.
type CopyInput struct {
	Bucket, Key             string
	SourceBucket, SourceKey string
	SourceConditions        Conditions
	// ReplaceMetadata is the REPLACE metadata directive: the content headers and metadata
	// below replace the source's. Otherwise (COPY) they are the source's.
	ReplaceMetadata bool
	ContentType     string
	Metadata        map[string]string

	ContentEncoding, ContentDisposition, ContentLanguage, CacheControl, Expires string
	// ReplaceTags is the REPLACE tagging directive with Tags.
	ReplaceTags       bool
	Tags              map[string]string
	ChecksumAlgorithm string
}

// CopyObject copies an object's bytes into a new object.
func (s *Service) CopyObject(ctx context.Context, caller identity.Caller, in CopyInput) (ObjectInfo, error) {
	if err := CheckKey(in.Key); err != nil {
		return ObjectInfo{}, err
	}
	_, src, err := s.object(ctx, caller, "GetObject", in.SourceBucket, in.SourceKey)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := in.SourceConditions.check(src); err != nil {
		if errs.CodeOf(err) == "NotModified" {
			return ObjectInfo{}, preconditionFailed()
		}
		return ObjectInfo{}, err
	}
	b, err := s.bucket(ctx, in.Bucket)
	if err != nil {
		return ObjectInfo{}, err
	}
	res := arn.S3Object(in.Bucket, in.Key)
	tags := src.Tags
	if in.ReplaceTags {
		if err := CheckTags(in.Tags); err != nil {
			return ObjectInfo{}, err
		}
		tags = in.Tags
	}
	if err := s.authorize(ctx, caller, "PutObject", b, res, requestTagKeys(tags)); err != nil {
		return ObjectInfo{}, err
	}
	if in.Bucket == in.SourceBucket && in.Key == in.SourceKey && !in.ReplaceMetadata && !in.ReplaceTags && in.ChecksumAlgorithm == "" {
		return ObjectInfo{}, errs.E(errs.Invalid, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.").WithCode("InvalidRequest")
	}
	algs := sortedAlgs(src.Checksums)
	if in.ChecksumAlgorithm != "" {
		a, err := ChecksumAlgorithm(in.ChecksumAlgorithm)
		if err != nil {
			return ObjectInfo{}, err
		}
		algs = []string{a}
	}
	r := s.open(ctx, src.Blobs, 0, src.Size)
	defer r.Close()
	blob, d, err := s.writeBlob(ctx, r, algs)
	if err != nil {
		return ObjectInfo{}, err
	}
	o := src
	o.Bucket, o.Key, o.Blobs, o.Size, o.Owner, o.Tags = in.Bucket, in.Key, []Blob{blob}, blob.Size, caller.Account, tags
	o.ETag, o.Checksums = d.etag(), d.checksums()
	o.ChecksumType = ""
	if len(o.Checksums) > 0 {
		o.ChecksumType = "FULL_OBJECT"
	}
	if in.ReplaceMetadata {
		o.ContentType, o.Metadata = in.ContentType, in.Metadata
		o.ContentEncoding, o.ContentDisposition, o.ContentLanguage = in.ContentEncoding, in.ContentDisposition, in.ContentLanguage
		o.CacheControl, o.Expires = in.CacheControl, in.Expires
		if o.ContentType == "" {
			o.ContentType = "binary/octet-stream"
		}
	}
	if err := s.commitObject(ctx, &o, "", ""); err != nil {
		s.dropBlobs(blob)
		return ObjectInfo{}, err
	}
	return o.info(), nil
}

// GetObjectTags returns an object's tags.
func (s *Service) GetObjectTags(ctx context.Context, caller identity.Caller, bucket, key string) (map[string]string, error) {
	_, o, err := s.object(ctx, caller, "GetObjectTagging", bucket, key)
	if err != nil {
		return nil, err
	}
	return o.Tags, nil
}

// PutObjectTags replaces an object's tags (nil or empty: removes them, under
// s3:DeleteObjectTagging when delete is set).
func (s *Service) PutObjectTags(ctx context.Context, caller identity.Caller, bucket, key string, tags map[string]string, delete bool) error {
	action := "PutObjectTagging"
	if delete {
		action, tags = "DeleteObjectTagging", nil
	} else if err := CheckTags(tags); err != nil {
		return err
	}
	if err := CheckKey(key); err != nil {
		return err
	}
	b, err := s.bucket(ctx, bucket)
	if err != nil {
		return err
	}
	o, err := s.store.GetObject(ctx, bucket, key)
	var found *Object
	if err == nil {
		found = &o
	} else if !errs.Is(err, errs.NotFound) {
		return err
	}
	keys := objectKeys(found)
	for k, v := range requestTagKeys(tags) {
		if keys == nil {
			keys = map[string][]string{}
		}
		keys[k] = v
	}
	if err := s.authorize(ctx, caller, action, b, arn.S3Object(bucket, key), keys); err != nil {
		return err
	}
	if found == nil {
		return noSuchKey()
	}
	err = s.store.Update(ctx, func(tx Tx) error { return tx.SetObjectTags(ctx, bucket, key, tags) })
	if errs.Is(err, errs.NotFound) {
		return noSuchKey()
	}
	return err
}

func itoa(n int64) string { return formatInt(n) }
