package app_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// multipartMB is the size of the files the client tests upload in parts: large enough to force
// multipart uploads with 8 MiB parts. The figure is 200 MB; CI uses 40 by default, 17
// (three parts) under the race detector (SLIPWAY_S3_MULTIPART_MB overrides it).
func multipartMB(t *testing.T) int {
	if v := os.Getenv("SLIPWAY_S3_MULTIPART_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SLIPWAY_S3_MULTIPART_MB=%q is not a positive number", v)
		}
		return n
	}
	if raceEnabled {
		return 17
	}
	return 40
}

// writeRandomFile writes a file of n MiB of random bytes and returns its SHA-256.
func writeRandomFile(t *testing.T, path string, mib int) [32]byte {
	t.Helper()
	f, err := os.Create(path)
	mustOK(t, err)
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for i := 0; i < mib; i++ {
		copy(buf, randomBytes(len(buf)))
		f.Write(buf)
		h.Write(buf)
	}
	mustOK(t, f.Close())
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func fileSHA(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	mustOK(t, err)
	return sha256.Sum256(b)
}

// cliEnv is the environment of the aws CLIs and boto3 against s: the server's credentials
// file and a config whose S3 transfers switch to 8 MiB parts at 8 MiB.
func (s *server) cliEnv(t *testing.T, dir string) []string {
	cfg := filepath.Join(dir, "aws-config")
	mustOK(t, os.WriteFile(cfg, []byte("[default]\nregion = us-east-1\ns3 =\n  multipart_threshold = 8MB\n  multipart_chunksize = 8MB\n"+
		"[profile data-science]\nregion = us-east-1\ns3 =\n  multipart_threshold = 8MB\n  multipart_chunksize = 8MB\n"), 0o600))
	return append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+s.app.CredentialsPath(), "AWS_CONFIG_FILE="+cfg,
		"AWS_PROFILE=data-science", "AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1", "AWS_PAGER=", "SLIPWAY_URL="+s.url)
}

// run runs a command and returns its standard output; a failure fails the test.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestS3WithTheAWSCLI drives the S3 API with Debian's AWS CLI v2 (s3 mb/cp/sync/ls/rm/presign
// and s3api calls) and, for multipart uploads with checksums, the pyenv AWS CLI v1, whose
// `s3 cp` takes --checksum-algorithm (v2.9's does not).
func TestS3WithTheAWSCLI(t *testing.T) {
	t.Parallel()
	s := start(t, "")
	dir := t.TempDir()
	env := s.cliEnv(t, dir)
	aws := func(args ...string) string {
		return run(t, env, "/usr/bin/aws", append([]string{"--endpoint-url", s.url, "--no-cli-pager"}, args...)...)
	}
	aws("s3", "mb", "s3://cli-data")
	big := filepath.Join(dir, "big.bin")
	want := writeRandomFile(t, big, multipartMB(t))
	run(t, env, "aws", "--endpoint-url", s.url, "s3", "cp", "--only-show-errors", "--checksum-algorithm", "CRC32", big, "s3://cli-data/big/crc32.bin")
	got := filepath.Join(dir, "got.bin")
	aws("s3", "cp", "--only-show-errors", "s3://cli-data/big/crc32.bin", got)
	if fileSHA(t, got) != want {
		t.Errorf("the multipart upload came back different")
	}
	head := aws("s3api", "head-object", "--bucket", "cli-data", "--key", "big/crc32.bin", "--checksum-mode", "ENABLED")
	if !strings.Contains(head, `"ChecksumCRC32": "`) || !strings.Contains(head, `-"`) && !strings.Contains(head, `"PartsCount"`) {
		t.Errorf("head-object of a multipart upload with CRC32:\n%s", head)
	}

	// CLI v2 sends x-amz-checksum-* as a trailer of an aws-chunked body; the object keeps it.
	small := filepath.Join(dir, "small.txt")
	mustOK(t, os.WriteFile(small, []byte("hello world"), 0o644))
	for alg, want := range map[string]string{"SHA1": `"ChecksumSHA1": "Kq5sNclPz7QV2+lfQIuc6R7oRu0="`, "CRC32C": `"ChecksumCRC32C": "yZRlqg=="`} {
		if out := aws("s3api", "put-object", "--bucket", "cli-data", "--key", "sums/"+alg, "--body", small, "--checksum-algorithm", alg); !strings.Contains(out, want) {
			t.Errorf("put-object --checksum-algorithm %s:\n%s", alg, out)
		}
		if out := aws("s3api", "head-object", "--bucket", "cli-data", "--key", "sums/"+alg, "--checksum-mode", "ENABLED"); !strings.Contains(out, want) {
			t.Errorf("head-object of a %s upload:\n%s", alg, out)
		}
	}

	src := filepath.Join(dir, "tree")
	for _, f := range []string{"a.csv", "sub/b.csv", "sub/deeper/c.csv", "with space.txt"} {
		mustOK(t, os.MkdirAll(filepath.Dir(filepath.Join(src, f)), 0o755))
		mustOK(t, os.WriteFile(filepath.Join(src, f), []byte("content of "+f), 0o644))
	}
	aws("s3", "sync", "--only-show-errors", src, "s3://cli-data/tree/")
	ls := aws("s3", "ls", "--recursive", "s3://cli-data/tree/")
	for _, f := range []string{"tree/a.csv", "tree/sub/b.csv", "tree/sub/deeper/c.csv", "tree/with space.txt"} {
		if !strings.Contains(ls, f) {
			t.Errorf("ls --recursive lacks %s:\n%s", f, ls)
		}
	}
	top := aws("s3", "ls", "s3://cli-data/tree/")
	if !strings.Contains(top, "PRE sub/") || !strings.Contains(top, "a.csv") || strings.Contains(top, "b.csv") {
		t.Errorf("ls of a prefix:\n%s", top)
	}
	back := filepath.Join(dir, "back")
	aws("s3", "sync", "--only-show-errors", "s3://cli-data/tree/", back)
	if b, err := os.ReadFile(filepath.Join(back, "sub/deeper/c.csv")); err != nil || string(b) != "content of sub/deeper/c.csv" {
		t.Errorf("sync back: %q %v", b, err)
	}

	url := strings.TrimSpace(aws("s3", "presign", "s3://cli-data/tree/a.csv", "--expires-in", "300"))
	resp, err := http.Get(url)
	mustOK(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "content of a.csv" {
		t.Errorf("presigned GET: %s %q", resp.Status, b)
	}

	aws("s3api", "put-object-tagging", "--bucket", "cli-data", "--key", "tree/a.csv", "--tagging", `TagSet=[{Key=stage,Value=raw}]`)
	if tags := aws("s3api", "get-object-tagging", "--bucket", "cli-data", "--key", "tree/a.csv"); !strings.Contains(tags, `"Value": "raw"`) {
		t.Errorf("get-object-tagging:\n%s", tags)
	}
	if l := aws("s3api", "list-objects-v2", "--bucket", "cli-data", "--prefix", "tree/", "--delimiter", "/"); !strings.Contains(l, `"Prefix": "tree/sub/"`) || !strings.Contains(l, `"Key": "tree/with space.txt"`) {
		t.Errorf("list-objects-v2 with a delimiter:\n%s", l)
	}
	aws("s3", "rm", "--only-show-errors", "--recursive", "s3://cli-data/tree/")
	if rest := aws("s3api", "list-objects-v2", "--bucket", "cli-data", "--prefix", "tree/"); strings.Contains(rest, `"Key"`) {
		t.Errorf("objects left after rm --recursive:\n%s", rest)
	}
}

// TestS3WithBoto3 drives the S3 API with Debian's boto3: the transfer manager's upload_file
// and download_file (multipart, with SHA256 checksums) and the list_objects_v2 paginator.
func TestS3WithBoto3(t *testing.T) {
	t.Parallel()
	s := start(t, "")
	dir := t.TempDir()
	env := s.cliEnv(t, dir)
	big := filepath.Join(dir, "big.bin")
	want := writeRandomFile(t, big, multipartMB(t))
	script := filepath.Join(dir, "boto3_s3.py")
	mustOK(t, os.WriteFile(script, []byte(boto3Script), 0o600))
	out := run(t, env, "/usr/bin/python3", script, big, filepath.Join(dir, "back.bin"))
	if !strings.Contains(out, "OK") {
		t.Errorf("boto3 script:\n%s", out)
	}
	if fileSHA(t, filepath.Join(dir, "back.bin")) != want {
		t.Errorf("download_file gave different bytes")
	}
}

const boto3Script = `
import os, sys, boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

s3 = boto3.client("s3", endpoint_url=os.environ["SLIPWAY_URL"])
s3.create_bucket(Bucket="boto-data")
cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=4)
s3.upload_file(sys.argv[1], "boto-data", "big/data.bin", Config=cfg, ExtraArgs={"ChecksumAlgorithm": "SHA256", "Metadata": {"run": "1"}})
head = s3.head_object(Bucket="boto-data", Key="big/data.bin", ChecksumMode="ENABLED")
assert head["ContentLength"] == os.path.getsize(sys.argv[1]), head
assert head["ETag"].endswith('-%d"' % -(-head["ContentLength"] // (8 << 20))), head["ETag"]
assert head["Metadata"] == {"run": "1"}, head["Metadata"]
assert "ChecksumSHA256" in head, head
s3.download_file("boto-data", "big/data.bin", sys.argv[2], Config=cfg)

for i in range(25):
    s3.put_object(Bucket="boto-data", Key="many/%03d.txt" % i, Body=b"x" * i)
s3.put_object(Bucket="boto-data", Key="many/sub/one.txt", Body=b"1")
keys, prefixes, pages = [], [], 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="boto-data", Prefix="many/", Delimiter="/", PaginationConfig={"PageSize": 7}):
    pages += 1
    keys += [o["Key"] for o in page.get("Contents", [])]
    prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
assert keys == ["many/%03d.txt" % i for i in range(25)], keys
assert prefixes == ["many/sub/"], prefixes
assert pages == 4, pages

try:
    s3.get_object(Bucket="boto-data", Key="missing")
    raise SystemExit("get of a missing key succeeded")
except ClientError as e:
    assert e.response["Error"]["Code"] == "NoSuchKey", e.response
try:
    s3.put_object(Bucket="boto-data", Key="k" * 1025, Body=b"x")
    raise SystemExit("a key over 1024 bytes was accepted")
except ClientError as e:
    assert e.response["Error"]["Code"] == "KeyTooLongError", e.response
s3.delete_objects(Bucket="boto-data", Delete={"Objects": [{"Key": "many/%03d.txt" % i} for i in range(25)]})
left = s3.list_objects_v2(Bucket="boto-data", Prefix="many/")
assert [o["Key"] for o in left["Contents"]] == ["many/sub/one.txt"], left

# botocore asks for encoding-type=url and decodes keys, prefixes and markers itself.
odd = ["odd/a b+c%d~\u00e9*.txt", "odd/sp ace/x&y=1", "odd/t\u00e4g/z"]
for k in odd:
    s3.put_object(Bucket="boto-data", Key=k, Body=b"o")
v2 = s3.list_objects_v2(Bucket="boto-data", Prefix="odd/", Delimiter="/", StartAfter="odd/a")
assert [o["Key"] for o in v2["Contents"]] == [odd[0]], v2
assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["odd/sp ace/", "odd/t\u00e4g/"], v2
v1 = s3.list_objects(Bucket="boto-data", Prefix="odd/sp ace/", Marker="odd/sp ace/")
assert [o["Key"] for o in v1["Contents"]] == [odd[1]], v1
print("OK")
`
