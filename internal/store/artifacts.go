package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/errs"
)

// ArtifactsStore persists the artifact store's metadata: a view of the shared database.
type ArtifactsStore Store

var (
	_ artifacts.Store = (*ArtifactsStore)(nil)
	_ artifacts.Tx    = artifactsTx{}
)

// Artifacts returns the artifact store's store.
func (s *Store) Artifacts() *ArtifactsStore { return (*ArtifactsStore)(s) }

func (a *ArtifactsStore) base() *Store { return (*Store)(a) }

// Update runs fn in one transaction with the artifact store's view of it.
func (a *ArtifactsStore) Update(ctx context.Context, fn func(tx artifacts.Tx) error) error {
	return a.base().update(ctx, func(tx *Tx) error { return fn(artifactsTx{tx}) })
}

type artifactsTx struct{ *Tx }

// isForeignKeyViolation reports whether err is a foreign-key violation: the bucket or upload a
// row refers to is gone.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// forUpdate is the row-lock clause of a read made for a change (SQLite has one writer).
func (t artifactsTx) forUpdate() string {
	if t.s.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

const bucketCols = `name, account, region, created_at, policy`

func scanBucket(sc interface{ Scan(...any) error }) (artifacts.Bucket, error) {
	var b artifacts.Bucket
	var created int64
	err := sc.Scan(&b.Name, &b.Account, &b.Region, &created, &b.Policy)
	b.CreatedAt = fromMicros(created)
	return b, err
}

// GetBucket returns a bucket.
func (a *ArtifactsStore) GetBucket(ctx context.Context, name string) (artifacts.Bucket, error) {
	b, err := scanBucket(a.base().queryRow(ctx, `SELECT `+bucketCols+` FROM s3_buckets WHERE name = $1`, name))
	if err != nil {
		return b, notFound(err, "bucket "+name)
	}
	return b, nil
}

// ListBuckets returns an account's buckets by name.
func (a *ArtifactsStore) ListBuckets(ctx context.Context, account string) ([]artifacts.Bucket, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT `+bucketCols+` FROM s3_buckets WHERE account = $1 ORDER BY name`, account)
	if err != nil {
		return nil, internal("store.ListBuckets", err)
	}
	defer rows.Close()
	var out []artifacts.Bucket
	for rows.Next() {
		b, err := scanBucket(rows)
		if err != nil {
			return nil, internal("store.ListBuckets", err)
		}
		out = append(out, b)
	}
	return out, internal("store.ListBuckets", rows.Err())
}

// CreateBucket inserts a bucket.
func (t artifactsTx) CreateBucket(ctx context.Context, b artifacts.Bucket) error {
	t.wrote("s3_buckets")
	_, err := t.tx.ExecContext(ctx, `INSERT INTO s3_buckets (`+bucketCols+`) VALUES ($1,$2,$3,$4,$5)`,
		b.Name, b.Account, b.Region, micros(b.CreatedAt), b.Policy)
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, "bucket "+b.Name)
	}
	return nil
}

// DeleteBucket deletes an empty bucket.
func (t artifactsTx) DeleteBucket(ctx context.Context, name string) error {
	t.wrote("s3_buckets")
	var one int
	err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM s3_buckets WHERE name = $1`+t.forUpdate(), name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "bucket %s does not exist", name)
	}
	if err != nil {
		return err
	}
	var n int
	if err := t.tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM s3_objects WHERE bucket = $1 LIMIT 1) o) + (SELECT COUNT(*) FROM (SELECT 1 FROM s3_uploads WHERE bucket = $1 LIMIT 1) u)`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errs.E(errs.Conflict, "bucket %s is not empty", name)
	}
	_, err = t.tx.ExecContext(ctx, `DELETE FROM s3_buckets WHERE name = $1`, name)
	if err != nil && isForeignKeyViolation(err) {
		return errs.E(errs.Conflict, "bucket %s is not empty", name)
	}
	return err
}

// SetBucketPolicy sets or clears a bucket's policy.
func (t artifactsTx) SetBucketPolicy(ctx context.Context, name, policy string) error {
	t.wrote("s3_buckets")
	res, err := t.tx.ExecContext(ctx, `UPDATE s3_buckets SET policy = $1 WHERE name = $2`, policy, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "bucket %s does not exist", name)
	}
	return nil
}

// objectDoc is the stored form of what an object row keeps beside its key columns.
type objectDoc struct {
	ContentType        string            `json:"ct,omitempty"`
	ContentEncoding    string            `json:"ce,omitempty"`
	ContentDisposition string            `json:"cd,omitempty"`
	ContentLanguage    string            `json:"cl,omitempty"`
	CacheControl       string            `json:"cc,omitempty"`
	Expires            string            `json:"ex,omitempty"`
	Metadata           map[string]string `json:"meta,omitempty"`
	Checksums          map[string]string `json:"sums,omitempty"`
	ChecksumType       string            `json:"sumType,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	Blobs              []artifacts.Blob  `json:"blobs"`
	Owner              string            `json:"owner,omitempty"`
}

func docOf(o artifacts.Object) objectDoc {
	return objectDoc{
		ContentType: o.ContentType, ContentEncoding: o.ContentEncoding, ContentDisposition: o.ContentDisposition,
		ContentLanguage: o.ContentLanguage, CacheControl: o.CacheControl, Expires: o.Expires, Metadata: o.Metadata,
		Checksums: o.Checksums, ChecksumType: o.ChecksumType, Tags: o.Tags, Blobs: o.Blobs, Owner: o.Owner,
	}
}

func (d objectDoc) apply(o *artifacts.Object) {
	o.ContentType, o.ContentEncoding, o.ContentDisposition = d.ContentType, d.ContentEncoding, d.ContentDisposition
	o.ContentLanguage, o.CacheControl, o.Expires, o.Metadata = d.ContentLanguage, d.CacheControl, d.Expires, d.Metadata
	o.Checksums, o.ChecksumType, o.Tags, o.Blobs, o.Owner = d.Checksums, d.ChecksumType, d.Tags, d.Blobs, d.Owner
}

const objectCols = `bucket, object_key, size, etag, modified_at, document`

func scanObject(sc interface{ Scan(...any) error }) (artifacts.Object, error) {
	var o artifacts.Object
	var mod int64
	var doc string
	if err := sc.Scan(&o.Bucket, &o.Key, &o.Size, &o.ETag, &mod, &doc); err != nil {
		return o, err
	}
	o.ModifiedAt = fromMicros(mod)
	var d objectDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return o, err
	}
	d.apply(&o)
	return o, nil
}

// GetObject returns an object's row.
func (a *ArtifactsStore) GetObject(ctx context.Context, bucket, key string) (artifacts.Object, error) {
	o, err := scanObject(a.base().queryRow(ctx, `SELECT `+objectCols+` FROM s3_objects WHERE bucket = $1 AND object_key = $2`, bucket, key))
	if err != nil {
		return o, notFound(err, "object "+key)
	}
	return o, nil
}

// ListObjects returns objects in key order from a key.
func (a *ArtifactsStore) ListObjects(ctx context.Context, bucket, from string, inclusive bool, limit int) ([]artifacts.Object, error) {
	op := ">"
	if inclusive {
		op = ">="
	}
	rows, err := a.db.QueryContext(ctx, `SELECT `+objectCols+` FROM s3_objects WHERE bucket = $1 AND object_key `+op+` $2 ORDER BY object_key LIMIT $3`, bucket, from, limit)
	if err != nil {
		return nil, internal("store.ListObjects", err)
	}
	defer rows.Close()
	var out []artifacts.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, internal("store.ListObjects", err)
		}
		out = append(out, o)
	}
	return out, internal("store.ListObjects", rows.Err())
}

// LockObject reads an object for a change. On PostgreSQL a row lock cannot hold a key that
// has no row yet, so writers of one key first take a transaction-scoped advisory lock on it:
// two first writes of a key serialize, and the second sees (and replaces) the first.
func (t artifactsTx) LockObject(ctx context.Context, bucket, key string) (artifacts.Object, error) {
	if t.s.dialect == Postgres {
		if _, err := t.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7307))`, bucket+"/"+key); err != nil {
			return artifacts.Object{}, err
		}
	}
	o, err := scanObject(t.tx.QueryRowContext(ctx, `SELECT `+objectCols+` FROM s3_objects WHERE bucket = $1 AND object_key = $2`+t.forUpdate(), bucket, key))
	if errors.Is(err, sql.ErrNoRows) {
		return o, errs.E(errs.NotFound, "object %s does not exist", key)
	}
	return o, err
}

// PutObject inserts or replaces an object.
func (t artifactsTx) PutObject(ctx context.Context, o artifacts.Object) error {
	t.wrote("s3_objects")
	doc, err := json.Marshal(docOf(o))
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO s3_objects (`+objectCols+`) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (bucket, object_key) DO UPDATE SET size = excluded.size, etag = excluded.etag, modified_at = excluded.modified_at, document = excluded.document`,
		o.Bucket, o.Key, o.Size, o.ETag, micros(o.ModifiedAt), string(doc))
	if err != nil && isForeignKeyViolation(err) {
		return errs.E(errs.NotFound, "bucket %s does not exist", o.Bucket)
	}
	return err
}

// DeleteObject deletes an object's row.
func (t artifactsTx) DeleteObject(ctx context.Context, bucket, key string) error {
	t.wrote("s3_objects")
	_, err := t.tx.ExecContext(ctx, `DELETE FROM s3_objects WHERE bucket = $1 AND object_key = $2`, bucket, key)
	return err
}

// SetObjectTags replaces an object's tags.
func (t artifactsTx) SetObjectTags(ctx context.Context, bucket, key string, tags map[string]string) error {
	o, err := t.LockObject(ctx, bucket, key)
	if err != nil {
		return err
	}
	o.Tags = tags
	if len(tags) == 0 {
		o.Tags = nil
	}
	return t.PutObject(ctx, o)
}

type uploadDoc struct {
	Initiator string    `json:"initiator"`
	Owner     string    `json:"owner"`
	Template  objectDoc `json:"template"`
}

const uploadCols = `upload_id, bucket, object_key, initiated, document`

func scanUpload(sc interface{ Scan(...any) error }) (artifacts.Upload, error) {
	var u artifacts.Upload
	var init int64
	var doc string
	if err := sc.Scan(&u.ID, &u.Bucket, &u.Key, &init, &doc); err != nil {
		return u, err
	}
	u.Initiated = fromMicros(init)
	var d uploadDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return u, err
	}
	u.Initiator, u.Owner = d.Initiator, d.Owner
	d.Template.apply(&u.Template)
	return u, nil
}

// CreateUpload inserts an upload.
func (t artifactsTx) CreateUpload(ctx context.Context, u artifacts.Upload) error {
	t.wrote("s3_uploads")
	doc, err := json.Marshal(uploadDoc{Initiator: u.Initiator, Owner: u.Owner, Template: docOf(u.Template)})
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO s3_uploads (`+uploadCols+`) VALUES ($1,$2,$3,$4,$5)`, u.ID, u.Bucket, u.Key, micros(u.Initiated), string(doc))
	if err != nil && isForeignKeyViolation(err) {
		return errs.E(errs.NotFound, "bucket %s does not exist", u.Bucket)
	}
	return err
}

// GetUpload returns an upload.
func (a *ArtifactsStore) GetUpload(ctx context.Context, id string) (artifacts.Upload, error) {
	u, err := scanUpload(a.base().queryRow(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE upload_id = $1`, id))
	if err != nil {
		return u, notFound(err, "upload "+id)
	}
	return u, nil
}

// LockUpload reads an upload for a change.
func (t artifactsTx) LockUpload(ctx context.Context, id string) (artifacts.Upload, error) {
	u, err := scanUpload(t.tx.QueryRowContext(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE upload_id = $1`+t.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, errs.E(errs.NotFound, "upload %s does not exist", id)
	}
	return u, err
}

// ListUploads lists a bucket's uploads after (key, id).
func (a *ArtifactsStore) ListUploads(ctx context.Context, bucket, afterKey, afterID string, limit int) ([]artifacts.Upload, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE bucket = $1 AND (object_key > $2 OR object_key = $2 AND upload_id > $3)
		ORDER BY object_key, upload_id LIMIT $4`, bucket, afterKey, afterID, limit)
	if err != nil {
		return nil, internal("store.ListUploads", err)
	}
	defer rows.Close()
	var out []artifacts.Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, internal("store.ListUploads", err)
		}
		out = append(out, u)
	}
	return out, internal("store.ListUploads", rows.Err())
}

// DeleteUpload deletes an upload and its parts.
func (t artifactsTx) DeleteUpload(ctx context.Context, id string) error {
	t.wrote("s3_uploads")
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM s3_parts WHERE upload_id = $1`, id); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `DELETE FROM s3_uploads WHERE upload_id = $1`, id)
	return err
}

type partDoc struct {
	Blob      artifacts.Blob    `json:"blob"`
	Checksums map[string]string `json:"sums,omitempty"`
}

const partCols = `upload_id, part_number, size, etag, modified_at, document`

func scanPart(sc interface{ Scan(...any) error }) (artifacts.Part, error) {
	var p artifacts.Part
	var size, mod int64
	var doc string
	if err := sc.Scan(&p.UploadID, &p.Number, &size, &p.ETag, &mod, &doc); err != nil {
		return p, err
	}
	p.ModifiedAt = fromMicros(mod)
	var d partDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return p, err
	}
	p.Blob, p.Checksums = d.Blob, d.Checksums
	return p, nil
}

// PutPart inserts or replaces a part.
func (t artifactsTx) PutPart(ctx context.Context, p artifacts.Part) (*artifacts.Part, error) {
	t.wrote("s3_parts")
	old, err := scanPart(t.tx.QueryRowContext(ctx, `SELECT `+partCols+` FROM s3_parts WHERE upload_id = $1 AND part_number = $2`, p.UploadID, p.Number))
	var replaced *artifacts.Part
	switch {
	case err == nil:
		replaced = &old
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	doc, err := json.Marshal(partDoc{Blob: p.Blob, Checksums: p.Checksums})
	if err != nil {
		return nil, err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO s3_parts (`+partCols+`) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag, modified_at = excluded.modified_at, document = excluded.document`,
		p.UploadID, p.Number, p.Blob.Size, p.ETag, micros(p.ModifiedAt), string(doc))
	if err != nil && isForeignKeyViolation(err) {
		return nil, errs.E(errs.NotFound, "upload %s does not exist", p.UploadID)
	}
	return replaced, err
}

func (t artifactsTx) AllParts(ctx context.Context, uploadID string) ([]artifacts.Part, error) {
	return queryParts(ctx, t.tx, uploadID, 0, 1<<30)
}

// ListParts lists parts above a number.
func (a *ArtifactsStore) ListParts(ctx context.Context, uploadID string, after, limit int) ([]artifacts.Part, error) {
	ps, err := queryParts(ctx, a.db, uploadID, after, limit)
	return ps, internal("store.ListParts", err)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryParts(ctx context.Context, q querier, uploadID string, after, limit int) ([]artifacts.Part, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+partCols+` FROM s3_parts WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3`, uploadID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []artifacts.Part
	for rows.Next() {
		p, err := scanPart(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
