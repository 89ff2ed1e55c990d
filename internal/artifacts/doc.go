// Package artifacts is Slipway's artifact store: S3 buckets and objects, multipart uploads,
// object tags and bucket policies. The S3 wire adapter (internal/awsapi/s3api) and the jobs
// engine both call it; it authorizes every call itself with the IAM engine.
//
// Bytes live in a blob store (Blobs, declared here as its consumer sees it); everything else
// about an object — key, size, ETag, content type, user metadata, checksums, tags and the
// ordered list of blobs holding its bytes — lives in the metadata store (Store).
//
// Invariants:
//   - Buckets belong to one account; their names are global. A call on another account's
//     bucket is allowed only when both the caller's identity policies and the bucket's policy
//     allow it; an explicit Deny in either wins.
//   - A write puts its bytes under a fresh, never reused blob key first, then commits the
//     object's row (with the call's audit record) in one store transaction. A crash or a failed
//     verification leaves at most an orphan blob, never a half object; of concurrent writers to
//     one key, the last to commit wins and readers see one whole object or the other.
//   - A payload is committed only after it was read to its end and every digest the client
//     declared (Content-MD5, x-amz-checksum-*, the transport's SHA-256 or chunk signatures)
//     matched: a bad digest stores nothing.
//   - CompleteMultipartUpload copies nothing: the object is the ordered list of its part blobs,
//     and its ETag is S3's: the MD5 of the parts' MD5s, then "-" and the number of parts.
//   - Blobs an object no longer references (overwritten, deleted, aborted, unused parts) are
//     deleted after the transaction that dropped them commits; a crash in between leaves
//     orphans, never a reference to a missing blob. SweepOrphans deletes orphans older than
//     OrphanAge; a write that took longer than MaxWriteTime to store its bytes gives up
//     (RequestTimeout) rather than commit a blob the sweeper may already take for an orphan.
package artifacts
