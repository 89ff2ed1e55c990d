package artifacts

import (
	"context"
	"log/slog"
	"net"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// Service is the artifact store's business logic.
type Service struct {
	store  Store
	blobs  Blobs
	authz  Authorizer
	region string
	now    func() time.Time
	log    *slog.Logger
	// MinPartSize is the smallest a part other than the last may be (S3: 5 MiB).
	minPartSize int64
	hooks       hooks
}

// hooks let tests stop a call at a point of interest (nil in production).
type hooks struct {
	// afterBlob runs once a write's bytes are in the blob store, before its row commits.
	afterBlob func(key string)
}

// MinPartSize is S3's smallest part but the last.
const MinPartSize = 5 << 20

// NewService returns a Service serving region.
func NewService(st Store, blobs Blobs, authz Authorizer, region string, now func() time.Time, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, blobs: blobs, authz: authz, region: region, now: now, log: log.With("component", "artifacts"), minPartSize: MinPartSize}
}

// Errors in S3's vocabulary.
func noSuchBucket(name string) error {
	return errs.E(errs.NotFound, "The specified bucket does not exist").WithCode("NoSuchBucket")
}

func noSuchKey() error {
	return errs.E(errs.NotFound, "The specified key does not exist.").WithCode("NoSuchKey")
}

func noSuchUpload() error {
	return errs.E(errs.NotFound, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.").WithCode("NoSuchUpload")
}

func invalidArgument(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("InvalidArgument")
}

// CheckBucketName enforces S3's bucket naming rules.
func CheckBucketName(name string) error {
	bad := func(why string) error {
		return errs.E(errs.Invalid, "The specified bucket is not valid: %s", why).WithCode("InvalidBucketName")
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("a bucket name is 3 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return bad("only lowercase letters, digits, dots and hyphens")
		}
	}
	first, last := name[0], name[len(name)-1]
	if first == '.' || first == '-' || last == '.' || last == '-' {
		return bad("it must begin and end with a letter or a digit")
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return bad("no adjacent dots, nor a dot beside a hyphen")
	}
	if net.ParseIP(name) != nil {
		return bad("it must not look like an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad("it must not begin with " + p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return bad("it must not end with " + s)
		}
	}
	return nil
}

// MaxKeyBytes is S3's longest key.
const MaxKeyBytes = 1024

// CheckKey enforces what an object key may be.
func CheckKey(key string) error {
	if key == "" {
		return invalidArgument("An object key must not be empty")
	}
	if len(key) > MaxKeyBytes {
		return errs.E(errs.Invalid, "Your key is too long: %d bytes; the maximum is %d", len(key), MaxKeyBytes).WithCode("KeyTooLongError")
	}
	if !utf8.ValidString(key) {
		return invalidArgument("An object key must be UTF-8")
	}
	for i := 0; i < len(key); i++ {
		// XML 1.0 cannot carry most control characters in a listing, nor ARNs in policies.
		if key[i] < 0x20 || key[i] == 0x7f {
			return invalidArgument("An object key must not contain control characters")
		}
	}
	return nil
}

// bucket loads a bucket by a name that must be valid.
func (s *Service) bucket(ctx context.Context, name string) (Bucket, error) {
	if err := CheckBucketName(name); err != nil {
		// An invalid name names no bucket; S3 answers NoSuchBucket for reads of one.
		return Bucket{}, noSuchBucket(name)
	}
	b, err := s.store.GetBucket(ctx, name)
	if errs.Is(err, errs.NotFound) {
		return b, noSuchBucket(name)
	}
	return b, err
}

// authorize decides action (without its "s3:" prefix) on resource of bucket b.
func (s *Service) authorize(ctx context.Context, caller identity.Caller, action string, b Bucket, resource string, keys map[string][]string) error {
	_, err := s.authz.Authorize(ctx, caller, identity.Action{
		Name: "s3:" + action, Resource: resource, ResourceAccount: b.Account, ResourcePolicy: b.Policy,
		Context: identity.RequestContext{Region: s.region, Time: s.now(), Keys: keys},
	})
	return err
}

// CreateBucket creates a bucket owned by the caller's account.
func (s *Service) CreateBucket(ctx context.Context, caller identity.Caller, name, location string) (Bucket, error) {
	if err := CheckBucketName(name); err != nil {
		return Bucket{}, err
	}
	if location != "" && location != s.region {
		return Bucket{}, errs.E(errs.Invalid, "The specified location-constraint is not valid: this endpoint serves %s", s.region).WithCode("InvalidLocationConstraint")
	}
	own := Bucket{Name: name, Account: caller.Account}
	if err := s.authorize(ctx, caller, "CreateBucket", own, arn.S3Bucket(name), nil); err != nil {
		return Bucket{}, err
	}
	b := Bucket{Name: name, Account: caller.Account, Region: s.region, CreatedAt: s.now().UTC()}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.CreateBucket(ctx, b) })
	if errs.Is(err, errs.Conflict) {
		if old, gerr := s.store.GetBucket(ctx, name); gerr == nil && old.Account == caller.Account {
			return Bucket{}, errs.E(errs.Conflict, "Your previous request to create the named bucket succeeded and you already own it.").WithCode("BucketAlreadyOwnedByYou")
		}
		return Bucket{}, errs.E(errs.Conflict, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.").WithCode("BucketAlreadyExists")
	}
	return b, err
}

// HeadBucket checks that a bucket exists and the caller may list it.
func (s *Service) HeadBucket(ctx context.Context, caller identity.Caller, name string) (Bucket, error) {
	b, err := s.bucket(ctx, name)
	if err != nil {
		return b, err
	}
	return b, s.authorize(ctx, caller, "ListBucket", b, arn.S3Bucket(name), nil)
}

// BucketLocation returns a bucket's region.
func (s *Service) BucketLocation(ctx context.Context, caller identity.Caller, name string) (string, error) {
	b, err := s.bucket(ctx, name)
	if err != nil {
		return "", err
	}
	return b.Region, s.authorize(ctx, caller, "GetBucketLocation", b, arn.S3Bucket(name), nil)
}

// ListBuckets lists the caller's account's buckets, by name.
func (s *Service) ListBuckets(ctx context.Context, caller identity.Caller) ([]Bucket, error) {
	if err := s.authorize(ctx, caller, "ListAllMyBuckets", Bucket{Account: caller.Account}, "*", nil); err != nil {
		return nil, err
	}
	bs, err := s.store.ListBuckets(ctx, caller.Account)
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
	return bs, err
}

// DeleteBucket deletes an empty bucket.
func (s *Service) DeleteBucket(ctx context.Context, caller identity.Caller, name string) error {
	b, err := s.bucket(ctx, name)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, caller, "DeleteBucket", b, arn.S3Bucket(name), nil); err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx Tx) error { return tx.DeleteBucket(ctx, name) })
	if errs.Is(err, errs.Conflict) {
		return errs.E(errs.Conflict, "The bucket you tried to delete is not empty").WithCode("BucketNotEmpty")
	}
	if errs.Is(err, errs.NotFound) {
		return noSuchBucket(name)
	}
	return err
}

// PutBucketPolicy sets a bucket's policy, which must parse as a resource policy naming the
// bucket or its objects.
func (s *Service) PutBucketPolicy(ctx context.Context, caller identity.Caller, name, policy string) error {
	b, err := s.bucket(ctx, name)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, caller, "PutBucketPolicy", b, arn.S3Bucket(name), nil); err != nil {
		return err
	}
	if err := identity.CheckPolicy("resource", policy); err != nil {
		return errs.E(errs.Invalid, "%s", errs.Message(err), err).WithCode("MalformedPolicy")
	}
	if err := checkPolicyResources(name, policy); err != nil {
		return err
	}
	return s.setPolicy(ctx, name, policy)
}

func (s *Service) setPolicy(ctx context.Context, name, policy string) error {
	err := s.store.Update(ctx, func(tx Tx) error { return tx.SetBucketPolicy(ctx, name, policy) })
	if errs.Is(err, errs.NotFound) {
		return noSuchBucket(name)
	}
	return err
}

// GetBucketPolicy returns a bucket's policy.
func (s *Service) GetBucketPolicy(ctx context.Context, caller identity.Caller, name string) (string, error) {
	b, err := s.bucket(ctx, name)
	if err != nil {
		return "", err
	}
	if err := s.authorize(ctx, caller, "GetBucketPolicy", b, arn.S3Bucket(name), nil); err != nil {
		return "", err
	}
	if b.Policy == "" {
		return "", errs.E(errs.NotFound, "The bucket policy does not exist").WithCode("NoSuchBucketPolicy")
	}
	return b.Policy, nil
}

// DeleteBucketPolicy removes a bucket's policy.
func (s *Service) DeleteBucketPolicy(ctx context.Context, caller identity.Caller, name string) error {
	b, err := s.bucket(ctx, name)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, caller, "DeleteBucketPolicy", b, arn.S3Bucket(name), nil); err != nil {
		return err
	}
	return s.setPolicy(ctx, name, "")
}
