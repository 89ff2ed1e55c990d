// Package blob is the opaque byte store behind the artifact store: named blobs of bytes, written
// whole and read by range. It knows nothing of buckets, owners, ETags or metadata; the artifacts
// domain keeps those in the metadata store and names its blobs here.
//
// Two backends implement Store and pass the one conformance suite in internal/blob/blobtest:
//
//   - Local (the default): files under <dataDir>/blobs.
//   - S3: any S3-compatible service (AWS S3, versitygw, MinIO …), reached with aws-sdk-go-v2.
//
// OpenURL picks one from the server's --blob setting.
//
// # Invariants
//
//   - Atomic puts: a blob is visible whole or not at all. A Put that fails — its reader errors,
//     its context ends, the process crashes — leaves the previous blob of that key, if any,
//     exactly as it was. Concurrent Puts to one key end with one of them, whole.
//   - Durable puts: when Put returns nil, the blob survives a crash of the process or the
//     machine (the local backend syncs the file and its directory; S3 acknowledges only stored
//     objects).
//   - Keys are validated the same way by every backend (ValidKey): '/'-separated, non-empty
//     segments other than "." and "..", valid UTF-8 without NUL, at most MaxKeyLen bytes and
//     MaxSegmentLen bytes a segment. A key can therefore never name a path outside a local
//     backend's root. A bad key is an errs.Invalid error and changes nothing.
//   - Keys are a flat namespace, as in S3: "a" and "a/b" can both exist.
//   - Missing blobs are errs.NotFound for Open and Size; Delete of a missing blob succeeds.
//   - List reports the blobs whose key starts with a prefix, in ascending byte order of the key,
//     each with its size; it never reports a partial blob or a temporary file.
//
// # Stored names
//
// A key's directories are stored with a "d" in front of their name and its last segment with an
// "f", so the file of "a" (fa) and the directory of "a/b" (da/fb) never collide. Both backends
// use these names: the local one as paths under data/, the S3 one as object names after its
// prefix, since S3-compatible servers that keep objects as files (versitygw's posix backend)
// refuse "a/b" once "a" exists. List walks the stored directories level by level and orders
// each level by what its entries add to the key, which is byte order of the keys.
//
// # Local layout
//
// Under the root, data/ holds one file per blob and tmp/ holds puts in progress. A Put writes
// tmp/put-*, syncs it, renames it over its final name and syncs that directory (and every
// directory it created); opening the store removes whatever a crash left in tmp/. One server
// process owns a root at a time.
package blob
