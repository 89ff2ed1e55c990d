package artifacts

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// MaxPartNumber is S3's highest part number.
const MaxPartNumber = 10000

// CreateUpload starts a multipart upload. template carries the object's content headers,
// metadata, tags and ChecksumType; algorithm, when set, is the checksum every part carries.
func (s *Service) CreateUpload(ctx context.Context, caller identity.Caller, bucket, key string, template Object, algorithm string) (Upload, error) {
	if err := CheckKey(key); err != nil {
		return Upload{}, err
	}
	b, err := s.bucket(ctx, bucket)
	if err != nil {
		return Upload{}, err
	}
	if err := s.authorize(ctx, caller, "PutObject", b, arn.S3Object(bucket, key), requestTagKeys(template.Tags)); err != nil {
		return Upload{}, err
	}
	if template.Tags != nil {
		if err := CheckTags(template.Tags); err != nil {
			return Upload{}, err
		}
	}
	template.Checksums = nil
	if algorithm != "" {
		a, err := ChecksumAlgorithm(algorithm)
		if err != nil {
			return Upload{}, err
		}
		template.Checksums = map[string]string{a: ""}
		switch template.ChecksumType {
		case "":
			template.ChecksumType = "COMPOSITE"
			if a == "CRC64NVME" {
				template.ChecksumType = "FULL_OBJECT"
			}
		case "COMPOSITE", "FULL_OBJECT":
		default:
			return Upload{}, invalidArgument("Value for x-amz-checksum-type header is invalid.")
		}
	} else {
		template.ChecksumType = ""
	}
	if template.ContentType == "" {
		template.ContentType = "binary/octet-stream"
	}
	u := Upload{
		ID:     strings.ReplaceAll(randid.UUID(), "-", "") + randid.String(16, "abcdefghijklmnopqrstuvwxyz0123456789"),
		Bucket: bucket, Key: key, Initiated: s.now().UTC().Truncate(time.Millisecond), Initiator: caller.ARN, Owner: caller.Account,
		Template: template,
	}
	err = s.store.Update(ctx, func(tx Tx) error { return tx.CreateUpload(ctx, u) })
	if errs.Is(err, errs.NotFound) {
		return Upload{}, noSuchBucket(bucket)
	}
	return u, err
}

// upload loads an upload of bucket/key for an action on the object.
func (s *Service) upload(ctx context.Context, caller identity.Caller, action, bucket, key, id string) (Bucket, Upload, error) {
	if err := CheckKey(key); err != nil {
		return Bucket{}, Upload{}, err
	}
	b, err := s.bucket(ctx, bucket)
	if err != nil {
		return b, Upload{}, err
	}
	if err := s.authorize(ctx, caller, action, b, arn.S3Object(bucket, key), nil); err != nil {
		return b, Upload{}, err
	}
	u, err := s.store.GetUpload(ctx, id)
	if errs.Is(err, errs.NotFound) || err == nil && (u.Bucket != bucket || u.Key != key) {
		return b, u, noSuchUpload()
	}
	return b, u, err
}

func checkPartNumber(n int) error {
	if n < 1 || n > MaxPartNumber {
		return invalidArgument("Part number must be an integer between 1 and 10000, inclusive")
	}
	return nil
}

// PartInput is an UploadPart.
type PartInput struct {
	Bucket, Key, UploadID string
	Number                int
	Body                  io.Reader
	ContentLength         *int64
	ContentMD5            string
	Checksums             map[string]string
	ChecksumAlgorithm     string
}

// UploadPart stores one part of an upload.
func (s *Service) UploadPart(ctx context.Context, caller identity.Caller, in PartInput) (Part, error) {
	if err := checkPartNumber(in.Number); err != nil {
		return Part{}, err
	}
	_, u, err := s.upload(ctx, caller, "PutObject", in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return Part{}, err
	}
	named := in.ChecksumAlgorithm
	for a := range u.Template.Checksums {
		if _, declared := in.Checksums[a]; !declared && named == "" {
			named = a
		}
	}
	algs, err := algorithmsOf(in.Checksums, named)
	if err != nil {
		return Part{}, err
	}
	blob, d, err := s.writeBlob(ctx, in.Body, algs)
	if err != nil {
		return Part{}, err
	}
	if err := d.verify(in.ContentMD5, in.Checksums, in.ContentLength); err != nil {
		s.dropBlobs(blob)
		return Part{}, err
	}
	p := Part{UploadID: u.ID, Number: in.Number, Blob: blob, ETag: d.etag(), Checksums: d.checksums()}
	err = s.commitPart(ctx, &p)
	return p, err
}

// commitPart records p (setting its modification time) and drops the blob of the part it
// replaces.
func (s *Service) commitPart(ctx context.Context, p *Part) error {
	var replaced *Part
	err := s.store.Update(ctx, func(tx Tx) error {
		p.ModifiedAt = s.now().UTC().Truncate(time.Millisecond)
		if _, err := tx.LockUpload(ctx, p.UploadID); err != nil {
			return err
		}
		var err error
		replaced, err = tx.PutPart(ctx, *p)
		return err
	})
	if err != nil {
		s.dropBlobs(p.Blob)
		if errs.Is(err, errs.NotFound) {
			return noSuchUpload()
		}
		return err
	}
	if replaced != nil {
		s.dropBlobs(replaced.Blob)
	}
	return nil
}

// CopyPartInput is an UploadPartCopy.
type CopyPartInput struct {
	Bucket, Key, UploadID   string
	Number                  int
	SourceBucket, SourceKey string
	SourceRange             *Range // nil: the whole source
	SourceConditions        Conditions
}

// UploadPartCopy stores a part copied from (a range of) another object.
func (s *Service) UploadPartCopy(ctx context.Context, caller identity.Caller, in CopyPartInput) (Part, error) {
	if err := checkPartNumber(in.Number); err != nil {
		return Part{}, err
	}
	_, src, err := s.object(ctx, caller, "GetObject", in.SourceBucket, in.SourceKey)
	if err != nil {
		return Part{}, err
	}
	if err := in.SourceConditions.check(src); err != nil {
		return Part{}, preconditionFailed()
	}
	_, u, err := s.upload(ctx, caller, "PutObject", in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return Part{}, err
	}
	off, n, err := in.SourceRange.resolve(src.Size)
	if err != nil {
		return Part{}, invalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy, within the source object")
	}
	var algs []string
	for a := range u.Template.Checksums {
		algs = append(algs, a)
	}
	r := s.open(ctx, src.Blobs, off, n)
	defer r.Close()
	blob, d, err := s.writeBlob(ctx, r, algs)
	if err != nil {
		return Part{}, err
	}
	p := Part{UploadID: u.ID, Number: in.Number, Blob: blob, ETag: d.etag(), Checksums: d.checksums()}
	err = s.commitPart(ctx, &p)
	return p, err
}

// CompletedPart is one entry of a CompleteMultipartUpload request.
type CompletedPart struct {
	Number    int
	ETag      string
	Checksums map[string]string
}

// choose picks the listed parts out of an upload's parts, checking S3's rules.
func (s *Service) choose(all []Part, list []CompletedPart) ([]Part, error) {
	byNum := make(map[int]Part, len(all))
	for _, p := range all {
		byNum[p.Number] = p
	}
	parts := make([]Part, 0, len(list))
	for i, c := range list {
		p, ok := byNum[c.Number]
		if !ok || strings.Trim(c.ETag, `" `) != strings.Trim(p.ETag, `"`) {
			return nil, errs.E(errs.Invalid, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.").WithCode("InvalidPart")
		}
		for a, v := range c.Checksums {
			if v != "" && p.Checksums[a] != v {
				return nil, errs.E(errs.Invalid, "The %s of part %d does not match the one uploaded.", a, c.Number).WithCode("InvalidPart")
			}
		}
		if i < len(list)-1 && p.Blob.Size < s.minPartSize {
			return nil, errs.E(errs.Invalid, "Your proposed upload is smaller than the minimum allowed size").WithCode("EntityTooSmall")
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// CompleteUpload makes the object out of the listed parts, in order, without copying them.
// declared holds full-object checksums the client sent with the request; they, and the
// full-object checksum of an upload of type FULL_OBJECT, are computed over the parts before
// anything commits, so a mismatch (BadDigest) leaves the upload as it was.
func (s *Service) CompleteUpload(ctx context.Context, caller identity.Caller, bucket, key, id string, list []CompletedPart, declared map[string]string) (ObjectInfo, error) {
	_, u, err := s.upload(ctx, caller, "PutObject", bucket, key, id)
	if err != nil {
		return ObjectInfo{}, err
	}
	if len(list) == 0 {
		return ObjectInfo{}, errs.E(errs.Invalid, "The XML you provided was not well-formed or did not validate against our published schema: no parts").WithCode("MalformedXML")
	}
	for i := 1; i < len(list); i++ {
		if list[i].Number <= list[i-1].Number {
			return ObjectInfo{}, errs.E(errs.Invalid, "The list of parts was not in ascending order. Parts must be ordered by part number.").WithCode("InvalidPartOrder")
		}
	}
	all, err := s.store.ListParts(ctx, id, 0, MaxPartNumber+1)
	if err != nil {
		return ObjectInfo{}, err
	}
	parts, err := s.choose(all, list)
	if err != nil {
		return ObjectInfo{}, err
	}
	var full map[string]string
	var algs []string
	if u.Template.ChecksumType == "FULL_OBJECT" {
		algs = sortedAlgs(u.Template.Checksums)
	}
	for a, v := range declared {
		if !strings.Contains(v, "-") {
			algs = append(algs, a)
		}
	}
	if len(algs) > 0 {
		if full, err = s.partsChecksums(ctx, parts, algs, declared); err != nil {
			return ObjectInfo{}, err
		}
	}
	var o Object
	var unused, replaced []Blob
	err = s.store.Update(ctx, func(tx Tx) error {
		unused, replaced = nil, nil
		if _, err := tx.LockUpload(ctx, id); err != nil {
			return err
		}
		all, err := tx.AllParts(ctx, id)
		if err != nil {
			return err
		}
		locked, err := s.choose(all, list)
		if err != nil {
			return err
		}
		used := map[string]bool{}
		for i, p := range locked {
			if p.Blob != parts[i].Blob {
				// A part was uploaded again meanwhile: what was verified is not what would commit.
				return errs.E(errs.Conflict, "Part %d was replaced while the upload completed; complete it again.", p.Number).WithCode("InvalidPart")
			}
			used[p.Blob.Key] = true
		}
		for _, p := range all {
			if !used[p.Blob.Key] {
				unused = append(unused, p.Blob)
			}
		}
		o = u.Template
		o.Bucket, o.Key, o.Owner = bucket, key, u.Owner
		o.Blobs, o.Size = make([]Blob, len(locked)), 0
		for i, p := range locked {
			o.Blobs[i] = p.Blob
			o.Size += p.Blob.Size
		}
		o.ETag = multipartETag(locked)
		o.Checksums = nil
		if u.Template.ChecksumType == "COMPOSITE" {
			for a := range u.Template.Checksums {
				if v, ok := compositeChecksum(a, locked); ok {
					o.Checksums = map[string]string{a: v}
				}
			}
		}
		if len(full) > 0 {
			o.Checksums, o.ChecksumType = full, "FULL_OBJECT"
		}
		o.ModifiedAt = s.now().UTC().Truncate(time.Millisecond)
		old, err := tx.LockObject(ctx, bucket, key)
		if err == nil {
			replaced = old.Blobs
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		if err := tx.PutObject(ctx, o); err != nil {
			return err
		}
		return tx.DeleteUpload(ctx, id)
	})
	if errs.Is(err, errs.NotFound) && errs.CodeOf(err) == "" {
		return ObjectInfo{}, noSuchUpload()
	}
	if err != nil {
		return ObjectInfo{}, err
	}
	s.dropBlobs(unused...)
	s.dropBlobs(replaced...)
	return o.info(), nil
}

// partsChecksums computes full-object checksums over parts, in order, and checks the ones the
// client declared (composite values, "…-N", are not full-object ones and are left out).
func (s *Service) partsChecksums(ctx context.Context, parts []Part, algs []string, declared map[string]string) (map[string]string, error) {
	blobs := make([]Blob, len(parts))
	var size int64
	for i, p := range parts {
		blobs[i] = p.Blob
		size += p.Blob.Size
	}
	r := s.open(ctx, blobs, 0, size)
	defer r.Close()
	d := newDigester(r, algs)
	if _, err := io.Copy(io.Discard, d); err != nil {
		return nil, errs.E(errs.Internal, "cannot read the upload's parts", err)
	}
	sums := d.checksums()
	for a, v := range declared {
		if !strings.Contains(v, "-") && sums[a] != v {
			return nil, errs.E(errs.Invalid, "The %s you specified did not match the calculated checksum.", a).WithCode("BadDigest")
		}
	}
	return sums, nil
}

// AbortUpload discards an upload and its parts.
func (s *Service) AbortUpload(ctx context.Context, caller identity.Caller, bucket, key, id string) error {
	_, _, err := s.upload(ctx, caller, "AbortMultipartUpload", bucket, key, id)
	if err != nil {
		return err
	}
	var dropped []Blob
	err = s.store.Update(ctx, func(tx Tx) error {
		dropped = nil
		if _, err := tx.LockUpload(ctx, id); err != nil {
			return err
		}
		parts, err := tx.AllParts(ctx, id)
		if err != nil {
			return err
		}
		for _, p := range parts {
			dropped = append(dropped, p.Blob)
		}
		return tx.DeleteUpload(ctx, id)
	})
	if errs.Is(err, errs.NotFound) {
		return noSuchUpload()
	}
	if err != nil {
		return err
	}
	s.dropBlobs(dropped...)
	return nil
}

// ListParts lists an upload's parts after part number marker.
func (s *Service) ListParts(ctx context.Context, caller identity.Caller, bucket, key, id string, marker, max int) (Upload, []Part, bool, error) {
	_, u, err := s.upload(ctx, caller, "ListMultipartUploadParts", bucket, key, id)
	if err != nil {
		return u, nil, false, err
	}
	if max <= 0 || max > 1000 {
		max = 1000
	}
	parts, err := s.store.ListParts(ctx, id, marker, max+1)
	if err != nil {
		return u, nil, false, err
	}
	truncated := len(parts) > max
	if truncated {
		parts = parts[:max]
	}
	return u, parts, truncated, nil
}

// ListUploads lists a bucket's uploads in progress after (keyMarker, idMarker).
func (s *Service) ListUploads(ctx context.Context, caller identity.Caller, bucket, prefix, keyMarker, idMarker string, max int) ([]Upload, bool, error) {
	b, err := s.bucket(ctx, bucket)
	if err != nil {
		return nil, false, err
	}
	if err := s.authorize(ctx, caller, "ListBucketMultipartUploads", b, arn.S3Bucket(bucket), nil); err != nil {
		return nil, false, err
	}
	if max <= 0 || max > 1000 {
		max = 1000
	}
	if idMarker == "" && keyMarker != "" {
		idMarker = "~" // after every upload of the marker key (ids are lowercase letters and digits)
	}
	var out []Upload
	for {
		us, err := s.store.ListUploads(ctx, bucket, keyMarker, idMarker, max+1)
		if err != nil {
			return nil, false, err
		}
		for _, u := range us {
			keyMarker, idMarker = u.Key, u.ID
			if !strings.HasPrefix(u.Key, prefix) {
				continue
			}
			if len(out) == max {
				return out, true, nil
			}
			out = append(out, u)
		}
		if len(us) <= max {
			return out, false, nil
		}
	}
}
