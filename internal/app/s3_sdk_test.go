package app_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func (s *server) s3(profile string) *s3.Client {
	return s3.NewFromConfig(s.cfg(profile), func(o *s3.Options) { o.UsePathStyle = true })
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err is the S3 error code (and, for HEADs, status) wanted.
func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Errorf("%s: code %q (%v), want %q", what, got, err, want)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestS3WithTheGoSDK drives the S3 API with aws-sdk-go-v2 (its s3 client and the
// feature/s3/manager transfer manager), as a program written for AWS would.
func TestS3WithTheGoSDK(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := s.s3("data-science")
	_, err := ds.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ds-data")})
	mustOK(t, err)

	t.Run("transfer manager multipart with CRC32C", func(t *testing.T) {
		data := randomBytes(23 << 20)
		up := manager.NewUploader(ds, func(u *manager.Uploader) { u.PartSize = 5 << 20; u.Concurrency = 3 })
		out, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("big/data.bin"),
			Body: bytes.NewReader(data), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32c})
		mustOK(t, err)
		if !strings.HasSuffix(aws.ToString(out.ETag), `-5"`) {
			t.Errorf("multipart ETag %s, want S3's md5-of-md5s-5", aws.ToString(out.ETag))
		}
		buf := manager.NewWriteAtBuffer(make([]byte, 0, len(data))) // sized: growing it per write copies quadratically
		n, err := manager.NewDownloader(ds, func(d *manager.Downloader) { d.PartSize = 4 << 20 }).Download(ctx, buf, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("big/data.bin")})
		mustOK(t, err)
		if n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("downloaded %d bytes that differ from the %d uploaded", n, len(data))
		}
		h, err := ds.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("big/data.bin"), ChecksumMode: s3types.ChecksumModeEnabled})
		mustOK(t, err)
		if aws.ToInt64(h.ContentLength) != int64(len(data)) || aws.ToInt32(h.PartsCount) != 5 {
			t.Errorf("HeadObject: length %d parts %d", aws.ToInt64(h.ContentLength), aws.ToInt32(h.PartsCount))
		}
		// ?partNumber=N reads and describes one part.
		part, err := ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("big/data.bin"), PartNumber: aws.Int32(2)})
		mustOK(t, err)
		got, _ := io.ReadAll(part.Body)
		part.Body.Close()
		if !bytes.Equal(got, data[5<<20:10<<20]) || aws.ToString(part.ContentRange) != fmt.Sprintf("bytes %d-%d/%d", 5<<20, 10<<20-1, len(data)) || aws.ToInt32(part.PartsCount) != 5 {
			t.Errorf("GetObject part 2: %d bytes, range %q, parts %d", len(got), aws.ToString(part.ContentRange), aws.ToInt32(part.PartsCount))
		}
		hp, err := ds.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("big/data.bin"), PartNumber: aws.Int32(5)})
		mustOK(t, err)
		if aws.ToInt64(hp.ContentLength) != int64(len(data)-20<<20) {
			t.Errorf("HeadObject part 5: length %d, want %d", aws.ToInt64(hp.ContentLength), len(data)-20<<20)
		}
		_, err = ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("big/data.bin"), PartNumber: aws.Int32(6)})
		wantCode(t, "part 6 of 5", err, "InvalidPartNumber")
	})

	t.Run("put, get, range, conditions, metadata", func(t *testing.T) {
		body := []byte("0123456789abcdefghij")
		put, err := ds.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/a b+c.txt"), Body: bytes.NewReader(body),
			ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "ds"}, ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256})
		mustOK(t, err)
		sum := md5.Sum(body)
		if want := `"` + hexString(sum[:]) + `"`; aws.ToString(put.ETag) != want {
			t.Errorf("ETag %s, want %s", aws.ToString(put.ETag), want)
		}
		get, err := ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/a b+c.txt"), Range: aws.String("bytes=5-9")})
		mustOK(t, err)
		got, _ := io.ReadAll(get.Body)
		get.Body.Close()
		if string(got) != "56789" || aws.ToString(get.ContentRange) != "bytes 5-9/20" || get.Metadata["owner"] != "ds" || aws.ToString(get.ContentType) != "text/plain" {
			t.Errorf("range read %q range %q meta %v type %q", got, aws.ToString(get.ContentRange), get.Metadata, aws.ToString(get.ContentType))
		}
		get, err = ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/a b+c.txt"), Range: aws.String("bytes=-3")})
		mustOK(t, err)
		got, _ = io.ReadAll(get.Body)
		get.Body.Close()
		if string(got) != "hij" {
			t.Errorf("suffix range read %q", got)
		}
		_, err = ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/a b+c.txt"), Range: aws.String("bytes=100-")})
		wantCode(t, "range past the end", err, "InvalidRange")
		_, err = ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/a b+c.txt"), IfMatch: aws.String(`"nope"`)})
		wantCode(t, "If-Match mismatch", err, "PreconditionFailed")
		_, err = ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/a b+c.txt"), IfNoneMatch: put.ETag})
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &re) || re.HTTPStatusCode() != 304 {
			t.Errorf("If-None-Match on the ETag: %v, want 304", err)
		}
		_, err = ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/a b+c.txt"), IfModifiedSince: aws.Time(time.Now().Add(time.Hour))})
		if !errors.As(err, &re) || re.HTTPStatusCode() != 304 {
			t.Errorf("If-Modified-Since the future: %v, want 304", err)
		}
		_, err = ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/a b+c.txt"), IfUnmodifiedSince: aws.Time(time.Now().Add(-time.Hour))})
		wantCode(t, "If-Unmodified-Since the past", err, "PreconditionFailed")

		cp, err := ds.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/copy.txt"), CopySource: aws.String("ds-data/small/a%20b%2Bc.txt"),
			MetadataDirective: s3types.MetadataDirectiveReplace, Metadata: map[string]string{"owner": "copied"}, ContentType: aws.String("text/csv")})
		mustOK(t, err)
		h, err := ds.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/copy.txt")})
		mustOK(t, err)
		if h.Metadata["owner"] != "copied" || aws.ToString(h.ContentType) != "text/csv" || aws.ToString(h.ETag) != aws.ToString(cp.CopyObjectResult.ETag) {
			t.Errorf("copy with REPLACE: meta %v type %s etag %s", h.Metadata, aws.ToString(h.ContentType), aws.ToString(h.ETag))
		}
		_, err = ds.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/copy2.txt"), CopySource: aws.String("ds-data/small/copy.txt")})
		mustOK(t, err)
		h, err = ds.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("small/copy2.txt")})
		mustOK(t, err)
		if h.Metadata["owner"] != "copied" {
			t.Errorf("copy with COPY lost the metadata: %v", h.Metadata)
		}

		_, err = ds.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("ds-data"), Key: aws.String("small/copy.txt"),
			Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("stage"), Value: aws.String("raw")}}}})
		mustOK(t, err)
		tags, err := ds.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("ds-data"), Key: aws.String("small/copy.txt")})
		mustOK(t, err)
		if len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Value) != "raw" {
			t.Errorf("tags %+v", tags.TagSet)
		}
		_, err = ds.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("ds-data"), Key: aws.String("small/copy.txt")})
		mustOK(t, err)
		tags, err = ds.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("ds-data"), Key: aws.String("small/copy.txt")})
		mustOK(t, err)
		if len(tags.TagSet) != 0 {
			t.Errorf("tags after delete %+v", tags.TagSet)
		}
	})

	t.Run("list with delimiter and pagination", func(t *testing.T) {
		for _, k := range []string{"l/a/1", "l/a/2", "l/b", "l/c/1", "l/d", "l/e"} {
			_, err := ds.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ds-data"), Key: aws.String(k), Body: strings.NewReader(k)})
			mustOK(t, err)
		}
		var keys, prefixes []string
		p := s3.NewListObjectsV2Paginator(ds, &s3.ListObjectsV2Input{Bucket: aws.String("ds-data"), Prefix: aws.String("l/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			mustOK(t, err)
			pages++
			for _, o := range out.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			for _, c := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(c.Prefix))
			}
		}
		if strings.Join(keys, ",") != "l/b,l/d,l/e" || strings.Join(prefixes, ",") != "l/a/,l/c/" || pages != 3 {
			t.Errorf("keys %v prefixes %v in %d pages", keys, prefixes, pages)
		}
		v1, err := ds.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("ds-data"), Prefix: aws.String("l/"), Marker: aws.String("l/b")})
		mustOK(t, err)
		if len(v1.Contents) != 3 || aws.ToString(v1.Contents[0].Key) != "l/c/1" {
			t.Errorf("ListObjects after marker l/b: %d objects", len(v1.Contents))
		}
		del, err := ds.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("ds-data"), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("l/a/1")}, {Key: aws.String("l/a/2")}}}})
		mustOK(t, err)
		if len(del.Deleted) != 2 {
			t.Errorf("DeleteObjects deleted %d", len(del.Deleted))
		}
	})

	t.Run("multipart errors", func(t *testing.T) {
		mp, err := ds.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("ds-data"), Key: aws.String("mp")})
		mustOK(t, err)
		part := func(n int32, size int) string {
			out, err := ds.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("ds-data"), Key: aws.String("mp"), UploadId: mp.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(randomBytes(size))})
			mustOK(t, err)
			return aws.ToString(out.ETag)
		}
		e1, e2 := part(1, 1024), part(2, 1024)
		complete := func(parts ...s3types.CompletedPart) error {
			_, err := ds.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("ds-data"), Key: aws.String("mp"), UploadId: mp.UploadId,
				MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
			return err
		}
		wantCode(t, "parts out of order", complete(s3types.CompletedPart{PartNumber: aws.Int32(2), ETag: &e2}, s3types.CompletedPart{PartNumber: aws.Int32(1), ETag: &e1}), "InvalidPartOrder")
		wantCode(t, "wrong ETag", complete(s3types.CompletedPart{PartNumber: aws.Int32(1), ETag: &e2}), "InvalidPart")
		wantCode(t, "small first part", complete(s3types.CompletedPart{PartNumber: aws.Int32(1), ETag: &e1}, s3types.CompletedPart{PartNumber: aws.Int32(2), ETag: &e2}), "EntityTooSmall")
		parts, err := ds.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("ds-data"), Key: aws.String("mp"), UploadId: mp.UploadId})
		mustOK(t, err)
		if len(parts.Parts) != 2 {
			t.Errorf("ListParts: %d parts", len(parts.Parts))
		}
		ups, err := ds.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("ds-data")})
		mustOK(t, err)
		if len(ups.Uploads) != 1 {
			t.Errorf("ListMultipartUploads: %d uploads", len(ups.Uploads))
		}
		_, err = ds.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("ds-data"), Key: aws.String("mp"), UploadId: mp.UploadId})
		mustOK(t, err)
		wantCode(t, "complete after abort", complete(s3types.CompletedPart{PartNumber: aws.Int32(1), ETag: &e1}), "NoSuchUpload")
		_, err = ds.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("mp")})
		wantCode(t, "object of an aborted upload", err, "NotFound")
	})

	t.Run("bad input", func(t *testing.T) {
		_, err := ds.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
		wantCode(t, "invalid bucket name", err, "InvalidBucketName")
		_, err = ds.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ds-data")})
		wantCode(t, "own bucket again", err, "BucketAlreadyOwnedByYou")
		_, err = s.s3("staging").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ds-data")})
		wantCode(t, "another account's bucket name", err, "BucketAlreadyExists")
		_, err = ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k")})
		wantCode(t, "missing bucket", err, "NoSuchBucket")
		_, err = ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("missing")})
		wantCode(t, "missing key", err, "NoSuchKey")
		_, err = ds.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ds-data"), Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("x")})
		wantCode(t, "key over 1024 bytes", err, "KeyTooLongError")
		wrong := md5.Sum([]byte("something else"))
		_, err = ds.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("bad-md5"), Body: strings.NewReader("payload"),
			ContentMD5: aws.String(base64.StdEncoding.EncodeToString(wrong[:]))})
		wantCode(t, "wrong Content-MD5", err, "BadDigest")
		_, err = ds.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("bad-crc"), Body: strings.NewReader("payload"),
			ChecksumCRC32: aws.String("AAAAAA==")})
		wantCode(t, "wrong x-amz-checksum-crc32", err, "BadDigest")
		for _, k := range []string{"bad-md5", "bad-crc"} {
			_, err = ds.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ds-data"), Key: aws.String(k)})
			wantCode(t, k+" stored nothing", err, "NotFound")
		}
		_, err = ds.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("ds-data")})
		wantCode(t, "bucket not empty", err, "BucketNotEmpty")
		_, err = ds.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("ds-data"), Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other-bucket/*"}]}`)})
		wantCode(t, "policy on another bucket", err, "MalformedPolicy")
		_, err = ds.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("ds-data"), Policy: aws.String(`{"Statement":`)})
		wantCode(t, "policy that is not JSON", err, "MalformedPolicy")
	})

	t.Run("presigned URLs", func(t *testing.T) {
		ps := s3.NewPresignClient(ds)
		put, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("presigned.txt")}, s3.WithPresignExpires(time.Minute))
		mustOK(t, err)
		req, _ := http.NewRequest(http.MethodPut, put.URL, strings.NewReader("via a presigned PUT"))
		resp, err := http.DefaultClient.Do(req)
		mustOK(t, err)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("presigned PUT: %s", resp.Status)
		}
		get, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("presigned.txt")}, s3.WithPresignExpires(time.Minute))
		mustOK(t, err)
		resp, err = http.Get(get.URL)
		mustOK(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "via a presigned PUT" {
			t.Errorf("presigned GET: %s %q", resp.Status, b)
		}
		resp, err = http.Get(strings.Replace(get.URL, "presigned.txt", "other.txt", 1))
		mustOK(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !bytes.Contains(b, []byte("<Code>SignatureDoesNotMatch</Code>")) {
			t.Errorf("tampered presigned GET: %s %s", resp.Status, b)
		}
	})

	t.Run("virtual-hosted style", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.url, "http://"))
		dialer := &net.Dialer{}
		hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, "127.0.0.1:"+port) // BUCKET.localhost is this server
		}}}
		cfg := s.cfg("data-science")
		cfg.BaseEndpoint = aws.String("http://localhost:" + port)
		cfg.HTTPClient = hc
		vh := s3.NewFromConfig(cfg)
		_, err := vh.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("vhost/x.txt"), Body: strings.NewReader("virtual")})
		mustOK(t, err)
		out, err := ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ds-data"), Key: aws.String("vhost/x.txt")})
		mustOK(t, err)
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(b) != "virtual" {
			t.Errorf("read back %q", b)
		}
		l, err := vh.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("ds-data"), Prefix: aws.String("vhost/")})
		mustOK(t, err)
		if len(l.Contents) != 1 {
			t.Errorf("virtual-hosted list: %d objects", len(l.Contents))
		}
	})

	t.Run("malformed XML", func(t *testing.T) {
		status, body := s.signedS3(t, "data-science", http.MethodPost, "/ds-data?delete", []byte("<Delete><Object><Key>x</Key></Object"))
		if status != 400 || !bytes.Contains(body, []byte("<Code>MalformedXML</Code>")) || !bytes.Contains(body, []byte("<Resource>/ds-data</Resource>")) {
			t.Errorf("malformed Delete: %d %s", status, body)
		}
		huge := append([]byte("<Delete>"), bytes.Repeat([]byte("<Object><Key>k</Key></Object>"), 9<<20/29)...)
		huge = append(huge, "</Delete>"...)
		status, body = s.signedS3(t, "data-science", http.MethodPost, "/ds-data?delete", huge)
		if status < 400 || status >= 500 || !bytes.Contains(body, []byte("<Error><Code>")) || !bytes.Contains(body, []byte("<RequestId>")) {
			t.Errorf("a 9 MiB Delete: %d %.300s", status, body)
		}
		t.Logf("a 9 MiB Delete: %d %.200s", status, body)
	})
}

// signedS3 sends a raw request signed for S3 with a profile's key.
func (s *server) signedS3(t *testing.T, profile, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	mustOK(t, err)
	sum := sha256Hex(body)
	req.Header.Set("X-Amz-Content-Sha256", sum)
	c := s.profile[profile]
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, sum, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	mustOK(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestS3BucketPolicies checks cross-account access: another account cannot read a bucket
// without a bucket policy, can with one, and an explicit Deny in the bucket policy wins over
// the identity policies' Allow, even for the owner's own admin.
func TestS3BucketPolicies(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds, st := s.s3("data-science"), s.s3("staging")
	_, err := ds.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("shared-models")})
	mustOK(t, err)
	_, err = ds.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared-models"), Key: aws.String("m/model.tar.gz"), Body: strings.NewReader("model")})
	mustOK(t, err)
	read := func(c *s3.Client) error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("shared-models"), Key: aws.String("m/model.tar.gz")})
		if err == nil {
			out.Body.Close()
		}
		return err
	}
	wantCode(t, "staging reads without a bucket policy", read(st), "AccessDenied")
	_, err = st.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("shared-models")})
	wantCode(t, "staging lists without a bucket policy", err, "AccessDenied")
	_, err = st.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared-models"), Key: aws.String("evil"), Body: strings.NewReader("x")})
	wantCode(t, "staging writes without a bucket policy", err, "AccessDenied")

	policy := `{"Version":"2012-10-17","Statement":[
	  {"Sid":"StagingReads","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + s.account["staging"] + `:root"},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::shared-models","arn:aws:s3:::shared-models/*"]},
	  {"Sid":"NobodyReadsSecrets","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared-models/secret/*"}]}`
	_, err = ds.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("shared-models"), Policy: aws.String(policy)})
	mustOK(t, err)
	if err := read(st); err != nil {
		t.Errorf("staging reads with a bucket policy allowing it: %v", err)
	}
	_, err = st.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("shared-models")})
	if err != nil {
		t.Errorf("staging lists with a bucket policy allowing it: %v", err)
	}
	_, err = st.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared-models"), Key: aws.String("evil"), Body: strings.NewReader("x")})
	wantCode(t, "staging writes with a read-only bucket policy", err, "AccessDenied")
	wantCode(t, "production (not in the policy) reads", read(s.s3("production")), "AccessDenied")

	_, err = ds.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared-models"), Key: aws.String("secret/key"), Body: strings.NewReader("s")})
	mustOK(t, err)
	_, err = ds.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("shared-models"), Key: aws.String("secret/key")})
	wantCode(t, "the owner's admin reads under the bucket policy's explicit Deny", err, "AccessDenied")
	var ae smithy.APIError
	if errors.As(err, &ae) && !strings.Contains(ae.ErrorMessage(), "explicit deny") {
		t.Errorf("denial message %q does not say an explicit deny decided", ae.ErrorMessage())
	}
	_, err = ds.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("shared-models")})
	mustOK(t, err)
	wantCode(t, "staging reads after the policy is deleted", read(st), "AccessDenied")
	_, err = ds.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("shared-models")})
	wantCode(t, "policy after delete", err, "NoSuchBucketPolicy")
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hexString(h[:])
}
