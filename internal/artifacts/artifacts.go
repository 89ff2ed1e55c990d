package artifacts

import (
	"context"
	"io"
	"time"

	"github.com/slipway-ml/slipway/internal/identity"
)

// Blobs is the byte store objects live in (package blob implements it). Keys are opaque and
// never reused.
type Blobs interface {
	// Put stores r under key atomically: the whole of it becomes visible, or nothing.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open reads n bytes (n < 0: to the end) from off; a missing key is an errs.NotFound error.
	Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	Size(ctx context.Context, key string) (int64, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string, fn func(key string, size int64) error) error
}

// Authorizer decides whether a caller may act (package identity implements it).
type Authorizer interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
}

// Bucket is a bucket.
type Bucket struct {
	Name      string
	Account   string // the owner
	Region    string
	CreatedAt time.Time
	Policy    string // the bucket policy; "" when none
}

// Blob is one stretch of an object's bytes: a whole blob.
type Blob struct {
	Key  string `json:"k"`
	Size int64  `json:"s"`
}

// Object is an object's metadata as stored.
type Object struct {
	Bucket             string
	Key                string
	Size               int64
	ETag               string // quoted, as S3 writes it
	ContentType        string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	Expires            string
	Metadata           map[string]string
	// Checksums holds the object's checksums by algorithm (CRC32, CRC32C, CRC64NVME, SHA1,
	// SHA256), base64 as S3 answers them; ChecksumType is FULL_OBJECT or COMPOSITE.
	Checksums    map[string]string
	ChecksumType string
	Tags         map[string]string
	Blobs        []Blob // the bytes, in order; one for a simple PUT, one per part after a multipart upload
	ModifiedAt   time.Time
	Owner        string // the account that wrote it
}

// ObjectInfo is what a caller learns about an object.
type ObjectInfo struct {
	Bucket, Key, ETag  string
	Size               int64
	LastModified       time.Time
	ContentType        string
	Metadata           map[string]string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	Expires            string
	Checksums          map[string]string
	ChecksumType       string
	TagCount           int
	PartsCount         int    // > 0 for an object made by a multipart upload
	Owner              string // the account that wrote it
	// ContentRange is "bytes FIRST-LAST/SIZE" when GetObject answered a range.
	ContentRange string
}

func (o Object) info() ObjectInfo {
	in := ObjectInfo{
		Bucket: o.Bucket, Key: o.Key, ETag: o.ETag, Size: o.Size, LastModified: o.ModifiedAt,
		ContentType: o.ContentType, Metadata: o.Metadata, ContentEncoding: o.ContentEncoding,
		ContentDisposition: o.ContentDisposition, ContentLanguage: o.ContentLanguage,
		CacheControl: o.CacheControl, Expires: o.Expires, Checksums: o.Checksums, ChecksumType: o.ChecksumType,
		TagCount: len(o.Tags), Owner: o.Owner,
	}
	if len(o.Blobs) > 1 || o.ChecksumType == "COMPOSITE" || isMultipartETag(o.ETag) {
		in.PartsCount = len(o.Blobs)
	}
	return in
}

// Upload is a multipart upload in progress.
type Upload struct {
	ID        string
	Bucket    string
	Key       string
	Initiated time.Time
	Initiator string // the ARN of who started it
	Owner     string // the caller's account
	// Template carries what the object will have: content headers, metadata, tags, the
	// checksum algorithm and type.
	Template Object
}

// Part is one uploaded part.
type Part struct {
	UploadID   string
	Number     int
	Blob       Blob
	ETag       string
	Checksums  map[string]string
	ModifiedAt time.Time
}

// Store persists buckets, objects and uploads. Reads stand alone; every change goes through
// Update, so that a change and the call's audit record commit together or not at all.
type Store interface {
	GetBucket(ctx context.Context, name string) (Bucket, error)
	ListBuckets(ctx context.Context, account string) ([]Bucket, error)
	GetObject(ctx context.Context, bucket, key string) (Object, error)
	// ListObjects returns up to limit objects of bucket in key order (bytewise), from key
	// from (inclusive when inclusive, else strictly after it).
	ListObjects(ctx context.Context, bucket, from string, inclusive bool, limit int) ([]Object, error)
	GetUpload(ctx context.Context, id string) (Upload, error)
	// ListUploads returns up to limit uploads of bucket ordered by key then id, strictly after
	// (key, id).
	ListUploads(ctx context.Context, bucket, afterKey, afterID string, limit int) ([]Upload, error)
	// ListParts returns up to limit parts of an upload with numbers above after, in order.
	ListParts(ctx context.Context, uploadID string, after, limit int) ([]Part, error)
	// ReferencedBlobs calls fn with the key of every blob an upload's part or an object refers
	// to (a key may come more than once): the parts first, then the objects.
	ReferencedBlobs(ctx context.Context, fn func(key string) error) error
	// Update runs fn in one transaction; a transaction that lost a race runs again from the
	// start, so fn must have no effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the artifact store's view of one transaction.
type Tx interface {
	// CreateBucket inserts a bucket; errs.Conflict when the name is taken.
	CreateBucket(ctx context.Context, b Bucket) error
	// DeleteBucket deletes a bucket holding no objects and no uploads (errs.Conflict otherwise).
	DeleteBucket(ctx context.Context, name string) error
	SetBucketPolicy(ctx context.Context, name, policy string) error
	// LockObject reads an object for a change (errs.NotFound when missing).
	LockObject(ctx context.Context, bucket, key string) (Object, error)
	// PutObject inserts or replaces an object; errs.NotFound when the bucket is gone.
	PutObject(ctx context.Context, o Object) error
	DeleteObject(ctx context.Context, bucket, key string) error
	SetObjectTags(ctx context.Context, bucket, key string, tags map[string]string) error
	CreateUpload(ctx context.Context, u Upload) error
	// LockUpload reads an upload for a change: part writes, completion and abortion of one
	// upload are serialized (errs.NotFound when missing).
	LockUpload(ctx context.Context, id string) (Upload, error)
	// PutPart inserts or replaces a part and returns the one it replaced, if any.
	PutPart(ctx context.Context, p Part) (*Part, error)
	// AllParts returns every part of an upload, in number order.
	AllParts(ctx context.Context, uploadID string) ([]Part, error)
	// DeleteUpload deletes an upload and its parts.
	DeleteUpload(ctx context.Context, id string) error
}
