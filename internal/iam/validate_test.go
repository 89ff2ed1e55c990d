package iam

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/slipway-ml/slipway/internal/errs"
)

var allUses = []Use{ManagedPolicy, UserInlinePolicy, GroupInlinePolicy, RoleInlinePolicy, TrustPolicy, SessionPolicy, ServiceControlPolicy, ResourcePolicy}

// sizedDoc returns a valid document for u whose Size is exactly n, with 40 spaces of
// indentation that only some quotas count.
func sizedDoc(t *testing.T, u Use, n int) string {
	t.Helper()
	body := `"Effect":"Deny","Action":"sagemaker:CreateModelPackageGroup","Resource":"*"`
	switch u.Kind() {
	case Trust:
		body = `"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"`
	case Resource:
		body = `"Effect":"Deny","Principal":"*","Action":"sagemaker:*","Resource":"*"`
	}
	doc := func(pad int) string {
		return `{` + strings.Repeat(" ", 40) + `"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("x", pad) + `",` + body + `}]}`
	}
	pad := n - u.Size(doc(0))
	if pad < 0 {
		t.Fatalf("%v: cannot build a document of %d characters", u, n)
	}
	d := doc(pad)
	if got := u.Size(d); got != n {
		t.Fatalf("%v: built a document of size %d, want %d", u, got, n)
	}
	return d
}

// TestValidateLimits checks each use's limit at its edge, how it counts white space, the error
// kind it refuses with, and that every accepted document parses at decision time.
func TestValidateLimits(t *testing.T) {
	tests := []struct {
		use         Use
		max         int
		countsSpace bool
		kind        errs.Kind
		code        string
	}{
		{ManagedPolicy, 6144, false, errs.LimitExceeded, "LimitExceeded"},
		{UserInlinePolicy, 2048, false, errs.LimitExceeded, "LimitExceeded"},
		{GroupInlinePolicy, 5120, false, errs.LimitExceeded, "LimitExceeded"},
		{RoleInlinePolicy, 10240, false, errs.LimitExceeded, "LimitExceeded"},
		{TrustPolicy, 2048, false, errs.LimitExceeded, "LimitExceeded"},
		{SessionPolicy, 2048, true, errs.Invalid, ""},
		{ServiceControlPolicy, 5120, true, errs.LimitExceeded, ""},
		{ResourcePolicy, 20480, true, errs.Invalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.use.String(), func(t *testing.T) {
			if got := tt.use.MaxLength(); got != tt.max {
				t.Errorf("MaxLength = %d, want %d", got, tt.max)
			}
			at := sizedDoc(t, tt.use, tt.max)
			if (len(at) > tt.use.Size(at)) == tt.countsSpace {
				t.Errorf("Size(%d bytes with 40 spaces) = %d: counts white space = %v, want %v", len(at), tt.use.Size(at), !tt.countsSpace, tt.countsSpace)
			}
			p, err := Validate(tt.use, at)
			if err != nil {
				t.Fatalf("Validate(document of exactly %d) = %v, want accepted", tt.max, err)
			}
			if p.Kind() != tt.use.Kind() {
				t.Errorf("Kind = %v, want %v", p.Kind(), tt.use.Kind())
			}
			if _, err := ParseStored(tt.use.Kind(), at); err != nil {
				t.Errorf("ParseStored of an accepted document: %v", err)
			}
			over := sizedDoc(t, tt.use, tt.max+1)
			_, err = Validate(tt.use, over)
			if !errs.Is(err, tt.kind) || errs.CodeOf(err) != tt.code || !strings.Contains(errs.Message(err), "limit is") {
				t.Errorf("Validate(document of %d) = %v (kind %v, code %q), want kind %v code %q naming the limit", tt.max+1, err, errs.KindOf(err), errs.CodeOf(err), tt.kind, tt.code)
			}
			// Decision time has no size limit: a larger document still parses.
			if _, err := ParseStored(tt.use.Kind(), sizedDoc(t, tt.use, 3*tt.max)); err != nil {
				t.Errorf("ParseStored(document of %d) = %v, want no size limit", 3*tt.max, err)
			}
		})
	}
	if _, err := Validate(ManagedPolicy, `{"Statement":[]}`); errs.CodeOf(err) != "MalformedPolicyDocument" {
		t.Errorf("Validate(no statements) = %v, want MalformedPolicyDocument", err)
	}
	if _, err := Validate(Use(0), `{}`); !errs.Is(err, errs.Internal) {
		t.Errorf("Validate(Use(0)) = %v, want Internal", err)
	}
}

// TestLargeRoleInlineDenyDecides is issue 6 hole 1: a role's inline Deny of 7,600 characters
// (within the role's 10,240) is accepted at write time and must deny at decision time, although
// it is larger than a managed policy may be.
func TestLargeRoleInlineDenyDecides(t *testing.T) {
	actions := []string{`"sagemaker:CreateModelPackageGroup"`}
	for i := 0; len(strings.Join(actions, ",")) < 7600; i++ {
		actions = append(actions, `"sagemaker:Padding`+strings.Repeat("x", 10)+itoa(i)+`"`)
	}
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":[` + strings.Join(actions, ",") + `],"Resource":"*"}]}`
	if n := Length(deny); n < 7600 || n > InlineRoleQuota {
		t.Fatalf("test document is %d characters, want 7,600 to 10,240", n)
	}
	if _, err := Validate(RoleInlinePolicy, deny); err != nil {
		t.Fatalf("Validate(RoleInlinePolicy) = %v, want accepted", err)
	}
	if _, err := Validate(ManagedPolicy, deny); !errs.Is(err, errs.LimitExceeded) {
		t.Fatalf("Validate(ManagedPolicy) = %v, want LimitExceeded (the document is over 6,144)", err)
	}
	denyP, err := ParseStored(Identity, deny)
	if err != nil {
		t.Fatalf("ParseStored: %v", err)
	}
	admin := mustParse(t, Identity, stmt("Allow", `"Action":"*","Resource":"*"`))
	req := Request{Principal: session, Action: "sagemaker:CreateModelPackageGroup", Resource: "arn:aws:sagemaker:us-east-1:" + acctA + ":model-package-group/g"}.WithGlobalKeys(fixedNow, "us-east-1", true)
	if d := Evaluate(req, PolicySet{Identity: []*Policy{admin, denyP}}); d.Effect != ExplicitDeny {
		t.Errorf("Evaluate = %v (%s), want ExplicitDeny", d.Effect, d.Reason)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// FuzzWriteThenDecide: no document accepted where it is written may fail to parse, or parse
// differently, where it is decided.
func FuzzWriteThenDecide(f *testing.F) {
	for _, s := range seedPolicies {
		f.Add(s)
	}
	f.Add(`{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}`)
	f.Add(`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`)
	f.Add("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Sid\":\"\u00a0\u3000\"}}")
	opts := cmpopts.IgnoreUnexported(Policy{}, Statement{})
	f.Fuzz(func(t *testing.T, doc string) {
		for _, u := range allUses {
			w, err := Validate(u, doc)
			if err != nil {
				continue
			}
			d, err := ParseStored(u.Kind(), doc)
			if err != nil {
				t.Fatalf("Validate(%v) accepted the document but ParseStored(%v) fails: %v", u, u.Kind(), err)
			}
			if _, err := Parse(doc); err != nil && u.Kind() != Trust {
				t.Fatalf("Validate(%v) accepted the document but Parse fails: %v", u, err)
			}
			if diff := cmp.Diff(w, d, opts); diff != "" || w.Version != d.Version || w.ID != d.ID {
				t.Fatalf("write-time and decision-time parses differ (-write +decide):\n%s", diff)
			}
		}
	})
}

// TestFailClosedDeniesInEverySlot: the stand-in for an unreadable stored policy denies
// explicitly wherever it is put, for every kind of caller.
func TestFailClosedDeniesInEverySlot(t *testing.T) {
	bad := FailClosed("inline policy p (does not parse)")
	allowAll := mustParse(t, Identity, stmt("Allow", `"Action":"*","Resource":"*"`))
	full := mustParse(t, SCP, stmt("Allow", `"Action":"*","Resource":"*"`))
	open := mustParse(t, Resource, stmt("Allow", `"Principal":"*","Action":"*","Resource":"*"`))
	slots := []struct {
		name string
		ps   PolicySet
	}{
		{"identity", PolicySet{Identity: []*Policy{allowAll, bad}, Resource: open}},
		{"resource", PolicySet{Identity: []*Policy{allowAll}, Resource: bad}},
		{"SCP level", PolicySet{Identity: []*Policy{allowAll}, Resource: open, SCPs: [][]*Policy{{full}, {full, bad}}}},
		{"boundary", PolicySet{Identity: []*Policy{allowAll}, Resource: open, PermissionsBoundary: bad}},
		{"session", PolicySet{Identity: []*Policy{allowAll}, Resource: open, Session: []*Policy{allowAll, bad}}},
	}
	for _, s := range slots {
		for _, p := range []Principal{alice, session, rootA, bob, anon, sagemakr} {
			if s.name != "resource" && (p.ARN == "" || p.Account != acctA) {
				continue // callers without identity policies see only the resource slot
			}
			req := Request{Principal: p, Action: "sagemaker:DeleteModelPackageGroup", Resource: "arn:aws:sagemaker:us-east-1:" + acctA + ":model-package-group/g", ResourceAccount: acctA}.WithGlobalKeys(fixedNow, "us-east-1", true)
			if d := Evaluate(req, s.ps); d.Effect != ExplicitDeny {
				t.Errorf("%s slot, caller %q: Evaluate = %v (%s), want ExplicitDeny", s.name, p.ARN+p.Service, d.Effect, d.Reason)
			}
		}
	}
}
