package artifacts_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// fixture is a real store, a real organization with its accounts' admins, a blob store on
// local files and the artifact store over them.
type fixture struct {
	svc         *artifacts.Service
	blobs       *blob.Local
	ds, staging identity.Caller
}

type bounds struct{ o *org.Service }

func (b bounds) SCPLevels(ctx context.Context, account string) ([][]identity.NamedDocument, error) {
	levels, err := b.o.SCPLevels(ctx, account)
	var out [][]identity.NamedDocument
	for _, l := range levels {
		var docs []identity.NamedDocument
		for _, p := range l {
			docs = append(docs, identity.NamedDocument{Name: p.Name, Document: p.Content})
		}
		out = append(out, docs)
	}
	return out, err
}

func (b bounds) OrgID(ctx context.Context) (string, error) {
	o, err := b.o.Organization(ctx)
	return o.ID, err
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	ctx := context.Background()
	now := time.Now
	o := org.NewService(st.Org(), now)
	seal, err := identity.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	id := identity.NewService(st.Identity(), bounds{o}, seal, now, nil)
	o.UseIdentity(id)
	accounts, err := o.Bootstrap(ctx, org.DefaultSpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{blobs: blobs, svc: artifacts.NewService(st.Artifacts(), blobs, id, "us-east-1", now, nil)}
	for _, a := range accounts {
		if _, err := id.BootstrapAccount(ctx, a.ID, accounts[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		p, err := id.Principal(ctx, a.ID, identity.KindUser, "admin")
		if err != nil {
			t.Fatal(err)
		}
		c := identity.Caller{Account: a.ID, ARN: p.ARN, PrincipalARN: p.ARN, UserID: p.ID, Kind: identity.KindUser, Name: "admin"}
		switch a.Name {
		case "data-science":
			f.ds = c
		case "staging":
			f.staging = c
		}
	}
	if _, err := f.svc.CreateBucket(ctx, f.ds, "ds-data", ""); err != nil {
		t.Fatal(err)
	}
	return f
}

// blobCount counts the blobs stored.
func (f *fixture) blobCount(t *testing.T) int {
	n := 0
	if err := f.blobs.List(context.Background(), "", func(string, int64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) put(t *testing.T, key, body string) artifacts.ObjectInfo {
	t.Helper()
	info, err := f.svc.PutObject(context.Background(), f.ds, artifacts.PutInput{Bucket: "ds-data", Key: key, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func (f *fixture) read(t *testing.T, c identity.Caller, key string, rng *artifacts.Range) (string, error) {
	t.Helper()
	_, r, err := f.svc.GetObject(context.Background(), c, "ds-data", key, rng)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
}

// stores runs a test on SQLite and, when SLIPWAY_TEST_POSTGRES is set by the test script, on
// PostgreSQL.
func stores(t *testing.T, test func(t *testing.T, f *fixture)) {
	t.Run("sqlite", func(t *testing.T) { test(t, newFixture(t, storetest.OpenSQLite(t))) })
	t.Run("postgres", func(t *testing.T) { test(t, newFixture(t, storetest.OpenPostgres(t))) })
}

func TestPutGetOverwrite(t *testing.T) {
	stores(t, func(t *testing.T, f *fixture) {
		first := f.put(t, "a/b.txt", "first")
		sum := md5.Sum([]byte("first"))
		if first.ETag != `"`+hex.EncodeToString(sum[:])+`"` || first.Size != 5 {
			t.Errorf("ETag %s size %d", first.ETag, first.Size)
		}
		f.put(t, "a/b.txt", "second version")
		if got, err := f.read(t, f.ds, "a/b.txt", nil); err != nil || got != "second version" {
			t.Errorf("read %q %v", got, err)
		}
		if n := f.blobCount(t); n != 1 {
			t.Errorf("%d blobs after an overwrite, want 1 (the replaced one is deleted)", n)
		}
		if got, _ := f.read(t, f.ds, "a/b.txt", &artifacts.Range{First: 7, Last: -1}); got != "version" {
			t.Errorf("range read %q", got)
		}
		if err := f.svc.DeleteObject(context.Background(), f.ds, "ds-data", "a/b.txt"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.read(t, f.ds, "a/b.txt", nil); errs.CodeOf(err) != "NoSuchKey" {
			t.Errorf("read after delete: %v", err)
		}
		if n := f.blobCount(t); n != 0 {
			t.Errorf("%d blobs after delete", n)
		}
	})
}

// A payload whose digest does not match stores nothing: no row, no blob.
func TestBadDigestStoresNothing(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	for name, in := range map[string]artifacts.PutInput{
		"content-md5": {ContentMD5: "AAAAAAAAAAAAAAAAAAAAAA=="},
		"crc32":       {Checksums: map[string]string{"CRC32": "AAAAAA=="}},
		"sha256":      {Checksums: map[string]string{"SHA256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}},
		"length":      {ContentLength: func() *int64 { n := int64(99); return &n }()},
	} {
		in.Bucket, in.Key, in.Body = "ds-data", "k-"+name, strings.NewReader("payload")
		_, err := f.svc.PutObject(ctx, f.ds, in)
		if want := map[string]string{"length": "IncompleteBody"}[name]; want == "" && errs.CodeOf(err) != "BadDigest" || want != "" && errs.CodeOf(err) != want {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := f.read(t, f.ds, in.Key, nil); errs.CodeOf(err) != "NoSuchKey" {
			t.Errorf("%s: an object was stored: %v", name, err)
		}
	}
	if n := f.blobCount(t); n != 0 {
		t.Errorf("%d blobs left by refused writes", n)
	}
	// The transport's verdict: a reader failing mid-way stores nothing and its error is returned.
	boom := fmt.Errorf("the client went away")
	_, err := f.svc.PutObject(ctx, f.ds, artifacts.PutInput{Bucket: "ds-data", Key: "cut", Body: io.MultiReader(strings.NewReader("half"), errReader{boom})})
	if err != boom {
		t.Errorf("cut payload: err = %v, want the reader's", err)
	}
	if n := f.blobCount(t); n != 0 {
		t.Errorf("%d blobs left by a cut payload", n)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// Concurrent writers to one key, all holding their bytes in the blob store at once before any
// commits (a barrier in the hook proves the interleaving), end with one whole object and no
// blob of the losers left behind.
func TestConcurrentWritersOneKey(t *testing.T) {
	stores(t, testConcurrentWritersOneKey)
}

func testConcurrentWritersOneKey(t *testing.T, f *fixture) {
	const n = 6
	var arrived sync.WaitGroup
	arrived.Add(n)
	release := make(chan struct{})
	f.svc.AfterBlob(func(string) { arrived.Done(); <-release })
	var wg sync.WaitGroup
	bodies := map[string]bool{}
	for i := 0; i < n; i++ {
		body := strings.Repeat(fmt.Sprintf("writer %d;", i), 1000+i)
		bodies[body] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.PutObject(context.Background(), f.ds, artifacts.PutInput{Bucket: "ds-data", Key: "same", Body: strings.NewReader(body)}); err != nil {
				t.Error(err)
			}
		}()
	}
	arrived.Wait() // every writer's bytes are stored; none has committed
	if got := f.blobCount(t); got != n {
		t.Fatalf("%d blobs at the barrier, want %d", got, n)
	}
	close(release)
	wg.Wait()
	got, err := f.read(t, f.ds, "same", nil)
	if err != nil || !bodies[got] {
		t.Fatalf("the object is not one writer's whole body (%d bytes, %v)", len(got), err)
	}
	if c := f.blobCount(t); c != 1 {
		t.Errorf("%d blobs after the race, want 1", c)
	}
}

func TestMultipartReferencesParts(t *testing.T) {
	stores(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.svc.SetMinPartSize(4)
		u, err := f.svc.CreateUpload(ctx, f.ds, "ds-data", "mp.bin", artifacts.Object{ContentType: "text/plain"}, "CRC32")
		if err != nil {
			t.Fatal(err)
		}
		parts := []string{"aaaaa", "bbbbbb", "cc"}
		var list []artifacts.CompletedPart
		for i, p := range parts {
			got, err := f.svc.UploadPart(ctx, f.ds, artifacts.PartInput{Bucket: "ds-data", Key: "mp.bin", UploadID: u.ID, Number: i + 1, Body: strings.NewReader(p)})
			if err != nil {
				t.Fatal(err)
			}
			list = append(list, artifacts.CompletedPart{Number: i + 1, ETag: got.ETag})
		}
		// A part uploaded again replaces the first, whose blob goes.
		again, err := f.svc.UploadPart(ctx, f.ds, artifacts.PartInput{Bucket: "ds-data", Key: "mp.bin", UploadID: u.ID, Number: 2, Body: strings.NewReader("BBBBBB")})
		if err != nil {
			t.Fatal(err)
		}
		list[1].ETag = again.ETag
		if n := f.blobCount(t); n != 3 {
			t.Errorf("%d blobs before completion, want 3", n)
		}
		info, err := f.svc.CompleteUpload(ctx, f.ds, "ds-data", "mp.bin", u.ID, list, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := md5.New()
		for _, p := range []string{"aaaaa", "BBBBBB", "cc"} {
			s := md5.Sum([]byte(p))
			h.Write(s[:])
		}
		if want := `"` + hex.EncodeToString(h.Sum(nil)) + `-3"`; info.ETag != want || info.Size != 13 || info.PartsCount != 3 {
			t.Errorf("ETag %s size %d parts %d, want %s 13 3", info.ETag, info.Size, info.PartsCount, want)
		}
		if !strings.HasSuffix(info.Checksums["CRC32"], "-3") || info.ChecksumType != "COMPOSITE" {
			t.Errorf("checksums %v %s", info.Checksums, info.ChecksumType)
		}
		if n := f.blobCount(t); n != 3 {
			t.Errorf("%d blobs after completion, want the 3 parts, not copied", n)
		}
		for _, c := range []struct {
			r    *artifacts.Range
			want string
		}{{nil, "aaaaaBBBBBBcc"}, {&artifacts.Range{First: 3, Last: 11}, "aaBBBBBBc"}, {&artifacts.Range{Suffix: 4}, "BBcc"}, {&artifacts.Range{First: 5, Last: 10}, "BBBBBB"}} {
			if got, err := f.read(t, f.ds, "mp.bin", c.r); err != nil || got != c.want {
				t.Errorf("read %+v = %q %v, want %q", c.r, got, err, c.want)
			}
		}
		// partNumber reads one part (S3's GetObject/HeadObject ?partNumber=N).
		for n, want := range map[int]string{1: "aaaaa", 2: "BBBBBB", 3: "cc"} {
			info, r, err := f.svc.Get(ctx, f.ds, artifacts.GetInput{Bucket: "ds-data", Key: "mp.bin", PartNumber: n})
			if err != nil {
				t.Fatalf("part %d: %v", n, err)
			}
			b, _ := io.ReadAll(r)
			r.Close()
			head, err := f.svc.Head(ctx, f.ds, artifacts.GetInput{Bucket: "ds-data", Key: "mp.bin", PartNumber: n})
			if string(b) != want || info.PartsCount != 3 || info.ContentRange == "" || err != nil || head.ContentRange != info.ContentRange {
				t.Errorf("part %d: %q range %q parts %d; head %q %v", n, b, info.ContentRange, info.PartsCount, head.ContentRange, err)
			}
		}
		if _, _, err := f.svc.Get(ctx, f.ds, artifacts.GetInput{Bucket: "ds-data", Key: "mp.bin", PartNumber: 4}); errs.CodeOf(err) != "InvalidPartNumber" {
			t.Errorf("part 4 of 3: %v", err)
		}
		if _, _, err := f.svc.Get(ctx, f.ds, artifacts.GetInput{Bucket: "ds-data", Key: "mp.bin", PartNumber: 1, Range: &artifacts.Range{First: 0, Last: 1}}); errs.CodeOf(err) != "InvalidRequest" {
			t.Errorf("part and range together: %v", err)
		}
		f.put(t, "simple", "whole")
		if _, r, err := f.svc.Get(ctx, f.ds, artifacts.GetInput{Bucket: "ds-data", Key: "simple", PartNumber: 1}); err != nil {
			t.Errorf("part 1 of a simple object: %v", err)
		} else if b, _ := io.ReadAll(r); string(b) != "whole" {
			t.Errorf("part 1 of a simple object: %q", b)
		}
		if _, _, err := f.svc.Get(ctx, f.ds, artifacts.GetInput{Bucket: "ds-data", Key: "simple", PartNumber: 2}); errs.CodeOf(err) != "InvalidPartNumber" {
			t.Errorf("part 2 of a simple object: %v", err)
		}

		// UploadPartCopy copies ranges of the completed object into a new upload.
		u2, err := f.svc.CreateUpload(ctx, f.ds, "ds-data", "copied.bin", artifacts.Object{}, "")
		if err != nil {
			t.Fatal(err)
		}
		var list2 []artifacts.CompletedPart
		for i, r := range []*artifacts.Range{{First: 3, Last: 9}, {Suffix: 2}} {
			p, err := f.svc.UploadPartCopy(ctx, f.ds, artifacts.CopyPartInput{Bucket: "ds-data", Key: "copied.bin", UploadID: u2.ID, Number: i + 1,
				SourceBucket: "ds-data", SourceKey: "mp.bin", SourceRange: r})
			if err != nil {
				t.Fatal(err)
			}
			if p.ModifiedAt.IsZero() {
				t.Errorf("copied part %d has no modification time", i+1)
			}
			list2 = append(list2, artifacts.CompletedPart{Number: i + 1, ETag: p.ETag})
		}
		if _, err := f.svc.UploadPartCopy(ctx, f.ds, artifacts.CopyPartInput{Bucket: "ds-data", Key: "copied.bin", UploadID: u2.ID, Number: 3,
			SourceBucket: "ds-data", SourceKey: "mp.bin", SourceRange: &artifacts.Range{First: 13, Last: 20}}); errs.CodeOf(err) != "InvalidArgument" {
			t.Errorf("a copy range past the source's end: %v", err)
		}
		if _, err := f.svc.CompleteUpload(ctx, f.ds, "ds-data", "copied.bin", u2.ID, list2, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := f.read(t, f.ds, "copied.bin", nil); err != nil || got != "aaBBBBB"+"cc" {
			t.Errorf("the upload of copied ranges reads %q %v", got, err)
		}

		if _, err := f.svc.CompleteUpload(ctx, f.ds, "ds-data", "mp.bin", u.ID, list, nil); errs.CodeOf(err) != "NoSuchUpload" {
			t.Errorf("second completion: %v", err)
		}
	})
}

func TestCrossAccountReadNeedsBucketPolicy(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	f.put(t, "shared/model", "weights")
	if _, err := f.read(t, f.staging, "shared/model", nil); !errs.Is(err, errs.AccessDenied) {
		t.Fatalf("staging reads without a policy: %v", err)
	}
	if _, err := f.svc.ListObjects(ctx, f.staging, artifacts.ListInput{Bucket: "ds-data"}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("staging lists without a policy: %v", err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + f.staging.Account + `:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::ds-data/shared/*"},
	{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::ds-data/shared/secret"}]}`
	if err := f.svc.PutBucketPolicy(ctx, f.ds, "ds-data", policy); err != nil {
		t.Fatal(err)
	}
	if got, err := f.read(t, f.staging, "shared/model", nil); err != nil || got != "weights" {
		t.Errorf("staging reads with the policy: %q %v", got, err)
	}
	f.put(t, "shared/secret", "s")
	for who, c := range map[string]identity.Caller{"staging": f.staging, "owner": f.ds} {
		if _, err := f.read(t, c, "shared/secret", nil); !identity.ExplicitlyDenied(err) {
			t.Errorf("%s reads under an explicit Deny: %v", who, err)
		}
	}
	if _, err := f.svc.PutObject(ctx, f.staging, artifacts.PutInput{Bucket: "ds-data", Key: "shared/evil", Body: strings.NewReader("x")}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("staging writes under a read policy: %v", err)
	}
}

// TestListingMatchesAModel pages through random listings and compares them with a direct
// computation over the sorted keys.
func TestListingMatchesAModel(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	rnd := rand.New(rand.NewSource(7))
	alphabet := []string{"a", "b", "/", "-", "é", "z"}
	keys := map[string]bool{}
	for len(keys) < 120 {
		var b strings.Builder
		for i := 0; i < 1+rnd.Intn(6); i++ {
			b.WriteString(alphabet[rnd.Intn(len(alphabet))])
		}
		keys[b.String()] = true
	}
	var sorted []string
	for k := range keys {
		f.put(t, k, k)
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for trial := 0; trial < 60; trial++ {
		prefix := []string{"", "a", "b/", "a/", "é"}[rnd.Intn(5)]
		delim := []string{"", "/", "-", "é"}[rnd.Intn(4)]
		max := 1 + rnd.Intn(7)
		var wantObjs, wantCPs []string
		seen := map[string]bool{}
		for _, k := range sorted {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			if i := strings.Index(k[len(prefix):], delim); delim != "" && i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if !seen[cp] {
					seen[cp] = true
					wantCPs = append(wantCPs, cp)
				}
				continue
			}
			wantObjs = append(wantObjs, k)
		}
		var gotObjs, gotCPs []string
		token := ""
		for page := 0; ; page++ {
			out, err := f.svc.ListObjects(ctx, f.ds, artifacts.ListInput{Bucket: "ds-data", Prefix: prefix, Delimiter: delim, MaxKeys: max, ContinuationToken: token})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Objects)+len(out.CommonPrefixes) > max {
				t.Fatalf("page of %d entries, max %d", len(out.Objects)+len(out.CommonPrefixes), max)
			}
			for _, o := range out.Objects {
				gotObjs = append(gotObjs, o.Key)
			}
			gotCPs = append(gotCPs, out.CommonPrefixes...)
			if !out.IsTruncated {
				break
			}
			token = out.NextContinuationToken
			if page > 200 {
				t.Fatal("listing does not end")
			}
		}
		if strings.Join(gotObjs, "|") != strings.Join(wantObjs, "|") || strings.Join(gotCPs, "|") != strings.Join(wantCPs, "|") {
			t.Errorf("prefix %q delim %q max %d:\n got %q %q\nwant %q %q", prefix, delim, max, gotObjs, gotCPs, wantObjs, wantCPs)
		}
	}
}

func TestBucketNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"ds-data": true, "a.b-c": true, "abc": true, strings.Repeat("a", 63): true,
		"ab": false, strings.Repeat("a", 64): false, "Ds-data": false, "ds_data": false, "-ds": false, "ds-": false,
		"a..b": false, "a.-b": false, "192.168.1.1": false, "xn--abc": false, "abc-s3alias": false, "": false,
	} {
		if err := artifacts.CheckBucketName(name); (err == nil) != ok {
			t.Errorf("CheckBucketName(%q) = %v, want ok=%v", name, err, ok)
		} else if err != nil && errs.CodeOf(err) != "InvalidBucketName" {
			t.Errorf("CheckBucketName(%q): code %q", name, errs.CodeOf(err))
		}
	}
}

func TestDeleteBucket(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	f.put(t, "x", "1")
	if err := f.svc.DeleteBucket(ctx, f.ds, "ds-data"); errs.CodeOf(err) != "BucketNotEmpty" {
		t.Errorf("delete of a bucket with objects: %v", err)
	}
	if err := f.svc.DeleteObject(ctx, f.ds, "ds-data", "x"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteBucket(ctx, f.staging, "ds-data"); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("another account deletes the bucket: %v", err)
	}
	if err := f.svc.DeleteBucket(ctx, f.ds, "ds-data"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PutObject(ctx, f.ds, artifacts.PutInput{Bucket: "ds-data", Key: "x", Body: bytes.NewReader(nil)}); errs.CodeOf(err) != "NoSuchBucket" {
		t.Errorf("put into a deleted bucket: %v", err)
	}
}

// A full-object checksum that does not match refuses the completion before anything commits:
// the upload stays, with its parts, and no object appears.
func TestCompleteWithBadFullChecksum(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	f.svc.SetMinPartSize(1)
	u, err := f.svc.CreateUpload(ctx, f.ds, "ds-data", "full.bin", artifacts.Object{ChecksumType: "FULL_OBJECT"}, "CRC32")
	if err != nil {
		t.Fatal(err)
	}
	var list []artifacts.CompletedPart
	for i, body := range []string{"abc", "def"} {
		p, err := f.svc.UploadPart(ctx, f.ds, artifacts.PartInput{Bucket: "ds-data", Key: "full.bin", UploadID: u.ID, Number: i + 1, Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, artifacts.CompletedPart{Number: i + 1, ETag: p.ETag})
	}
	_, err = f.svc.CompleteUpload(ctx, f.ds, "ds-data", "full.bin", u.ID, list, map[string]string{"CRC32": "AAAAAA=="})
	if errs.CodeOf(err) != "BadDigest" {
		t.Fatalf("complete with a wrong CRC32: %v", err)
	}
	if _, err := f.read(t, f.ds, "full.bin", nil); errs.CodeOf(err) != "NoSuchKey" {
		t.Errorf("an object appeared: %v", err)
	}
	info, err := f.svc.CompleteUpload(ctx, f.ds, "ds-data", "full.bin", u.ID, list, nil)
	if err != nil {
		t.Fatalf("the upload did not survive the refused completion: %v", err)
	}
	// CRC32 of "abcdef", as a whole.
	if info.Checksums["CRC32"] != "S4457w==" || info.ChecksumType != "FULL_OBJECT" {
		t.Errorf("full-object checksum %v %s", info.Checksums, info.ChecksumType)
	}
}

// TestWritesReportTheirTime: what a write answers (CopyObject's LastModified, the object info a
// PutObject returns) is the time of the write, as HeadObject reports it afterwards, not the
// source's.
func TestWritesReportTheirTime(t *testing.T) {
	stores(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		src := f.put(t, "src", "bytes")
		time.Sleep(5 * time.Millisecond) // the times are kept to the millisecond
		cp, err := f.svc.CopyObject(ctx, f.ds, artifacts.CopyInput{Bucket: "ds-data", Key: "dst", SourceBucket: "ds-data", SourceKey: "src"})
		if err != nil {
			t.Fatal(err)
		}
		head, err := f.svc.Head(ctx, f.ds, artifacts.GetInput{Bucket: "ds-data", Key: "dst"})
		if err != nil {
			t.Fatal(err)
		}
		if !cp.LastModified.Equal(head.LastModified) || !cp.LastModified.After(src.LastModified) {
			t.Errorf("CopyObject answered %v; the copy was made at %v, the source at %v", cp.LastModified, head.LastModified, src.LastModified)
		}
		if h, err := f.svc.Head(ctx, f.ds, artifacts.GetInput{Bucket: "ds-data", Key: "src"}); err != nil {
			t.Errorf("Head src: %v", err)
		} else if !src.LastModified.Equal(h.LastModified) || src.LastModified.IsZero() {
			t.Errorf("PutObject answered %v; HeadObject says %v", src.LastModified, h.LastModified)
		}
	})
}
