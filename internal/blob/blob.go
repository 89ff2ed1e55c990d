package blob

import (
	"context"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Store is an opaque byte store. See the package documentation for the guarantees every
// implementation gives.
type Store interface {
	// Put stores what r yields under key, replacing any blob there, and reports the number of
	// bytes stored. It is atomic: on error nothing changed.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open reads n bytes of the blob from offset off; n < 0 reads to the end, and n reaching
	// past the end is cut at the end. off must be between 0 and the blob's size (inclusive).
	// A missing blob is errs.NotFound.
	Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Size reports the size of the blob; a missing blob is errs.NotFound.
	Size(ctx context.Context, key string) (int64, error)
	// Delete removes the blob; a missing blob is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every blob whose key starts with prefix, in ascending byte order of the
	// key. An error from fn stops the listing and is returned.
	List(ctx context.Context, prefix string, fn func(key string, size int64) error) error
}

// Limits on keys. MaxKeyLen is S3's limit on object keys; MaxSegmentLen keeps every segment,
// with the local backend's one-byte tag, within the 255 bytes a file name may have.
const (
	MaxKeyLen     = 1024
	MaxSegmentLen = 254
)

// ValidKey reports why key cannot name a blob, as an errs.Invalid error, or nil.
func ValidKey(key string) error {
	if key == "" {
		return errs.E(errs.Invalid, "blob key is empty")
	}
	if len(key) > MaxKeyLen {
		return errs.E(errs.Invalid, "blob key is %d bytes long; the limit is %d", len(key), MaxKeyLen)
	}
	if err := validText("blob key", key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return errs.E(errs.Invalid, "blob key %q has an empty segment (a leading, trailing or doubled '/')", key)
		case seg == "." || seg == "..":
			return errs.E(errs.Invalid, "blob key %q has a %q segment", key, seg)
		case len(seg) > MaxSegmentLen:
			return errs.E(errs.Invalid, "blob key %q has a segment of %d bytes; the limit is %d", key, len(seg), MaxSegmentLen)
		}
	}
	return nil
}

// validPrefix reports why prefix cannot start a key, or nil. Any prefix of a valid key is valid.
func validPrefix(prefix string) error {
	if len(prefix) > MaxKeyLen {
		return errs.E(errs.Invalid, "blob prefix is %d bytes long; the limit is %d", len(prefix), MaxKeyLen)
	}
	return validText("blob prefix", prefix)
}

func validText(what, s string) error {
	if !utf8.ValidString(s) {
		return errs.E(errs.Invalid, "%s %q is not valid UTF-8", what, s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errs.E(errs.Invalid, "%s %q contains a NUL byte", what, s)
	}
	return nil
}

// OpenURL opens the store that a --blob setting names:
//
//   - "" or "file:": the local backend under dataDir/blobs;
//   - "file:///abs/dir": the local backend rooted at /abs/dir;
//   - "s3://bucket/prefix?endpoint=URL&region=R&access_key=K&secret_key=S": an S3-compatible
//     service (see OpenS3 for the parameters and the credential chain).
func OpenURL(ctx context.Context, rawURL string, dataDir string) (Store, error) {
	if rawURL == "" || rawURL == "file:" {
		if dataDir == "" {
			return nil, errs.E(errs.Invalid, "the local blob store needs a data directory")
		}
		return OpenLocal(filepath.Join(dataDir, "blobs"))
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse echoes the whole URL, which may hold a secret key: say less.
		return nil, errs.E(errs.Invalid, "the blob store URL does not parse: want file:, file:///dir or s3://bucket/prefix?…")
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, errs.E(errs.Invalid, "file: blob store URL names host %q; want file:///absolute/dir", u.Host)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, errs.E(errs.Invalid, "file: blob store URL takes no query or fragment")
		}
		if u.Path == "" || !filepath.IsAbs(u.Path) {
			return nil, errs.E(errs.Invalid, "file: blob store URL needs an absolute directory, e.g. file:///var/lib/slipway/blobs")
		}
		return OpenLocal(filepath.Clean(u.Path))
	case "s3":
		return openS3URL(ctx, u)
	default:
		return nil, errs.E(errs.Invalid, "blob store URL scheme %q is not supported; want file: or s3:", u.Scheme)
	}
}

// The tags in front of the names a key's segments are stored under (see the package
// documentation): a key's directories get dirTag, its last segment fileTag, so that "a" and
// "a/b" can both be stored on a file system, or on an S3-compatible service that keeps its
// objects on one (versitygw's posix backend, MinIO's single-disk mode).
const (
	dirTag  = "d"
	fileTag = "f"
)

// storedName is the '/'-separated name key, which must be valid, is stored under.
func storedName(key string) string {
	var b strings.Builder
	b.Grow(len(key) + strings.Count(key, "/") + 1)
	for {
		seg, rest, more := strings.Cut(key, "/")
		if !more {
			b.WriteString(fileTag + seg)
			return b.String()
		}
		b.WriteString(dirTag + seg + "/")
		key = rest
	}
}

// entry is one name in a stored directory: a blob (fileTag) or a directory (dirTag).
type entry struct {
	name  string
	isDir bool
	size  int64
}

// list implements List over a tree of stored directories, level by level: it starts at the
// directory of prefix's complete segments and streams the keys in order without collecting
// them. level lists one stored directory ("" for the top, else "da/db/"); a missing directory
// is empty.
func list(ctx context.Context, prefix string, level func(ctx context.Context, dir string) ([]entry, error), fn func(key string, size int64) error) error {
	if err := validPrefix(prefix); err != nil {
		return err
	}
	dir, base, rest := "", "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		base, rest = prefix[:i+1], prefix[i+1:]
		for seg := range strings.SplitSeq(prefix[:i], "/") {
			dir += dirTag + seg + "/"
		}
	}
	return walk(ctx, level, dir, base, rest, fn)
}

// walk lists the blobs below stored directory dir, whose keys start with base, keeping the
// children whose segment starts with segPrefix.
func walk(ctx context.Context, level func(context.Context, string) ([]entry, error), dir, base, segPrefix string, fn func(string, int64) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := level(ctx, dir)
	if err != nil {
		return err
	}
	type child struct {
		add string // what the child adds to the key: "seg" for a blob, "seg/" for a directory
		entry
	}
	children := make([]child, 0, len(entries))
	for _, e := range entries {
		switch {
		case e.isDir && strings.HasPrefix(e.name, dirTag):
			children = append(children, child{e.name[len(dirTag):] + "/", e})
		case !e.isDir && strings.HasPrefix(e.name, fileTag):
			children = append(children, child{e.name[len(fileTag):], e})
		}
	}
	// Ordering the children by what they add to the key orders every key below them too: a
	// segment holds no '/', so no child's addition is a proper prefix of another's extended.
	slices.SortFunc(children, func(a, b child) int { return strings.Compare(a.add, b.add) })
	for _, c := range children {
		if !strings.HasPrefix(c.add, segPrefix) {
			continue
		}
		if c.isDir {
			if err := walk(ctx, level, dir+c.name+"/", base+c.add, "", fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(base+c.add, c.size); err != nil {
			return err
		}
	}
	return nil
}
