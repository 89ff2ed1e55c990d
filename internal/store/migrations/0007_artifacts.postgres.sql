-- The artifact store (S3 API): buckets (names are global), objects and multipart uploads.
-- Bytes live in the blob store; a row names the blobs that hold its bytes (blobs, JSON). Keys
-- sort bytewise, as S3 lists them (COLLATE "C").
CREATE TABLE s3_buckets (
    name       TEXT PRIMARY KEY,
    account    TEXT NOT NULL,
    region     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    policy     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX s3_buckets_account ON s3_buckets (account, name);

CREATE TABLE s3_objects (
    bucket      TEXT NOT NULL REFERENCES s3_buckets (name),
    object_key  TEXT COLLATE "C" NOT NULL,
    size        BIGINT NOT NULL,
    etag        TEXT NOT NULL,
    modified_at BIGINT NOT NULL,
    document    TEXT NOT NULL, -- content headers, metadata, checksums, tags, owner, blobs (JSON)
    PRIMARY KEY (bucket, object_key)
);

CREATE TABLE s3_uploads (
    upload_id   TEXT COLLATE "C" PRIMARY KEY,
    bucket      TEXT NOT NULL REFERENCES s3_buckets (name),
    object_key  TEXT COLLATE "C" NOT NULL,
    initiated   BIGINT NOT NULL,
    document    TEXT NOT NULL -- initiator, owner and the object's template (JSON)
);
CREATE INDEX s3_uploads_bucket ON s3_uploads (bucket, object_key, upload_id);

CREATE TABLE s3_parts (
    upload_id   TEXT NOT NULL REFERENCES s3_uploads (upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    size        BIGINT NOT NULL,
    etag        TEXT NOT NULL,
    modified_at BIGINT NOT NULL,
    document    TEXT NOT NULL, -- blob and checksums (JSON)
    PRIMARY KEY (upload_id, part_number)
);
